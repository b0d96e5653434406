#!/bin/sh
# install-deps.sh - install the build and test dependencies of pagegrab on
# Debian/Ubuntu when pkg-config cannot find them; otherwise do nothing.

# `sh tests/install-deps.sh gcovr` (make coverage) installs gcovr only.
if [ "${1:-}" = gcovr ]; then
    command -v gcovr >/dev/null 2>&1 && exit 0
    SUDO=
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y gcovr ||
        { echo "install-deps.sh: install gcovr (apt-get install gcovr)" >&2
          exit 1; }
    exit 0
fi

# nghttpd (nghttp2-server) is the tests' HTTP/2 server; Debian puts it in
# /usr/sbin.  redis-server runs the shared-frontier tests.  curl, wget2
# and aria2c are the peers `pagegrab compare --peers` runs (test_compare).
if pkg-config --exists libcurl libxml-2.0 libpcre2-8 libcrypto hiredis cmocka libmicrohttpd \
    2>/dev/null && { command -v nghttpd || [ -x /usr/sbin/nghttpd ]; } \
    >/dev/null 2>&1 && command -v redis-server >/dev/null 2>&1 &&
    command -v curl >/dev/null 2>&1 && command -v wget2 >/dev/null 2>&1 &&
    command -v aria2c >/dev/null 2>&1; then
    exit 0
fi

SUDO=
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=sudo
    else
        echo "install-deps.sh: not root and no sudo; install:" >&2
        echo "  build-essential pkg-config libcurl4-openssl-dev libxml2-dev" >&2
        echo "  libpcre2-dev libssl-dev libhiredis-dev redis-server libcmocka-dev" >&2
        echo "  libmicrohttpd-dev nghttp2-server valgrind curl wget2 aria2" >&2
        exit 1
    fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-deps.sh: no apt-get; install libcurl, libxml2, pcre2, hiredis," >&2
    echo "  cmocka, libmicrohttpd (development files), redis-server, pkg-config," >&2
    echo "  valgrind, curl, wget2, aria2c" >&2
    exit 1
fi

echo "install-deps.sh: installing the missing development packages" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update || exit 1
$SUDO apt-get install -y build-essential pkg-config libcurl4-openssl-dev \
    libxml2-dev libpcre2-dev libssl-dev libhiredis-dev redis-server \
    libcmocka-dev libmicrohttpd-dev nghttp2-server valgrind curl wget2 aria2
