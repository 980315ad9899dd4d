/* test_threads.c — threads and libnn:
 * - one shared model: a seeded network, read-only, used by 8 threads at once,
 *   each with its own execution context, for thousands of nn_net_predict and
 *   nn_net_loss_labels calls (batches of 1..64 rows, row- and column-major):
 *   every result is bitwise the serial result computed beforehand;
 * - distinct networks trained in several threads at once give bitwise the
 *   results of training them one after the other.
 * Built twice: plain (pthreads), and with -fopenmp -DTU_OPENMP as
 * test_threads_omp, which adds the shared-model test driven by an OpenMP
 * parallel for loop. Both are meant to pass under -fsanitize=thread. */
#include "testutil.h"

#include <pthread.h>
#include <unistd.h>
#include <string.h>
#ifdef TU_OPENMP
#include <omp.h>
#endif
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TU_ON_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef TU_ON_VALGRIND
#define TU_ON_VALGRIND() 0
#endif
/* ThreadSanitizer (GCC's macro, clang's feature test). */
#if defined(__SANITIZE_THREAD__)
#define TU_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TU_TSAN 1
#endif
#endif

/* One BLAS thread, so that every product runs in the calling thread (and a
 * BLAS without thread control is fine too). */
static void one_blas_thread(void)
{
    nn_status st = nn_set_num_threads(1);
    ck_assert(st == NN_OK || st == NN_ERR_UNSUPPORTED);
}

/* ================================================================ shared model */
enum {
    SIN = 24, SH1 = 32, SH2 = 16, SOUT = 5, /* 24-32-16-5 tanh/relu/softmax */
    SROWS = 256,                            /* rows of the input pool       */
    SCAP = 64,                              /* context capacity, max batch  */
    NCASE = 128,                            /* distinct calls               */
    NTHREADS = 8,
    ITERS = 2000, /* per thread, each one predict and one loss call */
    ITERS_VALGRIND = 40 /* valgrind runs the threads one at a time */
};

/* Iterations per thread: fewer under valgrind (it serialises threads and
 * checks memory, not races; ThreadSanitizer runs the full count). */
static size_t iters(void)
{
    return TU_ON_VALGRIND() ? ITERS_VALGRIND : ITERS;
}

/* Case c: m rows from row r0, in `order`. Cases c and c + NCASE/2 are the
 * same batch in the two orders; m runs through 1..SCAP in each half. */
typedef struct {
    size_t r0, m;
    nn_order order;
} scase;

static struct {
    nn_net_t *net; /* the shared model: only read once the references exist */
    double X[SROWS * SIN];  /* row-major */
    double XC[SROWS * SIN]; /* the same matrix column-major, ld SROWS */
    int32_t lab[SROWS];
    scase cases[NCASE];
    double refY[NCASE][SCAP * SOUT]; /* serial predictions (packed)       */
    double refL[NCASE];              /* serial losses                     */
} S;

/* One case on net with ctx: the predictions into Y (m x SOUT packed, in the
 * case's order) and the loss into *loss. */
static nn_status run_case(const nn_net_t *net, nn_ctx_t *ctx, size_t c,
                          double *Y, double *loss)
{
    const scase *k = &S.cases[c];
    bool row = k->order == NN_ROW_MAJOR;
    const double *X = row ? S.X + k->r0 * SIN : S.XC + k->r0;
    size_t ldx = row ? SIN : SROWS, ldy = row ? SOUT : k->m;
    nn_status st = nn_net_predict(net, ctx, k->m, k->order, X, ldx, Y, ldy);
    if (st != NN_OK) return st;
    return nn_net_loss_labels(net, ctx, k->m, k->order, X, ldx, S.lab + k->r0,
                              loss);
}

/* Run case c and compare bitwise with the reference: 0 if equal, 1 if not,
 * 2 if a call failed. Y is poisoned first so stale values cannot pass. */
static int check_case(const nn_net_t *net, nn_ctx_t *ctx, size_t c)
{
    double Y[SCAP * SOUT], loss = NAN;
    memset(Y, 0xFF, sizeof Y);
    if (run_case(net, ctx, c, Y, &loss) != NN_OK) return 2;
    size_t n = S.cases[c].m * SOUT * sizeof(double);
    return memcmp(Y, S.refY[c], n) != 0 || memcmp(&loss, &S.refL[c], sizeof loss);
}

