/* test_shards.c — sharded (data-parallel) nn_train without MPI: N shards
 * simulated in one process, one thread each, every thread with its own
 * net, optimizer and trainer built identically, all calling nn_train with
 * nn_trainer_set_shards(tr, i, N, allsum, ...) on the same data.
 *
 * The allsum is a real collective over the threads: each copies its buffer
 * into its own slot, waits at a barrier, then sums the slots in the fixed
 * order 0..N-1 into its own buffer (so the result is bitwise the same on
 * every thread), and waits again before the slots can be reused. It also
 * checks that all threads passed the same length (a mismatch, i.e. shards
 * out of step, fails the call with NN_ERR_STATE on every thread).
 *
 * The reference is a plain nn_train (no shards) on the same data, seeds and
 * starting state. The sharded gradient is the same sum in another order
 * (per-shard sums under NN_REDUCE_SUM, divided by the batch's rows after
 * the allsum) and plain SGD without a hook takes the fused update, so
 * parameters agree to rounding: checked at 1e-12 relative, max |a - b| /
 * max |b|, after whole runs with a validation set or split, patience and
 * best-weights restoration; the shards themselves must agree bit for bit.
 * Failures (NaN data under check-finite, an allocation, a hook's status, a
 * wrong data set on one shard) must be agreed by all shards, and a stop
 * asked by one shard's report callback stops all of them.
 *
 * Threads never call ck_assert (a failure there could not unwind the
 * thread): they record, the main thread checks after joining. A hang (a
 * collective some shard never joins) is caught by Check's timeout. */
#define _POSIX_C_SOURCE 200809L
#include "testutil.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define TOL 1e-12
#define MAXN 4

/* ------------------------------------------------------------ data */
/* 151 rows: with a 0.2 split, 30 validation and 121 training rows; the
 * first 121 alone are the training set next to an explicit validation set.
 * Batches of 17: 7 full ones and a last one of 2 rows (17 does not divide
 * by 2, 3 or 4; with 3 or 4 shards a shard gets no row of the last batch). */
enum { M = 151, M_TR = 121, M_VAL = 3, NIN = 4, H = 8, C = 3, K = 2 };
enum { BATCH = 17, EPOCHS = 3 };
static double X[(M + M_VAL) * NIN], Y[(M + M_VAL) * K];
static int32_t LAB[M + M_VAL];

/* Three classes from a nonlinear rule, smooth dense targets; the last
 * M_VAL rows (the explicit validation set) get shifted labels and negated
 * targets, so their loss rises as training fits the others: the best epoch
 * is the first and patience 1 stops the run after the second. */
static void make_data(void)
{
    tu_rng r = {2024};
    tu_fill(&r, X, (M + M_VAL) * NIN, -1.0, 1.0);
    for (size_t i = 0; i < M + M_VAL; i++) {
        const double *x = X + i * NIN;
        double a = x[0] * x[1] + 0.5 * x[2], b = sin(3.0 * x[3]);
        int32_t c = a > 0.1 ? 0 : b > 0.0 ? 1 : 2;
        double y0 = a + 0.3 * b, y1 = x[3] * x[3] - 0.3;
        bool flip = i >= M;
        LAB[i] = flip ? (c + 1) % C : c;
        Y[i * K] = flip ? -y0 : y0;
        Y[i * K + 1] = flip ? -y1 : y1;
    }
}

static nn_data_t *data_rows(size_t first, size_t m, bool dense)
{
    return dense ? tu_data_targets(X + first * NIN, m, NIN, Y + first * K, K,
                                   NULL)
                 : tu_data(X + first * NIN, m, NIN, LAB + first, NULL);
}

/* ------------------------------------------------------------ collective */
typedef struct coll {
    size_t n, cap;   /* threads; doubles per slot */
    pthread_barrier_t bar;
    double *slots;   /* n x cap */
    size_t lens[MAXN];
} coll;

/* One thread's membership: its slot and what it saw. */
typedef struct member {
    coll *c;
    size_t i;
    long calls, bad; /* allsum calls; calls with mismatched lengths */
} member;

