#!/bin/sh
# The public header must compile alone as C99 (pedantic) and as C++.
# usage: check-header.sh SOURCE_DIR
set -eu
hdr="$1/include/nn.h"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "%s"\nint main(void) { return nn_version_number() == 0; }\n' "$hdr" > "$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
${CC:-cc} -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only "$tmp/h.c"
${CXX:-c++} -std=c++11 -Wall -Wextra -pedantic -Werror -fsyntax-only "$tmp/h.cpp"
echo "nn.h compiles alone as C99 and C++11"
