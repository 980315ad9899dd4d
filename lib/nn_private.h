/* nn_private.h — internal declarations shared by the files under lib/.
 * Nothing here is exported: the library is built with hidden visibility and
 * only NN_API declarations of nn.h reach the dynamic symbol table. */
#ifndef NN_PRIVATE_H
#define NN_PRIVATE_H

#include "nn.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------ allocation */
/* Allocate/free through the object's allocator (malloc/free when the user gave
 * none). Sizes are in bytes; nn__free takes the size given to nn__alloc. */
void nn__allocator_init(nn_allocator *dst, const nn_allocator *user);
/* A caller's allocator is NULL (malloc/free) or has both functions. */
bool nn__allocator_valid(const nn_allocator *user);
void *nn__alloc(const nn_allocator *al, size_t bytes);
void nn__free(const nn_allocator *al, void *ptr, size_t bytes);

/* Overflow-checked size arithmetic: false when the result does not fit. */
bool nn__mul(size_t a, size_t b, size_t *out);
bool nn__add(size_t a, size_t b, size_t *out);

/* ------------------------------------------------------------ validation */
/* A size handed to BLAS must fit in its int. */
bool nn__fits_blas(size_t n);
/* Check a batch argument: p non-NULL, an m x n matrix in `order` with leading
 * dimension ld. Returns NN_ERR_INVALID / NN_ERR_TOO_LARGE / NN_ERR_SHAPE. */
nn_status nn__check_matrix(const void *p, size_t m, size_t n, nn_order order,
                           size_t ld);
/* Check the size of a layer (n_in, n_out) and its activation. */
nn_status nn__check_layer_shape(size_t n_in, size_t n_out, nn_activation act,
                                double act_param);

/* Element strides of a matrix in `order` with leading dimension ld:
 * element (i,j) is at p[i*rs + j*cs]. */
static inline void nn__strides(nn_order order, size_t ld, size_t *rs,
                               size_t *cs)
{
    if (order == NN_ROW_MAJOR) { *rs = ld; *cs = 1; }
    else { *rs = 1; *cs = ld; }
}

/* dst(i,j) = src(i,j) for an m x n matrix, any strides. */
void nn__copy_matrix(size_t m, size_t n, const double *src, size_t src_rs,
                     size_t src_cs, double *dst, size_t dst_rs, size_t dst_cs);

/* ------------------------------------------------------------ BLAS */
/* The one dgemm wrapper (row-major):
 *   C = alpha * op(A) . op(B) + beta * C,  op(X) = X or X^T,
 * C is M x N, op(A) is M x K, op(B) is K x N. Callers have checked that every
 * size fits in an int. With beta == 0, C is never read (may hold NaN). */
#define NN__TINY_GEMM_MADDS 64
void nn__gemm(bool trans_a, bool trans_b, size_t M, size_t N, size_t K,
              double alpha, const double *A, size_t lda, const double *B,
              size_t ldb, double beta, double *C, size_t ldc);

/* (gemm_small.c) libnn's own small-product kernel, B not transposed:
 * C = alpha op(A) . B + beta C (row-major, op(A) = A^T with trans_a), each
 * C(i,j) summed over k in increasing order (so trans_a gives bitwise the
 * same results); with beta == 0, C is not read. Vectorised for the CPU's
 * widest instruction set, chosen at load time; nn__gemm_small_force (tests,
 * benches) sets level 0 (baseline), 1 (AVX2+FMA) or 2 (AVX-512), at most the
 * CPU's best, and returns the level set. Not thread-safe. */
void nn__gemm_small(bool trans_a, size_t M, size_t N, size_t K, double alpha,
                    const double *A, size_t lda, const double *B, size_t ldb,
                    double beta, double *C, size_t ldc);
int nn__gemm_small_force(int level);

/* (cpu.c) The widest vector instruction set of this CPU that the kernel
 * sets of vmath.c and gemm_small.c are built for: 2 AVX-512 (F and DQ),
 * 1 AVX2 with FMA, 0 the baseline (and on any other architecture). */
int nn__cpu_level(void);

/* ------------------------------------------------------------ layer math */
/* The parameters of one dense layer; storage is owned by the enclosing
 * object (an nn_dense_t or an nn_net_t). W is row-major n_in x n_out. */
