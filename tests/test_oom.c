/* test_oom.c — allocation-failure injection. For every allocation site of the
 * create / load / train paths, the n-th allocation (and, in the second pass,
 * every one from the n-th on) fails, for n = 1, 2, ... until a run meets no
 * failure. Each failing call must return NN_ERR_NOMEM, write nothing to its
 * outputs, leak nothing (the checking allocator ends balanced), and leave the
 * objects it was given unchanged and usable: the same call then succeeds. */
#define _POSIX_C_SOURCE 200809L /* mkstemp, fdopen */
#include "testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------ checking allocator
 * testutil.h's tu_counter: it checks that free gets the size that was asked
 * for and a live pointer; live counts must come back to zero. */

/* Blocks allocated and not yet freed. */
static long live_blocks(const tu_counter *c)
{
    return c->allocs - (c->frees - c->unknown_free);
}

/* Arm c so that its n-th allocation from now fails (and, in mode 1, every
 * later one too). Each counter is armed once, before any refusal. */
static void arm(tu_counter *c, long n, int mode)
{
    ck_assert_int_eq(c->refused, 0);
    c->fail_at = c->attempts + n;
    c->fail_rest = mode;
}

static void disarm(tu_counter *c) { c->fail_at = 0; }

static void assert_live(const tu_counter *c, long blocks)
{
    ck_assert_int_eq(c->size_mismatch, 0);
    ck_assert_int_eq(c->unknown_free, 0);
    ck_assert_int_eq(live_blocks(c), blocks);
    if (blocks == 0) TU_ASSERT_BALANCED(c);
}

/* A failing call: NOMEM exactly when an allocation failed. Returns true when
 * the sweep is over (the call met no failure and succeeded). */
static int swept(const tu_counter *h, nn_status st)
{
    if (h->refused == 0) {
        NN_OK_OR_FAIL(st);
        return 1;
    }
    ck_assert_msg(st == NN_ERR_NOMEM, "failed allocation gave %d (%s)",
                  (int)st, nn_strerror(st));
    return 0;
}

/* Sweeps stop long before this; a path that allocated without end would. */
enum { MAX_SITES = 64 };

/* Allocation sites seen per path, printed at the end for the record. */
static void report(const char *what, long sites, int mode)
{
    if (mode == 0) printf("oom: %-34s %ld allocation site(s)\n", what, sites);
}

/* ------------------------------------------------ fixtures */
static const nn_layer_spec mlp[] = {{24, NN_ACT_RELU, 0, 0.2},
                                    {7, NN_ACT_TANH, 0, 0},
                                    {3, NN_ACT_SOFTMAX, 0, 0}};
enum { NIN = 5, NL = 3, M = 40 };

static void fill_batch(double *X, size_t *lab, size_t m)
{
    tu_rng r = {11};
    tu_fill(&r, X, m * NIN, -1.0, 1.0);
    for (size_t i = 0; i < m; i++) lab[i] = tu_next(&r) % 3;
}

static nn_net_t *make_net(tu_counter *h)
{
    nn_allocator a = tu_allocator(h);
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, NIN, NL, mlp, NN_LOSS_SOFTMAX_CE, &a));
    return net;
}

/* All parameters of net, flattened (P values). */
static double *params_copy(nn_net_t *net)
{
    size_t P = nn_net_n_params(net), off = 0;
    double *p = malloc(P * sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t l = 0; l < nn_net_n_layers(net); l++) {
        size_t k = nn_net_layer_n_in(net, l) * nn_net_layer_n_out(net, l);
        memcpy(p + off, nn_net_weights(net, l), k * sizeof *p);
        off += k;
        k = nn_net_layer_n_out(net, l);
        memcpy(p + off, nn_net_bias(net, l), k * sizeof *p);
        off += k;
    }
    return p;
}

static void assert_params(nn_net_t *net, const double *want)
{
    double *now = params_copy(net);
    ck_assert_mem_eq(now, want, nn_net_n_params(net) * sizeof *now);
    free(now);
}

