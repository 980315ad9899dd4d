/* test_errors.c — argument validation of every public call: NULL pointers,
 * zero / negative-as-size_t sizes, bad enums and values, mismatched shapes,
 * leading dimensions below the width, and sizes beyond BLAS's int or whose
 * products overflow size_t. For every failing call: the exact status, output
 * buffers untouched, nothing allocated, the object unchanged and still usable
 * (it then behaves bitwise like a fresh object with the same history).
 * Huge sizes are only ever handed to calls that must refuse them before
 * touching the (tiny, real) buffers. */
#include "testutil.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#define BIG_INT ((size_t)INT_MAX + 1) /* first size that does not fit an int */
#define NM 4                          /* batch rows of the valid calls       */
#define BUF 512                       /* doubles in every test buffer        */
#define SENT 0xA5                     /* sentinel byte of output buffers     */

/* ------------------------------------------------ a tallying allocator
 * The shared counting allocator, refusing anything over 64 MiB (so a call
 * that wrongly tries to reserve a huge workspace fails with NN_ERR_NOMEM
 * instead of touching memory it was never given). */
static tu_counter tally_new(void)
{
    return (tu_counter){.max_request = (size_t)1 << 26};
}

/* ------------------------------------------------ networks under test */
enum { K_MSE, K_SCE, K_BCE, K_COUNT };

static const nn_layer_spec specs_mse[] = {{4, NN_ACT_TANH, 0.0},
                                          {2, NN_ACT_IDENTITY, 0.0}};
static const nn_layer_spec specs_sce[] = {{5, NN_ACT_RELU, 0.0},
                                          {3, NN_ACT_SOFTMAX, 0.0}};
static const nn_layer_spec specs_bce[] = {{4, NN_ACT_LEAKY_RELU, 0.1},
                                          {1, NN_ACT_SIGMOID, 0.0}};
#define NET_N_IN 3

static nn_net_t *mk_net(int kind, tu_counter *t)
{
    const nn_layer_spec *s = kind == K_MSE ? specs_mse
                             : kind == K_SCE ? specs_sce : specs_bce;
    nn_loss loss = kind == K_MSE ? NN_LOSS_MSE
                   : kind == K_SCE ? NN_LOSS_SOFTMAX_CE : NN_LOSS_BCE;
    nn_allocator al;
    if (t) al = tu_allocator(t);
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, NET_N_IN, 2, s, loss, t ? &al : NULL));
    return net;
}

/* Every parameter then every gradient, layer by layer (row-major W, b). */
static size_t net_state(const nn_net_t *net, double *buf)
{
    size_t off = 0;
    for (int g = 0; g < 2; g++)
        for (size_t l = 0; l < nn_net_n_layers(net); l++) {
            size_t ni = nn_net_layer_n_in(net, l), no = nn_net_layer_n_out(net, l);
            ck_assert_uint_le(off + ni * no + no, BUF);
            if (g == 0)
                NN_OK_OR_FAIL(nn_net_get_params(net, l, NN_ROW_MAJOR, buf + off,
                                                no, buf + off + ni * no));
            else
                NN_OK_OR_FAIL(nn_net_get_grads(net, l, NN_ROW_MAJOR, buf + off,
                                               no, buf + off + ni * no));
            off += ni * no + no;
        }
    return off;
}

static void assert_net_state(const nn_net_t *net, const double *want,
                             size_t n, const char *what)
{
    double now[BUF];
    ck_assert_uint_eq(net_state(net, now), n);
    ck_assert_msg(memcmp(now, want, n * sizeof(double)) == 0,
                  "%s: network parameters/gradients changed", what);
}

/* ------------------------------------------------ buffers and arguments */
typedef struct {
    double X[BUF];  /* inputs                         */
    double T[BUF];  /* dense targets                  */
    double D[BUF];  /* dA of a dense layer            */
    double O[BUF];  /* output (sentinel)              */
    double O2[BUF]; /* second output: dX (sentinel)   */
    size_t labels[BUF];
    double loss;    /* sentinel                       */
} bufs;

enum { B_X, B_T, B_D, B_O, B_O2 };

static double *buf_at(bufs *b, int which)
{
    switch (which) {
    case B_X: return b->X;
    case B_T: return b->T;
    case B_D: return b->D;
    case B_O: return b->O;
    default: return b->O2;
    }
}

static void bufs_init(bufs *b, size_t n_classes)
{
    tu_rng r = {42};
    memset(b, SENT, sizeof *b);
    tu_fill(&r, b->X, BUF, -1.0, 1.0);
    tu_fill(&r, b->T, BUF, 0.0, 1.0);
    tu_fill(&r, b->D, BUF, -1.0, 1.0);
    for (size_t i = 0; i < BUF; i++) b->labels[i] = i % n_classes;
}

/* One batch call's arguments; slot k is the k-th matrix argument. */
typedef struct {
    size_t m;
    nn_order order;
    double *p[3];
    size_t ld[3];
    const size_t *labels;
    double *loss;
} call_args;

typedef struct {
    const char *name;
    nn_status (*call)(void *obj, const call_args *a);
    int nslots;
    int buf[3];       /* buffer each slot points to          */
    int width[3];     /* 0: n_in, 1: n_out of the object     */
    bool optional[3]; /* NULL is a valid value for the slot  */
} fn_spec;

static nn_status c_predict(void *o, const call_args *a)
{
    return nn_net_predict(o, a->m, a->order, a->p[0], a->ld[0], a->p[1],
                          a->ld[1]);
}
static nn_status c_loss(void *o, const call_args *a)
{
    return nn_net_loss(o, a->m, a->order, a->p[0], a->ld[0], a->p[1],
                       a->ld[1], a->loss);
}
static nn_status c_loss_labels(void *o, const call_args *a)
{
    return nn_net_loss_labels(o, a->m, a->order, a->p[0], a->ld[0], a->labels,
                              a->loss);
}
static nn_status c_grad(void *o, const call_args *a)
{
    return nn_net_gradient(o, a->m, a->order, a->p[0], a->ld[0], a->p[1],
                           a->ld[1], a->loss);
}
static nn_status c_grad_labels(void *o, const call_args *a)
{
    return nn_net_gradient_labels(o, a->m, a->order, a->p[0], a->ld[0],
                                  a->labels, a->loss);
}
static nn_status c_fwd(void *o, const call_args *a)
{
    return nn_dense_forward(o, a->m, a->order, a->p[0], a->ld[0], a->p[1],
                            a->ld[1]);
}
static nn_status c_bwd(void *o, const call_args *a)
{
    return nn_dense_backward(o, a->m, a->order, a->p[0], a->ld[0], a->p[1],
                             a->ld[1], a->p[2], a->ld[2]);
}

static const fn_spec net_fns[] = {
    {"nn_net_predict", c_predict, 2, {B_X, B_O, 0}, {0, 1, 0}, {0, 0, 0}},
    {"nn_net_loss", c_loss, 2, {B_X, B_T, 0}, {0, 1, 0}, {0, 0, 0}},
    {"nn_net_loss_labels", c_loss_labels, 1, {B_X, 0, 0}, {0, 0, 0}, {0, 0, 0}},
    {"nn_net_gradient", c_grad, 2, {B_X, B_T, 0}, {0, 1, 0}, {0, 0, 0}},
    {"nn_net_gradient_labels", c_grad_labels, 1, {B_X, 0, 0}, {0, 0, 0},
     {0, 0, 0}},
};
#define N_NET_FNS (sizeof net_fns / sizeof net_fns[0])

static const fn_spec dense_fns[] = {
    {"nn_dense_forward", c_fwd, 2, {B_X, B_O, 0}, {0, 1, 0}, {0, 0, 0}},
    {"nn_dense_backward", c_bwd, 3, {B_X, B_D, B_O2}, {0, 1, 0}, {0, 0, 1}},
};

