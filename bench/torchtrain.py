#!/usr/bin/python3
"""torchtrain.py — real training, PyTorch float64 against libnn (issue 15,
item 4: >= 2x PyTorch f64 at batch 64), side by side in one process.

Workloads: 784-64-10 and 784-256-128-10 (relu, softmax cross-entropy) on
the first 16,384 Fashion-MNIST training images (/255), one epoch per run,
reshuffled, plain SGD (lr 0.01) and Adam (lr 1e-3), batch 64 and 1024, at
one thread (torch.set_num_threads(1); libnn one BLAS thread) and at two
(torch.set_num_threads(2); libnn NN_TRAIN_THREADS 2, its batch-parallel
workers). PyTorch's epoch is the usual loop: a randperm, then per batch an
index gather, zero_grad, forward, cross_entropy, backward, step. libnn's
is one nn_train call (through ctypes: one call per epoch, so ctypes costs
nothing measurable).

Check first: from the same weights and the same 64 rows, one SGD step of
each must give the same parameters (max |diff| / max |ref| <= 1e-12, else
the row is FAIL and not timed). Timing: the two alternate, 5 runs each
after one warm-up; each run is a 0.3 s pause (the other side's idle BLAS
and OpenMP threads spin for a while after their last product), a 0.15 s
busy loop (a run right after a sleep starts slow), one untimed epoch and
one timed epoch (the first epoch after a PyTorch epoch ran libnn at a
third of its speed: whatever PyTorch leaves behind, the timed epoch is
each side's steady state); medians; ratio = median of the paired ratios
torch time / libnn time (> 1: libnn faster).

usage: bench/torchtrain.py BUILD_DIR/libnn.so [DATA_DIR]  (exit 77 without
torch or without the data)
"""

import ctypes
import gzip
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import torchbench as tb  # noqa: E402  (exits 77 without torch)
import numpy as np  # noqa: E402
import torch  # noqa: E402

P, S, I64 = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int64
ROWS = 16384
RELU, SOFTMAX, SOFTMAX_CE = 3, 5, 2
SGD, ADAM = 0, 3
OPTIM_LR = 301
TRAIN_EPOCHS, TRAIN_BATCH, TRAIN_SEED, TRAIN_THREADS = 400, 401, 403, 414


def declare(lib):
    lib.nn_data_create.argtypes = [ctypes.POINTER(P), S, S, ctypes.c_int, P,
                                   S, P]
    lib.nn_data_set_labels.argtypes = [P, P]
    lib.nn_net_set_params.argtypes = [P, S, ctypes.c_int, P, S, P]
    lib.nn_optim_create.argtypes = [ctypes.POINTER(P), P, ctypes.c_int, P]
    lib.nn_optim_set_real.argtypes = [P, ctypes.c_int32, ctypes.c_double]
    lib.nn_trainer_create.argtypes = [ctypes.POINTER(P), P]
    lib.nn_trainer_set_int.argtypes = [P, ctypes.c_int32, I64]
    lib.nn_train.argtypes = [P, P, P, P, P]
    lib.nn_net_train_step_labels.argtypes = [P, P, S, ctypes.c_int, P, S, P,
                                             P]
    for f in ('nn_net_destroy', 'nn_optim_destroy', 'nn_trainer_destroy',
              'nn_data_destroy'):
        getattr(lib, f).argtypes = [P]


def idx(path, offset):
    with gzip.open(path, 'rb') as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load_data(d):
    X = idx(os.path.join(d, 'train-images-idx3-ubyte.gz'), 16)
    y = idx(os.path.join(d, 'train-labels-idx1-ubyte.gz'), 8)
    X = (X.reshape(-1, 784)[:ROWS] / 255.0).astype(np.float64)
    return np.ascontiguousarray(X), y[:ROWS].astype(np.int32)


