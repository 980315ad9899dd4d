/* test_alloc.c — memory: every object (spec, network, clone, context,
 * optimizer, trainer, data set, scaler) allocates only through the allocator
 * it was given and returns every byte; a context in caller memory uses no
 * allocator at all; inference with a context and a training step after the
 * first allocate nothing; a failed allocation returns NN_ERR_NOMEM, leaks
 * nothing and leaves objects usable. */
#define _GNU_SOURCE /* dladdr */
#include "testutil.h"

#include <dlfcn.h>
#include <string.h>

/* ------------------------------------------------ malloc interposition
 * The test binary defines malloc & co., which takes them over for the whole
 * process (libnn.so and OpenBLAS included), so a step that called malloc
 * anywhere would be seen. Sanitizer builds own malloc: there, only the
 * counting allocator checks run. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define TU_INTERPOSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer) || \
    __has_feature(thread_sanitizer)
#define TU_INTERPOSE 0
#endif
#endif
#ifndef TU_INTERPOSE
#define TU_INTERPOSE 1
#endif

static volatile long heap_calls; /* malloc-family calls seen while counting */
static volatile long nn_heap_calls; /* ... of which made by libnn.so itself */
static volatile int counting;

#if TU_INTERPOSE
/* Count one call made from return address `from`. */
static void count_call(void *from)
{
    if (!counting) return;
    counting = 0; /* dladdr may allocate */
    heap_calls++;
    Dl_info info;
    if (dladdr(from, &info) && info.dli_fname && strstr(info.dli_fname, "libnn.so"))
        nn_heap_calls++;
    counting = 1;
}

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);
extern void __libc_free(void *);

/* noinline: the return address must be the caller's even when the compiler
 * could inline malloc into a caller in this file (tu_counter's blocks). */
#define TU_NOINLINE __attribute__((noinline))

TU_NOINLINE void *malloc(size_t n)
{
    count_call(__builtin_return_address(0));
    return __libc_malloc(n);
}
TU_NOINLINE void *calloc(size_t a, size_t b)
{
    count_call(__builtin_return_address(0));
    return __libc_calloc(a, b);
}
TU_NOINLINE void *realloc(void *p, size_t n)
{
    count_call(__builtin_return_address(0));
    return __libc_realloc(p, n);
}
int posix_memalign(void **out, size_t align, size_t n);
TU_NOINLINE int posix_memalign(void **out, size_t align, size_t n)
{
    count_call(__builtin_return_address(0));
    void *p = __libc_memalign(align, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
TU_NOINLINE void *aligned_alloc(size_t align, size_t n)
{
    count_call(__builtin_return_address(0));
    return __libc_memalign(align, n);
}
void free(void *p) { __libc_free(p); }
#endif

/* True when this process really runs the malloc above: not under valgrind,
 * which replaces malloc in the executable too (the heap_calls checks are
 * then vacuous and skipped). */
static bool interposed(void)
{
#if TU_INTERPOSE
    long saved = heap_calls, saved_nn = nn_heap_calls; /* keep the tallies */
    heap_calls = 0;
    counting = 1;
    void *volatile p = malloc(16);
    counting = 0;
    free(p);
    bool seen = heap_calls > 0;
    heap_calls = saved;
    nn_heap_calls = saved_nn;
    return seen;
#else
    return false;
#endif
}

/* ------------------------------------------------ counting allocator
 * tu_counter (testutil.h). Its blocks come from malloc, so during a measured
 * loop an allocation through it would also show in heap_calls; outside those
 * loops counting is off and the interposed malloc only forwards. Its calls
 * come from the test binary, so they never count as libnn's own. */

/* One BLAS thread; false when the BLAS has no thread control. */
static bool one_blas_thread(void)
{
    nn_status st = nn_set_num_threads(1);
    ck_assert(st == NN_OK || st == NN_ERR_UNSUPPORTED);
    return st == NN_OK;
}

/* The Fashion-MNIST MLP 784-256-128-10 (dropout 0.1 on the first layer) and a
 * batch of random data. */
enum { M = 64, NIN = 784, NOUT = 10 };

static nn_netspec_t *mlp_spec(const nn_allocator *al)
{
    nn_netspec_t *s = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&s, NIN, NN_LOSS_SOFTMAX_CE, al));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 256, NN_ACT_RELU));
    NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, NN_LAYER_DROPOUT, 0.1));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 128, NN_ACT_TANH));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, NOUT, NN_ACT_SOFTMAX));
    return s;
}

