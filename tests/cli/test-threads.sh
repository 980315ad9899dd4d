#!/bin/sh
# shellcheck disable=SC2015,SC2086  # ok() always succeeds; $OPTS is split on purpose
# `libnn train --threads N`: batch-parallel workers (NN_TRAIN_THREADS) when
# every worker gets at least 16 rows of a batch and 2 MFLOP of products a
# step, else N BLAS threads. Runs
# with the same N write byte for byte the same model; N workers give the
# model of one thread up to rounding (its loss on the data to 1e-9); the
# header line says which mode ran; --threads 0 and a count the library
# refuses fail with one 'libnn: ' line.
# usage: test-threads.sh PATH/TO/libnn
set -u
NN=${1:?usage: test-threads.sh PATH/TO/libnn}
case $NN in /*) ;; *) NN=$(pwd)/$NN ;; esac
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

same() { # same NAME A B: the two files are byte for byte equal
    if cmp -s "$2" "$3"; then ok "$1"; else bad "$1 ($2 and $3 differ)"; fi
}

# the loss `libnn eval --json` reports for model $1 on d.csv
eval_loss() {
    "$NN" eval "$1" --csv d.csv --json 2>/dev/null |
        awk '/"loss"/ { l = 1 } l && /"value"/ { gsub(/[ ,]/, ""); sub(/"value":/, ""); print; exit }'
}

# --- data: three noisy classes, 4 features, 600 rows ----------------------
awk 'BEGIN { srand(11); for (i = 0; i < 600; i++) { c = i % 3;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", rand() + (c == 1) * 0.8, rand() + (c == 2) * 0.8,
        rand(), rand() * 0.5 + c * 0.1, c } }' >d.csv
[ "$(wc -l <d.csv | tr -d ' ')" -eq 600 ] || { echo "could not write d.csv"; exit 1; }

# 34,563 parameters: 32 rows a worker make 6.6 MFLOP a step
OPTS="--csv d.csv --layers 256:tanh:drop=0.2,128:relu,3:softmax --epochs 4 --val-fraction 0.2 --patience 3 --seed 3"

# --- batch-parallel: 64 rows a batch, 2 and 3 workers -----------------------
run 0 "--threads 2 --batch 64" "$NN" train $OPTS --batch 64 --threads 2 -o t2a.nnm
grep -q "batch-parallel threads" err && ok "--threads 2 --batch 64: batch-parallel" ||
    bad "--threads 2 --batch 64: the header does not say batch-parallel"
run 0 "--threads 2 again" "$NN" train $OPTS --batch 64 --threads 2 -q -o t2b.nnm
same "two runs with --threads 2: the same model" t2a.nnm t2b.nnm
run 0 "--threads 3 --batch 64" "$NN" train $OPTS --batch 64 --threads 3 -o t3.nnm
grep -q "batch-parallel threads" err && ok "--threads 3 --batch 64: batch-parallel" ||
    bad "--threads 3 --batch 64: not batch-parallel"
run 0 "--threads 1 --batch 64" "$NN" train $OPTS --batch 64 --threads 1 -o t1.nnm
grep -q "batch-parallel" err && bad "--threads 1 said batch-parallel" ||
    ok "--threads 1: the BLAS's one thread"
run 0 "no --threads" env OPENBLAS_NUM_THREADS=1 "$NN" train $OPTS --batch 64 -q -o t0.nnm
same "--threads 1 is the run without threads (one BLAS thread)" t1.nnm t0.nnm

# the workers' model is the one-thread model up to rounding
l1=$(eval_loss t1.nnm) l2=$(eval_loss t2a.nnm) l3=$(eval_loss t3.nnm)
for lt in "2 $l2" "3 $l3"; do
    set -- $lt
    awk -v a="$2" -v b="$l1" 'BEGIN { d = a - b; if (d < 0) d = -d;
        exit !(b > 0 && d <= 1e-9 * b) }' &&
        ok "--threads $1: loss $2, one thread $l1 (within 1e-9)" ||
        bad "--threads $1: loss '$2' against one thread's '$l1'"
done

# --- too small a batch to split: BLAS threads -------------------------------
run 0 "--threads 2 --batch 16" "$NN" train $OPTS --batch 16 --threads 2 -o b2.nnm
grep -q "batch-parallel" err && bad "--threads 2 --batch 16 ran batch-parallel" ||
    ok "--threads 2 --batch 16 (8 rows a worker): BLAS threads"
[ -s b2.nnm ] && ok "the BLAS-threads run wrote its model" || bad "no model"
run 0 "--threads 2, a small network" "$NN" train --csv d.csv --layers 8:tanh,3:softmax --epochs 2 --batch 64 --threads 2 -o s2.nnm
grep -q "batch-parallel" err && bad "a 67-parameter network ran batch-parallel" ||
    ok "--threads 2, 67 parameters (too little work a step): BLAS threads"

# --- refused counts -----------------------------------------------------------
fails 2 "--threads 0" "train: --threads expects an integer >= 1, got '0'" -- \
    "$NN" train $OPTS --batch 64 --threads 0 -o x.nnm
fails 2 "--threads beyond the BLAS" "--threads 99999999999" -- \
    "$NN" train $OPTS --batch 64 --threads 99999999999 -o x.nnm
[ -e x.nnm ] && bad "a refused run wrote a model" || ok "refused runs wrote nothing"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
