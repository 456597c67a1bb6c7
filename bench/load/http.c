/*
 * http.c - anvil-load's HTTP/1.1 client: one keep-alive connection on a
 * non-blocking socket (with OpenSSL on it for https), one request at a
 * time, driven by the event loop.
 *
 * Why not evhttp or a bufferevent: a load driver must cost the machine
 * little per request, and they cost a lot of it.  evhttp re-connects a
 * dropped keep-alive connection by re-using the bufferevent, which an
 * OpenSSL bufferevent cannot do; the OpenSSL bufferevent reads a TLS
 * record's header and then its body with two read(2)s (it cannot use
 * OpenSSL's read-ahead) plus one that finds nothing, adds and removes its
 * write event with epoll_ctl(2) for every request, and copies every byte
 * through evbuffers, header lines into new allocations.  Here the read
 * event stays registered while the connection lives, a request is
 * written at once (the write event is armed only when the socket is
 * full), one read(2) usually brings a whole answer (read-ahead), and the
 * answer is parsed in place in one buffer re-used for every answer.
 *
 * It parses only what ACME needs: the status, Replay-Nonce, Location,
 * Retry-After, Content-Type, and a body sized by Content-Length, chunked
 * encoding or the end of the connection, every part bounded.
 *
 * A request sent on a re-used connection that the server had closed
 * meanwhile (no byte of answer, then EOF or an error) is sent once more
 * on a new connection; any other failure goes to the caller.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "load.h"

#define REQ_MAX		(ANVIL_MAX_REQUEST_BODY + 4096)	/* one request */
/* One answer as read: headers, chunk framing and body. */
#define IN_MAX		(LOAD_MAX_HEADERS * 256 + 2 * ANVIL_MAX_RESPONSE_BODY)
#define IN_FIRST	(16 * 1024)	/* first size of the input buffer */
#define IN_READ_MIN	4096		/* grow when less room than this */
#define NO_OFF		((size_t)-1)	/* header absent */

enum cstate {
	CS_CLOSED,
	CS_CONNECTING,	/* TCP connect in progress */
	CS_HANDSHAKE,	/* TLS handshake in progress */
	CS_OPEN
};

enum rstate {
	RS_IDLE,	/* no request outstanding */
	RS_STATUS,	/* waiting for the status line */
	RS_HEADERS,
	RS_BODY_LEN,	/* Content-Length body, remain bytes left */
	RS_CHUNK_SIZE,
	RS_CHUNK_DATA,	/* remain bytes of this chunk left */
	RS_CHUNK_END,	/* the CRLF after a chunk */
	RS_TRAILER,
	RS_BODY_EOF	/* body up to the end of the connection */
};

/* What one read or write did. */
enum io {
	IO_OK,		/* some bytes moved */
	IO_WAIT,	/* nothing now: an event will come */
	IO_EOF,		/* the peer closed */
	IO_ERR		/* c->err says why */
};

struct http_conn {
	struct event_base	*base;
	SSL_CTX			*ctx;		/* borrowed; NULL for http */
	char			*origin;	/* "https://host:port"; malloc() */
	size_t			 origin_len;
	char			*host;		/* for SNI and checks; malloc() */
	char			*authority;	/* Host header; malloc() */
	struct sockaddr_storage	 addr;
	socklen_t		 addr_len;

	int			 fd;		/* -1 when not connected */
	SSL			*ssl;		/* NULL for http; owned */
	struct event		*ev_read;	/* persistent while connected */
	struct event		*ev_write;	/* armed when a write waits */
	struct event		*ev_timer;	/* no byte for too long */
	struct event		*ev_defer;	/* reports deferred_err */
	enum cstate		 cs;
	int			 deferred_err;	/* for ev_defer; 0 if none */

	int			 reused;	/* connection answered before */
	int			 resent;	/* this request was resent */
	int			 got_bytes;	/* answer started */
	int			 head;		/* request is HEAD */
	int			 close_after;	/* server will not keep it */
	int			 chunked;	/* Transfer-Encoding: chunked */
	struct anvil_buf	 req;		/* request bytes, for a resend */
	size_t			 req_off;	/* bytes of req written */

