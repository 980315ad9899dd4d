/* xor_blobs.c — the current main job: the notes' 2-4-1 network (tanh hidden
 * layer, sigmoid output, binary cross-entropy) trained with mini-batch
 * gradient descent on a synthetic task, printing the loss as it falls, the
 * held-out accuracy and the speed. Each step is one nn_net_train_step with a
 * plain SGD optimizer (the fused path: the update rides on the dW products).
 *
 * The task: points drawn from four Gaussian blobs (sd 0.35) centred at
 * (+-1, +-1); the label is 1 when the two coordinates have opposite signs
 * (XOR of the quadrant), so no linear model can solve it. 4000 training
 * points and 2000 test points from a fixed seed. */
#define _POSIX_C_SOURCE 199309L /* clock_gettime */
#include <nn.h>

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint64_t rng_state = 20261128;

static double uniform(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return ((rng_state >> 11) + 0.5) * 0x1.0p-53;
}

static double gaussian(void)
{
    return sqrt(-2.0 * log(uniform())) * cos(6.283185307179586 * uniform());
}

static void make_blobs(size_t m, double *X, double *Y)
{
    for (size_t i = 0; i < m; i++) {
        int qx = uniform() < 0.5, qy = uniform() < 0.5;
        X[2 * i] = (qx ? 1.0 : -1.0) + 0.35 * gaussian();
        X[2 * i + 1] = (qy ? 1.0 : -1.0) + 0.35 * gaussian();
        Y[i] = qx != qy;
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what, nn_status st)
{
    fprintf(stderr, "xor_blobs: %s: %s\n", what, nn_strerror(st));
    return 1;
}

/* The notes' 2-4-1 network: tanh hidden layer, sigmoid output, BCE. */
static nn_status make_net(nn_net_t **net)
{
    nn_netspec_t *spec = NULL;
    nn_status st = nn_netspec_create(&spec, 2, NN_LOSS_BCE, NULL);
    if (!st) st = nn_netspec_add_dense(spec, 4, NN_ACT_TANH);
    if (!st) st = nn_netspec_add_dense(spec, 1, NN_ACT_SIGMOID);
    if (!st) st = nn_net_create(net, spec, NULL);
    nn_netspec_destroy(spec);
    return st;
}

int main(void)
{
    enum { M_TRAIN = 4000, M_TEST = 2000, BATCH = 32, EPOCHS = 40 };
    static double Xtr[M_TRAIN * 2], Ytr[M_TRAIN], Xte[M_TEST * 2],
        Yte[M_TEST], P[M_TEST];
    make_blobs(M_TRAIN, Xtr, Ytr);
    make_blobs(M_TEST, Xte, Yte);

    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    nn_ctx_t *ctx = NULL; /* inference workspace, for the whole training set */
    nn_status st = make_net(&net);
    if (st) return fail("create", st);
    nn_set_num_threads(1); /* a 2-4-1 network is far too small to split */
    st = nn_net_init(net, NN_INIT_DEFAULT, 7);
    if (!st) st = nn_net_reserve(net, BATCH);
    if (!st) st = nn_ctx_create(&ctx, net, M_TRAIN, NULL);
    if (!st) st = nn_optim_create(&opt, net, NN_OPTIM_SGD, NULL);
    if (!st) st = nn_optim_set_real(opt, NN_OPTIM_LR, 0.5);
    if (st) return fail("setup", st);

    printf("libnn %s — 2-4-1 network (tanh, sigmoid + BCE) on XOR blobs\n",
           nn_version_string());
    printf("train %d / test %d points, batch %d, SGD lr 0.5\n", M_TRAIN,
           M_TEST, BATCH);
    double t0 = now(), loss = 0;
    long steps = 0;
    for (int epoch = 1; epoch <= EPOCHS; epoch++) {
        for (size_t i = 0; i + BATCH <= M_TRAIN; i += BATCH, steps++) {
            st = nn_net_train_step(net, opt, BATCH, NN_ROW_MAJOR, Xtr + 2 * i,
                                   2, Ytr + i, 1, NULL);
            if (st) return fail("training step", st);
        }
        if (epoch == 1 || epoch % 5 == 0) {
            st = nn_net_loss(net, ctx, M_TRAIN, NN_ROW_MAJOR, Xtr, 2, Ytr, 1,
                             &loss);
            if (st) return fail("loss", st);
            printf("epoch %2d  train loss %.4f\n", epoch, loss);
        }
    }
    double seconds = now() - t0;

    st = nn_net_predict(net, ctx, M_TEST, NN_ROW_MAJOR, Xte, 2, P, 1);
    if (st) return fail("predict", st);
    size_t right = 0;
    for (size_t i = 0; i < M_TEST; i++) right += (P[i] > 0.5) == (Yte[i] > 0.5);
    double acc = (double)right / M_TEST;

    /* per-sample speed: batch of one, the notes' setting */
    st = nn_optim_set_real(opt, NN_OPTIM_LR, 0.01);
    if (st) return fail("learning rate", st);
    double t1 = now();
    long n1 = 200000;
    for (long s = 0; s < n1; s++) {
        size_t i = (size_t)s % M_TRAIN;
        st = nn_net_train_step(net, opt, 1, NN_ROW_MAJOR, Xtr + 2 * i, 2,
                               Ytr + i, 1, NULL);
        if (st) return fail("batch-1 step", st);
    }
    double us1 = (now() - t1) / (double)n1 * 1e6;

    printf("test accuracy %.4f (%zu / %d)\n", acc, right, M_TEST);
    printf("speed: %ld steps of batch %d in %.3f s = %.2f us/step, "
           "%.0f samples/s; batch 1: %.3f us/step\n",
           steps, BATCH, seconds, seconds / (double)steps * 1e6,
           (double)steps * BATCH / seconds, us1);
    nn_ctx_destroy(ctx);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    return acc > 0.9 ? 0 : 1;
}
