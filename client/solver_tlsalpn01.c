/*
 * solver_tlsalpn01.c - the built-in tls-alpn-01 responder (RFC 8737).
 *
 * Like the http-01 responder (solver_http01.c): bound in start(), one
 * thread with a poll() loop over the listener and a stop pipe, one
 * connection at a time, each bounded to IO_TIMEOUT seconds, closed in
 * cleanup().  A connection gets a TLS handshake only:
 *   - the client must offer ALPN "acme-tls/1" (§3: else no handshake);
 *   - SNI picks the certificate of that name, self-signed with the
 *     critical acmeIdentifier extension holding SHA-256 of the key
 *     authorization (anvil_tlsalpn_cert_new);
 *   - no application data: the handshake is the answer, then close.
 * One P-256 key signs every certificate of the order; it lives only in
 * memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/time.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "solver.h"

#define IO_TIMEOUT	5	/* seconds per connection */

/* RFC 8737 §6.2: the ALPN protocol ID, as sent on the wire. */
static const unsigned char acme_tls_1[] = "\x0a" "acme-tls/1";

struct answer {
	char	*name;		/* malloc() */
	X509	*cert;
	int	 served;	/* a handshake completed with it */
};

struct tla {
	int		 fd;		/* listener */
	int		 stop[2];
	pthread_t	 thread;
	int		 running;
	SSL_CTX		*ctx;
	EVP_PKEY	*key;
	pthread_mutex_t	 mu;		/* guards ans, n and n_served */
	pthread_cond_t	 cv;		/* signalled when n_served grows */
	struct answer	 ans[AG_MAX_AUTHZ];
	size_t		 n;
	size_t		 n_served;	/* answers served at least once */
};

/* ALPN: accept only acme-tls/1 (RFC 8737 §3). */
static int
on_alpn(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	unsigned int	 i = 0;

	/* Walks the length-prefixed list; each step moves forward. */
	while (i < inlen) {
		if (in[i] == acme_tls_1[0] && i + 1 + in[i] <= inlen &&
		    memcmp(in + i + 1, acme_tls_1 + 1, in[i]) == 0) {
			*out = in + i + 1;
			*outlen = in[i];
			return SSL_TLSEXT_ERR_OK;
		}
		i += 1u + in[i];
	}
	return SSL_TLSEXT_ERR_ALERT_FATAL;
}

/* A ClientHello without ALPN gets no handshake (the ALPN callback only
 * runs when the extension is there). */
static int
on_hello(SSL *ssl, int *alert, void *arg)
{
	const unsigned char	*ext;
	size_t			 len;

	if (SSL_client_hello_get0_ext(ssl,
	    TLSEXT_TYPE_application_layer_protocol_negotiation, &ext,
	    &len) != 1) {
		*alert = SSL_AD_NO_APPLICATION_PROTOCOL;
		return SSL_CLIENT_HELLO_ERROR;
	}
	return SSL_CLIENT_HELLO_SUCCESS;
}

/* SNI: the certificate of the name asked for, or a fatal alert. */
static int
on_sni(SSL *ssl, int *alert, void *arg)
{
	struct tla	*t = arg;
	const char	*name;
	X509		*cert = NULL;
	size_t		 i;

	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	(void)pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n; i++) {
		if (strcasecmp(t->ans[i].name, name) == 0) {
			cert = t->ans[i].cert;
			break;
		}
	}
	(void)pthread_mutex_unlock(&t->mu);
	if (cert == NULL || SSL_use_certificate(ssl, cert) != 1 ||
	    SSL_use_PrivateKey(ssl, t->key) != 1) {
		*alert = SSL_AD_UNRECOGNIZED_NAME;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

/* The CA completed a handshake for name: order.c may start polling. */
static void
mark_served(struct tla *t, const char *name)
{
	size_t	 i;

	if (name == NULL)
		return;
	(void)pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n; i++) {
		if (strcasecmp(t->ans[i].name, name) == 0 &&
		    !t->ans[i].served) {
			t->ans[i].served = 1;
			t->n_served++;
			(void)pthread_cond_broadcast(&t->cv);
			break;
		}
	}
	(void)pthread_mutex_unlock(&t->mu);
}

