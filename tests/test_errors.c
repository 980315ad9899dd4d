/* test_errors.c — argument validation of every public call: NULL pointers,
 * zero / negative-as-size_t sizes, bad enums, keys and values, mismatched
 * shapes, leading dimensions below the width, and sizes beyond BLAS's int or
 * whose products overflow size_t. For every failing call: the exact status,
 * output buffers untouched (pre-filled with a sentinel), nothing allocated,
 * the object unchanged bitwise (parameters, gradients, settings, optimizer
 * state) and still usable (it then behaves bitwise like a fresh object with
 * the same history). Huge sizes are only ever handed to calls that must
 * refuse them before touching the (tiny, real) buffers. */
#include "testutil.h"

#include <limits.h>
#include <stdbool.h>
#include <string.h>

#define BIG_INT ((size_t)INT_MAX + 1) /* first size that does not fit an int */
#define NM 4                          /* batch rows of the valid calls       */
#define BUF 512                       /* doubles in every test buffer        */
#define SENT 0xA5                     /* sentinel byte of output buffers     */
#define SENT_I64 ((int64_t)0x5A5A5A5A5A5A5A5All) /* sentinel of int64 outs */
#define SENT_D (-12345.25)                         /* sentinel of double outs */
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

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

typedef struct {
    size_t units;
    nn_activation act;
    double slope; /* < 0: leave NN_LAYER_ACT_PARAM at its default */
} lspec;

static const lspec net_layers[K_COUNT][2] = {
    {{4, NN_ACT_TANH, -1}, {2, NN_ACT_IDENTITY, -1}},
    {{5, NN_ACT_RELU, -1}, {3, NN_ACT_SOFTMAX, -1}},
    {{4, NN_ACT_LEAKY_RELU, 0.1}, {1, NN_ACT_SIGMOID, -1}},
};
static const nn_loss net_loss[K_COUNT] = {NN_LOSS_MSE, NN_LOSS_SOFTMAX_CE,
                                          NN_LOSS_BCE};
#define NET_N_IN 3

static nn_netspec_t *mk_spec(int kind)
{
    nn_netspec_t *s = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&s, NET_N_IN, net_loss[kind], NULL));
    for (size_t l = 0; l < 2; l++) {
        const lspec *L = &net_layers[kind][l];
        NN_OK_OR_FAIL(nn_netspec_add_dense(s, L->units, L->act));
        if (L->slope >= 0)
            NN_OK_OR_FAIL(nn_netspec_set_real(s, l, NN_LAYER_ACT_PARAM,
                                              L->slope));
    }
    return s;
}

static nn_net_t *mk_net(int kind, tu_counter *t)
{
    nn_allocator al;
    if (t) al = tu_allocator(t);
    nn_netspec_t *s = mk_spec(kind);
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, t ? &al : NULL));
    nn_netspec_destroy(s);
    return net;
}

/* The network's whole observable state: every parameter, every gradient
 * (flat views), whether a gradient is current, and its settings. */
static const int32_t net_keys[] = {NN_NET_LOSS, NN_NET_REDUCTION,
                                   NN_NET_CHECK_FINITE, NN_NET_DROPOUT_SEED};

static size_t net_state(const nn_net_t *cnet, double *buf)
{
    nn_net_t *net = (nn_net_t *)cnet; /* the flat views are only read here */
    size_t P = nn_net_n_params(net), off = 0;
    ck_assert_uint_gt(P, 0);
    ck_assert_uint_le(2 * P + 1 + N_OF(net_keys), BUF / 2);
    memcpy(buf, nn_net_params(net), P * sizeof *buf);
    memcpy(buf + P, nn_net_grads(net), P * sizeof *buf);
    off = 2 * P;
    buf[off++] = nn_net_has_grads(net);
    for (size_t i = 0; i < N_OF(net_keys); i++) {
        int64_t v = SENT_I64;
        NN_OK_OR_FAIL(nn_net_get_int(net, net_keys[i], &v));
        memcpy(buf + off++, &v, sizeof v);
    }
    return off;
}

static void assert_net_state(const nn_net_t *net, const double *want,
                             size_t n, const char *what)
{
    double now[BUF];
    ck_assert_uint_eq(net_state(net, now), n);
    ck_assert_msg(memcmp(now, want, n * sizeof(double)) == 0,
                  "%s: network parameters/gradients/settings changed", what);
}

/* The optimizer's observable state: settings, step count, state array. */
static const int32_t opt_real_keys[] = {
    NN_OPTIM_LR, NN_OPTIM_MOMENTUM_COEF, NN_OPTIM_BETA1, NN_OPTIM_BETA2,
    NN_OPTIM_EPS, NN_OPTIM_WEIGHT_DECAY, NN_OPTIM_CLIP_NORM};
static const int32_t opt_int_keys[] = {NN_OPTIM_KIND, NN_OPTIM_DECOUPLED,
                                       NN_OPTIM_STEPS};

static size_t opt_state(const nn_optim_t *opt, double *buf)
{
    size_t off = 0, S = nn_optim_state_len(opt);
    for (size_t i = 0; i < N_OF(opt_real_keys); i++)
        NN_OK_OR_FAIL(nn_optim_get_real(opt, opt_real_keys[i], buf + off++));
    for (size_t i = 0; i < N_OF(opt_int_keys); i++) {
        int64_t v = SENT_I64;
        NN_OK_OR_FAIL(nn_optim_get_int(opt, opt_int_keys[i], &v));
        memcpy(buf + off++, &v, sizeof v);
    }
    ck_assert_uint_le(off + S, BUF / 2);
    if (S) {
        uint64_t steps = 0;
        NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps, buf + off, S));
        off += S;
    }
    return off;
}

/* A plain SGD step of rate lr through a throw-away optimizer. */
static nn_status sgd_step(nn_net_t *net, double lr)
{
    nn_optim_t *o = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o, net, NN_OPTIM_SGD, NULL));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, lr));
    nn_status st = nn_optim_step(o, net);
    nn_optim_destroy(o);
    return st;
}

/* ------------------------------------------------ buffers and arguments */
typedef struct {
    double X[BUF];  /* inputs                         */
    double T[BUF];  /* dense targets                  */
    double D[BUF];  /* dA of a dense layer            */
    double O[BUF];  /* output (sentinel)              */
    double O2[BUF]; /* second output: dX (sentinel)   */
    int32_t labels[BUF];
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
    for (size_t i = 0; i < BUF; i++) b->labels[i] = (int32_t)(i % n_classes);
}

static bufs *bufs_new(void)
{
    bufs *b = malloc(sizeof *b);
    ck_assert_ptr_nonnull(b);
    return b;
}

/* One batch call's arguments; slot k is the k-th matrix argument. */
typedef struct {
    size_t m;
    nn_order order;
    double *p[3];
    size_t ld[3];
    const int32_t *labels;
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

/* What the network calls act on: the net, the optimizer of its training
 * steps and the context of its inference calls (NULL: a temporary one). */
typedef struct {
    nn_net_t *net;
    nn_optim_t *opt;
    nn_ctx_t *ctx;
} netfix;

static nn_status c_predict(void *o, const call_args *a)
{
    const netfix *f = o;
    return nn_net_predict(f->net, f->ctx, a->m, a->order, a->p[0], a->ld[0],
                          a->p[1], a->ld[1]);
}
static nn_status c_loss(void *o, const call_args *a)
{
    const netfix *f = o;
    return nn_net_loss(f->net, f->ctx, a->m, a->order, a->p[0], a->ld[0],
                       a->p[1], a->ld[1], a->loss);
}
static nn_status c_loss_labels(void *o, const call_args *a)
{
    const netfix *f = o;
    return nn_net_loss_labels(f->net, f->ctx, a->m, a->order, a->p[0],
                              a->ld[0], a->labels, a->loss);
}
static nn_status c_grad(void *o, const call_args *a)
{
    const netfix *f = o;
    return nn_net_gradient(f->net, a->m, a->order, a->p[0], a->ld[0], a->p[1],
                           a->ld[1], a->loss);
}
static nn_status c_grad_labels(void *o, const call_args *a)
{
    const netfix *f = o;
    return nn_net_gradient_labels(f->net, a->m, a->order, a->p[0], a->ld[0],
                                  a->labels, a->loss);
}
static nn_status c_step(void *o, const call_args *a)
{
    const netfix *f = o;
    return nn_net_train_step(f->net, f->opt, a->m, a->order, a->p[0],
                             a->ld[0], a->p[1], a->ld[1], a->loss);
}
static nn_status c_step_labels(void *o, const call_args *a)
{
    const netfix *f = o;
    return nn_net_train_step_labels(f->net, f->opt, a->m, a->order, a->p[0],
                                    a->ld[0], a->labels, a->loss);
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
    {"nn_net_train_step", c_step, 2, {B_X, B_T, 0}, {0, 1, 0}, {0, 0, 0}},
    {"nn_net_train_step_labels", c_step_labels, 1, {B_X, 0, 0}, {0, 0, 0},
     {0, 0, 0}},
};
#define N_NET_FNS N_OF(net_fns)

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
    c[n++] = (mat_case){"order = -1", NM, (nn_order)-1, false, w,
                        NN_ERR_INVALID};
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

/* Run one bad-matrix case on slot k of f against obj; check status, buffers,
 * object state (via state()) and allocations. */
static void run_mat_case(void *obj, const fn_spec *f, int k, const mat_case *c,
                         size_t n_in, size_t n_out, bufs *b, bufs *saved,
                         tu_counter *t, size_t (*state)(const void *, double *),
                         const double *st0, size_t ns)
{
    double st1[BUF];
    nn_order o = c->order;
    call_args a = args_for(f, b, n_in, n_out, c->m,
                           o == NN_COL_MAJOR ? o : NN_ROW_MAJOR);
    a.order = o;
    if (c->null_ptr) a.p[k] = NULL;
    a.ld[k] = c->ld;
    memcpy(saved, b, sizeof *b);
    long att = t->attempts;
    nn_status st = f->call(obj, &a);
    ck_assert_msg(st == c->want, "%s, argument %d, %s: got %d (%s), want %d",
                  f->name, k, c->name, (int)st, nn_strerror(st), (int)c->want);
    ck_assert_msg(memcmp(saved, b, sizeof *b) == 0,
                  "%s, argument %d, %s: a buffer was written", f->name, k,
                  c->name);
    ck_assert_msg(t->attempts == att, "%s, argument %d, %s: failing call "
                  "allocated", f->name, k, c->name);
    ck_assert_uint_eq(state(obj, st1), ns);
    ck_assert_msg(memcmp(st0, st1, ns * sizeof(double)) == 0,
                  "%s, argument %d, %s: object changed", f->name, k, c->name);
}

static void run_mat_table(void *obj, const fn_spec *fns, size_t nfns,
                          size_t n_in, size_t n_out, bufs *b, tu_counter *t,
                          size_t (*state)(const void *, double *))
{
    bufs *saved = bufs_new();
    double st0[BUF];
    size_t ns = state(obj, st0);
    for (size_t f = 0; f < nfns; f++)
        for (int k = 0; k < fns[f].nslots; k++) {
            mat_case cases[32];
            size_t w = fns[f].width[k] ? n_out : n_in;
            size_t nc = build_mat_cases(cases, w);
            for (size_t c = 0; c < nc; c++) {
                if (cases[c].null_ptr && fns[f].optional[k]) continue;
                run_mat_case(obj, &fns[f], k, &cases[c], n_in, n_out, b, saved,
                             t, state, st0, ns);
            }
        }
    free(saved);
}

/* State of a netfix: the net's, then the optimizer's. */
static size_t fix_state(const void *o, double *buf)
{
    const netfix *f = o;
    size_t n = net_state(f->net, buf);
    return n + opt_state(f->opt, buf + n);
}

/* ------------------------------------------------ "like a fresh object"
 * history: whether one valid nn_net_gradient (m = NM) preceded. Afterwards
 * predict, gradient and an SGD step must give bitwise the same as a fresh
 * net with the same history. */
static void net_like_fresh(nn_net_t *net, int kind, bool history)
{
    bufs *b = bufs_new(), *r = bufs_new();
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
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, NM, NN_ROW_MAJOR, b->X, NET_N_IN,
                                 b->O, k));
    NN_OK_OR_FAIL(nn_net_predict(ref, NULL, NM, NN_ROW_MAJOR, r->X, NET_N_IN,
                                 r->O, k));
    ck_assert(memcmp(b->O, r->O, NM * k * sizeof(double)) == 0);
    /* with history, a step works straight away */
    if (history) {
        NN_OK_OR_FAIL(sgd_step(net, 0.25));
        NN_OK_OR_FAIL(sgd_step(ref, 0.25));
    }
    /* gradient + step */
    NN_OK_OR_FAIL(nn_net_gradient(net, NM, NN_ROW_MAJOR, b->X, NET_N_IN, b->T,
                                  k, &b->loss));
    NN_OK_OR_FAIL(nn_net_gradient(ref, NM, NN_ROW_MAJOR, r->X, NET_N_IN, r->T,
                                  k, &r->loss));
    ck_assert(memcmp(&b->loss, &r->loss, sizeof(double)) == 0);
    NN_OK_OR_FAIL(sgd_step(net, 0.5));
    NN_OK_OR_FAIL(sgd_step(ref, 0.5));
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
    bufs *b = bufs_new(), *r = bufs_new();
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

/* ------------------------------------------------ keyed settings
 * One bad set: key, whether it is set as a real, and the value. Every one
 * must give NN_ERR_INVALID and leave the object as it was. */
typedef struct {
    const char *name;
    int32_t key;
    bool real;
    int64_t i;
    double r;
} set_case;

#define SET_I(name, key, v) {(name), (key), false, (v), 0.0}
#define SET_R(name, key, v) {(name), (key), true, 0, (v)}

/* The setters and getters of one kind of keyed object, and its state. */
typedef struct {
    nn_status (*set_int)(void *o, int32_t key, int64_t v);
    nn_status (*set_real)(void *o, int32_t key, double v); /* may be NULL */
    nn_status (*get_int)(void *o, int32_t key, int64_t *v);
    nn_status (*get_real)(void *o, int32_t key, double *v); /* may be NULL */
    size_t (*state)(void *o, double *buf);
} keyed_ops;

static void check_bad_sets(void *o, const keyed_ops *ops, const set_case *c,
                           size_t n, tu_counter *t, const char *what)
{
    double s0[BUF], s1[BUF];
    size_t ns = ops->state(o, s0);
    long att = t ? t->attempts : 0;
    for (size_t i = 0; i < n; i++) {
        nn_status st = c[i].real ? ops->set_real(o, c[i].key, c[i].r)
                                 : ops->set_int(o, c[i].key, c[i].i);
        ck_assert_msg(st == NN_ERR_INVALID, "%s, %s: got %d (%s), want %d",
                      what, c[i].name, (int)st, nn_strerror(st),
                      (int)NN_ERR_INVALID);
        ck_assert_uint_eq(ops->state(o, s1), ns);
        ck_assert_msg(memcmp(s0, s1, ns * sizeof(double)) == 0,
                      "%s, %s: object changed", what, c[i].name);
    }
    if (t) ck_assert_int_eq(t->attempts, att);
}

/* Gets of keys that are unknown or of the other type: NN_ERR_INVALID and the
 * output untouched. */
static void check_bad_gets(void *o, const keyed_ops *ops, const int32_t *ik,
                           size_t ni, const int32_t *rk, size_t nr,
                           const char *what)
{
    for (size_t i = 0; i < ni; i++) {
        int64_t v = SENT_I64;
        ck_assert_msg(ops->get_int(o, ik[i], &v) == NN_ERR_INVALID,
                      "%s: get_int(%d)", what, (int)ik[i]);
        ck_assert(v == SENT_I64);
    }
    for (size_t i = 0; i < nr; i++) {
        double v = SENT_D;
        ck_assert_msg(ops->get_real(o, rk[i], &v) == NN_ERR_INVALID,
                      "%s: get_real(%d)", what, (int)rk[i]);
        ck_assert(v == SENT_D);
    }
}

/* A wrong key of every kind, for the unknown-key cases of every object. */
static const int32_t alien_keys[] = {0,    -1,   99,   106,  199,  205,
                                     299,  310,  399,  415,  449,  463,
                                     500,  INT32_MIN, INT32_MAX,
                                     NN_KEY_EXPERIMENTAL,
                                     NN_KEY_EXPERIMENTAL + 1};

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
        {"softmax, 3 x 2 (valid)", false, 3, 2, NN_ACT_SOFTMAX, 0.0, 0, NN_OK},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
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
    nn_netspec_t *spec = mk_spec(K_MSE);
    nn_net_t *nsent = (nn_net_t *)&c, *n = nsent;
    ck_assert_int_eq(nn_net_create(&n, spec, &al), NN_ERR_NOMEM);
    ck_assert_ptr_eq(n, nsent);
    nn_netspec_t *ssent = (nn_netspec_t *)&c, *s = ssent;
    ck_assert_int_eq(nn_netspec_create(&s, 3, NN_LOSS_MSE, &al), NN_ERR_NOMEM);
    ck_assert_ptr_eq(s, ssent);
    nn_trainer_t *tsent = (nn_trainer_t *)&c, *tr = tsent;
    ck_assert_int_eq(nn_trainer_create(&tr, &al), NN_ERR_NOMEM);
    ck_assert_ptr_eq(tr, tsent);
    ck_assert_int_eq(c.frees, 0);
    ck_assert_int_eq(c.allocs, 0);
    nn_netspec_destroy(spec);
}
END_TEST

