/*
 * solver_tlsalpn01.c - the built-in tls-alpn-01 responder (RFC 8737).
 *
 * Like the http-01 responder (solver_http01.c): bound in start(), one
 * thread (listener.c) serving one connection at a time, each read and
 * write bounded to AG_LISTENER_IO_TIMEOUT seconds, closed in cleanup().
 * A connection gets a TLS handshake only:
 *   - the client must offer ALPN "acme-tls/1" (§3: else no handshake);
 *   - SNI picks the certificate of that name, self-signed with the
 *     critical acmeIdentifier extension holding SHA-256 of the key
 *     authorization (anvil_tlsalpn_cert_new);
 *   - no application data: the handshake is the answer, then close.
 * One P-256 key signs every certificate of the order; it lives only in
 * memory.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "solver.h"

/* RFC 8737 §6.2: the ALPN protocol ID, as sent on the wire. */
static const unsigned char acme_tls_1[] = "\x0a" "acme-tls/1";

struct answer {
	char	*name;		/* malloc() */
	X509	*cert;
	int	 served;	/* a handshake completed with it */
};

struct tla {
	struct ag_listener l;
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

/* One handshake on fd; arg is the struct tla. */
static void
serve_one(void *arg, int fd)
{
	struct tla	*t = arg;
	SSL		*ssl;

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

static void
tla_cleanup(struct ag_solver *s)
{
	struct tla	*t = s->priv;
	size_t		 i;

	if (t == NULL)
		return;
	ag_listener_stop(&t->l);
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
	int		 rc;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		return ANVIL_ENOMEM;
	ag_listener_init(&t->l);
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
	rc = ag_listener_start(&t->l, "tls-alpn-01", s->conf.port,
	    serve_one, t);
	if (rc != 0)
		goto fail;
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
