/* nnbench.c — libnn throughput against a naive triple-loop reference and
 * against bare cblas_dgemm doing only the products libnn needs (the ceiling),
 * thread scaling, heap allocations per step and peak RSS (issue 4).
 *
 * Every row runs in its own forked child, so its peak RSS is its own. In the
 * child: (1) one pass of the bare products warms OpenBLAS's buffers, which
 * are then freed; the resident set at that point is the baseline; (2) libnn's
 * object and the batch are created and warmed up, and ru_maxrss is read: the
 * peak RSS of the row; (3) libnn's result is checked against a dgemm-based
 * reference of the same math (and against the naive reference wherever that
 * runs) to 1e-12 relative (max |diff| / max |ref| per output) -- a row that
 * fails is reported FAIL and not timed; (4) libnn and the bare dgemm calls are
 * timed alternately, `reps` times each a loop of at least `min_time` seconds,
 * and the medians are reported; (5) the naive reference is timed, once when a
 * step is slow.
 *
 * usage: nnbench [--quick] [--csv FILE] [--max-threads N] [--reps N]
 *                [--min-time S] [--filter SUBSTRING] [--no-naive]
 */
#define _GNU_SOURCE
#include "naive.h"

#include <cblas.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdint.h>
#include <math.h>
#include <nn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "benchutil.h"

/* ------------------------------------------------------------ malloc count
 * The executable defines the malloc family, which takes it over for the whole
 * process (libnn.so and OpenBLAS included): calls made while `counting` is
 * set (libnn's timed loops only) are counted, from any thread. */
extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);
void *memalign(size_t align, size_t n);

static volatile int counting;
static long heap_calls, nn_heap_calls;
static uintptr_t nn_lo, nn_hi; /* address range of libnn.so's code */

/* the caller's return address tells libnn's own calls from OpenBLAS's */
#define count_call() count_from((uintptr_t)__builtin_return_address(0))
static inline void count_from(uintptr_t from)
{
    if (!counting) return;
    __atomic_fetch_add(&heap_calls, 1, __ATOMIC_RELAXED);
    if (from >= nn_lo && from < nn_hi)
        __atomic_fetch_add(&nn_heap_calls, 1, __ATOMIC_RELAXED);
}

static int find_libnn(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size, (void)data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "libnn.so")) return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
        if (!nn_lo || lo < nn_lo) nn_lo = lo;
        if (hi > nn_hi) nn_hi = hi;
    }
    return 1;
}

void *malloc(size_t n)
{
    count_call();
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    count_call();
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    count_call();
    return __libc_realloc(p, n);
}
void *memalign(size_t align, size_t n)
{
    count_call();
    return __libc_memalign(align, n);
}
void *aligned_alloc(size_t align, size_t n)
{
    count_call();
    return __libc_memalign(align, n);
}
int posix_memalign(void **out, size_t align, size_t n)
{
    count_call();
    void *p = __libc_memalign(align, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
void free(void *p) { __libc_free(p); }

/* ------------------------------------------------------------ helpers */
static double *dalloc(size_t n)
{
    double *p = malloc((n ? n : 1) * sizeof(double));
    if (!p) {
        fprintf(stderr, "nnbench: out of memory\n");
        _exit(3);
    }
    return p;
}

/* deterministic fill in [lo, hi) */
static double *drand_new(size_t n, double lo, double hi)
{
    double *p = dalloc(n);
    for (size_t i = 0; i < n; i++) p[i] = lo + (hi - lo) * urand();
    return p;
}

/* max |a - b| / max |b| (0/0 = 0) */
static double rel_err(const double *a, const double *b, size_t n)
{
    double d = 0.0, s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs(a[i] - b[i]);
        if (!(e <= d)) d = e; /* NaN propagates */
        if (fabs(b[i]) > s) s = fabs(b[i]);
    }
    return s > 0 ? d / s : d;
}

static long rss_now_kib(void)
{
    long pages = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return -1;
    if (fscanf(f, "%ld %ld", &pages, &rss) != 2) rss = -1;
    fclose(f);
    return rss < 0 ? -1 : rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static long maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* reset the peak-RSS mark to the current RSS (Linux >= 4.0) */
static int reset_peak_rss(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd < 0) return -1;
    ssize_t w = write(fd, "5", 1);
    close(fd);
    return w == 1 ? 0 : -1;
}

static void cblas_gemm_fn(int ta, int tb, size_t M, size_t N, size_t K,
                          const double *A, size_t lda, const double *B,
                          size_t ldb, double *C, size_t ldc)
{
    cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, 1.0, A,
                (int)lda, B, (int)ldb, 0.0, C, (int)ldc);
}

/* ------------------------------------------------------------ options */
static struct {
    int quick, reps, max_threads, no_naive;
    double min_time;
    double naive_max_flops; /* skip naive above this many flops per step */
    const char *csv, *filter;
} opt;

/* ------------------------------------------------------------ workloads */
enum { WL_DENSE, WL_NET };