START_TEST(dense_batch_arg_table)
{
    tu_counter t = tally_new();
    nn_dense_t *d = mk_dense(&t);
    bufs *b = bufs_new();
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
    bufs *b = bufs_new(), *saved = bufs_new();
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
    for (size_t i = 0; i < N_OF(other_m); i++) {
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
    bufs *b = bufs_new();
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
#define N_PARAM_CASES N_OF(param_cases)

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
    bufs *b = bufs_new(), *saved = bufs_new();
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

/* ================================================================ network spec */
/* One layer of a create case: units, activation, and optionally a slope
 * (NN_LAYER_ACT_PARAM) and a dropout rate to set through the spec. */
typedef struct {
    size_t units;
    nn_activation act;
    bool has_param;
    double param;
    double dropout;
} lcase;

typedef struct {
    const char *name;
    bool null_out, null_spec;
    size_t n_in, n_layers;
    lcase s[3];
    nn_loss loss;
    int alloc_kind;
    nn_status want;
} net_create_case;

#define L_(n, a) {(n), (a), false, 0.0, 0.0}
#define LP(n, a, p) {(n), (a), true, (p), 0.0}
#define LD(n, a, d) {(n), (a), false, 0.0, (d)}
#define OK2 {L_(4, NN_ACT_TANH), L_(2, NN_ACT_SIGMOID), L_(0, 0)}

/* Build the spec of a case: the first failing call's status, or NN_OK with
 * the spec in *out. A spec call may refuse a value the create would refuse
 * later: either way the chain from spec to network must fail with `want`. */
static nn_status build_spec(const net_create_case *c, nn_netspec_t **out)
{
    nn_netspec_t *s = NULL;
    nn_status st = nn_netspec_create(&s, c->n_in, c->loss, NULL);
    for (size_t l = 0; !st && l < c->n_layers; l++) {
        const lcase *L = &c->s[l];
        st = nn_netspec_add_dense(s, L->units, L->act);
        if (!st && L->has_param)
            st = nn_netspec_set_real(s, l, NN_LAYER_ACT_PARAM, L->param);
        if (!st && L->dropout != 0.0)
            st = nn_netspec_set_real(s, l, NN_LAYER_DROPOUT, L->dropout);
    }
    if (st) {
        nn_netspec_destroy(s);
        return st;
    }
    *out = s;
    return NN_OK;
}

static const net_create_case net_create_cases[] = {
    {"NULL out", true, false, 3, 2, OK2, NN_LOSS_MSE, 0, NN_ERR_INVALID},
    {"NULL spec", false, true, 3, 2, OK2, NN_LOSS_MSE, 0, NN_ERR_INVALID},
    {"n_in = 0", false, false, 0, 2, OK2, NN_LOSS_MSE, 0, NN_ERR_INVALID},
    {"no layers", false, false, 3, 0, OK2, NN_LOSS_MSE, 0, NN_ERR_INVALID},
    {"layer 0 n_out = 0", false, false, 3, 2,
     {L_(0, NN_ACT_TANH), L_(2, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"layer 1 n_out = 0", false, false, 3, 2,
     {L_(4, NN_ACT_TANH), L_(0, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"act 99", false, false, 3, 2,
     {L_(4, (nn_activation)99), L_(2, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"output act 6", false, false, 3, 2,
     {L_(4, NN_ACT_TANH), L_(2, (nn_activation)6)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"act -1", false, false, 3, 2,
     {L_(4, (nn_activation)-1), L_(2, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"NaN act_param", false, false, 3, 2,
     {LP(4, NN_ACT_TANH, NAN), L_(2, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"inf act_param (relu)", false, false, 3, 2,
     {L_(4, NN_ACT_RELU), LP(2, NN_ACT_RELU, INFINITY)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"negative leaky slope", false, false, 3, 2,
     {LP(4, NN_ACT_LEAKY_RELU, -0.01), L_(2, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"loss 3", false, false, 3, 2, OK2, (nn_loss)3, 0, NN_ERR_INVALID},
    {"loss 99", false, false, 3, 2, OK2, (nn_loss)99, 0, NN_ERR_INVALID},
    {"loss -1", false, false, 3, 2, OK2, (nn_loss)-1, 0, NN_ERR_INVALID},
    {"BCE, softmax output", false, false, 3, 2,
     {L_(4, NN_ACT_TANH), L_(2, NN_ACT_SOFTMAX)}, NN_LOSS_BCE, 0,
     NN_ERR_INVALID},
    {"BCE, identity output", false, false, 3, 2,
     {L_(4, NN_ACT_TANH), L_(1, NN_ACT_IDENTITY)}, NN_LOSS_BCE, 0,
     NN_ERR_INVALID},
    {"BCE, sigmoid hidden only", false, false, 3, 2,
     {L_(4, NN_ACT_SIGMOID), L_(1, NN_ACT_TANH)}, NN_LOSS_BCE, 0,
     NN_ERR_INVALID},
    {"softmax CE, sigmoid output", false, false, 3, 2, OK2, NN_LOSS_SOFTMAX_CE,
     0, NN_ERR_INVALID},
    {"softmax CE, softmax hidden only", false, false, 3, 2,
     {L_(4, NN_ACT_SOFTMAX), L_(3, NN_ACT_IDENTITY)}, NN_LOSS_SOFTMAX_CE, 0,
     NN_ERR_INVALID},
    /* the single-softmax-output inconsistency of 0.x is refused at creation */
    {"softmax CE, 1-unit softmax output", false, false, 3, 2,
     {L_(4, NN_ACT_TANH), L_(1, NN_ACT_SOFTMAX)}, NN_LOSS_SOFTMAX_CE, 0,
     NN_ERR_INVALID},
    {"MSE, 1-unit softmax hidden", false, false, 3, 2,
     {L_(1, NN_ACT_SOFTMAX), L_(2, NN_ACT_IDENTITY)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"dropout on the output layer", false, false, 3, 2,
     {L_(4, NN_ACT_TANH), LD(2, NN_ACT_SIGMOID, 0.5)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"dropout 1", false, false, 3, 2,
     {LD(4, NN_ACT_TANH, 1.0), L_(2, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"dropout -0.1", false, false, 3, 2,
     {LD(4, NN_ACT_TANH, -0.1), L_(2, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"dropout NaN", false, false, 3, 2,
     {LD(4, NN_ACT_TANH, NAN), L_(2, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_INVALID},
    {"allocator with NULL alloc", false, false, 3, 2, OK2, NN_LOSS_MSE, 1,
     NN_ERR_INVALID},
    {"allocator with NULL free", false, false, 3, 2, OK2, NN_LOSS_MSE, 2,
     NN_ERR_INVALID},
    {"n_in = (size_t)-1", false, false, (size_t)-1, 2, OK2, NN_LOSS_MSE, 0,
     NN_ERR_TOO_LARGE},
    {"n_in = INT_MAX+1", false, false, BIG_INT, 2, OK2, NN_LOSS_MSE, 0,
     NN_ERR_TOO_LARGE},
    {"layer 1 n_out = INT_MAX+1", false, false, 3, 2,
     {L_(4, NN_ACT_TANH), L_(BIG_INT, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_TOO_LARGE},
    {"layer 0 n_out = (size_t)-1", false, false, 3, 2,
     {L_((size_t)-1, NN_ACT_TANH), L_(2, NN_ACT_SIGMOID)}, NN_LOSS_MSE, 0,
     NN_ERR_TOO_LARGE},
    {"INT_MAX x INT_MAX layer", false, false, (size_t)INT_MAX, 1,
     {L_((size_t)INT_MAX, NN_ACT_TANH)}, NN_LOSS_MSE, 0, NN_ERR_TOO_LARGE},
    /* each layer's W fits (2^63 bytes) but params + grads overflow */
    {"2^30 x 2^30 layer, block overflows", false, false, (size_t)1 << 30, 1,
     {L_((size_t)1 << 30, NN_ACT_TANH)}, NN_LOSS_MSE, 0, NN_ERR_TOO_LARGE},
    {"sum of layers overflows", false, false, (size_t)1 << 30, 3,
     {L_((size_t)1 << 30, NN_ACT_TANH), L_((size_t)1 << 30, NN_ACT_TANH),
      L_((size_t)1 << 30, NN_ACT_TANH)},
     NN_LOSS_MSE, 0, NN_ERR_TOO_LARGE},
    /* controls */
    {"valid MSE", false, false, 3, 2, OK2, NN_LOSS_MSE, 0, NN_OK},
    {"valid BCE", false, false, 3, 2, OK2, NN_LOSS_BCE, 0, NN_OK},
    {"valid softmax CE, softmax hidden too", false, false, 3, 2,
     {L_(4, NN_ACT_SOFTMAX), L_(3, NN_ACT_SOFTMAX)}, NN_LOSS_SOFTMAX_CE, 0,
     NN_OK},
    {"valid hidden dropout 0.5, slope 0", false, false, 3, 2,
     {{4, NN_ACT_LEAKY_RELU, true, 0.0, 0.5}, L_(2, NN_ACT_SIGMOID)},
     NN_LOSS_MSE, 0, NN_OK},
};

START_TEST(net_create_errors)
{
    for (size_t i = 0; i < N_OF(net_create_cases); i++) {
        const net_create_case *c = &net_create_cases[i];
        tu_counter t = tally_new();
        nn_allocator al = tu_allocator(&t);
        if (c->alloc_kind == 1) al.alloc = NULL;
        if (c->alloc_kind == 2) al.free = NULL;
        nn_net_t *sentinel = (nn_net_t *)&t, *out = sentinel;
        nn_netspec_t *spec = NULL;
        nn_status st = build_spec(c, &spec);
        if (st == NN_OK) {
            st = nn_net_create(c->null_out ? NULL : &out,
                               c->null_spec ? NULL : spec, &al);
            nn_netspec_destroy(spec);
        }
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

/* The settings a spec holds, read back through a network built from it:
 * n_layers, each layer's kind/units/activation/slope/dropout and the net
 * keys other than the loss. */
static size_t spec_state(const nn_netspec_t *s, double *buf)
{
    size_t off = 0, L = nn_netspec_n_layers(s);
    buf[off++] = (double)L;
    if (L == 0) return off;
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
    for (size_t l = 0; l < L; l++) {
        const int32_t ik[] = {NN_LAYER_KIND, NN_LAYER_UNITS,
                              NN_LAYER_ACTIVATION};
        for (size_t i = 0; i < N_OF(ik); i++) {
            int64_t v = SENT_I64;
            NN_OK_OR_FAIL(nn_net_get_layer_int(net, l, ik[i], &v));
            buf[off++] = (double)v;
        }
        NN_OK_OR_FAIL(nn_net_get_layer_real(net, l, NN_LAYER_ACT_PARAM,
                                            buf + off++));
        NN_OK_OR_FAIL(nn_net_get_layer_real(net, l, NN_LAYER_DROPOUT,
                                            buf + off++));
    }
    for (size_t i = 0; i < N_OF(net_keys); i++) {
        int64_t v = SENT_I64;
        NN_OK_OR_FAIL(nn_net_get_int(net, net_keys[i], &v));
        memcpy(buf + off++, &v, sizeof v);
    }
    nn_net_destroy(net);
    return off;
}

static void assert_spec_state(const nn_netspec_t *s, const double *want,
                              size_t n, const char *what)
{
    double now[BUF];
    ck_assert_uint_eq(spec_state(s, now), n);
    ck_assert_msg(memcmp(now, want, n * sizeof(double)) == 0,
                  "%s: the spec changed", what);
}

START_TEST(netspec_create_errors)
{
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t), bad_a = al, bad_f = al;
    bad_a.alloc = NULL;
    bad_f.free = NULL;
    nn_netspec_t *sent = (nn_netspec_t *)&t, *s = sent;
    ck_assert_int_eq(nn_netspec_create(NULL, 3, NN_LOSS_MSE, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_create(&s, 0, NN_LOSS_MSE, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_create(&s, 3, (nn_loss)3, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_create(&s, 3, (nn_loss)-1, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_create(&s, 3, NN_LOSS_MSE, &bad_a),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_create(&s, 3, NN_LOSS_MSE, &bad_f),
                     NN_ERR_INVALID);
    ck_assert_ptr_eq(s, sent);
    ck_assert_int_eq(t.attempts, 0);
    /* nn_netspec_from_net */
    nn_net_t *net = mk_net(K_SCE, NULL);
    ck_assert_int_eq(nn_netspec_from_net(NULL, net, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_from_net(&s, NULL, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_from_net(&s, net, &bad_a), NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_from_net(&s, net, &bad_f), NN_ERR_INVALID);
    ck_assert_ptr_eq(s, sent);
    ck_assert_int_eq(t.attempts, 0);
    ck_assert_uint_eq(nn_netspec_n_layers(NULL), 0);
    /* control: through our allocator, balanced */
    NN_OK_OR_FAIL(nn_netspec_from_net(&s, net, &al));
    ck_assert_uint_eq(nn_netspec_n_layers(s), 2);
    nn_netspec_destroy(s);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&t);
}
END_TEST

/* A spec whose every setting differs from its default, so that a failed
 * call that resets something is seen. */
static nn_netspec_t *mk_busy_spec(void)
{
    nn_netspec_t *s = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&s, NET_N_IN, NN_LOSS_MSE, NULL));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 4, NN_ACT_LEAKY_RELU));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 2, NN_ACT_TANH));
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, NN_LAYER_ACT_PARAM, 0.25));
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, NN_LAYER_DROPOUT, 0.5));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, 1, NN_LAYER_ACTIVATION,
                                     NN_ACT_IDENTITY));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_REDUCTION,
                                     NN_REDUCE_SUM));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_CHECK_FINITE, 1));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_DROPOUT_SEED, -77));
    return s;
}

/* One bad keyed set on a spec: layer, key, type and value. */
typedef struct {
    const char *name;
    size_t layer;
    int32_t key;
    bool real;
    int64_t i;
    double r;
} spec_set_case;

#define SS_I(name, l, key, v) {(name), (l), (key), false, (v), 0.0}
#define SS_R(name, l, key, v) {(name), (l), (key), true, 0, (v)}
#define W_ NN_NET_WIDE

static const spec_set_case spec_set_cases[] = {
    /* layer index */
    SS_R("layer 2 of 2", 2, NN_LAYER_DROPOUT, 0.1),
    SS_R("layer SIZE_MAX-1", SIZE_MAX - 1, NN_LAYER_DROPOUT, 0.1),
    SS_I("layer 2, activation", 2, NN_LAYER_ACTIVATION, NN_ACT_TANH),
    /* keys of the wrong scope or object, unknown keys */
    SS_R("layer key network-wide", W_, NN_LAYER_DROPOUT, 0.1),
    SS_I("layer activation network-wide", W_, NN_LAYER_ACTIVATION, 1),
    SS_I("net key on layer 0", 0, NN_NET_REDUCTION, NN_REDUCE_MEAN),
    SS_I("net seed on layer 1", 1, NN_NET_DROPOUT_SEED, 5),
    SS_R("optimizer key", 0, NN_OPTIM_LR, 0.1),
    SS_I("trainer key", W_, NN_TRAIN_EPOCHS, 3),
    SS_I("key 0", 0, 0, 0),
    SS_I("key 205", 0, 205, 0),
    SS_R("key 205 (real)", 0, 205, 0.0),
    SS_I("key 106 net-wide", W_, 106, 0),
    SS_I("dropout step is net-only", W_, NN_NET_DROPOUT_STEP, 0),
    SS_I("dropout row0 is net-only", W_, NN_NET_DROPOUT_ROW0, 0),
    SS_I("experimental key", W_, NN_KEY_EXPERIMENTAL + 1, 0),
    /* read-only keys */
    SS_I("loss is read-only", W_, NN_NET_LOSS, NN_LOSS_MSE),
    SS_I("kind is read-only", 0, NN_LAYER_KIND, NN_LAYER_DENSE),
    SS_I("units are read-only", 0, NN_LAYER_UNITS, 4),
    /* wrong type */
    SS_I("slope as int", 0, NN_LAYER_ACT_PARAM, 0),
    SS_I("dropout as int", 0, NN_LAYER_DROPOUT, 0),
    SS_R("activation as real", 0, NN_LAYER_ACTIVATION, 1.0),
    SS_R("reduction as real", W_, NN_NET_REDUCTION, 0.0),
    SS_R("check-finite as real", W_, NN_NET_CHECK_FINITE, 1.0),
    /* out of bounds */
    SS_R("slope -1", 0, NN_LAYER_ACT_PARAM, -1.0),
    SS_R("slope NaN", 0, NN_LAYER_ACT_PARAM, NAN),
    SS_R("slope inf", 0, NN_LAYER_ACT_PARAM, INFINITY),
    SS_R("dropout 1", 0, NN_LAYER_DROPOUT, 1.0),
    SS_R("dropout -0.1", 0, NN_LAYER_DROPOUT, -0.1),
    SS_R("dropout NaN", 0, NN_LAYER_DROPOUT, NAN),
    SS_R("dropout inf", 0, NN_LAYER_DROPOUT, INFINITY),
    SS_I("activation 6", 1, NN_LAYER_ACTIVATION, 6),
    SS_I("activation -1", 1, NN_LAYER_ACTIVATION, -1),
    SS_I("activation 2^32", 1, NN_LAYER_ACTIVATION, (int64_t)1 << 32),
    SS_I("reduction 2", W_, NN_NET_REDUCTION, 2),
    SS_I("reduction -1", W_, NN_NET_REDUCTION, -1),
    SS_I("check-finite 2", W_, NN_NET_CHECK_FINITE, 2),
    SS_I("check-finite -1", W_, NN_NET_CHECK_FINITE, -1),
};

START_TEST(netspec_set_errors)
{
    nn_netspec_t *s = mk_busy_spec();
    double s0[BUF];
    size_t ns = spec_state(s, s0);
    for (size_t i = 0; i < N_OF(spec_set_cases); i++) {
        const spec_set_case *c = &spec_set_cases[i];
        nn_status st = c->real ? nn_netspec_set_real(s, c->layer, c->key, c->r)
                               : nn_netspec_set_int(s, c->layer, c->key, c->i);
        ck_assert_msg(st == NN_ERR_INVALID, "%s: got %d (%s)", c->name,
                      (int)st, nn_strerror(st));
        st = c->real ? nn_netspec_set_real(NULL, c->layer, c->key, c->r)
                     : nn_netspec_set_int(NULL, c->layer, c->key, c->i);
        ck_assert_msg(st == NN_ERR_INVALID, "%s (NULL spec)", c->name);
        assert_spec_state(s, s0, ns, c->name);
    }
    /* a valid key on a NULL spec */
    ck_assert_int_eq(nn_netspec_set_real(NULL, 0, NN_LAYER_DROPOUT, 0.1),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_netspec_set_int(NULL, W_, NN_NET_REDUCTION, 0),
                     NN_ERR_INVALID);
    /* add_dense */
    const struct { size_t n; nn_activation a; nn_status want; } adds[] = {
        {0, NN_ACT_TANH, NN_ERR_INVALID},
        {3, (nn_activation)6, NN_ERR_INVALID},
        {3, (nn_activation)-1, NN_ERR_INVALID},
        {3, (nn_activation)99, NN_ERR_INVALID},
        {BIG_INT, NN_ACT_TANH, NN_ERR_TOO_LARGE},
        {(size_t)-1, NN_ACT_TANH, NN_ERR_TOO_LARGE},
    };
    for (size_t i = 0; i < N_OF(adds); i++) {
        ck_assert_int_eq(nn_netspec_add_dense(s, adds[i].n, adds[i].a),
                         adds[i].want);
        ck_assert_int_eq(nn_netspec_add_dense(NULL, 3, NN_ACT_TANH),
                         NN_ERR_INVALID);
        assert_spec_state(s, s0, ns, "nn_netspec_add_dense");
    }
    /* controls: the boundaries of each bound are accepted */
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, NN_LAYER_DROPOUT, 0.0));
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, NN_LAYER_ACT_PARAM, 0.0));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, 1, NN_LAYER_ACTIVATION,
                                     NN_ACT_SOFTMAX));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, W_, NN_NET_DROPOUT_SEED, INT64_MIN));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 1, NN_ACT_IDENTITY));
    ck_assert_uint_eq(nn_netspec_n_layers(s), 3);
    nn_netspec_destroy(s);
}
END_TEST

/* ================================================================ network */
/* The optimizer each kind of test network trains with: plain SGD (the fused
 * path), Adam and momentum (the two-pass path). */
static nn_optim_t *mk_opt(nn_net_t *net, int kind)
{
    const nn_optim_kind k[K_COUNT] = {NN_OPTIM_SGD, NN_OPTIM_ADAM,
                                      NN_OPTIM_MOMENTUM};
    nn_optim_t *o = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o, net, k[kind], NULL));
    return o;
}

/* A net of `kind` with a tally allocator, its optimizer, no context, and
 * (history) one valid gradient. */
static netfix fix_new(int kind, tu_counter *t, bufs *b, bool history)
{
    netfix f = {mk_net(kind, t), NULL, NULL};
    f.opt = mk_opt(f.net, kind);
    size_t k = nn_net_n_out(f.net);
    bufs_init(b, k == 1 ? 2 : k);
    if (history)
        NN_OK_OR_FAIL(nn_net_gradient(f.net, NM, NN_ROW_MAJOR, b->X, NET_N_IN,
                                      b->T, k, NULL));
    bufs_init(b, k == 1 ? 2 : k);
    return f;
}

static void fix_free(netfix *f)
{
    nn_ctx_destroy(f->ctx);
    nn_optim_destroy(f->opt);
    nn_net_destroy(f->net);
}

START_TEST(net_batch_arg_table)
{
    for (int kind = 0; kind < K_COUNT; kind++) {
        tu_counter t = tally_new();
        bufs *b = bufs_new();
        netfix f = fix_new(kind, &t, b, true);
        size_t k = nn_net_n_out(f.net);
        /* inference without a context (temporary workspace), then with one */
        run_mat_table(&f, net_fns, N_NET_FNS, NET_N_IN, k, b, &t, fix_state);
        NN_OK_OR_FAIL(nn_ctx_create(&f.ctx, f.net, NM, NULL));
        run_mat_table(&f, net_fns, N_NET_FNS, NET_N_IN, k, b, &t, fix_state);
        /* NULL net */
        netfix nf = {NULL, f.opt, f.ctx};
        for (size_t i = 0; i < N_NET_FNS; i++) {
            call_args a = args_for(&net_fns[i], b, NET_N_IN, k, NM,
                                   NN_ROW_MAJOR);
            ck_assert_msg(net_fns[i].call(&nf, &a) == NN_ERR_INVALID,
                          "%s(NULL net)", net_fns[i].name);
        }
        net_like_fresh(f.net, kind, true);
        fix_free(&f);
        TU_ASSERT_BALANCED(&t);
        free(b);
    }
}
END_TEST

/* NULL loss pointer, NULL targets, NULL optimizer, on a net with and without
 * a preceding gradient. */
START_TEST(net_batch_null_args)
{
    for (int hist = 0; hist < 2; hist++) {
        tu_counter t = tally_new();
        bufs *b = bufs_new(), *saved = bufs_new();
        netfix f = fix_new(K_MSE, &t, b, hist);
        nn_net_t *net = f.net;
        size_t k = nn_net_n_out(net);
        long att = t.attempts;
        double s0[BUF];
        size_t ns = fix_state(&f, s0);
        memcpy(saved, b, sizeof *b);
        const double *X = b->X, *T = b->T;
        ck_assert_int_eq(nn_net_loss(net, NULL, NM, NN_ROW_MAJOR, X, NET_N_IN,
                                     T, k, NULL),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_loss_labels(net, NULL, NM, NN_ROW_MAJOR, X,
                                            NET_N_IN, b->labels, NULL),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_loss(net, NULL, NM, NN_ROW_MAJOR, X, NET_N_IN,
                                     NULL, k, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_loss_labels(net, NULL, NM, NN_ROW_MAJOR, X,
                                            NET_N_IN, NULL, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_gradient(net, NM, NN_ROW_MAJOR, X, NET_N_IN,
                                         NULL, k, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_gradient_labels(net, NM, NN_ROW_MAJOR, X,
                                                NET_N_IN, NULL, NULL),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_train_step(net, f.opt, NM, NN_ROW_MAJOR, X,
                                           NET_N_IN, NULL, k, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_train_step_labels(net, f.opt, NM, NN_ROW_MAJOR,
                                                  X, NET_N_IN, NULL, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_train_step(net, NULL, NM, NN_ROW_MAJOR, X,
                                           NET_N_IN, T, k, &b->loss),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_train_step_labels(net, NULL, NM, NN_ROW_MAJOR,
                                                  X, NET_N_IN, b->labels,
                                                  &b->loss),
                         NN_ERR_INVALID);
        ck_assert(memcmp(saved, b, sizeof *b) == 0);
        ck_assert_int_eq(t.attempts, att);
        double s1[BUF];
        ck_assert_uint_eq(fix_state(&f, s1), ns);
        ck_assert_msg(memcmp(s0, s1, ns * sizeof(double)) == 0,
                      "NULL arguments changed the net or optimizer");
        /* a failed gradient does not count as a computed gradient */
        ck_assert_int_eq(nn_net_has_grads(net), hist);
        if (!hist) ck_assert_int_eq(sgd_step(net, 0.1), NN_ERR_STATE);
        net_like_fresh(net, K_MSE, hist);
        fix_free(&f);
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
            bufs *b = bufs_new(), *saved = bufs_new();
            netfix f = fix_new(kind, &t, b, hist);
            nn_net_t *net = f.net;
            size_t k = nn_net_n_out(net);
            /* one output (sigmoid / BCE): labels are the values 0 and 1 */
            int32_t limit = k == 1 ? 2 : (int32_t)k;
            double s0[BUF], s1[BUF];
            size_t ns = fix_state(&f, s0);
            long att = t.attempts;
            const int32_t bad[] = {limit, limit + 1, INT32_MAX, -1, INT32_MIN};
            for (size_t i = 0; i < N_OF(bad); i++)
                for (size_t pos = 0; pos < NM; pos += NM - 1) {
                    bufs_init(b, (size_t)limit);
                    b->labels[pos] = bad[i];
                    memcpy(saved, b, sizeof *b);
                    ck_assert_int_eq(nn_net_loss_labels(net, NULL, NM,
                                                        NN_ROW_MAJOR, b->X,
                                                        NET_N_IN, b->labels,
                                                        &b->loss),
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
                    ck_assert_int_eq(nn_net_train_step_labels(net, f.opt, NM,
                                                              NN_ROW_MAJOR,
                                                              b->X, NET_N_IN,
                                                              b->labels,
                                                              &b->loss),
                                     NN_ERR_INVALID);
                    ck_assert(memcmp(saved, b, sizeof *b) == 0);
                }
            ck_assert_int_eq(t.attempts, att);
            ck_assert_uint_eq(fix_state(&f, s1), ns);
            ck_assert_msg(memcmp(s0, s1, ns * sizeof(double)) == 0,
                          "bad labels changed the net or optimizer");
            if (!hist) ck_assert_int_eq(sgd_step(net, 0.1), NN_ERR_STATE);
            /* control: the largest valid label is accepted */
            bufs_init(b, (size_t)limit);
            b->labels[NM - 1] = limit - 1;
            NN_OK_OR_FAIL(nn_net_loss_labels(net, NULL, NM, NN_ROW_MAJOR, b->X,
                                             NET_N_IN, b->labels, &b->loss));
            net_like_fresh(net, kind, hist);
            fix_free(&f);
            free(b);
            free(saved);
        }
    }
}
END_TEST

START_TEST(net_init_errors)
{
    tu_counter t = tally_new();
    bufs *b = bufs_new();
    netfix f = fix_new(K_SCE, &t, b, true);
    double s0[BUF];
    size_t ns = net_state(f.net, s0);
    long att = t.attempts;
    ck_assert_int_eq(nn_net_init(NULL, NN_INIT_DEFAULT, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(f.net, (nn_init)7, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(f.net, (nn_init)99, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_init(f.net, (nn_init)-1, 1), NN_ERR_INVALID);
    assert_net_state(f.net, s0, ns, "nn_net_init");
    ck_assert_int_eq(t.attempts, att);
    net_like_fresh(f.net, K_SCE, true); /* gradients not cleared either */
    fix_free(&f);
    free(b);
}
END_TEST

START_TEST(net_reserve_errors)
{
    tu_counter t = tally_new();
    bufs *b = bufs_new();
    netfix f = fix_new(K_MSE, &t, b, true);
    nn_net_t *net = f.net;
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
    net_like_fresh(net, K_MSE, true);
    fix_free(&f);
    TU_ASSERT_BALANCED(&t);
    free(b);
}
END_TEST

START_TEST(net_params_errors)
{
    tu_counter t = tally_new();
    bufs *b = bufs_new(), *saved = bufs_new();
    netfix f = fix_new(K_MSE, &t, b, true);
    nn_net_t *net = f.net;
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
    fix_free(&f);
    free(b);
    free(saved);
}
END_TEST

/* No gradient is current before any gradient call, after nn_net_init and
 * after an optimizer step: nn_net_get_grads refuses with NN_ERR_STATE. */
START_TEST(net_get_grads_state)
{
    bufs *b = bufs_new(), *saved = bufs_new();
    for (int when = 0; when < 3; when++) {
        netfix f = fix_new(K_SCE, NULL, b, when > 0);
        if (when == 1) NN_OK_OR_FAIL(nn_net_init(f.net, NN_INIT_DEFAULT, 3));
        if (when == 2) NN_OK_OR_FAIL(nn_optim_step(f.opt, f.net));
        ck_assert_int_eq(nn_net_has_grads(f.net), 0);
        double s0[BUF];
        size_t ns = net_state(f.net, s0);
        memcpy(saved, b, sizeof *b);
        ck_assert_int_eq(nn_net_get_grads(f.net, 0, NN_ROW_MAJOR, b->O, 5,
                                          b->O2),
                         NN_ERR_STATE);
        ck_assert_int_eq(nn_net_get_grads(f.net, 1, NN_COL_MAJOR, NULL, 5,
                                          b->O2),
                         NN_ERR_STATE);
        ck_assert_int_eq(nn_optim_step(f.opt, f.net), NN_ERR_STATE);
        ck_assert(memcmp(saved, b, sizeof *b) == 0);
        assert_net_state(f.net, s0, ns, "no current gradient");
        fix_free(&f);
    }
    free(b);
    free(saved);
}
END_TEST

/* A bad nn_order is an invalid argument even when W is NULL and only b is
 * copied (the contract: every call validates its arguments; bad enum ->
 * NN_ERR_INVALID, nothing written). */
START_TEST(params_bad_order_W_null)
{
    bufs *b = bufs_new(), *saved = bufs_new();
    netfix f = fix_new(K_MSE, NULL, b, true);
    nn_net_t *net = f.net;
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
    fix_free(&f);
    free(b);
    free(saved);
}
END_TEST

START_TEST(net_getters_null)
{
    nn_net_t *net = mk_net(K_MSE, NULL);
    const size_t bad[] = {2, 3, SIZE_MAX};
    for (size_t i = 0; i < N_OF(bad); i++) {
        ck_assert_uint_eq(nn_net_layer_n_in(net, bad[i]), 0);
        ck_assert_uint_eq(nn_net_layer_n_out(net, bad[i]), 0);
    }
    ck_assert_ptr_null(nn_net_params(NULL));
    ck_assert_ptr_null(nn_net_grads(NULL));
    ck_assert_int_eq(nn_net_has_grads(NULL), 0);
    ck_assert_uint_eq(nn_net_n_in(NULL), 0);
    ck_assert_uint_eq(nn_net_n_out(NULL), 0);
    ck_assert_uint_eq(nn_net_n_layers(NULL), 0);
    ck_assert_uint_eq(nn_net_n_params(NULL), 0);
    ck_assert_uint_eq(nn_net_layer_n_in(NULL, 0), 0);
    ck_assert_uint_eq(nn_net_layer_n_out(NULL, 0), 0);
    ck_assert_ptr_null(nn_net_get_scaler(NULL, NN_SCALER_INPUT));
    /* controls: the last layer is in range; 3-4-2 has 3*4+4 + 4*2+2 = 26
     * parameters */
    ck_assert_ptr_nonnull(nn_net_params(net));
    ck_assert_ptr_nonnull(nn_net_grads(net));
    ck_assert_uint_eq(nn_net_layer_n_out(net, 1), 2);
    ck_assert_uint_eq(nn_net_n_params(net), 26);
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    nn_net_destroy(net);
}
END_TEST

/* A failing predict must fail on its own arguments before it makes room for
 * the batch: no allocation, and the right status even when the batch would
 * not fit in memory (with and without a context). */
START_TEST(net_predict_checks_before_reserve)
{
    tu_counter t = tally_new();
    bufs *b = bufs_new(), *saved = bufs_new();
    netfix f = fix_new(K_MSE, &t, b, false);
    nn_net_t *net = f.net;
    size_t k = nn_net_n_out(net);
    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, NM, NULL));
    long att = t.attempts;
    memcpy(saved, b, sizeof *b);
    for (int c = 0; c < 2; c++) {
        nn_ctx_t *x = c ? ctx : NULL;
        /* m = INT_MAX is a valid size for X (ldx = n_in); Y is bad */
        ck_assert_int_eq(nn_net_predict(net, x, (size_t)INT_MAX, NN_ROW_MAJOR,
                                        b->X, NET_N_IN, NULL, k),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_predict(net, x, (size_t)INT_MAX, NN_ROW_MAJOR,
                                        b->X, NET_N_IN, b->O, SIZE_MAX),
                         NN_ERR_TOO_LARGE);
        ck_assert_int_eq(nn_net_predict(net, x, NM, NN_ROW_MAJOR, b->X,
                                        NET_N_IN, NULL, k),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_predict(net, x, NM, NN_ROW_MAJOR, b->X,
                                        NET_N_IN, b->O, k - 1),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_net_loss(net, x, (size_t)INT_MAX, NN_ROW_MAJOR,
                                     b->X, NET_N_IN, b->T, k, NULL),
                         NN_ERR_INVALID);
    }
    ck_assert_int_eq(t.attempts, att);
    ck_assert(memcmp(saved, b, sizeof *b) == 0);
    nn_ctx_destroy(ctx);
    net_like_fresh(net, K_MSE, false);
    fix_free(&f);
    free(b);
    free(saved);
}
END_TEST

/* ------------------------------------------------ network settings */
static nn_status net_set_i(void *o, int32_t k, int64_t v)
{
    return nn_net_set_int(o, k, v);
}
static nn_status net_get_i(void *o, int32_t k, int64_t *v)
{
    return nn_net_get_int(o, k, v);
}
static size_t net_state_v(void *o, double *buf) { return net_state(o, buf); }

static const keyed_ops net_ops = {net_set_i, NULL, net_get_i, NULL,
                                  net_state_v};

START_TEST(net_settings_errors)
{
    tu_counter t = tally_new();
    bufs *b = bufs_new();
    netfix f = fix_new(K_BCE, &t, b, true);
    nn_net_t *net = f.net;
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_SUM));
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_SEED, 1234));
    const set_case bad[] = {
        SET_I("loss is read-only", NN_NET_LOSS, NN_LOSS_BCE),
        SET_I("loss is read-only (MSE)", NN_NET_LOSS, NN_LOSS_MSE),
        SET_I("reduction 2", NN_NET_REDUCTION, 2),
        SET_I("reduction -1", NN_NET_REDUCTION, -1),
        SET_I("reduction 2^32", NN_NET_REDUCTION, (int64_t)1 << 32),
        SET_I("check-finite 2", NN_NET_CHECK_FINITE, 2),
        SET_I("check-finite -1", NN_NET_CHECK_FINITE, -1),
        SET_I("layer key", NN_LAYER_ACTIVATION, NN_ACT_TANH),
        SET_I("layer units", NN_LAYER_UNITS, 4),
        SET_I("optimizer key", NN_OPTIM_DECOUPLED, 1),
        SET_I("trainer key", NN_TRAIN_EPOCHS, 3),
    };
    check_bad_sets(net, &net_ops, bad, N_OF(bad), &t, "nn_net_set_int");
    double s0[BUF];
    size_t ns = net_state(net, s0);
    for (size_t i = 0; i < N_OF(alien_keys); i++) {
        ck_assert_int_eq(nn_net_set_int(net, alien_keys[i], 0), NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_set_int(NULL, alien_keys[i], 0),
                         NN_ERR_INVALID);
    }
    const int32_t bad_get[] = {NN_LAYER_KIND, NN_OPTIM_LR, NN_TRAIN_SEED,
                               NN_METRIC_LOSS, 0, 106, NN_KEY_EXPERIMENTAL};
    check_bad_gets(net, &net_ops, alien_keys, N_OF(alien_keys), NULL, 0,
                   "nn_net_get_int");
    check_bad_gets(net, &net_ops, bad_get, N_OF(bad_get), NULL, 0,
                   "nn_net_get_int");
    int64_t v = SENT_I64;
    ck_assert_int_eq(nn_net_get_int(NULL, NN_NET_LOSS, &v), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_get_int(net, NN_NET_LOSS, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_set_int(NULL, NN_NET_REDUCTION, 0), NN_ERR_INVALID);
    ck_assert(v == SENT_I64);
    assert_net_state(net, s0, ns, "nn_net_get_int");
    /* controls: what was set reads back */
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_LOSS, &v));
    ck_assert_int_eq(v, NN_LOSS_BCE);
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_REDUCTION, &v));
    ck_assert_int_eq(v, NN_REDUCE_SUM);
    NN_OK_OR_FAIL(nn_net_get_int(net, NN_NET_DROPOUT_SEED, &v));
    ck_assert_int_eq(v, 1234);
    fix_free(&f);
    free(b);
}
END_TEST

START_TEST(net_layer_settings_errors)
{
    nn_net_t *net = mk_net(K_BCE, NULL);
    double s0[BUF];
    size_t ns = net_state(net, s0);
    const int32_t real_keys[] = {NN_LAYER_ACT_PARAM, NN_LAYER_DROPOUT};
    const int32_t int_keys[] = {NN_LAYER_KIND, NN_LAYER_UNITS,
                                NN_LAYER_ACTIVATION};
    const size_t bad_layer[] = {2, 3, SIZE_MAX, NN_NET_WIDE};
    for (size_t i = 0; i < N_OF(bad_layer); i++) {
        for (size_t k = 0; k < N_OF(int_keys); k++) {
            int64_t v = SENT_I64;
            ck_assert_int_eq(nn_net_get_layer_int(net, bad_layer[i],
                                                  int_keys[k], &v),
                             NN_ERR_INVALID);
            ck_assert(v == SENT_I64);
        }
        for (size_t k = 0; k < N_OF(real_keys); k++) {
            double v = SENT_D;
            ck_assert_int_eq(nn_net_get_layer_real(net, bad_layer[i],
                                                   real_keys[k], &v),
                             NN_ERR_INVALID);
            ck_assert(v == SENT_D);
        }
    }
    for (size_t l = 0; l < 2; l++) {
        /* the other type, NULL outputs, NULL net */
        for (size_t k = 0; k < N_OF(real_keys); k++) {
            int64_t v = SENT_I64;
            ck_assert_int_eq(nn_net_get_layer_int(net, l, real_keys[k], &v),
                             NN_ERR_INVALID);
            ck_assert(v == SENT_I64);
            ck_assert_int_eq(nn_net_get_layer_real(net, l, real_keys[k], NULL),
                             NN_ERR_INVALID);
            double r = SENT_D;
            ck_assert_int_eq(nn_net_get_layer_real(NULL, l, real_keys[k], &r),
                             NN_ERR_INVALID);
            ck_assert(r == SENT_D);
        }
        for (size_t k = 0; k < N_OF(int_keys); k++) {
            double v = SENT_D;
            ck_assert_int_eq(nn_net_get_layer_real(net, l, int_keys[k], &v),
                             NN_ERR_INVALID);
            ck_assert(v == SENT_D);
            ck_assert_int_eq(nn_net_get_layer_int(net, l, int_keys[k], NULL),
                             NN_ERR_INVALID);
            int64_t iv = SENT_I64;
            ck_assert_int_eq(nn_net_get_layer_int(NULL, l, int_keys[k], &iv),
                             NN_ERR_INVALID);
            ck_assert(iv == SENT_I64);
        }
        /* network keys and unknown keys at a layer */
        const int32_t alien[] = {NN_NET_LOSS, NN_NET_REDUCTION, NN_OPTIM_LR,
                                 0, 205, NN_KEY_EXPERIMENTAL};
        for (size_t k = 0; k < N_OF(alien); k++) {
            int64_t iv = SENT_I64;
            double r = SENT_D;
            ck_assert_int_eq(nn_net_get_layer_int(net, l, alien[k], &iv),
                             NN_ERR_INVALID);
            ck_assert_int_eq(nn_net_get_layer_real(net, l, alien[k], &r),
                             NN_ERR_INVALID);
            ck_assert(iv == SENT_I64 && r == SENT_D);
        }
    }
    assert_net_state(net, s0, ns, "nn_net_get_layer_*");
    /* controls: the spec of K_BCE (leaky 4 with slope 0.1, sigmoid 1) */
    int64_t v = 0;
    double r = 0;
    NN_OK_OR_FAIL(nn_net_get_layer_int(net, 0, NN_LAYER_UNITS, &v));
    ck_assert_int_eq(v, 4);
    NN_OK_OR_FAIL(nn_net_get_layer_int(net, 0, NN_LAYER_KIND, &v));
    ck_assert_int_eq(v, NN_LAYER_DENSE);
    NN_OK_OR_FAIL(nn_net_get_layer_int(net, 1, NN_LAYER_ACTIVATION, &v));
    ck_assert_int_eq(v, NN_ACT_SIGMOID);
    NN_OK_OR_FAIL(nn_net_get_layer_real(net, 0, NN_LAYER_ACT_PARAM, &r));
    ck_assert(r == 0.1);
    NN_OK_OR_FAIL(nn_net_get_layer_real(net, 1, NN_LAYER_DROPOUT, &r));
    ck_assert(r == 0.0);
    nn_net_destroy(net);
}
END_TEST

START_TEST(net_clone_errors)
{
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t), bad_a = al, bad_f = al;
    bad_a.alloc = NULL;
    bad_f.free = NULL;
    bufs *b = bufs_new();
    netfix f = fix_new(K_SCE, NULL, b, true);
    double s0[BUF];
    size_t ns = net_state(f.net, s0);
    nn_net_t *sent = (nn_net_t *)&t, *out = sent;
    ck_assert_int_eq(nn_net_clone(NULL, f.net, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_clone(&out, NULL, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_clone(&out, f.net, &bad_a), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_clone(&out, f.net, &bad_f), NN_ERR_INVALID);
    ck_assert_ptr_eq(out, sent);
    ck_assert_int_eq(t.attempts, 0);
    /* refused by the allocator: NOMEM, nothing returned, nothing leaked */
    tu_counter none = {.fail_at = 1, .fail_rest = true};
    nn_allocator an = tu_allocator(&none);
    ck_assert_int_eq(nn_net_clone(&out, f.net, &an), NN_ERR_NOMEM);
    ck_assert_ptr_eq(out, sent);
    ck_assert_int_eq(none.allocs, 0);
    assert_net_state(f.net, s0, ns, "nn_net_clone");
    /* control: the clone has the same state, through our allocator */
    NN_OK_OR_FAIL(nn_net_clone(&out, f.net, &al));
    assert_net_state(out, s0, ns, "the clone");
    nn_net_destroy(out);
    TU_ASSERT_BALANCED(&t);
    net_like_fresh(f.net, K_SCE, true);
    fix_free(&f);
    free(b);
}
END_TEST

/* ------------------------------------------------ the gradient seam */
START_TEST(seam_errors)
{
    bufs *b = bufs_new();
    for (int hist = 0; hist < 2; hist++) {
        netfix f = fix_new(K_MSE, NULL, b, hist);
        nn_net_t *net = f.net;
        size_t P = nn_net_n_params(net);
        double s0[BUF];
        size_t ns = net_state(net, s0);
        /* nn_net_set_grads: NULL net / array, any other length */
        ck_assert_int_eq(nn_net_set_grads(NULL, b->D, P), NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_set_grads(net, NULL, P), NN_ERR_INVALID);
        const size_t bad_len[] = {P - 1, P + 1, 1, 2 * P, SIZE_MAX};
        for (size_t i = 0; i < N_OF(bad_len); i++)
            ck_assert_int_eq(nn_net_set_grads(net, b->D, bad_len[i]),
                             NN_ERR_SHAPE);
        assert_net_state(net, s0, ns, "nn_net_set_grads");
        ck_assert_int_eq(nn_net_has_grads(net), hist);
        /* nn_net_layer_offset: NULL net, layer out of range */
        size_t wo = SIZE_MAX - 7, bo = SIZE_MAX - 7;
        ck_assert_int_eq(nn_net_layer_offset(NULL, 0, &wo, &bo),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_layer_offset(net, 2, &wo, &bo), NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_layer_offset(net, SIZE_MAX, &wo, &bo),
                         NN_ERR_INVALID);
        ck_assert_uint_eq(wo, SIZE_MAX - 7);
        ck_assert_uint_eq(bo, SIZE_MAX - 7);
        /* controls: 3-4-2: layer 1's W after 3*4+4 = 16 values, b after 8 more;
         * set_grads with the right length makes a gradient current */
        NN_OK_OR_FAIL(nn_net_layer_offset(net, 1, &wo, &bo));
        ck_assert_uint_eq(wo, 16);
        ck_assert_uint_eq(bo, 24);
        NN_OK_OR_FAIL(nn_net_set_grads(net, b->D, P));
        ck_assert_int_eq(nn_net_has_grads(net), 1);
        ck_assert(memcmp(nn_net_grads(net), b->D, P * sizeof(double)) == 0);
        fix_free(&f);
    }
    free(b);
}
END_TEST

/* ------------------------------------------------ contexts */
START_TEST(ctx_errors)
{
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t), bad_a = al, bad_f = al;
    bad_a.alloc = NULL;
    bad_f.free = NULL;
    nn_net_t *net = mk_net(K_SCE, NULL);
    double s0[BUF];
    size_t ns = net_state(net, s0);
    /* nn_ctx_size */
    size_t bytes = 12345;
    ck_assert_int_eq(nn_ctx_size(NULL, 4, &bytes), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_size(net, 0, &bytes), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_size(net, 4, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_size(net, BIG_INT, &bytes), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_ctx_size(net, SIZE_MAX / 2, &bytes), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_ctx_size(net, SIZE_MAX, &bytes), NN_ERR_TOO_LARGE);
    ck_assert_uint_eq(bytes, 12345);
    /* nn_ctx_create */
    nn_ctx_t *sent = (nn_ctx_t *)&t, *ctx = sent;
    ck_assert_int_eq(nn_ctx_create(NULL, net, 4, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create(&ctx, NULL, 4, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create(&ctx, net, 0, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create(&ctx, net, 4, &bad_a), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create(&ctx, net, 4, &bad_f), NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create(&ctx, net, BIG_INT, &al), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_ctx_create(&ctx, net, SIZE_MAX, &al), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(t.attempts, 0);
    /* fits every check; the allocator refuses it */
    ck_assert_int_eq(nn_ctx_create(&ctx, net, (size_t)INT_MAX, &al),
                     NN_ERR_NOMEM);
    ck_assert_int_ge(t.refused, 1);
    ck_assert_ptr_eq(ctx, sent);
    TU_ASSERT_BALANCED(&t);
    /* nn_ctx_create_in: NULL, misaligned, memory too small */
    NN_OK_OR_FAIL(nn_ctx_size(net, 4, &bytes));
    ck_assert_uint_gt(bytes, 0);
    size_t cap = bytes + 2 * sizeof(double);
    double *mem = tu_dalloc(cap / sizeof(double) + 1);
    unsigned char *saved = malloc(cap);
    ck_assert_ptr_nonnull(saved);
    memset(mem, SENT, cap);
    memcpy(saved, mem, cap);
    ck_assert_int_eq(nn_ctx_create_in(NULL, net, 4, mem, bytes),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, NULL, 4, mem, bytes),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 0, mem, bytes),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 4, NULL, bytes),
                     NN_ERR_INVALID);
    /* too little memory is a size mismatch, as for nn_model_save_mem */
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 4, mem, bytes - 1),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 4, mem, 0), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 4, (char *)mem + 1, bytes),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 4, (char *)mem + 4, bytes),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 5, mem, bytes),
                     NN_ERR_SHAPE); /* 5 rows need more than 4 */
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, BIG_INT, mem, cap),
                     NN_ERR_TOO_LARGE);
    ck_assert_ptr_eq(ctx, sent);
    ck_assert(memcmp(saved, mem, cap) == 0);
    ck_assert_uint_eq(nn_ctx_capacity(NULL), 0);
    nn_ctx_destroy(NULL);
    /* controls: exactly the size asked for works; destroy releases nothing */
    NN_OK_OR_FAIL(nn_ctx_create_in(&ctx, net, 4, mem, bytes));
    ck_assert_uint_eq(nn_ctx_capacity(ctx), 4);
    nn_ctx_destroy(ctx);
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, 3, &al));
    ck_assert_uint_eq(nn_ctx_capacity(ctx), 3);
    nn_ctx_destroy(ctx);
    TU_ASSERT_BALANCED(&t);
    assert_net_state(net, s0, ns, "nn_ctx_*");
    free(saved);
    free(mem);
    nn_net_destroy(net);
}
END_TEST

