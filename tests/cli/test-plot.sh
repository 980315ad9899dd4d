#!/bin/sh
# shellcheck disable=SC2015  # ok() always succeeds
# `libnn plot`: the history of a real run that stops early is drawn with
# its best epoch and the early stop marked, as `libnn train --plot` draws
# it; --lr adds the learning rate; the 6-column history of earlier
# versions is read; a malformed history is refused with one message and
# leaves an existing output as it was.
# usage: test-plot.sh PATH/TO/libnn   (exit 77 without gnuplot)
set -u
NN=${1:?usage: test-plot.sh PATH/TO/libnn}
case $NN in /*) ;; *) NN=$(pwd)/$NN ;; esac
gnuplot --version >/dev/null 2>&1 || { echo "skip - gnuplot not installed"; exit 77; }
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

# An SVG with its picture: non-empty, an <svg> element.
is_svg() { [ -s "$1" ] && grep -q '<svg' "$1"; }

# --- a run that stops early: noisy classes, patience 2 of 200 epochs -------
awk 'BEGIN { srand(3); for (i = 0; i < 400; i++) { c = i % 2; s = c ? 1 : -1;
    printf "%.3f,%.3f,%d\n", s * 0.3 + rand() - 0.5, rand() - 0.5, c } }' >d.csv
T="--csv d.csv --layers 16:relu,2:softmax --batch 8 --lr 0.05 --seed 2 -q"
# shellcheck disable=SC2086  # $T is a list of words
run 0 "train --patience 2" "$NN" train $T --epochs 200 --val-fraction 0.2 --patience 2 \
    -o m.nnm --history h.csv --plot train.svg
[ "$(head -n 1 h.csv)" = "epoch,train_loss,val_loss,val_accuracy,lr,seconds,epochs,best" ] &&
    ok "history header" || bad "history header: $(head -n 1 h.csv)"
last=$(tail -n 1 h.csv | cut -d, -f1)
best=$(awk -F, '$8 == 1 { print $1 }' h.csv)
[ "$last" -lt 200 ] && ok "the run stopped early (epoch $last of 200)" || bad "no early stop: $last epochs"
grep -q '(stopped early)' out && ok "summary says stopped early" || bad "summary: $(cat out)"
[ "$(awk -F, 'NR > 1 && $7 != 200' h.csv | wc -l | tr -d ' ')" -eq 0 ] &&
    ok "epochs column: 200 on every line" || bad "epochs column"
[ "$(awk -F, 'NR > 1 && $8 == 1' h.csv | wc -l | tr -d ' ')" -eq 1 ] && [ "$best" -eq $((last - 2)) ] &&
    ok "best column: epoch $best, patience 2 before the stop" || bad "best column: '$best', last $last"
grep -q "best val loss: epoch $best)" out && ok "best column = the trainer's best epoch" ||
    bad "summary best differs from $best: $(cat out)"
low=$(awk -F, 'NR > 1 && (!n || $3 < low) { low = $3; e = $1; n = 1 } END { print e }' h.csv)
[ "$low" = "$best" ] && ok "best = first lowest val loss" || bad "lowest val loss at $low, best $best"

# --- the picture -------------------------------------------------------------
run 0 "plot" "$NN" plot h.csv -o p.svg
is_svg p.svg && ok "plot: an SVG" || bad "plot: no SVG"
grep -q ">best: epoch $best<" p.svg && ok "plot: best epoch $best labelled" || bad "plot: no best label"
grep -q ">stopped early (epoch $last of 200)<" p.svg && ok "plot: early stop labelled" ||
    bad "plot: no early-stop label"
grep -q '>validation accuracy<' p.svg && ok "plot: validation accuracy" || bad "plot: no accuracy"
grep -q '>learning rate<' p.svg && bad "plot: a learning rate without --lr" || ok "plot: no learning rate without --lr"
[ ! -s out ] && [ ! -s err ] && ok "plot: silent" || bad "plot: printed $(cat out err)"
run 0 "plot --lr" "$NN" plot h.csv --lr -o lr.svg
grep -q '>learning rate<' lr.svg && ok "--lr: learning-rate curve" || bad "--lr: no learning rate"
grep -q '>best: epoch' lr.svg && ok "--lr: best still marked" || bad "--lr: best lost"
run 0 "plot --title" "$NN" plot h.csv --title "run 'a' & <b>" -o ti.svg
grep -q "run 'a' &amp; &lt;b" ti.svg && ok "--title shown as given" || bad "--title: $(grep -c 'run' ti.svg)"
run 0 "plot --title libnn train" "$NN" plot h.csv --title 'libnn train' -o same.svg
cmp -s same.svg train.svg && ok "train --plot draws the same picture" || bad "train --plot differs from plot"
run 0 "plot PNG" "$NN" plot h.csv -o p.png
[ "$(head -c 4 p.png | od -An -tx1 | tr -d ' ')" = 89504e47 ] && ok "plot: a PNG" || bad "plot: no PNG"
run 0 "plot - -o -" sh -c "cat h.csv | '$NN' plot - -o -"
grep -q '>stopped early' out && ok "stdin to stdout" || bad "stdin to stdout: no picture"

# --- a full run: best marked, no early stop; without validation: neither ----
# shellcheck disable=SC2086
run 0 "train 4 epochs" "$NN" train $T --epochs 4 --val-fraction 0.2 -o f.nnm --history f.csv
[ "$(awk -F, 'NR > 1 && $8 == 1' f.csv | wc -l | tr -d ' ')" -eq 1 ] && ok "full run: one best line" ||
    bad "full run: best column"
run 0 "plot a full run" "$NN" plot f.csv -o f.svg
grep -q '>best: epoch' f.svg && ok "full run: best marked" || bad "full run: no best"
grep -q 'stopped early' f.svg && bad "full run: marked stopped early" || ok "full run: no early stop"
# shellcheck disable=SC2086
run 0 "train without validation" "$NN" train $T --epochs 3 -o n.nnm --history n.csv
[ "$(awk -F, 'NR > 1 && ($3 != "nan" || $8 != 0)' n.csv | wc -l | tr -d ' ')" -eq 0 ] &&
    ok "no validation: nan and best 0" || bad "no validation: $(cat n.csv)"
run 0 "plot without validation" "$NN" plot n.csv -o n.svg
is_svg n.svg && ! grep -q '>best\|validation' n.svg && ok "no validation: training loss only" ||
    bad "no validation: picture"

# --- the 6-column history of earlier versions ------------------------------
cut -d, -f1-6 h.csv >old.csv
run 0 "plot a 6-column history" "$NN" plot old.csv -o old.svg
grep -q ">best: epoch $best<" old.svg && ok "6 columns: best = first lowest val loss" ||
    bad "6 columns: best not at $best"
grep -q 'stopped early' old.svg && bad "6 columns: early stop claimed" || ok "6 columns: early stop not known"
# two equal lowest losses: the first is the best, as the trainer's rule
printf 'epoch,train_loss,val_loss,val_accuracy,lr,seconds\n1,1,0.5,nan,0.1,1\n2,1,nan,nan,0.1,1\n3,1,0.4,nan,0.1,1\n4,1,0.4,nan,0.1,1\n' >tie.csv
run 0 "plot ties" "$NN" plot tie.csv -o tie.svg
grep -q '>best: epoch 3<' tie.svg && ok "6 columns: first of equal losses, NaN skipped" || bad "ties: wrong best"

# --- malformed histories: one message, the output untouched ----------------
H="epoch,train_loss,val_loss,val_accuracy,lr,seconds,epochs,best"
printf '%s\n1,0.5,0.4,0.9,0.1,1,5,0\n2,0.4,x1,0.9,0.1,1,5,1\n' "$H" >badnum.csv
printf 'epoch,loss\n1,0.5\n' >badhead.csv
: >empty.csv
printf '%s\n' "$H" >headonly.csv
printf '%s\n1,0.5,0.4,0.9,0.1,1,5\n' "$H" >short.csv
printf '%s\n1,0.5,0.4,0.9,0.1,1,5,0\n1,0.4,0.3,0.9,0.1,1,5,0\n' "$H" >again.csv
printf '%s\n1,0.5,0.4,0.9,0.1,1,5,1\n2,0.4,0.3,0.9,0.1,1,5,1\n' "$H" >twobest.csv
printf '%s\n1,0.5,0.4,0.9,0.1,1,5,0\n2,0.4,0.3,0.9,0.1,1,6,0\n' "$H" >epochs.csv
printf '%s\n1,0.5, 0.4,0.9,0.1,1,5,0\n' "$H" >blank.csv
for c in "badnum badnum.csv:3: column val_loss: bad number 'x1'" \
         "badhead badhead.csv:1: not the header" \
         "empty empty.csv: empty file" \
         "headonly headonly.csv: no epochs" \
         "short short.csv:2: expected 8 columns" \
         "again again.csv:3: epochs must increase" \
         "twobest twobest.csv:3: column best" \
         "epochs epochs.csv:3: column epochs" \
         "blank blank.csv:2: column val_loss: bad number"; do
    f=${c%% *} msg=${c#* }
    echo keep >keep.svg
    fails 1 "malformed: $f" "$msg" -- "$NN" plot "$f.csv" -o keep.svg
    [ "$(cat keep.svg)" = keep ] || bad "malformed: $f: output changed"
done
ls ./*.tmp.* >/dev/null 2>&1 && bad "a temporary file was left" || ok "no temporary left"

# --- usage and environment ---------------------------------------------------
run 0 "plot --help" "$NN" plot --help
grep -q '^usage: libnn plot HISTORY.csv' out && ok "--help: usage" || bad "--help: $(head -n 1 out)"
run 0 "libnn --help" "$NN" --help
grep -q '^  plot ' out && ok "main help lists plot" || bad "main help lacks plot"
fails 2 "missing -o" "missing --output" -- "$NN" plot h.csv
fails 2 "missing HISTORY" "missing HISTORY" -- "$NN" plot -o x.svg
fails 2 "bad extension" ".svg or .png" -- "$NN" plot h.csv -o x.pdf
cp h.csv same.svg
fails 2 "output names the input" "same file" -- "$NN" plot same.svg -o same.svg
cmp -s same.svg h.csv && ok "the input was not overwritten" || bad "the input changed"
fails 1 "missing input" "nosuch.csv" -- "$NN" plot nosuch.csv -o ns.svg
echo keep >keep.svg
fails 1 "gnuplot missing" "gnuplot" "not installed" -- env PATH=/nonexistent "$NN" plot h.csv -o keep.svg
[ "$(cat keep.svg)" = keep ] && [ ! -e g.svg ] && ok "gnuplot missing: nothing written" || bad "gnuplot missing: output changed"
fails 1 "gnuplot missing, new file" "gnuplot" -- env PATH=/nonexistent "$NN" plot h.csv -o g.svg
[ ! -e g.svg ] && ok "gnuplot missing: no new file" || bad "gnuplot missing: wrote g.svg"

echo "# $pass passed, $fail failed"
[ "$fail" -eq 0 ]
