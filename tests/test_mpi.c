/* test_mpi.c — libnn_mpi under `mpirun -np N` (meson runs N = 1, 2, 3, 4):
 * data-parallel training equals single-process training, ranks stay
 * bitwise identical, and every failure is agreed by all ranks.
 *
 * The reference is computed on every rank by plain single-process calls
 * (nn_net_gradient* + nn_optim_step, or nn_train without shards) on the
 * whole data; the distributed runs go through the adapter. Tolerance: the
 * distributed gradient is the same sum in another order (and a division
 * by m after the sum instead of before), so parameters agree to rounding,
 * checked at 1e-12 relative (max |a - b| / max |b|) after 5 steps and after
 * whole epochs; the measured errors are printed by rank 0.
 *
 * Failures: a failed check prints and calls MPI_Abort, so mpirun fails; an
 * alarm ends a rank that waits too long, so a hang fails too. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, alarm */
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn_mpi.h"

static int g_rank, g_size;

static void fail_at(int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rank %d, test_mpi.c:%d: ", g_rank, line);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

#define CHECK(c, ...)                                                        \
    do {                                                                     \
        if (!(c)) fail_at(__LINE__, __VA_ARGS__);                            \
    } while (0)
#define OK(call)                                                             \
    do {                                                                     \
        nn_status st_ = (call);                                              \
        CHECK(st_ == NN_OK, "%s -> %s", #call, nn_strerror(st_));            \
    } while (0)
#define EXPECT(call, want)                                                   \
    do {                                                                     \
        nn_status st_ = (call);                                              \
        CHECK(st_ == (want), "%s -> %s, expected %s", #call,                 \
              nn_strerror(st_), nn_strerror(want));                          \
    } while (0)

/* ------------------------------------------------------------ data */
enum { M = 203, N = 5, C = 3, H = 7, K = 2 };
static double X[M * N], Y[M * K];
static int32_t LAB[M];

/* Three classes from a nonlinear rule on uniform features, dense targets
 * from smooth functions of them (an LCG: no library code involved). */
static void make_data(void)
{
    uint64_t s = 12345;
    for (int i = 0; i < M * N; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        X[i] = (double)(s >> 11) * 0x1.0p-53 * 2.0 - 1.0;
    }
    for (int i = 0; i < M; i++) {
        const double *x = X + i * N;
        double a = x[0] * x[1] + 0.5 * x[2], b = sin(3.0 * x[3]) - x[4];
        LAB[i] = a > 0.1 ? 0 : b > 0.0 ? 1 : 2;
        Y[i * K] = a + 0.1 * b;
        Y[i * K + 1] = x[4] * x[4] - 0.3;
    }
}

static nn_data_t *data_of(const double *x, const int32_t *lab,
                          const double *y, size_t m)
{
    nn_data_t *d = NULL;
    OK(nn_data_create(&d, m, N, NN_ROW_MAJOR, x, N, NULL));
    if (lab) OK(nn_data_set_labels(d, lab));
    else OK(nn_data_set_targets(d, K, NN_ROW_MAJOR, y, K));
    return d;
}

/* ------------------------------------------------------------ models */
typedef struct cfg {
    nn_optim_kind kind;
    double dropout;
    int dense; /* MSE on Y instead of softmax CE on the labels */
} cfg;

static nn_net_t *make_net(const cfg *c, size_t hidden, uint64_t wseed)
{
    nn_netspec_t *s = NULL;
    OK(nn_netspec_create(&s, N, c->dense ? NN_LOSS_MSE : NN_LOSS_SOFTMAX_CE,
                         NULL));
    OK(nn_netspec_add_dense(s, hidden, NN_ACT_TANH));
    OK(nn_netspec_set_real(s, 0, NN_LAYER_DROPOUT, c->dropout));
    OK(nn_netspec_add_dense(s, c->dense ? K : C,
                            c->dense ? NN_ACT_IDENTITY : NN_ACT_SOFTMAX));
    OK(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_DROPOUT_SEED, 77));
    nn_net_t *net = NULL;
    OK(nn_net_create(&net, s, NULL));
    nn_netspec_destroy(s);
    OK(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, wseed));
    return net;
}

