/*
 * https.c - the requests and answers of one issuance over HTTPS:
 * FLOOR_EXCHANGES requests and answers, of the sizes anvil-ca's TLS
 * records have in this flow, over keep-alive TLS connections on
 * loopback (their handshakes not counted: a client makes one for many
 * issuances).
 *
 * The server side is the cheapest a server can be: o->conns connections
 * (as many as anvil-load's workers) on one thread, one epoll_wait(2) for
 * every connection ready at once, read-ahead (one read(2) per request
 * instead of OpenSSL's two, one for the record header, and none that
 * would only say EAGAIN), one write(2) per answer, TCP_NODELAY,
 * OpenSSL's default TLS 1.3 suites.  No HTTP parsing: the bytes are only
 * moved.  The client side (another thread, the same way) is timed
 * apart: the peer's share.  One message at a time per connection, as
 * HTTP/1.1 without pipelining.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "floor.h"

#define WARMUP		20	/* issuances before the timed ones */
#define IO_TIMEOUT_S	10	/* a peer that stops answering */

/*
 * The TLS record sizes of the flow, less TLS 1.3's 22 bytes of header,
 * content type and tag: what anvil-ca read and wrote per issuance
 * (strace of anvil-ca under anvil-load, concurrency 1, HEAD aa175a0):
 * records of 556, 559, 577, 610 and 1,111 bytes in, 533, 625, 701, 881
 * and 2,011 out (the last the certificate chain).
 */
static const size_t req_len[FLOOR_EXCHANGES] = { 534, 537, 555, 588, 1089 };
static const size_t ans_len[FLOOR_EXCHANGES] = { 511, 603, 679, 859, 1989 };

/* What every request and answer carries (their bytes do not matter):
 * filled once, before the threads start, and only read after.  The
 * longest message, 1,989 bytes, fits. */
static unsigned char payload[2048];

struct tls_run {
	const struct floor_opts	*o;
	SSL_CTX		*sctx;
	SSL_CTX		*cctx;
	int		 lfd;		/* listening, 127.0.0.1 */
	struct sockaddr_in addr;	/* where it listens */
	double		 srv_cpu;	/* each side's, timed part */
	double		 cli_cpu;
	int		 srv_rc;	/* 0 when the server side succeeded */
	int		 cli_rc;
};

/* One connection, either side: the exchange it is at and what it has
 * read of the current message. */
struct conn {
	SSL		*ssl;
	int		 fd;
	unsigned	 j;		/* index into req_len, ans_len */
	size_t		 got;
	int		 busy;		/* a message is due on it */
};

/* A self-signed P-256 certificate and its key on ctx; 0 or -1. */
static int
ctx_cert(SSL_CTX *ctx)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	X509_NAME	*n;
	int		 rc = -1;

	key = EVP_EC_gen("P-256");
	x = X509_new();
	if (key == NULL || x == NULL ||
	    X509_set_version(x, X509_VERSION_3) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(x), 1) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), 0) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), 3600) == NULL ||
	    X509_set_pubkey(x, key) != 1)
		goto out;
	n = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)"anvil-floor", -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, n) != 1 ||
	    X509_sign(x, key, EVP_sha256()) == 0 ||
	    SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, key) != 1)
		goto out;
	rc = 0;
out:
	X509_free(x);
	EVP_PKEY_free(key);
	return rc;
}

/* Bounds every read and write of fd, and turns Nagle off; 0 or -1. */
static int
sock_setup(int fd)
{
	struct timeval	 tv = { IO_TIMEOUT_S, 0 };
	int		 one = 1;

	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return -1;
	return 0;
}

/* Writes len bytes (one record: they fit in 16 KB); 0 or -1. */
static int
write_all(SSL *ssl, const unsigned char *buf, size_t len)
{
	return SSL_write(ssl, buf, (int)len) == (int)len ? 0 : -1;
}

/*
 * Reads what c's socket has.  Each time the message it waits for
 * (want[c->j] bytes) is complete, *done grows by one and then, if
 * *sent < total, the next message (send[...]) goes out (*sent grows).
 * Stops when OpenSSL holds nothing more and the socket would block: no
 * read(2) that is sure to fail.  0; 1 when the peer closed a connection
 * on which no message was due (its side is done); -1.
 */