	char			*in;		/* answer as read; malloc() */
	size_t			 in_len, in_cap;
	size_t			 pos;		/* parsed up to here */
	size_t			 body_off, body_len;	/* in in */
	size_t			 nonce_off, location_off, ctype_off;
	enum rstate		 rs;
	int64_t			 remain;
	unsigned		 n_headers;
	int			 status, retry_after;
	http_cb			 cb;
	void			*cb_arg;
	char			 err[256];
};

static void	on_io(evutil_socket_t, short, void *);
static void	on_timer(evutil_socket_t, short, void *);
static void	on_defer(evutil_socket_t, short, void *);

/*
 * Splits "scheme://authority/..." into the origin, the host (brackets of
 * an IPv6 literal removed) and the port.  Returns 0 or ANVIL_EINVAL.
 */
static int
parse_origin(struct http_conn *c, const char *url, char *port, size_t port_sz)
{
	const char	*a, *end, *hb, *he, *colon;
	size_t		 n;

	if (strncmp(url, "https://", 8) == 0)
		a = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		a = url + 7;
	else
		return ANVIL_EINVAL;
	end = a + strcspn(a, "/?#");
	if (end == a || (size_t)(end - url) >= LOAD_MAX_URL)
		return ANVIL_EINVAL;
	if (*a == '[') {
		hb = a + 1;
		he = memchr(hb, ']', end - hb);
		if (he == NULL)
			return ANVIL_EINVAL;
		colon = he + 1 < end && he[1] == ':' ? he + 1 : NULL;
	} else {
		hb = a;
		colon = memchr(a, ':', end - a);
		he = colon != NULL ? colon : end;
	}
	if (he == hb)
		return ANVIL_EINVAL;
	if (colon != NULL) {
		n = end - colon - 1;
		if (n == 0 || n >= port_sz || strspn(colon + 1, "0123456789") < n)
			return ANVIL_EINVAL;
		memcpy(port, colon + 1, n);
		port[n] = '\0';
	} else
		snprintf(port, port_sz, "%s", url[4] == 's' ? "443" : "80");
	c->origin = strndup(url, end - url);
	c->origin_len = end - url;
	c->host = strndup(hb, he - hb);
	c->authority = strndup(a, end - a);
	if (c->origin == NULL || c->host == NULL || c->authority == NULL)
		return ANVIL_ENOMEM;
	return 0;
}

int
http_conn_new(struct event_base *base, SSL_CTX *ctx, const char *url,
    struct http_conn **ret)
{
	struct http_conn	*c;
	struct addrinfo		 hints, *ai = NULL;
	char			 port[8];
	int			 rc;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ANVIL_ENOMEM;
	c->base = base;
	c->fd = -1;
	anvil_buf_init(&c->req, REQ_MAX);
	rc = parse_origin(c, url, port, sizeof(port));
	if (rc != 0)
		goto fail;
	c->ctx = strncmp(url, "https:", 6) == 0 ? ctx : NULL;
	if (c->ctx == NULL && strncmp(url, "https:", 6) == 0) {
		rc = ANVIL_EINVAL;
		goto fail;
	}
	rc = ANVIL_ENOMEM;
	c->in = malloc(IN_FIRST);
	c->ev_timer = evtimer_new(base, on_timer, c);
	c->ev_defer = event_new(base, -1, 0, on_defer, c);
	if (c->in == NULL || c->ev_timer == NULL || c->ev_defer == NULL)
		goto fail;
	c->in_cap = IN_FIRST;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(c->host, port, &hints, &ai) != 0 || ai == NULL ||
	    ai->ai_addrlen > sizeof(c->addr)) {
		if (ai != NULL)
			freeaddrinfo(ai);
		rc = ANVIL_ENOENT;
		goto fail;
	}
	memcpy(&c->addr, ai->ai_addr, ai->ai_addrlen);
	c->addr_len = ai->ai_addrlen;
	freeaddrinfo(ai);
	*ret = c;
	return 0;
fail:
	http_conn_free(c);
	return rc;
}

