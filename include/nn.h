/*
 * nn.h — libnn, a BLAS-accelerated neural-network library in C.
 *
 * The one public header of libnn. Self-contained (stddef/stdint/stdbool only),
 * C99-clean and includable from C++.
 *
 * Conventions used by every declaration below
 * -------------------------------------------
 * - Every fallible call returns an nn_status (NN_OK == 0); results come back
 *   through out-parameters. A call that fails writes nothing to its outputs
 *   and leaves the object it was given exactly as it was, still usable.
 * - The library never prints, never calls exit()/abort(), keeps no global
 *   mutable state (the one exception is nn_set_num_threads, which configures
 *   the process-wide BLAS library; see there).
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
 * Thread safety
 * -------------
 * - Distinct objects may be used from different threads at the same time.
 * - One object must not be used from two threads at once, not even for calls
 *   that look read-only (nn_net_predict and nn_net_loss use the object's
 *   workspace). Calls taking a `const` object pointer are read-only and may
 *   run concurrently with other read-only calls on the same object.
 * - nn_version_*, nn_strerror are always safe. nn_set_num_threads changes a
 *   process-wide BLAS setting: call it before starting threads that use libnn.
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- visibility */
#if defined(_WIN32) && defined(NN_BUILDING)
#define NN_API __declspec(dllexport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define NN_API __attribute__((visibility("default")))
#else
#define NN_API
#endif

/* ------------------------------------------------------------------- version */
#define NN_VERSION_MAJOR 0
#define NN_VERSION_MINOR 1
#define NN_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH, e.g. 0.1.0 -> 100 */
#define NN_VERSION_NUMBER \
    (NN_VERSION_MAJOR * 10000 + NN_VERSION_MINOR * 100 + NN_VERSION_PATCH)
#define NN_VERSION_STRING "0.1.0"

/* Version of the library actually loaded, as NN_VERSION_NUMBER. Compare it
 * with the macro to detect a header/.so mismatch. */
NN_API unsigned nn_version_number(void);
/* Same, as a static string such as "0.1.0". Never NULL; do not free. */
NN_API const char *nn_version_string(void);

/* -------------------------------------------------------------------- status */
/* Fixed values: they are part of the ABI and never renumbered. */
typedef enum nn_status {
    NN_OK = 0,
    NN_ERR_NOMEM = 1,        /* an allocation failed; nothing was changed      */
    NN_ERR_INVALID = 2,      /* NULL pointer, zero size, bad enum or value     */
    NN_ERR_SHAPE = 3,        /* dimensions or leading dimensions do not match  */
    NN_ERR_NUMERIC = 4,      /* NaN/Inf met where the caller asked to be told  */
    NN_ERR_IO = 5,           /* reading or writing a file failed               */
    NN_ERR_FORMAT = 6,       /* a file or buffer is malformed                  */
    NN_ERR_TOO_LARGE = 7,    /* a size overflows size_t or BLAS's int          */
    NN_ERR_UNSUPPORTED = 8,  /* valid request this build/version cannot serve  */
    NN_ERR_STATE = 9         /* call out of order (e.g. step before gradient)  */
} nn_status;

/* Human-readable message for a status code. Never NULL (unknown codes get a
 * generic message); the string is static: do not free. */
NN_API const char *nn_strerror(nn_status status);

/* ---------------------------------------------------------------- enums */
typedef enum nn_order {
    NN_ROW_MAJOR = 0,
    NN_COL_MAJOR = 1
} nn_order;

/* Activation g applied elementwise (softmax: per row). */
typedef enum nn_activation {
    NN_ACT_IDENTITY = 0,   /* g(z) = z                                          */
    NN_ACT_SIGMOID = 1,    /* g(z) = 1 / (1 + exp(-z))                          */
    NN_ACT_TANH = 2,       /* g(z) = tanh(z)                                    */
    NN_ACT_RELU = 3,       /* g(z) = max(z, 0); g'(0) = 0                       */
    NN_ACT_LEAKY_RELU = 4, /* g(z) = z > 0 ? z : slope*z; slope finite, >= 0    */
    NN_ACT_SOFTMAX = 5     /* g(z)_j = exp(z_j) / sum_k exp(z_k), per row       */
} nn_activation;