static nn_status allsum(double *buf, size_t len, void *ctx)
{
    member *me = ctx;
    coll *c = me->c;
    me->calls++;
    memcpy(c->slots + me->i * c->cap, buf,
           (len < c->cap ? len : c->cap) * sizeof(double));
    c->lens[me->i] = len;
    pthread_barrier_wait(&c->bar);
    bool ok = len <= c->cap;
    for (size_t s = 0; s < c->n; s++) ok = ok && c->lens[s] == len;
    for (size_t j = 0; ok && j < len; j++) {
        double v = c->slots[j];
        for (size_t s = 1; s < c->n; s++) v += c->slots[s * c->cap + j];
        buf[j] = v;
    }
    pthread_barrier_wait(&c->bar); /* every slot read: reusable */
    if (ok) return NN_OK;
    me->bad++;
    return NN_ERR_STATE;
}

static void coll_init(coll *c, size_t n, size_t cap)
{
    ck_assert(n >= 1 && n <= MAXN);
    memset(c, 0, sizeof *c);
    c->n = n;
    c->cap = cap;
    c->slots = tu_dalloc(n * cap);
    ck_assert_int_eq(pthread_barrier_init(&c->bar, NULL, (unsigned)n), 0);
}

static void coll_destroy(coll *c)
{
    pthread_barrier_destroy(&c->bar);
    free(c->slots);
}

/* ------------------------------------------------------------ models */
typedef struct cfg {
    nn_optim_kind kind;
    double dropout;  /* on the hidden layer */
    bool dense;      /* MSE on Y, else softmax CE on the labels */
    bool own_val;    /* the explicit validation set, else a 0.2 split */
    int32_t reduction;
} cfg;

static nn_net_t *make_net(const cfg *c)
{
    nn_netspec_t *s = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(
        &s, NIN, c->dense ? NN_LOSS_MSE : NN_LOSS_SOFTMAX_CE, NULL));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, H, NN_ACT_TANH));
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, NN_LAYER_DROPOUT, c->dropout));
    NN_OK_OR_FAIL(nn_netspec_add_dense(
        s, c->dense ? K : C, c->dense ? NN_ACT_IDENTITY : NN_ACT_SOFTMAX));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_DROPOUT_SEED, 77));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_REDUCTION,
                                     c->reduction));
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
    nn_netspec_destroy(s);
    NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_GLOROT_UNIFORM, 7));
    return net;
}

static nn_optim_t *make_opt(const nn_net_t *net, const cfg *c)
{
    nn_optim_t *o = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o, net, c->kind, NULL));
    double lr = c->kind == NN_OPTIM_ADAM ? 0.02 : 0.3;
    if (c->reduction == NN_REDUCE_SUM) lr /= BATCH;
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, lr));
    return o;
}

static nn_trainer_t *make_trainer(const cfg *c, const nn_allocator *al)
{
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, al));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_EPOCHS, EPOCHS));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_BATCH_SIZE, BATCH));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_SEED, 11));
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_PATIENCE, 1));
    if (!c->own_val)
        NN_OK_OR_FAIL(nn_trainer_set_real(t, NN_TRAIN_VAL_FRACTION, 0.2));
    return t;
}

/* The optimizer's state (steps and moments) into a fresh buffer. */
static double *state_of(const nn_optim_t *o, uint64_t *steps)
{
    size_t S = nn_optim_state_len(o);
    double *s = tu_dalloc(S);
    NN_OK_OR_FAIL(nn_optim_get_state(o, steps, s, S));
    return s;
}

/* ------------------------------------------------------------ shards */
typedef struct shard {
    nn_net_t *net;
    nn_optim_t *opt;
    nn_trainer_t *tr;
    const nn_data_t *train, *val;
    member mem;
    nn_status st;
} shard;

static void *shard_main(void *arg)
{
    shard *s = arg;
    s->st = nn_train(s->tr, s->net, s->opt, s->train, s->val);
    return NULL;
}

/* Make s[0..n-1] the shards of one run and run them, one thread each;
 * then every allsum call must have seen equal lengths on all of them. */
static void run_shards(shard *s, size_t n)
{
    coll c;
    coll_init(&c, n, nn_net_n_params(s[0].net) + NN_GRAD_SPARE + 64);
    pthread_t th[MAXN];
    for (size_t i = 0; i < n; i++) {
        s[i].mem = (member){.c = &c, .i = i};
        NN_OK_OR_FAIL(nn_trainer_set_shards(s[i].tr, i, n, allsum, &s[i].mem));
    }
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, shard_main, &s[i]), 0);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    coll_destroy(&c);
    for (size_t i = 0; i < n; i++) {
        ck_assert_msg(s[i].mem.bad == 0, "shard %zu: %ld allsum length "
                      "mismatches", i, s[i].mem.bad);
        ck_assert_int_eq(s[i].mem.calls, s[0].mem.calls);
    }
}