typedef struct workload {
    int kind;
    char name[48];
    size_t batch;
    size_t L;                          /* layers (dense: 1)   */
    size_t n[REF_MAX_LAYERS + 1];      /* widths, n[0] inputs */
    nn_activation act[REF_MAX_LAYERS];
    nn_loss loss;
    int naive_required; /* measure naive whatever its cost */
} workload;

/* flops of the products only: 2 per multiply-add. Dense and network alike:
 * forward X.W per layer, dW = X^T.dZ per layer, dX = dZ.W^T for every layer
 * but a network's first (the dense layer's dX is part of its workload). */
static double wl_flops(const workload *w)
{
    double f = 0.0, m = (double)w->batch;
    for (size_t l = 0; l < w->L; l++) {
        double mk = m * (double)w->n[l] * (double)w->n[l + 1];
        f += 2.0 * mk * 2.0;                   /* forward + dW */
        if (l > 0 || w->kind == WL_DENSE) f += 2.0 * mk; /* dX */
    }
    return f;
}

/* One row of results, sent from the child to the parent through a pipe. */
typedef struct row {
    int ok;
    char msg[120];
    int threads;
    double flops, t_nn, t_bl, t_nv, t_nv2; /* seconds per step; 0 = not run */
    int nv_reps;
    double check_err;
    double allocs_per_step;    /* all malloc-family calls (OpenBLAS too) */
    double nn_allocs_per_step; /* ... of which made by libnn.so itself */
    long rss_peak_kib, rss_base_kib;
    double need_kib;
} row;

/* naive times carried from the 1-thread row to the others (naive is serial) */
static double carry_nv, carry_nv2;
static int carry_nv_reps;

/* ------------------------------------------------------------ timing */
typedef void (*step_fn)(void *ctx);

/* seconds per step of a loop running for at least min_time (>= 1 step) */
static double time_loop(step_fn f, void *ctx, double min_time, long *steps)
{
    long n = 0;
    double t0 = now(), t;
    do {
        f(ctx);
        n++;
        t = now() - t0;
    } while (t < min_time);
    if (steps) *steps += n;
    return t / (double)n;
}

/* Alternate libnn and bare dgemm: reps times each, median; heap calls are
 * counted during libnn's loops only. */
static void time_pair(row *r, step_fn f_nn, void *c_nn, step_fn f_bl,
                      void *c_bl)
{
    double tn[64], tb[64];
    int reps = opt.reps > 64 ? 64 : opt.reps;
    long steps = 0;
    heap_calls = nn_heap_calls = 0;
    for (int i = 0; i < reps; i++) {
        if (i % 2) tb[i] = time_loop(f_bl, c_bl, opt.min_time, NULL);
        counting = 1;
        tn[i] = time_loop(f_nn, c_nn, opt.min_time, &steps);
        counting = 0;
        if (!(i % 2)) tb[i] = time_loop(f_bl, c_bl, opt.min_time, NULL);
    }
    r->allocs_per_step = (double)heap_calls / (double)steps;
    r->nn_allocs_per_step = (double)nn_heap_calls / (double)steps;
    r->t_nn = median(tn, reps);
    r->t_bl = median(tb, reps);
}

/* Time the naive step: a single run when one step is slow, else the usual
 * repetitions. t_first is the time of the checking run already made. */
static double time_naive(step_fn f, void *ctx, double t_first, int *reps_out)
{
    if (t_first >= 0.05 || opt.quick) {
        *reps_out = 1;
        return t_first;
    }
    double t[64];
    int reps = opt.reps > 64 ? 64 : opt.reps;
    for (int i = 0; i < reps; i++) t[i] = time_loop(f, ctx, opt.min_time, NULL);
    *reps_out = reps;
    return median(t, reps);
}

static int want_naive(const workload *w)
{
    if (opt.no_naive) return 0;
    if (w->naive_required && !opt.quick) return 1;
    return wl_flops(w) <= opt.naive_max_flops;
}

/* ------------------------------------------------------------ dense */
typedef struct dense_ctx {
    nn_dense_t *d;
    size_t m, ni, no;
    double *X, *dA, *A, *dX;
    /* bare / reference buffers */
    double *W, *Z, *dZ, *dW;
    bench_gemm_fn gemm;
    nn_activation act;
    double *b, *db;
} dense_ctx;

static void dense_nn_step(void *p)
{
    dense_ctx *c = p;
    nn_dense_forward(c->d, c->m, NN_ROW_MAJOR, c->X, c->ni, c->A, c->no);
    nn_dense_backward(c->d, c->m, NN_ROW_MAJOR, c->X, c->ni, c->dA, c->no,
                      c->dX, c->ni);
}

static void dense_bare_step(void *p)
{
    dense_ctx *c = p;
    cblas_gemm_fn(0, 0, c->m, c->no, c->ni, c->X, c->ni, c->W, c->no, c->Z,
                  c->no);
    cblas_gemm_fn(1, 0, c->ni, c->no, c->m, c->X, c->ni, c->dZ, c->no, c->dW,
                  c->no);
    cblas_gemm_fn(0, 1, c->m, c->ni, c->no, c->dZ, c->no, c->W, c->no, c->dX,
                  c->ni);
}

