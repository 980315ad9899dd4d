#!/usr/bin/python3
"""torchbench.py — PyTorch (float64, one thread, no_grad) side by side with
libnn on the surrogate inference workloads of issue 15, in one process:
8-64-64-4 (tanh, linear output) and 32-128-128-8 (sigmoid, linear output)
at batch 1, 64 and 4096, row-major.

libnn runs through ctypes (nn_net_predict with a caller's context; at
batch 1 the ~1 us of a ctypes call is part of libnn's time, so that row
flatters PyTorch). PyTorch gets libnn's weights, and its outputs are
checked against libnn's first (max |diff| / max |ref| <= 1e-12, else FAIL).
The two are timed alternately, 7 runs each, medians; ratio = median of the
paired ratios torch / libnn (> 1: libnn faster).

usage: bench/torchbench.py BUILD_DIR/libnn.so   (exit 77 without torch)
"""

import ctypes
import sys
import time

try:
    import numpy as np
    import torch
except ImportError:
    print('torchbench: python3-torch (and numpy) not installed: skipped')
    sys.exit(77)

ACT = {'identity': 0, 'sigmoid': 1, 'tanh': 2}
ARCHS = [('8-64-64-4 tanh', [8, 64, 64, 4], 'tanh'),
         ('32-128-128-8 sigmoid', [32, 128, 128, 8], 'sigmoid')]
BATCHES = [1, 64, 4096]
P = ctypes.c_void_p
S = ctypes.c_size_t


def load(path):
    lib = ctypes.CDLL(path)
    lib.nn_strerror.restype = ctypes.c_char_p
    lib.nn_version_string.restype = ctypes.c_char_p
    lib.nn_blas_core.restype = ctypes.c_char_p
    lib.nn_netspec_create.argtypes = [ctypes.POINTER(P), S, ctypes.c_int, P]
    lib.nn_netspec_add_dense.argtypes = [P, S, ctypes.c_int]
    lib.nn_netspec_destroy.argtypes = [P]
    lib.nn_net_create.argtypes = [ctypes.POINTER(P), P, P]
    lib.nn_net_init.argtypes = [P, ctypes.c_int, ctypes.c_uint64]
    lib.nn_net_get_params.argtypes = [P, S, ctypes.c_int, P, S, P]
    lib.nn_ctx_create.argtypes = [ctypes.POINTER(P), P, S, P]
    lib.nn_net_predict.argtypes = [P, P, S, ctypes.c_int, P, S, P, S]
    lib.nn_set_num_threads.argtypes = [S]
    return lib


def check(lib, st, what):
    if st != 0:
        sys.exit('torchbench: %s: %s' % (what, lib.nn_strerror(st).decode()))


def make_net(lib, n, act):
    spec, net = P(), P()
    check(lib, lib.nn_netspec_create(ctypes.byref(spec), n[0], 0, None),
          'nn_netspec_create')
    for l in range(3):
        check(lib, lib.nn_netspec_add_dense(
            spec, n[l + 1], ACT[act] if l < 2 else 0), 'add_dense')
    check(lib, lib.nn_net_create(ctypes.byref(net), spec, None), 'create')
    lib.nn_netspec_destroy(spec)
    check(lib, lib.nn_net_init(net, 0, 42), 'nn_net_init')
    layers = []
    for l in range(3):
        W = np.zeros((n[l], n[l + 1]))
        b = np.zeros(n[l + 1])
        check(lib, lib.nn_net_get_params(net, l, 0, W.ctypes.data, n[l + 1],
                                         b.ctypes.data), 'get_params')
        lin = torch.nn.Linear(n[l], n[l + 1]).double()
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W.T.copy()))
            lin.bias.copy_(torch.from_numpy(b))
        layers.append(lin)
        if l < 2:
            layers.append(torch.nn.Tanh() if act == 'tanh' else torch.nn.Sigmoid())
    return net, torch.nn.Sequential(*layers).eval()


def timed(fn, t_min):
    n, t0 = 0, time.perf_counter()
    while True:
        fn()
        n += 1
        t = time.perf_counter() - t0
        if t >= t_min:
            return t / n


def row(lib, name, n, act, m):
    net, model = make_net(lib, n, act)
    ctx = P()
    check(lib, lib.nn_ctx_create(ctypes.byref(ctx), net, m, None), 'ctx')
    rng = np.random.default_rng(1)
    X = rng.uniform(-2.0, 2.0, (m, n[0]))
    Y = np.zeros((m, n[3]))
    Xt = torch.from_numpy(X)
    xp, yp = X.ctypes.data, Y.ctypes.data

    def run_libnn():
        lib.nn_net_predict(net, ctx, m, 0, xp, n[0], yp, n[3])

    def run_torch():
        with torch.no_grad():
            return model(Xt)

    run_libnn()
    ref = run_torch().numpy()
    err = np.max(np.abs(Y - ref)) / max(np.max(np.abs(ref)), 1e-300)
    if not err <= 1e-12:
        print('%-22s %5d FAIL: torch and libnn differ (%.2e)' % (name, m, err))
        return False
    t_min = 0.05
    timed(run_torch, 0.2)
    timed(run_libnn, 0.2)
    tt, tn, q = [], [], []
    for _ in range(7):
        tt.append(timed(run_torch, t_min))
        tn.append(timed(run_libnn, t_min))
        q.append(tt[-1] / tn[-1])
    med = lambda v: sorted(v)[len(v) // 2]
    print('%-22s %5d %15.1f %15.1f %11.2f %9.1e ok' %
          (name, m, med(tt) / m * 1e9, med(tn) / m * 1e9, med(q), err))
    sys.stdout.flush()
    return True


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: torchbench.py PATH/libnn.so')
    lib = load(sys.argv[1])
    lib.nn_set_num_threads(1)
    torch.set_num_threads(1)
    print('# torchbench: PyTorch %s float64 (1 thread, no_grad) vs libnn %s '
          '(core %s) through ctypes, medians of 7 alternating runs' %
          (torch.__version__, lib.nn_version_string().decode(),
           lib.nn_blas_core().decode()))
    print('%-22s %5s %15s %15s %11s %9s' % ('workload', 'batch',
          'torch ns/samp', 'libnn ns/samp', 'torch/libnn', 'check'))
    ok = True
    for name, n, act in ARCHS:
        for m in BATCHES:
            ok = row(lib, name, n, act, m) and ok
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
