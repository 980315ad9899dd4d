/* cli_mpi.h — data-parallel `libnn train` under an MPI launcher (mpi.c).
 * (Not "mpi.h": the tool's directory is on the include path, and that name
 * would shadow MPI's own header.)
 *
 * A build without MPI, or a run without a launcher, gets a NULL handle
 * from cli_mpi_begin, and every call below then acts as the single process
 * it is: nothing of MPI is touched. */
#ifndef NN_CLI_MPI_H
#define NN_CLI_MPI_H

#include "cli.h"

typedef struct cli_mpi cli_mpi;

/* Whether this process should train data-parallel: the tool was built
 * with MPI and a launcher started it (its environment variables, see
 * mpi.c and docs/TOOL.md; NN_MPI=0 or 1 overrides). */
bool cli_mpi_launched(void);

/* Under a launcher: MPI_Init, an nn_mpi adapter on MPI_COMM_WORLD, and
 * ranks other than 0 hold their messages (cli_hold_messages). *out is NULL
 * otherwise. @return 0, or an exit status (MPI already finalized then). A
 * build without MPI refuses a launcher that started several processes. */
int cli_mpi_begin(cli_mpi **out);
/* This process's rank (0 for NULL) and the number of ranks (1 for NULL). */
int cli_mpi_rank(const cli_mpi *m);
int cli_mpi_size(const cli_mpi *m);

/* Collective: the exit status of per-rank work, agreed by every rank
 * before the next collective: 0 if every rank's rc is 0, else the status
 * of the lowest failing rank, which is also the one whose message is
 * shown (rank 0 prints its own as it goes; another rank's held message is
 * printed as "libnn: rank K of N: ..."). NULL: rc. */
int cli_mpi_agree(cli_mpi *m, int rc);

/* Collective: nn_mpi_train over the ranks (NULL: nn_train); val (--val-csv)
 * may be NULL (the trainer then holds out --val-fraction itself). */
nn_status cli_mpi_train(cli_mpi *m, nn_trainer_t *trainer, nn_net_t *net,
                        nn_optim_t *opt, const nn_data_t *data,
                        const nn_data_t *val);

/* Collective: the adapter freed, held messages dropped, MPI_Finalize.
 * @return rc. NULL: rc. */
int cli_mpi_end(cli_mpi *m, int rc);

#endif