static void dense_ref_step(void *p)
{
    dense_ctx *c = p;
    ref_dense_step(c->gemm, c->act, c->m, c->ni, c->no, c->X, c->W, c->b,
                   c->dA, c->Z, c->dZ, c->dW, c->db, c->dX);
}

static void run_dense(const workload *w, row *r)
{
    size_t m = w->batch, ni = w->n[0], no = w->n[1];
    dense_ctx bare = {.m = m, .ni = ni, .no = no};
    /* (1) warm BLAS with the bare products, then free */
    bare.X = drand_new(m * ni, -1, 1);
    bare.W = drand_new(ni * no, -1, 1);
    bare.dZ = drand_new(m * no, -1, 1);
    bare.Z = dalloc(m * no);
    bare.dW = dalloc(ni * no);
    bare.dX = dalloc(m * ni);
    dense_bare_step(&bare);
    free(bare.X), free(bare.W), free(bare.dZ), free(bare.Z), free(bare.dW),
        free(bare.dX);
    r->rss_base_kib = rss_now_kib();
    reset_peak_rss();

    /* (2) libnn alone */
    dense_ctx c = {.m = m, .ni = ni, .no = no, .act = w->act[0]};
    c.X = drand_new(m * ni, -1, 1);
    c.dA = drand_new(m * no, -1, 1);
    c.A = dalloc(m * no);
    c.dX = dalloc(m * ni);
    if (nn_dense_create(&c.d, ni, no, w->act[0], 0.0, NULL) ||
        nn_dense_reserve(c.d, m)) {
        snprintf(r->msg, sizeof r->msg, "nn_dense_create/reserve failed");
        return;
    }
    /* non-zero biases, so the bias pass is checked too */
    double *bias = nn_dense_bias(c.d);
    for (size_t j = 0; j < no; j++) bias[j] = 0.1 * (urand() - 0.5);
    dense_nn_step(&c);
    dense_nn_step(&c);
    r->rss_peak_kib = maxrss_kib();
    r->need_kib = (double)(2 * (ni * no + no) + m * (2 * no + ni) + /* object */
                           2 * m * ni + 2 * m * no) /* X, dX, dA, A */
                  * sizeof(double) / 1024.0;

    /* (3) check against the dgemm reference (and naive) */
    dense_ctx ref = {.m = m, .ni = ni, .no = no, .act = w->act[0],
                     .X = c.X, .dA = c.dA, .gemm = cblas_gemm_fn};
    ref.W = dalloc(ni * no);
    ref.b = dalloc(no);
    ref.Z = dalloc(m * no);
    ref.dZ = dalloc(m * no);
    ref.dW = dalloc(ni * no);
    ref.db = dalloc(no);
    ref.dX = dalloc(m * ni);
    nn_dense_get_params(c.d, NN_ROW_MAJOR, ref.W, no, ref.b);
    dense_nn_step(&c);
    dense_ref_step(&ref);
    const double *dW = nn_dense_grad_weights(c.d), *db = nn_dense_grad_bias(c.d);
    double e = rel_err(c.A, ref.Z, m * no);
    e = fmax(e, rel_err(dW, ref.dW, ni * no));
    e = fmax(e, rel_err(db, ref.db, no));
    e = fmax(e, rel_err(c.dX, ref.dX, m * ni));
    double t_first = -1, t_first2 = -1;
    int do_naive = want_naive(w) && r->threads == 1;
    if (do_naive) {
        ref.gemm = naive_gemm_ijk;
        double t0 = now();
        dense_ref_step(&ref);
        t_first = now() - t0;
        double en = rel_err(c.A, ref.Z, m * no);
        en = fmax(en, rel_err(dW, ref.dW, ni * no));
        en = fmax(en, rel_err(db, ref.db, no));
        en = fmax(en, rel_err(c.dX, ref.dX, m * ni));
        ref.gemm = naive_gemm_reordered;
        t0 = now();
        dense_ref_step(&ref);
        t_first2 = now() - t0;
        en = fmax(en, rel_err(c.dX, ref.dX, m * ni));
        en = fmax(en, rel_err(dW, ref.dW, ni * no));
        e = fmax(e, en);
    }
    r->check_err = e;
    if (!(e <= 1e-12)) {
        snprintf(r->msg, sizeof r->msg, "FAIL: libnn differs from reference "
                 "by %.3g relative", e);
        return;
    }

    /* (4) libnn vs bare dgemm, alternately */
    bare.X = c.X;
    bare.W = ref.W;
    bare.dZ = ref.dZ;
    bare.Z = ref.Z;
    bare.dW = ref.dW;
    bare.dX = ref.dX;
    time_pair(r, dense_nn_step, &c, dense_bare_step, &bare);

    /* (5) naive */
    if (do_naive) {
        ref.gemm = naive_gemm_ijk;
        r->t_nv = time_naive(dense_ref_step, &ref, t_first, &r->nv_reps);
        ref.gemm = naive_gemm_reordered;
        int dummy;
        r->t_nv2 = time_naive(dense_ref_step, &ref, t_first2, &dummy);
    }
    r->ok = 1;
    nn_dense_destroy(c.d);
}

