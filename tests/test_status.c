/* test_status.c — version macros against the loaded library (1.0.0),
 * nn_strerror messages, the fixed (ABI) values of the status codes, the
 * settings-key table of nn_param_info against the header's documentation,
 * the BLAS thread control and the BLAS's name. */
#include "testutil.h"

#include <float.h>
#include <stdio.h>
#include <string.h>

/* This is libnn 1.0: the soname, the header and the loaded library agree. */
START_TEST(version_is_1_0_0)
{
    ck_assert_int_eq(NN_VERSION_MAJOR, 1);
    ck_assert_int_eq(NN_VERSION_MINOR, 0);
    ck_assert_int_eq(NN_VERSION_PATCH, 0);
    ck_assert_int_eq(NN_VERSION_NUMBER, 10000);
    ck_assert_str_eq(NN_VERSION_STRING, "1.0.0");
    ck_assert_uint_eq(nn_version_number(), 10000u);
    ck_assert_str_eq(nn_version_string(), "1.0.0");
}
END_TEST

START_TEST(version_number_matches_macros)
{
    ck_assert_uint_eq(nn_version_number(), NN_VERSION_NUMBER);
    ck_assert_uint_eq(nn_version_number(),
                      (unsigned)(NN_VERSION_MAJOR * 10000 +
                                 NN_VERSION_MINOR * 100 + NN_VERSION_PATCH));
    /* the encoding is unambiguous: minor and patch fit in two digits */
    ck_assert_int_ge(NN_VERSION_MAJOR, 0);
    ck_assert_int_ge(NN_VERSION_MINOR, 0);
    ck_assert_int_lt(NN_VERSION_MINOR, 100);
    ck_assert_int_ge(NN_VERSION_PATCH, 0);
    ck_assert_int_lt(NN_VERSION_PATCH, 100);
}
END_TEST

START_TEST(version_string_matches_macros)
{
    const char *v = nn_version_string();
    ck_assert_ptr_nonnull(v);
    char want[64];
    snprintf(want, sizeof want, "%d.%d.%d", NN_VERSION_MAJOR,
             NN_VERSION_MINOR, NN_VERSION_PATCH);
    ck_assert_str_eq(v, want);
    ck_assert_str_eq(v, NN_VERSION_STRING);
    /* the string and the number of the loaded library agree */
    int ma = -1, mi = -1, pa = -1, end = 0;
    ck_assert_int_eq(sscanf(v, "%d.%d.%d%n", &ma, &mi, &pa, &end), 3);
    ck_assert_int_eq(v[end], '\0');
    ck_assert_uint_eq((unsigned)(ma * 10000 + mi * 100 + pa),
                      nn_version_number());
    /* static: same contents on every call */
    ck_assert_str_eq(nn_version_string(), v);
}
END_TEST

START_TEST(status_values_are_fixed)
{
    ck_assert_int_eq(NN_OK, 0);
    ck_assert_int_eq(NN_ERR_NOMEM, 1);
    ck_assert_int_eq(NN_ERR_INVALID, 2);
    ck_assert_int_eq(NN_ERR_SHAPE, 3);
    ck_assert_int_eq(NN_ERR_NUMERIC, 4);
    ck_assert_int_eq(NN_ERR_IO, 5);
    ck_assert_int_eq(NN_ERR_FORMAT, 6);
    ck_assert_int_eq(NN_ERR_TOO_LARGE, 7);
    ck_assert_int_eq(NN_ERR_UNSUPPORTED, 8);
    ck_assert_int_eq(NN_ERR_STATE, 9);
}
END_TEST

