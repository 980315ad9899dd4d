/* onnx.c — dense networks to and from ONNX (docs/ONNX.md).
 *
 * The protobuf is never decoded by hand: protoc-c generates onnx.pb-c.c/h
 * from the system's onnx.proto at build time (meson.build) and protobuf-c
 * unpacks and packs it. Without the `onnx` feature (no NN_HAVE_ONNX) this
 * file still builds and every call returns NN_ERR_UNSUPPORTED, so the
 * exported symbols are the same in both builds.
 *
 * Import trusts nothing, in the order of lib/model.c:
 * 1. The bytes: a file is read once (nn__open_read: a FIFO without a writer
 *    reads as empty, never blocks), a regular file's size checked against
 *    the 2 GiB protobuf limit before anything is allocated, a stream's
 *    buffer grown only as bytes arrive.
 * 2. Their nesting: protobuf-c recurses once per nested message and has no
 *    depth limit, so a few kilobytes of nested TypeProtos could overflow
 *    the stack. check_nesting walks the tags and lengths (nothing else) with
 *    the generated descriptors telling which fields are messages, and
 *    refuses more than MAX_DEPTH levels (protobuf's own default) first.
 * 3. protobuf-c's unpack, with an allocator that goes through the caller's
 *    nn_allocator, refuses to hold more than a bounded multiple of the
 *    input's size, and tells an allocation failure (NN_ERR_NOMEM) from a
 *    malformed input.
 * 4. The graph: read as a chain from its one data input (see walk_chain);
 *    every size, shape, type and data length is checked, and the whole
 *    chain planned, before the network is allocated; then the parameters
 *    are copied in.
 * Messages name what is at fault: the node (index, name, op) or the
 * initializer; names are escaped (no raw bytes reach a message). */
#define _POSIX_C_SOURCE 200809L /* strtof with the C library's prototypes */

#include "nn_private.h"

#ifndef NN_HAVE_ONNX

nn_status nn_onnx_load(nn_net_t **out, const char *path,
                       const nn_allocator *alloc, nn_error_info *err)
{
    (void)out, (void)path, (void)alloc, (void)err;
    return NN_ERR_UNSUPPORTED;
}

nn_status nn_onnx_load_mem(nn_net_t **out, const void *buf, size_t size,
                           const nn_allocator *alloc, nn_error_info *err)
{
    (void)out, (void)buf, (void)size, (void)alloc, (void)err;
    return NN_ERR_UNSUPPORTED;
}

nn_status nn_onnx_save(const char *path, const nn_net_t *net, int32_t flags,
                       nn_error_info *err)
{
    (void)path, (void)net, (void)flags, (void)err;
    return NN_ERR_UNSUPPORTED;
}

nn_status nn_onnx_save_mem(const nn_net_t *net, int32_t flags, void *buf,
                           size_t cap, size_t *size)
{
    (void)net, (void)flags, (void)buf, (void)cap, (void)size;
    return NN_ERR_UNSUPPORTED;
}

#else /* NN_HAVE_ONNX */

#include "onnx.pb-c.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Protobuf messages are limited to 2 GiB - 1 (its sizes are signed 32-bit
 * ints): no ONNX reader takes a larger file (bigger models keep their
 * weights as external data, which libnn does not read), so neither is one
 * read or written here. */
#define MAX_ONNX_BYTES ((size_t)INT_MAX)
/* Nesting of messages accepted (protobuf's C++ and Java default). */
#define MAX_DEPTH 100
/* What protobuf-c may hold while unpacking n bytes: BUDGET_FACTOR * n +
 * BUDGET_EXTRA. A real model's structs are a few times its bytes; only
 * empty nested messages (2 bytes each, a struct of up to ~200) come near. */
#define BUDGET_FACTOR 128
#define BUDGET_EXTRA ((size_t)1 << 20)
/* The opsets of the default domain whose definitions of the ops below were
 * checked (6: Gemm and Add with `broadcast`, as PyTorch's oldest exports
 * have it, until 7 made broadcasting implicit; 21: ONNX 1.16). Their
 * semantics for float/double are the same across the range, but for
 * Softmax's default axis (13) and that broadcast flag. */
#define MIN_OPSET 6
#define MAX_OPSET 21
/* Longest name quoted in a message, in bytes of the original. */
#define NAME_SHOWN 40
#define QUOTED_CAP (4 * NAME_SHOWN + 8)

enum { DT_FLOAT = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT,
       DT_DOUBLE = ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE };

/* ------------------------------------------------------------ messages */
/* s escaped into out (QUOTED_CAP bytes), in double quotes if `quotes`: at
 * most NAME_SHOWN bytes of it, every byte outside printable ASCII (and
 * " \) as \xNN, "..." after a cut. */
static const char *escape(char *out, const char *s, bool quotes)
{
    size_t k = 0, i = 0;
    if (quotes) out[k++] = '"';
    for (; s && s[i] && i < NAME_SHOWN; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"') out[k++] = (char)c;
        else k += (size_t)snprintf(out + k, QUOTED_CAP - k, "\\x%02x", c);
    }
    if (s && s[i]) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    if (quotes) out[k++] = '"';
    out[k] = '\0';
    return out;
}

static const char *quote(char *out, const char *s)
{
    return escape(out, s, true);
}

/* A short form of the name of an ONNX data type (messages). */
static const char *dtype_name(int32_t t)
{
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16", "INT32",
        "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
        "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    if (t >= 0 && (size_t)t < sizeof names / sizeof names[0]) return names[t];
    return "unknown";
}

/* ------------------------------------------------------------ decoding */
/* How a run of protobuf-c unpack draws on the caller's allocator: every
 * block carries its size in front (protobuf-c's free does not give it, and
 * nn_allocator's free needs it), and the bytes held at once stay under a
 * budget. */
typedef union {
    size_t size;
    max_align_t align_; /* what follows keeps the allocator's alignment */
} pb_head;

typedef struct {
    const nn_allocator *al;
    size_t live, budget;
    bool nomem, over;
} pb_bridge;

static void *pb_alloc(void *ctx, size_t size)
{
    pb_bridge *b = ctx;
    size_t total;
    if (!nn__add(size, sizeof(pb_head), &total) ||
        total > b->budget - b->live) {
        b->over = true;
        return NULL;
    }
    pb_head *h = nn__alloc(b->al, total);
    if (!h) {
        b->nomem = true;
        return NULL;
    }
    h->size = total;
    b->live += total;
    return h + 1;
}

static void pb_free(void *ctx, void *p)
{
    if (!p) return;
    pb_bridge *b = ctx;
    pb_head *h = (pb_head *)p - 1;
    b->live -= h->size;
    nn__free(b->al, h, h->size);
}

/* A varint at p[*pos] (before end): false if it runs past end or over 10
 * bytes. */
static bool wire_varint(const uint8_t *p, size_t end, size_t *pos,
                        uint64_t *v)
{
    *v = 0;
    for (int shift = 0; shift < 70 && *pos < end; shift += 7) {
        uint8_t c = p[(*pos)++];
        *v |= (uint64_t)(c & 0x7F) << shift;
        if (!(c & 0x80)) return true;
    }
    return false;
}

/* Skip one field's value of wire type wt at p[*pos] (before end); *len is
 * the length of a length-delimited one. False when it does not fit or the
 * wire type is not one protobuf-c reads (groups). */
static bool wire_skip(const uint8_t *p, size_t end, size_t *pos, unsigned wt,
                      uint64_t *len)
{
    uint64_t v;
    *len = 0;
    switch (wt) {
    case 0: return wire_varint(p, end, pos, &v);
    case 1: v = 8; break;
    case 5: v = 4; break;
    case 2:
        if (!wire_varint(p, end, pos, &v)) return false;
        *len = v;
        break;
    default: return false;
    }
    if (v > end - *pos) return false;
    if (wt != 2) *pos += (size_t)v;
    return true;
}

/* The nesting check (step 2 at the top of the file): tags and lengths only,
 * with an explicit stack. Returns NN_OK, or NN_ERR_FORMAT with *at the
 * offset of the fault and *deep whether it was the depth. */
static nn_status check_nesting(const uint8_t *p, size_t n, size_t *at,
                               bool *deep)
{
    struct { size_t end; const ProtobufCMessageDescriptor *d; } st[MAX_DEPTH];
    int top = 0;
    size_t pos = 0;
    st[0].end = n;
    st[0].d = &onnx__model_proto__descriptor;
    *deep = false;
    while (top >= 0) {
        if (pos == st[top].end) {
            top--;
            continue;
        }
        uint64_t tag, len;
        *at = pos;
        if (!wire_varint(p, st[top].end, &pos, &tag) || tag >> 3 == 0 ||
            tag >> 3 > UINT32_MAX ||
            !wire_skip(p, st[top].end, &pos, (unsigned)(tag & 7), &len))
            return NN_ERR_FORMAT;
        const ProtobufCFieldDescriptor *f =
            (tag & 7) == 2 ? protobuf_c_message_descriptor_get_field(
                                 st[top].d, (unsigned)(tag >> 3))
                           : NULL;
        if (f && f->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (top + 1 == MAX_DEPTH) {
                *deep = true;
                return NN_ERR_FORMAT;
            }
            st[++top].end = pos + (size_t)len;
            st[top].d = f->descriptor;
        } else {
            pos += (size_t)len;
        }
    }
    return NN_OK;
}

