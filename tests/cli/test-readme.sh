#!/bin/sh
# The README's two CSV sessions on scikit-learn's bundled data (Debian's
# python3-sklearn), as printed there: classification on wine_data.csv and
# regression on the diabetes data, with the figures the README quotes
# within a margin (the digits shown move with the BLAS kernels' rounding),
# and eval finding exactly train's held-out rows. Skipped (exit 77) without
# the data.
# usage: test-readme.sh PATH/TO/libnn
set -u
NN=${1:?usage: test-readme.sh PATH/TO/libnn}
case $NN in /*) ;; *) NN=$(pwd)/$NN ;; esac
S=/usr/lib/python3/dist-packages/sklearn/datasets/data
[ -f "$S/wine_data.csv" ] && [ -f "$S/diabetes_target.csv.gz" ] ||
    { echo "skip - python3-sklearn's data is not installed"; exit 77; }
LC_ALL=C OPENBLAS_NUM_THREADS=1
export LC_ALL OPENBLAS_NUM_THREADS
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }
has() { grep -qF -- "$2" "$3" && ok "$1" || { bad "$1: no '$2' in"; sed 's/^/    /' "$3"; }; }

"$NN" train --csv $S/wine_data.csv --layers 32:relu,3:softmax --scale standard \
    --epochs 60 --batch 16 --test-fraction 0.3 --seed 1 -q -o wine.nnm >out 2>&1 ||
    bad "wine: train failed"
# the figure after the word $2 on the line holding $1, in file $3
num() { sed -n "/$1/s/.*$2 \([0-9.]*\).*/\1/p" "$3" | head -n 1; }
above() { awk -v v="$2" -v lo="$3" 'BEGIN { exit !(v != "" && v + 0 >= lo + 0) }' &&
    ok "$1: $2 >= $3" || bad "$1: '$2', expected >= $3"; }
has "wine: 53 rows held out" "test (53 rows held out)" out
acc=$(num "rows held out" accuracy out)
above "wine: held-out accuracy (README: 0.9623)" "$acc" 0.92
"$NN" eval wine.nnm --csv $S/wine_data.csv --test-fraction 0.3 --seed 1 >out 2>&1 ||
    bad "wine: eval failed"
has "wine: eval, the same rows and accuracy" "accuracy: $acc (" out
has "wine: class names from the header" "class_1" out

zcat $S/diabetes_data_raw.csv.gz >x.txt
zcat $S/diabetes_target.csv.gz >y.txt
paste -d' ' x.txt y.txt >diabetes.txt
"$NN" train --csv diabetes.txt --delimiter space --target 10 --layers 32:relu:drop=0.1,1:identity \
    --scale standard --weight-decay 1e-3 --lr 0.002 --batch 32 --epochs 300 \
    --val-fraction 0.2 --patience 30 --test-fraction 0.2 --seed 1 -q -o diabetes.nnm >out 2>&1 ||
    bad "diabetes: train failed"
has "diabetes: 88 rows held out" "test (88 rows held out)" out
above "diabetes: held-out R^2 (README: 0.346)" "$(num "rows held out" 'R^2' out)" 0.25
has "diabetes: early stop" "(stopped early)" out
"$NN" predict diabetes.nnm --csv diabetes.txt --delimiter space --id --with-truth >out 2>&1 ||
    bad "diabetes: predict failed"
[ "$(head -n 1 out)" = "id,y,true_y" ] && ok "diabetes: predict's header" || bad "predict: $(head -n 1 out)"
awk -F, 'NR > 1 { d = $2 - $3; s += d * d; n++ } END { exit !(n == 442 && sqrt(s / n) < 70) }' out &&
    ok "diabetes: 442 predictions in the target's units (RMSE < 70)" || bad "predictions: $(sed -n 2p out)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
