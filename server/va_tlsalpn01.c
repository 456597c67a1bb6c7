/*
 * va_tlsalpn01.c - the tls-alpn-01 check (RFC 8737).
 *
 * A TLS 1.2+ handshake with NAME's address on cfg->tlsalpn01_port,
 * sending SNI NAME and offering only the "acme-tls/1" protocol (§3).  The
 * server must select acme-tls/1, and present a certificate with exactly
 * one subjectAltName, a dNSName equal to NAME, and a critical
 * acmeIdentifier extension holding SHA-256 of the key authorization.  The
 * certificate is self-signed by design, so it is not verified.
 *
 * The socket is non-blocking and every wait is a poll() bounded by the
 * check's deadline.  The IPv6 address is tried first; the IPv4 one when
 * the first cannot be connected to.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "anvil/error.h"
#include "anvil/x509.h"
#include "va_internal.h"

/* RFC 8737 §6.2: the ALPN protocol name, length-prefixed for OpenSSL. */
static const unsigned char alpn_wire[] = "\x0a" "acme-tls/1";
#define ALPN_NAME	"acme-tls/1"
#define ALPN_NAME_LEN	10

/* Waits until fd is ready for events or deadline.  Returns 0,
 * ANVIL_ETIMEDOUT or ANVIL_EIO. */
static int
wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd	 pfd;
	int		 r, left;

	/* Terminates: each pass waits at most until the deadline. */
	for (;;) {
		left = va__left_ms(deadline);
		if (left == 0)
			return ANVIL_ETIMEDOUT;
		pfd.fd = fd;
		pfd.events = events;
		pfd.revents = 0;
		r = poll(&pfd, 1, left);
		if (r > 0)
			return 0;
		if (r == 0)
			return ANVIL_ETIMEDOUT;
		if (errno != EINTR)
			return ANVIL_EIO;
	}
}

/*
 * Connects to addr:port before deadline.  Returns 0 and *ret_fd (a
 * non-blocking socket), ANVIL_ETIMEDOUT, or ANVIL_EIO with the system's
 * reason in *ret_errno.
 */
static int
dial(int family, const char *addr, int port, int64_t deadline, int *ret_fd,
    int *ret_errno)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen, elen;
	int			 fd = -1, err = 0, rc = ANVIL_EIO;

	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) != 1)
			goto out;
		sslen = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, addr, &sin->sin_addr) != 1)
			goto out;
		sslen = sizeof(*sin);
	}
	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		err = errno;
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&ss, sslen) != 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			goto out;
		}
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc != 0)
			goto out;
		rc = ANVIL_EIO;
		elen = sizeof(err);
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
			err = errno;
		if (err != 0)
			goto out;
	}
	*ret_fd = fd;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		(void)close(fd);
	*ret_errno = err;
	return rc;
}

/*
 * Runs the TLS handshake on fd before deadline.  Returns 0,
 * ANVIL_ETIMEDOUT, or ANVIL_EIO with OpenSSL's reason in why.
 */
static int
handshake(SSL *ssl, int64_t deadline, char *why, size_t whylen)
{
	unsigned long	 e;
	int		 r, err, rc;

	/* Terminates: each pass either completes, fails, or waits with a
	 * bound of the deadline. */
	for (;;) {
		ERR_clear_error();
		r = SSL_connect(ssl);
		if (r == 1)
			return 0;
		err = SSL_get_error(ssl, r);
		if (err == SSL_ERROR_WANT_READ)
			rc = wait_fd(SSL_get_fd(ssl), POLLIN, deadline);
		else if (err == SSL_ERROR_WANT_WRITE)
			rc = wait_fd(SSL_get_fd(ssl), POLLOUT, deadline);
		else {
			e = ERR_peek_last_error();
			if (e != 0)
				ERR_error_string_n(e, why, whylen);
			else if (err == SSL_ERROR_SYSCALL || err ==
			    SSL_ERROR_ZERO_RETURN)
				(void)snprintf(why, whylen, "connection "
				    "closed during the handshake");
			else
				(void)snprintf(why, whylen, "handshake "
				    "failed");
			ERR_clear_error();
			return ANVIL_EIO;
		}
		if (rc != 0)
			return rc;
	}
}

/*
 * RFC 8737 §3: exactly one subjectAltName, a dNSName equal to name
 * (case-insensitively).  Returns 1 when it holds.
 */
static int
san_ok(X509 *cert, const char *name)
{
	GENERAL_NAMES		*gens = NULL;
	const GENERAL_NAME	*g;
	const unsigned char	*d;
	int			 crit = -1, len, ok = 0;

	gens = X509_get_ext_d2i(cert, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL || sk_GENERAL_NAME_num(gens) != 1)
		goto out;
	g = sk_GENERAL_NAME_value(gens, 0);
	if (g->type != GEN_DNS)
		goto out;
	d = ASN1_STRING_get0_data(g->d.dNSName);
	len = ASN1_STRING_length(g->d.dNSName);
	if (len < 0 || (size_t)len != strlen(name) ||
	    memchr(d, '\0', (size_t)len) != NULL)
		goto out;
	ok = strncasecmp((const char *)d, name, (size_t)len) == 0;
out:
	GENERAL_NAMES_free(gens);
	return ok;
}

