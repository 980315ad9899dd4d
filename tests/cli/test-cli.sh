#!/bin/sh
# shellcheck disable=SC2015,SC2016,SC2059  # ok() always succeeds; printf builds bytes; sh -c script is literal
# End-to-end tests of the `nn` tool: train / eval / predict / info on a small
# CSV (and IDX) data set written here, and every error path's exit status
# and one-line message.
# usage: test-cli.sh PATH/TO/nn
set -u
NN=${1:?usage: test-cli.sh PATH/TO/nn}
case $NN in /*) ;; *) NN=$(pwd)/$NN ;; esac
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
# "nn: ..." holding every WORD.
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
    grep -q '^nn: ' err || { bad "$name: stderr does not start with 'nn: '"; cat err; return; }
    echo "$words" | while IFS= read -r w; do
        [ -z "$w" ] && continue
        grep -qF -- "$w" err || { echo "missing: $w"; }
    done >missing
    if [ -s missing ]; then bad "$name: message lacks words"; sed 's/^/    /' missing err
    else ok "$name: exit $rc, '$(cat err)'"; fi
}

# --- data: two separable classes, 40 rows, 2 features + label --------------
awk 'BEGIN { for (i = 0; i < 40; i++) { c = i % 2; s = c ? 1 : -1;
    printf "%.3f,%.3f,%d\n", s * (1 + (i % 7) / 10), s * 0.8 + ((i * 37) % 11) / 20 - 0.25, c } }' >d.csv
[ "$(wc -l <d.csv | tr -d ' ')" -eq 40 ] || { echo "could not write d.csv"; exit 1; }

# --- help and version --------------------------------------------------------
run 0 "--version" "$NN" --version
grep -q '^nn (libnn) ' out && ok "--version prints the version" || bad "--version output: $(cat out)"
for c in "" train eval predict info; do
    # shellcheck disable=SC2086
    run 0 "nn $c --help" "$NN" $c --help
    grep -q '^usage: nn' out && ok "nn $c --help prints usage" || bad "nn $c --help output"
done

# --- train / eval / predict / info -----------------------------------------
run 0 "train" "$NN" train --csv d.csv --layers 8:tanh,2:softmax --optim adam \
    --lr 0.05 --epochs 25 --batch 8 --val-fraction 0.2 --seed 7 -o m.nnm \
    --history h.csv
[ -s m.nnm ] && ok "train wrote the model" || bad "no model file"
[ "$(wc -l <h.csv | tr -d ' ')" -eq 26 ] && ok "history has 25 epochs + header" \
    || bad "history has $(wc -l <h.csv) lines"
[ "$(head -n 1 h.csv)" = "epoch,train_loss,val_loss,val_accuracy,lr,seconds" ] \
    && ok "history header" || bad "history header: $(head -n 1 h.csv)"
ls ./*.tmp.* >/dev/null 2>&1 && bad "temporary files left behind" || ok "no temporary files"

run 0 "eval" "$NN" eval m.nnm --csv d.csv
acc=$(sed -n 's/^accuracy: \([0-9.]*\).*/\1/p' out)
if [ -n "$acc" ] && awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }'; then
    ok "eval accuracy $acc >= 0.9"; else bad "eval accuracy '$acc'"; cat out; fi
grep -q '^confusion matrix' out && ok "eval prints a confusion matrix" || bad "no confusion matrix"

run 0 "predict" "$NN" predict m.nnm --csv d.csv -o p.csv
[ "$(wc -l <p.csv | tr -d ' ')" -eq 41 ] && ok "predict wrote 40 rows + header" \
    || bad "predict wrote $(wc -l <p.csv) lines"