/* Output loss of a network. All losses are a MEAN OVER THE BATCH (1/m) of a
 * per-sample loss that is a SUM OVER THE OUTPUTS (see docs/MATH.md):
 *   NN_LOSS_MSE:        l = sum_j (a_j - y_j)^2,  dl/da_j = 2 (a_j - y_j).
 *                       Any output activation.
 *   NN_LOSS_BCE:        l = -sum_j [y_j log a_j + (1-y_j) log(1-a_j)], computed
 *                       from the logits (finite for every finite logit).
 *                       Requires a sigmoid output; one or more outputs
 *                       (multi-label). dZ = (A - Y)/m.
 *   NN_LOSS_SOFTMAX_CE: l = -sum_j y_j log softmax(z)_j, log-sum-exp stable.
 *                       Requires a softmax output. Targets as one-hot (or any
 *                       non-negative) rows, or as class indices.
 *                       dZ = (A * sum_j y_j - Y)/m (= (A - Y)/m for one-hot). */
typedef enum nn_loss {
    NN_LOSS_MSE = 0,
    NN_LOSS_BCE = 1,
    NN_LOSS_SOFTMAX_CE = 2
} nn_loss;

/* Weight initialisation schemes (biases are set to zero). fan_in = n_in,
 * fan_out = n_out of the layer. */
typedef enum nn_init {
    NN_INIT_DEFAULT = 0,        /* He uniform for (leaky) relu, Glorot uniform else */
    NN_INIT_GLOROT_UNIFORM = 1, /* U(-r, r), r = sqrt(6 / (fan_in + fan_out))        */
    NN_INIT_HE_UNIFORM = 2,     /* U(-r, r), r = sqrt(6 / fan_in)                    */
    NN_INIT_ZERO = 3,           /* W = 0 (for tests and hand-set weights)            */
    NN_INIT_GLOROT_NORMAL = 4,  /* N(0, s^2), s = sqrt(2 / (fan_in + fan_out))       */
    NN_INIT_HE_NORMAL = 5,      /* N(0, s^2), s = sqrt(2 / fan_in)                   */
    NN_INIT_ORTHOGONAL = 6      /* Q of the QR of a Gaussian matrix (LAPACKE dgeqrf/ */
                                /* dorgqr), sign-corrected: W^T W = I (tall/square) */
                                /* or W W^T = I (wide)                              */
} nn_init;

/* ---------------------------------------------------------------- allocator */
/* A caller-supplied allocator. Every byte an object allocates goes through it
 * (objects created with a NULL allocator use malloc/free). alloc must return
 * memory aligned for double (malloc's guarantee) or NULL on failure; free
 * receives the same size that was requested for that pointer. The struct is
 * copied at creation; ctx must stay valid until the object is destroyed. */
typedef struct nn_allocator {
    void *(*alloc)(void *ctx, size_t size);
    void (*free)(void *ctx, void *ptr, size_t size);
    void *ctx;
} nn_allocator;

/* ---------------------------------------------------------------- threads */
/* Set the number of threads (n >= 1) the BLAS library (OpenBLAS) uses for
 * every product libnn computes. This is a PROCESS-WIDE setting of the BLAS
 * library, not of one object: call it before starting threads that use libnn.
 * @return NN_OK; NN_ERR_INVALID for n == 0; NN_ERR_TOO_LARGE if n does not
 * fit in an int. */
NN_API nn_status nn_set_num_threads(size_t n);
/* Number of threads the BLAS library will use (>= 1). */
NN_API size_t nn_get_num_threads(void);

/* ================================================================ dense layer */
/* A single dense layer, usable on its own: A = g(X.W + b).
 * The layer caches its activations A for the next backward call. */
typedef struct nn_dense nn_dense_t;

/* Create a layer with n_in inputs, n_out outputs and activation act
 * (act_param is the leaky-relu slope; ignored, but must be finite, for the
 * others). W is initialised with NN_INIT_DEFAULT and seed 0, b with zeros.
 * alloc may be NULL (malloc/free); it is copied.
 * @return NN_OK and *out set; on error *out is left untouched. */
NN_API nn_status nn_dense_create(nn_dense_t **out, size_t n_in, size_t n_out,
                                 nn_activation act, double act_param,
                                 const nn_allocator *alloc);
/* Destroy a layer and everything it allocated. NULL is a no-op. Borrowed
 * pointers obtained from the layer become invalid. */
NN_API void nn_dense_destroy(nn_dense_t *layer);

/* Shape queries. NULL layer gives 0. */
NN_API size_t nn_dense_n_in(const nn_dense_t *layer);
NN_API size_t nn_dense_n_out(const nn_dense_t *layer);

/* Pre-size the workspace for batches of up to m_max rows, so that later
 * forward/backward calls never allocate. Calls with a larger m grow it. */
NN_API nn_status nn_dense_reserve(nn_dense_t *layer, size_t m_max);

