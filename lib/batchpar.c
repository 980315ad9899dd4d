/* batchpar.c — batch-parallel training steps (NN_TRAIN_THREADS). A team of
 * T workers (pool.c threads; worker 0 is the caller), each with
 * single-threaded BLAS, shares one set of batch-sized buffers (the
 * gathered rows, every layer's outputs, dropout masks and dZ) and runs
 * each step in two rounds:
 *
 *   1. rows: worker w gathers its part of the batch (in order, the first
 *      m % T workers taking one row more: the data-parallel shards' split)
 *      and back-propagates it without the dW products (net.c,
 *      nn__net_part_backprop): outputs, dropout masks of the rows' global
 *      indices, every layer's dZ and its column sums, for the sum of its
 *      rows' losses;
 *   2. parameters: worker w owns 1/T of the rows of every W and 1/T of
 *      every b, and computes their gradient over all the rows, in one
 *      product per layer,
 *        dW_l[r0:r1, :] = scale * In_l[:, r0:r1]^T . dZ_l,
 *        db_l[c0:c1]   = scale * sum_u colsum_u(dZ_l)[c0:c1]  (u = 0..T-1),
 *      (scale 1/m under NN_REDUCE_MEAN), then updates what it owns
 *      (optim.c's update split by ranges; plain SGD inside the product,
 *      W += -lr*scale * In^T.dZ, as net.c's fused step).
 *
 * This is the data-parallel seam (gradients of a summed loss, scaled once
 * summed) with its allsum realised in shared memory and folded into the
 * products: no gradient array is added up afterwards (nor allocated), each
 * dW product runs over the whole batch, every parameter is updated once,
 * by its owner, the whole update split T ways. Every sum's order depends on
 * T only: results are bitwise reproducible for a given T and equal a
 * one-thread run's up to rounding.
 *
 * Where the update needs the whole gradient first, round 2 only writes it
 * (and, per owned range, the finite check and the norm's parts: the max
 * |g| and the sum of squares scaled by it, combined in worker order), and
 * a third round updates: with check-finite (nothing changes when a value
 * is not finite), clipping (the global norm), a gradient hook or a
 * data-parallel run's allsum (nn__team_gradient, then nn__team_update).
 *
 * (Measured on 2 cores: forwarding the big layers by blocks of columns
 * over all rows, so that each worker packs only its block of W, did not
 * pay for the extra round per layer; docs/PERFORMANCE.md.)
 *
 * Memory: one block from the run's allocator (tables, result slots each
 * on its own cache line, the batch buffers of T x ceil(B / T) rows), T
 * inference contexts of ceil(B / T) rows (validation) and the pool, made
 * once per run; a step allocates nothing. */
#include "nn_private.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#define LINE 64 /* bytes of a cache line: slots and buffers start on one */

/* What one worker leaves from a round, alone on its cache line. */
typedef struct slot {
    nn_status st;
    bool bad;          /* a non-finite gradient value in what it owns */
    size_t rows;       /* its rows of the batch                       */
    double loss;       /* their summed loss; eval: its loss sum       */
    double correct;    /* eval: correct predictions                   */
    double amax, ss;   /* norm parts of what it owns                  */
} slot;
#define SLOT_BYTES ((sizeof(slot) + LINE - 1) / LINE * LINE)

/* The rounds' work, set by the caller between rounds. */
typedef struct job {
    const nn__dview *v;
    const size_t *rows;
    size_t m;           /* rows of the batch or of the evaluation */
    nn__drop_pass dp;   /* row0: the batch's first row            */
    double scale;
    bool fused;         /* plain SGD inside the products          */
    double lr;          /* its rate                               */
    bool check, norm;   /* round 2 checks / measures its ranges   */
    bool update;        /* round 2 (not fused) also updates       */
    nn_optim_t *opt;
    nn__optim_consts c;
} job;

