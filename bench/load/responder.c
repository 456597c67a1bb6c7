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
 * Why not evhttp: a validation is one connection, and evhttp spends some
 * fifteen system calls on it (ioctl FIONREAD, readv twice, writev,
 * shutdown, and an epoll_ctl for each change of what it waits for) plus
 * its header tables and buffers.  Here: accept4, a read (the request is
 * usually there by then; if not, a read event until it is), one write,
 * close.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "load.h"

#define PREFIX		"/.well-known/acme-challenge/"
#define REQ_MAX		16384	/* request line and headers */

/* One validation connection. */
struct rconn {
	struct responder	*r;
	int			 fd;
	struct event		*ev;	/* read + timeout; NULL until needed */
	struct rconn		*prev, *next;
	size_t			 len;
	char			 buf[REQ_MAX + 1];
};

struct responder {
	struct bench	*b;
	int		 fd;		/* listening */
	struct event	*ev;		/* accept */
	struct rconn	*conns;		/* waiting for their request */
};

static void
rconn_free(struct rconn *rc)
{
	if (rc->ev != NULL)
		event_free(rc->ev);
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
 * Answers the request in rc->buf once its header block is complete.
 * Returns 1 when answered (or hopeless), 0 when more bytes are needed.
 */
static int
answer(struct rconn *rc)
{
	char		*line, *sp, *target, *ver;
	const char	*ka;

	if (strstr(rc->buf, "\r\n\r\n") == NULL &&
	    strstr(rc->buf, "\n\n") == NULL) {
		if (rc->len < REQ_MAX)
			return 0;
		reply(rc, "431 Request Header Fields Too Large", NULL);
		return 1;
	}
	/* Request line: method SP request-target SP HTTP-version. */
	line = rc->buf;
	line[strcspn(line, "\r\n")] = '\0';
	sp = strchr(line, ' ');
	if (sp == NULL) {
		reply(rc, "400 Bad Request", NULL);
		return 1;
	}
	*sp = '\0';
	target = sp + 1;
	ver = strchr(target, ' ');
	if (ver == NULL || strncmp(ver + 1, "HTTP/1.", 7) != 0) {
		reply(rc, "400 Bad Request", NULL);
		return 1;
	}
	*ver = '\0';
	if (strcmp(line, "GET") != 0) {
		reply(rc, "405 Method Not Allowed", NULL);
		return 1;
	}
	ka = NULL;
	if (strncmp(target, PREFIX, strlen(PREFIX)) == 0 &&
	    strlen(target + strlen(PREFIX)) <= LOAD_MAX_TOKEN)
		ka = bench_keyauth(rc->r->b, target + strlen(PREFIX));
	if (ka == NULL)
		reply(rc, "404 Not Found", NULL);
	else
		reply(rc, "200 OK", ka);
	return 1;
}

/* Reads what has come.  Returns 1 when the connection is done with, 0
 * when it waits for more. */
static int
serve(struct rconn *rc)
{
	ssize_t	 n;

	for (;;) {
		n = read(rc->fd, rc->buf + rc->len, REQ_MAX - rc->len);
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return 0;
		if (n <= 0)
			return 1;
		/* A NUL ends the text early: the request is then cut
		 * there, and answered or refused as such. */
		rc->len += (size_t)n;
		rc->buf[rc->len] = '\0';
		if (answer(rc))
			return 1;
	}
}

static void
on_conn(evutil_socket_t fd, short what, void *arg)
{
	struct rconn	*rc = arg;

	if ((what & EV_TIMEOUT) || serve(rc))
		rconn_free(rc);
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
	if (fd < 0)
		return;
	rc = malloc(sizeof(*rc));	/* not zeroed: the buffer need not be */
	if (rc == NULL) {
		(void)close(fd);
		return;
	}
	rc->r = r;
	rc->fd = fd;
	rc->ev = NULL;
	rc->len = 0;
	rc->prev = NULL;
	rc->next = r->conns;
	if (r->conns != NULL)
		r->conns->prev = rc;
	r->conns = rc;
	if (serve(rc)) {
		rconn_free(rc);
		return;
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
	r->ev = event_new(b->base, r->fd, EV_READ | EV_PERSIST, on_accept, r);
	if (r->ev == NULL || event_add(r->ev, NULL) != 0)
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
	if (r->fd >= 0)
		(void)close(r->fd);
	free(r);
}
