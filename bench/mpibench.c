/* mpibench.c — data-parallel training throughput with libnn_mpi, and the
 * cost of the one collective per step (docs/DISTRIBUTED.md).
 *
 *   mpirun -np R mpibench --arch 784-256-128-10 --batch 256 --threads T
 *          [--steps S] [--plain]
 *
 * Every rank builds the same synthetic data set (batch * steps rows, class
 * labels, an LCG: no file I/O in the timing), then rank 0 prints one line:
 * samples/s of one timed epoch of nn_mpi_train (after one untimed epoch),
 * the milliseconds per step, the median time of one nn_mpi_allsum over the
 * gradient buffer (P + 3 doubles; the slowest rank's), and the model's
 * arithmetic per step (6 * batch * weights flops: forward, and the two
 * backward products) and bytes per collective. --plain times nn_train
 * without the adapter (the single-process baseline, R must be 1). Adam,
 * ReLU hidden layers, softmax cross-entropy. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime in benchutil.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn_mpi.h"

#include "benchutil.h"

typedef struct opts {
    size_t sizes[8], n_sizes, batch, steps;
    int threads, plain;
} opts;

static int parse_arch(const char *s, opts *o)
{
    o->n_sizes = 0;
    while (*s && o->n_sizes < 8) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || v == 0) return -1;
        o->sizes[o->n_sizes++] = v;
        s = *end == '-' ? end + 1 : end;
        if (*end && *end != '-') return -1;
    }
    return o->n_sizes >= 2 && !*s ? 0 : -1;
}

static int parse(int argc, char **argv, opts *o)
{
    *o = (opts){.batch = 256, .steps = 20, .threads = 1};
    parse_arch("784-256-128-10", o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--plain")) { o->plain = 1; continue; }
        if (!v) return -1;
        if (!strcmp(a, "--arch")) { if (parse_arch(v, o)) return -1; }
        else if (!strcmp(a, "--batch")) o->batch = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--steps")) o->steps = strtoul(v, NULL, 10);
        else if (!strcmp(a, "--threads")) o->threads = atoi(v);
        else return -1;
        i++;
    }
    return o->batch && o->steps && o->threads > 0 ? 0 : -1;
}

static nn_status build(const opts *o, nn_net_t **net, nn_optim_t **opt)
{
    nn_netspec_t *s = NULL;
    nn_status st = nn_netspec_create(&s, o->sizes[0], NN_LOSS_SOFTMAX_CE, NULL);
    for (size_t l = 1; !st && l < o->n_sizes; l++)
        st = nn_netspec_add_dense(s, o->sizes[l], l + 1 < o->n_sizes
                                                      ? NN_ACT_RELU
                                                      : NN_ACT_SOFTMAX);
    if (!st) st = nn_net_create(net, s, NULL);
    nn_netspec_destroy(s);
    if (!st) st = nn_net_init(*net, NN_INIT_DEFAULT, 1);
    if (!st) st = nn_optim_create(opt, *net, NN_OPTIM_ADAM, NULL);
    return st;
}

static nn_data_t *make_data(const opts *o)
{
    size_t m = o->batch * o->steps, n = o->sizes[0];
    size_t k = o->sizes[o->n_sizes - 1];
    double *X = malloc(m * n * sizeof(double));
    int32_t *lab = malloc(m * sizeof(int32_t));
    nn_data_t *d = NULL;
    unsigned long long s = 7;
    for (size_t i = 0; X && lab && i < m * n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        X[i] = (double)(s >> 11) * 0x1.0p-53;
    }
    for (size_t i = 0; X && lab && i < m; i++) lab[i] = (int32_t)(i % k);
    if (X && lab && (nn_data_create(&d, m, n, NN_ROW_MAJOR, X, n, NULL) ||
                     nn_data_set_labels(d, lab))) {
        nn_data_destroy(d);
        d = NULL;
    }
    free(X);
    free(lab);
    return d;
}

/* Median over 15 calls of one allsum of the gradient buffer, the slowest
 * rank's. */
static double allsum_ms(nn_mpi_t *mpi, nn_net_t *net)
{
    enum { R = 15 };
    double t[R], med, worst;
    size_t len = nn_net_n_params(net) + 3;
    for (int r = 0; r < R; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        nn_mpi_allsum(nn_net_grads(net), len, mpi);
        t[r] = MPI_Wtime() - t0;
    }
    qsort(t, R, sizeof t[0], cmp_double);
    med = t[R / 2];
    MPI_Allreduce(&med, &worst, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    return worst * 1e3;
}

static nn_status timed_epoch(const opts *o, nn_mpi_t *mpi, nn_trainer_t *tr,
                             nn_net_t *net, nn_optim_t *opt, nn_data_t *d,
                             double *seconds)
{
    nn_status st = NN_OK;
    for (int rep = 0; rep < 2 && !st; rep++) { /* warm-up, then timed */
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        st = o->plain ? nn_train(tr, net, opt, d, NULL)
                      : nn_mpi_train(mpi, tr, net, opt, d, NULL);
        *seconds = MPI_Wtime() - t0;
    }
    return st;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    opts o;
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (parse(argc, argv, &o) || (o.plain && size != 1)) {
        if (rank == 0)
            fprintf(stderr, "usage: mpibench [--arch A-B-..] [--batch B] "
                            "[--steps S] [--threads T] [--plain (1 rank)]\n");
        MPI_Finalize();
        return 2;
    }
    nn_set_num_threads(o.threads);
    nn_mpi_t *mpi = NULL;
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    nn_trainer_t *tr = NULL;
    nn_data_t *d = make_data(&o);
    nn_status st = d ? nn_mpi_create(&mpi, MPI_COMM_WORLD, NULL) : NN_ERR_NOMEM;
    if (!st) st = build(&o, &net, &opt);
    if (!st) st = nn_trainer_create(&tr, NULL);
    if (!st) st = nn_trainer_set_int(tr, NN_TRAIN_EPOCHS, 1);
    if (!st) st = nn_trainer_set_int(tr, NN_TRAIN_BATCH_SIZE, (int64_t)o.batch);
    double secs = 0, ms = 0;
    if (!st) st = timed_epoch(&o, mpi, tr, net, opt, d, &secs);
    if (!st && !o.plain) ms = allsum_ms(mpi, net);
    if (!st && rank == 0) {
        double w = 0;
        for (size_t l = 1; l < o.n_sizes; l++)
            w += (double)o.sizes[l - 1] * (double)o.sizes[l];
        char arch[96];
        size_t at = 0;
        for (size_t l = 0; l < o.n_sizes && at < sizeof arch; l++)
            at += (size_t)snprintf(arch + at, sizeof arch - at, "%s%zu",
                                   l ? "-" : "", o.sizes[l]);
        printf("%-22s batch %4zu  %s ranks %d x %d threads: %9.0f samples/s"
               "  %8.2f ms/step  allsum %7.2f ms  %.2f GFLOP/step  "
               "%.1f MB/allsum\n",
               arch, o.batch, o.plain ? "plain" : "mpi  ", size, o.threads,
               (double)(o.batch * o.steps) / secs, secs * 1e3 / (double)o.steps,
               ms, 6.0 * (double)o.batch * w * 1e-9,
               (double)(nn_net_n_params(net) + 3) * 8e-6);
    }
    if (st && rank == 0) fprintf(stderr, "mpibench: %s\n", nn_strerror(st));
    nn_trainer_destroy(tr);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(d);
    nn_mpi_destroy(mpi);
    MPI_Finalize();
    return st ? 1 : 0;
}
