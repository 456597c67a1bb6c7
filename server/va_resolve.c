/*
 * va_resolve.c - DNS lookups for the validation authority, on libunbound.
 *
 * Each loop of checks (a worker thread, see va.c) owns one resolver, made
 * once, so that nothing is shared between threads and each keeps its own
 * (short-lived) cache.  The resolver's events are on the loop's base
 * (libunbound's event API, ub_ctx_create_event()): a lookup sends its
 * queries and returns, its answers arrive as the loop runs, and its
 * caller is called back when all are in or at the check's deadline, when
 * what is left is cancelled (unbound's own retries can take far longer
 * than a validation may).  There is no background thread, so no pipe
 * between it and the loop and no wake-up of another thread per query.
 * Unbound still opens a socket on a random port for every query, and
 * checks answers as it does in any other mode.
 *
 * The event API hands over the answer as a DNS message, not as a parsed
 * struct ub_result.  It is read when it arrives, with libldns: its header
 * and question, then its answer records one by one (ldns_wire2dname() for
 * the names, so compression pointers, with their number bounded), keeping
 * where the rdata of those for the name asked lies and following the
 * CNAME chain from that name as libunbound does for ub_result.  The
 * message is copied then, as the buffer is unbound's, and the rdata read
 * from the copy (va__answer_next()).
 *
 * Unbound answers some special-use zones itself (test., home.arpa. ...)
 * with NXDOMAIN.  A CA pointed at a test resolver must see the real
 * answers for names such as a.example.test, so those zones are made
 * "transparent": local data (from /etc/hosts) if any, else a real lookup.
 * ("nodefault" would do the same in a configuration file, but
 * ub_ctx_set_option() does not honour it.)  onion., invalid. and
 * localhost. keep their fixed answers.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <ldns/ldns.h>
#include <unbound.h>
#include <unbound-event.h>

#include "anvil/error.h"
#include "anvil/limits.h"
#include "va_internal.h"

#define DNS_MAX		65535	/* longest DNS message */
#define RR_FIXED	10	/* type, class, TTL, rdata length */
#define RR_MIN		(1 + RR_FIXED)	/* a record with the root as owner */
#define SEC_BOGUS	1	/* ub_event_callback_type's sec */

/* Zones that unbound answers locally by default and that a validation
 * resolver must look up instead (RFC 6761 §6.2, RFC 8375). */
static const char *const lookup_zones[] = { "test.", "home.arpa." };

/* The resolver of one loop. */
struct va_resolver {
	struct event_base *base;	/* not owned; unbound's events on it */
	struct ub_ctx	*ub;		/* owned; uses base */
};

/* One answer record's frame, as read_frame() reads it. */
struct frame {
	ldns_rdf	*owner;		/* owned: ldns_rdf_deep_free() */
	unsigned	 type;
	unsigned	 class;
	size_t		 rd;		/* rdata: offset in the message */
	size_t		 rdlen;		/* and length */
};

struct va_lookup;

/* One query of a lookup. */
struct query {
	struct va_lookup	*lk;
	int		 id;		/* unbound's async id, 0 when none */
	int		 done;
	struct va_answer ans;		/* qtype set; filled when done */
};

/*
 * A lookup in flight: one query (va__lookup()) or two (va__lookup_addrs()),
 * and one timer, set to the deadline, which also hands the answers over
 * on a pass of the loop of its own (see query_done()).  It is the
 * va_lookup of va_internal.h.
 */
struct va_lookup {
	struct va_resolver *r;
	char		 name[ANVIL_MAX_NAME_LEN + 32];
	struct query	 q[2];
	size_t		 nq;
	struct event	*timer;		/* owned */
	va_lookup_fn	 one;		/* va__lookup()'s callback */
	va_addrs_fn	 addrs;		/* or va__lookup_addrs()'s */
	struct va_result *res;		/* va__lookup_addrs()'s */
	void		*arg;
};

