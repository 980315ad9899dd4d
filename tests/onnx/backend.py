#!/usr/bin/env python3
"""libnn's ONNX importer against the official ONNX backend test data.

The cases are those of Debian's libonnx-testdata (the node and
pytorch-converted suites of the ONNX repository, each a model.onnx with
test_data_set_*/input_k.pb and the reference output_0.pb computed by ONNX's
own reference code). For each case and data set:

- the node tests feed their weights as graph inputs: every input but the
  data input (input 0) becomes an initializer holding that data set's
  input_k values (a modified copy of the model, in memory);
- a plain activation on an N-D tensor is presented as 2-D [rows, features]
  by flattening the leading dimensions (input, output and the reference
  alike; the declared shapes are rewritten), since a libnn network maps
  rows of n_in values; softmax on axis 0 of [3, 4, 5] is presented as
  [3, 20] with axis 0 kept (the same numbers), so that it is refused for
  its axis and not for its rank;
- the model is serialised, imported with nn_onnx_load_mem, and
  nn_net_predict runs on input_0; the result must match output_0 at the
  backend suite's own tolerance: onnx/backend/test/loader/__init__.py sets
  rtol = 1e-3, atol = 1e-7 for every case without a data.json, and
  onnx/backend/test/runner/__init__.py (assert_similar_outputs) compares
  with numpy.testing.assert_allclose, i.e. |y - ref| <= atol + rtol |ref|.

Cases libnn cannot serve must be refused with NN_ERR_UNSUPPORTED and a
message (not a crash, not wrong numbers); EXPECT says which and why.
Usage: backend.py LIBNN_SO [--require-onnx] [DATA_DIR].
Exit 0 pass, 1 fail, 77 skip (no numpy/onnx, no test data, no ONNX build).
"""

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

try:
    import numpy as np
    import onnx
    from onnx import numpy_helper
except ImportError as e:  # not this interpreter's packages: skip
    print(f'SKIP: {e}')
    sys.exit(77)

import nnlib  # noqa: E402

DATA = '/usr/share/libonnx-testdata/data'
RTOL, ATOL = 1e-3, 1e-7  # onnx/backend/test/loader/__init__.py

# The cases, by glob, each with its expectation: 'apply' or the reason for
# which libnn must refuse it (NN_ERR_UNSUPPORTED). A glob that matches a case
# missing here fails the run, so new test data cannot pass unseen.
GLOBS = ['node/test_gemm_*', 'node/test_relu', 'node/test_leakyrelu*',
         'node/test_sigmoid*', 'node/test_tanh*', 'node/test_softmax*',
         'node/test_matmul_2d', 'node/test_add',
         'pytorch-converted/test_Linear*', 'pytorch-converted/test_ReLU',
         'pytorch-converted/test_Sigmoid', 'pytorch-converted/test_Tanh',
         'pytorch-converted/test_LeakyReLU*', 'pytorch-converted/test_Softmax']

APPLY = 'apply'
EXPANDED = ('softmax written out as Constant/ReduceMax/Sub/Exp/ReduceSum/Div'
            ' (x used twice: a branch, not a chain)', 'branch')
FIRST = ('an activation with no layer before it: a libnn network starts with'
         ' a dense layer (see the +I form)', 'first layer')
RANK1 = ('1-D data input [3]: rows of features expected', 'rank')
BIAS = ('bias C broadcast from {}: the importer takes [N] or [1, N] only '
        '(the documented "vector bias")', 'input C')
# case -> APPLY or (why it is refused, a word the library's message must
# hold, case-insensitively: refused for that reason and not another)
EXPECT = {
    'node/test_gemm_all_attributes': ('transA=1 on the data input', 'transA'),
    'node/test_gemm_alpha': APPLY,
    'node/test_gemm_beta': APPLY,
    'node/test_gemm_default_matrix_bias':
        ('bias C of shape [M, N]: one bias per row, not a vector', 'input C'),
    'node/test_gemm_default_no_bias': APPLY,
    'node/test_gemm_default_scalar_bias': (BIAS[0].format('a scalar []'),
                                           BIAS[1]),
    'node/test_gemm_default_single_elem_vector_bias':
        (BIAS[0].format('[1]'), BIAS[1]),
    'node/test_gemm_default_vector_bias': APPLY,
    'node/test_gemm_default_zero_bias': APPLY,
    'node/test_gemm_transposeA': ('transA=1 on the data input', 'transA'),
    'node/test_gemm_transposeB': APPLY,
    'node/test_matmul_2d': APPLY,
    'node/test_add': ('Add of two data inputs (no weights)', 'data inputs'),
    'pytorch-converted/test_Linear': APPLY,
    'pytorch-converted/test_Linear_no_bias':
        ('the weight goes through a Transpose node before MatMul (weights '
         'computed in the graph)', 'initializer'),
}
# The single activations: refused as given (no layer before them), and
# run again as "+I": the same graph behind a Gemm with W = I, b = 0, which
# changes no number (x*1 and x*0 are exact, and so are the sums of one x
# and zeros), so that libnn's activations meet ONNX's reference outputs.
EXPECT_I = {}
for _c in ['node/test_relu', 'node/test_leakyrelu',
           'node/test_leakyrelu_default', 'node/test_sigmoid',
           'node/test_tanh', 'node/test_softmax_axis_2',
           'node/test_softmax_default_axis', 'node/test_softmax_example',
           'node/test_softmax_large_number', 'node/test_softmax_negative_axis',
           'pytorch-converted/test_ReLU', 'pytorch-converted/test_Sigmoid',
           'pytorch-converted/test_Tanh', 'pytorch-converted/test_LeakyReLU',
           'pytorch-converted/test_LeakyReLU_with_negval',
           'pytorch-converted/test_Softmax']:
    EXPECT[_c], EXPECT_I[_c] = FIRST, APPLY