START_TEST(strerror_distinct_messages)
{
    const char *msg[NN_ERR_STATE + 1];
    for (int s = NN_OK; s <= NN_ERR_STATE; s++) {
        msg[s] = nn_strerror((nn_status)s);
        ck_assert_msg(msg[s] != NULL, "nn_strerror(%d) is NULL", s);
        ck_assert_msg(msg[s][0] != '\0', "nn_strerror(%d) is empty", s);
        /* static string: the same contents again */
        ck_assert_str_eq(nn_strerror((nn_status)s), msg[s]);
    }
    for (int a = NN_OK; a <= NN_ERR_STATE; a++)
        for (int b = a + 1; b <= NN_ERR_STATE; b++)
            ck_assert_msg(strcmp(msg[a], msg[b]) != 0,
                          "codes %d and %d share the message \"%s\"", a, b,
                          msg[a]);
}
END_TEST

START_TEST(strerror_unknown_codes)
{
    const nn_status unknown[] = {(nn_status)1234, (nn_status)10,
                                 (nn_status)-1, (nn_status)0x7fffffff};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *m = nn_strerror(unknown[i]);
        ck_assert_msg(m != NULL, "nn_strerror(%d) is NULL", (int)unknown[i]);
        ck_assert_msg(m[0] != '\0', "nn_strerror(%d) is empty",
                      (int)unknown[i]);
        /* an unknown code is not reported as any known one (least of all
         * success) */
        for (int s = NN_OK; s <= NN_ERR_STATE; s++)
            ck_assert_msg(strcmp(m, nn_strerror((nn_status)s)) != 0,
                          "unknown code %d reads as code %d", (int)unknown[i],
                          s);
    }
}
END_TEST

/* ------------------------------------------------------------ keys */
/* Every settings key of nn.h with the type, inclusive bounds and
 * writability its comment documents. Half-open intervals are given closed:
 * [0, 1) is [0, largest double below 1], "> 0" starts at the smallest
 * positive double, "finite" ends at DBL_MAX, "any 64-bit value" is
 * [-2^63, 2^63 - 1] (2^63 as a double). NAN marks a bound the header leaves
 * open (read-only results, the unit count): only checked to be ordered. */
