/* Generator of the version-1 model fixtures v1_adam.nnm and v1_dropout.nnm.
 * NOT built by meson: it needs the 0.x API (libnn.so.0). To regenerate:
 *   git worktree add /tmp/oldnn 421b013   (the last 0.x commit)
 *   meson setup /tmp/oldnn/build /tmp/oldnn -Dtests=false && ninja -C /tmp/oldnn/build
 *   gcc -std=c11 -I/tmp/oldnn/include tests/data/gen_v1_models.c \
 *       -L/tmp/oldnn/build -lnn -Wl,-rpath,/tmp/oldnn/build -o /tmp/gen
 *   cd tests/data && /tmp/gen
 * It prints, with %a, the values tests/test_model.c expects after loading. */
#include <nn.h>
#include <stdio.h>
#include <stdlib.h>

#define CK(x) do { nn_status s_ = (x); if (s_ != NN_OK) { \
    fprintf(stderr, "%s: %d\n", #x, (int)s_); exit(1); } } while (0)

static const double X[8] = {0, 0, 0, 1, 1, 0, 1, 1};
static const double Y[4] = {0, 1, 1, 0};

static void print_arr(const char *name, const double *v, size_t n)
{
    printf("static const double %s[%zu] = {", name, n);
    for (size_t i = 0; i < n; i++)
        printf("%s%a", i ? ", " : "", v[i]);
    printf("};\n");
}

static void print_params(const char *pfx, nn_net_t *net)
{
    char name[64];
    for (size_t l = 0; l < nn_net_n_layers(net); l++) {
        size_t ni = nn_net_layer_n_in(net, l), no = nn_net_layer_n_out(net, l);
        snprintf(name, sizeof name, "%s_W%zu", pfx, l);
        print_arr(name, nn_net_weights(net, l), ni * no);
        snprintf(name, sizeof name, "%s_b%zu", pfx, l);
        print_arr(name, nn_net_bias(net, l), no);
    }
}

/* 2-3-1, tanh + sigmoid, BCE, Adam (lr 0.05) after 3 steps on XOR. */
static void gen_adam(void)
{
    nn_layer_spec sp[2] = {{3, NN_ACT_TANH, 0, 0}, {1, NN_ACT_SIGMOID, 0, 0}};
    nn_net_t *net;
    nn_optim_t *opt;
    nn_optim_config cfg;
    CK(nn_net_create(&net, 2, 2, sp, NN_LOSS_BCE, NULL));
    CK(nn_net_init(net, NN_INIT_DEFAULT, 7));
    CK(nn_optim_config_default(&cfg, NN_OPTIM_ADAM));
    cfg.lr = 0.05;
    cfg.weight_decay = 0.01;
    cfg.decoupled = true;
    CK(nn_optim_create(&opt, net, &cfg, NULL));
    for (int i = 0; i < 3; i++) {
        CK(nn_net_gradient(net, 4, NN_ROW_MAJOR, X, 2, Y, 1, NULL));
        CK(nn_optim_step(opt, net));
    }
    CK(nn_model_save("v1_adam.nnm", net, opt, NULL));
    print_params("v1a", net);
    size_t len = nn_optim_state_len(opt);
    double *st = malloc(len * sizeof *st);
    uint64_t steps;
    CK(nn_optim_get_state(opt, &steps, st, len));
    printf("/* steps %llu */\n", (unsigned long long)steps);
    print_arr("v1a_state", st, len);
    double P[4];
    CK(nn_net_predict(net, 4, NN_ROW_MAJOR, X, 2, P, 1));
    print_arr("v1a_pred", P, 4);
    free(st);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
}

/* 2-4-1, tanh (dropout 0.5) + identity, MSE, no optimizer; two SGD steps
 * advance the dropout generator before saving. The gradient of the next
 * step after saving is printed: it depends on the saved generator state. */
static void gen_dropout(void)
{
    nn_layer_spec sp[2] = {{4, NN_ACT_TANH, 0, 0.5}, {1, NN_ACT_IDENTITY, 0, 0}};
    nn_net_t *net;
    CK(nn_net_create(&net, 2, 2, sp, NN_LOSS_MSE, NULL));
    CK(nn_net_init(net, NN_INIT_DEFAULT, 11));
    for (int i = 0; i < 2; i++) {
        CK(nn_net_gradient(net, 4, NN_ROW_MAJOR, X, 2, Y, 1, NULL));
        CK(nn_net_sgd_step(net, 0.1));
    }
    CK(nn_model_save("v1_dropout.nnm", net, NULL, NULL));
    print_params("v1d", net);
    double P[4], loss;
    CK(nn_net_predict(net, 4, NN_ROW_MAJOR, X, 2, P, 1));
    print_arr("v1d_pred", P, 4);
    CK(nn_net_gradient(net, 4, NN_ROW_MAJOR, X, 2, Y, 1, &loss));
    printf("static const double v1d_next_loss = %a;\n", loss);
    print_arr("v1d_next_dW0", nn_net_grad_weights(net, 0), 8);
    print_arr("v1d_next_dW1", nn_net_grad_weights(net, 1), 4);
    nn_net_destroy(net);
}

int main(void)
{
    gen_adam();
    gen_dropout();
    return 0;
}