static nn_optim_t *make_opt(const nn_net_t *net, nn_optim_kind kind)
{
    nn_optim_t *o = NULL;
    OK(nn_optim_create(&o, net, kind, NULL));
    OK(nn_optim_set_real(o, NN_OPTIM_LR, kind == NN_OPTIM_ADAM ? 0.01 : 0.2));
    return o;
}

/* max |a - b| / max |b| over the parameters. */
static double rel_err(nn_net_t *a, nn_net_t *b)
{
    const double *pa = nn_net_params(a), *pb = nn_net_params(b);
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < nn_net_n_params(a); i++) {
        num = fmax(num, fabs(pa[i] - pb[i]));
        den = fmax(den, fabs(pb[i]));
    }
    return num / den;
}

/* Every rank of comm holds bitwise the same parameters (rank 0's are
 * broadcast and compared byte for byte). */
static void check_identical(MPI_Comm comm, nn_net_t *net, const char *what)
{
    size_t P = nn_net_n_params(net);
    double *mine = nn_net_params(net), *root = malloc(P * sizeof(double));
    memcpy(root, mine, P * sizeof(double));
    MPI_Bcast(root, (int)P, MPI_DOUBLE, 0, comm);
    int same = memcmp(root, mine, P * sizeof(double)) == 0, all = 0;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, comm);
    CHECK(all, "%s: ranks differ (this rank %s)", what,
          same ? "agrees with rank 0" : "differs from rank 0");
    free(root);
}

static void report(const char *fmt, ...)
{
    if (g_rank != 0) return;
    va_list ap;
    va_start(ap, fmt);
    printf("np=%d: ", g_size);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

/* ------------------------------------------------------------ 5 steps */
/* Global batches of varying sizes (3 rows: a rank without rows at np 4). */
static const size_t STEP_ROWS[5] = {10, 10, 3, 7, 10};

static void reference_steps(const cfg *c, nn_net_t *ref, nn_optim_t *ro,
                            double *losses)
{
    size_t off = 0;
    for (int t = 0; t < 5; t++) {
        size_t b = STEP_ROWS[t];
        if (c->dense)
            OK(nn_net_gradient(ref, b, NN_ROW_MAJOR, X + off * N, N,
                               Y + off * K, K, &losses[t]));
        else
            OK(nn_net_gradient_labels(ref, b, NN_ROW_MAJOR, X + off * N, N,
                                      LAB + off, &losses[t]));
        OK(nn_optim_step(ro, ref));
        off += b;
    }
}

/* The same steps by hand on the seam: each rank's rows of every batch
 * (balanced split), under SUM with its global row offset, then
 * nn_mpi_allsum_grads and the same update on every rank. */
static void shard_steps(nn_mpi_t *mpi, const cfg *c, nn_net_t *net,
                        nn_optim_t *opt, double *losses)
{
    OK(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_SUM));
    size_t off = 0, np = (size_t)g_size, r = (size_t)g_rank;
    for (int t = 0; t < 5; t++) {
        size_t b = STEP_ROWS[t], q = b / np, rem = b % np;
        size_t lo = q * r + (r < rem ? r : rem), n = q + (r < rem);
        size_t at = off + lo, mg = 0;
        nn_status st = NN_OK;
        double loss = 0.0;
        OK(nn_net_set_int(net, NN_NET_DROPOUT_ROW0, (int64_t)lo));
        if (n && c->dense)
            st = nn_net_gradient(net, n, NN_ROW_MAJOR, X + at * N, N,
                                 Y + at * K, K, &loss);
        else if (n)
            st = nn_net_gradient_labels(net, n, NN_ROW_MAJOR, X + at * N, N,
                                        LAB + at, &loss);
        OK(nn_mpi_allsum_grads(mpi, net, st, n, NN_REDUCE_MEAN, &loss, &mg));
        CHECK(mg == b, "global rows %zu, expected %zu", mg, b);
        losses[t] = loss;
        OK(nn_optim_step(opt, net));
        off += b;
    }
    OK(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_MEAN));
}

