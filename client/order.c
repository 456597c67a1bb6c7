/*
 * order.c - one certificate order from newOrder to the certificate
 * (RFC 8555 §7.4, §7.5, §7.1.6), with one solver.
 *
 * Steps: start the solver (fails early, before the CA is asked); newOrder;
 * for each pending authorization pick the challenge the solver handles and
 * have the solver serve its key authorization (§8.1); tell the CA to
 * validate; poll each authorization; stop the solver; finalize with a CSR
 * for a fresh key; poll the order; download the chain.  Every poll is
 * bounded in count (POLL_MAX) and in time (poll_timeout seconds per
 * phase), and honours Retry-After within the limits of
 * ag_acme_poll_delay(); with a built-in responder, that has seen the
 * CA's validation request, the authorizations are polled sooner
 * (ag_acme_prompt_delay()), and so is the order when the server gives
 * no Retry-After.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "solver.h"

#define POLL_MAX	100	/* requests per polling phase */
#define MAX_TOKEN	256	/* characters of a challenge token */
#define SERVED_WAIT_MS	2000	/* longest wait for the CA's fetch when
				   the server gave no Retry-After */

/* How poll_obj spaces its requests. */
enum pace {
	PACE_SERVER,	/* Retry-After, else ag_acme_poll_delay()'s own */
	PACE_PROMPT,	/* the CA is validating: ag_acme_prompt_delay() */
	PACE_EAGER	/* Retry-After when given, else as PACE_PROMPT */
};

/* One authorization that needs a challenge answered. */
struct pend {
	char	*authz;		/* authorization URL; malloc() */
	char	*chall;		/* challenge URL; malloc() */
	char	*name;		/* identifier value; malloc() */
	bool	 valid;		/* its challenge's answer said valid */
};

struct order {
	struct ag_acme	*a;
	char		*url;		/* order URL; malloc() */
	json_t		*obj;		/* latest order object */
	struct pend	 pend[AG_MAX_AUTHZ];
	size_t		 n_pend;
};

void
ag_issued_done(struct ag_issued *i)
{
	free(i->pem);
	EVP_PKEY_free(i->key);
	memset(i, 0, sizeof(*i));
}

/* True when s is one of the NULL-terminated states. */
static bool
state_in(const char *s, const char *const *states)
{
	for (; *states != NULL; states++)
		if (strcmp(s, *states) == 0)
			return true;
	return false;
}

/*
 * Fetches url (POST-as-GET) until its "status" leaves the wait states,
 * then returns the object in *ret (json_decref), pacing the requests as
 * pace says.  AG_ECA when the server fails, ANVIL_ETIMEDOUT past the
 * bounds.
 */
static int
poll_obj(struct ag_acme *a, const char *url, const char *const *wait,
    const char *what, enum pace pace, json_t **ret)
{
	struct ag_resp	 r;
	json_t		*obj = NULL;
	const char	*status;
	int64_t		 start, deadline;
	int		 attempt, rc = 0;
	long		 ms;

	ag_resp_init(&r);
	start = ag_now();
	deadline = start + a->poll_timeout;
	for (attempt = 0; attempt < POLL_MAX; attempt++) {
		json_decref(obj);
		obj = NULL;
		rc = ag_acme_post_json(a, url, NULL, &r, &obj);
		if (rc != 0)
			goto out;
		status = anvil_json_str(obj, "status");
		if (status == NULL) {
			ag_err("%s: %s has no status", url, what);
			rc = AG_ECA;
			goto out;
		}
		if (!state_in(status, wait)) {
			*ret = obj;
			obj = NULL;
			goto out;
		}
		if (pace == PACE_PROMPT ||
		    (pace == PACE_EAGER && r.retry_after < 0))
			ms = ag_acme_prompt_delay(&r, attempt);
		else
			ms = ag_acme_poll_delay(&r, attempt);
		if (ag_now() + (ms + 999) / 1000 > deadline) {
			if (r.retry_after > a->poll_timeout)
				ag_err("%s still %s: the server asks to retry "
				    "after %lld s, more than poll_timeout "
				    "(%d s): giving up", what, status,
				    (long long)r.retry_after, a->poll_timeout);
			else
				ag_err("%s still %s after %lld s: giving up "
				    "(raise poll_timeout?)", what, status,
				    (long long)(ag_now() - start));
			rc = ANVIL_ETIMEDOUT;
			goto out;
		}
		rc = ag_sleep_ms(ms);
		if (rc != 0)
			goto out;
	}
	ag_err("%s still %s after %d requests: giving up", what,
	    anvil_json_str(obj, "status"), POLL_MAX);
	rc = ANVIL_ETIMEDOUT;
out:
	json_decref(obj);
	ag_resp_done(&r);
	return rc;
}