/* What an input that protobuf-c refuses may be instead. */
static const char *not_onnx_hint(const uint8_t *p, size_t n)
{
    if (n >= 4 && p[0] == 0x89 && p[1] == 'N' && p[2] == 'N' && p[3] == 'M')
        return " (it is a libnn model file: nn_model_load reads it)";
    if (n >= 2 && p[0] == 0x1F && p[1] == 0x8B)
        return " (it looks like gzip data: ONNX files are not compressed)";
    return "";
}

/* Steps 2 and 3: the ModelProto of n bytes at p, through al. */
static nn_status unpack_model(const uint8_t *p, size_t n,
                              const nn_allocator *al, const char *file,
                              nn_error_info *err, Onnx__ModelProto **out,
                              pb_bridge *bridge)
{
    size_t at = 0;
    bool deep = false;
    if (check_nesting(p, n, &at, &deep) != NN_OK) {
        if (deep)
            nn__set_error(err, file, at, "messages nested more than %d "
                          "deep at byte %zu", MAX_DEPTH, at);
        else
            nn__set_error(err, file, at, "not a valid ONNX protobuf: "
                          "malformed field at byte %zu%s", at,
                          not_onnx_hint(p, n));
        return NN_ERR_FORMAT;
    }
    size_t budget;
    if (!nn__mul(n, BUDGET_FACTOR, &budget) ||
        !nn__add(budget, BUDGET_EXTRA, &budget))
        budget = SIZE_MAX;
    *bridge = (pb_bridge){.al = al, .budget = budget};
    ProtobufCAllocator pa = {pb_alloc, pb_free, bridge};
    *out = onnx__model_proto__unpack(&pa, n, p);
    if (*out) return NN_OK;
    if (bridge->nomem) return NN_ERR_NOMEM;
    if (bridge->over)
        nn__set_error(err, file, 0, "the protobuf unpacks to more than %zu "
                      "bytes (%d times its size)", budget, BUDGET_FACTOR);
    else
        nn__set_error(err, file, 0, "not a valid ONNX protobuf%s",
                      not_onnx_hint(p, n));
    return NN_ERR_FORMAT;
}

static void free_model(Onnx__ModelProto *m, pb_bridge *bridge)
{
    ProtobufCAllocator pa = {pb_alloc, pb_free, bridge};
    if (m) onnx__model_proto__free_unpacked(m, &pa);
}

/* ------------------------------------------------------------ the importer */
/* A name and an index (of the node using a value, or into tvals for a
 * tensor), in arrays sorted by name: who uses a value, what a name holds. */
typedef struct {
    const char *name;
    size_t idx;
} entry;

/* One dense layer as read from the graph, before the network exists. */
typedef struct {
    size_t n_in, n_out;
    const Onnx__TensorProto *W, *B; /* weights; bias (NULL: zero)         */
    bool trans;                     /* W holds n_out x n_in (Gemm transB) */
    double alpha, beta;             /* Gemm's, folded into W and b        */
    nn_activation act;
    double slope;
    bool closed;                    /* its activation was read            */
} plan;

#define NO_NODE SIZE_MAX

typedef struct {
    const Onnx__GraphProto *g;
    int64_t opset;
    const char *file;
    nn_error_info *err;
    const nn_allocator *al;
    entry *uses;                   /* every node input: value -> node  */
    size_t n_uses;
    entry *tensors;                /* initializers and Constant outputs */
    size_t n_tensors;
    const Onnx__TensorProto **tvals;
    bool *on_chain;                /* per node                          */
    plan *layers;                  /* up to one per node                */
    size_t n_layers;
    int32_t dtype;                 /* of the data input                 */
    const char *input, *output;    /* the graph's data input and output */
    const char *cur;               /* the chain's current value         */
    size_t rank;                   /* of cur (2 once flat)              */
    size_t width;                  /* features of cur once flat         */
    size_t flat_width;             /* the input's dims after the first  */
    size_t at;                     /* node being read, or NO_NODE       */
} importer;

static const char *str(const char *s) { return s ? s : ""; }

/* Fail with status st: the message, behind the node being read if any. */
static nn_status fail(importer *im, nn_status st, const char *fmt, ...)
{
    if (!im->err) return st;
    char msg[256], where[2 * QUOTED_CAP + 32] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (im->at != NO_NODE) {
        const Onnx__NodeProto *n = im->g->node[im->at];
        char q[QUOTED_CAP], o[QUOTED_CAP];
        snprintf(where, sizeof where, "node %zu %s (%s): ", im->at,
                 quote(q, str(n->name)), escape(o, str(n->op_type), false));
    }
    nn__set_error(im->err, im->file, 0, "%s%s", where, msg);
    return st;
}

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c) return c;
    return (x->idx > y->idx) - (x->idx < y->idx);
}

/* How many entries of the sorted e[0..n) are named `name`; *first is the
 * index of the first. */
static size_t find(const entry *e, size_t n, const char *name, size_t *first)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(e[mid].name, name) < 0) lo = mid + 1;
        else hi = mid;
    }
    *first = lo;
    while (hi < n && strcmp(e[hi].name, name) == 0) hi++;
    return hi - lo;
}

static size_t n_uses_of(const importer *im, const char *name, size_t *first)
{
    return find(im->uses, im->n_uses, name, first);
}

/* The tensor (initializer or Constant) named `name`, or NULL. */
static const Onnx__TensorProto *tensor_named(const importer *im,
                                             const char *name)
{
    size_t first;
    if (!find(im->tensors, im->n_tensors, name, &first)) return NULL;
    return im->tvals[im->tensors[first].idx];
}

/* ------------------------------------------------------------ tensors */
/* "[2, 3]" (the first 4 dims, then "...") into out (64 bytes). */
static const char *dims_text(char *out, const Onnx__TensorProto *t)
{
    size_t k = (size_t)snprintf(out, 64, "[");
    for (size_t i = 0; i < t->n_dims && i < 4; i++)
        k += (size_t)snprintf(out + k, 64 - k, "%s%lld", i ? ", " : "",
                              (long long)t->dims[i]);
    snprintf(out + k, 64 - k, "%s]", t->n_dims > 4 ? ", ..." : "");
    return out;
}

/* Whether a tensor's values are in raw_data (when it is not empty; else
 * in float_data / double_data). */
static bool raw_stored(const Onnx__TensorProto *t)
{
    return t->has_raw_data && t->raw_data.len > 0;
}

/* The number of values a float/double tensor stores, or SIZE_MAX when they
 * sit in a field of another type or in two fields at once; for raw_data,
 * its bytes are checked against n values in check_tensor. */
static size_t typed_values(const Onnx__TensorProto *t)
{
    bool f32 = t->data_type == DT_FLOAT;
    size_t typed = f32 ? t->n_float_data : t->n_double_data;
    bool other = (f32 ? t->n_double_data : t->n_float_data) ||
                 t->n_int32_data || t->n_int64_data || t->n_string_data ||
                 t->n_uint64_data;
    return other || (raw_stored(t) && typed) ? SIZE_MAX : typed;
}

/* Check a tensor before it is trusted: stored inline, float or double of
 * the data input's type, dims >= 1, exactly prod(dims) values. *count is
 * that product. `role` names it in messages ("B", "bias"). */
static nn_status check_tensor(importer *im, const Onnx__TensorProto *t,
                              const char *role, size_t *count)
{
    char q[QUOTED_CAP], d[64];
    const char *name = quote(q, str(t->name));
    if ((t->has_data_location &&
         t->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT) ||
        t->n_external_data)
        return fail(im, NN_ERR_UNSUPPORTED, "initializer %s (%s): external "
                    "data is not supported (keep the weights in the file)",
                    name, role);
    if (t->segment)
        return fail(im, NN_ERR_UNSUPPORTED, "initializer %s (%s): segmented "
                    "tensors are not supported", name, role);
    int32_t dt = t->has_data_type ? t->data_type : 0;
    if (dt != DT_FLOAT && dt != DT_DOUBLE)
        return fail(im, dt ? NN_ERR_UNSUPPORTED : NN_ERR_FORMAT,
                    "initializer %s (%s): data type %s (%d), float or "
                    "double expected", name, role, dtype_name(dt), (int)dt);
    if (dt != im->dtype)
        return fail(im, NN_ERR_FORMAT, "initializer %s (%s) is %s, the "
                    "data input %s (ONNX needs one type)", name, role,
                    dtype_name(dt), dtype_name(im->dtype));
    size_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++)
        if (t->dims[i] < 1 || (uint64_t)t->dims[i] > SIZE_MAX ||
            !nn__mul(n, (size_t)t->dims[i], &n))
            return fail(im, NN_ERR_FORMAT, "initializer %s (%s) has shape "
                        "%s", name, role, dims_text(d, t));
    size_t have = typed_values(t), esize = dt == DT_FLOAT ? 4 : 8, bytes;
    if (have == SIZE_MAX)
        return fail(im, NN_ERR_FORMAT, "initializer %s (%s): values stored "
                    "in the wrong field for %s", name, role, dtype_name(dt));
    if (raw_stored(t) && (!nn__mul(n, esize, &bytes) ||
                          t->raw_data.len != bytes))
        return fail(im, NN_ERR_FORMAT, "initializer %s (%s) of shape %s has "
                    "%zu bytes of raw_data, not %zu values of %s", name,
                    role, dims_text(d, t), t->raw_data.len, n,
                    dtype_name(dt));
    if (!raw_stored(t) && have != n)
        return fail(im, NN_ERR_FORMAT, "initializer %s (%s) of shape %s "
                    "holds %zu values, not %zu", name, role,
                    dims_text(d, t), have, n);
    *count = n;
    return NN_OK;
}