typedef struct nn_layer {
    size_t n_in, n_out;
    nn_activation act;
    double slope;   /* leaky-relu slope */
    double dropout; /* inverted-dropout probability on the output (nets) */
    double *W, *b, *dW, *db;
} nn_layer;

/* Forward: A = g(X.W + b) into A (row-major m x n_out, contiguous).
 * With logits_only, A = X.W + b (the loss applies the activation). */
void nn__layer_forward(const nn_layer *L, size_t m, nn_order order,
                       const double *X, size_t ldx, double *A,
                       bool logits_only);

/* Backward given dZ (row-major m x n_out, contiguous) and its layer input X
 * (in `order`): if dX: dX = dZ.W^T (row-major m x n_in, lddx); then
 * dW = X^T.dZ, or, with step != 0, the fused SGD update W -= step * X^T.dZ
 * (dW not stored) and b -= step * db. db must already hold the column sums
 * of dZ (fused into the pass that made dZ). */
void nn__layer_backward(const nn_layer *L, size_t m, nn_order order,
                        const double *X, size_t ldx, const double *dZ,
                        double *dX, size_t lddx, double step);

/* Copy a layer's parameters (or, with grads, its gradients) out to / in from
 * caller storage: W is n_in x n_out in `order` (ldw), b has n_out values;
 * either may be NULL, not both. Validates before writing anything. */
nn_status nn__layer_get(const nn_layer *L, bool grads, nn_order order,
                        double *W, size_t ldw, double *b);
nn_status nn__layer_set(nn_layer *L, nn_order order, const double *W,
                        size_t ldw, const double *b);

/* ------------------------------------------------------------ activations */
/* Fused forward pass over Z (row-major m x n, contiguous), in place:
 *   Z(i,j) <- g(Z(i,j) + b(j)). */
void nn__act_forward(nn_activation act, double slope, size_t m, size_t n,
                     const double *b, double *Z);
/* Apply g to already-biased values src (row-major m x n, contiguous) and
 * write them to dst with strides (dst_rs, dst_cs): dst = g(src). */
void nn__act_apply(nn_activation act, double slope, size_t m, size_t n,
                   const double *src, double *dst, size_t dst_rs,
                   size_t dst_cs);
/* Fused backward pass: given A = g(Z) (row-major m x n), the dropout mask
 * M applied to A's output (row-major m x n; NULL: none; never with
 * softmax) and dA (strides da_rs, da_cs; may alias dZ when row-major
 * contiguous), computes
 *   dZ = dA o M o g'(Z)   (softmax: dZ = A o (dA - rowsum(dA o A)))
 * into dZ (row-major m x n) and db(j) = sum_i dZ(i,j), in one pass. */
void nn__act_backward(nn_activation act, double slope, size_t m, size_t n,
                      const double *A, const double *M, const double *dA,
                      size_t da_rs, size_t da_cs, double *dZ, double *db);

/* ------------------------------------------------------------ vector math
 * (vmath.c) exp, tanh and sigmoid over arrays, vectorised for the CPU's
 * widest instruction set (chosen at load time), within 2 ulp everywhere
 * (tests/test_vmath.c). */
typedef enum { NN_VM_EXP = 0, NN_VM_TANH = 1, NN_VM_SIGMOID = 2 } nn__vm_fn;
/* Z(i,j) <- f(Z(i,j) + b(j)) over m rows of n values, row stride ld; b NULL:
 * no bias. */
void nn__vm_apply(nn__vm_fn f, size_t m, size_t n, double *Z, size_t ld,
                  const double *b);
/* y = f(x) for n contiguous values (y may be x). */
void nn__vm_map(nn__vm_fn f, size_t n, const double *x, double *y);
/* y = exp(x - shift) for n values (y may be x); returns sum of y, added in
 * a fixed order. */
double nn__vm_exp_shift_sum(size_t n, const double *x, double shift,
                            double *y);
/* The instruction set in use ("sse2", "avx2", "avx512"; "generic" off
 * x86-64), and, for tests and benches, use level 0 (baseline), 1 (AVX2+FMA)
 * or 2 (AVX-512) instead, at most the CPU's best (a level above it or
 * negative: the best); returns the level set. Not thread-safe. */
const char *nn__vm_isa(void);
int nn__vm_force(int level);