/* Names the error of an invalid authorization from its challenges. */
static int
authz_failed(const json_t *az, const char *name, const char *status)
{
	json_t		*chs, *ch, *err;
	const char	*type, *detail;
	enum anvil_problem p;
	size_t		 i;

	chs = anvil_json_arr(az, "challenges");
	json_array_foreach(chs, i, ch) {
		err = anvil_json_obj(ch, "error");
		if (err == NULL)
			continue;
		type = anvil_json_str(err, "type");
		detail = anvil_json_str(err, "detail");
		p = type != NULL ? anvil_problem_parse(type) : ANVIL_PROB__MAX;
		ag_err("%s: %s failed: server said %s: %s", name,
		    anvil_json_str(ch, "type") != NULL ?
		    anvil_json_str(ch, "type") : "challenge",
		    p != ANVIL_PROB__MAX ? anvil_problem_name(p) :
		    type != NULL ? type : "(no type)",
		    detail != NULL ? detail : "(no detail)");
		return AG_ECA;
	}
	ag_err("%s: authorization is %s", name, status);
	return AG_ECA;
}

/* A token is base64url (§8.1: at least 128 bits), bounded. */
static int
token_check(const char *t)
{
	size_t	 i, n = strlen(t);

	if (n < 22 || n > MAX_TOKEN)
		return ANVIL_EINVAL;
	for (i = 0; i < n; i++)
		if (!((t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= 'A' && t[i] <= 'Z') ||
		    (t[i] >= '0' && t[i] <= '9') || t[i] == '-' || t[i] == '_'))
			return ANVIL_EINVAL;
	return 0;
}

/*
 * Reads one authorization: nothing to do when valid; when pending, hands
 * the solver the key authorization of the challenge it handles.
 */
