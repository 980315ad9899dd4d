/* fuzz_onnx.c — libFuzzer target for the ONNX importer and exporter:
 * nn_onnx_load_mem, nn_onnx_load, nn_onnx_save_mem (docs/ONNX.md).
 *
 * Every input goes through the memory loader; the file loader (a memfd,
 * see fuzz_common.h) sees every input that loads and one in four of the
 * others, and must return the same status. A failed load leaves *out
 * alone, frees everything it took and says why in a printable, terminated
 * message. A network that loads must predict a row of zeros, export, and
 * re-import to the same network: the same layers, activations, slopes and
 * loss, and bitwise the same parameters and predictions; its export is a
 * fixed point (exporting the re-import gives the same bytes), and the
 * NN_ONNX_LOGITS export re-imports to the same parameters with an identity
 * output.
 *
 * Built by build.sh, the target also has a structure-aware mutator
 * (NN_FUZZ_ONNX_MUTATOR, on the protobuf-c code generated for libnn): byte
 * mutations of a protobuf rarely get past the parser, while the importer's
 * checks are about ops, attributes, shapes and names. */
#include "fuzz_common.h"

/* Layer sizes, activations, slopes (bitwise) and loss of a and b agree;
 * with `logits`, b's output layer is the identity. */
static void same_shape(const nn_net_t *a, const nn_net_t *b, int logits)
{
    size_t L = nn_net_n_layers(a);
    FZ_ASSERT(nn_net_n_layers(b) == L);
    FZ_ASSERT(nn_net_n_in(b) == nn_net_n_in(a));
    FZ_ASSERT(nn_net_n_out(b) == nn_net_n_out(a));
    for (size_t l = 0; l < L; l++) {
        FZ_ASSERT(nn_net_layer_n_in(b, l) == nn_net_layer_n_in(a, l));
        FZ_ASSERT(nn_net_layer_n_out(b, l) == nn_net_layer_n_out(a, l));
        int64_t act_a = -1, act_b = -1;
        FZ_ASSERT(nn_net_get_layer_int(a, l, NN_LAYER_ACTIVATION, &act_a) ==
                  NN_OK);
        FZ_ASSERT(nn_net_get_layer_int(b, l, NN_LAYER_ACTIVATION, &act_b) ==
                  NN_OK);
        if (logits && l + 1 == L) {
            FZ_ASSERT(act_b == NN_ACT_IDENTITY);
            continue;
        }
        FZ_ASSERT(act_a == act_b);
        if (act_a != NN_ACT_LEAKY_RELU) continue;
        double sa = 0, sb = 1;
        FZ_ASSERT(nn_net_get_layer_real(a, l, NN_LAYER_ACT_PARAM, &sa) ==
                  NN_OK);
        FZ_ASSERT(nn_net_get_layer_real(b, l, NN_LAYER_ACT_PARAM, &sb) ==
                  NN_OK);
        FZ_ASSERT(memcmp(&sa, &sb, sizeof sa) == 0);
    }
    int64_t la = -1, lb = -2;
    FZ_ASSERT(nn_net_get_int(a, NN_NET_LOSS, &la) == NN_OK);
    FZ_ASSERT(nn_net_get_int(b, NN_NET_LOSS, &lb) == NN_OK);
    if (!logits) FZ_ASSERT(la == lb);
}

/* Bitwise the same flat parameter arrays. */
static void same_params(nn_net_t *a, nn_net_t *b)
{
    size_t n = nn_net_n_params(a);
    FZ_ASSERT(nn_net_n_params(b) == n);
    FZ_ASSERT(memcmp(nn_net_params(a), nn_net_params(b), n * sizeof(double))
              == 0);
}

/* The outputs for one row of zeros (malloc'ed; NULL when the library ran
 * out of memory, which the checking allocator allows). The row is bounded:
 * the input held n_in x n_out weights. */
