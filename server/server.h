/*
 * server.h - the running server's shared state, and the interface between
 * the front end (front.c: HTTP, TLS, request authentication, rendering of
 * answers) and the registration logic (ra_*.c: what each ACME resource
 * does).
 */
#ifndef ANVIL_SERVER_SERVER_H
#define ANVIL_SERVER_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "anvil/jwk.h"
#include "anvil/jws.h"
#include "anvil/problem.h"
#include "config.h"
#include "model.h"

struct store;
struct va;
struct signer;
struct nonce_pool;
struct keycache;
struct revoc;
struct parking;

struct server {
	struct config		 cfg;
	struct event_base	*base;
	struct evhttp		*http;
	SSL_CTX			*ssl;
	struct store		*store;
	struct va		*va;
	struct signer		*signer;
	struct nonce_pool	*nonces;
	struct keycache		*keys;		/* built account keys */
	struct event		*sigterm;
	struct event		*sigint;
	int			 port;	/* bound port */
	struct evhttp		*pub_http;	/* plain HTTP: CRLs, OCSP,
						   intermediate (pub.c) */
	char			 pub_base[300];	/* its URL prefix in use */
	struct revoc		*revoc;		/* revocation worker
						   (revoc.c) */
	struct batch		*batch;		/* group commit (front.c) */
	struct workq		*verifyq;	/* JWS signature checks
						   (front.c) */
	bool			 kick_after_commit;	/* revoc_kick()
						   waits for the batch */
	struct parking		*parking;	/* answers waiting for an
						   event (front_park.c) */
};

/* Resource paths, after the base URL. */
#define PATH_DIRECTORY	"/directory"
#define PATH_NEW_NONCE	"/acme/new-nonce"
#define PATH_NEW_ACCT	"/acme/new-acct"
#define PATH_ACCT	"/acme/acct/"
#define PATH_KEY_CHANGE	"/acme/key-change"
#define PATH_NEW_ORDER	"/acme/new-order"
#define PATH_ORDER	"/acme/order/"
#define PATH_AUTHZ	"/acme/authz/"
#define PATH_CHALL	"/acme/chall/"
#define PATH_CERT	"/acme/cert/"
#define PATH_REVOKE	"/acme/revoke-cert"

/* Which key a resource accepts in the JWS header (RFC 8555 §6.2). */
enum key_rule { KEY_KID, KEY_JWK, KEY_EITHER };

/* One authenticated ACME POST, as the front hands it to a handler. */
struct req {
	struct server		*srv;
	struct evhttp_request	*ev;
	char			 base[300];	/* "https://host:port" */
	const char		*arg;		/* the id after the prefix */
	char			 sub[32];	/* "", "orders", "finalize" */
	struct anvil_jws	*jws;
	struct anvil_jwk	*key;		/* verified signing key; owned
						   unless key_borrowed */
	bool			 key_borrowed;	/* key is the key cache's */
	bool			 has_acct;
	struct acct		 acct;		/* the kid's account; its jwk
						   and contact are NULL
						   except for the account
						   and keyChange resources
						   (front.c, load_kid) */
	bool			 post_as_get;	/* payload "" */
	json_t			*payload;	/* JSON object or NULL; owned */
	int			 retry_after;	/* seconds, -1 for none */
	char			 link_up[400];	/* Link rel="up" or "" */
	bool			 batched;	/* its writes are in the batch:
						   the answer waits for it */
};

/* Answers the request with a JSON body (taking the reference on body),
 * status, and a Location header when location is not NULL. */
void reply_json(struct req *r, int status, json_t *body,
    const char *location);

/* Answers with an RFC 7807 problem document of type p with the default
 * status for p (or status when not 0). */
void reply_problem(struct req *r, enum anvil_problem p, int status,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Answers with a problem document already built (taking the reference). */
void reply_problem_json(struct req *r, json_t *doc);

/* Answers with a body of the given content type. */
void reply_raw(struct req *r, int status, const char *ctype,
    const char *body, size_t len);

/* Builds a problem document; subproblems may be NULL (reference taken). */
json_t *problem_new(enum anvil_problem p, const char *detail,
    json_t *subproblems);

/* URL of an object: base + prefix + id (+ "/" + sub). */
void url_of(const struct req *r, const char *prefix, const char *id,
    const char *sub, char *out, size_t outlen);

/* Random object id (ID_LEN characters and a NUL). */
int id_new(char out[ID_LEN + 1]);

/* Current time in seconds. */
int64_t now_s(void);

/* Handlers, in ra_*.c. */
void ra_new_account(struct req *r);
void ra_account(struct req *r);
void ra_key_change(struct req *r);
void ra_new_order(struct req *r);
void ra_order(struct req *r);
void ra_finalize(struct req *r);
void ra_authz(struct req *r);
void ra_chall(struct req *r);
void ra_cert(struct req *r);
void ra_revoke(struct req *r);

/* Applies a validation result (called on the loop thread by the VA). */
struct va_result;
void ra_validation_done(const struct va_result *res, void *arg);

/*
 * Starts again the validations the server had started and not recorded
 * when it last stopped (challenges left processing), at most
 * RA_RESUME_MAX; their results arrive as any others.  Called once the VA
 * runs, before the loop.  Returns how many were started, or a negative
 * ANVIL_E* code.
 */
#define RA_RESUME_MAX	4096
int ra_resume_validations(struct server *srv);

/* Renders objects (render.c). */
json_t *render_acct(const struct req *r, const struct acct *a);
json_t *render_order(const struct req *r, const struct order *o);
json_t *render_authz(const struct req *r, const struct authz *a);
json_t *render_chall(const struct req *r, const struct chall *c,
    const char *authz_id);

/* Front lifecycle (front.c). */
int front_start(struct server *srv);
void front_stop(struct server *srv);

/*
 * Group commit (front.c, docs/internals/store.md): the loop thread's
 * writes go into one store batch per pass of the event loop; a timer of 0
 * commits it (one fsync) and only then sends the answers of the requests
 * that joined it.  front_batch_join() opens the batch if none is open
 * (0, or an error: the caller's writes then commit on their own);
 * front_batch_flush() commits it now (at shutdown).
 */
int front_batch_join(struct server *srv);
void front_batch_flush(struct server *srv);

/*
 * Answers that wait for an event (front_park.c).  front_park() keeps r's
 * request open, unanswered, under key (an object id) for at most ms
 * milliseconds; when the time is up, or the server stops, expire is
 * called with a request to answer with (as front_unpark() fills it) and
 * the key.  Returns 0, or an error: r must then be answered now.
 * front_unpark() takes the request parked under key, if any: fills *r to
 * answer it with (base URL as parked, no Retry-After, its answer joining
 * the pass's batch) and returns true.
 */
typedef void (*park_expire_fn)(struct req *r, const char *key);
int front_park(struct req *r, const char *key, int ms, park_expire_fn expire);
bool front_unpark(struct server *srv, const char *key, struct req *r);
int front_park_start(struct server *srv);
/* Answers every parked request through its expire function. */
void front_park_stop(struct server *srv);

#endif
