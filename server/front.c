/*
 * front.c - the web front end: TLS, HTTP, body limits, request
 * authentication (RFC 8555 §6.2-§6.5), routing, and the answers every
 * response shares (Replay-Nonce, Link rel="index", problem documents).
 *
 * Request path: bytes -> TLS -> HTTP -> size limit -> JWS parse -> alg ->
 * nonce redeemed -> key found (jwk or kid) -> signature verified -> url
 * checked -> handler.  Any failure on the way is a problem document and
 * leaves state as it was (a redeemed nonce is spent either way).
 *
 * Group commit: an ACME POST joins the store batch of the current pass of
 * the event loop (front_batch_join); its answer is held until a timer of
 * 0, which runs after the pass, has committed the batch; if the commit
 * fails, every held answer becomes a serverInternal problem.  With
 * deferred sync (store_defer_sync, the default for a database file) the
 * commit does not wait for the disk: the answers of committed batches
 * wait until a thread's fsync of the log that began after their commit
 * returns (sync_kick), and one fsync covers every batch committed while
 * the previous one ran, so the loop never stops for the disk and an
 * answer still never leaves before what it reports is on disk.
 */
#include <ctype.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/bufferevent_struct.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>

#include "anvil/anvil.h"
#include "keycache.h"
#include "nonce.h"
#include "revoc.h"
#include "config.h"
#include "server.h"
#include "signer.h"
#include "store.h"
#include "workq.h"

/* evhttp's own limit sits above ours so that bodies between the two get a
 * problem document; past it evhttp answers 413 itself. */
#define EVHTTP_MAX_BODY	(1024 * 1024)
#define MAX_HEADERS	(16 * 1024)
#define MAX_HOST_LEN	255
/* JSON answers up to this size are written from the stack. */
#define REPLY_STACK_MAX	4096

/* An answer waiting for the batch's commit (and, with deferred sync, for
 * the fsync after it): headers are set on ev, the body is in its output
 * buffer. */
struct held {
	struct evhttp_request	*ev;
	int			 status;
	uint64_t		 gen;		/* its batch's commit number */
};

struct heldq {
	struct held	*v;		/* owned */
	size_t		 n, cap;
};

/* The fsync of the log in flight (on syncq's thread). */
struct syncjob {
	struct workq_job	 job;		/* first */
	struct server		*srv;
	uint64_t		 upto;		/* commits it covers */
	int			 rc;
};

struct batch {
	struct event	*flush;		/* timer of 0: commits, then sends */
	struct heldq	 open;		/* answers of the open batch */
	/* Deferred sync (store_defer_sync): committed answers wait in
	 * synced until an fsync that began after their commit returns. */
	bool		 deferred;
	struct heldq	 unsynced;
	uint64_t	 commits;	/* batches committed so far */
	struct workq	*syncq;		/* one thread; NULL: sync inline */
	struct syncjob	 sj;
	bool		 syncing;	/* sj is in flight */
};

int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

int
id_new(char out[ID_LEN + 1])
{
	uint8_t raw[16];
	int rc;

	/* Time first: each table's id index grows at one end. */
	rc = anvil_rand_time_ordered(raw, sizeof(raw));
	if (rc != 0)
		return rc;
	anvil_b64url_encode_to(out, raw, sizeof(raw));
	return 0;
}

void
url_of(const struct req *r, const char *prefix, const char *id,
    const char *sub, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s%s%s", r->base, prefix, id ? id : "",
	    sub != NULL && *sub != '\0' ? "/" : "", sub != NULL ? sub : "");
}

/*
 * The base URL: the configured one, else built from the Host header the
 * client used (as Boulder and Pebble do), so a client that reached us as
 * 127.0.0.1 gets URLs it can reach.  The Host value is checked to be a
 * plain host[:port] before use.
 */
static int
base_of(struct server *srv, struct evhttp_request *ev, char *out,
    size_t outlen)
{
	const char *host, *p;

	if (srv->cfg.base_url != NULL) {
		snprintf(out, outlen, "%s", srv->cfg.base_url);
		return 0;
	}
	host = evhttp_find_header(evhttp_request_get_input_headers(ev),
	    "Host");
	if (host == NULL || *host == '\0' || strlen(host) > MAX_HOST_LEN)
		return ANVIL_EINVAL;
	for (p = host; *p != '\0'; p++)
		if (!isalnum((unsigned char)*p) && strchr(".-:[]", *p) == NULL)
			return ANVIL_EINVAL;
	snprintf(out, outlen, "https://%s", host);
	return 0;
}

/* Headers every answer carries: a fresh nonce and the directory link. */
static void
common_headers(struct req *r)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	char nonce[NONCE_LEN + 1], link[sizeof(r->link_up) + sizeof(r->base) + 32];

	if (nonce_issue(r->srv->nonces, nonce) == 0)
		evhttp_add_header(h, "Replay-Nonce", nonce);
	snprintf(link, sizeof(link), "<%s%s>;rel=\"index\"", r->base,
	    PATH_DIRECTORY);
	evhttp_add_header(h, "Link", link);
	if (r->link_up[0] != '\0') {
		snprintf(link, sizeof(link), "<%s>;rel=\"up\"", r->link_up);
		evhttp_add_header(h, "Link", link);
	}
	if (r->retry_after >= 0) {
		snprintf(link, sizeof(link), "%d", r->retry_after);
		evhttp_add_header(h, "Retry-After", link);
	}
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Server", "anvil-ca");
}

