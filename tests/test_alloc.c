/* test_alloc.c — memory: every byte goes through the caller's allocator and
 * comes back, a training step allocates nothing after the first, and a failed
 * allocation returns NN_ERR_NOMEM, leaks nothing and leaves objects usable. */
#define _GNU_SOURCE /* dladdr */
#include "testutil.h"

#include <dlfcn.h>
#include <string.h>

/* ------------------------------------------------ malloc interposition
 * The test binary defines malloc & co., which takes them over for the whole
 * process (libnn.so and OpenBLAS included), so a step that called malloc
 * anywhere would be seen. Sanitizer builds own malloc: there, only the
 * counting allocator checks run. */
#if defined(__SANITIZE_ADDRESS__)
#define TU_INTERPOSE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
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

void *malloc(size_t n)
{
    count_call(__builtin_return_address(0));
    return __libc_malloc(n);
}
void *calloc(size_t a, size_t b)
{
    count_call(__builtin_return_address(0));
    return __libc_calloc(a, b);
}
void *realloc(void *p, size_t n)
{
    count_call(__builtin_return_address(0));
    return __libc_realloc(p, n);
}
int posix_memalign(void **out, size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n)
{
    count_call(__builtin_return_address(0));
    void *p = __libc_memalign(align, n);
    if (!p) return 12; /* ENOMEM */
    *out = p;
    return 0;
}
void free(void *p) { __libc_free(p); }
#endif

/* ------------------------------------------------ counting allocator
 * tu_counter (testutil.h). Its blocks come from malloc, so during a measured
 * loop an allocation through it would also show in heap_calls; outside those
 * loops counting is off and the interposed malloc only forwards. */

/* The Fashion-MNIST MLP 784-256-128-10 and a batch of random data. */
static const nn_layer_spec mlp[] = {{256, NN_ACT_RELU, 0, 0.1}, /* dropout too */
                                    {128, NN_ACT_TANH, 0},
                                    {10, NN_ACT_SOFTMAX, 0}};
enum { M = 64, NIN = 784 };

static void batch(double *X, size_t *labels)
{
    tu_rng r = {1};
    tu_fill(&r, X, (size_t)M * NIN, 0.0, 1.0);
    for (size_t i = 0; i < M; i++) labels[i] = tu_next(&r) % 10;
}

START_TEST(every_byte_returned)
{
    tu_counter c = {0};
    nn_allocator a = tu_allocator(&c);
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, NIN, 3, mlp, NN_LOSS_SOFTMAX_CE, &a));
    static double X[M * NIN];
    static size_t lab[M];
    batch(X, lab);
    double loss;
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, &loss));
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, M / 2, NN_COL_MAJOR, X, M / 2, lab, &loss));
    NN_OK_OR_FAIL(nn_net_reserve(net, 3 * M)); /* growth frees the old one */
    NN_OK_OR_FAIL(nn_net_sgd_step(net, 0.1));
    ck_assert_int_ge(c.allocs, 3);
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

/* With one BLAS thread nothing in the process allocates during a step. With
 * more, OpenBLAS 0.3.21 itself mallocs a job array per threaded dgemm call
 * (level3_thread.c), so there only libnn's own calls must be zero. */
