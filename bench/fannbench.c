/* fannbench.c — FANN 2.2 (Debian's libfann-dev, double precision) side by
 * side with libnn on the same networks, in the same run (issue 4, optional):
 *   - the notes' 2-4-1 network, one sample per training step;
 *   - 784-256-128-10, FANN's per-sample (incremental) training against libnn
 *     at batch 1 and batch 64.
 * Only built when libdoublefann is installed. Times are medians of 7 runs. */
#define _POSIX_C_SOURCE 199309L
#include <doublefann.h>
#include <nn.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over 7 repetitions of `steps` calls of fn: seconds per call. */
typedef void (*step_fn)(void *ctx, long i);
static double median_time(step_fn fn, void *ctx, long steps)
{
    double t[7];
    for (int r = 0; r < 7; r++) {
        double t0 = now();
        for (long i = 0; i < steps; i++) fn(ctx, i);
        t[r] = (now() - t0) / (double)steps;
    }
    qsort(t, 7, sizeof t[0], cmp);
    return t[3];
}

typedef struct {
    struct fann *ann;
    nn_net_t *net;
    nn_optim_t *opt; /* plain SGD, rate 0.01 */
    const double *X, *Y;
    const int32_t *lab;
    size_t n_in, n_out, rows, batch;
} ctx_t;

static void fann_step(void *p, long i)
{
    ctx_t *c = p;
    size_t r = (size_t)i % c->rows;
    fann_train(c->ann, (fann_type *)(c->X + r * c->n_in),
               (fann_type *)(c->Y + r * c->n_out));
}

static void nn_step(void *p, long i)
{
    ctx_t *c = p;
    size_t r = ((size_t)i * c->batch) % (c->rows - c->batch + 1);
    if (c->lab)
        nn_net_train_step_labels(c->net, c->opt, c->batch, NN_ROW_MAJOR,
                                 c->X + r * c->n_in, c->n_in, c->lab + r,
                                 NULL);
    else
        nn_net_train_step(c->net, c->opt, c->batch, NN_ROW_MAJOR,
                          c->X + r * c->n_in, c->n_in, c->Y + r * c->n_out,
                          c->n_out, NULL);
}

/* A busy loop of `seconds`: a short row run from an idle CPU reads up to
 * 1.5x slow (its clock has not ramped up). */
static void busy(double seconds)
{
    volatile double x = 0.0;
    double t0 = now();
    while (now() - t0 < seconds)
        for (int i = 0; i < 100000; i++) x = x + 1e-9;
}

/* FANN's and libnn's 2-4-1 tanh steps (fann, nn) alternately, 7 times
 * each: the median of the paired ratios FANN / libnn (> 1: libnn faster). */
static double paired241(ctx_t *fann, ctx_t *nn, long steps)
{
    double q[7];
    for (int r = 0; r < 7; r++) {
        double tf, tn, t0;
        if (r % 2) {
            t0 = now(); for (long i = 0; i < steps; i++) nn_step(nn, i);
            tn = now() - t0;
            t0 = now(); for (long i = 0; i < steps; i++) fann_step(fann, i);
            tf = now() - t0;
        } else {
            t0 = now(); for (long i = 0; i < steps; i++) fann_step(fann, i);
            tf = now() - t0;
            t0 = now(); for (long i = 0; i < steps; i++) nn_step(nn, i);
            tn = now() - t0;
        }
        q[r] = tf / tn;
    }
    qsort(q, 7, sizeof q[0], cmp);
    return q[3];
}

/* The network n_in -> units[0] -> ... and its SGD optimizer (rate 0.01,
 * the fused one-call step) in c. */
static void make_net(ctx_t *c, size_t n_layers, const size_t *units,
                     const nn_activation *acts, nn_loss loss)
{
    nn_netspec_t *spec = NULL;
    nn_status st = nn_netspec_create(&spec, c->n_in, loss, NULL);
    for (size_t l = 0; !st && l < n_layers; l++)
        st = nn_netspec_add_dense(spec, units[l], acts[l]);
    if (!st) st = nn_net_create(&c->net, spec, NULL);
    nn_netspec_destroy(spec);
    if (!st) st = nn_optim_create(&c->opt, c->net, NN_OPTIM_SGD, NULL);
    if (!st) st = nn_optim_set_real(c->opt, NN_OPTIM_LR, 0.01);
    if (st != NN_OK) {
        fprintf(stderr, "fannbench: creating the network: %s\n",
                nn_strerror(st));
        exit(1);
    }
}

static void free_net(ctx_t *c)
{
    nn_optim_destroy(c->opt);
    nn_net_destroy(c->net);
}