struct nn__team {
    nn_allocator al;
    void *block;
    size_t bytes;
    nn__pool *pool;
    nn_net_t *net;
    size_t T, cap, L, n, k; /* workers, rows each, layers, inputs, k    */
    nn_ctx_t **ctx;         /* T inference contexts (validation)        */
    double **A, **M, **D, **dZ; /* per layer: T x cap rows (M, D: dropout
                                   layers, else NULL)                  */
    double **pA, **pM, **pD, **pdZ, **pdb; /* T x L: worker w's rows of
                                              them; its column sums     */
    size_t *own;            /* T x L x 4: W rows [r0, r1), b [c0, c1)   */
    unsigned char *slots;
    double *X, *Y;          /* T x cap rows of features, dense targets  */
    int32_t *lab;           /* T x cap labels                           */
    job job;
};

static slot *slot_of(const nn__team *t, size_t w)
{
    return (slot *)(void *)(t->slots + w * SLOT_BYTES);
}

/* [*lo, *hi) of m that is worker w's: in order, the first m % T taking one
 * more. */
static void part(size_t m, size_t T, size_t w, size_t *lo, size_t *hi)
{
    size_t q = m / T, rem = m % T;
    *lo = q * w + (w < rem ? w : rem);
    *hi = *lo + q + (w < rem ? 1 : 0);
}

static const nn_layer *layer(const nn__team *t, size_t l, size_t *w_off)
{
    return nn__net_layer(t->net, l, w_off);
}

static bool drops(const nn__team *t, size_t l)
{
    return layer(t, l, NULL)->dropout > 0.0;
}

/* ------------------------------------------------------------ creation */
/* Offsets of the block's parts, each aligned, overflow-checked. */
typedef struct layout {
    size_t off;
    bool ok;
} layout;

static size_t take(layout *l, size_t count, size_t size, size_t align)
{
    size_t bytes, start;
    if (!nn__mul(count, size, &bytes) || !nn__add(l->off, align - 1, &start)) {
        l->ok = false;
        return 0;
    }
    start -= start % align;
    if (!nn__add(start, bytes, &l->off)) l->ok = false;
    return start;
}

typedef struct offsets {
    size_t ctx, bufs, parts, own, slots, X, Y, lab, vals, dbv, end;
} offsets;

/* Doubles per row of every layer's buffers (outputs, dZ, dropout's two),
 * and the widths' sum (one row of column sums). */
static void widths(const nn__team *t, size_t *per_row, size_t *sum)
{
    *per_row = *sum = 0;
    for (size_t l = 0; l < t->L; l++) { /* bounded by the net's checks */
        size_t n = layer(t, l, NULL)->n_out;
        *sum += n;
        *per_row += n * (drops(t, l) ? 4 : 2);
    }
}

static bool plan(const nn__team *t, offsets *o)
{
    layout l = {0, true};
    const size_t T = t->T, rows = T * t->cap, L = t->L;
    size_t per_row, sum, tl;
    widths(t, &per_row, &sum);
    if (!nn__mul(T, L, &tl)) return false;
    o->ctx = take(&l, T, sizeof(nn_ctx_t *), sizeof(void *));
    o->bufs = take(&l, 4 * L, sizeof(double *), sizeof(void *));
    o->parts = take(&l, 5 * tl, sizeof(double *), sizeof(void *));
    o->own = take(&l, 4 * tl, sizeof(size_t), sizeof(size_t));
    o->slots = take(&l, T, SLOT_BYTES, LINE);
    o->X = take(&l, rows, t->n * sizeof(double), LINE);
    o->Y = take(&l, rows, t->k * sizeof(double), LINE);
    o->lab = take(&l, t->k ? 0 : rows, sizeof(int32_t), LINE);
    o->vals = take(&l, rows, per_row * sizeof(double), LINE);
    o->dbv = take(&l, T, sum * sizeof(double), LINE);
    o->end = l.off;
    return l.ok && nn__add(o->end, LINE, &o->end); /* room to align */
}

static unsigned char *block_base(const nn__team *t)
{
    uintptr_t a = (uintptr_t)t->block;
    return (unsigned char *)t->block + (LINE - a % LINE) % LINE;
}

/* The layers' batch buffers, worker w's column sums, what each worker
 * owns. */
