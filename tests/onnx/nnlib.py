"""A small ctypes binding of the libnn calls the ONNX harnesses need.

Only what backend.py and torch_roundtrip.py use: the ONNX import/export in
memory, building a network from a spec, its flat parameters and prediction.
Every call returns an nn_status; a failure raises NNError carrying the code,
nn_strerror's text and, for the loaders, the nn_error_info message.
"""

import ctypes
import os

import numpy as np

# nn_status codes (nn.h, "Status codes": fixed values, part of the ABI)
NN_OK = 0
NN_ERR_NOMEM = 1
NN_ERR_INVALID = 2
NN_ERR_SHAPE = 3
NN_ERR_FORMAT = 6
NN_ERR_UNSUPPORTED = 8
STATUS_NAMES = {0: 'NN_OK', 1: 'NN_ERR_NOMEM', 2: 'NN_ERR_INVALID',
                3: 'NN_ERR_SHAPE', 4: 'NN_ERR_NUMERIC', 5: 'NN_ERR_IO',
                6: 'NN_ERR_FORMAT', 7: 'NN_ERR_TOO_LARGE',
                8: 'NN_ERR_UNSUPPORTED', 9: 'NN_ERR_STATE'}

NN_ROW_MAJOR = 0
ACT = {'identity': 0, 'sigmoid': 1, 'tanh': 2, 'relu': 3, 'leaky_relu': 4,
       'softmax': 5}
LOSS = {'mse': 0, 'bce': 1, 'softmax_ce': 2}
NN_NET_LOSS = 100
NN_NET_WIDE = ctypes.c_size_t(-1).value
NN_LAYER_ACTIVATION = 202
NN_LAYER_ACT_PARAM = 203
NN_INIT_GLOROT_NORMAL = 4
NN_ONNX_LOGITS = 1


class ErrorInfo(ctypes.Structure):
    """nn_error_info (frozen struct)."""
    _fields_ = [('file', ctypes.c_char * 256), ('line', ctypes.c_size_t),
                ('column', ctypes.c_size_t), ('offset', ctypes.c_size_t),
                ('message', ctypes.c_char * 256)]


class NNError(Exception):
    """A libnn call failed: .status, .name, .message (the library's own)."""

    def __init__(self, lib, call, status, message=''):
        self.status = status
        self.name = STATUS_NAMES.get(status, str(status))
        self.message = message
        text = lib.nn_strerror(status).decode()
        super().__init__(f'{call}: {self.name} ({text})'
                         + (f': {message}' if message else ''))


def _declare(lib):
    P = ctypes.c_void_p
    sz = ctypes.c_size_t
    st = ctypes.c_int32
    sigs = {
        'nn_strerror': (ctypes.c_char_p, [st]),
        'nn_onnx_load_mem': (st, [ctypes.POINTER(P), ctypes.c_char_p, sz, P,
                                  ctypes.POINTER(ErrorInfo)]),
        'nn_onnx_save_mem': (st, [P, ctypes.c_int32, P, sz,
                                  ctypes.POINTER(sz)]),
        'nn_netspec_create': (st, [ctypes.POINTER(P), sz, ctypes.c_int32, P]),
        'nn_netspec_add_dense': (st, [P, sz, ctypes.c_int32]),
        'nn_netspec_set_real': (st, [P, sz, ctypes.c_int32, ctypes.c_double]),
        'nn_netspec_destroy': (None, [P]),
        'nn_net_create': (st, [ctypes.POINTER(P), P, P]),
        'nn_net_init': (st, [P, ctypes.c_int32, ctypes.c_uint64]),
        'nn_net_destroy': (None, [P]),
        'nn_net_n_in': (sz, [P]),
        'nn_net_n_out': (sz, [P]),
        'nn_net_n_layers': (sz, [P]),
        'nn_net_layer_n_out': (sz, [P, sz]),
        'nn_net_n_params': (sz, [P]),
        'nn_net_params': (ctypes.POINTER(ctypes.c_double), [P]),
        'nn_net_get_int': (st, [P, ctypes.c_int32,
                                ctypes.POINTER(ctypes.c_int64)]),
        'nn_net_get_layer_int': (st, [P, sz, ctypes.c_int32,
                                      ctypes.POINTER(ctypes.c_int64)]),
        'nn_net_get_layer_real': (st, [P, sz, ctypes.c_int32,
                                       ctypes.POINTER(ctypes.c_double)]),
        'nn_net_predict': (st, [P, P, sz, ctypes.c_int32, P, sz, P, sz]),
    }
    for name, (res, args) in sigs.items():
        f = getattr(lib, name)
        f.restype = res
        f.argtypes = args


class Lib:
    """libnn.so loaded from `path` (the build's, never an installed one)."""

    def __init__(self, path):
        self.path = os.path.abspath(path)
        self.c = ctypes.CDLL(self.path)
        _declare(self.c)

    def _check(self, call, status, message=''):
        if status != NN_OK:
            raise NNError(self.c, call, status, message)

    def onnx_load(self, data):
        """A Net from ONNX bytes; NNError with the library's message."""
        out = ctypes.c_void_p()
        err = ErrorInfo()
        st = self.c.nn_onnx_load_mem(ctypes.byref(out), data, len(data),
                                     None, ctypes.byref(err))
        self._check('nn_onnx_load_mem', st, err.message.decode(
            errors='replace'))
        return Net(self, out)

    def net(self, n_in, layers, loss='mse'):
        """A Net from a spec: layers is [(n_out, act_name, slope or None)]."""
        spec = ctypes.c_void_p()
        self._check('nn_netspec_create', self.c.nn_netspec_create(
            ctypes.byref(spec), n_in, LOSS[loss], None))
        try:
            for i, (n_out, act, slope) in enumerate(layers):
                self._check('nn_netspec_add_dense',
                            self.c.nn_netspec_add_dense(spec, n_out,
                                                        ACT[act]))
                if slope is not None:
                    self._check('nn_netspec_set_real',
                                self.c.nn_netspec_set_real(
                                    spec, i, NN_LAYER_ACT_PARAM, slope))
            out = ctypes.c_void_p()
            self._check('nn_net_create', self.c.nn_net_create(
                ctypes.byref(out), spec, None))
        finally:
            self.c.nn_netspec_destroy(spec)
        return Net(self, out)