/* A context serves networks of its own shape only: every inference call
 * with a context of another shape gives NN_ERR_SHAPE and writes nothing. */
START_TEST(ctx_shape_mismatch)
{
    bufs *b = bufs_new(), *saved = bufs_new();
    nn_net_t *net = mk_net(K_SCE, NULL), *other = mk_net(K_MSE, NULL);
    nn_net_t *wide = NULL;
    nn_netspec_t *s = mk_spec(K_SCE);
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 3, NN_ACT_SOFTMAX)); /* 3-5-3-3 */
    NN_OK_OR_FAIL(nn_net_create(&wide, s, NULL));
    nn_netspec_destroy(s);
    nn_ctx_t *c_other = NULL, *c_wide = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&c_other, other, NM, NULL));
    NN_OK_OR_FAIL(nn_ctx_create(&c_wide, wide, NM, NULL));
    nn_data_t *d = NULL;
    bufs_init(b, 3);
    d = tu_data(b->X, NM, NET_N_IN, b->labels, NULL);
    double s0[BUF];
    size_t ns = net_state(net, s0);
    const int32_t metrics[] = {NN_METRIC_LOSS};
    size_t counts[9];
    memset(counts, SENT, sizeof counts);
    size_t counts0[9];
    memcpy(counts0, counts, sizeof counts);
    nn_ctx_t *bad[] = {c_other, c_wide};
    for (size_t i = 0; i < 2; i++) {
        memcpy(saved, b, sizeof *b);
        ck_assert_int_eq(nn_net_predict(net, bad[i], NM, NN_ROW_MAJOR, b->X,
                                        NET_N_IN, b->O, 3),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_net_loss(net, bad[i], NM, NN_ROW_MAJOR, b->X,
                                     NET_N_IN, b->T, 3, &b->loss),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_net_loss_labels(net, bad[i], NM, NN_ROW_MAJOR,
                                            b->X, NET_N_IN, b->labels,
                                            &b->loss),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_net_evaluate(net, bad[i], d, 1, metrics, b->O2),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_net_confusion(net, bad[i], d, counts),
                         NN_ERR_SHAPE);
        ck_assert(memcmp(saved, b, sizeof *b) == 0);
        ck_assert(memcmp(counts, counts0, sizeof counts) == 0);
    }
    assert_net_state(net, s0, ns, "context of another shape");
    /* control: a context made for a clone serves the original */
    nn_net_t *twin = NULL;
    nn_ctx_t *c_twin = NULL;
    NN_OK_OR_FAIL(nn_net_clone(&twin, net, NULL));
    NN_OK_OR_FAIL(nn_ctx_create(&c_twin, twin, 1, NULL));
    NN_OK_OR_FAIL(nn_net_predict(net, c_twin, NM, NN_ROW_MAJOR, b->X, NET_N_IN,
                                 b->O, 3));
    nn_ctx_destroy(c_twin);
    nn_net_destroy(twin);
    nn_data_destroy(d);
    nn_ctx_destroy(c_other);
    nn_ctx_destroy(c_wide);
    nn_net_destroy(wide);
    nn_net_destroy(other);
    nn_net_destroy(net);
    free(b);
    free(saved);
}
END_TEST