static void place_layers(nn__team *t, const offsets *o)
{
    unsigned char *base = block_base(t);
    const size_t rows = t->T * t->cap, L = t->L;
    double *v = (double *)(void *)(base + o->vals);
    size_t per_row, sum;
    widths(t, &per_row, &sum);
    for (size_t l = 0; l < L; l++) {
        size_t n = layer(t, l, NULL)->n_out;
        t->A[l] = v;
        t->dZ[l] = v + rows * n;
        v += 2 * rows * n;
        t->M[l] = t->D[l] = NULL;
        if (drops(t, l)) {
            t->M[l] = v;
            t->D[l] = v + rows * n;
            v += 2 * rows * n;
        }
    }
    for (size_t w = 0; w < t->T; w++) {
        double *db = (double *)(void *)(base + o->dbv) + w * sum;
        for (size_t l = 0; l < L; l++) {
            const nn_layer *Ly = layer(t, l, NULL);
            size_t *own = t->own + (w * L + l) * 4;
            t->pdb[w * L + l] = db;
            db += Ly->n_out;
            part(Ly->n_in, t->T, w, &own[0], &own[1]);
            part(Ly->n_out, t->T, w, &own[2], &own[3]);
        }
    }
}

static void place(nn__team *t, const offsets *o)
{
    unsigned char *base = block_base(t);
    const size_t L = t->L, tl = t->T * L;
    t->ctx = (nn_ctx_t **)(void *)(base + o->ctx);
    double **bufs = (double **)(void *)(base + o->bufs);
    t->A = bufs, t->M = bufs + L, t->D = bufs + 2 * L, t->dZ = bufs + 3 * L;
    double **parts = (double **)(void *)(base + o->parts);
    t->pA = parts, t->pM = parts + tl, t->pD = parts + 2 * tl;
    t->pdZ = parts + 3 * tl, t->pdb = parts + 4 * tl;
    t->own = (size_t *)(void *)(base + o->own);
    t->slots = base + o->slots;
    memset(t->slots, 0, t->T * SLOT_BYTES);
    t->X = (double *)(void *)(base + o->X);
    t->Y = (double *)(void *)(base + o->Y);
    t->lab = (int32_t *)(void *)(base + o->lab);
    for (size_t w = 0; w < t->T; w++) t->ctx[w] = NULL;
    place_layers(t, o);
}

void nn__team_destroy(nn__team *t)
{
    if (!t) return;
    nn__pool_destroy(t->pool);
    if (t->ctx)
        for (size_t w = 0; w < t->T; w++) nn_ctx_destroy(t->ctx[w]);
    nn_allocator al = t->al;
    nn__free(&al, t->block, t->bytes);
    nn__free(&al, t, sizeof *t);
}

nn_status nn__team_create(nn__team **out, nn_net_t *net, size_t threads,
                          size_t batch, size_t k, const nn_allocator *al)
{
    if (threads == 0 || batch == 0) return NN_ERR_INVALID;
    nn__team *t = nn__alloc(al, sizeof *t);
    if (!t) return NN_ERR_NOMEM;
    *t = (nn__team){.al = *al, .net = net,
                    .T = threads < batch ? threads : batch,
                    .L = nn_net_n_layers(net), .n = nn_net_n_in(net),
                    .k = k};
    t->cap = (batch - 1) / t->T + 1;
    offsets o;
    nn_status st = plan(t, &o) ? NN_OK : NN_ERR_TOO_LARGE;
    if (!st) {
        t->bytes = o.end;
        t->block = nn__alloc(al, t->bytes);
        if (!t->block) st = NN_ERR_NOMEM;
    }
    if (!st) place(t, &o);
    for (size_t w = 0; !st && w < t->T; w++)
        st = nn__ctx_make(&t->ctx[w], net, t->cap, false, al);
    if (!st) st = nn__pool_create(&t->pool, t->T, al);
    if (st) {
        nn__team_destroy(t);
        return st;
    }
    *out = t;
    return NN_OK;
}

/* ------------------------------------------------------------ round 1 */
/* Worker w's rows: gathered into the batch buffers, and its parts of the
 * layers' buffers. */
