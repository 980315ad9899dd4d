/* optim.c — optimizers over a network's flat parameter / gradient arrays
 * (layer by layer, W then b; see nn__net_params / nn__net_grads).
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
 *              w -= lr*mhat/(sqrt(vhat) + eps). */
#include "nn_private.h"

#include <math.h>
#include <string.h>

struct nn_optim {
    nn_allocator al;
    size_t bytes;       /* size of this block, for nn__free          */
    nn_optim_config cfg;
    size_t n;           /* parameters of the net it was created for  */
    uint64_t shape_id;  /* nn__net_shape_id of that net               */
    size_t state_len;   /* doubles in state[]                         */
    uint64_t steps;     /* steps taken (saturates at UINT64_MAX)      */
    double state[];     /* velocity, or m then v                      */
};

/* ------------------------------------------------------------ settings */
static bool kind_valid(nn_optim_kind k)
{
    return k == NN_OPTIM_SGD || k == NN_OPTIM_MOMENTUM ||
           k == NN_OPTIM_NESTEROV || k == NN_OPTIM_ADAM;
}

static bool lr_valid(double lr) { return isfinite(lr) && lr > 0; }

static bool unit_valid(double x) { return isfinite(x) && x >= 0 && x < 1; }

/* Every field is checked, whatever the kind (the defaults are all valid).
 * decoupled is only meaningful for ADAM and is rejected for other kinds. */
