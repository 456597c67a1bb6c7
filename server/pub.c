/*
 * pub.c - the public plain-HTTP listener: CRL shards, the root's CRL,
 * the intermediate certificate and the OCSP responder.
 *
 * Relying parties fetch these over plain HTTP (RFC 5280 §4.2.1.13, RFC
 * 6960 Appendix A: a TLS fetch to check a TLS certificate would loop).
 * Nothing here signs in the common case: CRLs and OCSP responses were
 * signed ahead of time by the revocation worker's thread (revoc.c); CRLs
 * are served from the copy the loop holds, OCSP responses looked up by
 * key.  Only an OCSP request for a serial never issued is signed on
 * demand ("unknown"), at a bounded rate.
 *
 * Bad input gets a short text answer: 400 (malformed request), 404 (no
 * such path or shard), 405, 413 (body over OCSP_MAX_REQUEST), 415 (wrong
 * Content-Type).  A well-formed OCSP request about another issuer, or
 * with a CertID hash other than SHA-1, gets the OCSP "unauthorized"
 * answer (RFC 6960 §2.3), which OCSP clients report as such.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "anvil/anvil.h"
#include "crl.h"
#include "ocsp.h"
#include "pub.h"
#include "revoc.h"
#include "signer.h"
#include "store.h"

/* evhttp refuses bodies past this itself (413); ours is smaller. */
#define PUB_MAX_BODY		(64 * 1024)
#define PUB_TIMEOUT_SECS	30
/* The intermediate changes at most with a new CA: a day of caching. */
#define INTER_MAX_AGE		86400

/* Writes an HTTP date (RFC 9110 §5.6.7) of t into out. */
static void
http_date(int64_t t, char out[40])
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, 40, "%a, %d %b %Y %H:%M:%S GMT", &tm) == 0)
		snprintf(out, 40, "Thu, 01 Jan 1970 00:00:00 GMT");
}

/* Answers a short text body (errors). */
static void
reply_text(struct evhttp_request *ev, int status, const char *reason,
    const char *text)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(ev);
	struct evbuffer		*b = evbuffer_new();

	evhttp_add_header(h, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Server", "anvil-ca");
	if (b != NULL)
		(void)evbuffer_add_printf(b, "%s\n", text);
	evhttp_send_reply(ev, status, reason, b);
	if (b != NULL)
		evbuffer_free(b);
}

/*
 * Answers a signed object with the caching headers of its lifetime:
 * Last-Modified (thisUpdate), Expires (nextUpdate), Cache-Control max-age
 * (what is left of it) and an ETag; a matching If-None-Match gets 304.
 * cacheable is false for POST answers (RFC 5019 §5: only GET caches).
 */
static void
reply_signed(struct evhttp_request *ev, const char *ctype, const uint8_t *der,
    size_t len, int64_t this_update, int64_t next_update, const char *etag,
    int cacheable)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(ev);
	struct evkeyvalq	*in = evhttp_request_get_input_headers(ev);
	struct evbuffer		*b = NULL;
	const char		*inm;
	char			 date[40], cc[128], clen[32];
	int64_t			 now = now_s(), age;

	age = next_update - now;
	if (age < 0)
		age = 0;
	evhttp_add_header(h, "Server", "anvil-ca");
	if (cacheable) {
		http_date(this_update, date);
		evhttp_add_header(h, "Last-Modified", date);
		http_date(next_update, date);
		evhttp_add_header(h, "Expires", date);
		snprintf(cc, sizeof(cc), "public, max-age=%lld, no-transform, "
		    "must-revalidate", (long long)age);
		evhttp_add_header(h, "Cache-Control", cc);
		evhttp_add_header(h, "ETag", etag);
		inm = evhttp_find_header(in, "If-None-Match");
		if (inm != NULL && strcmp(inm, etag) == 0) {
			evhttp_send_reply(ev, 304, "Not Modified", NULL);
			return;
		}
	} else
		evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Content-Type", ctype);
	if (evhttp_request_get_command(ev) == EVHTTP_REQ_HEAD) {
		/* evhttp sends no Content-Length on HEAD by itself. */
		snprintf(clen, sizeof(clen), "%zu", len);
		evhttp_add_header(h, "Content-Length", clen);
		evhttp_send_reply(ev, 200, "OK", NULL);
		return;
	}
	b = evbuffer_new();
	if (b == NULL || evbuffer_add(b, der, len) != 0) {
		if (b != NULL)
			evbuffer_free(b);
		reply_text(ev, 500, "Internal Server Error", "out of memory");
		return;
	}
	evhttp_send_reply(ev, 200, "OK", b);
	evbuffer_free(b);
}

