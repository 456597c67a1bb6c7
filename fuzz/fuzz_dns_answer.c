/*
 * fuzz_dns_answer.c - the VA's reader of DNS answers (va__answer_take(),
 * va__answer_next() of server/va_resolve.c): the messages a domain's own
 * name servers send back, through libunbound, for the A and AAAA lookups
 * of http-01 and tls-alpn-01 and the TXT lookup of dns-01.
 *
 * Each input is one DNS message, taken as the answer to each type the VA
 * asks (A, AAAA, TXT; CNAME records are followed inside the reader) and
 * to CNAME (the type for which the reader keeps CNAME records instead of
 * following them).  Every record handed over is read to its last byte,
 * so an rdata span running past the message shows as an ASan report, and
 * read as its caller reads it (an address, TXT character-strings).
 *
 * Asserts, besides the codes being among the documented ones: a refused
 * message leaves the answer empty; a taken one is an exact copy of the
 * input with its rcode; the records handed over are exactly those of a
 * model written here from the reader's contract (va_internal.h,
 * docs/internals/va.md), in order: answer records of class IN and of the
 * type asked, owned by the name asked or by the target of a CNAME read
 * before it, the reading stopping at the first record that cannot be
 * read.  The model reads names as RFC 1035 §4.1.4 says, with the limits
 * libldns applies (labels of at most 63 bytes, names of at most 255,
 * pointers non-zero and inside the span read, at most 65535 of them per
 * name), and compares them without regard to ASCII case.  Every rdata
 * handed over is also checked against its own record frame (type, class
 * and length just before it).  At most one of A, AAAA and TXT can take a
 * message, the one its question asks.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/error.h"
#include "va_internal.h"
#include "fuzz.h"

#define T_A		1
#define T_CNAME		5
#define T_TXT		16
#define T_AAAA		28
#define C_IN		1
#define HDR		12	/* DNS header */
#define FRAME		10	/* type, class, TTL, rdata length */
#define MAX_LABEL	63
#define MAX_NAME	255	/* wire form, with the root's byte */
#define MAX_PTRS	65535	/* pointers followed per name */
#define MAX_MSG		65535

/* The types asked, in the order they are tried. */
static const int qtypes[] = { T_A, T_AAAA, T_TXT, T_CNAME };

/* A name read from the message: its labels in wire form, uncompressed. */
struct name {
	uint8_t		 b[MAX_NAME];
	size_t		 len;
};

/* What the model expects of one va__answer_take(). */
struct expect {
	int		 rc;		/* 0 or ANVIL_EINVAL */
	size_t		 n;		/* records kept */
	struct va_rdata	*rd;		/* owned (malloc) */
};

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/*
 * Reads the name at *pos of msg, not reading at or past max (the end of
 * the message, or of a CNAME's rdata).  Returns 0 with the name in *out
 * and *pos just past the name where it starts (after its first pointer,
 * if any), or -1 when it cannot be read.  Terminates: each pass reads a
 * label of at least one byte (the name then grows, up to MAX_NAME) or
 * follows a pointer (at most MAX_PTRS).
 */
static int
read_name(const uint8_t *msg, size_t max, size_t *pos, struct name *out)
{
	size_t	 p = *pos, end = 0, ptrs = 0, l, target;

	out->len = 0;
	for (;;) {
		if (p >= max)
			return -1;
		l = msg[p];
		if (l >= 0xc0) {
			if (max - p < 2)
				return -1;
			target = (l & 0x3f) << 8 | msg[p + 1];
			if (target == 0 || target >= max || ++ptrs > MAX_PTRS)
				return -1;
			if (end == 0)
				end = p + 2;
			p = target;
			continue;
		}
		if (l == 0)
			break;
		if (l > MAX_LABEL || max - p - 1 < l)
			return -1;
		/* The label, and room left for the root's byte. */
		if (out->len + 1 + l + 1 > MAX_NAME)
			return -1;
		memcpy(out->b + out->len, msg + p, 1 + l);
		out->len += 1 + l;
		p += 1 + l;
	}
	out->b[out->len++] = 0;
	*pos = end != 0 ? end : p + 1;
	return 0;
}

static uint8_t
lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c + ('a' - 'A')) : c;
}

/* Whether two names are the same, ASCII case aside.  Both are well
 * formed, so equal bytes but for case means equal labels. */
static int
name_eq(const struct name *a, const struct name *b)
{
	size_t	 i;

	if (a->len != b->len)
		return 0;
	for (i = 0; i < a->len; i++)
		if (lower(a->b[i]) != lower(b->b[i]))
			return 0;
	return 1;
}

/*
 * The model of va__answer_take(msg, len) for qtype, from its contract.
 * Fills *e (e->rd to free).  Returns 0, or -1 when out of memory (the
 * input is then skipped).
 */