static nn_net_t *mlp_net(const nn_allocator *al)
{
    nn_netspec_t *s = mlp_spec(NULL);
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, s, al));
    nn_netspec_destroy(s);
    return net;
}

static void batch(double *X, int32_t *labels)
{
    tu_rng r = {1};
    tu_fill(&r, X, (size_t)M * NIN, 0.0, 1.0);
    for (size_t i = 0; i < M; i++) labels[i] = (int32_t)(tu_next(&r) % NOUT);
}

static nn_optim_t *sgd(const nn_net_t *net, const nn_allocator *al)
{
    nn_optim_t *o = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&o, net, NN_OPTIM_SGD, al));
    NN_OK_OR_FAIL(nn_optim_set_real(o, NN_OPTIM_LR, 0.01));
    return o;
}

START_TEST(every_byte_returned)
{
    tu_counter c = {0};
    nn_allocator a = tu_allocator(&c);
    nn_net_t *net = mlp_net(&a);
    static double X[M * NIN];
    static int32_t lab[M];
    batch(X, lab);
    nn_optim_t *opt = sgd(net, NULL);
    double loss;
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, &loss));
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, M / 2, NN_COL_MAJOR, X, M / 2, lab, &loss));
    NN_OK_OR_FAIL(nn_net_reserve(net, 3 * M)); /* growth frees the old one */
    NN_OK_OR_FAIL(nn_optim_step(opt, net));
    ck_assert_int_ge(c.allocs, 3);
    nn_optim_destroy(opt);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&c);

    tu_counter d = {0};
    nn_allocator ad = tu_allocator(&d);
    nn_dense_t *layer = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&layer, 7, 5, NN_ACT_TANH, 0, &ad));
    double x[3 * 7] = {0}, A[3 * 5], dX[3 * 7];
    NN_OK_OR_FAIL(nn_dense_forward(layer, 3, NN_COL_MAJOR, x, 3, A, 3));
    NN_OK_OR_FAIL(nn_dense_backward(layer, 3, NN_COL_MAJOR, x, 3, A, 3, dX, 3));
    ck_assert_int_ge(d.allocs, 2); /* object, workspace */
    nn_dense_destroy(layer);
    TU_ASSERT_BALANCED(&d);
}
END_TEST

/* Each object gets its own counting allocator; with malloc interposed, libnn
 * itself must call malloc not once meanwhile. A positive control (a network
 * with the default allocator) shows that the interposition sees libnn. */
enum { O_SPEC, O_NET, O_CLONE, O_CTX, O_OPTIM, O_TRAINER, O_DATA, O_VAL,
       O_SCALER, O_SCALER2, O_COUNT };
static const char *const o_names[O_COUNT] = {
    "netspec", "net", "clone", "ctx", "optim", "trainer", "data", "val data",
    "scaler", "array scaler"};

/* Small data: 40 rows of 6 features, 3 classes. */
enum { DM = 40, DN = 6, DK = 3 };

