/* test_onnx.c — ONNX import and export (nn_onnx_*, lib/onnx.c,
 * docs/ONNX.md).
 *
 * What the numbers are checked against, never libnn alone:
 * - hand-built ONNX models (through the protobuf-c structs generated from
 *   onnx.proto for this build, compiled into this test since libnn keeps
 *   its copy hidden) whose predictions are computed here in closed form
 *   from their weights: Gemm with transB, alpha and beta, MatMul + Add,
 *   every activation, Flatten, Identity, Constant weights, float32 and
 *   float64 in raw_data and in the typed fields, opsets 6 to 21;
 * - the ONNX test data's own PyTorch Linear (libonnx-testdata, when
 *   installed): its stored output;
 * - what an exported file holds, read back field by field with protobuf-c
 *   against docs/ONNX.md (IR 7, opset 13, names, shapes, Gemm then the
 *   activation, float64 little-endian initializers equal to the
 *   parameters);
 * - round trips export -> import of networks with every activation:
 *   parameters and predictions bitwise equal, slopes and losses as
 *   documented.
 * Malformed inputs (empty, truncated at every length, random bytes and
 * random byte flips, wrong data types, shapes that do not chain, an
 * unsupported op, a branch, external data, nesting deeper than protobuf-c
 * can take, ...) get the documented status and a message naming the node
 * and op or the initializer; every load goes through a counting allocator
 * that must end balanced, and the allocation-failure sweeps give
 * NN_ERR_NOMEM and leak nothing.
 *
 * Without the `onnx` feature only the last test is built: every call says
 * NN_ERR_UNSUPPORTED. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SENTINEL_NET ((nn_net_t *)(uintptr_t)0x1)

#ifdef TU_HAVE_ONNX
#include "onnx.pb-c.h"

/* ------------------------------------------------------------ building models
 * A small ONNX model assembled from the generated structs: fixed-size
 * arrays, enough for every model below. */
enum { TM_NODES = 16, TM_TENSORS = 16, TM_VALUES = 64, TM_ATTRS = 4 };
enum { F32 = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       F64 = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE,
       I64 = ONNX__TENSOR_PROTO__DATA_TYPE__INT64 };
enum { RAW = 0, TYPED = 1 }; /* where a tensor's values are stored */

typedef struct {
    Onnx__ModelProto model;
    Onnx__OperatorSetIdProto opset, *opset_p;
    Onnx__GraphProto graph;
    Onnx__NodeProto node[TM_NODES], *node_p[TM_NODES];
    char *io[TM_NODES][8];
    char names[TM_NODES][8][32];
    Onnx__AttributeProto attr[TM_NODES][TM_ATTRS], *attr_p[TM_NODES][TM_ATTRS];
    Onnx__TensorProto tensor[TM_TENSORS], *init_p[TM_TENSORS];
    size_t n_tensors;
    int64_t dims[TM_TENSORS][4];
    float f32[TM_TENSORS][TM_VALUES];
    double f64[TM_TENSORS][TM_VALUES];
    uint8_t raw[TM_TENSORS][8 * TM_VALUES];
    char tnames[TM_TENSORS][32];
    Onnx__ValueInfoProto vi[4], *in_p[4], *out_p[2];
    Onnx__TypeProto tp[4];
    Onnx__TypeProto__Tensor tt[4];
    Onnx__TensorShapeProto sh[4];
    Onnx__TensorShapeProto__Dimension dim[4][4], *dim_p[4][4];
    char vnames[4][32];
    size_t n_vi;
} tm;

static tm *tm_new(int64_t opset)
{
    tm *t = calloc(1, sizeof *t);
    ck_assert_ptr_nonnull(t);
    onnx__model_proto__init(&t->model);
    onnx__graph_proto__init(&t->graph);
    onnx__operator_set_id_proto__init(&t->opset);
    t->model.has_ir_version = 1;
    t->model.ir_version = 8;
    t->opset.domain = "";
    t->opset.has_version = 1;
    t->opset.version = opset;
    t->opset_p = &t->opset;
    t->model.n_opset_import = 1;
    t->model.opset_import = &t->opset_p;
    t->model.producer_name = "test_onnx";
    t->model.graph = &t->graph;
    t->graph.name = "test";
    t->graph.node = t->node_p;
    t->graph.initializer = t->init_p;
    t->graph.input = t->in_p;
    t->graph.output = t->out_p;
    return t;
}

/* A value info: elem type, rank dims (0: the symbolic "batch"; rank 0: no
 * shape at all). */
