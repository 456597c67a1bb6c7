/*
 * test_json.c - unit tests for JSON parsing, getters, output and RFC 3339
 * times (lib/json.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "anvil/anvil.h"

static void
bad(const char *s, size_t len)
{
	json_t	*v = NULL;

	assert_int_equal(anvil_json_parse(s, len, &v), ANVIL_EJSON);
	assert_null(v);
}

#define BAD(s)	bad(s, sizeof(s) - 1)

static void
test_parse_invalid(void **state)
{
	json_t	*v = NULL;

	(void)state;
	BAD("");
	BAD("{");
	BAD("{\"a\":1");			/* truncated */
	BAD("{\"a\":1,\"a\":2}");		/* duplicate key */
	BAD("{\"a\":{\"b\":1,\"b\":1}}");	/* nested duplicate */
	BAD("{\"a\":1} x");			/* trailing data */
	BAD("{\"a\":1}{}");
	BAD("{\"a\":\"x\\u0000y\"}");		/* escaped NUL */
	BAD("{\"a\":\"x\0y\"}");		/* raw NUL */
	BAD("{\"a\":1}\0");
	BAD("{\"a\":\"\xff\"}");		/* invalid UTF-8 */
	BAD("{\"a\":\"\xc0\xaf\"}");		/* overlong UTF-8 */
	BAD("1");				/* scalars at the top */
	BAD("\"s\"");
	BAD("null");
	BAD("{'a':1}");
	BAD("{\"a\":01}");
	assert_int_equal(anvil_json_parse(NULL, 0, &v), ANVIL_EJSON);
	assert_int_equal(anvil_json_parse_object("[1]", 3, &v), ANVIL_EJSON);
	assert_null(v);
}

static void
test_getters(void **state)
{
	static const char s[] = "{\"s\":\"str\",\"o\":{},\"a\":[],"
	    "\"t\":true,\"f\":false,\"i\":-42,\"r\":1.0,\"n\":null}";
	json_t	*v = NULL;
	bool	 b = false;
	int64_t	 i = 7;

	(void)state;
	assert_int_equal(anvil_json_parse_object(s, sizeof(s) - 1, &v), 0);
	assert_string_equal(anvil_json_str(v, "s"), "str");
	assert_null(anvil_json_str(v, "o"));
	assert_null(anvil_json_str(v, "n"));
	assert_null(anvil_json_str(v, "missing"));
	assert_non_null(anvil_json_obj(v, "o"));
	assert_null(anvil_json_obj(v, "a"));
	assert_non_null(anvil_json_arr(v, "a"));
	assert_null(anvil_json_arr(v, "o"));
	assert_null(anvil_json_str(anvil_json_arr(v, "a"), "x"));

	assert_int_equal(anvil_json_bool(v, "missing", &b), ANVIL_ENOENT);
	assert_int_equal(anvil_json_bool(v, "s", &b), ANVIL_EJSON);
	assert_int_equal(anvil_json_bool(v, "n", &b), ANVIL_EJSON);
	assert_false(b);
	assert_int_equal(anvil_json_bool(v, "t", &b), 0);
	assert_true(b);
	assert_int_equal(anvil_json_bool(v, "f", &b), 0);
	assert_false(b);

	assert_int_equal(anvil_json_int(v, "missing", &i), ANVIL_ENOENT);
	assert_int_equal(anvil_json_int(v, "r", &i), ANVIL_EJSON);
	assert_int_equal(anvil_json_int(v, "t", &i), ANVIL_EJSON);
	assert_int_equal(i, 7);
	assert_int_equal(anvil_json_int(v, "i", &i), 0);
	assert_int_equal(i, -42);
	json_decref(v);
}

