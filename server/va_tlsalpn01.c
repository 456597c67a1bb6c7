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
 * A check is a chain of callbacks on its loop's event_base: the address
 * lookup, a non-blocking connect, then SSL_connect() steps, each wait an
 * event whose timeout is the time left to the check's deadline, so that
 * the check ends by it whatever the peer does.  The IPv6 address is tried
 * first; the IPv4 one when the first cannot be connected to.  The SSL_CTX
 * is made once per loop; its session cache is off, so that every check is
 * a full handshake with the server as it is now.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

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

/* Room for "NAME (ADDR) port N", naming the peer in a detail. */
#define WHERE_LEN	(sizeof(((struct va_job *)NULL)->name) + \
			    INET6_ADDRSTRLEN + 16)

/* The tls-alpn-01 client of one loop. */
struct va_tlsalpn01 {
	SSL_CTX		*ctx;		/* owned */
};

/* Where a check is. */
enum tls_step {
	STEP_CONNECT,			/* waiting for connect() */
	STEP_HANDSHAKE,			/* waiting for SSL_connect() */
	STEP__MAX
};

/* One check in flight: malloc'd by va__tlsalpn01(), freed by finish(). */
struct tls_check {
	struct va_check	*c;		/* not owned: handed back at the end */
	struct va_addrs	 addrs;		/* from the lookup */
	size_t		 i;		/* the address tried, in addrs */
	enum tls_step	 step;
	int		 fd;		/* owned, -1 when none */
	SSL		*ssl;		/* owned, NULL when none */
	struct event	*ev;		/* owned, NULL until the first wait */
	struct va_lookup *lookup;	/* the address lookup running, or NULL */
	char		 where[WHERE_LEN];	/* the peer, for details */
};

static void	try_addrs(struct tls_check *);
static void	handshake(struct tls_check *);
static void	on_event(evutil_socket_t, short, void *);

/*
 * Ends the check: frees what st holds and st itself, then hands the
 * check back with its result, which must be filled.
 */
static void
finish(struct tls_check *st)
{
	struct va_check	*c = st->c;

	if (st->lookup != NULL)
		va__lookup_cancel(st->lookup);
	SSL_free(st->ssl);
	if (st->fd >= 0)
		(void)close(st->fd);
	if (st->ev != NULL)
		event_free(st->ev);
	free(st);
	c->cancel = NULL;
	va__check_end(c);
}

/* Ends c where it waits, its lookup, connect or handshake (the VA
 * stops). */
static void
cancel(struct va_check *c)
{
	struct tls_check	*st = c->state;

	va__fail(&c->res, ANVIL_PROB_SERVER_INTERNAL, "Validation of %s "
	    "stopped", c->job.name);
	finish(st);
}

/* Ends the check with the timeout of its step. */
static void
timed_out(struct tls_check *st)
{
	if (st->step == STEP_CONNECT)
		va__fail(&st->c->res, ANVIL_PROB_CONNECTION, "Timeout "
		    "connecting to %s", st->where);
	else
		va__fail(&st->c->res, ANVIL_PROB_CONNECTION, "Timeout during "
		    "the TLS handshake with %s", st->where);
	finish(st);
}

/*
 * Waits for st->fd to be ready for what (EV_READ or EV_WRITE), at most
 * until the deadline; on_event() goes on.  Returns 0, ANVIL_ETIMEDOUT
 * when the deadline has passed, or ANVIL_ENOMEM.
 */
static int
wait_fd(struct tls_check *st, short what)
{
	struct timeval	 tv;
	int		 left;

	left = va__left_ms(st->c->deadline);
	if (left == 0)
		return ANVIL_ETIMEDOUT;
	if (st->ev == NULL) {
		st->ev = event_new(st->c->loop->base, st->fd, what, on_event,
		    st);
		if (st->ev == NULL)
			return ANVIL_ENOMEM;
	} else if (event_assign(st->ev, st->c->loop->base, st->fd, what,
	    on_event, st) != 0)
		return ANVIL_ENOMEM;
	tv.tv_sec = left / 1000;
	tv.tv_usec = (left % 1000) * 1000;
	if (event_add(st->ev, &tv) != 0)
		return ANVIL_ENOMEM;
	return 0;
}