static const char *
reason_of(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "";
	}
}

/*
 * Writes the answer queued on bev in this pass of the loop.  evhttp
 * enables writing and bufferevent_openssl then waits for epoll to call
 * the socket writable, which costs a pass of the loop and two epoll_ctl
 * per answer (write interest on, then off).  Running the bufferevent's
 * own write event now writes at once (its callback, in this pass, not
 * inside this call); the interest added and removed in the same pass
 * never reaches the kernel (EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST, main.c).
 * Per request: three epoll_ctl become two.  ev_write is a public member
 * of struct bufferevent (event2/bufferevent_struct.h).
 */
static void
write_now(struct bufferevent *bev)
{
	struct evbuffer *out = bufferevent_get_output(bev);

	(void)evbuffer_pullup(out, -1);
	if (evbuffer_get_length(out) > 0)
		event_active(&bev->ev_write, EV_WRITE, 1);
}

/*
 * Sends ev's answer as one TLS record.  evhttp queues the header block
 * and the body as two chains of the connection's output buffer, and
 * bufferevent_openssl makes one SSL_write, so one TLS record and one
 * write(2), of each chain: joining them (write_now) halves the records
 * and the writes per answer.
 */
static void
send_reply(struct evhttp_request *ev, int status)
{
	struct evhttp_connection *conn = evhttp_request_get_connection(ev);
	struct bufferevent *bev = NULL;

	if (conn != NULL)
		bev = evhttp_connection_get_bufferevent(conn);
	evhttp_send_reply(ev, status, reason_of(status), NULL);
	if (bev != NULL)
		write_now(bev);
}

static void on_flush(evutil_socket_t, short, void *);

/*
 * Holds r's answer until the batch commits.  Returns 0, or ANVIL_ENOMEM
 * (then the caller answers at once with an error).
 */
static int
heldq_push(struct heldq *q, struct evhttp_request *ev, int status,
    uint64_t gen)
{
	struct held	*v;
	size_t		 cap;

	if (q->n == q->cap) {
		cap = q->cap == 0 ? 64 : q->cap * 2;
		v = reallocarray(q->v, cap, sizeof(*v));
		if (v == NULL)
			return ANVIL_ENOMEM;
		q->v = v;
		q->cap = cap;
	}
	q->v[q->n].ev = ev;
	q->v[q->n].status = status;
	q->v[q->n].gen = gen;
	q->n++;
	return 0;
}

static int
hold(struct req *r, int status)
{
	return heldq_push(&r->srv->batch->open, r->ev, status, 0);
}

/* Replaces a held answer by a serverInternal problem (its writes were not
 * committed), with a fresh nonce, and sends it. */
static void
send_failed(struct server *srv, struct evhttp_request *ev)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(ev);
	struct evbuffer *o = evhttp_request_get_output_buffer(ev);
	char nonce[NONCE_LEN + 1];

	evhttp_clear_headers(h);
	(void)evbuffer_drain(o, evbuffer_get_length(o));
	if (nonce_issue(srv->nonces, nonce) == 0)
		evhttp_add_header(h, "Replay-Nonce", nonce);
	evhttp_add_header(h, "Content-Type", "application/problem+json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	evhttp_add_header(h, "Server", "anvil-ca");
	(void)evbuffer_add_printf(o, "{\"type\":\"" ANVIL_PROBLEM_NS
	    "serverInternal\",\"detail\":\"the database did not commit\","
	    "\"status\":500}");
	send_reply(ev, 500);
}

void
reply_raw(struct req *r, int status, const char *ctype, const char *body,
    size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(r->ev);
	struct evbuffer *b = evhttp_request_get_output_buffer(r->ev);

	common_headers(r);
	if (ctype != NULL)
		evhttp_add_header(h, "Content-Type", ctype);
	if (len > 0 && evbuffer_add(b, body, len) != 0)
		(void)evbuffer_drain(b, evbuffer_get_length(b));
	if (r->batched && store_batch_open(r->srv->store)) {
		if (hold(r, status) == 0)
			return;
		/* Not sent as a success: its writes may yet commit. */
		send_failed(r->srv, r->ev);
		return;
	}
	send_reply(r->ev, status);
}

/* Answers with body as compact JSON (taking the reference on body). */
static void
reply_dump(struct req *r, int status, const char *ctype, json_t *body)
{
	char buf[REPLY_STACK_MAX], *text = NULL;
	size_t len;

	/* Most answers fit: no allocation for the text.  A longer one is
	 * written again, once, into a buffer of the length now known. */
	len = anvil_json_dumpb(body, buf, sizeof(buf));
	if (len > sizeof(buf)) {
		text = malloc(len);
		if (text == NULL || anvil_json_dumpb(body, text, len) != len)
			len = 0;
	}
	json_decref(body);
	if (len == 0)
		reply_raw(r, 500, "text/plain", "out of memory", 13);
	else
		reply_raw(r, status, ctype, text != NULL ? text : buf, len);
	free(text);
}

