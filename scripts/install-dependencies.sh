#!/usr/bin/env bash
# Installs the C libraries DistributedImaging links (libpng, libjpeg-turbo, zlib) and openssl
# (the TLS tests make a certificate with it), only when missing; extra package names given as
# arguments are installed too. Debian: libjpeg62-turbo-dev; Ubuntu: libjpeg-turbo8-dev. Needs
# root or sudo.
set -euo pipefail

missing=()
have() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

have libpng-dev || missing+=(libpng-dev)
have zlib1g-dev || missing+=(zlib1g-dev)
have openssl || missing+=(openssl)
if ! have libjpeg62-turbo-dev && ! have libjpeg-turbo8-dev && ! have libjpeg-dev; then
  if grep -qi ubuntu /etc/os-release 2>/dev/null; then missing+=(libjpeg-turbo8-dev); else missing+=(libjpeg62-turbo-dev); fi
fi
for extra in "$@"; do have "$extra" || missing+=("$extra"); done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "install-dependencies: please install: ${missing[*]} (no apt-get on this machine)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-dependencies: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