int main(void)
{
    nn_set_num_threads(1);
    printf("# FANN %s double precision vs libnn %s, one thread, medians of 7 "
           "runs; per-sample time = step time / batch\n", "2.2",
           nn_version_string());
    printf("%-44s %12s %14s\n", "workload", "us/step", "us/sample");
    busy(3.0); /* the rows below are short: the clock ramped up first */

    /* the notes' 2-4-1 network on 4 XOR samples */
    static const double X4[8] = {0, 0, 0, 1, 1, 0, 1, 1}, Y4[4] = {0, 1, 1, 0};
    const enum fann_activationfunc_enum hidden[2] = {FANN_SIGMOID_STEPWISE,
                                                    FANN_SIGMOID_SYMMETRIC};
    const char *hname[2] = {"sigmoid-stepwise (FANN default)",
                            "tanh (sigmoid-symmetric)"};
    for (int h = 0; h < 2; h++) {
        ctx_t c = {.X = X4, .Y = Y4, .n_in = 2, .n_out = 1, .rows = 4, .batch = 1};
        c.ann = fann_create_standard(3, 2, 4, 1);
        fann_set_activation_function_hidden(c.ann, hidden[h]);
        if (h) fann_set_activation_function_output(c.ann, FANN_SIGMOID);
        double t = median_time(fann_step, &c, 2000000);
        char name[96];
        snprintf(name, sizeof name, "FANN 2-4-1 %s", hname[h]);
        printf("%-44s %12.4f %14.4f\n", name, t * 1e6, t * 1e6);
        fann_destroy(c.ann);
    }
    const nn_activation acts[2] = {NN_ACT_TANH, NN_ACT_RELU};
    for (int h = 0; h < 2; h++) {
        const size_t u241[2] = {4, 1};
        const nn_activation a241[2] = {acts[h], NN_ACT_SIGMOID};
        ctx_t c = {.X = X4, .Y = Y4, .n_in = 2, .n_out = 1, .rows = 4, .batch = 1};
        make_net(&c, 2, u241, a241, NN_LOSS_BCE);
        double t = median_time(nn_step, &c, 2000000);
        printf("%-44s %12.4f %14.4f\n",
               h ? "libnn 2-4-1 relu, sigmoid+BCE" : "libnn 2-4-1 tanh, sigmoid+BCE",
               t * 1e6, t * 1e6);
        free_net(&c);
    }
    { /* tanh, sigmoid + BCE against FANN's tanh, sigmoid, paired */
        const size_t u241[2] = {4, 1};
        const nn_activation a241[2] = {NN_ACT_TANH, NN_ACT_SIGMOID};
        ctx_t f = {.X = X4, .Y = Y4, .n_in = 2, .n_out = 1, .rows = 4,
                   .batch = 1},
              c = f;
        f.ann = fann_create_standard(3, 2, 4, 1);
        fann_set_activation_function_hidden(f.ann, FANN_SIGMOID_SYMMETRIC);
        fann_set_activation_function_output(f.ann, FANN_SIGMOID);
        make_net(&c, 2, u241, a241, NN_LOSS_BCE);
        printf("# 2-4-1 tanh: FANN fann_train / libnn nn_net_train_step = "
               "%.3f (median of 7 paired runs; > 1: libnn faster)\n",
               paired241(&f, &c, 1000000));
        fann_destroy(f.ann);
        free_net(&c);
    }

    /* 784-256-128-10 on random data */
    enum { ROWS = 1024, NIN = 784, K = 10 };
    double *X = malloc(sizeof(double) * ROWS * NIN), *Y = calloc(ROWS * K, sizeof(double));
    int32_t *lab = malloc(sizeof(int32_t) * ROWS);
    if (!X || !Y || !lab) return 1;
    for (size_t i = 0; i < (size_t)ROWS * NIN; i++) X[i] = (double)((i * 2654435761u) % 1000) / 1000.0;
    for (size_t i = 0; i < ROWS; i++) {
        lab[i] = (int32_t)(i % K);
        Y[i * K + lab[i]] = 1.0;
    }
    {
        ctx_t c = {.X = X, .Y = Y, .n_in = NIN, .n_out = K, .rows = ROWS, .batch = 1};
        c.ann = fann_create_standard(4, NIN, 256, 128, K);
        fann_set_activation_function_hidden(c.ann, FANN_SIGMOID_SYMMETRIC);
        fann_set_activation_function_output(c.ann, FANN_SIGMOID);
        double t = median_time(fann_step, &c, 200);
        printf("%-44s %12.2f %14.2f\n", "FANN 784-256-128-10 incremental", t * 1e6, t * 1e6);
        fann_destroy(c.ann);
    }
    const size_t mlp_units[3] = {256, 128, K};
    const nn_activation mlp_acts[3] = {NN_ACT_RELU, NN_ACT_RELU, NN_ACT_SOFTMAX};
    const size_t batches[2] = {1, 64};
    for (int b = 0; b < 2; b++) {
        ctx_t c = {.X = X, .lab = lab, .n_in = NIN, .n_out = K, .rows = ROWS,
                   .batch = batches[b]};
        make_net(&c, 3, mlp_units, mlp_acts, NN_LOSS_SOFTMAX_CE);
        double t = median_time(nn_step, &c, b ? 50 : 200);
        char name[96];
        snprintf(name, sizeof name, "libnn 784-256-128-10 batch %zu", batches[b]);
        printf("%-44s %12.2f %14.2f\n", name, t * 1e6, t * 1e6 / (double)batches[b]);
        free_net(&c);
    }
    free(X);
    free(Y);
    free(lab);
    return 0;
}