void
reply_json(struct req *r, int status, json_t *body, const char *location)
{
	if (body == NULL) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "out of memory");
		return;
	}
	if (location != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(r->ev),
		    "Location", location);
	reply_dump(r, status, "application/json", body);
}

json_t *
problem_new(enum anvil_problem p, const char *detail, json_t *subproblems)
{
	char type[128];
	json_t *doc;

	snprintf(type, sizeof(type), ANVIL_PROBLEM_NS "%s",
	    anvil_problem_name(p) != NULL ? anvil_problem_name(p) :
	    "serverInternal");
	doc = json_pack("{s:s, s:s, s:i}", "type", type, "detail",
	    detail != NULL ? detail : "", "status", anvil_problem_status(p));
	if (doc != NULL && subproblems != NULL)
		json_object_set_new(doc, "subproblems", subproblems);
	else if (subproblems != NULL)
		json_decref(subproblems);
	return doc;
}

void
reply_problem_json(struct req *r, json_t *doc)
{
	json_int_t status = 500;

	if (doc == NULL) {
		reply_raw(r, 500, "text/plain", "out of memory", 13);
		return;
	}
	if (json_is_integer(json_object_get(doc, "status")))
		status = json_integer_value(json_object_get(doc, "status"));
	reply_dump(r, (int)status, "application/problem+json", doc);
}

void
reply_problem(struct req *r, enum anvil_problem p, int status,
    const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	json_t *doc;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	doc = problem_new(p, detail, NULL);
	if (doc != NULL && status != 0)
		json_object_set_new(doc, "status", json_integer(status));
	if (doc != NULL && p == ANVIL_PROB_BAD_SIGNATURE_ALGORITHM)
		json_object_set_new(doc, "algorithms", json_pack("[s,s,s,s]",
		    "ES256", "ES384", "RS256", "EdDSA"));
	reply_problem_json(r, doc);
}

/* GET /directory (RFC 8555 §7.1.1). */
static void
serve_directory(struct req *r)
{
	const struct config *c = &r->srv->cfg;
	json_t *dir, *meta, *caa;
	char url[400];
	size_t i;

	dir = json_object();
	meta = json_object();
	caa = json_array();
	if (dir == NULL || meta == NULL || caa == NULL)
		goto fail;
	url_of(r, PATH_NEW_NONCE, NULL, NULL, url, sizeof(url));
	json_object_set_new(dir, "newNonce", json_string(url));
	url_of(r, PATH_NEW_ACCT, NULL, NULL, url, sizeof(url));
	json_object_set_new(dir, "newAccount", json_string(url));
	url_of(r, PATH_NEW_ORDER, NULL, NULL, url, sizeof(url));
	json_object_set_new(dir, "newOrder", json_string(url));
	url_of(r, PATH_REVOKE, NULL, NULL, url, sizeof(url));
	json_object_set_new(dir, "revokeCert", json_string(url));
	url_of(r, PATH_KEY_CHANGE, NULL, NULL, url, sizeof(url));
	json_object_set_new(dir, "keyChange", json_string(url));
	if (c->terms_of_service != NULL)
		json_object_set_new(meta, "termsOfService",
		    json_string(c->terms_of_service));
	if (c->website != NULL)
		json_object_set_new(meta, "website", json_string(c->website));
	for (i = 0; i < c->n_caa; i++)
		json_array_append_new(caa, json_string(c->caa_identities[i]));
	if (json_array_size(caa) > 0)
		json_object_set_new(meta, "caaIdentities", caa);
	else
		json_decref(caa);
	caa = NULL;
	json_object_set_new(meta, "externalAccountRequired", json_false());
	json_object_set_new(dir, "meta", meta);
	reply_json(r, 200, dir, NULL);
	return;
fail:
	json_decref(dir);
	json_decref(meta);
	json_decref(caa);
	reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0, "out of memory");
}

/* HEAD and GET /acme/new-nonce (RFC 8555 §7.2). */
static void
serve_new_nonce(struct req *r, enum evhttp_cmd_type cmd)
{
	if (cmd == EVHTTP_REQ_HEAD) {
		/* evhttp sends no Content-Length on HEAD by itself. */
		evhttp_add_header(evhttp_request_get_output_headers(r->ev),
		    "Content-Length", "0");
		reply_raw(r, 200, NULL, NULL, 0);
	} else
		reply_raw(r, 204, NULL, NULL, 0);
}