/* Forward pass on a batch: A = g(X.W + b). X is m x n_in (ldx), A is
 * m x n_out (lda), both in `order`. The layer keeps its own copy of A for
 * nn_dense_backward; X is not retained. */
NN_API nn_status nn_dense_forward(nn_dense_t *layer, size_t m, nn_order order,
                                  const double *X, size_t ldx,
                                  double *A, size_t lda);

/* Backward pass for the batch of the last forward call (same m, and X must
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

/* Copy parameters / gradients out (get) or in (set). W is n_in x n_out in
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

/* Borrowed pointers to the layer's own storage: W (row-major n_in x n_out,
 * leading dimension n_out), b (n_out), dW, db (same shapes). Valid until the
 * layer is destroyed (storage never moves). Writing through the non-const
 * W/b pointers changes the parameters. NULL layer gives NULL. */
NN_API double *nn_dense_weights(nn_dense_t *layer);
NN_API double *nn_dense_bias(nn_dense_t *layer);
NN_API const double *nn_dense_grad_weights(const nn_dense_t *layer);
NN_API const double *nn_dense_grad_bias(const nn_dense_t *layer);

/* ================================================================ network */
/* A stack of dense layers with an output loss. */
typedef struct nn_net nn_net_t;

/* Description of one layer of a network. */
typedef struct nn_layer_spec {
    size_t n_out;           /* number of units                              */
    nn_activation act;      /* activation                                   */
    double act_param;       /* leaky-relu slope (finite, >= 0); else ignored */
    double dropout;         /* inverted dropout on this layer's output while */
                            /* training (nn_net_gradient*): each unit is     */
                            /* zeroed with probability p in [0, 1), kept     */
                            /* ones scaled by 1/(1-p); inference untouched.  */
                            /* Must be 0 for the output layer.               */
} nn_layer_spec;

/* Create a network taking n_in inputs, with n_layers layers described by
 * specs[0..n_layers-1] (copied) and the given output loss. Softmax is allowed
 * in any layer; NN_LOSS_BCE requires a sigmoid output layer and
 * NN_LOSS_SOFTMAX_CE a softmax output layer (else NN_ERR_INVALID).
 * Weights: NN_INIT_DEFAULT with seed 0 (see nn_net_init); biases zero.
 * alloc may be NULL (malloc/free); it is copied.
 * @return NN_OK and *out set; on error *out is left untouched. */
NN_API nn_status nn_net_create(nn_net_t **out, size_t n_in, size_t n_layers,
                               const nn_layer_spec *specs, nn_loss loss,
                               const nn_allocator *alloc);
/* Destroy a network and everything it allocated. NULL is a no-op. */
NN_API void nn_net_destroy(nn_net_t *net);

/* Shape queries (0 for NULL net or out-of-range layer). */
NN_API size_t nn_net_n_in(const nn_net_t *net);
NN_API size_t nn_net_n_out(const nn_net_t *net);
NN_API size_t nn_net_n_layers(const nn_net_t *net);
NN_API size_t nn_net_layer_n_in(const nn_net_t *net, size_t layer);
NN_API size_t nn_net_layer_n_out(const nn_net_t *net, size_t layer);
/* Total number of parameters (weights and biases). */
NN_API size_t nn_net_n_params(const nn_net_t *net);
/* The loss, and one layer's description as given at creation (for tools that
 * print or rebuild an architecture). @return NN_ERR_INVALID for a NULL net,
 * NULL out pointer or an out-of-range layer. */
NN_API nn_status nn_net_get_loss(const nn_net_t *net, nn_loss *loss);
NN_API nn_status nn_net_get_layer_spec(const nn_net_t *net, size_t layer,
                                       nn_layer_spec *spec);

/* Re-initialise all weights with scheme `init`, drawing from a generator
 * seeded with `seed` (owned by this call: same seed, same weights, on every
 * machine). Biases are set to zero; gradients are cleared. The network's
 * dropout generator (owned by the network) is reseeded from `seed` too.
 * NN_INIT_ORTHOGONAL needs scratch memory and LAPACK: it may return
 * NN_ERR_NOMEM or NN_ERR_NUMERIC, and then nothing has changed. */
NN_API nn_status nn_net_init(nn_net_t *net, nn_init init, uint64_t seed);

/* Pre-size the workspace for batches of up to m_max rows: afterwards,
 * predict/loss/gradient calls with m <= m_max never allocate. Calls with a
 * larger m grow the workspace (one allocation) and keep it. */
NN_API nn_status nn_net_reserve(nn_net_t *net, size_t m_max);