/* Value i of a checked tensor, converted exactly to double (raw data is
 * little-endian whatever the host). */
static double tensor_value(const Onnx__TensorProto *t, size_t i)
{
    bool f32 = t->data_type == DT_FLOAT;
    if (!raw_stored(t))
        return f32 ? (double)t->float_data[i] : t->double_data[i];
    const uint8_t *p = t->raw_data.data + i * (f32 ? 4 : 8);
    uint64_t v = 0;
    for (int k = f32 ? 3 : 7; k >= 0; k--) v = (v << 8) | p[k];
    if (!f32) {
        double x;
        memcpy(&x, &v, sizeof x);
        return x;
    }
    uint32_t u = (uint32_t)v;
    float x;
    memcpy(&x, &u, sizeof x);
    return (double)x;
}

/* Input `slot` of the current node n as a weight tensor (role names it):
 * an initializer or Constant, used by this node alone (each layer owns its
 * parameters: a tensor shared by nodes would be copied once per use), and
 * checked. */
static nn_status tensor_input(importer *im, const Onnx__NodeProto *n,
                              size_t slot, const char *role,
                              const Onnx__TensorProto **out, size_t *count)
{
    char q[QUOTED_CAP];
    const char *name = n->input[slot];
    const Onnx__TensorProto *t = tensor_named(im, name);
    if (!t)
        return fail(im, NN_ERR_UNSUPPORTED, "input %s %s is neither an "
                    "initializer nor a Constant (weights computed in the "
                    "graph are not supported)", role, quote(q, name));
    size_t first, uses = n_uses_of(im, name, &first);
    if (uses > 1)
        return fail(im, NN_ERR_UNSUPPORTED, "initializer %s (%s) is used by "
                    "%zu inputs: shared weights are not supported",
                    quote(q, name), role, uses);
    *out = t;
    return check_tensor(im, t, role, count);
}

/* ------------------------------------------------------------ attributes */
/* One attribute an op accepts: its name and type, and what was read. */
typedef struct {
    const char *name;
    int type; /* an Onnx__AttributeProto__AttributeType */
    bool seen;
    float f;
    int64_t i;
    const Onnx__TensorProto *t;
} attr_spec;

enum { A_FLOAT = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
       A_INT = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
       A_TENSOR = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR };

/* Read node n's attributes into spec[0..k): any other attribute, or one of
 * another type, twice, or a reference to a function's attribute, fails. */
static nn_status read_attrs(importer *im, const Onnx__NodeProto *n,
                            attr_spec *spec, size_t k)
{
    char q[QUOTED_CAP];
    for (size_t a = 0; a < n->n_attribute; a++) {
        const Onnx__AttributeProto *at = n->attribute[a];
        const char *name = str(at->name);
        size_t j = 0;
        while (j < k && strcmp(spec[j].name, name) != 0) j++;
        if (j == k || (at->ref_attr_name && *at->ref_attr_name))
            return fail(im, NN_ERR_UNSUPPORTED, "attribute %s is not "
                        "supported", quote(q, name));
        if (spec[j].seen || !at->has_type || (int)at->type != spec[j].type ||
            (spec[j].type == A_TENSOR && !at->t))
            return fail(im, NN_ERR_FORMAT, "attribute %s: %s",
                        quote(q, name),
                        spec[j].seen ? "given twice" : "wrong type");
        spec[j].seen = true;
        spec[j].f = at->f;
        spec[j].i = at->i;
        spec[j].t = at->t;
    }
    return NN_OK;
}

/* The double a float attribute stands for: the shortest decimal that rounds
 * to it (0.01f -> 0.01, the slope an exporter was given: ONNX stores
 * attributes in float32), exact for decimals of up to FLT_DIG digits. */
static double float_attr(float f)
{
    if (!isfinite(f)) return (double)f;
    char buf[32];
    for (int p = 1; p <= 9; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if (strtof(buf, NULL) == f) return strtod(buf, NULL);
    }
    return (double)f;
}

/* ------------------------------------------------------------ ops */
/* The layer being read (the last), or NULL before the first. */
static plan *open_layer(importer *im)
{
    return im->n_layers ? &im->layers[im->n_layers - 1] : NULL;
}

/* A Gemm or MatMul starts layer n_layers on a flat current value. */
static nn_status start_layer(importer *im, plan **L)
{
    if (im->rank != 2)
        return fail(im, NN_ERR_UNSUPPORTED, "the data input has rank %zu: "
                    "a Flatten (axis 1) must come before the first layer",
                    im->rank);
    *L = &im->layers[im->n_layers++]; /* one per node at most: it fits */
    **L = (plan){.n_in = im->width, .alpha = 1, .beta = 1,
                 .act = NN_ACT_IDENTITY};
    return NN_OK;
}

/* The weights of layer L, input 1 (B) of node n: a matrix whose rows
 * (columns under transB) match the current value's width; its other
 * dimension is the layer's n_out. */
static nn_status weight_input(importer *im, const Onnx__NodeProto *n,
                              bool trans, plan *L)
{
    char d[64];
    size_t count;
    nn_status st = tensor_input(im, n, 1, "B", &L->W, &count);
    if (st) return st;
    const Onnx__TensorProto *W = L->W;
    if (W->n_dims != 2)
        return fail(im, NN_ERR_UNSUPPORTED, "input B has shape %s: a matrix "
                    "expected", dims_text(d, W));
    size_t k = (size_t)W->dims[trans ? 1 : 0];
    if (k != im->width)
        return fail(im, NN_ERR_FORMAT, "input B has shape %s%s: %zu inputs, "
                    "but the value before has %zu features", dims_text(d, W),
                    trans ? " (transB)" : "", k, im->width);
    L->n_out = (size_t)W->dims[trans ? 0 : 1];
    L->trans = trans;
    im->width = L->n_out;
    return NN_OK;
}

/* The bias of layer L from input `slot` (role names it): n_out values
 * shaped [n_out] or [1, n_out] (a scalar for one unit). */
static nn_status bias_input(importer *im, const Onnx__NodeProto *n,
                            size_t slot, const char *role, plan *L)
{
    char d[64];
    size_t count;
    const Onnx__TensorProto *B = NULL;
    nn_status st = tensor_input(im, n, slot, role, &B, &count);
    if (st) return st;
    size_t last = B->n_dims ? (size_t)B->dims[B->n_dims - 1] : 1;
    if (count == L->n_out && B->n_dims <= 2 && last == L->n_out) {
        L->B = B;
        return NN_OK;
    }
    /* another shape that broadcasts is valid ONNX, only not a bias vector */
    return fail(im, last == L->n_out || last == 1 ? NN_ERR_UNSUPPORTED
                                                  : NN_ERR_FORMAT,
                "%s has shape %s: [%zu] or [1, %zu] expected", role,
                dims_text(d, B), L->n_out, L->n_out);
}

/* The data must enter node n through input 0 (A). */
static nn_status data_first(importer *im, const Onnx__NodeProto *n,
                            size_t lo, size_t hi)
{
    if (n->n_input < lo || n->n_input > hi)
        return fail(im, NN_ERR_FORMAT, "%zu inputs", n->n_input);
    if (strcmp(n->input[0], im->cur) != 0)
        return fail(im, NN_ERR_UNSUPPORTED, "the data must be input 0 (A)");
    return NN_OK;
}

/* Before opset 7 a bias is broadcast only with broadcast = 1 (else it must
 * have the output's full shape, which libnn does not take). */
static nn_status check_broadcast(importer *im, const attr_spec *b)
{
    if (im->opset >= 7 || (b->seen && b->i == 1)) return NN_OK;
    return fail(im, NN_ERR_UNSUPPORTED, "a bias without broadcast = 1 (opset "
                "%lld): only a vector bias is supported", (long long)im->opset);
}