/* ------------------------------------------------------------ losses */
/* Targets of a batch: either dense Y with strides, or class labels. */
typedef struct nn_targets {
    const double *Y;
    size_t rs, cs;
    const int32_t *labels;
} nn_targets;

/* Target y(i,j) of an m x k batch: a label c stands for the one-hot row
 * e_c, or for the value c when there is a single output. */
static inline double nn__target(const nn_targets *t, size_t i, size_t j,
                                size_t k)
{
    if (t->labels) {
        if (k == 1) return (double)t->labels[i];
        return (size_t)t->labels[i] == j ? 1.0 : 0.0;
    }
    return t->Y[i * t->rs + j * t->cs];
}

/* Validate targets for an m x k output; labels must be in [0, k) (or 0/1 for
 * a single output). */
nn_status nn__check_targets(const nn_targets *t, size_t m, size_t k);

/* Loss of a batch given the output layer's values O (row-major m x k): the
 * logits for BCE / softmax CE, the activations for MSE. Returns the batch
 * loss in reduction `reduce` (NN_REDUCE_MEAN: times 1/m; NN_REDUCE_SUM: the
 * plain sum). If G != NULL, also writes the gradient of that loss: for BCE /
 * softmax CE, G = dZ and db = column sums of G; for MSE, G = dL/dA (db
 * untouched, the activation's backward pass follows). With value false the
 * caller does not need the loss (a gradient-only step): losses whose value
 * costs extra passes may skip it (the returned value is then meaningless). */
double nn__loss(nn_loss loss, int32_t reduce, size_t m, size_t k,
                const double *O, const nn_targets *t, double *G, double *db,
                bool value);

/* ------------------------------------------------------------ tiny.c */
/* The one-sample fused SGD step of a tiny network (lib/tiny.c): what it
 * needs of the net, whose struct is private to net.c. */
typedef struct nn__tiny_net {
    nn_layer *layers;
    size_t n_layers;
    nn_loss loss;
    int32_t reduction;
    bool logits;  /* the loss takes the output layer's logits (not MSE) */
    nn_ctx_t *ctx; /* the net's training workspace, reserved for a row */
} nn__tiny_net;

/* Whether a step of m rows through these layers takes the tiny path: m == 1,
 * no dropout, every layer at most NN__TINY_GEMM_MADDS weights (never in a
 * -Dsmall_gemm=false build). */
bool nn__tiny_fits(const nn_layer *layers, size_t n_layers, size_t m);
/* Forward, loss, backward and W -= step dW, b -= step db for the checked
 * row X (element stride xs) and its targets; returns the loss (computed only
 * if want_loss). Bitwise what net.c's fused step computes. */
double nn__tiny_step(const nn__tiny_net *t, const double *X, size_t xs,
                     const nn_targets *y, double step, bool want_loss);

/* ------------------------------------------------------------ random */
/* xoshiro256** seeded through splitmix64: a generator owned by its user. */
typedef struct nn_rng {
    uint64_t s[4];
} nn_rng;
void nn__rng_seed(nn_rng *r, uint64_t seed);
uint64_t nn__rng_next(nn_rng *r);
/* Uniform double in [0, 1) with 53 random bits. */
double nn__rng_uniform(nn_rng *r);
/* Dropout draws are counter-based, a pure function of (seed, pass, layer,
 * global row, unit): the key of one row of one layer's mask in one training
 * pass, then the uniform in [0, 1) of one unit of that row. A row's mask
 * thus depends on its global index in the batch, not on how the batch is
 * split between processes (docs/DISTRIBUTED.md). */
uint64_t nn__drop_row_key(uint64_t seed, uint64_t step, size_t layer,
                          uint64_t row);
double nn__drop_uniform(uint64_t row_key, size_t unit);

/* Initialise W (n_in x n_out, row-major) by scheme; b is zeroed.
 * NN_INIT_ORTHOGONAL needs scratch from al: it may fail with NN_ERR_NOMEM /
 * NN_ERR_TOO_LARGE / NN_ERR_NUMERIC and then leaves W and b unchanged. The
 * other schemes cannot fail. */
nn_status nn__init_layer(nn_layer *L, nn_init init, nn_rng *r,
                         const nn_allocator *al);
bool nn__init_valid(nn_init init);

/* ------------------------------------------------------------ network internals
 * (net.c) for optim.c, train.c, metrics.c and model.c. The flat parameter and
 * gradient arrays are public (nn_net_params / nn_net_grads). */
