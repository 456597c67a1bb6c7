/*
 * http.c - anvil-load's HTTP/1.1 client: one keep-alive connection on a
 * bufferevent (bufferevent_openssl for https), one request at a time.
 *
 * Why not evhttp's client: it re-connects a dropped keep-alive connection
 * by re-using the bufferevent, which an OpenSSL bufferevent cannot do, and
 * its requests carry more machinery than a load driver should spend CPU
 * on.  This one parses only what ACME needs: the status, Replay-Nonce,
 * Location, Retry-After, Content-Type, and a body sized by Content-Length,
 * chunked encoding or the end of the connection, every part bounded.
 *
 * A request sent on a re-used connection that the server had closed
 * meanwhile (no byte of answer, then EOF) is sent once more on a new
 * connection; any other failure goes to the caller.
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

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "load.h"

#define REQ_MAX (ANVIL_MAX_REQUEST_BODY + 4096)	/* one request's bytes */

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

struct http_conn {
	struct event_base	*base;
	SSL_CTX			*ctx;		/* borrowed; NULL for http */
	char			*origin;	/* "https://host:port"; malloc() */
	size_t			 origin_len;
	char			*host;		/* for SNI and checks; malloc() */
	char			*authority;	/* Host header; malloc() */
	struct sockaddr_storage	 addr;
	socklen_t		 addr_len;

	struct bufferevent	*bev;		/* NULL when not connected */
	int			 reused;	/* bev has answered before */
	int			 resent;	/* this request was resent */
	int			 got_bytes;	/* answer started */
	int			 head;		/* request is HEAD */
	int			 close_after;	/* server will not keep it */
	int			 chunked;	/* Transfer-Encoding: chunked */
	struct anvil_buf	 req;		/* request bytes, for a resend */
	enum rstate		 rs;
	int64_t			 remain;
	unsigned		 n_headers;
	struct http_resp	 resp;
	http_cb			 cb;
	void			*cb_arg;
	char			 err[256];
};

static void	on_read(struct bufferevent *, void *);
static void	on_event(struct bufferevent *, short, void *);

static void
resp_clear(struct http_resp *r)
{
	free(r->nonce);
	free(r->location);
	free(r->content_type);
	anvil_buf_free(&r->body);
	memset(r, 0, sizeof(*r));
	r->retry_after = -1;
	anvil_buf_init(&r->body, ANVIL_MAX_RESPONSE_BODY);
}

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
	anvil_buf_init(&c->req, REQ_MAX);
	resp_clear(&c->resp);
	rc = parse_origin(c, url, port, sizeof(port));
	if (rc != 0)
		goto fail;
	c->ctx = strncmp(url, "https:", 6) == 0 ? ctx : NULL;
	if (c->ctx == NULL && strncmp(url, "https:", 6) == 0) {
		rc = ANVIL_EINVAL;
		goto fail;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(c->host, port, &hints, &ai) != 0 || ai == NULL ||
	    ai->ai_addrlen > sizeof(c->addr)) {
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

/* Drops the connection (the request bytes stay, for a resend). */
static void
drop(struct http_conn *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	c->reused = 0;
}

void
http_conn_free(struct http_conn *c)
{
	if (c == NULL)
		return;
	drop(c);
	anvil_buf_free(&c->req);
	resp_clear(&c->resp);
	anvil_buf_free(&c->resp.body);
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

/* Opens the connection and queues the request bytes.  Returns 0,
 * ANVIL_EIO, ANVIL_ENOMEM. */
static int
connect_and_send(struct http_conn *c)
{
	struct timeval	 tv = { LOAD_IO_TIMEOUT_S, 0 };
	SSL		*ssl = NULL;
	int		 rc = ANVIL_EIO;

	if (c->bev == NULL) {
		if (c->ctx != NULL) {
			ssl = SSL_new(c->ctx);
			if (ssl == NULL ||
			    SSL_set_tlsext_host_name(ssl, c->host) != 1)
				goto out;
			/* An IP literal is checked as an IP, a name as a
			 * DNS name (RFC 6125). */
			if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl),
			    c->host) != 1 && SSL_set1_host(ssl, c->host) != 1)
				goto out;
			c->bev = bufferevent_openssl_socket_new(c->base, -1,
			    ssl, BUFFEREVENT_SSL_CONNECTING,
			    BEV_OPT_CLOSE_ON_FREE);
			if (c->bev == NULL)
				goto out;
			ssl = NULL;	/* the bufferevent frees it */
			bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		} else {
			c->bev = bufferevent_socket_new(c->base, -1,
			    BEV_OPT_CLOSE_ON_FREE);
			if (c->bev == NULL)
				goto out;
		}
		bufferevent_setcb(c->bev, on_read, NULL, on_event, c);
		bufferevent_set_timeouts(c->bev, &tv, &tv);
		if (bufferevent_enable(c->bev, EV_READ | EV_WRITE) != 0 ||
		    bufferevent_socket_connect(c->bev,
		    (struct sockaddr *)&c->addr, c->addr_len) != 0) {
			drop(c);
			goto out;
		}
	}
	if (bufferevent_write(c->bev, c->req.data, c->req.len) != 0)
		goto out;
	rc = 0;
