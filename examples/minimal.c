/* minimal.c — the README's example: train the notes' 2-4-1 network on XOR,
 * predict, save the model, load it back and predict again.
 * Build: cc minimal.c $(pkg-config --cflags --libs nn) -o minimal
 * Usage: minimal [MODEL_FILE]   (default: xor.nnm in the current directory) */
#include <nn.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "xor.nnm";
    const double X[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1}; /* m = 4 rows, 2 inputs */
    const double Y[4] = {0, 1, 1, 0};
    nn_netspec_t *spec = NULL;
    nn_net_t *net = NULL, *copy = NULL;
    nn_optim_t *opt = NULL;
    double loss = 0, P[4], Q[4];

    /* 2 inputs -> 4 tanh -> 1 sigmoid, binary cross-entropy */
    nn_status st = nn_netspec_create(&spec, 2, NN_LOSS_BCE, NULL);
    if (st == NN_OK) st = nn_netspec_add_dense(spec, 4, NN_ACT_TANH);
    if (st == NN_OK) st = nn_netspec_add_dense(spec, 1, NN_ACT_SIGMOID);
    if (st == NN_OK) st = nn_net_create(&net, spec, NULL);
    nn_netspec_destroy(spec);
    if (st == NN_OK) st = nn_net_init(net, NN_INIT_DEFAULT, 42);
    /* plain SGD, learning rate 1 */
    if (st == NN_OK) st = nn_optim_create(&opt, net, NN_OPTIM_SGD, NULL);
    if (st == NN_OK) st = nn_optim_set_real(opt, NN_OPTIM_LR, 1.0);
    for (int step = 0; step < 3000 && st == NN_OK; step++)
        st = nn_net_train_step(net, opt, 4, NN_ROW_MAJOR, X, 2, Y, 1, &loss);
    /* ctx NULL: a temporary workspace (pass an nn_ctx_t to reuse one) */
    if (st == NN_OK) st = nn_net_predict(net, NULL, 4, NN_ROW_MAJOR, X, 2, P, 1);
    if (st == NN_OK) st = nn_model_save(path, net, NULL, NULL);
    if (st == NN_OK) st = nn_model_load(path, &copy, NULL, NULL, NULL);
    if (st == NN_OK) st = nn_net_predict(copy, NULL, 4, NN_ROW_MAJOR, X, 2, Q, 1);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_net_destroy(copy);
    if (st != NN_OK) {
        fprintf(stderr, "minimal: %s\n", nn_strerror(st));
        return 1;
    }
    int same = P[0] == Q[0] && P[1] == Q[1] && P[2] == Q[2] && P[3] == Q[3];
    printf("libnn %s: loss %.4f, XOR -> %.2f %.2f %.2f %.2f (reloaded from "
           "%s: %s)\n", nn_version_string(), loss, P[0], P[1], P[2], P[3],
           path, same ? "same predictions" : "DIFFERENT predictions");
    return same && P[0] < 0.5 && P[1] > 0.5 && P[2] > 0.5 && P[3] < 0.5 ? 0 : 1;
}
