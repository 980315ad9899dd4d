/* test_oom.c — allocation-failure injection. For every allocation site of the
 * create / load / train / inference paths, the n-th allocation (and, in the
 * second pass, every one from the n-th on) fails, for n = 1, 2, ... until a
 * run meets no failure. Each failing call must return NN_ERR_NOMEM, write
 * nothing to its outputs, leak nothing (the checking allocator ends
 * balanced), and leave the objects it was given unchanged and usable: the
 * same call then succeeds. Inference calls given a NULL context allocate a
 * temporary one through the network's allocator: they are swept too. */
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
/* 5 -> 24 relu (dropout 0.2) -> 7 tanh -> 3 softmax, softmax CE. */
enum { NIN = 5, NL = 3, M = 40 };
static const size_t mlp_units[NL] = {24, 7, 3};
static const nn_activation mlp_acts[NL] = {NN_ACT_RELU, NN_ACT_TANH,
                                           NN_ACT_SOFTMAX};

/* The spec's calls after nn_netspec_create, stopping at the first failure;
 * *added counts the layers that went in. */
static nn_status mlp_layers(nn_netspec_t *s, size_t *added)
{
    *added = 0;
    for (size_t l = 0; l < NL; l++) {
        nn_status st = nn_netspec_add_dense(s, mlp_units[l], mlp_acts[l]);
        if (st) return st;
        ++*added;
        if (l == 0) st = nn_netspec_set_real(s, 0, NN_LAYER_DROPOUT, 0.2);
        if (st) return st;
    }
    return NN_OK;
}

static nn_netspec_t *mlp_spec(void)
{
    nn_netspec_t *s = NULL;
    size_t added;
    NN_OK_OR_FAIL(nn_netspec_create(&s, NIN, NN_LOSS_SOFTMAX_CE, NULL));
    NN_OK_OR_FAIL(mlp_layers(s, &added));
    return s;
}

static void fill_batch(double *X, int32_t *lab, size_t m)
{
    tu_rng r = {11};
    tu_fill(&r, X, m * NIN, -1.0, 1.0);
    for (size_t i = 0; i < m; i++) lab[i] = (int32_t)(tu_next(&r) % 3);
}

static nn_net_t *make_net(tu_counter *h)
{
    nn_allocator a = tu_allocator(h);
    nn_netspec_t *s = mlp_spec();
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, &a));
    nn_netspec_destroy(s);
    return net;
}

/* All parameters of net, flattened (P values). */
static double *params_copy(nn_net_t *net)
{
    size_t P = nn_net_n_params(net);
    double *p = tu_dalloc(P);
    memcpy(p, nn_net_params(net), P * sizeof *p);
    return p;
}

static void assert_params(nn_net_t *net, const double *want)
{
    ck_assert_mem_eq(nn_net_params(net), want,
                     nn_net_n_params(net) * sizeof *want);
}

/* The optimizer state is still that of a fresh optimizer: no step, zeros. */
static void assert_opt_fresh(const nn_optim_t *opt)
{
    uint64_t steps = 1;
    size_t S = nn_optim_state_len(opt);
    double *state = tu_dalloc(S);
    NN_OK_OR_FAIL(nn_optim_get_state(opt, &steps, state, S));
    ck_assert_uint_eq(steps, 0);
    for (size_t i = 0; i < S; i++) ck_assert(state[i] == 0.0);
    free(state);
}

static nn_optim_t *make_opt(nn_net_t *net)
{
    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, NN_OPTIM_ADAM, NULL));
    return opt;
}