/* Waits as wait_fd() does, or ends the check when it cannot. */
static void
wait_or_end(struct tls_check *st, short what)
{
	int	 rc;

	rc = wait_fd(st, what);
	if (rc == ANVIL_ETIMEDOUT) {
		timed_out(st);
		return;
	}
	if (rc != 0) {
		va__fail(&st->c->res, ANVIL_PROB_SERVER_INTERNAL, "Cannot "
		    "wait for %s", st->where);
		finish(st);
	}
}

/*
 * Starts connecting to addr:port.  Returns 0 with st->fd connected, 1
 * with st->fd connecting (EINPROGRESS), or ANVIL_EIO with st->fd closed
 * and the system's reason in *ret_errno.
 */
static int
dial(struct tls_check *st, int family, const char *addr, int port,
    int *ret_errno)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t		 sslen;
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
	rc = 0;
	if (connect(fd, (struct sockaddr *)&ss, sslen) != 0) {
		if (errno != EINPROGRESS) {
			err = errno;
			rc = ANVIL_EIO;
			goto out;
		}
		rc = 1;
	}
	st->fd = fd;
	fd = -1;
out:
	if (fd >= 0)
		(void)close(fd);
	*ret_errno = err;
	return rc;
}

/* Ends the check: no address could be connected to, the last for the
 * system's reason err. */
static void
cannot_connect(struct tls_check *st, int err)
{
	va__fail(&st->c->res, ANVIL_PROB_CONNECTION, "Cannot connect to %s: "
	    "%s", st->where, err == ECONNREFUSED ? "connection refused" :
	    err == ENETUNREACH || err == EHOSTUNREACH ? "unreachable" :
	    "connection failed");
	finish(st);
}

/*
 * Tries the addresses from st->i on, IPv6 first, the next one only when
 * this one cannot connect; then waits for the connection or goes on with
 * the handshake, or ends the check.
 */
static void
try_addrs(struct tls_check *st)
{
	const struct va_addrs	*a = &st->addrs;
	int			 port = st->c->loop->cfg->tlsalpn01_port;
	int			 rc = ANVIL_EIO, err = 0;

	/* Terminates: i grows to a->n, at most VA_MAX_ADDRS. */
	for (; st->i < a->n; st->i++) {
		(void)snprintf(st->where, sizeof(st->where), "%s (%s) port %d",
		    st->c->job.name, a->a[st->i].text, port);
		rc = dial(st, a->a[st->i].family, a->a[st->i].text, port,
		    &err);
		if (rc != ANVIL_EIO)
			break;
	}
	if (rc == 1) {
		st->step = STEP_CONNECT;
		wait_or_end(st, EV_WRITE);
		return;
	}
	if (rc == 0) {
		handshake(st);
		return;
	}
	cannot_connect(st, err);
}

/* The connect() on st->fd has ended: goes on with the handshake, or
 * with the next address when this one cannot be connected to. */
