/* inferbench.c — surrogate inference (issue 15): nn_net_predict with a
 * caller's context (the 1.0 shared-model call) against the bare products,
 * i.e. only the cblas_dgemm calls a forward pass needs, same shapes and
 * transposes, into preallocated buffers (the ceiling).
 *
 * Workloads: 8-64-64-4 (tanh, identity output) and 32-128-128-8 (sigmoid,
 * identity output), batch 1, 64 and 4096, row- and column-major inputs and
 * outputs. Each row is first checked against a long-double forward pass of
 * the same parameters (max |diff| / max |ref| <= 1e-12, else FAIL and not
 * timed), warmed up, then libnn and the bare products are timed alternately,
 * `reps` times each a loop of at least `min_time` seconds; reported are the
 * medians and the median of the paired ratios libnn / bare.
 *
 * usage: inferbench [--quick] [--reps N] [--min-time S] [--filter SUBSTRING]
 *                   [--csv FILE]
 * One BLAS thread (nn_set_num_threads(1)); set OPENBLAS_CORETYPE as
 * .ci/blas-env does (bench/run sources it). Exit status 1 if a row fails. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <nn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

static void *xalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "inferbench: out of memory\n");
        exit(3);
    }
    return p;
}


/* ------------------------------------------------------------ workloads */
#define NL 3 /* layers of every workload */
typedef struct {
    const char *name;
    size_t n[NL + 1];
    nn_activation hidden;
} arch;

static const arch archs[] = {
    {"8-64-64-4 tanh", {8, 64, 64, 4}, NN_ACT_TANH},
    {"32-128-128-8 sigmoid", {32, 128, 128, 8}, NN_ACT_SIGMOID},
};
static const size_t batches[] = {1, 64, 4096};

typedef struct {
    const arch *a;
    size_t m;
    nn_order order;
    nn_net_t *net;
    nn_ctx_t *ctx;
    double *X, *Y;      /* in `order`, leading dimension m (col) or width */
    size_t ldx, ldy;
    double *W[NL], *b[NL], *C[NL]; /* row-major parameters; bare outputs */
} job;

static struct {
    int reps, quick;
    double min_time;
    const char *filter, *csv;
} opt = {7, 0, 0.05, NULL, NULL};

static nn_net_t *make_net(const arch *a)
{
    nn_netspec_t *spec = NULL;
    nn_net_t *net = NULL;
    nn_status st = nn_netspec_create(&spec, a->n[0], NN_LOSS_MSE, NULL);
    for (size_t l = 0; !st && l < NL; l++)
        st = nn_netspec_add_dense(spec, a->n[l + 1],
                                  l + 1 < NL ? a->hidden : NN_ACT_IDENTITY);
    if (!st) st = nn_net_create(&net, spec, NULL);
    nn_netspec_destroy(spec);
    if (!st) st = nn_net_init(net, NN_INIT_DEFAULT, 42);
    if (st) {
        fprintf(stderr, "inferbench: creating %s: %s\n", a->name,
                nn_strerror(st));
        exit(1);
    }
    return net;
}

static void job_make(job *j, const arch *a, size_t m, nn_order order)
{
    memset(j, 0, sizeof *j);
    j->a = a;
    j->m = m;
    j->order = order;
    j->net = make_net(a);
    if (nn_ctx_create(&j->ctx, j->net, m, NULL)) exit(1);
    size_t ni = a->n[0], no = a->n[NL];
    j->X = xalloc(m * ni * sizeof(double));
    j->Y = xalloc(m * no * sizeof(double));
    for (size_t i = 0; i < m * ni; i++) j->X[i] = 4.0 * urand() - 2.0;
    j->ldx = order == NN_ROW_MAJOR ? ni : m;
    j->ldy = order == NN_ROW_MAJOR ? no : m;
    for (size_t l = 0; l < NL; l++) {
        size_t r = a->n[l], c = a->n[l + 1];
        j->W[l] = xalloc(r * c * sizeof(double));
        j->b[l] = xalloc(c * sizeof(double));
        j->C[l] = xalloc(m * c * sizeof(double));
        if (nn_net_get_params(j->net, l, NN_ROW_MAJOR, j->W[l], c, j->b[l]))
            exit(1);
    }
}

