/* mpi.c — `libnn train` data-parallel under an MPI launcher: start-up decided
 * from the launcher's environment, the agreed exit status and which rank
 * tells it, training through libnn_mpi. Built with NN_TOOL_MPI when meson
 * found MPI; otherwise the single-process stand-ins at the end. */
#include "cli_mpi.h"

#include <stdlib.h>
#include <string.h>

#ifdef NN_TOOL_MPI
#include <nn_mpi.h>
#endif

/* NN_MPI=0 never starts MPI (independent processes), NN_MPI=1 always does
 * (a launcher this file does not know, or a singleton run); anything else:
 * -1, decide from the launcher's variables. */
static int forced(void)
{
    const char *v = getenv("NN_MPI");
    if (v && !strcmp(v, "0")) return 0;
    if (v && !strcmp(v, "1")) return 1;
    return -1;
}

#ifdef NN_TOOL_MPI

/* A variable set and not empty. */
static bool has(const char *name)
{
    const char *v = getenv(name);
    return v && *v;
}

/* The variables launchers set in every process they start: OpenMPI's
 * mpirun (OMPI_COMM_WORLD_SIZE); PMIx launchers (PMIX_RANK: OpenMPI 4 and
 * later, MPICH's and srun --mpi=pmix); PMI-1/PMI-2 ones (PMI_RANK,
 * PMI_SIZE: MPICH's and Intel MPI's Hydra, srun --mpi=pmi2). */
static const char *const launcher_vars[] = {"OMPI_COMM_WORLD_SIZE",
                                            "PMIX_RANK", "PMI_RANK",
                                            "PMI_SIZE"};

struct cli_mpi {
    nn_mpi_t *nn;
    int rank, size;
};

bool cli_mpi_launched(void)
{
    int f = forced();
    if (f >= 0) return f == 1;
    for (size_t i = 0; i < sizeof launcher_vars / sizeof launcher_vars[0];
         i++)
        if (has(launcher_vars[i])) return true;
    return false;
}

int cli_mpi_begin(cli_mpi **out)
{
    /* one run per process: no allocation, so nothing can fail on one rank
     * before the first collective */
    static cli_mpi one;
    *out = NULL;
    if (!cli_mpi_launched()) return 0;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS)
        return cli_error("cannot start MPI (MPI_Init failed)");
    MPI_Comm_rank(MPI_COMM_WORLD, &one.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &one.size);
    if (one.rank != 0) cli_hold_messages(true);
    nn_status st = nn_mpi_create(&one.nn, MPI_COMM_WORLD, NULL);
    if (st) { /* agreed: no rank has an adapter */
        int rc = cli_lib_error("starting data-parallel training", NULL, st,
                               NULL);
        cli_hold_messages(false);
        MPI_Finalize();
        return rc;
    }
    *out = &one;
    return 0;
}

int cli_mpi_rank(const cli_mpi *m)
{
    return m ? m->rank : 0;
}

int cli_mpi_size(const cli_mpi *m)
{
    return m ? m->size : 1;
}

int cli_mpi_agree(cli_mpi *m, int rc)
{
    if (!m) return rc;
    nn_status agreed = NN_OK;
    /* the common case costs the library's one agreement */
    if (!nn_mpi_agree(m->nn, rc ? NN_ERR_IO : NN_OK, &agreed) && !agreed) {
        if (m->rank) cli_held_messages(false, NULL);
        return 0;
    }
    /* some rank failed: the lowest one tells, with its status (MINLOC on
     * (failing rank or size, status) gives both to every rank) */
    struct { int rank, rc; } mine = {rc ? m->rank : m->size, rc}, first;
    if (MPI_Allreduce(&mine, &first, 1, MPI_2INT, MPI_MINLOC,
                      MPI_COMM_WORLD) != MPI_SUCCESS) {
        first.rank = m->rank; /* only under MPI_ERRORS_RETURN */
        first.rc = rc ? rc : EXIT_RUNTIME;
    }
    if (first.rank == m->size) { /* no rank failed: MPI itself did */
        if (m->rank == 0) cli_error("MPI failed agreeing on the status");
        first.rc = EXIT_RUNTIME;
    } else if (m->rank != 0 && m->rank == first.rank) {
        char tag[48];
        snprintf(tag, sizeof tag, "rank %d of %d", m->rank, m->size);
        if (!cli_held_messages(true, tag)) {
            fprintf(stderr, "libnn: %s: failed (exit status %d)\n", tag, rc);
            fflush(stderr);
        }
    } else if (m->rank != 0) {
        cli_held_messages(false, NULL);
    }
    return first.rc ? first.rc : EXIT_RUNTIME;
}

nn_status cli_mpi_train(cli_mpi *m, nn_trainer_t *trainer, nn_net_t *net,
                        nn_optim_t *opt, const nn_data_t *data,
                        const nn_data_t *val)
{
    if (!m) return nn_train(trainer, net, opt, data, val);
    return nn_mpi_train(m->nn, trainer, net, opt, data, val);
}

int cli_mpi_end(cli_mpi *m, int rc)
{
    if (!m) return rc;
    cli_hold_messages(false);
    nn_mpi_destroy(m->nn);
    m->nn = NULL;
    MPI_Finalize();
    return rc;
}

#else /* a build without MPI */

/* A launcher's size variable naming more than one process. */
static bool several(void)
{
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *v = getenv(sizes[i]);
        if (v && strtol(v, NULL, 10) > 1) return true;
    }
    return false;
}

bool cli_mpi_launched(void)
{
    return false;
}

/* Started as several processes by a launcher, each would train alone and
 * write the same output: refused, told once (by rank 0 if it says so). */
int cli_mpi_begin(cli_mpi **out)
{
    *out = NULL;
    if (forced() == 0 || !several()) return 0;
    const char *r = getenv("OMPI_COMM_WORLD_RANK");
    if (!r) r = getenv("PMIX_RANK");
    if (!r) r = getenv("PMI_RANK");
    if (r && strcmp(r, "0")) return EXIT_RUNTIME;
    return cli_error("started by an MPI launcher as several processes, but "
                     "this libnn tool was built without MPI (rebuild with "
                     "-Dmpi=enabled, or set NN_MPI=0 for independent runs)");
}

int cli_mpi_rank(const cli_mpi *m)
{
    (void)m;
    return 0;
}

int cli_mpi_size(const cli_mpi *m)
{
    (void)m;
    return 1;
}

int cli_mpi_agree(cli_mpi *m, int rc)
{
    (void)m;
    return rc;
}

nn_status cli_mpi_train(cli_mpi *m, nn_trainer_t *trainer, nn_net_t *net,
                        nn_optim_t *opt, const nn_data_t *data,
                        const nn_data_t *val)
{
    (void)m;
    return nn_train(trainer, net, opt, data, val);
}

int cli_mpi_end(cli_mpi *m, int rc)
{
    (void)m;
    return rc;
}

#endif