static Onnx__ValueInfoProto *tm_value(tm *t, const char *name, int32_t elem,
                                      size_t rank, const int64_t *dims)
{
    size_t k = t->n_vi++;
    ck_assert_uint_lt(k, 4);
    snprintf(t->vnames[k], 32, "%s", name);
    onnx__value_info_proto__init(&t->vi[k]);
    onnx__type_proto__init(&t->tp[k]);
    onnx__type_proto__tensor__init(&t->tt[k]);
    onnx__tensor_shape_proto__init(&t->sh[k]);
    t->vi[k].name = t->vnames[k];
    t->vi[k].type = &t->tp[k];
    t->tp[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    t->tp[k].tensor_type = &t->tt[k];
    t->tt[k].has_elem_type = 1;
    t->tt[k].elem_type = elem;
    if (rank) t->tt[k].shape = &t->sh[k];
    t->sh[k].n_dim = rank;
    t->sh[k].dim = t->dim_p[k];
    for (size_t i = 0; i < rank; i++) {
        Onnx__TensorShapeProto__Dimension *d = &t->dim[k][i];
        onnx__tensor_shape_proto__dimension__init(d);
        if (dims[i]) {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
            d->dim_value = dims[i];
        } else {
            d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
            d->dim_param = "batch";
        }
        t->dim_p[k][i] = d;
    }
    return &t->vi[k];
}

static void tm_input(tm *t, const char *name, int32_t elem, size_t rank,
                     const int64_t *dims)
{
    t->in_p[t->graph.n_input++] = tm_value(t, name, elem, rank, dims);
}

/* The output [batch, n] (n == 0: no shape). */
static void tm_output(tm *t, const char *name, int32_t elem, int64_t n)
{
    int64_t d[2] = {0, n};
    t->out_p[t->graph.n_output++] = tm_value(t, name, elem, n ? 2 : 0, d);
}

/* A tensor of type dt (F32/F64) with the values v (as doubles; F32 rounds
 * them), stored raw (little-endian) or typed; listed as an initializer
 * unless `detached` (a Constant's). */
static Onnx__TensorProto *tm_tensor_(tm *t, const char *name, int32_t dt,
                                     int where, size_t rank,
                                     const int64_t *dims, const double *v,
                                     bool detached)
{
    size_t k = t->n_tensors++, n = 1;
    ck_assert_uint_lt(k, TM_TENSORS);
    Onnx__TensorProto *x = &t->tensor[k];
    onnx__tensor_proto__init(x);
    snprintf(t->tnames[k], 32, "%s", name);
    x->name = t->tnames[k];
    x->has_data_type = 1;
    x->data_type = dt;
    x->n_dims = rank;
    x->dims = t->dims[k];
    for (size_t i = 0; i < rank; i++) {
        t->dims[k][i] = dims[i];
        n *= (size_t)dims[i];
    }
    ck_assert_uint_le(n, TM_VALUES);
    for (size_t i = 0; i < n; i++) {
        t->f32[k][i] = (float)v[i];
        t->f64[k][i] = v[i];
        uint64_t u = 0;
        if (dt == F32) {
            uint32_t w;
            memcpy(&w, &t->f32[k][i], 4);
            u = w;
        } else {
            memcpy(&u, &v[i], 8);
        }
        size_t es = dt == F32 ? 4 : 8;
        for (size_t b = 0; b < es; b++)
            t->raw[k][i * es + b] = (uint8_t)(u >> (8 * b));
    }
    if (where == RAW) {
        x->has_raw_data = 1;
        x->raw_data.len = n * (dt == F32 ? 4 : 8);
        x->raw_data.data = t->raw[k];
    } else if (dt == F32) {
        x->n_float_data = n;
        x->float_data = t->f32[k];
    } else {
        x->n_double_data = n;
        x->double_data = t->f64[k];
    }
    if (!detached) t->init_p[t->graph.n_initializer++] = x;
    return x;
}

static Onnx__TensorProto *tm_tensor(tm *t, const char *name, int32_t dt,
                                    int where, size_t rank,
                                    const int64_t *dims, const double *v)
{
    return tm_tensor_(t, name, dt, where, rank, dims, v, false);
}

/* A node: op, name, inputs (a NULL-terminated list), one output. */
static Onnx__NodeProto *tm_node(tm *t, const char *op, const char *name,
                                const char *const *in, const char *out)
{
    size_t k = t->graph.n_node++, n = 0;
    ck_assert_uint_lt(k, TM_NODES);
    Onnx__NodeProto *x = &t->node[k];
    onnx__node_proto__init(x);
    snprintf(t->names[k][6], 32, "%s", op);
    snprintf(t->names[k][7], 32, "%s", name);
    x->op_type = t->names[k][6];
    x->name = t->names[k][7];
    for (; in[n]; n++) {
        snprintf(t->names[k][n], 32, "%s", in[n]);
        t->io[k][n] = t->names[k][n];
    }
    snprintf(t->names[k][5], 32, "%s", out);
    t->io[k][n] = t->names[k][5];
    x->n_input = n;
    x->input = t->io[k];
    x->n_output = 1;
    x->output = t->io[k] + n;
    x->attribute = t->attr_p[k];
    t->node_p[k] = x;
    return x;
}

static Onnx__AttributeProto *tm_attr(tm *t, Onnx__NodeProto *n,
                                     const char *name, int type)
{
    size_t k = (size_t)(n - t->node), a = n->n_attribute++;
    ck_assert_uint_lt(a, TM_ATTRS);
    Onnx__AttributeProto *x = &t->attr[k][a];
    onnx__attribute_proto__init(x);
    x->name = (char *)(uintptr_t)name;
    x->has_type = 1;
    x->type = (Onnx__AttributeProto__AttributeType)type;
    t->attr_p[k][a] = x;
    return x;
}

static void tm_attr_f(tm *t, Onnx__NodeProto *n, const char *name, float f)
{
    Onnx__AttributeProto *a =
        tm_attr(t, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = f;
}

static void tm_attr_i(tm *t, Onnx__NodeProto *n, const char *name,
                      int64_t i)
{
    Onnx__AttributeProto *a =
        tm_attr(t, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = i;
}

/* The packed bytes (malloc'ed) of the model. */
static uint8_t *tm_pack(const tm *t, size_t *n)
{
    *n = onnx__model_proto__get_packed_size(&t->model);
    uint8_t *b = malloc(*n ? *n : 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(onnx__model_proto__pack(&t->model, b), *n);
    return b;
}

/* ------------------------------------------------------------ the reference MLP
 * x [batch, 3] -> gemm0 (transB 1, W0 stored 2x3, b0 [2]) -> relu0 ->
 * gemm1 (W1 2x2, b1 [1, 2]) -> softmax0 -> y [batch, 2]. The weights are
 * float32-exact (multiples of 1/8), so every storage gives the same
 * doubles. */
static const double W0[6] = {0.5, -1.0, 0.25, 1.5, 0.125, -0.75}; /* 2x3 */
static const double B0[2] = {0.25, -0.5};
static const double W1[4] = {1.0, -2.0, 0.5, 0.75};               /* 2x2 */
static const double B1[2] = {0.125, -0.25};

static tm *mlp_model(int64_t opset, int32_t dt, int where)
{
    tm *t = tm_new(opset);
    int64_t in[2] = {0, 3}, d0[2] = {2, 3}, d1[2] = {2, 2}, v2[1] = {2},
            r2[2] = {1, 2};
    tm_input(t, "x", dt, 2, in);
    tm_output(t, "y", dt, 2);
    tm_tensor(t, "W0", dt, where, 2, d0, W0);
    tm_tensor(t, "b0", dt, where, 1, v2, B0);
    tm_tensor(t, "W1", dt, where, 2, d1, W1);
    tm_tensor(t, "b1", dt, where, 2, r2, B1);
    Onnx__NodeProto *g = tm_node(t, "Gemm", "gemm0",
                                 (const char *[]){"x", "W0", "b0", NULL}, "h");
    tm_attr_i(t, g, "transB", 1);
    tm_node(t, "Relu", "relu0", (const char *[]){"h", NULL}, "r");
    tm_node(t, "Gemm", "gemm1", (const char *[]){"r", "W1", "b1", NULL}, "z");
    Onnx__NodeProto *s = tm_node(t, "Softmax", "softmax0",
                                 (const char *[]){"z", NULL}, "y");
    if (opset >= 13) tm_attr_i(t, s, "axis", -1);
    return t;
}

/* The MLP's outputs for m rows of X (closed form, long double). */
static void mlp_reference(const double *X, size_t m, double *Y)
{
    for (size_t i = 0; i < m; i++) {
        long double h[2], z[2], mx, s = 0;
        for (int j = 0; j < 2; j++) {
            h[j] = B0[j];
            for (int k = 0; k < 3; k++) h[j] += (long double)X[3 * i + k] *
                                                W0[3 * j + k];
            if (h[j] < 0) h[j] = 0;
        }
        for (int j = 0; j < 2; j++)
            z[j] = B1[j] + h[0] * W1[j] + h[1] * W1[2 + j];
        mx = z[0] > z[1] ? z[0] : z[1];
        for (int j = 0; j < 2; j++) s += expl(z[j] - mx);
        for (int j = 0; j < 2; j++) Y[2 * i + j] = (double)(expl(z[j] - mx) / s);
    }
}

static const double XS[4 * 3] = {1, 2, 3, -1, 0.5, 2, 0, 0, 0, 3, -2, 1};

/* ------------------------------------------------------------ loading helpers */
#define SENTINEL SENTINEL_NET

/* Load n bytes through a fresh counting allocator; on failure *out stays
 * untouched and everything is returned. */
static nn_status load(const uint8_t *b, size_t n, nn_net_t **net,
                      nn_error_info *e, tu_counter *c)
{
    memset(c, 0, sizeof *c);
    nn_allocator a = tu_allocator(c);
    memset(e, 0, sizeof *e);
    *net = SENTINEL;
    nn_status st = nn_onnx_load_mem(net, b, n, &a, e);
    if (st) {
        ck_assert_ptr_eq(*net, SENTINEL);
        TU_ASSERT_BALANCED(c);
    }
    return st;
}

/* The model t must load, its predictions on XS match want (m rows of k)
 * within tol; returns the network (its allocator's counter in *c). */
static nn_net_t *load_ok(const tm *t, tu_counter *c)
{
    size_t n;
    uint8_t *b = tm_pack(t, &n);
    nn_net_t *net;
    nn_error_info e;
    nn_status st = load(b, n, &net, &e, c);
    ck_assert_msg(st == NN_OK, "load: %s (%s)", nn_strerror(st), e.message);
    free(b);
    return net;
}

static void assert_predicts(const nn_net_t *net, const double *X, size_t m,
                            const double *want, double tol)
{
    size_t k = nn_net_n_out(net);
    double *Y = tu_dalloc(m * k);
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, m, NN_ROW_MAJOR, X,
                                 nn_net_n_in(net), Y, k));
    for (size_t i = 0; i < m * k; i++)
        ck_assert_msg(fabs(Y[i] - want[i]) <= tol, "y[%zu] = %.17g, want "
                      "%.17g", i, Y[i], want[i]);
    free(Y);
}

/* A malformed model: status st, and a message holding each of the strings
 * (NULL-terminated list). */
static void expect_fail(const tm *t, nn_status want, const char *const *has)
{
    size_t n;
    uint8_t *b = tm_pack(t, &n);
    nn_net_t *net;
    nn_error_info e;
    tu_counter c;
    nn_status st = load(b, n, &net, &e, &c);
    ck_assert_msg(st == want, "status %d (%s), want %d; message: %s", (int)st,
                  nn_strerror(st), (int)want, e.message);
    for (; *has; has++)
        ck_assert_msg(strstr(e.message, *has), "message \"%s\" lacks \"%s\"",
                      e.message, *has);
    free(b);
}

#define FAILS(t, st, ...) expect_fail((t), (st), (const char *[]){__VA_ARGS__, NULL})

static int64_t layer_int(const nn_net_t *net, size_t l, int32_t key)
{
    int64_t v = -1;
    NN_OK_OR_FAIL(nn_net_get_layer_int(net, l, key, &v));
    return v;
}

static double layer_real(const nn_net_t *net, size_t l, int32_t key)
{
    double v = -1;
    NN_OK_OR_FAIL(nn_net_get_layer_real(net, l, key, &v));
    return v;
}

static int64_t net_loss(const nn_net_t *net)
{
    int64_t v = -1;
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_LOSS, &v));
    return v;
}

/* ------------------------------------------------------------ import: values */
/* The MLP in every storage (float32/float64, raw/typed) and at opsets 6
 * (Gemm with broadcast), 11 (Softmax's old default axis), 13, 17, 21:
 * architecture, loss, W = B^T exactly, and the closed-form outputs. */
