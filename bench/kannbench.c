/* kannbench.c — KANN (single precision; github.com/attractivechaos/kann,
 * not part of libnn, built only with -Dkann_dir=DIR pointing at its
 * sources) side by side with libnn on the surrogate inference workloads of
 * issue 15: 8-64-64-4 (tanh, linear output) and 32-128-128-8 (sigmoid,
 * linear output) at batch 1 (KANN's kann_apply1; libnn's nn_net_predict
 * with a caller's context), 64 and 4096 (KANN's batched kann_eval_out).
 * Both are timed alternately in this process, 7 runs each, medians; the
 * ratio is the median of the paired ratios KANN / libnn (> 1: libnn
 * faster). KANN's outputs are checked to be finite (its weights are its
 * own random ones: the two networks compute the same shapes, not the same
 * numbers). One thread for both. */
#define _POSIX_C_SOURCE 200809L
#include "kann.h"

#include <math.h>
#include <nn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "benchutil.h"

typedef struct {
    kann_t *ann;
    int i_out;
    nn_net_t *net;
    nn_ctx_t *ctx;
    float *xf;
    double *xd, *yd;
    size_t m, n_in, n_out;
    volatile float sink;
} job;

static void run_kann(job *j)
{
    if (j->m == 1) {
        j->sink += kann_apply1(j->ann, j->xf)[0];
        return;
    }
    kann_set_batch_size(j->ann, (int)j->m);
    kann_feed_bind(j->ann, KANN_F_IN, 0, &j->xf);
    kann_eval_out(j->ann);
    j->sink += j->ann->v[j->i_out]->x[0];
}

static void run_libnn(job *j)
{
    nn_net_predict(j->net, j->ctx, j->m, NN_ROW_MAJOR, j->xd, j->n_in, j->yd,
                   j->n_out);
}

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

static kann_t *make_kann(const size_t *n, int sigmoid)
{
    kad_node_t *t = kann_layer_input((int)n[0]);
    for (int l = 1; l <= 2; l++) {
        t = kann_layer_dense(t, (int)n[l]);
        t = sigmoid ? kad_sigm(t) : kad_tanh(t);
    }
    kann_t *ann = kann_new(kann_layer_cost(t, (int)n[3], KANN_C_MSE), 0);
    kann_switch(ann, 0);
    return ann;
}

static nn_net_t *make_net(const size_t *n, nn_activation act)
{
    nn_netspec_t *spec = NULL;
    nn_net_t *net = NULL;
    nn_status st = nn_netspec_create(&spec, n[0], NN_LOSS_MSE, NULL);
    for (size_t l = 0; !st && l < 3; l++)
        st = nn_netspec_add_dense(spec, n[l + 1], l < 2 ? act : NN_ACT_IDENTITY);
    if (!st) st = nn_net_create(&net, spec, NULL);
    nn_netspec_destroy(spec);
    if (!st) st = nn_net_init(net, NN_INIT_DEFAULT, 42);
    if (st) exit(1);
    return net;
}

static void row(const char *name, const size_t *n, int sigmoid, size_t m)
{
    job j = {.m = m, .n_in = n[0], .n_out = n[3]};
    j.ann = make_kann(n, sigmoid);
    j.i_out = kann_find(j.ann, KANN_F_OUT, 0);
    j.net = make_net(n, sigmoid ? NN_ACT_SIGMOID : NN_ACT_TANH);
    if (nn_ctx_create(&j.ctx, j.net, m, NULL)) exit(1);
    j.xf = malloc(m * n[0] * sizeof *j.xf);
    j.xd = malloc(m * n[0] * sizeof *j.xd);
    j.yd = malloc(m * n[3] * sizeof *j.yd);
    for (size_t i = 0; i < m * n[0]; i++)
        j.xd[i] = j.xf[i] = (float)(4.0 * (double)((i * 2654435761u) % 1000) /
                                    1000.0 - 2.0);
    run_kann(&j);
    int ok = isfinite(j.sink);
    double tk[7], tn[7], q[7], tmin = m == 1 ? 0.02 : 0.05;
    time_loop(run_kann, &j, 0.2);
    time_loop(run_libnn, &j, 0.2);
    for (int r = 0; r < 7; r++) {
        tk[r] = time_loop(run_kann, &j, tmin);
        tn[r] = time_loop(run_libnn, &j, tmin);
        q[r] = tk[r] / tn[r];
    }
    qsort(tk, 7, sizeof *tk, cmp_double);
    qsort(tn, 7, sizeof *tn, cmp_double);
    qsort(q, 7, sizeof *q, cmp_double);
    printf("%-22s %5zu %14.1f %14.1f %12.2f %s\n", name, m,
           tk[3] / (double)m * 1e9, tn[3] / (double)m * 1e9, q[3],
           ok ? "ok" : "FAIL (KANN output not finite)");
    fflush(stdout);
    free(j.xf);
    free(j.xd);
    free(j.yd);
    nn_ctx_destroy(j.ctx);
    nn_net_destroy(j.net);
    kann_delete(j.ann);
}

int main(void)
{
    nn_set_num_threads(1);
    printf("# kannbench: KANN (float) vs libnn %s (double, %s core %s), one "
           "thread, medians of 7 alternating runs\n",
           nn_version_string(), nn_blas_name(), nn_blas_core());
    printf("%-22s %5s %14s %14s %12s\n", "workload", "batch", "KANN ns/samp",
           "libnn ns/samp", "KANN/libnn");
    static const size_t s1[4] = {8, 64, 64, 4}, s2[4] = {32, 128, 128, 8};
    static const size_t batches[3] = {1, 64, 4096};
    for (int b = 0; b < 3; b++) row("8-64-64-4 tanh", s1, 0, batches[b]);
    for (int b = 0; b < 3; b++) row("32-128-128-8 sigmoid", s2, 1, batches[b]);
    return 0;
}