START_TEST(training_step_allocates_nothing)
{
    size_t threads = (size_t)_i + 1;
    NN_OK_OR_FAIL(nn_set_num_threads(threads));
    tu_counter c = {0};
    nn_allocator a = tu_allocator(&c);
    nn_net_t *net = NULL;
    NN_OK_OR_FAIL(nn_net_create(&net, NIN, 3, mlp, NN_LOSS_SOFTMAX_CE, &a));
    static double X[M * NIN], P[M * 10];
    static size_t lab[M];
    batch(X, lab);
    double loss;
    /* warm-up: the first step sizes the workspace (and OpenBLAS its buffers) */
    NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, &loss));
    NN_OK_OR_FAIL(nn_net_sgd_step(net, 0.01));
    long before = c.attempts;
    /* statuses are checked after counting stops: Check's own assertions
     * talk to the parent process and allocate */
    nn_status st[5][5];
    heap_calls = nn_heap_calls = 0;
    counting = 1;
    for (int s = 0; s < 5; s++) {
        /* smaller batches reuse the same workspace, either order */
        size_t m = s % 2 ? M : M / 2 + 1;
        st[s][0] = nn_net_gradient_labels(net, m, NN_ROW_MAJOR, X, NIN, lab, &loss);
        st[s][1] = nn_net_sgd_step(net, 0.01);
        st[s][2] = nn_net_gradient_labels(net, m, NN_COL_MAJOR, X, m, lab, &loss);
        st[s][3] = nn_net_loss_labels(net, m, NN_ROW_MAJOR, X, NIN, lab, &loss);
        st[s][4] = nn_net_predict(net, m, NN_ROW_MAJOR, X, NIN, P, 10);
    }
    counting = 0;
    for (int s = 0; s < 5; s++)
        for (int k = 0; k < 5; k++) ck_assert_int_eq(st[s][k], NN_OK);
    ck_assert_int_eq(c.attempts, before);
#if TU_INTERPOSE
    ck_assert_int_eq(nn_heap_calls, 0);
    if (threads == 1) ck_assert_int_eq(heap_calls, 0);
#endif
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
    NN_OK_OR_FAIL(nn_set_num_threads(1));
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
#if TU_INTERPOSE
    ck_assert_int_eq(heap_calls, 0);
#endif
    nn_dense_destroy(layer);
}
END_TEST

/* Fail the n-th allocation for every n until a run needs no failure: each
 * failing call must say NN_ERR_NOMEM, leak nothing, and leave the object
 * usable (the same call succeeds once memory is back). */
START_TEST(allocation_failures_are_clean)
{
    static double X[M * NIN];
    static size_t lab[M];
    batch(X, lab);
    int completed = 0;
    for (long n = 1; n < 20 && !completed; n++) {
        tu_counter c = {.fail_at = n}; /* refuse the n-th attempt only */
        nn_allocator a = tu_allocator(&c);
        nn_net_t *net = NULL;
        nn_status st = nn_net_create(&net, NIN, 3, mlp, NN_LOSS_SOFTMAX_CE, &a);
        if (st != NN_OK) {
            ck_assert_int_eq(st, NN_ERR_NOMEM);
            ck_assert_ptr_null(net);
            TU_ASSERT_BALANCED(&c);
            continue;
        }
        double before[10], after[10], loss;
        NN_OK_OR_FAIL(nn_net_get_params(net, 2, NN_ROW_MAJOR, NULL, 0, before));
        memcpy(before, nn_net_weights(net, 0), sizeof before);
        st = nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, &loss);
        if (st != NN_OK) {
            ck_assert_int_eq(st, NN_ERR_NOMEM);
            ck_assert_int_eq(nn_net_sgd_step(net, 0.1), NN_ERR_STATE);
            memcpy(after, nn_net_weights(net, 0), sizeof after);
            ck_assert_mem_eq(before, after, sizeof before);
            /* memory is back: the same call now works */
            NN_OK_OR_FAIL(nn_net_gradient_labels(net, M, NN_ROW_MAJOR, X, NIN, lab, &loss));
            ck_assert(isfinite(loss));
        } else {
            completed = 1;
        }
        nn_net_destroy(net);
        TU_ASSERT_BALANCED(&c);
    }
    ck_assert_msg(completed, "sweep never reached a run without failures");

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

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *tc = tcase_create("alloc");
    tcase_add_test(tc, every_byte_returned);
    tcase_add_loop_test(tc, training_step_allocates_nothing, 0, 2);
    tcase_add_test(tc, dense_step_allocates_nothing);
    tcase_add_test(tc, allocation_failures_are_clean);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