static double *predict_zeros(const nn_net_t *net)
{
    size_t n_in = nn_net_n_in(net), n_out = nn_net_n_out(net);
    double *x = calloc(n_in, sizeof *x), *y = malloc(n_out * sizeof *y);
    FZ_ASSERT(x && y);
    nn_status st = nn_net_predict(net, NULL, 1, NN_ROW_MAJOR, x, n_in, y,
                                  n_out);
    FZ_ASSERT(st == NN_OK || st == NN_ERR_NOMEM);
    free(x);
    if (st == NN_OK) return y;
    free(y);
    return NULL;
}

/* net exported with flags (malloc'ed, *size bytes); checks the size query
 * and that a buffer one byte short is refused untouched. */
static uint8_t *export_net(const nn_net_t *net, int32_t flags, size_t *size)
{
    size_t need = 0, got = 0;
    FZ_ASSERT(nn_onnx_save_mem(net, flags, NULL, 0, &need) == NN_OK);
    FZ_ASSERT(need > 0);
    uint8_t *buf = malloc(need);
    FZ_ASSERT(buf);
    memset(buf, 0xA5, need);
    FZ_ASSERT(nn_onnx_save_mem(net, flags, buf, need - 1, &got) ==
              NN_ERR_SHAPE);
    FZ_ASSERT(got == need);
    for (size_t i = 0; i < need; i++) FZ_ASSERT(buf[i] == 0xA5);
    FZ_ASSERT(nn_onnx_save_mem(net, flags, buf, need, &got) == NN_OK);
    FZ_ASSERT(got == need);
    *size = need;
    return buf;
}

/* Re-import an export of net; it must load. */
static nn_net_t *reimport(const uint8_t *buf, size_t size, fz_heap *heap)
{
    nn_allocator al = fz_allocator(heap);
    nn_error_info err;
    nn_net_t *back = NULL;
    nn_status st = nn_onnx_load_mem(&back, buf, size, &al, &err);
    if (st != NN_OK)
        fprintf(stderr, "fuzz: re-import of an export failed: %s (%s)\n",
                nn_strerror(st), err.message);
    FZ_ASSERT(st == NN_OK && back);
    return back;
}

/* Export, re-import, compare; then the same with NN_ONNX_LOGITS. */
static void round_trip(nn_net_t *net, fz_heap *heap)
{
    double *y = predict_zeros(net);
    size_t size = 0;
    uint8_t *onnx = export_net(net, 0, &size);
    nn_net_t *back = reimport(onnx, size, heap);
    same_shape(net, back, 0);
    same_params(net, back);
    double *y2 = predict_zeros(back);
    if (y && y2)
        FZ_ASSERT(memcmp(y, y2, nn_net_n_out(net) * sizeof *y) == 0);
    free(y);
    free(y2);
    /* the export of the re-import: the same bytes */
    size_t size2 = 0;
    uint8_t *again = export_net(back, 0, &size2);
    FZ_ASSERT(size2 == size && memcmp(again, onnx, size) == 0);
    free(again);
    free(onnx);
    nn_net_destroy(back);

    onnx = export_net(net, NN_ONNX_LOGITS, &size);
    back = reimport(onnx, size, heap);
    same_shape(net, back, 1);
    same_params(net, back);
    free(onnx);
    nn_net_destroy(back);
}