/* A CUSTOM scaler of n columns with offsets j and scales j + 1. */
static nn_scaler_t *make_scaler(size_t n)
{
    double o[8], s[8];
    ck_assert_uint_le(n, 8);
    for (size_t j = 0; j < n; j++) {
        o[j] = (double)j;
        s[j] = (double)j + 1.0;
    }
    nn_scaler_t *sc = NULL;
    NN_OK_OR_FAIL(nn_scaler_create(&sc, n, o, s, NULL));
    return sc;
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

/* The whole content of a file (n bytes); the caller frees it. */
static unsigned char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
    long len = ftell(f);
    ck_assert_int_ge(len, 0);
    rewind(f);
    unsigned char *b = malloc((size_t)len + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq(fread(b, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return b;
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
/* A spec through its own allocator: create, then the layer calls. A failed
 * add keeps the layers before it; a failed set keeps the layer. */
START_TEST(netspec_build)
{
    int mode = _i;
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_netspec_t *sentinel = (nn_netspec_t *)&h, *s = sentinel;
        nn_status st = nn_netspec_create(&s, NIN, NN_LOSS_SOFTMAX_CE, &a);
        if (st) {
            ck_assert_int_eq(st, NN_ERR_NOMEM);
            ck_assert_ptr_eq(s, sentinel);
            assert_live(&h, 0);
            continue;
        }
        size_t added = 0;
        st = mlp_layers(s, &added);
        int done = swept(&h, st);
        disarm(&h);
        ck_assert_uint_eq(nn_netspec_n_layers(s), added);
        if (!done) { /* the spec is still usable: finish it and build */
            nn_netspec_destroy(s);
            s = NULL;
            NN_OK_OR_FAIL(nn_netspec_create(&s, NIN, NN_LOSS_SOFTMAX_CE, &a));
            NN_OK_OR_FAIL(mlp_layers(s, &added));
        }
        nn_net_t *net = NULL;
        NN_OK_OR_FAIL(nn_net_create(&net, s, NULL));
        double r = -1;
        NN_OK_OR_FAIL(nn_net_get_layer_real(net, 0, NN_LAYER_DROPOUT, &r));
        ck_assert(r == 0.2);
        nn_net_destroy(net);
        nn_netspec_destroy(s);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_netspec_create/add/set", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
}
END_TEST

START_TEST(net_create)
{
    int mode = _i;
    nn_netspec_t *spec = mlp_spec();
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_net_t *sentinel = (nn_net_t *)&h, *net = sentinel;
        nn_status st = nn_net_create(&net, spec, &a);
        if (swept(&h, st)) {
            nn_net_destroy(net);
            assert_live(&h, 0);
            break;
        }
        ck_assert_ptr_eq(net, sentinel);
        assert_live(&h, 0);
    }
    nn_netspec_destroy(spec);
    report("nn_net_create", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
}
END_TEST

/* Clone (with a gradient and an input scaler to copy) and the spec of a
 * network: nothing returned on failure, the source untouched; the clone
 * equals the source. */
START_TEST(net_clone_and_spec)
{
    int mode = _i;
    static double X[M * NIN];
    static int32_t lab[M];
    fill_batch(X, lab, M);
    nn_net_t *src = make_net(&(tu_counter){0});
    NN_OK_OR_FAIL(nn_net_gradient_labels(src, M, NN_ROW_MAJOR, X, NIN, lab,
                                         NULL));
    nn_scaler_t *sc = make_scaler(NIN);
    NN_OK_OR_FAIL(nn_net_set_scaler(src, NN_SCALER_INPUT, sc));
    nn_scaler_destroy(sc);
    double *want = params_copy(src);
    size_t P = nn_net_n_params(src);
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_net_t *sentinel = (nn_net_t *)&h, *c = sentinel;
        nn_status st = nn_net_clone(&c, src, &a);
        int done = swept(&h, st);
        if (done) {
            assert_params(c, want);
            ck_assert_mem_eq(nn_net_grads(c), nn_net_grads(src),
                             P * sizeof(double));
            ck_assert_int_eq(nn_net_has_grads(c), 1);
            ck_assert_uint_eq(nn_scaler_n(nn_net_get_scaler(c,
                                                            NN_SCALER_INPUT)),
                              NIN);
            nn_net_destroy(c);
        } else {
            ck_assert_ptr_eq(c, sentinel);
        }
        assert_live(&h, 0);
        assert_params(src, want);
        if (done) break;
    }
    report("nn_net_clone", n - 1, mode);
    ck_assert_int_ge(n - 1, 2); /* the net, its scaler */
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_netspec_t *sentinel = (nn_netspec_t *)&h, *s = sentinel;
        nn_status st = nn_netspec_from_net(&s, src, &a);
        int done = swept(&h, st);
        if (done) {
            ck_assert_uint_eq(nn_netspec_n_layers(s), NL);
            nn_netspec_destroy(s);
        } else {
            ck_assert_ptr_eq(s, sentinel);
        }
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_netspec_from_net", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
    free(want);
    nn_net_destroy(src);
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
    static int32_t lab[M];
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
            NN_OK_OR_FAIL(nn_net_gradient_labels(net, 8, NN_ROW_MAJOR, X, NIN,
                                                 lab, NULL));
            ck_assert_int_eq(h.attempts, attempts);
            NN_OK_OR_FAIL(nn_net_reserve(net, M));
        }
        long attempts = h.attempts;
        NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, NULL));
        ck_assert_int_eq(h.attempts, attempts); /* reserved: no allocation */
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

/* A gradient or a one-call step on a net without a workspace grows it: on
 * failure no loss is written, the parameters, the gradient state and the
 * optimizer are as before; the retry equals an undisturbed step bitwise. */
START_TEST(step_grows_workspace)
{
    int mode = _i % 2, step = _i / 2;
    static double X[M * NIN];
    static int32_t lab[M];
    fill_batch(X, lab, M);
    tu_counter hr = {0};
    nn_net_t *ref = make_net(&hr);
    nn_optim_t *ropt = make_opt(ref);
    double rloss;
    if (step)
        NN_OK_OR_FAIL(nn_net_train_step_labels(ref, ropt, M, NN_ROW_MAJOR, X,
                                               NIN, lab, &rloss));
    else
        NN_OK_OR_FAIL(nn_net_gradient_labels(ref, M, NN_ROW_MAJOR, X, NIN,
                                             lab, &rloss));
    double *want = params_copy(ref);
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_net_t *net = make_net(&h);
        nn_optim_t *opt = make_opt(net);
        double *before = params_copy(net);
        long blocks = live_blocks(&h);
        arm(&h, n, mode);
        double loss = -1;
        nn_status st = step ? nn_net_train_step_labels(net, opt, M,
                                                       NN_ROW_MAJOR, X, NIN,
                                                       lab, &loss)
                            : nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X,
                                                     NIN, lab, &loss);
        int done = swept(&h, st);
        disarm(&h);
        if (!done) {
            ck_assert(loss == -1);
            ck_assert_int_eq(live_blocks(&h), blocks);
            assert_params(net, before);
            ck_assert_int_eq(nn_net_has_grads(net), 0);
            assert_opt_fresh(opt);
            st = step ? nn_net_train_step_labels(net, opt, M, NN_ROW_MAJOR, X,
                                                 NIN, lab, &loss)
                      : nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN,
                                               lab, &loss);
            NN_OK_OR_FAIL(st);
        }
        ck_assert(memcmp(&loss, &rloss, sizeof loss) == 0);
        assert_params(net, want);
        if (!step)
            ck_assert_mem_eq(nn_net_grads(net), nn_net_grads(ref),
                             nn_net_n_params(net) * sizeof(double));
        free(before);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        assert_live(&h, 0);
        if (done) break;
    }
    report(step ? "nn_net_train_step_labels" : "nn_net_gradient_labels", n - 1,
           mode);
    ck_assert_int_ge(n - 1, 1);
    free(want);
    nn_optim_destroy(ropt);
    nn_net_destroy(ref);
}
END_TEST

