/* cli_json.h — helpers for the tool's --json output (json.c, Jansson). */
#ifndef NN_CLI_JSON_H
#define NN_CLI_JSON_H

#include "cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* A number, or null for NaN/Inf (new reference, NULL out of memory). */
json_t *cli_json_num(double v);
/* A string (null for NULL; bytes that are not UTF-8 become '?'). */
json_t *cli_json_str(const char *s);
/* obj[key] = value, stealing value; -1 when value is NULL (out of memory)
 * or the set fails. Chains with |= so one check covers a whole object. */
int cli_json_set(json_t *obj, const char *key, json_t *value);
/* Writes obj (2-space indent, 17 significant digits, keys in insertion
 * order) and a newline to f, then releases it. ok == false (a set failed)
 * or obj == NULL: out of memory, nothing written. Returns 0 or an exit
 * status after printing the error. */
int cli_json_emit(json_t *obj, FILE *f, bool ok);

#endif