out:
	SSL_free(ssl);
	return rc;
}

int
http_conn_request(struct http_conn *c, const char *method, const char *url,
    const char *content_type, const char *body, size_t body_len,
    http_cb cb, void *arg)
{
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
	anvil_buf_reset(&c->req);
	rc = anvil_buf_addf(&c->req, "%s %s HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: anvil-load\r\nAccept: */*\r\n", method, path,
	    c->authority);
	if (rc == 0 && (body != NULL || strcmp(method, "POST") == 0))
		rc = anvil_buf_addf(&c->req, "Content-Type: %s\r\n"
		    "Content-Length: %zu\r\n", content_type != NULL ?
		    content_type : "application/octet-stream", body_len);
	if (rc == 0)
		rc = anvil_buf_adds(&c->req, "\r\n");
	if (rc == 0 && body_len > 0)
		rc = anvil_buf_add(&c->req, body, body_len);
	if (rc != 0)
		return rc;
	c->head = strcmp(method, "HEAD") == 0;
	c->cb = cb;
	c->cb_arg = arg;
	c->resent = 0;
	c->got_bytes = 0;
	c->close_after = 0;
	c->chunked = 0;
	c->n_headers = 0;
	resp_clear(&c->resp);
	c->rs = RS_STATUS;
	c->err[0] = '\0';
	rc = connect_and_send(c);
	if (rc != 0) {
		c->rs = RS_IDLE;
		return rc;
	}
	return 0;
}

/* Ends the request with err (never 0): the caller's callback runs. */
static void
fail(struct http_conn *c, int err)
{
	http_cb	 cb = c->cb;

	drop(c);
	c->rs = RS_IDLE;
	resp_clear(&c->resp);
	cb(c->cb_arg, err, NULL);
}