/* When on, nn_net_gradient* return NN_ERR_NUMERIC if the loss or any
 * gradient is NaN/Inf (no loss is written; the stored gradients are then
 * unspecified and marked unusable: a following nn_net_sgd_step or
 * nn_optim_step returns NN_ERR_STATE), and nn_net_sgd_step returns
 * NN_ERR_NUMERIC and leaves every parameter unchanged if any gradient is
 * NaN/Inf. Off by default. */
NN_API nn_status nn_net_set_check_finite(nn_net_t *net, bool on);

/* Inference: Y = network(X). X is m x n_in (ldx), Y is m x n_out (ldy).
 * Y holds the output activations (probabilities for sigmoid/softmax). */
NN_API nn_status nn_net_predict(nn_net_t *net, size_t m, nn_order order,
                                const double *X, size_t ldx,
                                double *Y, size_t ldy);

/* Mean loss of a batch with dense targets Y (m x n_out, ldy). */
NN_API nn_status nn_net_loss(nn_net_t *net, size_t m, nn_order order,
                             const double *X, size_t ldx,
                             const double *Y, size_t ldy, double *loss);
/* Mean loss of a batch with class-index targets labels[0..m-1]: label c
 * stands for the one-hot target row e_c (c < n_out). For a network with a
 * single output, label c stands for the target value c (0 or 1).
 * A label out of range gives NN_ERR_INVALID. */
NN_API nn_status nn_net_loss_labels(nn_net_t *net, size_t m, nn_order order,
                                    const double *X, size_t ldx,
                                    const size_t *labels, double *loss);

/* One forward + backward pass: computes the mean loss (stored in *loss if
 * loss != NULL) and the gradients of every layer (kept in the network; read
 * them with nn_net_get_grads / nn_net_grad_weights). */
NN_API nn_status nn_net_gradient(nn_net_t *net, size_t m, nn_order order,
                                 const double *X, size_t ldx,
                                 const double *Y, size_t ldy, double *loss);
NN_API nn_status nn_net_gradient_labels(nn_net_t *net, size_t m,
                                        nn_order order, const double *X,
                                        size_t ldx, const size_t *labels,
                                        double *loss);

/* Plain gradient descent with the last computed gradients:
 * W -= alpha*dW, b -= alpha*db for every layer. alpha must be finite.
 * @return NN_ERR_STATE if no gradient has been computed yet. */
NN_API nn_status nn_net_sgd_step(nn_net_t *net, double alpha);

/* One plain-SGD training step in one call: forward, loss (in *loss if not
 * NULL), backward, and W -= alpha*dW, b -= alpha*db, with the weight update
 * fused into the dW products (dgemm with beta = 1), so no separate pass over
 * the parameters and no stored dW. The same step as nn_net_gradient* +
 * nn_net_sgd_step up to rounding (the fused product rounds once where the
 * two calls round twice). Afterwards the stored gradients are unspecified and
 * nn_net_sgd_step returns NN_ERR_STATE until the next nn_net_gradient*. With
 * check-finite on, it runs the two calls instead (same results, same
 * NN_ERR_NUMERIC guarantee). alpha must be finite. */
NN_API nn_status nn_net_train_sgd(nn_net_t *net, size_t m, nn_order order,
                                  const double *X, size_t ldx,
                                  const double *Y, size_t ldy, double alpha,
                                  double *loss);
NN_API nn_status nn_net_train_sgd_labels(nn_net_t *net, size_t m,
                                         nn_order order, const double *X,
                                         size_t ldx, const size_t *labels,
                                         double alpha, double *loss);

/* Copy one layer's parameters / gradients out or in; same conventions as
 * nn_dense_get_params (W is layer_n_in x layer_n_out). */
NN_API nn_status nn_net_get_params(const nn_net_t *net, size_t layer,
                                   nn_order order, double *W, size_t ldw,
                                   double *b);
NN_API nn_status nn_net_set_params(nn_net_t *net, size_t layer,
                                   nn_order order, const double *W, size_t ldw,
                                   const double *b);
NN_API nn_status nn_net_get_grads(const nn_net_t *net, size_t layer,
                                  nn_order order, double *dW, size_t ldw,
                                  double *db);

/* Borrowed pointers to one layer's storage (row-major W, leading dimension
 * layer_n_out; b, dW, db likewise). Valid until the network is destroyed;
 * gradients change with every nn_net_gradient* call. NULL for a NULL net or
 * an out-of-range layer. */
