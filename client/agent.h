/*
 * agent.h - the pieces of the anvil agent and how they talk to each other.
 *
 * One role per file, after OpenBSD acme-client: http.c moves bytes,
 * acme.c speaks RFC 8555 over it (and alone signs with the account key),
 * account.c finds or registers the account, order.c walks one order from
 * newOrder to the certificate, the solvers (solver.h) answer challenges,
 * certstore.c writes what was obtained, renewal.c remembers how, deploy.c
 * runs the hook, main.c holds the commands together.
 *
 * Errors: every function returns 0 or a negative code (ANVIL_E* or the
 * AG_E* below) and leaves one sentence for the user with ag_err(); the
 * command prints it once, as "anvil: <sentence>".
 */
#ifndef ANVIL_AGENT_H
#define ANVIL_AGENT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "anvil/anvil.h"

/* Codes of the agent itself, below the library's range. */
#define AG_ECA		(ANVIL_E__MIN - 1)	/* the CA failed or refused */
#define AG_EINTR	(ANVIL_E__MIN - 2)	/* interrupted by a signal */
#define AG_EHOOK	(ANVIL_E__MIN - 3)	/* a hook program failed */
#define AG_EDNS		(ANVIL_E__MIN - 4)	/* DNS update or propagation */

/* Limits of the agent (those on peer data are in anvil/limits.h). */
#define AG_MAX_SERVERS		8	/* --server failover list */
#define AG_MAX_CONFIG		(64 * 1024)	/* config file size */
#define AG_MAX_STATE_FILE	(256 * 1024)	/* account/renewal JSON, PEM */
#define AG_MAX_AUTHZ		ANVIL_MAX_IDENTIFIERS
#define AG_MAX_CHAIN		10	/* certificates in a chain */
#define AG_MAX_HEADER		2048	/* one captured header value */
#define AG_ERRLEN		512
/* Longest state directory: with a certificate name (64) and a file name
 * every path the agent makes fits in its 4096-byte buffers. */
#define AG_MAX_STATE_PATH	1024

/*
 * The one error sentence of the current command.  ag_err() sets it (the
 * first call wins, so the deepest, most precise cause is kept);
 * ag_err_clear() forgets it; ag_errstr() reads it ("" when unset).
 */
void		 ag_err(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));
void		 ag_err_clear(void);
const char	*ag_errstr(void);
/* anvil_strerror() extended with the AG_E* codes. */
const char	*ag_strerror(int rc);

/* Set by SIGINT/SIGTERM; loops and transfers stop when it is. */
extern volatile sig_atomic_t ag_interrupted;
/* Sleeps ms milliseconds unless interrupted: 0 or AG_EINTR. */
int		 ag_sleep_ms(long ms);
/* Seconds since the epoch. */
int64_t		 ag_now(void);
/* mkdir -p with mode for the directories it creates: 0 or -errno. */
int		 ag_mkdirs(const char *path, unsigned mode);
/* In a forked child about to run a hook: stdin from /dev/null (hooks
 * never read the agent's input).  Best effort. */
void		 ag_child_stdin_null(void);

/* ------------------------------------------------------------------ */
/* config.c: options from the command line and the optional file. */

struct ag_config {
	char		*servers[AG_MAX_SERVERS];	/* from strdup() */
	size_t		 n_servers;
	char		*ca_bundle;	/* NULL: the system's trust */
	char		*email;
	char		*state;		/* state directory */
	int		 agree_tos;
	int		 poll_timeout;	/* seconds per polling phase */
	int		 http_timeout;	/* seconds per HTTP request */
};

void	ag_config_init(struct ag_config *c);
int	ag_config_load(struct ag_config *c, const char *path);
int	ag_config_set(struct ag_config *c, const char *key, const char *value,
	    const char *where);
/* Fills the state directory default when unset. */
int	ag_config_finish(struct ag_config *c);
void	ag_config_done(struct ag_config *c);

/* ------------------------------------------------------------------ */
/* http.c: HTTPS requests with libcurl, bounded bodies and times. */

struct ag_http;