/* Ends the request with the parsed answer. */
static void
complete(struct http_conn *c)
{
	struct http_resp	 r = c->resp;
	http_cb			 cb = c->cb;

	memset(&c->resp, 0, sizeof(c->resp));
	resp_clear(&c->resp);
	c->rs = RS_IDLE;
	if (c->close_after)
		drop(c);
	else
		c->reused = 1;
	cb(c->cb_arg, 0, &r);
	resp_clear(&r);
	anvil_buf_free(&r.body);
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

/* Copies a header value, at most LOAD_MAX_HEADER_LINE.  Returns 0 or
 * ANVIL_ENOMEM. */
static int
keep(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	return *dst == NULL ? ANVIL_ENOMEM : 0;
}

/* One "Name: value" line.  Returns 0 or an ANVIL_E* code. */
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
		return keep(&c->resp.nonce, v);
	}
	if (strcasecmp(line, "Location") == 0) {
		if (strlen(v) >= LOAD_MAX_URL)
			return ANVIL_E2BIG;
		return keep(&c->resp.location, v);
	}
	if (strcasecmp(line, "Content-Type") == 0)
		return keep(&c->resp.content_type, v);
	if (strcasecmp(line, "Retry-After") == 0) {
		c->resp.retry_after = parse_retry_after(v);
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

/* Moves up to c->remain bytes of in into the body.  Returns 0 or an
 * ANVIL_E* code. */
static int
take_body(struct http_conn *c, struct evbuffer *in)
{
	size_t		 n = evbuffer_get_length(in);
	unsigned char	*p;
	int		 rc;

	if ((int64_t)n > c->remain)
		n = (size_t)c->remain;
	if (n == 0)
		return 0;
	p = evbuffer_pullup(in, n);
	if (p == NULL)
		return ANVIL_ENOMEM;
	rc = anvil_buf_add(&c->resp.body, p, n);
	if (rc != 0)
		return rc;
	(void)evbuffer_drain(in, n);
	c->remain -= n;
	return 0;
}

/*
 * Reads one line of in.  Returns 1 and *ret_line (free()), 0 when the line
 * is not complete yet, ANVIL_E2BIG when it is too long.
 */
static int
read_line(struct evbuffer *in, char **ret_line)
{
	size_t	 n;
	char	*line;

	line = evbuffer_readln(in, &n, EVBUFFER_EOL_CRLF);
	if (line == NULL)
		return evbuffer_get_length(in) > LOAD_MAX_HEADER_LINE ?
		    ANVIL_E2BIG : 0;
	if (n > LOAD_MAX_HEADER_LINE || strlen(line) != n) {
		free(line);
		return n > LOAD_MAX_HEADER_LINE ? ANVIL_E2BIG : ANVIL_EINVAL;
	}
	*ret_line = line;
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
	c->resp.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 +
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
parse(struct http_conn *c, struct evbuffer *in)
{
	char	*line = NULL;
	char	*end;
	int	 rc;

	for (;;) {
		switch (c->rs) {
		case RS_IDLE:
			return ANVIL_EINVAL;
		case RS_STATUS:
			rc = read_line(in, &line);
			if (rc <= 0)
				return rc;
			rc = status_line(c, line);
			free(line);
			if (rc != 0)
				return rc;
			c->remain = -1;
			c->rs = RS_HEADERS;
			break;
		case RS_HEADERS:
			rc = read_line(in, &line);
			if (rc <= 0)
				return rc;
			if (*line != '\0') {
				if (++c->n_headers > LOAD_MAX_HEADERS) {
					free(line);
					return ANVIL_E2BIG;
				}
				rc = header(c, line);
				free(line);
				if (rc != 0)
					return rc;
				break;
			}
			free(line);
			/* End of the headers: how the body is delimited
			 * (RFC 9112 §6.3). */
			if (c->head || c->resp.status == 204 ||
			    c->resp.status == 304 || c->resp.status < 200)
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
			rc = read_line(in, &line);
			if (rc <= 0)
				return rc;
			errno = 0;
			c->remain = strtoll(line, &end, 16);
			rc = end == line || errno != 0 || c->remain < 0 ||
			    c->remain > ANVIL_MAX_RESPONSE_BODY ||
			    (*end != '\0' && *end != ';' && *end != ' ');
			free(line);
			if (rc)
				return ANVIL_EINVAL;
			c->rs = c->remain == 0 ? RS_TRAILER : RS_CHUNK_DATA;
			break;
		case RS_BODY_LEN:
			rc = take_body(c, in);
			if (rc != 0)
				return rc;
			if (c->remain == 0)
				return 1;
			return 0;
		case RS_CHUNK_DATA:
			rc = take_body(c, in);
			if (rc != 0)
				return rc;
			if (c->remain > 0)
				return 0;
			c->rs = RS_CHUNK_END;
			break;
		case RS_CHUNK_END:
		case RS_TRAILER:
			rc = read_line(in, &line);
			if (rc <= 0)
				return rc;
			rc = *line == '\0';
			free(line);
			if (c->rs == RS_CHUNK_END) {
				if (!rc)
					return ANVIL_EINVAL;
				c->rs = RS_CHUNK_SIZE;
			} else if (rc)
				return 1;
			break;
		case RS_BODY_EOF:
			c->remain = ANVIL_MAX_RESPONSE_BODY + 1;
			rc = take_body(c, in);
			return rc;
		}
	}
}

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct http_conn	*c = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	int			 rc;

	if (c->rs == RS_IDLE) {
		/* Bytes nobody asked for: the connection is unusable. */
		drop(c);
		return;
	}
	c->got_bytes = 1;
	rc = parse(c, in);
	if (rc < 0)
		fail(c, rc);
	else if (rc == 1)
		complete(c);
}

/* Records the TLS or socket error text of the connection. */
static void
note_error(struct http_conn *c, struct bufferevent *bev, short what)
{
	unsigned long	 e;
	int		 serr;

	e = bufferevent_get_openssl_error(bev);
	/* Library 0 carries a system error, which errno tells better. */
	if (c->ctx != NULL && e != 0 && ERR_GET_LIB(e) != 0) {
		ERR_error_string_n(e, c->err, sizeof(c->err));
		return;
	}
	serr = EVUTIL_SOCKET_ERROR();
	if (what & BEV_EVENT_TIMEOUT)
		snprintf(c->err, sizeof(c->err), "timed out");
	else if (what & BEV_EVENT_EOF)
		snprintf(c->err, sizeof(c->err), "connection closed");
	else
		snprintf(c->err, sizeof(c->err), "%s",
		    evutil_socket_error_to_string(serr));
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct http_conn	*c = arg;
	int			 fd, one = 1;

	if (what & BEV_EVENT_CONNECTED) {
		fd = bufferevent_getfd(bev);
		if (fd >= 0)
			(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
			    sizeof(one));
		return;
	}
	if (c->rs == RS_IDLE) {
		/* The server closed an idle keep-alive connection. */
		drop(c);
		return;
	}
	if ((what & BEV_EVENT_EOF) && c->rs == RS_BODY_EOF) {
		/* Drain what came with the EOF, then the body is whole. */
		if (parse(c, bufferevent_get_input(bev)) < 0) {
			fail(c, ANVIL_E2BIG);
			return;
		}
		complete(c);
		return;
	}
	note_error(c, bev, what);
	if (c->reused && !c->got_bytes && !c->resent &&
	    !(what & BEV_EVENT_TIMEOUT)) {
		/* The server dropped a kept-alive connection before our
		 * request reached it: once more on a fresh one. */
		drop(c);
		c->resent = 1;
		if (connect_and_send(c) == 0)
			return;
	}
	fail(c, (what & BEV_EVENT_TIMEOUT) ? ANVIL_ETIMEDOUT : ANVIL_EIO);
}
