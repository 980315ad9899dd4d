#!/bin/sh
# Compare the dynamic symbols libnn.so exports with the committed list
# (libdrm's symbols-check idiom): a new export must be added to nn.symbols on
# purpose, a removed one is an ABI break.
# usage: check-symbols.sh LIBNN_SO NN_SYMBOLS
set -eu
lib=$1
expected=$2
actual=$(nm -D --defined-only "$lib" | awk '{print $3}' |
    grep -vE '^(_init|_fini|_edata|_end|__bss_start)$' | sort)
if ! diff_out=$(printf '%s\n' "$actual" | diff -u "$expected" -); then
    echo "exported symbols differ from $expected:"
    printf '%s\n' "$diff_out"
    exit 1
fi
bad=$(printf '%s\n' "$actual" | grep -v '^nn_' || true)
if [ -n "$bad" ]; then
    echo "symbols outside the nn_ prefix: $bad"
    exit 1
fi
echo "$(printf '%s\n' "$actual" | wc -l) symbols, all listed"