/* ------------------------------------------------------------ network */
typedef struct net_ctx {
    nn_net_t *net;
    nn_optim_t *opt; /* plain SGD, rate alpha */
    size_t m, n0;
    const double *X;
    const int32_t *labels;
    const double *Y;
    size_t ldy;
    double alpha;
    ref_net *ref; /* naive step */
    bench_gemm_fn gemm;
    /* bare products */
    const workload *w;
    double *bA[REF_MAX_LAYERS], *bW[REF_MAX_LAYERS], *bdW[REF_MAX_LAYERS];
    double *bG, *bG2;
} net_ctx;

/* The timed training step: libnn's one-call step with a plain SGD
 * optimizer (forward, loss, backward, update fused into the dW products). */
static nn_status net_train_step(net_ctx *c, double *loss)
{
    if (c->labels)
        return nn_net_train_step_labels(c->net, c->opt, c->m, NN_ROW_MAJOR,
                                        c->X, c->n0, c->labels, loss);
    return nn_net_train_step(c->net, c->opt, c->m, NN_ROW_MAJOR, c->X, c->n0,
                             c->Y, c->ldy, loss);
}

static void net_nn_step(void *p) { net_train_step(p, NULL); }

/* The gradient alone (nn_net_gradient*), for the checks. */
static nn_status net_gradient(net_ctx *c, double *loss)
{
    if (c->labels)
        return nn_net_gradient_labels(c->net, c->m, NN_ROW_MAJOR, c->X, c->n0,
                                      c->labels, loss);
    return nn_net_gradient(c->net, c->m, NN_ROW_MAJOR, c->X, c->n0, c->Y,
                           c->ldy, loss);
}

static void net_bare_step(void *p)
{
    net_ctx *c = p;
    const workload *w = c->w;
    size_t m = c->m, L = w->L;
    const double *in = c->X;
    for (size_t l = 0; l < L; l++) {
        cblas_gemm_fn(0, 0, m, w->n[l + 1], w->n[l], in, w->n[l], c->bW[l],
                      w->n[l + 1], c->bA[l], w->n[l + 1]);
        in = c->bA[l];
    }
    for (size_t l = L; l-- > 0;) {
        const double *inp = l ? c->bA[l - 1] : c->X;
        cblas_gemm_fn(1, 0, w->n[l], w->n[l + 1], m, inp, w->n[l], c->bG,
                      w->n[l + 1], c->bdW[l], w->n[l + 1]);
        if (l)
            cblas_gemm_fn(0, 1, m, w->n[l], w->n[l + 1], c->bG, w->n[l + 1],
                          c->bW[l], w->n[l + 1], c->bG2, w->n[l]);
    }
}

static void net_ref_step(void *p)
{
    net_ctx *c = p;
    ref_net_gradient(c->ref, c->gemm, c->X, c->labels, c->Y);
    ref_net_sgd(c->ref, c->alpha);
}

static void bare_alloc(net_ctx *c)
{
    const workload *w = c->w;
    size_t mx = 0;
    for (size_t l = 0; l < w->L; l++) {
        c->bW[l] = drand_new(w->n[l] * w->n[l + 1], -0.1, 0.1);
        c->bA[l] = drand_new(c->m * w->n[l + 1], -1, 1);
        c->bdW[l] = dalloc(w->n[l] * w->n[l + 1]);
        mx = w->n[l + 1] > mx ? w->n[l + 1] : mx;
    }
    c->bG = drand_new(c->m * mx, -1, 1);
    c->bG2 = dalloc(c->m * mx);
}

static void bare_free(net_ctx *c)
{
    for (size_t l = 0; l < c->w->L; l++) free(c->bW[l]), free(c->bA[l]),
                                         free(c->bdW[l]);
    free(c->bG), free(c->bG2);
}

static double net_compare(nn_net_t *net, const ref_net *ref, int grads)
{
    double e = 0.0;
    const double *flat = grads ? nn_net_grads(net) : nn_net_params(net);
    for (size_t l = 0; l < ref->L; l++) {
        size_t nw = ref->n[l] * ref->n[l + 1], no = ref->n[l + 1];
        size_t wo = 0, bo = 0;
        nn_net_layer_offset(net, l, &wo, &bo);
        const double *W = flat + wo, *b = flat + bo;
        e = fmax(e, rel_err(W, grads ? ref->dW[l] : ref->W[l], nw));
        e = fmax(e, rel_err(b, grads ? ref->db[l] : ref->b[l], no));
    }
    return e;
}

/* The workload's network (weights from seed 1, workspace for the batch)
 * and a plain SGD optimizer of rate c->alpha. Returns 0 or a status. */