NN_API double *nn_net_weights(nn_net_t *net, size_t layer);
NN_API double *nn_net_bias(nn_net_t *net, size_t layer);
NN_API const double *nn_net_grad_weights(const nn_net_t *net, size_t layer);
NN_API const double *nn_net_grad_bias(const nn_net_t *net, size_t layer);

/* ================================================================ optimizers */
/* An optimizer updates a network's parameters from the gradients of the last
 * nn_net_gradient* call. It owns its state (velocities, moments), sized for
 * the network it was created for; the step allocates nothing. */
typedef struct nn_optim nn_optim_t;

typedef enum nn_optim_kind {
    NN_OPTIM_SGD = 0,      /* w -= lr*g                                        */
    NN_OPTIM_MOMENTUM = 1, /* v = mu*v + g;  w -= lr*v          (PyTorch form) */
    NN_OPTIM_NESTEROV = 2, /* v = mu*v + g;  w -= lr*(g + mu*v) (PyTorch form) */
    NN_OPTIM_ADAM = 3      /* bias-corrected Adam (Kingma & Ba)                */
} nn_optim_kind;

/* Settings of an optimizer. Fill with nn_optim_config_default, then change
 * fields. Weight decay applies to weights only, never to biases:
 *   coupled (L2, all kinds):  g += weight_decay * w   before the update;
 *   decoupled (Adam only, AdamW): w -= lr * weight_decay * w, beside the update.
 * Clipping (clip_norm > 0) scales all gradients together so that their global
 * L2 norm is at most clip_norm, before decay and update. */
typedef struct nn_optim_config {
    nn_optim_kind kind;
    double lr;           /* learning rate, finite, > 0          (0.01; Adam 1e-3) */
    double momentum;     /* MOMENTUM / NESTEROV, in [0, 1)      (0.9)             */
    double beta1, beta2; /* ADAM, each in [0, 1)                (0.9, 0.999)      */
    double eps;          /* ADAM, finite, > 0                   (1e-8)            */
    double weight_decay; /* finite, >= 0                        (0)               */
    bool decoupled;      /* ADAM: AdamW-style decoupled decay   (false)           */
    double clip_norm;    /* finite, >= 0; 0 = no clipping       (0)               */
} nn_optim_config;

/* Fill *cfg with the defaults (in parentheses above) for `kind`. */
NN_API nn_status nn_optim_config_default(nn_optim_config *cfg,
                                         nn_optim_kind kind);

/* Create an optimizer for `net` (which must outlive it, and is only used to
 * size the state: pass the same net to nn_optim_step). cfg is copied.
 * @return NN_OK and *out set; NN_ERR_INVALID for a bad setting. */
NN_API nn_status nn_optim_create(nn_optim_t **out, const nn_net_t *net,
                                 const nn_optim_config *cfg,
                                 const nn_allocator *alloc);
NN_API void nn_optim_destroy(nn_optim_t *opt);

/* One update of net's parameters from its last gradients. Allocates nothing.
 * @return NN_ERR_STATE if net has no gradient yet; NN_ERR_SHAPE if net is not
 * shaped like the network the optimizer was created for; NN_ERR_NUMERIC (and
 * nothing changed) if the net's check-finite is on and a gradient is NaN/Inf. */
NN_API nn_status nn_optim_step(nn_optim_t *opt, nn_net_t *net);

/* The optimizer's settings (a copy, with the current learning rate). */
NN_API nn_status nn_optim_get_config(const nn_optim_t *opt,
                                     nn_optim_config *cfg);

/* Learning rate in use (schedules change it between steps). */
NN_API nn_status nn_optim_set_lr(nn_optim_t *opt, double lr);
NN_API double nn_optim_get_lr(const nn_optim_t *opt);

/* Optimizer state, for saving and restoring: a step count and
 * nn_optim_state_len() doubles (velocity for momentum kinds; first then
 * second moments for Adam; none for SGD). */
NN_API size_t nn_optim_state_len(const nn_optim_t *opt);
NN_API nn_status nn_optim_get_state(const nn_optim_t *opt, uint64_t *steps,
                                    double *state, size_t len);
NN_API nn_status nn_optim_set_state(nn_optim_t *opt, uint64_t steps,
                                    const double *state, size_t len);

/* ================================================================ data */
/* Where a malformed input went wrong. Filled by the loaders when the caller
 * passes one (may be NULL); owned by the caller, so no global error state. */
typedef struct nn_error_info {
    char file[256];    /* the file (truncated to fit)                       */
    size_t line;       /* 1-based line (CSV) or 0                           */
    size_t column;     /* 1-based column / field (CSV) or 0                 */
    size_t offset;     /* byte offset in the (decompressed) file, or 0      */
    char message[256]; /* what was expected and what was found              */
} nn_error_info;

