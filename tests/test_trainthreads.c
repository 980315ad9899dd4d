/* test_trainthreads.c — batch-parallel nn_train (NN_TRAIN_THREADS).
 *
 * The reference is the same run with NN_TRAIN_THREADS 0 and one BLAS
 * thread. With T = 2..4 workers the gradient is the same sum in another
 * order (the parts' gradients of a summed loss, scaled by 1/m after the
 * sum, each parameter's product over all rows by its owner) and the
 * update the same elementwise formula, so parameters, optimizer state and
 * results must agree to 1e-12 relative (max |a - b| / max |b|) after whole
 * runs: SGD (fused inside the products), momentum and Nesterov with weight
 * decay, Adam, AdamW, clipping (the global norm from the workers' parts),
 * dropout (masks of the rows' global indices), a validation split or set
 * with patience and best-weights restoration, labels and dense targets,
 * both reductions, shallow and deep networks (layers forwarded by columns,
 * a softmax hidden layer that is not). T = 1 is the one-thread run itself:
 * bitwise. Two runs with the same T are bitwise equal, and so is a run
 * paused and resumed with the same T. Failures (a NaN row under
 * check-finite, a hook's status, every allocation of the run refused in
 * turn) roll back like any run, and the BLAS's thread count comes back.
 * The suite also runs under ThreadSanitizer (.ci/test). */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

#define TOL 1e-12

/* 151 rows: with a 0.2 split, 30 validation and 121 training rows; the
 * first 121 alone are the training set next to an explicit validation set.
 * Batches of 17: 7 full ones and a last one of 2 rows (with 3 or 4 workers
 * some get none). */
enum { M = 151, M_TR = 121, M_VAL = 3, NIN = 5, C = 3, K = 2 };
enum { BATCH = 17, EPOCHS = 3 };
static double X[(M + M_VAL) * NIN], Y[(M + M_VAL) * K];
static int32_t LAB[M + M_VAL];

/* Three classes from a nonlinear rule, smooth dense targets; the explicit
 * validation rows get shifted labels and negated targets, so their loss
 * rises as training fits the others (patience then stops the run). */
static void make_data(void)
{
    tu_rng r = {77};
    tu_fill(&r, X, (M + M_VAL) * NIN, -1.0, 1.0);
    for (size_t i = 0; i < M + M_VAL; i++) {
        const double *x = X + i * NIN;
        double a = x[0] * x[1] + 0.5 * x[2] - 0.2 * x[4], b = sin(3.0 * x[3]);
        int32_t c = a > 0.1 ? 0 : b > 0.0 ? 1 : 2;
        double y0 = a + 0.3 * b, y1 = x[3] * x[3] - 0.3 + 0.1 * x[4];
        bool flip = i >= M;
        LAB[i] = flip ? (c + 1) % C : c;
        Y[i * K] = flip ? -y0 : y0;
        Y[i * K + 1] = flip ? -y1 : y1;
    }
}

static nn_data_t *data_rows(size_t first, size_t m, bool dense,
                            const nn_allocator *al)
{
    return dense ? tu_data_targets(X + first * NIN, m, NIN, Y + first * K, K,
                                   al)
                 : tu_data(X + first * NIN, m, NIN, LAB + first, al);
}

/* ------------------------------------------------------------ setups */
enum { NET_ONE, NET_TWO, NET_DEEP, NET_SOFTMAX_HIDDEN };

typedef struct cfg {
    nn_optim_kind kind;
    int shape;          /* NET_*                                   */
    double dropout;     /* on every hidden layer                   */
    double decay, clip; /* weight decay, clipping norm             */
    bool decoupled;     /* AdamW                                   */
    bool dense;         /* MSE on Y, else softmax CE on the labels */
    bool own_val;       /* the explicit validation set, else a split */
    int32_t reduction;
} cfg;

