/*
 * json.c - JSON parsing, typed getters, compact output and RFC 3339 times,
 * on Jansson (see anvil/json.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "anvil/b64.h"
#include "anvil/error.h"
#include "anvil/json.h"
#include "internal.h"

/*
 * Jansson already rejects invalid UTF-8, "\u0000" (no JSON_ALLOW_NUL),
 * trailing data (no JSON_DISABLE_EOF_CHECK) and scalars at the top level
 * (no JSON_DECODE_ANY); JSON_REJECT_DUPLICATES adds duplicate keys, which
 * RFC 8259 §4 leaves undefined and an attacker could use to make two
 * parsers see different requests.  Nesting is capped by Jansson at
 * JSON_PARSER_MAX_DEPTH (2048); the caller bounds len.  Most texts ACME
 * sends are read faster by json_read.c, which leaves the rest to Jansson.
 */
int
anvil_json_parse(const char *p, size_t len, json_t **ret)
{
	json_error_t	 err;
	json_t		*v;

	if (p == NULL)
		return ANVIL_EJSON;
	v = anvil__json_read_simple(p, len);
	if (v != NULL) {
		*ret = v;
		return 0;
	}
	v = json_loadb(p, len, JSON_REJECT_DUPLICATES, &err);
	if (v == NULL)
		return ANVIL_EJSON;
	*ret = v;
	return 0;
}

int
anvil_json_parse_object(const char *p, size_t len, json_t **ret)
{
	json_t	*v = NULL;
	int	 rc;

	rc = anvil_json_parse(p, len, &v);
	if (rc != 0)
		return rc;
	if (!json_is_object(v)) {
		json_decref(v);
		return ANVIL_EJSON;
	}
	*ret = v;
	return 0;
}

const char *
anvil_json_str(const json_t *obj, const char *key)
{
	json_t	*v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	if (!json_is_string(v))
		return NULL;
	return json_string_value(v);
}

json_t *
anvil_json_obj(const json_t *obj, const char *key)
{
	json_t	*v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	return json_is_object(v) ? v : NULL;
}

json_t *
anvil_json_arr(const json_t *obj, const char *key)
{
	json_t	*v;

	if (!json_is_object(obj))
		return NULL;
	v = json_object_get(obj, key);
	return json_is_array(v) ? v : NULL;
}

int
anvil_json_bool(const json_t *obj, const char *key, bool *ret)
{
	json_t	*v;

	if (!json_is_object(obj))
		return ANVIL_EJSON;
	v = json_object_get(obj, key);
	if (v == NULL)
		return ANVIL_ENOENT;
	if (!json_is_boolean(v))
		return ANVIL_EJSON;
	*ret = json_is_true(v);
	return 0;
}

int
anvil_json_int(const json_t *obj, const char *key, int64_t *ret)
{
	json_t	*v;

	if (!json_is_object(obj))
		return ANVIL_EJSON;
	v = json_object_get(obj, key);
	if (v == NULL)
		return ANVIL_ENOENT;
	/* A real such as 1.0 is not an integer; Jansson's range is int64. */
	if (!json_is_integer(v))
		return ANVIL_EJSON;
	*ret = (int64_t)json_integer_value(v);
	return 0;
}

/*
 * Objects keep insertion order in Jansson >= 2.8, so JSON_COMPACT alone
 * gives the order callers built.  Jansson escapes every control character.
 * Most texts fit the stack buffer: one pass, one allocation.
 */
int
anvil_json_dump(const json_t *v, char **ret, size_t *ret_len)
{
	char	 small[1024], *s;
	size_t	 len;

	if (v == NULL)
		return ANVIL_EINVAL;
	len = anvil_json_dumpb(v, small, sizeof(small));
	if (len == 0)
		return ANVIL_ENOMEM;
	s = malloc(len + 1);
	if (s == NULL)
		return ANVIL_ENOMEM;
	if (len <= sizeof(small))
		memcpy(s, small, len);
	else if (anvil_json_dumpb(v, s, len) != len) {
		free(s);
		return ANVIL_ENOMEM;
	}
	s[len] = '\0';
	if (ret_len != NULL)
		*ret_len = len;
	*ret = s;
	return 0;
}