/* Contexts, and the inference calls that make a temporary one when given a
 * NULL context (through the net's allocator): outputs untouched on failure,
 * the retry equals an undisturbed call bitwise. */
START_TEST(ctx_and_inference)
{
    int mode = _i;
    static double X[M * NIN], Y[M * 3], Yref[M * 3], T[M * 3];
    static int32_t lab[M];
    fill_batch(X, lab, M);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < 3; j++) T[i * 3 + j] = lab[i] == (int32_t)j;
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter hn = {0}, h = {0};
        nn_net_t *net = make_net(&hn);
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_ctx_t *sentinel = (nn_ctx_t *)&h, *ctx = sentinel;
        nn_status st = nn_ctx_create(&ctx, net, 16, &a);
        int done = swept(&h, st);
        if (done) {
            ck_assert_uint_eq(nn_ctx_capacity(ctx), 16);
            nn_ctx_destroy(ctx);
        } else {
            ck_assert_ptr_eq(ctx, sentinel);
        }
        assert_live(&h, 0);
        nn_net_destroy(net);
        assert_live(&hn, 0);
        if (done) break;
    }
    report("nn_ctx_create", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);

    for (int call = 0; call < 3; call++) {
        for (n = 1; n < MAX_SITES; n++) {
            tu_counter h = {0};
            nn_net_t *net = make_net(&h);
            /* the undisturbed call (its chunking is that of the retry) */
            double lref = -2, loss = -1;
            NN_OK_OR_FAIL(call == 0 ? nn_net_predict(net, NULL, M, NN_ROW_MAJOR,
                                                     X, NIN, Yref, 3)
                          : call == 1 ? nn_net_loss(net, NULL, M, NN_ROW_MAJOR,
                                                    X, NIN, T, 3, &lref)
                                      : nn_net_loss_labels(net, NULL, M,
                                                           NN_ROW_MAJOR, X, NIN,
                                                           lab, &lref));
            double *before = params_copy(net);
            long blocks = live_blocks(&h);
            memset(Y, 0xA5, sizeof Y);
            unsigned char y0[sizeof Y];
            memcpy(y0, Y, sizeof Y);
            arm(&h, n, mode);
            nn_status st =
                call == 0 ? nn_net_predict(net, NULL, M, NN_ROW_MAJOR, X, NIN,
                                           Y, 3)
                : call == 1 ? nn_net_loss(net, NULL, M, NN_ROW_MAJOR, X, NIN,
                                          T, 3, &loss)
                            : nn_net_loss_labels(net, NULL, M, NN_ROW_MAJOR, X,
                                                 NIN, lab, &loss);
            int done = swept(&h, st);
            disarm(&h);
            ck_assert_int_eq(live_blocks(&h), blocks);
            assert_params(net, before);
            if (!done) {
                ck_assert(memcmp(Y, y0, sizeof Y) == 0);
                ck_assert(loss == -1);
                NN_OK_OR_FAIL(call == 0 ? nn_net_predict(net, NULL, M,
                                                         NN_ROW_MAJOR, X, NIN,
                                                         Y, 3)
                              : call == 1 ? nn_net_loss(net, NULL, M,
                                                        NN_ROW_MAJOR, X, NIN, T,
                                                        3, &loss)
                                          : nn_net_loss_labels(net, NULL, M,
                                                               NN_ROW_MAJOR, X,
                                                               NIN, lab,
                                                               &loss));
            }
            if (call == 0) ck_assert_mem_eq(Y, Yref, sizeof Y);
            else ck_assert(memcmp(&loss, &lref, sizeof loss) == 0);
            free(before);
            nn_net_destroy(net);
            assert_live(&h, 0);
            if (done) break;
        }
        const char *names[] = {"nn_net_predict (NULL ctx)",
                               "nn_net_loss (NULL ctx)",
                               "nn_net_loss_labels (NULL ctx)"};
        report(names[call], n - 1, mode);
        ck_assert_int_ge(n - 1, 1);
    }
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
            nn_allocator a = tu_allocator(&h);
            arm(&h, n, mode);
            nn_optim_t *sentinel = (nn_optim_t *)&h, *opt = sentinel;
            nn_status st = nn_optim_create(&opt, net, kind, &a);
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