static int
model(const uint8_t *msg, size_t len, int qtype, struct expect *e)
{
	struct name	 want, owner, target;
	size_t		 pos = HDR, n, i, rd, rdlen, cap;
	unsigned	 type, class;

	memset(e, 0, sizeof(*e));
	e->rc = ANVIL_EINVAL;
	if (len < HDR || len > MAX_MSG || get16(msg + 4) != 1)
		return 0;
	if (read_name(msg, len, &pos, &want) != 0 || len - pos < 4 ||
	    get16(msg + pos) != qtype)
		return 0;
	pos += 4;
	e->rc = 0;
	n = get16(msg + 6);
	/* No record is shorter than a root owner and a frame, so no more
	 * than cap can be read, whatever the header announces. */
	cap = (len - pos) / (1 + FRAME);
	if (n == 0 || cap == 0)
		return 0;
	e->rd = calloc(cap, sizeof(*e->rd));
	if (e->rd == NULL)
		return -1;
	/* Terminates: one record per pass, at most ANCOUNT of them. */
	for (i = 0; i < n; i++) {
		if (read_name(msg, len, &pos, &owner) != 0 ||
		    len - pos < FRAME)
			break;
		type = get16(msg + pos);
		class = get16(msg + pos + 2);
		rdlen = get16(msg + pos + 8);
		rd = pos + FRAME;
		if (rdlen > len - rd)
			break;
		pos = rd + rdlen;
		if (class != C_IN || !name_eq(&owner, &want))
			continue;
		if (type == T_CNAME && qtype != T_CNAME) {
			if (read_name(msg, rd + rdlen, &rd, &target) != 0 ||
			    rd != pos)
				break;
			want = target;
		} else if (type == (unsigned)qtype) {
			FUZZ_CHECK(e->n < cap);
			e->rd[e->n].off = rd;
			e->rd[e->n].len = rdlen;
			e->n++;
		}
	}
	return 0;
}

/* Reads an rdata as its callers do: an address of exactly the size of
 * the type asked, or TXT character-strings held to the rdata. */
static void
read_as_caller(int qtype, const unsigned char *rd, size_t len)
{
	char	 text[INET6_ADDRSTRLEN];
	size_t	 pos = 0, l;

	if (qtype == T_A && len == 4)
		FUZZ_CHECK(inet_ntop(AF_INET, rd, text, sizeof(text)) != NULL);
	else if (qtype == T_AAAA && len == 16)
		FUZZ_CHECK(inet_ntop(AF_INET6, rd, text, sizeof(text)) !=
		    NULL);
	else if (qtype == T_TXT) {
		/* Terminates: pos grows by at least one per pass. */
		while (pos < len) {
			l = rd[pos++];
			if (l > len - pos)
				break;
			pos += l;
		}
	}
}

/* Takes data as the answer to qtype and checks everything above.
 * Returns 1 when the message was taken. */
static int
check_type(const uint8_t *data, size_t size, int qtype)
{
	struct va_answer	 a;
	struct va_rr_iter	 it;
	struct expect		 e;
	const unsigned char	*rd;
	volatile unsigned	 sum = 0;
	size_t			 rdlen, i, k;
	int			 rc;

	memset(&a, 0, sizeof(a));
	a.qtype = qtype;
	if (model(data, size, qtype, &e) != 0)
		return 0;
	rc = va__answer_take(&a, data, size);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_EINVAL || rc == ANVIL_ENOMEM);
	FUZZ_CHECK(a.qtype == qtype);
	FUZZ_CHECK(a.err == NULL && a.bogus == 0);
	if (rc != 0) {
		FUZZ_CHECK(a.pkt == NULL && a.rd == NULL && a.len == 0 &&
		    a.nrd == 0);
		FUZZ_CHECK(rc == ANVIL_ENOMEM || e.rc == rc);
		/* A refused answer reads as no record. */
		va__answer_begin(&a, &it);
		FUZZ_CHECK(va__answer_next(&a, &it, &rd, &rdlen) == 0);
		goto out;
	}
	FUZZ_CHECK(e.rc == 0);
	FUZZ_CHECK(a.pkt != NULL && a.len == size);
	FUZZ_CHECK(memcmp(a.pkt, data, size) == 0);
	FUZZ_CHECK(a.rcode == (data[3] & 0x0f));
	FUZZ_CHECK(a.nrd == e.n);
	va__answer_begin(&a, &it);
	for (i = 0; va__answer_next(&a, &it, &rd, &rdlen); i++) {
		FUZZ_CHECK(i < e.n);
		FUZZ_CHECK(rd == a.pkt + e.rd[i].off);
		FUZZ_CHECK(rdlen == e.rd[i].len);
		/* Its own frame: the type asked, IN, this length. */
		FUZZ_CHECK(e.rd[i].off >= HDR + FRAME);
		FUZZ_CHECK(get16(rd - FRAME) == qtype);
		FUZZ_CHECK(get16(rd - FRAME + 2) == C_IN);
		FUZZ_CHECK(get16(rd - 2) == rdlen);
		for (k = 0; k < rdlen; k++)
			sum += rd[k];
		read_as_caller(qtype, rd, rdlen);
	}
	FUZZ_CHECK(i == e.n);
	/* The end stays the end. */
	FUZZ_CHECK(va__answer_next(&a, &it, &rd, &rdlen) == 0);
out:
	free(e.rd);
	va__answer_clear(&a);
	FUZZ_CHECK(a.qtype == qtype && a.pkt == NULL && a.rd == NULL &&
	    a.len == 0 && a.nrd == 0 && a.rcode == 0);
	(void)sum;
	return rc == 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t	 i;
	int	 taken = 0;

	/* The reader refuses more than 65535 bytes itself: a few past it
	 * are enough to check that. */
	if (size > MAX_MSG + 16)
		return 0;
	for (i = 0; i < sizeof(qtypes) / sizeof(qtypes[0]); i++)
		if (check_type(data, size, qtypes[i]) && qtypes[i] != T_CNAME)
			taken++;
	/* One question, of one type. */
	FUZZ_CHECK(taken <= 1);
	return 0;
}
