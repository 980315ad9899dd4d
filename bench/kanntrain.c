/* kanntrain.c — KANN (single precision, github.com/attractivechaos/kann;
 * not part of libnn: built only with -Dkann_dir=DIR, its sources compiled
 * as its Makefile does, with its own kernels (kanntrain-plain) or its
 * CBLAS option (kanntrain), and pthreads) side by side with libnn in real
 * training (issue 15, item 4): the 784-64-10 MLP (relu, softmax
 * cross-entropy) at batch 64, one epoch over Fashion-MNIST's 60,000
 * training images (random data of that shape without it), shuffled, no
 * validation: KANN's kann_train_fnn1 (RMSprop, its only optimizer) against
 * nn_train (Adam, the same per-value work as RMSprop: a square root and a
 * division; and plain SGD). At one thread, and at two: KANN's kann_mt (its
 * own threads over the mini-batch, like NN_TRAIN_THREADS) against
 * NN_TRAIN_THREADS 2, and both with the BLAS's two threads. The sides
 * alternate 7 times (--reps N); ratios are medians of paired ratios,
 * libnn / KANN in samples per second (> 1: libnn faster). */
#define _POSIX_C_SOURCE 200809L
#include "kann.h"

#include <nn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

#ifndef KANN_BUILD
#define KANN_BUILD "?" /* how KANN was built: meson says */
#endif

static void die(const char *what, nn_status st)
{
    fprintf(stderr, "kanntrain: %s: %s\n", what, nn_strerror(st));
    exit(1);
}

enum { N_IN = 784, N_HID = 64, N_OUT = 10, BATCH = 64 };

/* The data in both precisions: libnn's set (scaled to [0, 1]), and KANN's
 * row pointers into float copies with one-hot targets. */
typedef struct data {
    nn_data_t *d;
    size_t m;
    float *xf, *yf, **x, **y;
} data;

static void load(data *D, const char *dir)
{
    char xp[512], lp[512];
    snprintf(xp, sizeof xp, "%s/train-images-idx3-ubyte.gz", dir);
    snprintf(lp, sizeof lp, "%s/train-labels-idx1-ubyte.gz", dir);
    D->d = NULL;
    if (nn_data_load_idx(&D->d, xp, NULL, NULL) ||
        nn_data_load_idx_labels(D->d, lp, NULL)) {
        nn_data_destroy(D->d);
        size_t m = 60000;
        double *X = malloc(sizeof(double) * m * N_IN);
        int32_t *lab = malloc(sizeof(int32_t) * m);
        if (!X || !lab) die("data", NN_ERR_NOMEM);
        for (size_t i = 0; i < m * N_IN; i++)
            X[i] = (double)((i * 2654435761u) % 1000) / 1000.0;
        for (size_t i = 0; i < m; i++) lab[i] = (int32_t)(i * 7 % 10);
        nn_status st = nn_data_create(&D->d, m, N_IN, NN_ROW_MAJOR, X, N_IN,
                                      NULL);
        if (!st) st = nn_data_set_labels(D->d, lab);
        if (st) die("random data", st);
        free(X);
        free(lab);
        printf("# data: random 60000 x 784\n");
    } else {
        double *x = nn_data_x(D->d);
        for (size_t i = 0; i < nn_data_rows(D->d) * N_IN; i++) x[i] /= 255.0;
        printf("# data: %s (Fashion-MNIST)\n", dir);
    }
    D->m = nn_data_rows(D->d);
    D->xf = malloc(sizeof(float) * D->m * N_IN);
    D->yf = calloc(D->m * N_OUT, sizeof(float));
    D->x = malloc(sizeof(float *) * D->m);
    D->y = malloc(sizeof(float *) * D->m);
    if (!D->xf || !D->yf || !D->x || !D->y) die("data", NN_ERR_NOMEM);
    const double *X = nn_data_x(D->d);
    const int32_t *lab = nn_data_labels(D->d);
    for (size_t i = 0; i < D->m; i++) {
        for (size_t j = 0; j < N_IN; j++)
            D->xf[i * N_IN + j] = (float)X[i * N_IN + j];
        D->yf[i * N_OUT + (size_t)lab[i]] = 1.0f;
        D->x[i] = D->xf + i * N_IN;
        D->y[i] = D->yf + i * N_OUT;
    }
}

/* ------------------------------------------------------------ sides */
typedef struct side {
    const char *name;
    int kann;          /* 1: KANN, 0: libnn                       */
    int threads;       /* kann_mt / NN_TRAIN_THREADS (0: none)    */
    int blas;          /* BLAS threads                            */
    nn_optim_kind opt; /* libnn's optimizer                        */
} side;

