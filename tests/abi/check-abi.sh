#!/bin/sh
# ABI check: compare libnn.so (built with debug info) against the committed
# baseline tests/abi/libnn.abi with abidiff (Debian's abigail-tools).
# Fails on a removed symbol, a changed function signature or a changed
# public type (size, members) — see "Compatibility" in docs/API.md — unless
# the soname's major version differs from the baseline's (an intentional
# break, after which the baseline is regenerated: until then the check is
# skipped, and fails under NN_ABI_REQUIRED=1). Added functions and
# enumerators appended to an enum are compatible and pass.
#
# usage: check-abi.sh LIBNN_SO [BASELINE]         check
#        check-abi.sh --update LIBNN_SO [BASELINE] write a new baseline
# LIBNN_SO must carry DWARF (e.g. meson -Ddebug=true); without it abidw sees
# only symbols. Without the tools or the debug info the check is skipped
# (exit 77, meson's SKIP) unless NN_ABI_REQUIRED=1 (as in CI), then it fails.
set -eu
skip() {
    echo "check-abi: $*"
    [ "${NN_ABI_REQUIRED:-0}" = 1 ] && exit 1
    exit 77
}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
update=0
if [ "${1:-}" = "--update" ]; then update=1; shift; fi
lib=${1:?usage: check-abi.sh [--update] LIBNN_SO [BASELINE]}
baseline=${2:-$here/libnn.abi}
for tool in abidw abidiff; do
    command -v "$tool" >/dev/null 2>&1 ||
        skip "$tool not found (apt-get install abigail-tools)"
done
readelf -S "$lib" | grep -q '\.debug_info' ||
    skip "$lib has no debug info (configure with -Ddebug=true)"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Only the types of the public header count; the corpus path is left out so
# that the baseline does not depend on the build directory.
abidw --headers-dir "$root/include" --drop-private-types --no-corpus-path \
    --out-file "$tmp/current.abi" "$lib"
soname() { sed -n "s/.*<abi-corpus [^>]*soname='\([^']*\)'.*/\1/p" "$1" | head -n 1; }
if [ "$update" -eq 1 ]; then
    cp "$tmp/current.abi" "$baseline"
    echo "check-abi: wrote $baseline for $(soname "$baseline")"
    exit 0
fi
old=$(soname "$baseline")
new=$(soname "$tmp/current.abi")
if [ "$old" != "$new" ]; then
    # A higher major version (libnn.so.0 -> libnn.so.1) is an intentional
    # break: nothing to compare against until the baseline is regenerated, so
    # the check is skipped, and fails where it is required (CI must always
    # hold a baseline for the soname it builds). Anything else (a lower
    # major, another name) is a wrong baseline or a wrong soname.
    old_major=${old##*.so.}
    new_major=${new##*.so.}
    for v in "$old_major" "$new_major"; do
        case "$v" in
        *[!0-9]* | "") echo "check-abi: cannot compare sonames '$old' and '$new'"; exit 1 ;;
        esac
    done
    if [ "${old%.so.*}" != "${new%.so.*}" ] || [ "$new_major" -le "$old_major" ]; then
        echo "check-abi: baseline $baseline is for $old, the library is $new"
        exit 1
    fi
    skip "soname $old -> $new: an intentional ABI break; regenerate the" \
        "baseline with: $0 --update $lib"
fi
rc=0
abidiff --no-added-syms "$baseline" "$tmp/current.abi" >"$tmp/diff" 2>&1 || rc=$?
if [ "$rc" -ne 0 ]; then
    cat "$tmp/diff"
    echo "check-abi: incompatible ABI change against $baseline (abidiff status $rc)."
    echo "Either keep the old signatures and types (docs/API.md, Compatibility)"
    echo "or bump the soname's major version and regenerate the baseline."
    exit 1
fi
echo "check-abi: ABI of $new compatible with $baseline"