int
va__resolver_spec(const char *s, char *out, size_t outsz)
{
	char		 addr[INET6_ADDRSTRLEN];
	const char	*end, *port = NULL;
	unsigned char	 bin[sizeof(struct in6_addr)];
	size_t		 alen;
	long		 p;
	char		*ep;
	int		 n;

	if (s == NULL || *s == '\0')
		return ANVIL_EINVAL;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return ANVIL_EINVAL;
		alen = (size_t)(end - s - 1);
		if (alen >= sizeof(addr))
			return ANVIL_EINVAL;
		memcpy(addr, s + 1, alen);
		addr[alen] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return ANVIL_EINVAL;
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return ANVIL_EINVAL;
	} else if (strchr(s, ':') != strrchr(s, ':')) {
		/* Two colons or more: a bare IPv6 address, no port. */
		if (strlen(s) >= sizeof(addr))
			return ANVIL_EINVAL;
		(void)strcpy(addr, s);
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return ANVIL_EINVAL;
	} else {
		end = strchr(s, ':');
		alen = end == NULL ? strlen(s) : (size_t)(end - s);
		if (alen >= sizeof(addr))
			return ANVIL_EINVAL;
		memcpy(addr, s, alen);
		addr[alen] = '\0';
		if (end != NULL)
			port = end + 1;
		if (inet_pton(AF_INET, addr, bin) != 1)
			return ANVIL_EINVAL;
	}

	p = 53;
	if (port != NULL) {
		if (*port < '0' || *port > '9')
			return ANVIL_EINVAL;
		errno = 0;
		p = strtol(port, &ep, 10);
		if (errno != 0 || *ep != '\0' || p < 1 || p > 65535)
			return ANVIL_EINVAL;
	}
	n = snprintf(out, outsz, "%s@%ld", addr, p);
	if (n < 0 || (size_t)n >= outsz)
		return ANVIL_EINVAL;
	return 0;
}

/* Sets one unbound option ("name:" form).  Returns 0 or ANVIL_EINVAL. */
static int
set_option(struct ub_ctx *ub, const char *opt, const char *val)
{
	if (ub_ctx_set_option(ub, opt, val) != 0)
		return ANVIL_EINVAL;
	return 0;
}

void
va__resolver_free(struct va_resolver *r)
{
	if (r == NULL)
		return;
	/* Unbound's events are on the loop's base, which outlives r. */
	if (r->ub != NULL)
		ub_ctx_delete(r->ub);
	free(r);
}

int
va__resolver_new(struct event_base *base, const char *resolver,
    struct va_resolver **ret)
{
	struct va_resolver *r = NULL;
	struct ub_ctx	*ub;
	char		 spec[INET6_ADDRSTRLEN + 8], zone[32];
	size_t		 i;
	int		 rc = ANVIL_EINVAL;

	if (base == NULL)
		goto out;
	if (resolver != NULL) {
		rc = va__resolver_spec(resolver, spec, sizeof(spec));
		if (rc != 0)
			goto out;
	}
	rc = ANVIL_ENOMEM;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto out;
	r->base = base;
	ub = r->ub = ub_ctx_create_event(base);
	if (ub == NULL)
		goto out;
	rc = ANVIL_EINVAL;
	/* A resolver on 127.0.0.1 is the usual case in tests and with a
	 * local caching server. */
	if (set_option(ub, "do-not-query-localhost:", "no") != 0)
		goto out;
	/*
	 * A validation must see the records as they are now: a user who
	 * fixes a TXT record and retries must not get the cached old one.
	 */
	if (set_option(ub, "cache-max-ttl:", "0") != 0 ||
	    set_option(ub, "cache-max-negative-ttl:", "0") != 0)
		goto out;
	for (i = 0; i < sizeof(lookup_zones) / sizeof(lookup_zones[0]); i++) {
		(void)snprintf(zone, sizeof(zone), "%s transparent",
		    lookup_zones[i]);
		if (set_option(ub, "local-zone:", zone) != 0)
			goto out;
	}
	if (resolver != NULL) {
		if (ub_ctx_set_fwd(ub, spec) != 0)
			goto out;
	} else {
		/*
		 * A system without /etc/hosts or /etc/resolv.conf (some
		 * containers) is not an error: unbound then recurses from
		 * the root by itself.
		 */
		(void)ub_ctx_hosts(ub, NULL);
		(void)ub_ctx_resolvconf(ub, NULL);
	}
	*ret = r;
	r = NULL;
	rc = 0;
out:
	va__resolver_free(r);
	return rc;
}

