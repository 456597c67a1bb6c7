/*
 * va.c - the validation authority's worker pool (see va.h), and the small
 * helpers its checks share.
 *
 * cfg->threads workers each run an event loop (a libevent event_base of
 * their own) with many checks in flight: a check is a chain of callbacks
 * (DNS answers, socket readiness, curl's progress) that never blocks, so
 * one thread keeps up to VA_LOOP_MAX_CHECKS validations going at once,
 * however long each waits for a far peer.  Each loop has its resolver, its
 * curl multi handle and its TLS context (struct va_loop), made once in
 * va_new() and used by that thread only.
 *
 * The front submits jobs on the event loop's thread: va_submit() makes a
 * struct va_check and queues it on the worker with the fewest checks,
 * waking it through its pipe when it was not woken already.  A worker
 * takes what its loop has room for; a check that ends goes onto the list
 * of results and a pipe wakes the front's loop, whose callback takes the
 * whole list and calls done() for each, so done() always runs on the
 * front's thread and libevent needs no locking of its own.
 *
 * Bounds: a job counts from va_submit() until its result is taken for
 * delivery, and at most VA_QUEUE_MAX count at once, so neither the queues
 * nor the results can grow without bound.
 *
 * libcurl must be initialised once per process before threads use it:
 * va_new() and the synchronous checks call curl_global_init() under
 * pthread_once(), so a program that does it itself first is fine too.
 * The process must ignore SIGPIPE (anvil-ca does): a TLS peer that closes
 * early makes OpenSSL's write raise it.  done() may call va_submit() but
 * not va_free(); va_free() ends the checks in flight at once (each
 * check's cancel) and drops queued jobs and undelivered results.
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

/* One worker: a thread running an event loop with checks in flight. */
struct worker {
	struct va	*va;
	pthread_t	 thread;
	int		 started;
	struct event_base *base;	/* owned */
	struct va_loop	 loop;		/* owned; this thread only */
	struct event	*wakeup;	/* read end of pipe, on base */
	struct event	*refill;	/* takes more jobs, on base */
	int		 pipe[2];

	struct va_check	*inflight;	/* started, not ended; this thread
					   only */

