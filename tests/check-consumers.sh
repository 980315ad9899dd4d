#!/bin/sh
# The installed package used the ways the README tells users to, through the
# installed files only: every example of share/doc/libnn/examples built
#   1. with pkg-config against libnn.so (rpath to the private libdir),
#   2. with pkg-config --static against libnn.a (the rest stays dynamic),
#   3. with CMake, find_package(nn 1.0 CONFIG) through CMAKE_PREFIX_PATH,
#      against nn::nn and again against nn::nn_static,
# and run (fashion_mnist, which needs the data set, is only built). The MPI
# example runs on 2 ranks where nn-mpi is installed, the Fortran one where
# nn-fortran is. Also: the installed documentation is complete, the CMake
# package names no absolute prefix, its version file accepts what it should.
# The staged root (--destdir) stands for a private prefix; PKG_CONFIG_SYSROOT_DIR
# maps nn.pc's prefix into it (the dependencies' -L/-I paths, which it
# prefixes too, do not exist there and the compiler's defaults find them).
# usage: check-consumers.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "check-consumers: $*" >&2; exit 1; }
unset LD_LIBRARY_PATH # meson test's, pointing into the build: a user has none
t0=$(date +%s)
t_lap=$t0
lap() { # the seconds a part took (printed, never checked)
    t=$(date +%s); echo "-- $1: $((t - t_lap)) s"; t_lap=$t
}

stage=$tmp/stage
meson install -C "$build" --no-rebuild --quiet --destdir "$stage" \
    >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; exit 1; }
pc=$(find "$stage" -name nn.pc | head -n 1)
[ -n "$pc" ] || fail "nn.pc was not installed"
pcdir=$(dirname "$pc")
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$stage"
libdir=$(pkg-config --variable=libdir nn)
doc=$(find "$stage" -type d -path '*/share/doc/libnn' | head -n 1)
[ -n "$doc" ] || fail "share/doc/libnn was not installed"
prefix=${doc%/share/doc/libnn}
ex=$doc/examples
mpi=no
[ -f "$pcdir/nn-mpi.pc" ] && mpi=yes
fortran=no
[ -f "$pcdir/nn-fortran.pc" ] && [ -f "$ex/surrogate.f90" ] && fortran=yes
echo "staged prefix $prefix; MPI adapter: $mpi; Fortran module: $fortran"
lap "meson install"

# ---- what was installed (both kinds of library by default; a build set up
# with -Ddefault_library=shared or static is tried with the one it has)
shared=no
static=no
[ ! -f "$libdir/libnn.so.1" ] || shared=yes
[ ! -f "$libdir/libnn.a" ] || static=yes
echo "libnn.so.1: $shared; libnn.a: $static"
[ $shared = yes ] || [ $static = yes ] || fail "neither libnn.so.1 nor libnn.a installed"
for f in "$libdir/cmake/nn/nnConfig.cmake" "$libdir/cmake/nn/nnConfigVersion.cmake" \
    "$doc/README.md" "$ex/CMakeLists.txt"; do
    [ -f "$f" ] || fail "not installed: ${f#"$stage"}"
done
[ $mpi = no ] || [ $static = no ] || [ -f "$libdir/libnn_mpi.a" ] ||
    fail "libnn_mpi.a not installed"
