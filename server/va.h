/*
 * va.h - the validation authority: performs http-01, dns-01 and
 * tls-alpn-01 checks (RFC 8555 §8.3, §8.4, RFC 8737) off the request path.
 *
 * It knows nothing of the database.  The front submits a job and goes on;
 * a pool of worker threads performs the check with bounded time and size,
 * and the result is handed back on the event loop's thread through the
 * done callback, where the registration logic applies it.
 */
#ifndef ANVIL_SERVER_VA_H
#define ANVIL_SERVER_VA_H

#include <stdint.h>

#include <event2/event.h>

#include "anvil/problem.h"
#include "model.h"

struct va_config {
	int		 http01_port;	/* port for http-01 (default 80) */
	int		 tlsalpn01_port;/* port for tls-alpn-01 (default 443) */
	const char	*resolver;	/* "ADDR:PORT" or "ADDR" for every DNS
					   lookup, NULL for the system's */
	int		 threads;	/* worker threads (default 4) */
	int		 timeout_ms;	/* per check, all steps (default 10000) */
};

struct va_job {
	char		 chall_id[ID_LEN + 1];
	enum chall_type	 type;
	char		 name[254];	/* identifier, without any "*." */
	char		 token[44];
	char		 keyauth[128];	/* token "." thumbprint */
};

struct va_result {
	char		 chall_id[ID_LEN + 1];
	int		 ok;		/* 1 when the check passed */
	enum anvil_problem problem;	/* when !ok: connection, dns, tls,
					   incorrectResponse, unauthorized... */
	char		 detail[512];	/* when !ok: one sentence for the user */
};

struct va;

typedef void (*va_done_fn)(const struct va_result *res, void *arg);

/* Starts the workers.  done is called on base's thread, once per job.
 * Returns 0 and *ret, or a negative ANVIL_E* code. */
int va_new(struct event_base *base, const struct va_config *cfg,
    va_done_fn done, void *arg, struct va **ret);

/* Queues a copy of job.  Returns 0, or ANVIL_E2BIG when the queue is full
 * (the caller answers rateLimited / serverInternal). */
int va_submit(struct va *va, const struct va_job *job);

/* Stops the workers (pending jobs are dropped) and frees va; accepts NULL. */
void va_free(struct va *va);

/*
 * The checks themselves, synchronous, usable from tests.  Each fills res
 * (ok, problem, detail); res->chall_id is left alone.
 */
void va_check_http01(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res);
void va_check_dns01(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res);
void va_check_tlsalpn01(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res);

#endif
