/**
 * @file
 * nn.h — libnn 1.0, a BLAS-accelerated neural-network library in C.
 *
 * The one public header of libnn. Self-contained (stddef/stdint only),
 * C99-clean and includable from C++.
 *
 * Conventions used by every declaration below
 * -------------------------------------------
 * - Every fallible call returns an nn_status (NN_OK == 0); results come back
 *   through out-parameters. A call that fails writes nothing to its outputs
 *   and leaves the object it was given exactly as it was, still usable.
 * - The library never prints, never calls exit()/abort(), keeps no global
 *   mutable state (the one exception is nn_set_num_threads, which configures
 *   the process-wide BLAS library, and which nn_train with NN_TRAIN_THREADS
 *   sets to 1 for the length of a run; see there).
 * - ABI types are fixed-width: every enumeration travels as an int32_t (the
 *   typedefs nn_status, nn_order, ... are int32_t; the enumerators are plain
 *   constants), flags are int32_t 0/1, class labels are int32_t, sizes are
 *   size_t. No public struct holds an enum or a bool.
 * - Sizes are size_t. Matrices are dense doubles. A batch argument is a
 *   pointer followed by its leading dimension, and each batch call takes one
 *   nn_order that applies to all of its batch arguments:
 *     NN_ROW_MAJOR: element (i,j) of an m x n matrix is at p[i*ld + j], ld >= n
 *     NN_COL_MAJOR: element (i,j) is at p[j*ld + i], ld >= m (Fortran X(m,n))
 *   Column-major batches are used in place (no copies) and give results that
 *   are bitwise equal to the row-major call on the same numbers.
 * - Parameters are W (n_in x n_out) and b (1 x n_out) so that a layer computes
 *   Z = X.W + b for a batch X of m rows (X is m x n_in), then A = g(Z).
 * - Every dimension and leading dimension handed to BLAS must fit in an int,
 *   and every product of sizes must fit in size_t; otherwise NN_ERR_TOO_LARGE.
 *
 * Settings: keys, not struct members
 * ----------------------------------
 * Every configurable object (network specification, network, optimizer,
 * trainer) is opaque and configured through fixed integer keys
 * (NN_NET_*, NN_LAYER_*, NN_OPTIM_*, NN_TRAIN_*), with one setter/getter pair
 * per value type: *_set_int / *_get_int (int64_t) and *_set_real /
 * *_get_real (double). Each key has one type and belongs to one kind of
 * object; nn_param_info() tells a key's type and inclusive bounds. A new
 * setting is a new key, never a new struct member, so the ABI never changes
 * when a setting is added. Keys from NN_KEY_EXPERIMENTAL upwards are reserved
 * for experimental settings (see the end of this header).
 *
 * Thread safety
 * -------------
 * - Distinct objects may be used from different threads at the same time.
 * - Calls taking a `const` object are read-only: any number of threads may
 *   run them at once on one object. Inference (nn_net_predict, nn_net_loss*,
 *   nn_net_evaluate, nn_net_confusion) takes a `const nn_net_t *` plus an
 *   execution context (nn_ctx_t) that holds the workspace: give each thread
 *   its own context and share the network.
 * - A call taking a non-const object must not run at the same time as any
 *   other call on that object.
 * - nn_version_*, nn_strerror, nn_param_info, nn_blas_name and
 *   nn_blas_core are always safe.
 *   nn_set_num_threads changes a process-wide BLAS setting: call it before
 *   starting threads that use libnn.
 * - libnn starts threads of its own only in nn_train with NN_TRAIN_THREADS
 *   >= 2, and joins them before the call returns; callbacks and hooks run
 *   on the calling thread.
 *
 * Ownership
 * ---------
 * Inputs are read during the call and never retained, unless a comment says
 * otherwise. Borrowed pointers returned by the library stay valid until the
 * object they came from is destroyed; their contents change with later calls
 * on that object, as each comment states.
 */
#ifndef NN_H
#define NN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- visibility */
/** @defgroup visibility Visibility
 * @{ */
/** @def NN_API
 * Marks each function of the API: exported from the shared library. */
#if defined(_WIN32) && defined(NN_BUILDING)
#define NN_API __declspec(dllexport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define NN_API __attribute__((visibility("default")))
#else
#define NN_API
#endif
/** @} */

/* ------------------------------------------------------------------- version */
/** @defgroup version Version
 * @{ */
#define NN_VERSION_MAJOR 1 /**< this header's major version */
#define NN_VERSION_MINOR 0 /**< this header's minor version */
#define NN_VERSION_PATCH 0 /**< this header's patch level */
/** MAJOR*10000 + MINOR*100 + PATCH, e.g.\ 1.0.0 -> 10000 */
#define NN_VERSION_NUMBER \
    (NN_VERSION_MAJOR * 10000 + NN_VERSION_MINOR * 100 + NN_VERSION_PATCH)
#define NN_VERSION_STRING "1.0.0" /**< the same as a string */

/** Version of the library actually loaded, as NN_VERSION_NUMBER. Compare it
 * with the macro to detect a header/.so mismatch. */
NN_API uint32_t nn_version_number(void);
/** Same, as a static string such as "1.0.0". Never NULL; do not free. */
NN_API const char *nn_version_string(void);
/** @} */

/* -------------------------------------------------------------------- status */
/** @defgroup status Status codes
 * @{ */
/** Fixed values: they are part of the ABI and never renumbered. New codes may
 * be appended: treat any code you do not know as a failure. */
typedef int32_t nn_status;
/** The nn_status codes. */
enum {
    NN_OK = 0,               /**< success                                         */
    NN_ERR_NOMEM = 1,        /**< an allocation failed; nothing was changed       */
    NN_ERR_INVALID = 2,      /**< NULL pointer, zero size, bad enum, key or value */
    NN_ERR_SHAPE = 3,        /**< dimensions or leading dimensions do not match   */
    NN_ERR_NUMERIC = 4,      /**< NaN/Inf met where the caller asked to be told   */
    NN_ERR_IO = 5,           /**< reading or writing a file failed                */
    NN_ERR_FORMAT = 6,       /**< a file or buffer is malformed                   */
    NN_ERR_TOO_LARGE = 7,    /**< a size overflows size_t or BLAS's int           */
    NN_ERR_UNSUPPORTED = 8,  /**< valid request this build/version cannot serve   */
    NN_ERR_STATE = 9         /**< call out of order (e.g.\ step before gradient)  */
};

/** Human-readable message for a status code. Never NULL (unknown codes get a
 * generic message); the string is static: do not free. */
NN_API const char *nn_strerror(nn_status status);
/** @} */

/* ---------------------------------------------------------------- constants */
/** @defgroup constants Constants
 * @{ */
/** Storage order of a batch. */
typedef int32_t nn_order;
/** The nn_order values. */
enum {
    NN_ROW_MAJOR = 0, /**< element (i,j) at p[i*ld + j] */
    NN_COL_MAJOR = 1  /**< element (i,j) at p[j*ld + i] */
};

/** Activation g applied elementwise (softmax: per row). */
typedef int32_t nn_activation;
/** The nn_activation values. */
enum {
    NN_ACT_IDENTITY = 0,   /**< g(z) = z                                        */
    NN_ACT_SIGMOID = 1,    /**< g(z) = 1 / (1 + exp(-z))                        */
    NN_ACT_TANH = 2,       /**< g(z) = tanh(z)                                  */
    NN_ACT_RELU = 3,       /**< g(z) = max(z, 0); g'(0) = 0                     */
    NN_ACT_LEAKY_RELU = 4, /**< g(z) = z > 0 ? z : slope*z; slope finite, >= 0  */
    NN_ACT_SOFTMAX = 5     /**< g(z)_j = exp(z_j) / sum_k exp(z_k), per row;
                                needs at least 2 units                          */
};

/** Output loss of a network. The per-sample loss is a SUM OVER THE OUTPUTS;
 * the batch loss is its MEAN over the m rows (NN_REDUCE_MEAN, the default)
 * or its SUM (NN_REDUCE_SUM), see NN_NET_REDUCTION and docs/MATH.md:
 *   NN_LOSS_MSE:        l = sum_j (a_j - y_j)^2,  dl/da_j = 2 (a_j - y_j).
 *                       Any output activation.
 *   NN_LOSS_BCE:        l = -sum_j [y_j log a_j + (1-y_j) log(1-a_j)], computed
 *                       from the logits (finite for every finite logit).
 *                       Requires a sigmoid output; one or more outputs
 *                       (multi-label). dZ = (A - Y)/m.
 *   NN_LOSS_SOFTMAX_CE: l = -sum_j y_j log softmax(z)_j, log-sum-exp stable.
 *                       Requires a softmax output. Targets as one-hot (or any
 *                       non-negative) rows, or as class indices.
 *                       dZ = (A * sum_j y_j - Y)/m (= (A - Y)/m for one-hot).
 * (The /m is absent under NN_REDUCE_SUM.) */
typedef int32_t nn_loss;
/** The nn_loss values. */
enum {
    NN_LOSS_MSE = 0,       /**< squared error, any output activation */
    NN_LOSS_BCE = 1,       /**< binary cross-entropy, sigmoid output */
    NN_LOSS_SOFTMAX_CE = 2 /**< cross-entropy, softmax output        */
};

/** How a batch's per-sample losses (and so the gradients) are combined. */
enum {
    NN_REDUCE_MEAN = 0, /**< (1/m) sum_i l_i: gradients independent of m    */
    NN_REDUCE_SUM = 1   /**< sum_i l_i: gradients of disjoint batches add up
                             exactly (data parallelism: sum, then divide by
                             the global row count in a gradient hook)       */
};

/** Weight initialisation schemes (biases are set to zero). fan_in = n_in,
 * fan_out = n_out of the layer. */
typedef int32_t nn_init;
/** The nn_init values. */
enum {
    NN_INIT_DEFAULT = 0,        /**< He uniform for (leaky) relu, Glorot uniform else */
    NN_INIT_GLOROT_UNIFORM = 1, /**< U(-r, r), r = sqrt(6 / (fan_in + fan_out))       */
    NN_INIT_HE_UNIFORM = 2,     /**< U(-r, r), r = sqrt(6 / fan_in)                   */
    NN_INIT_ZERO = 3,           /**< W = 0 (for tests and hand-set weights)           */
    NN_INIT_GLOROT_NORMAL = 4,  /**< N(0, s^2), s = sqrt(2 / (fan_in + fan_out))      */
    NN_INIT_HE_NORMAL = 5,      /**< N(0, s^2), s = sqrt(2 / fan_in)                  */
    NN_INIT_ORTHOGONAL = 6      /**< Q of the QR of a Gaussian matrix (LAPACKE dgeqrf/
                                     dorgqr), sign-corrected: W^T W = I (tall/square)
                                     or W W^T = I (wide)                              */
};

