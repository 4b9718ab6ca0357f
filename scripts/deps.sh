#!/usr/bin/env bash
# Installs the Debian 12 packages sovgw needs to build and test (only the ones
# missing). Usage: scripts/deps.sh [build|test|bench]   (default: test)
set -euo pipefail
what=${1:-test}
build=(build-essential cmake pkg-config clang libclang-rt-14-dev
       libevent-dev libssl-dev libnghttp2-dev liblmdb-dev libmaxminddb-dev
       libpcre2-dev libyaml-dev libhyperscan-dev zlib1g-dev libbrotli-dev libzstd-dev
       liblzma-dev libbz2-dev
       ca-certificates openssl)
test=(curl nghttp2-server nghttp2-client python3 python3-h2 lmdb-utils iproute2 awscli nodejs
      openssh-client xz-utils bzip2 python3-reportlab python3-cairo fonts-dejavu-core
      python3-avro python3-snappy python3-zstandard
      libreoffice-writer-nogui libreoffice-calc-nogui python3-xlwt python3-jinja2)
bench=(wrk haproxy nghttp2-proxy squid tinyproxy ripgrep)
pkgs=("${build[@]}")
case "$what" in
  build) ;;
  test) pkgs+=("${test[@]}") ;;
  bench) pkgs+=("${test[@]}" "${bench[@]}") ;;
  *) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node.js from NodeSource bundles npm; Debian's nodejs needs its npm package.
if [ "$what" != build ] && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi
if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#pkgs[@]} packages present"
  exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=; [ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null || true
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
# The bench peers are services Debian starts on install; bench starts its own.
if [ "$what" = bench ]; then
  for s in haproxy squid tinyproxy nghttpx; do
    $SUDO systemctl disable --now "$s" >/dev/null 2>&1 || true
  done
fi
