/*
 * json_write.c - compact JSON text of a Jansson value, the same bytes as
 * json_dumpb() with JSON_COMPACT | JSON_ENCODE_ANY.
 *
 * Jansson's encoder costs about 17 ns a byte (6 us for a 350-byte order):
 * every character goes through a UTF-8 decoder and every piece through a
 * callback.  The server writes one answer per request, so here runs of
 * plain characters are copied whole.  Only what the CA and the agent
 * write is handled here: strings of ASCII, integers, true, false, null,
 * arrays and objects.  A real or a non-ASCII byte (whose UTF-8 Jansson
 * checks) sends the whole value to Jansson instead, so the output is
 * always Jansson's (fuzz_json_parse and test_json compare them).
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "anvil/json.h"

/* Deeper than Jansson's parser goes (JSON_PARSER_MAX_DEPTH): a value
 * built by hand beyond it, or a cycle, goes to Jansson, which refuses. */
#define WRITE_MAX_DEPTH	2048

struct out {
	char	*p;
	size_t	 size;
	size_t	 len;	/* of the whole text, even past size */
	int	 punt;	/* a value to leave to Jansson */
};

static void
put(struct out *o, const char *s, size_t n)
{
	if (o->len < o->size)
		memcpy(o->p + o->len, s, n < o->size - o->len ? n :
		    o->size - o->len);
	o->len += n;
}

static void
put_c(struct out *o, char c)
{
	if (o->len < o->size)
		o->p[o->len] = c;
	o->len++;
}

/* Jansson's escapes: the short ones, \u00XX (upper case) for the other
 * controls; '/' and DEL as they are. */
static void
put_str(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char short_from[] = "\"\\\b\f\n\r\t";
	static const char short_to[] = "\"\\bfnrt";
	const char	*run, *e;
	char		 esc[6];
	unsigned char	 c;
	size_t		 i;

	put_c(o, '"');
	for (run = s, i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80)
			continue;
		if (c >= 0x80) {
			o->punt = 1;
			return;
		}
		put(o, run, (size_t)(s + i - run));
		run = s + i + 1;
		esc[0] = '\\';
		e = memchr(short_from, c, sizeof(short_from) - 1);
		if (e != NULL) {
			esc[1] = short_to[e - short_from];
			put(o, esc, 2);
			continue;
		}
		esc[1] = 'u';
		esc[2] = '0';
		esc[3] = '0';
		esc[4] = hex[c >> 4];
		esc[5] = hex[c & 0xf];
		put(o, esc, 6);
	}
	put(o, run, (size_t)(s + n - run));
	put_c(o, '"');
}

static void
put_int(struct out *o, json_int_t v)
{
	char		 d[24];
	size_t		 i = sizeof(d);
	uint64_t	 u;

	/* Through uint64_t: -INT64_MIN does not fit an int64_t. */
	u = v < 0 ? -(uint64_t)v : (uint64_t)v;
	do {
		d[--i] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		d[--i] = '-';
	put(o, d + i, sizeof(d) - i);
}

static void
put_value(struct out *o, const json_t *v, int depth)
{
	const char	*key;
	json_t		*m;
	size_t		 i, n, klen;

	if (depth > WRITE_MAX_DEPTH) {
		o->punt = 1;
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		put_str(o, json_string_value(v), json_string_length(v));
		break;
	case JSON_INTEGER:
		put_int(o, json_integer_value(v));
		break;
	case JSON_TRUE:
		put(o, "true", 4);
		break;
	case JSON_FALSE:
		put(o, "false", 5);
		break;
	case JSON_NULL:
		put(o, "null", 4);
		break;
	case JSON_ARRAY:
		put_c(o, '[');
		n = json_array_size(v);
		for (i = 0; i < n && !o->punt; i++) {
			if (i > 0)
				put_c(o, ',');
			put_value(o, json_array_get(v, i), depth + 1);
		}
		put_c(o, ']');
		break;
	case JSON_OBJECT:
		put_c(o, '{');
		i = 0;
		json_object_keylen_foreach((json_t *)v, key, klen, m) {
			if (o->punt)
				break;
			if (i++ > 0)
				put_c(o, ',');
			put_str(o, key, klen);
			put_c(o, ':');
			put_value(o, m, depth + 1);
		}
		put_c(o, '}');
		break;
	default:	/* JSON_REAL */
		o->punt = 1;
		break;
	}
}

size_t
anvil_json_dumpb(const json_t *v, char *buf, size_t size)
{
	struct out	 o = { buf, size, 0, 0 };

	if (v == NULL)
		return 0;
	put_value(&o, v, 0);
	if (o.punt)
		return json_dumpb(v, buf, size, JSON_COMPACT |
		    JSON_ENCODE_ANY);
	return o.len;
}