static nn_net_t *make_net(const cfg *c)
{
    static const size_t units[4][3] = {{0}, {8}, {8, 6}, {6}};
    static const nn_activation acts[4][3] = {
        {NN_ACT_TANH}, {NN_ACT_TANH}, {NN_ACT_TANH, NN_ACT_RELU},
        {NN_ACT_SOFTMAX}};
    size_t hidden = c->shape == NET_ONE ? 0 : c->shape == NET_DEEP ? 2 : 1;
    nn_netspec_t *s = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(
        &s, NIN, c->dense ? NN_LOSS_MSE : NN_LOSS_SOFTMAX_CE, NULL));
    for (size_t l = 0; l < hidden; l++) {
        NN_OK_OR_FAIL(nn_netspec_add_dense(s, units[c->shape][l],
                                           acts[c->shape][l]));
        NN_OK_OR_FAIL(nn_netspec_set_real(s, l, NN_LAYER_DROPOUT, c->dropout));
    }
    NN_OK_OR_FAIL(nn_netspec_add_dense(
        s, c->dense ? K : C, c->dense ? NN_ACT_IDENTITY : NN_ACT_SOFTMAX));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_DROPOUT_SEED, 91));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_REDUCTION,
                                     c->reduction));
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
    nn_netspec_destroy(s);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, 5));
    return net;
}

static nn_optim_t *make_opt(const nn_net_t *net, const cfg *c)
{
    nn_optim_t *o = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o, net, c->kind, NULL));
    double lr = c->kind == NN_OPTIM_ADAM ? 0.02 : 0.2;
    if (c->reduction == NN_REDUCE_SUM) lr /= BATCH;
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, lr));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_WEIGHT_DECAY, c->decay));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_CLIP_NORM, c->clip));
    NN_OK_OR_FAIL(nn_optim_set_int(o, NN_OPTIM_DECOUPLED, c->decoupled));
    return o;
}

static nn_trainer_t *make_trainer(const cfg *c, int64_t threads,
                                  const nn_allocator *al)
{
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, al));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_EPOCHS, EPOCHS));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_BATCH_SIZE, BATCH));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_SEED, 13));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_PATIENCE, 1));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_THREADS, threads));
    if (!c->own_val)
        NN_OK_OR_FAIL(nn_trainer_set_real(t, NN_TRAIN_VAL_FRACTION, 0.2));
    return t;
}

/* One whole run and what it leaves. */
typedef struct result {
    nn_status st;
    size_t P, S;
    double *params, *state, final_loss, best_val;
    uint64_t steps;
    int64_t epochs_run, best_epoch, steps_run, stopped, drop_step;
} result;

static void run_take(result *r, nn_net_t *net, nn_optim_t *o, nn_trainer_t *t)
{
    r->P = nn_net_n_params(net);
    r->S = nn_optim_state_len(o);
    r->params = tu_dalloc(r->P);
    r->state = tu_dalloc(r->S);
    memcpy(r->params, nn_net_params(net), r->P * sizeof(double));
    NN_OK_OR_FAIL(nn_optim_get_state(o, &r->steps, r->state, r->S));
    r->drop_step = tu_net_int(net, NN_NET_DROPOUT_STEP);
    if (r->st) return;
    r->epochs_run = tu_geti(t, NN_TRAIN_EPOCHS_RUN);
    r->best_epoch = tu_geti(t, NN_TRAIN_BEST_EPOCH);
    r->steps_run = tu_geti(t, NN_TRAIN_STEPS_RUN);
    r->stopped = tu_geti(t, NN_TRAIN_STOPPED_EARLY);
    r->final_loss = tu_getr(t, NN_TRAIN_FINAL_LOSS);
    r->best_val = tu_getr(t, NN_TRAIN_BEST_VAL_LOSS);
}

static void result_free(result *r)
{
    free(r->params);
    free(r->state);
}

/* A run of c with `threads` workers (one BLAS thread, as the reference's;
 * DROPOUT_ROW0 row0 at the call). */