/* Gemm: Y = alpha * A . op(B) + beta * C, op(B) = B or B^T (transB). */
static nn_status op_gemm(importer *im, const Onnx__NodeProto *n)
{
    attr_spec a[5] = {{"alpha", A_FLOAT}, {"beta", A_FLOAT},
                      {"transA", A_INT}, {"transB", A_INT},
                      {"broadcast", A_INT}};
    nn_status st = read_attrs(im, n, a, im->opset < 7 ? 5 : 4);
    if (!st) st = data_first(im, n, 2, 3);
    if (!st && n->n_input == 3 && *n->input[2]) st = check_broadcast(im, &a[4]);
    if (st) return st;
    if (a[2].seen && a[2].i != 0)
        return fail(im, NN_ERR_UNSUPPORTED, "transA %lld: the data must not "
                    "be transposed", (long long)a[2].i);
    if (a[3].seen && a[3].i != 0 && a[3].i != 1)
        return fail(im, NN_ERR_FORMAT, "transB %lld, 0 or 1 expected",
                    (long long)a[3].i);
    plan *L = NULL;
    st = start_layer(im, &L);
    if (!st) st = weight_input(im, n, a[3].seen && a[3].i == 1, L);
    if (!st && n->n_input == 3 && *n->input[2])
        st = bias_input(im, n, 2, "input C", L);
    if (st) return st;
    /* the float32 attributes as they are (they scale the weights) */
    L->alpha = a[0].seen ? (double)a[0].f : 1.0;
    L->beta = a[1].seen ? (double)a[1].f : 1.0;
    return NN_OK;
}

/* MatMul: Y = A . B, a layer whose bias may follow as an Add. */
static nn_status op_matmul(importer *im, const Onnx__NodeProto *n)
{
    plan *L = NULL;
    nn_status st = read_attrs(im, n, NULL, 0);
    if (!st) st = data_first(im, n, 2, 2);
    if (!st) st = start_layer(im, &L);
    if (!st) st = weight_input(im, n, false, L);
    return st;
}

/* Add: the bias of the layer a MatMul (or a Gemm without C) began. */
static nn_status op_add(importer *im, const Onnx__NodeProto *n)
{
    plan *L = open_layer(im);
    attr_spec a[1] = {{"broadcast", A_INT}};
    nn_status st = read_attrs(im, n, a, im->opset < 7 ? 1 : 0);
    if (!st) st = check_broadcast(im, &a[0]);
    if (st) return st;
    if (n->n_input != 2) return fail(im, NN_ERR_FORMAT, "%zu inputs",
                                     n->n_input);
    if (!L || L->closed || L->B)
        return fail(im, NN_ERR_UNSUPPORTED, "only the bias of a MatMul or "
                    "Gemm can be added");
    size_t slot = strcmp(n->input[0], im->cur) == 0 ? 1 : 0;
    return bias_input(im, n, slot, "the bias", L);
}

/* The activation ops and what they become. */
static const struct {
    const char *op;
    nn_activation act;
} ACTS[] = {{"Relu", NN_ACT_RELU},       {"LeakyRelu", NN_ACT_LEAKY_RELU},
            {"Sigmoid", NN_ACT_SIGMOID}, {"Tanh", NN_ACT_TANH},
            {"Softmax", NN_ACT_SOFTMAX}};

/* The attributes of an activation (LeakyRelu's alpha, Softmax's axis) into
 * L's slope; a Softmax must run over the last axis of >= 2 units. */
static nn_status act_attrs(importer *im, const Onnx__NodeProto *n,
                           nn_activation act, plan *L)
{
    attr_spec a[1] = {{act == NN_ACT_SOFTMAX ? "axis" : "alpha",
                       act == NN_ACT_SOFTMAX ? A_INT : A_FLOAT}};
    bool any = act == NN_ACT_SOFTMAX || act == NN_ACT_LEAKY_RELU;
    nn_status st = read_attrs(im, n, a, any ? 1 : 0);
    if (st) return st;
    if (act == NN_ACT_LEAKY_RELU) {
        L->slope = a[0].seen ? float_attr(a[0].f) : 0.01;
        if (!(L->slope >= 0.0) || !isfinite(L->slope))
            return fail(im, NN_ERR_UNSUPPORTED, "alpha %g: libnn's slope is "
                        "finite and >= 0", L->slope);
    }
    if (act == NN_ACT_SOFTMAX) {
        /* opset 13 made -1 the default; before, 1 (the same on 2-D data) */
        int64_t axis = a[0].seen ? a[0].i : im->opset >= 13 ? -1 : 1;
        if (axis != -1 && axis != 1)
            return fail(im, NN_ERR_UNSUPPORTED, "axis %lld: only the last "
                        "axis (-1 or 1) is supported", (long long)axis);
        if (L->n_out < 2)
            return fail(im, NN_ERR_UNSUPPORTED, "a softmax over one unit "
                        "(libnn's needs at least 2)");
    }
    return NN_OK;
}

/* An activation closes the layer before it. */
static nn_status op_act(importer *im, const Onnx__NodeProto *n,
                        nn_activation act)
{
    plan *L = open_layer(im);
    if (n->n_input != 1) return fail(im, NN_ERR_FORMAT, "%zu inputs",
                                     n->n_input);
    if (!L)
        return fail(im, NN_ERR_UNSUPPORTED, "an activation before the first "
                    "layer (Gemm or MatMul)");
    if (L->closed)
        return fail(im, NN_ERR_UNSUPPORTED, "two activations in a row (the "
                    "layer before already has one)");
    nn_status st = act_attrs(im, n, act, L);
    if (st) return st;
    L->act = act;
    L->closed = true;
    return NN_OK;
}

/* Flatten (axis 1): [batch, d1, d2, ...] -> [batch, d1*d2*...], only before
 * the first layer. */
static nn_status op_flatten(importer *im, const Onnx__NodeProto *n)
{
    attr_spec a[1] = {{"axis", A_INT}};
    nn_status st = read_attrs(im, n, a, 1);
    if (st) return st;
    if (n->n_input != 1) return fail(im, NN_ERR_FORMAT, "%zu inputs",
                                     n->n_input);
    if (im->n_layers)
        return fail(im, NN_ERR_UNSUPPORTED, "a Flatten after the first "
                    "layer");
    int64_t axis = a[0].seen ? a[0].i : 1;
    if (axis < 0) axis += (int64_t)im->rank;
    if (axis != 1)
        return fail(im, NN_ERR_UNSUPPORTED, "axis %lld: only axis 1 (keep "
                    "the batch) is supported", (long long)a[0].i);
    im->rank = 2;
    im->width = im->flat_width;
    return NN_OK;
}

static nn_status op_identity(importer *im, const Onnx__NodeProto *n)
{
    nn_status st = read_attrs(im, n, NULL, 0);
    if (!st && n->n_input != 1)
        st = fail(im, NN_ERR_FORMAT, "%zu inputs", n->n_input);
    return st;
}

/* Index into ACTS of activation op `op`, or -1. */
static int act_index(const char *op)
{
    for (size_t a = 0; a < sizeof ACTS / sizeof ACTS[0]; a++)
        if (strcmp(ACTS[a].op, op) == 0) return (int)a;
    return -1;
}

/* Node k, the one consumer of the current value: its op, then the value it
 * makes becomes the current one. */
static nn_status read_node(importer *im, size_t k)
{
    static const char *const OPS[] = {"Gemm", "MatMul", "Add", "Flatten",
                                      "Identity"};
    const Onnx__NodeProto *n = im->g->node[k];
    const char *op = str(n->op_type), *dom = str(n->domain);
    char q[QUOTED_CAP];
    im->at = k;
    if (*dom && strcmp(dom, "ai.onnx") != 0)
        return fail(im, NN_ERR_UNSUPPORTED, "op domain %s is not supported",
                    quote(q, dom));
    size_t o = 0, n_ops = sizeof OPS / sizeof OPS[0];
    while (o < n_ops && strcmp(OPS[o], op) != 0) o++;
    int a = act_index(op);
    if (o == n_ops && a < 0)
        return fail(im, NN_ERR_UNSUPPORTED, "op not supported (libnn reads "
                    "chains of Gemm or MatMul + Add and activations)");
    if (n->n_output != 1 || !*n->output[0])
        return fail(im, NN_ERR_FORMAT, "%zu outputs (one named output "
                    "expected)", n->n_output);
    nn_status st = o == 0   ? op_gemm(im, n)
                   : o == 1 ? op_matmul(im, n)
                   : o == 2 ? op_add(im, n)
                   : o == 3 ? op_flatten(im, n)
                   : o == 4 ? op_identity(im, n)
                            : op_act(im, n, ACTS[a].act);
    if (st) return st;
    im->cur = n->output[0];
    return NN_OK;
}

/* ------------------------------------------------------------ the chain */
/* Follow the data from the graph's input to its output, one node at a time:
 * every value on the way must have exactly one consumer (two are a branch,
 * and so is a graph output that a node also reads), and in the end every
 * node but the Constants must have been met. */
