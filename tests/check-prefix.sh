#!/bin/sh
# Configure libnn with a temporary --prefix, install it there, and build + run
# a consumer exactly as a user would: cc app.c $(pkg-config --cflags --libs nn)
# with PKG_CONFIG_PATH pointing into that prefix.
# usage: check-prefix.sh SOURCE_DIR
set -eu
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix="$tmp/prefix with space"
meson setup "$tmp/build" "$src" --prefix="$prefix" -Dtests=false \
    >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
meson install -C "$tmp/build" --quiet >"$tmp/log" 2>&1 || { cat "$tmp/log"; exit 1; }
pc=$(find "$prefix" -name nn.pc | head -n 1)
[ -n "$pc" ] || { echo "nn.pc not installed under $prefix"; exit 1; }
export PKG_CONFIG_PATH
PKG_CONFIG_PATH=$(dirname "$pc")
cflags=$(pkg-config --cflags nn)
libs=$(pkg-config --libs nn)
libdir=$(pkg-config --variable=libdir nn | sed 's/\\ / /g')
echo "pkg-config: $cflags $libs"
# shellcheck disable=SC2086
eval "${CC:-cc} $cflags \"$src/examples/minimal.c\" $libs -o \"$tmp/minimal\""
LD_LIBRARY_PATH="$libdir" "$tmp/minimal" "$tmp/xor.nnm"
[ -x "$prefix/bin/libnn" ] && "$prefix/bin/libnn" --version
[ -f "$(find "$prefix" -name libnn.1 | head -n 1)" ] || { echo "man page libnn.1 not installed"; exit 1; }