def make_pair(lib, widths):
    """A libnn net and a torch model with the same (torch-drawn) weights."""
    layers = []
    for l in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[l], widths[l + 1]).double())
        if l < len(widths) - 2:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    spec, net = P(), P()
    tb.check(lib, lib.nn_netspec_create(ctypes.byref(spec), 784, SOFTMAX_CE,
                                        None), 'netspec')
    for l in range(1, len(widths)):
        act = SOFTMAX if l == len(widths) - 1 else RELU
        tb.check(lib, lib.nn_netspec_add_dense(spec, widths[l], act), 'dense')
    tb.check(lib, lib.nn_net_create(ctypes.byref(net), spec, None), 'net')
    lib.nn_netspec_destroy(spec)
    for l, lin in enumerate(m for m in model if isinstance(m, torch.nn.Linear)):
        W = np.ascontiguousarray(lin.weight.detach().numpy().T)
        b = np.ascontiguousarray(lin.bias.detach().numpy())
        tb.check(lib, lib.nn_net_set_params(net, l, 0, W.ctypes.data,
                                            W.shape[1], b.ctypes.data), 'set')
    return net, model


def libnn_params(lib, net, widths):
    out = []
    for l in range(len(widths) - 1):
        W = np.zeros((widths[l], widths[l + 1]))
        b = np.zeros(widths[l + 1])
        tb.check(lib, lib.nn_net_get_params(net, l, 0, W.ctypes.data,
                                            widths[l + 1], b.ctypes.data),
                 'get')
        out += [W, b]
    return out


def check_step(lib, widths, X, y):
    """One SGD step of 64 rows from the same weights: the same parameters."""
    net, model = make_pair(lib, widths)
    opt = P()
    tb.check(lib, lib.nn_optim_create(ctypes.byref(opt), net, SGD, None), 'o')
    tb.check(lib, lib.nn_optim_set_real(opt, OPTIM_LR, 0.5), 'lr')
    xb, yb = np.ascontiguousarray(X[:64]), np.ascontiguousarray(y[:64])
    tb.check(lib, lib.nn_net_train_step_labels(net, opt, 64, 0, xb.ctypes.data,
                                               784, yb.ctypes.data, None),
             'step')
    topt = torch.optim.SGD(model.parameters(), lr=0.5)
    loss = torch.nn.functional.cross_entropy(model(torch.from_numpy(xb)),
                                             torch.from_numpy(yb).long())
    loss.backward()
    topt.step()
    ref = []
    for lin in (m for m in model if isinstance(m, torch.nn.Linear)):
        ref += [lin.weight.detach().numpy().T, lin.bias.detach().numpy()]
    got = libnn_params(lib, net, widths)
    err = max(np.max(np.abs(a - r)) for a, r in zip(got, ref))
    mag = max(np.max(np.abs(r)) for r in ref)
    lib.nn_optim_destroy(opt)
    lib.nn_net_destroy(net)
    return err / mag


class Side:
    def __init__(self, lib, widths, kind, batch, threads, data):
        self.lib, self.batch = lib, batch
        self.net, self.model = make_pair(lib, widths)
        lr = 0.01 if kind == SGD else 1e-3
        self.opt, self.tr = P(), P()
        tb.check(lib, lib.nn_optim_create(ctypes.byref(self.opt), self.net,
                                          kind, None), 'optim')
        tb.check(lib, lib.nn_optim_set_real(self.opt, OPTIM_LR, lr), 'lr')
        tb.check(lib, lib.nn_trainer_create(ctypes.byref(self.tr), None), 't')
        for key, v in ((TRAIN_EPOCHS, 1), (TRAIN_BATCH, batch),
                       (TRAIN_SEED, 7), (TRAIN_THREADS, threads)):
            tb.check(lib, lib.nn_trainer_set_int(self.tr, key, v), 'trainer')
        self.data = data
        self.topt = (torch.optim.SGD(self.model.parameters(), lr=lr)
                     if kind == SGD else
                     torch.optim.Adam(self.model.parameters(), lr=lr))

    def libnn_epoch(self):
        tb.check(self.lib, self.lib.nn_train(self.tr, self.net, self.opt,
                                             self.data[0], None), 'nn_train')

    def torch_epoch(self):
        X, y = self.data[1], self.data[2]
        perm = torch.randperm(X.shape[0])
        for i in range(0, X.shape[0], self.batch):
            idx = perm[i:i + self.batch]
            self.topt.zero_grad()
            loss = torch.nn.functional.cross_entropy(self.model(X[idx]),
                                                     y[idx])
            loss.backward()
            self.topt.step()

    def free(self):
        self.lib.nn_trainer_destroy(self.tr)
        self.lib.nn_optim_destroy(self.opt)
        self.lib.nn_net_destroy(self.net)