static result run_cfg(const cfg *c, int64_t threads, int64_t row0)
{
    nn_data_t *train = data_rows(0, c->own_val ? M_TR : M, c->dense, NULL);
    nn_data_t *val = c->own_val ? data_rows(M, M_VAL, c->dense, NULL) : NULL;
    nn_net_t *net = make_net(c);
    nn_optim_t *o = make_opt(net, c);
    nn_trainer_t *t = make_trainer(c, threads, NULL);
    NN_OK_OR_FAIL(nn_net_set_int(net, NN_NET_DROPOUT_ROW0, row0));
    result r = {.st = nn_train(t, net, o, train, val)};
    run_take(&r, net, o, t);
    ck_assert_int_eq(tu_net_int(net, NN_NET_DROPOUT_ROW0), row0);
    ck_assert_int_eq(tu_net_int(net, NN_NET_REDUCTION), c->reduction);
    nn_trainer_destroy(t);
    nn_optim_destroy(o);
    nn_net_destroy(net);
    nn_data_destroy(val);
    nn_data_destroy(train);
    return r;
}

static void same_results(const result *a, const result *ref, const char *what)
{
    ck_assert_msg(a->st == NN_OK && ref->st == NN_OK, "%s: status %d / %d",
                  what, (int)a->st, (int)ref->st);
    ck_assert_int_eq(a->epochs_run, ref->epochs_run);
    ck_assert_int_eq(a->best_epoch, ref->best_epoch);
    ck_assert_int_eq(a->steps_run, ref->steps_run);
    ck_assert_int_eq(a->stopped, ref->stopped);
    ck_assert_int_eq(a->drop_step, ref->drop_step);
    ck_assert(a->steps == ref->steps);
    ck_assert_double_le(tu_relerr(a->final_loss, ref->final_loss, 1e-300), TOL);
    if (!isnan(ref->best_val))
        ck_assert_double_le(tu_relerr(a->best_val, ref->best_val, 1e-300),
                            TOL);
}

static bool bitwise(const result *a, const result *b)
{
    return a->P == b->P && a->S == b->S && a->steps == b->steps &&
           memcmp(a->params, b->params, a->P * sizeof(double)) == 0 &&
           (a->S == 0 ||
            memcmp(a->state, b->state, a->S * sizeof(double)) == 0);
}

static double g_max_err; /* largest error measured, for the log */

/* c with 1..4 workers against the one-thread run. */
static void equivalence(const cfg *c, int64_t row0)
{
    nn_set_num_threads(1); /* the reference's BLAS; no-op without control */
    result ref = run_cfg(c, 0, row0);
    ck_assert_int_eq(ref.st, NN_OK);
    for (int64_t T = 1; T <= 4; T++) {
        result r = run_cfg(c, T, row0);
        char what[96];
        snprintf(what, sizeof what, "kind %d shape %d drop %g clip %g dense "
                 "%d val %d red %d, %d threads", (int)c->kind, c->shape,
                 c->dropout, c->clip, c->dense, c->own_val,
                 (int)c->reduction, (int)T);
        same_results(&r, &ref, what);
        double e = tu_max_rel_err(r.params, ref.params, r.P);
        ck_assert_msg(e <= TOL, "%s: parameter error %g", what, e);
        ck_assert_msg(tu_max_rel_err(r.state, ref.state, r.S) <= TOL,
                      "%s: optimizer state error", what);
        if (T == 1) ck_assert_msg(bitwise(&r, &ref), "%s: not bitwise", what);
        g_max_err = fmax(g_max_err, e);
        result_free(&r);
    }
    result_free(&ref);
}

/* ------------------------------------------------------------ equivalence */
/* Every optimizer, dropout or none, split or set, for one kind of targets
 * and one shape. */
static void equivalence_optims(bool dense, int shape)
{
    const cfg base = {.shape = shape, .dense = dense,
                      .reduction = NN_REDUCE_MEAN};
    cfg cs[5] = {base, base, base, base, base};
    cs[0].kind = NN_OPTIM_SGD;
    cs[1].kind = NN_OPTIM_ADAM;
    cs[2].kind = NN_OPTIM_MOMENTUM, cs[2].decay = 1e-3;
    cs[3].kind = NN_OPTIM_NESTEROV, cs[3].decay = 1e-3;
    cs[4].kind = NN_OPTIM_ADAM, cs[4].decay = 1e-2, cs[4].decoupled = true;
    for (int k = 0; k < 5; k++)
        for (int d = 0; d < 2; d++)
            for (int v = 0; v < 2; v++) {
                cfg c = cs[k];
                c.dropout = d && shape != NET_ONE ? 0.3 : 0.0;
                c.own_val = v != 0;
                equivalence(&c, d ? 0 : 4);
            }
    printf("trainthreads: %s targets, shape %d: max relative parameter "
           "error %.3g\n", dense ? "dense" : "label", shape, g_max_err);
}