/* Valid arguments for m rows in `order` (ld = width or m). */
static call_args args_for(const fn_spec *f, bufs *b, size_t n_in, size_t n_out,
                          size_t m, nn_order order)
{
    call_args a = {.m = m, .order = order, .labels = b->labels,
                   .loss = &b->loss};
    for (int k = 0; k < f->nslots; k++) {
        size_t w = f->width[k] ? n_out : n_in;
        a.p[k] = buf_at(b, f->buf[k]);
        a.ld[k] = order == NN_ROW_MAJOR ? w : m;
    }
    return a;
}

/* One bad matrix argument: rows m, order, and for the slot under test its
 * pointer (NULL or not) and leading dimension. */
typedef struct {
    const char *name;
    size_t m;
    nn_order order;
    bool null_ptr;
    size_t ld;
    nn_status want;
} mat_case;

static size_t build_mat_cases(mat_case *c, size_t w)
{
    size_t n = 0;
    c[n++] = (mat_case){"NULL pointer", NM, NN_ROW_MAJOR, true, w, NN_ERR_INVALID};
    c[n++] = (mat_case){"m = 0", 0, NN_ROW_MAJOR, false, w, NN_ERR_INVALID};
    c[n++] = (mat_case){"m = (size_t)-1", (size_t)-1, NN_ROW_MAJOR, false, w,
                        NN_ERR_TOO_LARGE};
    c[n++] = (mat_case){"m = INT_MAX+1", BIG_INT, NN_ROW_MAJOR, false, w,
                        NN_ERR_TOO_LARGE};
    c[n++] = (mat_case){"m = INT_MAX+1 col-major", BIG_INT, NN_COL_MAJOR, false,
                        BIG_INT, NN_ERR_TOO_LARGE};
    c[n++] = (mat_case){"order = 7", NM, (nn_order)7, false, w, NN_ERR_INVALID};
    c[n++] = (mat_case){"order = 2", NM, (nn_order)2, false, w, NN_ERR_INVALID};
    c[n++] = (mat_case){"row-major ld = width-1", NM, NN_ROW_MAJOR, false, w - 1,
                        NN_ERR_SHAPE};
    c[n++] = (mat_case){"row-major ld = 0", NM, NN_ROW_MAJOR, false, 0,
                        NN_ERR_SHAPE};
    c[n++] = (mat_case){"col-major ld = m-1", NM, NN_COL_MAJOR, false, NM - 1,
                        NN_ERR_SHAPE};
    c[n++] = (mat_case){"ld = INT_MAX+1", NM, NN_ROW_MAJOR, false, BIG_INT,
                        NN_ERR_TOO_LARGE};
    c[n++] = (mat_case){"ld = SIZE_MAX", NM, NN_ROW_MAJOR, false, SIZE_MAX,
                        NN_ERR_TOO_LARGE};
    c[n++] = (mat_case){"col-major ld = SIZE_MAX", NM, NN_COL_MAJOR, false,
                        SIZE_MAX, NN_ERR_TOO_LARGE};
    /* every size fits an int, but (m-1)*ld*sizeof(double) overflows size_t */
    c[n++] = (mat_case){"m = ld = INT_MAX (span overflows)", (size_t)INT_MAX,
                        NN_ROW_MAJOR, false, (size_t)INT_MAX, NN_ERR_TOO_LARGE};
    return n;
}

/* Run every bad-matrix case on every slot of every function in fns against
 * obj; check status, buffers, object state (via state()) and allocations. */
static void run_mat_table(void *obj, const fn_spec *fns, size_t nfns,
                          size_t n_in, size_t n_out, bufs *b, tu_counter *t,
                          size_t (*state)(const void *, double *))
{
    bufs *saved = malloc(sizeof *saved);
    ck_assert_ptr_nonnull(saved);
    double st0[BUF], st1[BUF];
    size_t ns = state(obj, st0);
    for (size_t f = 0; f < nfns; f++)
        for (int k = 0; k < fns[f].nslots; k++) {
            mat_case cases[32];
            size_t w = fns[f].width[k] ? n_out : n_in;
            size_t nc = build_mat_cases(cases, w);
            for (size_t c = 0; c < nc; c++) {
                if (cases[c].null_ptr && fns[f].optional[k]) continue;
                nn_order o = cases[c].order;
                call_args a = args_for(&fns[f], b, n_in, n_out, cases[c].m,
                                       o == NN_COL_MAJOR ? o : NN_ROW_MAJOR);
                a.order = o;
                if (cases[c].null_ptr) a.p[k] = NULL;
                a.ld[k] = cases[c].ld;
                memcpy(saved, b, sizeof *b);
                long att = t->attempts;
                nn_status st = fns[f].call(obj, &a);
                ck_assert_msg(st == cases[c].want,
                              "%s, argument %d, %s: got %d (%s), want %d",
                              fns[f].name, k, cases[c].name, (int)st,
                              nn_strerror(st), (int)cases[c].want);
                ck_assert_msg(memcmp(saved, b, sizeof *b) == 0,
                              "%s, argument %d, %s: a buffer was written",
                              fns[f].name, k, cases[c].name);
                ck_assert_msg(t->attempts == att,
                              "%s, argument %d, %s: failing call allocated",
                              fns[f].name, k, cases[c].name);
                ck_assert_uint_eq(state(obj, st1), ns);
                ck_assert_msg(memcmp(st0, st1, ns * sizeof(double)) == 0,
                              "%s, argument %d, %s: object changed",
                              fns[f].name, k, cases[c].name);
            }
        }
    free(saved);
}

static size_t net_state_v(const void *o, double *buf)
{
    return net_state(o, buf);
}

/* ------------------------------------------------ "like a fresh object"
 * history: whether one valid nn_net_gradient (m = NM) preceded. Afterwards
 * predict, gradient and sgd_step must give bitwise the same as a fresh net
 * with the same history. */
static void net_like_fresh(nn_net_t *net, int kind, bool history)
{
    bufs *b = malloc(sizeof *b), *r = malloc(sizeof *r);
    ck_assert(b && r);
    size_t k = nn_net_n_out(net);
    bufs_init(b, k == 1 ? 2 : k);
    bufs_init(r, k == 1 ? 2 : k);
    nn_net_t *ref = mk_net(kind, NULL);
    if (history)
        NN_OK_OR_FAIL(nn_net_gradient(ref, NM, NN_ROW_MAJOR, r->X, NET_N_IN,
                                      r->T, k, NULL));
    double s[BUF], sr[BUF];
    size_t ns = net_state(ref, sr);
    ck_assert_uint_eq(net_state(net, s), ns);
    ck_assert_msg(memcmp(s, sr, ns * sizeof(double)) == 0,
                  "state differs from a fresh network's");
    /* predict */
    NN_OK_OR_FAIL(nn_net_predict(net, NM, NN_ROW_MAJOR, b->X, NET_N_IN, b->O, k));
    NN_OK_OR_FAIL(nn_net_predict(ref, NM, NN_ROW_MAJOR, r->X, NET_N_IN, r->O, k));
    ck_assert(memcmp(b->O, r->O, NM * k * sizeof(double)) == 0);
    /* with history, sgd_step works straight away */
    if (history) {
        NN_OK_OR_FAIL(nn_net_sgd_step(net, 0.25));
        NN_OK_OR_FAIL(nn_net_sgd_step(ref, 0.25));
    }
    /* gradient + step */
    NN_OK_OR_FAIL(nn_net_gradient(net, NM, NN_ROW_MAJOR, b->X, NET_N_IN, b->T,
                                  k, &b->loss));
    NN_OK_OR_FAIL(nn_net_gradient(ref, NM, NN_ROW_MAJOR, r->X, NET_N_IN, r->T,
                                  k, &r->loss));
    ck_assert(memcmp(&b->loss, &r->loss, sizeof(double)) == 0);
    NN_OK_OR_FAIL(nn_net_sgd_step(net, 0.5));
    NN_OK_OR_FAIL(nn_net_sgd_step(ref, 0.5));
    net_state(ref, sr);
    assert_net_state(net, sr, ns, "after gradient + step");
    nn_net_destroy(ref);
    free(b);
    free(r);
}

