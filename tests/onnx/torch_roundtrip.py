#!/usr/bin/env python3
"""PyTorch -> ONNX -> libnn, and libnn -> ONNX -> (checker, an evaluator,
libnn again).

Import: MLPs built in PyTorch (float32 and float64; ReLU, LeakyReLU,
Sigmoid, Tanh, Softmax(dim=-1), Identity; nn.Linear, which exports as Gemm,
and a module computing x @ W + b, which exports as MatMul + Add; a leading
nn.Flatten; fixed and dynamic batch) exported with torch.onnx.export at
opsets 11, 13 and 17 into memory, imported with nn_onnx_load_mem, and
compared with PyTorch's outputs:
- float64 models: libnn's predictions within 1e-12 of PyTorch's (relative
  to the largest output);
- float32 models: libnn computes in double from the float32 weights
  converted exactly, so it is compared with PyTorch's float64 evaluation of
  the same float32 weights (within 1e-12) and with PyTorch's float32
  outputs within float32 rounding (1e-5 relative).
LeakyReLU(0.1): an ONNX LeakyRelu's alpha is a float32 attribute (0.1f),
which libnn reads as the shortest decimal that rounds to it (0.1), the
slope PyTorch's module holds and uses in float64; 0.125 is exact in both.

Export: networks built through the C API (each activation, random weights
and biases) and the imported ones, saved with nn_onnx_save_mem (flags 0 and
NN_ONNX_LOGITS); each file must pass onnx.checker.check_model, shape
inference must give the output [batch, n_out], the graph run by onnxeval.py
(Debian has no ONNX runtime; the evaluator is checked against PyTorch on
PyTorch's exports first) must give libnn's predictions within 1e-12, and
the file imported again must give parameters and predictions bitwise equal.

Usage: torch_roundtrip.py LIBNN_SO [--require-onnx].
Exit 0 pass, 1 fail, 77 skip (no numpy/onnx/torch, or no ONNX build).
"""

import copy
import io
import os
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import numpy as np
    import onnx
    import onnx.checker
    import onnx.shape_inference
    import torch
    from torch import nn
except ImportError as e:
    print(f'SKIP: {e}')
    sys.exit(77)

import nnlib  # noqa: E402
import onnxeval  # noqa: E402

OPSETS = [11, 13, 17]
TOL64 = 1e-12     # libnn vs PyTorch in float64 (relative to max |y|)
TOL32 = 1e-5      # libnn vs PyTorch's float32 forward (float32 rounding)
ACTS = {
    'relu': lambda: nn.ReLU(),
    'leaky': lambda: nn.LeakyReLU(0.1),
    'sigmoid': lambda: nn.Sigmoid(),
    'tanh': lambda: nn.Tanh(),
    'softmax': lambda: nn.Softmax(dim=-1),
    'identity': lambda: nn.Identity(),
}


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = []

    def check(self, ok, what):
        if ok:
            self.passed += 1
        else:
            self.failed.append(what)
            print('FAIL:', what)


class Affine(nn.Module):
    """x @ W + b (or b + x @ W): exported as MatMul + Add, not Gemm."""

    def __init__(self, n_in, n_out, bias_first=False):
        super().__init__()
        self.W = nn.Parameter(torch.randn(n_in, n_out) / n_in ** 0.5)
        self.b = nn.Parameter(torch.randn(n_out))
        self.bias_first = bias_first

    def forward(self, x):
        return self.b + x @ self.W if self.bias_first else x @ self.W + self.b


def rel_err(y, ref):
    return float(np.max(np.abs(y - ref)) / max(np.max(np.abs(ref)), 1e-300))


def torch_models():
    """(name, module, input shape without batch) for the import checks."""
    out = []
    for act, make in ACTS.items():
        m = nn.Sequential(nn.Linear(5, 7), make(), nn.Linear(7, 4), make())
        out.append((f'linear-{act}', m, (5,)))
    out.append(('flatten-relu-softmax', nn.Sequential(
        nn.Flatten(), nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3),
        nn.Softmax(dim=-1)), (2, 3)))
    out.append(('matmul-add-tanh-sigmoid', nn.Sequential(
        Affine(5, 6), nn.Tanh(), Affine(6, 2), nn.Sigmoid()), (5,)))
    out.append(('add-matmul-leaky', nn.Sequential(
        Affine(5, 4, bias_first=True), nn.LeakyReLU(0.125),
        nn.Linear(4, 3)), (5,)))
    out.append(('deep-mixed', nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 12), nn.Tanh(),
        Affine(12, 10), nn.LeakyReLU(0.1), nn.Linear(10, 6),
        nn.Sigmoid(), nn.Linear(6, 5), nn.Softmax(dim=-1)), (8,)))
    return out