START_TEST(test_import_mlp)
{
    const int64_t opsets[] = {6, 11, 13, 17, 21};
    for (int o = 0; o < 5; o++)
        for (int dt = 0; dt < 2; dt++)
            for (int where = 0; where < 2; where++) {
                tm *t = mlp_model(opsets[o], dt ? F64 : F32, where);
                if (opsets[o] < 7) {
                    tm_attr_i(t, &t->node[0], "broadcast", 1);
                    tm_attr_i(t, &t->node[2], "broadcast", 1);
                }
                tu_counter c;
                nn_net_t *net = load_ok(t, &c);
                ck_assert_uint_eq(nn_net_n_in(net), 3);
                ck_assert_uint_eq(nn_net_n_layers(net), 2);
                ck_assert_uint_eq(nn_net_layer_n_out(net, 0), 2);
                ck_assert_int_eq(layer_int(net, 0, NN_LAYER_ACTIVATION),
                                 NN_ACT_RELU);
                ck_assert_int_eq(layer_int(net, 1, NN_LAYER_ACTIVATION),
                                 NN_ACT_SOFTMAX);
                ck_assert_int_eq(net_loss(net), NN_LOSS_SOFTMAX_CE);
                const double *p = nn_net_params(net);
                for (int i = 0; i < 3; i++) /* W(i, j) = W0 stored (j, i) */
                    for (int j = 0; j < 2; j++)
                        ck_assert(p[2 * i + j] == W0[3 * j + i]);
                ck_assert(p[6] == B0[0] && p[7] == B0[1]);
                ck_assert_mem_eq(p + 8, W1, sizeof W1);
                ck_assert_mem_eq(p + 12, B1, sizeof B1);
                double want[8];
                mlp_reference(XS, 4, want);
                assert_predicts(net, XS, 4, want, 1e-15);
                nn_net_destroy(net);
                TU_ASSERT_BALANCED(&c);
                free(t);
            }
}
END_TEST

/* float32 weights that are not short decimals come in exactly: the double
 * of each float (here 0.1f = 0.100000001490116...). */
START_TEST(test_import_float32_exact)
{
    tm *t = tm_new(13);
    int64_t in[2] = {0, 2}, dw[2] = {2, 1}, db[1] = {1};
    const double w[2] = {0.1, 1.0 / 3}, b[1] = {-0.7};
    tm_input(t, "x", F32, 2, in);
    tm_output(t, "y", F32, 1);
    tm_tensor(t, "w", F32, RAW, 2, dw, w);
    tm_tensor(t, "b", F32, TYPED, 1, db, b);
    tm_node(t, "MatMul", "mm", (const char *[]){"x", "w", NULL}, "z");
    tm_node(t, "Add", "add", (const char *[]){"b", "z", NULL}, "y");
    tu_counter c;
    nn_net_t *net = load_ok(t, &c);
    const double *p = nn_net_params(net);
    ck_assert(p[0] == (double)0.1f && p[1] == (double)(1.0f / 3));
    ck_assert(p[2] == (double)-0.7f);
    ck_assert(p[0] != 0.1);
    ck_assert_int_eq(layer_int(net, 0, NN_LAYER_ACTIVATION), NN_ACT_IDENTITY);
    ck_assert_int_eq(net_loss(net), NN_LOSS_MSE);
    nn_net_destroy(net);
    free(t);
}
END_TEST

/* Gemm's alpha and beta are folded into W and b (powers of two: exact),
 * transB 0; the bias may be [1, n]; Identity anywhere; a sigmoid output
 * gives BCE. */
START_TEST(test_import_gemm_alpha_beta)
{
    tm *t = tm_new(17);
    int64_t in[2] = {5, 2}, dw[2] = {2, 3}, db[2] = {1, 3};
    const double w[6] = {1, 2, 3, -1, -2, -3}, b[3] = {0.5, 0.25, -1};
    tm_input(t, "x", F64, 2, in); /* a fixed batch of 5: any batch serves */
    tm_output(t, "y", F64, 3);
    tm_tensor(t, "w", F64, RAW, 2, dw, w);
    tm_tensor(t, "b", F64, TYPED, 2, db, b);
    tm_node(t, "Identity", "id0", (const char *[]){"x", NULL}, "x1");
    Onnx__NodeProto *g =
        tm_node(t, "Gemm", "g", (const char *[]){"x1", "w", "b", NULL}, "z");
    tm_attr_f(t, g, "alpha", 0.5f);
    tm_attr_f(t, g, "beta", 4.0f);
    tm_attr_i(t, g, "transA", 0);
    tm_attr_i(t, g, "transB", 0);
    tm_node(t, "Identity", "id1", (const char *[]){"z", NULL}, "z1");
    tm_node(t, "Sigmoid", "s", (const char *[]){"z1", NULL}, "s1");
    tm_node(t, "Identity", "id2", (const char *[]){"s1", NULL}, "y");
    tu_counter c;
    nn_net_t *net = load_ok(t, &c);
    const double *p = nn_net_params(net);
    for (int i = 0; i < 6; i++) ck_assert(p[i] == 0.5 * w[i]);
    for (int j = 0; j < 3; j++) ck_assert(p[6 + j] == 4 * b[j]);
    ck_assert_int_eq(net_loss(net), NN_LOSS_BCE);
    const double X[2] = {1, -2};
    double want[3];
    for (int j = 0; j < 3; j++) {
        double z = 0.5 * (X[0] * w[j] + X[1] * w[3 + j]) + 4 * b[j];
        want[j] = 1 / (1 + exp(-z));
    }
    assert_predicts(net, X, 1, want, 1e-15);
    nn_net_destroy(net);
    free(t);
}
END_TEST

/* Flatten of [batch, 2, 2] before the first layer, LeakyRelu (alpha 0.3f
 * becomes the slope 0.3; without alpha, 0.01), Tanh, a Constant holding
 * weights, a MatMul without bias. */
START_TEST(test_import_flatten_leaky_constant)
{
    tm *t = tm_new(13);
    int64_t in[3] = {0, 2, 2}, dw[2] = {4, 2}, db[1] = {2}, d2[2] = {2, 2};
    const double w[8] = {1, -1, 0.5, 2, -0.5, 1, 0.25, -2}, b[2] = {-1, 1};
    const double w2[4] = {1, 2, 3, 4};
    tm_input(t, "x", F32, 3, in);
    tm_output(t, "y", F32, 2);
    tm_tensor(t, "w", F32, TYPED, 2, dw, w);
    tm_tensor(t, "b", F32, RAW, 1, db, b);
    Onnx__TensorProto *k = tm_tensor_(t, "c", F32, RAW, 2, d2, w2, true);
    Onnx__NodeProto *cn = tm_node(t, "Constant", "const",
                                  (const char *[]){NULL}, "w2");
    Onnx__AttributeProto *a = tm_attr(t, cn, "value",
                                      ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = k;
    tm_attr_i(t, tm_node(t, "Flatten", "flat", (const char *[]){"x", NULL},
                         "f"), "axis", 1);
    tm_node(t, "Gemm", "g", (const char *[]){"f", "w", "b", NULL}, "z");
    tm_attr_f(t, tm_node(t, "LeakyRelu", "lr", (const char *[]){"z", NULL},
                         "a"), "alpha", 0.3f);
    tm_node(t, "MatMul", "mm", (const char *[]){"a", "w2", NULL}, "z2");
    tm_node(t, "Tanh", "th", (const char *[]){"z2", NULL}, "y");
    tu_counter c;
    nn_net_t *net = load_ok(t, &c);
    ck_assert_uint_eq(nn_net_n_in(net), 4);
    ck_assert_int_eq(layer_int(net, 0, NN_LAYER_ACTIVATION),
                     NN_ACT_LEAKY_RELU);
    ck_assert(layer_real(net, 0, NN_LAYER_ACT_PARAM) == 0.3);
    ck_assert_int_eq(layer_int(net, 1, NN_LAYER_ACTIVATION), NN_ACT_TANH);
    ck_assert(nn_net_params(net)[8 + 2 + 4] == 0.0); /* no bias: zero */
    const double X[4] = {1, 2, -3, 0.5};
    double h[2], want[2];
    for (int j = 0; j < 2; j++) {
        h[j] = b[j];
        for (int i = 0; i < 4; i++) h[j] += X[i] * w[2 * i + j];
        h[j] = h[j] > 0 ? h[j] : 0.3 * h[j];
    }
    for (int j = 0; j < 2; j++) want[j] = tanh(h[0] * w2[j] + h[1] * w2[2 + j]);
    assert_predicts(net, X, 1, want, 1e-15);
    nn_net_destroy(net);
    /* LeakyRelu without alpha: ONNX's default 0.01 */
    t->node[3].n_attribute = 0;
    net = load_ok(t, &c);
    ck_assert(layer_real(net, 0, NN_LAYER_ACT_PARAM) == 0.01);
    nn_net_destroy(net);
    free(t);
}
END_TEST

/* Older exporters list the initializers among the graph inputs too. */
START_TEST(test_import_initializers_as_inputs)
{
    tm *t = mlp_model(11, F32, RAW);
    int64_t d[2] = {2, 3};
    tm_input(t, "W0", F32, 2, d);
    tu_counter c;
    nn_net_t *net = load_ok(t, &c);
    double want[8];
    mlp_reference(XS, 4, want);
    assert_predicts(net, XS, 4, want, 1e-15);
    nn_net_destroy(net);
    free(t);
}
END_TEST

/* ------------------------------------------------------------ ONNX test data
 * PyTorch's Linear(10, 8) from the ONNX test data (opset 6, Gemm with
 * broadcast and transB): libnn's predictions in double against the stored
 * float32 outputs. Skipped when libonnx-testdata is not installed. */
#define TESTDATA "/usr/share/libonnx-testdata/data/pytorch-converted/test_Linear"

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    uint8_t *b = malloc(1 << 16);
    ck_assert_ptr_nonnull(b);
    *n = fread(b, 1, 1 << 16, f);
    fclose(f);
    return b;
}

