/*
 * va.c - the validation authority's worker pool (see va.h), and the small
 * helpers its checks share.
 *
 * The front submits jobs on the event loop's thread; they wait in a ring
 * of VA_QUEUE_MAX slots.  cfg->threads workers take them one at a time,
 * each with its own resolver context and curl handle created once in
 * va_new() (struct va_ctx), and put the results in a second ring.  A pipe
 * wakes the event loop, whose callback drains every result and calls
 * done() for each, so done() always runs on the loop's thread and
 * libevent needs no locking of its own.
 *
 * Bounds: a job counts from va_submit() until its result is delivered, and
 * at most VA_QUEUE_MAX jobs count at once, so neither ring can overflow
 * and a slow event loop cannot make memory grow.
 *
 * libcurl must be initialised once per process before threads use it:
 * va_new() and the synchronous checks call curl_global_init() under
 * pthread_once(), so a program that does it itself first is fine too.
 * The process must ignore SIGPIPE (anvil-ca does): a TLS peer that closes
 * early makes OpenSSL's write raise it.  done() may call va_submit() but
 * not va_free(); va_free() waits for running checks (at most
 * cfg->timeout_ms) and drops queued jobs and undelivered results.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "anvil/error.h"
#include "va_internal.h"
#include "workq.h"

struct va;

/* One worker thread. */
struct worker {
	struct va	*va;
	pthread_t	 thread;
	int		 started;
	struct va_ctx	 ctx;		/* owned; this thread only */
};

struct va {
	struct event_base *base;
	struct event	*wakeup;	/* read end of the pipe, on base */
	int		 pipe[2];
	struct va_config cfg;		/* defaults applied */
	char		*resolver;	/* owned copy of cfg.resolver */
	va_done_fn	 done;
	void		*arg;

	pthread_mutex_t	 lock;		/* protects what follows */
	pthread_cond_t	 cond;		/* a job arrived, or stop */
	int		 stop;
	size_t		 outstanding;	/* submitted, undelivered */
	struct va_job	*jobs;		/* ring; owned */
	size_t		 jhead, jlen;
	struct va_result *results;	/* ring; owned */
	size_t		 rhead, rlen;

	struct worker	*workers;	/* cfg.threads; owned */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static const va_check_fn checks[CHALL_TYPE__MAX] = {
	[CHALL_HTTP01] = va__http01,
	[CHALL_DNS01] = va__dns01,
	[CHALL_TLSALPN01] = va__tlsalpn01,
};

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Initialises libcurl once per process.  Returns 0 or ANVIL_ENOMEM. */
static int
curl_ready(void)
{
	if (pthread_once(&curl_once, curl_init) != 0)
		return ANVIL_ENOMEM;
	return curl_init_rc == CURLE_OK ? 0 : ANVIL_ENOMEM;
}

int64_t
va__now_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
va__left_ms(int64_t deadline)
{
	int64_t	 left = deadline - va__now_ms();

	if (left <= 0)
		return 0;
	if (left > INT32_MAX)
		return INT32_MAX;
	return (int)left;
}

void
va__pass(struct va_result *res)
{
	res->ok = 1;
	res->problem = ANVIL_PROB__MAX;
	res->detail[0] = '\0';
}

void
va__fail(struct va_result *res, enum anvil_problem p, const char *fmt, ...)
{
	va_list	 ap;

	res->ok = 0;
	res->problem = p;
	va_start(ap, fmt);
	(void)vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
	va_end(ap);
}

const char *
va__quote(char *out, size_t outsz, const void *p, size_t n)
{
	const unsigned char	*s = p;
	size_t			 i, o = 0, need;
	char			 esc[5];

	/* Room for the closing quote, "..." and the NUL. */
	if (outsz < 8) {
		if (outsz > 0)
			out[0] = '\0';
		return out;
	}
	out[o++] = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\') {
			esc[0] = '\\';
			esc[1] = (char)s[i];
			esc[2] = '\0';
		} else if (s[i] >= 0x20 && s[i] < 0x7f) {
			esc[0] = (char)s[i];
			esc[1] = '\0';
		} else
			(void)snprintf(esc, sizeof(esc), "\\x%02x", s[i]);
		need = strlen(esc);
		/* Keep room for the closing quote and the NUL, and for
		 * "..." unless this is the last byte. */
		if (o + need + (i + 1 == n ? 2 : 5) > outsz)
			break;
		memcpy(out + o, esc, need);
		o += need;
	}
	out[o++] = '"';
	if (i < n) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