START_TEST(equivalent_labels) { equivalence_optims(false, NET_TWO); }
END_TEST

START_TEST(equivalent_dense) { equivalence_optims(true, NET_TWO); }
END_TEST

START_TEST(equivalent_deep) { equivalence_optims(false, NET_DEEP); }
END_TEST

/* A single layer (nothing forwarded by columns) and a softmax hidden layer
 * (which needs whole rows: forwarded with them). */
START_TEST(equivalent_shapes)
{
    cfg c = {NN_OPTIM_ADAM, NET_ONE, .reduction = NN_REDUCE_MEAN};
    equivalence(&c, 0);
    c.dense = true;
    equivalence(&c, 0);
    cfg s = {NN_OPTIM_SGD, NET_SOFTMAX_HIDDEN, 0.2, .own_val = true,
             .reduction = NN_REDUCE_MEAN};
    equivalence(&s, 0);
}
END_TEST

/* Clipping: the global norm combined from the workers' parts, clip norms
 * that scale every step (small) and some (large). */
START_TEST(equivalent_clipping)
{
    const double clips[2] = {1e-3, 0.5};
    for (int i = 0; i < 2; i++) {
        cfg a = {NN_OPTIM_ADAM, NET_DEEP, 0.3, .clip = clips[i],
                 .reduction = NN_REDUCE_MEAN};
        equivalence(&a, 0);
        cfg s = {NN_OPTIM_SGD, NET_TWO, .clip = clips[i], .dense = true,
                 .own_val = true, .reduction = NN_REDUCE_MEAN};
        equivalence(&s, 2);
    }
}
END_TEST

/* A net summing its batch losses; DROPOUT_ROW0 not 0 at the call with
 * dropout (the masks of those global rows). */
START_TEST(equivalent_sum_and_row0)
{
    cfg a = {NN_OPTIM_ADAM, NET_DEEP, 0.3, .dense = true,
             .reduction = NN_REDUCE_SUM};
    equivalence(&a, 0);
    cfg b = {NN_OPTIM_SGD, NET_TWO, 0.3, .reduction = NN_REDUCE_MEAN};
    equivalence(&b, 7);
}
END_TEST

/* More threads than rows in a batch: at most one worker per row. */
START_TEST(more_threads_than_rows)
{
    cfg c = {NN_OPTIM_ADAM, NET_TWO, 0.3, .reduction = NN_REDUCE_MEAN};
    nn_data_t *train = data_rows(0, 20, false, NULL);
    result r[3];
    const int64_t threads[3] = {0, 3, 64};
    for (int i = 0; i < 3; i++) {
        nn_net_t *net = make_net(&c);
        nn_optim_t *o = make_opt(net, &c);
        nn_trainer_t *t = make_trainer(&c, threads[i], NULL);
        NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_BATCH_SIZE, 3));
        NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_PATIENCE, 0));
        NN_OK_OR_FAIL(nn_trainer_set_real(t, NN_TRAIN_VAL_FRACTION, 0.0));
        r[i] = (result){.st = nn_train(t, net, o, train, NULL)};
        run_take(&r[i], net, o, t);
        nn_trainer_destroy(t);
        nn_optim_destroy(o);
        nn_net_destroy(net);
    }
    for (int i = 1; i < 3; i++) {
        same_results(&r[i], &r[0], "more threads than rows");
        ck_assert_double_le(tu_max_rel_err(r[i].params, r[0].params, r[0].P), TOL);
    }
    ck_assert(bitwise(&r[1], &r[2])); /* both 3 workers: one per row */
    for (int i = 0; i < 3; i++) result_free(&r[i]);
    nn_data_destroy(train);
}
END_TEST