/* The float32 values of a TensorProto file, as doubles (malloc'ed). */
static double *tensor_file(const char *path, size_t *count)
{
    size_t n;
    uint8_t *b = slurp(path, &n);
    ck_assert_ptr_nonnull(b);
    Onnx__TensorProto *t = onnx__tensor_proto__unpack(NULL, n, b);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->data_type, F32);
    size_t c = 1;
    for (size_t i = 0; i < t->n_dims; i++) c *= (size_t)t->dims[i];
    double *v = tu_dalloc(c);
    for (size_t i = 0; i < c; i++) {
        float f;
        if (t->has_raw_data) memcpy(&f, t->raw_data.data + 4 * i, 4);
        else f = t->float_data[i];
        v[i] = f;
    }
    *count = c;
    onnx__tensor_proto__free_unpacked(t, NULL);
    free(b);
    return v;
}

START_TEST(test_onnx_testdata_linear)
{
    if (access(TESTDATA "/model.onnx", R_OK) != 0) {
        printf("onnx: %s not installed, test skipped\n", TESTDATA);
        return;
    }
    nn_net_t *net = NULL;
    nn_error_info e;
    NN_OK_OR_FAIL(nn_onnx_load(&net, TESTDATA "/model.onnx", NULL, &e));
    ck_assert_uint_eq(nn_net_n_in(net), 10);
    ck_assert_uint_eq(nn_net_n_out(net), 8);
    size_t nx, ny;
    double *X = tensor_file(TESTDATA "/test_data_set_0/input_0.pb", &nx);
    double *Y = tensor_file(TESTDATA "/test_data_set_0/output_0.pb", &ny);
    ck_assert_uint_eq(nx / 10, ny / 8);
    /* float32 PyTorch against double: a few float32 ulps of |y| <= ~2 */
    assert_predicts(net, X, nx / 10, Y, 1e-6);
    free(X);
    free(Y);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ import: refusals */
/* The MLP at opset 13 in float32, to be spoilt. */
static tm *good(void) { return mlp_model(13, F32, RAW); }

START_TEST(test_refuse_ops)
{
    tm *t = good();
    t->node[1].op_type = "Elu";
    FAILS(t, NN_ERR_UNSUPPORTED, "node 1 \"relu0\" (Elu)", "not supported");
    free(t);
    t = good();
    t->node[2].op_type = "Dropout";
    FAILS(t, NN_ERR_UNSUPPORTED, "node 2 \"gemm1\" (Dropout)");
    free(t);
    t = good();
    t->node[1].domain = "com.microsoft";
    FAILS(t, NN_ERR_UNSUPPORTED, "node 1 \"relu0\" (Relu)", "domain",
          "com.microsoft");
    free(t);
    t = good();
    tm_attr_i(t, &t->node[0], "transA", 1);
    FAILS(t, NN_ERR_UNSUPPORTED, "node 0 \"gemm0\" (Gemm)", "transA 1");
    free(t);
    t = good();
    tm_attr_i(t, &t->node[0], "broadcast", 1); /* gone since opset 7 */
    FAILS(t, NN_ERR_UNSUPPORTED, "node 0", "attribute \"broadcast\"");
    free(t);
    t = mlp_model(6, F32, RAW); /* opset 6 without broadcast = 1 */
    FAILS(t, NN_ERR_UNSUPPORTED, "node 0 \"gemm0\" (Gemm)", "broadcast");
    free(t);
    t = good();
    t->attr[3][0].i = 0;
    FAILS(t, NN_ERR_UNSUPPORTED, "node 3 \"softmax0\" (Softmax)", "axis 0");
    free(t);
    t = good();
    t->attr[3][0].type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
    FAILS(t, NN_ERR_FORMAT, "node 3", "attribute \"axis\": wrong type");
    free(t);
}
END_TEST

/* Branches, dead ends, cycles: the graph must be one chain. */
START_TEST(test_refuse_branches)
{
    tm *t = good();
    tm_node(t, "Relu", "side", (const char *[]){"h", NULL}, "h2");
    FAILS(t, NN_ERR_UNSUPPORTED, "value \"h\" is used 2 times", "branch");
    free(t);
    t = good();
    tm_node(t, "Identity", "tap", (const char *[]){"y", NULL}, "q");
    FAILS(t, NN_ERR_UNSUPPORTED, "\"y\" is used 2 times",
          "one as the graph output");
    free(t);
    t = good();
    tm_node(t, "Sigmoid", "orphan", (const char *[]){"elsewhere", NULL}, "o");
    FAILS(t, NN_ERR_UNSUPPORTED, "node 4 \"orphan\" (Sigmoid)",
          "not on the chain");
    free(t);
    t = good();
    t->out_p[0]->name = "nope";
    FAILS(t, NN_ERR_UNSUPPORTED, "ends at \"y\"", "graph output \"nope\"");
    free(t);
    t = good(); /* softmax0 -> s, and s -> Identity -> s */
    t->node[3].output[0] = "s";
    tm_node(t, "Identity", "loop", (const char *[]){"s", NULL}, "s");
    FAILS(t, NN_ERR_FORMAT, "node 4 \"loop\" (Identity)", "cycle");
    free(t);
    t = good(); /* both inputs of an Add are the data */
    t->node[3].op_type = "Add";
    t->node[3].n_input = 2;
    t->node[3].input[1] = t->node[3].input[0];
    t->node[3].n_attribute = 0;
    FAILS(t, NN_ERR_UNSUPPORTED, "value \"z\" is used 2 times");
    free(t);
}
END_TEST

/* Activations in the wrong places, a Flatten after a layer, a softmax of
 * one unit, a negative slope. */
START_TEST(test_refuse_layout)
{
    tm *t = good();
    t->node[0].input[0] = "x0";
    tm_node(t, "Relu", "first", (const char *[]){"x", NULL}, "x0");
    FAILS(t, NN_ERR_UNSUPPORTED, "node 4 \"first\" (Relu)",
          "activation before the first layer");
    free(t);
    t = good();
    t->node[2].input[0] = "r2";
    tm_node(t, "Tanh", "again", (const char *[]){"r", NULL}, "r2");
    FAILS(t, NN_ERR_UNSUPPORTED, "node 4 \"again\" (Tanh)",
          "two activations in a row");
    free(t);
    t = good();
    t->node[2].input[0] = "r2";
    tm_node(t, "Flatten", "late", (const char *[]){"r", NULL}, "r2");
    FAILS(t, NN_ERR_UNSUPPORTED, "node 4 \"late\" (Flatten)",
          "after the first layer");
    free(t);
    t = good();
    t->node[1].op_type = "LeakyRelu";
    tm_attr_f(t, &t->node[1], "alpha", -0.5f);
    FAILS(t, NN_ERR_UNSUPPORTED, "node 1", "alpha -0.5");
    free(t);
    /* x [batch, 2] -> Gemm to 1 unit -> Softmax */
    t = tm_new(13);
    int64_t in[2] = {0, 2}, dw[2] = {2, 1};
    const double w[2] = {1, 2};
    tm_input(t, "x", F32, 2, in);
    tm_output(t, "y", F32, 1);
    tm_tensor(t, "w", F32, RAW, 2, dw, w);
    tm_node(t, "MatMul", "mm", (const char *[]){"x", "w", NULL}, "z");
    tm_node(t, "Softmax", "sm", (const char *[]){"z", NULL}, "y");
    FAILS(t, NN_ERR_UNSUPPORTED, "node 1 \"sm\" (Softmax)", "one unit");
    t->node[1].op_type = "Identity";
    t->node[0].op_type = "Relu";
    FAILS(t, NN_ERR_FORMAT, "node 0 \"mm\" (Relu)", "2 inputs");
    free(t);
}
END_TEST

/* Initializers: types, external data, sizes, shapes that do not chain,
 * sharing, names. */
START_TEST(test_refuse_tensors)
{
    tm *t = good();
    t->tensor[1].data_type = I64;
    FAILS(t, NN_ERR_UNSUPPORTED, "node 0 \"gemm0\" (Gemm)",
          "initializer \"b0\" (input C)", "INT64");
    free(t);
    t = good();
    t->tensor[2].data_type = F64; /* its raw bytes then hold 2 doubles */
    FAILS(t, NN_ERR_FORMAT, "node 2 \"gemm1\"", "initializer \"W1\" (B) is "
          "DOUBLE, the data input FLOAT");
    free(t);
    t = good();
    t->tensor[0].has_data_location = 1;
    t->tensor[0].data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    FAILS(t, NN_ERR_UNSUPPORTED, "node 0", "initializer \"W0\"",
          "external data");
    free(t);
    t = good();
    t->tensor[2].raw_data.len -= 1;
    FAILS(t, NN_ERR_FORMAT, "node 2", "initializer \"W1\"",
          "15 bytes of raw_data, not 4 values of FLOAT");
    free(t);
    t = mlp_model(13, F64, TYPED);
    t->tensor[2].n_double_data = 3;
    FAILS(t, NN_ERR_FORMAT, "node 2", "initializer \"W1\" (B) of shape "
          "[2, 2] holds 3 values, not 4");
    free(t);
    t = good();
    t->tensor[2].n_float_data = 4; /* raw_data and float_data at once */
    t->tensor[2].float_data = t->f32[2];
    FAILS(t, NN_ERR_FORMAT, "initializer \"W1\"", "wrong field");
    free(t);
    t = good();
    t->dims[2][0] = -2;
    FAILS(t, NN_ERR_FORMAT, "initializer \"W1\" (B) has shape [-2, 2]");
    free(t);
    t = good(); /* W1 as [1, 4]: 1 input after a layer of 2 units */
    t->dims[2][0] = 1;
    t->dims[2][1] = 4;
    FAILS(t, NN_ERR_FORMAT, "node 2 \"gemm1\" (Gemm)", "shape [1, 4]",
          "1 inputs", "has 2 features");
    free(t);
    t = good(); /* a bias of 3 values for 2 units */
    int64_t d3[1] = {3};
    const double v3[3] = {1, 2, 3};
    t->node[0].input[2] = "b3";
    tm_tensor(t, "b3", F32, RAW, 1, d3, v3);
    t->node[0].n_input = 3;
    FAILS(t, NN_ERR_FORMAT, "node 0", "input C has shape [3]");
    free(t);
    t = good(); /* the weights from a value the graph computes */
    t->node[2].input[1] = "nothing";
    FAILS(t, NN_ERR_UNSUPPORTED, "node 2", "input B \"nothing\"",
          "neither an initializer nor a Constant");
    free(t);
    t = good(); /* gemm1 takes b0 as its bias too */
    t->node[2].input[2] = "b0";
    FAILS(t, NN_ERR_UNSUPPORTED, "initializer \"b0\"", "shared weights");
    free(t);
    t = good();
    t->tensor[3].name = "b0";
    FAILS(t, NN_ERR_FORMAT, "initializer \"b0\" is defined twice");
    free(t);
    t = good(); /* a name with bytes that must not reach the message */
    t->tensor[0].name = "W\x1b[2J\n";
    t->node[0].input[1] = t->tensor[0].name;
    t->tensor[0].data_type = 7;
    FAILS(t, NN_ERR_UNSUPPORTED, "initializer \"W\\x1b[2J\\x0a\"");
    free(t);
}
END_TEST

/* The model, the graph's ends, the data input's type and shape. */
START_TEST(test_refuse_graph)
{
    tm *t = mlp_model(5, F32, RAW);
    FAILS(t, NN_ERR_UNSUPPORTED, "opset 5");
    free(t);
    t = mlp_model(22, F32, RAW);
    FAILS(t, NN_ERR_UNSUPPORTED, "opset 22");
    free(t);
    t = good();
    t->opset.domain = "ai.onnx.ml";
    FAILS(t, NN_ERR_FORMAT, "no opset for the default domain");
    free(t);
    t = good();
    t->model.has_ir_version = 0;
    FAILS(t, NN_ERR_FORMAT, "no ir_version");
    free(t);
    t = good();
    t->model.graph = NULL;
    FAILS(t, NN_ERR_FORMAT, "no graph");
    free(t);
    t = good();
    int64_t d2[2] = {0, 3};
    tm_input(t, "x2", F32, 2, d2);
    FAILS(t, NN_ERR_UNSUPPORTED, "2 data inputs");
    free(t);
    t = good();
    t->graph.n_input = 0;
    FAILS(t, NN_ERR_FORMAT, "0 data inputs");
    free(t);
    t = good();
    tm_output(t, "h", F32, 2);
    FAILS(t, NN_ERR_UNSUPPORTED, "2 graph outputs");
    free(t);
    t = good();
    t->tt[0].elem_type = I64;
    FAILS(t, NN_ERR_UNSUPPORTED, "input \"x\"", "INT64");
    free(t);
    t = good(); /* the features symbolic */
    t->dim[0][1].value_case =
        ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    t->dim[0][1].dim_param = "n";
    FAILS(t, NN_ERR_UNSUPPORTED, "input \"x\"", "dimension 1",
          "fixed number of features");
    free(t);
    t = good(); /* [batch, 3, 1] without a Flatten */
    int64_t d3[3] = {0, 3, 1};
    t->n_vi = 0;
    t->graph.n_input = 0;
    t->graph.n_output = 0;
    tm_input(t, "x", F32, 3, d3);
    tm_output(t, "y", F32, 2);
    FAILS(t, NN_ERR_UNSUPPORTED, "node 0 \"gemm0\"", "rank 3",
          "a Flatten (axis 1) must come before the first layer");
    free(t);
    t = good();
    t->dim[1][1].dim_value = 5;
    FAILS(t, NN_ERR_FORMAT, "output \"y\" has 5 columns", "2 units");
    free(t);
    t = good(); /* nothing but an Identity */
    t->graph.n_node = 0;
    t->graph.n_initializer = 0;
    tm_node(t, "Identity", "id", (const char *[]){"x", NULL}, "y");
    FAILS(t, NN_ERR_UNSUPPORTED, "no Gemm or MatMul");
    free(t);
}
END_TEST

/* Bytes that are not a model: empty, every truncation of a valid one,
 * random bytes and random byte flips (no crash, a refusal or a network,
 * never a leak), a libnn model file, nesting deeper than protobuf-c's
 * recursion could take. */
START_TEST(test_refuse_bytes)
{
    nn_net_t *net;
    nn_error_info e;
    tu_counter c;
    ck_assert_int_eq(load((const uint8_t *)"", 0, &net, &e, &c),
                     NN_ERR_FORMAT);
    ck_assert_str_eq(e.message, "empty input");
    tm *t = good();
    size_t n;
    uint8_t *b = tm_pack(t, &n);
    for (size_t k = 1; k < n; k++) { /* protobuf has no end marker, but the
                                      * graph comes before the opsets */
        nn_status st = load(b, k, &net, &e, &c);
        ck_assert_msg(st == NN_ERR_FORMAT, "%zu of %zu bytes: %d (%s)", k, n,
                      (int)st, e.message);
    }
    tu_rng r = {2024};
    uint8_t junk[512];
    int refused = 0, loaded = 0;
    for (int i = 0; i < 400; i++) {
        size_t len = 1 + tu_next(&r) % sizeof junk;
        for (size_t k = 0; k < len; k++) junk[k] = (uint8_t)tu_next(&r);
        nn_status st = load(junk, len, &net, &e, &c);
        ck_assert_msg(st == NN_ERR_FORMAT || st == NN_ERR_UNSUPPORTED,
                      "random bytes: %d", (int)st);
        refused++;
    }
    uint8_t *m = malloc(n);
    ck_assert_ptr_nonnull(m);
    for (int i = 0; i < 2000; i++) {
        memcpy(m, b, n);
        for (int f = 0; f < 1 + i % 3; f++)
            m[tu_next(&r) % n] ^= (uint8_t)(1 + tu_next(&r) % 255);
        nn_status st = load(m, n, &net, &e, &c);
        ck_assert_msg(st == NN_OK || st == NN_ERR_FORMAT ||
                      st == NN_ERR_UNSUPPORTED, "flipped bytes: %d", (int)st);
        if (st == NN_OK) {
            loaded++;
            nn_net_destroy(net);
            TU_ASSERT_BALANCED(&c);
        } else {
            refused++;
        }
    }
    printf("onnx: %zu truncations, %d refused and %d loaded corrupt or "
           "random inputs\n", n - 1, refused, loaded);
    free(m);
    free(b);
    free(t);
    /* a libnn model file */
    tu_layer one = {2, NN_ACT_IDENTITY, 0, 0};
    nn_net_t *src = tu_net_layers(3, 1, &one, NN_LOSS_MSE, NULL);
    size_t mn = 0;
    NN_OK_OR_FAIL(nn_model_save_mem(src, NULL, NULL, 0, &mn));
    uint8_t *mb = malloc(mn);
    NN_OK_OR_FAIL(nn_model_save_mem(src, NULL, mb, mn, &mn));
    ck_assert_int_eq(load(mb, mn, &net, &e, &c), NN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "libnn model file"));
    free(mb);
    nn_net_destroy(src);
}
END_TEST

