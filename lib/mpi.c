/* mpi.c — libnn_mpi, the MPI adapter: a duplicated communicator, the one
 * collective sum the sharded trainer needs (reduce to rank 0, then
 * broadcast: every rank gets rank 0's bits, so parameters stay identical),
 * agreement on statuses, the broadcast of a starting state, and
 * nn_mpi_train. Built only on libnn's public API (the seam, the trainer's
 * shards), in its own library so that libnn.so stays free of MPI.
 *
 * Consistency checks compare fingerprints: 64-bit FNV-1a hashes over words
 * (shapes, settings, every data value's bits). All ranks compare them in
 * one MPI_Allreduce of (v, ~v) under MPI_MIN, so min(v) == ~min(~v) tells
 * every rank alike whether all ranks hold the same value. */
#include "nn_mpi.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

struct nn_mpi {
    MPI_Comm comm; /* our duplicate */
    int rank, size;
    nn_allocator al;
};

/* ------------------------------------------------------------ memory */
static void *sys_alloc(void *ctx, size_t size)
{
    (void)ctx;
    return malloc(size);
}

static void sys_free(void *ctx, void *p, size_t size)
{
    (void)ctx;
    (void)size;
    free(p);
}

static void *mem_alloc(const nn_allocator *al, size_t bytes)
{
    return bytes ? al->alloc(al->ctx, bytes) : NULL;
}

static void mem_free(const nn_allocator *al, void *p, size_t bytes)
{
    if (p) al->free(al->ctx, p, bytes);
}

/* n doubles, with overflow checked (NULL on failure or n == 0). */
static double *doubles(const nn_allocator *al, size_t n)
{
    return n && n <= SIZE_MAX / sizeof(double)
               ? mem_alloc(al, n * sizeof(double))
               : NULL;
}

static nn_status mpi_status(int rc) { return rc == MPI_SUCCESS ? NN_OK : NN_ERR_IO; }

/* ------------------------------------------------------------ adapter */
uint32_t nn_mpi_version_number(void) { return NN_VERSION_NUMBER; }

nn_status nn_mpi_create(nn_mpi_t **out, MPI_Comm comm,
                        const nn_allocator *alloc)
{
    int init = 0, fin = 0;
    if (!out || comm == MPI_COMM_NULL) return NN_ERR_INVALID;
    if (alloc && (!alloc->alloc || !alloc->free)) return NN_ERR_INVALID;
    if (MPI_Initialized(&init) != MPI_SUCCESS || !init ||
        MPI_Finalized(&fin) != MPI_SUCCESS || fin)
        return NN_ERR_INVALID;
    MPI_Comm dup;
    if (MPI_Comm_dup(comm, &dup) != MPI_SUCCESS) return NN_ERR_IO;
    nn_allocator al = alloc ? *alloc : (nn_allocator){sys_alloc, sys_free, 0};
    nn_mpi_t *m = mem_alloc(&al, sizeof *m);
    int failed = m == NULL, any = 1;
    /* every rank gets an adapter, or none does */
    nn_status st = mpi_status(
        MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, dup));
    if (!st && any) st = NN_ERR_NOMEM;
    if (!st) {
        m->comm = dup;
        m->al = al;
        MPI_Comm_rank(dup, &m->rank);
        MPI_Comm_size(dup, &m->size);
        *out = m;
        return NN_OK;
    }
    mem_free(&al, m, sizeof *m);
    MPI_Comm_free(&dup);
    return st;
}

nn_status nn_mpi_create_f(nn_mpi_t **out, MPI_Fint comm,
                          const nn_allocator *alloc)
{
    return nn_mpi_create(out, MPI_Comm_f2c(comm), alloc);
}

void nn_mpi_destroy(nn_mpi_t *mpi)
{
    if (!mpi) return;
    nn_allocator al = mpi->al;
    int fin = 1;
    /* after MPI_Finalize the communicator is gone (and freeing it would be
     * erroneous): only the memory is left to release */
    if (MPI_Finalized(&fin) == MPI_SUCCESS && !fin) MPI_Comm_free(&mpi->comm);
    mem_free(&al, mpi, sizeof *mpi);
}

int32_t nn_mpi_rank(const nn_mpi_t *mpi) { return mpi ? mpi->rank : -1; }
int32_t nn_mpi_size(const nn_mpi_t *mpi) { return mpi ? mpi->size : 0; }

/* ------------------------------------------------------------ collectives */
/* The smallest failing code of all ranks (integer MIN: exact, the same on
 * every rank), NN_OK if none failed. */