static nn_status make_net(const workload *w, net_ctx *c)
{
    nn_netspec_t *spec = NULL;
    nn_status st = nn_netspec_create(&spec, w->n[0], w->loss, NULL);
    for (size_t l = 0; !st && l < w->L; l++)
        st = nn_netspec_add_dense(spec, w->n[l + 1], w->act[l]);
    if (!st) st = nn_net_create(&c->net, spec, NULL);
    nn_netspec_destroy(spec);
    if (!st) st = nn_net_init(c->net, NN_INIT_DEFAULT, 1);
    if (!st) st = nn_net_reserve(c->net, c->m);
    if (!st) st = nn_optim_create(&c->opt, c->net, NN_OPTIM_SGD, NULL);
    if (!st) st = nn_optim_set_real(c->opt, NN_OPTIM_LR, c->alpha);
    return st;
}

static void run_net(const workload *w, row *r)
{
    size_t m = w->batch, n0 = w->n[0], k = w->n[w->L];
    net_ctx c = {.m = m, .n0 = n0, .w = w, .alpha = 1e-3};
    /* (1) warm BLAS */
    double *Xw = drand_new(m * n0, 0, 1);
    c.X = Xw;
    bare_alloc(&c);
    net_bare_step(&c);
    bare_free(&c);
    free(Xw);
    r->rss_base_kib = rss_now_kib();
    reset_peak_rss();

    /* (2) libnn alone */
    double *X = drand_new(m * n0, 0, 1);
    int32_t *labels = NULL;
    double *Y = NULL;
    if (w->loss == NN_LOSS_SOFTMAX_CE) {
        labels = malloc(m * sizeof *labels);
        for (size_t i = 0; i < m; i++)
            labels[i] = (int32_t)((size_t)(urand() * (double)k) % k);
    } else {
        Y = dalloc(m * k);
        for (size_t i = 0; i < m * k; i++) Y[i] = urand() < 0.5 ? 0.0 : 1.0;
    }
    c.X = X;
    c.labels = labels;
    c.Y = Y;
    c.ldy = k;
    if (make_net(w, &c)) {
        snprintf(r->msg, sizeof r->msg,
                 "nn_net_create/init/reserve or nn_optim_create failed");
        return;
    }
    /* non-zero biases, so the bias passes are checked too */
    for (size_t l = 0; l < w->L; l++) {
        size_t wo = 0, bo = 0;
        nn_net_layer_offset(c.net, l, &wo, &bo);
        double *b = nn_net_params(c.net) + bo;
        for (size_t j = 0; j < w->n[l + 1]; j++) b[j] = 0.1 * (urand() - 0.5);
    }
    net_nn_step(&c);
    net_nn_step(&c);
    r->rss_peak_kib = maxrss_kib();
    size_t sumw = 0, maxw = 0;
    for (size_t l = 0; l < w->L; l++) {
        sumw += w->n[l + 1];
        maxw = w->n[l + 1] > maxw ? w->n[l + 1] : maxw;
    }
    r->need_kib = ((double)nn_net_n_params(c.net) * 2 + (double)m * (double)(sumw + 2 * maxw) +
                   (double)m * (double)n0 + (Y ? (double)(m * k) : 0.0)) * sizeof(double) / 1024.0 +
                  (labels ? (double)(m * sizeof(int32_t)) / 1024.0 : 0.0);

    /* (3) check: one gradient and one SGD step, libnn vs reference */
    ref_net ref;
    if (ref_net_alloc(&ref, w->L, w->n, w->act, w->loss, m)) {
        snprintf(r->msg, sizeof r->msg, "reference allocation failed");
        return;
    }
    for (size_t l = 0; l < w->L; l++)
        nn_net_get_params(c.net, l, NN_ROW_MAJOR, ref.W[l], w->n[l + 1], ref.b[l]);
    double loss_nn = NAN;
    nn_status st = net_gradient(&c, &loss_nn);
    if (st) {
        snprintf(r->msg, sizeof r->msg, "FAIL: gradient: %s", nn_strerror(st));
        return;
    }
    double loss_ref = ref_net_gradient(&ref, cblas_gemm_fn, X, labels, Y);
    double e = fabs(loss_nn - loss_ref) / fmax(fabs(loss_ref), 1e-300);
    e = fmax(e, net_compare(c.net, &ref, 1));
    st = nn_optim_step(c.opt, c.net);
    if (st) {
        snprintf(r->msg, sizeof r->msg, "FAIL: optim_step: %s", nn_strerror(st));
        return;
    }
    ref_net_sgd(&ref, c.alpha);
    e = fmax(e, net_compare(c.net, &ref, 0));
    /* the timed (fused) step from the same parameters as the reference's
     * gradient + SGD step */
    st = net_train_step(&c, &loss_nn);
    if (st) {
        snprintf(r->msg, sizeof r->msg, "FAIL: train_step: %s", nn_strerror(st));
        return;
    }
    loss_ref = ref_net_gradient(&ref, cblas_gemm_fn, X, labels, Y);
    ref_net_sgd(&ref, c.alpha);
    e = fmax(e, fabs(loss_nn - loss_ref) / fmax(fabs(loss_ref), 1e-300));
    e = fmax(e, net_compare(c.net, &ref, 0));
    double t_first = -1, t_first2 = -1;
    int do_naive = want_naive(w) && r->threads == 1;
    c.ref = &ref;
    if (do_naive) {
        /* naive gradient from the same parameters as libnn's next one */
        st = net_gradient(&c, &loss_nn);
        double t0 = now();
        loss_ref = ref_net_gradient(&ref, naive_gemm_ijk, X, labels, Y);
        ref_net_sgd(&ref, c.alpha);
        t_first = now() - t0;
        if (!st) st = nn_optim_step(c.opt, c.net);
        if (st) {
            snprintf(r->msg, sizeof r->msg, "FAIL: gradient/step: %s",
                     nn_strerror(st));
            return;
        }
        e = fmax(e, fabs(loss_nn - loss_ref) / fmax(fabs(loss_ref), 1e-300));
        e = fmax(e, net_compare(c.net, &ref, 1));
        e = fmax(e, net_compare(c.net, &ref, 0));
        c.gemm = naive_gemm_reordered;
        t0 = now();
        net_ref_step(&c);
        t_first2 = now() - t0;
    }
    r->check_err = e;
    if (!(e <= 1e-12)) {
        snprintf(r->msg, sizeof r->msg, "FAIL: libnn differs from reference "
                 "by %.3g relative", e);
        return;
    }

    /* (4) libnn vs bare dgemm */
    bare_alloc(&c);
    time_pair(r, net_nn_step, &c, net_bare_step, &c);
    bare_free(&c);

    /* (5) naive */
    if (do_naive) {
        c.gemm = naive_gemm_ijk;
        r->t_nv = time_naive(net_ref_step, &c, t_first, &r->nv_reps);
        c.gemm = naive_gemm_reordered;
        int dummy;
        r->t_nv2 = time_naive(net_ref_step, &c, t_first2, &dummy);
    }
    r->ok = 1;
    ref_net_free(&ref);
    nn_optim_destroy(c.opt);
    nn_net_destroy(c.net);
}