static nn_status walk_chain(importer *im)
{
    char q[QUOTED_CAP], r[QUOTED_CAP];
    im->cur = im->input;
    for (;;) {
        size_t first, uses = n_uses_of(im, im->cur, &first);
        bool is_out = strcmp(im->cur, im->output) == 0;
        if (uses == 0) break;
        im->at = NO_NODE;
        if (uses > 1 || is_out)
            return fail(im, NN_ERR_UNSUPPORTED, "value %s is used %zu "
                        "times%s: a branch (libnn reads a chain of layers)",
                        quote(q, im->cur), uses + is_out,
                        is_out ? " (one as the graph output)" : "");
        size_t k = im->uses[first].idx;
        if (im->on_chain[k]) {
            im->at = k;
            return fail(im, NN_ERR_FORMAT, "a cycle");
        }
        im->on_chain[k] = true;
        nn_status st = read_node(im, k);
        if (st) return st;
    }
    im->at = NO_NODE;
    if (strcmp(im->cur, im->output) != 0)
        return fail(im, NN_ERR_UNSUPPORTED, "the chain from the input ends "
                    "at %s, not at the graph output %s", quote(q, im->cur),
                    quote(r, im->output));
    for (size_t k = 0; k < im->g->n_node; k++) {
        if (im->on_chain[k]) continue;
        im->at = k;
        return fail(im, NN_ERR_UNSUPPORTED, "not on the chain from the input "
                    "to the output (a branch or a dead end)");
    }
    if (im->n_layers == 0)
        return fail(im, NN_ERR_UNSUPPORTED, "no Gemm or MatMul: nothing to "
                    "import");
    return NN_OK;
}

/* ------------------------------------------------------------ graph checks */
/* The tensor type of a graph input or output: *elem (0 when not given) and
 * *shape (NULL when not given). False when it is not a tensor. */
static bool value_type(const Onnx__ValueInfoProto *v, int32_t *elem,
                       const Onnx__TensorShapeProto **shape)
{
    *elem = 0;
    *shape = NULL;
    if (!v->type) return true;
    if (v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE)
        return v->type->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET;
    const Onnx__TypeProto__Tensor *t = v->type->tensor_type;
    *elem = t->has_elem_type ? t->elem_type : 0;
    *shape = t->shape;
    return true;
}

/* Dimension i of a shape: its fixed size, or 0 if symbolic or unknown. */
static int64_t dim_value(const Onnx__TensorShapeProto *s, size_t i)
{
    const Onnx__TensorShapeProto__Dimension *d = s->dim[i];
    return d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
               ? d->dim_value : 0;
}

/* The data input v: float or double, [batch, n_in] or [batch, d1, ...]
 * (to be flattened) with fixed sizes after the batch. */
static nn_status check_input(importer *im, const Onnx__ValueInfoProto *v)
{
    char q[QUOTED_CAP];
    const char *name = quote(q, im->input);
    int32_t elem;
    const Onnx__TensorShapeProto *s;
    if (!value_type(v, &elem, &s))
        return fail(im, NN_ERR_UNSUPPORTED, "input %s is not a tensor", name);
    if (elem != DT_FLOAT && elem != DT_DOUBLE)
        return fail(im, elem ? NN_ERR_UNSUPPORTED : NN_ERR_FORMAT, "input %s "
                    "has data type %s (%d): float or double expected", name,
                    dtype_name(elem), (int)elem);
    if (!s || s->n_dim < 2)
        return fail(im, NN_ERR_UNSUPPORTED, "input %s has %s: [batch, "
                    "features] expected", name, s ? "rank < 2" : "no shape");
    size_t w = 1;
    for (size_t i = 1; i < s->n_dim; i++) {
        int64_t d = dim_value(s, i);
        if (d < 1 || (uint64_t)d > INT_MAX || !nn__mul(w, (size_t)d, &w) ||
            w > INT_MAX)
            return fail(im, NN_ERR_UNSUPPORTED, "input %s: dimension %zu is "
                        "%s (libnn needs a fixed number of features)", name,
                        i, d < 1 ? "not a fixed size" : "too large");
    }
    im->dtype = elem;
    im->rank = s->n_dim;
    im->flat_width = w;
    im->width = s->n_dim == 2 ? w : 0;
    return NN_OK;
}

/* The graph output, once the chain is known: a tensor of the input's type
 * shaped [batch, n_out] as far as it says. */
static nn_status check_output(importer *im, const Onnx__ValueInfoProto *v)
{
    char q[QUOTED_CAP];
    const char *name = quote(q, im->output);
    size_t n_out = im->layers[im->n_layers - 1].n_out;
    int32_t elem;
    const Onnx__TensorShapeProto *s;
    if (!value_type(v, &elem, &s) || (elem && elem != im->dtype))
        return fail(im, NN_ERR_FORMAT, "output %s is not a %s tensor", name,
                    dtype_name(im->dtype));
    if (s && s->n_dim != 2)
        return fail(im, NN_ERR_FORMAT, "output %s has rank %zu: [batch, %zu] "
                    "expected", name, s->n_dim, n_out);
    if (s && dim_value(s, 1) && dim_value(s, 1) != (int64_t)n_out)
        return fail(im, NN_ERR_FORMAT, "output %s has %lld columns, the last "
                    "layer %zu units", name, (long long)dim_value(s, 1),
                    n_out);
    return NN_OK;
}

/* A Constant node k as a tensor: attribute `value` only. */
static nn_status constant_tensor(importer *im, size_t k,
                                 const Onnx__TensorProto **t)
{
    const Onnx__NodeProto *n = im->g->node[k];
    attr_spec a[1] = {{"value", A_TENSOR}};
    im->at = k;
    nn_status st = read_attrs(im, n, a, 1);
    if (st) return st;
    if (!a[0].seen || n->n_input != 0 || n->n_output != 1 || !*n->output[0])
        return fail(im, NN_ERR_FORMAT, "a Constant needs a tensor `value`, "
                    "no input and one output");
    *t = a[0].t;
    im->on_chain[k] = true; /* a Constant only defines weights */
    return NN_OK;
}

static bool is_constant(const Onnx__NodeProto *n)
{
    return strcmp(str(n->op_type), "Constant") == 0 &&
           (!n->domain || !*n->domain || strcmp(n->domain, "ai.onnx") == 0);
}

/* The tensors by name (initializers, Constant outputs), each name once. */
static nn_status index_tensors(importer *im)
{
    const Onnx__GraphProto *g = im->g;
    size_t n = 0;
    for (size_t i = 0; i < g->n_initializer; i++) {
        im->tvals[n] = g->initializer[i];
        im->tensors[n] = (entry){str(g->initializer[i]->name), n};
        n++;
    }
    for (size_t k = 0; k < g->n_node; k++) {
        if (!is_constant(g->node[k])) continue;
        nn_status st = constant_tensor(im, k, &im->tvals[n]);
        if (st) return st;
        im->tensors[n] = (entry){g->node[k]->output[0], n};
        n++;
    }
    im->at = NO_NODE;
    im->n_tensors = n;
    qsort(im->tensors, n, sizeof *im->tensors, entry_cmp);
    char q[QUOTED_CAP];
    for (size_t i = 1; i < n; i++)
        if (strcmp(im->tensors[i].name, im->tensors[i - 1].name) == 0)
            return fail(im, NN_ERR_FORMAT, "initializer %s is defined twice",
                        quote(q, im->tensors[i].name));
    return NN_OK;
}

/* Every node input by name (empty names are absent optional inputs). */
static void index_uses(importer *im)
{
    const Onnx__GraphProto *g = im->g;
    size_t n = 0;
    for (size_t k = 0; k < g->n_node; k++)
        for (size_t i = 0; i < g->node[k]->n_input; i++)
            if (*g->node[k]->input[i])
                im->uses[n++] = (entry){g->node[k]->input[i], k};
    im->n_uses = n;
    qsort(im->uses, n, sizeof *im->uses, entry_cmp);
}

/* The scratch arrays, through the caller's allocator; their sizes are
 * bounded by the input's (each entry stands for bytes of it). */
typedef struct {
    size_t uses, tensors, nodes;
} scratch_sizes;

static nn_status scratch_counts(const Onnx__GraphProto *g, scratch_sizes *c)
{
    c->uses = 0;
    c->tensors = g->n_initializer;
    c->nodes = g->n_node ? g->n_node : 1;
    for (size_t k = 0; k < g->n_node; k++) {
        if (!nn__add(c->uses, g->node[k]->n_input, &c->uses))
            return NN_ERR_TOO_LARGE;
        c->tensors += is_constant(g->node[k]);
    }
    c->uses = c->uses ? c->uses : 1;
    c->tensors = c->tensors ? c->tensors : 1;
    return NN_OK;
}

static void free_scratch(importer *im, const scratch_sizes *c)
{
    nn__free(im->al, im->uses, c->uses * sizeof *im->uses);
    nn__free(im->al, im->tensors, c->tensors * sizeof *im->tensors);
    nn__free(im->al, im->tvals, c->tensors * sizeof *im->tvals);
    nn__free(im->al, im->on_chain, c->nodes * sizeof *im->on_chain);
    nn__free(im->al, im->layers, c->nodes * sizeof *im->layers);
    im->uses = NULL;
    im->tensors = NULL;
    im->tvals = NULL;
    im->on_chain = NULL;
    im->layers = NULL;
}