static bool config_valid(const nn_optim_config *c)
{
    return kind_valid(c->kind) && lr_valid(c->lr) && unit_valid(c->momentum) &&
           unit_valid(c->beta1) && unit_valid(c->beta2) && isfinite(c->eps) &&
           c->eps > 0 && isfinite(c->weight_decay) && c->weight_decay >= 0 &&
           (!c->decoupled || c->kind == NN_OPTIM_ADAM) &&
           isfinite(c->clip_norm) && c->clip_norm >= 0;
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

nn_status nn_optim_config_default(nn_optim_config *cfg, nn_optim_kind kind)
{
    if (!cfg || !kind_valid(kind)) return NN_ERR_INVALID;
    cfg->kind = kind;
    cfg->lr = kind == NN_OPTIM_ADAM ? 1e-3 : 0.01;
    cfg->momentum = 0.9;
    cfg->beta1 = 0.9;
    cfg->beta2 = 0.999;
    cfg->eps = 1e-8;
    cfg->weight_decay = 0;
    cfg->decoupled = false;
    cfg->clip_norm = 0;
    return NN_OK;
}

/* ------------------------------------------------------------ lifetime */
nn_status nn_optim_create(nn_optim_t **out, const nn_net_t *net,
                          const nn_optim_config *cfg,
                          const nn_allocator *alloc)
{
    if (!out || !net || !cfg) return NN_ERR_INVALID;
    if (alloc && (!alloc->alloc || !alloc->free)) return NN_ERR_INVALID;
    if (!config_valid(cfg)) return NN_ERR_INVALID;
    size_t n = nn__net_n_params(net), len, sb, bytes;
    if (!nn__mul(n, state_per_param(cfg->kind), &len) ||
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
    opt->cfg = *cfg;
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
 * w -= lr * (m/bc1) / (sqrt(v/bc2) + eps),  bc_k = 1 - b_k^t. */
static void adam_block(double *restrict w, const double *restrict gr,
                       double *restrict m, double *restrict v, size_t n,
                       double s, double d, bool decoupled,
                       const nn_optim_config *c, double bc1, double bc2)
{
    const double lr = c->lr, b1 = c->beta1, b2 = c->beta2, eps = c->eps;
    const double keep = 1.0 - lr * d; /* AdamW factor (1 when d == 0) */
    for (size_t i = 0; i < n; i++) {
        double g = s * gr[i];
        if (decoupled) w[i] *= keep;
        else g += d * w[i];
        m[i] = b1 * m[i] + (1 - b1) * g;
        v[i] = b2 * v[i] + (1 - b2) * g * g;
        double mhat = m[i] / bc1, vhat = v[i] / bc2;
        w[i] -= lr * mhat / (sqrt(vhat) + eps);
    }
}

/* Update one contiguous block [off, off+len) with decay d. */
static void update_block(nn_optim_t *opt, double *p, const double *g,
                         size_t off, size_t len, double s, double d,
                         double bc1, double bc2)
{
    const nn_optim_config *c = &opt->cfg;
    switch (c->kind) {
    case NN_OPTIM_SGD: sgd_block(p + off, g + off, len, s, d, c->lr); break;
    case NN_OPTIM_MOMENTUM:
    case NN_OPTIM_NESTEROV:
        momentum_block(p + off, g + off, opt->state + off, len, s, d, c->lr,
                       c->momentum, c->kind == NN_OPTIM_NESTEROV);
        break;
    case NN_OPTIM_ADAM:
        adam_block(p + off, g + off, opt->state + off,
                   opt->state + opt->n + off, len, s, d, c->decoupled, c, bc1,
                   bc2);
        break;
    }
}

bool nn__optim_fits(const nn_optim_t *opt, const nn_net_t *net)
{
    return opt->n == nn__net_n_params(net) &&
           opt->shape_id == nn__net_shape_id(net);
}

nn_status nn_optim_step(nn_optim_t *opt, nn_net_t *net)
{
    if (!opt || !net) return NN_ERR_INVALID;
    if (!nn__optim_fits(opt, net)) return NN_ERR_SHAPE;
    if (!nn__net_has_grad(net)) return NN_ERR_STATE;
    const double *g = nn__net_grads(net);
    if (nn__net_check_finite(net) && !nn__all_finite(g, opt->n))
        return NN_ERR_NUMERIC;

    double *p = nn__net_params(net);
    const double s = clip_factor(g, opt->n, opt->cfg.clip_norm);
    const double wd = opt->cfg.weight_decay;
    uint64_t t = opt->steps < UINT64_MAX ? opt->steps + 1 : UINT64_MAX;
    double bc1 = 1.0, bc2 = 1.0;
    if (opt->cfg.kind == NN_OPTIM_ADAM) {
        bc1 = 1.0 - pow(opt->cfg.beta1, (double)t);
        bc2 = 1.0 - pow(opt->cfg.beta2, (double)t);
    }
    size_t layers = nn_net_n_layers(net);
    for (size_t l = 0; l < layers; l++) {
        size_t off = 0;
        const nn_layer *L = nn__net_layer(net, l, &off);
        size_t nw = L->n_in * L->n_out;
        update_block(opt, p, g, off, nw, s, wd, bc1, bc2);        /* W */
        update_block(opt, p, g, off + nw, L->n_out, s, 0.0, bc1, bc2); /* b */
    }
    opt->steps = t;
    return NN_OK;
}

/* ------------------------------------------------------------ settings */
nn_status nn_optim_set_lr(nn_optim_t *opt, double lr)
{
    if (!opt || !lr_valid(lr)) return NN_ERR_INVALID;
    opt->cfg.lr = lr;
    return NN_OK;
}

nn_status nn_optim_get_config(const nn_optim_t *opt, nn_optim_config *cfg)
{
    if (!opt || !cfg) return NN_ERR_INVALID;
    *cfg = opt->cfg;
    return NN_OK;
}

/* NAN for a NULL optimizer (never a valid learning rate, which is > 0). */
double nn_optim_get_lr(const nn_optim_t *opt)
{
    return opt ? opt->cfg.lr : NAN;
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
size_t nn__optim_n(const nn_optim_t *opt) { return opt->n; }
uint64_t nn__optim_steps(const nn_optim_t *opt) { return opt->steps; }
const double *nn__optim_state(const nn_optim_t *opt) { return opt->state; }
double *nn__optim_state_mut(nn_optim_t *opt) { return opt->state; }
void nn__optim_set_steps(nn_optim_t *opt, uint64_t steps) { opt->steps = steps; }