/* Build the shared network (seeded, then every parameter, biases included,
 * drawn from the test's generator), the data and the serial references.
 * With reserve, the net also gets a training workspace (the case of
 * a shared, reserved network): inference must not touch it. */
static void shared_setup(bool reserve)
{
    one_blas_thread();
    const size_t units[3] = {SH1, SH2, SOUT};
    const nn_activation acts[3] = {NN_ACT_TANH, NN_ACT_RELU, NN_ACT_SOFTMAX};
    S.net = tu_net(SIN, 3, units, acts, NN_LOSS_SOFTMAX_CE, NULL);
    NN_OK_OR_FAIL(nn_net_init(S.net, NN_INIT_DEFAULT, 7));
    tu_rng r = {99};
    tu_fill(&r, nn_net_params(S.net), nn_net_n_params(S.net), -0.5, 0.5);
    if (reserve) NN_OK_OR_FAIL(nn_net_reserve(S.net, SCAP));
    tu_fill(&r, S.X, SROWS * SIN, -2, 2);
    for (size_t i = 0; i < SROWS; i++) {
        S.lab[i] = (int32_t)(tu_next(&r) % SOUT);
        for (size_t j = 0; j < SIN; j++) S.XC[j * SROWS + i] = S.X[i * SIN + j];
    }
    for (size_t c = 0; c < NCASE; c++) {
        size_t h = c % (NCASE / 2);
        S.cases[c].m = 1 + (h * 37) % SCAP;
        S.cases[c].r0 = (h * 53) % (SROWS - S.cases[c].m + 1);
        S.cases[c].order = c < NCASE / 2 ? NN_ROW_MAJOR : NN_COL_MAJOR;
    }
    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, S.net, SCAP, NULL));
    for (size_t c = 0; c < NCASE; c++) {
        NN_OK_OR_FAIL(run_case(S.net, ctx, c, S.refY[c], &S.refL[c]));
        ck_assert(isfinite(S.refL[c]) && S.refL[c] > 0);
    }
    nn_ctx_destroy(ctx);
}

static void shared_teardown(void)
{
    nn_net_destroy(S.net);
    S.net = NULL;
}

/* Case of call i in thread t: every thread walks all cases, each from its
 * own starting point and with its own stride. */
static size_t case_of(size_t t, size_t i)
{
    return (t * 17 + i * (2 * t + 1)) % NCASE;
}

typedef struct {
    size_t id;
    long bad;  /* calls whose result differed from the reference */
    long errs; /* calls that failed, or setup that failed */
} worker;

/* A thread: its own context (thread 0's in its own memory, through
 * nn_ctx_create_in), created from the shared net; a clone of the net made
 * concurrently with the others (a read of the shared net too) serves the
 * first calls; then ITERS checked cases on the shared net. */
static void *shared_worker(void *arg)
{
    worker *w = arg;
    nn_ctx_t *ctx = NULL;
    void *mem = NULL;
    nn_net_t *mine = NULL;
    size_t bytes = 0;
    if (w->id == 0) {
        if (nn_ctx_size(S.net, SCAP, &bytes) == NN_OK && (mem = malloc(bytes)))
            w->errs += nn_ctx_create_in(&ctx, S.net, SCAP, mem, bytes) != NN_OK;
        else w->errs++;
    } else {
        w->errs += nn_ctx_create(&ctx, S.net, SCAP, NULL) != NN_OK;
    }
    w->errs += nn_net_clone(&mine, S.net, NULL) != NN_OK;
    if (w->errs) goto out;
    for (size_t i = 0, n = iters(); i < n; i++) {
        const nn_net_t *net = i < 16 ? mine : S.net;
        int r = check_case(net, ctx, case_of(w->id, i));
        w->bad += r == 1;
        w->errs += r == 2;
    }
out:
    nn_net_destroy(mine);
    nn_ctx_destroy(ctx);
    free(mem);
    return NULL;
}

