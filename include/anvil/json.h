/*
 * json.h - JSON on Jansson, with the rules ACME needs.
 *
 * Parsing rejects duplicate keys, invalid UTF-8, \u0000, trailing data and
 * top-level values other than objects and arrays.  Getters check types and
 * return NULL (or an error) on a mismatch, never a wrong-typed value.
 */
#ifndef ANVIL_JSON_H
#define ANVIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "anvil/common.h"

/* Parses len bytes into a new reference in *ret (json_decref()).
 * Returns 0 or ANVIL_EJSON. */
ANVIL_API int anvil_json_parse(const char *p, size_t len, json_t **ret)
    ANVIL_MUSTCHECK;

/* Like anvil_json_parse, and the value must be an object. */
ANVIL_API int anvil_json_parse_object(const char *p, size_t len, json_t **ret)
    ANVIL_MUSTCHECK;

/* Returns the string member key of obj, or NULL if absent or not a string. */
ANVIL_API const char *anvil_json_str(const json_t *obj, const char *key);

/* Returns the member key if it is an object (array), else NULL. Borrowed. */
ANVIL_API json_t *anvil_json_obj(const json_t *obj, const char *key);
ANVIL_API json_t *anvil_json_arr(const json_t *obj, const char *key);

/* Reads a boolean member.  Returns 0 and sets *ret, ANVIL_ENOENT if
 * absent (ret untouched), ANVIL_EJSON if present and not a boolean. */
ANVIL_API int anvil_json_bool(const json_t *obj, const char *key, bool *ret);

/* Reads an integer member, same returns as anvil_json_bool. */
ANVIL_API int anvil_json_int(const json_t *obj, const char *key,
    int64_t *ret);

/* Serialises compactly (no spaces, keys in insertion order) into a new
 * string (free()).  Returns 0 or ANVIL_ENOMEM. */
ANVIL_API int anvil_json_dump(const json_t *v, char **ret, size_t *ret_len)
    ANVIL_MUSTCHECK;

/* The same text into buf[0..size), without a NUL, as json_dumpb() does
 * (and byte for byte what it writes), faster.  Returns the length of the
 * whole text: more than size when it did not fit (buf then holds its
 * start); 0 when v cannot be written (invalid UTF-8, too deep). */
ANVIL_API size_t anvil_json_dumpb(const json_t *v, char *buf, size_t size);

/* Formats t (seconds since the epoch, UTC) as RFC 3339, "2026-01-02T03:04:05Z",
 * into out[32].  Parses the same back: returns 0 or ANVIL_EINVAL. */
ANVIL_API void anvil_time_fmt(int64_t t, char out[32]);
ANVIL_API int anvil_time_parse(const char *s, int64_t *ret) ANVIL_MUSTCHECK;

#endif