/* A scratch file holding bytes[0..n); the caller unlinks and frees it. */
static char *temp_file(const void *bytes, size_t n)
{
    char *path = strdup("/tmp/nn-oom-XXXXXX");
    ck_assert_ptr_nonnull(path);
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static void drop_file(char *path)
{
    unlink(path);
    free(path);
}

/* An IDX file of unsigned bytes with the given dimensions. */
static char *idx_file(const unsigned *dims, unsigned nd)
{
    size_t count = 1;
    for (unsigned i = 0; i < nd; i++) count *= dims[i];
    size_t n = 4 + 4 * (size_t)nd + count;
    unsigned char *b = malloc(n);
    ck_assert_ptr_nonnull(b);
    b[0] = b[1] = 0;
    b[2] = 0x08;
    b[3] = (unsigned char)nd;
    for (unsigned i = 0; i < nd; i++) {
        b[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        b[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        b[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        b[7 + 4 * i] = (unsigned char)dims[i];
    }
    for (size_t i = 0; i < count; i++) b[4 + 4 * nd + i] = (unsigned char)(i % 7);
    char *path = temp_file(b, n);
    free(b);
    return path;
}

/* ------------------------------------------------ create paths */
START_TEST(net_create)
{
    int mode = _i;
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_net_t *sentinel = (nn_net_t *)&h, *net = sentinel;
        nn_status st = nn_net_create(&net, NIN, NL, mlp, NN_LOSS_SOFTMAX_CE, &a);
        if (swept(&h, st)) {
            nn_net_destroy(net);
            assert_live(&h, 0);
            break;
        }
        ck_assert_ptr_eq(net, sentinel);
        assert_live(&h, 0);
    }
    report("nn_net_create", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
}
END_TEST

START_TEST(dense_create)
{
    int mode = _i;
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_dense_t *sentinel = (nn_dense_t *)&h, *d = sentinel;
        nn_status st = nn_dense_create(&d, 6, 4, NN_ACT_LEAKY_RELU, 0.1, &a);
        if (swept(&h, st)) {
            nn_dense_destroy(d);
            assert_live(&h, 0);
            break;
        }
        ck_assert_ptr_eq(d, sentinel);
        assert_live(&h, 0);
    }
    report("nn_dense_create", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
}
END_TEST

/* Workspace growth of a net and of a layer: a failed reserve keeps the old
 * workspace (the next step still allocates nothing) and the parameters. */
START_TEST(reserve)
{
    int mode = _i;
    static double X[M * NIN], Y[M * 3];
    static size_t lab[M];
    fill_batch(X, lab, M);
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_net_t *net = make_net(&h);
        NN_OK_OR_FAIL(nn_net_reserve(net, 8));
        double *before = params_copy(net);
        long blocks = live_blocks(&h);
        arm(&h, n, mode);
        nn_status st = nn_net_reserve(net, M);
        int done = swept(&h, st);
        disarm(&h);
        if (!done) {
            ck_assert_int_eq(live_blocks(&h), blocks);
            assert_params(net, before);
            /* the old workspace is still there: m <= 8 does not allocate */
            long attempts = h.attempts;
            NN_OK_OR_FAIL(nn_net_predict(net, 8, NN_ROW_MAJOR, X, NIN, Y, 3));
            ck_assert_int_eq(h.attempts, attempts);
            NN_OK_OR_FAIL(nn_net_reserve(net, M));
        }
        NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, NULL));
        free(before);
        nn_net_destroy(net);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_net_reserve", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);

    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        nn_dense_t *d = NULL;
        NN_OK_OR_FAIL(nn_dense_create(&d, NIN, 3, NN_ACT_SIGMOID, 0, &a));
        arm(&h, n, mode);
        nn_status st = nn_dense_reserve(d, M);
        int done = swept(&h, st);
        disarm(&h);
        if (!done) ck_assert_int_eq(live_blocks(&h), 1);
        NN_OK_OR_FAIL(nn_dense_forward(d, M, NN_ROW_MAJOR, X, NIN, Y, 3));
        nn_dense_destroy(d);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_dense_reserve", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
}
END_TEST

START_TEST(optim_create)
{
    int mode = _i;
    for (int kind = NN_OPTIM_SGD; kind <= NN_OPTIM_ADAM; kind++) {
        long n;
        for (n = 1; n < MAX_SITES; n++) {
            tu_counter hn = {0}, h = {0};
            nn_net_t *net = make_net(&hn);
            nn_optim_config cfg;
            NN_OK_OR_FAIL(nn_optim_config_default(&cfg, (nn_optim_kind)kind));
            nn_allocator a = tu_allocator(&h);
            arm(&h, n, mode);
            nn_optim_t *sentinel = (nn_optim_t *)&h, *opt = sentinel;
            nn_status st = nn_optim_create(&opt, net, &cfg, &a);
            int done = swept(&h, st);
            if (done) nn_optim_destroy(opt);
            else ck_assert_ptr_eq(opt, sentinel);
            assert_live(&h, 0);
            nn_net_destroy(net);
            assert_live(&hn, 0);
            if (done) break;
        }
        if (kind == NN_OPTIM_ADAM) report("nn_optim_create", n - 1, mode);
        ck_assert_int_ge(n - 1, 1);
    }
}
END_TEST

/* Orthogonal init: a parameter backup, then one scratch block per layer. A
 * failure at any layer puts every parameter back; a later call gives the
 * weights an undisturbed call gives. */
START_TEST(init_orthogonal)
{
    int mode = _i;
    /* a wide first layer (5 -> 24), then tall ones */
    tu_counter hr = {0};
    nn_net_t *ref = make_net(&hr);
    NN_OK_OR_FAIL(nn_net_init(ref, NN_INIT_ORTHOGONAL, 42));
    double *want = params_copy(ref);
    nn_net_destroy(ref);
    assert_live(&hr, 0);
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_net_t *net = make_net(&h);
        double *before = params_copy(net);
        arm(&h, n, mode);
        nn_status st = nn_net_init(net, NN_INIT_ORTHOGONAL, 42);
        int done = swept(&h, st);
        disarm(&h);
        ck_assert_int_eq(live_blocks(&h), 1); /* the net itself */
        if (!done) {
            assert_params(net, before);
            NN_OK_OR_FAIL(nn_net_init(net, NN_INIT_ORTHOGONAL, 42));
        }
        assert_params(net, want);
        free(before);
        nn_net_destroy(net);
        assert_live(&h, 0);
        if (done) break;
    }
    free(want);
    report("nn_net_init(ORTHOGONAL)", n - 1, mode);
    ck_assert_int_ge(n - 1, 1 + NL); /* backup + one per layer */
}
END_TEST

/* ------------------------------------------------ data paths */
START_TEST(data_create_and_scaler)
{
    int mode = _i;
    static double X[M * NIN];
    static size_t lab[M];
    fill_batch(X, lab, M);
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_data_t *sentinel = (nn_data_t *)&h, *d = sentinel;
        nn_status st = nn_data_create(&d, M, NIN, NN_COL_MAJOR, X, M, lab, &a);
        int done = swept(&h, st);
        if (done) nn_data_destroy(d);
        else ck_assert_ptr_eq(d, sentinel);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_data_create", n - 1, mode);
    ck_assert_int_ge(n - 1, 2); /* block, labels */

    for (int kind = 0; kind < 2; kind++) {
        nn_data_t *d = NULL;
        NN_OK_OR_FAIL(nn_data_create(&d, M, NIN, NN_ROW_MAJOR, X, NIN, lab, NULL));
        for (n = 1; n < MAX_SITES; n++) {
            tu_counter h = {0};
            nn_allocator a = tu_allocator(&h);
            arm(&h, n, mode);
            nn_scaler_t *sentinel = (nn_scaler_t *)&h, *s = sentinel;
            nn_status st = nn_scaler_fit(&s, (nn_scale_kind)kind, d, &a);
            int done = swept(&h, st);
            if (done) {
                NN_OK_OR_FAIL(nn_scaler_apply(s, d));
                nn_scaler_destroy(s);
            } else {
                ck_assert_ptr_eq(s, sentinel);
            }
            assert_live(&h, 0);
            if (done) break;
        }
        nn_data_destroy(d);
        if (kind == 1) report("nn_scaler_fit", n - 1, mode);
        ck_assert_int_ge(n - 1, 1);
    }
}
END_TEST

/* IDX features: a small file (one payload block, then the data set) and one
 * over the loader's 1 MiB first read, whose payload buffer grows once. */
START_TEST(load_idx)
{
    int mode = _i;
    const unsigned small_dims[] = {4, 2, 3}, big_dims[] = {3, 600, 1000};
    const unsigned *dims[] = {small_dims, big_dims};
    const long min_sites[] = {2, 3};
    for (int f = 0; f < 2; f++) {
        char *path = idx_file(dims[f], 3);
        long n;
        for (n = 1; n < MAX_SITES; n++) {
            tu_counter h = {0};
            nn_allocator a = tu_allocator(&h);
            arm(&h, n, mode);
            nn_data_t *sentinel = (nn_data_t *)&h, *d = sentinel;
            nn_error_info err;
            nn_status st = nn_data_load_idx(&d, path, &a, &err);
            int done = swept(&h, st);
            if (done) {
                ck_assert_uint_eq(nn_data_rows(d), dims[f][0]);
                ck_assert_uint_eq(nn_data_cols(d), dims[f][1] * dims[f][2]);
                ck_assert(nn_data_x(d)[5] == 5.0);
                nn_data_destroy(d);
            } else {
                ck_assert_ptr_eq(d, sentinel);
            }
            assert_live(&h, 0);
            if (done) break;
        }
        report(f ? "nn_data_load_idx (> 1 MiB)" : "nn_data_load_idx", n - 1, mode);
        ck_assert_int_ge(n - 1, min_sites[f]);
        drop_file(path);
    }
}
END_TEST

/* IDX labels attached to a data set (through its allocator): the payload,
 * then the label array; the old labels stay on failure. */
START_TEST(load_idx_labels)
{
    int mode = _i;
    const unsigned dims[] = {4};
    char *path = idx_file(dims, 1);
    double x[4] = {1, 2, 3, 4};
    const size_t old[4] = {1, 1, 0, 0};
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        nn_data_t *d = NULL;
        NN_OK_OR_FAIL(nn_data_create(&d, 4, 1, NN_ROW_MAJOR, x, 1, old, &a));
        arm(&h, n, mode);
        nn_status st = nn_data_load_idx_labels(d, path, NULL);
        int done = swept(&h, st);
        disarm(&h);
        ck_assert_int_eq(live_blocks(&h), 2); /* block, labels */
        if (!done) {
            ck_assert_mem_eq(nn_data_labels(d), old, sizeof old);
            ck_assert_uint_eq(nn_data_n_classes(d), 2);
            NN_OK_OR_FAIL(nn_data_load_idx_labels(d, path, NULL));
        }
        ck_assert_uint_eq(nn_data_labels(d)[3], 3);
        ck_assert_uint_eq(nn_data_n_classes(d), 4);
        nn_data_destroy(d);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_data_load_idx_labels", n - 1, mode);
    ck_assert_int_ge(n - 1, 2);
    drop_file(path);
}
END_TEST

/* CSV with labels: the text buffer (growing past 64 KiB for the big file),
 * then the data set block and its labels. */
START_TEST(load_csv)
{
    int mode = _i;
    for (int f = 0; f < 2; f++) {
        size_t rows = f ? 8000 : 3, cap = rows * 32 + 16, len = 0;
        char *text = malloc(cap);
        ck_assert_ptr_nonnull(text);
        len += (size_t)snprintf(text, cap, "a,label,b\n");
        for (size_t i = 0; i < rows; i++)
            len += (size_t)snprintf(text + len, cap - len, "%zu.25,%zu,-%zu\n",
                                    i, i % 5, i);
        char *path = temp_file(text, len);
        free(text);
        long n;
        for (n = 1; n < MAX_SITES; n++) {
            tu_counter h = {0};
            nn_allocator a = tu_allocator(&h);
            arm(&h, n, mode);
            nn_data_t *sentinel = (nn_data_t *)&h, *d = sentinel;
            nn_status st = nn_data_load_csv(&d, path, true, 1, &a, NULL);
            int done = swept(&h, st);
            if (done) {
                ck_assert_uint_eq(nn_data_rows(d), rows);
                ck_assert_uint_eq(nn_data_cols(d), 2);
                ck_assert_uint_eq(nn_data_n_classes(d), rows < 5 ? rows : 5);
                nn_data_destroy(d);
            } else {
                ck_assert_ptr_eq(d, sentinel);
            }
            assert_live(&h, 0);
            if (done) break;
        }
        report(f ? "nn_data_load_csv (> 64 KiB)" : "nn_data_load_csv", n - 1, mode);
        ck_assert_int_ge(n - 1, (f ? 4 : 3));
        drop_file(path);
    }
}
END_TEST

/* ------------------------------------------------ training paths */
static nn_optim_t *make_opt(nn_net_t *net)
{
    nn_optim_config cfg;
    NN_OK_OR_FAIL(nn_optim_config_default(&cfg, NN_OPTIM_ADAM));
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, &cfg, NULL));
    return opt;
}