for f in "$src"/docs/*.md "$src"/examples/*; do
    rel=${f#"$src"/}
    cmp -s "$f" "$doc/$rel" || fail "share/doc/libnn/$rel missing or not the source's"
done
# the README's relative links work in the installed copy too
grep -oE '\]\((docs|examples)/[^)#]*' "$src/README.md" | cut -c3- |
    while read -r l; do
        [ -f "$doc/$l" ] || fail "README links $l, which is not installed"
    done
grep -q "$(PKG_CONFIG_SYSROOT_DIR='' pkg-config --variable=prefix nn)/" \
    "$libdir/cmake/nn/nnConfig.cmake" && fail "nnConfig.cmake names the prefix"

export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# run DIR: the examples built in DIR (minimal saves its model there)
run() {
    "$1/minimal" "$1/xor.nnm"
    "$1/xor_blobs" | tail -n 2
    "$1/surrogate"
    if [ -x "$1/mpi_train" ]; then
        timeout 120 mpirun --oversubscribe -np 2 "$1/mpi_train" "$1/rings.nnm"
    fi
    if [ -x "$1/surrogate_f" ]; then "$1/surrogate_f"; fi
}
# uses DIR KIND: each example in DIR loads libnn (and libnn_mpi, libnn_fortran
# where it uses them) from the staged libdir (KIND shared), or has them linked
# in (static: none of them among its NEEDED entries)
uses() {
    for e in minimal xor_blobs fashion_mnist surrogate mpi_train surrogate_f; do
        [ -f "$1/$e" ] || continue
        libs=libnn.so.1
        [ $e != mpi_train ] || libs="$libs libnn_mpi.so.1"
        [ $e != surrogate_f ] || libs="$libs libnn_fortran.so.1"
        for l in $libs; do
            if [ "$2" = static ]; then
                ! readelf -d "$1/$e" | grep -q "NEEDED.*\[$l\]" ||
                    fail "$e needs $l: not linked statically"
                continue
            fi
            # (the linker may drop an unused libnn_fortran: --as-needed)
            [ "$l" = libnn.so.1 ] || readelf -d "$1/$e" | grep -q "NEEDED.*\[$l\]" ||
                continue
            got=$(ldd "$1/$e" | sed -n "s/^[[:space:]]*$l => \([^ ]*\).*/\1/p")
            [ "$got" = "$libdir/$l" ] || fail "$e loads $l from '$got', not $libdir"
        done
    done
}
CC=${CC:-cc}
# gfortran warns of -I directories that do not exist: the dependencies' ones
# that the sysroot makes up
fnowarn=-Wno-missing-include-dirs

# ---- 1. pkg-config, libnn.so; the rpath makes the private prefix's copy the
# one loaded, without LD_LIBRARY_PATH
if [ $shared = yes ]; then
    echo "== pkg-config: $(pkg-config --cflags --libs nn)"
    b=$tmp/pc-shared
    mkdir -p "$b"
    rp="-Wl,-rpath,$libdir"
    for e in minimal xor_blobs fashion_mnist; do
        # shellcheck disable=SC2046
        $CC "$ex/$e.c" $(pkg-config --cflags --libs nn) -lm "$rp" -o "$b/$e"
    done
    # shellcheck disable=SC2046
    $CC -fopenmp "$ex/surrogate.c" $(pkg-config --cflags --libs nn) -lm "$rp" \
        -o "$b/surrogate"
    if [ $mpi = yes ]; then
        # shellcheck disable=SC2046
        mpicc "$ex/mpi_train.c" $(pkg-config --cflags --libs nn-mpi) -lm "$rp" \
            -o "$b/mpi_train"
    fi
    if [ $fortran = yes ]; then
        # shellcheck disable=SC2046
        ${FC:-gfortran} -fopenmp $fnowarn "$ex/surrogate.f90" \
            $(pkg-config --cflags --libs nn-fortran) "$rp" -o "$b/surrogate_f"
    fi
    uses "$b" shared
    run "$b"
    lap "pkg-config, shared"
fi