static nn_status alloc_scratch(importer *im, const scratch_sizes *c)
{
    size_t b1, b2, b3, b4, b5;
    if (!nn__mul(c->uses, sizeof *im->uses, &b1) ||
        !nn__mul(c->tensors, sizeof *im->tensors, &b2) ||
        !nn__mul(c->tensors, sizeof *im->tvals, &b3) ||
        !nn__mul(c->nodes, sizeof *im->on_chain, &b4) ||
        !nn__mul(c->nodes, sizeof *im->layers, &b5))
        return NN_ERR_TOO_LARGE;
    im->uses = nn__alloc(im->al, b1);
    im->tensors = nn__alloc(im->al, b2);
    im->tvals = nn__alloc(im->al, b3);
    im->on_chain = nn__alloc(im->al, b4);
    im->layers = nn__alloc(im->al, b5);
    if (!im->uses || !im->tensors || !im->tvals || !im->on_chain ||
        !im->layers) {
        free_scratch(im, c);
        return NN_ERR_NOMEM;
    }
    memset(im->on_chain, 0, b4);
    return NN_OK;
}

/* The one graph input that is not an initializer (older exporters list the
 * initializers among the inputs), and the one output. */
static nn_status find_ends(importer *im, const Onnx__ValueInfoProto **in,
                           const Onnx__ValueInfoProto **out)
{
    const Onnx__GraphProto *g = im->g;
    char q[QUOTED_CAP];
    size_t data = 0;
    for (size_t i = 0; i < g->n_input; i++) {
        const char *name = str(g->input[i]->name);
        if (!*name) return fail(im, NN_ERR_FORMAT, "graph input %zu has no "
                                "name", i);
        if (tensor_named(im, name)) continue;
        if (data++ == 0) *in = g->input[i];
    }
    if (data != 1)
        return fail(im, data ? NN_ERR_UNSUPPORTED : NN_ERR_FORMAT, "%zu data "
                    "inputs (graph inputs that are not initializers): one "
                    "expected", data);
    if (g->n_output != 1 || !*str(g->output[0]->name))
        return fail(im, g->n_output ? NN_ERR_UNSUPPORTED : NN_ERR_FORMAT,
                    "%zu graph outputs: one (named) expected", g->n_output);
    if (g->n_sparse_initializer) {
        const Onnx__TensorProto *v = g->sparse_initializer[0]->values;
        return fail(im, NN_ERR_UNSUPPORTED, "sparse initializer %s is not "
                    "supported", quote(q, v ? str(v->name) : ""));
    }
    *out = g->output[0];
    im->input = (*in)->name;
    im->output = (*out)->name;
    return NN_OK;
}

/* The model's own fields: IR version, the default domain's opset, a graph. */
static nn_status check_model(importer *im, const Onnx__ModelProto *m)
{
    if (!m->has_ir_version || m->ir_version < 1)
        return fail(im, NN_ERR_FORMAT, "no ir_version: not an ONNX model");
    if (m->ir_version < 3)
        return fail(im, NN_ERR_UNSUPPORTED, "IR version %lld (before opsets; "
                    "3 or later expected)", (long long)m->ir_version);
    int64_t opset = 0;
    for (size_t i = 0; i < m->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = m->opset_import[i];
        const char *d = str(o->domain);
        if ((!*d || strcmp(d, "ai.onnx") == 0) && o->has_version)
            opset = o->version;
    }
    if (opset == 0)
        return fail(im, NN_ERR_FORMAT, "no opset for the default domain");
    if (opset < MIN_OPSET || opset > MAX_OPSET)
        return fail(im, NN_ERR_UNSUPPORTED, "opset %lld (libnn reads %d to "
                    "%d)", (long long)opset, MIN_OPSET, MAX_OPSET);
    if (!m->graph) return fail(im, NN_ERR_FORMAT, "the model has no graph");
    im->opset = opset;
    im->g = m->graph;
    return NN_OK;
}

/* ------------------------------------------------------------ the network */
/* The loss the output activation calls for (documented in nn.h). */
static nn_loss loss_for(nn_activation act)
{
    return act == NN_ACT_SIGMOID   ? NN_LOSS_BCE
           : act == NN_ACT_SOFTMAX ? NN_LOSS_SOFTMAX_CE
                                   : NN_LOSS_MSE;
}

/* Layer l's parameters from its tensors: W(i,j) = alpha * op(B)(i,j) and
 * b(j) = beta * C(j) (no rounding when they are 1). */
static void copy_layer(const plan *L, double *W, double *b)
{
    size_t K = L->n_in, N = L->n_out;
    for (size_t i = 0; i < K; i++)
        for (size_t j = 0; j < N; j++) {
            double v = tensor_value(L->W, L->trans ? j * K + i : i * N + j);
            W[i * N + j] = L->alpha == 1.0 ? v : L->alpha * v;
        }
    for (size_t j = 0; j < N; j++) {
        double v = L->B ? tensor_value(L->B, j) : 0.0;
        b[j] = L->beta == 1.0 || !L->B ? v : L->beta * v;
    }
}

/* The spec of the planned layers, the network, its parameters. */
static nn_status build_net(importer *im, const nn_allocator *user,
                           nn_net_t **out)
{
    const plan *last = &im->layers[im->n_layers - 1];
    nn_netspec_t *spec = NULL;
    nn_net_t *net = NULL;
    nn_status st = nn_netspec_create(&spec, im->layers[0].n_in,
                                     loss_for(last->act), user);
    for (size_t l = 0; !st && l < im->n_layers; l++) {
        st = nn_netspec_add_dense(spec, im->layers[l].n_out,
                                  im->layers[l].act);
        if (!st && im->layers[l].act == NN_ACT_LEAKY_RELU)
            st = nn_netspec_set_real(spec, l, NN_LAYER_ACT_PARAM,
                                     im->layers[l].slope);
    }
    if (!st) st = nn_net_create(&net, spec, user);
    nn_netspec_destroy(spec);
    im->at = NO_NODE;
    if (st == NN_ERR_NOMEM) return st;
    if (st)
        return fail(im, NN_ERR_UNSUPPORTED, "libnn cannot build the network "
                    "(%s)", nn_strerror(st));
    double *p = nn_net_params(net);
    for (size_t l = 0; l < im->n_layers; l++) {
        size_t w_off = 0, b_off = 0;
        nn_net_layer_offset(net, l, &w_off, &b_off);
        copy_layer(&im->layers[l], p + w_off, p + b_off);
    }
    *out = net;
    return NN_OK;
}

/* Step 4 on an unpacked model. */
static nn_status import_model(importer *im, const Onnx__ModelProto *m,
                              const nn_allocator *user, nn_net_t **out)
{
    nn_status st = check_model(im, m);
    if (st) return st;
    scratch_sizes c;
    st = scratch_counts(im->g, &c);
    if (!st) st = alloc_scratch(im, &c);
    if (st) return st;
    const Onnx__ValueInfoProto *in = NULL, *res = NULL;
    st = index_tensors(im);
    if (!st) {
        index_uses(im);
        st = find_ends(im, &in, &res);
    }
    if (!st) st = check_input(im, in);
    if (!st) st = walk_chain(im);
    if (!st) st = check_output(im, res);
    if (!st) st = build_net(im, user, out);
    free_scratch(im, &c);
    return st;
}

/* Load from n bytes at p; file names the source in messages. */
static nn_status load_bytes(const uint8_t *p, size_t n, const char *file,
                            const nn_allocator *user, nn_error_info *err,
                            nn_net_t **out)
{
    nn_allocator al;
    nn__allocator_init(&al, user);
    if (n > MAX_ONNX_BYTES) {
        nn__set_error(err, file, 0, "%zu bytes: over protobuf's 2 GiB limit",
                      n);
        return NN_ERR_FORMAT;
    }
    pb_bridge bridge;
    Onnx__ModelProto *m = NULL;
    nn_status st = unpack_model(p, n, &al, file, err, &m, &bridge);
    if (st) return st;
    importer im = {.file = file, .err = err, .al = &al, .at = NO_NODE};
    nn_net_t *net = NULL;
    st = import_model(&im, m, user, &net);
    free_model(m, &bridge);
    if (!st) *out = net;
    return st;
}

nn_status nn_onnx_load_mem(nn_net_t **out, const void *buf, size_t size,
                           const nn_allocator *alloc, nn_error_info *err)
{
    if (!out || (!buf && size > 0) || !nn__allocator_valid(alloc))
        return NN_ERR_INVALID;
    if (size == 0) {
        nn__set_error(err, "", 0, "empty input");
        return NN_ERR_FORMAT;
    }
    return load_bytes(buf, size, "", alloc, err, out);
}

/* Step 1: the whole of fd (a regular file of fsize bytes, or a stream:
 * fsize SIZE_MAX) into *buf (allocated size *cap), *got bytes. A regular
 * file's buffer is allocated at once, one byte more to see it grow; a
 * stream's doubles only as bytes arrive. Over MAX_ONNX_BYTES: *got is
 * MAX_ONNX_BYTES + 1. */