/* ================================================================ optimizers */
static nn_status opt_set_i(void *o, int32_t k, int64_t v)
{
    return nn_optim_set_int(o, k, v);
}
static nn_status opt_set_r(void *o, int32_t k, double v)
{
    return nn_optim_set_real(o, k, v);
}
static nn_status opt_get_i(void *o, int32_t k, int64_t *v)
{
    return nn_optim_get_int(o, k, v);
}
static nn_status opt_get_r(void *o, int32_t k, double *v)
{
    return nn_optim_get_real(o, k, v);
}
static size_t opt_state_v(void *o, double *buf) { return opt_state(o, buf); }

static const keyed_ops opt_ops = {opt_set_i, opt_set_r, opt_get_i, opt_get_r,
                                  opt_state_v};

START_TEST(optim_create_errors)
{
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t), bad_a = al, bad_f = al;
    bad_a.alloc = NULL;
    bad_f.free = NULL;
    nn_net_t *net = mk_net(K_MSE, NULL);
    nn_optim_t *sent = (nn_optim_t *)&t, *o = sent;
    ck_assert_int_eq(nn_optim_create(NULL, net, NN_OPTIM_SGD, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_create(&o, NULL, NN_OPTIM_SGD, &al),
                     NN_ERR_INVALID);
    const nn_optim_kind bad_kind[] = {4, -1, 99, INT32_MAX};
    for (size_t i = 0; i < N_OF(bad_kind); i++)
        ck_assert_int_eq(nn_optim_create(&o, net, bad_kind[i], &al),
                         NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_create(&o, net, NN_OPTIM_ADAM, &bad_a),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_optim_create(&o, net, NN_OPTIM_ADAM, &bad_f),
                     NN_ERR_INVALID);
    ck_assert_int_eq(t.attempts, 0);
    for (int kind = NN_OPTIM_SGD; kind <= NN_OPTIM_ADAM; kind++) {
        tu_counter none = {.fail_at = 1, .fail_rest = true};
        nn_allocator an = tu_allocator(&none);
        ck_assert_int_eq(nn_optim_create(&o, net, kind, &an), NN_ERR_NOMEM);
        ck_assert_int_eq(none.allocs, 0);
    }
    ck_assert_ptr_eq(o, sent);
    ck_assert_uint_eq(nn_optim_state_len(NULL), 0);
    nn_net_destroy(net);
}
END_TEST