for _c in ['node/test_leakyrelu_example', 'node/test_sigmoid_example',
           'node/test_tanh_example']:
    EXPECT[_c], EXPECT_I[_c] = RANK1, RANK1
EXPECT['node/test_softmax_axis_0'] = FIRST
EXPECT_I['node/test_softmax_axis_0'] = (
    'softmax on axis 0 of [rows, features] (presented as [3, 20])', 'axis')
EXPECT['node/test_softmax_axis_1'] = FIRST
EXPECT_I['node/test_softmax_axis_1'] = (
    'softmax on axis 1 of a 3-D input: no 2-D form, the Gemm meets rank 3',
    'rank')
for _n in ['axis_0', 'axis_1', 'axis_2', 'default_axis', 'example',
           'large_number', 'negative_axis']:
    EXPECT[f'node/test_softmax_{_n}_expanded'] = EXPANDED

# Cases whose other inputs are data, not weights: kept as graph inputs.
KEEP_INPUTS = {'node/test_add'}
ELEMENTWISE = {'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Identity'}


def read_tensor(path):
    t = onnx.TensorProto()
    with open(path, 'rb') as f:
        t.ParseFromString(f.read())
    return numpy_helper.to_array(t)


def set_shape(value_info, shape):
    dims = value_info.type.tensor_type.shape.dim
    del dims[:]
    for d in shape:
        dims.add().dim_value = d


def freeze_weights(model, inputs):
    """Every graph input after the first without an initializer becomes one
    holding this data set's values (IR 3 models already list theirs)."""
    g = model.graph
    have = {t.name for t in g.initializer}
    keep = [g.input[0]]
    for vi, value in zip(g.input[1:], inputs[1:]):
        if vi.name not in have:
            g.initializer.append(numpy_helper.from_array(value, vi.name))
    for vi in g.input[1:]:
        if vi.name in have:
            keep.append(vi)  # already a weight: left as the model has it
    del g.input[:]
    g.input.extend(keep)


def present_2d(model, x, ref):
    """The 2-D view of a single-node activation case (see the docstring):
    returns x, ref reshaped and rewrites the declared shapes to match."""
    g = model.graph
    if len(g.node) != 1 or x.ndim < 2:
        return x, ref
    node = g.node[0]
    if node.op_type == 'Softmax' and x.ndim > 2:
        axis = next((a.i for a in node.attribute if a.name == 'axis'), -1)
        axis %= x.ndim
        if axis == x.ndim - 1:  # last axis: rows of the last dimension
            shape = (-1, x.shape[-1])
            for a in node.attribute:
                if a.name == 'axis':
                    a.i = -1
        elif axis == 0:  # axis 0 of [3, 20]: the same numbers
            shape = (x.shape[0], -1)
        else:
            return x, ref
    elif node.op_type in ELEMENTWISE and x.ndim > 2:
        shape = (-1, x.shape[-1])
    else:
        return x, ref
    x, ref = x.reshape(shape), ref.reshape(shape)
    set_shape(g.input[0], x.shape)
    set_shape(g.output[0], ref.shape)
    return x, ref


def prepend_identity(model, width):
    """The +I form: a Gemm with W = I (width x width) and b = 0, of the
    model's float type, in front of its one node (Gemm before opset 7 needs
    C and broadcast=1; IR 3 lists initializers among the inputs too)."""
    g = model.graph
    data = g.input[0]
    dtype = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[
        data.type.tensor_type.elem_type]  # (onnx 1.12's name for it)
    opset = next(o.version for o in model.opset_import
                 if o.domain in ('', 'ai.onnx'))
    inits = [numpy_helper.from_array(np.eye(width, dtype=dtype), 'peer_I'),
             numpy_helper.from_array(np.zeros(width, dtype=dtype), 'peer_0')]
    g.initializer.extend(inits)
    if model.ir_version < 4:
        for t in inits:
            g.input.append(onnx.helper.make_tensor_value_info(
                t.name, t.data_type, list(t.dims)))
    kw = {'broadcast': 1} if opset < 7 else {}
    gemm = onnx.helper.make_node('Gemm', [data.name, 'peer_I', 'peer_0'],
                                 ['peer_x'], name='peer_identity', **kw)
    for i, name in enumerate(g.node[0].input):
        if name == data.name:
            g.node[0].input[i] = 'peer_x'
    g.node.insert(0, gemm)