/* ------------------------------------------------ dense layer state */
#define D_IN 3
#define D_OUT 2

static nn_dense_t *mk_dense(tu_counter *t)
{
    nn_allocator al;
    if (t) al = tu_allocator(t);
    nn_dense_t *d = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&d, D_IN, D_OUT, NN_ACT_TANH, 0.0,
                                  t ? &al : NULL));
    return d;
}

static size_t dense_state(const void *o, double *buf)
{
    const nn_dense_t *d = o;
    size_t ni = nn_dense_n_in(d), no = nn_dense_n_out(d), n = ni * no + no;
    NN_OK_OR_FAIL(nn_dense_get_params(d, NN_ROW_MAJOR, buf, no, buf + ni * no));
    NN_OK_OR_FAIL(nn_dense_get_grads(d, NN_ROW_MAJOR, buf + n, no,
                                     buf + n + ni * no));
    return 2 * n;
}

/* history: a valid forward (+ backward) with m = NM preceded. A backward
 * first (using the cached activations of that forward), then forward +
 * backward must match a fresh layer bitwise. */
static void dense_like_fresh(nn_dense_t *d, bool history)
{
    bufs *b = malloc(sizeof *b), *r = malloc(sizeof *r);
    ck_assert(b && r);
    bufs_init(b, 2);
    bufs_init(r, 2);
    nn_dense_t *ref = mk_dense(NULL);
    double s[BUF], sr[BUF];
    if (history) {
        NN_OK_OR_FAIL(nn_dense_forward(ref, NM, NN_ROW_MAJOR, r->X, D_IN, r->O,
                                       D_OUT));
        NN_OK_OR_FAIL(nn_dense_backward(ref, NM, NN_ROW_MAJOR, r->X, D_IN, r->D,
                                        D_OUT, r->O2, D_IN));
    }
    size_t ns = dense_state(ref, sr);
    ck_assert_uint_eq(dense_state(d, s), ns);
    ck_assert_msg(memcmp(s, sr, ns * sizeof(double)) == 0,
                  "layer state differs from a fresh layer's");
    if (history) {
        NN_OK_OR_FAIL(nn_dense_backward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                        D_OUT, b->O2, D_IN));
        NN_OK_OR_FAIL(nn_dense_backward(ref, NM, NN_ROW_MAJOR, r->X, D_IN, r->D,
                                        D_OUT, r->O2, D_IN));
        ck_assert(memcmp(b->O2, r->O2, NM * D_IN * sizeof(double)) == 0);
        dense_state(d, s);
        dense_state(ref, sr);
        ck_assert(memcmp(s, sr, ns * sizeof(double)) == 0);
    }
    NN_OK_OR_FAIL(nn_dense_forward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->O, D_OUT));
    NN_OK_OR_FAIL(nn_dense_forward(ref, NM, NN_ROW_MAJOR, r->X, D_IN, r->O, D_OUT));
    ck_assert(memcmp(b->O, r->O, NM * D_OUT * sizeof(double)) == 0);
    NN_OK_OR_FAIL(nn_dense_backward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                    D_OUT, b->O2, D_IN));
    NN_OK_OR_FAIL(nn_dense_backward(ref, NM, NN_ROW_MAJOR, r->X, D_IN, r->D,
                                    D_OUT, r->O2, D_IN));
    ck_assert(memcmp(b->O2, r->O2, NM * D_IN * sizeof(double)) == 0);
    dense_state(d, s);
    dense_state(ref, sr);
    ck_assert(memcmp(s, sr, ns * sizeof(double)) == 0);
    nn_dense_destroy(ref);
    free(b);
    free(r);
}

/* ================================================================ dense */
typedef struct {
    const char *name;
    bool null_out;
    size_t n_in, n_out;
    nn_activation act;
    double param;
    int alloc_kind; /* 0 tally, 1 alloc NULL, 2 free NULL */
    nn_status want;
} dense_create_case;

START_TEST(dense_create_errors)
{
    const dense_create_case cases[] = {
        {"NULL out", true, 3, 2, NN_ACT_TANH, 0, 0, NN_ERR_INVALID},
        {"n_in = 0", false, 0, 2, NN_ACT_TANH, 0, 0, NN_ERR_INVALID},
        {"n_out = 0", false, 3, 0, NN_ACT_TANH, 0, 0, NN_ERR_INVALID},
        {"both 0", false, 0, 0, NN_ACT_TANH, 0, 0, NN_ERR_INVALID},
        {"act = 99", false, 3, 2, (nn_activation)99, 0, 0, NN_ERR_INVALID},
        {"act = 6", false, 3, 2, (nn_activation)6, 0, 0, NN_ERR_INVALID},
        {"act = -1", false, 3, 2, (nn_activation)-1, 0, 0, NN_ERR_INVALID},
        {"sigmoid, NaN param", false, 3, 2, NN_ACT_SIGMOID, NAN, 0,
         NN_ERR_INVALID},
        {"identity, +inf param", false, 3, 2, NN_ACT_IDENTITY, INFINITY, 0,
         NN_ERR_INVALID},
        {"relu, -inf param", false, 3, 2, NN_ACT_RELU, -INFINITY, 0,
         NN_ERR_INVALID},
        {"leaky, NaN slope", false, 3, 2, NN_ACT_LEAKY_RELU, NAN, 0,
         NN_ERR_INVALID},
        {"leaky, slope -0.5", false, 3, 2, NN_ACT_LEAKY_RELU, -0.5, 0,
         NN_ERR_INVALID},
        {"allocator with NULL alloc", false, 3, 2, NN_ACT_TANH, 0, 1,
         NN_ERR_INVALID},
        {"allocator with NULL free", false, 3, 2, NN_ACT_TANH, 0, 2,
         NN_ERR_INVALID},
        {"n_in = (size_t)-1", false, (size_t)-1, 2, NN_ACT_TANH, 0, 0,
         NN_ERR_TOO_LARGE},
        {"n_out = (size_t)-1", false, 3, (size_t)-1, NN_ACT_TANH, 0, 0,
         NN_ERR_TOO_LARGE},
        {"n_in = INT_MAX+1", false, BIG_INT, 2, NN_ACT_TANH, 0, 0,
         NN_ERR_TOO_LARGE},
        {"n_out = INT_MAX+1", false, 3, BIG_INT, NN_ACT_TANH, 0, 0,
         NN_ERR_TOO_LARGE},
        {"n_in*n_out overflows size_t", false, (size_t)1 << 40,
         (size_t)1 << 40, NN_ACT_TANH, 0, 0, NN_ERR_TOO_LARGE},
        {"n_in = SIZE_MAX/2, n_out = 4", false, SIZE_MAX / 2, 4, NN_ACT_TANH,
         0, 0, NN_ERR_TOO_LARGE},
        {"INT_MAX x INT_MAX bytes overflow", false, (size_t)INT_MAX,
         (size_t)INT_MAX, NN_ACT_TANH, 0, 0, NN_ERR_TOO_LARGE},
        /* W alone is 2^63 bytes; W, b, dW, db together overflow size_t */
        {"INT_MAX x 2^29 block overflows", false, (size_t)INT_MAX,
         (size_t)1 << 29, NN_ACT_TANH, 0, 0, NN_ERR_TOO_LARGE},
        /* controls: valid boundary values */
        {"leaky slope 0 (valid)", false, 3, 2, NN_ACT_LEAKY_RELU, 0.0, 0,
         NN_OK},
        {"softmax, 1 x 1 (valid)", false, 1, 1, NN_ACT_SOFTMAX, 0.0, 0, NN_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const dense_create_case *c = &cases[i];
        tu_counter t = tally_new();
        nn_allocator al = tu_allocator(&t);
        if (c->alloc_kind == 1) al.alloc = NULL;
        if (c->alloc_kind == 2) al.free = NULL;
        nn_dense_t *sentinel = (nn_dense_t *)&t, *out = sentinel;
        nn_status st = nn_dense_create(c->null_out ? NULL : &out, c->n_in,
                                       c->n_out, c->act, c->param, &al);
        ck_assert_msg(st == c->want, "%s: got %d (%s), want %d", c->name,
                      (int)st, nn_strerror(st), (int)c->want);
        if (st == NN_OK) {
            ck_assert_ptr_ne(out, sentinel);
            ck_assert_uint_eq(nn_dense_n_in(out), c->n_in);
            nn_dense_destroy(out);
            TU_ASSERT_BALANCED(&t);
            continue;
        }
        ck_assert_msg(out == sentinel, "%s: *out written on failure", c->name);
        ck_assert_msg(t.attempts == 0, "%s: failing create allocated", c->name);
    }
}
END_TEST

START_TEST(create_nomem)
{
    /* every allocation refused; free must never be called */
    tu_counter c = {.fail_at = 1, .fail_rest = true};
    nn_allocator al = tu_allocator(&c);
    nn_dense_t *dsent = (nn_dense_t *)&c, *d = dsent;
    ck_assert_int_eq(nn_dense_create(&d, 3, 2, NN_ACT_RELU, 0, &al),
                     NN_ERR_NOMEM);
    ck_assert_ptr_eq(d, dsent);
    ck_assert_int_ge(c.attempts, 1);
    ck_assert_int_eq(c.frees, 0);
    nn_net_t *nsent = (nn_net_t *)&c, *n = nsent;
    ck_assert_int_eq(nn_net_create(&n, 3, 2, specs_mse, NN_LOSS_MSE, &al),
                     NN_ERR_NOMEM);
    ck_assert_ptr_eq(n, nsent);
    ck_assert_int_eq(c.frees, 0);
    ck_assert_int_eq(c.allocs, 0);
}
END_TEST

START_TEST(dense_batch_arg_table)
{
    tu_counter t = tally_new();
    nn_dense_t *d = mk_dense(&t);
    bufs *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    bufs_init(b, 2);
    /* history: forward + backward, so gradients and cached A are non-trivial */
    NN_OK_OR_FAIL(nn_dense_forward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->O, D_OUT));
    NN_OK_OR_FAIL(nn_dense_backward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                    D_OUT, b->O2, D_IN));
    bufs_init(b, 2);
    run_mat_table(d, dense_fns, 2, D_IN, D_OUT, b, &t, dense_state);
    /* NULL layer */
    for (size_t f = 0; f < 2; f++) {
        call_args a = args_for(&dense_fns[f], b, D_IN, D_OUT, NM, NN_ROW_MAJOR);
        ck_assert_int_eq(dense_fns[f].call(NULL, &a), NN_ERR_INVALID);
    }
    dense_like_fresh(d, true);
    nn_dense_destroy(d);
    TU_ASSERT_BALANCED(&t);
    free(b);
}
END_TEST

