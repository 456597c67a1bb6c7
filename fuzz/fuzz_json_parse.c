/*
 * fuzz_json_parse.c - JSON parsing, typed getters and compact output
 * (anvil/json.h).
 *
 * Asserts: a parsed value holds no string or key with a NUL inside; each
 * getter returns a value exactly when the member has its type; the
 * compact dump parses back to an equal value and dumps to the same text;
 * the parser (which reads objects of plain strings itself) takes exactly
 * what Jansson takes and builds the same value, members in order; the
 * writer writes Jansson's text.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "anvil/error.h"
#include "anvil/json.h"
#include "fuzz.h"

/* Checks that no string below v has a NUL in it (depth is bounded by
 * Jansson's parser, so the recursion is too). */
static void
check_strings(const json_t *v)
{
	const char	*key;
	json_t		*m;
	size_t		 i;

	if (json_is_string(v)) {
		FUZZ_CHECK(strlen(json_string_value(v)) ==
		    json_string_length(v));
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, m)
			check_strings(m);
	} else if (json_is_object(v)) {
		json_object_foreach((json_t *)v, key, m) {
			FUZZ_CHECK(key != NULL);
			check_strings(m);
		}
	}
}

/* Each getter agrees with the member's Jansson type. */
static void
check_getters(const json_t *obj)
{
	const char	*key, *s;
	json_t		*m;
	int64_t		 n = 0;
	bool		 b = false;
	int		 rc;

	json_object_foreach((json_t *)obj, key, m) {
		s = anvil_json_str(obj, key);
		FUZZ_CHECK((s != NULL) == json_is_string(m));
		if (s != NULL)
			FUZZ_CHECK(s == json_string_value(m));
		FUZZ_CHECK((anvil_json_obj(obj, key) != NULL) ==
		    json_is_object(m));
		FUZZ_CHECK((anvil_json_arr(obj, key) != NULL) ==
		    json_is_array(m));
		rc = anvil_json_bool(obj, key, &b);
		FUZZ_CHECK(rc == (json_is_boolean(m) ? 0 : ANVIL_EJSON));
		if (rc == 0)
			FUZZ_CHECK(b == json_is_true(m));
		rc = anvil_json_int(obj, key, &n);
		FUZZ_CHECK(rc == (json_is_integer(m) ? 0 : ANVIL_EJSON));
		if (rc == 0)
			FUZZ_CHECK(n == json_integer_value(m));
	}
	/* A member that is absent. */
	if (json_object_get(obj, "\001absent") == NULL) {
		FUZZ_CHECK(anvil_json_str(obj, "\001absent") == NULL);
		FUZZ_CHECK(anvil_json_int(obj, "\001absent", &n) ==
		    ANVIL_ENOENT);
	}
}

/* Dump, parse the dump, compare, dump again. */
static void
check_round_trip(const json_t *v)
{
	json_t	*again = NULL;
	char	*text = NULL, *text2 = NULL;
	size_t	 len = 0, len2 = 0;

	if (anvil_json_dump(v, &text, &len) != 0)
		return;
	FUZZ_CHECK(strlen(text) == len);
	FUZZ_CHECK(anvil_json_parse(text, len, &again) == 0);
	FUZZ_CHECK(json_equal(v, again));
	FUZZ_CHECK(anvil_json_dump(again, &text2, &len2) == 0);
	FUZZ_CHECK(len == len2 && memcmp(text, text2, len) == 0);
	free(text2);
	free(text);
	json_decref(again);
}

/* anvil_json_parse against Jansson alone. */
static void
check_against_jansson(const uint8_t *data, size_t size, int rc,
    const json_t *v)
{
	json_error_t	 err;
	json_t		*j;
	char		*a = NULL, *b = NULL;
	size_t		 alen = 0, blen = 0;

	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
	    &err);
	FUZZ_CHECK((j != NULL) == (rc == 0));
	if (j == NULL)
		return;
	FUZZ_CHECK(json_equal(j, v));
	/* And our writer writes what Jansson's writes. */
	b = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	FUZZ_CHECK((anvil_json_dump(v, &a, &alen) == 0) == (b != NULL));
	if (b != NULL) {
		blen = strlen(b);
		FUZZ_CHECK(alen == blen && memcmp(a, b, alen) == 0);
	}
	free(a);
	free(b);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t	*v = NULL, *obj = NULL;
	int	 rc, rco;

	/* Callers bound bodies to ANVIL_MAX_REQUEST_BODY. */
	if (size > 64 * 1024)
		return 0;
	rc = anvil_json_parse((const char *)data, size, &v);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_EJSON);
	rco = anvil_json_parse_object((const char *)data, size, &obj);
	FUZZ_CHECK(rco == 0 || rco == ANVIL_EJSON);
	/* The object parser takes exactly the objects the other takes. */
	FUZZ_CHECK((rco == 0) == (rc == 0 && json_is_object(v)));
	check_against_jansson(data, size, rc, v);
	if (rc == 0) {
		FUZZ_CHECK(json_is_object(v) || json_is_array(v));
		check_strings(v);
		check_round_trip(v);
	}
	if (rco == 0) {
		FUZZ_CHECK(json_equal(v, obj));
		check_getters(obj);
	}
	json_decref(obj);
	json_decref(v);
	return 0;
}
