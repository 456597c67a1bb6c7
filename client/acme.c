/*
 * acme.c - the RFC 8555 conversation with one CA: its directory, nonces,
 * signed requests, problem documents.
 *
 * This is the only file that signs with the account key.  Nonces: a pool
 * of one, refilled from every answer's Replay-Nonce (§7.2) and, when
 * empty, by HEAD newNonce.  A badNonce answer is retried with the fresh
 * nonce it carries (§6.5), at most AG_NONCE_RETRIES times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "agent.h"

#define AG_NONCE_RETRIES	3
#define AG_MAX_NONCE		256	/* characters of one nonce */
#define POLL_MIN_MS		250	/* first poll when no Retry-After */
#define POLL_MAX_MS		2000	/* later polls when no Retry-After */
#define POLL_CAP_MS		30000	/* longest Retry-After honoured */
#define PROMPT_MIN_MS		10	/* first prompt poll, then doubled */

/* True when the answer's Content-Type is type (parameters ignored). */
static bool
ctype_is(const struct ag_resp *r, const char *type)
{
	size_t	 n = strlen(type);

	if (r->content_type == NULL)
		return false;
	if (strncasecmp(r->content_type, type, n) != 0)
		return false;
	return r->content_type[n] == '\0' || r->content_type[n] == ';' ||
	    r->content_type[n] == ' ';
}

int
ag_acme_problem(const struct ag_resp *r, const char *what)
{
	json_t		*j = NULL;
	const char	*type, *detail, *name;
	enum anvil_problem p;

	type = NULL;
	if ((ctype_is(r, "application/problem+json") ||
	    ctype_is(r, "application/json")) &&
	    anvil_json_parse_object(r->body.data, r->body.len, &j) == 0)
		type = anvil_json_str(j, "type");
	if (type != NULL) {
		detail = anvil_json_str(j, "detail");
		p = anvil_problem_parse(type);
		name = p == ANVIL_PROB__MAX ? type : anvil_problem_name(p);
		ag_err("%s: server said %s: %s", what, name,
		    detail != NULL ? detail : "(no detail)");
	} else
		ag_err("%s: HTTP %ld from the server%s", what, r->status,
		    r->status >= 500 ? " (server error)" : "");
	json_decref(j);
	return AG_ECA;
}

/* True when r is a problem document of type p. */
static bool
is_problem(const struct ag_resp *r, enum anvil_problem p)
{
	json_t		*j = NULL;
	const char	*type;
	bool		 yes = false;

	if (r->status < 400 || r->body.len == 0)
		return false;
	if (anvil_json_parse_object(r->body.data, r->body.len, &j) != 0)
		return false;
	type = anvil_json_str(j, "type");
	yes = type != NULL && anvil_problem_parse(type) == p;
	json_decref(j);
	return yes;
}

int
ag_acme_open(struct ag_acme *a, const struct ag_config *c, const char *url)
{
	struct ag_resp	 r;
	const char	*need[] = { "newNonce", "newAccount", "newOrder" };
	size_t		 i;
	int		 rc;

	memset(a, 0, sizeof(*a));
	ag_resp_init(&r);
	a->poll_timeout = c->poll_timeout;
	a->url = strdup(url);
	if (a->url == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = ag_http_new(c->ca_bundle, c->http_timeout, &a->http);
	if (rc != 0)
		goto out;
	rc = ag_http_do(a->http, "GET", url, NULL, 0, NULL, &r);
	if (rc != 0)
		goto out;
	rc = AG_ECA;
	if (r.status != 200) {
		(void)ag_acme_problem(&r, url);
		goto out;
	}
	if (!ctype_is(&r, "application/json") ||
	    anvil_json_parse_object(r.body.data, r.body.len, &a->dir) != 0) {
		ag_err("%s: not an ACME directory (answer is not a JSON "
		    "object)", url);
		goto out;
	}
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		if (ag_acme_dirurl(a, need[i]) == NULL) {
			ag_err("%s: not an ACME directory (no %s URL)", url,
			    need[i]);
			goto out;
		}
	}
	rc = 0;
out:
	ag_resp_done(&r);
	if (rc != 0)
		ag_acme_close(a);
	return rc;
}

void
ag_acme_close(struct ag_acme *a)
{
	ag_http_free(a->http);
	free(a->url);
	json_decref(a->dir);
	free(a->nonce);
	EVP_PKEY_free(a->key);
	anvil_jwk_free(a->jwk);
	free(a->kid);
	memset(a, 0, sizeof(*a));
}

const char *
ag_acme_dirurl(const struct ag_acme *a, const char *name)
{
	const char	*u;

	u = anvil_json_str(a->dir, name);
	if (u == NULL || strncmp(u, "https://", 8) != 0)
		return NULL;
	return u;
}

int
ag_acme_set_key(struct ag_acme *a, EVP_PKEY *key)
{
	struct anvil_jwk	*jwk = NULL;
	int			 rc;

	rc = anvil_jwk_from_pkey(key, &jwk);
	if (rc != 0) {
		ag_err("unusable account key: %s", anvil_strerror(rc));
		return rc;
	}
	EVP_PKEY_free(a->key);
	anvil_jwk_free(a->jwk);
	a->key = key;
	a->jwk = jwk;
	return 0;
}