static void
test_dump(void **state)
{
	json_t	*v;
	char	*s = NULL;
	size_t	 len = 0;

	(void)state;
	/* Insertion order, compact, control characters escaped. */
	v = json_pack("{s:s, s:i, s:[i,i], s:s}", "z", "a\x01\n\"b",
	    "b", 1, "a", 1, 2, "m", "</x>");
	assert_non_null(v);
	assert_int_equal(anvil_json_dump(v, &s, &len), 0);
	assert_string_equal(s,
	    "{\"z\":\"a\\u0001\\n\\\"b\",\"b\":1,\"a\":[1,2],\"m\":\"</x>\"}");
	assert_int_equal(len, strlen(s));
	free(s);
	json_decref(v);
	assert_int_equal(anvil_json_dump(NULL, &s, &len), ANVIL_EINVAL);
}

static void
test_time_invalid(void **state)
{
	static const char *const bad_times[] = {
		"",
		"2026-01-02",
		"2026-01-02T03:04:05",		/* no offset */
		"2026-01-02 03:04:05Z",
		"2026-1-02T03:04:05Z",
		"2026-13-02T03:04:05Z",
		"2026-00-02T03:04:05Z",
		"2026-02-29T03:04:05Z",		/* not a leap year */
		"2026-04-31T03:04:05Z",
		"2026-01-02T24:00:00Z",
		"2026-01-02T03:60:05Z",
		"2026-01-02T03:04:61Z",
		"2026-01-02T03:04:05.Z",	/* empty fraction */
		"2026-01-02T03:04:05+01",
		"2026-01-02T03:04:05+0100",
		"2026-01-02T03:04:05+24:00",
		"2026-01-02T03:04:05Z ",
		"2026-01-02T03:04:05ZZ",
		"+2026-01-02T03:04:05Z",
	};
	int64_t	 t = 99;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad_times) / sizeof(bad_times[0]); i++) {
		assert_int_equal(anvil_time_parse(bad_times[i], &t),
		    ANVIL_EINVAL);
		assert_int_equal(t, 99);
	}
	assert_int_equal(anvil_time_parse(NULL, &t), ANVIL_EINVAL);
}

static void
test_time(void **state)
{
	char	 out[32];
	int64_t	 t = 0;

	(void)state;
	anvil_time_fmt(0, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	anvil_time_fmt(1767323045, out);
	assert_string_equal(out, "2026-01-02T03:04:05Z");
	assert_int_equal(anvil_time_parse(out, &t), 0);
	assert_int_equal(t, 1767323045);
	anvil_time_fmt(951782400, out);		/* leap day 2000 */
	assert_string_equal(out, "2000-02-29T00:00:00Z");
	assert_int_equal(anvil_time_parse("2000-02-29T00:00:00Z", &t), 0);
	assert_int_equal(t, 951782400);

	/* RFC 3339 §5.8 examples. */
	assert_int_equal(anvil_time_parse("1985-04-12T23:20:50.52Z", &t), 0);
	assert_int_equal(t, 482196050);
	assert_int_equal(anvil_time_parse("1996-12-19T16:39:57-08:00", &t),
	    0);
	assert_int_equal(t, 851042397);
	assert_int_equal(anvil_time_parse("1996-12-20T00:39:57Z", &t), 0);
	assert_int_equal(t, 851042397);
	assert_int_equal(anvil_time_parse("1990-12-31T23:59:60Z", &t), 0);
	assert_int_equal(t, 662688000);
	assert_int_equal(anvil_time_parse("1990-12-31T15:59:60-08:00", &t),
	    0);
	assert_int_equal(t, 662688000);
	assert_int_equal(anvil_time_parse("1937-01-01T12:00:27.87+00:20",
	    &t), 0);
	assert_int_equal(t, -1041337173);
	/* Lowercase separators and a long fraction. */
	assert_int_equal(anvil_time_parse("2026-01-02t03:04:05.123456789z",
	    &t), 0);
	assert_int_equal(t, 1767323045);
	assert_int_equal(anvil_time_parse("2026-01-02T05:34:05+02:30", &t),
	    0);
	assert_int_equal(t, 1767323045);

	/* Out-of-range values are clamped to what RFC 3339 can spell. */
	anvil_time_fmt(-5, out);
	assert_string_equal(out, "1970-01-01T00:00:00Z");
	anvil_time_fmt(INT64_MAX, out);
	assert_string_equal(out, "9999-12-31T23:59:59Z");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_time_invalid),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