struct ag_resp {
	long		 status;	/* HTTP status, 0 before an answer */
	struct anvil_buf body;		/* at most ANVIL_MAX_RESPONSE_BODY */
	char		*nonce;		/* Replay-Nonce or NULL; malloc() */
	char		*location;	/* Location or NULL */
	char		*content_type;	/* Content-Type or NULL */
	char		*link_up;	/* Link rel="up" target or NULL */
	int64_t		 retry_after;	/* seconds, -1 when absent */
};

int	ag_http_new(const char *ca_bundle, int timeout, struct ag_http **ret);
void	ag_http_free(struct ag_http *h);
void	ag_resp_init(struct ag_resp *r);
void	ag_resp_done(struct ag_resp *r);
/*
 * One request.  method is "GET", "HEAD" or "POST" (body with content
 * type application/jose+json); accept may be NULL.  Returns 0 when an
 * HTTP answer of any status arrived (r filled), else AG_ECA with the
 * cause in ag_err (unreachable, TLS, timeout, body too large).
 */
int	ag_http_do(struct ag_http *h, const char *method, const char *url,
	    const char *body, size_t len, const char *accept,
	    struct ag_resp *r);

/* ------------------------------------------------------------------ */
/* acme.c: the RFC 8555 conversation with one CA. */

struct ag_acme {
	struct ag_http	*http;		/* owned */
	char		*url;		/* directory URL */
	json_t		*dir;		/* the directory object */
	char		*nonce;		/* the next nonce to use, or NULL */
	EVP_PKEY	*key;		/* account key; owned */
	struct anvil_jwk *jwk;		/* its public JWK; owned */
	char		*kid;		/* account URL once known */
	int		 poll_timeout;
};

/* Connects to the CA: reads its directory.  AG_ECA when it fails. */
int	ag_acme_open(struct ag_acme *a, const struct ag_config *c,
	    const char *url);
void	ag_acme_close(struct ag_acme *a);
/* A directory URL of the CA ("newOrder"), or NULL. */
const char *ag_acme_dirurl(const struct ag_acme *a, const char *name);
/* Takes ownership of key as the account key. */
int	ag_acme_set_key(struct ag_acme *a, EVP_PKEY *key);
/*
 * Signed POST (RFC 8555 §6.2): with the account URL as kid when known,
 * else the jwk (or always the jwk when use_jwk).  payload NULL is
 * POST-as-GET.  badNonce is retried up to 3 times.  A problem document or
 * an unexpected status becomes AG_ECA with "server said TYPE: DETAIL".
 */
int	ag_acme_post(struct ag_acme *a, const char *url, const json_t *payload,
	    int use_jwk, const char *accept, struct ag_resp *r);
/* ag_acme_post and parse the answer as a JSON object (*ret, decref). */
int	ag_acme_post_json(struct ag_acme *a, const char *url,
	    const json_t *payload, struct ag_resp *r, json_t **ret);
/* Fills ag_err from a problem document or status; returns AG_ECA. */
int	ag_acme_problem(const struct ag_resp *r, const char *what);
/* The delay before the next poll, in ms: Retry-After within bounds. */
long	ag_acme_poll_delay(const struct ag_resp *r, int attempt);
/*
 * The delay before poll number attempt once the server is known to be
 * validating: 10 ms, doubled each time, never more than the answer's
 * Retry-After (nor 2 s without one, nor 30 s).
 */
long	ag_acme_prompt_delay(const struct ag_resp *r, int attempt);

/* ------------------------------------------------------------------ */
/* account.c: one account per CA, STATE/accounts/ID/. */

/* Loads the account for a->url; registers it when absent and register
 * is set (email may be NULL).  ANVIL_ENOENT with a hint otherwise. */
int	ag_account_ensure(struct ag_acme *a, const char *state,
	    const char *email, int agree_tos, int may_register,
	    enum anvil_key_type kt);