static void gather_part(nn__team *t, size_t w)
{
    const job *j = &t->job;
    slot *s = slot_of(t, w);
    size_t lo, hi;
    part(j->m, t->T, w, &lo, &hi);
    s->rows = hi - lo;
    s->loss = 0.0;
    for (size_t l = 0; l < t->L; l++) {
        size_t n = layer(t, l, NULL)->n_out, e = w * t->L + l;
        t->pA[e] = t->A[l] + lo * n;
        t->pdZ[e] = t->dZ[l] + lo * n;
        t->pM[e] = t->M[l] ? t->M[l] + lo * n : NULL;
        t->pD[e] = t->D[l] ? t->D[l] + lo * n : NULL;
    }
    if (hi > lo)
        nn__gather_rows(j->v, j->rows + lo, hi - lo, t->X + lo * t->n,
                        t->k ? (void *)(t->Y + lo * t->k)
                             : (void *)(t->lab + lo));
}

/* The input of layer l for all the rows: the gathered X or layer l-1's
 * output (dropped, under dropout); row-major, n_in wide. */
static const double *layer_in(const nn__team *t, size_t l)
{
    if (l == 0) return t->X;
    return drops(t, l - 1) ? t->D[l - 1] : t->A[l - 1];
}

/* Worker w's rows: gathered, forward, the loss, the backward pass without
 * the dW products. */
static void rows_round(void *ctx, size_t w)
{
    nn__team *t = ctx;
    const job *j = &t->job;
    gather_part(t, w);
    slot *s = slot_of(t, w);
    if (s->rows == 0) return;
    size_t lo, hi, e = w * t->L;
    part(j->m, t->T, w, &lo, &hi);
    nn_targets tg = {.rs = t->k, .cs = 1};
    if (t->k) tg.Y = t->Y + lo * t->k;
    else tg.labels = t->lab + lo;
    nn__part p = {.m = hi - lo, .X = t->X + lo * t->n,
                  .t = &tg, .dp = j->dp, .A = t->pA + e, .M = t->pM + e,
                  .D = t->pD + e, .dZ = t->pdZ + e, .db = t->pdb + e};
    p.dp.row0 += lo;
    s->loss = nn__net_part_backprop(t->net, &p, true);
}

/* ------------------------------------------------------------ round 2 */
/* W_l's rows [r0, r1) over all the rows: their gradient into the net's
 * array (times the scale) or, fused, W += -lr*scale * (the product); the
 * biases [c0, c1) alike, from the workers' column sums in worker order. */
static void own_products(nn__team *t, size_t l, const size_t *own)
{
    const job *j = &t->job;
    size_t woff = 0;
    const nn_layer *L = layer(t, l, &woff);
    const size_t ni = L->n_in, no = L->n_out, r0 = own[0], r1 = own[1];
    double *g = nn_net_grads(t->net);
    double *C = j->fused ? L->W : g + woff;
    double *cb = j->fused ? L->b : g + woff + ni * no;
    /* C[r0:r1, :] (+)= alpha * In[:, r0:r1]^T . dZ_l */
    if (r1 > r0)
        nn__gemm(true, false, r1 - r0, no, j->m,
                 j->fused ? -j->lr * j->scale : j->scale, layer_in(t, l) + r0,
                 ni, t->dZ[l], no, j->fused ? 1.0 : 0.0, C + r0 * no, no);
    for (size_t c = own[2]; c < own[3]; c++) {
        double s = 0.0;
        for (size_t u = 0; u < t->T; u++)
            if (slot_of(t, u)->rows) s += t->pdb[u * t->L + l][c];
        if (j->fused) cb[c] -= j->lr * (j->scale * s);
        else cb[c] = j->scale * s;
    }
}

/* Parameters [lo, hi): checked, measured (running max and sum of squares
 * scaled by it), updated, as the job says. */
static void own_range(nn__team *t, size_t lo, size_t hi, slot *s)
{
    const job *j = &t->job;
    if (hi == lo) return;
    const double *g = nn_net_grads(t->net);
    if (j->check && !nn__all_finite(g + lo, hi - lo)) s->bad = true;
    if (j->norm) {
        double amax = s->amax;
        for (size_t i = lo; i < hi; i++) amax = fmax(amax, fabs(g[i]));
        if (amax > s->amax && s->amax > 0.0) { /* rescale what is summed */
            double f = s->amax / amax;
            s->ss *= f * f;
        }
        s->amax = amax;
        if (amax > 0.0 && isfinite(amax))
            for (size_t i = lo; i < hi; i++) {
                double r = g[i] / amax;
                s->ss += r * r;
            }
    }
    if (j->update && !s->bad)
        nn__optim_update_range(j->opt, t->net, &j->c, lo, hi);
}

