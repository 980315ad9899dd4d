/* minimal.c — the README's example: train the notes' 2-4-1 network on XOR.
 * Build: cc minimal.c $(pkg-config --cflags --libs nn) -o minimal */
#include <nn.h>
#include <stdio.h>

int main(void)
{
    const nn_layer_spec layers[] = {{4, NN_ACT_TANH, 0}, {1, NN_ACT_SIGMOID, 0}};
    const double X[4 * 2] = {0, 0, 0, 1, 1, 0, 1, 1}; /* m = 4 rows, 2 inputs */
    const double Y[4] = {0, 1, 1, 0};
    nn_net_t *net;
    nn_status st = nn_net_create(&net, 2, 2, layers, NN_LOSS_BCE, NULL);
    if (st != NN_OK) {
        fprintf(stderr, "nn_net_create: %s\n", nn_strerror(st));
        return 1;
    }
    nn_net_init(net, NN_INIT_DEFAULT, 42);
    double loss = 0, P[4];
    for (int step = 0; step < 3000 && st == NN_OK; step++) {
        st = nn_net_gradient(net, 4, NN_ROW_MAJOR, X, 2, Y, 1, &loss);
        if (st == NN_OK) st = nn_net_sgd_step(net, 1.0);
    }
    if (st == NN_OK) st = nn_net_predict(net, 4, NN_ROW_MAJOR, X, 2, P, 1);
    if (st != NN_OK) {
        fprintf(stderr, "training: %s\n", nn_strerror(st));
        nn_net_destroy(net);
        return 1;
    }
    printf("libnn %s: loss %.4f, XOR -> %.2f %.2f %.2f %.2f\n",
           nn_version_string(), loss, P[0], P[1], P[2], P[3]);
    nn_net_destroy(net);
    return (P[0] < 0.5 && P[1] > 0.5 && P[2] > 0.5 && P[3] < 0.5) ? 0 : 1;
}