#define BELOW_1 0x1.fffffffffffffp-1
#define I64LO (-0x1p63)
#define I64HI 0x1p63
typedef struct {
    int32_t key, type;
    double lo, hi;
    int32_t writable;
} key_doc;
static const key_doc KEYS[] = {
    {NN_NET_LOSS, NN_PARAM_INT, 0, 2, 0},
    {NN_NET_REDUCTION, NN_PARAM_INT, 0, 1, 1},
    {NN_NET_CHECK_FINITE, NN_PARAM_INT, 0, 1, 1},
    {NN_NET_DROPOUT_SEED, NN_PARAM_INT, I64LO, I64HI, 1},
    {NN_NET_DROPOUT_STEP, NN_PARAM_INT, 0, I64HI, 1},
    {NN_NET_DROPOUT_ROW0, NN_PARAM_INT, 0, I64HI, 1},
    {NN_LAYER_KIND, NN_PARAM_INT, 0, 0, 0},
    {NN_LAYER_UNITS, NN_PARAM_INT, 1, NAN, 0},
    {NN_LAYER_ACTIVATION, NN_PARAM_INT, 0, 5, 1},
    {NN_LAYER_ACT_PARAM, NN_PARAM_REAL, 0, DBL_MAX, 1},
    {NN_LAYER_DROPOUT, NN_PARAM_REAL, 0, BELOW_1, 1},
    {NN_OPTIM_KIND, NN_PARAM_INT, 0, 3, 0},
    {NN_OPTIM_LR, NN_PARAM_REAL, DBL_TRUE_MIN, DBL_MAX, 1},
    {NN_OPTIM_MOMENTUM_COEF, NN_PARAM_REAL, 0, BELOW_1, 1},
    {NN_OPTIM_BETA1, NN_PARAM_REAL, 0, BELOW_1, 1},
    {NN_OPTIM_BETA2, NN_PARAM_REAL, 0, BELOW_1, 1},
    {NN_OPTIM_EPS, NN_PARAM_REAL, DBL_TRUE_MIN, DBL_MAX, 1},
    {NN_OPTIM_WEIGHT_DECAY, NN_PARAM_REAL, 0, DBL_MAX, 1},
    {NN_OPTIM_DECOUPLED, NN_PARAM_INT, 0, 1, 1},
    {NN_OPTIM_CLIP_NORM, NN_PARAM_REAL, 0, DBL_MAX, 1},
    {NN_OPTIM_STEPS, NN_PARAM_INT, 0, NAN, 0},
    {NN_TRAIN_EPOCHS, NN_PARAM_INT, 1, I64HI, 1},
    {NN_TRAIN_BATCH_SIZE, NN_PARAM_INT, 1, I64HI, 1},
    {NN_TRAIN_SHUFFLE, NN_PARAM_INT, 0, 1, 1},
    {NN_TRAIN_SEED, NN_PARAM_INT, I64LO, I64HI, 1},
    {NN_TRAIN_VAL_FRACTION, NN_PARAM_REAL, 0, BELOW_1, 1},
    {NN_TRAIN_PATIENCE, NN_PARAM_INT, 0, I64HI, 1},
    {NN_TRAIN_RESTORE_BEST, NN_PARAM_INT, 0, 1, 1},
    {NN_TRAIN_SCHEDULE, NN_PARAM_INT, 0, 2, 1},
    {NN_TRAIN_GAMMA, NN_PARAM_REAL, DBL_TRUE_MIN, 1, 1},
    {NN_TRAIN_STEP_EPOCHS, NN_PARAM_INT, 1, I64HI, 1},
    {NN_TRAIN_LR_MIN, NN_PARAM_REAL, 0, DBL_MAX, 1},
    {NN_TRAIN_WARMUP_STEPS, NN_PARAM_INT, 0, I64HI, 1},
    {NN_TRAIN_REPORT_EVERY, NN_PARAM_INT, 0, I64HI, 1},
    {NN_TRAIN_RESUME, NN_PARAM_INT, 0, 1, 1},
    {NN_TRAIN_THREADS, NN_PARAM_INT, 0, 1024, 1},
    {NN_TRAIN_EPOCHS_RUN, NN_PARAM_INT, 0, NAN, 0},
    {NN_TRAIN_BEST_EPOCH, NN_PARAM_INT, 0, NAN, 0},
    {NN_TRAIN_STOPPED_EARLY, NN_PARAM_INT, 0, 1, 0},
    {NN_TRAIN_STEPS_RUN, NN_PARAM_INT, 0, NAN, 0},
    {NN_TRAIN_PAUSED, NN_PARAM_INT, 0, 1, 0},
    {NN_TRAIN_BEST_VAL_LOSS, NN_PARAM_REAL, NAN, NAN, 0},
    {NN_TRAIN_FINAL_LOSS, NN_PARAM_REAL, NAN, NAN, 0},
    {NN_TRAIN_SECONDS, NN_PARAM_REAL, NAN, NAN, 0},
};
#define NKEYS ((int)(sizeof KEYS / sizeof KEYS[0]))

START_TEST(param_info_matches_header)
{
    const key_doc *k = &KEYS[_i];
    int32_t type = -1, writable = -1;
    double lo = -1, hi = -1;
    NN_OK_OR_FAIL(nn_param_info(k->key, &type, &lo, &hi, &writable));
    ck_assert_msg(type == k->type, "key %d: type %d", (int)k->key, (int)type);
    ck_assert_msg(writable == k->writable, "key %d: writable %d", (int)k->key,
                  (int)writable);
    if (!isnan(k->lo))
        ck_assert_msg(lo == k->lo, "key %d: lo %a, want %a", (int)k->key, lo,
                      k->lo);
    if (!isnan(k->hi))
        ck_assert_msg(hi == k->hi, "key %d: hi %a, want %a", (int)k->key, hi,
                      k->hi);
    ck_assert_msg(lo <= hi, "key %d: lo %g > hi %g", (int)k->key, lo, hi);
    /* every out pointer may be NULL */
    NN_OK_OR_FAIL(nn_param_info(k->key, NULL, NULL, NULL, NULL));
    int32_t t2 = -1;
    NN_OK_OR_FAIL(nn_param_info(k->key, &t2, NULL, NULL, NULL));
    ck_assert_int_eq(t2, k->type);
}
END_TEST