static nn_status agree(const nn_mpi_t *m, nn_status local)
{
    int v = local ? (int)local : INT_MAX, min = INT_MAX;
    if (MPI_Allreduce(&v, &min, 1, MPI_INT, MPI_MIN, m->comm) != MPI_SUCCESS)
        return NN_ERR_IO;
    return min == INT_MAX ? NN_OK : (nn_status)min;
}

nn_status nn_mpi_agree(nn_mpi_t *mpi, nn_status local, nn_status *agreed)
{
    if (!mpi || !agreed) return NN_ERR_INVALID;
    int v = local ? (int)local : INT_MAX, min = INT_MAX;
    if (MPI_Allreduce(&v, &min, 1, MPI_INT, MPI_MIN, mpi->comm) !=
        MPI_SUCCESS)
        return NN_ERR_IO;
    *agreed = min == INT_MAX ? NN_OK : (nn_status)min;
    return NN_OK;
}

/* Largest element count of one MPI call (counts are int). */
#define CHUNK ((size_t)INT_MAX)
/* Doubles per reduction: MPI libraries reduce through temporary buffers of
 * the message's size, and glibc maps (and page-faults, and unmaps) every
 * allocation above its mmap threshold (at most 32 MiB) anew each time;
 * 4 MiB pieces keep those buffers reused from the heap. Measured on 2 ranks
 * with a 67 MB gradient: docs/DISTRIBUTED.md. */
#define PIECE ((size_t)1 << 19)

nn_status nn_mpi_allsum(double *buf, size_t len, void *ctx)
{
    const nn_mpi_t *m = ctx;
    if (!m || (!buf && len)) return NN_ERR_INVALID;
    if (m->size == 1) return NN_OK; /* the sum of one */
    for (size_t at = 0; at < len; at += PIECE) {
        int n = (int)(len - at < PIECE ? len - at : PIECE);
        /* the sum is formed once, on rank 0, and sent to all: bitwise the
         * same everywhere, whatever order the reduction adds in */
        int rc = m->rank == 0
                     ? MPI_Reduce(MPI_IN_PLACE, buf + at, n, MPI_DOUBLE,
                                  MPI_SUM, 0, m->comm)
                     : MPI_Reduce(buf + at, NULL, n, MPI_DOUBLE, MPI_SUM, 0,
                                  m->comm);
        if (rc == MPI_SUCCESS)
            rc = MPI_Bcast(buf + at, n, MPI_DOUBLE, 0, m->comm);
        if (rc != MPI_SUCCESS) return NN_ERR_IO;
    }
    return NN_OK;
}

static nn_status bcast_doubles(const nn_mpi_t *m, double *v, size_t len)
{
    for (size_t at = 0; at < len; at += CHUNK) {
        int n = (int)(len - at < CHUNK ? len - at : CHUNK);
        if (MPI_Bcast(v + at, n, MPI_DOUBLE, 0, m->comm) != MPI_SUCCESS)
            return NN_ERR_IO;
    }
    return NN_OK;
}

/* ------------------------------------------------------------ fingerprints */
static void fp_word(uint64_t *h, uint64_t w)
{
    *h = (*h ^ w) * 0x100000001b3ull;
}

static void fp_real(uint64_t *h, double x)
{
    uint64_t w;
    memcpy(&w, &x, sizeof w);
    fp_word(h, w);
}

/* Four independent FNV lanes, folded at the end: one multiply chain is
 * latency-bound, four keep the multiplier busy (a data set is hashed on
 * every nn_mpi_train call). */
static void fp_reals(uint64_t *h, const double *x, size_t n)
{
    uint64_t l[4] = {*h, *h ^ 1, *h ^ 2, *h ^ 3};
    size_t i = 0;
    for (; i + 4 <= n; i += 4)
        for (int j = 0; j < 4; j++) {
            uint64_t w;
            memcpy(&w, &x[i + j], sizeof w);
            l[j] = (l[j] ^ w) * 0x100000001b3ull;
        }
    for (; i < n; i++) fp_real(&l[0], x[i]);
    for (int j = 0; j < 4; j++) fp_word(h, l[j]);
}

#define FP0 0xcbf29ce484222325ull

/* Whether every rank holds the same n values v (the same answer on all). */
static nn_status same_everywhere(const nn_mpi_t *m, const uint64_t *v,
                                 size_t n, int *same)
{
    enum { MAXV = 8 };
    uint64_t in[2 * MAXV], out[2 * MAXV];
    for (size_t i = 0; i < n; i++) {
        in[i] = v[i];
        in[n + i] = ~v[i];
    }
    if (MPI_Allreduce(in, out, (int)(2 * n), MPI_UINT64_T, MPI_MIN,
                      m->comm) != MPI_SUCCESS)
        return NN_ERR_IO;
    *same = 1;
    for (size_t i = 0; i < n; i++) *same &= out[i] == ~out[n + i];
    return NN_OK;
}