/* A loaded data set: m samples of n features (row-major, contiguous) and, if
 * the source had them, m class labels. */
typedef struct nn_data nn_data_t;

/* A data set from caller arrays (copied): m x n features X in `order` with
 * leading dimension ldx, and m class labels (or labels == NULL for none),
 * each below 2^31 (else NN_ERR_INVALID). */
NN_API nn_status nn_data_create(nn_data_t **out, size_t m, size_t n,
                                nn_order order, const double *X, size_t ldx,
                                const size_t *labels,
                                const nn_allocator *alloc);

/* Read an IDX file (the MNIST family format; gzip-compressed if its name ends
 * in .gz or it starts with the gzip magic), any element type, any number of
 * dimensions: the first dimension gives the rows, the product of the others
 * the columns; values converted to double unscaled. Sizes are checked
 * against the file's real length before any allocation: a truncated or
 * oversized file gives NN_ERR_FORMAT and never over-allocates.
 * @return NN_ERR_IO if the file cannot be read, NN_ERR_FORMAT if malformed. */
NN_API nn_status nn_data_load_idx(nn_data_t **out, const char *path,
                                  const nn_allocator *alloc,
                                  nn_error_info *err);

/* Attach labels from an IDX file with one dimension (m values, each an
 * integer in [0, 2^31)); m must match (NN_ERR_SHAPE). */
NN_API nn_status nn_data_load_idx_labels(nn_data_t *data, const char *path,
                                         nn_error_info *err);

/* Read a numeric CSV file (comma-separated; optional header line, skipped
 * when `header` is true). label_col is the 0-based column holding an integer
 * class label (>= 0), or (size_t)-1 for none; every other column is a
 * feature. Every row must have the same number of fields. A non-numeric cell,
 * ragged row or bad label gives NN_ERR_FORMAT with line and column in *err. */
NN_API nn_status nn_data_load_csv(nn_data_t **out, const char *path,
                                  bool header, size_t label_col,
                                  const nn_allocator *alloc,
                                  nn_error_info *err);
NN_API void nn_data_destroy(nn_data_t *data);

NN_API size_t nn_data_rows(const nn_data_t *data);
NN_API size_t nn_data_cols(const nn_data_t *data);
/* Borrowed: the m x n features (row-major, leading dimension n), writable so
 * a caller may transform them in place; valid until nn_data_destroy. */
NN_API double *nn_data_x(nn_data_t *data);
/* Borrowed: the m labels, or NULL if none; valid until nn_data_destroy. */
NN_API const size_t *nn_data_labels(const nn_data_t *data);
/* 1 + the largest label (0 if none). */
NN_API size_t nn_data_n_classes(const nn_data_t *data);

/* Labels as one-hot rows: Y (m x k in `order`, leading dimension ldy) gets
 * Y(i,j) = [label_i == j]. k must exceed every label (NN_ERR_SHAPE), the data
 * must have labels (NN_ERR_INVALID). */
NN_API nn_status nn_data_one_hot(const nn_data_t *data, size_t k,
                                 nn_order order, double *Y, size_t ldy);

/* Turn k one-hot feature columns first_col .. first_col+k-1 (e.g. the label
 * columns of a CSV file loaded with label_col = (size_t)-1) into class
 * labels, and remove them from the features. Every row must hold exactly one
 * 1 and k-1 zeros there, else NN_ERR_FORMAT (with the 1-based row and column
 * in *err, which may be NULL) and nothing changes. Replaces existing labels. */
NN_API nn_status nn_data_labels_from_one_hot(nn_data_t *data, size_t first_col,
                                             size_t k, nn_error_info *err);

/* Feature scaling fitted on one data set (training) and applied to any data
 * with the same columns (training, validation, test). Per column:
 *   NN_SCALE_STANDARD: x' = (x - mean) / sd   (sd 0 -> divisor 1)
 *   NN_SCALE_MINMAX:   x' = (x - min) / (max - min)   (range 0 -> divisor 1) */
typedef enum nn_scale_kind { NN_SCALE_STANDARD = 0, NN_SCALE_MINMAX = 1 } nn_scale_kind;
typedef struct nn_scaler nn_scaler_t;
NN_API nn_status nn_scaler_fit(nn_scaler_t **out, nn_scale_kind kind,
                               const nn_data_t *data, const nn_allocator *alloc);
NN_API nn_status nn_scaler_apply(const nn_scaler_t *scaler, nn_data_t *data);
NN_API void nn_scaler_destroy(nn_scaler_t *scaler);

