#!/bin/sh
# Installs the Debian packages needed to build, run and test everything.
# Needs root (or sudo); safe to run again.
set -eu

PACKAGES="
    g++ clang make binutils
    qemu-system-x86 ovmf
    mtools dosfstools gdisk sbsigntool
    libgtest-dev libcapstone-dev nlohmann-json3-dev
    libxml2-utils perl openssl
"

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo "$0" "$@"
    fi
    echo "setup-deps: run as root (apt-get needs it)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update
# shellcheck disable=SC2086
apt-get install -y --no-install-recommends $PACKAGES
