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
	/* Texts the fast path reads (json_read.c): the same refusals. */
	BAD("{\"a\":\"x\",\"a\":\"y\"}");	/* duplicate key */
	BAD("{\"a\":\"x\",\"b\":\"y\",\"a\":\"x\"}");
	BAD("{\"a\":\"x\",}");			/* trailing comma */
	BAD("{,\"a\":\"x\"}");
	BAD("{\"a\":\"x\" \"b\":\"y\"}");	/* missing comma */
	BAD("{\"a\" \"x\"}");			/* missing colon */
	BAD("{\"a\":\"x\"");			/* unterminated */
	BAD("{\"a\":\"x");
	BAD("{\"a\":\"x\"}}");
	BAD("{\"a\":\"x\"} \"b\"");
	BAD("{\"a\":\"x\ty\"}");		/* raw control character */
	BAD("{\"a\":\"x\"}\v");		/* not JSON whitespace */
	BAD("[1,]");
	BAD("[,1]");
	BAD("[1 2]");
	BAD("[1]]");
	BAD("{\"a\":[}");
	BAD("{\"a\":tru}");
	BAD("{\"a\":truex}");
	BAD("{\"a\":nul}");
	BAD("{\"a\":-}");
	BAD("{\"a\":-01}");
	BAD("{\"a\":1.}");
	BAD("{\"a\":[{\"b\":1,\"b\":2}]}");	/* nested duplicate */
	BAD("{\"a\":99999999999999999999}");	/* past int64 */
	assert_int_equal(anvil_json_parse(NULL, 0, &v), ANVIL_EJSON);
	assert_int_equal(anvil_json_parse_object("[1]", 3, &v), ANVIL_EJSON);
	assert_null(v);
}

/*
 * anvil_json_parse reads texts of plain strings, integers, words and
 * nesting itself and hands the rest to Jansson: both must give what
 * Jansson gives, members in order.
 */
static void
test_parse_simple(void **state)
{
	static const char *const good[] = {
		"{}",
		" \t\r\n{ \t\r\n} \t\r\n",
		"{\"protected\":\"eyJh\",\"payload\":\"\",\"signature\":\"c2ln\"}",
		"{ \"a\" : \"1\" ,\n\"b\":\"2\" }\n",
		"{\"\":\"\"}",
		"{\"url\":\"https://ca.test:14000/acme/order/1?x=y#z\"}",
		"{\"k\":\"~!@#$%^&*()_+{}[]|:;'<>,.?/ `\"}",
		/* These fall back to Jansson on the way. */
		"{\"a\":\"x\\/y\"}",
		"{\"a\":\"\\u00e9\",\"b\":\"\xc3\xa9\"}",
		"{\"a\":\"x\",\"b\":1,\"c\":[\"y\"],\"d\":{\"e\":\"f\"}}",
		"{\"a\":\"x\",\"b\":null,\"c\":true}",
		"{\"a\":\"\x7f\"}",
		"{\"a-key-longer-than-sixty-four-bytes-"
		    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\":\"v\"}",
		"[\"a\",\"b\"]",
		/* Nesting, integers and the three words. */
		"{\"identifiers\":[{\"type\":\"dns\",\"value\":\"a.test\"}],"
		    "\"n\":0,\"m\":-0,\"k\":-42,\"big\":999999999999999999,"
		    "\"t\":true,\"f\":false,\"z\":null,\"e\":[],\"o\":{}}",
		"[[[]],{},[1,[2,[3]]],\"\",true]",
		" [ 1 , -2 ,\t3 ]\r\n",
		"{\"r\":1.5,\"s\":2e3,\"u\":-0.0}",	/* reals: Jansson's */
		"{\"i\":1234567890123456789}",	/* 19 digits */
		"{\"i\":-9223372036854775808}",
	};
	json_error_t	 err;
	json_t		*v, *j;
	char		*a, *b, deep[200];
	size_t		 i, alen, blen;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = NULL;
		assert_int_equal(anvil_json_parse(good[i], strlen(good[i]),
		    &v), 0);
		j = json_loadb(good[i], strlen(good[i]),
		    JSON_REJECT_DUPLICATES, &err);
		assert_non_null(j);
		assert_true(json_equal(v, j));
		assert_int_equal(anvil_json_dump(v, &a, &alen), 0);
		assert_int_equal(anvil_json_dump(j, &b, &blen), 0);
		assert_int_equal(alen, blen);
		assert_memory_equal(a, b, alen);
		free(a);
		free(b);
		json_decref(j);
		json_decref(v);
	}
	/* Deeper than the fast path goes: Jansson's, and the same value. */
	memset(deep, '[', 100);
	memset(deep + 100, ']', 100);
	v = NULL;
	assert_int_equal(anvil_json_parse(deep, 200, &v), 0);
	j = json_loadb(deep, 200, 0, &err);
	assert_non_null(j);
	assert_true(json_equal(v, j));
	json_decref(j);
	json_decref(v);
	/* The values themselves, not views of the text. */
	v = NULL;
	assert_int_equal(anvil_json_parse("{\"a\":\"bc\",\"d\":\"\"}", 17,
	    &v), 0);
	assert_int_equal(json_object_size(v), 2);
	assert_string_equal(anvil_json_str(v, "a"), "bc");
	assert_int_equal(json_string_length(json_object_get(v, "a")), 2);
	assert_string_equal(anvil_json_str(v, "d"), "");
	json_decref(v);
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