static void job_free(job *j)
{
    for (size_t l = 0; l < NL; l++) {
        free(j->W[l]);
        free(j->b[l]);
        free(j->C[l]);
    }
    free(j->X);
    free(j->Y);
    nn_ctx_destroy(j->ctx);
    nn_net_destroy(j->net);
}

/* ------------------------------------------------------------ the steps */
static void step_libnn(job *j)
{
    nn_net_predict(j->net, j->ctx, j->m, j->order, j->X, j->ldx, j->Y, j->ldy);
}

/* Only the products: C_0 = X.W_0 (X^T in row-major terms when
 * column-major), C_l = C_{l-1}.W_l. */
static void step_bare(job *j)
{
    const double *in = j->X;
    size_t ld = j->ldx;
    for (size_t l = 0; l < NL; l++) {
        size_t k = j->a->n[l], n = j->a->n[l + 1];
        int ta = l == 0 && j->order == NN_COL_MAJOR;
        cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                    CblasNoTrans, (int)j->m, (int)n, (int)k, 1.0, in, (int)ld,
                    j->W[l], (int)n, 0.0, j->C[l], (int)n);
        in = j->C[l];
        ld = n;
    }
}

static long double act_l(nn_activation act, long double z)
{
    if (act == NN_ACT_TANH) return tanhl(z);
    if (act == NN_ACT_SIGMOID) return 1.0L / (1.0L + expl(-z));
    return z;
}

/* max |Y - ref| / max |ref| over the batch, ref in long double */
static double check(job *j)
{
    const arch *a = j->a;
    size_t xrs = j->order == NN_ROW_MAJOR ? j->ldx : 1;
    size_t xcs = j->order == NN_ROW_MAJOR ? 1 : j->ldx;
    long double h[2][256];
    double dmax = 0.0, rmax = 0.0;
    step_libnn(j);
    for (size_t i = 0; i < j->m; i++) {
        for (size_t c = 0; c < a->n[0]; c++)
            h[0][c] = j->X[i * xrs + c * xcs];
        int cur = 0;
        for (size_t l = 0; l < NL; l++) {
            size_t k = a->n[l], n = a->n[l + 1];
            for (size_t c = 0; c < n; c++) {
                long double z = j->b[l][c];
                for (size_t r = 0; r < k; r++) z += h[cur][r] * j->W[l][r * n + c];
                h[!cur][c] = act_l(l + 1 < NL ? a->hidden : NN_ACT_IDENTITY, z);
            }
            cur = !cur;
        }
        for (size_t c = 0; c < a->n[NL]; c++) {
            double y = j->Y[j->order == NN_ROW_MAJOR ? i * j->ldy + c
                                                     : c * j->ldy + i];
            double d = (double)fabsl((long double)y - h[cur][c]);
            if (!(d <= dmax)) dmax = d; /* NaN propagates */
            if ((double)fabsl(h[cur][c]) > rmax) rmax = (double)fabsl(h[cur][c]);
        }
    }
    return rmax > 0 ? dmax / rmax : dmax;
}

/* seconds per call of a loop running for at least t_min */
static double time_loop(void (*f)(job *), job *j, double t_min)
{
    long n = 0;
    double t0 = now(), t;
    do {
        f(j);
        n++;
        t = now() - t0;
    } while (t < t_min);
    return t / (double)n;
}

typedef struct {
    double t_nn, t_bl, ratio, err;
} result;

/* Warm up (both loops, then libnn alone: a short row read from an idle
 * core runs slow), then alternate, reps times each; medians. */