	/* Under va->lock: */
	struct va_check	*queue;		/* submitted, not started; owned */
	struct va_check	**qtail;
	size_t		 load;		/* queued and running */
	size_t		 running;	/* started, not ended */
	int		 woken;		/* a byte is in the pipe */
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
	int		 stop;
	size_t		 outstanding;	/* submitted, not yet taken for
					   delivery */
	struct va_check	*results;	/* ended, undelivered; owned */
	struct va_check	**rtail;

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
 * authorization "token.thumbprint" (RFC 8555 §8.1).
 */
int
va__job_check(const struct va_job *job, struct va_result *res)
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

/*
 * Makes an event_base for a loop of checks, on poll() rather than epoll
 * when libevent has it.  A check's sockets live a few milliseconds to a
 * few seconds (two UDP sockets for its DNS queries, then its connection):
 * with epoll each costs an epoll_ctl() to add it and one to remove it,
 * where poll() is handed the descriptors with each wait.  Returns the
 * base or NULL.
 */
static struct event_base *
loop_base_new(void)
{
	struct event_config	*cfg;
	struct event_base	*base = NULL;

	cfg = event_config_new();
	if (cfg != NULL && event_config_avoid_method(cfg, "epoll") == 0)
		base = event_base_new_with_config(cfg);
	if (cfg != NULL)
		event_config_free(cfg);
	/* Without poll() (nor select()), whatever libevent has. */
	if (base == NULL)
		base = event_base_new();
	return base;
}

int
va__loop_init(struct va_loop *loop, struct event_base *base,
    const struct va_config *cfg)
{
	int	 rc;

	memset(loop, 0, sizeof(*loop));
	loop->base = base;
	loop->cfg = cfg;
	rc = va__resolver_new(base, cfg->resolver, &loop->dns);
	if (rc == 0)
		rc = va__http01_new(base, &loop->http);
	if (rc == 0)
		rc = va__tlsalpn01_new(&loop->tls);
	if (rc != 0)
		va__loop_done(loop);
	return rc;
}

void
va__loop_done(struct va_loop *loop)
{
	va__tlsalpn01_free(loop->tls);
	loop->tls = NULL;
	va__http01_free(loop->http);
	loop->http = NULL;
	va__resolver_free(loop->dns);
	loop->dns = NULL;
}

void
va__check_end(struct va_check *c)
{
	c->loop->end(c, c->loop->arg);
}

/* Starts c on loop: its deadline, then the check of its type. */
static void
check_start(struct va_loop *loop, struct va_check *c)
{
	c->loop = loop;
	c->deadline = va__now_ms() + loop->cfg->timeout_ms;
	if (va__job_check(&c->job, &c->res) != 0) {
		va__check_end(c);
		return;
	}
	checks[c->job.type](c);
}

/* The end of a synchronous check: arg is its done flag. */
static void
sync_end(struct va_check *c, void *arg)
{
	(void)c;
	*(int *)arg = 1;
}

void
va__check_sync(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res, va_check_fn fn)
{
	struct va_config   conf;
	struct va_loop	   loop;
	struct va_check	   c;
	struct event_base *base = NULL;
	int		   rc, ended = 0, inited = 0;

	rc = va__config(cfg, &conf);
	if (rc != 0) {
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Invalid validation "
		    "configuration");
		goto out;
	}
	if (va__job_check(job, res) != 0)
		goto out;
	rc = curl_ready();
	if (rc == 0) {
		rc = ANVIL_ENOMEM;
		base = loop_base_new();
		if (base != NULL)
			rc = va__loop_init(&loop, base, &conf);
	}
	if (rc != 0) {
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Validation of %s "
		    "could not start: %s", job->name, anvil_strerror(rc));
		goto out;
	}
	inited = 1;
	loop.end = sync_end;
	loop.arg = &ended;
	memset(&c, 0, sizeof(c));
	c.job = *job;
	c.loop = &loop;
	c.deadline = va__now_ms() + conf.timeout_ms;
	fn(&c);
	/*
	 * Terminates: the check ends by its deadline, and each pass runs
	 * at least one event; a base left with none means a check that
	 * lost its way, which must not hang the caller.
	 */
	while (!ended)
		if (event_base_loop(base, EVLOOP_ONCE) != 0)
			break;
	if (ended)
		*res = c.res;
	else {
		/* Whatever it holds is freed before the loop is. */
		if (c.cancel != NULL)
			c.cancel(&c);
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Validation of %s "
		    "stopped unfinished", job->name);
	}
out:
	if (inited)
		va__loop_done(&loop);
	if (base != NULL)
		event_base_free(base);
}

/* Writes one byte to fd to wake a loop.  A failed write means the pipe
 * is full, so a wake-up is pending already. */
static void
wake(int fd)
{
	char	 c = 1;
	ssize_t	 n;

	n = write(fd, &c, 1);
	(void)n;
}

/*
 * Ends every check of w in flight, at once: the pool stops, and their
 * results would be dropped anyway (anvil-ca starts them again when it
 * starts).  Each one's cancel hands it back through worker_end().
 */
static void
cancel_all(struct worker *w)
{
	struct va_check	*c, *next;

	for (c = w->inflight; c != NULL; c = next) {
		next = c->next;
		if (c->cancel != NULL)
			c->cancel(c);
	}
}

/*
 * Takes from w's queue what its loop has room for and starts it, on w's
 * thread.  Once the pool stops nothing is taken, the checks in flight are
 * ended, and the loop ends with the last of them.
 */
