/**
 * @file
 * nn_mpi.h — libnn_mpi 1.0: data-parallel training of libnn networks over
 * MPI, an adapter library (libnn_mpi.so, pkg-config nn-mpi) beside libnn.
 *
 * The core libnn.so knows nothing of MPI: it offers sharded training
 * (nn_trainer_set_shards) around one collective sum, and this adapter gives
 * it MPI's, on a communicator the caller passes in. libnn never calls
 * MPI_Init / MPI_Finalize and never uses MPI_COMM_WORLD unless handed it:
 * a code that already uses MPI gives libnn the (sub-)communicator of the
 * ranks that train together.
 *
 * Semantics (docs/DISTRIBUTED.md): every rank holds the whole data set
 * (reads the same files) and runs the same calls; the ranks start from rank
 * 0's parameters and optimizer state; each global mini-batch of B rows is
 * split across the ranks (unevenly when B is not a multiple of their
 * number; a rank may get no rows), the global shuffle is a single process's,
 * and each step's gradients, loss and row count travel in ONE collective
 * over one contiguous buffer. That collective is a reduction to rank 0
 * followed by a broadcast, so every rank receives the same bits and the
 * parameters stay bitwise identical on all ranks after every step. The
 * result equals single-process training with the same seeds up to the
 * rounding of a differently ordered sum (about 1e-16 relative per step).
 *
 * Every call marked "collective" must be made by every rank of the
 * adapter's communicator, in the same order. A failure on any rank (bad
 * arguments, data that differs between ranks, a NaN under check-finite, an
 * allocation) makes the call fail on every rank with the same status,
 * agreed before anything changes, so no rank is left waiting. MPI's own
 * errors follow the communicator's error handler (by default MPI aborts the
 * job); under MPI_ERRORS_RETURN they come back as NN_ERR_IO, and then the
 * ranks may disagree.
 *
 * Thread safety: one adapter is used by one thread at a time (MPI needs at
 * least MPI_THREAD_FUNNELED if other threads use libnn meanwhile).
 */
#ifndef NN_MPI_H
#define NN_MPI_H

/* Only MPI's C API is used: keep its deprecated C++ bindings (removed in
 * MPI-3, and noisy under -Wall -Wextra) out of C++ translation units. */
#ifndef OMPI_SKIP_MPICXX
/** Open MPI's switch: no C++ bindings (libnn uses MPI's C API only). */
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
/** MPICH's switch: no C++ bindings (libnn uses MPI's C API only). */
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/** @defgroup mpi MPI adapter
 * @{ */
/** Version of the adapter, as NN_VERSION_NUMBER (the two ship together). */
NN_API uint32_t nn_mpi_version_number(void);

/** An adapter: a duplicate of a communicator (MPI_Comm_dup, so that libnn's
 * messages never mix with the caller's) and its scratch memory. */
typedef struct nn_mpi nn_mpi_t;

/** Collective over comm. alloc (may be NULL: malloc) is copied and serves
 * the adapter's own memory. @return NN_ERR_INVALID if MPI is not
 * initialised or comm is MPI_COMM_NULL; NN_ERR_NOMEM if any rank's
 * allocation failed (then no rank has an adapter). */
NN_API nn_status nn_mpi_create(nn_mpi_t **out, MPI_Comm comm,
                               const nn_allocator *alloc);
/** The same for a Fortran communicator handle (MPI_Comm_f2c). */
NN_API nn_status nn_mpi_create_f(nn_mpi_t **out, MPI_Fint comm,
                                 const nn_allocator *alloc);
/** Collective: free the duplicate and the adapter (call it before
 * MPI_Finalize; after it, only the memory is released). NULL is a no-op
 * (on every rank alike). */
NN_API void nn_mpi_destroy(nn_mpi_t *mpi);
/** @{ */
/** This rank's index and the number of ranks; -1 and 0 for NULL. */
NN_API int32_t nn_mpi_rank(const nn_mpi_t *mpi);
NN_API int32_t nn_mpi_size(const nn_mpi_t *mpi);
/** @} */

