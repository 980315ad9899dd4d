/* optim.c — optimizers over a network's flat parameter / gradient arrays
 * (layer by layer, W then b; see nn_net_params / nn_net_grads).
 *
 * One allocation at create: the struct followed by its state (velocity for
 * MOMENTUM / NESTEROV; first then second moments for ADAM; none for SGD).
 * nn_optim_step allocates nothing and never writes the net's gradients: the
 * clipping factor and the coupled weight decay are applied on the fly to each
 * gradient value inside the update loop.
 *
 * Per element, with s the clipping factor (1 without clipping) and d the
 * weight decay for this value (weight_decay for weights, 0 for biases):
 *   g = s * grad;  coupled decay: g += d * w
 *   SGD:       w -= lr*g
 *   MOMENTUM:  v = mu*v + g;  w -= lr*v              (PyTorch, dampening 0)
 *   NESTEROV:  v = mu*v + g;  w -= lr*(g + mu*v)     (PyTorch, dampening 0)
 *   ADAM:      t += 1 (once per step);
 *              AdamW (decoupled): w *= (1 - lr*d) first, from the pre-update w,
 *              exactly as PyTorch's AdamW; then, with the undecayed g,
 *              m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
 *              mhat = m/(1-b1^t);    vhat = v/(1-b2^t);
 *              w -= lr*mhat/(sqrt(vhat) + eps).
 * NN_OPTIM_DECOUPLED only changes Adam; the other kinds keep it (keys of
 * another kind are accepted and kept) and always decay coupled.
 *
 * Settings are keys (NN_OPTIM_*), each checked against params.c's table
 * (the inclusive bounds nn_param_info reports). */
#include "nn_private.h"

#include <math.h>
#include <string.h>

/* The settings of an optimizer (private: the public API is keyed). */
typedef struct optim_cfg {
    nn_optim_kind kind;
    double lr, momentum, beta1, beta2, eps, weight_decay, clip_norm;
    int32_t decoupled;
} optim_cfg;

struct nn_optim {
    nn_allocator al;
    size_t bytes;       /* size of this block, for nn__free          */
    optim_cfg cfg;
    size_t n;           /* parameters of the net it was created for  */
    uint64_t shape_id;  /* nn__net_shape_id of that net               */
    size_t state_len;   /* doubles in state[]                         */
    uint64_t steps;     /* steps taken (saturates at UINT64_MAX)      */
    double state[];     /* velocity, or m then v                      */
};

/* ------------------------------------------------------------ settings */
static bool kind_valid(int64_t k)
{
    return k == NN_OPTIM_SGD || k == NN_OPTIM_MOMENTUM ||
           k == NN_OPTIM_NESTEROV || k == NN_OPTIM_ADAM;
}

/* The stored field of a real key, or NULL for any other key. */
static double *real_field(optim_cfg *c, int32_t key)
{
    switch (key) {
    case NN_OPTIM_LR: return &c->lr;
    case NN_OPTIM_MOMENTUM_COEF: return &c->momentum;
    case NN_OPTIM_BETA1: return &c->beta1;
    case NN_OPTIM_BETA2: return &c->beta2;
    case NN_OPTIM_EPS: return &c->eps;
    case NN_OPTIM_WEIGHT_DECAY: return &c->weight_decay;
    case NN_OPTIM_CLIP_NORM: return &c->clip_norm;
    default: return NULL;
    }
}

static size_t state_per_param(nn_optim_kind k)
{
    switch (k) {
    case NN_OPTIM_MOMENTUM:
    case NN_OPTIM_NESTEROV: return 1;
    case NN_OPTIM_ADAM: return 2;
    default: return 0;
    }
}

static optim_cfg cfg_default(nn_optim_kind kind)
{
    return (optim_cfg){.kind = kind,
                       .lr = kind == NN_OPTIM_ADAM ? 1e-3 : 0.01,
                       .momentum = 0.9,
                       .beta1 = 0.9,
                       .beta2 = 0.999,
                       .eps = 1e-8,
                       .weight_decay = 0.0,
                       .clip_norm = 0.0,
                       .decoupled = 0};
}

nn_status nn_optim_set_real(nn_optim_t *opt, int32_t key, double value)
{
    /* params.c's table: the bounds nn_param_info reports */
    double *f = opt ? real_field(&opt->cfg, key) : NULL;
    if (!f || nn__param_check_real(NN_OPTIM_KIND, key, value))
        return NN_ERR_INVALID;
    *f = value;
    return NN_OK;
}

nn_status nn_optim_get_real(const nn_optim_t *opt, int32_t key, double *value)
{
    if (!opt || !value) return NN_ERR_INVALID;
    optim_cfg c = opt->cfg; /* a copy: real_field wants a mutable struct */
    const double *f = real_field(&c, key);
    if (!f) return NN_ERR_INVALID;
    *value = *f;
    return NN_OK;
}

