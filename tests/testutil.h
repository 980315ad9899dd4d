/* testutil.h — small helpers shared by the Check suites (header-only). */
#ifndef NN_TESTUTIL_H
#define NN_TESTUTIL_H

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "nn.h"

/* Assert a libnn call returned NN_OK, printing the message otherwise. */
#define NN_OK_OR_FAIL(call)                                                   \
    do {                                                                      \
        nn_status st_ = (call);                                               \
        ck_assert_msg(st_ == NN_OK, "%s -> %d (%s)", #call, (int)st_,         \
                      nn_strerror(st_));                                      \
    } while (0)

/* Test-local deterministic generator (independent of the library's). */
typedef struct { uint64_t s; } tu_rng;
static inline uint64_t tu_next(tu_rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
/* Uniform in [lo, hi). */
static inline double tu_uniform(tu_rng *r, double lo, double hi)
{
    return lo + (hi - lo) * ((double)(tu_next(r) >> 11) * 0x1.0p-53);
}
static inline void tu_fill(tu_rng *r, double *p, size_t n, double lo, double hi)
{
    for (size_t i = 0; i < n; i++) p[i] = tu_uniform(r, lo, hi);
}

/* A trainer's / a net's setting, asserting the read succeeds. */
static inline int64_t tu_geti(const nn_trainer_t *t, int32_t key)
{
    int64_t v = -1;
    NN_OK_OR_FAIL(nn_trainer_get_int(t, key, &v));
    return v;
}
static inline double tu_getr(const nn_trainer_t *t, int32_t key)
{
    double v = NAN;
    NN_OK_OR_FAIL(nn_trainer_get_real(t, key, &v));
    return v;
}
static inline int64_t tu_net_int(const nn_net_t *net, int32_t key)
{
    int64_t v = -1;
    NN_OK_OR_FAIL(nn_net_get_int(net, key, &v));
    return v;
}

/* max |a - b| / max |b| over n values (0 when both are all zero). */
static inline double tu_max_rel_err(const double *a, const double *b, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs(a[i] - b[i]));
        den = fmax(den, fabs(b[i]));
    }
    return den > 0.0 ? num / den : num;
}

/* Checked buffers of n doubles (uninitialised) / long doubles (zeroed). */
static inline double *tu_dalloc(size_t n)
{
    double *p = (double *)malloc((n ? n : 1) * sizeof(double));
    ck_assert_ptr_nonnull(p);
    return p;
}
static inline long double *tu_lalloc(size_t n)
{
    long double *p = (long double *)calloc(n ? n : 1, sizeof(long double));
    ck_assert_ptr_nonnull(p);
    return p;
}
static inline void tu_fill_value(double *p, size_t n, double v)
{
    for (size_t i = 0; i < n; i++) p[i] = v;
}

/* |a - b| / max(|a|, |b|, floor): relative error with an absolute floor. */
static inline double tu_relerr(double a, double b, double floor_)
{
    double s = fmax(fmax(fabs(a), fabs(b)), floor_);
    return fabs(a - b) / s;
}

/* ------------------------------------------------ counting allocator
 * One nn_allocator for every suite that checks what libnn allocates. Zero a
 * tu_counter (optionally setting the three settings), hand tu_allocator(&c)
 * to libnn, then read the tallies. Each block carries a header in front of
 * it that links it into the counter's list of live blocks and records its
 * size, so free can check the size it is given, and a pointer that is not
 * live here (never allocated, or already freed) is detected by walking the
 * list, without reading memory in front of it. Blocks come from malloc, so
 * a suite that interposes malloc sees them. Not thread-safe. */
typedef union tu_block_ {
    struct {
        union tu_block_ *prev, *next;
        size_t size;
    } h;
    max_align_t align_; /* the user pointer after it keeps malloc's alignment */
} tu_block_;