/* n shards of configuration c, each net with DROPOUT_ROW0 = row0 at the
 * call. */
static void make_shards(shard *s, size_t n, const cfg *c,
                        const nn_data_t *train, const nn_data_t *val,
                        int64_t row0)
{
    for (size_t i = 0; i < n; i++) {
        s[i] = (shard){.net = make_net(c), .train = train, .val = val};
        s[i].opt = make_opt(s[i].net, c);
        s[i].tr = make_trainer(c, NULL);
        NN_OK_OR_FAIL(nn_net_set_int(s[i].net, NN_NET_DROPOUT_ROW0, row0));
    }
}

static void free_shards(shard *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        nn_trainer_destroy(s[i].tr);
        nn_optim_destroy(s[i].opt);
        nn_net_destroy(s[i].net);
    }
}

/* All shards hold bitwise the same parameters and optimizer state. */
static void check_identical(shard *s, size_t n)
{
    size_t P = nn_net_n_params(s[0].net);
    uint64_t st0;
    double *o0 = state_of(s[0].opt, &st0);
    for (size_t i = 1; i < n; i++) {
        ck_assert_msg(memcmp(nn_net_params(s[i].net), nn_net_params(s[0].net),
                             P * sizeof(double)) == 0,
                      "shard %zu's parameters differ from shard 0's", i);
        uint64_t sti;
        double *oi = state_of(s[i].opt, &sti);
        ck_assert(sti == st0);
        ck_assert_msg(memcmp(oi, o0, nn_optim_state_len(s[0].opt) *
                                         sizeof(double)) == 0,
                      "shard %zu's optimizer state differs", i);
        free(oi);
    }
    free(o0);
}

/* ------------------------------------------------------------ equivalence */
static double g_max_err; /* largest parameter error measured, for the log */

/* A reference run of c, then 1..4 shards (each splitting its part again
 * across `threads` workers, NN_TRAIN_THREADS): the same results,
 * parameters within TOL, the shards identical, the net's settings back. */
static void equivalence_threads(const cfg *c, int64_t row0, int64_t threads)
{
    nn_data_t *train = data_rows(0, c->own_val ? M_TR : M, c->dense);
    nn_data_t *val = c->own_val ? data_rows(M, M_VAL, c->dense) : NULL;
    nn_net_t *ref = make_net(c);
    nn_optim_t *ro = make_opt(ref, c);
    nn_trainer_t *rt = make_trainer(c, NULL);
    NN_OK_OR_FAIL(nn_net_set_int(ref, NN_NET_DROPOUT_ROW0, row0));
    NN_OK_OR_FAIL(nn_train(rt, ref, ro, train, val));
    if (c->own_val) { /* the validation set makes the run stop early */
        ck_assert_int_eq(tu_geti(rt, NN_TRAIN_BEST_EPOCH), 1);
        ck_assert_int_eq(tu_geti(rt, NN_TRAIN_EPOCHS_RUN), 2);
        ck_assert_int_eq(tu_geti(rt, NN_TRAIN_STOPPED_EARLY), 1);
    }
    const size_t P = nn_net_n_params(ref);
    uint64_t rsteps;
    double *rstate = state_of(ro, &rsteps);
    for (size_t n = 1; n <= MAXN; n++) {
        shard s[MAXN];
        make_shards(s, n, c, train, val, row0);
        for (size_t i = 0; i < n; i++)
            NN_OK_OR_FAIL(nn_trainer_set_int(s[i].tr, NN_TRAIN_THREADS,
                                             threads));
        run_shards(s, n);
        for (size_t i = 0; i < n; i++) {
            ck_assert_int_eq(s[i].st, NN_OK);
            const int32_t keys[4] = {
                NN_TRAIN_EPOCHS_RUN, NN_TRAIN_BEST_EPOCH, NN_TRAIN_STEPS_RUN,
                NN_TRAIN_STOPPED_EARLY};
            for (int k = 0; k < 4; k++)
                ck_assert_int_eq(tu_geti(s[i].tr, keys[k]), tu_geti(rt, keys[k]));
            ck_assert_int_eq(tu_net_int(s[i].net, NN_NET_REDUCTION), c->reduction);
            ck_assert_int_eq(tu_net_int(s[i].net, NN_NET_DROPOUT_ROW0), row0);
        }
        check_identical(s, n);
        double e = tu_max_rel_err(nn_net_params(s[0].net), nn_net_params(ref), P);
        ck_assert_msg(e <= TOL, "kind %d dropout %g dense %d own_val %d "
                      "red %d, %zu shards: parameter error %g", (int)c->kind,
                      c->dropout, c->dense, c->own_val, (int)c->reduction, n,
                      e);
        g_max_err = fmax(g_max_err, e);
        uint64_t ss;
        double *sstate = state_of(s[0].opt, &ss);
        ck_assert(ss == rsteps);
        ck_assert_double_le(tu_max_rel_err(sstate, rstate, nn_optim_state_len(ro)),
                            TOL);
        free(sstate);
        const int32_t rk[2] = {NN_TRAIN_FINAL_LOSS, NN_TRAIN_BEST_VAL_LOSS};
        for (int k = 0; k < 2; k++)
            ck_assert_double_le(tu_relerr(tu_getr(s[0].tr, rk[k]),
                                          tu_getr(rt, rk[k]), 1e-300), TOL);
        free_shards(s, n);
    }
    free(rstate);
    nn_trainer_destroy(rt);
    nn_optim_destroy(ro);
    nn_net_destroy(ref);
    nn_data_destroy(val);
    nn_data_destroy(train);
}

