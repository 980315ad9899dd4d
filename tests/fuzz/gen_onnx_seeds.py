#!/usr/bin/python3
"""gen_onnx_seeds.py -- writes the hand-built part of the ONNX seed corpus
(tests/fuzz/corpus/onnx) into the directory given as argv[1].

The other seeds: gen_onnx_seeds.c writes libnn's own exports; a few models
come from Debian's libonnx-testdata (see copy_testdata below).

What is here: every graph form docs/ONNX.md accepts (Gemm with transB 0/1,
alpha, beta, no bias; MatMul + Add either way round; Flatten first;
Identity anywhere; every activation; float32 and float64 initializers,
raw_data and typed fields; opset 11 and 13), a torch.onnx.export of a small
nn.Sequential, and inputs each of which breaks one rule (an op, a branch,
external data, an int64 initializer, shapes that do not chain, sizes that
do not match the data, a truncated file). Needs python3-onnx and numpy;
torch is optional. Run with the interpreter that has them:
    /usr/bin/python3 tests/fuzz/gen_onnx_seeds.py tests/fuzz/corpus/onnx
"""
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

RNG = np.random.default_rng(20260)
TESTDATA = "/usr/share/libonnx-testdata/data"


def weights(*shape, dtype=np.float32):
    return (RNG.standard_normal(shape) * 0.5).astype(dtype)


def tensor(name, array, raw=True):
    """An initializer: raw_data, or the typed field (float_data...)."""
    if raw:
        return numpy_helper.from_array(array, name)
    dt = TensorProto.DOUBLE if array.dtype == np.float64 else TensorProto.FLOAT
    return helper.make_tensor(name, dt, array.shape, array.flatten().tolist())


def model(nodes, inits, n_in, n_out, opset=13, elem=TensorProto.FLOAT,
          inp="input", out="output"):
    x = helper.make_tensor_value_info(inp, elem, ["batch", n_in])
    y = helper.make_tensor_value_info(out, elem, ["batch", n_out])
    g = helper.make_graph(nodes, "seed", [x], [y], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)],
                          producer_name="gen_onnx_seeds")
    m.ir_version = 7
    return m


def gemm_chain(sizes, acts, trans_b=1, alpha=None, beta=None, bias=True,
               dtype=np.float32, raw=True, opset=13, flatten=False,
               identity=False):
    """Gemm layers sizes[0] -> sizes[1] -> ..., acts[i] after layer i
    (None, or (op, {attrs}))."""
    nodes, inits = [], []
    cur = "input"
    if flatten:
        nodes.append(helper.make_node("Flatten", [cur], ["flat"], axis=1))
        cur = "flat"
    for i in range(len(sizes) - 1):
        n_in, n_out = sizes[i], sizes[i + 1]
        w = weights(n_out, n_in, dtype=dtype) if trans_b else \
            weights(n_in, n_out, dtype=dtype)
        inits.append(tensor(f"W{i}", w, raw))
        ins = [cur, f"W{i}"]
        if bias:
            inits.append(tensor(f"b{i}", weights(n_out, dtype=dtype), raw))
            ins.append(f"b{i}")
        attrs = {"transB": trans_b}
        if alpha is not None:
            attrs["alpha"] = alpha
        if beta is not None:
            attrs["beta"] = beta
        last = i == len(sizes) - 2
        z = f"z{i}"
        nodes.append(helper.make_node("Gemm", ins, [z], name=f"fc{i}", **attrs))
        cur = z
        if identity:
            nodes.append(helper.make_node("Identity", [cur], [f"id{i}"]))
            cur = f"id{i}"
        if acts[i]:
            op, kw = acts[i]
            nodes.append(helper.make_node(op, [cur], [f"a{i}"], **kw))
            cur = f"a{i}"
        if last:
            nodes.append(helper.make_node("Identity", [cur], ["output"]))
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    return model(nodes, inits, sizes[0], sizes[-1], opset=opset, elem=elem)


def matmul_add(sizes, acts, bias_first=False):
    nodes, inits = [], []
    cur = "input"
    for i in range(len(sizes) - 1):
        inits.append(tensor(f"W{i}", weights(sizes[i], sizes[i + 1])))
        inits.append(tensor(f"b{i}", weights(sizes[i + 1])))
        nodes.append(helper.make_node("MatMul", [cur, f"W{i}"], [f"m{i}"]))
        ab = [f"b{i}", f"m{i}"] if bias_first else [f"m{i}", f"b{i}"]
        out = f"z{i}" if acts[i] or i < len(sizes) - 2 else "output"
        nodes.append(helper.make_node("Add", ab, [out]))
        cur = out
        if acts[i]:
            op, kw = acts[i]
            out = "output" if i == len(sizes) - 2 else f"a{i}"
            nodes.append(helper.make_node(op, [cur], [out], **kw))
            cur = out
    return model(nodes, inits, sizes[0], sizes[-1])