# ---- 2. pkg-config --static: libnn.a and what it needs; the linker would
# take libnn.so where both are installed, so the archive is named
# (-l:libnn.a in place of -lnn)
static_libs() { # the README's sed, for each library of ours
    pkg-config --static --libs "$@" | sed -e 's/-lnn_mpi\b/-l:libnn_mpi.a/' \
        -e 's/-lnn_fortran\b/-l:libnn_fortran.a/' -e 's/-lnn\b/-l:libnn.a/'
}
if [ $static = yes ]; then
    echo "== pkg-config --static: $(pkg-config --static --libs nn)"
    b=$tmp/pc-static
    mkdir -p "$b"
    for e in minimal xor_blobs fashion_mnist; do
        # shellcheck disable=SC2046
        $CC "$ex/$e.c" $(pkg-config --cflags nn) $(static_libs nn) -o "$b/$e"
    done
    # shellcheck disable=SC2046
    $CC -fopenmp "$ex/surrogate.c" $(pkg-config --cflags nn) $(static_libs nn) \
        -o "$b/surrogate"
    if [ $mpi = yes ]; then
        # shellcheck disable=SC2046
        mpicc "$ex/mpi_train.c" $(pkg-config --cflags nn-mpi) $(static_libs nn-mpi) \
            -o "$b/mpi_train"
    fi
    if [ $fortran = yes ]; then
        # shellcheck disable=SC2046
        ${FC:-gfortran} -fopenmp $fnowarn "$ex/surrogate.f90" \
            $(pkg-config --cflags nn-fortran) $(static_libs nn-fortran) -o "$b/surrogate_f"
    fi
    uses "$b" static
    run "$b"
    lap "pkg-config, static"
fi

# ---- 3. CMake: the installed examples/CMakeLists.txt, find_package(nn 1.0
# CONFIG REQUIRED) through CMAKE_PREFIX_PATH; CMake's build-tree rpath finds
# the private prefix's libraries
if command -v cmake >/dev/null 2>&1; then
    for kind in shared static; do
        case $kind in
        shared) [ $shared = yes ] || continue ;;
        static) [ $static = yes ] || continue ;;
        esac
        # one build tree, reconfigured: the second run reuses what CMake
        # found (compilers, MPI, OpenMP) and the objects
        b=$tmp/cmake
        opt=-DNN_EXAMPLES_STATIC=OFF
        [ $kind = shared ] || opt=-DNN_EXAMPLES_STATIC=ON
        cmake -S "$ex" -B "$b" -DCMAKE_PREFIX_PATH="$prefix" "$opt" \
            >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
        cmake --build "$b" -j 2 >"$tmp/cmake.log" 2>&1 ||
            { cat "$tmp/cmake.log"; exit 1; }
        built=""
        for e in minimal xor_blobs fashion_mnist surrogate mpi_train surrogate_f; do
            [ ! -x "$b/$e" ] || built="$built $e"
        done
        echo "== CMake, nn::nn$([ $kind = shared ] || echo _static):$built"
        [ $mpi = no ] || [ -x "$b/mpi_train" ] || fail "CMake built no mpi_train"
        [ $fortran = no ] || [ -x "$b/surrogate_f" ] ||
            fail "CMake built no surrogate_f"
        uses "$b" $kind
        run "$b"
        lap "CMake, $kind"
    done

    # the version file and the components: what is accepted and refused
    mkdir -p "$tmp/versions"
    cat >"$tmp/versions/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.19)
project(nn_versions LANGUAGES C) # C: sets the lib/<multiarch> search path
foreach(v 0.9 1.1 2.0 "1.1...<2" "0.5...<1.0" "0.9...1.0.0" "1.0...2.0")
  find_package(nn ${v} CONFIG QUIET)
  if(nn_FOUND)
    message(FATAL_ERROR "find_package(nn ${v}) accepted ${nn_VERSION}")
  endif()
endforeach()
find_package(nn CONFIG QUIET COMPONENTS no_such_part)
if(nn_FOUND)
  message(FATAL_ERROR "find_package(nn COMPONENTS no_such_part) succeeded")
endif()
foreach(v 1 1.0 1.0.0 "1.0...<2" "1.0...1.5")
  find_package(nn ${v} CONFIG REQUIRED)
endforeach()
find_package(nn 1.0.0 EXACT CONFIG REQUIRED)
message(STATUS "nn ${nn_VERSION} from ${nn_DIR}")
CMAKE
    cmake -S "$tmp/versions" -B "$tmp/versions/b" -DCMAKE_PREFIX_PATH="$prefix" \
        >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; exit 1; }
    grep 'nn 1.0.0 from' "$tmp/cmake.log"
    lap "CMake, versions"
else
    echo "cmake not found: the CMake package was not tried"
fi
echo "consumers: all built and run in $(($(date +%s) - t0)) s"