/* ------------------------------------------------------------ driver */
static void run_child(const workload *w, int threads, row *r)
{
    memset(r, 0, sizeof *r);
    r->threads = threads;
    r->flops = wl_flops(w);
    nn_set_num_threads((size_t)threads);
    if (w->kind == WL_DENSE)
        run_dense(w, r);
    else
        run_net(w, r);
}

static int run_forked(const workload *w, int threads, row *r)
{
    int fds[2];
    if (pipe(fds)) return -1;
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        close(fds[0]);
        row cr;
        run_child(w, threads, &cr);
        ssize_t n = write(fds[1], &cr, sizeof cr);
        _exit(n == (ssize_t)sizeof cr ? 0 : 2);
    }
    close(fds[1]);
    size_t got = 0;
    while (got < sizeof *r) {
        ssize_t n = read(fds[0], (char *)r + got, sizeof *r - got);
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    if (got != sizeof *r) {
        memset(r, 0, sizeof *r);
        r->threads = threads;
        r->flops = wl_flops(w);
        snprintf(r->msg, sizeof r->msg, "FAIL: child died (status %d)", status);
    }
    return 0;
}

static const char *wl_kind_name(const workload *w)
{
    if (w->kind == WL_DENSE) return "dense";
    return w->L == 2 && w->n[0] == 2 ? "notes241" : "mlp";
}

static void fmt_num(char *buf, size_t n, const char *f, double v)
{
    if (v > 0 && isfinite(v))
        snprintf(buf, n, f, v);
    else
        snprintf(buf, n, "-");
}