/** A column index meaning "no column" (nn_data_load_csv's label_col). */
#define NN_NO_COLUMN ((size_t)-1)
/** A layer index meaning "the network as a whole" (nn_netspec_set_*). */
#define NN_NET_WIDE ((size_t)-1)
/** @} */

/* ---------------------------------------------------------------- keys */
/** @defgroup keys Settings keys
 * @{ */
/** Network keys: nn_netspec_set_* with layer NN_NET_WIDE (initial values),
 * nn_net_set_* / nn_net_get_* (current values). */
enum {
    NN_NET_LOSS = 100,         /**< int, read-only after creation: nn_loss    */
    NN_NET_REDUCTION = 101,    /**< int: NN_REDUCE_MEAN (default) / _SUM      */
    NN_NET_CHECK_FINITE = 102, /**< int 0/1 (0): see nn_net_gradient          */
    NN_NET_DROPOUT_SEED = 103, /**< int, any 64-bit value (0): setting it
                                    restarts the dropout stream (STEP 0);
                                    reading it gives the seed last set.
                                    Independent of the weight seed of
                                    nn_net_init.                              */
    NN_NET_DROPOUT_STEP = 104, /**< int >= 0 (0), net only: training passes
                                    drawn under the seed; each nn_net_gradient*
                                    / nn_net_train_step* adds one             */
    NN_NET_DROPOUT_ROW0 = 105  /**< int >= 0 (0), net only: global index of the
                                    next training batch's first row           */
};
/** @var NN_NET_DROPOUT_SEED
 * Dropout masks are counter-based: the mask of unit j of layer l for row i
 * of a training batch is a fixed function of (DROPOUT_SEED, DROPOUT_STEP,
 * l, DROPOUT_ROW0 + i, j). A batch split across processes, each part with
 * its ROW0 and the same STEP, draws exactly the masks of the whole batch in
 * one call (docs/DISTRIBUTED.md). nn_netspec_set_int refuses the two
 * net-only keys. */

/** A layer kind (NN_LAYER_KIND). */
typedef int32_t nn_layer_kind;
/** The nn_layer_kind values. */
enum {
    NN_LAYER_DENSE = 0 /**< a dense (fully connected) layer */
};
/** Layer keys: nn_netspec_set_* (per layer), nn_net_get_layer_*. */
enum {
    NN_LAYER_KIND = 200,       /**< int, read-only: nn_layer_kind             */
    NN_LAYER_UNITS = 201,      /**< int, read-only: n_out (>= 1)              */
    NN_LAYER_ACTIVATION = 202, /**< int: nn_activation                        */
    NN_LAYER_ACT_PARAM = 203,  /**< real: leaky-relu slope, finite, >= 0 (0.01)
                                    (ignored by the other activations)        */
    NN_LAYER_DROPOUT = 204     /**< real in [0, 1) (0): inverted dropout on the
                                    layer's output in training passes (each
                                    unit zeroed with probability p, kept ones
                                    scaled by 1/(1-p)); inference untouched.
                                    Must be 0 on the output layer.            */
};

/** An optimizer kind (nn_optim_create, NN_OPTIM_KIND). */
typedef int32_t nn_optim_kind;
/** The nn_optim_kind values. */
enum {
    NN_OPTIM_SGD = 0,      /**< w -= lr*g                                        */
    NN_OPTIM_MOMENTUM = 1, /**< v = mu*v + g;  w -= lr*v          (PyTorch form) */
    NN_OPTIM_NESTEROV = 2, /**< v = mu*v + g;  w -= lr*(g + mu*v) (PyTorch form) */
    NN_OPTIM_ADAM = 3      /**< bias-corrected Adam (Kingma & Ba)                */
};
/** Optimizer keys: nn_optim_set_* / nn_optim_get_*. */
enum {
    NN_OPTIM_KIND = 300,         /**< int, read-only: nn_optim_kind           */
    NN_OPTIM_LR = 301,           /**< real > 0, finite   (0.01; Adam 0.001)   */
    NN_OPTIM_MOMENTUM_COEF = 302,/**< real in [0, 1)     (0.9) momentum kinds */
    NN_OPTIM_BETA1 = 303,        /**< real in [0, 1)     (0.9)   Adam         */
    NN_OPTIM_BETA2 = 304,        /**< real in [0, 1)     (0.999) Adam         */
    NN_OPTIM_EPS = 305,          /**< real > 0, finite   (1e-8)  Adam         */
    NN_OPTIM_WEIGHT_DECAY = 306, /**< real >= 0, finite  (0)                  */
    NN_OPTIM_DECOUPLED = 307,    /**< int 0/1            (0)     Adam: AdamW  */
    NN_OPTIM_CLIP_NORM = 308,    /**< real >= 0, finite  (0 = no clipping)    */
    NN_OPTIM_STEPS = 309         /**< int, read-only: steps taken             */
};

/** A learning-rate schedule (NN_TRAIN_SCHEDULE). */
typedef int32_t nn_schedule;
/** The nn_schedule values. */
enum {
    NN_SCHED_CONSTANT = 0, /**< lr = lr0                                          */
    NN_SCHED_STEP = 1,     /**< lr = lr0 * gamma^floor(epoch_index / step_epochs) */
    NN_SCHED_COSINE = 2    /**< lr = lr_min + (lr0 - lr_min)(1 + cos(pi t/T))/2,
                                t = steps done, T = total steps of the run        */
};
/** Trainer keys: nn_trainer_set_* / nn_trainer_get_* (defaults in brackets). */
enum {
    NN_TRAIN_EPOCHS = 400,       /**< int >= 1                           [10]    */
    NN_TRAIN_BATCH_SIZE = 401,   /**< int >= 1; last batch may be smaller [64]   */
    NN_TRAIN_SHUFFLE = 402,      /**< int 0/1: reshuffle rows every epoch [1]    */
    NN_TRAIN_SEED = 403,         /**< int, any 64-bit value: shuffling and the
                                      validation split                  [0]      */
    NN_TRAIN_VAL_FRACTION = 404, /**< real in [0, 1): rows held out for
                                      validation when no set is given   [0]      */
    NN_TRAIN_PATIENCE = 405,     /**< int >= 0: stop after this many epochs
                                      without a better val loss; 0 = off [0]     */
    NN_TRAIN_RESTORE_BEST = 406, /**< int 0/1: end with the best-val weights [1] */
    NN_TRAIN_SCHEDULE = 407,     /**< int: nn_schedule            [CONSTANT]     */
    NN_TRAIN_GAMMA = 408,        /**< real in (0, 1]: STEP factor        [0.1]   */
    NN_TRAIN_STEP_EPOCHS = 409,  /**< int >= 1: STEP period              [10]    */
    NN_TRAIN_LR_MIN = 410,       /**< real >= 0: COSINE floor            [0]     */
    NN_TRAIN_WARMUP_STEPS = 411, /**< int >= 0: linear warm-up, the rate of
                                      step t (0-based) times min(1, (t+1)/W) [0] */
    NN_TRAIN_REPORT_EVERY = 412, /**< int >= 0: a batch report every N batches
                                      (0: epoch reports only)           [0]      */
    NN_TRAIN_RESUME = 413,       /**< int 0/1: nn_train continues the run whose
                                      progress the trainer holds (a paused
                                      run's, or a checkpoint's) instead of
                                      starting a new one; see nn_train  [0]      */
    NN_TRAIN_THREADS = 414,      /**< int in [0, 1024]: batch-parallel threads
                                      (see below); 0: none, the BLAS's own
                                      threads only                      [0]      */
    /* results of the last nn_train run (read-only; 0 / NaN before any run) */
    NN_TRAIN_EPOCHS_RUN = 450,   /**< int: epochs completed                      */
    NN_TRAIN_BEST_EPOCH = 451,   /**< int: 1-based epoch of the best val loss
                                      (0 without validation)                     */
    NN_TRAIN_STOPPED_EARLY = 452,/**< int 0/1: fewer epochs ran than planned     */
    NN_TRAIN_STEPS_RUN = 453,    /**< int: optimizer steps taken                 */
    NN_TRAIN_PAUSED = 454,       /**< int 0/1: the report callback paused the run
                                      (NN_REPORT_PAUSE)                          */
    NN_TRAIN_BEST_VAL_LOSS = 460,/**< real: NaN without validation               */
    NN_TRAIN_FINAL_LOSS = 461,   /**< real: train loss of the last epoch         */
    NN_TRAIN_SECONDS = 462       /**< real: wall time of the run                 */
};

/** @var NN_TRAIN_THREADS
 * With T >= 1, nn_train runs its steps on T threads of its own (at most
 * one per row of a batch), started once per call and joined before it
 * returns, and the BLAS runs ONE thread for the length of the call: the
 * process-wide count (nn_set_num_threads) is set to 1 when the run starts
 * and back to the count it found when it ends (so never two thread pools
 * against each other; do not change it from a callback of such a run).
 * Each mini-batch is split across the threads in order (the first
 * B % T take one row more); each runs forward and backward on its rows,
 * then computes, over all the rows, the gradient of the 1/T of every
 * layer's parameters it owns (the parts added in a fixed order) and
 * updates them (one update, split; clipping first combines the global
 * norm; docs/TRAINING.md). Results are bitwise reproducible for a
 * given T, and equal those of T = 0 with one BLAS thread up to rounding;
 * T = 1 is that run itself (one thread, the BLAS pinned to one thread).
 * Dropout masks are those of the rows' global indices, as in one thread.
 * Meant for small batches, where the BLAS's threads scale poorly
 * (docs/PERFORMANCE.md, "Training", has the measured ratios). Not part of
 * the resume fingerprint: a paused run may resume with another T (bitwise
 * the same only with the same T). Memory: the batch's buffers (gathered
 * rows, every layer's outputs and dZ) once, T validation contexts of
 * ceil(B / T) rows; no extra gradient array. */