int
va__config(const struct va_config *in, struct va_config *out)
{
	char	 spec[INET6_ADDRSTRLEN + 8];

	*out = *in;
	if (out->http01_port == 0)
		out->http01_port = VA_DEFAULT_HTTP01_PORT;
	if (out->tlsalpn01_port == 0)
		out->tlsalpn01_port = VA_DEFAULT_TLSALPN01_PORT;
	if (out->threads == 0)
		out->threads = VA_DEFAULT_THREADS;
	if (out->timeout_ms == 0)
		out->timeout_ms = VA_DEFAULT_TIMEOUT_MS;
	if (out->http01_port < 1 || out->http01_port > 65535 ||
	    out->tlsalpn01_port < 1 || out->tlsalpn01_port > 65535 ||
	    out->threads < 1 || out->threads > VA_MAX_THREADS ||
	    out->timeout_ms < 1 || out->timeout_ms > VA_MAX_TIMEOUT_MS)
		return ANVIL_EINVAL;
	if (out->resolver != NULL &&
	    va__resolver_spec(out->resolver, spec, sizeof(spec)) != 0)
		return ANVIL_EINVAL;
	return 0;
}

/* Returns 1 when the NUL-terminated s (within size) has only characters
 * for which ok() holds and is not empty. */
static int
field_ok(const char *s, size_t size, int (*ok)(int))
{
	size_t	 i;

	for (i = 0; i < size && s[i] != '\0'; i++)
		if (!ok((unsigned char)s[i]))
			return 0;
	return i > 0 && i < size;
}

static int
name_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static int
b64url_char(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

static int
keyauth_char(int c)
{
	return b64url_char(c) || c == '.';
}

/*
 * Checks that the job's strings are terminated and of the expected
 * alphabets, so that none can change the URL, the DNS query or a log line
 * built from it: the name is a host name, the token base64url, the key
 * authorization "token.thumbprint" (RFC 8555 §8.1).  Returns 0 or fails
 * res with malformed and returns ANVIL_EINVAL.
 */
static int
job_check(const struct va_job *job, struct va_result *res)
{
	size_t	 tlen;

	if ((unsigned)job->type >= CHALL_TYPE__MAX) {
		va__fail(res, ANVIL_PROB_MALFORMED, "Unknown challenge type");
		return ANVIL_EINVAL;
	}
	if (!field_ok(job->name, sizeof(job->name), name_char) ||
	    job->name[0] == '.' || job->name[0] == '-') {
		va__fail(res, ANVIL_PROB_MALFORMED, "Invalid identifier for "
		    "validation");
		return ANVIL_EINVAL;
	}
	if (!field_ok(job->token, sizeof(job->token), b64url_char) ||
	    !field_ok(job->keyauth, sizeof(job->keyauth), keyauth_char)) {
		va__fail(res, ANVIL_PROB_MALFORMED, "Invalid token or key "
		    "authorization for %s", job->name);
		return ANVIL_EINVAL;
	}
	tlen = strlen(job->token);
	if (strncmp(job->keyauth, job->token, tlen) != 0 ||
	    job->keyauth[tlen] != '.' || job->keyauth[tlen + 1] == '\0') {
		va__fail(res, ANVIL_PROB_MALFORMED, "Key authorization does "
		    "not match the token for %s", job->name);
		return ANVIL_EINVAL;
	}
	return 0;
}

int
va__ctx_init(struct va_ctx *ctx, const char *resolver)
{
	int	 rc;

	ctx->dns = NULL;
	ctx->http = NULL;
	rc = va__resolver_new(resolver, &ctx->dns);
	if (rc == 0)
		rc = va__http01_new(&ctx->http);
	if (rc != 0)
		va__ctx_done(ctx);
	return rc;
}

void
va__ctx_done(struct va_ctx *ctx)
{
	va__http01_free(ctx->http);
	ctx->http = NULL;
	va__resolver_free(ctx->dns);
	ctx->dns = NULL;
}

void
va__check_sync(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res, va_check_fn fn)
{
	struct va_config c;
	struct va_ctx	 ctx = { NULL, NULL };
	int		 rc;

	rc = va__config(cfg, &c);
	if (rc != 0) {
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Invalid validation "
		    "configuration");
		goto out;
	}
	if (job_check(job, res) != 0)
		goto out;
	rc = curl_ready();
	if (rc == 0)
		rc = va__ctx_init(&ctx, c.resolver);
	if (rc != 0) {
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Validation of %s "
		    "could not start: %s", job->name, anvil_strerror(rc));
		goto out;
	}
	fn(&c, &ctx, job, res);
