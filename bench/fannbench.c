/* fannbench.c — FANN 2.2 (Debian's libfann-dev, double precision) side by
 * side with libnn on the same networks, in the same run (issue 4, optional):
 *   - the notes' 2-4-1 network, one sample per training step;
 *   - 784-256-128-10, FANN's per-sample (incremental) training against libnn
 *     at batch 1 and batch 64;
 *   - surrogate inference (issue 15): 8-64-64-4 (tanh, linear output) and
 *     32-128-128-8 (sigmoid, linear output), one sample per call: FANN's
 *     fann_run against libnn's nn_net_predict with a caller's context, the
 *     same weights copied into FANN, the outputs compared first (1e-12), the
 *     two timed alternately; ratio = median of the paired ratios.
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

#include "benchutil.h"

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
    qsort(t, 7, sizeof t[0], cmp_double);
    return t[3];
}

/* Seconds per call of one run of `steps` calls. */
static double time_once(step_fn fn, void *ctx, long steps)
{
    double t0 = now();
    for (long i = 0; i < steps; i++) fn(ctx, i);
    return (now() - t0) / (double)steps;
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
    qsort(q, 7, sizeof q[0], cmp_double);
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

/* ------------------------------------------------------------ inference */
typedef struct {
    struct fann *ann;
    nn_net_t *net;
    nn_ctx_t *ctx;
    const double *X;
    double *Y;
    size_t n_in, n_out, rows;
    long i;
} infer_t;

static void fann_infer(void *p, long i)
{
    infer_t *c = p;
    const double *x = c->X + ((size_t)i % c->rows) * c->n_in;
    c->Y[0] += fann_run(c->ann, (fann_type *)x)[0];
}

static void nn_infer(void *p, long i)
{
    infer_t *c = p;
    const double *x = c->X + ((size_t)i % c->rows) * c->n_in;
    nn_net_predict(c->net, c->ctx, 1, NN_ROW_MAJOR, x, c->n_in, c->Y + 1,
                   c->n_out);
}

/* Copy libnn's layer parameters into FANN's connections: FANN numbers its
 * neurons layer by layer, each layer followed by its bias neuron. */
static void copy_weights(struct fann *ann, nn_net_t *net, const size_t *n,
                         size_t layers)
{
    unsigned int nc = fann_get_total_connections(ann);
    struct fann_connection *cn = malloc(nc * sizeof *cn);
    size_t first[8]; /* first neuron of each layer */
    first[0] = 0;
    for (size_t l = 1; l <= layers; l++) first[l] = first[l - 1] + n[l - 1] + 1;
    fann_get_connection_array(ann, cn);
    for (unsigned int c = 0; c < nc; c++) {
        size_t l = 1;
        while (l < layers && cn[c].to_neuron >= first[l + 1]) l++;
        size_t j = cn[c].to_neuron - first[l], i = cn[c].from_neuron - first[l - 1];
        double *W = malloc(n[l - 1] * n[l] * sizeof *W), *b = malloc(n[l] * sizeof *b);
        nn_net_get_params(net, l - 1, NN_ROW_MAJOR, W, n[l], b);
        cn[c].weight = i == n[l - 1] ? b[j] : W[i * n[l] + j];
        free(W);
        free(b);
    }
    fann_set_weight_array(ann, cn, nc);
    free(cn);
}

/* One inference workload: check, then alternate FANN and libnn. */
static void infer_row(const char *name, const size_t *n, nn_activation act,
                      enum fann_activationfunc_enum fact)
{
    enum { ROWS = 256 };
    nn_netspec_t *spec = NULL;
    infer_t c = {.n_in = n[0], .n_out = n[3], .rows = ROWS};
    nn_status st = nn_netspec_create(&spec, n[0], NN_LOSS_MSE, NULL);
    for (size_t l = 0; !st && l < 3; l++)
        st = nn_netspec_add_dense(spec, n[l + 1], l < 2 ? act : NN_ACT_IDENTITY);
    if (!st) st = nn_net_create(&c.net, spec, NULL);
    nn_netspec_destroy(spec);
    if (!st) st = nn_net_init(c.net, NN_INIT_DEFAULT, 7);
    if (!st) st = nn_ctx_create(&c.ctx, c.net, 1, NULL);
    if (st) exit(1);
    c.ann = fann_create_standard(4, (unsigned)n[0], (unsigned)n[1], (unsigned)n[2],
                                 (unsigned)n[3]);
    fann_set_activation_function_hidden(c.ann, fact);
    /* FANN's tanh is sigmoid-symmetric at steepness 1, its logistic
     * sigmoid at 0.5 (it computes 1/(1+exp(-2 s x))) */
    fann_set_activation_steepness_hidden(c.ann, fact == FANN_SIGMOID ? 0.5 : 1.0);
    fann_set_activation_function_output(c.ann, FANN_LINEAR);
    fann_set_activation_steepness_output(c.ann, 1.0);
    copy_weights(c.ann, c.net, n, 3);
    double *X = malloc(ROWS * n[0] * sizeof *X), Y[1 + 16];
    for (size_t i = 0; i < ROWS * n[0]; i++)
        X[i] = 4.0 * (double)((i * 2654435761u) % 1000) / 1000.0 - 2.0;
    c.X = X;
    c.Y = Y;
    double err = 0.0, mag = 0.0;
    for (size_t r = 0; r < ROWS; r++) {
        const fann_type *f = fann_run(c.ann, (fann_type *)(X + r * n[0]));
        nn_net_predict(c.net, c.ctx, 1, NN_ROW_MAJOR, X + r * n[0], n[0], Y + 1,
                       n[3]);
        for (size_t j = 0; j < n[3]; j++) {
            err = fmax(err, fabs(f[j] - Y[1 + j]));
            mag = fmax(mag, fabs(Y[1 + j]));
        }
    }
    int ok = err <= 1e-12 * (mag > 1.0 ? mag : 1.0);
    double tf[7], tn[7], q[7];
    time_once(fann_infer, &c, 100000); /* warm-up */
    time_once(nn_infer, &c, 200000);
    for (int r = 0; ok && r < 7; r++) {
        tf[r] = time_once(fann_infer, &c, 20000);
        tn[r] = time_once(nn_infer, &c, 50000);
        q[r] = tf[r] / tn[r];
    }
    if (ok) {
        qsort(tf, 7, sizeof tf[0], cmp_double);
        qsort(tn, 7, sizeof tn[0], cmp_double);
        qsort(q, 7, sizeof q[0], cmp_double);
        printf("%-44s %12.4f %14.4f\n", name, tf[3] * 1e6, tf[3] * 1e6);
        printf("%-44s %12.4f %14.4f  (FANN / libnn %.2f, max |diff| %.1e)\n",
               "  libnn nn_net_predict, batch 1, same weights", tn[3] * 1e6,
               tn[3] * 1e6, q[3], err);
    } else {
        printf("%-44s FAIL: FANN and libnn outputs differ by %.3g\n", name, err);
    }
    free(X);
    fann_destroy(c.ann);
    nn_ctx_destroy(c.ctx);
    nn_net_destroy(c.net);
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

    /* surrogate inference, one sample per call */
    static const size_t s1[4] = {8, 64, 64, 4}, s2[4] = {32, 128, 128, 8};
    infer_row("FANN fann_run 8-64-64-4 tanh", s1, NN_ACT_TANH,
              FANN_SIGMOID_SYMMETRIC);
    infer_row("FANN fann_run 32-128-128-8 sigmoid", s2, NN_ACT_SIGMOID,
              FANN_SIGMOID);
    return 0;
}