/* Seconds per sample of one epoch. */
static double kann_epoch(const data *D, const side *s)
{
    kad_node_t *t = kann_layer_input(N_IN);
    t = kad_relu(kann_layer_dense(t, N_HID));
    kann_t *ann = kann_new(kann_layer_cost(t, N_OUT, KANN_C_CEM), 0);
    if (s->threads > 1) kann_mt(ann, s->threads, BATCH);
    kann_verbose = 0;
    double t0 = now();
    /* one epoch, no validation (frac_val 0) */
    kann_train_fnn1(ann, 0.001f, BATCH, 1, 10, 0.0f, (int)D->m, D->x, D->y);
    double dt = now() - t0;
    kann_delete(ann);
    return dt / (double)D->m;
}

static double libnn_epoch(const data *D, const side *s)
{
    nn_netspec_t *spec = NULL;
    nn_net_t *net = NULL;
    nn_optim_t *o = NULL;
    nn_trainer_t *tr = NULL;
    nn_status st = nn_netspec_create(&spec, N_IN, NN_LOSS_SOFTMAX_CE, NULL);
    if (!st) st = nn_netspec_add_dense(spec, N_HID, NN_ACT_RELU);
    if (!st) st = nn_netspec_add_dense(spec, N_OUT, NN_ACT_SOFTMAX);
    if (!st) st = nn_net_create(&net, spec, NULL);
    nn_netspec_destroy(spec);
    if (!st) st = nn_optim_create(&o, net, s->opt, NULL);
    if (!st) st = nn_trainer_create(&tr, NULL);
    if (!st) st = nn_trainer_set_int(tr, NN_TRAIN_EPOCHS, 1);
    if (!st) st = nn_trainer_set_int(tr, NN_TRAIN_BATCH_SIZE, BATCH);
    if (!st) st = nn_trainer_set_int(tr, NN_TRAIN_THREADS, s->threads);
    if (st) die("libnn setup", st);
    double t0 = now();
    st = nn_train(tr, net, o, D->d, NULL);
    double dt = now() - t0;
    if (st) die("nn_train", st);
    nn_trainer_destroy(tr);
    nn_optim_destroy(o);
    nn_net_destroy(net);
    return dt / (double)D->m;
}

static double run_side(const data *D, const side *s)
{
    nn_set_num_threads((size_t)s->blas);
    double t = s->kann ? kann_epoch(D, s) : libnn_epoch(D, s);
    if (s->blas > 1) { /* OpenBLAS's idle threads spin ~130 ms
                           * after a threaded product: let them sleep */
        struct timespec z = {0, 400000000};
        nanosleep(&z, NULL);
    }
    return t;
}

/* Sides alternate; the median samples/s of each and, for each libnn side,
 * the median of its paired ratio to the KANN side `ref`. */
static void compare(const data *D, const side *s, int n, int ref, int reps)
{
    double t[8][64];
    run_side(D, &s[0]); /* warm-up */
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < n; i++) {
            int k = r % 2 ? n - 1 - i : i;
            t[k][r] = run_side(D, &s[k]);
        }
    for (int i = 0; i < n; i++) {
        double q[64];
        for (int r = 0; r < reps; r++) q[r] = t[ref][r] / t[i][r];
        double ratio = median(q, reps);
        printf("%-44s %10.0f  %6.3f\n", s[i].name, 1.0 / median(t[i], reps),
               ratio);
    }
}

int main(int argc, char **argv)
{
    int reps = 7;
    const char *dir = "/usr/share/datasets/fashion-mnist";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--data") && i + 1 < argc) dir = argv[++i];
        else {
            fprintf(stderr, "usage: kanntrain [--reps N] [--data DIR]\n");
            return 2;
        }
    }
    if (reps < 1 || reps > 64) return 2;
    data D;
    load(&D, dir);
    printf("# KANN f32 (%s, pthreads) vs libnn f64, 784-64-10 batch 64, one "
           "epoch; BLAS core %s; %d paired runs, medians\n", KANN_BUILD,
           nn_blas_core(), reps);
    printf("%-44s %10s  %6s\n", "side", "samples/s", "x KANN");
    const side one[] = {
        {"KANN kann_train_fnn1 (RMSprop), 1 thread", 1, 0, 1, 0},
        {"libnn nn_train Adam, 1 thread", 0, 0, 1, NN_OPTIM_ADAM},
        {"libnn nn_train SGD, 1 thread", 0, 0, 1, NN_OPTIM_SGD}};
    compare(&D, one, 3, 0, reps);
    const side mt[] = {
        {"KANN kann_mt(2), BLAS 1 thread", 1, 2, 1, 0},
        {"libnn NN_TRAIN_THREADS 2, Adam", 0, 2, 1, NN_OPTIM_ADAM},
        {"libnn NN_TRAIN_THREADS 2, SGD", 0, 2, 1, NN_OPTIM_SGD}};
    compare(&D, mt, 3, 0, reps);
    const side bl[] = {
        {"KANN, BLAS 2 threads", 1, 0, 2, 0},
        {"libnn Adam, BLAS 2 threads", 0, 0, 2, NN_OPTIM_ADAM},
        {"libnn NN_TRAIN_THREADS 2, Adam (vs KANN BLAS 2)", 0, 2, 1,
         NN_OPTIM_ADAM}};
    compare(&D, bl, 3, 0, reps);
    return 0;
}
