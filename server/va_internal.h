/*
 * va_internal.h - what the files of the validation authority share: the
 * loop of checks and the result helpers (va.c), the resolver of each loop
 * (va_resolve.c) and the three checks (va_http01.c, va_dns01.c,
 * va_tlsalpn01.c).
 *
 * A check never blocks: it is a chain of callbacks on its loop's
 * event_base.  It runs against a deadline on the monotonic clock, taken
 * once when the check starts, so that DNS, connect, TLS and HTTP together
 * stay within cfg->timeout_ms.
 */
#ifndef ANVIL_SERVER_VA_INTERNAL_H
#define ANVIL_SERVER_VA_INTERNAL_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

#include "anvil/problem.h"
#include "va.h"

#include <event2/event.h>

struct va_resolver;
struct va_lookup;
struct va_http01;
struct va_tlsalpn01;

#define VA_DEFAULT_HTTP01_PORT		80
#define VA_DEFAULT_TLSALPN01_PORT	443
#define VA_DEFAULT_THREADS		2
#define VA_MAX_THREADS			64
#define VA_DEFAULT_TIMEOUT_MS		10000
#define VA_MAX_TIMEOUT_MS		300000
/* Jobs queued, running or waiting for delivery, at most. */
#define VA_QUEUE_MAX			4096
/* Checks one event loop runs at once, at most: each holds a socket or
 * three (two DNS queries, then a connection). */
#define VA_LOOP_MAX_CHECKS		256
#define VA_USER_AGENT			"anvil-ca validator"

struct va_check;

/*
 * What the checks of one event loop share: the loop's event_base, its
 * resolver, its HTTP client and its TLS client, all made once
 * (va__loop_init()) and used on that loop's thread only.  A worker thread
 * has one; a synchronous check makes one on a base of its own.
 */
struct va_loop {
	struct event_base *base;	/* not owned */
	const struct va_config *cfg;	/* defaults applied; not owned */
	struct va_resolver *dns;	/* owned; its events on base */
	struct va_http01 *http;		/* owned; its events on base */
	struct va_tlsalpn01 *tls;	/* owned */
	/* Called once per check when it ends, with c->res filled. */
	void		(*end)(struct va_check *c, void *arg);
	void		*arg;
};

/*
 * One check in flight.  The loop's owner (va.c) makes it, sets loop, job,
 * res.chall_id and deadline, and starts it with the check of its type.
 * The check keeps whatever state it needs, ends by the deadline whatever
 * the peer does, and then calls va__check_end() exactly once, which hands
 * c back (c must not be touched after).  It may do so before its start
 * function returns.  Whenever it is left waiting, cancel and state are
 * set, so that a stopping VA can end it at once.
 */
struct va_check {
	struct va_loop	*loop;
	struct va_job	 job;
	struct va_result res;
	int64_t		 deadline;	/* monotonic ms */
	/* Set by the check while it waits: ends it at once (as
	 * va__check_end(), with a serverInternal problem), freeing what it
	 * holds.  The loop's owner calls it when the VA stops. */
	void		(*cancel)(struct va_check *c);
	void		*state;		/* the check's, for cancel */
	struct va_check	*next;		/* for the loop's owner */
	struct va_check	*prev;
};

/* Starts a check of each type (see struct va_check). */
typedef void (*va_check_fn)(struct va_check *c);

void va__http01(struct va_check *c);
void va__dns01(struct va_check *c);
void va__tlsalpn01(struct va_check *c);

/* Ends c: calls c->loop->end(). */
void va__check_end(struct va_check *c);

/*
 * Fills loop with a new resolver, HTTP client and TLS client on base,
 * for cfg (defaults applied; both must outlive loop).  libcurl must be
 * initialised.  end and arg are left to the caller.  Returns 0, or
 * ANVIL_EINVAL / ANVIL_ENOMEM with loop left empty.  Undo with
 * va__loop_done(), once no check of the loop is in flight.
 */
int va__loop_init(struct va_loop *loop, struct event_base *base,
    const struct va_config *cfg);