START_TEST(trainer_create)
{
    int mode = _i;
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_trainer_t *sentinel = (nn_trainer_t *)&h, *tr = sentinel;
        nn_status st = nn_trainer_create(&tr, &a);
        int done = swept(&h, st);
        if (done) nn_trainer_destroy(tr);
        else ck_assert_ptr_eq(tr, sentinel);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_trainer_create", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
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
        long blocks = live_blocks(&h);
        arm(&h, n, mode);
        nn_status st = nn_net_init(net, NN_INIT_ORTHOGONAL, 42);
        int done = swept(&h, st);
        disarm(&h);
        ck_assert_int_eq(live_blocks(&h), blocks); /* the net itself */
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
/* Sweep nn_data_create; then, on a data set made through a counter, each
 * call that allocates through the data set's allocator: labels, targets,
 * taking target columns. A failure keeps what the data set held. */
static nn_status data_call(nn_data_t *d, int call, const int32_t *lab,
                           const double *Y)
{
    static const size_t cols[] = {4, 1};
    switch (call) {
    case 0: return nn_data_set_labels(d, lab);
    case 1: return nn_data_set_targets(d, 3, NN_COL_MAJOR, Y, M);
    default: return nn_data_take_targets(d, cols, 2);
    }
}

START_TEST(data_paths)
{
    int mode = _i;
    static double X[M * NIN], Y[M * 3];
    static int32_t lab[M], old[M];
    fill_batch(X, lab, M);
    for (size_t i = 0; i < M; i++) old[i] = (int32_t)(i % 2);
    tu_fill(&(tu_rng){5}, Y, M * 3, -2.0, 2.0);
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        arm(&h, n, mode);
        nn_data_t *sentinel = (nn_data_t *)&h, *d = sentinel;
        nn_status st = nn_data_create(&d, M, NIN, NN_COL_MAJOR, X, M, &a);
        int done = swept(&h, st);
        if (done) nn_data_destroy(d);
        else ck_assert_ptr_eq(d, sentinel);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_data_create", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);

    const char *names[] = {"nn_data_set_labels", "nn_data_set_targets",
                           "nn_data_take_targets"};
    for (int call = 0; call < 3; call++) {
        for (n = 1; n < MAX_SITES; n++) {
            tu_counter h = {0};
            nn_allocator a = tu_allocator(&h);
            nn_data_t *d = tu_data(X, M, NIN, old, &a);
            long blocks = live_blocks(&h);
            arm(&h, n, mode);
            nn_status st = data_call(d, call, lab, Y);
            int done = swept(&h, st);
            disarm(&h);
            if (!done) {
                ck_assert_int_eq(live_blocks(&h), blocks);
                ck_assert_uint_eq(nn_data_cols(d), NIN);
                ck_assert_mem_eq(nn_data_x(d), X, sizeof X);
                ck_assert_mem_eq(nn_data_labels(d), old, sizeof old);
                ck_assert_uint_eq(nn_data_n_targets(d), 0);
                NN_OK_OR_FAIL(data_call(d, call, lab, Y));
            }
            if (call == 0) ck_assert_mem_eq(nn_data_labels(d), lab, sizeof lab);
            if (call == 1) { /* target (i,j) = Y[j*M + i], by hand */
                ck_assert_uint_eq(nn_data_n_targets(d), 3);
                ck_assert(nn_data_targets(d)[3 * 7 + 2] == Y[2 * M + 7]);
            }
            if (call == 2) { /* targets: features 4 and 1 of row-major X */
                ck_assert_uint_eq(nn_data_cols(d), NIN - 2);
                ck_assert(nn_data_targets(d)[3 * 2 + 1] == X[3 * NIN + 1]);
            }
            nn_data_destroy(d);
            assert_live(&h, 0);
            if (done) break;
        }
        report(names[call], n - 1, mode);
        ck_assert_int_ge(n - 1, 1);
    }
}
END_TEST

/* Scalers: fitted on an array or a data set, or made from parameters; and
 * attached to a network (a copy through the net's allocator: a failure keeps
 * the scaler attached before). */
static nn_status scaler_call(nn_scaler_t **s, int call, const double *X,
                             const nn_data_t *d, const nn_allocator *a)
{
    static const double o[NIN] = {1, 2, 3, 4, 5}, sc[NIN] = {2, 2, 2, 2, 2};
    switch (call) {
    case 0: return nn_scaler_fit(s, NN_SCALE_STANDARD, M, NIN, NN_ROW_MAJOR, X,
                                 NIN, a);
    case 1: return nn_scaler_fit(s, NN_SCALE_MINMAX, M, NIN, NN_COL_MAJOR, X,
                                 M, a);
    case 2: return nn_scaler_fit_data(s, NN_SCALE_STANDARD, d, a);
    default: return nn_scaler_create(s, NIN, o, sc, a);
    }
}

START_TEST(scaler_paths)
{
    int mode = _i;
    static double X[M * NIN];
    static int32_t lab[M];
    fill_batch(X, lab, M);
    nn_data_t *d = tu_data(X, M, NIN, lab, NULL);
    const char *names[] = {"nn_scaler_fit (standard)", "nn_scaler_fit (minmax)",
                           "nn_scaler_fit_data", "nn_scaler_create"};
    long n;
    for (int call = 0; call < 4; call++) {
        for (n = 1; n < MAX_SITES; n++) {
            tu_counter h = {0};
            nn_allocator a = tu_allocator(&h);
            arm(&h, n, mode);
            nn_scaler_t *sentinel = (nn_scaler_t *)&h, *s = sentinel;
            nn_status st = scaler_call(&s, call, X, d, &a);
            int done = swept(&h, st);
            if (done) {
                ck_assert_uint_eq(nn_scaler_n(s), NIN);
                nn_scaler_destroy(s);
            } else {
                ck_assert_ptr_eq(s, sentinel);
            }
            assert_live(&h, 0);
            if (done) break;
        }
        report(names[call], n - 1, mode);
        ck_assert_int_ge(n - 1, 1);
    }
    nn_data_destroy(d);

    nn_scaler_t *s_old = make_scaler(NIN), *s_new = NULL;
    NN_OK_OR_FAIL(nn_scaler_create(&s_new, NIN, X, X + NIN, NULL));
    double want[2 * NIN], got[2 * NIN];
    NN_OK_OR_FAIL(nn_scaler_get_params(s_old, want, want + NIN));
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_net_t *net = make_net(&h);
        NN_OK_OR_FAIL(nn_net_set_scaler(net, NN_SCALER_INPUT, s_old));
        long blocks = live_blocks(&h);
        arm(&h, n, mode);
        nn_status st = nn_net_set_scaler(net, NN_SCALER_INPUT, s_new);
        int done = swept(&h, st);
        disarm(&h);
        if (!done) {
            ck_assert_int_eq(live_blocks(&h), blocks);
            const nn_scaler_t *kept = nn_net_get_scaler(net, NN_SCALER_INPUT);
            ck_assert_ptr_nonnull(kept);
            NN_OK_OR_FAIL(nn_scaler_get_params(kept, got, got + NIN));
            ck_assert_mem_eq(got, want, sizeof want);
        }
        nn_net_destroy(net);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_net_set_scaler", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
    nn_scaler_destroy(s_old);
    nn_scaler_destroy(s_new);
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
    const int32_t old[4] = {1, 1, 0, 0};
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        nn_data_t *d = tu_data(x, 4, 1, old, &a);
        long blocks = live_blocks(&h);
        arm(&h, n, mode);
        nn_status st = nn_data_load_idx_labels(d, path, NULL);
        int done = swept(&h, st);
        disarm(&h);
        ck_assert_int_eq(live_blocks(&h), blocks); /* block, labels */
        if (!done) {
            ck_assert_mem_eq(nn_data_labels(d), old, sizeof old);
            ck_assert_uint_eq(nn_data_n_classes(d), 2);
            NN_OK_OR_FAIL(nn_data_load_idx_labels(d, path, NULL));
        }
        ck_assert_int_eq(nn_data_labels(d)[3], 3);
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
            nn_status st = nn_data_load_csv(&d, path, 1, 1, &a, NULL);
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
static nn_trainer_t *make_trainer(const nn_allocator *a)
{
    nn_trainer_t *tr = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&tr, a));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_EPOCHS, 3));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_BATCH_SIZE, 16));
    NN_OK_OR_FAIL(nn_trainer_set_real(tr, NN_TRAIN_VAL_FRACTION, 0.25));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_SEED, 7));
    return tr;
}