/* Closes the connection (the request bytes stay, for a resend). */
static void
drop(struct http_conn *c)
{
	if (c->ev_read != NULL)
		event_free(c->ev_read);
	if (c->ev_write != NULL)
		event_free(c->ev_write);
	c->ev_read = NULL;
	c->ev_write = NULL;
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		(void)close(c->fd);
	c->fd = -1;
	c->cs = CS_CLOSED;
	c->reused = 0;
}

void
http_conn_free(struct http_conn *c)
{
	if (c == NULL)
		return;
	drop(c);
	if (c->ev_timer != NULL)
		event_free(c->ev_timer);
	if (c->ev_defer != NULL)
		event_free(c->ev_defer);
	anvil_buf_free(&c->req);
	free(c->in);
	free(c->origin);
	free(c->host);
	free(c->authority);
	free(c);
}

const char *
http_conn_error(const struct http_conn *c)
{
	return c->err;
}

/* Records why an I/O failed: OpenSSL's reason if it has one, else
 * errno's (e, 0 for none). */
static void
note_error(struct http_conn *c, int e, const char *none)
{
	unsigned long	 ossl = ERR_get_error();

	if (ossl != 0)
		ERR_error_string_n(ossl, c->err, sizeof(c->err));
	else if (e != 0)
		snprintf(c->err, sizeof(c->err), "%s", strerror(e));
	else
		snprintf(c->err, sizeof(c->err), "%s", none);
	ERR_clear_error();
}

/* Starts a non-blocking connect.  Returns 0 or ANVIL_EIO, ANVIL_ENOMEM. */
static int
start_connect(struct http_conn *c)
{
	int	 one = 1;

	c->fd = socket(c->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		note_error(c, errno, "socket");
		return ANVIL_EIO;
	}
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->ev_read = event_new(c->base, c->fd, EV_READ | EV_PERSIST, on_io, c);
	c->ev_write = event_new(c->base, c->fd, EV_WRITE, on_io, c);
	if (c->ev_read == NULL || c->ev_write == NULL) {
		drop(c);
		return ANVIL_ENOMEM;
	}
	if (connect(c->fd, (struct sockaddr *)&c->addr, c->addr_len) != 0 &&
	    errno != EINPROGRESS) {
		note_error(c, errno, "connect");
		drop(c);
		return ANVIL_EIO;
	}
	/* Writable when connected (or failed). */
	c->cs = CS_CONNECTING;
	if (event_add(c->ev_read, NULL) != 0 ||
	    event_add(c->ev_write, NULL) != 0) {
		drop(c);
		return ANVIL_ENOMEM;
	}
	return 0;
}

/* After the connect: its outcome, then TLS set up.  Returns 0 or
 * ANVIL_EIO. */
static int
finish_connect(struct http_conn *c)
{
	socklen_t	 len = sizeof(int);
	int		 e = 0;

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &len) != 0)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return 0;	/* woken early: still connecting */
	if (e != 0) {
		note_error(c, e, "connect");
		return ANVIL_EIO;
	}
	if (c->ctx == NULL) {
		c->cs = CS_OPEN;
		return 0;
	}
	c->ssl = SSL_new(c->ctx);
	if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, c->host) != 1)
		goto fail;
	/* An IP literal is checked as an IP, a name as a DNS name (RFC
	 * 6125). */
	if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), c->host)
	    != 1 && SSL_set1_host(c->ssl, c->host) != 1)
		goto fail;
	/* Whole socket reads, not a record header and then its body. */
	SSL_set_read_ahead(c->ssl, 1);
	SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE);
	SSL_set_connect_state(c->ssl);
	c->cs = CS_HANDSHAKE;
	return 0;
fail:
	note_error(c, 0, "TLS setup");
	return ANVIL_EIO;
}

/* What an SSL call's result means; arms the write event if it waits for
 * writability. */