def export(model, x, opset, dynamic):
    buf = io.BytesIO()
    kw = {'dynamic_axes': {'x': {0: 'batch'}, 'y': {0: 'batch'}}} \
        if dynamic else {}
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(model, x, buf, opset_version=opset,
                          input_names=['x'], output_names=['y'], **kw)
    return buf.getvalue()


def check_import(lib, res, name, model, shape, dtype, opset, dynamic):
    """One export of one model: libnn against PyTorch. Returns the network
    (for the export checks) or None."""
    model = copy.deepcopy(model).to(dtype).eval()
    if dtype == torch.float64:  # weights float32 could not hold
        with torch.no_grad():
            for p in model.parameters():
                p.add_(1e-3 * torch.randn_like(p))
    batch = 9
    x = torch.randn((batch,) + shape, dtype=dtype)
    data = export(model, x, opset, dynamic)
    tag = f'{name} {str(dtype)[6:]} opset {opset}' + \
        (' dynamic' if dynamic else '')
    try:
        net = lib.onnx_load(data)
    except nnlib.NNError as e:
        res.check(False, f'{tag}: refused: {e}')
        return None
    x64 = x.double().reshape(batch, -1).numpy()
    y = net.predict(x64)
    with torch.no_grad():
        y_t = model(x).double().numpy()
        y_64 = copy.deepcopy(model).double()(x.double()).numpy()
    e64 = rel_err(y, y_64)
    res.check(e64 <= TOL64, f'{tag}: vs torch float64 {e64:.3g}')
    e_eval = rel_err(onnxeval.run(onnx.load_from_string(data), x.numpy()),
                     y_64)
    res.check(e_eval <= TOL64, f'{tag}: onnxeval vs torch {e_eval:.3g}')
    e32 = None
    if dtype == torch.float32:
        e32 = rel_err(y, y_t)
        res.check(e32 <= TOL32, f'{tag}: vs torch float32 {e32:.3g}')
    res.worst64 = max(getattr(res, 'worst64', 0), e64)
    if e32 is not None:
        res.worst32 = max(getattr(res, 'worst32', 0), e32)
    return net


def output_dims(model):
    inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    return [d.dim_param or d.dim_value for d in dims]


def check_export(lib, res, tag, net, rng):
    """net -> ONNX (both flags) -> checker, shape inference, onnxeval and
    a second import."""
    x = rng.standard_normal((7, net.n_in))
    y = net.predict(x)
    for flags in (0, nnlib.NN_ONNX_LOGITS):
        t = f'{tag} flags={flags}'
        data = net.onnx_save(flags)
        st, size = net.onnx_save_into(len(data) - 1, flags)
        res.check(st == nnlib.NN_ERR_SHAPE and size == len(data),
                  f'{t}: save into {len(data) - 1} bytes: {st}, {size}')
        m = onnx.load_from_string(data)
        try:
            onnx.checker.check_model(m, full_check=True)
            res.check(True, '')
        except onnx.checker.ValidationError as e:
            res.check(False, f'{t}: check_model: {e}')
        opset = [(o.domain, o.version) for o in m.opset_import]
        res.check(m.ir_version == 7 and opset in ([('', 13)],
                  [('ai.onnx', 13)]), f'{t}: IR {m.ir_version}, {opset}')
        in_dims = [d.dim_param or d.dim_value
                   for d in m.graph.input[0].type.tensor_type.shape.dim]
        out_dims = output_dims(m)
        res.check(len(in_dims) == 2 and in_dims[1] == net.n_in and
                  out_dims == [in_dims[0], net.n_out],
                  f'{t}: input {in_dims}, inferred output {out_dims}')
        res.check(all(i.data_type == onnx.TensorProto.DOUBLE
                      for i in m.graph.initializer),
                  f'{t}: initializers not all float64')
        z = onnxeval.run(m, x)
        if flags == nnlib.NN_ONNX_LOGITS:
            z = apply_act(z, net.layer(net.n_layers - 1))
        e = rel_err(z, y)
        res.check(e <= TOL64, f'{t}: onnxeval vs libnn {e:.3g}')
        res.worst_eval = max(getattr(res, 'worst_eval', 0), e)
        back = lib.onnx_load(data)
        same_p = np.array_equal(back.params(), net.params())
        res.check(same_p and back.params().tobytes() ==
                  net.params().tobytes(), f'{t}: parameters differ')
        if flags == 0:
            same = back.predict(x).tobytes() == y.tobytes()
            res.check(same, f'{t}: predictions differ after re-import')
            layers = [back.layer(i) for i in range(back.n_layers)]
            want = [net.layer(i) for i in range(net.n_layers)]
            res.check(norm_layers(layers) == norm_layers(want),
                      f'{t}: layers {layers} != {want}')
            res.check(back.loss == net.loss,
                      f'{t}: loss {back.loss} != {net.loss}')
        back.close()