static void use_every_object(nn_allocator *al, double *pred)
{
    static double X[DM * DN];
    static int32_t lab[DM];
    tu_rng r = {5};
    tu_fill(&r, X, DM * DN, -3, 3);
    for (size_t i = 0; i < DM; i++) lab[i] = (int32_t)(tu_next(&r) % DK);

    nn_netspec_t *spec = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&spec, DN, NN_LOSS_SOFTMAX_CE, &al[O_SPEC]));
    NN_OK_OR_FAIL(nn_netspec_add_dense(spec, 8, NN_ACT_TANH));
    NN_OK_OR_FAIL(nn_netspec_set_real(spec, 0, NN_LAYER_DROPOUT, 0.2));
    NN_OK_OR_FAIL(nn_netspec_add_dense(spec, DK, NN_ACT_SOFTMAX));
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, spec, &al[O_NET]));
    nn_netspec_destroy(spec);

    nn_data_t *d = tu_data(X, DM, DN, lab, &al[O_DATA]);
    nn_data_t *val = tu_data(X, DM / 2, DN, lab, &al[O_VAL]);
    nn_scaler_t *sc = NULL, *sa = NULL;
    NN_OK_OR_FAIL(nn_scaler_fit_data(&sc, NN_SCALE_STANDARD, d, &al[O_SCALER]));
    NN_OK_OR_FAIL(nn_scaler_fit(&sa, NN_SCALE_MINMAX, DM, DN, NN_ROW_MAJOR, X,
                                DN, &al[O_SCALER2]));
    NN_OK_OR_FAIL(nn_scaler_apply_data(sc, d));
    NN_OK_OR_FAIL(nn_scaler_apply_data(sc, val));
    NN_OK_OR_FAIL(nn_net_set_scaler(net, NN_SCALER_INPUT, sc)); /* net's copy */

    nn_optim_t *opt = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&opt, net, NN_OPTIM_ADAM, &al[O_OPTIM]));
    nn_trainer_t *tr = NULL;
    NN_OK_OR_FAIL(nn_trainer_create(&tr, &al[O_TRAINER]));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_EPOCHS, 3));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_BATCH_SIZE, 16));
    NN_OK_OR_FAIL(nn_trainer_set_int(tr, NN_TRAIN_PATIENCE, 2));
    NN_OK_OR_FAIL(nn_train(tr, net, opt, d, val));
    NN_OK_OR_FAIL(nn_trainer_set_real(tr, NN_TRAIN_VAL_FRACTION, 0.25));
    NN_OK_OR_FAIL(nn_train(tr, net, opt, d, NULL));

    nn_net_t *clone = NULL;
    NN_OK_OR_FAIL(nn_net_clone(&clone, net, &al[O_CLONE]));
    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, clone, 7, &al[O_CTX]));
    NN_OK_OR_FAIL(nn_net_predict(clone, ctx, DM, NN_ROW_MAJOR, nn_data_x(d), DN,
                                 pred, DK));
    const int32_t keys[2] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY};
    double v[2];
    NN_OK_OR_FAIL(nn_net_evaluate(net, ctx, d, 2, keys, v));
    ck_assert(isfinite(v[0]));

    nn_ctx_destroy(ctx);
    nn_net_destroy(clone);
    nn_trainer_destroy(tr);
    nn_optim_destroy(opt);
    nn_scaler_destroy(sa);
    nn_scaler_destroy(sc);
    nn_data_destroy(val);
    nn_data_destroy(d);
    nn_net_destroy(net);
}

START_TEST(every_object_through_its_allocator)
{
    one_blas_thread();
    tu_counter c[O_COUNT];
    nn_allocator al[O_COUNT];
    memset(c, 0, sizeof c);
    for (int i = 0; i < O_COUNT; i++) al[i] = tu_allocator(&c[i]);
    static double pred[DM * DK];
    nn_heap_calls = 0;
    counting = 1;
    use_every_object(al, pred);
    counting = 0;
    for (int i = 0; i < O_COUNT; i++) {
        ck_assert_msg(c[i].allocs >= 1, "%s used no allocator", o_names[i]);
        ck_assert_msg(tu_balanced(&c[i]), "%s unbalanced: %ld allocs, %ld frees",
                      o_names[i], c[i].allocs, c[i].frees);
    }
    if (interposed()) {
        ck_assert_int_eq(nn_heap_calls, 0);
        /* positive control: the default allocator is malloc, called by libnn */
        counting = 1;
        nn_net_t *net = mlp_net(NULL);
        counting = 0;
        nn_net_destroy(net);
        ck_assert_int_gt(nn_heap_calls, 0);
    }
}
END_TEST

/* Inference on every entry point, m below, at and above the capacity (in
 * chunks), both orders; statuses into st[0..5]. */