/* ================================================================ linear models */
/* Closed-form least squares for linear regression y = x.w + b (the notes'
 * first line): minimises sum_i (x_i.w + b - y_i)^2 through LAPACKE (dgelsd,
 * SVD-based, so rank-deficient X gives the minimum-norm solution).
 * X is m x n (order, ldx), y has m values; w receives n values, *b the
 * intercept (pass b == NULL to fit without one). m >= 1. Scratch memory comes
 * from malloc and is always released.
 * @return NN_ERR_NUMERIC if X or y holds NaN/Inf or LAPACK fails to converge;
 * NN_ERR_NOMEM if scratch cannot be allocated. Nothing is written on error. */
NN_API nn_status nn_lstsq(size_t m, size_t n, nn_order order, const double *X,
                          size_t ldx, const double *y, double *w, double *b);

/* ================================================================ metrics */
/* Mean loss and accuracy of `net` over a whole labelled data set, computed in
 * batches of at most `batch` rows (bounded memory: the net's workspace for
 * `batch` rows, nothing else). Accuracy: for a single output, prediction
 * p > 0.5 counts as class 1; otherwise the arg-max of the outputs. Either out
 * pointer may be NULL (not both).
 * @return NN_ERR_INVALID if data has no labels or batch is 0; NN_ERR_SHAPE if
 * its columns are not net's inputs or a label does not fit the outputs (for a
 * single output, labels are the 0/1 targets). */
NN_API nn_status nn_net_evaluate(nn_net_t *net, const nn_data_t *data,
                                 size_t batch, double *loss, double *accuracy);

/* Confusion matrix over a labelled data set: counts[t*k + p] is the number of
 * samples of true class t predicted as class p, where k = n_out (2 for a
 * single sigmoid output). counts must hold k*k values; it is overwritten. */
NN_API nn_status nn_net_confusion(nn_net_t *net, const nn_data_t *data,
                                  size_t batch, size_t *counts);

/* ================================================================ trainer */
/* Mini-batch training of a network on labelled data with an optimizer. */
typedef enum nn_schedule {
    NN_SCHED_CONSTANT = 0, /* lr = lr0                                           */
    NN_SCHED_STEP = 1,     /* lr = lr0 * gamma^floor(epoch_index / step_epochs)  */
    NN_SCHED_COSINE = 2    /* lr = lr_min + (lr0 - lr_min)(1 + cos(pi t/T))/2,    */
                           /* t = steps done, T = total steps of the run         */
} nn_schedule;

/* What the per-epoch callback receives. val_* are NaN without validation. */
typedef struct nn_epoch_report {
    size_t epoch;        /* 1-based                                          */
    size_t epochs;       /* planned number of epochs                         */
    double train_loss;   /* mean training loss over the epoch's batches      */
    double val_loss;     /* loss on the validation data after the epoch      */
    double val_accuracy; /* accuracy on the validation data after the epoch  */
    double lr;           /* learning rate of the epoch's last step           */
    double seconds;      /* wall time of the epoch (training + validation)   */
} nn_epoch_report;

/* Called after every epoch; return non-zero to stop training early. */
typedef int (*nn_epoch_callback)(const nn_epoch_report *report, void *ctx);

typedef struct nn_train_config {
    size_t epochs;        /* >= 1                                    (10)     */
    size_t batch_size;    /* >= 1; the last batch may be smaller     (64)     */
    bool shuffle;         /* reshuffle the training rows every epoch (true)   */
    uint64_t seed;        /* shuffling and validation split          (0)      */
    double val_fraction;  /* in [0, 1): rows held out for validation when no  */
                          /* validation set is given                 (0)      */
    size_t patience;      /* early stopping: stop after this many epochs     */
                          /* without a better validation loss; 0 = off (0)    */
    bool restore_best;    /* end with the weights of the best validation     */
                          /* loss (needs validation data)            (true)   */
    nn_schedule schedule; /*                                         (CONSTANT)*/
    double gamma;         /* STEP: factor, in (0, 1]                 (0.1)    */
    size_t step_epochs;   /* STEP: epochs between decays, >= 1       (10)     */
    double lr_min;        /* COSINE: final learning rate, >= 0       (0)      */
    nn_epoch_callback callback; /* may be NULL                       (NULL)   */
    void *callback_ctx;
} nn_train_config;

/* Fill *cfg with the defaults in parentheses above. */
NN_API nn_status nn_train_config_default(nn_train_config *cfg);

