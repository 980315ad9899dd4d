#!/bin/sh
# Install libnn into a temporary staging root and build + run a consumer the
# way users do: cc app.c $(pkg-config --cflags --libs nn).
# usage: check-install.sh BUILD_DIR SOURCE_DIR [SANITIZERS]
# SANITIZERS: meson's b_sanitize of this build; the consumer is built with the
# same runtime (an instrumented libnn.so needs it).
set -eu
build=$1
src=$2
san=${3:-none}
extra=""
[ "$san" = none ] || extra="-fsanitize=$san"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
meson install -C "$build" --no-rebuild --quiet --destdir "$stage" >/dev/null
pcdir=$(dirname "$(find "$stage" -name nn.pc | head -n 1)")
[ -f "$pcdir/nn.pc" ] || { echo "nn.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage"
flags=$(pkg-config --cflags --libs nn)
echo "pkg-config --cflags --libs nn: $flags"
so=$(find "$stage" -name 'libnn.so.1' | head -n 1)
[ -n "$so" ] || { echo "libnn.so.1 (soname link) missing"; exit 1; }
soname=$(readelf -d "$so" | sed -n 's/.*SONAME.*\[\(.*\)\]/\1/p')
[ "$soname" = libnn.so.1 ] || { echo "soname is '$soname'"; exit 1; }
# shellcheck disable=SC2086
${CC:-cc} $extra "$src/examples/minimal.c" $flags -o "$stage/minimal"
LD_LIBRARY_PATH=$(dirname "$so") "$stage/minimal" "$stage/xor.nnm"

# The MPI adapter, where it was built: nn-mpi.pc (which requires nn and the
# MPI library's own .pc), its header, and a consumer run on 2 ranks.
mpc=$(find "$stage" -name nn-mpi.pc | head -n 1)
if [ -n "$mpc" ]; then
    [ -f "$(dirname "$mpc")/nn.pc" ] || { echo "nn-mpi.pc not beside nn.pc"; exit 1; }
    reqs=$(pkg-config --print-requires nn-mpi | awk '{print $1}' | tr '\n' ' ')
    case " $reqs" in
    *" nn "*) ;;
    *) echo "nn-mpi.pc does not require nn: $reqs"; exit 1 ;;
    esac
    mflags=$(pkg-config --cflags --libs nn-mpi)
    echo "pkg-config --cflags --libs nn-mpi: $mflags"
    # mpicc adds MPI's real paths; the staged copies of them that the
    # sysroot prefix makes up do not exist and are ignored
    # shellcheck disable=SC2086
    mpicc $extra "$src/examples/mpi_train.c" $mflags -lm -o "$stage/mpi_train"
    OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
        LD_LIBRARY_PATH=$(dirname "$so") timeout 120 \
        mpirun --oversubscribe -np 2 "$stage/mpi_train" "$stage/rings.nnm"
fi