/* NN_OPTIM_DECOUPLED is the only writable int key (KIND and STEPS are
 * read-only). */
nn_status nn_optim_set_int(nn_optim_t *opt, int32_t key, int64_t value)
{
    if (!opt || key != NN_OPTIM_DECOUPLED ||
        nn__param_check_int(NN_OPTIM_KIND, key, value))
        return NN_ERR_INVALID;
    opt->cfg.decoupled = (int32_t)value;
    return NN_OK;
}

/* STEPS saturates at INT64_MAX in this signed view (the count itself goes on
 * to UINT64_MAX). */
nn_status nn_optim_get_int(const nn_optim_t *opt, int32_t key, int64_t *value)
{
    if (!opt || !value) return NN_ERR_INVALID;
    switch (key) {
    case NN_OPTIM_KIND: *value = opt->cfg.kind; return NN_OK;
    case NN_OPTIM_DECOUPLED: *value = opt->cfg.decoupled; return NN_OK;
    case NN_OPTIM_STEPS:
        *value = opt->steps > INT64_MAX ? INT64_MAX : (int64_t)opt->steps;
        return NN_OK;
    default: return NN_ERR_INVALID;
    }
}

/* ------------------------------------------------------------ lifetime */
nn_status nn_optim_create(nn_optim_t **out, const nn_net_t *net,
                          nn_optim_kind kind, const nn_allocator *alloc)
{
    if (!out || !net || !kind_valid(kind)) return NN_ERR_INVALID;
    if (!nn__allocator_valid(alloc)) return NN_ERR_INVALID;
    size_t n = nn_net_n_params(net), len, sb, bytes;
    if (!nn__mul(n, state_per_param(kind), &len) ||
        !nn__mul(len, sizeof(double), &sb) ||
        !nn__add(sizeof(nn_optim_t), sb, &bytes))
        return NN_ERR_TOO_LARGE;
    nn_allocator al;
    nn__allocator_init(&al, alloc);
    nn_optim_t *opt = nn__alloc(&al, bytes);
    if (!opt) return NN_ERR_NOMEM;
    memset(opt, 0, bytes);
    opt->al = al;
    opt->bytes = bytes;
    opt->cfg = cfg_default(kind);
    opt->n = n;
    opt->shape_id = nn__net_shape_id(net);
    opt->state_len = len;
    opt->steps = 0;
    *out = opt;
    return NN_OK;
}

void nn_optim_destroy(nn_optim_t *opt)
{
    if (!opt) return;
    nn_allocator al = opt->al;
    nn__free(&al, opt, opt->bytes);
}

/* ------------------------------------------------------------ step */
/* Clipping factor s = clip / max(||g||, clip) over all n gradients (weights
 * and biases); 1 without clipping. The norm is computed scaled by max|g| so
 * that it does not overflow for large finite gradients. A NaN norm (non-finite
 * gradients with check-finite off) gives s = 1. */
static double clip_factor(const double *g, size_t n, double clip)
{
    if (clip <= 0) return 1.0;
    double amax = 0;
    for (size_t i = 0; i < n; i++) amax = fmax(amax, fabs(g[i]));
    if (amax == 0 || !isfinite(amax)) return 1.0;
    double ss = 0;
    for (size_t i = 0; i < n; i++) {
        double r = g[i] / amax;
        ss += r * r;
    }
    double norm = amax * sqrt(ss);
    return norm > clip ? clip / norm : 1.0;
}

/* SGD on a block: g = s*grad + d*w;  w -= lr*g. */
static void sgd_block(double *restrict w, const double *restrict gr, size_t n,
                      double s, double d, double lr)
{
    for (size_t i = 0; i < n; i++) {
        double g = s * gr[i] + d * w[i];
        w[i] -= lr * g;
    }
}

/* Momentum (PyTorch): g = s*grad + d*w;  v = mu*v + g;  w -= lr*v.
 * Nesterov (PyTorch): same v;  w -= lr*(g + mu*v). */
static void momentum_block(double *restrict w, const double *restrict gr,
                           double *restrict v, size_t n, double s, double d,
                           double lr, double mu, bool nesterov)
{
    for (size_t i = 0; i < n; i++) {
        double g = s * gr[i] + d * w[i];
        v[i] = mu * v[i] + g;
        w[i] -= lr * (nesterov ? g + mu * v[i] : v[i]);
    }
}

/* Adam: g = s*grad (+ d*w when coupled);  AdamW: w *= 1 - lr*d first;
 * m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
 * w -= lr * (m/bc1) / (sqrt(v/bc2) + eps),  bc_k = 1 - b_k^t, computed as
 * w -= a1 * m / (sqrt(v) * a2 + eps) with a1 = lr/bc1, a2 = 1/sqrt(bc2)
 * (one division and one square root per value). */