/* Outcome of a training run. */
typedef struct nn_train_result {
    size_t epochs_run;       /* epochs completed                          */
    size_t best_epoch;       /* 1-based epoch of the best validation loss */
                             /* (0 without validation)                    */
    double best_val_loss;    /* NaN without validation                    */
    double final_train_loss; /* train_loss of the last epoch              */
    double seconds;          /* wall time of the whole run                */
    bool stopped_early;      /* by patience or by the callback            */
} nn_train_result;

/* Train `net` with `opt` (created for net) on the labelled rows of `train`,
 * validating on `val` if given, else on a seeded val_fraction of `train`.
 * The base learning rate lr0 is opt's learning rate at the call; the schedule
 * sets it before every step, and it is restored to lr0 at the end. Buffers
 * (one batch, the row order, a copy of the best weights) are allocated once
 * through `alloc` (NULL: malloc) and released before returning; the steps
 * allocate nothing. The library never prints: progress goes to the callback.
 * Same seed, same data and one BLAS thread give bitwise-identical results.
 * @return NN_ERR_INVALID (bad config, no labels), NN_ERR_SHAPE (columns or
 * labels that do not fit net), NN_ERR_NUMERIC (check-finite on and a step
 * met NaN/Inf), or a status of the underlying calls. *result (may be NULL)
 * is written on NN_OK only.
 * Details: patience > 0 needs validation data (else NN_ERR_INVALID); the
 * validation split holds out round(val_fraction * m) rows (at least one on
 * each side); train_loss is weighted by rows; stopped_early means fewer
 * epochs ran than planned. A run that fails part way puts the parameters,
 * the optimizer state and its learning rate back as they were at the call
 * (the allocation includes a copy of them for that). */
NN_API nn_status nn_train(nn_net_t *net, nn_optim_t *opt,
                          const nn_data_t *train, const nn_data_t *val,
                          const nn_train_config *cfg,
                          const nn_allocator *alloc, nn_train_result *result);

/* ================================================================ model files */
/* A model file holds a network (architecture, activations, loss, parameters,
 * the state of its dropout generator) and, optionally, an optimizer (its
 * settings, step count and state) so that training resumes exactly. The
 * format (docs/FORMAT.md) is little-endian with explicit sizes, a format
 * version and a CRC-32 (zlib) of the payload. */
#define NN_MODEL_FORMAT_VERSION 1

/* Save net (and opt, if not NULL; it must belong to net) to `path`
 * atomically: the bytes go to a temporary file in the same directory, which
 * is flushed, fsync'ed and renamed over `path`. On any failure the previous
 * file at `path` is intact and the temporary file is removed. A new file gets
 * mode 0666 minus the umask, like fopen.
 * @return NN_ERR_IO (with the path and the system's message in *err if
 * given); NN_ERR_INVALID for a NULL/empty path, a NULL net or an optimizer
 * not shaped like net; NN_ERR_NOMEM (the bytes are built in memory first,
 * through net's allocator). */
NN_API nn_status nn_model_save(const char *path, const nn_net_t *net,
                               const nn_optim_t *opt, nn_error_info *err);

/* Serialise to memory. *size receives the number of bytes the model needs.
 * With buf == NULL nothing else happens (NN_OK: a size query); with cap too
 * small nothing is written (NN_ERR_SHAPE); otherwise the model is written to
 * buf[0 .. *size). */
NN_API nn_status nn_model_save_mem(const nn_net_t *net, const nn_optim_t *opt,
                                   void *buf, size_t cap, size_t *size);

/* Load a model: a new network in *net and, if opt != NULL, a new optimizer
 * in *opt (NULL when the file holds none). Everything is validated before it
 * is trusted: magic, version, every size (against the file's real length and
 * for overflow, before any allocation), enum values, the CRC-32.
 * @return NN_ERR_FORMAT for a malformed, truncated or corrupt file;
 * NN_ERR_UNSUPPORTED for a file of a newer format version; NN_ERR_IO if it
 * cannot be read (files over 16 GiB are refused); NN_ERR_NOMEM. On error
 * nothing is returned and nothing leaks. The optimizer state is restored bit
 * for bit (not checked for finiteness: a diverged run can still be loaded). */
NN_API nn_status nn_model_load(const char *path, nn_net_t **net,
                               nn_optim_t **opt, const nn_allocator *alloc,
                               nn_error_info *err);
NN_API nn_status nn_model_load_mem(const void *buf, size_t size,
                                   nn_net_t **net, nn_optim_t **opt,
                                   const nn_allocator *alloc,
                                   nn_error_info *err);

#ifdef __cplusplus
}
#endif

#endif /* NN_H */