RELU = ("Relu", {})
TANH = ("Tanh", {})
SIG = ("Sigmoid", {})
SOFT = ("Softmax", {"axis": -1})
LEAKY = ("LeakyRelu", {"alpha": 0.125})


def constant_weights():
    """Weights from Constant nodes instead of initializers."""
    w = helper.make_node("Constant", [], ["W"],
                         value=tensor("Wc", weights(3, 2)))
    b = helper.make_node("Constant", [], ["b"],
                         value=tensor("bc", weights(2)))
    g = helper.make_node("Gemm", ["input", "W", "b"], ["z"])
    t = helper.make_node("Tanh", ["z"], ["output"])
    return model([w, b, g, t], [], 3, 2)


def valid_seeds():
    return {
        "gemm_relu_softmax": gemm_chain([3, 4, 3], [RELU, SOFT]),
        "gemm_transb0_tanh": gemm_chain([2, 3, 1], [TANH, None], trans_b=0),
        "gemm_alpha_beta": gemm_chain([2, 2, 2], [SIG, None], alpha=0.5,
                                      beta=2.0),
        "gemm_no_bias": gemm_chain([4, 2], [SIG], bias=False),
        "gemm_f64_typed": gemm_chain([2, 3, 2], [LEAKY, SOFT],
                                     dtype=np.float64, raw=False),
        "gemm_f32_typed": gemm_chain([2, 2], [None], raw=False),
        "gemm_opset11_softmax1": gemm_chain([2, 3], [("Softmax",
                                                      {"axis": 1})],
                                            opset=11),
        "gemm_flatten_identity": gemm_chain([3, 2, 2], [RELU, TANH],
                                            flatten=True, identity=True),
        "gemm_leaky_default": gemm_chain([2, 2, 1], [("LeakyRelu", {}),
                                                     SIG]),
        "matmul_add_relu": matmul_add([3, 4, 2], [RELU, None]),
        "gemm_constant_weights": constant_weights(),
        "matmul_add_bias_first": matmul_add([2, 2, 3], [TANH, SOFT],
                                            bias_first=True),
    }


def broken(seeds):
    """Inputs that break one rule each (built from a valid one)."""
    out = {}
    base = seeds["gemm_relu_softmax"]

    def variant(name, edit):
        m = onnx.ModelProto()
        m.CopyFrom(base)
        edit(m)
        out[name] = m

    def conv(m):
        m.graph.node[1].op_type = "Conv"

    def unknown_domain(m):
        m.graph.node[0].domain = "com.example"

    def int64_init(m):
        m.graph.initializer[1].CopyFrom(
            numpy_helper.from_array(np.arange(4, dtype=np.int64), "b0"))

    def external(m):
        t = m.graph.initializer[0]
        t.ClearField("raw_data")
        t.data_location = TensorProto.EXTERNAL
        e = t.external_data.add()
        e.key, e.value = "location", "weights.bin"

    def short_raw(m):
        t = m.graph.initializer[0]
        t.raw_data = t.raw_data[:-4]

    def bad_chain(m):
        m.graph.initializer[2].CopyFrom(tensor("W1", weights(3, 5)))

    def transa(m):
        m.graph.node[0].attribute.append(helper.make_attribute("transA", 1))

    def softmax_axis0(m):
        m.graph.node[3].attribute[0].i = 0

    def branch(m):
        # z0 feeds two nodes: not a chain
        m.graph.node.append(helper.make_node("Relu", ["z0"], ["extra"]))
        m.graph.output.append(helper.make_tensor_value_info(
            "extra", TensorProto.FLOAT, ["batch", 4]))

    def missing_init(m):
        del m.graph.initializer[0]

    def cycle(m):
        m.graph.node[0].input[0] = "a1"

    def if_node(m):
        sub = helper.make_graph([], "empty", [], [])
        m.graph.node.append(helper.make_node("If", ["output"], ["o2"],
                                             then_branch=sub,
                                             else_branch=sub))

    def huge_dims(m):
        t = m.graph.initializer[0]
        del t.dims[:]
        t.dims.extend([1 << 31, 1 << 31])

    def negative_dim(m):
        t = m.graph.initializer[1]
        del t.dims[:]
        t.dims.extend([-4])

    def no_graph(m):
        m.ClearField("graph")

    def opset_old(m):
        m.opset_import[0].version = 1

    def identity_two_inputs(m):
        m.graph.node.insert(2, helper.make_node("Identity", ["a0", "a0"],
                                                ["a0b"]))
        m.graph.node[3].input[0] = "a0b"

    def sparse(m):
        sp = m.graph.sparse_initializer.add()
        sp.values.CopyFrom(tensor("s", weights(2)))
        sp.indices.CopyFrom(numpy_helper.from_array(
            np.array([0, 1], dtype=np.int64), "si"))
        sp.dims.extend([4])

    for name, edit in [("bad_conv", conv), ("bad_domain", unknown_domain),
                       ("bad_int64_bias", int64_init),
                       ("bad_external_data", external),
                       ("bad_short_raw_data", short_raw),
                       ("bad_shapes_do_not_chain", bad_chain),
                       ("bad_transa", transa),
                       ("bad_softmax_axis0", softmax_axis0),
                       ("bad_branch", branch),
                       ("bad_missing_initializer", missing_init),
                       ("bad_cycle", cycle), ("bad_if_subgraph", if_node),
                       ("bad_huge_dims", huge_dims),
                       ("bad_negative_dim", negative_dim),
                       ("bad_no_graph", no_graph),
                       ("bad_opset_1", opset_old),
                       ("bad_identity_two_inputs", identity_two_inputs),
                       ("bad_sparse_initializer", sparse)]:
        variant(name, edit)
    return out


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        out += bytes([b | (0x80 if v else 0)])
        if not v:
            return out