/* Parses "<shard>.crl" with shard a decimal below n, no sign, no
 * leading zero.  Returns the shard or -1. */
static int
shard_parse(const char *s, int n)
{
	long	 v = 0;
	size_t	 i;

	for (i = 0; s[i] >= '0' && s[i] <= '9'; i++) {
		if (i >= 4 || (i == 1 && s[0] == '0'))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (i == 0 || strcmp(s + i, ".crl") != 0 || v >= n)
		return -1;
	return (int)v;
}

static void
serve_crl(struct server *srv, struct evhttp_request *ev, const char *name)
{
	const struct signed_obj	*o;
	char			 etag[64];
	int			 shard;

	if (strcmp(name, STATE_ROOT_CRL) == 0) {
		o = revoc_root_crl(srv);
		if (o == NULL) {
			reply_text(ev, 503, "Service Unavailable",
			    "the root CRL is not signed yet");
			return;
		}
		snprintf(etag, sizeof(etag), "\"root-%lld\"",
		    (long long)o->number);
		reply_signed(ev, "application/pkix-crl", o->der, o->der_len,
		    o->this_update, o->next_update, etag, 1);
		return;
	}
	shard = shard_parse(name, srv->cfg.crl_shards);
	if (shard < 0) {
		reply_text(ev, 404, "Not Found", "no such CRL shard");
		return;
	}
	/* In memory: the worker hands each CRL it signs to the loop. */
	o = revoc_crl(srv, shard);
	if (o == NULL) {
		reply_text(ev, 503, "Service Unavailable",
		    "this CRL shard is not signed yet");
		return;
	}
	snprintf(etag, sizeof(etag), "\"%d-%lld\"", shard,
	    (long long)o->number);
	reply_signed(ev, "application/pkix-crl", o->der, o->der_len,
	    o->this_update, o->next_update, etag, 1);
}

/* Answers an unsigned OCSP error status (HTTP 200: the OCSP layer speaks,
 * RFC 6960 §2.3). */
static void
reply_ocsp_error(struct evhttp_request *ev, enum ocsp_error e)
{
	uint8_t	 der[8];
	size_t	 len = 0;

	if (ocsp_error_response(e, der, sizeof(der), &len) != 0) {
		reply_text(ev, 500, "Internal Server Error", "OCSP error");
		return;
	}
	reply_signed(ev, "application/ocsp-response", der, len, 0, 0, "", 0);
}

/* 0 when serial was issued here, ANVIL_ENOENT when not, or an error. */
static int
cert_exists(struct server *srv, const char *serial)
{
	struct cert	 c;
	int		 rc;

	rc = store_cert_get(srv->store, serial, &c);
	cert_clear(&c);
	return rc;
}

/*
 * Answers one parsed OCSP request: the stored response of an issued
 * certificate; for a serial never issued, an "unknown" signed now (rate
 * bounded); a response gone stale (the worker behind) is signed again.
 */
static void
ocsp_answer(struct server *srv, struct evhttp_request *ev,
    const struct ocsp_query *q, int cacheable)
{
	struct ocsp_issuer	 iss;
	struct signed_obj	 o;
	char			 etag[80];
	int64_t			 now = now_s();
	int			 rc;

	memset(&o, 0, sizeof(o));
	if (signer_ocsp_issuer(srv->signer, &iss) != 0) {
		reply_ocsp_error(ev, OCSP_ERR_INTERNAL);
		return;
	}
	rc = ocsp_issuer_match(&iss, q);
	if (rc != 1 || !q->serial_ok) {
		/* Another issuer, another hash, or a serial no CA issues. */
		reply_ocsp_error(ev, rc == 1 ? OCSP_ERR_MALFORMED :
		    OCSP_ERR_UNAUTHORIZED);
		return;
	}
	rc = store_ocsp_get(srv->store, q->serial, &o);
	if (rc == 0 && o.next_update <= now) {
		signed_obj_clear(&o);
		rc = revoc_ocsp_now(srv, q->serial, &o);
	} else if (rc == ANVIL_ENOENT) {
		rc = cert_exists(srv, q->serial);
		if (rc == ANVIL_ENOENT)
			rc = revoc_ocsp_unknown(srv, q->serial, &o);
		else if (rc == 0)
			rc = revoc_ocsp_now(srv, q->serial, &o);
	}
	if (rc == ANVIL_E2BIG) {
		reply_ocsp_error(ev, OCSP_ERR_TRY_LATER);
		goto out;
	}
	if (rc != 0) {
		reply_ocsp_error(ev, OCSP_ERR_INTERNAL);
		goto out;
	}
	snprintf(etag, sizeof(etag), "\"%s-%lld\"", q->serial,
	    (long long)o.this_update);
	reply_signed(ev, "application/ocsp-response", o.der, o.der_len,
	    o.this_update, o.next_update, etag, cacheable);
out:
	signed_obj_clear(&o);
}

/* Turns standard base64 (with padding) into base64url in place, padding
 * removed; base64url input passes unchanged.  Returns the new length. */
static size_t
b64_to_url(char *s, size_t len)
{
	size_t	 i;

	while (len > 0 && s[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		if (s[i] == '+')
			s[i] = '-';
		else if (s[i] == '/')
			s[i] = '_';
	}
	s[len] = '\0';
	return len;
}

/* GET /ocsp/<url-encoded base64 of the DER request> (Appendix A.1). */
static void
ocsp_get(struct server *srv, struct evhttp_request *ev, const char *enc)
{
	struct ocsp_query	 q;
	char			*b64 = NULL;
	uint8_t			*der = NULL;
	size_t			 b64_len = 0, der_len = 0;

	if (strlen(enc) > 3 * anvil_b64url_len(OCSP_MAX_REQUEST) + 8) {
		reply_text(ev, 414, "URI Too Long", "OCSP request too long");
		return;
	}
	b64 = evhttp_uridecode(enc, 0, &b64_len);
	if (b64 == NULL || b64_len == 0 || strlen(b64) != b64_len) {
		reply_text(ev, 400, "Bad Request",
		    "OCSP request: bad URL encoding");
		goto out;
	}
	b64_len = b64_to_url(b64, b64_len);
	if (b64_len > anvil_b64url_len(OCSP_MAX_REQUEST)) {
		reply_text(ev, 413, "Payload Too Large",
		    "OCSP request too long");
		goto out;
	}
	if (anvil_b64url_decode(b64, b64_len, &der, &der_len) != 0) {
		reply_text(ev, 400, "Bad Request",
		    "OCSP request: not base64");
		goto out;
	}
	if (ocsp_request_parse(der, der_len, &q) != 0) {
		reply_text(ev, 400, "Bad Request",
		    "OCSP request: not one DER OCSPRequest for one "
		    "certificate");
		goto out;
	}
	ocsp_answer(srv, ev, &q, 1);
out:
	free(b64);
	free(der);
}

/* POST /ocsp with an application/ocsp-request body (Appendix A.1). */
static void
ocsp_post(struct server *srv, struct evhttp_request *ev)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(ev);
	const char		*ct;
	struct ocsp_query	 q;
	uint8_t			 der[OCSP_MAX_REQUEST];
	size_t			 len;
	int			 rc;

	ct = evhttp_find_header(evhttp_request_get_input_headers(ev),
	    "Content-Type");
	if (ct == NULL || strcmp(ct, "application/ocsp-request") != 0) {
		reply_text(ev, 415, "Unsupported Media Type",
		    "Content-Type must be application/ocsp-request");
		return;
	}
	len = evbuffer_get_length(in);
	if (len > OCSP_MAX_REQUEST) {
		reply_text(ev, 413, "Payload Too Large",
		    "OCSP request too long");
		return;
	}
	if (len == 0 || evbuffer_remove(in, der, len) != (int)len) {
		reply_text(ev, 400, "Bad Request", "OCSP request: empty");
		return;
	}
	rc = ocsp_request_parse(der, len, &q);
	if (rc != 0) {
		reply_text(ev, 400, "Bad Request",
		    "OCSP request: not one DER OCSPRequest for one "
		    "certificate");
		return;
	}
	ocsp_answer(srv, ev, &q, 0);
}

static void
dispatch(struct evhttp_request *ev, void *arg)
{
	struct server		*srv = arg;
	enum evhttp_cmd_type	 cmd = evhttp_request_get_command(ev);
	const char		*uri = evhttp_request_get_uri(ev);
	const char		*path;
	const uint8_t		*der;
	size_t			 len;
	int64_t			 now = now_s();

	/* The raw request target: an OCSP GET carries base64 in which '?'
	 * cannot occur, so no query parsing is needed. */
	if (uri == NULL || uri[0] != '/') {
		reply_text(ev, 400, "Bad Request", "bad request target");
		return;
	}
	path = uri;
	if (srv->cfg.ocsp && strcmp(path, "/ocsp") == 0) {
		if (cmd != EVHTTP_REQ_POST) {
			reply_text(ev, 405, "Method Not Allowed",
			    "POST an OCSP request here, or GET /ocsp/<base64>");
			return;
		}
		ocsp_post(srv, ev);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_text(ev, 405, "Method Not Allowed", "GET only");
		return;
	}
	if (srv->cfg.ocsp && strncmp(path, "/ocsp/", 6) == 0) {
		ocsp_get(srv, ev, path + 6);
		return;
	}
	if (strncmp(path, "/crl/", 5) == 0) {
		serve_crl(srv, ev, path + 5);
		return;
	}
	if (strcmp(path, "/intermediate.der") == 0) {
		der = signer_inter_der(srv->signer, &len);
		reply_signed(ev, "application/pkix-cert", der, len, now,
		    now + INTER_MAX_AGE, "\"intermediate\"", 1);
		return;
	}
	reply_text(ev, 404, "Not Found", "no such resource");
}

/* Binds addr:port; returns the bound port or a negative code. */
static int
bind_port(struct server *srv, const char *addr, int port)
{
	struct evhttp_bound_socket	*bs;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen = sizeof(ss);
	evutil_socket_t			 fd;
	int				 one = 1;

	bs = evhttp_bind_socket_with_handle(srv->pub_http, addr,
	    (ev_uint16_t)port);
	if (bs == NULL)
		return ANVIL_EIO;
	fd = evhttp_bound_socket_get_fd(bs);
	/* As on the HTTPS side: small answers must not wait ~40 ms. */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0)
		return ANVIL_EIO;
	return ntohs(ss.ss_family == AF_INET6 ?
	    ((struct sockaddr_in6 *)&ss)->sin6_port :
	    ((struct sockaddr_in *)&ss)->sin_port);
}