out:
	va__ctx_done(&ctx);
}

/* Wakes the event loop.  A failed write means the pipe is full, so a
 * wakeup is pending already. */
static void
wake(struct va *va)
{
	char	 c = 1;
	ssize_t	 n;

	n = write(va->pipe[1], &c, 1);
	(void)n;
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;
	struct va	*va = w->va;
	struct va_job	 job;
	struct va_result res;
	size_t		 slot;
	int		 first;

	for (;;) {
		(void)pthread_mutex_lock(&va->lock);
		while (!va->stop && va->jlen == 0)
			(void)pthread_cond_wait(&va->cond, &va->lock);
		if (va->stop) {
			(void)pthread_mutex_unlock(&va->lock);
			break;
		}
		job = va->jobs[va->jhead];
		va->jhead = (va->jhead + 1) % VA_QUEUE_MAX;
		va->jlen--;
		(void)pthread_mutex_unlock(&va->lock);

		memset(&res, 0, sizeof(res));
		memcpy(res.chall_id, job.chall_id, sizeof(res.chall_id));
		if (job_check(&job, &res) == 0)
			checks[job.type](&va->cfg, &w->ctx, &job, &res);

		(void)pthread_mutex_lock(&va->lock);
		/* outstanding counts this job, so the ring has room. */
		slot = (va->rhead + va->rlen) % VA_QUEUE_MAX;
		va->results[slot] = res;
		first = va->rlen == 0;
		va->rlen++;
		(void)pthread_mutex_unlock(&va->lock);
		if (first)
			wake(va);
	}
	return NULL;
}

/*
 * The pipe's read callback, on base's thread: empties the pipe first (so
 * a result queued after this cannot be missed), then delivers results one
 * at a time without holding the lock while done() runs.
 */
static void
on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct va	*va = arg;
	struct va_result res;
	int		 have;

	(void)what;
	workq_pipe_drain(fd);
	for (;;) {
		(void)pthread_mutex_lock(&va->lock);
		have = va->rlen > 0;
		if (have) {
			res = va->results[va->rhead];
			va->rhead = (va->rhead + 1) % VA_QUEUE_MAX;
			va->rlen--;
			va->outstanding--;
		}
		(void)pthread_mutex_unlock(&va->lock);
		if (!have)
			break;
		va->done(&res, va->arg);
	}
}

/* Makes fd non-blocking and close-on-exec.  Returns 0 or ANVIL_EIO. */
static int
fd_setup(int fd)
{
	int	 fl;

	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return ANVIL_EIO;
	fl = fcntl(fd, F_GETFD);
	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return ANVIL_EIO;
	return 0;
}

/*
 * Starts the workers with every signal blocked, so that signals reach the
 * daemon's main thread only.  Returns 0 or ANVIL_ENOMEM.
 */
static int
start_workers(struct va *va)
{
	int	 i, rc;

	for (i = 0; i < va->cfg.threads; i++) {
		va->workers[i].va = va;
		rc = workq_thread_start(&va->workers[i].thread, worker_main,
		    &va->workers[i]);
		if (rc != 0)
			return rc;
		va->workers[i].started = 1;
	}
	return 0;
}