static result time_job(job *j)
{
    result r = {0};
    double tn[64], tb[64], q[64];
    int reps = opt.reps > 64 ? 64 : opt.reps;
    time_loop(step_bare, j, 0.05);
    time_loop(step_libnn, j, opt.quick ? 0.05 : 0.2);
    for (int i = 0; i < reps; i++) {
        if (i % 2) tb[i] = time_loop(step_bare, j, opt.min_time);
        tn[i] = time_loop(step_libnn, j, opt.min_time);
        if (!(i % 2)) tb[i] = time_loop(step_bare, j, opt.min_time);
        q[i] = tn[i] / tb[i];
    }
    r.t_nn = median(tn, reps);
    r.t_bl = median(tb, reps);
    r.ratio = median(q, reps);
    return r;
}

/* ------------------------------------------------------------ main */
static void parse(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--quick")) { opt.quick = 1; opt.reps = 5; opt.min_time = 0.02; }
        else if (!strcmp(a, "--reps") && v) { opt.reps = atoi(v); i++; }
        else if (!strcmp(a, "--min-time") && v) { opt.min_time = atof(v); i++; }
        else if (!strcmp(a, "--filter") && v) { opt.filter = v; i++; }
        else if (!strcmp(a, "--csv") && v) { opt.csv = v; i++; }
        else {
            fprintf(stderr, "usage: inferbench [--quick] [--reps N] "
                    "[--min-time S] [--filter SUBSTRING] [--csv FILE]\n");
            exit(2);
        }
    }
    if (opt.reps < 1) opt.reps = 1;
}

static void busy_warmup(double seconds)
{
    volatile double x = 1.0;
    double t0 = now();
    while (now() - t0 < seconds)
        for (int i = 0; i < 100000; i++) x = x * 1.0000001 + 1e-9;
}

int main(int argc, char **argv)
{
    parse(argc, argv);
    nn_set_num_threads(1);
    const char *core = getenv("OPENBLAS_CORETYPE");
    printf("# inferbench: libnn %s, %s (core %s; OPENBLAS_CORETYPE=%s), "
           "1 thread, medians of %d alternating runs of >= %.3g s\n",
           nn_version_string(), nn_blas_name(), nn_blas_core(),
           core ? core : "(unset)", opt.reps, opt.min_time);
    printf("%-22s %5s %4s %12s %12s %10s %12s %9s %s\n", "workload", "batch",
           "ord", "ns/sample", "bare ns/s", "libnn/bare", "us/call", "check",
           "status");
    FILE *csv = opt.csv ? fopen(opt.csv, "w") : NULL;
    if (csv) fprintf(csv, "workload,batch,order,ns_sample_libnn,ns_sample_bare,"
                          "ratio,us_call_libnn,check_rel_err,status\n");
    busy_warmup(opt.quick ? 0.3 : 1.5);
    int fails = 0;
    for (size_t a = 0; a < sizeof archs / sizeof archs[0]; a++)
        for (size_t bi = 0; bi < sizeof batches / sizeof batches[0]; bi++)
            for (int o = 0; o < 2; o++) {
                if (opt.filter && !strstr(archs[a].name, opt.filter)) continue;
                job j;
                job_make(&j, &archs[a], batches[bi], o ? NN_COL_MAJOR : NN_ROW_MAJOR);
                double err = check(&j);
                int ok = err <= 1e-12;
                result r = {0};
                if (ok) r = time_job(&j);
                fails += !ok;
                double m = (double)j.m;
                printf("%-22s %5zu %4s %12.1f %12.1f %10.3f %12.4f %9.1e %s\n",
                       archs[a].name, j.m, o ? "col" : "row", r.t_nn / m * 1e9,
                       r.t_bl / m * 1e9, r.ratio, r.t_nn * 1e6, err,
                       ok ? "ok" : "FAIL");
                if (csv)
                    fprintf(csv, "%s,%zu,%s,%.2f,%.2f,%.4f,%.5f,%.2e,%s\n",
                            archs[a].name, j.m, o ? "col" : "row",
                            r.t_nn / m * 1e9, r.t_bl / m * 1e9, r.ratio,
                            r.t_nn * 1e6, err, ok ? "ok" : "FAIL");
                fflush(stdout);
                job_free(&j);
            }
    if (csv) fclose(csv);
    return fails ? 1 : 0;
}