static size_t put_varint(uint8_t *p, uint64_t v)
{
    size_t k = 0;
    do {
        p[k++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
        v >>= 7;
    } while (v);
    return k;
}

/* A field `num` of wire type 2 around the len bytes at the end of buf
 * (at p .. p + len): written in front of them; returns the new start. */
static uint8_t *wrap(uint8_t *p, size_t *len, unsigned num)
{
    uint8_t head[20];
    size_t h = put_varint(head, (uint64_t)num << 3 | 2);
    h += put_varint(head + h, *len);
    p -= h;
    memcpy(p, head, h);
    *len += h;
    return p;
}

/* A graph input whose type is a sequence of a sequence of ... `depth`
 * deep (TypeProto.sequence_type = 4, Sequence.elem_type = 1): a few bytes
 * per level, one stack frame per level in protobuf-c. */
static uint8_t *deep_model(size_t depth, uint8_t **base, size_t *n)
{
    size_t cap = 12 * depth + 64;
    *base = malloc(cap);
    ck_assert_ptr_nonnull(*base);
    uint8_t *p = *base + cap;
    size_t len = 0;
    for (size_t i = 0; i < depth; i++) {
        p = wrap(p, &len, 1);
        p = wrap(p, &len, 4);
    }
    p = wrap(p, &len, 2); /* ValueInfoProto.type */
    *--p = 'x';
    *--p = 1;
    *--p = 0x0A; /* ValueInfoProto.name = "x" */
    len += 3;
    p = wrap(p, &len, 11); /* GraphProto.input */
    p = wrap(p, &len, 7);  /* ModelProto.graph */
    *--p = 7;
    *--p = 0x08; /* ir_version 7 */
    len += 2;
    *n = len;
    return p;
}

START_TEST(test_refuse_deep_nesting)
{
    uint8_t *base, *p;
    size_t n;
    nn_net_t *net;
    nn_error_info e;
    tu_counter c;
    p = deep_model(40, &base, &n); /* 80 levels + 4: fine, then no opset */
    ck_assert_int_eq(load(p, n, &net, &e, &c), NN_ERR_FORMAT);
    ck_assert_str_eq(e.message, "no opset for the default domain");
    free(base);
    p = deep_model(100000, &base, &n); /* overflows protobuf-c's stack */
    ck_assert_int_eq(load(p, n, &net, &e, &c), NN_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e.message, "nested more than 100 deep"));
    ck_assert_uint_eq(c.allocs, 0); /* refused before unpacking */
    free(base);
}
END_TEST