static void inference_calls(const nn_net_t *net, nn_ctx_t *ctx, size_t m,
                            const double *X, const int32_t *lab,
                            const nn_data_t *d, double *P, nn_status *st)
{
    static const int32_t keys[3] = {NN_METRIC_LOSS, NN_METRIC_ACCURACY,
                                    NN_METRIC_MSE_OUTPUTS};
    static double Y[M * NOUT], v[2 + NOUT];
    static size_t counts[NOUT * NOUT];
    double loss;
    for (size_t i = 0; i < M * NOUT; i++) Y[i] = i % NOUT == 3;
    st[0] = nn_net_predict(net, ctx, m, NN_ROW_MAJOR, X, NIN, P, NOUT);
    st[1] = nn_net_predict(net, ctx, m, NN_COL_MAJOR, X, m, P, m);
    st[2] = nn_net_loss_labels(net, ctx, m, NN_ROW_MAJOR, X, NIN, lab, &loss);
    st[3] = nn_net_loss(net, ctx, m, NN_COL_MAJOR, X, m, Y, m, &loss);
    st[4] = nn_net_evaluate(net, ctx, d, 3, keys, v);
    st[5] = nn_net_confusion(net, ctx, d, counts);
}

/* A context in caller memory: its creation and every inference call on it
 * use no allocator (neither the net's nor malloc). */
START_TEST(ctx_in_caller_memory_uses_no_allocator)
{
    bool strict = one_blas_thread();
    tu_counter c = {0};
    nn_allocator a = tu_allocator(&c);
    nn_net_t *net = mlp_net(&a);
    static double X[M * NIN], P[M * NOUT];
    static int32_t lab[M];
    batch(X, lab);
    nn_data_t *d = tu_data(X, M, NIN, lab, NULL);
    size_t bytes = 0;
    NN_OK_OR_FAIL(nn_ctx_size(net, 16, &bytes));
    ck_assert_uint_gt(bytes, (size_t)16 * NOUT * sizeof(double));
    void *mem = malloc(bytes + sizeof(double));
    ck_assert_ptr_nonnull(mem);
    /* too small or misaligned memory: refused, *out untouched */
    nn_ctx_t *ctx = (nn_ctx_t *)&c;
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 16, mem, bytes - 1),
                     NN_ERR_SHAPE);
    ck_assert_int_eq(nn_ctx_create_in(&ctx, net, 16, (char *)mem + 1, bytes),
                     NN_ERR_INVALID);
    ck_assert_ptr_eq(ctx, (nn_ctx_t *)&c);
    /* warm-up outside the count (OpenBLAS sizes its buffers once) */
    ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create_in(&ctx, net, 16, mem, bytes));
    nn_status st[3][6], cst;
    inference_calls(net, ctx, M, X, lab, d, P, st[0]);
    nn_ctx_destroy(ctx);
    long before = c.attempts;
    heap_calls = nn_heap_calls = 0;
    counting = 1;
    cst = nn_ctx_create_in(&ctx, net, 16, mem, bytes);
    for (int s = 0; s < 3; s++)
        inference_calls(net, ctx, s == 0 ? 5 : s == 1 ? 16 : M, X, lab, d, P,
                        st[s]);
    nn_ctx_destroy(ctx);
    counting = 0;
    NN_OK_OR_FAIL(cst);
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 6; k++) ck_assert_int_eq(st[s][k], NN_OK);
    ck_assert_int_eq(c.attempts, before);
    if (interposed()) {
        ck_assert_int_eq(nn_heap_calls, 0);
        if (strict) ck_assert_int_eq(heap_calls, 0);
    }
    free(mem);
    nn_data_destroy(d);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

/* A context from an allocator: after its creation, inference allocates
 * nothing; without a context, a call borrows a temporary one from the net's
 * allocator and returns it. */