bool nn__net_has_grad(const nn_net_t *net);
void nn__net_set_has_grad(nn_net_t *net, bool on);
bool nn__net_check_finite(const nn_net_t *net);
int32_t nn__net_reduction(const nn_net_t *net);
nn_loss nn__net_loss_kind(const nn_net_t *net);
/* A fingerprint of the architecture's shapes (n_in, then each layer's n_out):
 * optimizers and contexts keep it to recognise the networks they fit. */
uint64_t nn__net_shape_id(const nn_net_t *net);
/* Layer l's parameter block: W at offset *w_off (n_in*n_out values), b right
 * after it (n_out values). NULL for an out-of-range layer. */
const nn_layer *nn__net_layer(const nn_net_t *net, size_t l, size_t *w_off);
/* The dropout stream: the seed last set (NN_NET_DROPOUT_SEED) and the
 * number of training passes drawn under it (NN_NET_DROPOUT_STEP); model
 * files and rollbacks restore both exactly. */
void nn__net_get_drop_state(const nn_net_t *net, uint64_t *seed,
                            uint64_t *step);
void nn__net_set_drop_state(nn_net_t *net, uint64_t seed, uint64_t step);
const nn_allocator *nn__net_allocator(const nn_net_t *net);

/* (optim.c) */
/* True when opt was created for a network shaped like net. */
bool nn__optim_fits(const nn_optim_t *opt, const nn_net_t *net);
/* True (and *lr set) when opt's update is plain w -= lr*g: SGD without
 * clipping and without weight decay; net.c then fuses it into dgemm. */
bool nn__optim_plain_sgd(const nn_optim_t *opt, double *lr);
/* Count one step taken outside nn_optim_step (the fused path). */
void nn__optim_count_step(nn_optim_t *opt);
uint64_t nn__optim_steps(const nn_optim_t *opt);
const double *nn__optim_state(const nn_optim_t *opt);
double *nn__optim_state_mut(nn_optim_t *opt);
void nn__optim_set_steps(nn_optim_t *opt, uint64_t steps);

/* The system's message for errno value e, written into buf (thread-safe);
 * NN_ERRNO_TEXT(e) supplies a buffer living until the end of the caller's
 * statement block. */
const char *nn__errno_text(int e, char *buf, size_t n);
#define NN_ERRNO_TEXT(e) nn__errno_text((e), (char[128]){0}, 128)

/* (status.c) Copy path into a name buffer of cap >= 8 bytes (nn_error_info's
 * file): a longer name keeps its end behind "...". */
void nn__copy_path(char *dst, size_t cap, const char *path);

/* (status.c) Open path read-only without blocking on a FIFO that has no
 * writer; *regular and *size (UINT64_MAX unless regular) describe it. On
 * failure -1, *what ("cannot open" / "cannot stat" / "cannot read") and
 * *err_no (a directory is EISDIR). */
int nn__open_read(const char *path, bool *regular, uint64_t *size,
                  const char **what, int *err_no);

/* (status.c) Fill *err (if not NULL) from scratch: file, byte offset and a
 * printf-style message; line and column 0. */