static nn_status read_all(int fd, size_t fsize, const nn_allocator *al,
                          unsigned char **buf, size_t *cap, size_t *got)
{
    size_t c = fsize != SIZE_MAX ? fsize + 1 : (size_t)1 << 16, have = 0, k;
    unsigned char *b = nn__alloc(al, c);
    if (!b) return NN_ERR_NOMEM;
    for (;;) {
        if (!nn__read_full(fd, b + have, c - have, &k)) {
            int e = errno;
            nn__free(al, b, c);
            errno = e;
            return NN_ERR_IO;
        }
        have += k;
        if (have < c || have > MAX_ONNX_BYTES) break;
        size_t nc = c > MAX_ONNX_BYTES / 2 ? MAX_ONNX_BYTES + 1 : 2 * c;
        unsigned char *nb = nn__alloc(al, nc);
        if (!nb) {
            nn__free(al, b, c);
            return NN_ERR_NOMEM;
        }
        memcpy(nb, b, have);
        nn__free(al, b, c);
        b = nb;
        c = nc;
    }
    *buf = b;
    *cap = c;
    *got = have;
    return NN_OK;
}

nn_status nn_onnx_load(nn_net_t **out, const char *path,
                       const nn_allocator *alloc, nn_error_info *err)
{
    if (!out || !path || !nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    bool regular = false;
    uint64_t fsize = UINT64_MAX;
    const char *what;
    int e, fd = nn__open_read(path, &regular, &fsize, &what, &e);
    if (fd < 0) {
        nn__set_error(err, path, 0, "%s: %s", what, NN_ERRNO_TEXT(e));
        return NN_ERR_IO;
    }
    nn_status st = NN_OK;
    if (regular && fsize > MAX_ONNX_BYTES) { /* refused before any read */
        nn__set_error(err, path, 0, "file too large (%llu bytes: over "
                      "protobuf's 2 GiB limit)", (unsigned long long)fsize);
        st = NN_ERR_FORMAT;
    }
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    unsigned char *buf = NULL;
    size_t cap = 0, got = 0;
    if (!st) st = read_all(fd, regular ? (size_t)fsize : SIZE_MAX, &al, &buf,
                           &cap, &got);
    if (st == NN_ERR_IO)
        nn__set_error(err, path, 0, "read error: %s", NN_ERRNO_TEXT(errno));
    close(fd);
    if (st) return st;
    if (got == 0) {
        nn__set_error(err, path, 0, "empty file");
        st = NN_ERR_FORMAT;
    } else if (got > MAX_ONNX_BYTES) {
        nn__set_error(err, path, 0, "over protobuf's 2 GiB limit");
        st = NN_ERR_FORMAT;
    } else {
        st = load_bytes(buf, got, path, alloc, err, out);
    }
    nn__free(&al, buf, cap);
    return st;
}

/* ------------------------------------------------------------ export */
/* Names of values, nodes and initializers ("layer12.W", "layer3/Gemm"). */
#define NAME_CAP 48
enum { NAMES_PER_LAYER = 6 }; /* W, b, z, a, Gemm node, activation node */

/* The messages of one model being written: the fixed ones here, the per
 * layer ones in one block through the network's allocator. */
typedef struct {
    Onnx__ModelProto model;
    Onnx__OperatorSetIdProto opset, *opset_ptr;
    Onnx__GraphProto graph;
    Onnx__ValueInfoProto io[2], *io_ptr[2];
    Onnx__TypeProto type[2];
    Onnx__TypeProto__Tensor tensor_type[2];
    Onnx__TensorShapeProto shape[2];
    Onnx__TensorShapeProto__Dimension dim[4], *dim_ptr[4];
    /* per layer */
    Onnx__NodeProto *nodes, **node_ptr;
    Onnx__TensorProto *inits, **init_ptr;
    Onnx__AttributeProto *attrs, **attr_ptr;
    int64_t *dims;  /* 3 per layer: W's two, b's one */
    char **io_names; /* 6 per layer: Gemm's 3 inputs and output, act's two */
    char *names;     /* NAMES_PER_LAYER x NAME_CAP per layer */
    uint8_t *raw;    /* little-endian parameters (big-endian hosts only) */
    void *block;
    size_t bytes;
} writer;

static bool little_endian(void)
{
    const uint16_t one = 1;
    return *(const uint8_t *)&one == 1;
}

/* Reserve count objects of size bytes at the end of a block of *end bytes
 * (16-byte aligned); *at is their offset. False on overflow. */
static bool reserve(size_t *end, size_t count, size_t size, size_t *at)
{
    size_t bytes, a;
    if (!nn__add(*end, 15, &a) || !nn__mul(count, size, &bytes)) return false;
    a &= ~(size_t)15;
    *at = a;
    return nn__add(a, bytes, end);
}

/* The block of the per-layer messages of an L-layer network of np
 * parameters. */
static nn_status writer_alloc(writer *w, size_t L, size_t np,
                              const nn_allocator *al)
{
    size_t end = 0, o[11], L2, raw = little_endian() ? 0 : np;
    bool ok = nn__mul(L, 2, &L2) &&
              reserve(&end, L2, sizeof *w->nodes, &o[0]) &&
              reserve(&end, L2, sizeof *w->node_ptr, &o[1]) &&
              reserve(&end, L2, sizeof *w->inits, &o[2]) &&
              reserve(&end, L2, sizeof *w->init_ptr, &o[3]) &&
              reserve(&end, L, sizeof *w->attrs, &o[4]) &&
              reserve(&end, L, sizeof *w->attr_ptr, &o[5]) &&
              reserve(&end, L, 3 * sizeof *w->dims, &o[6]) &&
              reserve(&end, L, 6 * sizeof *w->io_names, &o[7]) &&
              reserve(&end, L, NAMES_PER_LAYER * NAME_CAP, &o[8]) &&
              reserve(&end, raw, 8, &o[9]);
    if (!ok) return NN_ERR_TOO_LARGE;
    unsigned char *b = nn__alloc(al, end);
    if (!b) return NN_ERR_NOMEM;
    w->block = b;
    w->bytes = end;
    w->nodes = (void *)(b + o[0]);
    w->node_ptr = (void *)(b + o[1]);
    w->inits = (void *)(b + o[2]);
    w->init_ptr = (void *)(b + o[3]);
    w->attrs = (void *)(b + o[4]);
    w->attr_ptr = (void *)(b + o[5]);
    w->dims = (void *)(b + o[6]);
    w->io_names = (void *)(b + o[7]);
    w->names = (char *)(b + o[8]);
    w->raw = raw ? b + o[9] : NULL;
    return NN_OK;
}

/* An initializer: a float64 tensor of n values at p (1 or 2 dims), its
 * bytes little-endian (the parameters themselves on a little-endian host,
 * else written to *raw, which advances). */
static void init_tensor(Onnx__TensorProto *t, char *name, int64_t *dims,
                        size_t n_dims, const double *p, size_t n,
                        uint8_t **raw)
{
    onnx__tensor_proto__init(t);
    t->name = name;
    t->n_dims = n_dims;
    t->dims = dims;
    t->has_data_type = 1;
    t->data_type = DT_DOUBLE;
    t->has_raw_data = 1;
    t->raw_data.len = n * 8;
    if (!*raw) {
        t->raw_data.data = (uint8_t *)(uintptr_t)p; /* only read by pack */
        return;
    }
    t->raw_data.data = *raw;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, &p[i], sizeof v);
        for (int k = 0; k < 8; k++) *(*raw)++ = (uint8_t)(v >> (8 * k));
    }
}

/* A node of one input and one output (the io_names at io). */
static void init_node(Onnx__NodeProto *n, char *name, const char *op,
                      char **io, size_t n_in)
{
    onnx__node_proto__init(n);
    n->name = name;
    n->op_type = (char *)(uintptr_t)op;
    n->n_input = n_in;
    n->input = io;
    n->n_output = 1;
    n->output = io + n_in;
}

static const char *act_op(nn_activation act)
{
    for (size_t a = 0; a < sizeof ACTS / sizeof ACTS[0]; a++)
        if (ACTS[a].act == act) return ACTS[a].op;
    return NULL; /* identity: no node */
}

/* The attribute of layer l's activation node, if it has one. */
static void act_attr(writer *w, size_t l, nn_activation act, double slope,
                     Onnx__NodeProto *n)
{
    Onnx__AttributeProto *a = &w->attrs[l];
    if (act != NN_ACT_LEAKY_RELU && act != NN_ACT_SOFTMAX) return;
    onnx__attribute_proto__init(a);
    a->has_type = 1;
    if (act == NN_ACT_LEAKY_RELU) {
        a->name = "alpha";
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        a->has_f = 1;
        a->f = (float)slope;
    } else {
        a->name = "axis";
        a->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        a->has_i = 1;
        a->i = -1;
    }
    w->attr_ptr[l] = a;
    n->n_attribute = 1;
    n->attribute = &w->attr_ptr[l];
}

/* Layer l of net as messages: its two initializers, its Gemm, and its
 * activation node (none for identity, nor for the output layer under
 * NN_ONNX_LOGITS). *prev, the value entering it, becomes the value it
 * makes; *n_nodes counts the nodes. */