/* The media type without parameters must be application/jose+json. */
static bool
content_type_ok(struct evhttp_request *ev)
{
	const char *ct = evhttp_find_header(evhttp_request_get_input_headers(ev),
	    "Content-Type");
	size_t n = strlen("application/jose+json");

	if (ct == NULL)
		return false;
	while (*ct == ' ')
		ct++;
	if (strncasecmp(ct, "application/jose+json", n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* True when s is non-empty and only base64url characters. */
static bool
b64url_shaped(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_')
			return false;
	return true;
}

/*
 * Loads the account named by kid, which must be one of our account URLs,
 * and its key.  A valid account and its key come from the key cache when
 * there (no store read: keycache.h says why that is coherent), unless
 * full is set: then the whole account is read from the store (its JWK and
 * contact texts, which the cache does not keep).
 */
static int
load_kid(struct req *r, const char *kid, bool full)
{
	size_t blen = strlen(r->base), plen = strlen(PATH_ACCT);
	const char *id;
	json_t *jwk = NULL;
	int rc;

	if (strncmp(kid, r->base, blen) != 0 ||
	    strncmp(kid + blen, PATH_ACCT, plen) != 0 ||
	    strlen(kid + blen + plen) != ID_LEN) {
		reply_problem(r, ANVIL_PROB_ACCOUNT_DOES_NOT_EXIST, 0,
		    "kid is not an account URL of this server");
		return -1;
	}
	id = kid + blen + plen;
	if (!full) {
		r->key = keycache_acct_find(r->srv->keys, id, &r->acct);
		if (r->key != NULL) {
			r->key_borrowed = true;
			r->has_acct = true;
			return 0;
		}
	}
	rc = store_acct_get(r->srv->store, id, &r->acct);
	if (rc == ANVIL_ENOENT) {
		reply_problem(r, ANVIL_PROB_ACCOUNT_DOES_NOT_EXIST, 0,
		    "no account at %s", kid);
		return -1;
	}
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not read the account");
		return -1;
	}
	r->has_acct = true;
	if (r->acct.status != ACCT_VALID) {
		/* §7.3.6: 401 for a deactivated account. */
		reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 401,
		    "account is %s", acct_status_name(r->acct.status));
		return -1;
	}
	r->key = keycache_find(r->srv->keys, r->acct.id, r->acct.thumbprint);
	if (r->key != NULL) {
		r->key_borrowed = true;
		keycache_acct_put(r->srv->keys, &r->acct);
		return 0;
	}
	rc = anvil_json_parse_object(r->acct.jwk, strlen(r->acct.jwk), &jwk);
	if (rc == 0)
		rc = anvil_jwk_from_json(jwk, &r->key);
	json_decref(jwk);
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "stored account key unreadable");
		return -1;
	}
	/* Only a key that matches the stored thumbprint is cached. */
	if (strcmp(anvil_jwk_thumbprint(r->key), r->acct.thumbprint) == 0) {
		keycache_put(r->srv->keys, r->acct.id, r->key);
		r->key_borrowed = true;
		keycache_acct_put(r->srv->keys, &r->acct);
	}
	return 0;
}

/*
 * The first half of authenticating a POST (RFC 8555 §6.2-§6.5): the JWS
 * parsed, its nonce redeemed, its key built or found with its account.
 * On failure it has answered and returns -1; on success the req holds the
 * JWS, its own reference on the key (the key cache may drop its own while
 * the signature is checked on another thread) and, for kid, the account
 * (its JWK and contact texts only with full_acct).  auth_finish does the
 * rest once anvil_jws_verify has run.
 */
static int
auth_begin(struct req *r, enum key_rule rule, bool full_acct)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(r->ev);
	size_t len = evbuffer_get_length(in);
	const char *body;
	int rc;

	if (!content_type_ok(r->ev)) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 415,
		    "Content-Type must be application/jose+json");
		return -1;
	}
	if (len > ANVIL_MAX_REQUEST_BODY) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 413,
		    "request body of %zu bytes is over the limit of %d",
		    len, ANVIL_MAX_REQUEST_BODY);
		return -1;
	}
	body = (const char *)evbuffer_pullup(in, -1);
	if (body == NULL && len > 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "out of memory");
		return -1;
	}
	rc = anvil_jws_parse(body != NULL ? body : "", len, &r->jws);
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0, "request is not a "
		    "flattened JSON JWS: %s", anvil_strerror(rc));
		return -1;
	}
	if (!anvil_jws_alg_supported(r->jws->alg)) {
		reply_problem(r, ANVIL_PROB_BAD_SIGNATURE_ALGORITHM, 0,
		    "algorithm \"%.32s\" is not supported", r->jws->alg);
		return -1;
	}
	if (r->jws->nonce == NULL) {
		reply_problem(r, ANVIL_PROB_BAD_NONCE, 0,
		    "JWS has no nonce");
		return -1;
	}
	/* §6.5.2: a nonce that is not base64url makes the JWS malformed. */
	if (!b64url_shaped(r->jws->nonce)) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "nonce is not base64url");
		return -1;
	}
	if (nonce_redeem(r->srv->nonces, r->jws->nonce) != 0) {
		reply_problem(r, ANVIL_PROB_BAD_NONCE, 0,
		    "nonce is unknown, expired or used already");
		return -1;
	}
	if ((r->jws->jwk != NULL) == (r->jws->kid != NULL)) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "JWS header must have exactly one of jwk and kid");
		return -1;
	}
	if (r->jws->jwk != NULL && rule == KEY_KID) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "this resource needs kid, not jwk");
		return -1;
	}
	if (r->jws->kid != NULL && rule == KEY_JWK) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "this resource needs jwk, not kid");
		return -1;
	}
	if (r->jws->jwk != NULL) {
		rc = anvil_jwk_from_json(r->jws->jwk, &r->key);
		if (rc != 0) {
			reply_problem(r, ANVIL_PROB_BAD_PUBLIC_KEY, 0,
			    "jwk is not a usable public key: %s",
			    anvil_strerror(rc));
			return -1;
		}
	} else if (load_kid(r, r->jws->kid, full_acct) != 0)
		return -1;
	if (r->key_borrowed) {
		r->key = anvil_jwk_ref(r->key);
		r->key_borrowed = false;
	}
	return 0;
}