static enum io
ssl_result(struct http_conn *c, int r)
{
	int	 e = errno;

	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_NONE:
		return IO_OK;
	case SSL_ERROR_WANT_READ:
		return IO_WAIT;	/* the read event is always registered */
	case SSL_ERROR_WANT_WRITE:
		return event_add(c->ev_write, NULL) == 0 ? IO_WAIT : IO_ERR;
	case SSL_ERROR_ZERO_RETURN:
		return IO_EOF;
	case SSL_ERROR_SYSCALL:
		/* An EOF without close_notify: taken as an EOF, as a
		 * browser would (the body length tells if it is cut). */
		if (ERR_peek_error() == 0 && (r == 0 || e == 0))
			return IO_EOF;
		note_error(c, e, "connection error");
		return IO_ERR;
	default:
		note_error(c, 0, "TLS error");
		return IO_ERR;
	}
}

/* Advances the TLS handshake.  Returns 1 when done, 0 when waiting,
 * ANVIL_EIO. */
static int
handshake(struct http_conn *c)
{
	int	 r;

	ERR_clear_error();
	r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->cs = CS_OPEN;
		return 1;
	}
	switch (ssl_result(c, r)) {
	case IO_WAIT:
		return 0;
	case IO_EOF:
		snprintf(c->err, sizeof(c->err), "connection closed");
		return ANVIL_EIO;
	default:
		return ANVIL_EIO;
	}
}

/* Reads into p (n bytes); *ret_n gets the count for IO_OK. */
static enum io
rd(struct http_conn *c, char *p, size_t n, size_t *ret_n)
{
	ssize_t	 r;
	int	 s;

	if (c->ssl != NULL) {
		ERR_clear_error();
		s = SSL_read(c->ssl, p, n > INT32_MAX ? INT32_MAX : (int)n);
		if (s > 0) {
			*ret_n = (size_t)s;
			return IO_OK;
		}
		return ssl_result(c, s);
	}
	r = read(c->fd, p, n);
	if (r > 0) {
		*ret_n = (size_t)r;
		return IO_OK;
	}
	if (r == 0)
		return IO_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return IO_WAIT;
	note_error(c, errno, "read");
	return IO_ERR;
}

/* Writes what is left of the request.  Returns 1 when all is written, 0
 * when waiting, ANVIL_EIO. */
