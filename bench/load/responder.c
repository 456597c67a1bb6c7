/*
 * responder.c - the http-01 answers (RFC 8555 §8.3) of every worker, from
 * one small HTTP/1.1 server on 127.0.0.1 in the driver's event loop.
 *
 * A GET for /.well-known/acme-challenge/TOKEN gets the key authorization
 * a worker published for TOKEN, as text/plain; another path is a 404,
 * another method a 405, anything that is not a request line a 400.
 * Every answer closes the connection (a validation is one request).
 * The lookup scans the workers (at most LOAD_MAX_WORKERS, each holding at
 * most one token): at the concurrency a 2-core machine can drive, a table
 * would cost more than it saves.
 *
 * With --http01-delay MS, every answer leaves MS milliseconds after its
 * request has been read, as from a web server far away: the connection
 * waits on a timer of its own (one libevent common timeout, so each wait
 * costs a queue insertion, not a heap one) and the loop serves others
 * meanwhile.  The key authorization is looked up when the answer leaves,
 * so the worker learns of the fetch (worker_keyauth) when the CA would
 * have its answer, and does not poll the CA in between.  At most
 * LOAD_MAX_PENDING answers wait at once (each holds a socket and its
 * connection's buffer); past that a request gets 503 at once, which fails
 * that validation where the run's errors show it.  Connections still
 * waiting for their request are bounded in time (LOAD_IO_TIMEOUT_S), not
 * in number: each is a validation the CA started.
 *
 * Why not evhttp: a validation is one connection, and evhttp spends some
 * fifteen system calls on it (ioctl FIONREAD, readv twice, writev,
 * shutdown, and an epoll_ctl for each change of what it waits for) plus
 * its header tables and buffers.  Here: accept4, a read (the request is
 * usually there by then; if not, a read event until it is), one write,
 * close.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "load.h"

#define PREFIX		"/.well-known/acme-challenge/"
#define REQ_MAX		16384	/* request line and headers */

/* What serve() and answer() leave a connection in. */
enum rstate {
	R_MORE,		/* the request is not complete yet */
	R_DONE,		/* answered or hopeless: free it */
	R_DELAYED	/* its answer waits on rc->ev, a timer */
};

/* One validation connection. */
struct rconn {
	struct responder	*r;
	int			 fd;
	struct event		*ev;	/* read + timeout, or the delay timer;
					 * NULL until needed; owned */
	struct rconn		*prev, *next;
	const char		*status;	/* delayed answer: its status
						 * line (static) ... */
	const char		*token;	/* ... or the token to look up,
					 * in buf; NULL if none */
	int			 pending;	/* counted in r->n_pending */
	size_t			 len;
	char			 buf[REQ_MAX + 1];
};

struct responder {
	struct bench		*b;
	int			 fd;		/* listening */
	struct event		*ev;		/* accept */
	struct rconn		*conns;		/* open connections */
	const struct timeval	*delay;		/* common timeout of
						 * --http01-delay; NULL if 0 */
	unsigned		 n_pending;	/* delayed answers */
	int			 said_full;	/* the 503 warning was given */
	struct event		*pause;		/* accepting again, after
						 * running out of files */
	int			 said_nofile;	/* that warning was given */
};

static void
rconn_free(struct rconn *rc)
{
	if (rc->ev != NULL)
		event_free(rc->ev);
	if (rc->pending)
		rc->r->n_pending--;
	if (rc->fd >= 0)
		(void)close(rc->fd);
	if (rc->prev != NULL)
		rc->prev->next = rc->next;
	else if (rc->r->conns == rc)
		rc->r->conns = rc->next;
	if (rc->next != NULL)
		rc->next->prev = rc->prev;
	free(rc);
}

/* Writes a complete answer (a fresh connection's socket buffer takes it
 * whole; a short write ends the connection all the same). */
static void
reply(struct rconn *rc, const char *status, const char *ka)
{
	char	 out[512];
	int	 n;

	if (ka != NULL)
		n = snprintf(out, sizeof(out), "HTTP/1.1 %s\r\n"
		    "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
		    "Connection: close\r\n\r\n%s", status, strlen(ka), ka);
	else
		n = snprintf(out, sizeof(out), "HTTP/1.1 %s\r\n"
		    "Content-Length: 0\r\nConnection: close\r\n\r\n", status);
	if (n > 0 && (size_t)n < sizeof(out))
		(void)send(rc->fd, out, (size_t)n, MSG_NOSIGNAL);
}