int
anvil__json_b64(const json_t *obj, const char *key, uint8_t **ret,
    size_t *ret_len)
{
	json_t	*v;

	v = json_object_get(obj, key);
	if (v == NULL)
		return ANVIL_ENOENT;
	if (!json_is_string(v))
		return ANVIL_EINVAL;
	return anvil_b64url_decode(json_string_value(v),
	    json_string_length(v), ret, ret_len);
}

/*
 * Days since 1970-01-01 for a proleptic Gregorian date (m 1..12, d 1..31).
 * Years are counted from March so the leap day ends a year, and split in
 * 400-year eras of 146097 days.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t	 era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;				/* [0, 399] */
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;	/* [0, 365] */
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;	/* [0, 146096] */
	return era * 146097 + doe - 719468;
}

/* The latest time RFC 3339 can spell: 9999-12-31T23:59:59Z. */
#define TIME_MAX	INT64_C(253402300799)

/* Writes v as exactly n decimal digits at p (v < 10^n). */
static void
put(char *p, int v, int n)
{
	while (n-- > 0) {
		p[n] = (char)('0' + v % 10);
		v /= 10;
	}
}

void
anvil_time_fmt(int64_t t, char out[32])
{
	struct tm	 tm;
	time_t		 tt;

	/* Clamp to the four-digit years RFC 3339 §5.6 allows. */
	if (t < 0)
		t = 0;
	if (t > TIME_MAX)
		t = TIME_MAX;
	tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	/* "YYYY-MM-DDTHH:MM:SSZ", 20 characters and the NUL. */
	memcpy(out, "0000-00-00T00:00:00Z", 21);
	put(out, tm.tm_year + 1900, 4);
	put(out + 5, tm.tm_mon + 1, 2);
	put(out + 8, tm.tm_mday, 2);
	put(out + 11, tm.tm_hour, 2);
	put(out + 14, tm.tm_min, 2);
	put(out + 17, tm.tm_sec, 2);
}

/* Reads exactly n decimal digits at *p into *ret and advances *p.
 * Returns 0 or -1. */
static int
digits(const char **p, int n, int *ret)
{
	int	 v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

/* Returns 1 if *p is c (and advances past it), else 0. */
static int
expect(const char **p, char c)
{
	if (**p != c)
		return 0;
	(*p)++;
	return 1;
}

/*
 * RFC 3339 §5.6 date-time: full-date "T" partial-time time-offset, where
 * "T" and "Z" may be lowercase, the fraction has any number of digits
 * (truncated: we keep seconds), and the offset is Z or +hh:mm / -hh:mm.
 * A leap second (60) is accepted and counts as the next second.  Every
 * step reads a fixed number of characters or stops at the first
 * non-digit, so parsing ends at the string's NUL.
 */
int
anvil_time_parse(const char *s, int64_t *ret)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31};
	const char	*p = s;
	int		 y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	int64_t		 t;

	if (s == NULL)
		return ANVIL_EINVAL;
	if (digits(&p, 4, &y) || !expect(&p, '-') || digits(&p, 2, &mo) ||
	    !expect(&p, '-') || digits(&p, 2, &d))
		return ANVIL_EINVAL;
	if (!expect(&p, 'T') && !expect(&p, 't'))
		return ANVIL_EINVAL;
	if (digits(&p, 2, &h) || !expect(&p, ':') || digits(&p, 2, &mi) ||
	    !expect(&p, ':') || digits(&p, 2, &sec))
		return ANVIL_EINVAL;
	if (expect(&p, '.')) {
		if (*p < '0' || *p > '9')
			return ANVIL_EINVAL;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (expect(&p, 'Z') || expect(&p, 'z'))
		sign = 0;
	else if (expect(&p, '+'))
		sign = 1;
	else if (expect(&p, '-'))
		sign = -1;
	else
		return ANVIL_EINVAL;
	if (sign != 0 && (digits(&p, 2, &oh) || !expect(&p, ':') ||
	    digits(&p, 2, &om)))
		return ANVIL_EINVAL;
	if (*p != '\0')
		return ANVIL_EINVAL;

	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1])
		return ANVIL_EINVAL;
	if (mo == 2 && d == 29 &&
	    !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return ANVIL_EINVAL;
	if (h > 23 || mi > 59 || sec > 60 || oh > 23 || om > 59)
		return ANVIL_EINVAL;

	t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
	/* local = UTC + offset, so UTC = local - offset. */
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*ret = t;
	return 0;
}