static void write_layer(writer *w, const nn_net_t *net, size_t l,
                        bool logits, char **prev, uint8_t **raw,
                        size_t *n_nodes)
{
    size_t n_in = nn_net_layer_n_in(net, l), n_out = nn_net_layer_n_out(net, l);
    int64_t act = NN_ACT_IDENTITY;
    double slope = 0;
    nn_net_get_layer_int(net, l, NN_LAYER_ACTIVATION, &act);
    nn_net_get_layer_real(net, l, NN_LAYER_ACT_PARAM, &slope);
    bool last = l + 1 == nn_net_n_layers(net);
    const char *op = last && logits ? NULL : act_op((nn_activation)act);
    char *nm = w->names + l * NAMES_PER_LAYER * NAME_CAP, **io;
    char *out = last ? "output" : nm + 3 * NAME_CAP;
    snprintf(nm, NAME_CAP, "layer%zu.W", l);
    snprintf(nm + NAME_CAP, NAME_CAP, "layer%zu.b", l);
    snprintf(nm + 2 * NAME_CAP, NAME_CAP, "layer%zu.z", l);
    snprintf(nm + 3 * NAME_CAP, NAME_CAP, "layer%zu.a", l);
    snprintf(nm + 4 * NAME_CAP, NAME_CAP, "layer%zu/Gemm", l);
    snprintf(nm + 5 * NAME_CAP, NAME_CAP, "layer%zu/%s", l, op ? op : "");
    int64_t *d = w->dims + 3 * l;
    d[0] = (int64_t)n_in;
    d[1] = d[2] = (int64_t)n_out;
    size_t w_off = 0, b_off = 0;
    nn_net_layer_offset(net, l, &w_off, &b_off);
    const double *p = nn_net_params((nn_net_t *)(uintptr_t)net); /* read */
    init_tensor(&w->inits[2 * l], nm, d, 2, p + w_off, n_in * n_out, raw);
    init_tensor(&w->inits[2 * l + 1], nm + NAME_CAP, d + 2, 1, p + b_off,
                n_out, raw);
    w->init_ptr[2 * l] = &w->inits[2 * l];
    w->init_ptr[2 * l + 1] = &w->inits[2 * l + 1];
    io = w->io_names + 6 * l;
    io[0] = *prev;
    io[1] = nm;
    io[2] = nm + NAME_CAP;
    io[3] = op ? nm + 2 * NAME_CAP : out;
    init_node(&w->nodes[*n_nodes], nm + 4 * NAME_CAP, "Gemm", io, 3);
    w->node_ptr[*n_nodes] = &w->nodes[*n_nodes];
    ++*n_nodes;
    if (op) {
        io[4] = io[3];
        io[5] = out;
        Onnx__NodeProto *n = &w->nodes[*n_nodes];
        init_node(n, nm + 5 * NAME_CAP, op, io + 4, 1);
        act_attr(w, l, (nn_activation)act, slope, n);
        w->node_ptr[(*n_nodes)++] = n;
    }
    *prev = out;
}

/* Graph input or output k (0, 1): a float64 tensor [batch, n]. */
static void write_io(writer *w, int k, char *name, size_t n)
{
    Onnx__TensorShapeProto__Dimension *d = &w->dim[2 * k];
    onnx__tensor_shape_proto__dimension__init(&d[0]);
    d[0].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
    d[0].dim_param = "batch";
    onnx__tensor_shape_proto__dimension__init(&d[1]);
    d[1].value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    d[1].dim_value = (int64_t)n;
    w->dim_ptr[2 * k] = &d[0];
    w->dim_ptr[2 * k + 1] = &d[1];
    onnx__tensor_shape_proto__init(&w->shape[k]);
    w->shape[k].n_dim = 2;
    w->shape[k].dim = &w->dim_ptr[2 * k];
    onnx__type_proto__tensor__init(&w->tensor_type[k]);
    w->tensor_type[k].has_elem_type = 1;
    w->tensor_type[k].elem_type = DT_DOUBLE;
    w->tensor_type[k].shape = &w->shape[k];
    onnx__type_proto__init(&w->type[k]);
    w->type[k].value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    w->type[k].tensor_type = &w->tensor_type[k];
    onnx__value_info_proto__init(&w->io[k]);
    w->io[k].name = name;
    w->io[k].type = &w->type[k];
    w->io_ptr[k] = &w->io[k];
}

/* The whole model of net in w (its block allocated); *size its bytes. */
static void write_model(writer *w, const nn_net_t *net, bool logits,
                        size_t *size)
{
    size_t L = nn_net_n_layers(net), n_nodes = 0;
    char *prev = "input";
    uint8_t *raw = w->raw;
    for (size_t l = 0; l < L; l++)
        write_layer(w, net, l, logits, &prev, &raw, &n_nodes);
    write_io(w, 0, "input", nn_net_n_in(net));
    write_io(w, 1, "output", nn_net_n_out(net));
    onnx__graph_proto__init(&w->graph);
    w->graph.name = "libnn";
    w->graph.n_node = n_nodes;
    w->graph.node = w->node_ptr;
    w->graph.n_initializer = 2 * L;
    w->graph.initializer = w->init_ptr;
    w->graph.n_input = 1;
    w->graph.input = &w->io_ptr[0];
    w->graph.n_output = 1;
    w->graph.output = &w->io_ptr[1];
    onnx__operator_set_id_proto__init(&w->opset);
    w->opset.domain = "";
    w->opset.has_version = 1;
    w->opset.version = NN_ONNX_OPSET;
    w->opset_ptr = &w->opset;
    onnx__model_proto__init(&w->model);
    w->model.has_ir_version = 1;
    w->model.ir_version = 7;
    w->model.n_opset_import = 1;
    w->model.opset_import = &w->opset_ptr;
    w->model.producer_name = "libnn";
    w->model.producer_version = (char *)(uintptr_t)nn_version_string();
    w->model.graph = &w->graph;
    *size = onnx__model_proto__get_packed_size(&w->model);
}

/* What ONNX cannot carry: a layer kind other than dense, a leaky-relu
 * slope float32 cannot hold (it would become inf). */
static nn_status check_exportable(const nn_net_t *net)
{
    for (size_t l = 0; l < nn_net_n_layers(net); l++) {
        int64_t kind = NN_LAYER_DENSE, act = NN_ACT_IDENTITY;
        double slope = 0;
        nn_net_get_layer_int(net, l, NN_LAYER_KIND, &kind);
        nn_net_get_layer_int(net, l, NN_LAYER_ACTIVATION, &act);
        nn_net_get_layer_real(net, l, NN_LAYER_ACT_PARAM, &slope);
        if (kind != NN_LAYER_DENSE ||
            (act == NN_ACT_LEAKY_RELU && !isfinite((float)slope)))
            return NN_ERR_UNSUPPORTED;
    }
    return NN_OK;
}

/* Build the messages of net: w's block through net's allocator (free it
 * with writer_free), *size the model's bytes. */
static nn_status writer_build(writer *w, const nn_net_t *net, int32_t flags,
                              size_t *size)
{
    if (!net || (flags & ~(int32_t)NN_ONNX_LOGITS)) return NN_ERR_INVALID;
    nn_status st = check_exportable(net);
    if (!st) st = writer_alloc(w, nn_net_n_layers(net), nn_net_n_params(net),
                               nn__net_allocator(net));
    if (st) return st;
    write_model(w, net, flags & NN_ONNX_LOGITS, size);
    return *size > MAX_ONNX_BYTES ? NN_ERR_TOO_LARGE : NN_OK;
}

static void writer_free(writer *w, const nn_net_t *net)
{
    nn__free(nn__net_allocator(net), w->block, w->bytes);
}

nn_status nn_onnx_save_mem(const nn_net_t *net, int32_t flags, void *buf,
                           size_t cap, size_t *size)
{
    if (!size) return NN_ERR_INVALID;
    writer w = {0};
    size_t n = 0;
    nn_status st = writer_build(&w, net, flags, &n);
    if (!st) {
        *size = n;
        if (buf && cap < n) st = NN_ERR_SHAPE;
        else if (buf) onnx__model_proto__pack(&w.model, buf);
    }
    if (w.block) writer_free(&w, net);
    return st;
}

nn_status nn_onnx_save(const char *path, const nn_net_t *net, int32_t flags,
                       nn_error_info *err)
{
    if (!path || !*path) return NN_ERR_INVALID;
    writer w = {0};
    size_t n = 0;
    nn_status st = writer_build(&w, net, flags, &n);
    unsigned char *buf = NULL;
    if (!st && !(buf = nn__alloc(nn__net_allocator(net), n)))
        st = NN_ERR_NOMEM;
    if (!st) {
        onnx__model_proto__pack(&w.model, buf);
        st = nn__save_file(path, buf, n, nn__net_allocator(net), err);
    } else if (st == NN_ERR_UNSUPPORTED || st == NN_ERR_TOO_LARGE) {
        nn__set_error(err, path, 0, st == NN_ERR_TOO_LARGE
                      ? "the model would be over protobuf's 2 GiB limit"
                      : "a layer ONNX cannot carry (a leaky-relu slope "
                        "beyond float32's range)");
    }
    if (buf) nn__free(nn__net_allocator(net), buf, n);
    if (w.block) writer_free(&w, net);
    return st;
}

#endif /* NN_HAVE_ONNX */