[ "$(head -n 1 p.csv)" = "predicted,p0,p1" ] && ok "predict header" || bad "predict header: $(head -n 1 p.csv)"
right=$(tail -n +2 p.csv | paste -d, d.csv - | awk -F, '$3 == $4 { n++ } END { print n + 0 }')
[ "$right" -ge 36 ] && ok "predicted classes match labels ($right/40)" || bad "only $right/40 predictions right"
cut -d, -f1,2 d.csv >f.csv
run 0 "predict (features only, stdout)" "$NN" predict m.nnm --csv f.csv
[ "$(wc -l <out | tr -d ' ')" -eq 41 ] && ok "predict to stdout" || bad "predict to stdout: $(wc -l <out) lines"

run 0 "info" "$NN" info m.nnm
grep -q 'checksum: ok' out && ok "info: checksum ok" || bad "info lacks 'checksum: ok'"
grep -q 'layer 1: dense 2 -> 8, tanh' out && grep -q 'layer 2: dense 8 -> 2, softmax' out \
    && ok "info: architecture" || { bad "info architecture"; cat out; }
grep -q '^parameters: 42$' out && ok "info: 42 parameters" || bad "info parameter count"
grep -q '^optimizer: adam' out && ok "info: optimizer saved" || bad "info optimizer"

# header line and label in the first column
{ echo "label,x,y"; awk -F, '{ print $3 "," $1 "," $2 }' d.csv; } >hd.csv
run 0 "train --header --label-col 0" "$NN" train --csv hd.csv --header --label-col 0 \
    --layers 4:relu,1:sigmoid --optim sgd --lr 0.5 --epochs 40 --batch 4 -q -o b.nnm
run 0 "eval single sigmoid output" "$NN" eval b.nnm --csv hd.csv --header --label-col 0
grep -q '^loss (bce)' out && ok "single sigmoid output defaults to bce" || bad "loss: $(grep loss out)"

# IDX input (ubyte features, scaled by 255 by default)
u32() { printf "\\$(printf %o $(($1 >> 24 & 255)))\\$(printf %o $(($1 >> 16 & 255)))\\$(printf %o $(($1 >> 8 & 255)))\\$(printf %o $(($1 & 255)))"; }
byte() { printf "\\$(printf %o "$1")"; }
{ u32 2050; u32 20; u32 2; i=0; while [ $i -lt 20 ]; do
    if [ $((i % 2)) -eq 1 ]; then byte $((200 + i)); byte $((190 - i)); else byte $((40 + i)); byte $((60 - i)); fi
    i=$((i + 1)); done; } >x.idx
{ u32 2049; u32 20; i=0; while [ $i -lt 20 ]; do byte $((i % 2)); i=$((i + 1)); done; } >y.idx
run 0 "train on IDX" "$NN" train --images x.idx --labels y.idx --layers 4:relu,2:softmax \
    --lr 0.05 --epochs 30 --batch 4 -q -o i.nnm
run 0 "eval on IDX" "$NN" eval i.nnm --images x.idx --labels y.idx
grep -q '^accuracy: 1.0000' out && ok "IDX accuracy 1" || bad "IDX $(grep accuracy out)"

# the scaling travels in the model: train saves it, eval/predict apply it
run 0 "info on IDX model" "$NN" info i.nnm
grep -q '^input scaling: every feature divided by 255$' out && ok "info: saved scaling /255" \
    || { bad "info scaling"; cat out; }
run 0 "info on CSV model" "$NN" info m.nnm
grep -q '^input scaling: none$' out && ok "info: CSV model has no scaling" || bad "info: $(grep scaling out)"
run 0 "eval IDX --scale 255 (same as saved)" "$NN" eval i.nnm --images x.idx --labels y.idx --scale 255
grep -q '^accuracy: 1.0000' out && ok "matching --scale accepted" || bad "matching --scale: $(grep accuracy out)"
fails 2 "eval --scale conflicts with saved" "--scale none" "conflicts" "i.nnm" -- \
    "$NN" eval i.nnm --images x.idx --labels y.idx --scale none
fails 2 "predict --scale conflicts with saved" "--scale none" "conflicts" -- \
    "$NN" predict i.nnm --images x.idx --scale none -o sp.csv