/** Metric keys for nn_net_evaluate. */
enum {
    NN_METRIC_LOSS = 500,        /**< 1 value: mean loss per row (whatever the
                                      net's reduction)                        */
    NN_METRIC_ACCURACY = 501,    /**< 1 value: labelled data only             */
    NN_METRIC_MSE = 502,         /**< 1 value: mean over rows and outputs of
                                      (a - y)^2                               */
    NN_METRIC_MAE = 503,         /**< 1 value: mean of |a - y|                */
    NN_METRIC_R2 = 504,          /**< 1 value: mean over outputs of R^2_j     */
    NN_METRIC_MSE_OUTPUTS = 510, /**< n_out values: MSE of each output        */
    NN_METRIC_MAE_OUTPUTS = 511, /**< n_out values: MAE of each output        */
    NN_METRIC_R2_OUTPUTS = 512   /**< n_out values: R^2_j = 1 - SS_res/SS_tot
                                      (SS_tot = 0: 1 if SS_res = 0, else 0)   */
};

/** Experimental keys start here; they may change or vanish in any release. */
#define NN_KEY_EXPERIMENTAL 10000

/** Value type of a key, as reported by nn_param_info. */
enum {
    NN_PARAM_INT = 1, /**< int64_t: *_set_int / *_get_int  */
    NN_PARAM_REAL = 2 /**< double: *_set_real / *_get_real */
};

/** What a key takes: its type (NN_PARAM_INT / NN_PARAM_REAL), its inclusive
 * bounds (as doubles; integer bounds above 2^53 are rounded) and whether it
 * can be set (read-only keys give 0). Any out pointer may be NULL.
 * @return NN_ERR_INVALID for an unknown key. */
NN_API nn_status nn_param_info(int32_t key, int32_t *type, double *lo,
                               double *hi, int32_t *writable);
/** @} */

/* ---------------------------------------------------------------- allocator */
/** @defgroup allocator Allocator and error details
 * @{ */
/** A caller-supplied allocator. Every byte an object allocates goes through it
 * (objects created with a NULL allocator use malloc/free). alloc must return
 * memory aligned for double (malloc's guarantee) or NULL on failure; free
 * receives the same size that was requested for that pointer. The struct is
 * copied at creation; ctx must stay valid until the object is destroyed.
 * Frozen: this struct never changes. */
typedef struct nn_allocator {
    void *(*alloc)(void *ctx, size_t size);          /**< size bytes, or NULL */
    void (*free)(void *ctx, void *ptr, size_t size); /**< ptr and its size    */
    void *ctx;                                       /**< passed to both      */
} nn_allocator;

/** Where a malformed input went wrong. Filled by the loaders when the caller
 * passes one (may be NULL); owned by the caller, so no global error state.
 * Frozen: this struct never changes (new detail goes into message). */
typedef struct nn_error_info {
    char file[256];    /**< the file (truncated to fit)                     */
    size_t line;       /**< 1-based line (CSV) or 0                         */
    size_t column;     /**< 1-based column / field (CSV) or 0               */
    size_t offset;     /**< byte offset in the (decompressed) file, or 0    */
    char message[256]; /**< what was expected and what was found            */
} nn_error_info;
/** @} */

/* ---------------------------------------------------------------- threads */
/** @defgroup threads Threads
 * @{ */
/** Set the number of threads (n >= 1) the BLAS library uses for every product
 * libnn computes, through the BLAS's own call (OpenBLAS, BLIS, MKL). This is
 * a PROCESS-WIDE setting of the BLAS library, not of one object: call it
 * before starting threads that use libnn. An nn_train run with
 * NN_TRAIN_THREADS >= 1 sets it to 1 for its length and back to the value
 * it found when it ends (do not change it from that run's callbacks).
 * @return NN_OK; NN_ERR_INVALID for n == 0; NN_ERR_TOO_LARGE if n does not
 * fit in an int; NN_ERR_UNSUPPORTED if the BLAS libnn was built against has
 * no thread control (a generic CBLAS). */
NN_API nn_status nn_set_num_threads(size_t n);
/** Number of threads the BLAS library will use (>= 1) in *n.
 * @return NN_ERR_INVALID for n == NULL; NN_ERR_UNSUPPORTED (and *n
 * untouched) without thread control. */
NN_API nn_status nn_get_num_threads(size_t *n);
/** The BLAS library that serves libnn's products, as it describes itself,
 * asked at run time of the library actually loaded (which may be the one
 * update-alternatives chose for libblas.so.3): OpenBLAS's configuration
 * ("OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64"),
 * "BLIS 0.9.0", MKL's version string; "unknown" for a BLAS that does not
 * say (the reference BLAS; BLIS through Debian's libblas.so.3, which
 * exports the BLAS calls only). libnn links against none of these calls:
 * it looks them up by name.
 * @return a static string (borrowed, never NULL); safe from any thread. */
NN_API const char *nn_blas_name(void);
/** The kernel set the BLAS chose for this CPU: OpenBLAS's core name
 * ("Haswell", "SkylakeX"; "Prescott" or "Core2" are its generic fallbacks),
 * BLIS's configuration ("haswell", "zen3", "generic"); "unknown" when the
 * BLAS does not say (MKL among them).
 * @return a static string (borrowed, never NULL); safe from any thread. */
NN_API const char *nn_blas_core(void);
/** @} */

/* ================================================================ dense layer */
/** @defgroup dense Dense layer
 * @{ */
/** A single dense layer, usable on its own: A = g(X.W + b).
 * The layer caches its activations A for the next backward call. */
typedef struct nn_dense nn_dense_t;

/** Create a layer with n_in inputs, n_out outputs and activation act
 * (act_param is the leaky-relu slope; ignored, but must be finite, for the
 * others). W is initialised with NN_INIT_DEFAULT and seed 0, b with zeros.
 * alloc may be NULL (malloc/free); it is copied.
 * @return NN_OK and *out set; on error *out is left untouched. */
NN_API nn_status nn_dense_create(nn_dense_t **out, size_t n_in, size_t n_out,
                                 nn_activation act, double act_param,
                                 const nn_allocator *alloc);
/** Destroy a layer and everything it allocated. NULL is a no-op. Borrowed
 * pointers obtained from the layer become invalid. */
NN_API void nn_dense_destroy(nn_dense_t *layer);

/** @{ */
/** Shape queries. NULL layer gives 0. */
NN_API size_t nn_dense_n_in(const nn_dense_t *layer);
NN_API size_t nn_dense_n_out(const nn_dense_t *layer);
/** @} */

/** Pre-size the workspace for batches of up to m_max rows, so that later
 * forward/backward calls never allocate. Calls with a larger m grow it. */
NN_API nn_status nn_dense_reserve(nn_dense_t *layer, size_t m_max);

/** Forward pass on a batch: A = g(X.W + b). X is m x n_in (ldx), A is
 * m x n_out (lda), both in `order`. The layer keeps its own copy of A for
 * nn_dense_backward; X is not retained. */
NN_API nn_status nn_dense_forward(nn_dense_t *layer, size_t m, nn_order order,
                                  const double *X, size_t ldx,
                                  double *A, size_t lda);

/** Backward pass for the batch of the last forward call (same m, and X must
 * hold the same values): given dA = dL/dA (m x n_out), computes
 *   dZ = dA o g'(Z)   (softmax: dZ = A o (dA - rowsum(dA o A)))
 *   dW = X^T.dZ, db = sum over rows of dZ        (stored in the layer)
 *   dX = dZ.W^T       (only if dX != NULL; m x n_in, lddx)
 * This is the plain chain rule: no 1/m factor is applied here (a mean loss
 * puts its 1/m into dA). The dA buffer is only read.
 * @return NN_ERR_STATE if no forward preceded it; NN_ERR_SHAPE if m is not
 * the m of the last forward. */
NN_API nn_status nn_dense_backward(nn_dense_t *layer, size_t m, nn_order order,
                                   const double *X, size_t ldx,
                                   const double *dA, size_t ldda,
                                   double *dX, size_t lddx);

/** @{ */
/** Copy parameters / gradients out (get) or in (set). W is n_in x n_out in
 * `order` with leading dimension ldw; b and db are n_out contiguous values.
 * Either pointer may be NULL to skip it (not both). Gradients are those of the
 * last backward call (zero before any). */
NN_API nn_status nn_dense_get_params(const nn_dense_t *layer, nn_order order,
                                     double *W, size_t ldw, double *b);
NN_API nn_status nn_dense_set_params(nn_dense_t *layer, nn_order order,
                                     const double *W, size_t ldw,
                                     const double *b);
NN_API nn_status nn_dense_get_grads(const nn_dense_t *layer, nn_order order,
                                    double *dW, size_t ldw, double *db);
/** @} */

/** @{ */
/** Borrowed pointers to the layer's own storage: W (row-major n_in x n_out,
 * leading dimension n_out), b (n_out), dW, db (same shapes). Valid until the
 * layer is destroyed (storage never moves). Writing through the non-const
 * W/b pointers changes the parameters. NULL layer gives NULL. */
NN_API double *nn_dense_weights(nn_dense_t *layer);
NN_API double *nn_dense_bias(nn_dense_t *layer);
NN_API const double *nn_dense_grad_weights(const nn_dense_t *layer);
NN_API const double *nn_dense_grad_bias(const nn_dense_t *layer);
/** @} */
/** @} */

/* ================================================================ network spec */
/** @defgroup netspec Network specification
 * @{ */
/** The description a network is built from: inputs, a loss, layers added one
 * by one, and keyed settings per layer (NN_LAYER_*) or for the whole network
 * (NN_NET_* with layer NN_NET_WIDE). New layer kinds and settings arrive as
 * new functions and keys; nothing the caller allocates is ever indexed by the
 * library. A spec is independent of the networks made from it. */
typedef struct nn_netspec nn_netspec_t;
typedef struct nn_net nn_net_t;

/** A spec with n_in >= 1 inputs, the given loss and no layers yet.
 * alloc may be NULL (malloc/free); it is copied. */
NN_API nn_status nn_netspec_create(nn_netspec_t **out, size_t n_in,
                                   nn_loss loss, const nn_allocator *alloc);
/** The spec of an existing network (its architecture and current settings),
 * e.g.\ to build a variant of it. */
NN_API nn_status nn_netspec_from_net(nn_netspec_t **out, const nn_net_t *net,
                                     const nn_allocator *alloc);
/** Destroy a spec. NULL is a no-op. */
NN_API void nn_netspec_destroy(nn_netspec_t *spec);