START_TEST(dense_backward_state)
{
    tu_counter t = tally_new();
    nn_dense_t *d = mk_dense(&t);
    bufs *b = malloc(sizeof *b), *saved = malloc(sizeof *saved);
    ck_assert(b && saved);
    bufs_init(b, 2);
    double s0[BUF], s1[BUF];
    size_t ns = dense_state(d, s0);
    /* backward before any forward, with and without dX */
    memcpy(saved, b, sizeof *b);
    ck_assert_int_eq(nn_dense_backward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                       D_OUT, b->O2, D_IN),
                     NN_ERR_STATE);
    ck_assert_int_eq(nn_dense_backward(d, NM, NN_COL_MAJOR, b->X, NM, b->D, NM,
                                       b->O2, NM),
                     NN_ERR_STATE);
    ck_assert_int_eq(nn_dense_backward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                       D_OUT, NULL, 0),
                     NN_ERR_STATE);
    ck_assert(memcmp(saved, b, sizeof *b) == 0);
    dense_state(d, s1);
    ck_assert(memcmp(s0, s1, ns * sizeof(double)) == 0);
    /* gradients are zero before any backward */
    for (size_t i = ns / 2; i < ns; i++) ck_assert(s1[i] == 0.0);

    /* a forward with m = NM, then backward with another m */
    NN_OK_OR_FAIL(nn_dense_forward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->O, D_OUT));
    memcpy(saved, b, sizeof *b);
    long att = t.attempts;
    const size_t other_m[] = {NM - 1, NM + 1, 1, 2 * NM};
    for (size_t i = 0; i < sizeof other_m / sizeof other_m[0]; i++) {
        size_t m = other_m[i];
        ck_assert_int_eq(nn_dense_backward(d, m, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                           D_OUT, b->O2, D_IN),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_dense_backward(d, m, NN_COL_MAJOR, b->X, m, b->D, m,
                                           b->O2, m),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_dense_backward(d, m, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                           D_OUT, NULL, 0),
                         NN_ERR_SHAPE);
    }
    ck_assert(memcmp(saved, b, sizeof *b) == 0);
    ck_assert_int_eq(t.attempts, att);
    dense_state(d, s1);
    ck_assert(memcmp(s0, s1, ns * sizeof(double)) == 0);
    /* the forward's cache survived: backward with its m works */
    NN_OK_OR_FAIL(nn_dense_backward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                    D_OUT, b->O2, D_IN));
    dense_like_fresh(d, true);
    nn_dense_destroy(d);
    free(b);
    free(saved);
}
END_TEST

START_TEST(dense_reserve_errors)
{
    tu_counter t = tally_new();
    nn_dense_t *d = mk_dense(&t);
    bufs *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    bufs_init(b, 2);
    NN_OK_OR_FAIL(nn_dense_forward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->O, D_OUT));
    NN_OK_OR_FAIL(nn_dense_backward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                    D_OUT, b->O2, D_IN));
    double s0[BUF], s1[BUF];
    size_t ns = dense_state(d, s0);
    long att = t.attempts;
    ck_assert_int_eq(nn_dense_reserve(NULL, 8), NN_ERR_INVALID);
    ck_assert_int_eq(nn_dense_reserve(d, 0), NN_ERR_INVALID);
    ck_assert_int_eq(nn_dense_reserve(d, BIG_INT), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_dense_reserve(d, SIZE_MAX / 2), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_dense_reserve(d, (size_t)-1), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(t.attempts, att);
    /* fits every check; the allocator refuses it: NOMEM, nothing changed */
    ck_assert_int_eq(nn_dense_reserve(d, (size_t)INT_MAX), NN_ERR_NOMEM);
    ck_assert_int_ge(t.refused, 1);
    dense_state(d, s1);
    ck_assert(memcmp(s0, s1, ns * sizeof(double)) == 0);
    dense_like_fresh(d, true); /* the cached forward survived */
    nn_dense_destroy(d);
    TU_ASSERT_BALANCED(&t);
    free(b);
}
END_TEST

/* ------------------------------------------------ get/set params, grads */
typedef struct {
    const char *name;
    nn_order order;
    bool w_null, b_null;
    size_t ldw; /* SIZE_MAX - 1 stands for "n_out - 1", SIZE_MAX - 2 "n_in - 1" */
    nn_status want;
} param_case;

#define LD_NOUT_M1 (SIZE_MAX - 1)
#define LD_NIN_M1 (SIZE_MAX - 2)