START_TEST(shared_model_pthreads)
{
    shared_setup(false);
    pthread_t th[NTHREADS];
    worker w[NTHREADS];
    for (size_t t = 0; t < NTHREADS; t++) {
        w[t] = (worker){.id = t};
        ck_assert_int_eq(pthread_create(&th[t], NULL, shared_worker, &w[t]), 0);
    }
    long bad = 0, errs = 0;
    for (size_t t = 0; t < NTHREADS; t++) {
        ck_assert_int_eq(pthread_join(th[t], NULL), 0);
        bad += w[t].bad;
        errs += w[t].errs;
    }
    ck_assert_msg(errs == 0, "%ld calls failed", errs);
    ck_assert_msg(bad == 0, "%ld of %zu results differ from the serial ones",
                  bad, 2 * NTHREADS * iters());
    shared_teardown();
}
END_TEST

/* The header's promise that the shared test relies on: a column-major batch
 * gives bitwise the row-major results (cases c and c + NCASE/2), and the
 * cases do cover every batch size from 1 to SCAP. */
START_TEST(shared_cases_cover_orders_and_sizes)
{
    shared_setup(false);
    bool seen[SCAP + 1] = {false};
    for (size_t c = 0; c < NCASE / 2; c++) {
        size_t d = c + NCASE / 2, m = S.cases[c].m;
        seen[m] = true;
        ck_assert(S.cases[d].m == m && S.cases[d].r0 == S.cases[c].r0);
        for (size_t i = 0; i < m; i++)
            for (size_t j = 0; j < SOUT; j++)
                ck_assert(memcmp(&S.refY[c][i * SOUT + j],
                                 &S.refY[d][j * m + i], sizeof(double)) == 0);
        ck_assert(memcmp(&S.refL[c], &S.refL[d], sizeof(double)) == 0);
    }
    for (size_t m = 1; m <= SCAP; m++) ck_assert(seen[m]);
    /* every thread walks every case */
    for (size_t t = 0; t < NTHREADS; t++) {
        bool hit[NCASE] = {false};
        for (size_t i = 0; i < NCASE; i++) hit[case_of(t, i)] = true;
        for (size_t c = 0; c < NCASE; c++) ck_assert(hit[c]);
    }
    shared_teardown();
}
END_TEST

#ifdef TU_OPENMP
/* The case: an OpenMP parallel loop evaluating one shared (and here
 * reserved) surrogate, one context per thread. Results are tallied with
 * atomics, not an OpenMP reduction, and every thread ends with a release
 * that the main thread acquires before it reads the tallies and frees the
 * network: libgomp's own barriers and reductions are not instrumented, so
 * ThreadSanitizer would see no order there (the team itself is created with
 * pthread_create, which it does see, in this test's first parallel region). */
START_TEST(shared_model_openmp)
{
    shared_setup(true);
    long bad = 0, errs = 0, done = 0;
#pragma omp parallel num_threads(NTHREADS)
    {
        nn_ctx_t *ctx = NULL;
        long my_bad = 0, my_errs = 0;
        if (nn_ctx_create(&ctx, S.net, SCAP, NULL) != NN_OK) my_errs++;
        size_t t = (size_t)omp_get_thread_num();
#pragma omp for schedule(dynamic, 7) nowait
        for (long i = 0; i < (long)(NTHREADS * iters()); i++) {
            if (!ctx) continue;
            int r = check_case(S.net, ctx, case_of(t, (size_t)i));
            my_bad += r == 1;
            my_errs += r == 2;
        }
        nn_ctx_destroy(ctx);
        __atomic_fetch_add(&bad, my_bad, __ATOMIC_RELAXED);
        __atomic_fetch_add(&errs, my_errs, __ATOMIC_RELAXED);
        __atomic_fetch_add(&done, 1, __ATOMIC_RELEASE);
    }
    ck_assert_int_eq(__atomic_load_n(&done, __ATOMIC_ACQUIRE), NTHREADS);
    ck_assert_msg(errs == 0, "%ld calls failed", errs);
    ck_assert_msg(bad == 0, "%ld of %zu results differ from the serial ones",
                  bad, 2 * NTHREADS * iters());
    shared_teardown();
}
END_TEST
#endif

#ifndef TU_OPENMP
/* ================================================================ per-thread networks */
enum { NT = 4, M = 128, NIN = 200, H1 = 150, STEPS = 10 };

typedef struct {
    uint64_t seed;
    double *params; /* out: first layer's W after training, NIN x H1 */
    nn_status st;
} job;