/*
 * Sends the answer for token (200 with its key authorization, 404 when no
 * worker publishes it) or, when token is NULL, the bodiless status.
 */
static void
send_answer(struct rconn *rc, const char *status, const char *token)
{
	const char	*ka = NULL;

	if (token != NULL)
		ka = bench_keyauth(rc->r->b, token);
	if (ka != NULL)
		reply(rc, "200 OK", ka);
	else
		reply(rc, token != NULL ? "404 Not Found" : status, NULL);
}

/* The delay is over: the answer leaves, the connection closes. */
static void
on_due(evutil_socket_t fd, short what, void *arg)
{
	struct rconn	*rc = arg;

	send_answer(rc, rc->status, rc->token);
	rconn_free(rc);
}

/*
 * Answers now, or with --http01-delay arms rc's timer for the answer
 * (token, when not NULL, points into rc->buf, which is not read into
 * again).  Returns R_DONE or R_DELAYED.
 */
static enum rstate
respond(struct rconn *rc, const char *status, const char *token)
{
	struct responder	*r = rc->r;

	if (r->delay == NULL) {
		send_answer(rc, status, token);
		return R_DONE;
	}
	if (r->n_pending >= LOAD_MAX_PENDING) {
		if (!r->said_full)
			fprintf(stderr, "anvil-load: %u http-01 answers "
			    "delayed at once, answering 503 past that\n",
			    r->n_pending);
		r->said_full = 1;
		reply(rc, "503 Service Unavailable", NULL);
		return R_DONE;
	}
	/* The read event (if any) ends here; the timer takes its place. */
	if (rc->ev != NULL)
		event_free(rc->ev);
	rc->ev = evtimer_new(r->b->base, on_due, rc);
	if (rc->ev == NULL || evtimer_add(rc->ev, r->delay) != 0)
		return R_DONE;	/* no answer: the validation fails */
	rc->status = status;
	rc->token = token;
	rc->pending = 1;
	r->n_pending++;
	return R_DELAYED;
}

/*
 * Answers the request in rc->buf once its header block is complete.
 * Returns R_MORE when more bytes are needed, else what respond() says.
 */
static enum rstate
answer(struct rconn *rc)
{
	char		*line, *sp, *target, *ver;
	const char	*token;

	if (strstr(rc->buf, "\r\n\r\n") == NULL &&
	    strstr(rc->buf, "\n\n") == NULL) {
		if (rc->len < REQ_MAX)
			return R_MORE;
		return respond(rc, "431 Request Header Fields Too Large",
		    NULL);
	}
	/* Request line: method SP request-target SP HTTP-version. */
	line = rc->buf;
	line[strcspn(line, "\r\n")] = '\0';
	sp = strchr(line, ' ');
	if (sp == NULL)
		return respond(rc, "400 Bad Request", NULL);
	*sp = '\0';
	target = sp + 1;
	ver = strchr(target, ' ');
	if (ver == NULL || strncmp(ver + 1, "HTTP/1.", 7) != 0)
		return respond(rc, "400 Bad Request", NULL);
	*ver = '\0';
	if (strcmp(line, "GET") != 0)
		return respond(rc, "405 Method Not Allowed", NULL);
	if (strncmp(target, PREFIX, strlen(PREFIX)) != 0 ||
	    strlen(target + strlen(PREFIX)) > LOAD_MAX_TOKEN)
		return respond(rc, "404 Not Found", NULL);
	token = target + strlen(PREFIX);
	return respond(rc, NULL, token);
}

/*
 * Reads what has come.  Returns R_MORE when the connection waits for more,
 * R_DELAYED when its answer waits, R_DONE when it is done with.  The loop
 * ends: each pass reads at least one byte into a buffer of REQ_MAX, and a
 * full buffer is answered (431).
 */
static enum rstate
serve(struct rconn *rc)
{
	enum rstate	 s;
	ssize_t		 n;

	for (;;) {
		n = read(rc->fd, rc->buf + rc->len, REQ_MAX - rc->len);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return R_MORE;
		if (n <= 0)
			return R_DONE;
		/* A NUL ends the text early: the request is then cut
		 * there, and answered or refused as such. */
		rc->len += (size_t)n;
		rc->buf[rc->len] = '\0';
		s = answer(rc);
		if (s != R_MORE)
			return s;
	}
}