static void equivalence(const cfg *c, int64_t row0)
{
    equivalence_threads(c, row0, 0);
}

/* Every optimizer x dropout x validation kind for one kind of targets.
 * DROPOUT_ROW0 at the call is 5 where there is no dropout (it must come
 * back; the masks do not depend on it) and 0 with dropout. */
static void equivalence_all(bool dense)
{
    const nn_optim_kind kinds[2] = {NN_OPTIM_SGD, NN_OPTIM_ADAM};
    for (int k = 0; k < 2; k++)
        for (int d = 0; d < 2; d++)
            for (int v = 0; v < 2; v++) {
                cfg c = {kinds[k], d ? 0.3 : 0.0, dense, v != 0,
                         NN_REDUCE_MEAN};
                equivalence(&c, d ? 0 : 5);
            }
    printf("shards: %s targets, max relative parameter error %.3g\n",
           dense ? "dense" : "label", g_max_err);
}

START_TEST(equivalent_labels) { equivalence_all(false); }
END_TEST

START_TEST(equivalent_dense) { equivalence_all(true); }
END_TEST

/* A net summing its batch losses (NN_REDUCE_SUM at the call): the shards'
 * sums are not divided, and the setting is the net's again afterwards. */
START_TEST(equivalent_sum_reduction)
{
    cfg c = {NN_OPTIM_ADAM, 0.3, true, false, NN_REDUCE_SUM};
    equivalence(&c, 0);
    cfg d = {NN_OPTIM_SGD, 0.0, false, true, NN_REDUCE_SUM};
    equivalence(&d, 3);
}
END_TEST

/* DROPOUT_ROW0 not 0 at the call, with dropout: the sharded masks must be
 * those of the plain run (a one-process run of the same algorithm). */
START_TEST(equivalent_row0_at_call)
{
    cfg c = {NN_OPTIM_SGD, 0.3, false, false, NN_REDUCE_MEAN};
    equivalence(&c, 5);
}
END_TEST

/* Shards whose parts are split again across threads (batch-parallel
 * workers inside each process): still the plain run's results. */
START_TEST(equivalent_with_threads)
{
    /* the BLAS's count is the process's: at 1 already, no run of the
     * shards changes it while another runs */
    nn_set_num_threads(1);
    cfg a = {NN_OPTIM_ADAM, 0.3, false, false, NN_REDUCE_MEAN};
    equivalence_threads(&a, 0, 2);
    cfg b = {NN_OPTIM_SGD, 0.0, true, true, NN_REDUCE_MEAN};
    equivalence_threads(&b, 3, 3);
}
END_TEST