START_TEST(optim_settings_errors)
{
    nn_net_t *net = mk_net(K_SCE, NULL);
    for (int kind = NN_OPTIM_SGD; kind <= NN_OPTIM_ADAM; kind++) {
        nn_optim_t *o = NULL;
        NN_OK_OR_FAIL(nn_optim_create(&o, net, kind, NULL));
        /* controls: the documented defaults */
        double r = 0;
        int64_t v = -1;
        NN_OK_OR_FAIL(nn_optim_get_real(o, NN_OPTIM_LR, &r));
        ck_assert(r == (kind == NN_OPTIM_ADAM ? 0.001 : 0.01));
        NN_OK_OR_FAIL(nn_optim_get_real(o, NN_OPTIM_BETA2, &r));
        ck_assert(r == 0.999);
        NN_OK_OR_FAIL(nn_optim_get_real(o, NN_OPTIM_EPS, &r));
        ck_assert(r == 1e-8);
        NN_OK_OR_FAIL(nn_optim_get_int(o, NN_OPTIM_KIND, &v));
        ck_assert_int_eq(v, kind);
        NN_OK_OR_FAIL(nn_optim_get_int(o, NN_OPTIM_STEPS, &v));
        ck_assert_int_eq(v, 0);
        /* every setting off its default, so a reset is seen */
        NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, 0.05));
        NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_MOMENTUM_COEF, 0.0));
        NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_BETA1, 0.5));
        NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_WEIGHT_DECAY, 0.0));
        NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_CLIP_NORM, 2.0));
        NN_OK_OR_FAIL(nn_optim_set_int(o, NN_OPTIM_DECOUPLED, 1));
        const set_case bad[] = {
            SET_R("lr 0", NN_OPTIM_LR, 0.0),
            SET_R("lr -1", NN_OPTIM_LR, -1.0),
            SET_R("lr NaN", NN_OPTIM_LR, NAN),
            SET_R("lr inf", NN_OPTIM_LR, INFINITY),
            SET_R("momentum 1", NN_OPTIM_MOMENTUM_COEF, 1.0),
            SET_R("momentum -0.1", NN_OPTIM_MOMENTUM_COEF, -0.1),
            SET_R("momentum NaN", NN_OPTIM_MOMENTUM_COEF, NAN),
            SET_R("beta1 1", NN_OPTIM_BETA1, 1.0),
            SET_R("beta1 -0.01", NN_OPTIM_BETA1, -0.01),
            SET_R("beta2 1", NN_OPTIM_BETA2, 1.0),
            SET_R("beta2 inf", NN_OPTIM_BETA2, INFINITY),
            SET_R("eps 0", NN_OPTIM_EPS, 0.0),
            SET_R("eps -1e-8", NN_OPTIM_EPS, -1e-8),
            SET_R("eps inf", NN_OPTIM_EPS, INFINITY),
            SET_R("eps NaN", NN_OPTIM_EPS, NAN),
            SET_R("decay -0.1", NN_OPTIM_WEIGHT_DECAY, -0.1),
            SET_R("decay inf", NN_OPTIM_WEIGHT_DECAY, INFINITY),
            SET_R("decay NaN", NN_OPTIM_WEIGHT_DECAY, NAN),
            SET_R("clip -1", NN_OPTIM_CLIP_NORM, -1.0),
            SET_R("clip NaN", NN_OPTIM_CLIP_NORM, NAN),
            SET_R("clip inf", NN_OPTIM_CLIP_NORM, INFINITY),
            SET_I("decoupled 2", NN_OPTIM_DECOUPLED, 2),
            SET_I("decoupled -1", NN_OPTIM_DECOUPLED, -1),
            /* read-only */
            SET_I("kind is read-only", NN_OPTIM_KIND, NN_OPTIM_SGD),
            SET_I("steps are read-only", NN_OPTIM_STEPS, 0),
            SET_I("steps are read-only (5)", NN_OPTIM_STEPS, 5),
            /* wrong type */
            SET_I("lr as int", NN_OPTIM_LR, 1),
            SET_I("eps as int", NN_OPTIM_EPS, 1),
            SET_R("decoupled as real", NN_OPTIM_DECOUPLED, 1.0),
            SET_R("kind as real", NN_OPTIM_KIND, 0.0),
            SET_R("steps as real", NN_OPTIM_STEPS, 0.0),
            /* keys of other objects */
            SET_I("net key", NN_NET_REDUCTION, 0),
            SET_R("layer key", NN_LAYER_DROPOUT, 0.1),
            SET_R("trainer key", NN_TRAIN_GAMMA, 0.5),
            SET_I("trainer int key", NN_TRAIN_EPOCHS, 3),
            SET_I("key 310", 310, 0),
            SET_R("key 310 (real)", 310, 0.5),
            SET_R("experimental key", NN_KEY_EXPERIMENTAL, 0.5),
        };
        check_bad_sets(o, &opt_ops, bad, N_OF(bad), NULL, "nn_optim_set_*");
        double s0[BUF];
        size_t ns = opt_state(o, s0);
        for (size_t i = 0; i < N_OF(alien_keys); i++) {
            ck_assert_int_eq(nn_optim_set_int(o, alien_keys[i], 1),
                             NN_ERR_INVALID);
            ck_assert_int_eq(nn_optim_set_real(o, alien_keys[i], 0.5),
                             NN_ERR_INVALID);
            ck_assert_int_eq(nn_optim_set_real(NULL, alien_keys[i], 0.5),
                             NN_ERR_INVALID);
        }
        check_bad_gets(o, &opt_ops, opt_real_keys, N_OF(opt_real_keys),
                       opt_int_keys, N_OF(opt_int_keys), "wrong type");
        check_bad_gets(o, &opt_ops, alien_keys, N_OF(alien_keys), alien_keys,
                       N_OF(alien_keys), "unknown key");
        r = SENT_D;
        v = SENT_I64;
        ck_assert_int_eq(nn_optim_get_real(NULL, NN_OPTIM_LR, &r),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_get_int(NULL, NN_OPTIM_KIND, &v),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_get_real(o, NN_OPTIM_LR, NULL),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_get_int(o, NN_OPTIM_KIND, NULL),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_set_real(NULL, NN_OPTIM_LR, 0.1),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_set_int(NULL, NN_OPTIM_DECOUPLED, 0),
                         NN_ERR_INVALID);
        ck_assert(r == SENT_D && v == SENT_I64);
        double s1[BUF];
        ck_assert_uint_eq(opt_state(o, s1), ns);
        ck_assert(memcmp(s0, s1, ns * sizeof(double)) == 0);
        /* controls: what was set reads back */
        NN_OK_OR_FAIL(nn_optim_get_real(o, NN_OPTIM_LR, &r));
        ck_assert(r == 0.05);
        NN_OK_OR_FAIL(nn_optim_get_int(o, NN_OPTIM_DECOUPLED, &v));
        ck_assert_int_eq(v, 1);
        nn_optim_destroy(o);
    }
    nn_net_destroy(net);
}
END_TEST

/* nn_optim_step and the one-call step: NULL arguments, no gradient, an
 * optimizer made for another shape, non-finite gradients with check-finite
 * on. The net and the optimizer stay as they were. */
START_TEST(optim_step_errors)
{
    bufs *b = bufs_new(), *saved = bufs_new();
    for (int kind = 0; kind < K_COUNT; kind++) {
        netfix f = fix_new(kind, NULL, b, true);
        nn_net_t *other = mk_net(kind == K_MSE ? K_SCE : K_MSE, NULL);
        nn_optim_t *o_other = mk_opt(other, kind);
        size_t k = nn_net_n_out(f.net), P = nn_net_n_params(f.net);
        double s0[BUF], s1[BUF];
        size_t ns = fix_state(&f, s0);
        ck_assert_int_eq(nn_optim_step(NULL, f.net), NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_step(f.opt, NULL), NN_ERR_INVALID);
        ck_assert_int_eq(nn_optim_step(o_other, f.net), NN_ERR_SHAPE);
        memcpy(saved, b, sizeof *b);
        ck_assert_int_eq(nn_net_train_step(f.net, o_other, NM, NN_ROW_MAJOR,
                                           b->X, NET_N_IN, b->T, k, &b->loss),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_net_train_step_labels(f.net, o_other, NM,
                                                  NN_ROW_MAJOR, b->X, NET_N_IN,
                                                  b->labels, &b->loss),
                         NN_ERR_SHAPE);
        ck_assert(memcmp(saved, b, sizeof *b) == 0);
        ck_assert_uint_eq(fix_state(&f, s1), ns);
        ck_assert_msg(memcmp(s0, s1, ns * sizeof(double)) == 0,
                      "kind %d: a refused step changed something", kind);
        /* check-finite on, a NaN gradient: NUMERIC and nothing changed */
        NN_OK_OR_FAIL(nn_net_set_int(f.net, NN_NET_CHECK_FINITE, 1));
        nn_net_grads(f.net)[P / 2] = NAN;
        ns = fix_state(&f, s0);
        ck_assert_int_eq(nn_optim_step(f.opt, f.net), NN_ERR_NUMERIC);
        ck_assert_uint_eq(fix_state(&f, s1), ns);
        ck_assert_msg(memcmp(s0, s1, ns * sizeof(double)) == 0,
                      "kind %d: a NaN step changed something", kind);
        /* the one-call step on a NaN input: NUMERIC, no loss written, the
         * parameters and the optimizer untouched, no gradient current */
        b->X[1] = NAN;
        memcpy(saved, b, sizeof *b);
        ck_assert_int_eq(nn_net_train_step(f.net, f.opt, NM, NN_ROW_MAJOR,
                                           b->X, NET_N_IN, b->T, k, &b->loss),
                         NN_ERR_NUMERIC);
        ck_assert(memcmp(saved, b, sizeof *b) == 0);
        ck_assert_uint_eq(fix_state(&f, s1), ns);
        ck_assert(memcmp(s0, s1, P * sizeof(double)) == 0);
        size_t no = net_state(f.net, s1); /* optimizer part after the net's */
        ck_assert(memcmp(s0 + no, s1 + no, (ns - no) * sizeof(double)) == 0);
        ck_assert_int_eq(nn_net_has_grads(f.net), 0);
        nn_optim_destroy(o_other);
        nn_net_destroy(other);
        fix_free(&f);
    }
    free(b);
    free(saved);
}
END_TEST

/* ================================================================ trainer */
static const int32_t tr_int_keys[] = {
    NN_TRAIN_EPOCHS,       NN_TRAIN_BATCH_SIZE,   NN_TRAIN_SHUFFLE,
    NN_TRAIN_SEED,         NN_TRAIN_PATIENCE,     NN_TRAIN_RESTORE_BEST,
    NN_TRAIN_SCHEDULE,     NN_TRAIN_STEP_EPOCHS,  NN_TRAIN_WARMUP_STEPS,
    NN_TRAIN_REPORT_EVERY, NN_TRAIN_EPOCHS_RUN,   NN_TRAIN_BEST_EPOCH,
    NN_TRAIN_STOPPED_EARLY, NN_TRAIN_STEPS_RUN};
static const int32_t tr_real_keys[] = {
    NN_TRAIN_VAL_FRACTION, NN_TRAIN_GAMMA,      NN_TRAIN_LR_MIN,
    NN_TRAIN_BEST_VAL_LOSS, NN_TRAIN_FINAL_LOSS, NN_TRAIN_SECONDS};

static size_t trainer_state(const nn_trainer_t *tr, double *buf)
{
    size_t off = 0;
    for (size_t i = 0; i < N_OF(tr_int_keys); i++) {
        int64_t v = SENT_I64;
        NN_OK_OR_FAIL(nn_trainer_get_int(tr, tr_int_keys[i], &v));
        memcpy(buf + off++, &v, sizeof v);
    }
    for (size_t i = 0; i < N_OF(tr_real_keys); i++)
        NN_OK_OR_FAIL(nn_trainer_get_real(tr, tr_real_keys[i], buf + off++));
    return off;
}

