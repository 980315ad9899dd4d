/* test_status.c — version macros against the loaded library, nn_strerror
 * messages, and the fixed (ABI) values of the status codes. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

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

static Suite *status_suite(void)
{
    Suite *s = suite_create("status");
    TCase *tc = tcase_create("version");
    tcase_add_test(tc, version_number_matches_macros);
    tcase_add_test(tc, version_string_matches_macros);
    suite_add_tcase(s, tc);
    tc = tcase_create("status");
    tcase_add_test(tc, status_values_are_fixed);
    tcase_add_test(tc, strerror_distinct_messages);
    tcase_add_test(tc, strerror_unknown_codes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return tu_run(status_suite()); }