static void test_five_steps(nn_mpi_t *mpi, const cfg *c, const char *name)
{
    /* other ranks start elsewhere (weights, rate, dropout position): the
     * broadcast must give them rank 0's, which are the reference's */
    nn_net_t *ref = make_net(c, H, 5);
    nn_net_t *net = make_net(c, H, g_rank == 0 ? 5 : 100 + (uint64_t)g_rank);
    nn_optim_t *ro = make_opt(ref, c->kind), *opt = make_opt(net, c->kind);
    if (g_rank != 0) {
        OK(nn_optim_set_real(opt, NN_OPTIM_LR, 0.5));
        OK(nn_net_set_int(net, NN_NET_DROPOUT_STEP, 3));
    }
    double lref[5], l[5];
    reference_steps(c, ref, ro, lref);
    OK(nn_mpi_broadcast(mpi, net, opt));
    shard_steps(mpi, c, net, opt, l);
    double e = rel_err(net, ref), el = 0.0;
    for (int t = 0; t < 5; t++) el = fmax(el, fabs(l[t] - lref[t]) / lref[t]);
    report("%-22s 5 steps: params rel err %.2e, loss rel err %.2e", name, e,
           el);
    CHECK(e <= 1e-12, "%s: 5 steps rel err %g", name, e);
    CHECK(el <= 1e-12, "%s: 5 steps loss rel err %g", name, el);
    check_identical(MPI_COMM_WORLD, net, name);
    nn_optim_destroy(opt);
    nn_optim_destroy(ro);
    nn_net_destroy(net);
    nn_net_destroy(ref);
}

/* ------------------------------------------------------------ nn_mpi_train */
/* Batch 12 on 203 rows (16 full batches and one of 11), a validation split
 * of 0.2 (41 rows, sharded too), patience, a cosine schedule with warm-up,
 * batch reports: everything the trainer does, over `epochs` epochs. */
static nn_trainer_t *make_trainer(int64_t epochs, const nn_allocator *al)
{
    nn_trainer_t *tr = NULL;
    OK(nn_trainer_create(&tr, al));
    OK(nn_trainer_set_int(tr, NN_TRAIN_EPOCHS, epochs));
    OK(nn_trainer_set_int(tr, NN_TRAIN_BATCH_SIZE, 12));
    OK(nn_trainer_set_int(tr, NN_TRAIN_SEED, 2026));
    OK(nn_trainer_set_real(tr, NN_TRAIN_VAL_FRACTION, 0.2));
    OK(nn_trainer_set_int(tr, NN_TRAIN_PATIENCE, 2));
    OK(nn_trainer_set_int(tr, NN_TRAIN_SCHEDULE, NN_SCHED_COSINE));
    OK(nn_trainer_set_int(tr, NN_TRAIN_WARMUP_STEPS, 5));
    OK(nn_trainer_set_int(tr, NN_TRAIN_REPORT_EVERY, 4));
    return tr;
}

static void same_results(nn_trainer_t *a, nn_trainer_t *b, const char *name)
{
    const int32_t keys[] = {NN_TRAIN_EPOCHS_RUN, NN_TRAIN_BEST_EPOCH,
                            NN_TRAIN_STOPPED_EARLY, NN_TRAIN_STEPS_RUN};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int64_t va = -1, vb = -2;
        OK(nn_trainer_get_int(a, keys[i], &va));
        OK(nn_trainer_get_int(b, keys[i], &vb));
        CHECK(va == vb, "%s: result key %d: %lld vs %lld", name, keys[i],
              (long long)va, (long long)vb);
    }
    double la = 0, lb = 0;
    OK(nn_trainer_get_real(a, NN_TRAIN_BEST_VAL_LOSS, &la));
    OK(nn_trainer_get_real(b, NN_TRAIN_BEST_VAL_LOSS, &lb));
    CHECK(fabs(la - lb) <= 1e-12 * lb, "%s: best val loss %.17g vs %.17g",
          name, la, lb);
}