/* 200-150-11-5 relu/tanh/softmax. */
static nn_status make_job_net(nn_net_t **net)
{
    nn_netspec_t *s = NULL;
    nn_status st = nn_netspec_create(&s, NIN, NN_LOSS_SOFTMAX_CE, NULL);
    if (!st) st = nn_netspec_add_dense(s, H1, NN_ACT_RELU);
    if (!st) st = nn_netspec_add_dense(s, 11, NN_ACT_TANH);
    if (!st) st = nn_netspec_add_dense(s, 5, NN_ACT_SOFTMAX);
    if (!st) st = nn_net_create(net, s, NULL);
    nn_netspec_destroy(s);
    return st;
}

/* Train one network from its seed on its own data; record W of layer 0 (the
 * first NIN*H1 values of the flat parameter array). */
static void *train(void *arg)
{
    job *j = arg;
    static const size_t n_w = (size_t)NIN * H1;
    double *X = malloc((size_t)M * NIN * sizeof *X);
    int32_t lab[M];
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    j->st = X ? make_job_net(&net) : NN_ERR_NOMEM;
    if (j->st) goto out;
    tu_rng r = {j->seed};
    tu_fill(&r, X, (size_t)M * NIN, -1, 1);
    for (size_t i = 0; i < M; i++) lab[i] = (int32_t)(tu_next(&r) % 5);
    j->st = nn_net_init(net, NN_INIT_DEFAULT, j->seed);
    if (!j->st) j->st = nn_optim_create(&opt, net, NN_OPTIM_SGD, NULL);
    if (!j->st) j->st = nn_optim_set_real(opt, NN_OPTIM_LR, 0.1);
    for (int s = 0; s < STEPS && !j->st; s++) {
        j->st = nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, NULL);
        if (!j->st) j->st = nn_optim_step(opt, net);
    }
    if (!j->st) memcpy(j->params, nn_net_params(net), n_w * sizeof(double));
out:
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    free(X);
    return NULL;
}

START_TEST(distinct_networks_in_parallel)
{
    /* 1 and 2 BLAS threads under 4 user threads (without thread control
     * both runs use the BLAS as it is). The 2-thread run only where the
     * cores can hold NT x 2 threads: oversubscribed, BLIS's spin barriers
     * turn seconds into minutes (OpenBLAS's do not), and what is tested —
     * bitwise-equal results — does not depend on the count. */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    size_t blas_threads = (size_t)_i + 1;
    if (cores < (long)(NT * blas_threads)) blas_threads = 1;
    nn_status st = nn_set_num_threads(blas_threads);
    ck_assert(st == NN_OK || st == NN_ERR_UNSUPPORTED);
    static double serial[NT][NIN * H1], parallel[NT][NIN * H1];
    job js[NT], jp[NT];
    for (int t = 0; t < NT; t++) {
        js[t] = (job){.seed = 100 + (uint64_t)t, .params = serial[t]};
        train(&js[t]);
        NN_OK_OR_FAIL(js[t].st);
        jp[t] = (job){.seed = 100 + (uint64_t)t, .params = parallel[t]};
    }
    pthread_t th[NT];
    for (int t = 0; t < NT; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, train, &jp[t]), 0);
    for (int t = 0; t < NT; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < NT; t++) {
        NN_OK_OR_FAIL(jp[t].st);
        ck_assert_mem_eq(serial[t], parallel[t], sizeof serial[t]);
    }
    /* the networks really differ from each other */
    ck_assert(memcmp(serial[0], serial[1], sizeof serial[0]) != 0);
}
END_TEST
#endif /* TU_OPENMP */

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("shared");
    tcase_add_test(tc, shared_cases_cover_orders_and_sizes);
    tcase_add_test(tc, shared_model_pthreads);
#ifdef TU_OPENMP
    tcase_add_test(tc, shared_model_openmp);
#endif
    suite_add_tcase(s, tc);
#ifndef TU_OPENMP /* the OpenMP build adds only its own shared-model test */
    tc = tcase_create("distinct");
    /* Under ThreadSanitizer only with one BLAS thread: OpenBLAS hands work
     * to its own threads through uninstrumented spin-waits, so every
     * threaded dgemm is reported as a race (a false positive). */
#ifdef TU_TSAN
    tcase_add_loop_test(tc, distinct_networks_in_parallel, 0, 1);
#else
    tcase_add_loop_test(tc, distinct_networks_in_parallel, 0, 2);
#endif
    suite_add_tcase(s, tc);
#endif
    return tu_run(s);
}