static nn_status tr_set_i(void *o, int32_t k, int64_t v)
{
    return nn_trainer_set_int(o, k, v);
}
static nn_status tr_set_r(void *o, int32_t k, double v)
{
    return nn_trainer_set_real(o, k, v);
}
static nn_status tr_get_i(void *o, int32_t k, int64_t *v)
{
    return nn_trainer_get_int(o, k, v);
}
static nn_status tr_get_r(void *o, int32_t k, double *v)
{
    return nn_trainer_get_real(o, k, v);
}
static size_t tr_state_v(void *o, double *buf) { return trainer_state(o, buf); }

static const keyed_ops tr_ops = {tr_set_i, tr_set_r, tr_get_i, tr_get_r,
                                 tr_state_v};

static int32_t report_stop(const nn_report *r, void *ctx)
{
    (void)r;
    (void)ctx;
    return 0;
}
static nn_status hook_fail(double *g, size_t len, size_t m, double *loss,
                           void *ctx)
{
    (void)g;
    (void)len;
    (void)m;
    (void)loss;
    ++*(int *)ctx;
    return NN_ERR_IO;
}

START_TEST(trainer_create_errors)
{
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t), bad_a = al, bad_f = al;
    bad_a.alloc = NULL;
    bad_f.free = NULL;
    nn_trainer_t *sent = (nn_trainer_t *)&t, *tr = sent;
    ck_assert_int_eq(nn_trainer_create(NULL, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_create(&tr, &bad_a), NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_create(&tr, &bad_f), NN_ERR_INVALID);
    ck_assert_ptr_eq(tr, sent);
    ck_assert_int_eq(t.attempts, 0);
    /* controls: the documented defaults, no results before a run */
    NN_OK_OR_FAIL(nn_trainer_create(&tr, &al));
    const struct { int32_t key; int64_t v; } di[] = {
        {NN_TRAIN_EPOCHS, 10},     {NN_TRAIN_BATCH_SIZE, 64},
        {NN_TRAIN_SHUFFLE, 1},     {NN_TRAIN_SEED, 0},
        {NN_TRAIN_PATIENCE, 0},    {NN_TRAIN_RESTORE_BEST, 1},
        {NN_TRAIN_SCHEDULE, NN_SCHED_CONSTANT},
        {NN_TRAIN_STEP_EPOCHS, 10}, {NN_TRAIN_WARMUP_STEPS, 0},
        {NN_TRAIN_REPORT_EVERY, 0}, {NN_TRAIN_EPOCHS_RUN, 0},
        {NN_TRAIN_BEST_EPOCH, 0},  {NN_TRAIN_STOPPED_EARLY, 0},
        {NN_TRAIN_STEPS_RUN, 0}};
    for (size_t i = 0; i < N_OF(di); i++) {
        int64_t v = SENT_I64;
        NN_OK_OR_FAIL(nn_trainer_get_int(tr, di[i].key, &v));
        ck_assert_msg(v == di[i].v, "key %d: %lld", (int)di[i].key,
                      (long long)v);
    }
    double r = SENT_D;
    NN_OK_OR_FAIL(nn_trainer_get_real(tr, NN_TRAIN_GAMMA, &r));
    ck_assert(r == 0.1);
    NN_OK_OR_FAIL(nn_trainer_get_real(tr, NN_TRAIN_VAL_FRACTION, &r));
    ck_assert(r == 0.0);
    NN_OK_OR_FAIL(nn_trainer_get_real(tr, NN_TRAIN_BEST_VAL_LOSS, &r));
    ck_assert(isnan(r));
    nn_trainer_destroy(tr);
    nn_trainer_destroy(NULL);
    TU_ASSERT_BALANCED(&t);
}
END_TEST

START_TEST(trainer_settings_errors)
{
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t);
    nn_trainer_t *tr = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&tr, &al));
    /* every setting off its default */
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_EPOCHS, 3));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_BATCH_SIZE, 5));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_SHUFFLE, 0));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_SEED, -9));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_PATIENCE, 2));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_RESTORE_BEST, 0));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_SCHEDULE, NN_SCHED_STEP));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_STEP_EPOCHS, 2));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_WARMUP_STEPS, 3));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_REPORT_EVERY, 1));
    NN_OK_OR_FAIL(nn_trainer_set_real(tr, NN_TRAIN_VAL_FRACTION, 0.25));
    NN_OK_OR_FAIL(nn_trainer_set_real(tr, NN_TRAIN_GAMMA, 1.0));
    NN_OK_OR_FAIL(nn_trainer_set_real(tr, NN_TRAIN_LR_MIN, 1e-4));
    const set_case bad[] = {
        SET_I("epochs 0", NN_TRAIN_EPOCHS, 0),
        SET_I("epochs -1", NN_TRAIN_EPOCHS, -1),
        SET_I("batch 0", NN_TRAIN_BATCH_SIZE, 0),
        SET_I("batch -5", NN_TRAIN_BATCH_SIZE, -5),
        SET_I("shuffle 2", NN_TRAIN_SHUFFLE, 2),
        SET_I("shuffle -1", NN_TRAIN_SHUFFLE, -1),
        SET_I("patience -1", NN_TRAIN_PATIENCE, -1),
        SET_I("restore-best 2", NN_TRAIN_RESTORE_BEST, 2),
        SET_I("schedule 3", NN_TRAIN_SCHEDULE, 3),
        SET_I("schedule -1", NN_TRAIN_SCHEDULE, -1),
        SET_I("step epochs 0", NN_TRAIN_STEP_EPOCHS, 0),
        SET_I("warm-up -1", NN_TRAIN_WARMUP_STEPS, -1),
        SET_I("report every -1", NN_TRAIN_REPORT_EVERY, -1),
        SET_R("val fraction 1", NN_TRAIN_VAL_FRACTION, 1.0),
        SET_R("val fraction -0.1", NN_TRAIN_VAL_FRACTION, -0.1),
        SET_R("val fraction NaN", NN_TRAIN_VAL_FRACTION, NAN),
        SET_R("gamma 0", NN_TRAIN_GAMMA, 0.0),
        SET_R("gamma 1.5", NN_TRAIN_GAMMA, 1.5),
        SET_R("gamma NaN", NN_TRAIN_GAMMA, NAN),
        SET_R("lr_min -1", NN_TRAIN_LR_MIN, -1.0),
        SET_R("lr_min NaN", NN_TRAIN_LR_MIN, NAN),
        SET_R("lr_min inf", NN_TRAIN_LR_MIN, INFINITY),
        /* read-only results */
        SET_I("epochs run", NN_TRAIN_EPOCHS_RUN, 1),
        SET_I("best epoch", NN_TRAIN_BEST_EPOCH, 1),
        SET_I("stopped early", NN_TRAIN_STOPPED_EARLY, 0),
        SET_I("steps run", NN_TRAIN_STEPS_RUN, 0),
        SET_R("best val loss", NN_TRAIN_BEST_VAL_LOSS, 0.5),
        SET_R("final loss", NN_TRAIN_FINAL_LOSS, 0.5),
        SET_R("seconds", NN_TRAIN_SECONDS, 1.0),
        /* wrong type */
        SET_R("epochs as real", NN_TRAIN_EPOCHS, 3.0),
        SET_R("seed as real", NN_TRAIN_SEED, 1.0),
        SET_I("val fraction as int", NN_TRAIN_VAL_FRACTION, 0),
        SET_I("gamma as int", NN_TRAIN_GAMMA, 1),
        /* keys of other objects, unknown keys */
        SET_R("optimizer key", NN_OPTIM_LR, 0.1),
        SET_I("net key", NN_NET_CHECK_FINITE, 1),
        SET_I("metric key", NN_METRIC_LOSS, 0),
        SET_I("key 415", 415, 0),
        SET_I("threads above 1024", NN_TRAIN_THREADS, 1025),
        SET_I("threads negative", NN_TRAIN_THREADS, -1),
        SET_R("threads as real", NN_TRAIN_THREADS, 2.0),
        SET_R("key 463", 463, 0.0),
    };
    check_bad_sets(tr, &tr_ops, bad, N_OF(bad), &t, "nn_trainer_set_*");
    double s0[BUF], s1[BUF];
    size_t ns = trainer_state(tr, s0);
    for (size_t i = 0; i < N_OF(alien_keys); i++) {
        ck_assert_int_eq(nn_trainer_set_int(tr, alien_keys[i], 1),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_trainer_set_real(tr, alien_keys[i], 0.5),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_trainer_set_int(NULL, alien_keys[i], 1),
                         NN_ERR_INVALID);
    }
    check_bad_gets(tr, &tr_ops, tr_real_keys, N_OF(tr_real_keys), tr_int_keys,
                   N_OF(tr_int_keys), "wrong type");
    check_bad_gets(tr, &tr_ops, alien_keys, N_OF(alien_keys), alien_keys,
                   N_OF(alien_keys), "unknown key");
    int64_t v = SENT_I64;
    double r = SENT_D;
    ck_assert_int_eq(nn_trainer_get_int(NULL, NN_TRAIN_EPOCHS, &v),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_get_real(NULL, NN_TRAIN_GAMMA, &r),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_get_int(tr, NN_TRAIN_EPOCHS, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_get_real(tr, NN_TRAIN_GAMMA, NULL),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_set_real(NULL, NN_TRAIN_GAMMA, 0.5),
                     NN_ERR_INVALID);
    ck_assert(v == SENT_I64 && r == SENT_D);
    /* callbacks: NULL trainer refused; NULL function means none */
    int calls = 0;
    ck_assert_int_eq(nn_trainer_set_report(NULL, report_stop, &calls),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_set_grad_hook(NULL, hook_fail, &calls),
                     NN_ERR_INVALID);
    NN_OK_OR_FAIL(nn_trainer_set_report(tr, NULL, NULL));
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(tr, NULL, NULL));
    ck_assert_uint_eq(trainer_state(tr, s1), ns);
    ck_assert(memcmp(s0, s1, ns * sizeof(double)) == 0);
    ck_assert_int_eq(calls, 0);
    nn_trainer_destroy(tr);
    TU_ASSERT_BALANCED(&t);
}
END_TEST

/* nn_train refusing its arguments and settings: nothing changes (net,
 * optimizer, trainer results); a hook's failure is returned and the run is
 * rolled back (parameters and optimizer state as at the call). */
#define TM 8 /* rows of the training data */

typedef struct {
    netfix f;
    nn_trainer_t *tr;
    double s0[BUF];
    size_t ns, nf;
} train_fix;

static size_t train_state(train_fix *x, double *buf)
{
    size_t n = fix_state(&x->f, buf);
    return n + trainer_state(x->tr, buf + n);
}

static void train_refused(train_fix *x, nn_status st, nn_status want,
                          const char *what)
{
    double s1[BUF];
    ck_assert_msg(st == want, "%s: got %d (%s), want %d", what, (int)st,
                  nn_strerror(st), (int)want);
    ck_assert_uint_eq(train_state(x, s1), x->ns);
    ck_assert_msg(memcmp(x->s0, s1, x->ns * sizeof(double)) == 0,
                  "%s: something changed", what);
}

START_TEST(train_errors)
{
    bufs *b = bufs_new();
    train_fix x;
    x.f = fix_new(K_SCE, NULL, b, false);
    NN_OK_OR_FAIL(nn_trainer_create(&x.tr, NULL));
    NN_OK_OR_FAIL(nn_trainer_set_int(x.tr, NN_TRAIN_EPOCHS, 2));
    NN_OK_OR_FAIL(nn_trainer_set_int(x.tr, NN_TRAIN_BATCH_SIZE, 4));
    x.ns = train_state(&x, x.s0);
    nn_net_t *net = x.f.net;
    nn_optim_t *opt = x.f.opt;
    bufs_init(b, 3);
    nn_data_t *ok = tu_data(b->X, TM, NET_N_IN, b->labels, NULL);
    nn_data_t *none = tu_data(b->X, TM, NET_N_IN, NULL, NULL);
    nn_data_t *cols = tu_data(b->X, TM, 2, b->labels, NULL);
    nn_data_t *k2 = tu_data_targets(b->X, TM, NET_N_IN, b->T, 2, NULL);
    nn_data_t *k3 = tu_data_targets(b->X, TM, NET_N_IN, b->T, 3, NULL);
    nn_data_t *one = tu_data(b->X, 1, NET_N_IN, b->labels, NULL);
    b->labels[5] = 3;
    nn_data_t *lab3 = tu_data(b->X, TM, NET_N_IN, b->labels, NULL);
    nn_net_t *other = mk_net(K_MSE, NULL);
    nn_optim_t *o_other = mk_opt(other, K_SCE);

    train_refused(&x, nn_train(NULL, net, opt, ok, NULL), NN_ERR_INVALID,
                  "NULL trainer");
    train_refused(&x, nn_train(x.tr, NULL, opt, ok, NULL), NN_ERR_INVALID,
                  "NULL net");
    train_refused(&x, nn_train(x.tr, net, NULL, ok, NULL), NN_ERR_INVALID,
                  "NULL optimizer");
    train_refused(&x, nn_train(x.tr, net, opt, NULL, NULL), NN_ERR_INVALID,
                  "NULL data");
    train_refused(&x, nn_train(x.tr, net, opt, none, NULL), NN_ERR_INVALID,
                  "no labels or targets");
    train_refused(&x, nn_train(x.tr, net, opt, ok, none), NN_ERR_INVALID,
                  "validation without labels or targets");
    train_refused(&x, nn_train(x.tr, net, opt, ok, k3), NN_ERR_INVALID,
                  "validation targets, training labels");
    train_refused(&x, nn_train(x.tr, net, opt, cols, NULL), NN_ERR_SHAPE,
                  "2 columns for 3 inputs");
    train_refused(&x, nn_train(x.tr, net, opt, ok, cols), NN_ERR_SHAPE,
                  "validation with 2 columns");
    train_refused(&x, nn_train(x.tr, net, opt, k2, NULL), NN_ERR_SHAPE,
                  "2 targets for 3 outputs");
    train_refused(&x, nn_train(x.tr, net, opt, lab3, NULL), NN_ERR_SHAPE,
                  "label 3 for 3 outputs");
    train_refused(&x, nn_train(x.tr, net, opt, ok, lab3), NN_ERR_SHAPE,
                  "validation label 3 for 3 outputs");
    train_refused(&x, nn_train(x.tr, net, o_other, ok, NULL), NN_ERR_SHAPE,
                  "optimizer of another shape");
    /* settings that only fail together with the data */
    NN_OK_OR_FAIL(nn_trainer_set_int(x.tr, NN_TRAIN_PATIENCE, 2));
    x.ns = train_state(&x, x.s0);
    train_refused(&x, nn_train(x.tr, net, opt, ok, NULL), NN_ERR_INVALID,
                  "patience without validation");
    NN_OK_OR_FAIL(nn_trainer_set_int(x.tr, NN_TRAIN_PATIENCE, 0));
    NN_OK_OR_FAIL(nn_trainer_set_real(x.tr, NN_TRAIN_VAL_FRACTION, 0.5));
    x.ns = train_state(&x, x.s0);
    /* one row cannot be split into a training and a validation part */
    train_refused(&x, nn_train(x.tr, net, opt, one, NULL), NN_ERR_INVALID,
                  "validation split of one row");
    NN_OK_OR_FAIL(nn_trainer_set_real(x.tr, NN_TRAIN_VAL_FRACTION, 0.0));
    x.ns = train_state(&x, x.s0);
    /* a failing gradient hook: its status, the run rolled back */
    int calls = 0;
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(x.tr, hook_fail, &calls));
    double s1[BUF];
    ck_assert_int_eq(nn_train(x.tr, net, opt, ok, NULL), NN_ERR_IO);
    ck_assert_int_eq(calls, 1);
    size_t P = nn_net_n_params(net), no = net_state(net, s1);
    ck_assert(memcmp(x.s0, s1, P * sizeof(double)) == 0);
    fix_state(&x.f, s1);
    ck_assert(memcmp(x.s0 + no, s1 + no,
                     (x.ns - no - (N_OF(tr_int_keys) + N_OF(tr_real_keys))) *
                         sizeof(double)) == 0);
    /* control: without the hook the same run works */
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(x.tr, NULL, NULL));
    NN_OK_OR_FAIL(nn_train(x.tr, net, opt, ok, NULL));
    int64_t v = 0;
    NN_OK_OR_FAIL(nn_trainer_get_int(x.tr, NN_TRAIN_EPOCHS_RUN, &v));
    ck_assert_int_eq(v, 2);
    NN_OK_OR_FAIL(nn_trainer_get_int(x.tr, NN_TRAIN_STEPS_RUN, &v));
    ck_assert_int_eq(v, 4); /* 2 epochs of ceil(8 / 4) batches */

    nn_optim_destroy(o_other);
    nn_net_destroy(other);
    nn_data_t *all[] = {ok, none, cols, k2, k3, one, lab3};
    for (size_t i = 0; i < N_OF(all); i++) nn_data_destroy(all[i]);
    nn_trainer_destroy(x.tr);
    fix_free(&x.f);
    free(b);
}
END_TEST