/* Maps a libldns failure to our code. */
static int
from_ldns(ldns_status st)
{
	return st == LDNS_STATUS_MEM_ERR ? ANVIL_ENOMEM : ANVIL_EINVAL;
}

/*
 * Reads the frame of the answer record at *pos of msg (len bytes): its
 * owner name, with libldns (compression pointers followed, their number
 * bounded), then its type, class and rdata length; the rdata must fit in
 * msg.  ldns_wire2rr() would read the rdata as well, but does not hold it
 * to its length (a name in it may run past, bytes left over would be read
 * as the next record), and allocates the whole rdata length for each of
 * its fields (a TXT rdata of many empty strings: gigabytes).  The caller
 * reads the rdata it wants itself.  Returns 0 with *f (f->owner to free with
 * ldns_rdf_deep_free()) and *pos after the record; ANVIL_EINVAL when the
 * record cannot be read, ANVIL_ENOMEM, with *f and *pos untouched.
 */
static int
read_frame(const uint8_t *msg, size_t len, size_t *pos, struct frame *f)
{
	ldns_rdf	*owner = NULL;
	ldns_status	 st;
	size_t		 o = *pos, rd, rdlen;

	st = ldns_wire2dname(&owner, msg, len, &o);
	if (st != LDNS_STATUS_OK)
		return from_ldns(st);
	if (o > len || len - o < RR_FIXED) {
		ldns_rdf_deep_free(owner);
		return ANVIL_EINVAL;
	}
	rd = o + RR_FIXED;
	rdlen = ldns_read_uint16(msg + o + 8);
	if (rdlen > len - rd) {
		ldns_rdf_deep_free(owner);
		return ANVIL_EINVAL;
	}
	f->owner = owner;
	f->type = ldns_read_uint16(msg + o);
	f->class = ldns_read_uint16(msg + o + 2);
	f->rd = rd;
	f->rdlen = rdlen;
	*pos = rd + rdlen;
	return 0;
}

/*
 * Reads the name that must fill the rdata of f exactly (a CNAME's
 * target), with libldns held to the rdata's end.  Returns 0 and *ret (free
 * with ldns_rdf_deep_free()), ANVIL_EINVAL or ANVIL_ENOMEM.
 */
static int
read_target(const uint8_t *msg, const struct frame *f, ldns_rdf **ret)
{
	ldns_rdf	*t = NULL;
	ldns_status	 st;
	size_t		 o = f->rd, end = f->rd + f->rdlen;

	st = ldns_wire2dname(&t, msg, end, &o);
	if (st != LDNS_STATUS_OK)
		return from_ldns(st);
	if (o != end) {
		ldns_rdf_deep_free(t);
		return ANVIL_EINVAL;
	}
	*ret = t;
	return 0;
}

/* Frees the message a holds and its records; the rest of a stays. */
static void
answer_drop(struct va_answer *a)
{
	free(a->pkt);
	free(a->rd);
	a->pkt = NULL;
	a->rd = NULL;
	a->len = 0;
	a->nrd = 0;
}

void
va__answer_clear(struct va_answer *a)
{
	int	 qtype = a->qtype;

	answer_drop(a);
	memset(a, 0, sizeof(*a));
	a->qtype = qtype;
}

