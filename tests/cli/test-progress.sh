#!/bin/sh
# shellcheck disable=SC2015  # ok() always succeeds
# The progress display of `libnn train` in a real terminal: tmux panes of
# 80, 200 and 40 columns run a training of a few seconds with small
# batches. What the pane shows (captured while it runs and at the end) and
# what was written to it (pipe-pane) must hold: no line wider than the
# pane less one column (a wrapped line cannot be redrawn in place), no
# line with two epochs' fragments, one summary line per epoch, several
# redraws inside the epochs. Without a terminal: one plain line per epoch,
# no carriage return or escape; with --quiet, nothing.
# usage: test-progress.sh PATH/TO/libnn   (exit 77 without tmux)
set -u
NN=${1:?usage: test-progress.sh PATH/TO/libnn}
case $NN in /*) ;; *) NN=$(pwd)/$NN ;; esac
command -v tmux >/dev/null 2>&1 || { echo "skip - tmux not installed"; exit 77; }
LC_ALL=C
export LC_ALL
dir=$(mktemp -d) || exit 1
sock=libnn-progress-$$
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
CR=$(printf '\r')
ESC=$(printf '\033')

# --- data: 3 classes, 16 features; one epoch of it calibrates the size ----
awk 'BEGIN { srand(5); for (i = 0; i < 4000; i++) { c = i % 3;
    for (j = 0; j < 16; j++) printf "%.3f,", (j % 3 == c) * 0.4 + rand();
    printf "%d\n", c } }' >base.csv
L="--layers 128:relu,64:relu,3:softmax --batch 2 --val-fraction 0.2 --seed 1"
E=3
# shellcheck disable=SC2086  # $L is a list of words
"$NN" train --csv base.csv $L --epochs 1 -q -o cal.nnm --history cal.csv >/dev/null 2>&1 ||
    { echo "FAIL - calibration run"; exit 1; }
# the data repeated so that an epoch takes about 0.8 s (8 redraws or so)
k=$(awk -F, 'NR == 2 { k = int(0.8 / ($6 > 0 ? $6 : 0.01)) + 1;
    print (k > 40 ? 40 : k) }' cal.csv)
i=0
while [ "$i" -lt "$k" ]; do cat base.csv; i=$((i + 1)); done >d.csv
echo "# data: base.csv x $k ($(wc -l <d.csv | tr -d ' ') rows)"

# --- no terminal -----------------------------------------------------------
# shellcheck disable=SC2086
"$NN" train --csv d.csv $L --epochs $E -o p.nnm >out 2>plain.err &&
    ok "plain: exit 0" || bad "plain: exit status"
n=$(grep -c "^epoch [0-9]*/$E  loss " plain.err)
[ "$n" -eq $E ] && ok "plain: one line per epoch ($n)" || { bad "plain: $n epoch lines"; cat plain.err; }
[ "$(wc -l <plain.err | tr -d ' ')" -eq $((E + 1)) ] && ok "plain: nothing but the header and the epochs" ||
    { bad "plain: $(wc -l <plain.err) lines"; cat plain.err; }
[ "$(tr -cd "$CR$ESC" <plain.err | wc -c | tr -d ' ')" -eq 0 ] &&
    ok "plain: no carriage return or escape" || bad "plain: control bytes on stderr"
grep -q 'samples/s' plain.err && bad "plain: a live line without a terminal" || ok "plain: no live line"
# shellcheck disable=SC2086
"$NN" train --csv base.csv $L --epochs 2 -q -o q.nnm >out 2>quiet.err &&
    [ ! -s quiet.err ] && ok "--quiet: nothing on stderr" ||
    { bad "--quiet printed"; cat quiet.err; }

# --- in a terminal -----------------------------------------------------------
# tty_run W: trains in a W x 30 tmux pane; leaves rc.W, raw.W (what was
# written to the pane), caps.W (captures while it ran), final.W.
tty_run() {
    w=$1
    cat >"run.$w.sh" <<EOF
while [ ! -e go.$w ]; do sleep 0.05; done
"$NN" train --csv d.csv $L --epochs $E -o t$w.nnm >out.$w
echo \$? >rc.$w
exec sleep 300
EOF
    tmux -L "$sock" -f /dev/null new-session -d -s "p$w" -x "$w" -y 30 "sh run.$w.sh" ||
        return 1
    tmux -L "$sock" pipe-pane -t "p$w" -o "cat >>raw.$w"
    : >"caps.$w"
    touch "go.$w"
    t=0
    while [ ! -e "rc.$w" ] && [ $t -lt 300 ]; do
        sleep 0.2
        { echo "=== capture $t"; tmux -L "$sock" capture-pane -p -t "p$w"; } >>"caps.$w"
        t=$((t + 1))
    done
    sleep 0.3
    tmux -L "$sock" capture-pane -p -t "p$w" >"final.$w"
    tmux -L "$sock" kill-session -t "p$w"
    return 0
}