static const param_case param_cases[] = {
    {"W and b NULL", NN_ROW_MAJOR, true, true, 4, NN_ERR_INVALID},
    {"order 7", (nn_order)7, false, false, 8, NN_ERR_INVALID},
    {"order 2, b NULL", (nn_order)2, false, true, 8, NN_ERR_INVALID},
    {"row-major ldw = n_out-1", NN_ROW_MAJOR, false, false, LD_NOUT_M1,
     NN_ERR_SHAPE},
    {"row-major ldw = 0", NN_ROW_MAJOR, false, false, 0, NN_ERR_SHAPE},
    {"col-major ldw = n_in-1", NN_COL_MAJOR, false, false, LD_NIN_M1,
     NN_ERR_SHAPE},
    {"ldw = INT_MAX+1", NN_ROW_MAJOR, false, false, BIG_INT, NN_ERR_TOO_LARGE},
    {"ldw = SIZE_MAX", NN_ROW_MAJOR, false, false, SIZE_MAX, NN_ERR_TOO_LARGE},
    {"col-major ldw = SIZE_MAX", NN_COL_MAJOR, false, false, SIZE_MAX,
     NN_ERR_TOO_LARGE},
};
#define N_PARAM_CASES (sizeof param_cases / sizeof param_cases[0])

static size_t param_ld(const param_case *c, size_t n_in, size_t n_out)
{
    if (c->ldw == LD_NOUT_M1) return n_out - 1;
    if (c->ldw == LD_NIN_M1) return n_in - 1;
    return c->ldw;
}

START_TEST(dense_params_errors)
{
    tu_counter t = tally_new();
    nn_dense_t *d = mk_dense(&t);
    bufs *b = malloc(sizeof *b), *saved = malloc(sizeof *saved);
    ck_assert(b && saved);
    bufs_init(b, 2);
    NN_OK_OR_FAIL(nn_dense_forward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->O, D_OUT));
    NN_OK_OR_FAIL(nn_dense_backward(d, NM, NN_ROW_MAJOR, b->X, D_IN, b->D,
                                    D_OUT, b->O2, D_IN));
    bufs_init(b, 2);
    double s0[BUF], s1[BUF];
    size_t ns = dense_state(d, s0);
    long att = t.attempts;
    for (int fn = 0; fn < 3; fn++) {
        for (size_t i = 0; i < N_PARAM_CASES; i++) {
            const param_case *c = &param_cases[i];
            size_t ld = param_ld(c, D_IN, D_OUT);
            /* get: write to O / O2 (sentinels); set: read from T / D */
            double *W = c->w_null ? NULL : (fn == 2 ? b->T : b->O);
            double *bb = c->b_null ? NULL : (fn == 2 ? b->D : b->O2);
            memcpy(saved, b, sizeof *b);
            nn_status st = fn == 0 ? nn_dense_get_params(d, c->order, W, ld, bb)
                           : fn == 1 ? nn_dense_get_grads(d, c->order, W, ld, bb)
                                     : nn_dense_set_params(d, c->order, W, ld, bb);
            ck_assert_msg(st == c->want, "fn %d, %s: got %d, want %d", fn,
                          c->name, (int)st, (int)c->want);
            ck_assert_msg(memcmp(saved, b, sizeof *b) == 0,
                          "fn %d, %s: a buffer was written", fn, c->name);
            dense_state(d, s1);
            ck_assert_msg(memcmp(s0, s1, ns * sizeof(double)) == 0,
                          "fn %d, %s: layer changed", fn, c->name);
        }
        /* NULL layer */
        ck_assert_int_eq(fn == 0 ? nn_dense_get_params(NULL, NN_ROW_MAJOR, b->O,
                                                       D_OUT, b->O2)
                         : fn == 1 ? nn_dense_get_grads(NULL, NN_ROW_MAJOR, b->O,
                                                        D_OUT, b->O2)
                                   : nn_dense_set_params(NULL, NN_ROW_MAJOR,
                                                         b->T, D_OUT, b->D),
                         NN_ERR_INVALID);
    }
    ck_assert_int_eq(t.attempts, att);
    dense_like_fresh(d, true);
    nn_dense_destroy(d);
    free(b);
    free(saved);
}
END_TEST

START_TEST(dense_getters_null)
{
    ck_assert_ptr_null(nn_dense_weights(NULL));
    ck_assert_ptr_null(nn_dense_bias(NULL));
    ck_assert_ptr_null(nn_dense_grad_weights(NULL));
    ck_assert_ptr_null(nn_dense_grad_bias(NULL));
    ck_assert_uint_eq(nn_dense_n_in(NULL), 0);
    ck_assert_uint_eq(nn_dense_n_out(NULL), 0);
    nn_dense_t *d = mk_dense(NULL); /* control */
    ck_assert_ptr_nonnull(nn_dense_weights(d));
    ck_assert_uint_eq(nn_dense_n_out(d), D_OUT);
    nn_dense_destroy(d);
}
END_TEST

/* ================================================================ network */
typedef struct {
    const char *name;
    bool null_out;
    size_t n_in, n_layers;
    bool null_specs;
    nn_layer_spec s[3];
    nn_loss loss;
    int alloc_kind;
    nn_status want;
} net_create_case;

#define SP(n, a, p) {(n), (a), (p)}
#define OK2 {SP(4, NN_ACT_TANH, 0), SP(2, NN_ACT_SIGMOID, 0), SP(0, 0, 0)}