static void test_train(MPI_Comm comm, nn_mpi_t *mpi, const cfg *c,
                       int64_t epochs, const char *name)
{
    nn_data_t *d = c->dense ? data_of(X, NULL, Y, M) : data_of(X, LAB, NULL, M);
    nn_net_t *ref = make_net(c, H, 9);
    int r = nn_mpi_rank(mpi); /* in comm, which may be a part of the world */
    nn_net_t *net = make_net(c, H, r == 0 ? 9 : 50 + (uint64_t)r);
    nn_optim_t *ro = make_opt(ref, c->kind), *opt = make_opt(net, c->kind);
    nn_trainer_t *tref = make_trainer(epochs, NULL),
                 *tr = make_trainer(epochs, NULL);
    OK(nn_train(tref, ref, ro, d, NULL));
    OK(nn_mpi_train(mpi, tr, net, opt, d, NULL));
    double e = rel_err(net, ref);
    report("%-22s %lld epoch%s: params rel err %.2e", name,
           (long long)epochs, epochs > 1 ? "s" : " ", e);
    CHECK(e <= 1e-12, "%s: %lld epochs rel err %g", name, (long long)epochs, e);
    same_results(tr, tref, name);
    check_identical(comm, net, name);
    nn_trainer_destroy(tr);
    nn_trainer_destroy(tref);
    nn_optim_destroy(opt);
    nn_optim_destroy(ro);
    nn_net_destroy(net);
    nn_net_destroy(ref);
    nn_data_destroy(d);
}

/* ------------------------------------------------------------ failures */
/* A copy of the parameters and optimizer state, to show a failed call
 * changed nothing. */
typedef struct saved {
    double p[256], s[512];
    uint64_t steps;
} saved;

static void save_state(nn_net_t *net, nn_optim_t *opt, saved *v)
{
    memcpy(v->p, nn_net_params(net), nn_net_n_params(net) * sizeof(double));
    OK(nn_optim_get_state(opt, &v->steps, v->s, nn_optim_state_len(opt)));
}

static void check_unchanged(nn_net_t *net, nn_optim_t *opt, const saved *v,
                            const char *what)
{
    saved now;
    save_state(net, opt, &now);
    CHECK(memcmp(now.p, v->p, nn_net_n_params(net) * sizeof(double)) == 0,
          "%s: parameters changed", what);
    CHECK(memcmp(now.s, v->s, nn_optim_state_len(opt) * sizeof(double)) == 0 &&
              now.steps == v->steps,
          "%s: optimizer state changed", what);
}

/* An allocator that serves *ctx allocations, then fails. */
static void *budget_alloc(void *ctx, size_t n)
{
    int *left = ctx;
    return (*left)-- > 0 ? malloc(n) : NULL;
}
static void budget_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    free(p);
}

static int32_t stop_after_first(const nn_report *r, void *ctx)
{
    (void)ctx;
    return r->kind == NN_REPORT_EPOCH;
}

/* One failing nn_mpi_train: `what` happens on some ranks; every rank must
 * return `want` and keep its own starting state. */