/* nn_train allocates the net's workspace for one batch (through the net's
 * allocator) and one block through its alloc argument. Which == 0 sweeps the
 * alloc argument, 1 the net's allocator. A failed run leaves parameters,
 * optimizer state and rate as they were; the retry equals an undisturbed run
 * bitwise. */
START_TEST(train)
{
    int mode = _i % 2, which = _i / 2;
    static double X[M * NIN];
    static size_t lab[M];
    fill_batch(X, lab, M);
    nn_data_t *data = NULL;
    NN_OK_OR_FAIL(nn_data_create(&data, M, NIN, NN_ROW_MAJOR, X, NIN, lab, NULL));
    nn_train_config cfg;
    NN_OK_OR_FAIL(nn_train_config_default(&cfg));
    cfg.epochs = 3;
    cfg.batch_size = 16;
    cfg.val_fraction = 0.25;
    cfg.seed = 7;
    NN_OK_OR_FAIL(nn_set_num_threads(1));

    tu_counter hr = {0};
    nn_net_t *ref = make_net(&hr);
    nn_optim_t *ropt = make_opt(ref);
    nn_train_result rres;
    NN_OK_OR_FAIL(nn_train(ref, ropt, data, NULL, &cfg, NULL, &rres));
    double *want = params_copy(ref);
    nn_optim_destroy(ropt);
    nn_net_destroy(ref);

    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter hn = {0}, ht = {0};
        nn_net_t *net = make_net(&hn);
        nn_optim_t *opt = make_opt(net);
        nn_allocator at = tu_allocator(&ht);
        double *before = params_copy(net);
        tu_counter *h = which ? &hn : &ht;
        arm(h, n, mode);
        nn_train_result res = {.epochs_run = 99};
        nn_status st = nn_train(net, opt, data, NULL, &cfg, &at, &res);
        int done = swept(h, st);
        disarm(h);
        assert_live(&ht, 0);
        if (!done) {
            ck_assert_uint_eq(res.epochs_run, 99); /* not written */
            assert_params(net, before);
            uint64_t steps = 1;
            size_t S = nn_optim_state_len(opt);
            double *state = malloc(S * sizeof *state);
            ck_assert_ptr_nonnull(state);
            NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps, state, S));
            ck_assert_uint_eq(steps, 0);
            for (size_t i = 0; i < S; i++) ck_assert(state[i] == 0.0);
            free(state);
            NN_OK_OR_FAIL(nn_train(net, opt, data, NULL, &cfg, &at, &res));
            assert_live(&ht, 0);
        }
        ck_assert_uint_eq(res.epochs_run, rres.epochs_run);
        assert_params(net, want);
        free(before);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        assert_live(&hn, 0);
        if (done) break;
    }
    report(which ? "nn_train (net's workspace)" : "nn_train (alloc argument)",
           n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
    free(want);
    nn_data_destroy(data);
}
END_TEST