/* ------------------------------------------------------------ bitwise */
/* Two runs with the same number of workers: the same bits. */
START_TEST(bitwise_for_a_given_T)
{
    cfg c = {NN_OPTIM_ADAM, NET_DEEP, 0.3, .clip = 0.5,
             .reduction = NN_REDUCE_MEAN};
    for (int64_t T = 2; T <= 4; T++) {
        result a = run_cfg(&c, T, 0), b = run_cfg(&c, T, 0);
        ck_assert_int_eq(a.st, NN_OK);
        ck_assert_msg(bitwise(&a, &b), "%d threads: runs differ", (int)T);
        result_free(&a);
        result_free(&b);
    }
    cfg s = {NN_OPTIM_SGD, NET_TWO, 0.3, .reduction = NN_REDUCE_MEAN};
    result a = run_cfg(&s, 3, 0), b = run_cfg(&s, 3, 0);
    ck_assert(bitwise(&a, &b));
    result_free(&a);
    result_free(&b);
}
END_TEST

/* ------------------------------------------------------------ pause */
/* Pause at the p-th report of `kind` (batch reports every 2 batches). */
typedef struct pauser {
    int32_t kind;
    int at, seen;
} pauser;

static int32_t pause_cb(const nn_report *rep, void *ctx)
{
    pauser *p = ctx;
    if (rep->kind != p->kind) return 0;
    return ++p->seen == p->at ? NN_REPORT_PAUSE : 0;
}

/* The run of c with T workers, paused where p says and resumed with T2
 * workers, into *r. */
static void paused_run(const cfg *c, int64_t T, int64_t T2, pauser p,
                       result *r)
{
    nn_data_t *train = data_rows(0, c->own_val ? M_TR : M, c->dense, NULL);
    nn_data_t *val = c->own_val ? data_rows(M, M_VAL, c->dense, NULL) : NULL;
    nn_net_t *net = make_net(c);
    nn_optim_t *o = make_opt(net, c);
    nn_trainer_t *t = make_trainer(c, T, NULL);
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_REPORT_EVERY, 2));
    NN_OK_OR_FAIL(nn_trainer_set_report(t, pause_cb, &p));
    NN_OK_OR_FAIL(nn_train(t, net, o, train, val));
    ck_assert_int_eq(tu_geti(t, NN_TRAIN_PAUSED), 1);
    NN_OK_OR_FAIL(nn_trainer_set_report(t, NULL, NULL));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_RESUME, 1));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_THREADS, T2));
    *r = (result){.st = nn_train(t, net, o, train, val)};
    run_take(r, net, o, t);
    nn_trainer_destroy(t);
    nn_optim_destroy(o);
    nn_net_destroy(net);
    nn_data_destroy(val);
    nn_data_destroy(train);
}

START_TEST(pause_resume_bitwise)
{
    cfg c = {NN_OPTIM_ADAM, NET_DEEP, 0.3, .reduction = NN_REDUCE_MEAN};
    cfg v = {NN_OPTIM_SGD, NET_TWO, 0.3, .own_val = true,
             .reduction = NN_REDUCE_MEAN};
    const pauser at[3] = {{NN_REPORT_BATCH, 3, 0}, {NN_REPORT_EPOCH, 1, 0},
                          {NN_REPORT_BATCH, 6, 0}};
    for (int k = 0; k < 2; k++) {
        const cfg *cc = k ? &v : &c;
        result whole = run_cfg(cc, 2, 0);
        for (int i = 0; i < 3; i++) {
            result r;
            paused_run(cc, 2, 2, at[i], &r);
            same_results(&r, &whole, "paused, 2 threads");
            ck_assert_msg(bitwise(&r, &whole), "pause %d: not bitwise", i);
            result_free(&r);
            /* another T after the pause: the same up to rounding */
            paused_run(cc, 2, 3, at[i], &r);
            ck_assert_double_le(tu_max_rel_err(r.params, whole.params, r.P), TOL);
            result_free(&r);
        }
        result_free(&whole);
    }
}
END_TEST

/* ------------------------------------------------------------ failures */
typedef struct snap {
    double *params, *state, lr;
    uint64_t steps;
    int64_t drop_step, row0, red;
} snap;