/* Directory name for a server URL: "localhost-14000-1a2b3c4d". */
int	ag_account_id(const char *url, char *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* solver.h holds the solver interface. */
struct ag_solver;

/* order.c: one order, newOrder to certificate. */

struct ag_issued {
	char		*pem;		/* full chain as the CA sent it */
	size_t		 pem_len;
	EVP_PKEY	*key;		/* the certificate's key; owned */
};

int	ag_order_run(struct ag_acme *a, struct ag_solver *s,
	    const char *const *names, size_t n, enum anvil_key_type kt,
	    struct ag_issued *ret);
void	ag_issued_done(struct ag_issued *i);

/* ------------------------------------------------------------------ */
/* certstore.c: STATE/live/NAME -> STATE/archive/NAME/N. */

struct ag_certinfo {
	char	 serial[41];
	int64_t	 not_before;
	int64_t	 not_after;
	char	**names;	/* SAN dNSNames; anvil_strv_free */
};

/*
 * Checks the chain (leaf matches key, has every name, each certificate
 * signed by the next) and stores it as the new version of NAME.  Nothing
 * in live/ changes unless everything was written.
 */
int	ag_store_save(const char *state, const char *name, const char *pem,
	    size_t pem_len, EVP_PKEY *key, const char *const *names, size_t n,
	    struct ag_certinfo *ret);
/* Reads live/NAME/cert.pem. */
int	ag_store_info(const char *state, const char *name,
	    struct ag_certinfo *ret);
/* Reads live/NAME/cert.pem as a certificate (X509_free). */
int	ag_store_cert(const char *state, const char *name, X509 **ret);
/* Path of live/NAME into out. */
int	ag_store_live(const char *state, const char *name, char *out,
	    size_t outlen);
void	ag_certinfo_done(struct ag_certinfo *ci);
/* Parses a PEM chain into a stack (sk_X509_pop_free). */
int	ag_store_parse_chain(const char *pem, size_t len,
	    STACK_OF(X509) **ret);
/* The checks of ag_store_save alone. */
int	ag_store_check(STACK_OF(X509) *chain, EVP_PKEY *key,
	    const char *const *names, size_t n);

/* ------------------------------------------------------------------ */
/* renewal.c: STATE/renewal/NAME.json, how each certificate was got. */

struct ag_renewal {
	char			*name;		/* certificate name */
	char			**names;	/* NULL-terminated */
	size_t			 n_names;
	enum anvil_key_type	 key_type;
	json_t			*solver;	/* {"type": ..., options} */
	char			*deploy_hook;	/* or NULL */
	char			*server;	/* the CA that issued it */
	char			*servers[AG_MAX_SERVERS];  /* failover list */
	size_t			 n_servers;
	char			*ca_bundle;	/* or NULL */
	char			*email;		/* for registering at a */
	int			 agree_tos;	/* failover CA, or NULL/0 */
	char			*revoked;	/* serial revoked, or NULL */
};

int	ag_renewal_load(const char *state, const char *name,
	    struct ag_renewal *ret);
int	ag_renewal_save(const char *state, const struct ag_renewal *r);
void	ag_renewal_done(struct ag_renewal *r);
/* The certificate names with a renewal file, sorted (anvil_strv_free). */
int	ag_renewal_list(const char *state, char ***ret);
/* True when ci is past two thirds of its lifetime at now. */
bool	ag_renewal_due(const struct ag_certinfo *ci, int64_t now);
/* Checks a certificate name (a directory name under live/). */
int	ag_certname_check(const char *name);

/* ------------------------------------------------------------------ */
/* revoke.c */

/* Revokes live/NAME's certificate at the CA that issued it. */
int	ag_revoke(struct ag_acme *a, X509 *cert, int reason);
/* "keyCompromise" -> 1 (RFC 5280 §5.3.1); -1 when unknown. */
int	ag_revoke_reason(const char *s);

/* ------------------------------------------------------------------ */
/* deploy.c */

/* Runs cmd with /bin/sh -c, ANVIL_CERT_NAME, ANVIL_LIVE_DIR and
 * ANVIL_DOMAINS set.  0, or AG_EHOOK naming the exit status. */
int	ag_deploy_run(const char *cmd, const char *name, const char *live,
	    const char *const *names, size_t n);

#endif
