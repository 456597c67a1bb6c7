/*
 * solver_http01.c - the built-in http-01 responder (RFC 8555 §8.3).
 *
 * A listening socket on --http01-port (IPv6 dual stack when the host has
 * IPv6, else IPv4 only), bound in start() before the order is made so a
 * busy port fails at once.  One thread (listener.c) answers one
 * connection at a time:
 *   GET /.well-known/acme-challenge/TOKEN  ->  200, the key authorization
 *   anything else                          ->  404
 * Only the tokens of the current order are known, and the socket is
 * closed in cleanup(), as soon as validation is over.  Each connection is
 * bounded: a 4 KiB request head and AG_LISTENER_IO_TIMEOUT seconds for
 * each read and write, so one slow peer delays the others by that.  A
 * thread (rather than a poll loop woven into the polling of the CA) keeps
 * order.c's requests blocking and simple; the thread blocks SIGINT/SIGTERM
 * so that they reach the main thread, which then calls cleanup().
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "solver.h"

#define REQ_MAX		4096	/* bytes of one request head */
#define PREFIX		"/.well-known/acme-challenge/"

static const char notfound_msg[] = "HTTP/1.1 404 Not Found\r\n"
    "Content-Length: 0\r\nConnection: close\r\n\r\n";

struct answer {
	char	*token;		/* malloc() */
	char	*keyauth;	/* malloc() */
	int	 served;	/* sent to a GET at least once */
};

struct h01 {
	struct ag_listener l;
	pthread_mutex_t	 mu;		/* guards ans, n and n_served */
	pthread_cond_t	 cv;		/* signalled when n_served grows */
	struct answer	 ans[AG_MAX_AUTHZ];
	size_t		 n;
	size_t		 n_served;	/* answers served at least once */
};

/* Writes the whole buffer (bounded by the listener's send timeout). */
static void
send_all(int fd, const char *p, size_t len)
{
	ssize_t	 w;

	while (len > 0) {
		w = send(fd, p, len, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		len -= (size_t)w;
	}
}

/* Reads a request head on fd and answers it; arg is the struct h01. */
static void
serve_one(void *arg, int fd)
{
	struct h01	*h = arg;
	char		 req[REQ_MAX + 1], out[512 + 2 * 256];
	char		*keyauth = NULL, *path, *sp;
	size_t		 len = 0, i, found = 0;
	ssize_t		 r;
	int		 n, get;

	/* Reads until the blank line, the cap, EOF or the timeout. */
	while (len < REQ_MAX) {
		r = recv(fd, req + len, REQ_MAX - len, 0);
		if (r <= 0)
			break;
		len += (size_t)r;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL ||
		    strstr(req, "\n\n") != NULL)
			break;
	}
	req[len] = '\0';
	if (strncmp(req, "GET ", 4) != 0 && strncmp(req, "HEAD ", 5) != 0)
		goto notfound;
	path = strchr(req, ' ') + 1;
	sp = strchr(path, ' ');
	if (sp == NULL || strncmp(path, PREFIX, sizeof(PREFIX) - 1) != 0)
		goto notfound;
	*sp = '\0';
	path += sizeof(PREFIX) - 1;
	(void)pthread_mutex_lock(&h->mu);
	for (i = 0; i < h->n; i++) {
		if (strcmp(h->ans[i].token, path) == 0) {
			keyauth = strdup(h->ans[i].keyauth);
			found = i;
			break;
		}
	}
	(void)pthread_mutex_unlock(&h->mu);
	if (keyauth == NULL)
		goto notfound;
	get = strncmp(req, "GET", 3) == 0;
	n = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s", strlen(keyauth),
	    get ? keyauth : "");
	free(keyauth);
	if (n > 0 && (size_t)n < sizeof(out))
		send_all(fd, out, (size_t)n);
	/* The CA has seen this answer: order.c may start polling. */
	if (get) {
		(void)pthread_mutex_lock(&h->mu);
		if (!h->ans[found].served) {
			h->ans[found].served = 1;
			h->n_served++;
			(void)pthread_cond_broadcast(&h->cv);
		}
		(void)pthread_mutex_unlock(&h->mu);
	}
	return;
notfound:
	send_all(fd, notfound_msg, sizeof(notfound_msg) - 1);
}

static void
h01_cleanup(struct ag_solver *s)
{
	struct h01	*h = s->priv;
	size_t		 i;

	if (h == NULL)
		return;
	ag_listener_stop(&h->l);
	for (i = 0; i < h->n; i++) {
		free(h->ans[i].token);
		free(h->ans[i].keyauth);
	}
	(void)pthread_cond_destroy(&h->cv);
	(void)pthread_mutex_destroy(&h->mu);
	free(h);
	s->priv = NULL;
}

static int
h01_start(struct ag_solver *s)
{
	struct h01	*h;
	int		 rc;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return ANVIL_ENOMEM;
	ag_listener_init(&h->l);
	(void)pthread_mutex_init(&h->mu, NULL);
	(void)pthread_cond_init(&h->cv, NULL);
	s->priv = h;
	rc = ag_listener_start(&h->l, "http-01", s->conf.port, serve_one, h);
	if (rc != 0)
		goto fail;
	return 0;
fail:
	h01_cleanup(s);
	return rc;
}

static int
h01_add(struct ag_solver *s, const char *name, const char *token,
    const char *keyauth)
{
	struct h01	*h = s->priv;
	char		*t, *k;
	int		 rc = 0;

	t = strdup(token);
	k = strdup(keyauth);
	if (t == NULL || k == NULL) {
		free(t);
		free(k);
		return ANVIL_ENOMEM;
	}
	(void)pthread_mutex_lock(&h->mu);
	if (h->n == AG_MAX_AUTHZ) {
		rc = ANVIL_E2BIG;
		free(t);
		free(k);
	} else {
		h->ans[h->n].token = t;
		h->ans[h->n].keyauth = k;
		h->n++;
	}
	(void)pthread_mutex_unlock(&h->mu);
	if (rc != 0)
		ag_err("http-01: too many tokens");
	return rc;
}

static int
h01_ready(struct ag_solver *s)
{
	return 0;
}

static int
h01_wait_served(struct ag_solver *s, long ms)
{
	struct h01	*h = s->priv;

	return ag_solver_wait(&h->mu, &h->cv, &h->n_served, h->n, ms);
}

const struct ag_solver_ops ag_solver_http01_ops = {
	.name = "http01-standalone",
	.challenge = "http-01",
	.start = h01_start,
	.add = h01_add,
	.ready = h01_ready,
	.wait_served = h01_wait_served,
	.cleanup = h01_cleanup,
};