/** Collective: the status of a piece of per-rank work (loading a file, a
 * setup step) agreed by all ranks: NN_OK if every rank's `local` is NN_OK,
 * else the smallest failing code, written to *agreed on every rank. Use it
 * after work that can fail on one rank only, before the next collective.
 * @return NN_OK, or NN_ERR_INVALID (mpi or agreed NULL) / NN_ERR_IO (MPI). */
NN_API nn_status nn_mpi_agree(nn_mpi_t *mpi, nn_status local,
                              nn_status *agreed);

/** Collective: buf[0..len-1] replaced on every rank by its sum over the
 * ranks, bitwise identical everywhere (reduce to rank 0, then broadcast).
 * An nn_allsum_fn with ctx = the adapter: what nn_mpi_train gives the
 * trainer. */
NN_API nn_status nn_mpi_allsum(double *buf, size_t len, void *mpi);

/** Collective: give every rank rank 0's parameters, dropout seed and step,
 * loss reduction and check-finite setting, and (opt != NULL on every rank,
 * or NULL on every rank) its optimizer's settings, step count and state.
 * @return NN_ERR_SHAPE on every rank if the networks (or optimizers) are
 * not shaped alike on all ranks; NN_ERR_INVALID if opt is NULL on some
 * ranks only or rank 0's optimizer state is not finite; nothing changes on
 * any rank then. */
NN_API nn_status nn_mpi_broadcast(nn_mpi_t *mpi, nn_net_t *net,
                                  nn_optim_t *opt);

/** Collective: nn_train, data-parallel over the adapter's ranks. Every rank
 * passes the same trainer settings and the same data (train, and val if
 * given: NULL on every rank or on none), and its own net and opt, shaped
 * alike; the call checks all of this (NN_ERR_INVALID on every rank when
 * settings or data differ: a fingerprint of every value is compared),
 * broadcasts rank 0's starting state (nn_mpi_broadcast), and trains with
 * the trainer sharded over the ranks (nn_trainer_set_shards, switched off
 * again before returning). Every rank ends with identical parameters and
 * optimizer state, those a single process would reach up to rounding;
 * report callbacks run on every rank (a rank may pass NULL through
 * nn_trainer_set_report, e.g. all but rank 0) and a stop asked on any rank
 * stops all. On failure, agreed by all ranks, every rank's net and opt are
 * as they were at the call. */
NN_API nn_status nn_mpi_train(nn_mpi_t *mpi, nn_trainer_t *trainer,
                              nn_net_t *net, nn_optim_t *opt,
                              const nn_data_t *train, const nn_data_t *val);

/** Collective, for hand-written loops on the seam: combine the gradients
 * each rank computed on its rows of one global batch into the gradient of
 * the whole batch, in one collective over the gradient array and its spare
 * doubles (NN_GRAD_SPARE). Each rank computes its part under
 * NN_NET_REDUCTION = NN_REDUCE_SUM with NN_NET_DROPOUT_ROW0 = the global
 * index of its first row and the same NN_NET_DROPOUT_STEP as the others,
 * and passes the status of that call as `local` and its row count as
 * m_local (0: the rank had no rows; its gradient counts as zero and its
 * dropout step is moved on by one, like the others'). `loss` holds the
 * rank's summed loss on entry. On NN_OK, the net's gradient is current and
 * is the batch's in `reduction` (NN_REDUCE_MEAN: divided by the global row
 * count), *loss is the batch loss in that reduction and *m_global (if not
 * NULL) the global row count; nn_optim_step then makes the same update on
 * every rank. Any rank's failure is returned on every rank (the gradient
 * is then not current). */
NN_API nn_status nn_mpi_allsum_grads(nn_mpi_t *mpi, nn_net_t *net,
                                     nn_status local, size_t m_local,
                                     int32_t reduction, double *loss,
                                     size_t *m_global);
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* NN_MPI_H */