/* ================================================================ data */
/* A data set's whole observable state: sizes, features, labels, targets. */
static size_t data_state(const nn_data_t *cd, double *buf)
{
    nn_data_t *d = (nn_data_t *)cd; /* the views are only read here */
    size_t m = nn_data_rows(d), n = nn_data_cols(d), k = nn_data_n_targets(d);
    size_t off = 0;
    ck_assert_uint_le(4 + m * (n + 1 + k), BUF);
    buf[off++] = (double)m;
    buf[off++] = (double)n;
    buf[off++] = (double)k;
    buf[off++] = (double)nn_data_n_classes(d);
    memcpy(buf + off, nn_data_x(d), m * n * sizeof(double));
    off += m * n;
    const int32_t *lab = nn_data_labels(d);
    for (size_t i = 0; lab && i < m; i++) buf[off++] = lab[i];
    if (k) memcpy(buf + off, nn_data_targets(d), m * k * sizeof(double));
    return off + m * k;
}

static void assert_data_state(const nn_data_t *d, const double *want,
                              size_t n, const char *what)
{
    double now[BUF];
    ck_assert_uint_eq(data_state(d, now), n);
    ck_assert_msg(memcmp(now, want, n * sizeof(double)) == 0,
                  "%s: the data set changed", what);
}

START_TEST(data_create_errors)
{
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t), bad_a = al, bad_f = al;
    bad_a.alloc = NULL;
    bad_f.free = NULL;
    bufs *b = bufs_new();
    bufs_init(b, 3);
    nn_data_t *sent = (nn_data_t *)&t, *d = sent;
    const double *X = b->X;
    const struct {
        const char *name;
        size_t m, n;
        nn_order order;
        bool null_x;
        size_t ld;
        const nn_allocator *al;
        nn_status want;
    } cases[] = {
        {"NULL X", NM, 3, NN_ROW_MAJOR, true, 3, &al, NN_ERR_INVALID},
        {"m = 0", 0, 3, NN_ROW_MAJOR, false, 3, &al, NN_ERR_INVALID},
        {"n = 0", NM, 0, NN_ROW_MAJOR, false, 3, &al, NN_ERR_INVALID},
        {"order 7", NM, 3, (nn_order)7, false, 3, &al, NN_ERR_INVALID},
        {"row-major ld = n-1", NM, 3, NN_ROW_MAJOR, false, 2, &al,
         NN_ERR_SHAPE},
        {"col-major ld = m-1", NM, 3, NN_COL_MAJOR, false, NM - 1, &al,
         NN_ERR_SHAPE},
        {"ld = SIZE_MAX", NM, 3, NN_ROW_MAJOR, false, SIZE_MAX, &al,
         NN_ERR_TOO_LARGE},
        {"n = INT_MAX+1", NM, BIG_INT, NN_ROW_MAJOR, false, BIG_INT, &al,
         NN_ERR_TOO_LARGE},
        {"allocator with NULL alloc", NM, 3, NN_ROW_MAJOR, false, 3, &bad_a,
         NN_ERR_INVALID},
        {"allocator with NULL free", NM, 3, NN_ROW_MAJOR, false, 3, &bad_f,
         NN_ERR_INVALID},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        nn_status st = nn_data_create(&d, cases[i].m, cases[i].n,
                                      cases[i].order,
                                      cases[i].null_x ? NULL : X, cases[i].ld,
                                      cases[i].al);
        ck_assert_msg(st == cases[i].want, "%s: got %d, want %d",
                      cases[i].name, (int)st, (int)cases[i].want);
    }
    ck_assert_int_eq(nn_data_create(NULL, NM, 3, NN_ROW_MAJOR, X, 3, &al),
                     NN_ERR_INVALID);
    ck_assert_ptr_eq(d, sent);
    ck_assert_int_eq(t.attempts, 0);
    /* queries on NULL */
    ck_assert_uint_eq(nn_data_rows(NULL), 0);
    ck_assert_uint_eq(nn_data_cols(NULL), 0);
    ck_assert_uint_eq(nn_data_n_classes(NULL), 0);
    ck_assert_uint_eq(nn_data_n_targets(NULL), 0);
    ck_assert_ptr_null(nn_data_x(NULL));
    ck_assert_ptr_null(nn_data_labels(NULL));
    ck_assert_ptr_null(nn_data_targets(NULL));
    nn_data_destroy(NULL);
    free(b);
}
END_TEST

START_TEST(data_labels_targets_errors)
{
    bufs *b = bufs_new();
    bufs_init(b, 3);
    for (int with = 0; with < 3; with++) { /* none, labels, targets */
        tu_counter t = tally_new();
        nn_allocator al = tu_allocator(&t);
        nn_data_t *d = tu_data(b->X, NM, 3, with == 1 ? b->labels : NULL, &al);
        if (with == 2)
            NN_OK_OR_FAIL(nn_data_set_targets(d, 2, NN_ROW_MAJOR, b->T, 2));
        double s0[BUF];
        size_t ns = data_state(d, s0);
        long att = t.attempts;
        /* labels: NULL, negative (int32 cannot reach 2^31) */
        int32_t lab[NM] = {0, 1, 2, 1};
        ck_assert_int_eq(nn_data_set_labels(NULL, lab), NN_ERR_INVALID);
        ck_assert_int_eq(nn_data_set_labels(d, NULL), NN_ERR_INVALID);
        const int32_t neg[] = {-1, INT32_MIN};
        for (size_t i = 0; i < N_OF(neg); i++)
            for (size_t pos = 0; pos < NM; pos += NM - 1) {
                memcpy(lab, b->labels, sizeof lab);
                lab[pos] = neg[i];
                ck_assert_int_eq(nn_data_set_labels(d, lab), NN_ERR_INVALID);
                assert_data_state(d, s0, ns, "nn_data_set_labels");
            }
        /* targets: NULL, k = 0, bad order, short ld, huge, NaN / Inf */
        double Y[3 * NM];
        tu_fill_value(Y, 3 * NM, 0.5);
        ck_assert_int_eq(nn_data_set_targets(NULL, 2, NN_ROW_MAJOR, Y, 2),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_data_set_targets(d, 2, NN_ROW_MAJOR, NULL, 2),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_data_set_targets(d, 0, NN_ROW_MAJOR, Y, 2),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_data_set_targets(d, 2, (nn_order)7, Y, 2),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_data_set_targets(d, 2, NN_ROW_MAJOR, Y, 1),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_data_set_targets(d, 2, NN_COL_MAJOR, Y, NM - 1),
                         NN_ERR_SHAPE);
        ck_assert_int_eq(nn_data_set_targets(d, BIG_INT, NN_ROW_MAJOR, Y,
                                             BIG_INT),
                         NN_ERR_TOO_LARGE);
        const double bad[] = {NAN, INFINITY, -INFINITY};
        for (size_t i = 0; i < N_OF(bad); i++)
            for (int order = 0; order < 2; order++) {
                tu_fill_value(Y, 3 * NM, 0.5);
                Y[2 * NM - 1] = bad[i]; /* the last element in either order */
                ck_assert_int_eq(nn_data_set_targets(d, 2, order, Y,
                                                     order ? NM : 2),
                                 NN_ERR_NUMERIC);
            }
        assert_data_state(d, s0, ns, "nn_data_set_targets");
        ck_assert_int_eq(t.attempts, att);
        /* controls: the boundary values are accepted */
        int32_t big[NM] = {0, INT32_MAX, 1, 0};
        NN_OK_OR_FAIL(nn_data_set_labels(d, big));
        ck_assert_uint_eq(nn_data_n_classes(d), (size_t)INT32_MAX + 1);
        ck_assert_uint_eq(nn_data_n_targets(d), 0);
        nn_data_destroy(d);
        TU_ASSERT_BALANCED(&t);
    }
    free(b);
}
END_TEST

START_TEST(data_take_targets_errors)
{
    bufs *b = bufs_new();
    bufs_init(b, 3);
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t);
    nn_data_t *d = tu_data(b->X, NM, 4, b->labels, &al);
    double s0[BUF];
    size_t ns = data_state(d, s0);
    long live = t.allocs - t.frees;
    const struct {
        const char *name;
        size_t cols[4], k;
        nn_status want;
    } cases[] = {
        {"k = 0", {0}, 0, NN_ERR_INVALID},
        {"duplicate column", {1, 1}, 2, NN_ERR_INVALID},
        {"duplicate column, apart", {2, 0, 2}, 3, NN_ERR_INVALID},
        {"column = n", {4}, 1, NN_ERR_SHAPE},
        {"column SIZE_MAX", {0, SIZE_MAX}, 2, NN_ERR_SHAPE},
        {"every column (no features left)", {0, 1, 2, 3}, 4, NN_ERR_SHAPE},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        nn_status st = nn_data_take_targets(d, cases[i].cols, cases[i].k);
        ck_assert_msg(st == cases[i].want, "%s: got %d, want %d",
                      cases[i].name, (int)st, (int)cases[i].want);
        assert_data_state(d, s0, ns, cases[i].name);
        ck_assert_int_eq(t.allocs - t.frees, live);
    }
    const size_t c1[] = {1};
    ck_assert_int_eq(nn_data_take_targets(NULL, c1, 1), NN_ERR_INVALID);
    ck_assert_int_eq(nn_data_take_targets(d, NULL, 1), NN_ERR_INVALID);
    assert_data_state(d, s0, ns, "NULL arguments");
    /* control: columns 3 and 1 become targets 0 and 1 */
    const size_t c2[] = {3, 1};
    NN_OK_OR_FAIL(nn_data_take_targets(d, c2, 2));
    ck_assert_uint_eq(nn_data_cols(d), 2);
    ck_assert(nn_data_targets(d)[0] == b->X[3]);
    ck_assert(nn_data_targets(d)[1] == b->X[1]);
    ck_assert(nn_data_x(d)[1] == b->X[2]);
    ck_assert_ptr_null(nn_data_labels(d));
    nn_data_destroy(d);
    TU_ASSERT_BALANCED(&t);
    free(b);
}
END_TEST

/* ================================================================ scalers */
static size_t scaler_state(const nn_scaler_t *s, double *buf)
{
    size_t n = nn_scaler_n(s), off = 0;
    nn_scale_kind kind = -1;
    ck_assert_uint_le(2 + 2 * n, BUF);
    NN_OK_OR_FAIL(nn_scaler_get_kind(s, &kind));
    buf[off++] = (double)n;
    buf[off++] = kind;
    NN_OK_OR_FAIL(nn_scaler_get_params(s, buf + off, buf + off + n));
    return off + 2 * n;
}

static const double sc_off[3] = {1.0, 2.0, 3.0}, sc_scale[3] = {2.0, 4.0, -0.5};