START_TEST(net_create_errors)
{
    const size_t H = (size_t)1 << 30;
    const net_create_case cases[] = {
        {"NULL out", true, 3, 2, false, OK2, NN_LOSS_MSE, 0, NN_ERR_INVALID},
        {"n_in = 0", false, 0, 2, false, OK2, NN_LOSS_MSE, 0, NN_ERR_INVALID},
        {"n_layers = 0", false, 3, 0, false, OK2, NN_LOSS_MSE, 0,
         NN_ERR_INVALID},
        {"NULL specs", false, 3, 2, true, OK2, NN_LOSS_MSE, 0, NN_ERR_INVALID},
        {"specs[0].n_out = 0", false, 3, 2, false,
         {SP(0, NN_ACT_TANH, 0), SP(2, NN_ACT_SIGMOID, 0)}, NN_LOSS_MSE, 0,
         NN_ERR_INVALID},
        {"specs[1].n_out = 0", false, 3, 2, false,
         {SP(4, NN_ACT_TANH, 0), SP(0, NN_ACT_SIGMOID, 0)}, NN_LOSS_MSE, 0,
         NN_ERR_INVALID},
        {"act 99", false, 3, 2, false,
         {SP(4, (nn_activation)99, 0), SP(2, NN_ACT_SIGMOID, 0)}, NN_LOSS_MSE,
         0, NN_ERR_INVALID},
        {"output act 6", false, 3, 2, false,
         {SP(4, NN_ACT_TANH, 0), SP(2, (nn_activation)6, 0)}, NN_LOSS_MSE, 0,
         NN_ERR_INVALID},
        {"NaN act_param", false, 3, 2, false,
         {SP(4, NN_ACT_TANH, NAN), SP(2, NN_ACT_SIGMOID, 0)}, NN_LOSS_MSE, 0,
         NN_ERR_INVALID},
        {"inf act_param (relu)", false, 3, 2, false,
         {SP(4, NN_ACT_RELU, 0), SP(2, NN_ACT_RELU, INFINITY)}, NN_LOSS_MSE, 0,
         NN_ERR_INVALID},
        {"negative leaky slope", false, 3, 2, false,
         {SP(4, NN_ACT_LEAKY_RELU, -0.01), SP(2, NN_ACT_SIGMOID, 0)},
         NN_LOSS_MSE, 0, NN_ERR_INVALID},
        {"loss 3", false, 3, 2, false, OK2, (nn_loss)3, 0, NN_ERR_INVALID},
        {"loss 99", false, 3, 2, false, OK2, (nn_loss)99, 0, NN_ERR_INVALID},
        {"loss -1", false, 3, 2, false, OK2, (nn_loss)-1, 0, NN_ERR_INVALID},
        {"BCE, softmax output", false, 3, 2, false,
         {SP(4, NN_ACT_TANH, 0), SP(2, NN_ACT_SOFTMAX, 0)}, NN_LOSS_BCE, 0,
         NN_ERR_INVALID},
        {"BCE, identity output", false, 3, 2, false,
         {SP(4, NN_ACT_TANH, 0), SP(1, NN_ACT_IDENTITY, 0)}, NN_LOSS_BCE, 0,
         NN_ERR_INVALID},
        {"BCE, sigmoid hidden only", false, 3, 2, false,
         {SP(4, NN_ACT_SIGMOID, 0), SP(1, NN_ACT_TANH, 0)}, NN_LOSS_BCE, 0,
         NN_ERR_INVALID},
        {"softmax CE, sigmoid output", false, 3, 2, false, OK2,
         NN_LOSS_SOFTMAX_CE, 0, NN_ERR_INVALID},
        {"softmax CE, softmax hidden only", false, 3, 2, false,
         {SP(4, NN_ACT_SOFTMAX, 0), SP(3, NN_ACT_IDENTITY, 0)},
         NN_LOSS_SOFTMAX_CE, 0, NN_ERR_INVALID},
        {"allocator with NULL alloc", false, 3, 2, false, OK2, NN_LOSS_MSE, 1,
         NN_ERR_INVALID},
        {"allocator with NULL free", false, 3, 2, false, OK2, NN_LOSS_MSE, 2,
         NN_ERR_INVALID},
        {"n_in = (size_t)-1", false, (size_t)-1, 2, false, OK2, NN_LOSS_MSE, 0,
         NN_ERR_TOO_LARGE},
        {"n_in = INT_MAX+1", false, BIG_INT, 2, false, OK2, NN_LOSS_MSE, 0,
         NN_ERR_TOO_LARGE},
        {"specs[1].n_out = INT_MAX+1", false, 3, 2, false,
         {SP(4, NN_ACT_TANH, 0), SP(BIG_INT, NN_ACT_SIGMOID, 0)}, NN_LOSS_MSE,
         0, NN_ERR_TOO_LARGE},
        {"specs[0].n_out = (size_t)-1", false, 3, 2, false,
         {SP((size_t)-1, NN_ACT_TANH, 0), SP(2, NN_ACT_SIGMOID, 0)},
         NN_LOSS_MSE, 0, NN_ERR_TOO_LARGE},
        {"INT_MAX x INT_MAX layer", false, (size_t)INT_MAX, 1, false,
         {SP((size_t)INT_MAX, NN_ACT_TANH, 0)}, NN_LOSS_MSE, 0,
         NN_ERR_TOO_LARGE},
        /* each layer's W fits (2^63 bytes) but params + grads overflow */
        {"2^30 x 2^30 layer, block overflows", false, H, 1, false,
         {SP(H, NN_ACT_TANH, 0)}, NN_LOSS_MSE, 0, NN_ERR_TOO_LARGE},
        {"sum of layers overflows", false, H, 3, false,
         {SP(H, NN_ACT_TANH, 0), SP(H, NN_ACT_TANH, 0), SP(H, NN_ACT_TANH, 0)},
         NN_LOSS_MSE, 0, NN_ERR_TOO_LARGE},
        /* controls */
        {"valid MSE", false, 3, 2, false, OK2, NN_LOSS_MSE, 0, NN_OK},
        {"valid BCE", false, 3, 2, false, OK2, NN_LOSS_BCE, 0, NN_OK},
        {"valid softmax CE, softmax hidden too", false, 3, 2, false,
         {SP(4, NN_ACT_SOFTMAX, 0), SP(3, NN_ACT_SOFTMAX, 0)},
         NN_LOSS_SOFTMAX_CE, 0, NN_OK},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const net_create_case *c = &cases[i];
        tu_counter t = tally_new();
        nn_allocator al = tu_allocator(&t);
        if (c->alloc_kind == 1) al.alloc = NULL;
        if (c->alloc_kind == 2) al.free = NULL;
        nn_net_t *sentinel = (nn_net_t *)&t, *out = sentinel;
        nn_status st = nn_net_create(c->null_out ? NULL : &out, c->n_in,
                                     c->n_layers, c->null_specs ? NULL : c->s,
                                     c->loss, &al);
        ck_assert_msg(st == c->want, "%s: got %d (%s), want %d", c->name,
                      (int)st, nn_strerror(st), (int)c->want);
        if (st == NN_OK) {
            ck_assert_ptr_ne(out, sentinel);
            ck_assert_uint_eq(nn_net_n_layers(out), c->n_layers);
            nn_net_destroy(out);
            TU_ASSERT_BALANCED(&t);
            continue;
        }
        ck_assert_msg(out == sentinel, "%s: *out written on failure", c->name);
        ck_assert_msg(t.attempts == 0, "%s: failing create allocated", c->name);
    }
}
END_TEST

/* A net of `kind` with a tally allocator and (history) one valid gradient. */
static nn_net_t *net_with_history(int kind, tu_counter *t, bufs *b, bool history)
{
    nn_net_t *net = mk_net(kind, t);
    size_t k = nn_net_n_out(net);
    bufs_init(b, k == 1 ? 2 : k);
    if (history)
        NN_OK_OR_FAIL(nn_net_gradient(net, NM, NN_ROW_MAJOR, b->X, NET_N_IN,
                                      b->T, k, NULL));
    bufs_init(b, k == 1 ? 2 : k);
    return net;
}

START_TEST(net_batch_arg_table)
{
    for (int kind = 0; kind < K_COUNT; kind++) {
        tu_counter t = tally_new();
        bufs *b = malloc(sizeof *b);
        ck_assert_ptr_nonnull(b);
        nn_net_t *net = net_with_history(kind, &t, b, true);
        run_mat_table(net, net_fns, N_NET_FNS, NET_N_IN, nn_net_n_out(net), b,
                      &t, net_state_v);
        net_like_fresh(net, kind, true);
        nn_net_destroy(net);
        TU_ASSERT_BALANCED(&t);
        free(b);
    }
}
END_TEST

/* NULL net, NULL loss pointer, NULL targets, on a net with and without a
 * preceding gradient. */