static void expect_train_failure(nn_mpi_t *mpi, const char *what,
                                 nn_status want, nn_data_t *d,
                                 nn_trainer_t *tr, int check_finite)
{
    const cfg c = {NN_OPTIM_ADAM, 0.3, 0};
    nn_net_t *net = make_net(&c, H, 60 + (uint64_t)g_rank);
    nn_optim_t *opt = make_opt(net, c.kind);
    OK(nn_net_set_int(net, NN_NET_CHECK_FINITE, check_finite));
    saved v;
    save_state(net, opt, &v);
    EXPECT(nn_mpi_train(mpi, tr, net, opt, d, NULL), want);
    check_unchanged(net, opt, &v, what);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

static void test_failures(nn_mpi_t *mpi)
{
    const int last = g_size - 1;
    nn_trainer_t *tr = make_trainer(3, NULL);
    /* the last rank read other data (one label differs): refused by all */
    static int32_t lab2[M];
    memcpy(lab2, LAB, sizeof lab2);
    if (g_rank == last && g_size > 1) lab2[100] = (lab2[100] + 1) % C;
    nn_data_t *d = data_of(X, lab2, NULL, M);
    if (g_size > 1)
        expect_train_failure(mpi, "data differs", NN_ERR_INVALID, d, tr, 0);
    nn_data_destroy(d);
    /* a NaN feature in row 150 (the same on every rank) under check-finite:
     * only the rank whose part of a batch holds it sees it */
    static double x2[M * N];
    memcpy(x2, X, sizeof x2);
    x2[150 * N + 2] = NAN;
    d = data_of(x2, LAB, NULL, M);
    expect_train_failure(mpi, "NaN on one rank", NN_ERR_NUMERIC, d, tr, 1);
    nn_data_destroy(d);
    /* the last rank's trainer cannot allocate */
    d = data_of(X, LAB, NULL, M);
    int one = 1; /* the trainer itself, then nothing */
    nn_allocator none = {budget_alloc, budget_free, &one};
    nn_trainer_t *tr2 = make_trainer(3, g_rank == last ? &none : NULL);
    expect_train_failure(mpi, "allocation", NN_ERR_NOMEM, d, tr2, 0);
    nn_trainer_destroy(tr2);
    /* a stop asked by the last rank's callback alone stops every rank */
    const cfg c = {NN_OPTIM_SGD, 0.0, 0};
    nn_net_t *net = make_net(&c, H, 3);
    nn_optim_t *opt = make_opt(net, c.kind);
    OK(nn_trainer_set_report(tr, g_rank == last ? stop_after_first : NULL,
                             NULL));
    OK(nn_mpi_train(mpi, tr, net, opt, d, NULL));
    int64_t run = 0, early = 0;
    OK(nn_trainer_get_int(tr, NN_TRAIN_EPOCHS_RUN, &run));
    OK(nn_trainer_get_int(tr, NN_TRAIN_STOPPED_EARLY, &early));
    CHECK(run == 1 && early == 1, "stop: %lld epochs, early %lld",
          (long long)run, (long long)early);
    check_identical(MPI_COMM_WORLD, net, "stopped run");
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
    nn_trainer_destroy(tr);
    report("failures agreed: differing data, NaN on one rank, allocation, "
           "stop on one rank");
}

/* Hand-written loop: a failure passed in by one rank comes back on all;
 * networks of other shapes are refused by the broadcast on all. */
static void test_seam_failures(nn_mpi_t *mpi)
{
    const cfg c = {NN_OPTIM_SGD, 0.0, 0};
    nn_net_t *net = make_net(&c, H, 1);
    nn_status local = g_rank == g_size - 1 ? NN_ERR_NUMERIC : NN_OK;
    double loss = 1.0;
    OK(nn_net_set_int(net, NN_NET_REDUCTION, NN_REDUCE_SUM));
    if (!local)
        OK(nn_net_gradient_labels(net, 2, NN_ROW_MAJOR, X, N, LAB, &loss));
    EXPECT(nn_mpi_allsum_grads(mpi, net, local, 2, NN_REDUCE_MEAN, &loss,
                               NULL),
           NN_ERR_NUMERIC);
    /* shapes that differ on one rank */
    nn_net_t *odd = make_net(&c, g_rank == g_size - 1 && g_size > 1 ? H + 1 : H,
                             2);
    nn_optim_t *opt = make_opt(odd, c.kind);
    saved v;
    save_state(odd, opt, &v);
    EXPECT(nn_mpi_broadcast(mpi, odd, opt),
           g_size > 1 ? NN_ERR_SHAPE : NN_OK);
    if (g_size > 1) check_unchanged(odd, opt, &v, "broadcast refused");
    /* agreement on statuses: the smallest failing code */
    nn_status mine = g_rank == 1 ? NN_ERR_IO : g_rank == 2 ? NN_ERR_FORMAT
                                                           : NN_OK, agreed = -1;
    OK(nn_mpi_agree(mpi, mine, &agreed));
    CHECK(agreed == (g_size > 1 ? NN_ERR_IO : NN_OK), "agreed %d", agreed);
    nn_optim_destroy(opt);
    nn_net_destroy(odd);
    nn_net_destroy(net);
}

/* ------------------------------------------------------------ checkpoints */
/* Rank 0 writes the model (with its optimizer) after a data-parallel run;
 * every rank loads it and finds its own parameters and state, bitwise. */
static void test_checkpoint(nn_mpi_t *mpi)
{
    const cfg c = {NN_OPTIM_ADAM, 0.3, 0};
    nn_data_t *d = data_of(X, LAB, NULL, M);
    nn_net_t *net = make_net(&c, H, 4);
    nn_optim_t *opt = make_opt(net, c.kind);
    nn_trainer_t *tr = make_trainer(2, NULL);
    OK(nn_mpi_train(mpi, tr, net, opt, d, NULL));
    char path[64] = "";
    if (g_rank == 0) {
        snprintf(path, sizeof path, "/tmp/test_mpi_XXXXXX");
        int fd = mkstemp(path);
        CHECK(fd >= 0, "mkstemp");
        close(fd);
        OK(nn_model_save(path, net, opt, NULL));
    }
    MPI_Bcast(path, sizeof path, MPI_CHAR, 0, MPI_COMM_WORLD);
    nn_net_t *back = NULL;
    nn_optim_t *bopt = NULL;
    OK(nn_model_load(path, &back, &bopt, NULL, NULL));
    MPI_Barrier(MPI_COMM_WORLD); /* everyone has read it */
    if (g_rank == 0) unlink(path);
    saved v;
    save_state(net, opt, &v);
    check_unchanged(back, bopt, &v, "checkpoint loaded on this rank");
    int64_t s1 = -1, s2 = -2;
    OK(nn_net_get_int(net, NN_NET_DROPOUT_STEP, &s1));
    OK(nn_net_get_int(back, NN_NET_DROPOUT_STEP, &s2));
    CHECK(s1 == s2 && s1 > 0, "dropout step %lld vs %lld", (long long)s1,
          (long long)s2);
    report("checkpoint written by rank 0 loads bitwise on every rank");
    nn_optim_destroy(bopt);
    nn_net_destroy(back);
    nn_trainer_destroy(tr);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
}

/* ------------------------------------------------------------ main */
static const struct {
    cfg c;
    const char *name;
} CASES[] = {
    {{NN_OPTIM_SGD, 0.0, 0}, "sgd"},
    {{NN_OPTIM_SGD, 0.3, 0}, "sgd dropout"},
    {{NN_OPTIM_ADAM, 0.0, 0}, "adam"},
    {{NN_OPTIM_ADAM, 0.3, 0}, "adam dropout"},
    {{NN_OPTIM_ADAM, 0.3, 1}, "adam dropout mse"},
};

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    alarm(240); /* a rank left waiting ends the test instead of hanging */
    OK(nn_set_num_threads(1));
    make_data();
    nn_mpi_t *mpi = NULL;
    OK(nn_mpi_create(&mpi, MPI_COMM_WORLD, NULL));
    CHECK(nn_mpi_rank(mpi) == g_rank && nn_mpi_size(mpi) == g_size,
          "rank/size");
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        test_five_steps(mpi, &CASES[i].c, CASES[i].name);
        test_train(MPI_COMM_WORLD, mpi, &CASES[i].c, 1, CASES[i].name);
        test_train(MPI_COMM_WORLD, mpi, &CASES[i].c, 6, CASES[i].name);
    }
    test_failures(mpi);
    test_seam_failures(mpi);
    test_checkpoint(mpi);
    /* a sub-communicator (even and odd ranks): libnn works on what it is
     * given, the two halves train independently */
    MPI_Comm half;
    MPI_Comm_split(MPI_COMM_WORLD, g_rank % 2, g_rank, &half);
    nn_mpi_t *hm = NULL;
    OK(nn_mpi_create(&hm, half, NULL));
    test_train(half, hm, &CASES[3].c, 2, "sub-communicator");
    nn_mpi_destroy(hm);
    MPI_Comm_free(&half);
    nn_mpi_destroy(mpi);
    report("all checks passed");
    MPI_Finalize();
    return 0;
}