/*
 * The account of a kid request, checked again after its signature: the
 * account may have been deactivated or given a new key by a request
 * handled while this one's signature was being checked.  The key cache
 * still holding the account with this key settles it (every account
 * writer drops the entry first); otherwise the store decides.  Returns 0,
 * or -1 having answered.
 */
static int
acct_current(struct req *r)
{
	struct acct	 a;
	struct anvil_jwk *k;
	const char	*tp = anvil_jwk_thumbprint(r->key);
	int		 rc;

	if (!r->has_acct)
		return 0;
	memset(&a, 0, sizeof(a));
	k = keycache_acct_find(r->srv->keys, r->acct.id, &a);
	if (k != NULL && strcmp(anvil_jwk_thumbprint(k), tp) == 0)
		return 0;
	rc = store_acct_get(r->srv->store, r->acct.id, &a);
	if (rc != 0) {
		reply_problem(r, rc == ANVIL_ENOENT ?
		    ANVIL_PROB_ACCOUNT_DOES_NOT_EXIST :
		    ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not read the account");
		return -1;
	}
	if (a.status != ACCT_VALID) {
		reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 401,
		    "account is %s", acct_status_name(a.status));
		acct_clear(&a);
		return -1;
	}
	if (strcmp(a.thumbprint, tp) != 0) {
		reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 0,
		    "the account's key has changed");
		acct_clear(&a);
		return -1;
	}
	acct_clear(&a);
	return 0;
}

/*
 * The second half: the outcome of anvil_jws_verify (rc), the URL, the
 * payload, and the account again.  On failure it has answered and
 * returns -1; on success the req holds the payload too.
 */
static int
auth_finish(struct req *r, int rc)
{
	char url[700];

	if (rc == ANVIL_EALG) {
		reply_problem(r, ANVIL_PROB_BAD_SIGNATURE_ALGORITHM, 0,
		    "algorithm %.32s does not match the key",
		    r->jws->alg);
		return -1;
	}
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "JWS signature does not verify");
		return -1;
	}
	/* §6.4.1: url must be the URL the request was sent to. */
	snprintf(url, sizeof(url), "%s%s", r->base,
	    evhttp_request_get_uri(r->ev));
	if (r->jws->url == NULL) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0, "JWS has no url");
		return -1;
	}
	if (strcmp(r->jws->url, url) != 0) {
		reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 0,
		    "JWS url does not match the request URL %s", url);
		return -1;
	}
	if (r->jws->payload_len == 0) {
		r->post_as_get = true;
		return acct_current(r);
	}
	rc = anvil_json_parse_object((const char *)r->jws->payload,
	    r->jws->payload_len, &r->payload);
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "payload is not a JSON object");
		return -1;
	}
	return acct_current(r);
}

struct route {
	const char	*prefix;
	bool		 has_arg;	/* prefix is followed by an id */
	enum key_rule	 rule;
	bool		 full_acct;	/* needs the account's JWK and
					   contact texts (load_kid) */
	void		(*fn)(struct req *);
};

static const struct route routes[] = {
	{ PATH_NEW_ACCT, false, KEY_JWK, false, ra_new_account },
	{ PATH_ACCT, true, KEY_KID, true, ra_account },
	{ PATH_KEY_CHANGE, false, KEY_KID, true, ra_key_change },
	{ PATH_NEW_ORDER, false, KEY_KID, false, ra_new_order },
	{ PATH_ORDER, true, KEY_KID, false, ra_order },
	{ PATH_AUTHZ, true, KEY_KID, false, ra_authz },
	{ PATH_CHALL, true, KEY_KID, false, ra_chall },
	{ PATH_CERT, true, KEY_KID, false, ra_cert },
	{ PATH_REVOKE, false, KEY_EITHER, false, ra_revoke },
};