/* ------------------------------------------------------------ export */
/* A network of every activation: 4 -> 5 relu -> 4 leaky (slope) -> 3 tanh
 * -> 3 identity -> 3 sigmoid -> out (softmax 3 or sigmoid 2 ...), random
 * parameters. */
static nn_net_t *zoo(nn_activation out_act, size_t n_out, double slope,
                     nn_loss loss, const nn_allocator *al)
{
    tu_layer L[6] = {{5, NN_ACT_RELU, 0, 0},    {4, NN_ACT_LEAKY_RELU, slope, 0},
                     {3, NN_ACT_TANH, 0, 0},    {3, NN_ACT_IDENTITY, 0, 0.25},
                     {3, NN_ACT_SIGMOID, 0, 0}, {n_out, out_act, 0, 0}};
    nn_net_t *net = tu_net_layers(4, 6, L, loss, al);
    tu_rng r = {7};
    tu_fill(&r, nn_net_params(net), nn_net_n_params(net), -1.5, 1.5);
    return net;
}

static uint8_t *save_mem(const nn_net_t *net, int32_t flags, size_t *n)
{
    NN_OK_OR_FAIL(nn_onnx_save_mem(net, flags, NULL, 0, n));
    uint8_t *b = malloc(*n);
    ck_assert_ptr_nonnull(b);
    size_t again = 0;
    NN_OK_OR_FAIL(nn_onnx_save_mem(net, flags, b, *n, &again));
    ck_assert_uint_eq(again, *n);
    return b;
}

/* The little-endian doubles of a raw_data initializer equal p[0..n). */
static void assert_raw(const Onnx__TensorProto *t, const double *p, size_t n)
{
    ck_assert_int_eq(t->data_type, F64);
    ck_assert(t->has_raw_data);
    ck_assert_uint_eq(t->raw_data.len, 8 * n);
    for (size_t i = 0; i < n; i++) {
        uint64_t u = 0, v;
        for (int k = 7; k >= 0; k--) u = (u << 8) | t->raw_data.data[8 * i + k];
        memcpy(&v, &p[i], 8);
        ck_assert_uint_eq(u, v);
    }
}

static void assert_io(const Onnx__ValueInfoProto *v, const char *name,
                      size_t n)
{
    ck_assert_str_eq(v->name, name);
    ck_assert_int_eq(v->type->value_case, ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE);
    const Onnx__TypeProto__Tensor *t = v->type->tensor_type;
    ck_assert_int_eq(t->elem_type, F64);
    ck_assert_uint_eq(t->shape->n_dim, 2);
    ck_assert_int_eq(t->shape->dim[0]->value_case,
                     ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM);
    ck_assert_str_eq(t->shape->dim[0]->dim_param, "batch");
    ck_assert_int_eq(t->shape->dim[1]->dim_value, (int64_t)n);
}

/* What the file holds, field by field (docs/ONNX.md, "Export"). */
START_TEST(test_export_structure)
{
    for (int logits = 0; logits < 2; logits++) {
        nn_net_t *net = zoo(NN_ACT_SOFTMAX, 3, 0.2, NN_LOSS_SOFTMAX_CE, NULL);
        size_t n;
        uint8_t *b = save_mem(net, logits ? NN_ONNX_LOGITS : 0, &n);
        Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, n, b);
        ck_assert_ptr_nonnull(m);
        ck_assert_int_eq(m->ir_version, 7);
        ck_assert_uint_eq(m->n_opset_import, 1);
        ck_assert_str_eq(m->opset_import[0]->domain, "");
        ck_assert_int_eq(m->opset_import[0]->version, NN_ONNX_OPSET);
        ck_assert_int_eq(NN_ONNX_OPSET, 13);
        ck_assert_str_eq(m->producer_name, "libnn");
        ck_assert_str_eq(m->producer_version, nn_version_string());
        const Onnx__GraphProto *g = m->graph;
        ck_assert_uint_eq(g->n_input, 1);
        ck_assert_uint_eq(g->n_output, 1);
        assert_io(g->input[0], "input", 4);
        assert_io(g->output[0], "output", 3);
        /* Gemm + act per layer; identity: none; logits: no last softmax */
        static const char *const ops[] = {"Gemm", "Relu", "Gemm", "LeakyRelu",
            "Gemm", "Tanh", "Gemm", "Gemm", "Sigmoid", "Gemm", "Softmax"};
        size_t want = logits ? 10 : 11;
        ck_assert_uint_eq(g->n_node, want);
        for (size_t k = 0; k < want; k++) {
            const Onnx__NodeProto *nd = g->node[k];
            ck_assert_str_eq(nd->op_type, ops[k]);
            ck_assert_uint_eq(nd->n_input, strcmp(ops[k], "Gemm") ? 1 : 3);
            ck_assert_uint_eq(nd->n_output, 1);
            if (k) ck_assert_str_eq(nd->input[0], g->node[k - 1]->output[0]);
            ck_assert_uint_eq(nd->n_attribute,
                              k == 3 || (k == 10) ? 1 : 0); /* transB 0: default */
        }
        ck_assert_str_eq(g->node[0]->input[0], "input");
        ck_assert_str_eq(g->node[want - 1]->output[0], "output");
        ck_assert_str_eq(g->node[3]->attribute[0]->name, "alpha");
        ck_assert(g->node[3]->attribute[0]->f == 0.2f);
        if (!logits) {
            ck_assert_str_eq(g->node[10]->attribute[0]->name, "axis");
            ck_assert_int_eq(g->node[10]->attribute[0]->i, -1);
        }
        /* W as stored (n_in x n_out) then b, per layer */
        ck_assert_uint_eq(g->n_initializer, 12);
        for (size_t l = 0; l < 6; l++) {
            size_t wo, bo, ni = nn_net_layer_n_in(net, l),
                           no = nn_net_layer_n_out(net, l);
            NN_OK_OR_FAIL(nn_net_layer_offset(net, l, &wo, &bo));
            const Onnx__TensorProto *W = g->initializer[2 * l],
                                    *B = g->initializer[2 * l + 1];
            ck_assert_uint_eq(W->n_dims, 2);
            ck_assert_int_eq(W->dims[0], (int64_t)ni);
            ck_assert_int_eq(W->dims[1], (int64_t)no);
            ck_assert_uint_eq(B->n_dims, 1);
            ck_assert_int_eq(B->dims[0], (int64_t)no);
            assert_raw(W, nn_net_params(net) + wo, ni * no);
            assert_raw(B, nn_net_params(net) + bo, no);
        }
        onnx__model_proto__free_unpacked(m, NULL);
        free(b);
        nn_net_destroy(net);
    }
}
END_TEST