static int
conn_read(struct conn *c, const size_t *want, const size_t *send,
    int answers, unsigned long *done, unsigned long *sent,
    unsigned long total)
{
	unsigned char	 buf[4096];
	int		 n;

	for (;;) {
		n = SSL_read(c->ssl, buf, sizeof(buf));
		if (n <= 0 &&
		    SSL_get_error(c->ssl, n) == SSL_ERROR_WANT_READ)
			return 0;
		if (n <= 0)
			return c->busy || c->got != 0 ? -1 : 1;
		c->got += (size_t)n;
		if (c->got > want[c->j])
			return -1;	/* one message at a time */
		if (c->got == want[c->j]) {
			c->got = 0;
			c->busy = answers;
			(*done)++;
			/* The server answers the request it read (answers);
			 * the client sends the request after the answer it
			 * read. */
			if (!answers)
				c->j = (c->j + 1) % FLOOR_EXCHANGES;
			if (*sent < total) {
				if (write_all(c->ssl, payload,
				    send[c->j]) != 0)
					return -1;
				(*sent)++;
				c->busy = 1;
			}
			if (answers)
				c->j = (c->j + 1) % FLOOR_EXCHANGES;
		}
		if (!SSL_has_pending(c->ssl) && c->got == 0)
			return 0;
	}
}