/* ------------------------------------------------------------ failures */
/* What a shard held before its run, to compare with after a failed one. */
typedef struct snap {
    double *params, *state, lr;
    uint64_t steps;
    int64_t drop_step, row0;
} snap;

static snap take_snap(shard *s)
{
    snap p;
    size_t P = nn_net_n_params(s->net);
    p.params = tu_dalloc(P);
    memcpy(p.params, nn_net_params(s->net), P * sizeof(double));
    p.state = state_of(s->opt, &p.steps);
    NN_OK_OR_FAIL(nn_optim_get_real(s->opt, NN_OPTIM_LR, &p.lr));
    p.drop_step = tu_net_int(s->net, NN_NET_DROPOUT_STEP);
    p.row0 = tu_net_int(s->net, NN_NET_DROPOUT_ROW0);
    return p;
}

/* The shard is exactly as at the call, and its run failed with want. */
static void check_unchanged(shard *s, snap *p, nn_status want)
{
    ck_assert_int_eq(s->st, want);
    size_t P = nn_net_n_params(s->net), S = nn_optim_state_len(s->opt);
    ck_assert(memcmp(nn_net_params(s->net), p->params, P * sizeof(double)) ==
              0);
    uint64_t steps;
    double *now = state_of(s->opt, &steps), lr;
    ck_assert(steps == p->steps);
    ck_assert(memcmp(now, p->state, S * sizeof(double)) == 0);
    NN_OK_OR_FAIL(nn_optim_get_real(s->opt, NN_OPTIM_LR, &lr));
    ck_assert(lr == p->lr);
    ck_assert_int_eq(tu_net_int(s->net, NN_NET_DROPOUT_STEP), p->drop_step);
    ck_assert_int_eq(tu_net_int(s->net, NN_NET_REDUCTION), NN_REDUCE_MEAN);
    ck_assert_int_eq(tu_net_int(s->net, NN_NET_DROPOUT_ROW0), p->row0);
    free(now);
    free(p->params);
    free(p->state);
}

/* Adam shards that have already taken steps (a non-zero state, the same on
 * all), DROPOUT_ROW0 2 at the call, no shuffle, no validation. */
static void make_failing(shard *s, size_t n, const nn_data_t *train)
{
    cfg c = {NN_OPTIM_ADAM, 0.3, false, true, NN_REDUCE_MEAN};
    make_shards(s, n, &c, train, NULL, 2);
    size_t S = nn_optim_state_len(s[0].opt);
    double *st = tu_dalloc(S);
    for (size_t j = 0; j < S; j++) /* first moments, then second (>= 0) */
        st[j] = j < S / 2 ? 1e-3 * sin((double)j)
                          : 1e-6 * (1.0 + cos((double)j));
    for (size_t i = 0; i < n; i++) {
        NN_OK_OR_FAIL(nn_optim_set_state(s[i].opt, 3, st, S));
        NN_OK_OR_FAIL(nn_trainer_set_int(s[i].tr, NN_TRAIN_SHUFFLE, 0));
        NN_OK_OR_FAIL(nn_trainer_set_int(s[i].tr, NN_TRAIN_PATIENCE, 0));
        NN_OK_OR_FAIL(nn_net_set_int(s[i].net, NN_NET_CHECK_FINITE, 1));
    }
    free(st);
}

/* A NaN in training row 100 (batch 5, rows 85..101, unshuffled: its local
 * row 15 is shard 2's of 3, after 5 updates): every shard fails with
 * NN_ERR_NUMERIC and rolls back. */
START_TEST(nan_row_fails_all)
{
    nn_data_t *train = data_rows(0, M_TR, false);
    nn_data_x(train)[100 * NIN + 1] = NAN;
    shard s[3];
    snap p[3];
    make_failing(s, 3, train);
    for (int i = 0; i < 3; i++) p[i] = take_snap(&s[i]);
    run_shards(s, 3);
    for (int i = 0; i < 3; i++) check_unchanged(&s[i], &p[i], NN_ERR_NUMERIC);
    ck_assert_int_ge(s[0].mem.calls, 7); /* failed part way: 5 steps done */
    free_shards(s, 3);
    nn_data_destroy(train);
}
END_TEST