/* What worker w owns of layer l, as parameter ranges: W's rows [r0, r1),
 * then b's [c0, c1); each checked, measured and updated as the job says. */
static void own_ranges(nn__team *t, size_t w, size_t l, slot *s)
{
    size_t woff = 0;
    const nn_layer *L = layer(t, l, &woff);
    const size_t *own = t->own + (w * t->L + l) * 4, no = L->n_out;
    const size_t boff = woff + L->n_in * no;
    own_range(t, woff + own[0] * no, woff + own[1] * no, s);
    own_range(t, boff + own[2], boff + own[3], s);
}

/* Worker w's parameters: (with products) their products over all rows,
 * then each range checked, measured and updated as the job says. */
static void params_pass(nn__team *t, size_t w, bool products)
{
    slot *s = slot_of(t, w);
    s->bad = false;
    s->amax = s->ss = 0.0;
    for (size_t l = 0; l < t->L; l++) {
        if (products) own_products(t, l, t->own + (w * t->L + l) * 4);
        if (!products || !t->job.fused) own_ranges(t, w, l, s);
    }
}

static void params_round(void *ctx, size_t w) { params_pass(ctx, w, true); }
static void ranges_round(void *ctx, size_t w) { params_pass(ctx, w, false); }

/* The clipping factor from the workers' norm parts, combined in worker
 * order: s = clip / max(norm, clip); 1 for a zero or non-finite max and
 * for a NaN norm, as optim.c's clip_factor. */
static double clip_from_parts(const nn__team *t, double clip)
{
    double amax = 0.0, ss = 0.0;
    for (size_t w = 0; w < t->T; w++) amax = fmax(amax, slot_of(t, w)->amax);
    if (amax == 0.0 || !isfinite(amax)) return 1.0;
    for (size_t w = 0; w < t->T; w++) {
        const slot *s = slot_of(t, w);
        if (s->amax > 0.0) {
            double f = s->amax / amax;
            ss += s->ss * f * f;
        }
    }
    double norm = amax * sqrt(ss);
    return norm > clip ? clip / norm : 1.0;
}

static bool any_bad(const nn__team *t)
{
    for (size_t w = 0; w < t->T; w++)
        if (slot_of(t, w)->bad) return true;
    return false;
}

/* ------------------------------------------------------------ steps */
/* Round 1 for a batch; the parts' losses added in worker order, times the
 * scale. Check-finite: a non-finite loss fails (NN_ERR_NUMERIC). */
static nn_status rows_all(nn__team *t, const nn__dview *v, const size_t *rows,
                          size_t m, uint64_t row0, double scale, double *loss)
{
    job *j = &t->job;
    *j = (job){.v = v, .rows = rows, .m = m, .scale = scale,
               .check = nn__net_check_finite(t->net)};
    nn__net_get_drop_state(t->net, &j->dp.seed, &j->dp.step);
    j->dp.row0 = row0;
    nn__pool_run(t->pool, rows_round, t);
    double l = 0.0;
    for (size_t w = 0; w < t->T; w++)
        if (slot_of(t, w)->rows) l += slot_of(t, w)->loss;
    *loss = l * scale;
    return j->check && !isfinite(*loss) ? NN_ERR_NUMERIC : NN_OK;
}

/* The pass is drawn: the net's dropout stream moves on by one. */
static void pass_done(nn__team *t)
{
    nn__net_set_drop_state(t->net, t->job.dp.seed, t->job.dp.step + 1);
}

nn_status nn__team_gradient(nn__team *t, const nn__dview *v,
                            const size_t *rows, size_t m, uint64_t row0,
                            double scale, double *loss)
{
    nn__net_set_has_grad(t->net, false);
    double l;
    nn_status st = rows_all(t, v, rows, m, row0, scale, &l);
    if (st) return st;
    nn__pool_run(t->pool, params_round, t); /* the gradient, checked */
    if (t->job.check && any_bad(t)) return NN_ERR_NUMERIC;
    pass_done(t);
    nn__net_set_has_grad(t->net, true);
    *loss = l;
    return NN_OK;
}

