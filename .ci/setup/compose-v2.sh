#!/usr/bin/env bash
# Compose v2 for the compose engine tests: Debian 13's docker-compose package
# (2.26, a static Go binary that runs on Debian 12 against dockerd 20.10),
# downloaded with a private apt state (nothing is installed system-wide),
# unpacked, and kept under /var/cache/tendhost-ci/compose-v2. The mirror is
# the one this machine's apt already uses, with the trixie suite.
# Prints the binary's path; the tests find it there (or in the Debian path).
set -euo pipefail
cache=/var/cache/tendhost-ci/compose-v2
bin=$cache/docker-compose
if [ -x "$bin" ] && "$bin" version >/dev/null 2>&1; then echo "$bin"; exit 0; fi

mirror=$(sed -nE 's/^URIs:[[:space:]]*([^[:space:]]+\/debian)[[:space:]]*$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(sed -nE 's/^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?([^[:space:]]+\/debian)[[:space:]]+.*/\2/p' /etc/apt/sources.list 2>/dev/null | head -n 1)
[ -n "$mirror" ] || { echo "compose-v2: no Debian mirror in this machine's apt sources" >&2; exit 1; }

mkdir -p "$cache/apt/lists/partial" "$cache/apt/archives/partial" "$cache/debs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" >"$cache/apt/sources.list"
: >"$cache/apt/status"
opts=(
  -o "Dir::Etc::SourceList=$cache/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$cache/apt/lists" -o "Dir::State::Status=$cache/apt/status"
  -o "Dir::Cache::Archives=$cache/apt/archives" -o APT::Architecture=amd64
)
apt-get "${opts[@]}" -qq update >/dev/null
(cd "$cache/debs" && apt-get "${opts[@]}" -qq download docker-compose >/dev/null)
deb=$(ls -t "$cache"/debs/docker-compose_2*.deb | head -n 1)
rm -rf "$cache/root"
dpkg-deb -x "$deb" "$cache/root"
install -m 0755 "$cache/root/usr/libexec/docker/cli-plugins/docker-compose" "$bin"
"$bin" version >/dev/null
echo "$bin"