/* Jansson's own compact text of v. */
static char *
jansson_text(const json_t *v)
{
	char	*s;

	s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(s);
	return s;
}

/*
 * anvil_json_dumpb writes what json_dumpb writes: every control
 * character, quotes, backslashes, integers to both ends, nesting, and the
 * values it leaves to Jansson (reals, non-ASCII, invalid UTF-8).
 */
static void
test_dumpb(void **state)
{
	char	 ctl[33], buf[4096], *want, *got;
	json_t	*v;
	size_t	 i, len, n;

	(void)state;
	for (i = 0; i < 32; i++)
		ctl[i] = (char)(i + 1);
	ctl[31] = '\x7f';
	ctl[32] = '\0';
	v = json_pack("{s:s,s:s,s:[I,I,I,i],s:{s:[],s:{},s:b,s:b,s:n},"
	    "s:s#}", "c", ctl, "q\"\\/", "a\"b\\c/d</x>",
	    "n", (json_int_t)INT64_MIN, (json_int_t)INT64_MAX, (json_int_t)0,
	    -7, "o", "e", "f", "t", 1, "u", 0, "z", "k\x01", "", 0);
	assert_non_null(v);
	want = jansson_text(v);
	len = anvil_json_dumpb(v, buf, sizeof(buf));
	assert_int_equal(len, strlen(want));
	assert_memory_equal(buf, want, len);
	/* Too small: the whole length, and the start of the text. */
	memset(buf, '#', sizeof(buf));
	assert_int_equal(anvil_json_dumpb(v, buf, 10), len);
	assert_memory_equal(buf, want, 10);
	assert_int_equal(buf[10], '#');
	assert_int_equal(anvil_json_dumpb(v, NULL, 0), len);
	assert_int_equal(anvil_json_dump(v, &got, &n), 0);
	assert_int_equal(n, len);
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_decref(v);

	/* Left to Jansson. */
	v = json_pack("[f,s,{s:s}]", 1.5, "\xc3\xa9", "\xe2\x82\xac", "x");
	assert_non_null(v);
	want = jansson_text(v);
	len = anvil_json_dumpb(v, buf, sizeof(buf));
	assert_int_equal(len, strlen(want));
	assert_memory_equal(buf, want, len);
	free(want);
	json_decref(v);
	v = json_stringn_nocheck("\xff", 1);	/* not UTF-8 */
	assert_non_null(v);
	assert_int_equal(anvil_json_dumpb(v, buf, sizeof(buf)), 0);
	assert_int_equal(anvil_json_dump(v, &got, &n), ANVIL_ENOMEM);
	json_decref(v);

	/* Longer than anvil_json_dump's stack buffer. */
	memset(buf, 'x', 3000);
	buf[3000] = '\0';
	v = json_pack("{s:s,s:s}", "a", buf, "b", buf);
	assert_non_null(v);
	want = jansson_text(v);
	assert_int_equal(anvil_json_dump(v, &got, &n), 0);
	assert_int_equal(n, strlen(want));
	assert_string_equal(got, want);
	free(got);
	free(want);
	json_decref(v);
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
		cmocka_unit_test(test_parse_simple),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_dumpb),
		cmocka_unit_test(test_time_invalid),
		cmocka_unit_test(test_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