/** Append a dense layer of n_out >= 1 units with activation act; its other
 * settings take their defaults (slope 0.01, no dropout). The new layer's
 * index is the number of layers before the call.
 * @return NN_ERR_INVALID for n_out == 0, an unknown activation or a softmax
 * layer of one unit; NN_ERR_TOO_LARGE for sizes BLAS cannot take. */
NN_API nn_status nn_netspec_add_dense(nn_netspec_t *spec, size_t n_out,
                                      nn_activation act);
/** Number of layers added so far (0 for NULL). */
NN_API size_t nn_netspec_n_layers(const nn_netspec_t *spec);
/** @{ */
/** Set a key of layer `layer` (NN_LAYER_*) or, with layer == NN_NET_WIDE, of
 * the network (NN_NET_REDUCTION, NN_NET_CHECK_FINITE, NN_NET_DROPOUT_SEED).
 * Each value is checked here against its key's bounds; rules that involve
 * several layers (the loss fits the output activation, no dropout on the
 * output layer) are checked by nn_net_create.
 * @return NN_ERR_INVALID for an unknown, read-only or wrongly typed key, an
 * out-of-range layer or a value out of bounds. */
NN_API nn_status nn_netspec_set_int(nn_netspec_t *spec, size_t layer,
                                    int32_t key, int64_t value);
NN_API nn_status nn_netspec_set_real(nn_netspec_t *spec, size_t layer,
                                     int32_t key, double value);
/** @} */
/** @} */

/* ================================================================ network */
/** @defgroup net Network
 * @{ */
/** @typedef nn_net_t
 * @ingroup net
 * A stack of layers with an output loss. Its parameters live in one flat
 * array and its gradients in a second one with the same layout: layer by
 * layer, for each layer W (n_in x n_out, row-major) then b (n_out).
 * (nn_net_t is declared with nn_netspec_t above.) */

/** Create a network from a spec (copied; the spec may be destroyed at once).
 * NN_LOSS_BCE requires a sigmoid output layer and NN_LOSS_SOFTMAX_CE a
 * softmax output layer; softmax layers need >= 2 units; the output layer has
 * no dropout (else NN_ERR_INVALID; a spec without layers too).
 * Weights: NN_INIT_DEFAULT with seed 0 (see nn_net_init); biases zero.
 * alloc may be NULL (malloc/free); it is copied.
 * @return NN_OK and *out set; on error *out is left untouched. */
NN_API nn_status nn_net_create(nn_net_t **out, const nn_netspec_t *spec,
                               const nn_allocator *alloc);
/** A deep copy of net (parameters, gradients, settings, dropout generator,
 * attached scalers), with its own allocator (alloc may be NULL). */
NN_API nn_status nn_net_clone(nn_net_t **out, const nn_net_t *net,
                              const nn_allocator *alloc);
/** Destroy a network and everything it allocated. NULL is a no-op. */
NN_API void nn_net_destroy(nn_net_t *net);

/** @{ */
/** Shape queries (0 for NULL net or out-of-range layer). */
NN_API size_t nn_net_n_in(const nn_net_t *net);
NN_API size_t nn_net_n_out(const nn_net_t *net);
NN_API size_t nn_net_n_layers(const nn_net_t *net);
NN_API size_t nn_net_layer_n_in(const nn_net_t *net, size_t layer);
NN_API size_t nn_net_layer_n_out(const nn_net_t *net, size_t layer);
/** @} */
/** Total number of parameters (weights and biases): the length of the flat
 * parameter and gradient arrays. */
NN_API size_t nn_net_n_params(const nn_net_t *net);

/** @{ */
/** Network settings (NN_NET_*). NN_NET_LOSS is read-only.
 * @return NN_ERR_INVALID for an unknown, read-only or wrongly typed key or a
 * value out of bounds (and nothing changes). */
NN_API nn_status nn_net_set_int(nn_net_t *net, int32_t key, int64_t value);
NN_API nn_status nn_net_get_int(const nn_net_t *net, int32_t key,
                                int64_t *value);
/** @} */
/** @{ */
/** A layer's settings (NN_LAYER_*), as given in the spec. */
NN_API nn_status nn_net_get_layer_int(const nn_net_t *net, size_t layer,
                                      int32_t key, int64_t *value);
NN_API nn_status nn_net_get_layer_real(const nn_net_t *net, size_t layer,
                                       int32_t key, double *value);
/** @} */

/** Re-initialise all weights with scheme `init`, drawing from a generator
 * seeded with `seed` (owned by this call: same seed, same weights, on every
 * machine). Biases are set to zero; gradients are cleared (no gradient is
 * current afterwards). The dropout generator is not touched (it has its own
 * seed, NN_NET_DROPOUT_SEED). NN_INIT_ORTHOGONAL needs scratch memory and
 * LAPACK: it may return NN_ERR_NOMEM or NN_ERR_NUMERIC, and then nothing has
 * changed. */
NN_API nn_status nn_net_init(nn_net_t *net, nn_init init, uint64_t seed);

/* ---------------------------------------------------------------- the seam */
/** @defgroup seam The seam: parameters and gradients
 * @{ */
/** @name The flat arrays
 * @{ */
/** Borrowed, mutable views of the flat parameter and gradient arrays
 * (nn_net_n_params values each, layout above). Valid until the network is
 * destroyed (storage never moves). Writing parameters changes the network;
 * writing gradients changes what the next nn_optim_step applies (e.g. an
 * in-place allreduce). NULL for a NULL net. */
NN_API double *nn_net_params(nn_net_t *net);
NN_API double *nn_net_grads(nn_net_t *net);
/** @} */
/** The gradient array is followed by NN_GRAD_SPARE doubles of scratch: the
 * library never reads them and writes them only during a sharded nn_train,
 * so that a collective can carry a step's gradients, loss and row count in
 * one contiguous buffer (nn_mpi_allsum_grads does). */
#define NN_GRAD_SPARE 4
/** Offsets of layer `layer`'s W and b in those arrays. */
NN_API nn_status nn_net_layer_offset(const nn_net_t *net, size_t layer,
                                     size_t *w_offset, size_t *b_offset);
/** 1 when the gradient array holds a gradient the optimizer may apply (after
 * nn_net_gradient*, or nn_net_set_grads), else 0: before any, after
 * nn_net_init, after an optimizer step or a one-call training step, and after
 * a check-finite failure. */
NN_API int32_t nn_net_has_grads(const nn_net_t *net);
/** Copy len == nn_net_n_params values into the gradient array (grad may be
 * nn_net_grads(net) itself, to declare gradients written in place) and make
 * them current. @return NN_ERR_SHAPE for another len. */
NN_API nn_status nn_net_set_grads(nn_net_t *net, const double *grad,
                                  size_t len);

/** @name One layer's parameters and gradients
 * @{ */
/** Copy one layer's parameters / gradients out or in; same conventions as
 * nn_dense_get_params (W is layer_n_in x layer_n_out).
 * nn_net_get_grads returns NN_ERR_STATE when no gradient is current. */
NN_API nn_status nn_net_get_params(const nn_net_t *net, size_t layer,
                                   nn_order order, double *W, size_t ldw,
                                   double *b);
NN_API nn_status nn_net_set_params(nn_net_t *net, size_t layer,
                                   nn_order order, const double *W, size_t ldw,
                                   const double *b);
NN_API nn_status nn_net_get_grads(const nn_net_t *net, size_t layer,
                                  nn_order order, double *dW, size_t ldw,
                                  double *db);
/** @} */
/** @} */

/* ---------------------------------------------------------------- contexts */
/** @defgroup ctx Execution contexts
 * @{ */
/** An execution context: the workspace of inference calls on a const network,
 * for batches of up to its capacity (larger batches are processed in chunks
 * of that many rows). One context serves any network of the same shape (the
 * one it was made for, its clones, a reloaded copy); use one per thread. */
typedef struct nn_ctx nn_ctx_t;

/** Bytes a context for `net` with capacity m_max needs (for nn_ctx_create_in). */
NN_API nn_status nn_ctx_size(const nn_net_t *net, size_t m_max, size_t *bytes);
/** A context allocated through alloc (NULL: malloc). */
NN_API nn_status nn_ctx_create(nn_ctx_t **out, const nn_net_t *net,
                               size_t m_max, const nn_allocator *alloc);
/** A context placed in caller memory: `bytes` (at least nn_ctx_size's answer,
 * else NN_ERR_SHAPE) at `mem`, aligned for double (else NN_ERR_INVALID). The
 * caller owns the memory; it must outlive the context, and nn_ctx_destroy
 * releases nothing. */
NN_API nn_status nn_ctx_create_in(nn_ctx_t **out, const nn_net_t *net,
                                  size_t m_max, void *mem, size_t bytes);
/** Destroy a context (for one in caller memory: only forget it). NULL no-op. */
NN_API void nn_ctx_destroy(nn_ctx_t *ctx);
/** Rows the context holds. 0 for NULL. */
NN_API size_t nn_ctx_capacity(const nn_ctx_t *ctx);
/** @} */

/* ---------------------------------------------------------------- inference */
/** @defgroup inference Inference
 * Every call here reads net and writes only ctx and its outputs: any number
 * of threads may run them on one net, each with its own context. ctx may be
 * NULL: the call then allocates a temporary workspace (up to 256 rows)
 * through the net's allocator (NN_ERR_NOMEM possible) and frees it before
 * returning — so threads sharing a net with NULL contexts need a thread-safe
 * allocator (malloc, the default, is).
 * @return NN_ERR_SHAPE if ctx belongs to a network of another shape.
 * @{ */
/** Y = network(X). X is m x n_in (ldx), Y is m x n_out (ldy).
 * Y holds the output activations (probabilities for sigmoid/softmax). */
NN_API nn_status nn_net_predict(const nn_net_t *net, nn_ctx_t *ctx, size_t m,
                                nn_order order, const double *X, size_t ldx,
                                double *Y, size_t ldy);

/** @{ */
/** Loss of a batch (in the net's reduction) with dense targets Y
 * (m x n_out, ldy), or with class-index targets labels[0..m-1]: label c
 * stands for the one-hot row e_c (0 <= c < n_out); for a single-output
 * network, label c stands for the target value c (0 or 1). A label out of
 * range gives NN_ERR_INVALID. */
NN_API nn_status nn_net_loss(const nn_net_t *net, nn_ctx_t *ctx, size_t m,
                             nn_order order, const double *X, size_t ldx,
                             const double *Y, size_t ldy, double *loss);
NN_API nn_status nn_net_loss_labels(const nn_net_t *net, nn_ctx_t *ctx,
                                    size_t m, nn_order order, const double *X,
                                    size_t ldx, const int32_t *labels,
                                    double *loss);
