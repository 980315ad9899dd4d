/* mpi_train.c — data-parallel training with libnn_mpi: every rank builds the
 * same data set (here: two noisy rings), rank 0's initial weights are
 * broadcast, the trainer's batches are split across the ranks, and rank 0
 * saves the model. Any rank count gives the same model, up to rounding.
 * Build: mpicc mpi_train.c $(pkg-config --cflags --libs nn-mpi) -o mpi_train
 * Run:   mpirun -np 4 ./mpi_train [MODEL_FILE]   (default: rings.nnm) */
#include <math.h>
#include <nn_mpi.h>
#include <stdio.h>

enum { M = 2000, N = 2 };

/* Two rings (radius 1 and 2, class = ring) from a fixed LCG: the same
 * numbers on every rank, as if each had read the same file. */
static void make_rings(double *X, int32_t *labels)
{
    unsigned long long s = 2026;
    for (int i = 0; i < M; i++) {
        double u[2];
        for (int k = 0; k < 2; k++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            u[k] = (double)(s >> 11) * 0x1.0p-53;
        }
        labels[i] = i % 2;
        double r = 1.0 + labels[i] + 0.25 * (u[0] - 0.5), a = 6.2831853 * u[1];
        X[i * N] = r * cos(a);
        X[i * N + 1] = r * sin(a);
    }
}

static nn_status build(nn_net_t **net, nn_optim_t **opt, nn_trainer_t **tr)
{
    nn_netspec_t *spec = NULL;
    nn_status st = nn_netspec_create(&spec, N, NN_LOSS_BCE, NULL);
    if (!st) st = nn_netspec_add_dense(spec, 16, NN_ACT_TANH);
    if (!st) st = nn_netspec_add_dense(spec, 1, NN_ACT_SIGMOID);
    if (!st) st = nn_net_create(net, spec, NULL);
    nn_netspec_destroy(spec);
    if (!st) st = nn_net_init(*net, NN_INIT_DEFAULT, 7);
    if (!st) st = nn_optim_create(opt, *net, NN_OPTIM_ADAM, NULL);
    if (!st) st = nn_optim_set_real(*opt, NN_OPTIM_LR, 0.01);
    if (!st) st = nn_trainer_create(tr, NULL);
    if (!st) st = nn_trainer_set_int(*tr, NN_TRAIN_EPOCHS, 30);
    if (!st) st = nn_trainer_set_int(*tr, NN_TRAIN_BATCH_SIZE, 64);
    if (!st) st = nn_trainer_set_real(*tr, NN_TRAIN_VAL_FRACTION, 0.2);
    return st;
}

int main(int argc, char **argv)
{
    static double X[M * N];
    static int32_t labels[M];
    const char *path = argc > 1 ? argv[1] : "rings.nnm";
    MPI_Init(&argc, &argv); /* the application's job, never libnn's */
    nn_mpi_t *mpi = NULL;
    nn_net_t *net = NULL;
    nn_optim_t *opt = NULL;
    nn_trainer_t *tr = NULL;
    nn_data_t *data = NULL;
    double acc = 0.0;
    make_rings(X, labels);
    nn_status st = nn_mpi_create(&mpi, MPI_COMM_WORLD, NULL);
    int root = nn_mpi_rank(mpi) <= 0; /* rank 0 (or no adapter) reports */
    nn_status local = st ? st : build(&net, &opt, &tr);
    if (!local) local = nn_data_create(&data, M, N, NN_ROW_MAJOR, X, N, NULL);
    if (!local) local = nn_data_set_labels(data, labels);
    /* a failure on one rank only must not leave the others waiting */
    if (!st) st = nn_mpi_agree(mpi, local, &local);
    if (!st) st = local;
    if (!st) st = nn_mpi_train(mpi, tr, net, opt, data, NULL);
    if (!st && root) {
        int32_t metric = NN_METRIC_ACCURACY;
        st = nn_net_evaluate(net, NULL, data, 1, &metric, &acc);
        if (!st) st = nn_model_save(path, net, opt, NULL);
        if (!st)
            printf("trained on %d ranks: accuracy %.4f, saved %s\n",
                   nn_mpi_size(mpi), acc, path);
    }
    if (st && root) fprintf(stderr, "mpi_train: %s\n", nn_strerror(st));
    nn_data_destroy(data);
    nn_trainer_destroy(tr);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    nn_mpi_destroy(mpi);
    MPI_Finalize();
    return st || (root && acc < 0.95) ? 1 : 0;
}
