/*
 * json_read.c - the fast path of anvil_json_parse: JSON text made only of
 * objects, arrays, strings of printable ASCII without escapes, integers,
 * true, false and null, which is what ACME puts on the wire (a JWS, its
 * protected header, its payload, an order, an authorization).
 *
 * Jansson's lexer costs about 25 ns a byte here (26 us for a 1 KB
 * finalize JWS, ~3 % of the server's CPU per issuance; 7 % of the load
 * driver's, for the orders and authorizations it reads); this costs a
 * few.  It builds the value Jansson would build, or gives up (NULL) on
 * anything else: an escape, a byte outside 0x20-0x7e in a string, a real,
 * an integer of 19 digits or more, a repeated key, nesting deeper than
 * READ_MAX_DEPTH, a syntax error, a failed allocation.  The caller then
 * asks Jansson, which decides; so the two never disagree on what they
 * both accept (fuzz_json_parse compares them on every input).
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "internal.h"

/* Well below Jansson's JSON_PARSER_MAX_DEPTH (2048): deeper texts are
 * Jansson's, and the recursion here stays small. */
#define READ_MAX_DEPTH	64

struct rd {
	const char	*p;
	const char	*end;
};

static json_t	*rd_value(struct rd *, int);

/* JSON's four whitespace characters (RFC 8259 §2). */
static void
rd_ws(struct rd *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
	    *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* A string of bytes 0x20-0x7e other than '"' and '\\', quotes around.
 * Sets its text; returns 0, or -1 for anything else. */
static int
rd_plain(struct rd *r, const char **s, size_t *n)
{
	const char	*q;

	if (r->p == r->end || *r->p != '"')
		return -1;
	for (q = r->p + 1; q < r->end; q++) {
		if (*q == '"') {
			*s = r->p + 1;
			*n = (size_t)(q - *s);
			r->p = q + 1;
			return 0;
		}
		if (*q == '\\' || (unsigned char)*q < 0x20 ||
		    (unsigned char)*q > 0x7e)
			return -1;
	}
	return -1;
}

/* -?(0|[1-9][0-9]*), at most 18 digits (no overflow), and no fraction or
 * exponent after it (a real is Jansson's). */
static json_t *
rd_int(struct rd *r)
{
	const char	*q = r->p;
	json_int_t	 v = 0;
	int		 neg = 0, nd = 0;

	if (q < r->end && *q == '-') {
		neg = 1;
		q++;
	}
	if (q < r->end && *q == '0' && q + 1 < r->end && q[1] >= '0' &&
	    q[1] <= '9')
		return NULL;		/* leading zero: an error */
	for (; q < r->end && *q >= '0' && *q <= '9'; q++) {
		if (++nd > 18)
			return NULL;
		v = v * 10 + (*q - '0');
	}
	if (nd == 0 || (q < r->end && (*q == '.' || *q == 'e' ||
	    *q == 'E')))
		return NULL;
	r->p = q;
	return json_integer(neg ? -v : v);
}

static json_t *
rd_word(struct rd *r, const char *w, size_t n, json_t *v)
{
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, w, n) != 0)
		return NULL;
	r->p += n;
	return v;
}

/*
 * After '[' or '{' (open) or after an element or a member (!open): skips
 * the whitespace and then the closing byte (returns 1) or, past a
 * member, a comma and the whitespace after it (returns 0).  Anything
 * else is -1.
 */
static int
rd_next(struct rd *r, char close, int open)
{
	rd_ws(r);
	if (r->p == r->end)
		return -1;
	if (*r->p == close) {
		r->p++;
		return 1;
	}
	if (open)
		return 0;
	if (*r->p != ',')
		return -1;
	r->p++;
	rd_ws(r);
	return 0;
}

static json_t *
rd_array(struct rd *r, int depth)
{
	json_t	*arr, *v;
	int	 rc;

	arr = json_array();
	if (arr == NULL)
		return NULL;
	r->p++;
	rc = rd_next(r, ']', 1);
	while (rc == 0) {
		v = rd_value(r, depth + 1);
		if (v == NULL || json_array_append_new(arr, v) != 0)
			break;
		rc = rd_next(r, ']', 0);
	}
	if (rc == 1)
		return arr;
	json_decref(arr);
	return NULL;
}

static json_t *
rd_object(struct rd *r, int depth)
{
	const char	*k;
	size_t		 kn;
	json_t		*obj, *v;
	int		 rc;

	obj = json_object();
	if (obj == NULL)
		return NULL;
	r->p++;
	rc = rd_next(r, '}', 1);
	while (rc == 0) {
		/* A repeated key is Jansson's to refuse. */
		if (rd_plain(r, &k, &kn) != 0 ||
		    json_object_getn(obj, k, kn) != NULL)
			break;
		rd_ws(r);
		if (r->p == r->end || *r->p != ':')
			break;
		r->p++;
		rd_ws(r);
		/* setn takes the key with its length: no copy to make. */
		v = rd_value(r, depth + 1);
		if (v == NULL || json_object_setn_new_nocheck(obj, k, kn,
		    v) != 0)
			break;
		rc = rd_next(r, '}', 0);
	}
	if (rc == 1)
		return obj;
	json_decref(obj);
	return NULL;
}

static json_t *
rd_value(struct rd *r, int depth)
{
	const char	*s;
	size_t		 n;

	if (depth > READ_MAX_DEPTH || r->p == r->end)
		return NULL;
	switch (*r->p) {
	case '{':
		return rd_object(r, depth);
	case '[':
		return rd_array(r, depth);
	case '"':
		if (rd_plain(r, &s, &n) != 0)
			return NULL;
		return json_stringn_nocheck(s, n);
	case 't':
		return rd_word(r, "true", 4, json_true());
	case 'f':
		return rd_word(r, "false", 5, json_false());
	case 'n':
		return rd_word(r, "null", 4, json_null());
	default:
		return rd_int(r);
	}
}

json_t *
anvil__json_read_simple(const char *p, size_t len)
{
	struct rd	 r = { p, p + len };
	json_t		*v;

	rd_ws(&r);
	/* Jansson takes only an object or an array at the top (no
	 * JSON_DECODE_ANY). */
	if (r.p == r.end || (*r.p != '{' && *r.p != '['))
		return NULL;
	v = rd_value(&r, 0);
	if (v == NULL)
		return NULL;
	rd_ws(&r);
	if (r.p != r.end) {
		json_decref(v);
		return NULL;
	}
	return v;
}