/* Checks what the handshake brought: protocol, then certificate. */
static void
judge(SSL *ssl, const struct va_job *job, const char *where,
    struct va_result *res)
{
	const unsigned char	*proto = NULL;
	unsigned int		 plen = 0;
	uint8_t			 want[SHA256_DIGEST_LENGTH];
	uint8_t			 got[SHA256_DIGEST_LENGTH];
	X509			*cert;
	int			 rc;

	SSL_get0_alpn_selected(ssl, &proto, &plen);
	if (plen != ALPN_NAME_LEN || memcmp(proto, ALPN_NAME, plen) != 0) {
		va__fail(res, ANVIL_PROB_TLS, "Cannot negotiate ALPN protocol "
		    "\"%s\" with %s", ALPN_NAME, where);
		return;
	}
	cert = SSL_get0_peer_certificate(ssl);
	if (cert == NULL) {
		va__fail(res, ANVIL_PROB_TLS, "No certificate from %s", where);
		return;
	}
	if (!san_ok(cert, job->name)) {
		va__fail(res, ANVIL_PROB_INCORRECT_RESPONSE, "The certificate "
		    "from %s must have exactly one subjectAltName, the "
		    "dNSName %s", where, job->name);
		return;
	}
	rc = anvil_tlsalpn_cert_digest(cert, got);
	if (rc == ANVIL_ENOENT) {
		va__fail(res, ANVIL_PROB_INCORRECT_RESPONSE, "The certificate "
		    "from %s has no acmeIdentifier extension", where);
		return;
	}
	if (rc != 0) {
		va__fail(res, ANVIL_PROB_INCORRECT_RESPONSE, "The certificate "
		    "from %s has an acmeIdentifier extension that is not "
		    "critical or not a 32-byte OCTET STRING", where);
		return;
	}
	if (SHA256((const unsigned char *)job->keyauth, strlen(job->keyauth),
	    want) == NULL) {
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Cannot hash the key "
		    "authorization for %s", job->name);
		return;
	}
	if (!anvil_memeq_ct(got, sizeof(got), want, sizeof(want))) {
		va__fail(res, ANVIL_PROB_INCORRECT_RESPONSE, "The "
		    "acmeIdentifier extension of the certificate from %s does "
		    "not match this challenge", where);
		return;
	}
	va__pass(res);
}

/* Creates the client context: TLS 1.2+, no verification, ALPN acme-tls/1
 * only.  Returns NULL on failure. */
static SSL_CTX *
client_ctx(void)
{
	SSL_CTX	*ctx;

	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(ctx, alpn_wire, sizeof(alpn_wire) - 1) !=
	    0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

void
va__tlsalpn01(const struct va_config *cfg, struct va_ctx *vc,
    const struct va_job *job, struct va_result *res)
{
	struct va_addrs	 addrs;
	SSL_CTX		*ctx = NULL;
	SSL		*ssl = NULL;
	char		 where[INET6_ADDRSTRLEN + sizeof(job->name) + 16];
	char		 why[160];
	int64_t		 deadline;
	size_t		 i;
	int		 fd = -1, rc = ANVIL_EIO, err = 0;

	deadline = va__now_ms() + cfg->timeout_ms;
	if (va__lookup_addrs(vc->dns, job->name, deadline, &addrs, res) != 0)
		return;
	/* IPv6 first; the next address only when this one cannot connect. */
	for (i = 0; i < addrs.n; i++) {
		(void)snprintf(where, sizeof(where), "%s (%s) port %d",
		    job->name, addrs.a[i].text, cfg->tlsalpn01_port);
		rc = dial(addrs.a[i].family, addrs.a[i].text,
		    cfg->tlsalpn01_port, deadline, &fd, &err);
		if (rc != ANVIL_EIO)
			break;
	}
	if (rc == ANVIL_ETIMEDOUT) {
		va__fail(res, ANVIL_PROB_CONNECTION, "Timeout connecting to "
		    "%s", where);
		goto out;
	}
	if (rc != 0) {
		va__fail(res, ANVIL_PROB_CONNECTION, "Cannot connect to %s: "
		    "%s", where, err == ECONNREFUSED ? "connection refused" :
		    err == ENETUNREACH || err == EHOSTUNREACH ?
		    "unreachable" : "connection failed");
		goto out;
	}

	ctx = client_ctx();
	if (ctx != NULL)
		ssl = SSL_new(ctx);
	if (ssl == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, job->name) != 1) {
		ERR_clear_error();
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Cannot set up TLS "
		    "for %s", job->name);
		goto out;
	}
	why[0] = '\0';
	rc = handshake(ssl, deadline, why, sizeof(why));
	if (rc == ANVIL_ETIMEDOUT) {
		va__fail(res, ANVIL_PROB_CONNECTION, "Timeout during the TLS "
		    "handshake with %s", where);
		goto out;
	}
	if (rc != 0) {
		va__fail(res, ANVIL_PROB_TLS, "TLS handshake with %s failed: "
		    "%s", where, why);
		goto out;
	}
	judge(ssl, job, where, res);
out:
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	if (fd >= 0)
		(void)close(fd);
}

void
va_check_tlsalpn01(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res)
{
	va__check_sync(cfg, job, res, va__tlsalpn01);
}