/* nn_train allocates the net's workspace for one batch (through the net's
 * allocator) and its buffers through the trainer's allocator. which == 0
 * sweeps the trainer's allocator, 1 the net's. A failed run leaves
 * parameters, optimizer state and rate as they were and reports no run; the
 * retry equals an undisturbed run bitwise. */
START_TEST(train)
{
    int mode = _i % 2, which = _i / 2;
    static double X[M * NIN];
    static int32_t lab[M];
    fill_batch(X, lab, M);
    nn_data_t *data = tu_data(X, M, NIN, lab, NULL);
    nn_status th = nn_set_num_threads(1);
    ck_assert(th == NN_OK || th == NN_ERR_UNSUPPORTED);

    tu_counter hr = {0};
    nn_net_t *ref = make_net(&hr);
    nn_optim_t *ropt = make_opt(ref);
    nn_trainer_t *rtr = make_trainer(NULL);
    NN_OK_OR_FAIL(nn_train(rtr, ref, ropt, data, NULL));
    int64_t repochs = 0;
    NN_OK_OR_FAIL(nn_trainer_get_int(rtr, NN_TRAIN_EPOCHS_RUN, &repochs));
    ck_assert_int_ge(repochs, 1);
    double *want = params_copy(ref);
    nn_trainer_destroy(rtr);
    nn_optim_destroy(ropt);
    nn_net_destroy(ref);

    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter hn = {0}, ht = {0};
        nn_net_t *net = make_net(&hn);
        nn_optim_t *opt = make_opt(net);
        nn_allocator at = tu_allocator(&ht);
        nn_trainer_t *tr = make_trainer(&at);
        long tblocks = live_blocks(&ht);
        double *before = params_copy(net);
        double lr0 = 0, lr = -1;
        NN_OK_OR_FAIL(nn_optim_get_real(opt, NN_OPTIM_LR, &lr0));
        tu_counter *h = which ? &hn : &ht;
        arm(h, n, mode);
        nn_status st = nn_train(tr, net, opt, data, NULL);
        int done = swept(h, st);
        disarm(h);
        ck_assert_int_eq(live_blocks(&ht), tblocks);
        int64_t epochs = -1;
        if (!done) {
            NN_OK_OR_FAIL(nn_trainer_get_int(tr, NN_TRAIN_EPOCHS_RUN, &epochs));
            ck_assert_int_eq(epochs, 0); /* no run reported */
            assert_params(net, before);
            assert_opt_fresh(opt);
            NN_OK_OR_FAIL(nn_optim_get_real(opt, NN_OPTIM_LR, &lr));
            ck_assert(lr == lr0);
            NN_OK_OR_FAIL(nn_train(tr, net, opt, data, NULL));
            ck_assert_int_eq(live_blocks(&ht), tblocks);
        }
        NN_OK_OR_FAIL(nn_trainer_get_int(tr, NN_TRAIN_EPOCHS_RUN, &epochs));
        ck_assert_int_eq(epochs, repochs);
        assert_params(net, want);
        free(before);
        nn_trainer_destroy(tr);
        assert_live(&ht, 0);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        assert_live(&hn, 0);
        if (done) break;
    }
    report(which ? "nn_train (net's workspace)" : "nn_train (trainer's)",
           n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
    free(want);
    nn_data_destroy(data);
}
END_TEST

