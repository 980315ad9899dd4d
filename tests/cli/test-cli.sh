#!/bin/sh
# shellcheck disable=SC2015,SC2016,SC2059,SC2002  # ok() always succeeds; printf builds bytes; sh -c script is literal; cat | makes a real pipe
# End-to-end tests of the `libnn` tool: train / eval / predict / info on a small
# CSV (and IDX) data set written here, and every error path's exit status
# and one-line message.
# usage: test-cli.sh PATH/TO/nn
set -u
NN=${1:?usage: test-cli.sh PATH/TO/nn}
case $NN in /*) ;; *) NN=$(pwd)/$NN ;; esac
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

# --- data: two separable classes, 40 rows, 2 features + label --------------
awk 'BEGIN { for (i = 0; i < 40; i++) { c = i % 2; s = c ? 1 : -1;
    printf "%.3f,%.3f,%d\n", s * (1 + (i % 7) / 10), s * 0.8 + ((i * 37) % 11) / 20 - 0.25, c } }' >d.csv
[ "$(wc -l <d.csv | tr -d ' ')" -eq 40 ] || { echo "could not write d.csv"; exit 1; }

# --- help and version --------------------------------------------------------
run 0 "--version" "$NN" --version
grep -q '^libnn [0-9]' out && ok "--version prints the version" || bad "--version output: $(cat out)"
# the BLAS in use, as the library finds it at run time (nn_blas_name)
blas=$(sed -n 's/^BLAS: //p' out)
cp out version.out
case $blas in
*OpenBLAS*"(core: "*")" | *BLIS*"(core: "*")" | *"Math Kernel"*"(core: "*")" | "unknown (core: "*")")
    ok "--version names the BLAS: $blas" ;;
*) bad "--version BLAS line: '$blas'"; cat out ;;
esac
# OpenBLAS forced onto its generic Prescott kernels, on a CPU with AVX2:
# --version says how to select better ones
if echo "$blas" | grep -q 'OpenBLAS.*DYNAMIC_ARCH' && grep -qw avx2 /proc/cpuinfo 2>/dev/null; then
    case $blas in *"(core: Haswell"* | *"(core: SkylakeX"* | *"(core: Zen"*)
        grep -q '^hint:' version.out && bad "--version hints on a fast core" || ok "--version: no hint on a fast core" ;;
    esac
    OPENBLAS_CORETYPE=Prescott "$NN" --version >out 2>err
    grep -q '(core: Prescott' out && grep -Eq '^hint: .*OPENBLAS_CORETYPE=(Haswell|SkylakeX)' out \
        && ok "--version: generic core, with a hint" || { bad "--version under OPENBLAS_CORETYPE=Prescott"; cat out; }
else
    echo "skip - not OpenBLAS DYNAMIC_ARCH on an AVX2 CPU: core hint not tested"
fi
for c in "" train eval predict info import export; do
    # shellcheck disable=SC2086
    run 0 "libnn $c --help" "$NN" $c --help
    grep -q '^usage: libnn' out && ok "libnn $c --help prints usage" || bad "libnn $c --help output"
done

# --- train / eval / predict / info -----------------------------------------
run 0 "train" "$NN" train --csv d.csv --layers 8:tanh,2:softmax --optim adam \
    --lr 0.05 --epochs 25 --batch 8 --val-fraction 0.2 --seed 7 -o m.nnm \
    --history h.csv
[ -s m.nnm ] && ok "train wrote the model" || bad "no model file"
[ "$(wc -l <h.csv | tr -d ' ')" -eq 26 ] && ok "history has 25 epochs + header" \
    || bad "history has $(wc -l <h.csv) lines"
[ "$(head -n 1 h.csv)" = "epoch,train_loss,val_loss,val_accuracy,lr,seconds,epochs,best" ] \
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
# options (getopt_long, docs/TOOL.md "Options"): near names suggested,
# names exact (no abbreviations), --name=value, flags take no value
fails 2 "typo in train" "unknown option '--epoch'" "(did you mean --epochs?)" -- \
    "$NN" train --csv d.csv "$L" --epoch 3 -o x.nnm
fails 2 "typo in eval" "eval: unknown option '--bach'" "(did you mean --batch?)" -- \
    "$NN" eval m.nnm --csv d.csv --bach 10
fails 2 "swapped letters" "'--lr-mni'" "(did you mean --lr-min?)" -- \
    "$NN" train --csv d.csv "$L" --lr-mni 0.1 -o x.nnm
fails 2 "abbreviation refused" "unknown option '--epo'" "did you mean --epochs" -- \
    "$NN" train --csv d.csv "$L" --epo 3 -o x.nnm
fails 2 "abbreviation with =value refused" "unknown option '--val-frac'" "--val-fraction?" -- \
    "$NN" train --csv d.csv "$L" --val-frac=0.2 -o x.nnm
fails 2 "one dash for a long name" "unknown option '-epochs'" "(did you mean --epochs?)" -- \
    "$NN" train --csv d.csv "$L" -epochs 3 -o x.nnm
fails 2 "nothing near" "unknown option '--frobnicate'" -- "$NN" eval m.nnm --csv d.csv --frobnicate
grep -q 'did you mean' err && bad "a far name got a suggestion: $(cat err)" || ok "no suggestion for a far name"
fails 2 "unknown command suggestion" "unknown command 'trian'" "(did you mean train?)" -- "$NN" trian
fails 2 "unknown top option suggestion" "unknown option '--verison'" "(did you mean --version?)" -- "$NN" --verison
fails 2 "flag given a value" "option '--quiet' takes no value" -- \
    "$NN" train --csv d.csv "$L" --quiet=1 -o x.nnm
fails 2 "data flag given a value" "option '--header' takes no value" -- \
    "$NN" eval m.nnm --csv d.csv --header=yes
run 0 "--name=value" "$NN" train --csv=d.csv "$L" --epochs=3 --batch=8 --seed=1 -q --output=eq.nnm
run 0 "--name value, same run" "$NN" train --csv d.csv "$L" --epochs 3 --batch 8 --seed 1 -q -o sp.nnm
cmp -s eq.nnm sp.nnm && ok "--name=value and --name value give the same model" || bad "--name=value model differs"
run 0 "grouped short options -qo" "$NN" train --csv d.csv "$L" --epochs 1 -qo g1.nnm
[ -s g1.nnm ] && ok "-qo FILE wrote the model" || bad "-qo FILE wrote no model"
run 0 "options after MODEL, MODEL last" "$NN" eval --csv d.csv --batch 7 m.nnm
run 0 "POSIXLY_CORRECT keeps options after MODEL" env POSIXLY_CORRECT=1 "$NN" eval m.nnm --csv d.csv
fails 2 "after --, words are positional" "unexpected argument '--csv'" -- "$NN" eval m.nnm -- --csv d.csv
# --threads N in every command (cli_parse sets it before the work); a huge
# N passes the parse and is refused by nn_set_num_threads: the call is made
run 0 "eval --threads 1" "$NN" eval m.nnm --csv d.csv --threads 1
run 0 "predict --threads=2" "$NN" predict --threads=2 m.nnm --csv d.csv
run 0 "info --threads 1" "$NN" info --threads 1 m.nnm
# shellcheck disable=SC2086  # $c is several words
for c in "eval m.nnm --csv d.csv" "predict m.nnm --csv d.csv" "info m.nnm" \
         "import m.onnx -o x.nnm" "export m.nnm -o x.onnx" "train --csv d.csv $L -o x.nnm"; do
    set -- $c
    fails 2 "$1 --threads 0" "$1: --threads expects an integer >= 1, got '0'" -- "$NN" $c --threads 0
    fails 2 "$1 --threads without value" "option '--threads' needs a value" -- "$NN" $c --threads
done
# shellcheck disable=SC2086  # $c is several words
for c in "eval m.nnm --csv d.csv" "info m.nnm" "export m.nnm -o x.onnx"; do
    set -- $c
    fails 2 "$1 --threads 99999999999" "--threads 99999999999" -- "$NN" $c --threads 99999999999
done
[ -e x.nnm ] || [ -e x.onnx ] && bad "a refused run wrote a file" || ok "refused --threads runs wrote nothing"
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


# --- files and streams (docs/TOOL.md) ----------------------------------------
# Commands that could hang run under `timeout 10`: exit 124 means a hang.
# same NAME A B: files A and B are byte-identical
same() { cmp -s "$2" "$3" && ok "$1" || bad "$1"; }

# 1. an output that is an input, or another output, is refused before
#    anything is written (device and inode compared, not names)
cp d.csv d0.csv
fails 2 "-o over --csv" "--output d.csv" "same file as --csv d.csv" -- \
    "$NN" train --csv d.csv "$L" -q -o d.csv
same "-o over --csv: data intact" d.csv d0.csv
cp y.idx y0.idx
fails 2 "-o over --labels" "same file as --labels" -- \
    "$NN" train --images x.idx --labels y.idx "$L" -q -o y.idx
same "-o over --labels: labels intact" y.idx y0.idx
cp m.nnm m0.nnm
fails 2 "predict -o over its model" "same file as MODEL" -- "$NN" predict m.nnm --csv d.csv -o m.nnm
same "predict -o over its model: model intact" m.nnm m0.nnm
fails 2 "-o and --history, new name" "--output n1.nnm and --history n1.nnm" -- \
    "$NN" train --csv d.csv "$L" -q -o n1.nnm --history n1.nnm
[ -e n1.nnm ] && bad "refused run created n1.nnm" || ok "refused run created nothing"
fails 2 "-o and --history, existing file" "name the same file" -- \
    "$NN" train --csv d.csv "$L" -q -o m.nnm --history m.nnm
same "-o and --history: model intact" m.nnm m0.nnm
fails 2 "-o ./x and --history x" "name the same file" -- \
    "$NN" train --csv d.csv "$L" -q -o ./n2.nnm --history n2.nnm
echo keep >p.svg
fails 2 "-o and --plot" "name the same file" -- "$NN" train --csv d.csv "$L" -q -o p.svg --plot p.svg
fails 2 "--history and --plot" "name the same file" -- \
    "$NN" train --csv d.csv "$L" -q -o n3.nnm --history p.svg --plot p.svg
[ "$(cat p.svg)" = keep ] && ok "--plot target intact" || bad "--plot target changed"
ln d.csv hard.csv
fails 2 "-o a hard link of --csv" "same file as --csv" -- "$NN" train --csv d.csv "$L" -q -o hard.csv
ln -s d.csv soft.csv
fails 2 "-o a symlink to --csv" "same file as --csv" -- "$NN" train --csv d.csv "$L" -q -o soft.csv
same "links: data intact" d.csv d0.csv
cp d.csv ap.csv
fails 2 "stdout appended to the input" "standard output" "same file as --csv" -- \
    sh -c 'exec "$0" predict m.nnm --csv ap.csv >>ap.csv' "$NN"
same "stdout appended to the input: data intact" ap.csv d.csv
fails 2 "-o - and --history -" "name the same file" -- "$NN" train --csv d.csv "$L" -q -o - --history -
fails 2 "stdin twice" "standard input" "only once" -- "$NN" eval - --csv - </dev/null

# 2. symlinks are followed (the link stays a link), devices and FIFOs are
#    written in place, directories refused; "-" is stdout everywhere
cp m.nnm real.nnm
ln -s real.nnm link.nnm
run 0 "-o a symlink" "$NN" train --csv d.csv "$L" --epochs 2 --seed 5 -q -o link.nnm
[ -L link.nnm ] && ok "the link is still a link" || bad "the link was replaced"
cmp -s real.nnm m.nnm && bad "the link's target was not rewritten" || ok "the link's target was rewritten"
run 0 "info through the link" "$NN" info link.nnm
ln -s fresh.nnm dangling.nnm
run 0 "-o a dangling symlink" "$NN" train --csv d.csv "$L" --epochs 1 -q -o dangling.nnm
[ -L dangling.nnm ] && [ -s fresh.nnm ] && ok "dangling link: target created" || bad "dangling link replaced"
if mknod nul c 1 3 2>/dev/null && mknod full c 1 7 2>/dev/null; then
    run 0 "-o a character device" "$NN" train --csv d.csv "$L" --epochs 1 -q -o nul
    [ -c nul ] && ok "the device is still a device" || bad "the device node was replaced"
    run 0 "predict -o a character device" "$NN" predict m.nnm --csv d.csv -o nul
    [ -c nul ] && ok "the device is still a device (predict)" || bad "the device node was replaced (predict)"
    fails 1 "-o a full device" "full" "No space left" -- "$NN" train --csv d.csv "$L" --epochs 1 -q -o full
    [ -c full ] && ok "the full device is still a device" || bad "the full device was replaced"
else
    echo "skip - mknod not permitted: private device nodes not tested"
fi
mkfifo out.fifo
timeout 10 "$NN" predict m.nnm --csv d.csv -o out.fifo >out 2>err
rc=$?
[ "$rc" -eq 1 ] && grep -q "no reader" err && ok "-o a FIFO without reader: error, no hang" \
    || bad "-o a FIFO without reader: exit $rc, $(cat err)"
[ -p out.fifo ] && ok "the FIFO is still a FIFO" || bad "the FIFO was replaced"
timeout 10 cat out.fifo >got.csv &
run 0 "predict -o a FIFO with a reader" "$NN" predict m.nnm --csv d.csv -o out.fifo
wait
[ "$(wc -l <got.csv | tr -d ' ')" -eq 41 ] && ok "the FIFO's reader got 41 lines" || bad "FIFO reader got $(wc -l <got.csv) lines"
mkdir outdir
fails 1 "-o a directory" "outdir" "is a directory" -- "$NN" train --csv d.csv "$L" -q -o outdir
"$NN" train --csv d.csv "$L" --epochs 2 -q -o - >std.nnm 2>err
rc=$?
[ "$rc" -eq 0 ] && grep -q "saved the model to stdout" err && ok "train -o -: model on stdout, summary on stderr" \
    || bad "train -o -: exit $rc, $(cat err)"
[ -e ./- ] && bad "train -o - wrote a file named -" || ok "no file named -"
run 0 "info on the model from stdout" "$NN" info std.nnm
run 0 "train --history -" "$NN" train --csv d.csv "$L" --epochs 3 -q -o h3.nnm --history -
[ "$(head -n 1 out)" = "epoch,train_loss,val_loss,val_accuracy,lr,seconds,epochs,best" ] && [ "$(wc -l <out | tr -d ' ')" -eq 4 ] \
    && ok "--history - on stdout" || bad "--history - output: $(head -n 2 out)"
run 0 "predict -o -" "$NN" predict m.nnm --csv d.csv -o -
[ "$(wc -l <out | tr -d ' ')" -eq 41 ] && ok "predict -o - on stdout" || bad "predict -o -: $(wc -l <out) lines"
[ -e ./- ] && bad "a file named - appeared" || ok "still no file named -"

# 3. inputs are read exactly once and never hang: FIFOs, pipes, stdin
mkfifo in.fifo
timeout 10 sh -c 'cat d.csv >in.fifo' &
run 0 "eval --csv FIFO" "$NN" eval m.nnm --csv in.fifo
wait
grep -q '^rows: 40$' out && ok "FIFO: all 40 rows" || bad "FIFO: $(head -n 1 out)"
timeout 10 sh -c 'cat d.csv >in.fifo' &
run 0 "train --csv FIFO" "$NN" train --csv in.fifo "$L" --epochs 2 -q -o fifo.nnm
wait
cat d.csv | "$NN" eval m.nnm --csv - >out 2>err
grep -q '^rows: 40$' out && ok "--csv - from a pipe: 40 rows" || bad "--csv -: $(cat err)"
cat d.csv | "$NN" train --csv - "$L" --epochs 2 -q -o pipe.nnm >out 2>err \
    && ok "train --csv - from a pipe" || bad "train --csv -: $(cat err)"
"$NN" predict - --csv d.csv <m.nnm >out 2>err
[ "$(wc -l <out | tr -d ' ')" -eq 41 ] && ok "MODEL - from stdin" || bad "MODEL -: $(cat err)"
timeout 10 sh -c 'cat m.nnm >in.fifo' &
run 0 "info on a FIFO with a writer" "$NN" info in.fifo
wait
grep -q '^parameters: 42$' out && ok "info read the model from the FIFO" || bad "info FIFO: $(cat out)"
if command -v bash >/dev/null 2>&1; then
    run 0 "--csv <(cat d.csv)" bash -c '"$0" eval m.nnm --csv <(cat d.csv)' "$NN"
    grep -q '^rows: 40$' out && ok "process substitution: 40 rows" || bad "process substitution: $(cat out)"
    if command -v gzip >/dev/null 2>&1; then
        gzip -c d.csv >d.csv.gz
        run 0 "--csv <(cat d.csv.gz) (gzip stream)" bash -c '"$0" eval m.nnm --csv <(cat d.csv.gz)' "$NN"
        grep -q '^rows: 40$' out && ok "gzip stream: 40 rows" || bad "gzip stream: $(cat out)"
    fi
else
    echo "skip - bash not installed: process substitution not tested"
fi
mkfifo lonely.fifo
timeout 10 "$NN" info lonely.fifo >out 2>err
rc=$?
[ "$rc" -eq 1 ] && grep -q "no writer" err && ok "info on a FIFO without writer: error, no hang" \
    || bad "info on a FIFO without writer: exit $rc (124: hung), $(cat err)"
timeout 10 "$NN" eval m.nnm --csv lonely.fifo >out 2>err
rc=$?
[ "$rc" -eq 1 ] && grep -q "no writer" err && ok "--csv FIFO without writer: error, no hang" \
    || bad "--csv FIFO without writer: exit $rc (124: hung), $(cat err)"
printf '1,2,0\n3,4,1.5\n' >frac.csv
fails 1 "a non-integer label (CSV read once)" "frac.csv:2:3" "integer label" "1.5" -- \
    "$NN" train --csv frac.csv "$L" -q -o x.nnm
fails 1 "--csv - empty" "stdin" "empty input" -- "$NN" eval m.nnm --csv - </dev/null
fails 1 "MODEL - not a model" "stdin" "not a valid model" -- "$NN" info - <d.csv

# 7. a model with many outputs: no k x k confusion counts past 64 classes
run 0 "train 65 outputs" "$NN" train --csv d.csv --layers 65:softmax --epochs 1 -q -o k65.nnm
run 0 "eval 65 outputs" "$NN" eval k65.nnm --csv d.csv
grep -q '^confusion matrix: not shown for 65 classes (at most 64)$' out && ! grep -q '^confusion matrix (' out \
    && ok "65 classes: confusion matrix not shown, and said so" || { bad "65 classes"; head -n 5 out; }
run 0 "train 64 outputs" "$NN" train --csv d.csv --layers 64:softmax --epochs 1 -q -o k64.nnm
run 0 "eval 64 outputs" "$NN" eval k64.nnm --csv d.csv
rows=$(sed -n '/^confusion matrix (/,$p' out | tail -n +3 | wc -l | tr -d ' ')
[ "$rows" -eq 64 ] && ok "64 classes: 64 matrix rows" || bad "64 classes: $rows matrix rows"

# 8. messages: empty names, whole long paths, capped arguments, layers
fails 1 "empty --csv" "--csv: empty file name" -- "$NN" train --csv "" "$L" -q -o e.nnm
fails 1 "empty MODEL" "MODEL: empty file name" -- "$NN" info ""
fails 1 "empty -o" "--output: empty file name" -- "$NN" train --csv d.csv "$L" -q -o ""
fails 1 "empty predict -o" "--output: empty file name" -- "$NN" predict m.nnm --csv d.csv -o ""
long=dir_$(awk 'BEGIN { while (n++ < 90) printf "a" }')
deep="$long/$long/$long/bad.csv"
mkdir -p "$long/$long/$long" && cp bad.csv "$deep"
fails 1 "a path over 255 bytes is printed whole" "$deep:3:2" -- "$NN" train --csv "$deep" "$L" -q -o x.nnm
huge=$(awk 'BEGIN { while (n++ < 100000) printf "x" }')
"$NN" train --csv d.csv "$L" --lr "$huge" -o x.nnm >out 2>err
len=$(wc -c <err | tr -d ' ')
[ "$len" -lt 300 ] && grep -q 'xxx\.\.\.' err && ok "a 100,000-character argument is capped ($len bytes)" \
    || bad "echo of a huge argument: $len bytes"
fails 2 "--layers 1:softmax" "layer 1" "1:softmax" "a softmax layer needs at least 2 units" -- \
    "$NN" train --csv d.csv --layers 1:softmax -q -o x.nnm
fails 2 "--layers 4:relu,1:softmax" "layer 2" "at least 2 units" -- \
    "$NN" train --csv d.csv --layers 4:relu,1:softmax -q -o x.nnm

# 9. a failed write to stdout is an error in every subcommand
if [ -w /dev/full ]; then
    for c in "train --csv d.csv $L --epochs 1 -q -o full.nnm" "eval m.nnm --csv d.csv" \
             "predict m.nnm --csv d.csv" "info m.nnm" "--help" "--version" "train --help" \
             "train --csv d.csv $L --epochs 1 -q -o -"; do
        # shellcheck disable=SC2086
        "$NN" $c >/dev/full 2>err
        rc=$?
        [ "$rc" -eq 1 ] && grep -q "standard output" err && ok "libnn $c >/dev/full: exit 1" \
            || bad "libnn $c >/dev/full: exit $rc, $(cat err)"
    done
else
    echo "skip - no /dev/full: failed writes to stdout not tested"
fi
ls ./*.tmp.* ./.*.tmp.* >/dev/null 2>&1 && bad "temporary files left behind" || ok "no temporary files after the stream tests"

# --- ONNX: import, export, ONNX files as MODEL (docs/ONNX.md) ---------------
# close NAME A B TOL: CSV files A and B have the same lines and fields, a
# "predicted,..." header the same text, every other field (classes too)
# the same number within TOL relative
close() {
    if awk -F, -v tol="$4" 'NR == FNR { a[FNR] = $0; n = FNR; next }
        { if (!(FNR in a) || split(a[FNR], x, ",") != NF) exit 1
          if ($1 == "predicted") { if (a[FNR] != $0) exit 1; next }
          for (i = 1; i <= NF; i++) {
              d = x[i] - $i; if (d < 0) d = -d; s = x[i] < 0 ? -x[i] : x[i]
              if (d > tol * (s > 1e-300 ? s : 1e-300)) exit 1 } }
        END { if (FNR != n) exit 1 }' "$2" "$3"; then ok "$1"; else bad "$1"; fi
}
# the first python3 that can import MODULES (Debian's python3-onnx and
# python3-torch are /usr/bin/python3's, not a pyenv's), or nothing
python_with() {
    for p in /usr/bin/python3 python3; do
        command -v "$p" >/dev/null 2>&1 && "$p" -c "import $1" >/dev/null 2>&1 &&
            { echo "$p"; return; }
    done
}
"$NN" export m.nnm -o probe.onnx >out 2>err
if grep -q "without ONNX" err; then
    echo "skip - libnn built without ONNX: import/export not tested"
    fails 1 "export without ONNX support" "without ONNX" -- "$NN" export m.nnm -o x.onnx
else
    run 0 "export" "$NN" export m.nnm -o m.onnx
    [ -s m.onnx ] && [ "$(od -An -tx1 -N1 m.onnx | tr -d ' ')" != 89 ] \
        && ok "export wrote an ONNX file" || bad "export output"
    run 0 "import" "$NN" import m.onnx -o mi.nnm
    run 0 "import --threads 1" "$NN" import --threads 1 m.onnx -o mt.nnm
    run 0 "export --threads=1" "$NN" export m.nnm --threads=1 -o mt.onnx
    same "export --threads: the same ONNX bytes" m.onnx mt.onnx
    run 0 "info on the imported model" "$NN" info mi.nnm
    grep -q 'layer 1: dense 2 -> 8, tanh' out && grep -q 'layer 2: dense 8 -> 2, softmax' out &&
        grep -q '^parameters: 42$' out && grep -q '^loss: ce$' out && grep -q '^optimizer: none$' out \
        && ok "imported: architecture, loss, no optimizer" || { bad "imported model"; cat out; }
    # the weights travel exactly: the same predictions to the last bit
    run 0 "predict, original" "$NN" predict m.nnm --csv d.csv --digits 17 -o p17.csv
    run 0 "predict, imported" "$NN" predict mi.nnm --csv d.csv --digits 17 -o pi17.csv
    same "export + import: predictions equal to 17 digits" p17.csv pi17.csv
    run 0 "predict on the .onnx directly" "$NN" predict m.onnx --csv d.csv --digits 17 -o po17.csv
    same "ONNX file as MODEL: predictions equal to 17 digits" p17.csv po17.csv
    "$NN" predict - --csv d.csv --digits 17 <m.onnx >ps17.csv 2>err
    same "ONNX MODEL from stdin" p17.csv ps17.csv
    run 0 "info on the .onnx" "$NN" info m.onnx
    grep -q '^format: ONNX$' out && grep -q '^parameters: 42$' out && ! grep -q checksum out \
        && ok "info: format ONNX" || { bad "info on ONNX"; cat out; }
    "$NN" eval m.nnm --csv d.csv >e1 2>&1
    run 0 "eval on the .onnx" "$NN" eval m.onnx --csv d.csv
    same "eval: the same loss, accuracy and matrix" e1 out
    run 0 "export -o -" "$NN" export m.nnm -o -
    same "export -o -: the same bytes" m.onnx out
    "$NN" export m.nnm -o - | "$NN" import - -o - >pipe.nnm 2>err
    run 0 "info on export | import" "$NN" info pipe.nnm
    run 0 "re-export of the import" "$NN" export mi.nnm -o mi.onnx
    same "re-export: the same ONNX bytes" m.onnx mi.onnx
    # --logits: the output layer's softmax left out; softmax of the logits
    # (computed here, in awk) is the original's probability
    run 0 "export --logits" "$NN" export m.nnm --logits -o ml.onnx
    run 0 "info --logits" "$NN" info ml.onnx
    grep -q 'layer 2: dense 8 -> 2, identity' out && ok "--logits: identity output" || { bad "--logits"; cat out; }
    run 0 "predict the logits" "$NN" predict ml.onnx --csv d.csv --digits 17 -o pl.csv
    # an identity output under MSE is a regression model: the logits come
    # as y0,y1 (no predicted column); the class is their arg-max
    [ "$(head -n 1 pl.csv)" = "y0,y1" ] && ok "--logits: real-valued columns" || bad "--logits header: $(head -n 1 pl.csv)"
    tail -n +2 pl.csv | awk -F, '{ m = $1 > $2 ? $1 : $2; a = exp($1 - m); b = exp($2 - m)
        printf "%d,%.17g,%.17g\n", (b > a), a / (a + b), b / (a + b) }' >plsm.csv
    tail -n +2 p17.csv >p17b.csv
    close "--logits: softmax of the logits = the probabilities (1e-12)" p17b.csv plsm.csv 1e-12
    # the input scaling (/255 of an IDX model) is folded into the first
    # layer; --unscaled leaves it out, so nn's default /255 for --images
    # makes that file predict exactly as the model
    run 0 "predict, IDX model" "$NN" predict i.nnm --images x.idx --digits 17 -o ip.csv
    run 0 "export a scaled model" "$NN" export i.nnm -o i.onnx
    run 0 "predict, folded scaling" "$NN" predict i.onnx --images x.idx --scale none --digits 17 -o ipf.csv
    close "folded scaling: the same predictions (1e-12)" ip.csv ipf.csv 1e-12
    # a regression model: its standardised inputs and targets both folded
    awk 'BEGIN { srand(5); for (i = 0; i < 60; i++) { a = rand() * 40; b = rand() - 0.5;
        printf "%.6f,%.6f,%.6f\n", a, b, 100 + 3 * a - 20 * b } }' >rx.csv
    run 0 "train a scaled regression model" "$NN" train --csv rx.csv --target 2 --scale standard \
        --layers 6:tanh,1:identity --epochs 3 -q -o rx.nnm
    run 0 "export it" "$NN" export rx.nnm -o rx.onnx
    run 0 "predict, the model" "$NN" predict rx.nnm --csv rx.csv --digits 17 -o rxa.csv
    run 0 "predict, its export" "$NN" predict rx.onnx --csv rx.csv --digits 17 -o rxb.csv
    close "folded input and target scalings: the same predictions (1e-12)" rxa.csv rxb.csv 1e-12
    fails 1 "target scaling on a sigmoid output" "cannot be folded" "--unscaled" -- \
        sh -c "'$NN' train --csv rx.csv --target 2 --layers 1:sigmoid --loss mse --epochs 1 -q -o rs.nnm && '$NN' export rs.nnm -o rs.onnx"
    run 0 "export --unscaled" "$NN" export i.nnm --unscaled -o iu.onnx
    run 0 "predict, --unscaled" "$NN" predict iu.onnx --images x.idx --digits 17 -o ipu.csv
    same "--unscaled, default /255: predictions equal to 17 digits" ip.csv ipu.csv
    # errors: one line, the right status, outputs untouched
    head -c 100 m.onnx >cut.onnx
    cp p.csv keep.csv
    fails 1 "truncated .onnx (predict)" "cut.onnx" "not a valid model file" -- \
        "$NN" predict cut.onnx --csv d.csv -o keep.csv
    same "truncated .onnx: predictions file untouched" p.csv keep.csv
    cp m.nnm keep.nnm
    fails 1 "truncated .onnx (import)" "cut.onnx" "ONNX" -- "$NN" import cut.onnx -o keep.nnm
    same "truncated .onnx: model file untouched" m.nnm keep.nnm
    fails 1 "garbage stdin as MODEL" "stdin" "not a valid model" -- sh -c 'head -c 100000 /dev/zero | "$0" info -' "$NN"
    timeout 10 "$NN" info - </dev/zero >out 2>err
    rc=$?
    [ "$rc" -eq 1 ] && ok "MODEL - from /dev/zero: error, no hang" || bad "MODEL - </dev/zero: exit $rc (124: hung), $(cat err)"
    fails 1 "import of a libnn model" "m.nnm" "already a libnn model" -- "$NN" import m.nnm -o x.nnm
    [ -e x.nnm ] && bad "refused import wrote a file" || ok "refused import wrote no file"
    fails 2 "import: missing -o" "missing --output" -- "$NN" import m.onnx
    fails 2 "export: missing MODEL" "missing MODEL" -- "$NN" export -o x.onnx
    fails 2 "export -o over its input" "same file as MODEL" -- "$NN" export m.nnm -o m.nnm
    same "export -o over its input: model intact" m.nnm keep.nnm
    cp m.onnx keep.onnx
    fails 2 "import -o over its input" "same file as MODEL" -- "$NN" import m.onnx -o m.onnx
    same "import -o over its input: file intact" m.onnx keep.onnx
    fails 2 "predict --digits 18" "--digits" "1 to 17" -- "$NN" predict m.nnm --csv d.csv --digits 18
    # a model made elsewhere: PyTorch's own export and outputs (float64, so
    # the two agree to rounding; a leaky slope that float32, the type of
    # ONNX's alpha, holds exactly), straight into predict and through import
    py=$(python_with "torch, onnx")
    if [ -n "$py" ]; then
        "$py" - <<'PY' 2>err
import torch
torch.manual_seed(11)
net = torch.nn.Sequential(torch.nn.Linear(2, 5), torch.nn.LeakyReLU(0.25),
                          torch.nn.Linear(5, 3), torch.nn.Softmax(dim=1)).double()
x = torch.tensor([[float(v) for v in l.split(",")[:2]] for l in open("d.csv")],
                 dtype=torch.float64)
torch.onnx.export(net, x[:1], "torch.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=13)
with open("torch.csv", "w") as f:
    f.write("predicted,p0,p1,p2\n")
    for row in net(x).detach().numpy():
        f.write("%d,%s\n" % (row.argmax(), ",".join("%.17g" % v for v in row)))
PY
        if [ -s torch.onnx ]; then
            run 0 "predict a PyTorch export" "$NN" predict torch.onnx --csv d.csv --digits 17 -o tp.csv
            close "PyTorch export: PyTorch's outputs (1e-12)" torch.csv tp.csv 1e-12
            run 0 "import a PyTorch export" "$NN" import torch.onnx -o torch.nnm
            run 0 "predict the imported PyTorch model" "$NN" predict torch.nnm --csv d.csv --digits 17 -o tpi.csv
            same "imported PyTorch model: the same predictions" tp.csv tpi.csv
            run 0 "info on the PyTorch model" "$NN" info torch.nnm
            grep -q 'layer 1: dense 2 -> 5, leaky=0.25' out && grep -q '^loss: ce$' out \
                && ok "PyTorch model: leaky 0.25, loss ce" || { bad "PyTorch model info"; cat out; }
        else
            bad "torch.onnx.export failed: $(tail -n 1 err)"
        fi
    else
        echo "skip - no python3 with torch and onnx: PyTorch model not tested"
    fi
    # an op libnn cannot serve: refused, naming the node and the op
    py=$(python_with onnx)
    if [ -n "$py" ]; then
        "$py" - <<'PY' 2>err
import numpy as np
from onnx import TensorProto, helper, numpy_helper, save
w = numpy_helper.from_array(np.ones((2, 3), np.float32), "W")
nodes = [helper.make_node("Gemm", ["x", "W"], ["z"], name="fc"),
         helper.make_node("Elu", ["z"], ["y"], name="act")]
g = helper.make_graph(nodes, "g",
                      [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 2])],
                      [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 3])], [w])
save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]), "elu.onnx")
PY
        fails 1 "import of an unsupported op" "elu.onnx" "Elu" "act" -- "$NN" import elu.onnx -o elu.nnm
        [ -e elu.nnm ] && bad "refused import wrote a file" || ok "refused import wrote no file"
        fails 1 "predict on an unsupported op" "elu.onnx" "Elu" -- "$NN" predict elu.onnx --csv d.csv
    else
        echo "skip - no python3 with onnx: unsupported-op import not tested"
    fi
    ls ./*.tmp.* ./.*.tmp.* >/dev/null 2>&1 && bad "temporary files left behind" || ok "no temporary files after the ONNX tests"
fi

# --- data workflow: header detection, separators, targets, scalers, splits -
# a CSV with a header of names, read without --header (auto-detected)
awk 'BEGIN { print "a,b,\"the label\""; for (i = 0; i < 40; i++) { c = i % 2; s = c ? 1 : -1;
    printf "%.3f,%.3f,%d\n", s * (1 + (i % 7) / 10), s * 0.8 + ((i * 37) % 11) / 20 - 0.25, c } }' >h.csv
run 0 "train on a CSV with a header, detected" "$NN" train --csv h.csv --layers 2:softmax --epochs 2 -q -o h.nnm
run 0 "eval by header name of the label" "$NN" eval h.nnm --csv h.csv --label-col 'the label'
grep -q '^rows: 40$' out && ok "header line not taken for data" || bad "header rows: $(head -n 1 out)"
fails 1 "--no-header on a header" "h.csv:1:1" "expected a decimal number" -- \
    "$NN" train --csv h.csv --no-header --layers 2:softmax --epochs 1 -q -o x.nnm
fails 1 "--label-col NAME not in the header" "no column of that name" -- \
    "$NN" train --csv h.csv --label-col nope --layers 2:softmax --epochs 1 -q -o x.nnm
fails 1 "--label-col NAME without a header" "no header" -- \
    "$NN" train --csv d.csv --label-col a --layers 2:softmax --epochs 1 -q -o x.nnm
# separators: the same rows with ';' and with runs of blanks train the same model
tr ',' ';' <d.csv >semi.csv
awk -F, '{ printf "  %s   %s\t%s \n", $1, $2, $3 }' d.csv >blank.csv
run 0 "train, comma" "$NN" train --csv d.csv --layers 2:softmax --epochs 3 -q -o c1.nnm
run 0 "train, --delimiter ';'" "$NN" train --csv semi.csv --delimiter ';' --layers 2:softmax --epochs 3 -q -o c2.nnm
run 0 "train, --delimiter space" "$NN" train --csv blank.csv --delimiter space --layers 2:softmax --epochs 3 -q -o c3.nnm
cmp -s c1.nnm c2.nnm && cmp -s c1.nnm c3.nnm && ok "separators give bitwise the same model" || bad "separator models differ"
fails 2 "--delimiter x" "--delimiter" -- "$NN" train --csv d.csv --delimiter x --layers 2:softmax -o x.nnm
fails 1 "';' file read with ','" "semi.csv:2:1" "--delimiter" -- "$NN" train --csv semi.csv --layers 2:softmax --epochs 1 -q -o x.nnm

# regression: real-valued targets by name or index, several at once
awk 'BEGIN { srand(3); print "x1,x2,x3,y,z"; for (i = 0; i < 200; i++) {
    a = rand() * 2 - 1; b = rand() * 2 - 1; c = rand() * 2 - 1;
    printf "%.6f,%.6f,%.6f,%.6f,%.6f\n", a, b, c, 3 * a - 2 * b + 0.5 * c + 10 + (rand() - 0.5) * 0.2, a - b }}' >reg.csv
fails 1 "a real-valued label without --target" "expected an integer label" "--target" -- \
    "$NN" train --csv reg.csv --layers 1:identity --epochs 1 -q -o x.nnm
run 0 "train two targets by name" "$NN" train --csv reg.csv --target y,z --layers 2:identity --epochs 2 -q -o r2.nnm
run 0 "info of a regression model" "$NN" info r2.nnm
grep -q '^target scaling: standardised' out && ok "target scaler saved" || bad "target scaling: $(grep target out)"
run 0 "train one target by index" "$NN" train --csv reg.csv --target 3 --layers 1:identity --epochs 1 -q -o x.nnm
fails 1 "--target names a missing column" "--target 'w'" "no column of that name" -- \
    "$NN" train --csv reg.csv --target y,w --layers 2:identity --epochs 1 -q -o x.nnm
fails 1 "--target index beyond the columns" "--target 9" -- \
    "$NN" train --csv reg.csv --target 9 --layers 1:identity --epochs 1 -q -o x.nnm
fails 2 "--target twice the same column" "named twice" -- \
    "$NN" train --csv reg.csv --target y,3 --layers 2:identity --epochs 1 -q -o x.nnm
fails 1 "--target count != output units" "output layer has 1 unit" "2 columns" -- \
    "$NN" train --csv reg.csv --target y,z --layers 1:identity --epochs 1 -q -o x.nnm
printf 'x,y\n1,2\n3,abc\n' >nonnum.csv
fails 1 "a non-numeric target" "nonnum.csv:3:2" "abc" -- \
    "$NN" train --csv nonnum.csv --target y --layers 1:identity --epochs 1 -q -o x.nnm
fails 2 "--target with --label-col" "exclude each other" -- \
    "$NN" train --csv reg.csv --target y --label-col 0 --layers 1:identity -o x.nnm
fails 2 "--scale-targets without --target" "--scale-targets" -- \
    "$NN" train --csv d.csv --scale-targets none --layers 2:softmax -o x.nnm

# the least-squares answer: a linear net trained full-batch to convergence
# on the training rows, its R^2 on the held-out rows (--test-fraction, the
# split replayed here from its documented SplitMix64 draw) against numpy's
# least-squares fit of the same rows
py=$(python_with numpy)
if [ -n "$py" ]; then
    run 0 "train to the least-squares fit" "$NN" train --csv reg.csv --target y \
        --layers 1:identity --optim sgd --lr 0.5 --batch 1000 --epochs 400 --scale standard \
        --test-fraction 0.25 --seed 11 --json -q -o ls.nnm
    cp out ls.json
    "$py" - <<'PY' >lsq.out 2>&1 && ok "R^2 on the held-out rows = least squares' ($(cat lsq.out))" || { bad "least-squares check"; cat lsq.out; }
import csv, json, numpy as np
rows = np.array([[float(v) for v in r] for r in list(csv.reader(open("reg.csv")))[1:]])
X, y = rows[:, :3], rows[:, 3]
m = len(rows); n_test = int(np.floor(0.25 * m + 0.5))
M = (1 << 64) - 1
x = 11 ^ 0x7465737473706C74
need, test = n_test, []
for i in range(m):
    x = (x + 0x9E3779B97F4A7C15) & M
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
    z ^= z >> 31
    u = (z >> 11) * 2.0 ** -53
    t = need > 0 and u * (m - i) < need
    test.append(t); need -= t
test = np.array(test)
A = np.c_[X, np.ones(m)]
w = np.linalg.lstsq(A[~test], y[~test], rcond=None)[0]
res = y[test] - A[test] @ w
r2 = 1 - res @ res / ((y[test] - y[test].mean()) @ (y[test] - y[test].mean()))
got = json.load(open("ls.json"))
assert got["test"]["rows"] == n_test, got["test"]["rows"]
d = abs(got["test"]["r2"] - r2)
print("libnn %.9f, numpy %.9f, |diff| %.1e" % (got["test"]["r2"], r2, d))
assert d < 1e-6
PY
else
    echo "skip - no python3 with numpy: least-squares check not run"
fi

# --test-fraction: seeded and reproducible; --val-csv; --json
run 0 "train --test-fraction --json" "$NN" train --csv d.csv --layers 2:softmax --epochs 2 --test-fraction 0.25 --seed 5 --json -q -o t1.nnm
cp out t1.json
run 0 "the same again" "$NN" train --csv d.csv --layers 2:softmax --epochs 2 --test-fraction 0.25 --seed 5 --json -q -o t2.nnm
cmp -s t1.nnm t2.nnm && ok "same seed, same split, bitwise the same model" || bad "--test-fraction not reproducible"
run 0 "another seed" "$NN" train --csv d.csv --layers 2:softmax --epochs 2 --test-fraction 0.25 --seed 6 -q -o t3.nnm
cmp -s t1.nnm t3.nnm && bad "another seed gave the same model" || ok "another seed, another model"
py=$(python_with json)
if [ -n "$py" ]; then
    "$py" -c 'import json,sys; d=json.load(open("t1.json")); assert d["test"]["rows"] == 10 and d["rows"] == 30 and len(d["history"]) == 2 and d["task"] == "classification", d' \
        && ok "--json: 30 training rows, 10 held out, 2 epochs" || bad "--json content: $(head -c 300 t1.json)"
fi
fails 2 "--test-fraction 1" "--test-fraction" -- "$NN" train --csv d.csv --test-fraction 1 --layers 2:softmax -o x.nnm
fails 2 "--test-fraction leaving no rows" "leaves the test part empty" -- \
    "$NN" train --csv d.csv --test-fraction 0.001 --layers 2:softmax --epochs 1 -q -o x.nnm
head -n 30 d.csv >tr.csv
tail -n 10 d.csv >va.csv
run 0 "train --val-csv" "$NN" train --csv tr.csv --val-csv va.csv --layers 2:softmax --epochs 2 --patience 1 -o v.nnm
grep -q 'val loss' out && ok "--val-csv validates" || bad "--val-csv: $(cat out)"
fails 2 "--val-csv with --val-fraction" "exclude each other" -- \
    "$NN" train --csv tr.csv --val-csv va.csv --val-fraction 0.2 --layers 2:softmax -o x.nnm
fails 2 "--val-csv is the output" "--val-csv" -- \
    "$NN" train --csv tr.csv --val-csv v.nnm --layers 2:softmax -o v.nnm
fails 2 "--json with -o -" "--json" -- "$NN" train --csv d.csv --layers 2:softmax --json -o -

# scalers: standard and minmax saved; a conflicting --scale refused
run 0 "train --scale standard" "$NN" train --csv d.csv --layers 2:softmax --epochs 1 --scale standard -q -o s.nnm
run 0 "info" "$NN" info s.nnm
grep -q '^input scaling: standardised' out && ok "standard scaler saved" || bad "info: $(grep scaling out)"
fails 2 "eval --scale 255 on a standardised model" "conflicts" "standardised" -- \
    "$NN" eval s.nnm --csv d.csv --scale 255
run 0 "eval --scale standard on it" "$NN" eval s.nnm --csv d.csv --scale standard
fails 2 "eval --scale minmax on an unscaled model" "carries none" -- \
    "$NN" eval c1.nnm --csv d.csv --scale minmax

# a failed write to stdout is told once, also by plot's own writer
"$NN" train --csv d.csv --layers 2:softmax --epochs 2 --val-fraction 0.25 -q -o pl.nnm --history pl.csv >/dev/null 2>&1
if gnuplot --version >/dev/null 2>&1; then
    fails 1 "plot -o - >/dev/full" "standard output" -- sh -c "'$NN' plot pl.csv -o - >/dev/full"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
