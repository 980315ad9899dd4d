#!/bin/sh
# shellcheck disable=SC2015  # ok() always succeeds
# Tests of `libnn eval`, `predict` and `info` in depth: regression metrics
# against numpy's least squares, a target scaler undone in original units,
# precision / recall / F1 against an independent count, --json, the seeded
# --test-fraction rows against a reimplementation of the split, predict's
# columns, and the errors. Reference values come from python3 with numpy
# (skipped, exit 77, without them).
# usage: test-use.sh PATH/TO/libnn
set -u
NN=${1:?usage: test-use.sh PATH/TO/libnn}
case $NN in /*) ;; *) NN=$(pwd)/$NN ;; esac
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3) || { echo "no python3: skipped"; exit 77; }
"$PY" -c 'import numpy' 2>/dev/null || { echo "no numpy: skipped"; exit 77; }
FAILS_NO_STDOUT=1 # read by common.sh's fails
export FAILS_NO_STDOUT
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

# py NAME ARGS...: a check of h.py; its last line says ok or what differs
py() {
    name=$1
    shift
    if "$PY" h.py "$@" >pyout 2>&1; then ok "$name: $(tail -n 1 pyout)"
    else bad "$name"; sed 's/^/    /' pyout; fi
}

# --- the reference computations ------------------------------------------
cat >h.py <<'EOF'
import csv, json, struct, sys, zlib
import numpy as np

def rows(path):
    with open(path) as f:
        r = list(csv.reader(f))
    return r[0], np.array([[float(v) for v in x] for x in r[1:]])

def close(name, a, b, tol):
    if not (abs(a - b) <= tol * max(abs(a), abs(b), 1e-300)):
        sys.exit("%s: %.17g != %.17g (tol %g)" % (name, a, b, tol))

def gen_linear(path, m, seed):
    m, r = int(m), np.random.default_rng(int(seed))
    X = r.normal(size=(m, 3))
    y = X @ [1.5, -2.0, 0.5] + 3.0 + 0.01 * r.normal(size=m)
    np.savetxt(path, np.c_[X, y], delimiter=",", fmt="%.17g",
               header="x0,x1,x2,y", comments="")

def lstsq_r2(path, evaljson):
    _, d = rows(path)
    X, y = np.c_[d[:, :3], np.ones(len(d))], d[:, 3]
    w = np.linalg.lstsq(X, y, rcond=None)[0]
    res = y - X @ w
    r2 = 1 - res @ res / ((y - y.mean()) @ (y - y.mean()))
    e = json.load(open(evaljson))
    close("R^2 vs least squares", e["r2"], r2, 1e-6)
    print("eval R^2 %.12f, least squares %.12f" % (e["r2"], r2))

def gen_two(path, scaled, scaler, m, seed):
    # price = 1000 x0 - 300 x1 + 5000 + noise, size = 0.002 x1 + 0.001 x2
    # + noise: very different scales, between feature columns by name
    m, r = int(m), np.random.default_rng(int(seed))
    X = r.normal(size=(m, 3))
    price = X @ [1000.0, -300.0, 0.0] + 5000 + 20 * r.normal(size=m)
    size = X @ [0.0, 0.002, 0.001] + 0.0001 * r.normal(size=m)
    Y = np.c_[price, size]
    mu, sd = Y.mean(0), Y.std(0)
    hdr = "x0,price,x1,size,x2"
    for p, T in ((path, Y), (scaled, (Y - mu) / sd)):
        np.savetxt(p, np.c_[X[:, 0], T[:, 0], X[:, 1], T[:, 1], X[:, 2]],
                   delimiter=",", fmt="%.17g", header=hdr, comments="")
    with open(scaler, "w") as f:
        f.write(" ".join("%.17g" % v for v in list(mu) + list(sd)))

def u32(b, o): return struct.unpack_from("<I", b, o)[0]
def u64(b, o): return struct.unpack_from("<Q", b, o)[0]

def seal(payload):
    head = b"\x89NNM\r\n\x1a\n" + struct.pack("<IIQI", 3, 0, len(payload),
                                                zlib.crc32(payload))
    return head + struct.pack("<I", zlib.crc32(head)) + payload

def add_target_scaler(src, dst, params, kind):
    # docs/FORMAT.md: the target scaler section follows the parameters and
    # the input scaler; flags bit 2
    b = open(src, "rb").read()
    p = bytearray(b[32:])
    L, flags = u64(p, 8), u32(p, 20)
    at = 24 + 32 * L + 48
    at += 8 + 8 * u64(p, at)
    if flags & 2: at += 16 + 16 * u64(p, at + 8)
    v = [float(x) for x in open(params).read().split()]
    n = len(v) // 2
    sec = struct.pack("<IIQ", int(kind), 0, n) + struct.pack("<%dd" % (2 * n), *v)
    struct.pack_into("<I", p, 20, flags | 4)
    open(dst, "wb").write(seal(bytes(p[:at]) + sec + bytes(p[at:])))
    print("target scaler added")

def write_model(dst, spec):
    # spec: JSON [n_in, loss, [[n_out, act, W rows (n_in x n_out), b], ...]]
    n_in, loss, layers = json.loads(spec)
    p = struct.pack("<QQII", n_in, len(layers), loss, 0)
    for n_out, act, _, _ in layers:
        p += struct.pack("<QIIdd", n_out, act, 0, 0.01, 0.0)
    p += struct.pack("<IIQQ3Q", 0, 0, 0, 0, 0, 0, 0)
    params = []
    for _, _, W, b in layers:
        params += [x for row in W for x in row] + list(b)
    p += struct.pack("<Q%dd" % len(params), len(params), *params)
    open(dst, "wb").write(seal(p))
    print("model written")

def reg_metrics(pred, data, cols, evaljson, tol):
    # eval's MSE / MAE / R^2 (original units) from predict's outputs and
    # the file's targets
    cols, tol = cols.split(","), float(tol)
    ph, P = rows(pred)
    dh, D = rows(data)
    Y = D[:, [dh.index(c) for c in cols]]
    A = P[:, [ph.index(c) for c in cols]]
    e = json.load(open(evaljson))
    assert e["task"] == "regression" and e["rows"] == len(Y)
    mse = ((A - Y) ** 2).mean(0)
    mae = abs(A - Y).mean(0)
    r2 = 1 - ((A - Y) ** 2).sum(0) / ((Y - Y.mean(0)) ** 2).sum(0)
    for j, o in enumerate(e["outputs"]):
        assert o["name"] == cols[j], (o["name"], cols[j])
        close(cols[j] + " mse", o["mse"], mse[j], tol)
        close(cols[j] + " mae", o["mae"], mae[j], tol)
        close(cols[j] + " r2", o["r2"], r2[j], tol)
        close(cols[j] + " rmse", o["rmse"], np.sqrt(mse[j]), tol)
    close("mse", e["mse"], mse.mean(), tol)
    close("mae", e["mae"], mae.mean(), tol)
    close("r2", e["r2"], r2.mean(), tol)
    close("rmse", e["rmse"], np.sqrt(mse.mean()), tol)
    print("MSE %.6g MAE %.6g R^2 %.9f match to %g" % (mse.mean(), mae.mean(),
                                                     r2.mean(), tol))

def min_r2(evaljson, lo):
    e, lo = json.load(open(evaljson)), float(lo)
    worst = min(o["r2"] for o in e["outputs"])
    if not worst > lo: sys.exit("worst R^2 %g <= %g" % (worst, lo))
    print("worst R^2 %.6f > %g" % (worst, lo))

def prf(pred, data, label_col, k, evaljson, names=None):
    # per-class precision / recall / F1 / support from predict's classes
    # and the file's labels; zero division gives 0; averages over classes
    # that have rows or predictions
    label_col, k = int(label_col), int(k)
    names = names.split(",") if names else None
    _, P = rows(pred)
    _, D = rows(data)
    p, t = P[:, 0].astype(int), D[:, label_col].astype(int)
    e = json.load(open(evaljson))
    assert e["task"] == "classification" and e["rows"] == len(t)
    close("accuracy", e["accuracy"], (p == t).mean(), 1e-15)
    got = {c["class"]: c for c in e["classes"]}
    shown, sums, wsum = 0, np.zeros(3), np.zeros(3)
    for c in range(k):
        tp, sup, npred = ((p == c) & (t == c)).sum(), (t == c).sum(), (p == c).sum()
        if sup == 0 and npred == 0:
            assert c not in got, c
            continue
        pr = tp / npred if npred else 0.0
        rc = tp / sup if sup else 0.0
        f1 = 2 * pr * rc / (pr + rc) if pr + rc else 0.0
        g = got[c]
        assert g["support"] == sup and g["predicted"] == npred, (c, g)
        for key, v in (("precision", pr), ("recall", rc), ("f1", f1)):
            close("class %d %s" % (c, key), g[key], v, 1e-12)
        if names: assert g["name"] == names[c], (g["name"], names[c])
        shown += 1
        sums += (pr, rc, f1)
        wsum += np.array((pr, rc, f1)) * sup / len(t)
    for i, key in enumerate(("precision", "recall", "f1")):
        close("macro " + key, e["macro"][key], sums[i] / shown, 1e-12)
        close("weighted " + key, e["weighted"][key], wsum[i], 1e-12)
    print("%d classes: P/R/F1, macro %.4f, weighted %.4f" % (shown,
          e["macro"]["f1"], e["weighted"]["f1"]))

def confusion(pred, data, label_col, k, evaljson):
    label_col, k = int(label_col), int(k)
    _, P = rows(pred)
    _, D = rows(data)
    C = np.zeros((k, k), int)
    for t, p in zip(D[:, label_col].astype(int), P[:, 0].astype(int)):
        C[t, p] += 1
    assert json.load(open(evaljson))["confusion"] == C.tolist()
    print("confusion matrix equal")

def text_vs_json(text, evaljson):
    # every number of the text report equals the JSON's (6 digits)
    e = json.load(open(evaljson))
    t = dict(l.split(": ", 1) for l in open(text).read().splitlines()
             if ": " in l and not l.startswith(" "))
    assert int(t["rows"]) == e["rows"]
    close("loss", float(t[[k for k in t if k.startswith("loss")][0]]),
          e["loss"]["value"], 1e-5)
    if e["task"] == "regression":
        for k, j in (("MSE", "mse"), ("RMSE", "rmse"), ("MAE", "mae"),
                     ("R^2", "r2")):
            close(k, float(t[k]), e[j], 1e-5)
    else:
        close("accuracy", float(t["accuracy"].split()[0]), e["accuracy"], 1e-4)
        lines = open(text).read().splitlines()
        for c in e["classes"]:
            row = [l.split() for l in lines if l.startswith("  ")
                   and l.split()[0] == str(c["class"])][0]
            nums = [float(x) for x in row[-5:]]
            for v, key in zip(nums, ("precision", "recall", "f1", "support",
                                     "predicted")):
                close("class %d %s" % (c["class"], key), v, c[key], 1e-4)
    print("text and JSON agree")

def info_vs_text(text, infojson):
    j = json.load(open(infojson))
    t = dict(l.split(": ", 1) for l in open(text).read().splitlines()
             if ": " in l and not l.startswith(" "))
    assert int(t["inputs"]) == j["inputs"] and int(t["outputs"]) == j["outputs"]
    assert int(t["layers"]) == len(j["layers"])
    assert int(t["parameters"]) == j["parameters"]
    assert t["architecture"] == "--layers " + j["architecture"]
    assert t["loss"] == j["loss"]
    assert sum(l["parameters"] for l in j["layers"]) == j["parameters"]
    if "format version" in t:
        assert int(t["format version"]) == j["version"] and j["checksum"] == "ok"
    opt = t["optimizer"]
    assert (opt == "none") == (j["optimizer"] is None)
    if j["optimizer"]:
        assert opt.startswith(j["optimizer"]["kind"] + " ")
        assert ("%d steps" % j["optimizer"]["steps"]) in opt
    print("info text and JSON agree")

def json_path(path, key, want):
    v = json.load(open(path))
    for k in key.split("."):
        v = v[int(k)] if isinstance(v, list) else v[k]
    if str(v) != want: sys.exit("%s = %r, expected %s" % (key, v, want))
    print("%s = %s" % (key, want))

def split_rows(m, frac, seed):
    # docs/TOOL.md: SplitMix64 + selection sampling (Knuth's algorithm S)
    M = (1 << 64) - 1
    x = (seed ^ 0x7465737473706C74) & M
    need = int(np.floor(frac * m + 0.5))
    out = []
    for i in range(m):
        x = (x + 0x9E3779B97F4A7C15) & M
        z = x
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M
        z ^= z >> 31
        u = (z >> 11) * 2.0 ** -53
        if need > 0 and u * (m - i) < need:
            out.append(i + 1)
            need -= 1
    return out

def ids(pred, m, frac, seed):
    h, P = rows(pred)
    assert h[0] == "id"
    want = split_rows(int(m), float(frac), int(seed))
    got = [int(v) for v in P[:, 0]]
    if got != want: sys.exit("ids %s... != %s..." % (got[:8], want[:8]))
    print("%d rows, the split's (%s ...)" % (len(got), got[:4]))

def truth_cols(pred, data, cols, dcols):
    # predict --with-truth: the true_ columns are the file's columns
    cols, dcols = cols.split(","), dcols.split(",")
    ph, P = rows(pred)
    dh, D = rows(data)
    for c, d in zip(cols, dcols):
        a, b = P[:, ph.index(c)], D[:, dh.index(d)]
        if not np.array_equal(a, b): sys.exit("%s differs from %s" % (c, d))
    print("truth columns equal the file's")

globals()[sys.argv[1]](*sys.argv[2:])
EOF

# --- 1. regression: a linear data set, R^2 against least squares ----------
"$PY" h.py gen_linear lin.csv 200 1 >/dev/null || { echo "python failed"; exit 1; }
# a single identity layer under MSE is linear least squares; full-batch SGD
# converges to its optimum
run 0 "train linear (--target y)" "$NN" train --csv lin.csv --target y \
    --layers 1:identity --optim sgd --lr 0.3 --batch 200 --epochs 500 -q -o lin.nnm
run 0 "eval regression" "$NN" eval lin.nnm --csv lin.csv
cp out lin.txt
grep -q '^R^2: ' lin.txt && grep -q '^RMSE: ' lin.txt && grep -q '^MAE: ' lin.txt && ! grep -q accuracy lin.txt \
    && ok "regression report: MSE, RMSE, MAE, R^2, no accuracy" || { bad "regression report"; cat lin.txt; }
grep -q '^per output' lin.txt && bad "a single output has no per-output table" || ok "single output: no per-output table"
run 0 "eval --json (regression)" "$NN" eval lin.nnm --csv lin.csv --json
cp out lin.json
py "R^2 equals least squares' (1e-6)" lstsq_r2 lin.csv lin.json
py "regression text = JSON" text_vs_json lin.txt lin.json
run 0 "eval by default columns (no --target)" "$NN" eval lin.nnm --csv lin.csv --json
cmp -s out lin.json && ok "a regression model's targets default to its last column" || bad "default target columns differ"
run 0 "predict (regression)" "$NN" predict lin.nnm --csv lin.csv --digits 17 -o lin.p
[ "$(head -n 1 lin.p)" = "y" ] && ok "single output named from the header: y" || bad "header: $(head -n 1 lin.p)"
py "eval = metrics of predict's output" reg_metrics lin.p lin.csv y lin.json 1e-9
tail -n +2 lin.csv | cut -d, -f1-3 >linx.csv
run 0 "predict, features only, no header" "$NN" predict lin.nnm --csv linx.csv -o linx.p
[ "$(head -n 1 linx.p)" = "y" ] && ok "no header: single output y" || bad "header: $(head -n 1 linx.p)"
fails 2 "--labels-only on a regression model" "--labels-only" "regression model" -- \
    "$NN" predict lin.nnm --csv lin.csv --labels-only
fails 2 "--classes on a regression model (eval)" "--classes" "regression" -- \
    "$NN" eval lin.nnm --csv lin.csv --classes /dev/null

# --- 2. two outputs and a target scaler: original units ------------------
"$PY" h.py gen_two two.csv two_s.csv two.sc 300 2 >/dev/null || { echo "python failed"; exit 1; }
# trained on standardised targets (as train --scale-targets would), then
# the scaler attached in the model file (docs/FORMAT.md): eval and predict
# must undo it
run 0 "train two outputs on scaled targets" "$NN" train --csv two_s.csv --target price,size \
    --scale-targets none --layers 2:identity --optim sgd --lr 0.3 --batch 300 --epochs 300 -q -o two0.nnm
py "target scaler attached" add_target_scaler two0.nnm two.nnm two.sc 0
run 0 "info: target scaling" "$NN" info two.nnm
grep -q '^target scaling: standardised, per column (2 columns)$' out && ok "info shows the target scaler" \
    || { bad "info target scaling"; cat out; }
cp out two.info
run 0 "info --json" "$NN" info two.nnm --json
cp out two.ij
py "info --json target_scaling.kind" json_path two.ij target_scaling.kind standard
py "info --json input_scaling" json_path two.ij input_scaling None
py "info text = JSON" info_vs_text two.info two.ij
run 0 "eval --target price,size --json" "$NN" eval two.nnm --csv two.csv --target price,size --json
cp out two.json
py "loss is on the scaled targets" json_path two.json loss.scaled_targets True
run 0 "predict --target price,size" "$NN" predict two.nnm --csv two.csv --target price,size --digits 17 -o two.p
[ "$(head -n 1 two.p)" = "price,size" ] && ok "regression columns named from the header" || bad "header: $(head -n 1 two.p)"
py "eval (target scaler) = metrics of predict's output (1e-9)" reg_metrics two.p two.csv price,size two.json 1e-9
py "predictions in original units (R^2 > 0.99)" min_r2 two.json 0.99
run 0 "eval text (two outputs)" "$NN" eval two.nnm --csv two.csv --target price,size
cp out two.txt
grep -q '^per output:' two.txt && grep -q '^  price ' two.txt && grep -q '^  size ' two.txt \
    && ok "per-output table with the header's names" || { bad "per-output table"; cat two.txt; }
grep -q 'original units' two.txt && ok "text says the target scaler is undone" || bad "no word on units"
py "two-output text = JSON" text_vs_json two.txt two.json
run 0 "predict --id --with-truth" "$NN" predict two.nnm --csv two.csv --target 1,3 --id --with-truth --digits 17 -o two.t
[ "$(head -n 1 two.t)" = "id,price,size,true_price,true_size" ] && ok "--id --with-truth header" \
    || bad "header: $(head -n 1 two.t)"
[ "$(sed -n '2p;$p' two.t | cut -d, -f1 | tr '\n' ' ')" = "1 300 " ] && ok "--id: 1 to 300" || bad "ids: $(sed -n '2p;$p' two.t | cut -d, -f1)"
py "--with-truth: the file's targets" truth_cols two.t two.csv true_price,true_size price,size
tail -n +2 two.csv >two_nh.csv
run 0 "predict without a header" "$NN" predict two.nnm --csv two_nh.csv --target 1,3 -o two_nh.p
[ "$(head -n 1 two_nh.p)" = "y0,y1" ] && ok "no header: y0,y1" || bad "header: $(head -n 1 two_nh.p)"
cut -d, -f1,3,5 two_nh.csv >two_x.csv
run 0 "predict, features only" "$NN" predict two.nnm --csv two_x.csv -o two_x.p
[ "$(wc -l <two_x.p | tr -d ' ')" -eq 301 ] && [ "$(head -n 1 two_x.p)" = "y0,y1" ] \
    && ok "features only: 300 rows, y0,y1" || bad "features only: $(head -n 1 two_x.p)"
if "$NN" train --help | grep -q -- '--scale-targets'; then
    run 0 "train --scale-targets standard" "$NN" train --csv two.csv --target price,size \
        --scale-targets standard --layers 2:identity --optim sgd --lr 0.3 --batch 300 --epochs 300 -q -o two_t.nnm
    run 0 "eval, trained target scaler" "$NN" eval two_t.nnm --csv two.csv --target price,size --json
    cp out two_t.json
    run 0 "predict, trained target scaler" "$NN" predict two_t.nnm --csv two.csv --target price,size --digits 17 -o two_t.p
    py "train --scale-targets: eval = predict's metrics" reg_metrics two_t.p two.csv price,size two_t.json 1e-9
else
    echo "# train has no --scale-targets yet: the trained-scaler checks are skipped"
fi

# --- 3. classification: precision, recall, F1 ----------------------------
awk 'BEGIN { print "a,b,label"; s = 12345
    for (i = 0; i < 300; i++) { c = i % 3
        s = (s * 1103515245 + 12345) % 2147483648; u = s / 2147483648
        s = (s * 1103515245 + 12345) % 2147483648; v = s / 2147483648
        printf "%.4f,%.4f,%d\n", c + 1.6 * u, (c == 2) + v, c } }' >c.csv
run 0 "train 3 classes" "$NN" train --csv c.csv --layers 3:softmax --epochs 30 --lr 0.05 -q -o c.nnm
run 0 "eval --json (classification)" "$NN" eval c.nnm --csv c.csv --json
cp out c.json
run 0 "eval text (classification)" "$NN" eval c.nnm --csv c.csv
cp out c.txt
grep -q '^macro average (3 classes): ' c.txt && grep -q '^weighted average' c.txt && grep -q '^confusion matrix (' c.txt \
    && ok "per-class table, averages and confusion matrix" || { bad "classification report"; cat c.txt; }
run 0 "predict (classification)" "$NN" predict c.nnm --csv c.csv --digits 17 -o c.p
[ "$(head -n 1 c.p)" = "predicted,p0,p1,p2" ] && ok "classifier header unchanged" || bad "header: $(head -n 1 c.p)"
py "P/R/F1 = counts of predict's classes" prf c.p c.csv 2 3 c.json
py "confusion matrix = counts of predict's classes" confusion c.p c.csv 2 3 c.json
py "classification text = JSON" text_vs_json c.txt c.json
# a hand-made model that never predicts class 2 (its logit is always the
# lowest): precision 0 by the zero-division rule, and still averaged
py "a model that never predicts class 2" write_model never.nnm \
    '[2, 2, [[3, 5, [[1.0, -1.0, 0.0], [0.0, 1.0, 0.0]], [0.0, 0.0, -100.0]]]]'
run 0 "eval, class 2 never predicted" "$NN" eval never.nnm --csv c.csv --json
cp out never.json
run 0 "predict, class 2 never predicted" "$NN" predict never.nnm --csv c.csv -o never.p
py "zero division: P/R/F1 still equal the counts" prf never.p c.csv 2 3 never.json
py "class 2 precision 0" json_path never.json classes.2.precision 0.0
py "class 2 support 100" json_path never.json classes.2.support 100
# class names: --classes FILE, or scikit-learn's header
printf 'red\ngreen\nblue\n' >names.txt
run 0 "eval --classes" "$NN" eval c.nnm --csv c.csv --classes names.txt --json
cp out cn.json
py "--classes names in JSON" prf c.p c.csv 2 3 cn.json red,green,blue
printf 'red\r\ngreen\r\nblue' >names_crlf.txt
run 0 "eval --classes (CR LF, no final newline)" "$NN" eval c.nnm --csv c.csv --classes names_crlf.txt --json
cmp -s out cn.json && ok "CR LF class names read alike" || bad "CR LF class names differ"
run 0 "eval --classes (text)" "$NN" eval c.nnm --csv c.csv --classes names.txt
grep -q '^      2 blue ' out && ok "text table shows the names" || { bad "names in text"; cat out; }
run 0 "predict --classes" "$NN" predict c.nnm --csv c.csv --classes names.txt -o cn.p
[ "$(head -n 1 cn.p)" = "predicted,predicted_name,p0,p1,p2" ] && ok "predicted_name column" || bad "header: $(head -n 1 cn.p)"
awk -F, 'NR > 1 { n = split("red green blue", w, " "); if ($2 != w[$1 + 1]) bad++ } END { exit bad > 0 }' cn.p \
    && ok "predicted_name is the predicted class's name" || bad "predicted_name wrong"
{ echo "300,2,red,green,blue"; tail -n +2 c.csv; } >sk.csv
run 0 "eval on a scikit-learn header" "$NN" eval c.nnm --csv sk.csv --json
py "scikit-learn header names the classes" json_path out classes.0.name red
run 0 "predict on a scikit-learn header" "$NN" predict c.nnm --csv sk.csv -o sk.p
[ "$(head -n 1 sk.p)" = "predicted,predicted_name,p0,p1,p2" ] && ok "header class names in predict" || bad "header: $(head -n 1 sk.p)"
run 0 "predict --labels-only" "$NN" predict c.nnm --csv c.csv --labels-only -o lo.p
tail -n +2 c.p | cut -d, -f1 >lo.want
cmp -s lo.p lo.want && ok "--labels-only: just the predicted classes, no header" || bad "--labels-only output"
run 0 "predict --with-truth (labels)" "$NN" predict c.nnm --csv c.csv --with-truth -o ct.p
[ "$(head -n 1 ct.p)" = "predicted,p0,p1,p2,true" ] && ok "--with-truth: true column" || bad "header: $(head -n 1 ct.p)"
[ "$(tail -n +2 ct.p | cut -d, -f5)" = "$(tail -n +2 c.csv | cut -d, -f3)" ] && ok "--with-truth: the labels" || bad "true column"
# a single sigmoid output: two classes
awk -F, 'NR == 1 { print; next } { print $1 "," $2 "," ($3 == 2) }' c.csv >b.csv
run 0 "train sigmoid" "$NN" train --csv b.csv --layers 1:sigmoid --epochs 30 --lr 0.1 -q -o b.nnm
run 0 "eval sigmoid --json" "$NN" eval b.nnm --csv b.csv --json
cp out b.json
run 0 "predict sigmoid" "$NN" predict b.nnm --csv b.csv -o b.p
[ "$(head -n 1 b.p)" = "predicted,p1" ] && ok "sigmoid header predicted,p1" || bad "header: $(head -n 1 b.p)"
py "sigmoid P/R/F1" prf b.p b.csv 2 2 b.json

# --- 4. --test-fraction: the rows train holds out -------------------------
run 0 "eval --test-fraction 0.25 --seed 7" "$NN" eval c.nnm --csv c.csv --test-fraction 0.25 --seed 7 --json
cp out s7.json
py "round(0.25 * 300) rows" json_path s7.json rows 75
"$NN" eval c.nnm --csv c.csv --test-fraction 0.25 --seed 7 --json >s7b.json 2>err
cmp -s s7.json s7b.json && ok "the same seed, the same result" || bad "seeded eval not deterministic"
run 0 "predict --test-fraction --id" "$NN" predict c.nnm --csv c.csv --test-fraction 0.25 --seed 7 --id --digits 17 -o s7.p
py "--id: the file's rows of the split (SplitMix64 + algorithm S)" ids s7.p 300 0.25 7
run 0 "predict --test-fraction, seed 8" "$NN" predict c.nnm --csv c.csv --test-fraction 0.25 --seed 8 --id -o s8.p
py "another seed, another split" ids s8.p 300 0.25 8
cut -d, -f1 s7.p >s7.ids
cut -d, -f1 s8.p >s8.ids
cmp -s s7.ids s8.ids && bad "seeds 7 and 8 chose the same rows" || ok "seeds 7 and 8 choose different rows"
awk -F, 'NR == FNR { if (FNR > 1) keep[$1] = 1; next }
    FNR == 1 { print; next } (FNR - 1) in keep' s7.ids c.csv >s7.csv
"$NN" predict c.nnm --csv s7.csv --digits 17 -o s7all.p 2>err
cut -d, -f2- s7.p >s7nid.p
cmp -s s7nid.p s7all.p && ok "the split's predictions = those of its rows alone" || bad "split predictions differ"
py "split eval = P/R/F1 of its rows" prf s7all.p s7.csv 2 3 s7.json
run 0 "eval --test-fraction, seed 0 (default)" "$NN" eval c.nnm --csv c.csv --test-fraction 0.25 --json
cmp -s out s7.json && bad "seed 0 gave seed 7's result" || ok "the default seed is another split"
run 0 "regression eval --test-fraction" "$NN" eval two.nnm --csv two.csv --target price,size --test-fraction 0.1 --seed 3 --json
py "regression split: 30 rows" json_path out rows 30

# --- 5. errors: one line, non-zero exit, -o untouched ----------------------
echo "keep me" >keep.p
cp keep.p keep.ref
untouched() { cmp -s keep.p keep.ref && ok "$1: -o file untouched" || bad "$1: -o file changed"; }
fails 1 "--target names no column" "two.csv" "--target 'weight'" "no column" -- \
    "$NN" eval two.nnm --csv two.csv --target price,weight
fails 1 "--target names no column (predict)" "weight" -- \
    "$NN" predict two.nnm --csv two.csv --target weight,size -o keep.p
untouched "--target names no column"
sed '5s/^\([^,]*\),[^,]*,/\1,abc,/' two.csv >nonnum.csv
fails 1 "a non-numeric target" "nonnum.csv" "5" -- \
    "$NN" eval two.nnm --csv nonnum.csv --target price,size
fails 1 "a non-numeric target (predict)" "nonnum.csv" -- \
    "$NN" predict two.nnm --csv nonnum.csv --target price,size -o keep.p
untouched "a non-numeric target"
printf 'red\ngreen\n' >two_names.txt
fails 1 "--classes with 2 names for 3 classes" "two_names.txt" "2 class names" "3 classes" -- \
    "$NN" eval c.nnm --csv c.csv --classes two_names.txt
printf 'a\nb\nc\nd\n' >four.txt
fails 1 "--classes with 4 names (predict)" "4 class names" -- \
    "$NN" predict c.nnm --csv c.csv --classes four.txt -o keep.p
untouched "--classes with a wrong count"
printf 'red\n\nblue\n' >empty_name.txt
fails 1 "--classes with an empty line" "empty_name.txt:2" "empty class name" -- \
    "$NN" eval c.nnm --csv c.csv --classes empty_name.txt
awk -F, 'NR == 1 { print; next } { print $1 * 255 "," $2 * 255 "," $3 }' c.csv >c255.csv
run 0 "train with --scale 255" "$NN" train --csv c255.csv --scale 255 --layers 3:softmax --epochs 2 -q -o c255.nnm
fails 2 "--scale standard vs saved 255" "--scale standard" "conflicts" "c255.nnm" -- \
    "$NN" eval c255.nnm --csv c255.csv --scale standard
fails 2 "--scale standard vs saved 255 (predict)" "conflicts" -- \
    "$NN" predict c255.nnm --csv c255.csv --scale standard -o keep.p
untouched "--scale conflict"
fails 2 "--seed without --test-fraction" "--seed" "--test-fraction" -- \
    "$NN" eval c.nnm --csv c.csv --seed 7
fails 2 "--labels-only with --id" "--labels-only" "--id" -- \
    "$NN" predict c.nnm --csv c.csv --labels-only --id -o keep.p
untouched "--labels-only with --id"
fails 2 "--labels-only on a regression model (predict -o)" "regression" -- \
    "$NN" predict two.nnm --csv two.csv --target price,size --labels-only -o keep.p
untouched "--labels-only refused"
fails 1 "--with-truth without truth" "two_x.csv" "--target" -- \
    "$NN" predict two.nnm --csv two_x.csv --with-truth -o keep.p
untouched "--with-truth without truth"
fails 1 "--json error: nothing on stdout" "c.csv" -- "$NN" eval two.nnm --csv c.csv --json
fails 1 "info --json on a non-model" "c.csv" -- "$NN" info c.csv --json
fails 2 "--test-fraction 1 of 300" "--test-fraction" -- "$NN" eval c.nnm --csv c.csv --test-fraction 1

echo "passed: $pass, failed: $fail"
[ "$fail" -eq 0 ]
