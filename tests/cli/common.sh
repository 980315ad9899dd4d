# common.sh — what every tests/cli script shares, sourced after it has set
# NN (the tool's path): the C locale, a private directory (removed at exit)
# as the working directory, the ok / bad counters and the run / fails
# checks. FAILS_NO_STDOUT=1 makes fails also require an empty stdout.
# shellcheck shell=sh disable=SC2034  # pass / fail are read by the scripts
LC_ALL=C
export LC_ALL
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }

# run EXPECTED_RC NAME CMD...: stdout -> out, stderr -> err
run() {
    want=$1 name=$2
    shift 2
    "$@" >out 2>err
    rc=$?
    if [ "$rc" -eq "$want" ]; then ok "$name: exit $rc"; else
        bad "$name: exit $rc, expected $want"; sed 's/^/    /' err; fi
}

# fails RC NAME WORD... -- CMD...: exit RC and stderr is exactly one line
# "libnn: ..." holding every WORD.
fails() {
    want=$1 name=$2
    shift 2
    words=""
    while [ "$1" != -- ]; do words="$words
$1"; shift; done
    shift
    "$@" >out 2>err
    rc=$?
    [ "$rc" -eq "$want" ] || { bad "$name: exit $rc, expected $want"; sed 's/^/    /' err; return; }
    n=$(wc -l <err | tr -d ' ')
    [ "$n" -eq 1 ] || { bad "$name: $n lines on stderr, expected 1"; sed 's/^/    /' err; return; }
    grep -q '^libnn: ' err || { bad "$name: stderr does not start with 'libnn: '"; cat err; return; }
    [ "${FAILS_NO_STDOUT:-0}" = 1 ] && [ -s out ] && { bad "$name: wrote to stdout"; return; }
    echo "$words" | while IFS= read -r w; do
        [ -z "$w" ] && continue
        grep -qF -- "$w" err || { echo "missing: $w"; }
    done >missing
    if [ -s missing ]; then bad "$name: message lacks words"; sed 's/^/    /' missing err
    else ok "$name: exit $rc, '$(cat err)'"; fi
}