int
va__answer_take(struct va_answer *a, const void *msg, size_t len)
{
	const uint8_t	*p = msg;
	const ldns_rdf	*want;
	ldns_rdf	*target = NULL, *t;
	ldns_rr		*q = NULL;
	struct frame	 f;
	ldns_status	 st;
	size_t		 pos = LDNS_HEADER_SIZE, i, n;
	int		 match, rc = ANVIL_EINVAL;

	if (len < LDNS_HEADER_SIZE || len > DNS_MAX || LDNS_QDCOUNT(p) != 1)
		goto out;
	st = ldns_wire2rr(&q, p, len, &pos, LDNS_SECTION_QUESTION);
	if (st != LDNS_STATUS_OK) {
		q = NULL;
		rc = from_ldns(st);
		goto out;
	}
	if (ldns_rr_get_type(q) != (ldns_rr_type)a->qtype)
		goto out;
	rc = ANVIL_ENOMEM;
	a->pkt = malloc(len);
	if (a->pkt == NULL)
		goto out;
	memcpy(a->pkt, p, len);
	a->len = len;
	/* No more entries than records can fit in what is left. */
	n = LDNS_ANCOUNT(p);
	if (n > (len - pos) / RR_MIN)
		n = (len - pos) / RR_MIN;
	if (n > 0) {
		a->rd = calloc(n, sizeof(*a->rd));
		if (a->rd == NULL)
			goto out;
	}
	want = ldns_rr_owner(q);
	/* Terminates: each pass reads one of the n records, or stops. */
	for (i = 0; i < n; i++) {
		rc = read_frame(p, len, &pos, &f);
		if (rc == ANVIL_EINVAL)
			break;
		if (rc != 0)
			goto out;
		match = f.class == LDNS_RR_CLASS_IN &&
		    ldns_dname_compare(f.owner, want) == 0;
		ldns_rdf_deep_free(f.owner);
		if (!match)	/* another name's, or not the Internet's */
			continue;
		if (f.type == LDNS_RR_TYPE_CNAME &&
		    a->qtype != LDNS_RR_TYPE_CNAME) {
			rc = read_target(p, &f, &t);
			if (rc == ANVIL_EINVAL)
				break;
			if (rc != 0)
				goto out;
			if (target != NULL)
				ldns_rdf_deep_free(target);
			want = target = t;
		} else if (f.type == (unsigned)a->qtype) {
			a->rd[a->nrd].off = f.rd;
			a->rd[a->nrd].len = f.rdlen;
			a->nrd++;
		}
	}
	a->rcode = LDNS_RCODE_WIRE(p);
	rc = 0;
out:
	if (target != NULL)
		ldns_rdf_deep_free(target);
	if (q != NULL)
		ldns_rr_free(q);
	if (rc != 0)
		answer_drop(a);
	return rc;
}

void
va__answer_begin(const struct va_answer *a, struct va_rr_iter *it)
{
	(void)a;
	it->i = 0;
}

int
va__answer_next(const struct va_answer *a, struct va_rr_iter *it,
    const unsigned char **ret_rd, size_t *ret_len)
{
	const struct va_rdata *d;

	if (a->pkt == NULL || it->i >= a->nrd)
		return 0;
	d = &a->rd[it->i++];
	*ret_rd = a->pkt + d->off;
	*ret_len = d->len;
	return 1;
}

/* Returns how many of lk's queries have no answer yet. */
static size_t
pending(const struct va_lookup *lk)
{
	size_t	 i, k = 0;

	for (i = 0; i < lk->nq; i++)
		if (!lk->q[i].done)
			k++;
	return k;
}

/*
 * Called by unbound, on the loop's thread, when a query completes.  The
 * answers are handed over from lk's timer, made active here, on a later
 * pass of the loop: never from inside unbound (the caller may start other
 * lookups then) nor before va__lookup*() returns (local data is answered
 * from inside ub_resolve_event()).
 */
static void
query_done(void *arg, int rcode, void *pkt, int len, int sec,
    char *why_bogus, int ratelimited)
{
	struct query	*q = arg;
	struct va_answer *a = &q->ans;
	int		 rc;

	(void)why_bogus;
	(void)ratelimited;
	q->done = 1;
	q->id = 0;
	a->bogus = sec == SEC_BOGUS;
	if (rcode != 0)
		/* No message worth reading (unbound: "do not inspect"). */
		a->rcode = rcode;
	else if (pkt == NULL || len < 0)
		a->err = "resolver failure";
	else {
		rc = va__answer_take(a, pkt, (size_t)len);
		if (rc == ANVIL_ENOMEM)
			a->err = "out of memory";
		else if (rc != 0)
			a->err = "malformed answer";
	}
	if (pending(q->lk) == 0)
		event_active(q->lk->timer, EV_TIMEOUT, 0);
}