START_TEST(scaler_create_errors)
{
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t), bad_a = al, bad_f = al;
    bad_a.alloc = NULL;
    bad_f.free = NULL;
    bufs *b = bufs_new();
    bufs_init(b, 3);
    nn_scaler_t *sent = (nn_scaler_t *)&t, *s = sent;
    const double *X = b->X;
    /* nn_scaler_fit */
    const nn_scale_kind bad_kind[] = {NN_SCALE_CUSTOM, 3, -1, 99};
    for (size_t i = 0; i < N_OF(bad_kind); i++)
        ck_assert_int_eq(nn_scaler_fit(&s, bad_kind[i], NM, 3, NN_ROW_MAJOR, X,
                                       3, &al),
                         NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(NULL, NN_SCALE_STANDARD, NM, 3,
                                   NN_ROW_MAJOR, X, 3, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, NM, 3, NN_ROW_MAJOR,
                                   NULL, 3, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, 0, 3, NN_ROW_MAJOR,
                                   X, 3, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_MINMAX, NM, 0, NN_ROW_MAJOR,
                                   X, 3, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_MINMAX, NM, 3, (nn_order)7, X,
                                   3, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_MINMAX, NM, 3, NN_ROW_MAJOR, X,
                                   2, &al),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_MINMAX, NM, 3, NN_COL_MAJOR, X,
                                   NM - 1, &al),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_MINMAX, NM, 3, NN_ROW_MAJOR, X,
                                   SIZE_MAX, &al),
                     NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, NM, 3, NN_ROW_MAJOR,
                                   X, 3, &bad_a),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, NM, 3, NN_ROW_MAJOR,
                                   X, 3, &bad_f),
                     NN_ERR_INVALID);
    const double nonfinite[] = {NAN, INFINITY, -INFINITY};
    for (size_t i = 0; i < N_OF(nonfinite); i++) {
        b->X[3 * NM - 1] = nonfinite[i]; /* the last element */
        ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_STANDARD, NM, 3,
                                       NN_ROW_MAJOR, X, 3, &al),
                         NN_ERR_NUMERIC);
        ck_assert_int_eq(nn_scaler_fit(&s, NN_SCALE_MINMAX, NM, 3,
                                       NN_COL_MAJOR, X, NM, &al),
                         NN_ERR_NUMERIC);
    }
    /* nn_scaler_fit_data */
    nn_data_t *d = tu_data(X, NM, 3, NULL, NULL);
    ck_assert_int_eq(nn_scaler_fit_data(NULL, NN_SCALE_STANDARD, d, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit_data(&s, NN_SCALE_STANDARD, NULL, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit_data(&s, NN_SCALE_CUSTOM, d, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit_data(&s, 3, d, &al), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_fit_data(&s, NN_SCALE_MINMAX, d, &al),
                     NN_ERR_NUMERIC); /* its last feature is -inf */
    nn_data_destroy(d);
    /* nn_scaler_create */
    double o[3], sc[3];
    ck_assert_int_eq(nn_scaler_create(NULL, 3, sc_off, sc_scale, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&s, 0, sc_off, sc_scale, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&s, 3, NULL, sc_scale, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&s, 3, sc_off, NULL, &al),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_create(&s, 3, sc_off, sc_scale, &bad_a),
                     NN_ERR_INVALID);
    const double bad_scale[] = {0.0, -0.0, NAN, INFINITY};
    for (size_t i = 0; i < N_OF(bad_scale); i++) {
        memcpy(o, sc_off, sizeof o);
        memcpy(sc, sc_scale, sizeof sc);
        sc[2] = bad_scale[i];
        ck_assert_int_eq(nn_scaler_create(&s, 3, o, sc, &al), NN_ERR_INVALID);
    }
    for (size_t i = 0; i < N_OF(nonfinite); i++) {
        memcpy(o, sc_off, sizeof o);
        o[1] = nonfinite[i];
        ck_assert_int_eq(nn_scaler_create(&s, 3, o, sc_scale, &al),
                         NN_ERR_INVALID);
    }
    ck_assert_ptr_eq(s, sent);
    ck_assert_int_eq(t.attempts, 0);
    free(b);
}
END_TEST

START_TEST(scaler_use_errors)
{
    tu_counter t = tally_new();
    nn_allocator al = tu_allocator(&t);
    nn_scaler_t *s = NULL;
    NN_OK_OR_FAIL(nn_scaler_create(&s, 3, sc_off, sc_scale, &al));
    double s0[BUF], s1[BUF];
    size_t ns = scaler_state(s, s0);
    long att = t.attempts;
    /* queries */
    ck_assert_uint_eq(nn_scaler_n(NULL), 0);
    nn_scale_kind kind = -7;
    ck_assert_int_eq(nn_scaler_get_kind(NULL, &kind), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_get_kind(s, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(kind, -7);
    double o[3] = {SENT_D, SENT_D, SENT_D}, sc[3] = {SENT_D, SENT_D, SENT_D};
    ck_assert_int_eq(nn_scaler_get_params(NULL, o, sc), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_get_params(s, NULL, NULL), NN_ERR_INVALID);
    for (size_t j = 0; j < 3; j++) ck_assert(o[j] == SENT_D && sc[j] == SENT_D);
    /* apply / invert on arrays */
    bufs *b = bufs_new(), *saved = bufs_new();
    bufs_init(b, 3);
    memcpy(saved, b, sizeof *b);
    for (int inv = 0; inv < 2; inv++) {
        nn_status (*fn)(const nn_scaler_t *, size_t, nn_order, double *,
                        size_t) = inv ? nn_scaler_invert : nn_scaler_apply;
        ck_assert_int_eq(fn(NULL, NM, NN_ROW_MAJOR, b->X, 3), NN_ERR_INVALID);
        ck_assert_int_eq(fn(s, NM, NN_ROW_MAJOR, NULL, 3), NN_ERR_INVALID);
        ck_assert_int_eq(fn(s, 0, NN_ROW_MAJOR, b->X, 3), NN_ERR_INVALID);
        ck_assert_int_eq(fn(s, NM, (nn_order)7, b->X, 3), NN_ERR_INVALID);
        ck_assert_int_eq(fn(s, NM, NN_ROW_MAJOR, b->X, 2), NN_ERR_SHAPE);
        ck_assert_int_eq(fn(s, NM, NN_COL_MAJOR, b->X, NM - 1), NN_ERR_SHAPE);
        ck_assert_int_eq(fn(s, NM, NN_ROW_MAJOR, b->X, SIZE_MAX),
                         NN_ERR_TOO_LARGE);
        ck_assert_int_eq(fn(s, BIG_INT, NN_ROW_MAJOR, b->X, 3),
                         NN_ERR_TOO_LARGE);
        ck_assert(memcmp(saved, b, sizeof *b) == 0);
    }
    /* apply on a data set: NULL, another width */
    nn_data_t *d2 = tu_data(b->X, NM, 2, NULL, NULL);
    double ds0[BUF];
    size_t dns = data_state(d2, ds0);
    ck_assert_int_eq(nn_scaler_apply_data(NULL, d2), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_apply_data(s, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_scaler_apply_data(s, d2), NN_ERR_SHAPE);
    assert_data_state(d2, ds0, dns, "nn_scaler_apply_data");
    nn_data_destroy(d2);
    ck_assert_uint_eq(scaler_state(s, s1), ns);
    ck_assert(memcmp(s0, s1, ns * sizeof(double)) == 0);
    ck_assert_int_eq(t.attempts, att);
    /* control, by hand: x' = (x - offset) / scale on one row */
    double row[3] = {3.0, 0.0, 2.0};
    NN_OK_OR_FAIL(nn_scaler_apply(s, 1, NN_ROW_MAJOR, row, 3));
    ck_assert(row[0] == 1.0 && row[1] == -0.5 && row[2] == 2.0);
    NN_OK_OR_FAIL(nn_scaler_get_kind(s, &kind));
    ck_assert_int_eq(kind, NN_SCALE_CUSTOM);
    nn_scaler_destroy(s);
    nn_scaler_destroy(NULL);
    TU_ASSERT_BALANCED(&t);
    free(b);
    free(saved);
}
END_TEST

/* Scalers on a network: role, width (NN_ERR_SHAPE), NULL net; the scaler
 * attached before stays. */
START_TEST(net_scaler_errors)
{
    tu_counter t = tally_new();
    nn_net_t *net = mk_net(K_MSE, &t); /* 3 inputs, 2 outputs */
    nn_scaler_t *s3 = NULL, *s2 = NULL;
    NN_OK_OR_FAIL(nn_scaler_create(&s3, 3, sc_off, sc_scale, NULL));
    NN_OK_OR_FAIL(nn_scaler_create(&s2, 2, sc_off + 1, sc_scale + 1, NULL));
    ck_assert_ptr_null(nn_net_get_scaler(net, NN_SCALER_INPUT));
    ck_assert_ptr_null(nn_net_get_scaler(net, NN_SCALER_TARGET));
    NN_OK_OR_FAIL(nn_net_set_scaler(net, NN_SCALER_INPUT, s3));
    double s0[BUF], s1[BUF], n0[BUF];
    size_t ns = scaler_state(nn_net_get_scaler(net, NN_SCALER_INPUT), s0);
    size_t nn = net_state(net, n0);
    long att = t.attempts;
    ck_assert_int_eq(nn_net_set_scaler(NULL, NN_SCALER_INPUT, s3),
                     NN_ERR_INVALID);
    const int32_t bad_role[] = {2, -1, 99, INT32_MIN};
    for (size_t i = 0; i < N_OF(bad_role); i++) {
        ck_assert_int_eq(nn_net_set_scaler(net, bad_role[i], s3),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_net_set_scaler(net, bad_role[i], NULL),
                         NN_ERR_INVALID);
        ck_assert_ptr_null(nn_net_get_scaler(net, bad_role[i]));
    }
    ck_assert_int_eq(nn_net_set_scaler(net, NN_SCALER_INPUT, s2), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_set_scaler(net, NN_SCALER_TARGET, s3),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(t.attempts, att);
    ck_assert_ptr_null(nn_net_get_scaler(net, NN_SCALER_TARGET));
    ck_assert_uint_eq(scaler_state(nn_net_get_scaler(net, NN_SCALER_INPUT), s1),
                      ns);
    ck_assert(memcmp(s0, s1, ns * sizeof(double)) == 0);
    assert_net_state(net, n0, nn, "nn_net_set_scaler");
    /* controls: the right width for each role; NULL removes */
    NN_OK_OR_FAIL(nn_net_set_scaler(net, NN_SCALER_TARGET, s2));
    ck_assert_uint_eq(nn_scaler_n(nn_net_get_scaler(net, NN_SCALER_TARGET)), 2);
    NN_OK_OR_FAIL(nn_net_set_scaler(net, NN_SCALER_INPUT, NULL));
    ck_assert_ptr_null(nn_net_get_scaler(net, NN_SCALER_INPUT));
    nn_scaler_destroy(s3);
    nn_scaler_destroy(s2);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&t);
}
END_TEST

/* ================================================================ metrics */
START_TEST(evaluate_errors)
{
    tu_counter t = tally_new();
    bufs *b = bufs_new(), *saved = bufs_new();
    nn_net_t *net = mk_net(K_SCE, &t); /* 3 inputs, 3 classes */
    nn_net_t *other = mk_net(K_MSE, NULL);
    nn_ctx_t *c_other = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&c_other, other, NM, NULL));
    bufs_init(b, 3);
    nn_data_t *ok = tu_data(b->X, NM, 3, b->labels, NULL);
    nn_data_t *none = tu_data(b->X, NM, 3, NULL, NULL);
    nn_data_t *cols = tu_data(b->X, NM, 2, b->labels, NULL);
    nn_data_t *k2 = tu_data_targets(b->X, NM, 3, b->T, 2, NULL);
    nn_data_t *k3 = tu_data_targets(b->X, NM, 3, b->T, 3, NULL);
    b->labels[2] = 3;
    nn_data_t *lab3 = tu_data(b->X, NM, 3, b->labels, NULL);
    bufs_init(b, 3);
    double s0[BUF];
    size_t ns = net_state(net, s0);
    long att = t.attempts;
    const int32_t m2[] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY};
    const int32_t acc[] = {NN_METRIC_ACCURACY};
    const struct {
        const char *name;
        const nn_net_t *net;
        nn_ctx_t *ctx;
        const nn_data_t *data;
        size_t n;
        const int32_t *metrics;
        bool null_values;
        nn_status want;
    } cases[] = {
        {"NULL net", NULL, NULL, ok, 2, m2, false, NN_ERR_INVALID},
        {"NULL data", net, NULL, NULL, 2, m2, false, NN_ERR_INVALID},
        {"NULL metrics", net, NULL, ok, 2, NULL, false, NN_ERR_INVALID},
        {"NULL values", net, NULL, ok, 2, m2, true, NN_ERR_INVALID},
        {"no metrics", net, NULL, ok, 0, m2, false, NN_ERR_INVALID},
        {"no labels or targets", net, NULL, none, 2, m2, false,
         NN_ERR_INVALID},
        {"accuracy on dense targets", net, NULL, k3, 1, acc, false,
         NN_ERR_INVALID},
        {"2 columns for 3 inputs", net, NULL, cols, 2, m2, false, NN_ERR_SHAPE},
        {"2 targets for 3 outputs", net, NULL, k2, 1, m2, false, NN_ERR_SHAPE},
        {"label 3 for 3 outputs", net, NULL, lab3, 2, m2, false, NN_ERR_SHAPE},
        {"context of another shape", net, c_other, ok, 2, m2, false,
         NN_ERR_SHAPE},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        memcpy(saved, b, sizeof *b);
        nn_status st = nn_net_evaluate(cases[i].net, cases[i].ctx,
                                       cases[i].data, cases[i].n,
                                       cases[i].metrics,
                                       cases[i].null_values ? NULL : b->O);
        ck_assert_msg(st == cases[i].want, "%s: got %d (%s), want %d",
                      cases[i].name, (int)st, nn_strerror(st),
                      (int)cases[i].want);
        ck_assert_msg(memcmp(saved, b, sizeof *b) == 0,
                      "%s: values written", cases[i].name);
    }
    /* an unknown metric anywhere in the list */
    const int32_t unknown[] = {0, -1, 499, 505, 509, 513, NN_NET_LOSS,
                               NN_OPTIM_LR, NN_KEY_EXPERIMENTAL};
    for (size_t i = 0; i < N_OF(unknown); i++)
        for (size_t pos = 0; pos < 3; pos++) {
            int32_t ms[3] = {NN_METRIC_LOSS, NN_METRIC_MSE, NN_METRIC_R2};
            ms[pos] = unknown[i];
            memcpy(saved, b, sizeof *b);
            ck_assert_int_eq(nn_net_evaluate(net, NULL, ok, 3, ms, b->O),
                             NN_ERR_INVALID);
            ck_assert(memcmp(saved, b, sizeof *b) == 0);
        }
    ck_assert_int_eq(t.attempts, att);
    assert_net_state(net, s0, ns, "nn_net_evaluate");
    /* nn_net_confusion */
    size_t counts[16], counts0[16];
    memset(counts, SENT, sizeof counts);
    memcpy(counts0, counts, sizeof counts);
    ck_assert_int_eq(nn_net_confusion(NULL, NULL, ok, counts), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, NULL, counts),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, ok, NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, none, counts),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, k3, counts), NN_ERR_INVALID);
    ck_assert_int_eq(nn_net_confusion(net, NULL, cols, counts), NN_ERR_SHAPE);
    ck_assert_int_eq(nn_net_confusion(net, NULL, lab3, counts), NN_ERR_SHAPE);
    ck_assert(memcmp(counts, counts0, sizeof counts) == 0);
    ck_assert_int_eq(t.attempts, att);
    /* controls: LOSS then ACCURACY in [0, 1]; counts add up to the rows */
    NN_OK_OR_FAIL(nn_net_evaluate(net, NULL, ok, 2, m2, b->O));
    ck_assert(isfinite(b->O[0]) && b->O[1] >= 0.0 && b->O[1] <= 1.0);
    NN_OK_OR_FAIL(nn_net_confusion(net, NULL, ok, counts));
    size_t sum = 0;
    for (size_t i = 0; i < 9; i++) sum += counts[i];
    ck_assert_uint_eq(sum, NM);
    nn_data_t *all[] = {ok, none, cols, k2, k3, lab3};
    for (size_t i = 0; i < N_OF(all); i++) nn_data_destroy(all[i]);
    nn_ctx_destroy(c_other);
    nn_net_destroy(other);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&t);
    free(b);
    free(saved);
}
END_TEST

/* ================================================================ keys */
START_TEST(param_info_errors)
{
    const int32_t unknown[] = {0,   -1,  99,  106, 199, 205, 299, 310,
                               399, 415, 449, 455, 463, INT32_MIN, INT32_MAX,
                               NN_KEY_EXPERIMENTAL + 12345};
    for (size_t i = 0; i < N_OF(unknown); i++) {
        int32_t type = -7, w = -7;
        double lo = SENT_D, hi = SENT_D;
        ck_assert_msg(nn_param_info(unknown[i], &type, &lo, &hi, &w) ==
                          NN_ERR_INVALID,
                      "key %d", (int)unknown[i]);
        ck_assert(type == -7 && w == -7 && lo == SENT_D && hi == SENT_D);
        ck_assert_int_eq(nn_param_info(unknown[i], NULL, NULL, NULL, NULL),
                         NN_ERR_INVALID);
    }
    /* controls, from the header's table */
    int32_t type = -7, w = -7;
    double lo = SENT_D, hi = SENT_D;
    NN_OK_OR_FAIL(nn_param_info(NN_OPTIM_KIND, &type, NULL, NULL, &w));
    ck_assert(type == NN_PARAM_INT && w == 0);
    NN_OK_OR_FAIL(nn_param_info(NN_NET_LOSS, NULL, NULL, NULL, &w));
    ck_assert_int_eq(w, 0);
    NN_OK_OR_FAIL(nn_param_info(NN_NET_REDUCTION, &type, &lo, &hi, &w));
    ck_assert(type == NN_PARAM_INT && lo == 0.0 && hi == 1.0 && w == 1);
    NN_OK_OR_FAIL(nn_param_info(NN_LAYER_DROPOUT, &type, &lo, &hi, &w));
    ck_assert(type == NN_PARAM_REAL && lo == 0.0 && hi < 1.0 && w == 1);
    NN_OK_OR_FAIL(nn_param_info(NN_TRAIN_EPOCHS, &type, &lo, NULL, NULL));
    ck_assert(type == NN_PARAM_INT && lo == 1.0);
    NN_OK_OR_FAIL(nn_param_info(NN_OPTIM_LR, &type, &lo, NULL, &w));
    ck_assert(type == NN_PARAM_REAL && lo > 0.0 && w == 1);
    NN_OK_OR_FAIL(nn_param_info(NN_TRAIN_SECONDS, NULL, NULL, NULL, NULL));
}
END_TEST

/* ================================================================ misc */
START_TEST(threads_errors)
{
    size_t before = SIZE_MAX - 3;
    nn_status got = nn_get_num_threads(&before);
    ck_assert_msg(got == NN_OK || got == NN_ERR_UNSUPPORTED, "got %d",
                  (int)got);
    ck_assert_int_eq(nn_get_num_threads(NULL), NN_ERR_INVALID);
    ck_assert_int_eq(nn_set_num_threads(0), NN_ERR_INVALID);
    ck_assert_int_eq(nn_set_num_threads(BIG_INT), NN_ERR_TOO_LARGE);
    ck_assert_int_eq(nn_set_num_threads(SIZE_MAX), NN_ERR_TOO_LARGE);
    if (got == NN_ERR_UNSUPPORTED) {
        /* a generic CBLAS: nothing written, setting unsupported too */
        ck_assert_uint_eq(before, SIZE_MAX - 3);
        ck_assert_int_eq(nn_set_num_threads(1), NN_ERR_UNSUPPORTED);
        return;
    }
    ck_assert_uint_ge(before, 1);
    size_t now = 0;
    NN_OK_OR_FAIL(nn_get_num_threads(&now));
    ck_assert_uint_eq(now, before);
    NN_OK_OR_FAIL(nn_set_num_threads(1));
    NN_OK_OR_FAIL(nn_get_num_threads(&now));
    ck_assert_uint_eq(now, 1);
    ck_assert_int_eq(nn_set_num_threads(0), NN_ERR_INVALID);
    NN_OK_OR_FAIL(nn_get_num_threads(&now));
    ck_assert_uint_eq(now, 1);
}
END_TEST

START_TEST(destroy_null)
{
    nn_dense_destroy(NULL);
    nn_netspec_destroy(NULL);
    nn_net_destroy(NULL);
    nn_ctx_destroy(NULL);
    nn_optim_destroy(NULL);
    nn_trainer_destroy(NULL);
    nn_data_destroy(NULL);
    nn_scaler_destroy(NULL);
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
    tcase_add_test(tc, netspec_create_errors);
    tcase_add_test(tc, netspec_set_errors);
    tcase_add_test(tc, net_batch_arg_table);
    tcase_add_test(tc, net_batch_null_args);
    tcase_add_test(tc, net_labels_out_of_range);
    tcase_add_test(tc, net_init_errors);
    tcase_add_test(tc, net_reserve_errors);
    tcase_add_test(tc, net_params_errors);
    tcase_add_test(tc, net_get_grads_state);
    tcase_add_test(tc, params_bad_order_W_null);
    tcase_add_test(tc, net_getters_null);
    tcase_add_test(tc, net_predict_checks_before_reserve);
    tcase_add_test(tc, net_settings_errors);
    tcase_add_test(tc, net_layer_settings_errors);
    tcase_add_test(tc, net_clone_errors);
    tcase_add_test(tc, seam_errors);
    tcase_add_test(tc, ctx_errors);
    tcase_add_test(tc, ctx_shape_mismatch);
    suite_add_tcase(s, tc);
    tc = tcase_create("train");
    tcase_add_test(tc, optim_create_errors);
    tcase_add_test(tc, optim_settings_errors);
    tcase_add_test(tc, optim_step_errors);
    tcase_add_test(tc, trainer_create_errors);
    tcase_add_test(tc, trainer_settings_errors);
    tcase_add_test(tc, train_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("data");
    tcase_add_test(tc, data_create_errors);
    tcase_add_test(tc, data_labels_targets_errors);
    tcase_add_test(tc, data_take_targets_errors);
    tcase_add_test(tc, scaler_create_errors);
    tcase_add_test(tc, scaler_use_errors);
    tcase_add_test(tc, net_scaler_errors);
    tcase_add_test(tc, evaluate_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("misc");
    tcase_add_test(tc, param_info_errors);
    tcase_add_test(tc, threads_errors);
    tcase_add_test(tc, destroy_null);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(errors_suite()); }