START_TEST(inference_with_ctx_allocates_nothing)
{
    bool strict = one_blas_thread();
    tu_counter c = {0}, cx = {0};
    nn_allocator a = tu_allocator(&c), ax = tu_allocator(&cx);
    nn_net_t *net = mlp_net(&a);
    static double X[M * NIN], P[M * NOUT];
    static int32_t lab[M];
    batch(X, lab);
    nn_data_t *d = tu_data(X, M, NIN, lab, NULL);
    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, 24, &ax));
    ck_assert_int_ge(cx.allocs, 1);
    nn_status st[3][6];
    inference_calls(net, ctx, M, X, lab, d, P, st[0]); /* warm-up */
    long before = c.attempts, before_x = cx.attempts;
    heap_calls = nn_heap_calls = 0;
    counting = 1;
    for (int s = 0; s < 3; s++)
        inference_calls(net, ctx, s == 0 ? 1 : s == 1 ? 24 : M, X, lab, d, P,
                        st[s]);
    counting = 0;
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 6; k++) ck_assert_int_eq(st[s][k], NN_OK);
    ck_assert_int_eq(c.attempts, before);
    ck_assert_int_eq(cx.attempts, before_x);
    if (interposed()) {
        ck_assert_int_eq(nn_heap_calls, 0);
        if (strict) ck_assert_int_eq(heap_calls, 0);
    }
    nn_ctx_destroy(ctx);
    TU_ASSERT_BALANCED(&cx);
    /* ctx NULL: every call takes and returns a temporary context */
    inference_calls(net, NULL, M, X, lab, d, P, st[0]);
    for (int k = 0; k < 6; k++) ck_assert_int_eq(st[0][k], NN_OK);
    ck_assert_int_ge(c.attempts, before + 6);
    nn_data_destroy(d);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

/* With one BLAS thread nothing in the process allocates during a step. With
 * more, OpenBLAS 0.3.21 itself mallocs a job array per threaded dgemm call
 * (level3_thread.c), so there only libnn's own calls must be zero. */
START_TEST(training_step_allocates_nothing)
{
    size_t threads = (size_t)_i + 1;
    nn_status tst = nn_set_num_threads(threads);
    ck_assert(tst == NN_OK || tst == NN_ERR_UNSUPPORTED);
    tu_counter c = {0};
    nn_allocator a = tu_allocator(&c);
    nn_net_t *net = mlp_net(&a);
    nn_optim_t *plain = sgd(net, &a), *adam = NULL;
    NN_OK_OR_FAIL(nn_optim_create(&adam, net, NN_OPTIM_ADAM, &a));
    nn_ctx_t *ctx = NULL;
    NN_OK_OR_FAIL(nn_ctx_create(&ctx, net, M, &a));
    static double X[M * NIN], P[M * NOUT];
    static int32_t lab[M];
    batch(X, lab);
    double loss;
    /* warm-up: the first step sizes the workspace (and OpenBLAS its buffers) */
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, &loss));
    NN_OK_OR_FAIL(nn_optim_step(adam, net));
    NN_OK_OR_FAIL(nn_net_train_step_labels(net, plain, M, NN_ROW_MAJOR, X, NIN,
                                           lab, &loss));
    long before = c.attempts;
    /* statuses are checked after counting stops: Check's own assertions
     * talk to the parent process and allocate */
    nn_status st[5][6];
    heap_calls = nn_heap_calls = 0;
    counting = 1;
    for (int s = 0; s < 5; s++) {
        /* smaller batches reuse the same workspace, either order */
        size_t m = s % 2 ? M : M / 2 + 1;
        st[s][0] = nn_net_gradient_labels(net, m, NN_ROW_MAJOR, X, NIN, lab, &loss);
        st[s][1] = nn_optim_step(adam, net);
        st[s][2] = nn_net_gradient_labels(net, m, NN_COL_MAJOR, X, m, lab, &loss);
        st[s][3] = nn_net_train_step_labels(net, plain, m, NN_COL_MAJOR, X, m,
                                            lab, &loss);
        st[s][4] = nn_net_loss_labels(net, ctx, m, NN_ROW_MAJOR, X, NIN, lab, &loss);
        st[s][5] = nn_net_predict(net, ctx, m, NN_ROW_MAJOR, X, NIN, P, NOUT);
    }
    counting = 0;
    for (int s = 0; s < 5; s++)
        for (int k = 0; k < 6; k++) ck_assert_int_eq(st[s][k], NN_OK);
    ck_assert_int_eq(c.attempts, before);
    if (interposed()) {
        ck_assert_int_eq(nn_heap_calls, 0);
        if (threads == 1 && tst == NN_OK) ck_assert_int_eq(heap_calls, 0);
    }
    nn_ctx_destroy(ctx);
    nn_optim_destroy(adam);
    nn_optim_destroy(plain);
    nn_net_destroy(net);
    TU_ASSERT_BALANCED(&c);
}
END_TEST

