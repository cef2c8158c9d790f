#!/bin/sh
# install_deps.sh [fuzz]: installs the Debian packages binfer needs to build
# and test (with "fuzz": also clang and its libFuzzer runtime), when any is
# missing. Run as root (or with sudo available).
set -e
PKGS="gcc make libc6-dev libopenblas-openmp-dev libzstd-dev libyaml-dev libcmocka-dev libutf8proc-dev zstd python3"
for group in "$@"; do
	case $group in
	fuzz) PKGS="$PKGS clang libclang-rt-dev" ;;
	*) echo "install_deps: unknown group '$group' (expected fuzz)" >&2; exit 2 ;;
	esac
done
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
