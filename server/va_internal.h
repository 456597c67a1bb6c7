/*
 * va_internal.h - what the files of the validation authority share: the
 * per-thread resolver (va_resolve.c), the result helpers (va.c) and the
 * three checks (va_http01.c, va_dns01.c, va_tlsalpn01.c).
 *
 * Every check runs against a deadline on the monotonic clock, taken once
 * when the check starts, so that DNS, connect, TLS and HTTP together stay
 * within cfg->timeout_ms.
 */
#ifndef ANVIL_SERVER_VA_INTERNAL_H
#define ANVIL_SERVER_VA_INTERNAL_H

#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>

#include "anvil/problem.h"
#include "va.h"

struct va_resolver;

#define VA_DEFAULT_HTTP01_PORT		80
#define VA_DEFAULT_TLSALPN01_PORT	443
#define VA_DEFAULT_THREADS		4
#define VA_MAX_THREADS			64
#define VA_DEFAULT_TIMEOUT_MS		10000
#define VA_MAX_TIMEOUT_MS		300000
/* Jobs queued, running or waiting for delivery, at most. */
#define VA_QUEUE_MAX			4096
#define VA_USER_AGENT			"anvil-ca validator"

struct va_http01;

/*
 * What a worker thread keeps from one check to the next: its resolver and
 * its HTTP client, both created once (va__ctx_init()) and used by this
 * thread only.  Nothing in it carries a result or a connection from one
 * check to the next (see va_http01.c).  A synchronous check makes one and
 * frees it after.
 */
struct va_ctx {
	struct va_resolver *dns;	/* owned: va__resolver_free() */
	struct va_http01 *http;		/* owned: va__http01_free() */
};

/* A check: fills res (ok, problem, detail) for job. */
typedef void (*va_check_fn)(const struct va_config *cfg, struct va_ctx *vc,
    const struct va_job *job, struct va_result *res);

void va__http01(const struct va_config *cfg, struct va_ctx *vc,
    const struct va_job *job, struct va_result *res);
void va__dns01(const struct va_config *cfg, struct va_ctx *vc,
    const struct va_job *job, struct va_result *res);
void va__tlsalpn01(const struct va_config *cfg, struct va_ctx *vc,
    const struct va_job *job, struct va_result *res);

/*
 * Fills ctx with a new resolver (see va__resolver_new()) and a new HTTP
 * client.  libcurl must be initialised.  Returns 0, or ANVIL_EINVAL /
 * ANVIL_ENOMEM with ctx left empty.  Undo with va__ctx_done().
 */
int va__ctx_init(struct va_ctx *ctx, const char *resolver);

/* Frees what ctx holds and empties it; accepts an empty ctx. */
void va__ctx_done(struct va_ctx *ctx);

/*
 * The http-01 client of one thread: a curl handle kept for every request
 * of every check, and the buffers of the response.  Returns 0 and *ret,
 * or ANVIL_ENOMEM.
 */
int va__http01_new(struct va_http01 **ret);

/* Frees h (and closes whatever curl still holds); accepts NULL. */
void va__http01_free(struct va_http01 *h);

/*
 * Copies in into out with the defaults applied to zero fields (ports,
 * threads, timeout).  out->resolver points to in's string.  Returns 0, or
 * ANVIL_EINVAL when a value is out of range or the resolver does not parse.
 */
int va__config(const struct va_config *in, struct va_config *out);

/*
 * Runs one check synchronously with a context of its own, for the public
 * va_check_* functions: validates the job, creates the context (resolver
 * and HTTP client), runs fn, frees the context.  Any setup failure
 * becomes a problem in res.
 */
void va__check_sync(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res, va_check_fn fn);

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
 * Creates the resolver of one thread (see va_resolve.c): forwarding
 * everything to resolver when not NULL, else to the servers of
 * /etc/resolv.conf with /etc/hosts consulted first.  Returns 0 and *ret
 * (free with va__resolver_free()), ANVIL_EINVAL for a bad resolver,
 * ANVIL_ENOMEM.  It must then be used by one thread at a time.
 */
int va__resolver_new(const char *resolver, struct va_resolver **ret);

/* Frees r, cancelling what it still has in flight; accepts NULL. */
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
 * Looks up the AAAA and A records of name before deadline.  Returns 0 with
 * at least one address in *out, or a negative code with a dns problem
 * naming name in res.
 */
int va__lookup_addrs(struct va_resolver *r, const char *name,
    int64_t deadline, struct va_addrs *out, struct va_result *res);

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
 * Looks up one record type before deadline.  Returns 0 with the answer in
 * *ret, which may carry err (the resolver failed), an error rcode or no
 * record; or ANVIL_ETIMEDOUT.  Either way the caller clears *ret.
 */
int va__lookup(struct va_resolver *r, const char *name, int type,
    int64_t deadline, struct va_answer *ret);

#endif
