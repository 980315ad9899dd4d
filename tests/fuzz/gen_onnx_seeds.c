/* gen_onnx_seeds.c — writes libnn's own ONNX exports (nn_onnx_save) into
 * the directory given as argv[1]: small nets with every activation, with
 * and without NN_ONNX_LOGITS. The hand-built seeds (foreign graph forms,
 * broken inputs) come from gen_onnx_seeds.py. Built by meson in an onnx
 * build (not by default):
 *   ninja -C build tests/fuzz/gen_onnx_seeds &&
 *   build/tests/fuzz/gen_onnx_seeds tests/fuzz/corpus/onnx */
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

typedef struct {
    size_t n_out;
    nn_activation act;
    double slope;
} layer;

/* A network of nl layers on n_in inputs, initialised from `seed`, saved as
 * DIR/NAME with flags. */
static void seed(const char *dir, const char *name, size_t n_in, size_t nl,
                 const layer *ls, nn_loss loss, int32_t flags, uint64_t seed)
{
    nn_netspec_t *sp = NULL;
    check(nn_netspec_create(&sp, n_in, loss, NULL), name);
    for (size_t l = 0; l < nl; l++) {
        check(nn_netspec_add_dense(sp, ls[l].n_out, ls[l].act), name);
        if (ls[l].act == NN_ACT_LEAKY_RELU)
            check(nn_netspec_set_real(sp, l, NN_LAYER_ACT_PARAM, ls[l].slope),
                  name);
    }
    nn_net_t *net = NULL;
    check(nn_net_create(&net, sp, NULL), name);
    nn_netspec_destroy(sp);
    check(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, seed), name);
    /* non-zero biases, so that they are seen */
    double *p = nn_net_params(net);
    for (size_t l = 0; l < nl; l++) {
        size_t w = 0, b = 0;
        check(nn_net_layer_offset(net, l, &w, &b), name);
        for (size_t j = 0; j < ls[l].n_out; j++)
            p[b + j] = 0.125 * (double)(j + 1) - 0.25;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    check(nn_onnx_save(path, net, flags, NULL), name);
    nn_net_destroy(net);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *d = argv[1];
    const layer lin[] = {{1, NN_ACT_IDENTITY, 0}};
    const layer bce[] = {{3, NN_ACT_TANH, 0}, {2, NN_ACT_SIGMOID, 0}};
    const layer ce[] = {{4, NN_ACT_RELU, 0}, {3, NN_ACT_SOFTMAX, 0}};
    const layer leaky[] = {{3, NN_ACT_LEAKY_RELU, 0.2},
                           {2, NN_ACT_LEAKY_RELU, 0.01},
                           {1, NN_ACT_IDENTITY, 0}};
    seed(d, "nn_linear_mse", 2, 1, lin, NN_LOSS_MSE, 0, 1);
    seed(d, "nn_tanh_sigmoid_bce", 2, 2, bce, NN_LOSS_BCE, 0, 2);
    seed(d, "nn_relu_softmax_ce", 3, 2, ce, NN_LOSS_SOFTMAX_CE, 0, 3);
    seed(d, "nn_relu_softmax_logits", 3, 2, ce, NN_LOSS_SOFTMAX_CE,
         NN_ONNX_LOGITS, 3);
    seed(d, "nn_leaky_mse", 2, 3, leaky, NN_LOSS_MSE, 0, 4);
    return 0;
}
