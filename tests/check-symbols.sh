#!/bin/sh
# Compare the dynamic symbols libnn.so exports with the committed list
# (libdrm's symbols-check idiom): a new export must be added to nn.symbols on
# purpose, a removed one is an ABI break. The list itself must be exactly the
# NN_API functions of include/nn.h (experimental ones included: they are
# exported, only not promised), so header, list and library cannot drift
# apart; and nothing outside the nn_ prefix may be exported.
# usage: check-symbols.sh LIB_SO SYMBOLS [HEADER]  check (HEADER: nn.h;
#                                               the MPI adapter's list is
#                                               that of nn_mpi.h)
#        check-symbols.sh --list [NN_H]         print the header's list
#                                               (regenerate nn.symbols with
#                                               it: > tests/nn.symbols)
set -eu
here=$(cd "$(dirname "$0")" && pwd)

# Function names declared with NN_API: preprocessor lines and comments
# dropped, the header joined into one line, then the identifier before the
# first '(' of each declaration (the return type may span lines).
header_symbols() {
    grep -v '^[[:space:]]*#' "$1" | tr '\n' ' ' |
        sed 's|/\*[^*]*\*\+\([^/*][^*]*\*\+\)*/| |g' |
        grep -o 'NN_API[^;(]*(' |
        sed 's/[[:space:]]*($//; s/.*[^A-Za-z0-9_]//' | LC_ALL=C sort
}

if [ "${1:-}" = "--list" ]; then
    header_symbols "${2:-$here/../include/nn.h}"
    exit 0
fi
lib=${1:?usage: check-symbols.sh LIBNN_SO NN_SYMBOLS}
expected=${2:?usage: check-symbols.sh LIBNN_SO NN_SYMBOLS}
status=0

header=${3:-$here/../include/nn.h}
declared=$(header_symbols "$header")
if ! diff_out=$(printf '%s\n' "$declared" | diff -u "$expected" -); then
    echo "$expected differs from the NN_API functions of $header"
    echo "(regenerate: $0 --list > $expected):"
    printf '%s\n' "$diff_out"
    status=1
fi

actual=$(nm -D --defined-only "$lib" | awk '{print $3}' |
    grep -vE '^(_init|_fini|_edata|_end|__bss_start)$' | LC_ALL=C sort)
if ! diff_out=$(printf '%s\n' "$actual" | diff -u "$expected" -); then
    echo "exported symbols differ from $expected:"
    printf '%s\n' "$diff_out"
    status=1
fi
bad=$(printf '%s\n' "$actual" | grep -v '^nn_' || true)
if [ -n "$bad" ]; then
    echo "symbols outside the nn_ prefix: $bad"
    status=1
fi
[ "$status" -eq 0 ] || exit 1
echo "$(printf '%s\n' "$actual" | wc -l) symbols, all listed and declared"