/* One load; on failure, *out untouched and the message well formed. */
static nn_status load_once(const uint8_t *data, size_t size, int from_file,
                           fz_heap *heap, nn_net_t **out)
{
    nn_allocator al = fz_allocator(heap);
    nn_error_info err;
    memset(&err, 0x5A, sizeof err); /* the loader must terminate both */
    nn_net_t *sentinel = (nn_net_t *)heap, *net = sentinel;
    nn_status st = from_file
                       ? nn_onnx_load(&net, fz_file(data, size), &al, &err)
                       : nn_onnx_load_mem(&net, data, size, &al, &err);
    if (st == NN_OK) {
        FZ_ASSERT(net && net != sentinel);
        FZ_ASSERT(nn_net_n_in(net) > 0 && nn_net_n_out(net) > 0);
        FZ_ASSERT(nn_net_n_layers(net) > 0);
        *out = net;
        return st;
    }
    FZ_ASSERT(st == NN_ERR_FORMAT || st == NN_ERR_UNSUPPORTED ||
              st == NN_ERR_NOMEM || st == NN_ERR_TOO_LARGE);
    FZ_ASSERT(net == sentinel);
    fz_check_err(&err);
    fz_check_balanced(heap, from_file ? "nn_onnx_load" : "nn_onnx_load_mem");
    *out = NULL;
    return st;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t none[1];
    const uint8_t *bytes = size ? data : none; /* never NULL */
    fz_heap heap = {0};
    nn_net_t *net = NULL;
    nn_status st = load_once(bytes, size, 0, &heap, &net);
    if (net) {
        round_trip(net, &heap);
        nn_net_destroy(net);
        fz_check_balanced(&heap, "a loaded network");
    }
    /* the file loader: every model that loads, one in four of the rest */
    uint32_t pick = (uint32_t)size;
    for (size_t i = 0; i < size && i < 8; i++) pick = pick * 31u + bytes[i];
    if (st == NN_OK || pick % 4 == 0) {
        nn_net_t *fnet = NULL;
        nn_status fst = load_once(bytes, size, 1, &heap, &fnet);
        if (fst != st)
            fprintf(stderr, "fuzz: nn_onnx_load: %s, nn_onnx_load_mem: %s\n",
                    nn_strerror(fst), nn_strerror(st));
        FZ_ASSERT(fst == st);
        if (fnet) {
            /* the same network as from memory */
            nn_net_t *mnet = NULL;
            FZ_ASSERT(load_once(bytes, size, 0, &heap, &mnet) == NN_OK);
            same_shape(mnet, fnet, 0);
            same_params(mnet, fnet);
            nn_net_destroy(mnet);
            nn_net_destroy(fnet);
        }
        fz_check_balanced(&heap, "nn_onnx_load");
    }
    return 0;
}

#ifdef NN_FUZZ_ONNX_MUTATOR
/* ------------------------------------------------ structure-aware mutator
 * The input is unpacked as a ModelProto, one field is changed in place
 * (an op, an attribute, a dimension, a data type, a name, a node dropped,
 * moved or repeated, an opset) and the model packed again. Every pointer
 * or count changed is logged and restored before protobuf-c frees the
 * message it allocated. Inputs that do not unpack, and one mutation in
 * four, get libFuzzer's own byte mutations. */
#include <math.h>
#include <stdbool.h>

#include "onnx.pb-c.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed);

typedef struct {
    uint64_t rng;
    void **ptr_slot[8];
    void *ptr_old[8];
    size_t *n_slot[8];
    size_t n_old[8];
    int n_ptr, n_n;
    void *owned; /* an array we allocated, freed after the restore */
} mut;

static uint32_t mrand(mut *m, uint32_t below)
{
    m->rng ^= m->rng << 13;
    m->rng ^= m->rng >> 7;
    m->rng ^= m->rng << 17;
    return below ? (uint32_t)(m->rng % below) : 0;
}

static void set_ptr(mut *m, void **slot, void *v)
{
    if (m->n_ptr == 8) return;
    m->ptr_slot[m->n_ptr] = slot;
    m->ptr_old[m->n_ptr++] = *slot;
    *slot = v;
}

static void set_n(mut *m, size_t *slot, size_t v)
{
    if (m->n_n == 8) return;
    m->n_slot[m->n_n] = slot;
    m->n_old[m->n_n++] = *slot;
    *slot = v;
}

static void restore(mut *m)
{
    while (m->n_ptr--) *m->ptr_slot[m->n_ptr] = m->ptr_old[m->n_ptr];
    while (m->n_n--) *m->n_slot[m->n_n] = m->n_old[m->n_n];
    free(m->owned);
}