static void
serve_one(struct tla *t, int fd)
{
	struct timeval	 tv = { IO_TIMEOUT, 0 };
	SSL		*ssl;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(t->ctx);
	if (ssl == NULL)
		return;
	if (SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
		mark_served(t, SSL_get_servername(ssl,
		    TLSEXT_NAMETYPE_host_name));
		(void)SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	ERR_clear_error();
}

static void *
serve(void *arg)
{
	struct tla	*t = arg;
	struct pollfd	 pfd[2];
	int		 c;

	for (;;) {
		pfd[0].fd = t->fd;
		pfd[0].events = POLLIN;
		pfd[1].fd = t->stop[0];
		pfd[1].events = POLLIN;
		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		c = accept4(t->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c == -1)
			continue;
		serve_one(t, c);
		(void)close(c);
	}
	ERR_clear_error();
	return NULL;
}

static void
tla_cleanup(struct ag_solver *s)
{
	struct tla	*t = s->priv;
	size_t		 i;

	if (t == NULL)
		return;
	if (t->running) {
		(void)write(t->stop[1], "x", 1);
		(void)pthread_join(t->thread, NULL);
	}
	if (t->fd >= 0)
		(void)close(t->fd);
	if (t->stop[0] >= 0)
		(void)close(t->stop[0]);
	if (t->stop[1] >= 0)
		(void)close(t->stop[1]);
	for (i = 0; i < t->n; i++) {
		free(t->ans[i].name);
		X509_free(t->ans[i].cert);
	}
	SSL_CTX_free(t->ctx);
	EVP_PKEY_free(t->key);
	(void)pthread_cond_destroy(&t->cv);
	(void)pthread_mutex_destroy(&t->mu);
	free(t);
	s->priv = NULL;
}

static int
tla_start(struct ag_solver *s)
{
	struct tla	*t;
	sigset_t	 all, old;
	int		 rc;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return ANVIL_ENOMEM;
	t->fd = t->stop[0] = t->stop[1] = -1;
	(void)pthread_mutex_init(&t->mu, NULL);
	(void)pthread_cond_init(&t->cv, NULL);
	s->priv = t;
	rc = anvil_key_generate(ANVIL_KEY_EC256, &t->key);
	if (rc != 0) {
		ag_err("tls-alpn-01: cannot make a key: %s",
		    anvil_strerror(rc));
		goto fail;
	}
	rc = ANVIL_ECRYPTO;
	t->ctx = SSL_CTX_new(TLS_server_method());
	if (t->ctx == NULL ||
	    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1) {
		ag_err("tls-alpn-01: cannot set up TLS");
		goto fail;
	}
	SSL_CTX_set_client_hello_cb(t->ctx, on_hello, t);
	SSL_CTX_set_alpn_select_cb(t->ctx, on_alpn, t);
	SSL_CTX_set_tlsext_servername_callback(t->ctx, on_sni);
	SSL_CTX_set_tlsext_servername_arg(t->ctx, t);
	t->fd = ag_solver_listen(s->conf.port);
	if (t->fd < 0) {
		rc = t->fd;
		ag_err("tls-alpn-01: cannot listen on port %d: %s%s",
		    s->conf.port, strerror(-rc), rc == -EACCES ?
		    " (ports below 1024 need root or CAP_NET_BIND_SERVICE)" :
		    rc == -EADDRINUSE ? " (a web server there? use --webroot)" :
		    "");
		goto fail;
	}
	if (pipe2(t->stop, O_CLOEXEC) != 0) {
		rc = -errno;
		ag_err("tls-alpn-01: pipe: %s", strerror(errno));
		goto fail;
	}
	(void)sigfillset(&all);
	(void)pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(&t->thread, NULL, serve, t);
	(void)pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		ag_err("tls-alpn-01: cannot start the responder: %s",
		    strerror(rc));
		rc = -rc;
		goto fail;
	}
	t->running = 1;
	return 0;
fail:
	ERR_clear_error();
	tla_cleanup(s);
	return rc;
}

static int
tla_add(struct ag_solver *s, const char *name, const char *token,
    const char *keyauth)
{
	struct tla	*t = s->priv;
	uint8_t		 digest[SHA256_DIGEST_LENGTH];
	X509		*cert = NULL;
	char		*n;
	int		 rc;

	/* RFC 8737 §3: the extension holds SHA-256(keyAuthorization). */
	(void)SHA256((const unsigned char *)keyauth, strlen(keyauth), digest);
	rc = anvil_tlsalpn_cert_new(t->key, name, digest, &cert);
	if (rc != 0) {
		ag_err("tls-alpn-01: cannot make the certificate for %s: %s",
		    name, anvil_strerror(rc));
		return rc;
	}
	n = strdup(name);
	if (n == NULL) {
		X509_free(cert);
		return ANVIL_ENOMEM;
	}
	(void)pthread_mutex_lock(&t->mu);
	if (t->n == AG_MAX_AUTHZ)
		rc = ANVIL_E2BIG;
	else {
		t->ans[t->n].name = n;
		t->ans[t->n].cert = cert;
		t->n++;
	}
	(void)pthread_mutex_unlock(&t->mu);
	if (rc != 0) {
		ag_err("tls-alpn-01: too many names");
		free(n);
		X509_free(cert);
	}
	return rc;
}

static int
tla_ready(struct ag_solver *s)
{
	return 0;
}

static int
tla_wait_served(struct ag_solver *s, long ms)
{
	struct tla	*t = s->priv;

	return ag_solver_wait(&t->mu, &t->cv, &t->n_served, t->n, ms);
}

const struct ag_solver_ops ag_solver_tlsalpn01_ops = {
	.name = "tlsalpn01-standalone",
	.challenge = "tls-alpn-01",
	.start = tla_start,
	.add = tla_add,
	.ready = tla_ready,
	.wait_served = tla_wait_served,
	.cleanup = tla_cleanup,
};