typedef struct tu_counter {
    /* settings */
    long fail_at;        /* refuse the fail_at-th attempt (1-based); 0: never */
    bool fail_rest;      /* with fail_at: refuse every later attempt too      */
    size_t max_request;  /* refuse requests larger than this; 0: no limit     */
    /* tallies */
    long attempts;       /* calls to alloc, refused ones included             */
    long allocs;         /* successful allocations                            */
    long refused;        /* attempts answered NULL (settings or malloc)       */
    long frees;          /* calls to free, bad ones included                  */
    size_t bytes_in;     /* bytes allocated                                   */
    size_t bytes_out;    /* bytes freed, as free was told                     */
    size_t live, peak;   /* bytes allocated and not freed: now, at most       */
    size_t largest;      /* largest request, refused ones included            */
    long size_mismatch;  /* frees told another size than was allocated        */
    long unknown_free;   /* frees of a pointer not live here (left alone)     */
    tu_block_ *blocks;   /* live blocks, newest first                         */
} tu_counter;

static inline void *tu_counter_alloc_(void *ctx, size_t n)
{
    tu_counter *c = ctx;
    c->attempts++;
    if (n > c->largest) c->largest = n;
    bool refuse = (c->fail_at && (c->attempts == c->fail_at ||
                                  (c->fail_rest && c->attempts > c->fail_at))) ||
                  (c->max_request && n > c->max_request) ||
                  n > SIZE_MAX - sizeof(tu_block_);
    tu_block_ *b = refuse ? NULL : malloc(sizeof(tu_block_) + n);
    if (!b) {
        c->refused++;
        return NULL;
    }
    b->h.size = n;
    b->h.prev = NULL;
    b->h.next = c->blocks;
    if (c->blocks) c->blocks->h.prev = b;
    c->blocks = b;
    c->allocs++;
    c->bytes_in += n;
    c->live += n;
    if (c->live > c->peak) c->peak = c->live;
    return b + 1;
}

static inline void tu_counter_free_(void *ctx, void *ptr, size_t n)
{
    tu_counter *c = ctx;
    c->frees++;
    c->bytes_out += n;
    tu_block_ *b = c->blocks;
    while (b && (void *)(b + 1) != ptr) b = b->h.next;
    if (!b) {
        c->unknown_free++;
        return;
    }
    if (b->h.size != n) c->size_mismatch++;
    c->live -= b->h.size;
    if (b->h.prev) b->h.prev->h.next = b->h.next;
    else c->blocks = b->h.next;
    if (b->h.next) b->h.next->h.prev = b->h.prev;
    free(b);
}

static inline nn_allocator tu_allocator(tu_counter *c)
{
    nn_allocator a = {tu_counter_alloc_, tu_counter_free_, c};
    return a;
}

/* Everything allocated was freed, once, with the size it was allocated with. */
static inline bool tu_balanced(const tu_counter *c)
{
    return c->allocs == c->frees && c->bytes_in == c->bytes_out &&
           c->live == 0 && !c->blocks && !c->size_mismatch &&
           !c->unknown_free;
}

#define TU_ASSERT_BALANCED(c)                                                 \
    ck_assert_msg(tu_balanced(c),                                             \
                  "%s unbalanced: %ld allocs, %ld frees, %zu bytes in, "      \
                  "%zu out, %zu live, %ld size mismatches, %ld unknown frees",\
                  #c, (c)->allocs, (c)->frees, (c)->bytes_in, (c)->bytes_out, \
                  (c)->live, (c)->size_mismatch, (c)->unknown_free)

/* A data set of m rows x n features (row-major, copied) with labels (NULL:
 * none), through allocator al (NULL: malloc). */
static inline nn_data_t *tu_data(const double *X, size_t m, size_t n,
                                 const int32_t *labels, const nn_allocator *al)
{
    nn_data_t *d = NULL;
    NN_OK_OR_FAIL(nn_data_create(&d, m, n, NN_ROW_MAJOR, X, n, al));
    if (labels) NN_OK_OR_FAIL(nn_data_set_labels(d, labels));
    return d;
}

/* A data set with dense targets Y (m x k, row-major). */
static inline nn_data_t *tu_data_targets(const double *X, size_t m, size_t n,
                                         const double *Y, size_t k,
                                         const nn_allocator *al)
{
    nn_data_t *d = NULL;
    NN_OK_OR_FAIL(nn_data_create(&d, m, n, NN_ROW_MAJOR, X, n, al));
    NN_OK_OR_FAIL(nn_data_set_targets(d, k, NN_ROW_MAJOR, Y, k));
    return d;
}

/* A network from (units, activation) pairs: n_layers layers on n_in inputs
 * with the given loss; dropout / slopes are set by the caller afterwards
 * through a spec of its own when needed. */