/* Sets fd non-blocking and adds it to ep with c; 0 or -1. */
static int
conn_watch(int ep, struct conn *c)
{
	struct epoll_event	 ev;
	int			 fl;

	fl = fcntl(c->fd, F_GETFL);
	if (fl == -1 || fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = c;
	return epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
}

/*
 * The loop of one side over its nc connections c: until *done reaches
 * total, reads each ready connection (conn_read).  The clock starts once
 * warm messages are done (the warm-up).  0 or -1.
 */
static int
side_loop(int ep, struct conn *c, unsigned nc, const size_t *want,
    const size_t *send, int answers, unsigned long *sent,
    unsigned long total, unsigned long warm, double *ret_cpu)
{
	struct epoll_event	 evs[64];
	struct conn		*r;
	unsigned long		 done = 0;
	double			 t0 = 0;
	unsigned		 k;
	int			 i, n, rc, timing = warm == 0;

	if (timing)
		t0 = floor_thread_cpu();
	/* With read-ahead, the handshake may have read the first message
	 * already: it is in OpenSSL, no longer in the socket, and epoll
	 * would never say so. */
	for (k = 0; k < nc; k++)
		if (SSL_has_pending(c[k].ssl) && conn_read(&c[k], want, send,
		    answers, &done, sent, total) < 0)
			return -1;
	while (done < total) {
		n = epoll_wait(ep, evs, 64, IO_TIMEOUT_S * 1000);
		if (n <= 0)
			return -1;
		for (i = 0; i < n && done < total; i++) {
			r = evs[i].data.ptr;
			rc = conn_read(r, want, send, answers, &done, sent,
			    total);
			if (rc < 0)
				return -1;
			/* Closed by a peer that is done: out of the set. */
			if (rc == 1 &&
			    epoll_ctl(ep, EPOLL_CTL_DEL, r->fd, NULL) != 0)
				return -1;
			if (!timing && done >= warm) {
				timing = 1;
				t0 = floor_thread_cpu();
			}
		}
	}
	*ret_cpu = floor_thread_cpu() - t0;
	return 0;
}

/* One side's connections and its epoll set. */
struct side {
	struct conn	*c;
	unsigned	 nc;
	int		 ep;
};

static void
side_close(struct side *sd)
{
	unsigned	 i;

	if (sd->ep != -1)
		(void)close(sd->ep);
	for (i = 0; sd->c != NULL && i < sd->nc; i++) {
		SSL_free(sd->c[i].ssl);
		if (sd->c[i].fd != -1)
			(void)close(sd->c[i].fd);	/* the peer sees EOF */
	}
	free(sd->c);
	ERR_clear_error();
}

/* nc connections not yet made, and an epoll set; 0 or -1 (then
 * side_close). */
static int
side_open(struct side *sd, unsigned nc)
{
	unsigned	 i;

	sd->nc = nc;
	sd->ep = epoll_create1(EPOLL_CLOEXEC);
	sd->c = calloc(nc, sizeof(*sd->c));
	if (sd->c == NULL || sd->ep == -1)
		return -1;
	for (i = 0; i < nc; i++)
		sd->c[i].fd = -1;
	return 0;
}

static void *
server_main(void *arg)
{
	struct tls_run	*t = arg;
	struct side	 sd;
	struct conn	*c;
	unsigned long	 total, sent = 0;
	unsigned	 i;

	t->srv_rc = -1;
	total = (unsigned long)(WARMUP + t->o->count) * FLOOR_EXCHANGES;
	if (side_open(&sd, t->o->conns) != 0)
		goto out;
	/* The handshakes, one after the other, blocking. */
	for (i = 0; i < sd.nc; i++) {
		c = &sd.c[i];
		c->fd = accept4(t->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (c->fd == -1 || sock_setup(c->fd) != 0)
			goto out;
		c->ssl = SSL_new(t->sctx);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
		    SSL_accept(c->ssl) != 1 || conn_watch(sd.ep, c) != 0)
			goto out;
		c->busy = 1;	/* its requests, until the last */
	}
	/* Every answer is sent as its request is read. */
	if (side_loop(sd.ep, sd.c, sd.nc, req_len, ans_len, 1, &sent, total,
	    (unsigned long)WARMUP * FLOOR_EXCHANGES, &t->srv_cpu) != 0)
		goto out;
	t->srv_rc = 0;
out:
	side_close(&sd);
	return NULL;
}

static void *
client_main(void *arg)
{
	struct tls_run	*t = arg;
	struct side	 sd;
	struct conn	*c;
	unsigned long	 total, sent = 0;
	unsigned	 i;

	t->cli_rc = -1;
	total = (unsigned long)(WARMUP + t->o->count) * FLOOR_EXCHANGES;
	if (side_open(&sd, t->o->conns) != 0)
		goto out;
	for (i = 0; i < sd.nc; i++) {
		c = &sd.c[i];
		c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (c->fd == -1 || sock_setup(c->fd) != 0 ||
		    connect(c->fd, (struct sockaddr *)&t->addr,
		    sizeof(t->addr)) != 0)
			goto out;
		c->ssl = SSL_new(t->cctx);
		if (c->ssl == NULL || SSL_set_fd(c->ssl, c->fd) != 1 ||
		    SSL_connect(c->ssl) != 1 || conn_watch(sd.ep, c) != 0)
			goto out;
	}
	/* Each connection's first request; the next ones follow the
	 * answers (conn_read). */
	for (i = 0; i < sd.nc && sent < total; i++, sent++) {
		if (write_all(sd.c[i].ssl, payload, req_len[0]) != 0)
			goto out;
		sd.c[i].busy = 1;
	}
	if (side_loop(sd.ep, sd.c, sd.nc, ans_len, req_len, 0, &sent, total,
	    (unsigned long)WARMUP * FLOOR_EXCHANGES, &t->cli_cpu) != 0)
		goto out;
	t->cli_rc = 0;
out:
	side_close(&sd);
	return NULL;
}

int
floor_https(const struct floor_opts *o, double *ret_ms, double *ret_peer_ms)
{
	struct tls_run	 t;
	socklen_t	 alen = sizeof(t.addr);
	pthread_t	 srv, cli;
	int		 rc = -1;

	memset(&t, 0, sizeof(t));
	memset(payload, 'p', sizeof(payload));
	t.o = o;
	t.lfd = -1;
	t.sctx = SSL_CTX_new(TLS_server_method());
	t.cctx = SSL_CTX_new(TLS_client_method());
	if (t.sctx == NULL || t.cctx == NULL || ctx_cert(t.sctx) != 0) {
		fprintf(stderr, "anvil-floor: https: TLS set-up failed\n");
		goto out;
	}
	/* The client does not check the certificate: what is measured
	 * is the server's side of an established connection. */
	SSL_CTX_set_verify(t.cctx, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_read_ahead(t.sctx, 1);
	SSL_CTX_set_read_ahead(t.cctx, 1);

	t.addr.sin_family = AF_INET;
	t.addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	t.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	/* sock_setup bounds accept(2) too (SO_RCVTIMEO): a client that
	 * never connects does not hold the server thread. */
	if (t.lfd == -1 || sock_setup(t.lfd) != 0 ||
	    bind(t.lfd, (struct sockaddr *)&t.addr, sizeof(t.addr)) != 0 ||
	    getsockname(t.lfd, (struct sockaddr *)&t.addr, &alen) != 0 ||
	    listen(t.lfd, 128) != 0) {
		fprintf(stderr, "anvil-floor: https: cannot listen on "
		    "127.0.0.1: %s\n", strerror(errno));
		goto out;
	}
	if (pthread_create(&srv, NULL, server_main, &t) != 0)
		goto out;
	if (pthread_create(&cli, NULL, client_main, &t) != 0) {
		/* The server's accept times out and it ends. */
		(void)pthread_join(srv, NULL);
		goto out;
	}
	(void)pthread_join(cli, NULL);
	(void)pthread_join(srv, NULL);
	if (t.srv_rc != 0 || t.cli_rc != 0) {
		fprintf(stderr, "anvil-floor: https: the exchange failed\n");
		goto out;
	}
	*ret_ms = t.srv_cpu * 1e3 / o->count;
	*ret_peer_ms = t.cli_cpu * 1e3 / o->count;
	rc = 0;
out:
	ERR_clear_error();
	if (t.lfd != -1)
		(void)close(t.lfd);
	SSL_CTX_free(t.sctx);
	SSL_CTX_free(t.cctx);
	return rc;
}