/* Evaluation and the confusion matrix without a context make a temporary
 * one through the net's allocator; nothing is written on failure. */
START_TEST(evaluate)
{
    int mode = _i;
    static double X[M * NIN];
    static int32_t lab[M];
    fill_batch(X, lab, M);
    nn_data_t *data = tu_data(X, M, NIN, lab, NULL);
    const int32_t metrics[] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY,
                               NN_METRIC_MSE_OUTPUTS};
    long n;
    for (int call = 0; call < 2; call++) {
        for (n = 1; n < MAX_SITES; n++) {
            tu_counter h = {0};
            nn_net_t *net = make_net(&h);
            long blocks = live_blocks(&h);
            arm(&h, n, mode);
            double v[5] = {-1, -1, -1, -1, -1};
            size_t counts[9];
            memset(counts, 0xA5, sizeof counts);
            nn_status st = call ? nn_net_confusion(net, NULL, data, counts)
                                : nn_net_evaluate(net, NULL, data, 3, metrics,
                                                  v);
            int done = swept(&h, st);
            disarm(&h);
            ck_assert_int_eq(live_blocks(&h), blocks);
            if (!done) {
                for (size_t i = 0; i < 5; i++) ck_assert(v[i] == -1);
                for (size_t i = 0; i < 9; i++)
                    ck_assert_uint_eq(counts[i], SIZE_MAX / 255 * 0xA5);
                NN_OK_OR_FAIL(call ? nn_net_confusion(net, NULL, data, counts)
                                   : nn_net_evaluate(net, NULL, data, 3,
                                                     metrics, v));
            }
            if (call) {
                size_t sum = 0;
                for (size_t i = 0; i < 9; i++) sum += counts[i];
                ck_assert_uint_eq(sum, M);
            } else {
                ck_assert(isfinite(v[0]) && v[1] >= 0 && v[1] <= 1);
                ck_assert(v[2] >= 0 && v[3] >= 0 && v[4] >= 0);
            }
            nn_net_destroy(net);
            assert_live(&h, 0);
            if (done) break;
        }
        report(call ? "nn_net_confusion (NULL ctx)"
                    : "nn_net_evaluate (NULL ctx)",
               n - 1, mode);
        ck_assert_int_ge(n - 1, 1);
    }
    nn_data_destroy(data);
}
END_TEST