static void
on_conn(evutil_socket_t fd, short what, void *arg)
{
	struct rconn	*rc = arg;

	if ((what & EV_TIMEOUT) || serve(rc) == R_DONE)
		rconn_free(rc);
}

/* The pause after EMFILE is over: accept again. */
static void
on_resume(evutil_socket_t fd, short what, void *arg)
{
	struct responder	*r = arg;

	(void)fd;
	(void)what;
	(void)event_add(r->ev, NULL);
}

/*
 * accept4 failed for want of a file descriptor (or of memory).  The
 * listening socket stays readable, so the loop would call on_accept again
 * at once, forever: stop accepting for LOAD_ACCEPT_PAUSE_MS instead (the
 * validations waiting meanwhile are the CA's to time out), and say it
 * once.
 */
static void
accept_pause(struct responder *r, int err)
{
	struct timeval	 tv = { 0, LOAD_ACCEPT_PAUSE_MS * 1000 };

	if (!r->said_nofile) {
		fprintf(stderr, "anvil-load: http-01 responder: accept: %s; "
		    "pausing %d ms at a time (raise the open-file limit)\n",
		    strerror(err), LOAD_ACCEPT_PAUSE_MS);
		r->said_nofile = 1;
	}
	(void)event_del(r->ev);
	(void)event_add(r->pause, &tv);
}

static void
on_accept(evutil_socket_t lfd, short what, void *arg)
{
	struct responder	*r = arg;
	struct timeval		 tv = { LOAD_IO_TIMEOUT_S, 0 };
	struct rconn		*rc;
	int			 fd;

	/* One per wake-up: level-triggered, the loop comes back for the
	 * next one, and no accept4 is spent finding none. */
	fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
		    errno == ENOMEM)
			accept_pause(r, errno);
		return;
	}
	rc = malloc(sizeof(*rc));	/* not zeroed: the buffer need not be */
	if (rc == NULL) {
		(void)close(fd);
		return;
	}
	rc->r = r;
	rc->fd = fd;
	rc->ev = NULL;
	rc->pending = 0;
	rc->len = 0;
	rc->prev = NULL;
	rc->next = r->conns;
	if (r->conns != NULL)
		r->conns->prev = rc;
	r->conns = rc;
	switch (serve(rc)) {
	case R_DONE:
		rconn_free(rc);
		return;
	case R_DELAYED:
		return;
	case R_MORE:
		break;
	}
	rc->ev = event_new(r->b->base, fd, EV_READ | EV_PERSIST, on_conn, rc);
	if (rc->ev == NULL || event_add(rc->ev, &tv) != 0)
		rconn_free(rc);
}

int
responder_new(struct bench *b, uint16_t port, struct responder **ret)
{
	struct responder	*r;
	struct sockaddr_in	 sin;
	struct timeval		 tv;
	int			 one = 1, rc = ANVIL_EIO;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ANVIL_ENOMEM;
	r->b = b;
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		goto fail;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) != 0 ||
	    bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(r->fd, 1024) != 0)
		goto fail;
	rc = ANVIL_ENOMEM;
	if (b->http01_delay_ms > 0) {
		tv.tv_sec = b->http01_delay_ms / 1000;
		tv.tv_usec = (suseconds_t)(b->http01_delay_ms % 1000) * 1000;
		r->delay = event_base_init_common_timeout(b->base, &tv);
		if (r->delay == NULL)
			goto fail;
	}
	r->ev = event_new(b->base, r->fd, EV_READ | EV_PERSIST, on_accept, r);
	r->pause = evtimer_new(b->base, on_resume, r);
	if (r->ev == NULL || r->pause == NULL || event_add(r->ev, NULL) != 0)
		goto fail;
	*ret = r;
	return 0;
fail:
	responder_free(r);
	return rc;
}

void
responder_free(struct responder *r)
{
	if (r == NULL)
		return;
	while (r->conns != NULL)
		rconn_free(r->conns);
	if (r->ev != NULL)
		event_free(r->ev);
	if (r->pause != NULL)
		event_free(r->pause);
	if (r->fd >= 0)
		(void)close(r->fd);
	free(r);
}