static inline nn_net_t *tu_net(size_t n_in, size_t n_layers,
                               const size_t *units, const nn_activation *acts,
                               nn_loss loss, const nn_allocator *al)
{
    nn_netspec_t *s = NULL;
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&s, n_in, loss, NULL));
    for (size_t l = 0; l < n_layers; l++)
        NN_OK_OR_FAIL(nn_netspec_add_dense(s, units[l], acts[l]));
    NN_OK_OR_FAIL(nn_net_create(&net, s, al));
    nn_netspec_destroy(s);
    return net;
}

/* Run one suite; exit status is the number of failures (0 = pass). */
static inline int tu_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? 0 : 1;
}

/* ------------------------------------------------ networks layer by layer
 * (added for the core suites) One layer's description, as the 0.x
 * nn_layer_spec was: units, activation, leaky-relu slope (set as given, so 0
 * means relu-like, not the 0.01 default), dropout. */
typedef struct tu_layer {
    size_t n_out;
    nn_activation act;
    double slope;
    double dropout;
} tu_layer;

/* Build a network from n_layers tu_layer descriptions: the first status that
 * is not NN_OK among the spec calls and nn_net_create (then *out is not
 * written). */
static inline nn_status tu_net_try(nn_net_t **out, size_t n_in,
                                   size_t n_layers, const tu_layer *layers,
                                   nn_loss loss, const nn_allocator *al)
{
    nn_netspec_t *s = NULL;
    nn_status st = nn_netspec_create(&s, n_in, loss, NULL);
    for (size_t l = 0; st == NN_OK && l < n_layers; l++) {
        st = nn_netspec_add_dense(s, layers[l].n_out, layers[l].act);
        if (st == NN_OK)
            st = nn_netspec_set_real(s, l, NN_LAYER_ACT_PARAM, layers[l].slope);
        if (st == NN_OK)
            st = nn_netspec_set_real(s, l, NN_LAYER_DROPOUT, layers[l].dropout);
    }
    if (st == NN_OK) st = nn_net_create(out, s, al);
    nn_netspec_destroy(s);
    return st;
}

static inline nn_net_t *tu_net_layers(size_t n_in, size_t n_layers,
                                      const tu_layer *layers, nn_loss loss,
                                      const nn_allocator *al)
{
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(tu_net_try(&net, n_in, n_layers, layers, loss, al));
    return net;
}

/* Borrowed pointers to layer l's W (row-major n_in x n_out) and b inside the
 * flat parameter array, and to its dW and db inside the gradient array. */
static inline double *tu_net_W(nn_net_t *net, size_t l)
{
    size_t w = 0, b = 0;
    NN_OK_OR_FAIL(nn_net_layer_offset(net, l, &w, &b));
    return nn_net_params(net) + w;
}
static inline double *tu_net_b(nn_net_t *net, size_t l)
{
    size_t w = 0, b = 0;
    NN_OK_OR_FAIL(nn_net_layer_offset(net, l, &w, &b));
    return nn_net_params(net) + b;
}
static inline const double *tu_net_dW(nn_net_t *net, size_t l)
{
    size_t w = 0, b = 0;
    NN_OK_OR_FAIL(nn_net_layer_offset(net, l, &w, &b));
    return nn_net_grads(net) + w;
}
static inline const double *tu_net_db(nn_net_t *net, size_t l)
{
    size_t w = 0, b = 0;
    NN_OK_OR_FAIL(nn_net_layer_offset(net, l, &w, &b));
    return nn_net_grads(net) + b;
}

/* A plain-SGD optimizer (w -= lr*g) for net. */
static inline nn_optim_t *tu_sgd(const nn_net_t *net, double lr)
{
    nn_optim_t *o = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o, net, NN_OPTIM_SGD, NULL));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, lr));
    return o;
}

/* One plain gradient-descent update from net's current gradients (what the
 * 0.x nn_net_sgd_step did): the status of nn_optim_step. */
static inline nn_status tu_sgd_step(nn_net_t *net, double lr)
{
    nn_optim_t *o = tu_sgd(net, lr);
    nn_status st = nn_optim_step(o, net);
    nn_optim_destroy(o);
    return st;
}

#endif
