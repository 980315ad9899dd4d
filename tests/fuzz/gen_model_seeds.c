/* gen_model_seeds.c — writes the model-format seed corpus (small nets, with
 * and without optimizers, every activation, loss and optimizer kind) into the
 * directory given as argv[1]. Built by meson (not by default):
 *   ninja -C build tests/fuzz/gen_model_seeds &&
 *   build/tests/fuzz/gen_model_seeds tests/fuzz/corpus/model */
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

/* Save net (+ opt after `steps` training steps on a fixed batch). */
static void seed(const char *dir, const char *name, size_t n_in, size_t nl,
                 const nn_layer_spec *specs, nn_loss loss, int kind,
                 int steps)
{
    nn_net_t *net = NULL;
    check(nn_net_create(&net, n_in, nl, specs, loss, NULL), name);
    nn_optim_t *opt = NULL;
    if (kind >= 0) {
        nn_optim_config cfg;
        check(nn_optim_config_default(&cfg, (nn_optim_kind)kind), name);
        if (kind == NN_OPTIM_ADAM) {
            cfg.weight_decay = 0.01;
            cfg.decoupled = 1;
            cfg.clip_norm = 5;
        }
        check(nn_optim_create(&opt, net, &cfg, NULL), name);
    }
    double X[4 * 8], Y[4 * 8];
    size_t lab[4];
    for (int i = 0; i < 32; i++) X[i] = (i % 5) * 0.25 - 0.5;
    for (int i = 0; i < 32; i++) Y[i] = (i % 3) == 0;
    for (int i = 0; i < 4; i++) lab[i] = (size_t)i % nn_net_n_out(net);
    size_t k = nn_net_n_out(net);
    for (int s = 0; s < steps; s++) {
        if (loss == NN_LOSS_SOFTMAX_CE)
            check(nn_net_gradient_labels(net, 4, NN_ROW_MAJOR, X, n_in, lab, NULL), name);
        else
            check(nn_net_gradient(net, 4, NN_ROW_MAJOR, X, n_in, Y, k, NULL), name);
        check(opt ? nn_optim_step(opt, net) : nn_net_sgd_step(net, 0.1), name);
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    check(nn_model_save(path, net, opt, NULL), name);
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
    const nn_layer_spec lin[] = {{1, NN_ACT_IDENTITY, 0, 0}};
    const nn_layer_spec bce[] = {{3, NN_ACT_TANH, 0, 0}, {2, NN_ACT_SIGMOID, 0, 0}};
    const nn_layer_spec ce[] = {{4, NN_ACT_RELU, 0, 0.25}, {3, NN_ACT_SOFTMAX, 0, 0}};
    const nn_layer_spec leaky[] = {{3, NN_ACT_LEAKY_RELU, 0.01, 0.5},
                                   {2, NN_ACT_SOFTMAX, 0, 0},
                                   {1, NN_ACT_IDENTITY, 0, 0}};
    seed(d, "linear_mse", 2, 1, lin, NN_LOSS_MSE, -1, 0);
    seed(d, "tanh_bce_sgd", 2, 2, bce, NN_LOSS_BCE, NN_OPTIM_SGD, 1);
    seed(d, "relu_ce_adam", 3, 2, ce, NN_LOSS_SOFTMAX_CE, NN_OPTIM_ADAM, 2);
    seed(d, "leaky_mse_momentum", 2, 3, leaky, NN_LOSS_MSE, NN_OPTIM_MOMENTUM, 1);
    seed(d, "leaky_mse_nesterov", 2, 3, leaky, NN_LOSS_MSE, NN_OPTIM_NESTEROV, 0);
    seed(d, "tanh_bce_trained", 2, 2, bce, NN_LOSS_BCE, -1, 3);
    return 0;
}