int
va_new(struct event_base *base, const struct va_config *cfg,
    va_done_fn done, void *arg, struct va **ret)
{
	struct va	*va = NULL;
	int		 i, rc;

	if (base == NULL || cfg == NULL || done == NULL || ret == NULL)
		return ANVIL_EINVAL;
	rc = curl_ready();
	if (rc != 0)
		return rc;
	va = calloc(1, sizeof(*va));
	if (va == NULL)
		return ANVIL_ENOMEM;
	va->pipe[0] = va->pipe[1] = -1;
	if (pthread_mutex_init(&va->lock, NULL) != 0) {
		free(va);
		return ANVIL_ENOMEM;
	}
	if (pthread_cond_init(&va->cond, NULL) != 0) {
		(void)pthread_mutex_destroy(&va->lock);
		free(va);
		return ANVIL_ENOMEM;
	}
	/* From here va_free() can undo whatever was done. */
	rc = va__config(cfg, &va->cfg);
	if (rc != 0)
		goto out;
	rc = ANVIL_ENOMEM;
	if (cfg->resolver != NULL) {
		va->resolver = strdup(cfg->resolver);
		if (va->resolver == NULL)
			goto out;
	}
	va->cfg.resolver = va->resolver;
	va->base = base;
	va->done = done;
	va->arg = arg;
	va->jobs = calloc(VA_QUEUE_MAX, sizeof(*va->jobs));
	va->results = calloc(VA_QUEUE_MAX, sizeof(*va->results));
	va->workers = calloc((size_t)va->cfg.threads, sizeof(*va->workers));
	if (va->jobs == NULL || va->results == NULL || va->workers == NULL)
		goto out;
	for (i = 0; i < va->cfg.threads; i++) {
		rc = va__ctx_init(&va->workers[i].ctx, va->resolver);
		if (rc != 0)
			goto out;
	}
	rc = ANVIL_EIO;
	if (pipe(va->pipe) != 0)
		goto out;
	if (fd_setup(va->pipe[0]) != 0 || fd_setup(va->pipe[1]) != 0)
		goto out;
	va->wakeup = event_new(base, va->pipe[0], EV_READ | EV_PERSIST,
	    on_wakeup, va);
	if (va->wakeup == NULL || event_add(va->wakeup, NULL) != 0)
		goto out;
	rc = start_workers(va);
	if (rc != 0)
		goto out;
	*ret = va;
	va = NULL;
	rc = 0;
out:
	va_free(va);
	return rc;
}

int
va_submit(struct va *va, const struct va_job *job)
{
	size_t	 slot;
	int	 rc = 0;

	if (va == NULL || job == NULL || (unsigned)job->type >= CHALL_TYPE__MAX)
		return ANVIL_EINVAL;
	(void)pthread_mutex_lock(&va->lock);
	if (va->outstanding >= VA_QUEUE_MAX)
		rc = ANVIL_E2BIG;
	else {
		slot = (va->jhead + va->jlen) % VA_QUEUE_MAX;
		va->jobs[slot] = *job;
		va->jlen++;
		va->outstanding++;
		(void)pthread_cond_signal(&va->cond);
	}
	(void)pthread_mutex_unlock(&va->lock);
	return rc;
}

void
va_free(struct va *va)
{
	int	 i;

	if (va == NULL)
		return;
	(void)pthread_mutex_lock(&va->lock);
	va->stop = 1;
	(void)pthread_cond_broadcast(&va->cond);
	(void)pthread_mutex_unlock(&va->lock);
	/* A worker inside a check finishes it: at most cfg.timeout_ms. */
	if (va->workers != NULL) {
		for (i = 0; i < va->cfg.threads; i++) {
			if (va->workers[i].started)
				(void)pthread_join(va->workers[i].thread,
				    NULL);
			va__ctx_done(&va->workers[i].ctx);
		}
	}
	if (va->wakeup != NULL)
		event_free(va->wakeup);
	if (va->pipe[0] >= 0)
		(void)close(va->pipe[0]);
	if (va->pipe[1] >= 0)
		(void)close(va->pipe[1]);
	(void)pthread_cond_destroy(&va->cond);
	(void)pthread_mutex_destroy(&va->lock);
	free(va->workers);
	free(va->results);
	free(va->jobs);
	free(va->resolver);
	free(va);
}