static const char *const ops[] = {
    "Gemm", "MatMul", "Add", "Relu", "LeakyRelu", "Sigmoid", "Tanh",
    "Softmax", "Identity", "Flatten", "Constant", "Elu", "Transpose", ""};
static const int64_t ints[] = {0, 1, -1, 2, 3, -2, 7, 11, 13, 21, 100,
                               INT32_MAX, (int64_t)1 << 32, INT64_MAX,
                               INT64_MIN};
static const float floats[] = {0.0f, 1.0f, -1.0f, 0.5f, 2.0f, 0.01f,
                               1e30f, -1e-30f, 3.4e38f, NAN, INFINITY};

static int64_t some_int(mut *m)
{
    return ints[mrand(m, sizeof ints / sizeof *ints)];
}

/* A name already in the graph (an input, an output, an initializer). */
static char *some_name(mut *m, Onnx__GraphProto *g)
{
    uint32_t k = mrand(m, 3);
    if (k == 0 && g->n_node) {
        Onnx__NodeProto *n = g->node[mrand(m, (uint32_t)g->n_node)];
        if (n->n_output) return n->output[0];
    }
    if (k == 1 && g->n_initializer)
        return g->initializer[mrand(m, (uint32_t)g->n_initializer)]->name;
    if (g->n_input) return g->input[0]->name;
    return NULL;
}

static void mutate_attr(mut *m, Onnx__AttributeProto *a)
{
    switch (mrand(m, 4)) {
    case 0: a->i = some_int(m); a->has_i = 1; break;
    case 1:
        a->f = floats[mrand(m, sizeof floats / sizeof *floats)];
        a->has_f = 1;
        break;
    case 2:
        a->type = (Onnx__AttributeProto__AttributeType)mrand(m, 15);
        a->has_type = 1;
        break;
    default: {
        static char *const names[] = {"alpha", "beta", "transA", "transB",
                                      "axis", "value", "broadcast"};
        set_ptr(m, (void **)&a->name, names[mrand(m, 7)]);
    }
    }
}

static void mutate_tensor(mut *m, Onnx__TensorProto *t)
{
    static const int32_t types[] = {0, 1, 7, 10, 11, 16, 99};
    switch (mrand(m, 5)) {
    case 0:
        if (t->n_dims) t->dims[mrand(m, (uint32_t)t->n_dims)] = some_int(m);
        break;
    case 1: t->data_type = types[mrand(m, 7)]; t->has_data_type = 1; break;
    case 2:
        if (t->n_dims) set_n(m, &t->n_dims, t->n_dims - 1);
        break;
    case 3:
        if (t->raw_data.len)
            set_n(m, &t->raw_data.len, mrand(m, (uint32_t)t->raw_data.len));
        else if (t->n_float_data)
            set_n(m, &t->n_float_data, t->n_float_data - 1);
        else if (t->n_double_data)
            set_n(m, &t->n_double_data, t->n_double_data - 1);
        break;
    default: /* a NaN in the data */
        if (t->raw_data.len >= 4)
            memset(t->raw_data.data +
                       4 * mrand(m, (uint32_t)(t->raw_data.len / 4)),
                   0xff, 4);
        break;
    }
}

/* Drops, moves or repeats node i. */
static void mutate_order(mut *m, Onnx__GraphProto *g, size_t i)
{
    size_t n = g->n_node;
    if (m->owned || m->n_ptr == 8 || m->n_n == 8) return; /* once */
    Onnx__NodeProto **a = malloc((n + 1) * sizeof *a);
    FZ_ASSERT(a);
    m->owned = a;
    memcpy(a, g->node, n * sizeof *a);
    size_t j = mrand(m, (uint32_t)n);
    switch (mrand(m, 3)) {
    case 0: /* drop i */
        memmove(a + i, a + i + 1, (n - i - 1) * sizeof *a);
        n--;
        break;
    case 1: { /* swap i and j */
        Onnx__NodeProto *t = a[i];
        a[i] = a[j];
        a[j] = t;
        break;
    }
    default: /* i once more, before j */
        memmove(a + j + 1, a + j, (n - j) * sizeof *a);
        a[j] = g->node[i];
        n++;
    }
    set_ptr(m, (void **)&g->node, a);
    set_n(m, &g->n_node, n);
}