/* Keeps the answer's Replay-Nonce for the next request. */
static void
take_nonce(struct ag_acme *a, struct ag_resp *r)
{
	if (r->nonce == NULL || strlen(r->nonce) > AG_MAX_NONCE)
		return;
	free(a->nonce);
	a->nonce = r->nonce;
	r->nonce = NULL;
}

/* Makes sure a nonce is at hand (HEAD newNonce, §7.2). */
static int
get_nonce(struct ag_acme *a)
{
	struct ag_resp	 r;
	const char	*url;
	int		 rc;

	if (a->nonce != NULL)
		return 0;
	url = ag_acme_dirurl(a, "newNonce");
	ag_resp_init(&r);
	rc = ag_http_do(a->http, "HEAD", url, NULL, 0, NULL, &r);
	if (rc != 0)
		goto out;
	take_nonce(a, &r);
	if ((r.status != 200 && r.status != 204) || a->nonce == NULL) {
		ag_err("%s: no Replay-Nonce (HTTP %ld)", url, r.status);
		rc = AG_ECA;
	}
out:
	ag_resp_done(&r);
	return rc;
}

/* Signs payload for url with the current nonce into *ret (free()). */
static int
sign(struct ag_acme *a, const char *url, const json_t *payload, int use_jwk,
    char **ret)
{
	json_t	*prot = NULL;
	char	*pl = NULL;
	size_t	 pl_len = 0;
	int	 rc = ANVIL_ENOMEM;

	prot = json_object();
	if (prot == NULL)
		goto out;
	if (json_object_set_new(prot, "nonce", json_string(a->nonce)) != 0 ||
	    json_object_set_new(prot, "url", json_string(url)) != 0)
		goto out;
	if (a->kid != NULL && !use_jwk) {
		if (json_object_set_new(prot, "kid", json_string(a->kid)) != 0)
			goto out;
	} else if (json_object_set_new(prot, "jwk",
	    anvil_jwk_to_json(a->jwk)) != 0)
		goto out;
	if (payload != NULL) {
		rc = anvil_json_dump(payload, &pl, &pl_len);
		if (rc != 0)
			goto out;
	}
	rc = anvil_jws_sign(a->key, prot, (const uint8_t *)pl, pl_len, ret);
	if (rc != 0)
		ag_err("cannot sign a request: %s", anvil_strerror(rc));
out:
	json_decref(prot);
	free(pl);
	return rc;
}

int
ag_acme_post(struct ag_acme *a, const char *url, const json_t *payload,
    int use_jwk, const char *accept, struct ag_resp *r)
{
	char	*body = NULL;
	int	 rc = 0, try;

	if (url == NULL || strncmp(url, "https://", 8) != 0) {
		ag_err("the server gave no usable https:// URL");
		return AG_ECA;
	}
	/* Bounded: AG_NONCE_RETRIES + 1 attempts at most. */
	for (try = 0; try <= AG_NONCE_RETRIES; try++) {
		rc = get_nonce(a);
		if (rc != 0)
			break;
		free(body);
		body = NULL;
		rc = sign(a, url, payload, use_jwk, &body);
		/* A nonce is used once, whatever happens next. */
		free(a->nonce);
		a->nonce = NULL;
		if (rc != 0)
			break;
		rc = ag_http_do(a->http, "POST", url, body, strlen(body),
		    accept, r);
		if (rc != 0)
			break;
		take_nonce(a, r);
		if (r->status >= 200 && r->status < 300)
			break;
		if (!is_problem(r, ANVIL_PROB_BAD_NONCE) ||
		    try == AG_NONCE_RETRIES) {
			rc = ag_acme_problem(r, url);
			break;
		}
	}
	free(body);
	return rc;
}

int
ag_acme_post_json(struct ag_acme *a, const char *url, const json_t *payload,
    struct ag_resp *r, json_t **ret)
{
	int	 rc;

	rc = ag_acme_post(a, url, payload, 0, NULL, r);
	if (rc != 0)
		return rc;
	if (!ctype_is(r, "application/json")) {
		ag_err("%s: answer is not JSON (Content-Type %s)", url,
		    r->content_type != NULL ? r->content_type : "missing");
		return AG_ECA;
	}
	if (anvil_json_parse_object(r->body.data, r->body.len, ret) != 0) {
		ag_err("%s: answer is not a valid JSON object", url);
		return AG_ECA;
	}
	return 0;
}

long
ag_acme_poll_delay(const struct ag_resp *r, int attempt)
{
	long	 ms;

	if (r->retry_after >= 0) {
		if (r->retry_after > POLL_CAP_MS / 1000)
			return POLL_CAP_MS;
		ms = (long)r->retry_after * 1000;
		return ms < POLL_MIN_MS ? POLL_MIN_MS : ms;
	}
	ms = POLL_MIN_MS;
	while (attempt-- > 0 && ms < POLL_MAX_MS)
		ms *= 2;
	return ms > POLL_MAX_MS ? POLL_MAX_MS : ms;
}

long
ag_acme_prompt_delay(const struct ag_resp *r, int attempt)
{
	long	 ms = PROMPT_MIN_MS, cap = POLL_MAX_MS;

	if (r->retry_after >= 0)
		cap = r->retry_after > POLL_CAP_MS / 1000 ? POLL_CAP_MS :
		    (long)r->retry_after * 1000;
	while (attempt-- > 0 && ms < cap)
		ms *= 2;
	if (ms > cap)
		ms = cap;
	return ms < PROMPT_MIN_MS ? PROMPT_MIN_MS : ms;
}