/* The network's architecture and the optimizer's kind and size. */
static uint64_t fp_shape(const nn_net_t *net, const nn_optim_t *opt)
{
    uint64_t h = FP0;
    int64_t v = 0;
    size_t L = nn_net_n_layers(net);
    fp_word(&h, nn_net_n_in(net));
    fp_word(&h, L);
    nn_net_get_int(net, NN_NET_LOSS, &v);
    fp_word(&h, (uint64_t)v);
    for (size_t l = 0; l < L; l++) {
        double slope = 0, p = 0;
        nn_net_get_layer_int(net, l, NN_LAYER_ACTIVATION, &v);
        nn_net_get_layer_real(net, l, NN_LAYER_ACT_PARAM, &slope);
        nn_net_get_layer_real(net, l, NN_LAYER_DROPOUT, &p);
        fp_word(&h, nn_net_layer_n_out(net, l));
        fp_word(&h, (uint64_t)v);
        fp_real(&h, slope);
        fp_real(&h, p);
    }
    fp_word(&h, opt != NULL);
    if (opt) {
        nn_optim_get_int(opt, NN_OPTIM_KIND, &v);
        fp_word(&h, (uint64_t)v);
        fp_word(&h, nn_optim_state_len(opt));
    }
    return h;
}

/* Every setting of the trainer (NN_TRAIN_EPOCHS .. NN_TRAIN_REPORT_EVERY). */
static uint64_t fp_trainer(const nn_trainer_t *tr)
{
    uint64_t h = FP0;
    for (int32_t key = NN_TRAIN_EPOCHS; key <= NN_TRAIN_REPORT_EVERY; key++) {
        int32_t type = 0;
        int64_t iv = 0;
        double rv = 0;
        if (nn_param_info(key, &type, NULL, NULL, NULL)) continue;
        if (type == NN_PARAM_INT && !nn_trainer_get_int(tr, key, &iv))
            fp_word(&h, (uint64_t)iv);
        else if (!nn_trainer_get_real(tr, key, &rv))
            fp_real(&h, rv);
    }
    return h;
}

/* A data set's shape and every value (features, labels or targets). */
static uint64_t fp_data(const nn_data_t *d)
{
    uint64_t h = FP0;
    if (!d) return h;
    /* the accessors are non-const for callers that transform the data in
     * place; this only reads */
    nn_data_t *rd = (nn_data_t *)d;
    size_t m = nn_data_rows(d), n = nn_data_cols(d), k = nn_data_n_targets(d);
    const int32_t *lab = nn_data_labels(d);
    fp_word(&h, m);
    fp_word(&h, n);
    fp_word(&h, k);
    fp_word(&h, lab != NULL);
    fp_reals(&h, nn_data_x(rd), m * n);
    if (lab)
        for (size_t i = 0; i < m; i++) fp_word(&h, (uint64_t)(int64_t)lab[i]);
    if (k) fp_reals(&h, nn_data_targets(rd), m * k);
    return h;
}

/* ------------------------------------------------------------ states */
/* What nn_mpi_broadcast sends and a failed nn_mpi_train restores: the
 * parameters and optimizer state (v: P then S doubles) and the settings. */
enum { I_STEPS, I_DECOUPLED, I_SEED, I_DSTEP, I_RED, I_CF, NI };
static const int32_t OPT_REALS[] = {NN_OPTIM_LR, NN_OPTIM_MOMENTUM_COEF,
                                    NN_OPTIM_BETA1, NN_OPTIM_BETA2,
                                    NN_OPTIM_EPS, NN_OPTIM_WEIGHT_DECAY,
                                    NN_OPTIM_CLIP_NORM};
#define NR (sizeof OPT_REALS / sizeof OPT_REALS[0])
typedef struct snap {
    int64_t iv[NI];
    double rv[NR];
    double *v;
    size_t P, S;
} snap;

/* The settings part of a state (iv, rv). */
static void snap_settings(snap *s, const nn_net_t *net, const nn_optim_t *opt)
{
    memset(s->iv, 0, sizeof s->iv);
    memset(s->rv, 0, sizeof s->rv);
    nn_net_get_int(net, NN_NET_DROPOUT_SEED, &s->iv[I_SEED]);
    nn_net_get_int(net, NN_NET_DROPOUT_STEP, &s->iv[I_DSTEP]);
    nn_net_get_int(net, NN_NET_REDUCTION, &s->iv[I_RED]);
    nn_net_get_int(net, NN_NET_CHECK_FINITE, &s->iv[I_CF]);
    if (!opt) return;
    nn_optim_get_int(opt, NN_OPTIM_STEPS, &s->iv[I_STEPS]);
    nn_optim_get_int(opt, NN_OPTIM_DECOUPLED, &s->iv[I_DECOUPLED]);
    for (size_t i = 0; i < NR; i++)
        nn_optim_get_real(opt, OPT_REALS[i], &s->rv[i]);
}