static void print_row(const workload *w, const row *r, FILE *csv)
{
    double gf_nn = r->t_nn > 0 ? r->flops / r->t_nn / 1e9 : 0;
    double gf_bl = r->t_bl > 0 ? r->flops / r->t_bl / 1e9 : 0;
    double gf_nv = r->t_nv > 0 ? r->flops / r->t_nv / 1e9 : 0;
    double sps = r->t_nn > 0 ? (double)w->batch / r->t_nn : 0;
    double sp = r->t_nv > 0 && r->t_nn > 0 ? r->t_nv / r->t_nn : 0;
    double sp2 = r->t_nv2 > 0 && r->t_nn > 0 ? r->t_nv2 / r->t_nn : 0;
    double eff = r->t_nn > 0 ? r->t_bl / r->t_nn : 0;
    size_t width = w->kind == WL_DENSE ? w->n[1] : w->n[1];
    char a[6][32];
    if (r->ok) {
        fmt_num(a[0], 32, "%.3f", gf_nn);
        fmt_num(a[1], 32, "%.3f", gf_bl);
        fmt_num(a[2], 32, "%.3f", gf_nv);
        fmt_num(a[3], 32, "%.0f", sps);
        fmt_num(a[4], 32, "%.1f", sp);
        fmt_num(a[5], 32, "%.1f", sp2);
        printf("%-26s %5zu %3d %10.4g %8s %8s %7s %11s %8s %8s %6.3f %5.2f/%-4.2g %7.1f %8.1f %8.1f\n",
               w->name, w->batch, r->threads, r->t_nn * 1e6, a[0], a[1], a[2],
               a[3], a[4], a[5], eff, r->allocs_per_step, r->nn_allocs_per_step,
               (double)r->rss_peak_kib / 1024.0,
               (double)r->rss_base_kib / 1024.0, r->need_kib / 1024.0);
    } else {
        printf("%-26s %5zu %3d  %s\n", w->name, w->batch, r->threads, r->msg[0] ? r->msg : "FAIL");
    }
    fflush(stdout);
    if (csv) {
        fprintf(csv, "%s,%s,%zu,%zu,%d,%s,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g,"
                     "%.6g,%.6g,%.6g,%.6g,%.6g,%.4f,%.4g,%.4g,%ld,%ld,%.0f,%d,%d,%.3g\n",
                wl_kind_name(w), w->name, width, w->batch, r->threads,
                r->ok ? "ok" : "FAIL", r->flops, r->t_nn, r->t_bl, r->t_nv,
                r->t_nv2, gf_nn, gf_bl, gf_nv, sps, sp, sp2,
                r->t_nv2 > 0 ? r->flops / r->t_nv2 / 1e9 : 0.0, eff,
                r->allocs_per_step, r->nn_allocs_per_step, r->rss_peak_kib, r->rss_base_kib,
                r->need_kib, opt.reps, r->nv_reps, r->check_err);
        fflush(csv);
    }
}

static workload mk_dense(size_t width, size_t batch, int required)
{
    workload w = {.kind = WL_DENSE, .batch = batch, .L = 1,
                  .n = {width, width}, .act = {NN_ACT_RELU},
                  .naive_required = required};
    snprintf(w.name, sizeof w.name, "dense %zu", width);
    return w;
}

static workload mk_net(const char *name, size_t batch, size_t L,
                       const size_t *n, const nn_activation *act, nn_loss loss)
{
    workload w = {.kind = WL_NET, .batch = batch, .L = L, .loss = loss};
    snprintf(w.name, sizeof w.name, "%s", name);
    for (size_t l = 0; l <= L; l++) w.n[l] = n[l];
    for (size_t l = 0; l < L; l++) w.act[l] = act[l];
    return w;
}

static void machine_info(void)
{
    char model[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *p = strchr(line, ':');
                if (p) {
                    snprintf(model, sizeof model, "%s", p + 2);
                    model[strcspn(model, "\n")] = 0;
                }
                break;
            }
        fclose(f);
    }
    printf("# machine: %s, %ld online CPUs\n", model, sysconf(_SC_NPROCESSORS_ONLN));
    /* the BLAS as libnn sees it (any CBLAS), and the kernel set in use:
     * OpenBLAS without OPENBLAS_CORETYPE may fall back to Prescott's */
    const char *ct = getenv("OPENBLAS_CORETYPE");
    printf("# BLAS: %s (core %s; OPENBLAS_CORETYPE=%s)\n", nn_blas_name(),
           nn_blas_core(), ct ? ct : "unset");
    printf("# libnn %s\n", nn_version_string());
    print_load("at start (other processes make the numbers noisy)");
}