/* The last round: the clipping factor, the update of every owned range. */
static void update_all(nn__team *t, nn_optim_t *opt)
{
    job *j = &t->job;
    if (j->norm) j->c.s = clip_from_parts(t, nn__optim_clip_norm(opt));
    j->check = j->norm = false;
    j->update = true;
    nn__pool_run(t->pool, ranges_round, t);
    nn__optim_end(opt, t->net, &j->c);
}

nn_status nn__team_update(nn__team *t, nn_optim_t *opt)
{
    job *j = &t->job;
    nn_status st = nn__optim_begin(opt, t->net, &j->c);
    if (st) return st;
    /* the gradient as it is now (a hook may have changed it) */
    j->opt = opt;
    j->fused = false;
    j->check = nn__net_check_finite(t->net);
    j->norm = nn__optim_clip_norm(opt) > 0.0;
    j->update = false;
    if (j->check || j->norm) nn__pool_run(t->pool, ranges_round, t);
    if (j->check && any_bad(t)) return NN_ERR_NUMERIC;
    update_all(t, opt);
    return NN_OK;
}

nn_status nn__team_step(nn__team *t, nn_optim_t *opt, const nn__dview *v,
                        const size_t *rows, size_t m, uint64_t row0,
                        double scale, double *loss)
{
    job *j = &t->job;
    double l;
    nn_status st = rows_all(t, v, rows, m, row0, scale, &l);
    if (st) return st;
    nn__net_set_has_grad(t->net, true); /* for nn__optim_begin's check */
    st = nn__optim_begin(opt, t->net, &j->c);
    nn__net_set_has_grad(t->net, false);
    if (st) return st;
    j->opt = opt;
    j->norm = nn__optim_clip_norm(opt) > 0.0;
    /* net.c's condition for its fused step */
    j->fused = nn__optim_plain_sgd(opt, &j->lr) && !j->check;
    /* the update in the same round, unless it needs the whole gradient */
    j->update = !j->check && !j->norm;
    nn__pool_run(t->pool, params_round, t);
    if (j->check && any_bad(t)) return NN_ERR_NUMERIC;
    if (j->update) {
        nn__optim_end(opt, t->net, &j->c);
    } else {
        nn__net_set_has_grad(t->net, true);
        update_all(t, opt);
    }
    pass_done(t);
    *loss = l;
    return NN_OK;
}

/* ------------------------------------------------------------ evaluation */
static void eval_round(void *ctx, size_t w)
{
    nn__team *t = ctx;
    const job *j = &t->job;
    slot *s = slot_of(t, w);
    size_t lo, hi;
    part(j->m, t->T, w, &lo, &hi);
    s->loss = s->correct = 0.0;
    s->st = NN_OK;
    if (hi == lo) return;
    const size_t n = t->n, k = t->k, c = t->cap;
    void *gt = k ? (void *)(t->Y + w * c * k) : (void *)(t->lab + w * c);
    if (j->rows) {
        s->st = nn__eval_sums(t->net, t->ctx[w], j->v, j->rows + lo, hi - lo,
                              t->X + w * c * n, gt, &s->loss, &s->correct);
        return;
    }
    nn__dview sub = *j->v;
    sub.m = hi - lo;
    sub.X += lo * sub.n;
    if (sub.labels) sub.labels += lo;
    else sub.Y += lo * sub.k;
    s->st = nn__eval_sums(t->net, t->ctx[w], &sub, NULL, hi - lo, NULL, NULL,
                          &s->loss, &s->correct);
}

nn_status nn__team_eval(nn__team *t, const nn__dview *v, const size_t *rows,
                        size_t count, double *loss, double *correct)
{
    t->job = (job){.v = v, .rows = rows, .m = count};
    nn__pool_run(t->pool, eval_round, t);
    double l = 0.0, c = 0.0;
    for (size_t w = 0; w < t->T; w++) {
        const slot *s = slot_of(t, w);
        if (s->st) return s->st;
        l += s->loss;
        c += s->correct;
    }
    *loss = l;
    *correct = c;
    return NN_OK;
}
