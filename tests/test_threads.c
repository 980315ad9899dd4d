/* test_threads.c — distinct networks trained in several threads at once give
 * bitwise the results of training them one after the other. */
#include "testutil.h"

#include <pthread.h>
#include <string.h>

enum { NT = 4, M = 128, NIN = 200, H1 = 150, STEPS = 10 };

typedef struct {
    uint64_t seed;
    double *params; /* out: first layer's W after training, NIN x H1 */
    nn_status st;
} job;

static const nn_layer_spec specs[] = {{H1, NN_ACT_RELU, 0},
                                      {11, NN_ACT_TANH, 0},
                                      {5, NN_ACT_SOFTMAX, 0}};

/* Train one network from its seed on its own data; record W of layer 0. */
static void *train(void *arg)
{
    job *j = arg;
    static const size_t n_w = (size_t)NIN * H1;
    double X[M * NIN];
    size_t lab[M];
    tu_rng r = {j->seed};
    tu_fill(&r, X, sizeof X / sizeof *X, -1, 1);
    for (size_t i = 0; i < M; i++) lab[i] = tu_next(&r) % 5;
    nn_net_t *net = NULL;
    j->st = nn_net_create(&net, NIN, 3, specs, NN_LOSS_SOFTMAX_CE, NULL);
    if (!j->st) j->st = nn_net_init(net, NN_INIT_DEFAULT, j->seed);
    for (int s = 0; s < STEPS && !j->st; s++) {
        j->st = nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, NULL);
        if (!j->st) j->st = nn_net_sgd_step(net, 0.1);
    }
    if (!j->st) memcpy(j->params, nn_net_weights(net, 0), n_w * sizeof(double));
    nn_net_destroy(net);
    return NULL;
}

START_TEST(distinct_networks_in_parallel)
{
    NN_OK_OR_FAIL(nn_set_num_threads((size_t)_i + 1));
    static double serial[NT][NIN * H1], parallel[NT][NIN * H1];
    job js[NT], jp[NT];
    for (int t = 0; t < NT; t++) {
        js[t] = (job){.seed = 100 + (uint64_t)t, .params = serial[t]};
        train(&js[t]);
        NN_OK_OR_FAIL(js[t].st);
        jp[t] = (job){.seed = 100 + (uint64_t)t, .params = parallel[t]};
    }
    pthread_t th[NT];
    for (int t = 0; t < NT; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, train, &jp[t]), 0);
    for (int t = 0; t < NT; t++) pthread_join(th[t], NULL);
    for (int t = 0; t < NT; t++) {
        NN_OK_OR_FAIL(jp[t].st);
        ck_assert_mem_eq(serial[t], parallel[t], sizeof serial[t]);
    }
    /* the networks really differ from each other */
    ck_assert(memcmp(serial[0], serial[1], sizeof serial[0]) != 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    /* 1 and 2 BLAS threads under 4 user threads */
    tcase_add_loop_test(tc, distinct_networks_in_parallel, 0, 2);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