static void lookup_end(struct va_lookup *, int);

/* lk's timer: every answer is in (query_done()), or the deadline. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct va_lookup	*lk = arg;

	(void)fd;
	(void)what;
	lookup_end(lk, pending(lk) == 0 ? 0 : ANVIL_ETIMEDOUT);
}

/* Frees lk, cancelling its unanswered queries (unbound then never calls
 * their callbacks). */
static void
lookup_free(struct va_lookup *lk)
{
	size_t	 i;

	for (i = 0; i < lk->nq; i++) {
		if (!lk->q[i].done && lk->q[i].id != 0)
			(void)ub_cancel(lk->r->ub, lk->q[i].id);
		va__answer_clear(&lk->q[i].ans);
	}
	if (lk->timer != NULL)
		event_free(lk->timer);
	free(lk);
}

/*
 * Makes a lookup of name with n queries of the given types and sends
 * them.  Returns 0 and *ret (its callback is the caller's to set), or
 * ANVIL_ENOMEM / ANVIL_EINVAL.
 */
static int
lookup_start(struct va_resolver *r, const char *name, const int *types,
    size_t n, int64_t deadline, struct va_lookup **ret)
{
	struct va_lookup	*lk;
	struct timeval	 tv;
	size_t		 i;
	int		 left, u;

	if (strlen(name) >= sizeof(lk->name))
		return ANVIL_EINVAL;
	lk = calloc(1, sizeof(*lk));
	if (lk == NULL)
		return ANVIL_ENOMEM;
	lk->r = r;
	(void)strcpy(lk->name, name);
	lk->nq = n;
	lk->timer = evtimer_new(r->base, on_timer, lk);
	if (lk->timer == NULL) {
		free(lk);
		return ANVIL_ENOMEM;
	}
	left = va__left_ms(deadline);
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	if (evtimer_add(lk->timer, &tv) != 0) {
		lookup_free(lk);
		return ANVIL_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		lk->q[i].lk = lk;
		lk->q[i].ans.qtype = types[i];
	}
	/*
	 * No answer is handed over before every query was sent: the timer
	 * only runs from the loop.  Answers from local data come before
	 * ub_resolve_event() returns.
	 */
	for (i = 0; i < n && left > 0; i++) {
		u = ub_resolve_event(r->ub, lk->name, types[i],
		    LDNS_RR_CLASS_IN, &lk->q[i], query_done, &lk->q[i].id);
		if (u != 0 && !lk->q[i].done) {
			lk->q[i].done = 1;
			lk->q[i].ans.err = ub_strerror(u);
			if (pending(lk) == 0)
				event_active(lk->timer, EV_TIMEOUT, 0);
		}
	}
	*ret = lk;
	return 0;
}

int
va__lookup(struct va_resolver *r, const char *name, int type,
    int64_t deadline, va_lookup_fn cb, void *arg, struct va_lookup **ret)
{
	struct va_lookup	*lk;
	int		 rc;

	rc = lookup_start(r, name, &type, 1, deadline, &lk);
	if (rc != 0)
		return rc == ANVIL_EINVAL ? ANVIL_ENOMEM : rc;
	lk->one = cb;
	lk->arg = arg;
	*ret = lk;
	return 0;
}

void
va__lookup_cancel(struct va_lookup *lk)
{
	lookup_free(lk);
}

/* Copies the first usable address of a into out.  Returns 1 if one was
 * added. */
static int
take_addr(const struct va_answer *a, struct va_addrs *out)
{
	struct va_rr_iter	 it;
	const unsigned char	*rd;
	size_t			 rdlen, want;
	int			 family;

	if (a->err != NULL || a->pkt == NULL || a->bogus)
		return 0;
	family = a->qtype == LDNS_RR_TYPE_AAAA ? AF_INET6 : AF_INET;
	want = family == AF_INET6 ? 16 : 4;
	va__answer_begin(a, &it);
	/* Stop at the first usable one. */
	while (va__answer_next(a, &it, &rd, &rdlen)) {
		if (rdlen != want)
			continue;
		if (inet_ntop(family, rd, out->a[out->n].text,
		    sizeof(out->a[out->n].text)) == NULL)
			continue;
		out->a[out->n].family = family;
		out->n++;
		return 1;
	}
	return 0;
}