/* Frees what loop holds and empties it; accepts an empty loop. */
void va__loop_done(struct va_loop *loop);

/*
 * The http-01 client of one loop: a curl multi handle whose sockets and
 * timer are events on the loop's base, and easy handles kept for reuse.
 * Returns 0 and *ret, or ANVIL_ENOMEM.
 */
int va__http01_new(struct event_base *base, struct va_http01 **ret);

/* Frees h (no transfer may be running); accepts NULL. */
void va__http01_free(struct va_http01 *h);

/* The tls-alpn-01 client of one loop (its SSL_CTX).  Returns 0 and
 * *ret, or ANVIL_ENOMEM. */
int va__tlsalpn01_new(struct va_tlsalpn01 **ret);

/* Frees t; accepts NULL. */
void va__tlsalpn01_free(struct va_tlsalpn01 *t);

/*
 * Copies in into out with the defaults applied to zero fields (ports,
 * threads, timeout).  out->resolver points to in's string.  Returns 0, or
 * ANVIL_EINVAL when a value is out of range or the resolver does not parse.
 */
int va__config(const struct va_config *in, struct va_config *out);

/*
 * Runs one check synchronously, for the public va_check_* functions:
 * validates the job, makes a loop on an event_base of its own, starts fn
 * and runs the base until the check ends, then frees it all.  Any setup
 * failure becomes a problem in res.
 */
void va__check_sync(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res, va_check_fn fn);

/* Checks the job's fields (see va.c).  Returns 0, or ANVIL_EINVAL with a
 * malformed problem in res. */
int va__job_check(const struct va_job *job, struct va_result *res);

/* Milliseconds on the monotonic clock. */
int64_t va__now_ms(void);

/* Milliseconds left before deadline, 0 when it has passed; never above
 * INT32_MAX so that the value fits poll() and curl. */
int va__left_ms(int64_t deadline);

/* Marks res as passed (clears problem and detail). */
void va__pass(struct va_result *res);

/* Marks res as failed with problem p and a printf-formatted detail,
 * truncated to fit. */