/* The table above is complete: every key value in the documented blocks
 * that nn_param_info knows is in it (no undocumented key). */
START_TEST(param_info_unknown_keys)
{
    for (int32_t key = 0; key < 700; key++) {
        bool listed = false;
        for (int i = 0; i < NKEYS; i++) listed |= KEYS[i].key == key;
        int32_t type = 77, writable = 77;
        double lo = 77, hi = 77;
        nn_status st = nn_param_info(key, &type, &lo, &hi, &writable);
        if (listed) {
            ck_assert_int_eq(st, NN_OK);
            continue;
        }
        ck_assert_msg(st == NN_ERR_INVALID, "unknown key %d -> %d", (int)key,
                      (int)st);
        /* nothing written */
        ck_assert(type == 77 && writable == 77 && lo == 77 && hi == 77);
    }
    const int32_t odd[] = {-1, INT32_MIN, INT32_MAX, NN_KEY_EXPERIMENTAL - 1};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
        ck_assert_int_eq(nn_param_info(odd[i], NULL, NULL, NULL, NULL),
                         NN_ERR_INVALID);
}
END_TEST

/* The bounds nn_param_info reports are the ones the setters enforce: at the
 * bound accepted, one step beyond refused (network-spec keys). */
START_TEST(param_bounds_are_enforced)
{
    nn_netspec_t *s = NULL;
    NN_OK_OR_FAIL(nn_netspec_create(&s, 2, NN_LOSS_MSE, NULL));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 3, NN_ACT_LEAKY_RELU));
    NN_OK_OR_FAIL(nn_netspec_add_dense(s, 1, NN_ACT_IDENTITY));
    const int32_t rkeys[] = {NN_LAYER_ACT_PARAM, NN_LAYER_DROPOUT};
    for (size_t i = 0; i < 2; i++) {
        double lo, hi;
        NN_OK_OR_FAIL(nn_param_info(rkeys[i], NULL, &lo, &hi, NULL));
        NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, rkeys[i], lo));
        NN_OK_OR_FAIL(nn_netspec_set_real(s, 0, rkeys[i], hi));
        ck_assert_int_eq(nn_netspec_set_real(s, 0, rkeys[i],
                                             nextafter(lo, -INFINITY)),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_netspec_set_real(s, 0, rkeys[i],
                                             nextafter(hi, INFINITY)),
                         NN_ERR_INVALID);
        ck_assert_int_eq(nn_netspec_set_real(s, 0, rkeys[i], NAN),
                         NN_ERR_INVALID);
    }
    const int32_t ikeys[] = {NN_NET_REDUCTION, NN_NET_CHECK_FINITE};
    for (size_t i = 0; i < 2; i++) {
        double lo, hi;
        NN_OK_OR_FAIL(nn_param_info(ikeys[i], NULL, &lo, &hi, NULL));
        NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, ikeys[i], (int64_t)lo));
        NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, ikeys[i], (int64_t)hi));
        ck_assert_int_eq(nn_netspec_set_int(s, NN_NET_WIDE, ikeys[i],
                                            (int64_t)lo - 1), NN_ERR_INVALID);
        ck_assert_int_eq(nn_netspec_set_int(s, NN_NET_WIDE, ikeys[i],
                                            (int64_t)hi + 1), NN_ERR_INVALID);
    }
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_DROPOUT_SEED,
                                     INT64_MIN));
    NN_OK_OR_FAIL(nn_netspec_set_int(s, NN_NET_WIDE, NN_NET_DROPOUT_SEED,
                                     INT64_MAX));
    nn_netspec_destroy(s);
}
END_TEST

/* ------------------------------------------------------------ threads */
/* Thread control is either there (OpenBLAS, BLIS, MKL) or consistently
 * absent: set and get both answer NN_ERR_UNSUPPORTED, and get writes
 * nothing. With it, n == 0 and n beyond an int are refused. */