/* True for addresses that only this host (or any) reaches by name
 * "localhost". */
static int
is_local(const char *a)
{
	return strcmp(a, "127.0.0.1") == 0 || strcmp(a, "::1") == 0 ||
	    strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0 ||
	    strcmp(a, "localhost") == 0;
}

int
pub_start(struct server *srv)
{
	const char	*spec;
	char		 addr[256];
	int		 port = 0, bound, dflt, n;

	dflt = srv->cfg.public_listen == NULL;
	spec = dflt ? srv->cfg.listen : srv->cfg.public_listen;
	if (spec == NULL || config_split_addr(spec, addr, sizeof(addr), &port) != 0) {
		fprintf(stderr, "anvil-ca: bad public listen address "
		    "\"%s\"\n", spec != NULL ? spec : "");
		return ANVIL_EINVAL;
	}
	if (dflt)
		port = srv->port > 0 && srv->port < 65535 ? srv->port + 1 : 0;
	srv->pub_http = evhttp_new(srv->base);
	if (srv->pub_http == NULL)
		return ANVIL_ENOMEM;
	evhttp_set_gencb(srv->pub_http, dispatch, srv);
	evhttp_set_max_body_size(srv->pub_http, PUB_MAX_BODY);
	evhttp_set_max_headers_size(srv->pub_http, PUB_MAX_HEADERS);
	evhttp_set_timeout(srv->pub_http, PUB_TIMEOUT_SECS);
	evhttp_set_allowed_methods(srv->pub_http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	bound = bind_port(srv, addr, port);
	if (bound < 0 && dflt && port != 0) {
		fprintf(stderr, "anvil-ca: warning: port %d is taken; the "
		    "public listener takes a free one (set public_listen to "
		    "keep the URLs in certificates stable)\n", port);
		bound = bind_port(srv, addr, 0);
	}
	if (bound < 0) {
		fprintf(stderr, "anvil-ca: cannot listen on %s:%d (public)\n",
		    addr, port);
		return ANVIL_EIO;
	}
	if (srv->cfg.public_base_url != NULL)
		n = snprintf(srv->pub_base, sizeof(srv->pub_base), "%s",
		    srv->cfg.public_base_url);
	else if (is_local(addr))
		n = snprintf(srv->pub_base, sizeof(srv->pub_base),
		    "http://localhost:%d", bound);
	else if (strchr(addr, ':') != NULL)
		n = snprintf(srv->pub_base, sizeof(srv->pub_base),
		    "http://[%s]:%d", addr, bound);
	else
		n = snprintf(srv->pub_base, sizeof(srv->pub_base),
		    "http://%s:%d", addr, bound);
	if (n < 0 || (size_t)n >= sizeof(srv->pub_base))
		return ANVIL_E2BIG;
	return 0;
}

void
pub_stop(struct server *srv)
{
	if (srv->pub_http != NULL)
		evhttp_free(srv->pub_http);
	srv->pub_http = NULL;
}