void va__fail(struct va_result *res, enum anvil_problem p, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/*
 * Writes peer data p (n bytes) into out (size outsz, at least 8) between
 * double quotes, safe for a log line and for JSON: printable ASCII as is,
 * '"' and '\\' backslash-escaped, anything else as \xNN; when it does not
 * fit, it is cut and "..." follows the closing quote.  Returns out.
 */
const char *va__quote(char *out, size_t outsz, const void *p, size_t n);

/*
 * Turns "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT" into unbound's
 * "ADDR@PORT" form in out (size outsz).  Returns 0 or ANVIL_EINVAL.
 */
int va__resolver_spec(const char *s, char *out, size_t outsz);

/*
 * Creates the resolver of one loop (see va_resolve.c), its events on
 * base: forwarding everything to resolver when not NULL, else to the
 * servers of /etc/resolv.conf with /etc/hosts consulted first.  Returns 0
 * and *ret (free with va__resolver_free()), ANVIL_EINVAL for a bad
 * resolver, ANVIL_ENOMEM.  It must then be used on base's thread only.
 */
int va__resolver_new(struct event_base *base, const char *resolver,
    struct va_resolver **ret);

/* Frees r, cancelling what it still has in flight (their callbacks are
 * not called); accepts NULL. */
void va__resolver_free(struct va_resolver *r);

#define VA_MAX_ADDRS 2

/* The addresses to try for a name: the first IPv6 one, then the first
 * IPv4 one, as Let's Encrypt does. */
struct va_addrs {
	size_t		 n;
	struct {
		int	 family;		/* AF_INET6 or AF_INET */
		char	 text[INET6_ADDRSTRLEN];/* numeric form */
	}		 a[VA_MAX_ADDRS];
};

/*
 * The end of an address lookup: rc 0 with at least one address in *addrs,
 * or a negative code with a dns problem naming the name in the res given
 * to va__lookup_addrs().
 */
typedef void (*va_addrs_fn)(void *arg, int rc, const struct va_addrs *addrs);

/*
 * Starts looking up the AAAA and A records of name (both at once), to end
 * by deadline.  Returns 0 with the lookup in *ret (for
 * va__lookup_cancel(); it is freed once cb returns), and cb is then
 * called exactly once, from r's base and never before this returns; or a
 * negative code (out of memory) with the problem in res, and cb is never
 * called.
 */
int va__lookup_addrs(struct va_resolver *r, const char *name,
    int64_t deadline, struct va_result *res, va_addrs_fn cb, void *arg,
    struct va_lookup **ret);

/* Ends lookup lk, started and not yet called back: its callback is never
 * called, and lk is freed. */
void va__lookup_cancel(struct va_lookup *lk);

/* Where one record's rdata lies in an answer's message. */
struct va_rdata {
	size_t		 off;		/* in va_answer's pkt */
	size_t		 len;
};

/*
 * The answer to one query: the resolver's verdict and, when it has one, a
 * copy of the DNS message, read by libldns when it arrived (see
 * va__answer_take()).  The records are then read with va__answer_next().
 * Clear with va__answer_clear().
 */
struct va_answer {
	int		 qtype;		/* the type asked */
	const char	*err;		/* static text: no answer at all
					   (resolver failure), else NULL */
	int		 rcode;		/* DNS rcode: 0, 2 SERVFAIL, 3 NXDOMAIN */
	int		 bogus;		/* DNSSEC validation failed */
	unsigned char	*pkt;		/* owned (malloc); NULL when rcode
					   came from the resolver */
	size_t		 len;		/* of pkt, at most 65535 */
	struct va_rdata	*rd;		/* owned (malloc), may be NULL: the
					   records of qtype for the name
					   asked, in message order */
	size_t		 nrd;		/* entries of rd */
};

/* Where va__answer_next() is in an answer. */
struct va_rr_iter {
	size_t		 i;		/* next entry of the answer's rd */
};

/*
 * Takes the DNS message msg (len bytes) as the answer to a->qtype (a
 * holding no message yet).  Its header and its one question (of that
 * type) must be readable, else nothing is taken; then its answer records
 * are read with libldns, in order, keeping those of class IN and of the
 * type asked whose owner is the name asked or, following CNAME records
 * in order, its canonical name (names compared without regard to ASCII
 * case).  A record that cannot be read (its owner, its frame, a CNAME
 * target not exactly filling its rdata) ends the reading: the records
 * kept before it stay.  Returns 0 with the message copied into a, with
 * its rcode; or ANVIL_EINVAL / ANVIL_ENOMEM with a left without a message.
 */
int va__answer_take(struct va_answer *a, const void *msg, size_t len);

/* Frees what a holds and empties it but for qtype; accepts an empty
 * answer. */
void va__answer_clear(struct va_answer *a);

/* Starts reading a's answer records. */
void va__answer_begin(const struct va_answer *a, struct va_rr_iter *it);

/*
 * The next answer record kept by va__answer_take(): returns 1 with its
 * rdata in *ret_rd (inside a->pkt, not checked against the type: the
 * caller checks its length and its content) and its length in *ret_len,
 * or 0 when there are no more.
 */
int va__answer_next(const struct va_answer *a, struct va_rr_iter *it,
    const unsigned char **ret_rd, size_t *ret_len);

/*
 * The end of a lookup of one record type: rc 0 with the answer in *ans,
 * which may carry err (the resolver failed), an error rcode or no record;
 * or ANVIL_ETIMEDOUT.  ans is the lookup's and lives until cb returns.
 */
typedef void (*va_lookup_fn)(void *arg, int rc, const struct va_answer *ans);

/*
 * Starts looking up one record type of name, to end by deadline.
 * Returns 0 with the lookup in *ret (as va__lookup_addrs()), and cb is
 * then called exactly once, from r's base and never before this returns;
 * or ANVIL_ENOMEM, and cb is never called.
 */
int va__lookup(struct va_resolver *r, const char *name, int type,
    int64_t deadline, va_lookup_fn cb, void *arg, struct va_lookup **ret);

#endif
