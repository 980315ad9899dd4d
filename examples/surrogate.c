/* surrogate.c — a trained network as the right-hand side of a solver: learn
 * f(u) = -u + 0.5 sin(3u) from samples, then integrate u' = f(u) by explicit
 * Euler, u(t+1) = u(t) + dt f(u(t)), on many grid cells at once, with f
 * evaluated by the network from an OpenMP parallel loop over the cells. One
 * network, shared read-only by every thread (nn_net_predict takes a const
 * nn_net_t *), and one execution context (nn_ctx_t, the workspace) per
 * thread. The same Euler steps with the exact f give the reference; the
 * program prints the error and exits 0 if it is small.
 *
 * Training: Adam with a cosine schedule (nn_train), then the output layer
 * refitted in closed form (nn_lstsq) on the hidden activations, which brings
 * the mean squared error of f from about 5e-4 to 4e-8.
 *
 * Build: cc -fopenmp surrogate.c $(pkg-config --cflags --libs nn) -lm
 *        (without -fopenmp the pragmas are ignored and it runs serially)
 * Run:   OMP_NUM_THREADS=4 ./a.out
 *
 * The dynamics: f has two stable zeros u* = +-0.4986 (f'(u*) = -0.89) and an
 * unstable one at 0, so every cell settles on the side it starts. Cells start
 * in +-[0.25, 2], off the unstable point: there a tiny error in f would tip a
 * cell to the other state, a property of the equation, not of the network. */
#include <nn.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#ifdef _OPENMP
#include <omp.h>
#endif

enum {
    M_TRAIN = 2048, /* samples of f on [-U_MAX, U_MAX]                    */
    CELLS = 4096,   /* grid cells, one state value each                    */
    STEPS = 500,    /* Euler steps                                         */
    BLOCK = 64      /* cells per nn_net_predict call (the contexts' rows) */
};
static const double U_MAX = 2.5, DT = 0.02;

static double f_exact(double u) { return -u + 0.5 * sin(3.0 * u); }