/** @} */
/** @} */
/** @} */

/* ================================================================ training */
/** @defgroup training Training
 * @{ */
/** Pre-size the network's own training workspace for batches of up to m_max
 * rows: afterwards nn_net_gradient* and nn_net_train_step* with m <= m_max
 * never allocate. Larger batches grow it (one allocation) and keep it. */
NN_API nn_status nn_net_reserve(nn_net_t *net, size_t m_max);

/** @{ */
/** One forward + backward pass on a batch (dropout on): the loss (in `*loss` if
 * loss != NULL) and the gradients of every parameter, stored in the flat
 * gradient array, which becomes current. Targets as for nn_net_loss*.
 * With NN_NET_CHECK_FINITE on, a NaN/Inf loss or gradient gives
 * NN_ERR_NUMERIC: no loss is written, the parameters are untouched, the
 * gradient array holds the non-finite values and is not current. */
NN_API nn_status nn_net_gradient(nn_net_t *net, size_t m, nn_order order,
                                 const double *X, size_t ldx,
                                 const double *Y, size_t ldy, double *loss);
NN_API nn_status nn_net_gradient_labels(nn_net_t *net, size_t m,
                                        nn_order order, const double *X,
                                        size_t ldx, const int32_t *labels,
                                        double *loss);
/** @} */
/** @} */

/* ================================================================ optimizers */
/** @defgroup optim Optimizers
 * @{ */
/** An optimizer updates a network's parameters from its current gradients.
 * It owns its state (velocities, moments), sized for the network it was
 * created for; the step allocates nothing. Weight decay applies to weights
 * only, never to biases: coupled (L2, all kinds): g += weight_decay * w
 * before the update; decoupled (Adam, NN_OPTIM_DECOUPLED): w -= lr *
 * weight_decay * w beside the update. Clipping (NN_OPTIM_CLIP_NORM > 0)
 * scales all gradients together so that their global L2 norm is at most
 * clip_norm, before decay and update. */
typedef struct nn_optim nn_optim_t;

/** An optimizer of `kind` with its defaults (see the NN_OPTIM_* keys) for
 * networks shaped like `net` (only used to size the state; not retained).
 * alloc may be NULL. */
NN_API nn_status nn_optim_create(nn_optim_t **out, const nn_net_t *net,
                                 nn_optim_kind kind,
                                 const nn_allocator *alloc);
/** Destroy an optimizer. NULL is a no-op. */
NN_API void nn_optim_destroy(nn_optim_t *opt);

/** @{ */
/** Settings (NN_OPTIM_*), changeable between steps (schedules set the rate).
 * Keys of another kind (NN_OPTIM_BETA1 on SGD) are accepted and kept. */
NN_API nn_status nn_optim_set_real(nn_optim_t *opt, int32_t key, double value);
NN_API nn_status nn_optim_get_real(const nn_optim_t *opt, int32_t key,
                                   double *value);
NN_API nn_status nn_optim_set_int(nn_optim_t *opt, int32_t key, int64_t value);
NN_API nn_status nn_optim_get_int(const nn_optim_t *opt, int32_t key,
                                  int64_t *value);
/** @} */

/** THE update: net's parameters from its current gradients, which are then no
 * longer current. Allocates nothing.
 * @return NN_ERR_STATE if net has no current gradient; NN_ERR_SHAPE if net is
 * not shaped like the network the optimizer was created for; NN_ERR_NUMERIC
 * (and nothing changed) if the net's check-finite is on and a gradient is
 * NaN/Inf. */
NN_API nn_status nn_optim_step(nn_optim_t *opt, nn_net_t *net);

/** @{ */
/** One training step in one call: nn_net_gradient* then nn_optim_step, with
 * the same result. For plain SGD without clipping or weight decay (and
 * check-finite off) the update is fused into the dW products (dgemm with
 * beta = 1: no stored dW, no separate pass over the parameters; the product
 * rounds once where the two calls round twice). Either way no gradient is
 * current afterwards. */
NN_API nn_status nn_net_train_step(nn_net_t *net, nn_optim_t *opt, size_t m,
                                   nn_order order, const double *X,
                                   size_t ldx, const double *Y, size_t ldy,
                                   double *loss);
NN_API nn_status nn_net_train_step_labels(nn_net_t *net, nn_optim_t *opt,
                                          size_t m, nn_order order,
                                          const double *X, size_t ldx,
                                          const int32_t *labels,
                                          double *loss);
/** @} */

/** Optimizer state, for saving and restoring: a step count and
 * nn_optim_state_len() doubles (velocity for momentum kinds; first then
 * second moments for Adam; none for SGD), in the flat parameter layout.
 * len must equal nn_optim_state_len (NN_ERR_SHAPE). nn_optim_set_state
 * refuses (NN_ERR_INVALID, nothing changed) NaN/Inf values and negative Adam
 * second moments, which no run produces from finite gradients; model files
 * restore a diverged state bit for bit without this check. */
NN_API size_t nn_optim_state_len(const nn_optim_t *opt);
/** A borrowed read-only view of the state (nn_optim_state_len doubles, same
 * layout), valid until the optimizer is destroyed; its contents change
 * with every step. NULL for a NULL optimizer or an empty state (SGD). */
NN_API const double *nn_optim_state_view(const nn_optim_t *opt);
/** @{ */
/** Copy the step count and the state out (get) or in (set): see
 * nn_optim_state_len. */
NN_API nn_status nn_optim_get_state(const nn_optim_t *opt, uint64_t *steps,
                                    double *state, size_t len);
NN_API nn_status nn_optim_set_state(nn_optim_t *opt, uint64_t steps,
                                    const double *state, size_t len);
/** @} */
/** @} */

/* ================================================================ data */
/** @defgroup data Data sets
 * @{ */
/** A data set: m samples of n features (row-major, contiguous) and, if given,
 * either m class labels or m x k dense real-valued targets (one replaces the
 * other). */
typedef struct nn_data nn_data_t;

/** A data set from caller features (copied): m x n in `order`, leading
 * dimension ldx; no labels or targets yet. */
NN_API nn_status nn_data_create(nn_data_t **out, size_t m, size_t n,
                                nn_order order, const double *X, size_t ldx,
                                const nn_allocator *alloc);
/** Attach m class labels (copied), each in [0, 2^31); drops any targets. */
NN_API nn_status nn_data_set_labels(nn_data_t *data, const int32_t *labels);
/** Attach m x k dense targets (copied; in `order`, ldy; finite, else
 * NN_ERR_NUMERIC); drops any labels. */
NN_API nn_status nn_data_set_targets(nn_data_t *data, size_t k,
                                     nn_order order, const double *Y,
                                     size_t ldy);
/** Move the feature columns cols[0..k-1] (distinct, any order) into dense
 * targets (target j = feature column cols[j]); the remaining features keep
 * their order. Drops any labels. E.g. the real-valued target columns of a
 * CSV file loaded with label_col = NN_NO_COLUMN. */
NN_API nn_status nn_data_take_targets(nn_data_t *data, const size_t *cols,
                                      size_t k);

/** Read an IDX file (the MNIST family format; gzip-compressed if its name ends
 * in .gz or it starts with the gzip magic), any element type, any number of
 * dimensions: the first dimension gives the rows, the product of the others
 * the columns; values converted to double unscaled. Sizes are checked
 * against the file's real length before any allocation: a truncated or
 * oversized file gives NN_ERR_FORMAT and never over-allocates. NaN/Inf in a
 * float file is NN_ERR_FORMAT naming the element.
 * @return NN_ERR_IO if the file cannot be read, NN_ERR_FORMAT if malformed. */
NN_API nn_status nn_data_load_idx(nn_data_t **out, const char *path,
                                  const nn_allocator *alloc,
                                  nn_error_info *err);
/** Attach labels from an IDX file with one dimension (m values, each an
 * integer in [0, 2^31)); m must match (NN_ERR_SHAPE). */
NN_API nn_status nn_data_load_idx_labels(nn_data_t *data, const char *path,
                                         nn_error_info *err);
/** Read a numeric CSV file (comma-separated; header line skipped when
 * header != 0). label_col is the 0-based column holding an integer class
 * label (>= 0), or NN_NO_COLUMN; every other column is a feature. Numbers
 * are read in the "C" locale whatever the process's locale, and must be
 * plain decimal (no hex, inf or nan). Every row, and the header, must have
 * the same number of fields. A leading UTF-8 BOM is skipped; lines end in
 * `\n`, `\r\n` or `\r`. A non-numeric cell, ragged row or bad label gives
 * NN_ERR_FORMAT with line and column in *err. Every loader reads its input
 * once (pipes and FIFOs work; a FIFO without a writer is an empty file, never
 * a hang); gzip input must be complete (a cut stream is NN_ERR_FORMAT). */
NN_API nn_status nn_data_load_csv(nn_data_t **out, const char *path,
                                  int32_t header, size_t label_col,
                                  const nn_allocator *alloc,
                                  nn_error_info *err);
/** nn_csv_format.header: whether line 1 is a header. */
enum {
    NN_CSV_HEADER_NONE = 0, /**< every line is data                            */
    NN_CSV_HEADER_LINE = 1, /**< line 1 is a header (names), whatever it holds */
    NN_CSV_HEADER_AUTO = 2  /**< line 1 is a header iff one of its fields is
                                 not a plain decimal number (a name, an empty
                                 field)                                        */
};
/** How nn_data_read_csv reads a file. Set size to sizeof(nn_csv_format):
 * members are only ever appended, and a library reads only those the
 * caller's size covers. */
typedef struct nn_csv_format {
    size_t size;       /**< sizeof(nn_csv_format) of the caller's header       */
    int32_t header;    /**< NN_CSV_HEADER_NONE / _LINE / _AUTO                  */
    int32_t delimiter; /**< the field separator, one byte: ',' (0 means ','),
                            ';', '|', ':', tab, or ' ' for runs of blanks
                            (leading and trailing blanks ignored); letters,
                            digits, '+', '-', '.', '"' and control bytes are
                            refused                                          */
    size_t label_col;  /**< as nn_data_load_csv's label_col, or NN_NO_COLUMN  */
} nn_csv_format;
/** nn_data_load_csv with a format: another separator, an automatically
 * detected header. A header's fields become the data set's column names
 * (nn_data_name): blanks trimmed, one pair of enclosing double quotes
 * removed ("" inside them stands for one), bytes otherwise as in the file.
 * A header must have as many fields as the rows, except scikit-learn's
 * layout of its bundled files, "m,n,class_0,class_1,..." with m the data
 * rows and n the fields but one, whose names are the class names.
 * @return NN_ERR_INVALID for a NULL argument, a size below this release's
 * struct, an unknown header mode or a refused separator; else as
 * nn_data_load_csv. */
