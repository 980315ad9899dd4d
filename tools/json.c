/* json.c — the --json output of the `libnn` tool, through Jansson (Debian's
 * libjansson-dev): one JSON object per command on stdout, built as a tree
 * and written once at the end, so that a failed command writes no partial
 * object (its error stays the one "libnn: " line on stderr). */
#include "cli_json.h"

#include <math.h>

json_t *cli_json_num(double v)
{
    /* JSON has no NaN or infinity: a missing value (no validation, an
     * undefined R^2) is null */
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *cli_json_str(const char *s)
{
    /* json_string refuses invalid UTF-8 (a header name in Latin-1):
     * such bytes are replaced rather than the output dropped */
    json_t *j = s ? json_string(s) : json_null();
    if (!j && s) {
        size_t n = strlen(s);
        char *t = malloc(n + 1);
        if (!t) return NULL;
        for (size_t i = 0; i <= n; i++)
            t[i] = (unsigned char)s[i] < 0x80 ? s[i] : '?';
        j = json_string(t);
        free(t);
    }
    return j;
}

int cli_json_set(json_t *obj, const char *key, json_t *value)
{
    /* json_object_set_new takes the reference even when it fails */
    return value && json_object_set_new(obj, key, value) == 0 ? 0 : -1;
}

int cli_json_emit(json_t *obj, FILE *f, bool ok)
{
    int rc = 0;
    if (!obj || !ok) rc = cli_error("out of memory building the JSON output");
    else if (json_dumpf(obj, f, JSON_INDENT(2) | JSON_REAL_PRECISION(17) |
                                    JSON_PRESERVE_ORDER) != 0 ||
             fputc('\n', f) == EOF)
        rc = cli_error("writing the JSON output failed");
    json_decref(obj);
    return rc;
}