[ -e sp.csv ] && bad "refused predict wrote a file" || ok "refused predict wrote no file"
# a CSV model trained with --scale 255: predict without --scale applies the
# saved scaling, so it equals predict with --scale 255 given explicitly
awk -F, '{ printf "%.3f,%.3f,%d\n", $1 * 255, $2 * 255, $3 }' d.csv >d255.csv
run 0 "train CSV --scale 255" "$NN" train --csv d255.csv --scale 255 --layers 4:tanh,2:softmax \
    --lr 0.05 --epochs 10 --batch 8 --seed 3 -q -o s.nnm
run 0 "predict, saved scaling" "$NN" predict s.nnm --csv d255.csv -o s1.csv
run 0 "predict, --scale 255" "$NN" predict s.nnm --csv d255.csv --scale 255 -o s2.csv
cmp -s s1.csv s2.csv && ok "saved scaling applied by default" || bad "predictions differ"
run 0 "eval, saved scaling" "$NN" eval s.nnm --csv d255.csv
acc=$(sed -n 's/^accuracy: \([0-9.]*\).*/\1/p' out)
awk -v a="$acc" 'BEGIN { exit !(a >= 0.9) }' && ok "eval with saved scaling: accuracy $acc" \
    || bad "eval with saved scaling: accuracy '$acc'"
fails 2 "CSV model: --scale none conflicts" "conflicts" "divided by 255" -- \
    "$NN" eval s.nnm --csv d255.csv --scale none

# gnuplot plot, when gnuplot is installed
if gnuplot --version >/dev/null 2>&1; then
    run 0 "train --plot" "$NN" train --csv d.csv --layers 4:relu,2:softmax --epochs 5 \
        --val-fraction 0.2 -q -o pl.nnm --plot pl.svg
    grep -q '<svg' pl.svg 2>/dev/null && ok "plot is an SVG" || bad "no SVG plot"
else
    echo "skip - gnuplot not installed: --plot drawing not tested"
fi

# --- error paths -------------------------------------------------------------
L="--layers=4:relu,2:softmax"
fails 2 "unknown option" "unknown option" "--bogus" -- "$NN" train --bogus --csv d.csv "$L" -o x.nnm
fails 2 "unknown command" "unknown command" "frobnicate" -- "$NN" frobnicate
fails 2 "--lr abc" "--lr" "abc" "number" -- "$NN" train --csv d.csv "$L" --lr abc -o x.nnm
fails 2 "--lr -1" "--lr" "-1" "> 0" -- "$NN" train --csv d.csv "$L" --lr -1 -o x.nnm
fails 2 "--epochs 0" "--epochs" "0" -- "$NN" train --csv d.csv "$L" --epochs 0 -o x.nnm
fails 2 "option without value" "--lr" "needs a value" -- "$NN" train --csv d.csv "$L" -o x.nnm --lr
fails 2 "missing --output" "missing --output" -- "$NN" train --csv d.csv "$L"
fails 2 "missing --layers" "missing --layers" -- "$NN" train --csv d.csv -o x.nnm
fails 2 "missing data" "missing data" -- "$NN" train "$L" -o x.nnm
fails 2 "bad layers: activation" "--layers" "relx" "unknown activation" -- \
    "$NN" train --csv d.csv --layers 8:relx,2:softmax -o x.nnm