# The live lines written: the segments between carriage returns that start
# with an epoch and are not a summary (a summary has "  lr ").
live_lines() { tr '\r' '\n' <"raw.$1" | sed "s/$ESC\\[K//g" | grep '^epoch [ 0-9]*/' | grep -v '  lr '; }

# Lines of each capture from its first epoch line on (the run's first
# line, "training ...", is printed whole and may wrap) wider than W-1.
too_wide() {
    awk -v w="$1" '/^=== capture/ { on = 0; next } /^epoch / { on = 1 }
        on && length($0) > w - 1 { print }' "$2"
}
# A live line on screen (a summary on a terminal tells no ETA).
LIVE='^epoch [ 0-9]*/[0-9]* .*ETA'


check_tty() {
    w=$1 final=final.$1 caps=caps.$1
    [ "$(cat "rc.$w" 2>/dev/null)" = 0 ] && ok "$w columns: exit 0" ||
        { bad "$w columns: exit $(cat "rc.$w" 2>/dev/null)"; cat "$final"; }
    n=$(live_lines "$w" | wc -l | tr -d ' ')
    [ "$n" -ge 3 ] && ok "$w columns: $n redraws inside the epochs" || bad "$w columns: $n redraws"
    wide=$(live_lines "$w" | awk -v w="$w" 'length($0) > w - 1' | head -n 1)
    [ -z "$wide" ] && ok "$w columns: every live line fits in $((w - 1))" ||
        bad "$w columns: live line of $(printf %s "$wide" | wc -c) columns: $wide"
    n=$(grep -c "^epoch [0-9]*/$E  loss " "$final")
    [ "$n" -eq $E ] && ok "$w columns: one summary line per epoch" || { bad "$w columns: $n summary lines"; cat "$final"; }
    for e in $(seq 1 $E); do
        [ "$(grep -c "^epoch $e/$E " "$final")" -eq 1 ] || bad "$w columns: epoch $e not shown once"
    done
    grep -q "$LIVE" "$final" && bad "$w columns: a live line left on screen" ||
        ok "$w columns: the last live line was replaced"
    grep -q "$LIVE" "$caps" && ok "$w columns: live line seen on screen during the run" ||
        bad "$w columns: no live line in the captures"
    g=$(grep -E 'epoch [ 0-9]+/.*epoch [ 0-9]+/|.epoch [ 0-9]+/' "$caps" "$final" | head -n 1)
    [ -z "$g" ] && ok "$w columns: no garbled line" || bad "$w columns: garbled: $g"
}

tty_run 80 || { echo "skip - tmux cannot start a session here"; exit 77; }
check_tty 80
for f in caps.80 final.80; do
    wide=$(too_wide 80 $f | head -n 1)
    [ -z "$wide" ] && ok "80 columns: no wrapped line in $f" || bad "80 columns: wrapped in $f: $wide"
done
tty_run 200 && check_tty 200 || bad "200 columns: tmux"
for f in caps.200 final.200; do
    wide=$(too_wide 200 $f | head -n 1)
    [ -z "$wide" ] && ok "200 columns: no wrapped line in $f" || bad "200 columns: wrapped in $f: $wide"
done
live_lines 200 | grep -q 'loss .*samples/s.*ETA' && ok "200 columns: every field shown" ||
    bad "200 columns: fields missing: $(live_lines 200 | tail -n 1)"
# a narrow pane: the summaries may wrap (printed whole), the live line not;
# the loss and the speed give way, the epoch, the counts and the ETA stay
tty_run 40 && check_tty 40 || bad "40 columns: tmux"
live_lines 40 | tail -n 1 | grep -q '^epoch [0-9]/3 .*[0-9]/[0-9]* .*ETA' &&
    ok "40 columns: epoch, counts and ETA kept" || bad "40 columns: $(live_lines 40 | tail -n 1)"

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
