#!/usr/bin/env bash
# The deb install cycle CI runs (issue 8): build credd and its completions,
# package them with nfpm (packaging/nfpm.yaml), install the .deb with dpkg,
# check `credd version`, the files and the user unit (systemd-analyze
# verify, as the user manager would load it), check that nothing was
# enabled or started for anybody, and remove the package cleanly.
#
# Needs root (or sudo) for dpkg, nfpm in $CREDD_CI_CACHE/bin (see
# scripts/install-peers) and Debian's systemd. Refuses to run where a credd
# package is already installed: it would replace it.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${CREDD_CI_CACHE:-$HOME/.cache/credd-ci}"
nfpm="${NFPM:-$cache/bin/nfpm}"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"

fail() { echo "deb-check: $*" >&2; exit 1; }
[ -x "$nfpm" ] || fail "nfpm not found at $nfpm: run scripts/install-peers"
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found: apt-get install systemd"
if dpkg-query -W -f='${Status}' credd 2>/dev/null | grep -q 'install ok installed'; then
  fail "a credd package is already installed here; remove it first (dpkg -r credd)"
fi

version="0.0.0~ci"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
arch=$(go env GOARCH)
work=$(mktemp -d)
installed=""
cleanup() {
  if [ -n "$installed" ]; then $sudo dpkg -r credd >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "-- build credd $version ($commit) for linux/$arch"
CGO_ENABLED=0 GOOS=linux go build -trimpath \
  -ldflags "-s -w -X github.com/credd/credd/cmd/credd/cli.buildVersion=$version -X github.com/credd/credd/cmd/credd/cli.buildCommit=$commit" \
  -o "$work/dist/credd" ./cmd/credd
packaging/completions.sh "$work/dist/credd" "$work/dist/completions"

echo "-- nfpm package (deb)"
CREDD_VERSION="$version" GOARCH="$arch" CREDD_DIST="$work/dist" \
  "$nfpm" package --config packaging/nfpm.yaml --packager deb --target "$work/"
deb=$(echo "$work"/credd_*.deb)
[ -f "$deb" ] || fail "no .deb built"
echo "built $(basename "$deb"): $(stat -c %s "$deb") bytes"
if dpkg-deb --ctrl-tarfile "$deb" | tar -t | grep -Eq '(pre|post)(inst|rm)$'; then
  fail "the package has maintainer scripts; it must start nothing on install"
fi

echo "-- dpkg -i"
$sudo dpkg -i "$deb"
installed=1

echo "-- credd version"
out=$(/usr/bin/credd version)
echo "$out"
grep -qx "credd $version" <<<"$out" || fail "credd version does not say $version"
grep -qx "commit $commit" <<<"$out" || fail "credd version does not say commit $commit"

echo "-- installed files"
for f in /usr/lib/systemd/user/credd.service /usr/share/doc/credd/README.md /usr/share/doc/credd/copyright \
  /usr/share/bash-completion/completions/credd /usr/share/zsh/vendor-completions/_credd \
  /usr/share/fish/vendor_completions.d/credd.fish /usr/share/credd/completions/credd.ps1; do
  [ -s "$f" ] || fail "$f is missing or empty"
done
cmp -s /usr/lib/systemd/user/credd.service packaging/systemd/credd.service || fail "the installed unit differs from packaging/systemd/credd.service"
bash -n /usr/share/bash-completion/completions/credd || fail "bash completion does not parse"
grep -qx 'License: Apache-2.0' /usr/share/doc/credd/copyright || fail "the copyright file does not name Apache-2.0"

echo "-- systemd-analyze verify --user /usr/lib/systemd/user/credd.service"
rt="$work/run"; mkdir -m 700 "$rt"
verify=$(XDG_RUNTIME_DIR="$rt" HOME="$work" systemd-analyze verify --user --no-pager /usr/lib/systemd/user/credd.service 2>&1) ||
  fail "systemd-analyze verify failed: $verify"
[ -z "$verify" ] || fail "systemd-analyze verify warned: $verify"
echo "ok: no errors, no warnings"

echo "-- nothing enabled or started for anybody"
if ls /etc/systemd/user/*.wants/credd.service /etc/systemd/system/*.wants/credd.service 2>/dev/null | grep -q .; then
  fail "the package enabled credd"
fi
if pgrep -x credd >/dev/null; then fail "a credd process runs after install"; fi
echo "ok"

echo "-- dpkg -r"
$sudo dpkg -r credd
installed=""
status=$(dpkg-query -W -f='${Status}' credd 2>/dev/null || true)
case "$status" in "" | "unknown ok not-installed" | "deinstall ok not-installed") ;; *) fail "after dpkg -r the package is '$status'" ;; esac
for f in /usr/bin/credd /usr/lib/systemd/user/credd.service /usr/share/doc/credd /usr/share/credd; do
  [ ! -e "$f" ] || fail "$f is left after dpkg -r"
done
echo "ok: removed cleanly"