static void snap_take(snap *s, const nn_net_t *net, const nn_optim_t *opt)
{
    memcpy(s->v, nn_net_params((nn_net_t *)net), s->P * sizeof(double));
    snap_settings(s, net, opt);
    if (opt && s->S)
        memcpy(s->v + s->P, nn_optim_state_view(opt), s->S * sizeof(double));
}

/* Commit a state; only the optimizer state can be refused (non-finite), and
 * it is set first, so a refusal changes nothing. */
static nn_status snap_apply(const snap *s, nn_net_t *net, nn_optim_t *opt)
{
    if (opt) {
        nn_status st = nn_optim_set_state(opt, (uint64_t)s->iv[I_STEPS],
                                          s->v + s->P, s->S);
        if (st) return st;
        nn_optim_set_int(opt, NN_OPTIM_DECOUPLED, s->iv[I_DECOUPLED]);
        for (size_t i = 0; i < NR; i++)
            nn_optim_set_real(opt, OPT_REALS[i], s->rv[i]);
    }
    memcpy(nn_net_params(net), s->v, s->P * sizeof(double));
    nn_net_set_int(net, NN_NET_DROPOUT_SEED, s->iv[I_SEED]); /* step 0 */
    nn_net_set_int(net, NN_NET_DROPOUT_STEP, s->iv[I_DSTEP]);
    nn_net_set_int(net, NN_NET_REDUCTION, s->iv[I_RED]);
    nn_net_set_int(net, NN_NET_CHECK_FINITE, s->iv[I_CF]);
    return NN_OK;
}

/* A fingerprint of what nn_mpi_broadcast sends: every parameter and
 * optimizer value and the settings (read in place, no copy). */
static uint64_t fp_state(const nn_net_t *net, const nn_optim_t *opt)
{
    snap s = {.P = nn_net_n_params(net), .S = nn_optim_state_len(opt)};
    uint64_t h = FP0;
    /* nn_net_params is the mutable view; this only reads it */
    fp_reals(&h, nn_net_params((nn_net_t *)net), s.P);
    if (s.S) fp_reals(&h, nn_optim_state_view(opt), s.S);
    snap_settings(&s, net, opt);
    for (int i = 0; i < NI; i++) fp_word(&h, (uint64_t)s.iv[i]);
    fp_reals(&h, s.rv, NR);
    return h;
}

static nn_status snap_alloc(const nn_mpi_t *m, snap *s, const nn_net_t *net,
                            const nn_optim_t *opt)
{
    memset(s, 0, sizeof *s);
    s->P = nn_net_n_params(net);
    s->S = opt ? nn_optim_state_len(opt) : 0;
    if (s->P > SIZE_MAX - s->S) return NN_ERR_TOO_LARGE;
    s->v = doubles(&m->al, s->P + s->S);
    return s->v ? NN_OK : NN_ERR_NOMEM;
}

static void snap_free(const nn_mpi_t *m, snap *s)
{
    mem_free(&m->al, s->v, (s->P + s->S) * sizeof(double));
    s->v = NULL;
}

/* ------------------------------------------------------------ broadcast */
nn_status nn_mpi_broadcast(nn_mpi_t *mpi, nn_net_t *net, nn_optim_t *opt)
{
    if (!mpi) return NN_ERR_INVALID;
    snap s = {0};
    nn_status st = net ? snap_alloc(mpi, &s, net, opt) : NN_ERR_INVALID;
    st = agree(mpi, st);
    int same = 0;
    uint64_t has_opt = opt != NULL, shape = st ? 0 : fp_shape(net, opt);
    if (!st) st = same_everywhere(mpi, &has_opt, 1, &same);
    if (!st && !same) st = NN_ERR_INVALID;
    if (!st) st = same_everywhere(mpi, &shape, 1, &same);
    if (!st && !same) st = NN_ERR_SHAPE;
    if (!st && mpi->rank == 0) snap_take(&s, net, opt);
    if (!st && MPI_Bcast(s.iv, NI, MPI_INT64_T, 0, mpi->comm) != MPI_SUCCESS)
        st = NN_ERR_IO;
    if (!st && MPI_Bcast(s.rv, (int)NR, MPI_DOUBLE, 0, mpi->comm) !=
                   MPI_SUCCESS)
        st = NN_ERR_IO;
    if (!st) st = bcast_doubles(mpi, s.v, s.P + s.S);
    if (!st) {
        /* every non-root rank received the same numbers: they all accept or
         * all refuse them; rank 0 learns which */
        nn_status local = mpi->rank == 0 ? NN_OK : snap_apply(&s, net, opt);
        st = agree(mpi, local);
    }
    if (net) snap_free(mpi, &s);
    return st;
}

