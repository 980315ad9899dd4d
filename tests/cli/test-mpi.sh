#!/bin/sh
# shellcheck disable=SC2012,SC2015,SC2016,SC2086  # ls lists our own names; ok() always succeeds; sh -c scripts are literal; $TRAIN and $A split into words
# Data-parallel `libnn train` under mpirun: 2 and 3 ranks against a
# single-process run with the same seed (parameters read from the model
# files as docs/FORMAT.md lays them out, compared to 1e-12), only rank 0
# printing and writing, and failures on all ranks or on one rank only
# ending every rank with one message and no hang.
# usage: test-mpi.sh PATH/TO/nn   (exit 77, skipped, without mpirun)
set -u
NN=${1:?usage: test-mpi.sh PATH/TO/nn}
case $NN in /*) ;; *) NN=$(pwd)/$NN ;; esac
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found: skipped"; exit 77; }
LC_ALL=C
export LC_ALL
# the reference runs must not look launched, whatever started this script
unset OMPI_COMM_WORLD_SIZE OMPI_COMM_WORLD_RANK PMIX_RANK PMI_RANK PMI_SIZE NN_MPI
# OpenMPI refuses root unless told (CI containers run as root)
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
cd "$dir" || exit 1
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   - $1"; }
bad() { fail=$((fail + 1)); echo "FAIL - $1"; }

# more ranks than cores: OpenMPI must be told (MPICH's mpirun lacks the flag)
OVER=
mpirun --version 2>/dev/null | grep -q 'Open MPI' && OVER=--oversubscribe
# mpi NP CMD...: mpirun under a 60 s timeout; stdout -> out, stderr -> err
mpi() {
    np=$1
    shift
    timeout 60 mpirun $OVER -np "$np" "$@" </dev/null >out 2>err
}
# a rank's index inside the wrappers below (OpenMPI, PMI, PMIx)
RANK='${OMPI_COMM_WORLD_RANK:-${PMI_RANK:-$PMIX_RANK}}'


# --- data: 300 rows, 4 features, 3 classes (blobs around 3 centres) --------
awk 'BEGIN { for (i = 0; i < 300; i++) { c = i % 3;
    printf "%.4f,%.4f,%.4f,%.4f,%d\n", c - 1 + ((i * 37) % 101) / 150 - 0.33,
        (c == 1) + ((i * 53) % 97) / 140 - 0.35, ((i * 17) % 89) / 89 - 0.5,
        (c == 2) - ((i * 29) % 83) / 120 + 0.3, c } }' >d.csv
[ "$(wc -l <d.csv | tr -d ' ')" -eq 300 ] || { echo "could not write d.csv"; exit 1; }

# batches of 32 split unevenly over 3 ranks, a last short batch, dropout
# (its masks must not depend on the split), a held-out validation part
TRAIN="--csv d.csv --layers 16:relu:drop=0.2,8:tanh,3:softmax --optim adam
    --lr 0.01 --epochs 6 --batch 32 --val-fraction 0.2 --seed 11"

# params FILE: the parameter array, one value a line. Layout (FORMAT.md):
# n_layers u64 at 40, n_params u64 at 104 + 32 L, params f64[P] at 112 + 32 L
params() {
    L=$(od -A n -t u8 -j 40 -N 8 "$1" | tr -d ' ')
    P=$(od -A n -t u8 -j $((104 + 32 * L)) -N 8 "$1" | tr -d ' ')
    od -A n -v -t f8 -j $((112 + 32 * L)) -N $((8 * P)) "$1" |
        awk '{ for (i = 1; i <= NF; i++) print $i }'
}

# maxdiff A B: the largest |a - b| / max(1, |a|) over paired lines (2 if the
# counts differ)
maxdiff() {
    paste -d ' ' "$1" "$2" | awk 'BEGIN { m = 0 }
        NF != 2 { m = 2; exit }
        { d = $1 - $2; if (d < 0) d = -d; s = $1 < 0 ? -$1 : $1
          if (s < 1) s = 1; if (d / s > m) m = d / s }
        END { printf "%.3g\n", m }'
}

# one run, single process: the reference
"$NN" train $TRAIN -o ref.nnm --history ref.csv >out 2>err ||
    { echo "reference training failed:"; cat err; exit 1; }
params ref.nnm >ref.p
[ "$(wc -l <ref.p | tr -d ' ')" -eq 243 ] && ok "reference: 243 parameters read" \
    || { bad "reference parameters: $(wc -l <ref.p) values"; exit 1; }
"$NN" predict ref.nnm --csv d.csv -o ref.pred >/dev/null 2>&1 || bad "reference predict"
"$NN" eval ref.nnm --csv d.csv >ref.eval 2>&1 || bad "reference eval"

# check NP MODEL: the model of an NP-rank run loads and equals the reference
check() {
    np=$1 m=$2
    "$NN" info "$m" >info.out 2>&1 && grep -q '^parameters: 243$' info.out &&
        ok "np $np: libnn info loads the model" || { bad "np $np: libnn info"; cat info.out; }
    "$NN" eval "$m" --csv d.csv >eval.out 2>&1 && ok "np $np: libnn eval runs" ||
        bad "np $np: libnn eval"
    grep '^accuracy' eval.out >a1; grep '^accuracy' ref.eval >a2
    cmp -s a1 a2 && ok "np $np: accuracy as single-process ($(cat a1))" ||
        bad "np $np: accuracy $(cat a1), single-process $(cat a2)"
    params "$m" >np.p
    d=$(maxdiff ref.p np.p)
    awk -v d="$d" 'BEGIN { exit !(d <= 1e-12) }' &&
        ok "np $np: parameters equal single-process to $d (<= 1e-12)" ||
        bad "np $np: parameters differ from single-process by $d"
    "$NN" predict "$m" --csv d.csv -o np.pred >/dev/null 2>&1 || bad "np $np: predict"
    tail -n +2 ref.pred | tr ',' '\n' >r.v
    tail -n +2 np.pred | tr ',' '\n' >n.v
    d=$(maxdiff r.v n.v)
    awk -v d="$d" 'BEGIN { exit !(d <= 1e-8) }' &&
        ok "np $np: predictions (printed %.9g) equal single-process to $d" ||
        bad "np $np: predictions differ by $d"
}

# --- 2 ranks, started directly ----------------------------------------------
mkdir r2 && cp d.csv r2/ && cd r2 || exit 1
mpi 2 "$NN" train $TRAIN -o m.nnm --history h.csv
rc=$?
[ "$rc" -eq 0 ] && ok "np 2: exit 0" || { bad "np 2: exit $rc"; sed 's/^/    /' err; }
[ "$(ls | sort | tr '\n' ' ')" = "d.csv err h.csv m.nnm out " ] &&
    ok "np 2: one model and one history, no temporaries" || bad "np 2: files $(ls)"
[ "$(grep -c '^saved m.nnm: ' out)" -eq 1 ] && ok "np 2: one summary line" ||
    { bad "np 2: summary lines"; cat out; }
grep -q 'trained on 2 MPI ranks$' out && ok "np 2: summary says 2 ranks" ||
    bad "np 2: summary: $(cat out)"
[ "$(grep -c '^epoch 6/6 ' err)" -eq 1 ] && ok "np 2: progress from one rank" ||
    { bad "np 2: progress lines"; cat err; }
[ "$(wc -l <h.csv | tr -d ' ')" -eq 7 ] && ok "np 2: history has 6 epochs" ||
    bad "np 2: history $(wc -l <h.csv) lines"
tail -n +2 h.csv | cut -d, -f1-4 | tr ',' '\n' >h.v
tail -n +2 ../ref.csv | cut -d, -f1-4 | tr ',' '\n' >r.v
d=$(maxdiff r.v h.v)
awk -v d="$d" 'BEGIN { exit !(d <= 1e-8) }' &&
    ok "np 2: history losses equal single-process to $d (printed %.9g)" ||
    bad "np 2: history losses differ by $d"
cd .. && check 2 r2/m.nnm

# --- 3 ranks, each in its own directory: only rank 0 writes ----------------
mkdir r3 r3/0 r3/1 r3/2 || exit 1
TRAIN3=$(echo "$TRAIN" | sed 's|d.csv|../../d.csv|')
mpi 3 sh -c "cd r3/$RANK"' && exec "$0" "$@"' "$NN" train \
    $TRAIN3 -o m.nnm
rc=$?
[ "$rc" -eq 0 ] && ok "np 3: exit 0" || { bad "np 3: exit $rc"; sed 's/^/    /' err; }
[ -s r3/0/m.nnm ] && [ "$(find r3/1 r3/2 -type f | wc -l | tr -d ' ')" -eq 0 ] &&
    ok "np 3: rank 0 alone wrote the model" || bad "np 3: files $(ls -R r3)"
grep -q 'trained on 3 MPI ranks$' out && ok "np 3: summary says 3 ranks" ||
    bad "np 3: summary: $(cat out)"
check 3 r3/0/m.nnm

# --- 1 rank under mpirun: the same path, one shard --------------------------
mpi 1 "$NN" train $TRAIN -o m1.nnm && check 1 m1.nnm || bad "np 1: exit $?"

# --- failures: every rank exits with the same non-zero status, stderr
# holds exactly one "libnn: " line, nothing hangs -----------------------------
# rank.sh CMD...: CMD with each word @D@ replaced by this rank's data file
# ($ODD_FILE on rank $ODD_RANK, or on every rank for ODD_RANK=all; d.csv
# elsewhere); its exit status goes to rc.RANK, and the script exits 0, so
# that mpirun does not spend a second aborting the job
cat >rank.sh <<EOF_RANK
#!/bin/sh
r=$RANK
EOF_RANK
cat >>rank.sh <<'EOF_RANK'
f=d.csv
if [ "$ODD_RANK" = all ] || [ "$ODD_RANK" = "$r" ]; then f=$ODD_FILE; fi
n=$#
while [ "$n" -gt 0 ]; do
    a=$1
    shift
    [ "$a" = @D@ ] && a=$f
    set -- "$@" "$a"
    n=$((n - 1))
done
"$@"
echo $? >"rc.$r"
EOF_RANK
chmod +x rank.sh
# fails NAME WORD ODD_RANK ODD_FILE NP [ARGS]: `libnn train --csv @D@ ARGS`
# on NP ranks; every rank's status is the same, non-zero, and the one
# "libnn: " line on stderr holds WORD
fails() {
    name=$1 word=$2
    rm -f rc.*
    ODD_RANK=$3 ODD_FILE=$4
    export ODD_RANK ODD_FILE
    np=$5
    shift 5
    mpi "$np" ./rank.sh "$NN" train --csv @D@ "$@"
    rc=$?
    [ "$rc" -ne 124 ] || { bad "$name: hung (timeout)"; return; }
    codes=$(cat rc.* 2>/dev/null | sort -u | tr '\n' ' ')
    [ "$(ls rc.* 2>/dev/null | wc -l | tr -d ' ')" -eq "$np" ] ||
        { bad "$name: $(ls rc.* 2>/dev/null | wc -l) of $np ranks ended"; sed 's/^/    /' err; return; }
    case $codes in
    "0 "* | *" "*" "*) bad "$name: rank statuses $codes"; sed 's/^/    /' err; return ;;
    esac
    n=$(grep -c '^libnn: ' err)
    [ "$n" -eq 1 ] || { bad "$name: $n 'libnn: ' lines"; sed 's/^/    /' err; return; }
    grep '^libnn: ' err | grep -qF -- "$word" &&
        ok "$name: every rank exit $codes'$(grep '^libnn: ' err)'" ||
        { bad "$name: message lacks '$word'"; grep '^libnn: ' err; }
}
A="--layers 8:tanh,3:softmax --epochs 2 --seed 1 -o f.nnm"
# unreadable: no read permission, or (root reads anything) corrupt gzip
if [ "$(id -u)" -ne 0 ]; then cp d.csv u.csv && chmod 000 u.csv
else printf '\037\213\010\000\000\000\000\000\000\003garbage' >u.csv; fi
mkdir dir.csv
head -n 299 d.csv >e.csv
{
fails "missing file, all ranks" "nope.csv" all nope.csv 2 $A
fails "unreadable file, all ranks" "u.csv" all u.csv 3 $A
fails "not a regular file, all ranks" "regular file" all dir.csv 2 $A
fails "stdin, all ranks" "regular file" all - 2 $A
# one rank only: the others must not wait in the training's collectives
fails "missing file on rank 1 only" "libnn: rank 1 of 2: nope.csv" 1 nope.csv 2 $A
fails "unreadable file on rank 2 only" "libnn: rank 2 of 3: u.csv" 2 u.csv 3 $A
fails "missing file on rank 0 only" "libnn: nope.csv" 0 nope.csv 3 $A
# ranks reading different data: refused by nn_mpi_train on every rank
fails "different data on rank 1" "same data" 1 e.csv 2 $A
# only rank 0 checks the outputs
fails "output directory missing" "no/such" none - 2 $A -o no/such/f.nnm
fails "usage error" "--lr" none - 2 $A --lr -1
}
[ -e f.nnm ] && bad "a failed run wrote f.nnm" || ok "no failed run wrote a model"
# mpirun itself reports a rank's failure
mpi 2 "$NN" train --csv nope.csv $A
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$(grep -c '^libnn: ' err)" -eq 1 ] &&
    ok "mpirun exits $rc when the ranks fail" || { bad "mpirun exit $rc"; cat err; }

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