static int
authz_prepare(struct order *o, struct ag_solver *s, const char *url)
{
	struct ag_resp	 r;
	json_t		*az = NULL, *chs, *ch, *id;
	const char	*status, *name, *token, *curl, *type;
	char		*keyauth = NULL;
	struct pend	*p;
	size_t		 i;
	int		 rc;

	ag_resp_init(&r);
	rc = ag_acme_post_json(o->a, url, NULL, &r, &az);
	if (rc != 0)
		goto out;
	rc = AG_ECA;
	status = anvil_json_str(az, "status");
	id = anvil_json_obj(az, "identifier");
	name = anvil_json_str(id, "value");
	if (status == NULL || name == NULL) {
		ag_err("%s: not an authorization", url);
		goto out;
	}
	if (strcmp(status, "valid") == 0) {
		rc = 0;
		goto out;
	}
	if (strcmp(status, "pending") != 0) {
		rc = authz_failed(az, name, status);
		goto out;
	}
	chs = anvil_json_arr(az, "challenges");
	curl = token = NULL;
	json_array_foreach(chs, i, ch) {
		type = anvil_json_str(ch, "type");
		if (type != NULL && strcmp(type, s->ops->challenge) == 0) {
			token = anvil_json_str(ch, "token");
			curl = anvil_json_str(ch, "url");
			break;
		}
	}
	if (token == NULL || curl == NULL) {
		ag_err("%s: the server offers no %s challenge (try another "
		    "solver)", name, s->ops->challenge);
		goto out;
	}
	if (token_check(token) != 0) {
		ag_err("%s: the server sent a malformed token", name);
		goto out;
	}
	/* §8.1: keyAuthorization = token || '.' || thumbprint */
	if (asprintf(&keyauth, "%s.%s", token,
	    anvil_jwk_thumbprint(o->a->jwk)) < 0) {
		keyauth = NULL;
		rc = ANVIL_ENOMEM;
		goto out;
	}
	if (o->n_pend == AG_MAX_AUTHZ) {
		ag_err("too many authorizations in the order");
		goto out;
	}
	p = &o->pend[o->n_pend];
	p->authz = strdup(url);
	p->chall = strdup(curl);
	p->name = strdup(name);
	o->n_pend++;
	if (p->authz == NULL || p->chall == NULL || p->name == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = s->ops->add(s, name, token, keyauth);
out:
	free(keyauth);
	json_decref(az);
	ag_resp_done(&r);
	return rc;
}

/*
 * Asks for validation of every pending challenge, then waits for each
 * authorization.  §7.5.1: "the client SHOULD NOT begin polling until it
 * has seen the validation request from the server".  A built-in
 * responder sees it: wait until every answer was fetched (at most the
 * Retry-After of the challenges' answers, or SERVED_WAIT_MS without
 * one), then poll promptly; when the CA did not come, poll on its
 * Retry-After.  Other solvers poll on Retry-After.  An answer that says
 * the challenge is valid already (a CA may answer once it has validated)
 * makes its authorization valid (§7.1.6): that one is not polled.
 */
static int
authz_validate(struct order *o, struct ag_solver *s)
{
	static const char *const wait[] = { "pending", NULL };
	struct ag_resp	 r;
	json_t		*empty = NULL, *ch = NULL, *az = NULL;
	const char	*status;
	int64_t		 ra = -1;
	size_t		 i, n_open = 0;
	enum pace	 pace = PACE_SERVER;
	int		 rc = 0;
	long		 ms;

	ag_resp_init(&r);
	empty = json_object();
	if (empty == NULL)
		return ANVIL_ENOMEM;
	/* §7.5.1: an empty object says "ready, validate". */
	for (i = 0; i < o->n_pend && rc == 0; i++) {
		json_decref(ch);
		ch = NULL;
		rc = ag_acme_post_json(o->a, o->pend[i].chall, empty, &r, &ch);
		if (rc == 0 && r.retry_after > ra)
			ra = r.retry_after;
		status = rc == 0 ? anvil_json_str(ch, "status") : NULL;
		o->pend[i].valid = status != NULL &&
		    strcmp(status, "valid") == 0;
		if (!o->pend[i].valid)
			n_open++;
	}
	if (rc == 0 && n_open > 0 && s->ops->wait_served != NULL) {
		r.retry_after = ra;
		ms = ra >= 0 ? ag_acme_poll_delay(&r, 0) : SERVED_WAIT_MS;
		rc = s->ops->wait_served(s, ms);
		/* Unseen: the server's time is up; poll as it says. */
		pace = rc == 0 ? PACE_PROMPT : PACE_EAGER;
		if (rc == ANVIL_ETIMEDOUT)
			rc = 0;
	}
	for (i = 0; i < o->n_pend && rc == 0; i++) {
		if (o->pend[i].valid)
			continue;
		json_decref(az);
		az = NULL;
		rc = poll_obj(o->a, o->pend[i].authz, wait, o->pend[i].name,
		    pace, &az);
		if (rc != 0)
			break;
		status = anvil_json_str(az, "status");
		if (strcmp(status, "valid") != 0)
			rc = authz_failed(az, o->pend[i].name, status);
	}
	json_decref(empty);
	json_decref(ch);
	json_decref(az);
	ag_resp_done(&r);
	return rc;
}

/* newOrder (§7.4) for names; fills o->url and o->obj. */
static int
order_new(struct order *o, const char *const *names, size_t n)
{
	struct ag_resp	 r;
	json_t		*req = NULL, *ids, *id;
	const char	*status;
	size_t		 i;
	int		 rc = ANVIL_ENOMEM;

	ag_resp_init(&r);
	ids = json_array();
	req = json_object();
	if (ids == NULL || req == NULL ||
	    json_object_set_new(req, "identifiers", ids) != 0) {
		json_decref(ids);
		goto out;
	}
	for (i = 0; i < n; i++) {
		id = json_pack("{s:s, s:s}", "type", "dns", "value", names[i]);
		if (id == NULL || json_array_append_new(ids, id) != 0)
			goto out;
	}
	rc = ag_acme_post_json(o->a, ag_acme_dirurl(o->a, "newOrder"), req,
	    &r, &o->obj);
	if (rc != 0)
		goto out;
	rc = AG_ECA;
	if (r.status != 201 || r.location == NULL ||
	    strncmp(r.location, "https://", 8) != 0) {
		ag_err("newOrder: no order URL (HTTP %ld)", r.status);
		goto out;
	}
	o->url = strdup(r.location);
	if (o->url == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	status = anvil_json_str(o->obj, "status");
	if (status == NULL || strcmp(status, "invalid") == 0) {
		ag_err("newOrder: the order is %s", status != NULL ?
		    status : "without status");
		goto out;
	}
	rc = 0;
out:
	json_decref(req);
	ag_resp_done(&r);
	return rc;
}

/* Finalizes with a CSR for a new key of type kt (§7.4), waits for the
 * certificate URL and downloads the chain. */
static int
order_finish(struct order *o, const char *const *names, size_t n,
    enum anvil_key_type kt, struct ag_issued *ret)
{
	static const char *const wait_ready[] = { "pending", NULL };
	static const char *const wait_valid[] = { "processing", "ready",
	    NULL };
	struct ag_resp	 r;
	X509_REQ	*req = NULL;
	EVP_PKEY	*key = NULL;
	json_t		*fin = NULL, *obj = NULL;
	uint8_t		*der = NULL;
	char		*b64 = NULL;
	const char	*status, *url;
	size_t		 der_len;
	int		 rc;

	ag_resp_init(&r);
	rc = poll_obj(o->a, o->url, wait_ready, "order", PACE_EAGER,
	    &obj);
	if (rc != 0)
		goto out;
	status = anvil_json_str(obj, "status");
	if (strcmp(status, "ready") != 0 && strcmp(status, "valid") != 0) {
		ag_err("order is %s, not ready for finalization", status);
		rc = AG_ECA;
		goto out;
	}
	if (strcmp(status, "ready") == 0) {
		rc = anvil_key_generate(kt, &key);
		if (rc == 0)
			rc = anvil_csr_new(key, names, n, &req);
		if (rc == 0)
			rc = anvil_csr_der(req, &der, &der_len);
		if (rc == 0)
			rc = anvil_b64url_encode(der, der_len, &b64);
		if (rc != 0) {
			ag_err("cannot make the key and CSR: %s",
			    anvil_strerror(rc));
			goto out;
		}
		fin = json_pack("{s:s}", "csr", b64);
		if (fin == NULL) {
			rc = ANVIL_ENOMEM;
			goto out;
		}
		json_decref(obj);
		obj = NULL;
		rc = ag_acme_post_json(o->a, anvil_json_str(o->obj,
		    "finalize"), fin, &r, &obj);
		if (rc != 0)
			goto out;
		status = anvil_json_str(obj, "status");
		if (status == NULL || strcmp(status, "valid") != 0) {
			json_decref(obj);
			obj = NULL;
			rc = poll_obj(o->a, o->url, wait_valid, "order",
			    PACE_EAGER, &obj);
			if (rc != 0)
				goto out;
		}
	} else {
		ag_err("order is already valid: its key is unknown");
		rc = AG_ECA;
		goto out;
	}
	status = anvil_json_str(obj, "status");
	url = anvil_json_str(obj, "certificate");
	if (strcmp(status, "valid") != 0 || url == NULL) {
		ag_err("order is %s after finalize%s", status,
		    url == NULL ? ", no certificate URL" : "");
		rc = AG_ECA;
		goto out;
	}
	/* §7.4.2: the chain, PEM. */
	rc = ag_acme_post(o->a, url, NULL, 0,
	    "application/pem-certificate-chain", &r);
	if (rc != 0)
		goto out;
	if (r.body.len == 0 || memchr(r.body.data, '\0', r.body.len) ||
	    strstr(r.body.data, "-----BEGIN CERTIFICATE-----") == NULL) {
		ag_err("%s: the answer is not a PEM certificate chain", url);
		rc = AG_ECA;
		goto out;
	}
	ret->pem = anvil_buf_take(&r.body, &ret->pem_len);
	if (ret->pem == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	ret->key = key;
	key = NULL;
	rc = 0;
out:
	ag_resp_done(&r);
	X509_REQ_free(req);
	EVP_PKEY_free(key);
	json_decref(fin);
	json_decref(obj);
	free(der);
	free(b64);
	return rc;
}

int
ag_order_run(struct ag_acme *a, struct ag_solver *s,
    const char *const *names, size_t n, enum anvil_key_type kt,
    struct ag_issued *ret)
{
	struct order	 o;
	json_t		*azs, *az;
	size_t		 i;
	int		 rc, started = 0;

	memset(&o, 0, sizeof(o));
	o.a = a;
	rc = s->ops->start(s);
	if (rc != 0)
		goto out;
	started = 1;
	rc = order_new(&o, names, n);
	if (rc != 0)
		goto out;
	azs = anvil_json_arr(o.obj, "authorizations");
	if (azs == NULL || json_array_size(azs) == 0 ||
	    json_array_size(azs) > AG_MAX_AUTHZ) {
		ag_err("newOrder: bad list of authorizations");
		rc = AG_ECA;
		goto out;
	}
	json_array_foreach(azs, i, az) {
		if (!json_is_string(az)) {
			ag_err("newOrder: bad authorization URL");
			rc = AG_ECA;
			goto out;
		}
		rc = authz_prepare(&o, s, json_string_value(az));
		if (rc != 0)
			goto out;
	}
	if (o.n_pend > 0) {
		rc = s->ops->ready(s);
		if (rc != 0)
			goto out;
		rc = authz_validate(&o, s);
		if (rc != 0)
			goto out;
	}
	/* The answers are no longer needed: take them down now. */
	s->ops->cleanup(s);
	started = 0;
	rc = order_finish(&o, names, n, kt, ret);
out:
	if (started)
		s->ops->cleanup(s);
	for (i = 0; i < o.n_pend; i++) {
		free(o.pend[i].authz);
		free(o.pend[i].chall);
		free(o.pend[i].name);
	}
	free(o.url);
	json_decref(o.obj);
	return rc;
}