/* Export -> import: architecture, slopes, parameters and predictions
 * bitwise; the loss follows the output activation. */
static void round_trip(nn_net_t *net, nn_loss want_loss)
{
    size_t n;
    uint8_t *b = save_mem(net, 0, &n);
    nn_net_t *back;
    nn_error_info e;
    tu_counter c;
    nn_status st = load(b, n, &back, &e, &c);
    ck_assert_msg(st == NN_OK, "%s", e.message);
    ck_assert_uint_eq(nn_net_n_in(back), nn_net_n_in(net));
    ck_assert_uint_eq(nn_net_n_layers(back), nn_net_n_layers(net));
    for (size_t l = 0; l < nn_net_n_layers(net); l++) {
        ck_assert_uint_eq(nn_net_layer_n_out(back, l),
                          nn_net_layer_n_out(net, l));
        int64_t act = layer_int(net, l, NN_LAYER_ACTIVATION);
        ck_assert_int_eq(layer_int(back, l, NN_LAYER_ACTIVATION), act);
        if (act == NN_ACT_LEAKY_RELU)
            ck_assert(layer_real(back, l, NN_LAYER_ACT_PARAM) ==
                      layer_real(net, l, NN_LAYER_ACT_PARAM));
    }
    ck_assert_int_eq(net_loss(back), want_loss);
    ck_assert_uint_eq(nn_net_n_params(back), nn_net_n_params(net));
    ck_assert_mem_eq(nn_net_params(back), nn_net_params(net),
                     nn_net_n_params(net) * sizeof(double));
    enum { M = 9 };
    size_t ni = nn_net_n_in(net), no = nn_net_n_out(net);
    double X[M * 8], Y1[M * 8], Y2[M * 8];
    tu_rng r = {99};
    tu_fill(&r, X, M * ni, -3, 3);
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, M, NN_ROW_MAJOR, X, ni, Y1, no));
    NN_OK_OR_FAIL(nn_net_predict(back, NULL, M, NN_ROW_MAJOR, X, ni, Y2, no));
    ck_assert_mem_eq(Y1, Y2, M * no * sizeof(double));
    nn_net_destroy(back);
    TU_ASSERT_BALANCED(&c);
    free(b);
}

START_TEST(test_round_trip)
{
    static const struct { nn_activation act; size_t n; nn_loss loss, back; }
    outs[] = {{NN_ACT_SOFTMAX, 3, NN_LOSS_SOFTMAX_CE, NN_LOSS_SOFTMAX_CE},
              {NN_ACT_SIGMOID, 2, NN_LOSS_BCE, NN_LOSS_BCE},
              {NN_ACT_SIGMOID, 2, NN_LOSS_MSE, NN_LOSS_BCE}, /* documented */
              {NN_ACT_IDENTITY, 1, NN_LOSS_MSE, NN_LOSS_MSE},
              {NN_ACT_TANH, 2, NN_LOSS_MSE, NN_LOSS_MSE},
              {NN_ACT_RELU, 2, NN_LOSS_MSE, NN_LOSS_MSE},
              {NN_ACT_LEAKY_RELU, 2, NN_LOSS_MSE, NN_LOSS_MSE}};
    /* slopes of up to 6 significant digits come back exactly */
    static const double slopes[] = {0.01, 0.2, 0.3, 0.125, 1e-3, 0.123456, 0};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++)
        for (size_t s = 0; s < sizeof slopes / sizeof slopes[0]; s++) {
            nn_net_t *net = zoo(outs[i].act, outs[i].n, slopes[s],
                                outs[i].loss, NULL);
            round_trip(net, outs[i].back);
            nn_net_destroy(net);
        }
}
END_TEST

/* A slope with more digits than float32 holds comes back as the float's
 * shortest decimal: within float32's precision. */
START_TEST(test_round_trip_slope_float32)
{
    nn_net_t *net = zoo(NN_ACT_IDENTITY, 2, 0.123456789, NN_LOSS_MSE, NULL);
    size_t n;
    uint8_t *b = save_mem(net, 0, &n);
    nn_net_t *back = NULL;
    NN_OK_OR_FAIL(nn_onnx_load_mem(&back, b, n, NULL, NULL));
    double s = layer_real(back, 1, NN_LAYER_ACT_PARAM);
    ck_assert(s == 0.12345679); /* the shortest decimal of 0.123456789f */
    ck_assert(fabs(s - 0.123456789) < 0.123456789 * 0x1p-24);
    nn_net_destroy(back);
    free(b);
    nn_net_destroy(net);
}
END_TEST

/* NN_ONNX_LOGITS: the graph ends at the output layer's X.W + b, computed
 * here from the parameters (a one-layer softmax network). */
START_TEST(test_export_logits)
{
    tu_layer L = {3, NN_ACT_SOFTMAX, 0, 0};
    nn_net_t *net = tu_net_layers(2, 1, &L, NN_LOSS_SOFTMAX_CE, NULL);
    tu_rng r = {3};
    tu_fill(&r, nn_net_params(net), nn_net_n_params(net), -2, 2);
    size_t n;
    uint8_t *b = save_mem(net, NN_ONNX_LOGITS, &n);
    nn_net_t *back = NULL;
    NN_OK_OR_FAIL(nn_onnx_load_mem(&back, b, n, NULL, NULL));
    ck_assert_int_eq(layer_int(back, 0, NN_LAYER_ACTIVATION), NN_ACT_IDENTITY);
    ck_assert_int_eq(net_loss(back), NN_LOSS_MSE);
    const double X[4] = {0.5, -1, 2, 0.25}, *p = nn_net_params(net);
    double want[6];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            want[3 * i + j] = X[2 * i] * p[j] + X[2 * i + 1] * p[3 + j] +
                              p[6 + j];
    assert_predicts(back, X, 2, want, 1e-15);
    nn_net_destroy(back);
    free(b);
    nn_net_destroy(net);
}
END_TEST

/* Size query, a buffer one byte short (NN_ERR_SHAPE, *size set, nothing
 * written), an exact one; bad arguments. */