static void
take_jobs(struct worker *w)
{
	struct va	*va = w->va;
	struct va_check	*list = NULL, **tail = &list, *c;
	int		 quit, stopping;

	(void)pthread_mutex_lock(&va->lock);
	w->woken = 0;
	while (!va->stop && w->queue != NULL &&
	    w->running < VA_LOOP_MAX_CHECKS) {
		c = w->queue;
		w->queue = c->next;
		if (w->queue == NULL)
			w->qtail = &w->queue;
		c->next = NULL;
		*tail = c;
		tail = &c->next;
		w->running++;
	}
	quit = va->stop && w->running == 0;
	stopping = va->stop;
	(void)pthread_mutex_unlock(&va->lock);
	if (quit)
		(void)event_base_loopbreak(w->base);
	else if (stopping)
		cancel_all(w);
	/* A check may end, and go, inside check_start(). */
	while ((c = list) != NULL) {
		list = c->next;
		c->prev = NULL;
		c->next = w->inflight;
		if (w->inflight != NULL)
			w->inflight->prev = c;
		w->inflight = c;
		check_start(&w->loop, c);
	}
}

/* The end of one of w's checks, on w's thread: its result goes onto the
 * list the front's loop delivers. */
static void
worker_end(struct va_check *c, void *arg)
{
	struct worker	*w = arg;
	struct va	*va = w->va;
	int		 first, more, quit;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		w->inflight = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = NULL;
	(void)pthread_mutex_lock(&va->lock);
	first = va->results == NULL;
	c->next = NULL;
	*va->rtail = c;
	va->rtail = &c->next;
	w->running--;
	w->load--;
	more = !va->stop && w->queue != NULL;
	quit = va->stop && w->running == 0;
	(void)pthread_mutex_unlock(&va->lock);
	if (first)
		wake(va->pipe[1]);
	/* Not take_jobs() here: a check that ends at once would recurse. */
	if (more)
		event_active(w->refill, EV_TIMEOUT, 0);
	if (quit)
		(void)event_base_loopbreak(w->base);
}

/* w's pipe: jobs were queued, or the pool stops. */
static void
on_worker_wakeup(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	workq_pipe_drain(fd);
	take_jobs(arg);
}

/* A check of w ended while jobs wait. */
static void
on_refill(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	take_jobs(arg);
}

static void *
worker_main(void *arg)
{
	struct worker	*w = arg;

	/* Runs until take_jobs() or worker_end() breaks it, on stop. */
	(void)event_base_dispatch(w->base);
	return NULL;
}

/*
 * The front's pipe, on its thread: empties the pipe first (so a result
 * queued after this cannot be missed), then takes every result and
 * delivers them without holding the lock while done() runs.
 */
static void
on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct va	*va = arg;
	struct va_check	*list, *c;
	size_t		 n = 0;

	(void)what;
	workq_pipe_drain(fd);
	(void)pthread_mutex_lock(&va->lock);
	list = va->results;
	va->results = NULL;
	va->rtail = &va->results;
	for (c = list; c != NULL; c = c->next)
		n++;
	va->outstanding -= n;
	(void)pthread_mutex_unlock(&va->lock);
	while ((c = list) != NULL) {
		list = c->next;
		va->done(&c->res, va->arg);
		free(c);
	}
}

/* Makes a pipe of two non-blocking, close-on-exec ends, as workq.c
 * does.  Returns 0 or ANVIL_EIO (p left at -1). */
static int
pipe_new(int p[2])
{
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
		p[0] = p[1] = -1;
		return ANVIL_EIO;
	}
	return 0;
}

/* Sets up worker w (not its thread).  Returns 0 or a negative code;
 * worker_done() undoes what was done either way. */
static int
worker_init(struct va *va, struct worker *w)
{
	int	 rc;

	w->va = va;
	w->pipe[0] = w->pipe[1] = -1;
	w->qtail = &w->queue;
	w->base = loop_base_new();
	if (w->base == NULL)
		return ANVIL_ENOMEM;
	rc = va__loop_init(&w->loop, w->base, &va->cfg);
	if (rc != 0)
		return rc;
	w->loop.end = worker_end;
	w->loop.arg = w;
	rc = pipe_new(w->pipe);
	if (rc != 0)
		return rc;
	w->wakeup = event_new(w->base, w->pipe[0], EV_READ | EV_PERSIST,
	    on_worker_wakeup, w);
	w->refill = event_new(w->base, -1, 0, on_refill, w);
	if (w->wakeup == NULL || w->refill == NULL ||
	    event_add(w->wakeup, NULL) != 0)
		return ANVIL_ENOMEM;
	return 0;
}

