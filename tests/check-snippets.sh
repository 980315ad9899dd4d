#!/bin/sh
# Every code block of the README and docs/*.md that claims to be C
# (```c) or Fortran (```fortran) must compile, warnings as errors, so that
# the documentation cannot rot: each block is a whole translation unit
# (fragments are not allowed in those fences; use ```text for those).
# C blocks including <nn_mpi.h> are compiled with mpicc, Fortran blocks
# against the module the build made (nn.mod in BUILD_DIR).
# usage: check-snippets.sh SOURCE_DIR BUILD_DIR
set -eu
src=$(cd "$1" && pwd)
build=$(cd "$2" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cflags="-std=c11 -Wall -Wextra -Werror -fopenmp -I$src/include"
mod=$(find "$build" -name nn.mod -print 2>/dev/null | head -n 1)
fails=0 n_c=0 n_f=0 skipped=0

for md in "$src/README.md" "$src"/docs/*.md; do
    name=$(basename "$md" .md)
    # one file per fenced block: NAME_K.c / NAME_K.f90, with its first line
    awk -v dir="$tmp" -v name="$name" '
        /^```c[[:space:]]*$/ { k++; out = dir "/" name "_" k ".c"; line[out] = NR; next }
        /^```fortran[[:space:]]*$/ { k++; out = dir "/" name "_" k ".f90"; line[out] = NR; next }
        /^```/ { if (out != "") { print line[out] > (dir "/" name "_" k ".line"); close(out) } out = ""; next }
        out != "" { print > out }
    ' "$md"
done

for f in "$tmp"/*.c "$tmp"/*.f90; do
    [ -e "$f" ] || continue
    base=${f%.*}
    at="$(basename "$base" | sed 's/_[0-9]*$//').md line $(cat "$base.line" 2>/dev/null || echo '?')"
    case "$f" in
    *.c)
        n_c=$((n_c + 1))
        cc=${CC:-cc}
        if grep -q 'nn_mpi\.h' "$f"; then
            if ! command -v mpicc >/dev/null 2>&1; then
                skipped=$((skipped + 1)); continue
            fi
            cc=mpicc
        fi
        # shellcheck disable=SC2086
        if ! $cc $cflags -c "$f" -o "$tmp/out.o" 2>"$tmp/err"; then
            echo "snippet at $at does not compile:"; cat "$tmp/err"
            fails=$((fails + 1))
        fi ;;
    *.f90)
        n_f=$((n_f + 1))
        if [ -z "$mod" ] || ! command -v "${FC:-gfortran}" >/dev/null 2>&1; then
            skipped=$((skipped + 1)); continue
        fi
        if ! "${FC:-gfortran}" -std=f2008 -Wall -Wextra -Werror -fopenmp \
            -I"$(dirname "$mod")" -c "$f" -o "$tmp/out.o" -J "$tmp" 2>"$tmp/err"; then
            echo "snippet at $at does not compile:"; cat "$tmp/err"
            fails=$((fails + 1))
        fi ;;
    esac
done

echo "$n_c C and $n_f Fortran snippets, $fails failed, $skipped skipped (no mpicc / no Fortran module)"
[ "$n_c" -gt 0 ] || { echo "no C snippet found: the extraction is broken"; exit 1; }
[ "$fails" -eq 0 ]