static int
flush(struct http_conn *c)
{
	size_t	 n;
	ssize_t	 r;
	int	 s;

	while (c->req_off < c->req.len) {
		n = c->req.len - c->req_off;
		if (c->ssl != NULL) {
			ERR_clear_error();
			s = SSL_write(c->ssl, c->req.data + c->req_off,
			    n > INT32_MAX ? INT32_MAX : (int)n);
			if (s > 0) {
				c->req_off += (size_t)s;
				continue;
			}
			switch (ssl_result(c, s)) {
			case IO_WAIT:
				return 0;
			case IO_EOF:
				snprintf(c->err, sizeof(c->err),
				    "connection closed");
				return ANVIL_EIO;
			default:
				return ANVIL_EIO;
			}
		}
		r = send(c->fd, c->req.data + c->req_off, n, MSG_NOSIGNAL);
		if (r >= 0) {
			c->req_off += (size_t)r;
			continue;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return event_add(c->ev_write, NULL) == 0 ? 0 :
			    ANVIL_EIO;
		note_error(c, errno, "write");
		return ANVIL_EIO;
	}
	return 1;
}

/* Ends the request with err (never 0): the caller's callback runs. */
static void
fail(struct http_conn *c, int err)
{
	drop(c);
	(void)event_del(c->ev_timer);
	c->rs = RS_IDLE;
	c->cb(c->cb_arg, err, NULL);
}

/*
 * An I/O failure of the request in flight: sent once more on a new
 * connection when a kept-alive one died before answering, else failed.
 */
static void
io_error(struct http_conn *c, int err)
{
	if (c->reused && !c->got_bytes && !c->resent &&
	    err != ANVIL_ETIMEDOUT) {
		drop(c);
		c->resent = 1;
		c->req_off = 0;
		c->in_len = 0;
		c->pos = 0;
		err = start_connect(c);
		if (err == 0)
			return;
	}
	fail(c, err);
}

/* Ends the request with the parsed answer. */
static void
complete(struct http_conn *c)
{
	struct http_resp	 r;

	c->in[c->body_off + c->body_len] = '\0';
	memset(&r, 0, sizeof(r));
	r.status = c->status;
	r.retry_after = c->retry_after;
	r.nonce = c->nonce_off != NO_OFF ? c->in + c->nonce_off : NULL;
	r.location = c->location_off != NO_OFF ? c->in + c->location_off :
	    NULL;
	r.content_type = c->ctype_off != NO_OFF ? c->in + c->ctype_off : NULL;
	r.body = c->in + c->body_off;
	r.body_len = c->body_len;
	(void)event_del(c->ev_timer);
	c->rs = RS_IDLE;
	/* Bytes past the answer: nobody asked for them, the connection
	 * is unusable. */
	if (c->close_after || c->pos < c->in_len ||
	    (c->ssl != NULL && SSL_has_pending(c->ssl)))
		drop(c);
	else
		c->reused = 1;
	/* r points into c->in, which stays as it is until the next read,
	 * from the event loop: after the callback. */
	c->cb(c->cb_arg, 0, &r);
}

/* Parses a Retry-After value: delta-seconds or an IMF-fixdate (RFC 9110
 * §10.2.3).  Returns seconds (0 for a date in the past), -1 if invalid. */
static int
parse_retry_after(const char *v)
{
	struct tm	 tm;
	const char	*end;
	time_t		 t, now;
	long		 n;

	if (*v >= '0' && *v <= '9' && strspn(v, "0123456789") == strlen(v)) {
		if (strlen(v) > 6)
			return 86400;
		n = strtol(v, NULL, 10);
		return (int)n;
	}
	memset(&tm, 0, sizeof(tm));
	end = strptime(v, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	t = timegm(&tm);
	now = time(NULL);
	if (t <= now)
		return 0;
	return t - now > 86400 ? 86400 : (int)(t - now);
}

/* One "Name: value" line, NUL-terminated in c->in.  Returns 0 or an
 * ANVIL_E* code. */
static int
header(struct http_conn *c, char *line)
{
	char	*v, *e;

	v = strchr(line, ':');
	if (v == NULL || v == line)
		return ANVIL_EINVAL;
	*v++ = '\0';
	v += strspn(v, " \t");
	e = v + strlen(v);
	while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
		*--e = '\0';
	if (strcasecmp(line, "Replay-Nonce") == 0) {
		if (strlen(v) > LOAD_MAX_NONCE)
			return ANVIL_E2BIG;
		c->nonce_off = (size_t)(v - c->in);
		return 0;
	}
	if (strcasecmp(line, "Location") == 0) {
		if (strlen(v) >= LOAD_MAX_URL)
			return ANVIL_E2BIG;
		c->location_off = (size_t)(v - c->in);
		return 0;
	}
	if (strcasecmp(line, "Content-Type") == 0) {
		c->ctype_off = (size_t)(v - c->in);
		return 0;
	}
	if (strcasecmp(line, "Retry-After") == 0) {
		c->retry_after = parse_retry_after(v);
		return 0;
	}
	if (strcasecmp(line, "Connection") == 0) {
		if (strcasecmp(v, "close") == 0)
			c->close_after = 1;
		return 0;
	}
	if (strcasecmp(line, "Transfer-Encoding") == 0) {
		if (strcasecmp(v, "chunked") != 0)
			return ANVIL_EINVAL;
		c->chunked = 1;
		return 0;
	}
	if (strcasecmp(line, "Content-Length") == 0) {
		if (*v == '\0' || strspn(v, "0123456789") != strlen(v) ||
		    strlen(v) > 9)
			return ANVIL_EINVAL;
		c->remain = strtoll(v, NULL, 10);
		if (c->remain > ANVIL_MAX_RESPONSE_BODY)
			return ANVIL_E2BIG;
		return 0;
	}
	return 0;
}

/*
 * Moves up to c->remain bytes of what is unparsed to the end of the body
 * (which is never after them: a no-op but for chunked bodies).  Returns 0
 * or ANVIL_E2BIG.
 */
static int
take_body(struct http_conn *c)
{
	size_t	 n = c->in_len - c->pos;

	if ((int64_t)n > c->remain)
		n = (size_t)c->remain;
	if (c->body_len + n > ANVIL_MAX_RESPONSE_BODY)
		return ANVIL_E2BIG;
	if (c->body_off + c->body_len != c->pos)
		memmove(c->in + c->body_off + c->body_len, c->in + c->pos, n);
	c->body_len += n;
	c->pos += n;
	c->remain -= n;
	return 0;
}

/*
 * The next line at c->pos, CRLF (or LF) cut off and NUL-terminated in
 * place.  Returns 1 and *ret_line, 0 when the line is not complete yet,
 * ANVIL_E2BIG when it is too long, ANVIL_EINVAL when it holds a NUL.
 */
static int
next_line(struct http_conn *c, char **ret_line)
{
	char	*p = c->in + c->pos, *nl, *e;
	size_t	 avail = c->in_len - c->pos;

	nl = memchr(p, '\n', avail);
	if (nl == NULL)
		return avail > LOAD_MAX_HEADER_LINE ? ANVIL_E2BIG : 0;
	e = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
	if (e - p > LOAD_MAX_HEADER_LINE)
		return ANVIL_E2BIG;
	if (memchr(p, '\0', (size_t)(e - p)) != NULL)
		return ANVIL_EINVAL;
	*e = '\0';
	c->pos = (size_t)(nl + 1 - c->in);
	*ret_line = p;
	return 1;
}

/* Status line "HTTP/1.x NNN reason".  Returns 0 or ANVIL_EINVAL. */
static int
status_line(struct http_conn *c, const char *line)
{
	if (strncmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' &&
	    line[7] != '1') || line[8] != ' ' || !isdigit((unsigned char)line[9])
	    || !isdigit((unsigned char)line[10]) ||
	    !isdigit((unsigned char)line[11]) ||
	    (line[12] != ' ' && line[12] != '\0'))
		return ANVIL_EINVAL;
	c->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
	    (line[11] - '0');
	if (line[7] == '0')
		c->close_after = 1;
	return 0;
}

/*
 * Advances the parser over what has arrived.  Returns 1 when the answer
 * is complete, 0 when more is needed, or an ANVIL_E* code.  Each pass of
 * the loop consumes input or returns, so it ends.
 */
static int
parse(struct http_conn *c)
{
	char	*line, *end;
	int	 rc;

	for (;;) {
		switch (c->rs) {
		case RS_IDLE:
			return ANVIL_EINVAL;
		case RS_STATUS:
			rc = next_line(c, &line);
			if (rc <= 0)
				return rc;
			rc = status_line(c, line);
			if (rc != 0)
				return rc;
			c->remain = -1;
			c->rs = RS_HEADERS;
			break;
		case RS_HEADERS:
			rc = next_line(c, &line);
			if (rc <= 0)
				return rc;
			if (*line != '\0') {
				if (++c->n_headers > LOAD_MAX_HEADERS)
					return ANVIL_E2BIG;
				rc = header(c, line);
				if (rc != 0)
					return rc;
				break;
			}
			/* End of the headers: how the body is delimited
			 * (RFC 9112 §6.3). */
			c->body_off = c->pos;
			c->body_len = 0;
			if (c->head || c->status == 204 || c->status == 304 ||
			    c->status < 200)
				return 1;
			if (c->chunked)
				c->rs = RS_CHUNK_SIZE;
			else if (c->remain >= 0)
				c->rs = RS_BODY_LEN;
			else {
				c->rs = RS_BODY_EOF;
				c->close_after = 1;
			}
			break;
		case RS_CHUNK_SIZE:
			rc = next_line(c, &line);
			if (rc <= 0)
				return rc;
			errno = 0;
			c->remain = strtoll(line, &end, 16);
			if (end == line || errno != 0 || c->remain < 0 ||
			    c->remain > ANVIL_MAX_RESPONSE_BODY ||
			    (*end != '\0' && *end != ';' && *end != ' '))
				return ANVIL_EINVAL;
			c->rs = c->remain == 0 ? RS_TRAILER : RS_CHUNK_DATA;
			break;
		case RS_BODY_LEN:
			rc = take_body(c);
			if (rc != 0)
				return rc;
			return c->remain == 0 ? 1 : 0;
		case RS_CHUNK_DATA:
			rc = take_body(c);
			if (rc != 0)
				return rc;
			if (c->remain > 0)
				return 0;
			c->rs = RS_CHUNK_END;
			break;
		case RS_CHUNK_END:
		case RS_TRAILER:
			rc = next_line(c, &line);
			if (rc <= 0)
				return rc;
			rc = *line == '\0';
			if (c->rs == RS_CHUNK_END) {
				if (!rc)
					return ANVIL_EINVAL;
				c->rs = RS_CHUNK_SIZE;
			} else if (rc)
				return 1;
			break;
		case RS_BODY_EOF:
			c->remain = ANVIL_MAX_RESPONSE_BODY + 1;
			return take_body(c);
		}
	}
}

/* Room for at least IN_READ_MIN more bytes (and a NUL), up to IN_MAX.
 * Returns 0, ANVIL_E2BIG, ANVIL_ENOMEM. */
static int
in_room(struct http_conn *c)
{
	size_t	 cap;
	char	*p;

	if (c->in_cap - c->in_len > IN_READ_MIN)
		return 0;
	if (c->in_cap > IN_MAX)
		return c->in_len + 1 < c->in_cap ? 0 : ANVIL_E2BIG;
	cap = c->in_cap * 2;
	if (cap > IN_MAX + 1)
		cap = IN_MAX + 1;
	p = realloc(c->in, cap);
	if (p == NULL)
		return ANVIL_ENOMEM;
	c->in = p;
	c->in_cap = cap;
	return 0;
}

/* Reads and parses until the answer is complete or the socket is dry. */
static void
fill(struct http_conn *c)
{
	struct timeval	 tv = { LOAD_IO_TIMEOUT_S, 0 };
	size_t		 n = 0;
	int		 rc;

	for (;;) {
		rc = in_room(c);
		if (rc != 0) {
			fail(c, rc);
			return;
		}
		switch (rd(c, c->in + c->in_len, c->in_cap - c->in_len - 1,
		    &n)) {
		case IO_OK:
			break;
		case IO_WAIT:
			return;
		case IO_EOF:
			if (c->rs == RS_BODY_EOF) {
				complete(c);
				return;
			}
			snprintf(c->err, sizeof(c->err), "connection closed");
			io_error(c, ANVIL_EIO);
			return;
		case IO_ERR:
			io_error(c, ANVIL_EIO);
			return;
		}
		c->in_len += n;
		c->got_bytes = 1;
		rc = parse(c);
		if (rc < 0) {
			fail(c, rc);
			return;
		}
		if (rc == 1) {
			complete(c);
			return;
		}
		/* Something came: the timeout starts again. */
		if (event_add(c->ev_timer, &tv) != 0) {
			fail(c, ANVIL_ENOMEM);
			return;
		}
	}
}

/* Bytes or an EOF on an idle connection: the server closed it (or
 * talks out of turn); either way it is of no more use. */
static void
idle_event(struct http_conn *c)
{
	size_t	 n;

	if (c->cs != CS_OPEN) {
		drop(c);
		return;
	}
	c->in_len = 0;
	c->pos = 0;
	if (rd(c, c->in, c->in_cap - 1, &n) != IO_WAIT)
		drop(c);
}

/* Moves the connection and the request in flight as far as they go. */
static void
pump(struct http_conn *c)
{
	int	 rc;

	if (c->rs == RS_IDLE) {
		idle_event(c);
		return;
	}
	if (c->cs == CS_CONNECTING) {
		rc = finish_connect(c);
		if (rc != 0) {
			io_error(c, rc);
			return;
		}
		if (c->cs == CS_CONNECTING)
			return;
	}
	if (c->cs == CS_HANDSHAKE) {
		rc = handshake(c);
		if (rc < 0) {
			io_error(c, rc);
			return;
		}
		if (rc == 0)
			return;
	}
	rc = flush(c);
	if (rc < 0) {
		io_error(c, rc);
		return;
	}
	if (rc == 0)
		return;
	fill(c);
}

static void
on_io(evutil_socket_t fd, short what, void *arg)
{
	pump(arg);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c = arg;

	if (c->rs == RS_IDLE)
		return;
	snprintf(c->err, sizeof(c->err), "timed out");
	io_error(c, ANVIL_ETIMEDOUT);
}

static void
on_defer(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn	*c = arg;
	int			 err = c->deferred_err;

	c->deferred_err = 0;
	if (c->rs != RS_IDLE && err != 0)
		io_error(c, err);
}

/* Appends v in decimal to b.  Returns 0 or an ANVIL_E* code. */
static int
add_decimal(struct anvil_buf *b, size_t v)
{
	char	 d[24];
	size_t	 i = sizeof(d);

	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return anvil_buf_add(b, d + i, sizeof(d) - i);
}

int
http_conn_request(struct http_conn *c, const char *method, const char *url,
    const char *content_type, const char *body, size_t body_len,
    http_cb cb, void *arg)
{
	struct timeval	 tv = { LOAD_IO_TIMEOUT_S, 0 };
	const char	*path;
	int		 rc;

	if (c->rs != RS_IDLE || strncmp(url, c->origin, c->origin_len) != 0)
		return ANVIL_EINVAL;
	path = url + c->origin_len;
	if (*path != '/' && *path != '\0')
		return ANVIL_EINVAL;
	if (*path == '\0')
		path = "/";
	/* The URL comes from the server: no byte may break the line. */
	if (strlen(path) >= LOAD_MAX_URL || strpbrk(path, " \r\n\t") != NULL)
		return ANVIL_EINVAL;
	/* Put together piece by piece: printf's parsing of the format
	 * cost more than the copies. */
	anvil_buf_reset(&c->req);
	rc = anvil_buf_adds(&c->req, method);
	if (rc == 0)
		rc = anvil_buf_add(&c->req, " ", 1);
	if (rc == 0)
		rc = anvil_buf_adds(&c->req, path);
	if (rc == 0)
		rc = anvil_buf_adds(&c->req, " HTTP/1.1\r\nHost: ");
	if (rc == 0)
		rc = anvil_buf_adds(&c->req, c->authority);
	if (rc == 0)
		rc = anvil_buf_adds(&c->req, "\r\nUser-Agent: anvil-load\r\n"
		    "Accept: */*\r\n");
	if (rc == 0 && (body != NULL || strcmp(method, "POST") == 0)) {
		rc = anvil_buf_adds(&c->req, "Content-Type: ");
		if (rc == 0)
			rc = anvil_buf_adds(&c->req, content_type != NULL ?
			    content_type : "application/octet-stream");
		if (rc == 0)
			rc = anvil_buf_adds(&c->req, "\r\nContent-Length: ");
		if (rc == 0)
			rc = add_decimal(&c->req, body_len);
		if (rc == 0)
			rc = anvil_buf_adds(&c->req, "\r\n");
	}
	if (rc == 0)
		rc = anvil_buf_adds(&c->req, "\r\n");
	if (rc == 0 && body_len > 0)
		rc = anvil_buf_add(&c->req, body, body_len);
	if (rc != 0)
		return rc;
	if (event_add(c->ev_timer, &tv) != 0)
		return ANVIL_ENOMEM;
	c->req_off = 0;
	c->head = strcmp(method, "HEAD") == 0;
	c->cb = cb;
	c->cb_arg = arg;
	c->resent = 0;
	c->got_bytes = 0;
	c->close_after = 0;
	c->chunked = 0;
	c->n_headers = 0;
	c->status = 0;
	c->retry_after = -1;
	c->nonce_off = c->location_off = c->ctype_off = NO_OFF;
	/* The previous answer is no longer referenced: only the offsets
	 * start again, the bytes are overwritten by the next read. */
	c->in_len = 0;
	c->pos = 0;
	c->body_off = c->body_len = 0;
	c->rs = RS_STATUS;
	c->err[0] = '\0';
	/* Written now when the connection is open (the answer is read from
	 * the loop); a failure is reported from the loop too, never from
	 * inside this call. */
	if (c->cs == CS_CLOSED)
		rc = start_connect(c);
	else if (c->cs == CS_OPEN)
		rc = flush(c) < 0 ? ANVIL_EIO : 0;
	if (rc != 0) {
		c->deferred_err = rc;
		event_active(c->ev_defer, EV_TIMEOUT, 1);
	}
	return 0;
}