/* ------------------------------------------------------------ training */
/* The checks of nn_mpi_train: valid handles everywhere, then the same
 * settings, data and shapes on every rank. */
static nn_status train_checks(nn_mpi_t *m, const nn_trainer_t *tr,
                              const nn_net_t *net, const nn_optim_t *opt,
                              const nn_data_t *train, const nn_data_t *val)
{
    nn_status st = tr && net && opt && train ? NN_OK : NN_ERR_INVALID;
    st = agree(m, st);
    if (st) return st;
    uint64_t v[4] = {fp_trainer(tr), fp_data(train), fp_data(val),
                     val != NULL};
    int same = 0;
    st = same_everywhere(m, v, 4, &same);
    return st ? st : same ? NN_OK : NN_ERR_INVALID;
}

nn_status nn_mpi_train(nn_mpi_t *mpi, nn_trainer_t *trainer, nn_net_t *net,
                       nn_optim_t *opt, const nn_data_t *train,
                       const nn_data_t *val)
{
    if (!mpi) return NN_ERR_INVALID;
    nn_status st = train_checks(mpi, trainer, net, opt, train, val);
    if (st) return st;
    /* ranks that already start alike (a run continued, a loaded model)
     * need nothing sent; else each keeps its own state to put back on
     * failure where rank 0's replaced it */
    int same = 0, sent = 0;
    uint64_t v[2] = {fp_shape(net, opt), fp_state(net, opt)};
    st = same_everywhere(mpi, v, 2, &same);
    snap own = {0};
    if (!st && !same) {
        st = agree(mpi, snap_alloc(mpi, &own, net, opt));
        if (!st) snap_take(&own, net, opt);
        if (!st) st = nn_mpi_broadcast(mpi, net, opt);
        sent = !st;
    }
    if (!st) {
        st = nn_trainer_set_shards(trainer, (size_t)mpi->rank,
                                   (size_t)mpi->size, nn_mpi_allsum, mpi);
        st = agree(mpi, st);
    }
    if (!st) {
        st = nn_train(trainer, net, opt, train, val); /* agreed inside */
        nn_trainer_set_shards(trainer, 0, 1, NULL, NULL);
    }
    if (st && sent && mpi->rank != 0) snap_apply(&own, net, opt);
    snap_free(mpi, &own);
    return st;
}

/* ------------------------------------------------------------ own loops */
nn_status nn_mpi_allsum_grads(nn_mpi_t *mpi, nn_net_t *net, nn_status local,
                              size_t m_local, int32_t reduction, double *loss,
                              size_t *m_global)
{
    if (!mpi || !net) return NN_ERR_INVALID;
    if (!local && reduction != NN_REDUCE_MEAN && reduction != NN_REDUCE_SUM)
        local = NN_ERR_INVALID; /* still take part, so no rank waits */
    size_t P = nn_net_n_params(net);
    double *g = nn_net_grads(net), *tail = g + P;
    if (!local && m_local == 0) {
        int64_t step = 0;
        memset(g, 0, P * sizeof(double));
        nn_net_get_int(net, NN_NET_DROPOUT_STEP, &step);
        nn_net_set_int(net, NN_NET_DROPOUT_STEP, step + 1);
    }
    tail[0] = local || m_local == 0 || !loss ? 0.0 : *loss;
    tail[1] = (double)m_local;
    tail[2] = local ? 1.0 : 0.0;
    nn_status st = nn_mpi_allsum(g, P + 3, mpi);
    if (st) return st;
    if (tail[2] != 0.0) return agree(mpi, local);
    if (tail[1] == 0.0) return NN_ERR_INVALID; /* no rank had rows */
    double total = tail[0], mg = tail[1];
    if (reduction == NN_REDUCE_MEAN) {
        double inv = 1.0 / mg;
        for (size_t i = 0; i < P; i++) g[i] *= inv;
        total /= mg;
    }
    nn_net_set_grads(net, g, P);
    if (loss) *loss = total;
    if (m_global) *m_global = (size_t)mg;
    return NN_OK;
}
