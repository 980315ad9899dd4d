#!/bin/sh
# shellcheck disable=SC2015,SC2046  # ok() always succeeds; $OPTS is split on purpose
# Checkpoints and --resume of `libnn train`: a run resumed from a periodic
# checkpoint (--checkpoint-every), from the checkpoint of a run stopped by
# SIGINT or SIGTERM (exit 130 / 143, the model not written), or extended
# with more epochs writes a model file byte for byte equal to the run never
# interrupted (one BLAS thread); corrupt, truncated or foreign --resume
# files and runs whose data or options differ from the checkpoint's fail
# with one 'libnn: ' line, leaving an existing model untouched; the
# checkpoint's place is checked like every output.
# usage: test-resume.sh PATH/TO/libnn
set -u
NN=${1:?usage: test-resume.sh PATH/TO/libnn}
case $NN in /*) ;; *) NN=$(pwd)/$NN ;; esac
OPENBLAS_NUM_THREADS=1
export OPENBLAS_NUM_THREADS
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

same() { # same NAME A B: the two files are byte for byte equal
    if cmp -s "$2" "$3"; then ok "$1"; else bad "$1 ($2 and $3 differ)"; fi
}

# --- data: three noisy classes, 4 features --------------------------------
awk 'BEGIN { srand(11); for (i = 0; i < 300; i++) { c = i % 3;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", rand() + (c == 1) * 0.8, rand() + (c == 2) * 0.8,
        rand(), rand() * 0.5 + c * 0.1, c } }' >d.csv
[ "$(wc -l <d.csv | tr -d ' ')" -eq 300 ] || { echo "could not write d.csv"; exit 1; }
# the same data but one value
awk -F, 'NR == 7 { $1 = $1 + 0.001 } { OFS = ","; $1 = $1; print }' d.csv >d2.csv
cmp -s d.csv d2.csv && { echo "could not write d2.csv"; exit 1; }

# every option that shapes the run: dropout, adam, cosine with warm-up is
# not an option of the tool; validation, patience (restore-best)
OPTS="--csv d.csv --epochs 6 --batch 16 --val-fraction 0.2 --patience 4 --schedule cosine --lr 0.01 --seed 5 -q"
LAYERS="--layers 12:tanh:drop=0.2,3:softmax"
# shellcheck disable=SC2086
run 0 "uninterrupted run" "$NN" train $OPTS $LAYERS -o full.nnm
[ -s full.nnm ] && ok "the model is written" || bad "no model"
[ -e full.nnm.ckpt ] && bad "a checkpoint without a signal or --checkpoint-every" \
    || ok "no checkpoint unless asked for or interrupted"

# --- (a) a periodic checkpoint ----------------------------------------------
# every 4 epochs of 6: the checkpoint holds epoch 4, the run goes on
# shellcheck disable=SC2086
run 0 "run with --checkpoint-every 4" "$NN" train $OPTS $LAYERS -o a.nnm --checkpoint-every 4
same "checkpointing does not change the run" full.nnm a.nnm
[ -s a.nnm.ckpt ] && ok "default checkpoint name MODEL.ckpt" || bad "no a.nnm.ckpt"
"$NN" info a.nnm.ckpt >out 2>err && ok "libnn info reads a checkpoint" || bad "info on a checkpoint: $(cat err)"
# shellcheck disable=SC2086
run 0 "resume from the epoch-4 checkpoint (no --layers)" "$NN" train $OPTS -o a2.nnm --resume a.nnm.ckpt
same "resumed from a periodic checkpoint = uninterrupted" full.nnm a2.nnm
# shellcheck disable=SC2086
run 0 "resume with --layers given (matching)" "$NN" train $OPTS $LAYERS -o a3.nnm --resume a.nnm.ckpt
same "resumed with --layers = uninterrupted" full.nnm a3.nnm
# one file, the latest: after epochs 2, 4 and 6 it holds epoch 6
# shellcheck disable=SC2086
run 0 "--checkpoint FILE --checkpoint-every 2" "$NN" train $OPTS $LAYERS -o b.nnm \
    --checkpoint every2.ckpt --checkpoint-every 2
same "the run with checkpoints every 2 epochs" full.nnm b.nnm
ls ./*.tmp.* >/dev/null 2>&1 && bad "temporary files left behind" || ok "no temporary files"
# shellcheck disable=SC2086
run 0 "resume from the last checkpoint (nothing left to run)" "$NN" train $OPTS -o b2.nnm --resume every2.ckpt
same "resumed after the last epoch = uninterrupted" full.nnm b2.nnm
# the resumed run may keep checkpointing to the file it resumed from
cp a.nnm.ckpt again.ckpt
# shellcheck disable=SC2086
run 0 "--resume F --checkpoint F" "$NN" train $OPTS -o c.nnm --resume again.ckpt \
    --checkpoint again.ckpt --checkpoint-every 1
same "resumed while checkpointing to its own file" full.nnm c.nnm
cmp -s again.ckpt a.nnm.ckpt && bad "again.ckpt was not replaced" || ok "again.ckpt replaced by a later one"
# shellcheck disable=SC2086
run 0 "resume from the checkpoint a resumed run wrote" "$NN" train $OPTS -o c2.nnm --resume again.ckpt
same "resumed twice = uninterrupted" full.nnm c2.nnm
# more epochs than the checkpointed run (constant rate, no validation)
EXT="--csv d.csv --batch 16 --seed 5 -q --layers 12:tanh,3:softmax --optim sgd --lr 0.1"
# shellcheck disable=SC2086
run 0 "5 epochs" "$NN" train $EXT --epochs 5 -o e5.nnm
# shellcheck disable=SC2086
run 0 "3 epochs with a checkpoint" "$NN" train $EXT --epochs 3 --checkpoint-every 3 -o e3.nnm
# shellcheck disable=SC2086
run 0 "resumed with --epochs 5" "$NN" train $EXT --epochs 5 --resume e3.nnm.ckpt -o e35.nnm
same "3 epochs resumed to 5 = 5 epochs" e5.nnm e35.nnm
# shellcheck disable=SC2086
fails 1 "resumed with fewer epochs than run" "differ from the checkpoint's" "--epochs" -- \
    "$NN" train $EXT --epochs 2 --resume e3.nnm.ckpt -o e32.nnm

# --- (b) SIGINT and SIGTERM --------------------------------------------------
# long enough to be interrupted: many epochs; the signal is sent once the
# epoch-5 checkpoint exists, so that it lands mid-run
LONG="--csv d.csv --epochs 400 --batch 8 --val-fraction 0.2 --patience 1000 --lr 0.003 --seed 9 -q"
LL="--layers 32:relu:drop=0.1,16:tanh,3:softmax"
# shellcheck disable=SC2086
run 0 "long run, uninterrupted" "$NN" train $LONG $LL -o long.nnm
interrupt() { # interrupt SIG NAME: the long run, signalled mid-run
    sig=$1 name=$2
    rm -f "$name.nnm" "$name.ckpt"
    echo "not a model" >"$name.nnm" # an existing model, to stay untouched
    cp "$name.nnm" "$name.before"
    # shellcheck disable=SC2086
    "$NN" train $LONG $LL -o "$name.nnm" --checkpoint "$name.ckpt" --checkpoint-every 5 \
        >"$name.out" 2>"$name.err" &
    pid=$!
    i=0
    while [ ! -s "$name.ckpt" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i + 1)); done
    kill "-$sig" "$pid"
    wait "$pid"
    rc=$?
}
for s in INT:130 TERM:143; do
    sig=${s%%:*} want=${s##*:}
    interrupt "$sig" "sig$sig"
    [ "$rc" -eq "$want" ] && ok "SIG$sig: exit $rc" || { bad "SIG$sig: exit $rc, expected $want"; cat "sig$sig.err"; }
    n=$(wc -l <"sig$sig.err" | tr -d ' ')
    if [ "$n" -eq 1 ] && grep -q "^libnn: interrupted (SIG$sig) after epoch [0-9]* batch [0-9]*: checkpoint saved to sig$sig.ckpt; resume with --resume sig$sig.ckpt\$" "sig$sig.err"; then
        ok "SIG$sig: one line: $(cat "sig$sig.err")"
    else bad "SIG$sig: message"; sed 's/^/    /' "sig$sig.err"; fi
    same "SIG$sig: the existing model is untouched" "sig$sig.before" "sig$sig.nnm"
    ep=$(sed -n 's/.*after epoch \([0-9]*\) batch.*/\1/p' "sig$sig.err")
    [ -n "$ep" ] && [ "$ep" -lt 400 ] && ok "SIG$sig: stopped mid-run (epoch $ep)" || bad "SIG$sig: epoch '$ep'"
    # shellcheck disable=SC2086
    run 0 "SIG$sig: resume" "$NN" train $LONG -o "sig$sig.nnm" --resume "sig$sig.ckpt"
    same "SIG$sig: resumed = uninterrupted" long.nnm "sig$sig.nnm"