def settle():
    """Let the other side's idle BLAS and OpenMP threads stop spinning
    (0.3 s asleep), then wake the core up again (0.15 s busy): a run right
    after a sleep starts slow, which would penalise the shorter side."""
    time.sleep(0.3)
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 0.15:
        pass


def row(lib, data, widths, kind, batch, threads):
    torch.set_num_threads(threads)
    lib.nn_set_num_threads(1)
    s = Side(lib, widths, kind, batch, 0 if threads == 1 else threads, data)
    s.torch_epoch()
    s.libnn_epoch()
    tt, tn, q = [], [], []
    for r in range(5):
        for side in ((0, 1) if r % 2 == 0 else (1, 0)):
            epoch = s.torch_epoch if side == 0 else s.libnn_epoch
            settle()
            epoch()  # untimed: the first epoch after the other side's
            t0 = time.perf_counter()
            epoch()
            (tt if side == 0 else tn).append(time.perf_counter() - t0)
        q.append(tt[-1] / tn[-1])
    s.free()
    med = lambda v: sorted(v)[len(v) // 2]
    name = '-'.join(map(str, widths))
    print('%-16s %-4s %5d %3d %12.0f %12.0f %8.2f' %
          (name, 'sgd' if kind == SGD else 'adam', batch, threads,
           ROWS / med(tt), ROWS / med(tn), med(q)))
    sys.stdout.flush()


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit('usage: torchtrain.py PATH/libnn.so [DATA_DIR]')
    d = sys.argv[2] if len(sys.argv) == 3 else '/usr/share/datasets/fashion-mnist'
    if not os.path.exists(os.path.join(d, 'train-images-idx3-ubyte.gz')):
        print('torchtrain: no Fashion-MNIST in %s: skipped' % d)
        sys.exit(77)
    lib = tb.load(sys.argv[1])
    declare(lib)
    X, y = load_data(d)
    data = P()
    tb.check(lib, lib.nn_data_create(ctypes.byref(data), ROWS, 784, 0,
                                     X.ctypes.data, 784, None), 'data')
    tb.check(lib, lib.nn_data_set_labels(data, y.ctypes.data), 'labels')
    tdata = (data, torch.from_numpy(X), torch.from_numpy(y).long())
    print('# torchtrain: PyTorch %s float64 vs libnn %s (core %s), real '
          'training, %d Fashion-MNIST rows, one epoch per run, 5 paired '
          'runs, medians' % (torch.__version__,
                              lib.nn_version_string().decode(),
                              lib.nn_blas_core().decode(), ROWS))
    print('%-16s %-4s %5s %3s %12s %12s %8s' % ('network', 'opt', 'batch',
          'thr', 'torch smp/s', 'libnn smp/s', 'x torch'))
    ok = True
    for widths in ([784, 64, 10], [784, 256, 128, 10]):
        e = check_step(lib, widths, X, y)
        if not e <= 1e-12:
            print('%s FAIL: one SGD step differs from PyTorch by %.2e' %
                  ('-'.join(map(str, widths)), e))
            ok = False
            continue
        print('# %s: one SGD step equals PyTorch\'s to %.1e' %
              ('-'.join(map(str, widths)), e))
        for kind in (SGD, ADAM):
            for batch in ((64,) if len(widths) == 3 else (64, 1024)):
                for threads in (1, 2):
                    row(lib, tdata, widths, kind, batch, threads)
    lib.nn_data_destroy(data)
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