/* ------------------------------------------------ model files */
/* A trained source model with an input scaler, as bytes. */
static unsigned char *model_bytes(size_t *size)
{
    static double X[M * NIN];
    static int32_t lab[M];
    fill_batch(X, lab, M);
    nn_net_t *src = make_net(&(tu_counter){0});
    nn_optim_t *sopt = make_opt(src);
    NN_OK_OR_FAIL(nn_net_gradient_labels(src, M, NN_ROW_MAJOR, X, NIN, lab, NULL));
    NN_OK_OR_FAIL(nn_optim_step(sopt, src));
    nn_scaler_t *sc = make_scaler(NIN);
    NN_OK_OR_FAIL(nn_net_set_scaler(src, NN_SCALER_INPUT, sc));
    nn_scaler_destroy(sc);
    NN_OK_OR_FAIL(nn_model_save_mem(src, sopt, NULL, 0, size));
    unsigned char *bytes = malloc(*size);
    ck_assert_ptr_nonnull(bytes);
    NN_OK_OR_FAIL(nn_model_save_mem(src, sopt, bytes, *size, size));
    nn_optim_destroy(sopt);
    nn_net_destroy(src);
    return bytes;
}

/* Loading a model: the net, its scaler, the optimizer (and, from a file,
 * the file's bytes). Nothing is returned on failure; the loaded model saves
 * back to the same bytes. */