START_TEST(dense_step_allocates_nothing)
{
    nn_dense_t *layer = NULL;
    NN_OK_OR_FAIL(nn_dense_create(&layer, 33, 17, NN_ACT_SIGMOID, 0, NULL));
    static double X[40 * 33], A[40 * 17], dX[40 * 33];
    tu_rng r = {2};
    tu_fill(&r, X, sizeof X / sizeof *X, -1, 1);
    NN_OK_OR_FAIL(nn_dense_forward(layer, 40, NN_COL_MAJOR, X, 40, A, 40));
    NN_OK_OR_FAIL(nn_dense_backward(layer, 40, NN_COL_MAJOR, X, 40, A, 40, dX, 40));
    bool strict = one_blas_thread();
    nn_status st[3][4];
    heap_calls = nn_heap_calls = 0;
    counting = 1;
    for (int s = 0; s < 3; s++) {
        st[s][0] = nn_dense_forward(layer, 40, NN_ROW_MAJOR, X, 33, A, 17);
        st[s][1] = nn_dense_backward(layer, 40, NN_ROW_MAJOR, X, 33, A, 17, dX, 33);
        st[s][2] = nn_dense_forward(layer, 40, NN_COL_MAJOR, X, 40, A, 40);
        st[s][3] = nn_dense_backward(layer, 40, NN_COL_MAJOR, X, 40, A, 40, dX, 40);
    }
    counting = 0;
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < 4; k++) ck_assert_int_eq(st[s][k], NN_OK);
    if (interposed()) {
        ck_assert_int_eq(nn_heap_calls, 0);
        if (strict) ck_assert_int_eq(heap_calls, 0);
    }
    nn_dense_destroy(layer);
}
END_TEST

/* Fail the n-th allocation for every n until a run needs no failure: each
 * failing call must say NN_ERR_NOMEM, leak nothing, and leave the object
 * usable (the same call succeeds once memory is back). */
START_TEST(allocation_failures_are_clean)
{
    static double X[M * NIN];
    static int32_t lab[M];
    batch(X, lab);
    nn_netspec_t *spec = mlp_spec(NULL);
    int completed = 0;
    for (long n = 1; n < 20 && !completed; n++) {
        tu_counter c = {.fail_at = n}; /* refuse the n-th attempt only */
        nn_allocator a = tu_allocator(&c);
        nn_net_t *net = NULL;
        nn_status st = nn_net_create(&net, spec, &a);
        if (st != NN_OK) {
            ck_assert_int_eq(st, NN_ERR_NOMEM);
            ck_assert_ptr_null(net);
            TU_ASSERT_BALANCED(&c);
            continue;
        }
        nn_optim_t *opt = sgd(net, NULL);
        double before[10], after[10], bias[NOUT], bias2[NOUT], loss;
        NN_OK_OR_FAIL(nn_net_get_params(net, 2, NN_ROW_MAJOR, NULL, 0, bias));
        memcpy(before, nn_net_params(net), sizeof before);
        st = nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, &loss);
        if (st != NN_OK) {
            ck_assert_int_eq(st, NN_ERR_NOMEM);
            ck_assert_int_eq(nn_net_has_grads(net), 0);
            ck_assert_int_eq(nn_optim_step(opt, net), NN_ERR_STATE);
            memcpy(after, nn_net_params(net), sizeof after);
            ck_assert_mem_eq(before, after, sizeof before);
            NN_OK_OR_FAIL(nn_net_get_params(net, 2, NN_ROW_MAJOR, NULL, 0, bias2));
            ck_assert_mem_eq(bias, bias2, sizeof bias);
            /* memory is back: the same call now works */
            NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, &loss));
            ck_assert(isfinite(loss));
        } else {
            completed = 1;
        }
        nn_optim_destroy(opt);
        nn_net_destroy(net);
        TU_ASSERT_BALANCED(&c);
    }
    ck_assert_msg(completed, "sweep never reached a run without failures");
    nn_netspec_destroy(spec);

    completed = 0;
    for (long n = 1; n < 10 && !completed; n++) {
        tu_counter c = {.fail_at = n}; /* refuse the n-th attempt only */
        nn_allocator a = tu_allocator(&c);
        nn_dense_t *layer = NULL;
        nn_status st = nn_dense_create(&layer, 4, 3, NN_ACT_RELU, 0, &a);
        if (st != NN_OK) {
            ck_assert_int_eq(st, NN_ERR_NOMEM);
            ck_assert_ptr_null(layer);
            TU_ASSERT_BALANCED(&c);
            continue;
        }
        double x[2 * 4] = {1, 2, 3, 4, 5, 6, 7, 8}, A[2 * 3], dX[2 * 4];
        st = nn_dense_forward(layer, 2, NN_COL_MAJOR, x, 2, A, 2);
        if (st == NN_OK)
            st = nn_dense_backward(layer, 2, NN_COL_MAJOR, x, 2, A, 2, dX, 2);
        if (st != NN_OK) {
            ck_assert_int_eq(st, NN_ERR_NOMEM);
            NN_OK_OR_FAIL(nn_dense_forward(layer, 2, NN_COL_MAJOR, x, 2, A, 2));
            NN_OK_OR_FAIL(nn_dense_backward(layer, 2, NN_COL_MAJOR, x, 2, A, 2, dX, 2));
        } else {
            completed = 1;
        }
        nn_dense_destroy(layer);
        TU_ASSERT_BALANCED(&c);
    }
    ck_assert(completed);
}
END_TEST