typedef struct adam_k {
    double s, d, keep, b1, b2, eps, a1, a2; /* keep = 1 - lr*d (AdamW) */
} adam_k;

static inline __attribute__((always_inline)) void
adam_loop(double *restrict w, const double *restrict gr, double *restrict m,
          double *restrict v, size_t n, adam_k k, bool decoupled)
{
    for (size_t i = 0; i < n; i++) {
        double g = k.s * gr[i];
        if (decoupled) w[i] *= k.keep;
        else g += k.d * w[i];
        m[i] = k.b1 * m[i] + (1 - k.b1) * g;
        v[i] = k.b2 * v[i] + (1 - k.b2) * g * g;
        w[i] -= k.a1 * m[i] / (sqrt(v[i]) * k.a2 + k.eps);
    }
}

/* The loop compiled for the baseline ISA and, on x86-64, for AVX2 and
 * AVX-512 (chosen per call from the CPU's features): the square roots and
 * divisions made the update as slow as a small network's products (2.0 ns
 * per value with SSE2, 1.1 with AVX2, 0.7-0.85 with AVX-512 on Zen 5).
 * Every path does the same correctly rounded operations in the same order
 * (no FMA contraction: C11's default, and fp-contract=off where the ISA
 * has FMA), so they give the same bits (tests/test_optim.c). */
static void adam_base(double *w, const double *gr, double *m, double *v,
                      size_t n, adam_k k, bool decoupled)
{
    adam_loop(w, gr, m, v, n, k, decoupled);
}

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define NN_ADAM_DISPATCH 1
__attribute__((target("avx2"))) static void
adam_avx2(double *w, const double *gr, double *m, double *v, size_t n,
          adam_k k, bool decoupled)
{
    adam_loop(w, gr, m, v, n, k, decoupled);
}

__attribute__((target("avx512f"), optimize("fp-contract=off"))) static void
adam_avx512(double *w, const double *gr, double *m, double *v, size_t n,
            adam_k k, bool decoupled)
{
    adam_loop(w, gr, m, v, n, k, decoupled);
}
#endif

static void adam_block(double *restrict w, const double *restrict gr,
                       double *restrict m, double *restrict v, size_t n,
                       double s, double d, const optim_cfg *c, double a1,
                       double a2)
{
    adam_k k = {.s = s, .d = d, .keep = 1.0 - c->lr * d, .b1 = c->beta1,
                .b2 = c->beta2, .eps = c->eps, .a1 = a1, .a2 = a2};
    const bool dec = c->decoupled != 0;
#ifdef NN_ADAM_DISPATCH
    /* asked per call: reads libgcc's CPU model, no state of ours */
    if (__builtin_cpu_supports("avx512f")) {
        adam_avx512(w, gr, m, v, n, k, dec);
        return;
    }
    if (__builtin_cpu_supports("avx2")) {
        adam_avx2(w, gr, m, v, n, k, dec);
        return;
    }
#endif
    adam_base(w, gr, m, v, n, k, dec);
}

/* Update one contiguous block [off, off+len) with decay d. */
static void update_block(nn_optim_t *opt, double *p, const double *g,
                         size_t off, size_t len, double s, double d,
                         double a1, double a2)
{
    const optim_cfg *c = &opt->cfg;
    switch (c->kind) {
    case NN_OPTIM_SGD: sgd_block(p + off, g + off, len, s, d, c->lr); break;
    case NN_OPTIM_MOMENTUM:
    case NN_OPTIM_NESTEROV:
        momentum_block(p + off, g + off, opt->state + off, len, s, d, c->lr,
                       c->momentum, c->kind == NN_OPTIM_NESTEROV);
        break;
    case NN_OPTIM_ADAM:
        adam_block(p + off, g + off, opt->state + off,
                   opt->state + opt->n + off, len, s, d, c, a1, a2);
        break;
    }
}

bool nn__optim_fits(const nn_optim_t *opt, const nn_net_t *net)
{
    return opt->n == nn_net_n_params(net) &&
           opt->shape_id == nn__net_shape_id(net);
}

bool nn__optim_plain_sgd(const nn_optim_t *opt, double *lr)
{
    const optim_cfg *c = &opt->cfg;
    if (c->kind != NN_OPTIM_SGD || c->clip_norm != 0.0 ||
        c->weight_decay != 0.0)
        return false;
    *lr = c->lr;
    return true;
}

void nn__optim_count_step(nn_optim_t *opt)
{
    if (opt->steps < UINT64_MAX) opt->steps++;
}

/* The update of parameters [lo, hi): each layer's W part with decay wd,
 * its b part without. Any split of [0, n) into ranges gives the same bits
 * (the update is elementwise). */