done
ls ./*.tmp.* >/dev/null 2>&1 && bad "temporary files left behind" || ok "no temporary files"

# --- (c) corrupt, truncated, foreign --resume files ---------------------------
cp full.nnm keep.nnm
cp full.nnm keep.ref
size=$(wc -c <a.nnm.ckpt | tr -d ' ')
head -c $((size - 9)) a.nnm.ckpt >cut.ckpt
# shellcheck disable=SC2086
fails 1 "truncated checkpoint" "cut.ckpt" "not a valid checkpoint" -- "$NN" train $OPTS -o keep.nnm --resume cut.ckpt
same "truncated checkpoint: the model is untouched" keep.ref keep.nnm
{ head -c 200 a.nnm.ckpt; printf 'X'; tail -c +202 a.nnm.ckpt; } >flip.ckpt
[ "$(wc -c <flip.ckpt | tr -d ' ')" -eq "$size" ] || bad "could not write flip.ckpt"
# shellcheck disable=SC2086
fails 1 "corrupted checkpoint" "flip.ckpt" "checksum" -- "$NN" train $OPTS -o keep.nnm --resume flip.ckpt
same "corrupted checkpoint: the model is untouched" keep.ref keep.nnm
# shellcheck disable=SC2086
fails 1 "a CSV file as checkpoint" "d2.csv" "not a valid checkpoint" -- "$NN" train $OPTS -o keep.nnm --resume d2.csv
# shellcheck disable=SC2086
fails 1 "a missing checkpoint" "nope.ckpt" -- "$NN" train $OPTS -o keep.nnm --resume nope.ckpt
same "failed resumes: the model is untouched" keep.ref keep.nnm

# --- (d) data or options that differ ------------------------------------------
OPTS2=$(echo "$OPTS" | sed 's/d\.csv/d2.csv/')
# shellcheck disable=SC2086
fails 1 "other data" "differ from the checkpoint's" -- "$NN" train $OPTS2 -o keep.nnm --resume a.nnm.ckpt
# shellcheck disable=SC2086
fails 1 "other --seed" "differ from the checkpoint's" -- "$NN" train $OPTS --seed 6 -o keep.nnm --resume a.nnm.ckpt
# shellcheck disable=SC2086
fails 1 "other --batch" "differ from the checkpoint's" -- "$NN" train $OPTS --batch 8 -o keep.nnm --resume a.nnm.ckpt
# shellcheck disable=SC2086
fails 1 "other --lr" "differ from the checkpoint's" "--lr" -- "$NN" train $OPTS --lr 0.02 -o keep.nnm --resume a.nnm.ckpt
# shellcheck disable=SC2086
fails 1 "other --optim" "differ from the checkpoint's" "--optim sgd" -- "$NN" train $OPTS --optim sgd -o keep.nnm --resume a.nnm.ckpt
# shellcheck disable=SC2086
fails 1 "other --layers" "differ from the checkpoint's" "--layers" -- \
    "$NN" train $OPTS --layers 10:tanh,3:softmax -o keep.nnm --resume a.nnm.ckpt
cut -d, -f2- d.csv >d3.csv
# shellcheck disable=SC2086
fails 1 "fewer columns" "differ from the checkpoint's" "feature columns" -- \
    "$NN" train $(echo "$OPTS" | sed 's/d\.csv/d3.csv/') -o keep.nnm --resume a.nnm.ckpt
same "mismatches: the model is untouched" keep.ref keep.nnm

# --- (e) a model file to --resume: a new run from its state --------------------
# shellcheck disable=SC2086
run 0 "--resume MODEL (not a checkpoint)" "$NN" train $OPTS -o warm.nnm --resume full.nnm
[ -s warm.nnm ] && ! cmp -s warm.nnm full.nnm && ok "a new run from the model's weights" || bad "warm start"
# shellcheck disable=SC2086
run 0 "--resume MODEL, not quiet" "$NN" train $(echo "$OPTS" | sed 's/ -q//') -o warm2.nnm --resume full.nnm
grep -q "a new run" err && ok "the new run is announced" || { bad "no note"; cat err; }
same "the same new run twice" warm.nnm warm2.nnm

# --- (f) where checkpoints may go ----------------------------------------------
# shellcheck disable=SC2086
fails 2 "--checkpoint is an input" "--checkpoint d.csv" "--csv" -- "$NN" train $OPTS $LAYERS -o f.nnm --checkpoint d.csv
# shellcheck disable=SC2086
fails 2 "--checkpoint is the model" "name the same file" -- "$NN" train $OPTS $LAYERS -o f.nnm --checkpoint f.nnm
# shellcheck disable=SC2086
fails 2 "--checkpoint -" "--checkpoint" "not '-'" -- "$NN" train $OPTS $LAYERS -o f.nnm --checkpoint -
# shellcheck disable=SC2086
fails 2 "--checkpoint-every with the model on stdout" "--checkpoint-every" -- \
    "$NN" train $OPTS $LAYERS -o - --checkpoint-every 2
# shellcheck disable=SC2086
fails 2 "--checkpoint-every 0" "checkpoint-every" -- "$NN" train $OPTS $LAYERS -o f.nnm --checkpoint-every 0
mkdir ckdir
# shellcheck disable=SC2086
fails 1 "--checkpoint a directory" "directory" -- "$NN" train $OPTS $LAYERS -o f.nnm --checkpoint ckdir
# shellcheck disable=SC2086
fails 2 "--resume is the model" "refusing to overwrite an input" -- "$NN" train $OPTS -o full.nnm --resume full.nnm
# shellcheck disable=SC2086
fails 2 "missing --layers without --resume" "--layers" -- "$NN" train $OPTS -o f.nnm
[ -e f.nnm ] && bad "a refused run wrote its model" || ok "refused runs write nothing"
# a model to stdout: no default checkpoint, the run is not disturbed
# shellcheck disable=SC2086
"$NN" train $OPTS $LAYERS -o - >stdout.nnm 2>err && same "-o -: the same model" full.nnm stdout.nnm \
    || bad "-o -: $(cat err)"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
