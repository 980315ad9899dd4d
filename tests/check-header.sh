#!/bin/sh
# The public header must compile alone as C99 (pedantic) and as C++, both
# as the stable API and with its experimental section (-DNN_EXPERIMENTAL,
# whose declarations must then be visible).
# usage: check-header.sh SOURCE_DIR
set -eu
hdr="$(cd "$1" && pwd)/include/nn.h"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '#include "%s"\nint main(void) { return nn_version_number() == 0; }\n' "$hdr" > "$tmp/h.c"
cp "$tmp/h.c" "$tmp/h.cpp"
# experimental: a call to an experimental function must compile (-Werror:
# an undeclared one would be an error in C++ and a warning in C99)
printf '#include "%s"\nint main(void) { return nn_ctx_layer_output(NULL, 0) != NULL; }\n' \
    "$hdr" > "$tmp/x.c"
cp "$tmp/x.c" "$tmp/x.cpp"
for f in h x; do
    d=""
    [ "$f" = x ] && d=-DNN_EXPERIMENTAL
    ${CC:-cc} -std=c99 -Wall -Wextra -pedantic -Werror $d -fsyntax-only "$tmp/$f.c"
    ${CXX:-c++} -std=c++11 -Wall -Wextra -pedantic -Werror $d -fsyntax-only "$tmp/$f.cpp"
done
echo "nn.h compiles alone as C99 and C++11, with and without NN_EXPERIMENTAL"
# nn_mpi.h (with MPI's own flags) likewise, where MPI's compiler wrappers are
if command -v mpicc >/dev/null 2>&1; then
    mhdr="$(cd "$1" && pwd)/include/nn_mpi.h"
    printf '#include "%s"\nint main(void) { return nn_mpi_size(NULL); }\n' \
        "$mhdr" > "$tmp/m.c"
    cp "$tmp/m.c" "$tmp/m.cpp"
    mpicc -std=c99 -Wall -Wextra -pedantic -Werror -fsyntax-only "$tmp/m.c"
    if command -v mpicxx >/dev/null 2>&1; then
        mpicxx -std=c++11 -Wall -Wextra -Werror \
            -fsyntax-only "$tmp/m.cpp"
    fi
    echo "nn_mpi.h compiles alone as C99 and C++11"
fi