/* Splits "ID" or "ID/sub" after a prefix; false if it is not of that form. */
static bool
split_arg(const char *rest, struct req *r, char *idbuf, size_t idlen)
{
	const char *slash = strchr(rest, '/');
	size_t n = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
	const char *p;

	if (n == 0 || n >= idlen)
		return false;
	for (p = rest; p < rest + n; p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			return false;
	memcpy(idbuf, rest, n);
	idbuf[n] = '\0';
	r->arg = idbuf;
	if (slash != NULL) {
		if (strlen(slash + 1) >= sizeof(r->sub) ||
		    strchr(slash + 1, '/') != NULL)
			return false;
		snprintf(r->sub, sizeof(r->sub), "%s", slash + 1);
	}
	return true;
}

static void
req_done(struct req *r)
{
	anvil_jws_free(r->jws);
	if (!r->key_borrowed)
		anvil_jwk_free(r->key);
	acct_clear(&r->acct);
	json_decref(r->payload);
}

/*
 * A POST between the halves of its authentication: its signature is
 * checked on srv->verifyq's thread (the costliest step of most requests,
 * which the loop then spends on other connections), the rest runs on the
 * loop in verify_done.  libevent keeps an unanswered request alive when
 * its connection closes, so r.ev stays valid until the answer.
 */
struct pending {
	struct workq_job	 job;		/* first: a job is a pending */
	struct req		 r;
	const struct route	*route;
	char			 idbuf[64];	/* r.arg */
	int			 verify_rc;
};

static void
verify_work(struct workq_job *job)
{
	struct pending	*p = (struct pending *)job;

	p->verify_rc = anvil_jws_verify(p->r.jws, p->r.key);
}

static void
verify_done(struct workq_job *job)
{
	struct pending	*p = (struct pending *)job;
	struct req	*r = &p->r;

	if (auth_finish(r, p->verify_rc) == 0) {
		/* Its writes join this pass's batch, and its answer waits
		 * for the batch to be on disk. */
		if (front_batch_join(r->srv) == 0) {
			r->batched = true;
			p->route->fn(r);
		} else
			reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
			    "the database cannot begin a transaction");
	}
	req_done(r);
	free(p);
}

/* Starts an authenticated route: auth_begin here, the signature on the
 * pool (or here when there is none), the rest in verify_done. */
static void
dispatch_post(struct server *srv, const struct req *proto,
    const struct route *route)
{
	struct pending	*p;
	struct req	 r;

	p = calloc(1, sizeof(*p));
	if (p == NULL) {
		r = *proto;
		reply_problem(&r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "out of memory");
		return;
	}
	p->r = *proto;
	if (proto->arg != NULL) {
		(void)snprintf(p->idbuf, sizeof(p->idbuf), "%s", proto->arg);
		p->r.arg = p->idbuf;
	}
	p->route = route;
	if (auth_begin(&p->r, route->rule, route->full_acct) != 0) {
		req_done(&p->r);
		free(p);
		return;
	}
	p->job.work = verify_work;
	p->job.done = verify_done;
	if (srv->verifyq == NULL || workq_submit(srv->verifyq, &p->job) != 0) {
		verify_work(&p->job);
		verify_done(&p->job);
	}
}

static void
dispatch(struct evhttp_request *ev, void *arg)
{
	struct server *srv = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(ev);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(ev);
	const char *path = evhttp_uri_get_path(uri);
	struct req r;
	char idbuf[64];
	size_t i, n;

	memset(&r, 0, sizeof(r));
	r.srv = srv;
	r.ev = ev;
	r.retry_after = -1;
	if (base_of(srv, ev, r.base, sizeof(r.base)) != 0) {
		snprintf(r.base, sizeof(r.base), "https://localhost");
		reply_problem(&r, ANVIL_PROB_MALFORMED, 0,
		    "missing or invalid Host header");
		return;
	}
	if (path == NULL)
		path = "/";
	if (strcmp(path, PATH_DIRECTORY) == 0 && cmd == EVHTTP_REQ_GET &&
	    evhttp_uri_get_query(uri) == NULL) {
		serve_directory(&r);
		return;
	}
	if (strcmp(path, PATH_NEW_NONCE) == 0 &&
	    (cmd == EVHTTP_REQ_GET || cmd == EVHTTP_REQ_HEAD)) {
		serve_new_nonce(&r, cmd);
		return;
	}
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		n = strlen(routes[i].prefix);
		if (strncmp(path, routes[i].prefix, n) != 0)
			continue;
		if (routes[i].has_arg ? !split_arg(path + n, &r, idbuf,
		    sizeof(idbuf)) : path[n] != '\0')
			continue;
		if (cmd != EVHTTP_REQ_POST) {
			/* §6.3: only POST (and POST-as-GET) here. */
			evhttp_add_header(evhttp_request_get_output_headers(ev),
			    "Allow", "POST");
			reply_problem(&r, ANVIL_PROB_MALFORMED, 405,
			    "use POST or POST-as-GET");
			return;
		}
		dispatch_post(srv, &r, &routes[i]);
		return;
	}
	if (strcmp(path, PATH_DIRECTORY) == 0 ||
	    strcmp(path, PATH_NEW_NONCE) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(ev),
		    "Allow", "GET, HEAD");
		reply_problem(&r, ANVIL_PROB_MALFORMED, 405,
		    "method not allowed here");
		return;
	}
	reply_problem(&r, ANVIL_PROB_MALFORMED, 404, "no resource at %.200s",
	    path);
}