NN_API nn_status nn_data_read_csv(nn_data_t **out, const char *path,
                                  const nn_csv_format *fmt,
                                  const nn_allocator *alloc,
                                  nn_error_info *err);
/** What nn_data_name names. */
enum {
    NN_NAME_FEATURE = 0, /**< feature column j (j < nn_data_cols)          */
    NN_NAME_TARGET = 1,  /**< dense target j (j < nn_data_n_targets)       */
    NN_NAME_LABEL = 2,   /**< the label column (j = 0)                     */
    NN_NAME_CLASS = 3,   /**< class j: from scikit-learn's header, or the
                              header names of one-hot columns turned into
                              labels (nn_data_labels_from_one_hot)         */
    NN_NAME_COLUMN = 4   /**< field j of the header line as read, whatever
                              became of its column (non-NULL for j = 0 iff
                              the file had a header)                       */
};
/** A column's name from the CSV header the data was read with: borrowed,
 * NUL-terminated, valid until nn_data_destroy; names follow their columns
 * through nn_data_take_targets and nn_data_labels_from_one_hot. NULL when
 * the data has no such name (no header, another loader, j out of range,
 * label and class names without labels). */
NN_API const char *nn_data_name(const nn_data_t *data, int32_t kind,
                                size_t j);
/** Destroy a data set. NULL is a no-op. */
NN_API void nn_data_destroy(nn_data_t *data);

/** @{ */
/** Rows m and feature columns n (0 for NULL). */
NN_API size_t nn_data_rows(const nn_data_t *data);
NN_API size_t nn_data_cols(const nn_data_t *data);
/** @} */
/** Borrowed: the m x n features (row-major, leading dimension n), writable so
 * a caller may transform them in place; valid until nn_data_destroy or a
 * call that changes the columns (nn_data_take_targets,
 * nn_data_labels_from_one_hot). */
NN_API double *nn_data_x(nn_data_t *data);
/** Borrowed: the m labels, or NULL if none; valid until the labels change. */
NN_API const int32_t *nn_data_labels(const nn_data_t *data);
/** 1 + the largest label (0 if none). */
NN_API size_t nn_data_n_classes(const nn_data_t *data);
/** @{ */
/** Number of dense target columns k (0 if none), and a borrowed, writable
 * pointer to the m x k targets (row-major, leading dimension k; NULL if
 * none); valid until the targets change. */
NN_API size_t nn_data_n_targets(const nn_data_t *data);
NN_API double *nn_data_targets(nn_data_t *data);
/** @} */

/** Labels as one-hot rows: Y (m x k in `order`, leading dimension ldy) gets
 * Y(i,j) = [label_i == j]. k must exceed every label (NN_ERR_SHAPE), the data
 * must have labels (NN_ERR_INVALID). */
NN_API nn_status nn_data_one_hot(const nn_data_t *data, size_t k,
                                 nn_order order, double *Y, size_t ldy);
/** Turn k one-hot feature columns first_col .. first_col+k-1 (e.g. the label
 * columns of a CSV file loaded with label_col = NN_NO_COLUMN) into class
 * labels, and remove them from the features. Every row must hold exactly one
 * 1 and k-1 zeros there, else NN_ERR_FORMAT (with the 1-based row and column
 * in *err, which may be NULL) and nothing changes. Replaces existing labels
 * or targets. */
NN_API nn_status nn_data_labels_from_one_hot(nn_data_t *data, size_t first_col,
                                             size_t k, nn_error_info *err);
/** @} */

/* ================================================================ scalers */
/** @defgroup scaler Scalers
 * Per-column affine preprocessing x' = (x - offset_j) / scale_j, fitted on
 * training data and applied to any data with the same columns; its
 * parameters are exposed and can be attached to a network (nn_net_set_scaler)
 * to travel in its model file.
 *   NN_SCALE_STANDARD: offset = mean, scale = population sd (sd 0 -> 1)
 *   NN_SCALE_MINMAX:   offset = min,  scale = max - min     (range 0 -> 1)
 *   NN_SCALE_CUSTOM:   given offsets and scales (nn_scaler_create)
 * @{ */
/** How a scaler's offsets and scales are chosen. */
typedef int32_t nn_scale_kind;
/** The nn_scale_kind values. */
enum {
    NN_SCALE_STANDARD = 0, /**< offset = mean, scale = population sd */
    NN_SCALE_MINMAX = 1,   /**< offset = min, scale = max - min      */
    NN_SCALE_CUSTOM = 2    /**< given offsets and scales             */
};
/** A scaler: n offsets and n scales, one pair per column. */
typedef struct nn_scaler nn_scaler_t;

/** Fit on the m x n matrix X (order, ldx): STANDARD or MINMAX. Values must be
 * finite (NN_ERR_NUMERIC). */
NN_API nn_status nn_scaler_fit(nn_scaler_t **out, nn_scale_kind kind, size_t m,
                               size_t n, nn_order order, const double *X,
                               size_t ldx, const nn_allocator *alloc);
/** Fit on a data set's features. */
NN_API nn_status nn_scaler_fit_data(nn_scaler_t **out, nn_scale_kind kind,
                                    const nn_data_t *data,
                                    const nn_allocator *alloc);
/** A CUSTOM scaler from n offsets (finite) and n scales (finite, non-zero),
 * copied. */
NN_API nn_status nn_scaler_create(nn_scaler_t **out, size_t n,
                                  const double *offset, const double *scale,
                                  const nn_allocator *alloc);
/** Destroy a scaler. NULL is a no-op. */
NN_API void nn_scaler_destroy(nn_scaler_t *scaler);
/** @{ */
/** Columns (0 for NULL) and kind. */
NN_API size_t nn_scaler_n(const nn_scaler_t *scaler);
NN_API nn_status nn_scaler_get_kind(const nn_scaler_t *scaler,
                                    nn_scale_kind *kind);
/** @} */
/** Copy out the n offsets and/or n scales (either may be NULL, not both). */
NN_API nn_status nn_scaler_get_params(const nn_scaler_t *scaler,
                                      double *offset, double *scale);
/** @{ */
/** In place on an m x n matrix (order, ld): apply x' = (x - offset)/scale, or
 * invert it, x = x' * scale + offset (e.g.\ predictions of scaled targets). */
NN_API nn_status nn_scaler_apply(const nn_scaler_t *scaler, size_t m,
                                 nn_order order, double *X, size_t ld);
NN_API nn_status nn_scaler_invert(const nn_scaler_t *scaler, size_t m,
                                  nn_order order, double *X, size_t ld);
/** @} */
/** In place on a data set's features. */
NN_API nn_status nn_scaler_apply_data(const nn_scaler_t *scaler,
                                      nn_data_t *data);

/** Scalers a network carries (saved in and restored from its model file):
 * NN_SCALER_INPUT (n_in columns) for its inputs and NN_SCALER_TARGET
 * (n_out columns) for its targets. They are NOT applied by the network's own
 * calls: they record the preprocessing for whoever uses the model (the nn
 * tool applies them). */
enum {
    NN_SCALER_INPUT = 0, /**< n_in columns: the network's inputs */
    NN_SCALER_TARGET = 1 /**< n_out columns: its targets         */
};
/** Attach a copy of scaler under `role` (NULL removes it). @return
 * NN_ERR_SHAPE for the wrong number of columns. */
NN_API nn_status nn_net_set_scaler(nn_net_t *net, int32_t role,
                                   const nn_scaler_t *scaler);
/** Borrowed: the scaler under `role`, or NULL; valid until it is replaced or
 * the network destroyed. */
NN_API const nn_scaler_t *nn_net_get_scaler(const nn_net_t *net, int32_t role);
/** @} */

/* ================================================================ linear models */
/** @defgroup lstsq Linear models
 * @{ */
/** Closed-form least squares for linear regression y = x.w + b (the notes'
 * first line): minimises sum_i (x_i.w + b - y_i)^2 through LAPACKE (dgelsd,
 * SVD-based, so rank-deficient X gives the minimum-norm solution; singular
 * values below max(m, n+1) * DBL_EPSILON * the largest count as zero).
 * X is m x n (order, ldx), y has m values; w receives n values, *b the
 * intercept (pass b == NULL to fit without one). m >= 1. Scratch memory comes
 * from malloc and is always released.
 * @return NN_ERR_NUMERIC if X or y holds NaN/Inf or LAPACK fails to converge;
 * NN_ERR_NOMEM if scratch cannot be allocated. Nothing is written on error. */
NN_API nn_status nn_lstsq(size_t m, size_t n, nn_order order, const double *X,
                          size_t ldx, const double *y, double *w, double *b);
/** @} */

/* ================================================================ metrics */
/** @defgroup metrics Metrics
 * @{ */
/** Metrics of `net` over a whole data set (labels or dense targets), computed
 * in batches of the context's capacity (ctx NULL: a temporary context of
 * min(m, 256) rows). metrics[0..n_metrics-1] are NN_METRIC_* keys; their
 * values go to `values` in that order, one value each (n_out for the
 * *_OUTPUTS keys). With labels, the targets are the one-hot rows (for a
 * single output, the label value), so MSE/MAE/R2 apply too. Accuracy: for a
 * single output, p > 0.5 counts as class 1; otherwise the arg-max.
 * @return NN_ERR_INVALID (no rows, no labels/targets, unknown metric,
 * accuracy without labels); NN_ERR_SHAPE (columns or targets that do not fit
 * net, a label out of range). */
NN_API nn_status nn_net_evaluate(const nn_net_t *net, nn_ctx_t *ctx,
                                 const nn_data_t *data, size_t n_metrics,
                                 const int32_t *metrics, double *values);

/** Confusion matrix over a labelled data set: counts[t*k + p] is the number of
 * samples of true class t predicted as class p, where k = n_out (2 for a
 * single output). counts must hold k*k values; it is overwritten. */
NN_API nn_status nn_net_confusion(const nn_net_t *net, nn_ctx_t *ctx,
                                  const nn_data_t *data, size_t *counts);
/** @} */

/* ================================================================ trainer */
/** @defgroup trainer Trainer
 * @{ */