/* nn_net_clone and nn_ctx_create under the same sweep: a refused allocation
 * gives NN_ERR_NOMEM, *out untouched, nothing leaked; the source network
 * keeps working. */
START_TEST(clone_and_ctx_failures_are_clean)
{
    nn_net_t *net = mlp_net(NULL);
    static double X[M * NIN], P[NOUT], P2[NOUT];
    static int32_t lab[M];
    batch(X, lab);
    NN_OK_OR_FAIL(nn_net_predict(net, NULL, 1, NN_ROW_MAJOR, X, NIN, P, NOUT));
    for (int which = 0; which < 2; which++) {
        int completed = 0;
        for (long n = 1; n < 20 && !completed; n++) {
            tu_counter c = {.fail_at = n};
            nn_allocator a = tu_allocator(&c);
            nn_net_t *clone = (nn_net_t *)&c;
            nn_ctx_t *ctx = (nn_ctx_t *)&c;
            nn_status st = which ? nn_ctx_create(&ctx, net, 8, &a)
                                 : nn_net_clone(&clone, net, &a);
            if (st != NN_OK) {
                ck_assert_int_eq(st, NN_ERR_NOMEM);
                ck_assert(clone == (nn_net_t *)&c && ctx == (nn_ctx_t *)&c);
                TU_ASSERT_BALANCED(&c);
                continue;
            }
            completed = 1;
            c.fail_at = 0; /* memory is back */
            const nn_net_t *use = which ? net : clone;
            NN_OK_OR_FAIL(nn_net_predict(use, which ? ctx : NULL, 1,
                                         NN_ROW_MAJOR, X, NIN, P2, NOUT));
            ck_assert_mem_eq(P, P2, sizeof P);
            if (which) nn_ctx_destroy(ctx);
            else nn_net_destroy(clone);
            TU_ASSERT_BALANCED(&c);
        }
        ck_assert(completed);
    }
    nn_net_destroy(net);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, every_byte_returned);
    tcase_add_test(tc, every_object_through_its_allocator);
    tcase_add_test(tc, ctx_in_caller_memory_uses_no_allocator);
    tcase_add_test(tc, inference_with_ctx_allocates_nothing);
    tcase_add_loop_test(tc, training_step_allocates_nothing, 0, 2);
    tcase_add_test(tc, dense_step_allocates_nothing);
    tcase_add_test(tc, allocation_failures_are_clean);
    tcase_add_test(tc, clone_and_ctx_failures_are_clean);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