/* Frees what w holds, its thread joined or never started. */
static void
worker_done(struct worker *w)
{
	struct va_check	*c;

	while ((c = w->queue) != NULL) {
		w->queue = c->next;
		free(c);
	}
	if (w->base == NULL)
		return;
	va__loop_done(&w->loop);
	if (w->refill != NULL)
		event_free(w->refill);
	if (w->wakeup != NULL)
		event_free(w->wakeup);
	if (w->pipe[0] >= 0)
		(void)close(w->pipe[0]);
	if (w->pipe[1] >= 0)
		(void)close(w->pipe[1]);
	event_base_free(w->base);
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
	va->rtail = &va->results;
	if (pthread_mutex_init(&va->lock, NULL) != 0) {
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
	va->workers = calloc((size_t)va->cfg.threads, sizeof(*va->workers));
	if (va->workers == NULL)
		goto out;
	for (i = 0; i < va->cfg.threads; i++) {
		rc = worker_init(va, &va->workers[i]);
		if (rc != 0)
			goto out;
	}
	rc = pipe_new(va->pipe);
	if (rc != 0)
		goto out;
	rc = ANVIL_ENOMEM;
	va->wakeup = event_new(base, va->pipe[0], EV_READ | EV_PERSIST,
	    on_wakeup, va);
	if (va->wakeup == NULL || event_add(va->wakeup, NULL) != 0)
		goto out;
	/* Workers start with every signal blocked: signals go to main. */
	for (i = 0; i < va->cfg.threads; i++) {
		rc = workq_thread_start(&va->workers[i].thread, worker_main,
		    &va->workers[i]);
		if (rc != 0)
			goto out;
		va->workers[i].started = 1;
	}
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
	struct va_check	*c;
	struct worker	*w = NULL;
	int		 i, kick = 0, rc = 0;

	if (va == NULL || job == NULL || (unsigned)job->type >= CHALL_TYPE__MAX)
		return ANVIL_EINVAL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ANVIL_ENOMEM;
	c->job = *job;
	memcpy(c->res.chall_id, job->chall_id, sizeof(c->res.chall_id));
	(void)pthread_mutex_lock(&va->lock);
	if (va->outstanding >= VA_QUEUE_MAX || va->stop)
		rc = ANVIL_E2BIG;
	else {
		/* The worker with the fewest checks, queued or running. */
		for (i = 0; i < va->cfg.threads; i++)
			if (w == NULL || va->workers[i].load < w->load)
				w = &va->workers[i];
		*w->qtail = c;
		w->qtail = &c->next;
		w->load++;
		va->outstanding++;
		kick = !w->woken;
		w->woken = 1;
		c = NULL;
	}
	(void)pthread_mutex_unlock(&va->lock);
	free(c);
	if (kick)
		wake(w->pipe[1]);
	return rc;
}

void
va_free(struct va *va)
{
	struct va_check	*c;
	int		 i;

	if (va == NULL)
		return;
	(void)pthread_mutex_lock(&va->lock);
	va->stop = 1;
	(void)pthread_mutex_unlock(&va->lock);
	/* A loop ends its checks in flight at once, then itself. */
	if (va->workers != NULL) {
		for (i = 0; i < va->cfg.threads; i++) {
			if (!va->workers[i].started)
				continue;
			wake(va->workers[i].pipe[1]);
			(void)pthread_join(va->workers[i].thread, NULL);
		}
		for (i = 0; i < va->cfg.threads; i++)
			worker_done(&va->workers[i]);
	}
	while ((c = va->results) != NULL) {
		va->results = c->next;
		free(c);
	}
	if (va->wakeup != NULL)
		event_free(va->wakeup);
	if (va->pipe[0] >= 0)
		(void)close(va->pipe[0]);
	if (va->pipe[1] >= 0)
		(void)close(va->pipe[1]);
	(void)pthread_mutex_destroy(&va->lock);
	free(va->workers);
	free(va->resolver);
	free(va);
}