START_TEST(test_save_mem)
{
    nn_net_t *net = zoo(NN_ACT_SIGMOID, 2, 0.01, NN_LOSS_BCE, NULL);
    size_t n = 0, got = 0;
    NN_OK_OR_FAIL(nn_onnx_save_mem(net, 0, NULL, 0, &n));
    ck_assert_uint_gt(n, 8 * nn_net_n_params(net));
    uint8_t *b = malloc(n + 1);
    memset(b, 0xAB, n + 1);
    ck_assert_int_eq(nn_onnx_save_mem(net, 0, b, n - 1, &got), NN_ERR_SHAPE);
    ck_assert_uint_eq(got, n);
    for (size_t i = 0; i <= n; i++) ck_assert_uint_eq(b[i], 0xAB);
    got = 0;
    NN_OK_OR_FAIL(nn_onnx_save_mem(net, 0, b, n + 1, &got));
    ck_assert_uint_eq(got, n);
    ck_assert_uint_eq(b[n], 0xAB);
    size_t nl = 0;
    NN_OK_OR_FAIL(nn_onnx_save_mem(net, NN_ONNX_LOGITS, NULL, 0, &nl));
    ck_assert_uint_lt(nl, n); /* one node less */
    ck_assert_int_eq(nn_onnx_save_mem(net, 2, NULL, 0, &got), NN_ERR_INVALID);
    ck_assert_int_eq(nn_onnx_save_mem(net, -1, NULL, 0, &got), NN_ERR_INVALID);
    ck_assert_int_eq(nn_onnx_save_mem(NULL, 0, NULL, 0, &got), NN_ERR_INVALID);
    ck_assert_int_eq(nn_onnx_save_mem(net, 0, NULL, 0, NULL), NN_ERR_INVALID);
    nn_net_t *out = SENTINEL;
    ck_assert_int_eq(nn_onnx_load_mem(NULL, b, n, NULL, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_onnx_load_mem(&out, NULL, 1, NULL, NULL),
                     NN_ERR_INVALID);
    nn_allocator half = {tu_counter_alloc_, NULL, NULL};
    ck_assert_int_eq(nn_onnx_load_mem(&out, b, n, &half, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_onnx_load(&out, NULL, NULL, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_onnx_save(NULL, net, 0, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_onnx_save("", net, 0, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_onnx_save("x.onnx", NULL, 0, NULL), NN_ERR_INVALID);
    ck_assert_ptr_eq(out, SENTINEL);
    free(b);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ files */
static char *temp_dir(void)
{
    const char *t = getenv("TMPDIR");
    static char dir[512];
    snprintf(dir, sizeof dir, "%s/nn_onnx_XXXXXX", t && *t ? t : "/tmp");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

/* nn_onnx_save writes what nn_onnx_save_mem gives, replacing a file
 * atomically (its mode kept); nn_onnx_load reads it back; a missing file,
 * a directory, an empty file and a FIFO without a writer are refused at
 * once. */
START_TEST(test_files)
{
    char *dir = temp_dir(), path[600], fifo[600];
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    nn_net_t *net = zoo(NN_ACT_SOFTMAX, 3, 0.2, NN_LOSS_SOFTMAX_CE, NULL);
    nn_error_info e;
    FILE *f = fopen(path, "w");
    fputs("old", f);
    fclose(f);
    ck_assert_int_eq(chmod(path, 0640), 0);
    NN_OK_OR_FAIL(nn_onnx_save(path, net, 0, &e));
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert_int_eq(sb.st_mode & 0777, 0640);
    size_t n, fn;
    uint8_t *b = save_mem(net, 0, &n), *fb = slurp(path, &fn);
    ck_assert_uint_eq(fn, n);
    ck_assert_mem_eq(fb, b, n);
    nn_net_t *back = NULL;
    NN_OK_OR_FAIL(nn_onnx_load(&back, path, NULL, &e));
    ck_assert_mem_eq(nn_net_params(back), nn_net_params(net),
                     nn_net_n_params(net) * sizeof(double));
    nn_net_destroy(back);
    nn_net_t *out = SENTINEL;
    ck_assert_int_eq(nn_onnx_load(&out, dir, NULL, &e), NN_ERR_IO);
    ck_assert_int_eq(nn_onnx_save(dir, net, 0, &e), NN_ERR_IO);
    ck_assert_ptr_nonnull(strstr(e.message, "directory"));
    char missing[620];
    snprintf(missing, sizeof missing, "%s/none/m.onnx", dir);
    ck_assert_int_eq(nn_onnx_load(&out, missing, NULL, &e), NN_ERR_IO);
    ck_assert_int_eq(nn_onnx_save(missing, net, 0, &e), NN_ERR_IO);
    f = fopen(path, "w");
    fclose(f);
    ck_assert_int_eq(nn_onnx_load(&out, path, NULL, &e), NN_ERR_FORMAT);
    ck_assert_str_eq(e.message, "empty file");
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    ck_assert_int_eq(nn_onnx_load(&out, fifo, NULL, &e), NN_ERR_FORMAT);
    ck_assert_ptr_eq(out, SENTINEL);
    unlink(fifo);
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0); /* no temporary file left behind */
    free(fb);
    free(b);
    nn_net_destroy(net);
}
END_TEST

/* ------------------------------------------------------------ allocation failures */
/* Arm c so its n-th allocation from now fails (every later one too in mode
 * 1); returns whether one did. */
static void arm(tu_counter *c, long n, int mode)
{
    c->fail_at = c->attempts + n;
    c->fail_rest = mode;
    c->refused = 0;
}

/* Loading (memory, file): each failing allocation gives NN_ERR_NOMEM and
 * nothing leaks, until the call meets none and succeeds. */
START_TEST(test_oom_load)
{
    tm *t = good();
    size_t n;
    uint8_t *b = tm_pack(t, &n);
    char *dir = temp_dir(), path[600];
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    FILE *f = fopen(path, "wb");
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
    for (int from_file = 0; from_file < 2; from_file++)
        for (int mode = 0; mode < 2; mode++) {
            long sites = 0;
            for (long k = 1;; k++) {
                tu_counter c = {0};
                nn_allocator a = tu_allocator(&c);
                arm(&c, k, mode);
                nn_net_t *net = SENTINEL;
                nn_status st = from_file ? nn_onnx_load(&net, path, &a, NULL)
                                         : nn_onnx_load_mem(&net, b, n, &a,
                                                            NULL);
                if (c.refused == 0) {
                    NN_OK_OR_FAIL(st);
                    nn_net_destroy(net);
                    TU_ASSERT_BALANCED(&c);
                    break;
                }
                ck_assert_msg(st == NN_ERR_NOMEM, "failure %ld: %d", k,
                              (int)st);
                ck_assert_ptr_eq(net, SENTINEL);
                TU_ASSERT_BALANCED(&c);
                sites = k;
                ck_assert_int_lt(k, 10000);
            }
            if (mode == 0)
                printf("onnx: load%s: %ld allocation sites\n",
                       from_file ? " (file)" : "", sites);
        }
    unlink(path);
    rmdir(dir);
    free(b);
    free(t);
}
END_TEST

/* Saving through the network's allocator: the same. */
START_TEST(test_oom_save)
{
    char *dir = temp_dir(), path[600];
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    for (int to_file = 0; to_file < 2; to_file++)
        for (int mode = 0; mode < 2; mode++) {
            for (long k = 1;; k++) {
                tu_counter c = {0};
                nn_allocator a = tu_allocator(&c);
                nn_net_t *net = zoo(NN_ACT_TANH, 2, 0.1, NN_LOSS_MSE, &a);
                arm(&c, k, mode);
                size_t n = 0;
                uint8_t buf[4096];
                nn_status st = to_file ? nn_onnx_save(path, net, 0, NULL)
                                       : nn_onnx_save_mem(net, 0, buf,
                                                          sizeof buf, &n);
                bool refused = c.refused > 0;
                c.fail_at = 0;
                nn_net_destroy(net);
                TU_ASSERT_BALANCED(&c);
                if (!refused) {
                    NN_OK_OR_FAIL(st);
                    break;
                }
                ck_assert_int_eq(st, NN_ERR_NOMEM);
                ck_assert_int_lt(k, 1000);
            }
        }
    unlink(path);
    ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

#endif /* TU_HAVE_ONNX */

/* ------------------------------------------------------------ either build */
#ifdef TU_HAVE_ONNX
#define ONNX_BUILT 1
#else
#define ONNX_BUILT 0
#endif

/* Without the feature every call says NN_ERR_UNSUPPORTED (and touches
 * nothing); with it, the same calls work. */
START_TEST(test_feature)
{
    tu_layer L = {2, NN_ACT_SIGMOID, 0, 0};
    nn_net_t *net = tu_net_layers(3, 1, &L, NN_LOSS_BCE, NULL);
    size_t n = 12345;
    nn_status st = nn_onnx_save_mem(net, 0, NULL, 0, &n);
    if (!ONNX_BUILT) {
        nn_net_t *out = SENTINEL_NET;
        nn_error_info e = {{0}};
        ck_assert_int_eq(st, NN_ERR_UNSUPPORTED);
        ck_assert_uint_eq(n, 12345);
        ck_assert_int_eq(nn_onnx_save("/nonexistent/x.onnx", net, 0, &e),
                         NN_ERR_UNSUPPORTED);
        ck_assert_int_eq(nn_onnx_load(&out, "/nonexistent/x.onnx", NULL, &e),
                         NN_ERR_UNSUPPORTED);
        ck_assert_int_eq(nn_onnx_load_mem(&out, "x", 1, NULL, &e),
                         NN_ERR_UNSUPPORTED);
        ck_assert_ptr_eq(out, SENTINEL_NET);
    } else {
        NN_OK_OR_FAIL(st);
        ck_assert_uint_gt(n, 0);
    }
    nn_net_destroy(net);
}
END_TEST

static Suite *onnx_suite(void)
{
    Suite *s = suite_create("onnx");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
#ifdef TU_HAVE_ONNX
    tcase_add_test(tc, test_import_mlp);
    tcase_add_test(tc, test_import_float32_exact);
    tcase_add_test(tc, test_import_gemm_alpha_beta);
    tcase_add_test(tc, test_import_flatten_leaky_constant);
    tcase_add_test(tc, test_import_initializers_as_inputs);
    tcase_add_test(tc, test_onnx_testdata_linear);
    tcase_add_test(tc, test_refuse_ops);
    tcase_add_test(tc, test_refuse_branches);
    tcase_add_test(tc, test_refuse_layout);
    tcase_add_test(tc, test_refuse_tensors);
    tcase_add_test(tc, test_refuse_graph);
    tcase_add_test(tc, test_refuse_bytes);
    tcase_add_test(tc, test_refuse_deep_nesting);
    tcase_add_test(tc, test_export_structure);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_round_trip_slope_float32);
    tcase_add_test(tc, test_export_logits);
    tcase_add_test(tc, test_save_mem);
    tcase_add_test(tc, test_files);
    tcase_add_test(tc, test_oom_load);
    tcase_add_test(tc, test_oom_save);
#endif
    tcase_add_test(tc, test_feature);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(onnx_suite()); }