/* Shard 1's trainer allocates nothing once created: all shards fail with
 * NN_ERR_NOMEM, nothing changes, and its allocator balances. */
START_TEST(nomem_on_one_fails_all)
{
    nn_data_t *train = data_rows(0, M_TR, false);
    shard s[3];
    snap p[3];
    make_failing(s, 3, train);
    tu_counter cnt = {0};
    nn_allocator al = tu_allocator(&cnt);
    nn_trainer_destroy(s[1].tr);
    cfg c = {NN_OPTIM_ADAM, 0.3, false, true, NN_REDUCE_MEAN};
    s[1].tr = make_trainer(&c, &al);
    NN_OK_OR_FAIL(nn_trainer_set_int(s[1].tr, NN_TRAIN_SHUFFLE, 0));
    NN_OK_OR_FAIL(nn_trainer_set_int(s[1].tr, NN_TRAIN_PATIENCE, 0));
    cnt.fail_at = cnt.attempts + 1; /* from now on, every attempt */
    cnt.fail_rest = true;
    for (int i = 0; i < 3; i++) p[i] = take_snap(&s[i]);
    run_shards(s, 3);
    for (int i = 0; i < 3; i++) check_unchanged(&s[i], &p[i], NN_ERR_NOMEM);
    ck_assert_int_ge(cnt.refused, 1);
    free_shards(s, 3);
    TU_ASSERT_BALANCED(&cnt);
    nn_data_destroy(train);
}
END_TEST

/* Shard 2's training set has one column too many: its setup fails with
 * NN_ERR_SHAPE, and so do all the others. */
START_TEST(bad_data_on_one_fails_all)
{
    nn_data_t *train = data_rows(0, M_TR, false);
    nn_data_t *wide = NULL;
    NN_OK_OR_FAIL(nn_data_create(&wide, M_TR, NIN + 1, NN_ROW_MAJOR, X, NIN + 1,
                                 NULL));
    NN_OK_OR_FAIL(nn_data_set_labels(wide, LAB));
    shard s[3];
    snap p[3];
    make_failing(s, 3, train);
    s[2].train = wide;
    for (int i = 0; i < 3; i++) p[i] = take_snap(&s[i]);
    run_shards(s, 3);
    for (int i = 0; i < 3; i++) check_unchanged(&s[i], &p[i], NN_ERR_SHAPE);
    free_shards(s, 3);
    nn_data_destroy(wide);
    nn_data_destroy(train);
}
END_TEST

/* A hook on every shard; shard 1's fails its third call with NN_ERR_IO.
 * Every hook sees the combined gradient of the whole batch: the same bits
 * on all shards, the plain run's first gradient within TOL, m the global
 * batch size. */
typedef struct hookrec {
    int fail_at;      /* 1-based call that returns NN_ERR_IO; 0: never */
    int calls;
    size_t len, m;    /* of the first call */
    double first[128]; /* its gradient */
} hookrec;

static nn_status hook(double *g, size_t len, size_t m, double *loss, void *ctx)
{
    hookrec *h = ctx;
    if (h->calls++ == 0 && len <= 128) {
        h->len = len;
        h->m = m;
        memcpy(h->first, g, len * sizeof(double));
    }
    return h->calls == h->fail_at ? NN_ERR_IO : NN_OK;
}