def norm_layers(layers):
    # the slope matters only for leaky relu
    return [(n, a, s if a == 'leaky_relu' else None) for n, a, s in layers]


def apply_act(z, layer):
    """The output activation the LOGITS graph leaves out, on torch."""
    _, act, slope = layer
    t = torch.from_numpy(z)
    f = {'identity': lambda: t, 'sigmoid': lambda: torch.sigmoid(t),
         'tanh': lambda: torch.tanh(t), 'relu': lambda: torch.relu(t),
         'leaky_relu': lambda: torch.nn.functional.leaky_relu(t, slope),
         'softmax': lambda: torch.softmax(t, dim=-1)}[act]
    return f().numpy()


def c_api_nets(lib, rng):
    """Networks built through the C API: every activation, random W and b.
    Slopes float32 can hold (0.125) and the default 0.01, which it cannot."""
    specs = [('relu', None), ('leaky_relu', 0.125), ('sigmoid', None),
             ('tanh', None), ('softmax', None), ('identity', None)]
    out = []
    for i, (act, slope) in enumerate(specs):
        loss = {'sigmoid': 'bce', 'softmax': 'softmax_ce'}.get(act, 'mse')
        net = lib.net(6, [(5, act, slope), (4, 'tanh', None),
                          (3, act, slope)], loss)
        net.init(100 + i)
        p = net.params()
        p[:] += 0.1 * rng.standard_normal(p.shape)  # non-zero biases too
        out.append((f'C-API {act}', net))
    return out


def check_slopes(lib, res, rng):
    """A slope goes out as a float32 alpha and comes back as the shortest
    decimal that rounds to it (numpy's str of the float32, computed here
    apart from libnn): 0.01 (the default), 0.2 and 0.125 return exactly,
    with bitwise equal predictions; 1/3 returns as 0.33333334; 1e39, which
    float32 cannot hold, is refused."""
    x = rng.standard_normal((6, 3))
    for slope in (None, 0.2, 0.125, 1 / 3):
        net = lib.net(3, [(4, 'leaky_relu', slope), (2, 'identity', None)])
        net.init(7)
        given = net.layer(0)[2]
        m = onnx.load_from_string(net.onnx_save())
        alpha = [a.f for n in m.graph.node if n.op_type == 'LeakyRelu'
                 for a in n.attribute if a.name == 'alpha']
        back = lib.onnx_load(m.SerializeToString())
        got = back.layer(0)[2]
        want = float(str(np.float32(given)))
        print(f'slope {given!r}: alpha in the file {alpha}, back {got!r}')
        res.check(alpha == [float(np.float32(given))] and got == want,
                  f'slope {given!r}: alpha {alpha}, back {got!r}, '
                  f'expected {want!r}')
        if want == given:
            res.check(back.predict(x).tobytes() == net.predict(x).tobytes(),
                      f'slope {given!r}: predictions differ')
        back.close()
        net.close()
    # a slope float32 cannot hold (it would be inf) is refused on export
    net = lib.net(3, [(2, 'leaky_relu', 1e39)])
    try:
        net.onnx_save()
        res.check(False, 'slope 1e39 exported')
    except nnlib.NNError as e:
        res.check(e.status == nnlib.NN_ERR_UNSUPPORTED,
                  f'slope 1e39: {e}')
    net.close()


def main(argv):
    lib, code, _ = nnlib.open_checked(argv, __doc__)
    if lib is None:
        return code
    torch.manual_seed(1234)
    rng = np.random.default_rng(1234)
    torch.set_num_threads(1)
    res = Results()
    imported = []
    n_imports = 0
    for name, model, shape in torch_models():
        for dtype in (torch.float32, torch.float64):
            for opset in OPSETS:
                for dynamic in (False, True):
                    net = check_import(lib, res, name, model, shape, dtype,
                                       opset, dynamic)
                    n_imports += 1
                    if net is not None and opset == 13 and dynamic:
                        imported.append((f'{name} {str(dtype)[6:]}', net))
                    elif net is not None:
                        net.close()
    print(f'import: {n_imports} exports from PyTorch; worst relative error '
          f'vs torch float64 {getattr(res, "worst64", 0):.3g}, '
          f'float32 models vs torch float32 {getattr(res, "worst32", 0):.3g}')
    nets = c_api_nets(lib, rng) + imported
    for tag, net in nets:
        check_export(lib, res, tag, net, rng)
        net.close()
    check_slopes(lib, res, rng)
    print(f'export: {len(nets)} networks x 2 flags; worst onnxeval vs libnn '
          f'{getattr(res, "worst_eval", 0):.3g}')
    print(f'{res.passed} passed, {len(res.failed)} failed')
    return 1 if res.failed else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