void nn__optim_update_range(nn_optim_t *opt, nn_net_t *net,
                            const nn__optim_consts *c, size_t lo, size_t hi)
{
    double *p = nn_net_params(net);
    const double *g = nn_net_grads(net);
    const double wd = opt->cfg.weight_decay;
    size_t layers = nn_net_n_layers(net);
    for (size_t l = 0; l < layers && lo < hi; l++) {
        size_t off = 0;
        const nn_layer *L = nn__net_layer(net, l, &off);
        size_t nw = L->n_in * L->n_out, ends[2] = {off + nw, off + nw + L->n_out};
        for (int part = 0; part < 2 && lo < hi; part++) {
            size_t end = ends[part] < hi ? ends[part] : hi;
            if (lo < end)
                update_block(opt, p, g, lo, end - lo, c->s, part ? 0.0 : wd,
                             c->a1, c->a2);
            if (end > lo) lo = end;
        }
    }
}

/* The checks of a step and the constants of the next one. */
nn_status nn__optim_begin(const nn_optim_t *opt, const nn_net_t *net,
                          nn__optim_consts *c)
{
    if (!opt || !net) return NN_ERR_INVALID;
    if (!nn__optim_fits(opt, net)) return NN_ERR_SHAPE;
    if (!nn__net_has_grad(net)) return NN_ERR_STATE;
    uint64_t t = opt->steps < UINT64_MAX ? opt->steps + 1 : UINT64_MAX;
    *c = (nn__optim_consts){.t = t, .s = 1.0, .a1 = 1.0, .a2 = 1.0};
    if (opt->cfg.kind == NN_OPTIM_ADAM) { /* adam_block's a1 and a2 */
        c->a1 = opt->cfg.lr / (1.0 - pow(opt->cfg.beta1, (double)t));
        c->a2 = 1.0 / sqrt(1.0 - pow(opt->cfg.beta2, (double)t));
    }
    return NN_OK;
}

void nn__optim_end(nn_optim_t *opt, nn_net_t *net, const nn__optim_consts *c)
{
    opt->steps = c->t;
    /* the gradient belonged to the parameters before this update */
    nn__net_set_has_grad(net, false);
}

double nn__optim_clip_norm(const nn_optim_t *opt)
{
    return opt->cfg.clip_norm;
}

nn_status nn_optim_step(nn_optim_t *opt, nn_net_t *net)
{
    nn__optim_consts c;
    nn_status st = nn__optim_begin(opt, net, &c);
    if (st) return st;
    const double *g = nn_net_grads(net);
    if (nn__net_check_finite(net) && !nn__all_finite(g, opt->n))
        return NN_ERR_NUMERIC;
    c.s = clip_factor(g, opt->n, opt->cfg.clip_norm);
    nn__optim_update_range(opt, net, &c, 0, opt->n);
    nn__optim_end(opt, net, &c);
    return NN_OK;
}

/* ------------------------------------------------------------ state */
size_t nn_optim_state_len(const nn_optim_t *opt)
{
    return opt ? opt->state_len : 0;
}

nn_status nn_optim_get_state(const nn_optim_t *opt, uint64_t *steps,
                             double *state, size_t len)
{
    if (!opt || !steps || (!state && len > 0)) return NN_ERR_INVALID;
    if (len != opt->state_len) return NN_ERR_SHAPE;
    *steps = opt->steps;
    if (len) memcpy(state, opt->state, len * sizeof(double));
    return NN_OK;
}

/* The state must be finite, and Adam's second moments non-negative. */
nn_status nn_optim_set_state(nn_optim_t *opt, uint64_t steps,
                             const double *state, size_t len)
{
    if (!opt || (!state && len > 0)) return NN_ERR_INVALID;
    if (len != opt->state_len) return NN_ERR_SHAPE;
    if (len && !nn__all_finite(state, len)) return NN_ERR_INVALID;
    if (opt->cfg.kind == NN_OPTIM_ADAM)
        for (size_t i = opt->n; i < len; i++)
            if (state[i] < 0) return NN_ERR_INVALID;
    opt->steps = steps;
    if (len) memcpy(opt->state, state, len * sizeof(double));
    return NN_OK;
}

/* ------------------------------------------------------------ model files
 * (model.c) Raw access for saving and restoring: the number of parameters the
 * optimizer was created for, its step count and its state (state_len
 * doubles), restored as stored, without nn_optim_set_state's value checks. */
uint64_t nn__optim_steps(const nn_optim_t *opt) { return opt->steps; }
const double *nn__optim_state(const nn_optim_t *opt) { return opt->state; }

const double *nn_optim_state_view(const nn_optim_t *opt)
{
    return opt && nn_optim_state_len(opt) ? opt->state : NULL;
}
double *nn__optim_state_mut(nn_optim_t *opt) { return opt->state; }
void nn__optim_set_steps(nn_optim_t *opt, uint64_t steps) { opt->steps = steps; }