static int max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int thread_num(void)
{
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

/* With the hidden layer fixed, the output layer is linear in its weights:
 * refit it in closed form (nn_lstsq) on the hidden activations h = tanh(u W1
 * + b1), which removes what is left of the optimizer's error in that layer. */
static nn_status refit_output(nn_net_t *net, const double *U, const double *F)
{
    enum { H = 16 };
    static double Hid[M_TRAIN * H];
    double W1[H], b1[H], W2[H], b2;
    nn_status st = nn_net_get_params(net, 0, NN_ROW_MAJOR, W1, H, b1);
    for (int i = 0; i < M_TRAIN && !st; i++)
        for (int j = 0; j < H; j++) Hid[i * H + j] = tanh(U[i] * W1[j] + b1[j]);
    if (!st) st = nn_lstsq(M_TRAIN, H, NN_ROW_MAJOR, Hid, H, F, W2, &b2);
    if (!st) st = nn_net_set_params(net, 1, NN_ROW_MAJOR, W2, 1, &b2);
    return st;
}

/* 1 -> 16 tanh -> 1 identity, mean squared error, trained with Adam and a
 * cosine schedule on M_TRAIN points of a jittered grid over [-U_MAX, U_MAX]. */
static nn_status train_surrogate(nn_net_t **net)
{
    static double U[M_TRAIN], F[M_TRAIN];
    unsigned long long s = 2026;
    for (int i = 0; i < M_TRAIN; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double jitter = (double)(s >> 11) * 0x1.0p-53;
        U[i] = -U_MAX + 2.0 * U_MAX * (i + jitter) / M_TRAIN;
        F[i] = f_exact(U[i]);
    }
    nn_netspec_t *spec = NULL;
    nn_optim_t *opt = NULL;
    nn_trainer_t *tr = NULL;
    nn_data_t *data = NULL;
    nn_status st = nn_netspec_create(&spec, 1, NN_LOSS_MSE, NULL);
    if (!st) st = nn_netspec_add_dense(spec, 16, NN_ACT_TANH);
    if (!st) st = nn_netspec_add_dense(spec, 1, NN_ACT_IDENTITY);
    if (!st) st = nn_net_create(net, spec, NULL);
    nn_netspec_destroy(spec);
    if (!st) st = nn_net_init(*net, NN_INIT_DEFAULT, 7);
    if (!st) st = nn_data_create(&data, M_TRAIN, 1, NN_ROW_MAJOR, U, 1, NULL);
    if (!st) st = nn_data_set_targets(data, 1, NN_ROW_MAJOR, F, 1);
    if (!st) st = nn_optim_create(&opt, *net, NN_OPTIM_ADAM, NULL);
    if (!st) st = nn_optim_set_real(opt, NN_OPTIM_LR, 0.01);
    if (!st) st = nn_trainer_create(&tr, NULL);
    if (!st) st = nn_trainer_set_int(tr, NN_TRAIN_EPOCHS, 300);
    if (!st) st = nn_trainer_set_int(tr, NN_TRAIN_BATCH_SIZE, 32);
    if (!st) st = nn_trainer_set_int(tr, NN_TRAIN_SEED, 11);
    if (!st) st = nn_trainer_set_int(tr, NN_TRAIN_SCHEDULE, NN_SCHED_COSINE);
    if (!st) st = nn_trainer_set_real(tr, NN_TRAIN_LR_MIN, 1e-4);
    if (!st) st = nn_train(tr, *net, opt, data, NULL);
    if (!st) st = refit_output(*net, U, F);
    nn_trainer_destroy(tr);
    nn_data_destroy(data);
    nn_optim_destroy(opt);
    return st;
}

/* u += DT f(u) for every cell, f from the network: the cells in blocks of
 * BLOCK, the blocks spread over the threads; each thread predicts with its own
 * context on the shared const network. Returns the first failure, if any. */
static nn_status euler_step_net(const nn_net_t *net, nn_ctx_t *const *ctx,
                                double *u, double *f)
{
    nn_status first = NN_OK;
#pragma omp parallel for schedule(static)
    for (int b = 0; b < CELLS / BLOCK; b++) {
        double *ub = u + (size_t)b * BLOCK, *fb = f + (size_t)b * BLOCK;
        nn_status st = nn_net_predict(net, ctx[thread_num()], BLOCK,
                                      NN_ROW_MAJOR, ub, 1, fb, 1);
        if (st) {
#pragma omp critical(surrogate_status)
            if (!first) first = st;
            continue;
        }
        for (int i = 0; i < BLOCK; i++) ub[i] += DT * fb[i];
    }
    return first;
}

static double initial(int i)
{
    double a = 0.25 + 1.75 * (i / 2) / (CELLS / 2 - 1); /* 0.25 .. 2 */
    return i % 2 ? -a : a;
}

int main(void)
{
    static double u[CELLS], ref[CELLS], f[CELLS];
    nn_net_t *net = NULL;
    int nt = max_threads();
    nn_ctx_t **ctx = calloc((size_t)nt, sizeof *ctx);
    if (!ctx) return 1;
    /* the cells are the parallelism: one BLAS thread inside each of ours
     * (NN_ERR_UNSUPPORTED for a BLAS without thread control: nothing to do) */
    (void)nn_set_num_threads(1);
    nn_status st = train_surrogate(&net);
    for (int t = 0; t < nt && !st; t++) st = nn_ctx_create(&ctx[t], net, BLOCK, NULL);

    for (int i = 0; i < CELLS; i++) u[i] = ref[i] = initial(i);
    double max_err = 0.0, sum2 = 0.0; /* over all cells and steps; at T */
    for (int step = 0; step < STEPS && !st; step++) {
        st = euler_step_net(net, ctx, u, f);
        for (int i = 0; i < CELLS; i++) {
            ref[i] += DT * f_exact(ref[i]); /* the reference: exact f */
            max_err = fmax(max_err, fabs(u[i] - ref[i]));
        }
    }
    for (int i = 0; i < CELLS; i++) sum2 += (u[i] - ref[i]) * (u[i] - ref[i]);

    for (int t = 0; t < nt; t++) nn_ctx_destroy(ctx[t]);
    free(ctx);
    nn_net_destroy(net);
    if (st) {
        fprintf(stderr, "surrogate: %s\n", nn_strerror(st));
        return 1;
    }
    printf("libnn %s: 1-16-1 surrogate of f(u) = -u + 0.5 sin 3u; %d cells x "
           "%d Euler steps (dt %.2f) on %d thread%s\n", nn_version_string(),
           CELLS, STEPS, DT, nt, nt == 1 ? "" : "s");
    printf("states at T = %.0f: %+.4f / %+.4f (exact f); error of the "
           "surrogate run: max %.2e over all steps, rms %.2e at T\n",
           STEPS * DT, ref[0], ref[1], max_err, sqrt(sum2 / CELLS));
    return max_err < 5e-3 ? 0 : 1;
}
