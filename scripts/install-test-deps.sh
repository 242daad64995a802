#!/usr/bin/env bash
# Install the system packages the differential tests need (Debian/Ubuntu):
# libotr (headers, library, pkg-config file and the otr tools), pkg-config,
# python-potr, ngircd, openssl (test certificates) and bsdutils (script(1): the chat client on a pseudo-terminal). Idempotent: installs only what is missing, and
# refreshes the package lists only if something is missing.
set -euo pipefail

packages=(libotr5-dev libotr5-bin pkg-config python3-potr ngircd openssl bsdutils)

installed() {
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = "installed" ]
}

missing=()
for p in "${packages[@]}"; do
    installed "$p" || missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-test-deps: all present: ${packages[*]}"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: missing ${missing[*]} and apt-get is not available" >&2
    exit 1
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo_cmd=(sudo)
    else
        echo "install-test-deps: need root (or sudo) to install ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

for p in "${missing[@]}"; do
    if ! installed "$p"; then
        echo "install-test-deps: $p is still not installed" >&2
        exit 1
    fi
done
echo "install-test-deps: done"
