/* fashion_mnist.c — train an MLP on Fashion-MNIST (Debian's
 * dataset-fashion-mnist package) and report per-epoch progress, the test
 * accuracy, and the speed.
 *
 * usage: fashion_mnist [DATA_DIR] [EPOCHS]
 *        (default /usr/share/datasets/fashion-mnist, 12 epochs)
 *
 * Recipe: 784-256-128-10 (relu, relu, softmax + cross-entropy), He init,
 * pixels scaled to [0, 1], Adam (lr 1e-3 with a cosine decay to 0 over the
 * run), mini-batches of 128 shuffled each epoch from a fixed seed. */
#define _POSIX_C_SOURCE 199309L
#include <nn.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int fail(const char *what, nn_status st, const nn_error_info *err)
{
    fprintf(stderr, "fashion_mnist: %s: %s", what, nn_strerror(st));
    if (err && err->message[0]) fprintf(stderr, " (%s: %s)", err->file, err->message);
    fputc('\n', stderr);
    return 1;
}

/* Load one split: images scaled to [0, 1] and labels. */
static nn_status load_split(const char *dir, const char *prefix, nn_data_t **out,
                            nn_error_info *err)
{
    char img[1024], lab[1024];
    snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", dir, prefix);
    snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", dir, prefix);
    nn_data_t *d = NULL;
    nn_status st = nn_data_load_idx(&d, img, NULL, err);
    if (!st) st = nn_data_load_idx_labels(d, lab, err);
    if (st) {
        nn_data_destroy(d);
        return st;
    }
    double *x = nn_data_x(d);
    size_t n = nn_data_rows(d) * nn_data_cols(d);
    for (size_t i = 0; i < n; i++) x[i] /= 255.0;
    *out = d;
    return NN_OK;
}

/* Fraction of rows whose largest output is the label. */
static double accuracy(nn_net_t *net, nn_data_t *d, double *P, size_t chunk)
{
    size_t m = nn_data_rows(d), n = nn_data_cols(d), k = nn_net_n_out(net), right = 0;
    const size_t *y = nn_data_labels(d);
    for (size_t i = 0; i < m; i += chunk) {
        size_t b = m - i < chunk ? m - i : chunk;
        if (nn_net_predict(net, b, NN_ROW_MAJOR, nn_data_x(d) + i * n, n, P, k))
            return NAN;
        for (size_t r = 0; r < b; r++) {
            size_t best = 0;
            for (size_t j = 1; j < k; j++)
                if (P[r * k + j] > P[r * k + best]) best = j;
            right += best == y[i + r];
        }
    }
    return (double)right / (double)m;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/usr/share/datasets/fashion-mnist";
    int epochs = argc > 2 ? atoi(argv[2]) : 12;
    enum { BATCH = 128, EVAL_CHUNK = 2000 };
    nn_error_info err = {0};
    nn_data_t *train = NULL, *test = NULL;
    nn_status st = load_split(dir, "train", &train, &err);
    if (st == NN_ERR_IO) {
        fprintf(stderr, "fashion_mnist: cannot read the data set in %s (%s).\n"
                "Install it with: sudo apt-get install dataset-fashion-mnist\n",
                dir, err.message);
        return 2;
    }
    if (!st) st = load_split(dir, "t10k", &test, &err);
    if (st) return fail("loading data", st, &err);
    size_t m = nn_data_rows(train), n = nn_data_cols(train);

    const nn_layer_spec layers[] = {{256, NN_ACT_RELU, 0},
                                    {128, NN_ACT_RELU, 0},
                                    {10, NN_ACT_SOFTMAX, 0}};
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    nn_optim_config cfg;
    nn_optim_config_default(&cfg, NN_OPTIM_ADAM);
    st = nn_net_create(&net, n, 3, layers, NN_LOSS_SOFTMAX_CE, NULL);
    if (!st) st = nn_net_init(net, NN_INIT_HE_UNIFORM, 2026);
    if (!st) st = nn_net_reserve(net, EVAL_CHUNK);
    if (!st) st = nn_optim_create(&opt, net, &cfg, NULL);
    if (st) return fail("creating the network", st, NULL);

    double *Xb = malloc(sizeof(double) * BATCH * n), *P = malloc(sizeof(double) * EVAL_CHUNK * 10);
    size_t *yb = malloc(sizeof(size_t) * BATCH), *perm = malloc(sizeof(size_t) * m);
    if (!Xb || !P || !yb || !perm) return fail("allocating buffers", NN_ERR_NOMEM, NULL);
    for (size_t i = 0; i < m; i++) perm[i] = i;
    uint64_t rs = 88172645463325252ull; /* xorshift64 for the shuffles */

    printf("libnn %s: Fashion-MNIST %zu train / %zu test, MLP %zu-256-128-10, "
           "Adam, batch %d, %d epochs, %zu BLAS thread(s)\n",
           nn_version_string(), m, nn_data_rows(test), n, BATCH, epochs,
           nn_get_num_threads());
    size_t steps_per_epoch = (m + BATCH - 1) / BATCH, step = 0;
    size_t total_steps = steps_per_epoch * (size_t)epochs;
    double t0 = now(), train_time = 0;
    for (int e = 1; e <= epochs; e++) {
        double te = now(), loss_sum = 0;
        for (size_t i = m - 1; i > 0; i--) { /* Fisher-Yates */
            rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
            size_t j = (size_t)(rs % (i + 1)), t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        for (size_t i = 0; i < m; i += BATCH, step++) {
            size_t b = m - i < BATCH ? m - i : BATCH; /* last partial batch */
            for (size_t r = 0; r < b; r++) {
                memcpy(Xb + r * n, nn_data_x(train) + perm[i + r] * n, n * sizeof(double));
                yb[r] = nn_data_labels(train)[perm[i + r]];
            }
            double lr = 0.5e-3 * (1.0 + cos(3.141592653589793 * (double)step / (double)total_steps));
            double loss;
            st = nn_optim_set_lr(opt, lr > 1e-6 ? lr : 1e-6);
            if (!st) st = nn_net_gradient_labels(net, b, NN_ROW_MAJOR, Xb, n, yb, &loss);
            if (!st) st = nn_optim_step(opt, net);
            if (st) return fail("training step", st, NULL);
            loss_sum += loss * (double)b;
        }
        double dt = now() - te;
        train_time += dt;
        printf("epoch %2d  train loss %.4f  test acc %.4f  %.2f s  (%.0f samples/s)\n",
               e, loss_sum / (double)m, accuracy(net, test, P, EVAL_CHUNK), dt,
               (double)m / dt);
        fflush(stdout);
    }
    double acc = accuracy(net, test, P, EVAL_CHUNK);
    printf("final test accuracy %.4f; training %.1f s (%.0f samples/s), total %.1f s\n",
           acc, train_time, (double)m * epochs / train_time, now() - t0);

    free(Xb); free(P); free(yb); free(perm);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_data_destroy(train);
    nn_data_destroy(test);
    return 0;
}