START_TEST(hook_status_agreed)
{
    nn_data_t *train = data_rows(0, M_TR, false);
    shard s[3];
    snap p[3];
    hookrec h[3] = {{0}, {.fail_at = 3}, {0}}, rh = {0};
    make_failing(s, 3, train);
    size_t P = nn_net_n_params(s[0].net);
    ck_assert_uint_le(P, 128);
    /* the plain run's first gradient, from the same state */
    cfg c = {NN_OPTIM_ADAM, 0.3, false, true, NN_REDUCE_MEAN};
    nn_net_t *ref = make_net(&c);
    nn_optim_t *ro = make_opt(ref, &c);
    nn_trainer_t *rt = make_trainer(&c, NULL);
    NN_OK_OR_FAIL(nn_trainer_set_int(rt, NN_TRAIN_SHUFFLE, 0));
    NN_OK_OR_FAIL(nn_trainer_set_int(rt, NN_TRAIN_PATIENCE, 0));
    NN_OK_OR_FAIL(nn_trainer_set_int(rt, NN_TRAIN_EPOCHS, 1));
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(rt, hook, &rh));
    NN_OK_OR_FAIL(nn_train(rt, ref, ro, train, NULL));
    for (int i = 0; i < 3; i++) {
        NN_OK_OR_FAIL(nn_trainer_set_grad_hook(s[i].tr, hook, &h[i]));
        /* the plain run's masks are those of rows 0.. of each batch */
        NN_OK_OR_FAIL(nn_net_set_int(s[i].net, NN_NET_DROPOUT_ROW0, 0));
        p[i] = take_snap(&s[i]);
    }
    run_shards(s, 3);
    for (int i = 0; i < 3; i++) {
        check_unchanged(&s[i], &p[i], NN_ERR_IO);
        ck_assert_int_eq(h[i].calls, 3);
        ck_assert_uint_eq(h[i].len, P);
        ck_assert_uint_eq(h[i].m, BATCH);
        ck_assert(memcmp(h[i].first, h[0].first, P * sizeof(double)) == 0);
    }
    ck_assert_uint_eq(rh.m, BATCH);
    ck_assert_double_le(tu_max_rel_err(h[0].first, rh.first, P), TOL);
    nn_trainer_destroy(rt);
    nn_optim_destroy(ro);
    nn_net_destroy(ref);
    free_shards(s, 3);
    nn_data_destroy(train);
}
END_TEST

/* A gradient hook on shard 1 only: every hook is followed by an agreement,
 * so shards must all have one or none; refused on every shard before any
 * step (NN_ERR_INVALID), nothing changed. */
START_TEST(hook_on_one_shard_refused)
{
    nn_data_t *train = data_rows(0, M_TR, false);
    shard s[3];
    snap p[3];
    hookrec h = {0};
    make_failing(s, 3, train);
    NN_OK_OR_FAIL(nn_trainer_set_grad_hook(s[1].tr, hook, &h));
    for (int i = 0; i < 3; i++) p[i] = take_snap(&s[i]);
    run_shards(s, 3);
    for (int i = 0; i < 3; i++) check_unchanged(&s[i], &p[i], NN_ERR_INVALID);
    ck_assert_int_eq(h.calls, 0);
    free_shards(s, 3);
    nn_data_destroy(train);
}
END_TEST

/* A report callback on shard 2 only (of 4) asks to stop: after epoch 1
 * (epoch report) or after batch 4 (batch reports every 2 batches). */
typedef struct stoprec {
    int32_t kind;
    size_t batch;
    int calls;
} stoprec;

static int32_t stop_cb(const nn_report *r, void *ctx)
{
    stoprec *s = ctx;
    s->calls++;
    return r->kind == s->kind &&
           (r->kind == NN_REPORT_EPOCH || r->batch == s->batch);
}

static void stop_one(int32_t kind, int64_t steps_want)
{
    cfg c = {NN_OPTIM_SGD, 0.3, false, false, NN_REDUCE_MEAN};
    nn_data_t *train = data_rows(0, M, false);
    shard s[4];
    stoprec rec = {kind, 4, 0};
    make_shards(s, 4, &c, train, NULL, 0);
    NN_OK_OR_FAIL(nn_trainer_set_report(s[2].tr, stop_cb, &rec));
    /* the plain run stopped the same way */
    nn_net_t *ref = make_net(&c);
    nn_optim_t *ro = make_opt(ref, &c);
    nn_trainer_t *rt = make_trainer(&c, NULL);
    stoprec rrec = rec;
    NN_OK_OR_FAIL(nn_trainer_set_report(rt, stop_cb, &rrec));
    if (kind == NN_REPORT_BATCH)
        for (int i = 0; i < 5; i++)
            NN_OK_OR_FAIL(nn_trainer_set_int(i < 4 ? s[i].tr : rt,
                                             NN_TRAIN_REPORT_EVERY, 2));
    NN_OK_OR_FAIL(nn_train(rt, ref, ro, train, NULL));
    run_shards(s, 4);
    ck_assert_int_eq(rec.calls, rrec.calls);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(s[i].st, NN_OK);
        ck_assert_int_eq(tu_geti(s[i].tr, NN_TRAIN_EPOCHS_RUN), 1);
        ck_assert_int_eq(tu_geti(s[i].tr, NN_TRAIN_STOPPED_EARLY), 1);
        ck_assert_int_eq(tu_geti(s[i].tr, NN_TRAIN_STEPS_RUN), steps_want);
    }
    ck_assert_int_eq(tu_geti(rt, NN_TRAIN_STEPS_RUN), steps_want);
    check_identical(s, 4);
    size_t P = nn_net_n_params(ref);
    ck_assert_double_le(tu_max_rel_err(nn_net_params(s[0].net), nn_net_params(ref), P),
                        TOL);
    nn_trainer_destroy(rt);
    nn_optim_destroy(ro);
    nn_net_destroy(ref);
    free_shards(s, 4);
    nn_data_destroy(train);
}