/* Evaluation sizes the net's workspace for its batch. */
START_TEST(evaluate)
{
    int mode = _i;
    static double X[M * NIN];
    static size_t lab[M];
    fill_batch(X, lab, M);
    nn_data_t *data = NULL;
    NN_OK_OR_FAIL(nn_data_create(&data, M, NIN, NN_ROW_MAJOR, X, NIN, lab, NULL));
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_net_t *net = make_net(&h);
        arm(&h, n, mode);
        double loss = -1, acc = -1;
        nn_status st = nn_net_evaluate(net, data, 32, &loss, &acc);
        int done = swept(&h, st);
        disarm(&h);
        if (!done) {
            ck_assert(loss == -1 && acc == -1);
            NN_OK_OR_FAIL(nn_net_evaluate(net, data, 32, &loss, &acc));
        }
        ck_assert(isfinite(loss) && acc >= 0 && acc <= 1);
        nn_net_destroy(net);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_net_evaluate", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
    nn_data_destroy(data);
}
END_TEST

/* ------------------------------------------------ model files */
/* Loading a model: the layer table, the net, the optimizer (and, from a
 * file, the file's bytes). Nothing is returned on failure; the loaded model
 * saves back to the same bytes. */
START_TEST(model_load)
{
    int mode = _i;
    static double X[M * NIN];
    static size_t lab[M];
    fill_batch(X, lab, M);
    nn_net_t *src = make_net(&(tu_counter){0});
    nn_optim_t *sopt = make_opt(src);
    NN_OK_OR_FAIL(nn_net_gradient_labels(src, M, NN_ROW_MAJOR, X, NIN, lab, NULL));
    NN_OK_OR_FAIL(nn_optim_step(sopt, src));
    size_t size = 0;
    NN_OK_OR_FAIL(nn_model_save_mem(src, sopt, NULL, 0, &size));
    unsigned char *bytes = malloc(size), *again = malloc(size);
    ck_assert(bytes && again);
    NN_OK_OR_FAIL(nn_model_save_mem(src, sopt, bytes, size, &size));
    nn_optim_destroy(sopt);
    nn_net_destroy(src);
    char *path = temp_file(bytes, size);
    for (int from_file = 0; from_file < 2; from_file++) {
        long n;
        for (n = 1; n < MAX_SITES; n++) {
            tu_counter h = {0};
            nn_allocator a = tu_allocator(&h);
            arm(&h, n, mode);
            nn_net_t *snet = (nn_net_t *)&h, *net = snet;
            nn_optim_t *sopt2 = (nn_optim_t *)&a, *opt = sopt2;
            nn_status st = from_file
                               ? nn_model_load(path, &net, &opt, &a, NULL)
                               : nn_model_load_mem(bytes, size, &net, &opt, &a, NULL);
            int done = swept(&h, st);
            if (done) {
                size_t got = 0;
                NN_OK_OR_FAIL(nn_model_save_mem(net, opt, again, size, &got));
                ck_assert_uint_eq(got, size);
                ck_assert_mem_eq(again, bytes, size);
                nn_optim_destroy(opt);
                nn_net_destroy(net);
            } else {
                ck_assert_ptr_eq(net, snet);
                ck_assert_ptr_eq(opt, sopt2);
            }
            assert_live(&h, 0);
            if (done) break;
        }
        report(from_file ? "nn_model_load" : "nn_model_load_mem", n - 1, mode);
        ck_assert_int_ge(n - 1, from_file ? 4 : 3); /* (file,) specs, net, optimizer */
    }
    drop_file(path);
    free(bytes);
    free(again);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("oom");
    /* loop index: 0 = fail the n-th allocation only, 1 = the n-th and all
     * later ones */
    tcase_add_loop_test(tc, net_create, 0, 2);
    tcase_add_loop_test(tc, dense_create, 0, 2);
    tcase_add_loop_test(tc, reserve, 0, 2);
    tcase_add_loop_test(tc, optim_create, 0, 2);
    tcase_add_loop_test(tc, init_orthogonal, 0, 2);
    tcase_add_loop_test(tc, data_create_and_scaler, 0, 2);
    tcase_add_loop_test(tc, load_idx, 0, 2);
    tcase_add_loop_test(tc, load_idx_labels, 0, 2);
    tcase_add_loop_test(tc, load_csv, 0, 2);
    tcase_add_loop_test(tc, train, 0, 4);
    tcase_add_loop_test(tc, evaluate, 0, 2);
    tcase_add_loop_test(tc, model_load, 0, 2);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