fails 2 "bad layers: units" "--layers" "units" -- "$NN" train --csv d.csv --layers x:relu,2:softmax -o x.nnm
fails 2 "bad layers: dropout" "--layers" "drop" -- "$NN" train --csv d.csv --layers 8:relu:drop=2,2:softmax -o x.nnm
fails 2 "loss does not fit output" "--loss ce" "softmax" -- "$NN" train --csv d.csv --layers 2:sigmoid --loss ce -o x.nnm
fails 2 "--plot extension" "--plot" ".svg" -- "$NN" train --csv d.csv "$L" --plot x.pdf -o x.nnm
fails 2 "missing MODEL" "missing MODEL" -- "$NN" info
fails 1 "missing data file" "nope.csv" "cannot open" -- "$NN" train --csv nope.csv "$L" -o x.nnm
fails 1 "missing model file" "nope.nnm" "cannot" -- "$NN" info nope.nnm
fails 1 "malformed CSV" "bad.csv:3:2" "number" -- sh -c 'printf "1,2,0\n3,4,1\n5,x,0\n" >bad.csv; exec "$0" train --csv bad.csv --layers 4:relu,2:softmax -o x.nnm' "$NN"
printf '1,2,3,0\n4,5,6,1\n' >w.csv
fails 1 "width mismatch (eval)" "w.csv" "3 feature columns" "2 inputs" -- "$NN" eval m.nnm --csv w.csv
fails 1 "width mismatch (predict)" "w.csv" "3 feature columns" "2 inputs" -- "$NN" predict m.nnm --csv w.csv -o wp.csv
[ -e wp.csv ] && bad "failed predict left an output file" || ok "failed predict wrote no output"
printf '1,2,0\n4,5,7\n' >l.csv
fails 1 "label out of range (eval)" "l.csv:2" "label 7" "out of range" -- "$NN" eval m.nnm --csv l.csv
fails 1 "label out of range (train)" "l.csv:2" "label 7" "out of range" -- "$NN" train --csv l.csv "$L" -o x.nnm
fails 1 "bad --val-fraction for the data" "val-fraction" -- "$NN" train --csv l.csv --layers 4:relu,8:softmax --val-fraction 0.1 -o x.nnm
fails 1 "unwritable output directory" "no/such/dir" -- "$NN" train --csv d.csv "$L" -o no/such/dir/x.nnm
fails 1 "not a model file" "d.csv" "model" -- "$NN" info d.csv

# corrupt model: one byte of the payload changed
cp m.nnm c.nnm
orig=$(od -An -tu1 -j40 -N1 c.nnm | tr -d ' ')
byte $(((orig + 1) % 256)) | dd of=c.nnm bs=1 seek=40 conv=notrunc 2>/dev/null
cmp -s m.nnm c.nnm && bad "could not corrupt the model copy"
fails 1 "corrupt model (info)" "c.nnm" "checksum" -- "$NN" info c.nnm
fails 1 "corrupt model (eval)" "c.nnm" "checksum" -- "$NN" eval c.nnm --csv d.csv
head -c 20 m.nnm >t.nnm
fails 1 "truncated model" "t.nnm" -- "$NN" info t.nnm

# gnuplot absent: refused before training, nothing written
fails 1 "--plot without gnuplot" "gnuplot" "not installed" -- \
    env PATH=/nonexistent "$NN" train --csv d.csv "$L" -o g.nnm --plot g.svg
[ -e g.nnm ] && bad "--plot without gnuplot wrote a model" || ok "--plot without gnuplot wrote no model"

# a failed run never touches an existing model
cp m.nnm keep.nnm
fails 1 "failed run (bad data)" "bad.csv" -- "$NN" train --csv bad.csv "$L" -o keep.nnm --history kh.csv
cmp -s m.nnm keep.nnm && ok "existing model left byte-identical" || bad "existing model changed"
[ -e kh.csv ] && bad "failed run wrote a history" || ok "failed run wrote no history"
fails 1 "failed run (bad labels)" "label 7" -- "$NN" train --csv l.csv "$L" -o keep.nnm
cmp -s m.nnm keep.nnm && ok "existing model still byte-identical" || bad "existing model changed"
cp p.csv keep.csv
fails 1 "failed predict" "w.csv" -- "$NN" predict m.nnm --csv w.csv -o keep.csv
cmp -s p.csv keep.csv && ok "existing predictions left byte-identical" || bad "existing predictions changed"
ls ./*.tmp.* >/dev/null 2>&1 && bad "temporary files left behind" || ok "no temporary files left"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