void nn__set_error(nn_error_info *err, const char *file, size_t offset,
                   const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* (file.c) read() up to n bytes, retrying short reads and EINTR; *got the
 * count (short only at end of file). False on a read error (errno set). */
bool nn__read_full(int fd, unsigned char *p, size_t n, size_t *got);
/* (file.c) Save n bytes to path as nn_model_save does: a regular or new file
 * (also behind symbolic links) replaced atomically, a device, FIFO or socket
 * written directly, a directory refused (NN_ERR_IO, *err saying why). al
 * serves the scratch (names). */
nn_status nn__save_file(const char *path, const unsigned char *bytes,
                        size_t n, const nn_allocator *al, nn_error_info *err);

/* (file.c) The data loaders' input: a file or pipe read once from the front
 * through zlib (gzip and plain input alike), closed with gzclose(r.gz). gz
 * is zlib's gzFile (a struct gzFile_s pointer), spelt out so that this
 * header needs no zlib.h. */
struct gzFile_s;
typedef struct nn__reader {
    struct gzFile_s *gz;
    const char *path;
    nn_error_info *err;
    size_t off; /* bytes consumed so far (decompressed) */
} nn__reader;
/* Open path for r (NN_ERR_IO with *err filled, or NN_ERR_NOMEM). */
nn_status nn__rd_open(nn__reader *r, const char *path, nn_error_info *err);
/* Read up to n bytes; *got receives the count (short only at end of file). */
nn_status nn__rd_read(nn__reader *r, void *buf, size_t n, size_t *got);
/* Read exactly `want` bytes into a buffer allocated through al (*buf, of
 * want bytes), growing it only as data arrives; then require end of file.
 * `what` names the data in messages. */
nn_status nn__rd_payload(nn__reader *r, const nn_allocator *al, size_t want,
                         const char *what, unsigned char **buf);
/* (file.c) nn__set_error with a place: fill *err (if not NULL) from scratch
 * with file, 1-based line and column (0: none), byte offset and message. */
void nn__set_err(nn_error_info *err, const char *path, size_t line,
                 size_t col, size_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;
/* (file.c) What the first n bytes of an input look like when they start
 * with the magic of another format libnn reads ("an IDX file", ...), else
 * NULL. */
const char *nn__looks_like(const unsigned char *p, size_t n);

/* True when every one of the n values is finite. */
bool nn__all_finite(const double *p, size_t n);

/* ------------------------------------------------------------ keys
 * (params.c) Validate a value for a writable key of the object whose keys
 * start at `family` (100 network, 200 layer, 300 optimizer, 400 trainer):
 * NN_ERR_INVALID for an unknown, foreign, read-only or wrongly typed key or
 * a value out of bounds. The bounds are those nn_param_info reports. */
nn_status nn__param_check_int(int32_t family, int32_t key, int64_t value);
nn_status nn__param_check_real(int32_t family, int32_t key, double value);

/* ------------------------------------------------------------ specs
 * (netspec.c) What nn_net_create reads from a spec. */
typedef struct nn__layer_desc {
    size_t n_out;
    int32_t kind, act;
    double slope, dropout;
} nn__layer_desc;
typedef struct nn__net_desc {
    size_t n_in, n_layers;
    nn_loss loss;
    int32_t reduction, check_finite;
    uint64_t dropout_seed;
    const nn__layer_desc *layers;
} nn__net_desc;
void nn__netspec_desc(const nn_netspec_t *spec, nn__net_desc *d);

/* ------------------------------------------------------------ contexts
 * (ctx.c) A context's buffers for m_cap rows, row-major: each layer's output
 * A_l (m_cap x n_l); with `training`, also two gradient buffers
 * (m_cap x max_l n_l) and, per dropout layer, its mask M_l and dropped
 * output D_l (m_cap x n_l each). Networks keep a training context of their
 * own (nn_net_reserve); inference contexts belong to the caller. */
nn_status nn__ctx_make(nn_ctx_t **out, const nn_net_t *net, size_t m_max,
                       bool training, const nn_allocator *al);
bool nn__ctx_fits(const nn_ctx_t *ctx, const nn_net_t *net);
size_t nn__ctx_cap(const nn_ctx_t *ctx);
double *nn__ctx_act(nn_ctx_t *ctx, size_t l);
double *nn__ctx_grad(nn_ctx_t *ctx, int which);
double *nn__ctx_mask(nn_ctx_t *ctx, size_t l);
double *nn__ctx_dropped(nn_ctx_t *ctx, size_t l);
void nn__ctx_set_rows(nn_ctx_t *ctx, size_t rows);
/* The context an inference call runs in: the caller's (NN_ERR_SHAPE if it
 * does not fit net), or, for user == NULL, a temporary one of min(m, 256)
 * rows through the net's allocator; nn__ctx_end frees a temporary one. */
nn_status nn__ctx_begin(const nn_net_t *net, nn_ctx_t *user, size_t m,
                        nn_ctx_t **c);
void nn__ctx_end(nn_ctx_t *user, nn_ctx_t *c);
/* 4 x n_out doubles of scratch for nn_net_evaluate's per-output sums. */
double *nn__ctx_acc(nn_ctx_t *ctx);
/* Where a training pass's dropout masks come from: the seed, the pass
 * number and the global index of the batch's first row. */
typedef struct nn__drop_pass {
    uint64_t seed, step, row0;
} nn__drop_pass;
/* (net.c) Forward pass of m <= capacity rows through every layer into ctx
 * (inference: no dropout, dp NULL; training: dropout masks drawn as dp
 * says); returns the output layer's buffer (logits under BCE / softmax
 * CE). */
double *nn__net_forward(const nn_net_t *net, nn_ctx_t *ctx, size_t m,
                        nn_order order, const double *X, size_t ldx,
                        const nn__drop_pass *dp);
/* Apply the output activation in place to the output buffer O of a forward
 * pass (m rows) when it holds logits: the numbers nn_net_predict returns. */
void nn__net_finish_outputs(const nn_net_t *net, size_t m, double *O);

/* ------------------------------------------------------------ progress
 * (train.c, model.c) Where a training run stands: what its remaining steps
 * depend on besides the network and the optimizer (docs/TRAINING.md,
 * "Pausing and resuming"; the checkpoint section of docs/FORMAT.md). */
typedef struct nn__progress {
    uint64_t epoch;      /* 0-based epoch of the next batch = epochs ended */
    uint64_t batch;      /* batches of that epoch done                     */
    uint64_t rows;       /* their training rows                            */
    double loss_sum;     /* the sum of those rows' losses                  */
    uint64_t step;       /* global steps taken                             */
    double lr;           /* rate of the last step (0 before any)           */
    uint64_t best_epoch; /* 1-based epoch of the best val loss, 0: none    */
    double best_val;     /* that loss (+Inf: none)                         */
    uint64_t bad;        /* epochs in a row without a better one           */
    double final_loss;   /* train loss of the last epoch ended (NaN: none) */
    uint64_t fp_settings, fp_data, n_params; /* fingerprints               */
    uint64_t n_best;     /* 0 or n_params                                  */
    const double *best;  /* the best parameters (n_best values)            */
    /* a run in progress only (not stored): the base rate and the net's
     * reduction at the call, which a checkpoint saves in place of the
     * scheduled rate and a sharded run's SUM */
    double lr0;
    int32_t reduction;
} nn__progress;
/* The progress a checkpoint of tr would hold (*live: that of the run in
 * progress, reported from its callback); false when it holds none. */
bool nn__trainer_progress(const nn_trainer_t *tr, nn__progress *p,
                          bool *live);
/* True during an nn_train call on tr. */
bool nn__trainer_running(const nn_trainer_t *tr);
const nn_allocator *nn__trainer_allocator(const nn_trainer_t *tr);
/* Replace tr's progress with *p, whose best copy lies in mem (bytes
 * allocated through tr's allocator, or NULL), which tr then owns. */
void nn__trainer_adopt(nn_trainer_t *tr, const nn__progress *p, void *mem,
                       size_t bytes);

/* ------------------------------------------------------------ data sets
 * (data.c) A read-only view of a data set's arrays: m rows of n features
 * (row-major, contiguous), and either labels (k = 0, Y = NULL) or dense
 * targets Y (row-major m x k, k >= 1, labels = NULL), or neither. */
typedef struct nn__dview {
    size_t m, n, k;
    const double *X;
    const int32_t *labels;
    const double *Y;
} nn__dview;
void nn__data_view(const nn_data_t *data, nn__dview *v);

/* (data.c) Column names (nn_data_name), from a CSV header: one allocation
 * holding the slot array, then the NUL-terminated names. The slots are laid
 * out for the file's c columns: features [0, c), targets [c, 2c), the label
 * at 2c, classes from 2c + 1 (ncls of them), then the header's fields as
 * read (nhdr of them), so that moving columns between
 * kinds (nn_data_take_targets, nn_data_labels_from_one_hot) never
 * allocates and cannot fail. */
typedef struct nn__names {
    const char **slot; /* NULL: the data set has no names */
    size_t bytes, c, ncls;
    size_t nhdr; /* the header's fields, kept as read after the classes */
} nn__names;

/* (data.c) The data set, here so that its loaders (idx.c, csv.c) fill it
 * in place. */
struct nn_data {
    nn_allocator al;
    size_t block_bytes; /* this struct + X (sized for the original n) */
    size_t m, n;
    double *X;
    int32_t *labels;  /* separate allocation of m int32_t, or NULL */
    size_t n_classes; /* 1 + max label (0 without labels) */
    double *Y;        /* separate allocation of m x k doubles, or NULL */
    size_t k;         /* target columns (0 without targets) */
    nn__names nm;     /* column names from a CSV header (all empty: none) */
};

/* (data.c) An m x n data set through al, X uninitialised, no labels,
 * targets or names (NN_ERR_TOO_LARGE, NN_ERR_NOMEM). */
nn_status nn__data_new(nn_data_t **out, const nn_allocator *al, size_t m,
                       size_t n);
/* (data.c) m labels through d->al (size overflow-checked), or NULL with *st
 * set. */
int32_t *nn__data_alloc_labels(nn_data_t *d, nn_status *st);
/* (data.c) Take ownership of lab (m labels allocated through d->al),
 * replacing any labels or targets. */
void nn__data_attach_labels(nn_data_t *d, int32_t *lab);

/* (scaler.c) A scaler of `kind` from n offsets and n scales (copied; finite,
 * scales non-zero: else NN_ERR_INVALID), and a copy of one. */
nn_status nn__scaler_make(nn_scaler_t **out, nn_scale_kind kind, size_t n,
                          const double *offset, const double *scale,
                          const nn_allocator *al);
nn_status nn__scaler_clone(nn_scaler_t **out, const nn_scaler_t *scaler,
                           const nn_allocator *al);
/* (scaler.c, for model.c only) Borrowed views of a scaler's n offsets and n
 * scales, so a model file can be encoded without scratch memory. */
const double *nn__scaler_offsets(const nn_scaler_t *scaler);
const double *nn__scaler_scales(const nn_scaler_t *scaler);

/* ------------------------------------------------------------ metrics
 * (metrics.c) for nn_train's validation. */
/* Number of classes a label may take for `net`: n_out, or 2 for a single
 * output (its label is the 0/1 target). */
size_t nn__net_n_classes(const nn_net_t *net);
/* Check a data set against net: NN_ERR_INVALID if it has no rows or neither
 * labels nor targets; NN_ERR_SHAPE if its columns are not net's inputs, its
 * targets not net's outputs, or a label is >= nn__net_n_classes(net). */
nn_status nn__check_fit(const nn_net_t *net, const nn__dview *v);
/* Copy rows[0..mb-1] of v into gx (mb x n) and gt (mb x k doubles, or mb
 * int32 labels). */
void nn__gather_rows(const nn__dview *v, const size_t *rows, size_t mb,
                     double *gx, void *gt);
/* Mean loss per row and accuracy (NaN without labels) of a checked data set
 * over `count` rows: rows[0..count-1], or rows 0..count-1 when rows == NULL,
 * in batches of ctx's capacity. With rows, each batch is gathered into gx
 * (capacity x n) and gt (capacity x k doubles, or capacity int32 labels);
 * without, they may be NULL. */
nn_status nn__eval_rows(const nn_net_t *net, nn_ctx_t *ctx,
                        const nn__dview *v, const size_t *rows, size_t count,
                        double *gx, void *gt, double *loss, double *acc);
/* The same as sums (for shards to add up): the per-row losses' sum and the
 * number of correct predictions. */
nn_status nn__eval_sums(const nn_net_t *net, nn_ctx_t *ctx,
                        const nn__dview *v, const size_t *rows, size_t count,
                        double *gx, void *gt, double *loss_sum,
                        double *correct);

/* ------------------------------------------------------------ batch-parallel
 * training (NN_TRAIN_THREADS) */
/* (optim.c) nn_optim_step in parts, for an update split by parameter
 * ranges across threads: nn__optim_begin makes nn_optim_step's checks but
 * the finite one (shape, a current gradient) and fixes the step's
 * constants (its count t; Adam's a1 = lr / (1 - beta1^t) and
 * a2 = 1 / sqrt(1 - beta2^t); the clipping factor s is 1: the caller sets
 * it from the global norm); nn__optim_update_range
 * updates parameters [lo, hi) (ranges of one step may run in parallel; any
 * split gives the bits nn_optim_step gives with the same s);
 * nn__optim_end counts the step and retires the gradient. */
typedef struct nn__optim_consts {
    uint64_t t;
    double s, a1, a2;
} nn__optim_consts;
nn_status nn__optim_begin(const nn_optim_t *opt, const nn_net_t *net,
                          nn__optim_consts *c);
void nn__optim_update_range(nn_optim_t *opt, nn_net_t *net,
                            const nn__optim_consts *c, size_t lo, size_t hi);
void nn__optim_end(nn_optim_t *opt, nn_net_t *net, const nn__optim_consts *c);
double nn__optim_clip_norm(const nn_optim_t *opt);

/* (net.c) One part of a batch's training pass, for batch-parallel
 * workers: m rows, their input X (m x n_in, row-major), their targets, the
 * dropout pass (row0: the part's first global row), and per layer l the
 * part's rows of the buffers (row-major m x n_l each): A[l] the outputs,
 * M[l] and D[l] the dropout mask and dropped output (dropout layers
 * only), dZ[l]; db[l] (n_l values) gets the column sums of the part's
 * dZ. */
typedef struct nn__part {
    size_t m;
    const double *X;
    const nn_targets *t;
    nn__drop_pass dp;
    double *const *A, *const *M, *const *D, *const *dZ, *const *db;
} nn__part;
/* Forward (dropout on), the loss, and the backward pass without the dW
 * products: every layer's dZ (of the rows' summed loss, NN_REDUCE_SUM)
 * and its column sums. Returns the summed loss (meaningless without
 * want_loss, as nn__loss). Reads net only: workers may run it at once on
 * disjoint buffers. */
double nn__net_part_backprop(const nn_net_t *net, const nn__part *p,
                             bool want_loss);

/* (pool.c) A persistent team of n threads for one call: n - 1 threads
 * started by nn__pool_create (NN_ERR_NOMEM when the system has no more),
 * then rounds: nn__pool_run has member w run fn(ctx, w) for w = 0..n-1
 * (member 0 on the calling thread) and returns when all are done; nothing
 * is allocated per round. Rounds run one at a time, from one thread. */
typedef struct nn__pool nn__pool;
typedef void (*nn__pool_fn)(void *ctx, size_t w);
nn_status nn__pool_create(nn__pool **out, size_t n, const nn_allocator *al);
void nn__pool_run(nn__pool *p, nn__pool_fn fn, void *ctx);
void nn__pool_destroy(nn__pool *p);

/* (batchpar.c) The batch-parallel steps of nn_train: a team of T workers
 * sharing batch-sized buffers. A batch of m rows is split in order (the
 * first m % T workers take one row more); each worker back-propagates its
 * rows (nn__net_part_backprop, dropout masks of the rows' global indices
 * row0 + offset), then computes the gradient of the parameters it owns
 * (1/T of every W's rows and of every b) over all the rows, adding the
 * parts in the fixed order 0..T-1, and updates them. See batchpar.c. */
typedef struct nn__team nn__team;
/* min(threads, batch) workers for batches of up to `batch` rows with k
 * dense target columns (0: labels); everything through al. */
nn_status nn__team_create(nn__team **out, nn_net_t *net, size_t threads,
                          size_t batch, size_t k, const nn_allocator *al);
void nn__team_destroy(nn__team *t);
/* The gradient of rows[0..m-1] of v (checked for net), times scale, into
 * net's gradient array (made current), and the sum of the rows' losses
 * times scale in *loss; the net's dropout pass advances by one. On
 * failure (NN_ERR_NUMERIC under check-finite) the net's pass is where it
 * was and the gradient is not current. */
nn_status nn__team_gradient(nn__team *t, const nn__dview *v,
                            const size_t *rows, size_t m, uint64_t row0,
                            double scale, double *loss);
/* nn_optim_step (clipping included) with the update split by parameter
 * ranges. */
nn_status nn__team_update(nn__team *t, nn_optim_t *opt);
/* nn__team_gradient then nn__team_update, each owned range's gradient and
 * its update in one round where neither check-finite nor clipping needs
 * the whole gradient first (plain SGD inside the products). A failed
 * check may leave some ranges updated: the trainer then undoes the run. */
nn_status nn__team_step(nn__team *t, nn_optim_t *opt, const nn__dview *v,
                        const size_t *rows, size_t m, uint64_t row0,
                        double scale, double *loss);
/* nn__eval_sums over `count` rows (rows[], or 0..count-1 when NULL), the
 * rows split across the workers and their sums added in worker order. */
nn_status nn__team_eval(nn__team *t, const nn__dview *v, const size_t *rows,
                        size_t count, double *loss_sum, double *correct);

#endif /* NN_PRIVATE_H */
