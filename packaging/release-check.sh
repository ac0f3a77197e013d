#!/usr/bin/env bash
# The release check CI runs: `goreleaser check` on packaging/goreleaser.yaml,
# then a snapshot release (publishes nothing) into a temporary dist/, and
# checks what it made: the six archives (linux, darwin, windows × amd64,
# arm64) with their contents, checksums.txt (every line verifies, every
# archive is listed), a deb and an rpm per linux arch, and that the host's
# linux binary from its archive says the snapshot's version and commit in
# `credd version` (the -ldflags stamping).
#
# Needs GoReleaser in $CREDD_CI_CACHE/bin (scripts/install-peers) or
# $GORELEASER, git, python3 and a linux/amd64 or linux/arm64 host. Writes
# nothing in the repository but completions/ (the config's before hook;
# ignored by git); dist/ goes to a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
cache="${CREDD_CI_CACHE:-$HOME/.cache/credd-ci}"
goreleaser="${GORELEASER:-$cache/bin/goreleaser}"

fail() { echo "release-check: $*" >&2; exit 1; }
[ -x "$goreleaser" ] || fail "goreleaser not found at $goreleaser: run scripts/install-peers"
[ "$(uname -s)" = Linux ] || fail "needs a linux host (it runs the linux binary)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "-- goreleaser check ($("$goreleaser" --version 2>/dev/null | awk '/^GitVersion:/ {print $2}'))"
"$goreleaser" check --config packaging/goreleaser.yaml

echo "-- goreleaser release --snapshot (dist in $work/dist)"
# GoReleaser drops all git information (commit "none") when it finds no
# remote, as in a bare `git worktree`; give it one for this run only,
# through git's environment, without touching the repository's config.
if [ -z "$(git remote)" ]; then
  export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=remote.origin.url GIT_CONFIG_VALUE_0=https://github.com/credd/credd.git
fi
# The same config with dist/ moved out of the repository. Paths in the
# config are relative to the working directory, not to the config file.
grep -q '^dist:' packaging/goreleaser.yaml && fail "goreleaser.yaml sets dist: this script overrides it"
{ cat packaging/goreleaser.yaml; echo; echo "dist: $work/dist"; } >"$work/goreleaser.yaml"
"$goreleaser" release --snapshot --clean --skip=publish --config "$work/goreleaser.yaml"
dist="$work/dist"

read -r version commit < <(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["version"], m["commit"])' "$dist/metadata.json")
[ -n "$version" ] && [ -n "$commit" ] || fail "no version or commit in metadata.json"
echo "snapshot $version, commit $commit"

echo "-- archives and checksums.txt"
for target in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64; do
  os=${target%/*} arch=${target#*/} ext=tar.gz exe=credd
  [ "$os" = windows ] && ext=zip exe=credd.exe
  archive="credd_${version}_${os}_${arch}.$ext"
  [ -s "$dist/$archive" ] || fail "missing $archive; dist has: $(ls "$dist")"
  grep -Eq "^[0-9a-f]{64}  $archive\$" "$dist/checksums.txt" || fail "$archive is not in checksums.txt"
  if [ "$ext" = zip ]; then
    list=$(python3 -c 'import sys,zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$dist/$archive")
  else
    list=$(tar -tzf "$dist/$archive")
  fi
  for f in "$exe" LICENSE README.md docs/packaging.md completions/credd.bash completions/_credd completions/credd.fish completions/credd.ps1 systemd/credd.service; do
    grep -qx "$f" <<<"$list" || fail "$archive lacks $f"
  done
  echo "ok $archive"
done
(cd "$dist" && sha256sum --check --strict --quiet checksums.txt) || fail "checksums.txt does not verify"
echo "ok checksums.txt: $(wc -l <"$dist/checksums.txt") files verify"

echo "-- deb and rpm"
for arch in amd64 arm64; do
  rpmarch=$arch; [ "$arch" = amd64 ] && rpmarch=x86_64; [ "$arch" = arm64 ] && rpmarch=aarch64
  ls "$dist"/credd_*_"$arch".deb >/dev/null 2>&1 || fail "no $arch .deb"
  ls "$dist"/credd-*."$rpmarch".rpm >/dev/null 2>&1 || fail "no $rpmarch .rpm"
done
ls "$dist"/*.deb "$dist"/*.rpm | xargs -n1 basename

echo "-- credd version (linux/$(go env GOARCH) archive)"
mkdir "$work/x"
tar -xzf "$dist/credd_${version}_linux_$(go env GOARCH).tar.gz" -C "$work/x"
out=$("$work/x/credd" version)
echo "$out"
grep -qx "credd $version" <<<"$out" || fail "credd version does not say $version"
stamped=$(sed -n 's/^commit //p' <<<"$out")
[ ${#stamped} -ge 7 ] && [ "${commit#"$stamped"}" != "$commit" ] || fail "credd version says commit '$stamped', not a prefix of $commit"
echo "ok: stamped $version, commit $stamped"
