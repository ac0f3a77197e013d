#!/usr/bin/env bash
# The rpm check CI runs: build credd and its completions, package them with
# nfpm (packaging/nfpm.yaml, --packager rpm) and read the package with
# Debian's rpm, without installing it: its header (rpm -qip), that it holds
# the binary just built and the systemd user unit byte for byte, the docs
# and completions at their rpm paths (rpm -qlp), modes, and no scriptlets or
# triggers (installing must start nothing for anybody).
#
# Needs nfpm in $CREDD_CI_CACHE/bin (scripts/install-peers) or $NFPM, and
# rpm (apt-get install rpm). No root needed.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${CREDD_CI_CACHE:-$HOME/.cache/credd-ci}"
nfpm="${NFPM:-$cache/bin/nfpm}"

fail() { echo "rpm-check: $*" >&2; exit 1; }
[ -x "$nfpm" ] || fail "nfpm not found at $nfpm: run scripts/install-peers"
command -v rpm >/dev/null || fail "rpm not found: apt-get install rpm"

version="0.0.0~ci"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
arch=$(go env GOARCH)
case "$arch" in amd64) rpmarch=x86_64 ;; arm64) rpmarch=aarch64 ;; *) rpmarch=$arch ;; esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# rpm reads no database for -qp, but keep it off the host's.
rpmq() { rpm --dbpath "$work/rpmdb" "$@"; }

echo "-- build credd $version ($commit) for linux/$arch"
CGO_ENABLED=0 GOOS=linux go build -trimpath \
  -ldflags "-s -w -X github.com/credd/credd/cmd/credd/cli.buildVersion=$version -X github.com/credd/credd/cmd/credd/cli.buildCommit=$commit" \
  -o "$work/dist/credd" ./cmd/credd
packaging/completions.sh "$work/dist/credd" "$work/dist/completions"

echo "-- nfpm package (rpm)"
CREDD_VERSION="$version" GOARCH="$arch" CREDD_DIST="$work/dist" \
  "$nfpm" package --config packaging/nfpm.yaml --packager rpm --target "$work/"
pkg=$(echo "$work"/credd-*."$rpmarch".rpm)
[ -f "$pkg" ] || fail "no .rpm built: $(ls "$work")"
echo "built $(basename "$pkg"): $(stat -c %s "$pkg") bytes"

echo "-- rpm -qip"
rpmq -qip "$pkg"
got=$(rpmq -qp --qf '%{NAME} %{VERSION} %{ARCH} %{OS}' "$pkg")
[ "$got" = "credd $version $rpmarch linux" ] || fail "name/version/arch/os '$got', want 'credd $version $rpmarch linux'"
license=$(rpmq -qp --qf '%{LICENSE}' "$pkg")
[ "$license" = Apache-2.0 ] || fail "license '$license', want Apache-2.0"
[ "$(rpmq -qp --licensefiles "$pkg")" = /usr/share/licenses/credd/LICENSE ] || fail "the rpm marks no %license file (want /usr/share/licenses/credd/LICENSE)"

echo "-- rpm -qlp"
list=$(rpmq -qlp "$pkg")
echo "$list"
for f in /usr/bin/credd /usr/lib/systemd/user/credd.service \
  /usr/share/doc/credd/README.md /usr/share/doc/credd/docs/install.md /usr/share/doc/credd/docs/packaging.md \
  /usr/share/bash-completion/completions/credd /usr/share/zsh/site-functions/_credd \
  /usr/share/fish/vendor_completions.d/credd.fish /usr/share/credd/completions/credd.ps1; do
  grep -qx "$f" <<<"$list" || fail "the rpm lacks $f"
done
for f in docs/*.md; do
  grep -qx "/usr/share/doc/credd/$f" <<<"$list" || fail "the rpm lacks /usr/share/doc/credd/$f"
done
! grep -q '^/usr/share/zsh/vendor-completions/' <<<"$list" || fail "the rpm has the deb's zsh path"

echo "-- contents and modes"
# Each file's digest (sha256, the algorithm nfpm writes) and mode.
files=$(rpmq -qp --qf '[%{FILEDIGESTS} %{FILEMODES:perms} %{FILENAMES}\n]' "$pkg")
want() { # want PATH LOCALFILE PERMS
  local line
  line=$(grep " $1\$" <<<"$files") || fail "no $1"
  [ "$line" = "$(sha256sum "$2" | cut -d' ' -f1) $3 $1" ] || fail "$1: '$line' is not $2 with $3"
}
want /usr/bin/credd "$work/dist/credd" -rwxr-xr-x
want /usr/lib/systemd/user/credd.service packaging/systemd/credd.service -rw-r--r--
want /usr/share/licenses/credd/LICENSE LICENSE -rw-r--r--
want /usr/share/zsh/site-functions/_credd "$work/dist/completions/_credd" -rw-r--r--
echo "ok: the binary built above, the unit from packaging/systemd, modes"

echo "-- rpm -qp --scripts --triggers"
scripts=$(rpmq -qp --scripts --triggers "$pkg")
[ -z "$scripts" ] || fail "the rpm has scriptlets or triggers; installing must start nothing:
$scripts"
echo "ok: none"