/** Mini-batch training of a network on a data set (labels or dense targets)
 * with an optimizer: shuffling, a validation split, schedules, warm-up,
 * early stopping, reports, and a gradient hook. Settings are NN_TRAIN_* keys;
 * after a run, the NN_TRAIN_* result keys describe it. */
typedef struct nn_trainer nn_trainer_t;

/** What the report callback receives. Written by the library, read by the
 * caller: members are only ever appended, and `size` tells how many bytes
 * this library filled (check it before reading a member newer than your
 * header's first release). val_* are NaN without validation (val_accuracy
 * also for dense targets) and in batch reports. */
typedef struct nn_report {
    size_t size;         /**< sizeof(nn_report) of the library that filled it    */
    int32_t kind;        /**< NN_REPORT_BATCH or NN_REPORT_EPOCH                 */
    int32_t reserved;    /**< 0                                                  */
    size_t epoch;        /**< 1-based                                            */
    size_t epochs;       /**< planned number of epochs                           */
    size_t batch;        /**< batches done in this epoch                         */
    size_t batches;      /**< batches per epoch                                  */
    size_t rows;         /**< training rows done in this epoch                   */
    double train_loss;   /**< mean loss per row over this epoch's batches so far */
    double val_loss;     /**< loss on the validation data after the epoch        */
    double val_accuracy; /**< accuracy on the validation data after the epoch    */
    double lr;           /**< learning rate of the last step                     */
    double seconds;      /**< wall time since the epoch began                    */
} nn_report;
/** The nn_report kinds. */
enum {
    NN_REPORT_BATCH = 0, /**< every NN_TRAIN_REPORT_EVERY batches */
    NN_REPORT_EPOCH = 1  /**< at the end of an epoch              */
};

/** What a report callback may return besides 0 (go on) and 1 (or any
 * other non-zero value: stop). */
enum {
    NN_REPORT_PAUSE = 2 /**< end the run at once, resumably: see nn_train */
};

/** Called after every epoch (and every NN_TRAIN_REPORT_EVERY batches); return
 * 0 to go on, NN_REPORT_PAUSE to pause, any other value to stop training
 * (after a batch report: at once, as if the epoch had ended there, with no
 * validation for it). The trainer's progress is current when the callback
 * runs: nn_checkpoint_save may be called from it (periodic checkpoints). */
typedef int32_t (*nn_report_fn)(const nn_report *report, void *ctx);

/** Called in every step between the gradient and the update with the flat
 * gradient array (writable), its length, the batch's row count m and its
 * loss (in the net's reduction; writable: e.g.\ summed across processes).
 * Return NN_OK to go on; any other status fails the run with that status. */
typedef nn_status (*nn_grad_hook_fn)(double *grad, size_t len, size_t m,
                                     double *loss, void *ctx);

/** A trainer with the default settings (see the NN_TRAIN_* keys); alloc (may
 * be NULL) is copied and serves every allocation of its runs. */
NN_API nn_status nn_trainer_create(nn_trainer_t **out,
                                   const nn_allocator *alloc);
/** Destroy a trainer. NULL is a no-op. */
NN_API void nn_trainer_destroy(nn_trainer_t *trainer);
/** @{ */
/** Settings (NN_TRAIN_* up to NN_TRAIN_THREADS) and, get only, the
 * results of the last run (NN_TRAIN_EPOCHS_RUN ...). @return NN_ERR_INVALID
 * for an unknown, foreign, read-only or wrongly typed key or a value out of
 * bounds (and nothing changes). Settings are checked against each other
 * (e.g. patience needs validation) when nn_train starts. */
NN_API nn_status nn_trainer_set_int(nn_trainer_t *trainer, int32_t key,
                                    int64_t value);
NN_API nn_status nn_trainer_get_int(const nn_trainer_t *trainer, int32_t key,
                                    int64_t *value);
NN_API nn_status nn_trainer_set_real(nn_trainer_t *trainer, int32_t key,
                                     double value);
NN_API nn_status nn_trainer_get_real(const nn_trainer_t *trainer, int32_t key,
                                     double *value);
/** @} */
/** @{ */
/** Report callback and gradient hook (NULL: none); ctx is passed back. */
NN_API nn_status nn_trainer_set_report(nn_trainer_t *trainer, nn_report_fn fn,
                                       void *ctx);
NN_API nn_status nn_trainer_set_grad_hook(nn_trainer_t *trainer,
                                          nn_grad_hook_fn fn, void *ctx);
/** @} */

/** Data-parallel runs (docs/DISTRIBUTED.md). A collective sum: replace
 * buf[0..len-1], on every process of the run, by its elementwise sum over
 * the processes, with a result bitwise identical on all of them (the
 * parameters stay identical only if it is). Return NN_OK, or a failure
 * status (which fails the run). */
typedef nn_status (*nn_allsum_fn)(double *buf, size_t len, void *ctx);

/** Make the trainer's runs shard `index` of `count` (index < count) of a
 * data-parallel run whose processes all call nn_train with the same
 * settings, data and starting state (nn_mpi_train does all of this over
 * MPI). Every process then draws the same split and shuffles, so the global
 * batches are a single process's; each computes the gradient of its part of
 * every batch (a balanced split, in order: the first B % count shards get
 * one row more; a shard may get none) with its global row offset for the
 * dropout masks, and one allsum per step over the gradient array and its
 * spare (loss, rows, failures) gives every process the gradient of the
 * whole batch, and the same update. Validation is sharded the same way and
 * summed; a failure on any process (bad data, check-finite, allocation)
 * fails the run on all of them with the same status (the smallest failing
 * code), agreed before any update. The report callback runs on every
 * process and a stop requested on any of them stops all; a gradient hook
 * (on every process or on none: else NN_ERR_INVALID on all) sees the
 * combined gradient, and its status is agreed too. NN_NET_DROPOUT_ROW0 at
 * the call counts as the index of each batch's first row, as in one
 * process. count 1 with
 * an allsum is a one-process run of the sharded algorithm; (0, 1, NULL,
 * NULL) switches sharding off (the default).
 * @return NN_ERR_INVALID for index >= count, count 0, or count > 1 without
 * an allsum. */
NN_API nn_status nn_trainer_set_shards(nn_trainer_t *trainer, size_t index,
                                       size_t count, nn_allsum_fn allsum,
                                       void *ctx);

/** Train `net` with `opt` (created for net) on `train`, validating on `val`
 * if given, else on a seeded NN_TRAIN_VAL_FRACTION of `train`. Targets are
 * the data's labels or dense targets (val must have the same kind). The base
 * learning rate lr0 is opt's rate at the call; the schedule and warm-up set
 * it before every step, and it is restored to lr0 at the end. Buffers (one
 * batch, the row order, a copy of the best weights) are allocated once
 * through the trainer's allocator and released before returning; the steps
 * allocate nothing. The library never prints: progress goes to the report
 * callback. Same seeds, same data and one BLAS thread give bitwise-identical
 * results.
 * @return NN_ERR_INVALID (bad settings, no labels/targets), NN_ERR_SHAPE
 * (columns or targets that do not fit net), NN_ERR_NUMERIC (check-finite on
 * and a step met NaN/Inf), a hook's status, or a status of the underlying
 * calls. A run that fails part way puts the parameters, the optimizer state
 * and its learning rate back as they were at the call.
 *
 * Pausing and resuming (docs/TRAINING.md). A report callback that returns
 * NN_REPORT_PAUSE ends the run at once (the current step is complete) WITHOUT
 * restoring the best weights: net holds the current parameters and dropout
 * position, opt the current state (its rate set back to lr0), the results
 * are those of a stop with NN_TRAIN_PAUSED 1, and the trainer holds the
 * run's progress: epoch and batch, the epoch's loss so far, the global step,
 * the early-stopping state, a copy of the best parameters (when restore-best
 * applies), and fingerprints of the settings (every NN_TRAIN_* setting but
 * NN_TRAIN_EPOCHS, NN_TRAIN_REPORT_EVERY and NN_TRAIN_RESUME, plus opt's
 * kind and lr0), of the data (train and val: shapes and every value) and of
 * the parameter count. With NN_TRAIN_RESUME 1, the next nn_train continues
 * that progress with the net and opt as they were at the pause (or loaded
 * from its checkpoint): it redraws the split and the shuffles of the
 * epochs done without training, skips the batches done, and goes on with
 * the same steps, rates, losses, reports (epochs numbered from the run's
 * start) and early stopping, so that the final parameters are bitwise those
 * of the run never paused (one BLAS thread). NN_TRAIN_EPOCHS may differ
 * (not below the epochs begun; a cosine schedule then follows the new
 * total). The progress is dropped by a run that ends otherwise (completed
 * or stopped); a failed run keeps what the trainer held.
 * @return (resuming) NN_ERR_STATE when the trainer holds no progress;
 * NN_ERR_INVALID when a fingerprint differs or the progress does not fit
 * the run (nothing changed). */
NN_API nn_status nn_train(nn_trainer_t *trainer, nn_net_t *net,
                          nn_optim_t *opt, const nn_data_t *train,
                          const nn_data_t *val);
/** @} */

/* ================================================================ model files */
/** @defgroup model Model files
 * A model file holds a network (architecture, settings, parameters, the
 * state of its dropout generator, its attached scalers) and, optionally, an
 * optimizer (its kind, settings, step count and state) so that training
 * resumes exactly; a checkpoint is a model file that also holds a trainer's
 * progress (nn_checkpoint_save). The format (docs/FORMAT.md) is
 * little-endian with explicit sizes, a format version and a CRC-32 (zlib)
 * of the payload. Version-1 files (libnn 0.x) still load.
 * @{ */
/** The format version this library writes. */
#define NN_MODEL_FORMAT_VERSION 3

/** Save net (and opt, if not NULL; it must fit net) to `path`. A regular or
 * new file is replaced atomically: the bytes go to a temporary file in the
 * same directory, which is flushed, fsync'ed and renamed over `path`; on any
 * failure the previous file is intact and the temporary file is removed. A
 * new file gets mode 0666 minus the umask, like fopen; a replaced one keeps
 * its permission bits. A symbolic link is followed and its target replaced
 * so (the link stays; a dangling link creates its target). A device, FIFO or
 * socket is written directly, never replaced (a FIFO without a reader fails
 * at once with NN_ERR_IO); a directory is refused (NN_ERR_IO). See
 * docs/FORMAT.md, "Writing".
 * @return NN_ERR_IO (with the path and the system's message in *err if
 * given); NN_ERR_INVALID for a NULL/empty path, a NULL net or an optimizer
 * not shaped like net; NN_ERR_NOMEM (the bytes are built in memory first,
 * through net's allocator). */