/* Each connection gets a TLS bufferevent. */
static struct bufferevent *
make_bev(struct event_base *base, void *arg)
{
	struct server *srv = arg;
	SSL *ssl = SSL_new(srv->ssl);

	if (ssl == NULL)
		return NULL;
	return bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
}

static int
tls_setup(struct server *srv)
{
	char path[1024];

	srv->ssl = SSL_CTX_new(TLS_server_method());
	if (srv->ssl == NULL)
		return ANVIL_ECRYPTO;
	if (SSL_CTX_set_min_proto_version(srv->ssl, TLS1_2_VERSION) != 1)
		return ANVIL_ECRYPTO;
	SSL_CTX_set_options(srv->ssl, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	snprintf(path, sizeof(path), "%s/%s", srv->cfg.state_dir,
	    STATE_TLS_CERT);
	if (SSL_CTX_use_certificate_chain_file(srv->ssl, path) != 1) {
		fprintf(stderr, "anvil-ca: cannot load %s\n", path);
		return ANVIL_ECRYPTO;
	}
	snprintf(path, sizeof(path), "%s/%s", srv->cfg.state_dir,
	    STATE_TLS_KEY);
	if (SSL_CTX_use_PrivateKey_file(srv->ssl, path, SSL_FILETYPE_PEM)
	    != 1 || SSL_CTX_check_private_key(srv->ssl) != 1) {
		fprintf(stderr, "anvil-ca: cannot load %s\n", path);
		return ANVIL_ECRYPTO;
	}
	return 0;
}

int
front_start(struct server *srv)
{
	struct evhttp_bound_socket *bs;
	char addr[256];
	struct sockaddr_storage ss;
	socklen_t sslen;
	int port = 0, one = 1, rc;
	evutil_socket_t fd;

	srv->batch = calloc(1, sizeof(*srv->batch));
	if (srv->batch == NULL)
		return ANVIL_ENOMEM;
	srv->batch->flush = evtimer_new(srv->base, on_flush, srv);
	if (srv->batch->flush == NULL)
		return ANVIL_ENOMEM;
	rc = front_park_start(srv);
	if (rc != 0)
		return rc;
	rc = tls_setup(srv);
	if (rc != 0)
		return rc;
	/* One thread: a key's verify context must not be used by two at
	 * once (anvil_jwk_verify), and with it the loop and the checks
	 * share two cores.  Without the pool, requests verify inline. */
	rc = workq_new(srv->base, 1, &srv->verifyq);
	if (rc != 0)
		return rc;
	/* Group commit without stopping the loop for the disk: commits
	 * return at once, a thread fsyncs the log, answers wait for it. */
	if (srv->store != NULL && store_defer_sync(srv->store) == 0) {
		srv->batch->deferred = true;
		if (workq_new(srv->base, 1, &srv->batch->syncq) != 0)
			srv->batch->syncq = NULL;	/* inline */
	}
	if (config_split_addr(srv->cfg.listen, addr, sizeof(addr), &port) != 0) {
		fprintf(stderr, "anvil-ca: bad listen address \"%s\"\n",
		    srv->cfg.listen);
		return ANVIL_EINVAL;
	}
	srv->http = evhttp_new(srv->base);
	if (srv->http == NULL)
		return ANVIL_ENOMEM;
	evhttp_set_bevcb(srv->http, make_bev, srv);
	evhttp_set_gencb(srv->http, dispatch, srv);
	evhttp_set_max_body_size(srv->http, EVHTTP_MAX_BODY);
	evhttp_set_max_headers_size(srv->http, MAX_HEADERS);
	evhttp_set_timeout(srv->http, 30);
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET |
	    EVHTTP_REQ_POST | EVHTTP_REQ_HEAD);
	bs = evhttp_bind_socket_with_handle(srv->http, addr, (ev_uint16_t)port);
	if (bs == NULL) {
		fprintf(stderr, "anvil-ca: cannot listen on %s\n",
		    srv->cfg.listen);
		return ANVIL_EIO;
	}
	/* Accepted sockets inherit TCP_NODELAY on Linux; without it small
	 * answers wait for the peer's delayed ACK (~40 ms). */
	fd = evhttp_bound_socket_get_fd(bs);
	if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) != 0)
		fprintf(stderr, "anvil-ca: TCP_NODELAY not set\n");
	/* With port 0 the kernel chose: report the real one. */
	sslen = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0)
		srv->port = ntohs(ss.ss_family == AF_INET6 ?
		    ((struct sockaddr_in6 *)&ss)->sin6_port :
		    ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

/* The flush timer: the pass is over. */
static void
on_flush(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	(void)fd;
	(void)what;
	/* While an fsync runs, the batch stays open and grows: its answers
	 * would wait for the next fsync anyway, and one commit of many
	 * requests writes each hot page to the log once, not once per
	 * pass.  sync_done commits it. */
	if (srv->batch->deferred && srv->batch->syncing)
		return;
	front_batch_flush(srv);
}

int
front_batch_join(struct server *srv)
{
	struct timeval zero = { 0, 0 };
	int rc;

	if (srv->batch == NULL || srv->store == NULL)
		return ANVIL_EINVAL;
	if (store_batch_open(srv->store))
		return 0;
	rc = store_batch_begin(srv->store);
	if (rc != 0)
		return rc;
	if (evtimer_add(srv->batch->flush, &zero) != 0) {
		(void)store_batch_commit(srv->store);
		return ANVIL_EIO;
	}
	return 0;
}

static void sync_kick(struct server *);

static void
sync_work(struct workq_job *job)
{
	struct syncjob	*sj = (struct syncjob *)job;

	sj->rc = store_wal_sync(sj->srv->store);
}

/*
 * On the loop: the fsync covering commits up to sj->upto has returned.
 * Their answers leave (or, if it failed, become serverInternal: the disk
 * may have lost them, and the server stops, as a database does when its
 * fsync fails); then the next fsync starts if commits are waiting.
 */
static void
sync_done(struct workq_job *job)
{
	struct syncjob	*sj = (struct syncjob *)job;
	struct server	*srv = sj->srv;
	struct heldq	*q = &srv->batch->unsynced;
	size_t		 i, k;

	srv->batch->syncing = false;
	if (sj->rc != 0) {
		fprintf(stderr, "anvil-ca: fsync of the database log failed "
		    "(%s): stopping\n", anvil_strerror(sj->rc));
		(void)event_base_loopexit(srv->base, NULL);
	}
	for (i = 0; i < q->n && q->v[i].gen <= sj->upto; i++) {
		if (sj->rc == 0)
			send_reply(q->v[i].ev, q->v[i].status);
		else
			send_failed(srv, q->v[i].ev);
	}
	for (k = 0; i < q->n; i++, k++)
		q->v[k] = q->v[i];
	q->n = k;
	/* The batch that grew during this fsync (on_flush). */
	if (store_batch_open(srv->store))
		front_batch_flush(srv);
	else
		sync_kick(srv);
}

/* Starts an fsync for the commits whose answers wait, unless one is in
 * flight (its sync_done starts the next): one fsync covers every commit
 * made while the previous one ran.  Inline when there is no thread. */
static void
sync_kick(struct server *srv)
{
	struct batch	*b = srv->batch;

	if (b->syncing || b->unsynced.n == 0)
		return;
	b->syncing = true;
	b->sj.srv = srv;
	b->sj.upto = b->commits;
	b->sj.job.work = sync_work;
	b->sj.job.done = sync_done;
	if (b->syncq == NULL || workq_submit(b->syncq, &b->sj.job) != 0) {
		sync_work(&b->sj.job);
		sync_done(&b->sj.job);
	}
}

void
front_batch_flush(struct server *srv)
{
	struct batch *b = srv->batch;
	struct heldq *q;
	size_t i;
	int rc = 0;

	if (b == NULL)
		return;
	q = &b->open;
	if (store_batch_open(srv->store))
		rc = store_batch_commit(srv->store);
	if (rc != 0) {
		fprintf(stderr, "anvil-ca: group commit failed (%s): %zu "
		    "answers become serverInternal\n", anvil_strerror(rc),
		    q->n);
		/* The rolled-back writes may have been read into the
		 * account cache. */
		keycache_acct_drop_all(srv->keys);
	}
	if (rc == 0 && b->deferred) {
		b->commits++;
		for (i = 0; i < q->n; i++)
			if (heldq_push(&b->unsynced, q->v[i].ev,
			    q->v[i].status, b->commits) != 0)
				send_failed(srv, q->v[i].ev);
		q->n = 0;
		sync_kick(srv);
	}
	for (i = 0; i < q->n; i++) {
		if (rc == 0)
			send_reply(q->v[i].ev, q->v[i].status);
		else
			send_failed(srv, q->v[i].ev);
	}
	q->n = 0;
	if (srv->kick_after_commit) {
		srv->kick_after_commit = false;
		revoc_kick(srv);
	}
}

void
front_stop(struct server *srv)
{
	/* Requests whose signature is being checked finish first: their
	 * answers join the last batch. */
	workq_free(srv->verifyq);
	srv->verifyq = NULL;
	/* Answers waiting for a validation leave with the state of now. */
	front_park_stop(srv);
	if (srv->batch != NULL) {
		front_batch_flush(srv);
		/* The last fsyncs; then no answer waits. */
		workq_free(srv->batch->syncq);
		srv->batch->syncq = NULL;
		sync_kick(srv);
		if (srv->batch->flush != NULL)
			event_free(srv->batch->flush);
		free(srv->batch->open.v);
		free(srv->batch->unsynced.v);
		free(srv->batch);
		srv->batch = NULL;
	}
	if (srv->http != NULL)
		evhttp_free(srv->http);
	srv->http = NULL;
	if (srv->ssl != NULL)
		SSL_CTX_free(srv->ssl);
	srv->ssl = NULL;
}