def load_set(case, model_path, set_dir, form):
    """The model as presented (see the module docstring), x and ref."""
    model = onnx.load(model_path)
    n_in = len(glob.glob(os.path.join(set_dir, 'input_*.pb')))
    inputs = [read_tensor(os.path.join(set_dir, f'input_{k}.pb'))
              for k in range(n_in)]
    ref = read_tensor(os.path.join(set_dir, 'output_0.pb'))
    if case not in KEEP_INPUTS:
        freeze_weights(model, inputs)
    x, ref = present_2d(model, inputs[0], ref)
    if form == '+I':
        prepend_identity(model, x.shape[-1])
    return model, x, ref


def run_set(lib, expect, model, x, ref):
    """One presented data set: (status name, message, max abs error, max
    error in tolerance units, verdict)."""
    try:
        net = lib.onnx_load(model.SerializeToString())
    except nnlib.NNError as e:
        ok = expect != APPLY and e.status == nnlib.NN_ERR_UNSUPPORTED \
            and expect[1].lower() in e.message.lower()
        return e.name, e.message, None, None, ok
    try:
        y = net.predict(x)
    finally:
        net.close()
    ref = ref.astype(np.float64)
    if y.shape != ref.shape:
        return 'NN_OK', f'shape {y.shape}, ref {ref.shape}', None, None, False
    err = np.abs(y - ref)
    units = err / (ATOL + RTOL * np.abs(ref))
    ok = expect == APPLY and bool(np.all(units <= 1))
    return 'NN_OK', '', float(err.max()), float(units.max()), ok


def cases(data_dir):
    found = []
    for pattern in GLOBS:
        for d in sorted(glob.glob(os.path.join(data_dir, pattern))):
            found.append(os.path.relpath(d, data_dir))
    return found


def runs(data_dir, found):
    """(name, expectation, model_path, set_dir, form) of every run."""
    for case in found:
        forms = [('', EXPECT[case])]
        if case in EXPECT_I:
            forms.append(('+I', EXPECT_I[case]))
        for set_dir in sorted(glob.glob(os.path.join(data_dir, case,
                                                     'test_data_set_*'))):
            n = case + ('' if set_dir.endswith('_0') else
                        '/' + os.path.basename(set_dir)[9:])
            for form, expect in forms:
                yield (n + form, expect, case,
                       os.path.join(data_dir, case, 'model.onnx'), set_dir,
                       form)


def main(argv):
    lib, code, rest = nnlib.open_checked(argv, __doc__)
    if lib is None:
        return code
    data_dir = rest[0] if rest else DATA
    if not os.path.isdir(os.path.join(data_dir, 'node')):
        print(f'SKIP: no ONNX backend test data at {data_dir} '
              '(Debian: libonnx-testdata)')
        return 77
    found = cases(data_dir)
    failures = [f'{c}: no expectation in EXPECT' for c in found
                if c not in EXPECT]
    failures += [f'{c}: expected but not in the test data' for c in EXPECT
                 if c not in found]
    found = [c for c in found if c in EXPECT]
    counts = {'applies': 0, 'refused': 0}
    worst = 0.0
    passed = 0
    print(f'{"case":50} {"result":7} {"max|err|":>8} {"err/tol":>7}  '
          'status: library message  [expected refusal]')
    for name, expect, case, model_path, set_dir, form in runs(data_dir,
                                                              found):
        model, x, ref = load_set(case, model_path, set_dir, form)
        st, msg, err, units, ok = run_set(lib, expect, model, x, ref)
        kind = 'applies' if st == 'NN_OK' else 'refused'
        counts[kind] += 1
        e = f'{err:8.2g} {units:7.2g}' if err is not None else \
            f'{"-":>8} {"-":>7}'
        why = '' if expect == APPLY else f'  [{expect[0]}]'
        print(f'{name:50} {kind:7} {e}  ' + (f'{st}: {msg}' if msg else '')
              + why)
        if units is not None:
            worst = max(worst, units)
        if ok:
            passed += 1
        else:
            want = 'apply' if expect == APPLY else \
                f'NN_ERR_UNSUPPORTED naming "{expect[1]}"'
            failures.append(f'{name}: expected {want}, got {st} {msg} '
                            f'(err/tol {units})')
    print(f'{counts["applies"]} applied (worst error {worst:.3g} of the '
          f'tolerance rtol={RTOL:g}, atol={ATOL:g}), {counts["refused"]} '
          'refused')
    for f in failures:
        print('FAIL:', f)
    print(f'{passed} passed, {len(failures)} failed')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