static void mutate_node(mut *m, Onnx__GraphProto *g)
{
    size_t i = mrand(m, (uint32_t)g->n_node);
    Onnx__NodeProto *n = g->node[i];
    char *name;
    switch (mrand(m, 5)) {
    case 0:
        set_ptr(m, (void **)&n->op_type,
                (void *)ops[mrand(m, sizeof ops / sizeof *ops)]);
        break;
    case 1:
        if (n->n_attribute)
            mutate_attr(m, n->attribute[mrand(m, (uint32_t)n->n_attribute)]);
        else
            set_ptr(m, (void **)&n->domain, "ai.onnx");
        break;
    case 2:
        if (n->n_input && (name = some_name(m, g)))
            set_ptr(m, (void **)&n->input[mrand(m, (uint32_t)n->n_input)],
                    name);
        break;
    case 3:
        if (n->n_input) set_n(m, &n->n_input, n->n_input - 1);
        break;
    default: mutate_order(m, g, i);
    }
}

static void mutate_value_info(mut *m, Onnx__ValueInfoProto *v)
{
    Onnx__TypeProto *t = v->type;
    if (!t || t->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) return;
    Onnx__TypeProto__Tensor *tt = t->tensor_type;
    if (mrand(m, 2) || !tt->shape || !tt->shape->n_dim) {
        tt->elem_type = (int32_t)mrand(m, 17);
        tt->has_elem_type = 1;
        return;
    }
    Onnx__TensorShapeProto *s = tt->shape;
    if (mrand(m, 2)) {
        set_n(m, &s->n_dim, mrand(m, (uint32_t)s->n_dim + 1));
        return;
    }
    Onnx__TensorShapeProto__Dimension *d =
        s->dim[mrand(m, (uint32_t)s->n_dim)];
    if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
        d->dim_value = some_int(m);
}

static void mutate_model(mut *m, Onnx__ModelProto *mp)
{
    Onnx__GraphProto *g = mp->graph;
    uint32_t k = mrand(m, 10);
    if (k < 5 && g && g->n_node) {
        mutate_node(m, g);
    } else if (k < 7 && g && g->n_initializer) {
        mutate_tensor(m, g->initializer[mrand(m, (uint32_t)g->n_initializer)]);
    } else if (k < 8 && g && (g->n_input || g->n_output)) {
        bool in = g->n_input && (!g->n_output || mrand(m, 2));
        mutate_value_info(m, in ? g->input[mrand(m, (uint32_t)g->n_input)]
                                : g->output[mrand(m, (uint32_t)g->n_output)]);
    } else if (k < 9 && mp->n_opset_import) {
        mp->opset_import[0]->version = some_int(m);
        mp->opset_import[0]->has_version = 1;
    } else {
        mp->ir_version = some_int(m);
        mp->has_ir_version = 1;
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size,
                               unsigned int seed)
{
    mut m = {.rng = 0x9E3779B97F4A7C15ull ^ seed};
    Onnx__ModelProto *mp = mrand(&m, 4) && size
                               ? onnx__model_proto__unpack(NULL, size, data)
                               : NULL;
    if (!mp) return LLVMFuzzerMutate(data, size, max_size);
    int rounds = 1 + (int)mrand(&m, 3);
    for (int r = 0; r < rounds; r++) mutate_model(&m, mp);
    size_t need = onnx__model_proto__get_packed_size(mp);
    size_t out = need <= max_size ? onnx__model_proto__pack(mp, data) : 0;
    restore(&m);
    onnx__model_proto__free_unpacked(mp, NULL);
    return out ? out : LLVMFuzzerMutate(data, size, max_size);
}
#endif
