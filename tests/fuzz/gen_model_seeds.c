/* gen_model_seeds.c — writes the model-format seed corpus (small nets, with
 * and without optimizers, every activation, loss and optimizer kind, and in
 * format version 2 the network settings and attached scalers) into the
 * directory given as argv[1]. Built by meson (not by default):
 *   ninja -C build tests/fuzz/gen_model_seeds &&
 *   build/tests/fuzz/gen_model_seeds tests/fuzz/corpus/model
 * (The version-1 seeds already in the corpus came from libnn 0.x.) */
#include <stdio.h>
#include <stdlib.h>

#include "nn.h"

static void check(nn_status st, const char *what)
{
    if (st != NN_OK) {
        fprintf(stderr, "%s: %s\n", what, nn_strerror(st));
        exit(1);
    }
}

/* One layer of a seed network. */
typedef struct {
    size_t n_out;
    nn_activation act;
    double slope, dropout;
} layer;

static nn_net_t *build(const char *name, size_t n_in, size_t nl,
                       const layer *ls, nn_loss loss, int settings)
{
    nn_netspec_t *sp = NULL;
    check(nn_netspec_create(&sp, n_in, loss, NULL), name);
    for (size_t l = 0; l < nl; l++) {
        check(nn_netspec_add_dense(sp, ls[l].n_out, ls[l].act), name);
        if (ls[l].act == NN_ACT_LEAKY_RELU)
            check(nn_netspec_set_real(sp, l, NN_LAYER_ACT_PARAM, ls[l].slope),
                  name);
        check(nn_netspec_set_real(sp, l, NN_LAYER_DROPOUT, ls[l].dropout),
              name);
    }
    if (settings) {
        check(nn_netspec_set_int(sp, NN_NET_WIDE, NN_NET_REDUCTION,
                                 NN_REDUCE_SUM), name);
        check(nn_netspec_set_int(sp, NN_NET_WIDE, NN_NET_CHECK_FINITE, 1),
              name);
        check(nn_netspec_set_int(sp, NN_NET_WIDE, NN_NET_DROPOUT_SEED, 77),
              name);
    }
    nn_net_t *net = NULL;
    check(nn_net_create(&net, sp, NULL), name);
    nn_netspec_destroy(sp);
    return net;
}

/* An input scaler (standard, fitted) and a target scaler (custom). */
static void attach_scalers(nn_net_t *net, const double *X, const char *name)
{
    size_t n_in = nn_net_n_in(net), k = nn_net_n_out(net);
    nn_scaler_t *s = NULL;
    check(nn_scaler_fit(&s, NN_SCALE_STANDARD, 4, n_in, NN_ROW_MAJOR, X, n_in,
                        NULL), name);
    check(nn_net_set_scaler(net, NN_SCALER_INPUT, s), name);
    nn_scaler_destroy(s);
    double off[8], sc[8];
    for (size_t j = 0; j < k; j++) {
        off[j] = 0.5 * (double)j;
        sc[j] = 2.0 + (double)j;
    }
    check(nn_scaler_create(&s, k, off, sc, NULL), name);
    check(nn_net_set_scaler(net, NN_SCALER_TARGET, s), name);
    nn_scaler_destroy(s);
}

/* Save net (+ opt after `steps` training steps on a fixed batch). */
static void seed(const char *dir, const char *name, size_t n_in, size_t nl,
                 const layer *ls, nn_loss loss, int kind, int steps,
                 int extras)
{
    nn_net_t *net = build(name, n_in, nl, ls, loss, extras);
    nn_optim_t *opt = NULL;
    check(nn_optim_create(&opt, net, kind >= 0 ? kind : NN_OPTIM_SGD, NULL),
          name);
    check(nn_optim_set_real(opt, NN_OPTIM_LR, 0.1), name);
    if (kind == NN_OPTIM_ADAM) {
        check(nn_optim_set_real(opt, NN_OPTIM_WEIGHT_DECAY, 0.01), name);
        check(nn_optim_set_int(opt, NN_OPTIM_DECOUPLED, 1), name);
        check(nn_optim_set_real(opt, NN_OPTIM_CLIP_NORM, 5), name);
    }
    double X[4 * 8], Y[4 * 8];
    int32_t lab[4];
    for (int i = 0; i < 32; i++) X[i] = (i % 5) * 0.25 - 0.5;
    for (int i = 0; i < 32; i++) Y[i] = (i % 3) == 0;
    for (int i = 0; i < 4; i++) lab[i] = (int32_t)((size_t)i % nn_net_n_out(net));
    size_t k = nn_net_n_out(net);
    for (int s = 0; s < steps; s++) {
        if (loss == NN_LOSS_SOFTMAX_CE)
            check(nn_net_gradient_labels(net, 4, NN_ROW_MAJOR, X, n_in, lab, NULL), name);
        else
            check(nn_net_gradient(net, 4, NN_ROW_MAJOR, X, n_in, Y, k, NULL), name);
        check(nn_optim_step(opt, net), name);
    }
    if (extras) attach_scalers(net, X, name);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    check(nn_model_save(path, net, kind >= 0 ? opt : NULL, NULL), name);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *d = argv[1];
    const layer lin[] = {{1, NN_ACT_IDENTITY, 0, 0}};
    const layer bce[] = {{3, NN_ACT_TANH, 0, 0}, {2, NN_ACT_SIGMOID, 0, 0}};
    const layer ce[] = {{4, NN_ACT_RELU, 0, 0.25}, {3, NN_ACT_SOFTMAX, 0, 0}};
    const layer leaky[] = {{3, NN_ACT_LEAKY_RELU, 0.01, 0.5},
                           {2, NN_ACT_SOFTMAX, 0, 0},
                           {1, NN_ACT_IDENTITY, 0, 0}};
    seed(d, "v2_linear_mse", 2, 1, lin, NN_LOSS_MSE, -1, 0, 0);
    seed(d, "v2_tanh_bce_sgd", 2, 2, bce, NN_LOSS_BCE, NN_OPTIM_SGD, 1, 0);
    seed(d, "v2_relu_ce_adam", 3, 2, ce, NN_LOSS_SOFTMAX_CE, NN_OPTIM_ADAM, 2, 0);
    seed(d, "v2_leaky_mse_momentum", 2, 3, leaky, NN_LOSS_MSE, NN_OPTIM_MOMENTUM, 1, 0);
    seed(d, "v2_leaky_mse_nesterov", 2, 3, leaky, NN_LOSS_MSE, NN_OPTIM_NESTEROV, 0, 1);
    seed(d, "v2_tanh_bce_scalers", 2, 2, bce, NN_LOSS_BCE, -1, 3, 1);
    seed(d, "v2_relu_ce_adam_scalers", 3, 2, ce, NN_LOSS_SOFTMAX_CE, NN_OPTIM_ADAM, 2, 1);
    return 0;
}