static snap take_snap(nn_net_t *net, nn_optim_t *o)
{
    snap p;
    size_t P = nn_net_n_params(net);
    p.params = tu_dalloc(P);
    memcpy(p.params, nn_net_params(net), P * sizeof(double));
    p.state = tu_dalloc(nn_optim_state_len(o));
    NN_OK_OR_FAIL(nn_optim_get_state(o, &p.steps, p.state,
                                     nn_optim_state_len(o)));
    NN_OK_OR_FAIL(nn_optim_get_real(o, NN_OPTIM_LR, &p.lr));
    p.drop_step = tu_net_int(net, NN_NET_DROPOUT_STEP);
    p.row0 = tu_net_int(net, NN_NET_DROPOUT_ROW0);
    p.red = tu_net_int(net, NN_NET_REDUCTION);
    return p;
}

/* net and o exactly as at the snap (which is freed). */
static void check_unchanged(nn_net_t *net, nn_optim_t *o, snap *p)
{
    size_t P = nn_net_n_params(net), S = nn_optim_state_len(o);
    ck_assert(memcmp(nn_net_params(net), p->params, P * sizeof(double)) == 0);
    uint64_t steps;
    double *st = tu_dalloc(S), lr;
    NN_OK_OR_FAIL(nn_optim_get_state(o, &steps, st, S));
    ck_assert(steps == p->steps);
    ck_assert(memcmp(st, p->state, S * sizeof(double)) == 0);
    NN_OK_OR_FAIL(nn_optim_get_real(o, NN_OPTIM_LR, &lr));
    ck_assert(lr == p->lr);
    ck_assert_int_eq(tu_net_int(net, NN_NET_DROPOUT_STEP), p->drop_step);
    ck_assert_int_eq(tu_net_int(net, NN_NET_DROPOUT_ROW0), p->row0);
    ck_assert_int_eq(tu_net_int(net, NN_NET_REDUCTION), p->red);
    ck_assert_int_eq(nn_net_has_grads(net), 0);
    free(st);
    free(p->params);
    free(p->state);
}

/* An Adam net that has taken steps (a non-zero state), DROPOUT_ROW0 2,
 * check-finite on, no shuffle, no validation. */
static void make_failing(nn_net_t **net, nn_optim_t **o)
{
    cfg c = {NN_OPTIM_ADAM, NET_DEEP, 0.3, .own_val = true,
             .reduction = NN_REDUCE_MEAN};
    *net = make_net(&c);
    *o = make_opt(*net, &c);
    size_t S = nn_optim_state_len(*o);
    double *st = tu_dalloc(S);
    for (size_t j = 0; j < S; j++)
        st[j] = j < S / 2 ? 1e-3 * sin((double)j)
                          : 1e-6 * (1.0 + cos((double)j));
    NN_OK_OR_FAIL(nn_optim_set_state(*o, 3, st, S));
    NN_OK_OR_FAIL(nn_net_set_int(*net, NN_NET_CHECK_FINITE, 1));
    NN_OK_OR_FAIL(nn_net_set_int(*net, NN_NET_DROPOUT_ROW0, 2));
    free(st);
}

static nn_trainer_t *failing_trainer(int64_t T, const nn_allocator *al)
{
    cfg c = {NN_OPTIM_ADAM, NET_DEEP, .own_val = true};
    nn_trainer_t *t = make_trainer(&c, T, al);
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_SHUFFLE, 0));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_PATIENCE, 0));
    return t;
}

/* A NaN in training row 100 (batch 5, rows 85..101, unshuffled: local row
 * 15, the last worker's of 2, 3 or 4) after 5 updates: NN_ERR_NUMERIC,
 * everything as at the call, the BLAS's thread count too. */