START_TEST(stop_on_one_stops_all)
{
    stop_one(NN_REPORT_EPOCH, 8); /* 121 training rows: 8 batches */
    stop_one(NN_REPORT_BATCH, 4);
}
END_TEST

/* ------------------------------------------------------------ arguments */
static void refused(nn_trainer_t *t, size_t index, size_t count,
                    nn_allsum_fn fn, void *ctx)
{
    ck_assert_int_eq(nn_trainer_set_shards(t, index, count, fn, ctx),
                     NN_ERR_INVALID);
}

START_TEST(set_shards_arguments)
{
    nn_trainer_t *t = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&t, NULL));
    coll c;
    coll_init(&c, 1, 256);
    member me = {.c = &c, .i = 0};
    refused(NULL, 0, 1, NULL, NULL);
    refused(t, 2, 2, allsum, &me);
    refused(t, 5, 2, allsum, &me);
    refused(t, 0, 0, allsum, &me);
    refused(t, 0, 0, NULL, NULL);
    refused(t, 0, 2, NULL, &me);
    refused(t, 1, 2, NULL, NULL);
    NN_OK_OR_FAIL(nn_trainer_set_shards(t, 0, 1, NULL, NULL));
    /* a refused call changes nothing: a one-shard run still uses allsum */
    cfg cf = {NN_OPTIM_SGD, 0.0, false, true, NN_REDUCE_MEAN};
    nn_data_t *train = data_rows(0, 20, false);
    nn_net_t *net = make_net(&cf);
    nn_optim_t *o = make_opt(net, &cf);
    NN_OK_OR_FAIL(nn_trainer_set_int(t, NN_TRAIN_EPOCHS, 1));
    NN_OK_OR_FAIL(nn_trainer_set_shards(t, 0, 1, allsum, &me));
    refused(t, 1, 1, allsum, &me);
    NN_OK_OR_FAIL(nn_train(t, net, o, train, NULL));
    long calls = me.calls;
    ck_assert_int_ge(calls, 1);
    /* (0, 1, NULL, NULL) switches sharding off */
    NN_OK_OR_FAIL(nn_trainer_set_shards(t, 0, 1, NULL, NULL));
    NN_OK_OR_FAIL(nn_train(t, net, o, train, NULL));
    ck_assert_int_eq(me.calls, calls);
    nn_optim_destroy(o);
    nn_net_destroy(net);
    nn_data_destroy(train);
    coll_destroy(&c);
    nn_trainer_destroy(t);
}
END_TEST

static Suite *shards_suite(void)
{
    Suite *s = suite_create("shards");
    TCase *te = tcase_create("equivalence");
    tcase_add_test(te, equivalent_labels);
    tcase_add_test(te, equivalent_dense);
    tcase_add_test(te, equivalent_sum_reduction);
    tcase_add_test(te, equivalent_row0_at_call);
    tcase_add_test(te, equivalent_with_threads);
    suite_add_tcase(s, te);
    TCase *tf = tcase_create("failures");
    tcase_add_test(tf, nan_row_fails_all);
    tcase_add_test(tf, nomem_on_one_fails_all);
    tcase_add_test(tf, bad_data_on_one_fails_all);
    tcase_add_test(tf, hook_status_agreed);
    tcase_add_test(tf, hook_on_one_shard_refused);
    tcase_add_test(tf, stop_on_one_stops_all);
    suite_add_tcase(s, tf);
    TCase *ta = tcase_create("arguments");
    tcase_add_test(ta, set_shards_arguments);
    suite_add_tcase(s, ta);
    return s;
}

int main(void)
{
    make_data();
    return tu_run(shards_suite());
}