NN_API nn_status nn_model_save(const char *path, const nn_net_t *net,
                               const nn_optim_t *opt, nn_error_info *err);

/** Serialise to memory. *size receives the number of bytes the model needs.
 * With buf == NULL nothing else happens (NN_OK: a size query); with cap too
 * small nothing is written to buf but *size is set (NN_ERR_SHAPE: the one
 * failed call that reports a value, so a caller can retry with enough room);
 * otherwise the model is written to buf[0 .. *size). */
NN_API nn_status nn_model_save_mem(const nn_net_t *net, const nn_optim_t *opt,
                                   void *buf, size_t cap, size_t *size);

/** @{ */
/** Load a model: a new network in *net and, if opt != NULL, a new optimizer
 * in *opt (NULL when the file holds none). Everything is validated before it
 * is trusted: magic, version, every size (against the file's real length and
 * for overflow, before any allocation), enum values, the CRC-32.
 * The header is checked before the payload is read, so a file that is not
 * a model is refused after 32 bytes. FIFOs and pipes are read once, in one
 * pass; a FIFO without a writer reads as an empty file (never blocks).
 * @return NN_ERR_FORMAT for a malformed, truncated or corrupt file;
 * NN_ERR_UNSUPPORTED for a file of a newer format version; NN_ERR_IO if it
 * cannot be read or is a directory; NN_ERR_FORMAT too for an empty file or
 * one over 16 GiB (refused before it is read); NN_ERR_NOMEM. On error
 * nothing is returned and nothing leaks. The optimizer state is restored bit
 * for bit (not checked for finiteness: a diverged run can still be loaded). */
NN_API nn_status nn_model_load(const char *path, nn_net_t **net,
                               nn_optim_t **opt, const nn_allocator *alloc,
                               nn_error_info *err);
NN_API nn_status nn_model_load_mem(const void *buf, size_t size,
                                   nn_net_t **net, nn_optim_t **opt,
                                   const nn_allocator *alloc,
                                   nn_error_info *err);
/** @} */

/** Save a checkpoint: a model file (net and opt, both required) with a
 * training-progress section (docs/FORMAT.md, flags bit 3) holding the
 * trainer's progress, from which nn_train with NN_TRAIN_RESUME continues
 * exactly. The progress is that of the run in progress when called from
 * its report callback (how periodic checkpoints are written; the
 * optimizer's rate is then saved as the run's base rate lr0 and the net's
 * reduction as at the call), else the one the trainer holds (a paused
 * run's, or a loaded checkpoint's). The trainer's settings are not saved.
 * Written as nn_model_save writes (atomic replace; a failed save keeps the
 * old file); the bytes are built in memory through net's allocator.
 * @return NN_ERR_STATE when the trainer holds no progress; NN_ERR_INVALID
 * for a NULL or empty path, a NULL argument, an optimizer not shaped like
 * net or a progress of another parameter count; NN_ERR_IO, NN_ERR_NOMEM. */
NN_API nn_status nn_checkpoint_save(const char *path, const nn_net_t *net,
                                    const nn_optim_t *opt,
                                    const nn_trainer_t *trainer,
                                    nn_error_info *err);
/** The same into memory, with nn_model_save_mem's size convention: *size
 * receives the bytes needed; buf == NULL is a size query (NN_OK); cap too
 * small writes nothing and returns NN_ERR_SHAPE with *size set. */
NN_API nn_status nn_checkpoint_save_mem(const nn_net_t *net,
                                        const nn_optim_t *opt,
                                        const nn_trainer_t *trainer,
                                        void *buf, size_t cap, size_t *size);
/** @{ */
/** Load a checkpoint: a new network in *net, a new optimizer in *opt (both
 * required), and the progress into trainer (replacing any it held; its
 * settings are untouched: set them as for the checkpointed run, then
 * NN_TRAIN_RESUME, and nn_train checks them against the fingerprints).
 * Validated as nn_model_load validates (every field of the progress too).
 * The best-parameter copy is allocated through the trainer's allocator.
 * A model file without a progress section is NN_ERR_FORMAT (nn_model_load
 * reads it; nn_model_load reads a checkpoint's network and optimizer too,
 * validating its progress section and ignoring it).
 * @return as nn_model_load; NN_ERR_INVALID for a NULL argument; NN_ERR_STATE
 * when called during a run of trainer. On error nothing changes. */
NN_API nn_status nn_checkpoint_load(const char *path, nn_net_t **net,
                                    nn_optim_t **opt, nn_trainer_t *trainer,
                                    const nn_allocator *alloc,
                                    nn_error_info *err);
NN_API nn_status nn_checkpoint_load_mem(const void *buf, size_t size,
                                        nn_net_t **net, nn_optim_t **opt,
                                        nn_trainer_t *trainer,
                                        const nn_allocator *alloc,
                                        nn_error_info *err);
/** @} */
/** @} */

/* ================================================================ ONNX */
/** @defgroup onnx ONNX import and export
 * Dense networks to and from ONNX files (docs/ONNX.md), for models trained
 * elsewhere (PyTorch's torch.onnx.export of an nn.Sequential of Linear and
 * activations) and for handing libnn models to other runtimes. Only the
 * inference graph travels (no loss, optimizer, dropout or scalers). Built
 * when the library was configured with the `onnx` feature (protobuf-c and
 * an onnx.proto, e.g. Debian's libonnx-dev); otherwise every call here
 * returns NN_ERR_UNSUPPORTED whatever its arguments (so
 * nn_onnx_save_mem(NULL, 0, NULL, 0, &size) tells whether the library has
 * ONNX support: NN_ERR_INVALID when it has). @{ */

/** The opset of the models nn_onnx_save writes (the default domain). */
#define NN_ONNX_OPSET 13
/** nn_onnx_save flag: end the graph at the output layer's logits (leave the
 * output activation out), as PyTorch models trained with a loss on logits
 * do. Without it the graph computes what nn_net_predict returns. */
#define NN_ONNX_LOGITS 1

/** Load a network from an ONNX file (read once, at most 2 GiB - 1 bytes,
 * protobuf's limit; a FIFO without a writer does not block). The graph must
 * be a chain of dense layers from its one data input ([batch, n_in], float
 * or double) to its one output: Gemm (transA 0, any transB, alpha, beta, a
 * vector bias or none) or MatMul (+ Add of a bias), each followed by at
 * most one of Relu, LeakyRelu, Sigmoid, Tanh, Softmax (last axis), with
 * Identity anywhere and a Flatten (axis 1) before the first layer; weights
 * as float32 or float64 initializers or Constants (float32 values are
 * converted exactly to double; Gemm's alpha and beta are folded into W and
 * b; LeakyRelu's float32 alpha is read as its shortest decimal, 0.01f ->
 * 0.01); IR version >= 3, default-domain opset 6 to 21. The loss of the new
 * network follows its output activation: sigmoid -> NN_LOSS_BCE, softmax ->
 * NN_LOSS_SOFTMAX_CE, anything else -> NN_LOSS_MSE.
 * @return NN_ERR_FORMAT (not a valid ONNX protobuf, inconsistent shapes,
 * types or sizes, an empty file), NN_ERR_UNSUPPORTED (an op, a branch, an
 * attribute, external data, an opset or a data type libnn cannot serve),
 * NN_ERR_IO (cannot open or read; a directory), NN_ERR_NOMEM, NN_ERR_INVALID
 * (out or path NULL, an allocator with one function). err (may be NULL) says
 * where: its message names the node (index, name, op) or the initializer at
 * fault. alloc (may be NULL) serves the network and all scratch memory,
 * protobuf-c's included. On failure *out is untouched and nothing leaks. */
NN_API nn_status nn_onnx_load(nn_net_t **out, const char *path,
                              const nn_allocator *alloc, nn_error_info *err);
/** The same from `size` bytes at buf (not retained). */
NN_API nn_status nn_onnx_load_mem(nn_net_t **out, const void *buf,
                                  size_t size, const nn_allocator *alloc,
                                  nn_error_info *err);
/** Save net as an ONNX model (IR version 7, opset NN_ONNX_OPSET, float64
 * initializers bit for bit, input "input" [batch, n_in], output "output"
 * [batch, n_out]; one Gemm per layer, then its activation node; dropout and
 * scalers are not written). flags: 0 or NN_ONNX_LOGITS. Written as
 * nn_model_save writes (atomic replace; a failed save keeps the old file).
 * Scratch memory comes from net's allocator.
 * @return NN_ERR_INVALID (NULL or empty path, NULL net, unknown flags),
 * NN_ERR_IO (with the path and the system's message in *err if given),
 * NN_ERR_NOMEM, NN_ERR_TOO_LARGE (over protobuf's 2 GiB), NN_ERR_UNSUPPORTED
 * (a leaky-relu slope beyond float32's range). */
NN_API nn_status nn_onnx_save(const char *path, const nn_net_t *net,
                              int32_t flags, nn_error_info *err);
/** The same into memory, as nn_model_save_mem: *size receives the bytes
 * needed; buf == NULL is a size query (NN_OK); cap too small writes
 * nothing and returns NN_ERR_SHAPE with *size set. May also return
 * NN_ERR_NOMEM (scratch through net's allocator). */
NN_API nn_status nn_onnx_save_mem(const nn_net_t *net, int32_t flags,
                                  void *buf, size_t cap, size_t *size);
/** @} */

/* ================================================================ experimental */
/** @defgroup experimental Experimental
 * Not part of the stable API: declared only when NN_EXPERIMENTAL is defined
 * before including nn.h, and may change or vanish in any release (like
 * zstd's ZSTD_STATIC_LINKING_ONLY). The symbols are exported but not covered
 * by the ABI promise.
 * @{ */
#ifdef NN_EXPERIMENTAL
/** Borrowed: the activations of hidden layer `layer` (< n_layers - 1) for the
 * rows of the last chunk of the last inference call on ctx (row-major,
 * leading dimension layer_n_out; rows = min(m, capacity) of that chunk). NULL
 * for the output layer, an out-of-range layer or a context never used. */
NN_API const double *nn_ctx_layer_output(const nn_ctx_t *ctx, size_t layer);
#endif
/** @} */

#ifdef __cplusplus
}
#endif

#endif /* NN_H */
