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
#   build-fuzz/fuzz_onnx -dict=tests/fuzz/onnx.dict /tmp/onnx tests/fuzz/corpus/onnx
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

# ONNX (lib/onnx.c), as meson's onnx feature builds it: C sources generated
# by protoc-c from the system's onnx.proto (ONNX_PROTO overrides), compiled
# with the library; without protoc-c, protobuf-c or onnx.proto the library
# is built without it (its calls return NN_ERR_UNSUPPORTED) and the onnx
# target is left out.
onnx_proto=${ONNX_PROTO:-}
for d in /usr/local/include/onnx /usr/include/onnx; do
    [ -z "$onnx_proto" ] && [ -f "$d/onnx.proto" ] && onnx_proto=$d/onnx.proto
done
onnx_flags=""
onnx_objs=""
if [ -n "$onnx_proto" ] && command -v protoc-c >/dev/null 2>&1 &&
   pkg-config --exists libprotobuf-c; then
    mkdir -p "$out/gen"
    protoc-c --c_out="$out/gen" --proto_path="$(dirname "$onnx_proto")" \
        onnx.proto
    onnx_flags="-DNN_HAVE_ONNX -I$out/gen $(pkg-config --cflags libprotobuf-c)"
    # shellcheck disable=SC2086
    $CC $objflags $onnx_flags -c \
        "$out/gen/onnx.pb-c.c" -o "$out/gen/onnx.pb-c.o"
    onnx_objs="$out/gen/onnx.pb-c.o"
    libs="$libs $(pkg-config --libs libprotobuf-c)"
    [ -z "${FUZZ_TARGETS:-}" ] && targets="$targets onnx"
else
    echo "no protoc-c, libprotobuf-c or onnx.proto: libnn without ONNX" >&2
fi

# the library once, as objects (libFuzzer instrumentation included)
objs="$onnx_objs"
mkdir -p "$out/lib"
for src in "$root"/lib/*.c; do
    # the MPI adapter is a library of its own, not part of libnn
    [ "$(basename "$src")" = mpi.c ] && continue
    obj="$out/lib/$(basename "$src" .c).o"
    # shellcheck disable=SC2086
    $CC $objflags $onnx_flags -c -I"$root/include" -I"$root/lib" \
        "$src" -o "$obj"
    objs="$objs $obj"
done
# each target: its harness + the objects, linked with libFuzzer's main
for t in $targets; do
    # fuzz_onnx's structure-aware mutator works on the generated protobuf-c
    # code (the replay build, without it, has byte mutations only)
    tflags=""
    [ "$t" = onnx ] && tflags="-DNN_FUZZ_ONNX_MUTATOR $onnx_flags"
    # shellcheck disable=SC2086
    $CC $cflags $tflags -I"$root/include" "$root/tests/fuzz/fuzz_$t.c" \
        $objs $libs -o "$out/fuzz_$t"
    echo "built $out/fuzz_$t"
done