START_TEST(net_batch_null_args)
{
    for (int hist = 0; hist < 2; hist++) {
        tu_counter t = tally_new();
        bufs *b = malloc(sizeof *b), *saved = malloc(sizeof *saved);
        ck_assert(b && saved);
        nn_net_t *net = net_with_history(K_MSE, &t, b, hist);
        size_t k = nn_net_n_out(net);
        long att = t.attempts;
        double s0[BUF];
        size_t ns = net_state(net, s0);
        memcpy(saved, b, sizeof *b);
        for (size_t f = 0; f < N_NET_FNS; f++) {
            call_args a = args_for(&net_fns[f], b, NET_N_IN, k, NM,
                                   NN_ROW_MAJOR);
            ck_assert_msg(net_fns[f].call(NULL, &a) == NN_ERR_INVALID,
                          "%s(NULL net)", net_fns[f].name);
        }
        const double *X = b->X, *T = b->T;
        ck_assert_int_eq(nn_net_loss(net, NM, NN_ROW_MAJOR, X, NET_N_IN, T, k,
                                     NULL),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_loss_labels(net, NM, NN_ROW_MAJOR, X, NET_N_IN,
                                            b->labels, NULL),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_loss(net, NM, NN_ROW_MAJOR, X, NET_N_IN, NULL,
                                     k, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_loss_labels(net, NM, NN_ROW_MAJOR, X, NET_N_IN,
                                            NULL, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_gradient(net, NM, NN_ROW_MAJOR, X, NET_N_IN,
                                         NULL, k, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_gradient_labels(net, NM, NN_ROW_MAJOR, X,
                                                NET_N_IN, NULL, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_gradient_labels(net, NM, NN_ROW_MAJOR, X,
                                                NET_N_IN, NULL, NULL),
                         NN_ERR_INVALID);
        ck_assert(memcmp(saved, b, sizeof *b) == 0);
        ck_assert_int_eq(t.attempts, att);
        assert_net_state(net, s0, ns, "NULL arguments");
        /* a failed gradient does not count as a computed gradient */
        if (!hist) ck_assert_int_eq(nn_net_sgd_step(net, 0.1), NN_ERR_STATE);
        net_like_fresh(net, K_MSE, hist);
        nn_net_destroy(net);
        free(b);
        free(saved);
    }
}
END_TEST

START_TEST(net_labels_out_of_range)
{
    for (int kind = 0; kind < K_COUNT; kind++) {
        for (int hist = 0; hist < 2; hist++) {
            tu_counter t = tally_new();
            bufs *b = malloc(sizeof *b), *saved = malloc(sizeof *saved);
            ck_assert(b && saved);
            nn_net_t *net = net_with_history(kind, &t, b, hist);
            size_t k = nn_net_n_out(net);
            /* one output (sigmoid / BCE): labels are the values 0 and 1 */
            size_t limit = k == 1 ? 2 : k;
            double s0[BUF];
            size_t ns = net_state(net, s0);
            long att = t.attempts;
            const size_t bad[] = {limit, limit + 1, SIZE_MAX};
            for (size_t i = 0; i < 3; i++)
                for (size_t pos = 0; pos < NM; pos += NM - 1) {
                    bufs_init(b, limit);
                    b->labels[pos] = bad[i];
                    memcpy(saved, b, sizeof *b);
                    ck_assert_int_eq(nn_net_loss_labels(net, NM, NN_ROW_MAJOR,
                                                        b->X, NET_N_IN,
                                                        b->labels, &b->loss),
                                     NN_ERR_INVALID);
                    ck_assert_int_eq(nn_net_gradient_labels(net, NM,
                                                            NN_ROW_MAJOR, b->X,
                                                            NET_N_IN, b->labels,
                                                            &b->loss),
                                     NN_ERR_INVALID);
                    ck_assert_int_eq(nn_net_gradient_labels(net, NM,
                                                            NN_COL_MAJOR, b->X,
                                                            NM, b->labels,
                                                            NULL),
                                     NN_ERR_INVALID);
                    ck_assert(memcmp(saved, b, sizeof *b) == 0);
                }
            ck_assert_int_eq(t.attempts, att);
            assert_net_state(net, s0, ns, "bad labels");
            if (!hist) ck_assert_int_eq(nn_net_sgd_step(net, 0.1), NN_ERR_STATE);
            /* control: the largest valid label is accepted */
            bufs_init(b, limit);
            b->labels[NM - 1] = limit - 1;
            NN_OK_OR_FAIL(nn_net_loss_labels(net, NM, NN_ROW_MAJOR, b->X,
                                             NET_N_IN, b->labels, &b->loss));
            net_like_fresh(net, kind, hist);
            nn_net_destroy(net);
            free(b);
            free(saved);
        }
    }
}
END_TEST

START_TEST(net_init_errors)
{
    tu_counter t = tally_new();
    bufs *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    nn_net_t *net = net_with_history(K_SCE, &t, b, true);
    double s0[BUF];
    size_t ns = net_state(net, s0);
    long att = t.attempts;
    ck_assert_int_eq(nn_net_init(NULL, NN_INIT_DEFAULT, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(net, (nn_init)7, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(net, (nn_init)99, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(net, (nn_init)-1, 1), NN_ERR_INVALID);
    assert_net_state(net, s0, ns, "nn_net_init");
    ck_assert_int_eq(t.attempts, att);
    net_like_fresh(net, K_SCE, true); /* gradients not cleared either */
    nn_net_destroy(net);
    free(b);
}
END_TEST

START_TEST(net_reserve_errors)
{
    tu_counter t = tally_new();
    bufs *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    nn_net_t *net = net_with_history(K_MSE, &t, b, true);
    double s0[BUF];
    size_t ns = net_state(net, s0);
    long att = t.attempts;
    ck_assert_int_eq(nn_net_reserve(NULL, 8), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_reserve(net, 0), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_reserve(net, SIZE_MAX / 2), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_net_reserve(net, BIG_INT), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_net_reserve(net, (size_t)-1), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(t.attempts, att);
    /* fits every check; the allocator refuses it */
    ck_assert_int_eq(nn_net_reserve(net, (size_t)INT_MAX), NN_ERR_NOMEM);
    ck_assert_int_ge(t.refused, 1);
    assert_net_state(net, s0, ns, "nn_net_reserve");
    ck_assert_int_eq(nn_net_set_check_finite(NULL, true), NN_ERR_INVALID);
    net_like_fresh(net, K_MSE, true);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&t);
    free(b);
}
END_TEST

START_TEST(net_sgd_errors)
{
    for (int hist = 0; hist < 2; hist++) {
        tu_counter t = tally_new();
        bufs *b = malloc(sizeof *b);
        ck_assert_ptr_nonnull(b);
        nn_net_t *net = net_with_history(K_BCE, &t, b, hist);
        double s0[BUF];
        size_t ns = net_state(net, s0);
        const double bad[] = {NAN, -NAN, INFINITY, -INFINITY};
        for (size_t i = 0; i < 4; i++) {
            ck_assert_int_eq(nn_net_sgd_step(net, bad[i]), NN_ERR_INVALID);
            ck_assert_int_eq(nn_net_sgd_step(NULL, bad[i]), NN_ERR_INVALID);
        }
        ck_assert_int_eq(nn_net_sgd_step(NULL, 0.1), NN_ERR_INVALID);
        if (!hist) {
            ck_assert_int_eq(nn_net_sgd_step(net, 0.1), NN_ERR_STATE);
            ck_assert_int_eq(nn_net_sgd_step(net, 0.0), NN_ERR_STATE);
        }
        assert_net_state(net, s0, ns, "nn_net_sgd_step");
        net_like_fresh(net, K_BCE, hist);
        nn_net_destroy(net);
        free(b);
    }
}
END_TEST

START_TEST(net_params_errors)
{
    tu_counter t = tally_new();
    bufs *b = malloc(sizeof *b), *saved = malloc(sizeof *saved);
    ck_assert(b && saved);
    nn_net_t *net = net_with_history(K_MSE, &t, b, true);
    double s0[BUF];
    size_t ns = net_state(net, s0);
    long att = t.attempts;
    for (int fn = 0; fn < 3; fn++) {
        for (size_t l = 0; l < nn_net_n_layers(net); l++) {
            size_t ni = nn_net_layer_n_in(net, l), no = nn_net_layer_n_out(net, l);
            for (size_t i = 0; i < N_PARAM_CASES; i++) {
                const param_case *c = &param_cases[i];
                size_t ld = param_ld(c, ni, no);
                double *W = c->w_null ? NULL : (fn == 2 ? b->T : b->O);
                double *bb = c->b_null ? NULL : (fn == 2 ? b->D : b->O2);
                memcpy(saved, b, sizeof *b);
                nn_status st =
                    fn == 0   ? nn_net_get_params(net, l, c->order, W, ld, bb)
                    : fn == 1 ? nn_net_get_grads(net, l, c->order, W, ld, bb)
                              : nn_net_set_params(net, l, c->order, W, ld, bb);
                ck_assert_msg(st == c->want,
                              "fn %d, layer %zu, %s: got %d, want %d", fn, l,
                              c->name, (int)st, (int)c->want);
                ck_assert_msg(memcmp(saved, b, sizeof *b) == 0,
                              "fn %d, layer %zu, %s: a buffer was written", fn,
                              l, c->name);
                assert_net_state(net, s0, ns, c->name);
            }
        }
        /* NULL net, layer out of range (valid buffers otherwise) */
        const size_t bad_layer[] = {2, 3, SIZE_MAX};
        memcpy(saved, b, sizeof *b);
        for (size_t i = 0; i < 4; i++) {
            const nn_net_t *n = i == 3 ? NULL : net;
            size_t l = i == 3 ? 0 : bad_layer[i];
            nn_status st =
                fn == 0   ? nn_net_get_params(n, l, NN_ROW_MAJOR, b->O, 8, b->O2)
                : fn == 1 ? nn_net_get_grads(n, l, NN_ROW_MAJOR, b->O, 8, b->O2)
                          : nn_net_set_params(i == 3 ? NULL : net, l,
                                              NN_ROW_MAJOR, b->T, 8, b->D);
            ck_assert_msg(st == NN_ERR_INVALID, "fn %d, case %zu: got %d", fn,
                          i, (int)st);
        }
        ck_assert(memcmp(saved, b, sizeof *b) == 0);
        assert_net_state(net, s0, ns, "bad layer");
    }
    ck_assert_int_eq(t.attempts, att);
    net_like_fresh(net, K_MSE, true);
    nn_net_destroy(net);
    free(b);
    free(saved);
}
END_TEST

/* A bad nn_order is an invalid argument even when W is NULL and only b is
 * copied (the contract: every call validates its arguments; bad enum ->
 * NN_ERR_INVALID, nothing written). */
START_TEST(params_bad_order_W_null)
{
    bufs *b = malloc(sizeof *b), *saved = malloc(sizeof *saved);
    ck_assert(b && saved);
    nn_net_t *net = net_with_history(K_MSE, NULL, b, true);
    nn_dense_t *d = mk_dense(NULL);
    double s0[BUF], ds0[BUF], ds1[BUF];
    size_t ns = net_state(net, s0), dns = dense_state(d, ds0);
    memcpy(saved, b, sizeof *b);
    const nn_order bad = (nn_order)7;
    ck_assert_int_eq(nn_net_get_params(net, 0, bad, NULL, 4, b->O),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_grads(net, 0, bad, NULL, 4, b->O),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_set_params(net, 0, bad, NULL, 4, b->T),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_dense_get_params(d, bad, NULL, 2, b->O),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_dense_get_grads(d, bad, NULL, 2, b->O),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_dense_set_params(d, bad, NULL, 2, b->T),
                     NN_ERR_INVALID);
    ck_assert(memcmp(saved, b, sizeof *b) == 0);
    assert_net_state(net, s0, ns, "bad order, W NULL");
    dense_state(d, ds1);
    ck_assert(memcmp(ds0, ds1, dns * sizeof(double)) == 0);
    nn_dense_destroy(d);
    nn_net_destroy(net);
    free(b);
    free(saved);
}
END_TEST

START_TEST(net_getters_null)
{
    nn_net_t *net = mk_net(K_MSE, NULL);
    const size_t bad[] = {2, 3, SIZE_MAX};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_ptr_null(nn_net_weights(net, bad[i]));
        ck_assert_ptr_null(nn_net_bias(net, bad[i]));
        ck_assert_ptr_null(nn_net_grad_weights(net, bad[i]));
        ck_assert_ptr_null(nn_net_grad_bias(net, bad[i]));
        ck_assert_uint_eq(nn_net_layer_n_in(net, bad[i]), 0);
        ck_assert_uint_eq(nn_net_layer_n_out(net, bad[i]), 0);
    }
    ck_assert_ptr_null(nn_net_weights(NULL, 0));
    ck_assert_ptr_null(nn_net_bias(NULL, 0));
    ck_assert_ptr_null(nn_net_grad_weights(NULL, 0));
    ck_assert_ptr_null(nn_net_grad_bias(NULL, 0));
    ck_assert_uint_eq(nn_net_n_in(NULL), 0);
    ck_assert_uint_eq(nn_net_n_out(NULL), 0);
    ck_assert_uint_eq(nn_net_n_layers(NULL), 0);
    ck_assert_uint_eq(nn_net_n_params(NULL), 0);
    ck_assert_uint_eq(nn_net_layer_n_in(NULL, 0), 0);
    ck_assert_uint_eq(nn_net_layer_n_out(NULL, 0), 0);
    /* controls: the last layer is in range */
    ck_assert_ptr_nonnull(nn_net_weights(net, 1));
    ck_assert_ptr_nonnull(nn_net_grad_bias(net, 1));
    ck_assert_uint_eq(nn_net_layer_n_out(net, 1), 2);
    nn_net_destroy(net);
}
END_TEST

/* A failing predict must fail on its own arguments before it makes room for
 * the batch: no allocation, and the right status even when the batch would
 * not fit in memory. */
START_TEST(net_predict_checks_before_reserve)
{
    tu_counter t = tally_new();
    bufs *b = malloc(sizeof *b), *saved = malloc(sizeof *saved);
    ck_assert(b && saved);
    nn_net_t *net = net_with_history(K_MSE, &t, b, false);
    size_t k = nn_net_n_out(net);
    long att = t.attempts;
    memcpy(saved, b, sizeof *b);
    /* m = INT_MAX is a valid size for X (ldx = n_in); Y is bad */
    ck_assert_int_eq(nn_net_predict(net, (size_t)INT_MAX, NN_ROW_MAJOR, b->X,
                                    NET_N_IN, NULL, k),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_predict(net, (size_t)INT_MAX, NN_ROW_MAJOR, b->X,
                                    NET_N_IN, b->O, SIZE_MAX),
                     NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_net_predict(net, NM, NN_ROW_MAJOR, b->X, NET_N_IN,
                                    NULL, k),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_predict(net, NM, NN_ROW_MAJOR, b->X, NET_N_IN,
                                    b->O, k - 1),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(t.attempts, att);
    ck_assert(memcmp(saved, b, sizeof *b) == 0);
    net_like_fresh(net, K_MSE, false);
    nn_net_destroy(net);
    free(b);
    free(saved);
}
END_TEST

/* ================================================================ misc */
START_TEST(threads_errors)
{
    size_t before = nn_get_num_threads();
    ck_assert_uint_ge(before, 1);
    ck_assert_int_eq(nn_set_num_threads(0), NN_ERR_INVALID);
    ck_assert_int_eq(nn_set_num_threads(BIG_INT), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_set_num_threads(SIZE_MAX), NN_ERR_TOO_LARGE);
    ck_assert_uint_eq(nn_get_num_threads(), before);
    NN_OK_OR_FAIL(nn_set_num_threads(1));
    ck_assert_uint_eq(nn_get_num_threads(), 1);
    ck_assert_int_eq(nn_set_num_threads(0), NN_ERR_INVALID);
    ck_assert_uint_eq(nn_get_num_threads(), 1);
}
END_TEST

START_TEST(destroy_null)
{
    nn_dense_destroy(NULL);
    nn_net_destroy(NULL);
    /* the library still works afterwards */
    nn_net_t *net = mk_net(K_MSE, NULL);
    ck_assert_uint_eq(nn_net_n_in(net), NET_N_IN);
    nn_net_destroy(net);
}
END_TEST

static Suite *errors_suite(void)
{
    Suite *s = suite_create("errors");
    TCase *tc = tcase_create("dense");
    tcase_add_test(tc, dense_create_errors);
    tcase_add_test(tc, create_nomem);
    tcase_add_test(tc, dense_batch_arg_table);
    tcase_add_test(tc, dense_backward_state);
    tcase_add_test(tc, dense_reserve_errors);
    tcase_add_test(tc, dense_params_errors);
    tcase_add_test(tc, dense_getters_null);
    suite_add_tcase(s, tc);
    tc = tcase_create("net");
    tcase_add_test(tc, net_create_errors);
    tcase_add_test(tc, net_batch_arg_table);
    tcase_add_test(tc, net_batch_null_args);
    tcase_add_test(tc, net_labels_out_of_range);
    tcase_add_test(tc, net_init_errors);
    tcase_add_test(tc, net_reserve_errors);
    tcase_add_test(tc, net_sgd_errors);
    tcase_add_test(tc, net_params_errors);
    tcase_add_test(tc, params_bad_order_W_null);
    tcase_add_test(tc, net_getters_null);
    tcase_add_test(tc, net_predict_checks_before_reserve);
    suite_add_tcase(s, tc);
    tc = tcase_create("misc");
    tcase_add_test(tc, threads_errors);
    tcase_add_test(tc, destroy_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(errors_suite()); }
