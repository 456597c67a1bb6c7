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

struct ub_ctx;
struct ub_result;

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
	struct ub_ctx	*ub;		/* owned: ub_ctx_delete() */
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
 * Creates a resolver context for one thread: forwarding everything to
 * resolver when not NULL, else to the servers of /etc/resolv.conf with
 * /etc/hosts consulted first.  Returns 0 and *ret (free with
 * ub_ctx_delete()), ANVIL_EINVAL for a bad resolver, ANVIL_ENOMEM.
 */
int va__resolver_new(const char *resolver, struct ub_ctx **ret);

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
int va__lookup_addrs(struct ub_ctx *ub, const char *name, int64_t deadline,
    struct va_addrs *out, struct va_result *res);

/*
 * Looks up one record type before deadline.  Returns 0 and *ret (free with
 * ub_resolve_free(); it may hold no data or an error rcode), ANVIL_ETIMEDOUT,
 * or ANVIL_EIO with the resolver's message copied into why (size whylen).
 */
int va__lookup(struct ub_ctx *ub, const char *name, int type,
    int64_t deadline, struct ub_result **ret, char *why, size_t whylen);

#endif