static void
connected(struct tls_check *st)
{
	socklen_t	 elen;
	int		 err = 0;

	elen = sizeof(err);
	if (getsockopt(st->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
		err = errno;
	if (err == 0) {
		handshake(st);
		return;
	}
	(void)close(st->fd);
	st->fd = -1;
	if (st->i + 1 < st->addrs.n) {
		st->i++;
		try_addrs(st);
		return;
	}
	cannot_connect(st, err);
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

/*
 * Runs the next steps of the TLS handshake on st->fd (making the SSL
 * first): waits when OpenSSL wants to read or write, else judges what
 * the server sent, or ends the check with OpenSSL's reason.
 */
static void
handshake(struct tls_check *st)
{
	struct va_check	*c = st->c;
	unsigned long	 e;
	char		 why[160];
	int		 r, err;

	st->step = STEP_HANDSHAKE;
	if (st->ssl == NULL) {
		st->ssl = SSL_new(c->loop->tls->ctx);
		if (st->ssl == NULL || SSL_set_fd(st->ssl, st->fd) != 1 ||
		    SSL_set_tlsext_host_name(st->ssl, c->job.name) != 1) {
			ERR_clear_error();
			va__fail(&c->res, ANVIL_PROB_SERVER_INTERNAL, "Cannot "
			    "set up TLS for %s", c->job.name);
			finish(st);
			return;
		}
	}
	ERR_clear_error();
	r = SSL_connect(st->ssl);
	if (r == 1) {
		judge(st->ssl, &c->job, st->where, &c->res);
		finish(st);
		return;
	}
	err = SSL_get_error(st->ssl, r);
	if (err == SSL_ERROR_WANT_READ) {
		wait_or_end(st, EV_READ);
		return;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		wait_or_end(st, EV_WRITE);
		return;
	}
	why[0] = '\0';
	e = ERR_peek_last_error();
	if (e != 0)
		ERR_error_string_n(e, why, sizeof(why));
	else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		(void)snprintf(why, sizeof(why), "connection closed during "
		    "the handshake");
	else
		(void)snprintf(why, sizeof(why), "handshake failed");
	ERR_clear_error();
	va__fail(&c->res, ANVIL_PROB_TLS, "TLS handshake with %s failed: %s",
	    st->where, why);
	finish(st);
}

/*
 * A wait of st has ended: st->fd is ready, or the timeout fired.  The
 * timer of libevent may fire a little before the deadline by our clock:
 * the check then waits again for what is left.
 */
static void
on_event(evutil_socket_t fd, short what, void *arg)
{
	struct tls_check	*st = arg;

	(void)fd;
	if ((what & EV_TIMEOUT) != 0) {
		if (va__left_ms(st->c->deadline) == 0) {
			timed_out(st);
			return;
		}
		if (st->step == STEP_CONNECT) {
			wait_or_end(st, EV_WRITE);
			return;
		}
		/* SSL_connect() asks again for what it waits for. */
		handshake(st);
		return;
	}
	if (st->step == STEP_CONNECT)
		connected(st);
	else
		handshake(st);
}

/* The lookup has ended: tries the addresses, or ends the check with the
 * dns problem the lookup left in the result. */
static void
on_addrs(void *arg, int rc, const struct va_addrs *addrs)
{
	struct tls_check	*st = arg;

	st->lookup = NULL;
	if (rc != 0) {
		finish(st);
		return;
	}
	st->addrs = *addrs;
	st->i = 0;
	try_addrs(st);
}

void
va__tlsalpn01(struct va_check *c)
{
	struct tls_check	*st;

	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		va__fail(&c->res, ANVIL_PROB_SERVER_INTERNAL, "Cannot set up "
		    "TLS for %s", c->job.name);
		va__check_end(c);
		return;
	}
	st->c = c;
	st->fd = -1;
	(void)snprintf(st->where, sizeof(st->where), "%s", c->job.name);
	c->state = st;
	c->cancel = cancel;
	if (va__lookup_addrs(c->loop->dns, c->job.name, c->deadline, &c->res,
	    on_addrs, st, &st->lookup) != 0)
		finish(st);
}

int
va__tlsalpn01_new(struct va_tlsalpn01 **ret)
{
	struct va_tlsalpn01	*t;
	int			 rc = ANVIL_ENOMEM;

	t = calloc(1, sizeof(*t));
	if (t == NULL)
		goto out;
	t->ctx = SSL_CTX_new(TLS_client_method());
	if (t->ctx == NULL)
		goto out;
	SSL_CTX_set_verify(t->ctx, SSL_VERIFY_NONE, NULL);
	(void)SSL_CTX_set_session_cache_mode(t->ctx, SSL_SESS_CACHE_OFF);
	if (SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_alpn_protos(t->ctx, alpn_wire, sizeof(alpn_wire) - 1)
	    != 0)
		goto out;
	*ret = t;
	t = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	va__tlsalpn01_free(t);
	return rc;
}

void
va__tlsalpn01_free(struct va_tlsalpn01 *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	free(t);
}

void
va_check_tlsalpn01(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res)
{
	va__check_sync(cfg, job, res, va__tlsalpn01);
}