START_TEST(num_threads_consistent)
{
    size_t n = 12345;
    nn_status get = nn_get_num_threads(&n);
    ck_assert_msg(get == NN_OK || get == NN_ERR_UNSUPPORTED, "get -> %d",
                  (int)get);
    if (get == NN_ERR_UNSUPPORTED) {
        ck_assert_uint_eq(n, 12345);
        ck_assert_int_eq(nn_set_num_threads(1), NN_ERR_UNSUPPORTED);
        nn_status z = nn_set_num_threads(0);
        ck_assert(z == NN_ERR_INVALID || z == NN_ERR_UNSUPPORTED);
        n = 7;
        ck_assert_int_eq(nn_get_num_threads(&n), NN_ERR_UNSUPPORTED);
        ck_assert_uint_eq(n, 7);
        return;
    }
    ck_assert_int_eq(nn_set_num_threads(0), NN_ERR_INVALID);
    if ((size_t)INT32_MAX < SIZE_MAX)
        ck_assert_int_eq(nn_set_num_threads((size_t)INT32_MAX + 1),
                         NN_ERR_TOO_LARGE);
    ck_assert_uint_ge(n, 1);
    size_t before = n;
    NN_OK_OR_FAIL(nn_set_num_threads(1));
    NN_OK_OR_FAIL(nn_get_num_threads(&n));
    ck_assert_uint_eq(n, 1);
    /* 2 threads: the BLAS may cap it at its build limit, but never below 1 */
    NN_OK_OR_FAIL(nn_set_num_threads(2));
    NN_OK_OR_FAIL(nn_get_num_threads(&n));
    ck_assert(n == 1 || n == 2);
    NN_OK_OR_FAIL(nn_set_num_threads(before));
    ck_assert_int_eq(nn_get_num_threads(NULL), NN_ERR_INVALID);
}
END_TEST

/* The BLAS names itself (OpenBLAS, BLIS, MKL) or is "unknown"; the answer
 * is a static string, the same on every call. OpenBLAS always names its
 * core; "unknown" as name goes with "unknown" as core. */
START_TEST(blas_names_itself)
{
    const char *name = nn_blas_name(), *core = nn_blas_core();
    ck_assert_ptr_nonnull(name);
    ck_assert_ptr_nonnull(core);
    ck_assert_uint_gt(strlen(name), 0);
    ck_assert_uint_gt(strlen(core), 0);
    ck_assert_msg(strstr(name, "OpenBLAS") || strstr(name, "BLIS") ||
                      strstr(name, "Math Kernel Library") ||
                      !strcmp(name, "unknown"),
                  "nn_blas_name: '%s'", name);
    if (strstr(name, "OpenBLAS")) ck_assert_str_ne(core, "unknown");
    if (!strcmp(name, "unknown")) ck_assert_str_eq(core, "unknown");
    ck_assert_ptr_eq(nn_blas_name(), name);
    ck_assert_ptr_eq(nn_blas_core(), core);
}
END_TEST

static Suite *status_suite(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("version");
    tcase_add_test(tc, version_number_matches_macros);
    tcase_add_test(tc, version_string_matches_macros);
    tcase_add_test(tc, version_is_1_0_0);
    suite_add_tcase(s, tc);
    tc = tcase_create("status");
    tcase_add_test(tc, status_values_are_fixed);
    tcase_add_test(tc, strerror_distinct_messages);
    tcase_add_test(tc, strerror_unknown_codes);
    suite_add_tcase(s, tc);
    tc = tcase_create("keys");
    tcase_add_loop_test(tc, param_info_matches_header, 0, NKEYS);
    tcase_add_test(tc, param_info_unknown_keys);
    tcase_add_test(tc, param_bounds_are_enforced);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads");
    tcase_add_test(tc, num_threads_consistent);
    tcase_add_test(tc, blas_names_itself);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(status_suite()); }