START_TEST(model_load)
{
    int mode = _i;
    size_t size = 0;
    unsigned char *bytes = model_bytes(&size), *again = malloc(size);
    ck_assert_ptr_nonnull(again);
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
        ck_assert_int_ge(n - 1, from_file ? 4 : 3); /* (file,) net, scaler, optimizer */
    }
    drop_file(path);
    free(bytes);
    free(again);
}
END_TEST

/* Saving builds the bytes in memory through the net's allocator: a failure
 * leaves the previous file as it was; the retry writes the model. */
START_TEST(model_save)
{
    int mode = _i;
    size_t size = 0;
    unsigned char *bytes = model_bytes(&size);
    const char old[] = "the previous file";
    char *path = temp_file(old, sizeof old);
    long n;
    for (n = 1; n < MAX_SITES; n++) {
        tu_counter h = {0};
        nn_allocator a = tu_allocator(&h);
        nn_net_t *net = NULL;
        nn_optim_t *opt = NULL;
        NN_OK_OR_FAIL(nn_model_load_mem(bytes, size, &net, &opt, &a, NULL));
        long blocks = live_blocks(&h);
        arm(&h, n, mode);
        nn_status st = nn_model_save(path, net, opt, NULL);
        int done = swept(&h, st);
        disarm(&h);
        ck_assert_int_eq(live_blocks(&h), blocks);
        size_t got = 0;
        unsigned char *file = slurp(path, &got);
        if (!done) {
            ck_assert_uint_eq(got, sizeof old);
            ck_assert_mem_eq(file, old, sizeof old);
        } else {
            ck_assert_uint_eq(got, size);
            ck_assert_mem_eq(file, bytes, size);
        }
        free(file);
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        assert_live(&h, 0);
        if (done) break;
    }
    report("nn_model_save", n - 1, mode);
    ck_assert_int_ge(n - 1, 1);
    drop_file(path);
    free(bytes);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("oom");
    TCase *tc = tcase_create("oom");
    /* loop index: 0 = fail the n-th allocation only, 1 = the n-th and all
     * later ones */
    tcase_add_loop_test(tc, netspec_build, 0, 2);
    tcase_add_loop_test(tc, net_create, 0, 2);
    tcase_add_loop_test(tc, net_clone_and_spec, 0, 2);
    tcase_add_loop_test(tc, dense_create, 0, 2);
    tcase_add_loop_test(tc, reserve, 0, 2);
    tcase_add_loop_test(tc, step_grows_workspace, 0, 4);
    tcase_add_loop_test(tc, ctx_and_inference, 0, 2);
    tcase_add_loop_test(tc, optim_create, 0, 2);
    tcase_add_loop_test(tc, trainer_create, 0, 2);
    tcase_add_loop_test(tc, init_orthogonal, 0, 2);
    tcase_add_loop_test(tc, data_paths, 0, 2);
    tcase_add_loop_test(tc, scaler_paths, 0, 2);
    tcase_add_loop_test(tc, load_idx, 0, 2);
    tcase_add_loop_test(tc, load_idx_labels, 0, 2);
    tcase_add_loop_test(tc, load_csv, 0, 2);
    tcase_add_loop_test(tc, train, 0, 4);
    tcase_add_loop_test(tc, evaluate, 0, 2);
    tcase_add_loop_test(tc, model_load, 0, 2);
    tcase_add_loop_test(tc, model_save, 0, 2);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
