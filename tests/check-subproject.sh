#!/bin/sh
# libnn as a meson subproject: a consumer project finds it with
# dependency('nn', fallback: ...) through meson.override_dependency, builds
# the README's example against it, and runs it.
# usage: check-subproject.sh SOURCE_DIR
set -eu
src=$(cd "$1" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/subprojects"
ln -s "$src" "$tmp/subprojects/libnn"
cp "$src/examples/minimal.c" "$tmp/"
cat > "$tmp/meson.build" <<'MESON'
project('consumer', 'c')
nn = dependency('nn', fallback : ['libnn', 'nn_dep'])
executable('minimal', 'minimal.c', dependencies : nn)
MESON
meson setup "$tmp/build" "$tmp" -Dlibnn:tests=false >"$tmp/setup.log" 2>&1 ||
    { cat "$tmp/setup.log"; exit 1; }
ninja -C "$tmp/build" >"$tmp/build.log" 2>&1 || { tail -20 "$tmp/build.log"; exit 1; }
"$tmp/build/minimal" "$tmp/xor.nnm"