START_TEST(nan_row_rolls_back)
{
    nn_data_t *train = data_rows(0, M_TR, false, NULL);
    nn_data_x(train)[100 * NIN + 3] = NAN;
    size_t blas0 = 0;
    bool have_blas = nn_get_num_threads(&blas0) == NN_OK;
    if (have_blas) NN_OK_OR_FAIL(nn_set_num_threads(2));
    for (int64_t T = 2; T <= 4; T++) {
        nn_net_t *net;
        nn_optim_t *o;
        make_failing(&net, &o);
        nn_trainer_t *t = failing_trainer(T, NULL);
        snap p = take_snap(net, o);
        ck_assert_int_eq(nn_train(t, net, o, train, NULL), NN_ERR_NUMERIC);
        check_unchanged(net, o, &p);
        size_t n = 0;
        if (have_blas) {
            NN_OK_OR_FAIL(nn_get_num_threads(&n));
            ck_assert_uint_eq(n, 2);
        }
        nn_trainer_destroy(t);
        nn_optim_destroy(o);
        nn_net_destroy(net);
    }
    if (have_blas) NN_OK_OR_FAIL(nn_set_num_threads(blas0));
    nn_data_destroy(train);
}
END_TEST

/* Every allocation of a run with 3 workers refused in turn: NN_ERR_NOMEM,
 * nothing changed, every byte back; then the run succeeds. */
START_TEST(nomem_rolls_back)
{
    nn_data_t *train = data_rows(0, M_TR, false, NULL);
    tu_counter cnt = {0};
    nn_allocator al = tu_allocator(&cnt);
    nn_trainer_t *t = failing_trainer(3, &al);
    nn_net_t *net;
    nn_optim_t *o;
    make_failing(&net, &o);
    long before = cnt.attempts;
    NN_OK_OR_FAIL(nn_train(t, net, o, train, NULL));
    long n = cnt.attempts - before; /* the run's allocations */
    ck_assert_int_ge(n, 5);         /* block, team, its block, contexts, pool */
    nn_optim_destroy(o);
    nn_net_destroy(net);
    for (long k = 1; k <= n; k++) {
        make_failing(&net, &o);
        snap p = take_snap(net, o);
        cnt.fail_at = cnt.attempts + k;
        ck_assert_int_eq(nn_train(t, net, o, train, NULL), NN_ERR_NOMEM);
        check_unchanged(net, o, &p);
        cnt.fail_at = 0;
        nn_optim_destroy(o);
        nn_net_destroy(net);
    }
    nn_trainer_destroy(t);
    TU_ASSERT_BALANCED(&cnt);
    nn_data_destroy(train);
}
END_TEST

/* A hook sees the whole batch's gradient (that of the one-thread run,
 * within TOL) and m; its failure on the third call rolls back. */
typedef struct hookrec {
    int fail_at, calls;
    size_t m;
    double first[256];
} hookrec;

static nn_status hook(double *g, size_t len, size_t m, double *loss, void *ctx)
{
    hookrec *h = ctx;
    (void)loss;
    if (h->calls++ == 0 && len <= 256) {
        h->m = m;
        memcpy(h->first, g, len * sizeof(double));
    }
    return h->calls == h->fail_at ? NN_ERR_IO : NN_OK;
}

START_TEST(hook_sees_whole_gradient)
{
    nn_data_t *train = data_rows(0, M_TR, false, NULL);
    hookrec h[4] = {{0}};
    for (int64_t T = 0; T <= 3; T++) {
        nn_net_t *net;
        nn_optim_t *o;
        make_failing(&net, &o);
        ck_assert_uint_le(nn_net_n_params(net), 256);
        nn_trainer_t *t = failing_trainer(T, NULL);
        h[T].fail_at = 3;
        NN_OK_OR_FAIL(nn_trainer_set_grad_hook(t, hook, &h[T]));
        snap p = take_snap(net, o);
        ck_assert_int_eq(nn_train(t, net, o, train, NULL), NN_ERR_IO);
        check_unchanged(net, o, &p);
        ck_assert_int_eq(h[T].calls, 3);
        ck_assert_uint_eq(h[T].m, BATCH);
        if (T)
            ck_assert_double_le(tu_max_rel_err(h[T].first, h[0].first,
                                        nn_net_n_params(net)),
                                TOL);
        nn_trainer_destroy(t);
        nn_optim_destroy(o);
        nn_net_destroy(net);
    }
    nn_data_destroy(train);
}
END_TEST