/* Describes why q gave no address, into buf.  Returns 1 when this is a
 * failure of DNS (as opposed to "no such record"). */
static int
explain(const struct query *q, char *buf, size_t len)
{
	const struct va_answer *a = &q->ans;
	const char	*tname = a->qtype == LDNS_RR_TYPE_AAAA ? "AAAA" : "A";

	if (!q->done) {
		(void)snprintf(buf, len, "query timed out looking up %s",
		    tname);
		return 1;
	}
	if (a->err != NULL) {
		(void)snprintf(buf, len, "%s looking up %s", a->err, tname);
		return 1;
	}
	if (a->bogus) {
		(void)snprintf(buf, len, "DNSSEC validation failure looking "
		    "up %s", tname);
		return 1;
	}
	if (a->rcode == LDNS_RCODE_NXDOMAIN) {
		(void)snprintf(buf, len, "NXDOMAIN looking up %s", tname);
		return 0;
	}
	if (a->rcode != 0) {
		(void)snprintf(buf, len, "%s looking up %s",
		    a->rcode == LDNS_RCODE_SERVFAIL ? "SERVFAIL" : "DNS error",
		    tname);
		return 1;
	}
	(void)snprintf(buf, len, "no %s record", tname);
	return 0;
}

/*
 * The addresses of an address lookup's answers (q[0] AAAA, q[1] A),
 * IPv6 first as Let's Encrypt does.  Returns 0 with at least one in out,
 * or ANVIL_ENOENT with the dns problem in res.
 */
static int
addrs_of(const struct va_lookup *lk, struct va_addrs *out, struct va_result *res)
{
	const char	*name = lk->name;
	char		 why[2][96];
	int		 hard0, hard1;

	memset(out, 0, sizeof(*out));
	(void)take_addr(&lk->q[0].ans, out);
	(void)take_addr(&lk->q[1].ans, out);
	if (out->n > 0)
		return 0;
	hard0 = explain(&lk->q[0], why[0], sizeof(why[0]));
	hard1 = explain(&lk->q[1], why[1], sizeof(why[1]));
	if (hard1)
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s for %s", why[1],
		    name);
	else if (hard0)
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s for %s", why[0],
		    name);
	else if (lk->q[1].ans.rcode == LDNS_RCODE_NXDOMAIN)
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s for %s", why[1],
		    name);
	else
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: no valid IP "
		    "addresses found for %s", name);
	return ANVIL_ENOENT;
}

/* Hands lk's answers over to its callback (rc 0, or ANVIL_ETIMEDOUT with
 * the unanswered queries left !done), then frees lk. */
static void
lookup_end(struct va_lookup *lk, int rc)
{
	struct va_addrs	 addrs;

	if (lk->one != NULL)
		lk->one(lk->arg, rc, &lk->q[0].ans);
	else {
		rc = addrs_of(lk, &addrs, lk->res);
		lk->addrs(lk->arg, rc, &addrs);
	}
	lookup_free(lk);
}

int
va__lookup_addrs(struct va_resolver *r, const char *name, int64_t deadline,
    struct va_result *res, va_addrs_fn cb, void *arg, struct va_lookup **ret)
{
	static const int types[2] = { LDNS_RR_TYPE_AAAA, LDNS_RR_TYPE_A };
	struct va_lookup	*lk;
	int		 rc;

	rc = lookup_start(r, name, types, 2, deadline, &lk);
	if (rc != 0) {
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "DNS problem: "
		    "cannot look up %s: %s", name, anvil_strerror(rc));
		return rc;
	}
	lk->addrs = cb;
	lk->res = res;
	lk->arg = arg;
	*ret = lk;
	return 0;
}
