#!/bin/sh
# Build the libFuzzer targets with clang, compiling the library sources
# straight into each binary (not libnn.so) with ASan + UBSan. Not part of the
# normal build; CI replays the committed corpora instead (meson test).
#
# usage: tests/fuzz/build.sh [OUTDIR]           (default: build-fuzz)
# then, e.g. (corpus dirs as the first argument collect new inputs there;
# keep a scratch copy and commit only small, interesting files):
#   build-fuzz/fuzz_idx -max_total_time=600 -jobs=1 /tmp/idx tests/fuzz/corpus/idx
#   build-fuzz/fuzz_model -dict=tests/fuzz/model.dict /tmp/model tests/fuzz/corpus/model
# A crash file found this way goes to tests/fuzz/corpus/<target>/ with a fix.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-build-fuzz}
mkdir -p "$out"
CC=${CC:-clang}
common="-std=c11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all"
objflags="$common -fsanitize=fuzzer-no-link,address,undefined"
cflags="$common -fsanitize=fuzzer,address,undefined"
libs="$(pkg-config --libs openblas 2>/dev/null || echo -lblas) $(pkg-config --libs lapacke zlib) -lm"
targets=${FUZZ_TARGETS:-"idx csv model"}

# the library once, as objects (libFuzzer instrumentation included)
objs=""
mkdir -p "$out/lib"
for src in "$root"/lib/*.c; do
    # the MPI adapter is a library of its own, not part of libnn
    [ "$(basename "$src")" = mpi.c ] && continue
    obj="$out/lib/$(basename "$src" .c).o"
    # shellcheck disable=SC2086
    $CC $objflags -c -I"$root/include" -I"$root/lib" \
        "$src" -o "$obj"
    objs="$objs $obj"
done
# each target: its harness + the objects, linked with libFuzzer's main
for t in $targets; do
    # shellcheck disable=SC2086
    $CC $cflags -I"$root/include" "$root/tests/fuzz/fuzz_$t.c" $objs $libs \
        -o "$out/fuzz_$t"
    echo "built $out/fuzz_$t"
done