class Net:
    """An owned nn_net_t (destroyed with the object or by close())."""

    def __init__(self, lib, handle):
        self.lib = lib
        self.h = handle

    def close(self):
        if self.h:
            self.lib.c.nn_net_destroy(self.h)
            self.h = None

    def __del__(self):
        self.close()

    @property
    def n_in(self):
        return self.lib.c.nn_net_n_in(self.h)

    @property
    def n_out(self):
        return self.lib.c.nn_net_n_out(self.h)

    @property
    def n_layers(self):
        return self.lib.c.nn_net_n_layers(self.h)

    @property
    def loss(self):
        v = ctypes.c_int64()
        self.lib._check('nn_net_get_int', self.lib.c.nn_net_get_int(
            self.h, NN_NET_LOSS, ctypes.byref(v)))
        return {b: a for a, b in LOSS.items()}[v.value]

    def layer(self, i):
        """(n_out, activation name, slope) of layer i."""
        a = ctypes.c_int64()
        s = ctypes.c_double()
        c = self.lib.c
        self.lib._check('nn_net_get_layer_int', c.nn_net_get_layer_int(
            self.h, i, NN_LAYER_ACTIVATION, ctypes.byref(a)))
        self.lib._check('nn_net_get_layer_real', c.nn_net_get_layer_real(
            self.h, i, NN_LAYER_ACT_PARAM, ctypes.byref(s)))
        act = {b: n for n, b in ACT.items()}[a.value]
        return (c.nn_net_layer_n_out(self.h, i), act, s.value)

    def params(self):
        """A writable numpy view of the flat parameter array."""
        n = self.lib.c.nn_net_n_params(self.h)
        p = self.lib.c.nn_net_params(self.h)
        return np.ctypeslib.as_array(p, shape=(n,))

    def init(self, seed):
        self.lib._check('nn_net_init', self.lib.c.nn_net_init(
            self.h, NN_INIT_GLOROT_NORMAL, seed))

    def predict(self, x):
        """Y = net(X) for a 2-D batch (converted to C-contiguous float64)."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_in:
            raise ValueError(f'batch shape {x.shape}, net takes {self.n_in}')
        y = np.empty((x.shape[0], self.n_out))
        self.lib._check('nn_net_predict', self.lib.c.nn_net_predict(
            self.h, None, x.shape[0], NN_ROW_MAJOR, x.ctypes.data,
            self.n_in, y.ctypes.data, self.n_out))
        return y

    def onnx_save_into(self, cap, flags=0):
        """(status, size reported) of a save into a cap-byte buffer."""
        size = ctypes.c_size_t(0)
        buf = ctypes.create_string_buffer(max(cap, 1))
        st = self.lib.c.nn_onnx_save_mem(self.h, flags, buf, cap,
                                         ctypes.byref(size))
        return st, size.value

    def onnx_save(self, flags=0):
        """The ONNX bytes nn_onnx_save_mem writes (size query first)."""
        c = self.lib.c
        size = ctypes.c_size_t()
        self.lib._check('nn_onnx_save_mem (size)', c.nn_onnx_save_mem(
            self.h, flags, None, 0, ctypes.byref(size)))
        buf = ctypes.create_string_buffer(size.value)
        got = ctypes.c_size_t()
        self.lib._check('nn_onnx_save_mem', c.nn_onnx_save_mem(
            self.h, flags, buf, size.value, ctypes.byref(got)))
        if got.value != size.value:
            raise AssertionError(f'size query {size.value}, wrote {got.value}')
        return buf.raw[:got.value]


def open_checked(argv, usage):
    """The Lib named by argv[1], or an exit code: 2 (usage), 77 (built
    without ONNX: skip), 1 (--require-onnx given, as meson does when it
    configured the feature, yet the library answers NN_ERR_UNSUPPORTED)."""
    args = [a for a in argv[1:] if a != '--require-onnx']
    if not args:
        print(usage)
        return None, 2, []
    lib = Lib(args[0])
    if onnx_available(lib):
        return lib, 0, args[1:]
    if '--require-onnx' in argv:
        print('FAIL: the build has the onnx feature, yet nn_onnx_save_mem '
              'returns NN_ERR_UNSUPPORTED')
        return None, 1, []
    print('SKIP: libnn built without the onnx feature')
    return None, 77, []


def onnx_available(lib):
    """False when the build was configured without ONNX: the save of a tiny
    network then returns NN_ERR_UNSUPPORTED (nn.h, "ONNX")."""
    net = lib.net(1, [(1, 'identity', None)])
    try:
        net.onnx_save()
    except NNError as e:
        if e.status == NN_ERR_UNSUPPORTED:
            return False
        raise
    finally:
        net.close()
    return True