/* ------------------------------------------------------------ settings */
START_TEST(threads_key)
{
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, NULL));
    int64_t v = -1;
    NN_OK_OR_FAIL(nn_trainer_get_int(t, NN_TRAIN_THREADS, &v));
    ck_assert_int_eq(v, 0);
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_THREADS, 1024));
    ck_assert_int_eq(nn_trainer_set_int(t, NN_TRAIN_THREADS, 1025),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_set_int(t, NN_TRAIN_THREADS, -1),
                     NN_ERR_INVALID);
    ck_assert_int_eq(nn_trainer_set_real(t, NN_TRAIN_THREADS, 2.0),
                     NN_ERR_INVALID);
    NN_OK_OR_FAIL(nn_trainer_get_int(t, NN_TRAIN_THREADS, &v));
    ck_assert_int_eq(v, 1024);
    int32_t type = 0, w = 0;
    double lo = -1, hi = -1;
    NN_OK_OR_FAIL(nn_param_info(NN_TRAIN_THREADS, &type, &lo, &hi, &w));
    ck_assert(type == NN_PARAM_INT && lo == 0 && hi == 1024 && w == 1);
    nn_trainer_destroy(t);
}
END_TEST

/* The BLAS runs one thread during a run with threads, and its count comes
 * back at the end (checked from the report callback). */
static int32_t blas_cb(const nn_report *rep, void *ctx)
{
    (void)rep;
    size_t *n = ctx;
    if (nn_get_num_threads(n) != NN_OK) *n = 0;
    return 0;
}

START_TEST(blas_threads_restored)
{
    size_t blas0;
    if (nn_get_num_threads(&blas0) != NN_OK) return; /* no thread control */
    NN_OK_OR_FAIL(nn_set_num_threads(3));
    cfg c = {NN_OPTIM_SGD, NET_TWO, .reduction = NN_REDUCE_MEAN};
    nn_data_t *train = data_rows(0, M, false, NULL);
    const int64_t threads[3] = {0, 1, 2};
    const size_t during[3] = {3, 1, 1};
    for (int i = 0; i < 3; i++) {
        nn_net_t *net = make_net(&c);
        nn_optim_t *o = make_opt(net, &c);
        nn_trainer_t *t = make_trainer(&c, threads[i], NULL);
        size_t seen = 0, after = 0;
        NN_OK_OR_FAIL(nn_trainer_set_report(t, blas_cb, &seen));
        NN_OK_OR_FAIL(nn_train(t, net, o, train, NULL));
        ck_assert_uint_eq(seen, during[i]);
        NN_OK_OR_FAIL(nn_get_num_threads(&after));
        ck_assert_uint_eq(after, 3);
        nn_trainer_destroy(t);
        nn_optim_destroy(o);
        nn_net_destroy(net);
    }
    NN_OK_OR_FAIL(nn_set_num_threads(blas0));
    nn_data_destroy(train);
}
END_TEST

static Suite *trainthreads_suite(void)
{
    Suite *s = suite_create("trainthreads");
    TCase *te = tcase_create("equivalence");
    tcase_set_timeout(te, 300);
    tcase_add_test(te, equivalent_labels);
    tcase_add_test(te, equivalent_dense);
    tcase_add_test(te, equivalent_deep);
    tcase_add_test(te, equivalent_shapes);
    tcase_add_test(te, equivalent_clipping);
    tcase_add_test(te, equivalent_sum_and_row0);
    tcase_add_test(te, more_threads_than_rows);
    suite_add_tcase(s, te);
    TCase *tb = tcase_create("bitwise");
    tcase_set_timeout(tb, 300);
    tcase_add_test(tb, bitwise_for_a_given_T);
    tcase_add_test(tb, pause_resume_bitwise);
    suite_add_tcase(s, tb);
    TCase *tf = tcase_create("failures");
    tcase_set_timeout(tf, 300);
    tcase_add_test(tf, nan_row_rolls_back);
    tcase_add_test(tf, nomem_rolls_back);
    tcase_add_test(tf, hook_sees_whole_gradient);
    suite_add_tcase(s, tf);
    TCase *tk = tcase_create("settings");
    tcase_add_test(tk, threads_key);
    tcase_add_test(tk, blas_threads_restored);
    suite_add_tcase(s, tk);
    return s;
}

int main(void)
{
    make_data();
    return tu_run(trainthreads_suite());
}
