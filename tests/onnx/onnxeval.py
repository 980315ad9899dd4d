"""A small evaluator of the ONNX ops of dense networks, on PyTorch's float64
kernels, written from the ONNX operator specification (docs/Operators.md).

Debian ships no ONNX runtime (no onnxruntime, and onnx 1.12 predates
onnx.reference), so the graphs libnn exports are run here instead: an
implementation that shares nothing with libnn. torch_roundtrip.py checks it
first against PyTorch itself on PyTorch's own exports.
"""

import numpy as np
import torch
import torch.nn.functional as F
from onnx import numpy_helper


def _attrs(node):
    out = {}
    for a in node.attribute:
        out[a.name] = {1: lambda: a.f, 2: lambda: a.i,
                       7: lambda: list(a.ints)}.get(a.type, lambda: None)()
    return out


def _slope(alpha):
    """LeakyRelu's alpha, a float32 attribute, as the shortest decimal that
    rounds to it (0.1f -> 0.1): the slope the exporter was given, which
    PyTorch's float64 LeakyReLU(0.1) uses and libnn reads (docs/ONNX.md).
    numpy's str of a float32 is that decimal."""
    return float(str(np.float32(alpha)))


def _opset(model):
    return next((o.version for o in model.opset_import
                 if o.domain in ('', 'ai.onnx')), 1)


def _gemm(ins, at):
    # Y = alpha * A' * B' + beta * C, C broadcast to [M, N]
    a, b = ins[0], ins[1]
    if at.get('transA', 0):
        a = a.T
    if at.get('transB', 0):
        b = b.T
    y = at.get('alpha', 1.0) * (a @ b)
    if len(ins) > 2 and ins[2] is not None:
        y = y + at.get('beta', 1.0) * ins[2]
    return y


def _softmax(x, at, opset):
    if opset >= 13:  # along one axis (default -1)
        return torch.softmax(x, dim=at.get('axis', -1))
    # before 13: over the 2-D coercion [prod(d < axis), prod(d >= axis)]
    axis = at.get('axis', 1) % x.dim()
    flat = x.reshape(int(np.prod(x.shape[:axis])), -1)
    return torch.softmax(flat, dim=1).reshape(x.shape)


def _flatten(x, at):
    axis = at.get('axis', 1) % (x.dim() + 1)
    return x.reshape(int(np.prod(x.shape[:axis])), -1)


def run(model, x):
    """The graph's first output for the data input x (numpy), in float64:
    every initializer converted exactly, every op on torch.float64."""
    opset = _opset(model)
    g = model.graph
    env = {t.name: torch.from_numpy(
        numpy_helper.to_array(t).astype(np.float64)) for t in g.initializer}
    data = [i.name for i in g.input if i.name not in env]
    assert len(data) == 1, f'one data input expected, graph has {data}'
    env[data[0]] = torch.from_numpy(np.asarray(x, dtype=np.float64))
    for node in g.node:
        ins = [env[n] if n else None for n in node.input]
        at = _attrs(node)
        op = node.op_type
        if op == 'Gemm':
            y = _gemm(ins, at)
        elif op == 'MatMul':
            y = ins[0] @ ins[1]
        elif op == 'Add':
            y = ins[0] + ins[1]
        elif op == 'Relu':
            y = F.relu(ins[0])
        elif op == 'LeakyRelu':
            y = F.leaky_relu(ins[0], _slope(at.get('alpha', 0.01)))
        elif op == 'Sigmoid':
            y = torch.sigmoid(ins[0])
        elif op == 'Tanh':
            y = torch.tanh(ins[0])
        elif op == 'Softmax':
            y = _softmax(ins[0], at, opset)
        elif op == 'Flatten':
            y = _flatten(ins[0], at)
        elif op == 'Identity':
            y = ins[0]
        elif op == 'Transpose':
            y = ins[0].permute(*at['perm']) if 'perm' in at else ins[0].T
        else:
            raise NotImplementedError(f'op {op} (node {node.name})')
        env[node.output[0]] = y
    return env[g.output[0].name].numpy()