static void usage(void)
{
    fprintf(stderr,
            "usage: nnbench [--quick] [--csv FILE] [--max-threads N] [--reps N]\n"
            "               [--min-time SECONDS] [--filter SUBSTRING] [--no-naive]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    opt.max_threads = ncpu > 0 ? (int)ncpu : 1;
    opt.reps = 7;
    opt.min_time = 0.04;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) opt.quick = 1;
        else if (!strcmp(a, "--no-naive")) opt.no_naive = 1;
        else if (!strcmp(a, "--csv") && v) opt.csv = v, i++;
        else if (!strcmp(a, "--filter") && v) opt.filter = v, i++;
        else if (!strcmp(a, "--max-threads") && v) opt.max_threads = atoi(v), i++;
        else if (!strcmp(a, "--reps") && v) opt.reps = atoi(v), i++;
        else if (!strcmp(a, "--min-time") && v) opt.min_time = atof(v), i++;
        else usage();
    }
    if (opt.quick) {
        opt.reps = opt.reps == 7 ? 3 : opt.reps;
        opt.min_time = opt.min_time == 0.04 ? 0.01 : opt.min_time;
        opt.naive_max_flops = 2e7;
    } else {
        opt.naive_max_flops = 1.2e8;
    }
    if (opt.max_threads < 1 || opt.reps < 1 || opt.reps > 64) usage();

    /* ---- the standard set */
    workload wl[64];
    int nw = 0;
    static const size_t widths[] = {16, 64, 256, 1024, 2048};
    static const size_t batches[] = {1, 64, 256, 1024};
    for (size_t i = 0; i < 5; i++)
        for (size_t j = 0; j < 4; j++) {
            if (opt.quick && (widths[i] == 2048 || batches[j] == 1024)) continue;
            wl[nw++] = mk_dense(widths[i], batches[j],
                                widths[i] == 1024 && batches[j] == 1024);
        }
    static const size_t fm[] = {784, 256, 128, 10};
    static const nn_activation fm_act[] = {NN_ACT_RELU, NN_ACT_RELU, NN_ACT_SOFTMAX};
    static const size_t wide[] = {2048, 2048, 2048, 10};
    static const size_t kann[] = {784, 64, 10};
    static const nn_activation kann_act[] = {NN_ACT_RELU, NN_ACT_SOFTMAX};
    static const size_t notes[] = {2, 4, 1};
    static const nn_activation notes_act[] = {NN_ACT_TANH, NN_ACT_SIGMOID};
    wl[nw++] = mk_net("mlp 784-256-128-10", 64, 3, fm, fm_act, NN_LOSS_SOFTMAX_CE);
    wl[nw++] = mk_net("mlp 784-256-128-10", 1024, 3, fm, fm_act, NN_LOSS_SOFTMAX_CE);
    wl[nw++] = mk_net("mlp 2048-2048-2048-10", opt.quick ? 64 : 256, 3, wide, fm_act,
                      NN_LOSS_SOFTMAX_CE);
    wl[nw++] = mk_net("mlp 784-64-10", 64, 2, kann, kann_act, NN_LOSS_SOFTMAX_CE);
    wl[nw++] = mk_net("notes 2-4-1", 1, 2, notes, notes_act, NN_LOSS_BCE);

    FILE *csv = NULL;
    if (opt.csv) {
        csv = fopen(opt.csv, "w");
        if (!csv) {
            fprintf(stderr, "nnbench: cannot write %s: %s\n", opt.csv, strerror(errno));
            return 1;
        }
        fprintf(csv, "workload,name,width,batch,threads,check,flops_per_step,"
                     "libnn_s,dgemm_s,naive_s,naive_reordered_s,gflops_libnn,"
                     "gflops_dgemm,gflops_naive,samples_per_s,speedup_naive,"
                     "speedup_naive_reordered,gflops_naive_reordered,"
                     "efficiency,allocs_per_step,libnn_allocs_per_step,rss_peak_kib,rss_base_kib,"
                     "need_kib,reps,naive_reps,check_rel_err\n");
    }

    machine_info();
    printf("# FLOPs count only the matrix products: 2 per multiply-add of X.W, "
           "X^T.dZ and dZ.W^T\n"
           "#   (a network's first layer has no dX); bias, activation, loss and "
           "update are not counted.\n"
           "# Times are medians of %d repetitions of a loop of >= %.3g s; libnn "
           "and bare dgemm alternate.\n"
           "# efficiency = bare-dgemm time / libnn time; speedup = naive time / "
           "libnn time (naive: textbook\n"
           "#   i,j,k loop, -O2; 'reord': loop order with a contiguous inner "
           "loop). allocs = malloc-family\n"
           "#   calls per timed libnn step / of which by libnn.so; RSS peak/base/need in MiB (see "
           "docs/PERFORMANCE.md).\n"
           "# Every row was first checked against a reference to 1e-12 "
           "relative (else FAIL).\n",
           opt.reps, opt.min_time);
    printf("%-26s %5s %3s %10s %8s %8s %7s %11s %8s %8s %6s %10s %7s %8s %8s\n",
           "workload", "batch", "thr", "us/step", "GF/s nn", "GF/s bl",
           "GF/s nv", "samples/s", "x naive", "x reord", "eff", "allocs/nn",
           "RSS pk", "RSS base", "need");
    dl_iterate_phdr(find_libnn, NULL);
    if (!nn_hi) printf("# warning: libnn.so not found; allocations not attributed\n");
    double t_start = now();
    int fails = 0;
    for (int i = 0; i < nw; i++) {
        if (opt.filter && !strstr(wl[i].name, opt.filter)) continue;
        carry_nv = carry_nv2 = 0;
        carry_nv_reps = 0;
        for (int t = 1; t <= opt.max_threads; t++) {
            row r;
            run_forked(&wl[i], t, &r);
            if (t == 1) {
                carry_nv = r.t_nv;
                carry_nv2 = r.t_nv2;
                carry_nv_reps = r.nv_reps;
            } else if (r.ok && carry_nv > 0) {
                r.t_nv = carry_nv;
                r.t_nv2 = carry_nv2;
                r.nv_reps = carry_nv_reps;
            }
            if (!r.ok) fails++;
            print_row(&wl[i], &r, csv);
        }
    }
    print_load("at end");
    printf("# total %.1f s, %d failed row(s)\n", now() - t_start, fails);
    if (csv) fclose(csv);
    return fails ? 1 : 0;
}