def field(num, payload):
    """A length-delimited protobuf field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def raw_seeds(seeds):
    """Inputs built byte by byte: nesting and sizes no writer produces."""
    out = {}
    # graph > node > attribute > graph ... 40 times: 120 levels, over the
    # 100 protobuf's own parsers allow
    g = b""
    for _ in range(40):
        g = field(1, field(5, field(6, g)))
    out["bad_deep_nesting"] = field(7, g)
    # a bare protobuf that is no ModelProto's (unknown fields only)
    out["bad_unknown_fields"] = field(99, b"x" * 8) + field(100, b"")
    return out


def rank3_flatten():
    """A [batch, 2, 3] input flattened before the first layer, and the same
    without the Flatten (refused)."""
    x = helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                      ["batch", 2, 3])
    y = helper.make_tensor_value_info("output", TensorProto.FLOAT,
                                      ["batch", 2])
    w = tensor("W", weights(2, 6))
    b = tensor("b", weights(2))
    nodes = [helper.make_node("Flatten", ["input"], ["f"], axis=1),
             helper.make_node("Gemm", ["f", "W", "b"], ["z"], transB=1),
             helper.make_node("Sigmoid", ["z"], ["output"])]
    ok = helper.make_model(helper.make_graph(nodes, "r3", [x], [y], [w, b]),
                           opset_imports=[helper.make_opsetid("", 13)])
    nodes = [helper.make_node("Gemm", ["input", "W", "b"], ["z"], transB=1),
             helper.make_node("Sigmoid", ["z"], ["output"])]
    bad = helper.make_model(helper.make_graph(nodes, "r3", [x], [y], [w, b]),
                            opset_imports=[helper.make_opsetid("", 13)])
    return ok, bad


def torch_seed(dirname):
    try:
        import torch
    except ImportError:
        print("torch not available: no torch.onnx.export seed")
        return
    torch.manual_seed(7)
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(),
                              torch.nn.Linear(4, 2), torch.nn.Sigmoid())
    torch.onnx.export(net, torch.zeros(1, 3),
                      os.path.join(dirname, "torch_sequential"),
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
                      opset_version=13)


def copy_testdata(dirname):
    """A few small models of libonnx-testdata: the PyTorch Linear layers
    (loadable) and single-op graphs without initializers (refused)."""
    for src, name in [("pytorch-converted/test_Linear", "td_linear"),
                      ("pytorch-converted/test_Linear_no_bias",
                       "td_linear_no_bias"),
                      ("pytorch-converted/test_ReLU", "td_relu"),
                      ("pytorch-converted/test_Softmax", "td_softmax"),
                      ("node/test_gemm_transposeB", "td_gemm_transposeb"),
                      ("node/test_matmul_2d", "td_matmul_2d")]:
        path = os.path.join(TESTDATA, src, "model.onnx")
        if os.path.exists(path):
            shutil.copyfile(path, os.path.join(dirname, name))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: gen_onnx_seeds.py DIR")
    d = sys.argv[1]
    os.makedirs(d, exist_ok=True)
    seeds = valid_seeds()
    for name, m in seeds.items():
        onnx.checker.check_model(m)
        onnx.save(m, os.path.join(d, name))
    for name, m in broken(seeds).items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(m.SerializeToString())
    ok, bad = rank3_flatten()
    onnx.save(ok, os.path.join(d, "gemm_rank3_flatten"))
    onnx.save(bad, os.path.join(d, "bad_rank3_no_flatten"))
    for name, data in raw_seeds(seeds).items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    raw = seeds["matmul_add_relu"].SerializeToString()
    for name, data in [("bad_truncated", raw[:len(raw) // 2]),
                       ("bad_varint", b"\x08" + b"\xff" * 11),
                       ("bad_length", b"\x3a\xff\xff\xff\xff\x0f"),
                       ("bad_empty", b""),
                       ("bad_text", b"1.0,2.0,0\n3.0,4.0,1\n")]:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
    torch_seed(d)
    copy_testdata(d)


if __name__ == "__main__":
    main()
