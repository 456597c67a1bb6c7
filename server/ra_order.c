/*
 * ra_order.c - orders: newOrder (RFC 8555 §7.4), reading an order,
 * finalize with the CSR checks, and certificate download (§7.4.2).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "anvil/anvil.h"
#include "ra.h"
#include "revoc.h"
#include "signer.h"
#include "store.h"

/* A name whose last label is all digits is an IP address, not DNS. */
static bool
looks_like_ip(const char *name)
{
	const char *last = strrchr(name, '.');
	const char *p;

	last = last != NULL ? last + 1 : name;
	for (p = last; *p != '\0'; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return true;
}

static json_t *
subproblem(enum anvil_problem p, const char *type, const char *value,
    const char *detail)
{
	json_t *doc = problem_new(p, detail, NULL);

	if (doc != NULL)
		json_object_set_new(doc, "identifier", json_pack("{s:s,s:s}",
		    "type", type, "value", value));
	return doc;
}

/*
 * Reads the identifiers of a newOrder into a NULL-terminated, lowercased,
 * deduplicated array.  Answers (with subproblems for each bad identifier)
 * and returns -1 when any is unacceptable.
 */
static int
read_identifiers(struct req *r, char ***ret, size_t *ret_n)
{
	json_t *ids = anvil_json_arr(r->payload, "identifiers");
	json_t *subs = NULL, *v;
	enum anvil_problem worst = ANVIL_PROB_REJECTED_IDENTIFIER;
	char **names = NULL, *name;
	const char *type, *value;
	size_t i, j, n = 0, k;

	if (ids == NULL || json_array_size(ids) == 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "identifiers must be a non-empty array");
		return -1;
	}
	if (json_array_size(ids) > ANVIL_MAX_IDENTIFIERS) {
		reply_problem(r, ANVIL_PROB_REJECTED_IDENTIFIER, 0,
		    "at most %d identifiers in an order",
		    ANVIL_MAX_IDENTIFIERS);
		return -1;
	}
	names = calloc(json_array_size(ids) + 1, sizeof(*names));
	subs = json_array();
	if (names == NULL || subs == NULL)
		goto oom;
	json_array_foreach(ids, i, v) {
		type = anvil_json_str(v, "type");
		value = anvil_json_str(v, "value");
		if (!json_is_object(v) || type == NULL || value == NULL) {
			reply_problem(r, ANVIL_PROB_MALFORMED, 0,
			    "identifier %zu must have string type and value",
			    i);
			goto fail;
		}
		if (strcmp(type, "dns") != 0) {
			worst = ANVIL_PROB_UNSUPPORTED_IDENTIFIER;
			json_array_append_new(subs, subproblem(
			    ANVIL_PROB_UNSUPPORTED_IDENTIFIER, type, value,
			    "only dns identifiers are supported"));
			continue;
		}
		if (strlen(value) > ANVIL_MAX_NAME_LEN) {
			json_array_append_new(subs, subproblem(
			    ANVIL_PROB_REJECTED_IDENTIFIER, type, "(too long)",
			    "name is longer than 253 characters"));
			continue;
		}
		name = strdup(value);
		if (name == NULL)
			goto oom;
		for (k = 0; name[k] != '\0'; k++)
			name[k] = (char)tolower((unsigned char)name[k]);
		if (anvil_dns_name_check(name, 1) != 0 || looks_like_ip(name)) {
			json_array_append_new(subs, subproblem(
			    ANVIL_PROB_REJECTED_IDENTIFIER, type, value,
			    "not a valid DNS name for a certificate"));
			free(name);
			continue;
		}
		for (j = 0; j < n; j++)
			if (strcmp(names[j], name) == 0)
				break;
		if (j < n) {
			free(name);
			continue;
		}
		names[n++] = name;
	}
	if (json_array_size(subs) > 0) {
		json_t *doc = problem_new(json_array_size(subs) == 1 ? worst :
		    ANVIL_PROB_REJECTED_IDENTIFIER,
		    "the order has identifiers this CA will not certify", subs);
		subs = NULL;
		reply_problem_json(r, doc);
		goto fail;
	}
	json_decref(subs);
	*ret = names;
	*ret_n = n;
	return 0;
oom:
	reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0, "out of memory");
fail:
	json_decref(subs);
	anvil_strv_free(names);
	return -1;
}

/* Reads an optional RFC 3339 time member; answers on a bad one. */
static int
read_time(struct req *r, const char *key, int64_t *ret)
{
	json_t *v = json_object_get(r->payload, key);

	*ret = 0;
	if (v == NULL)
		return 0;
	if (!json_is_string(v) ||
	    anvil_time_parse(json_string_value(v), ret) != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "%s must be an RFC 3339 date", key);
		return -1;
	}
	return 0;
}

static int
token_new(char out[44])
{
	uint8_t raw[32];

	/* §11.3: at least 128 bits of entropy; we use 256. */
	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return ANVIL_ECRYPTO;
	anvil_b64url_encode_to(out, raw, sizeof(raw));
	return 0;
}

/* A new pending authorization for one name, with its challenges. */
static int
authz_new(struct req *r, const char *name, int64_t expires, struct authz *a)
{
	static const enum chall_type all[] = {
		CHALL_HTTP01, CHALL_DNS01, CHALL_TLSALPN01
	};
	bool wildcard = strncmp(name, "*.", 2) == 0;
	size_t i;
	int rc;

	memset(a, 0, sizeof(*a));
	rc = id_new(a->id);
	if (rc != 0)
		return rc;
	snprintf(a->acct_id, sizeof(a->acct_id), "%s", r->acct.id);
	a->ident = strdup(wildcard ? name + 2 : name);
	if (a->ident == NULL)
		return ANVIL_ENOMEM;
	a->wildcard = wildcard;
	a->status = AUTHZ_PENDING;
	a->expires = expires;
	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		/* §7.1.3: wildcards are validated by dns-01 only. */
		if (wildcard && all[i] != CHALL_DNS01)
			continue;
		struct chall *c = &a->challs[a->n_challs++];
		rc = id_new(c->id);
		if (rc == 0)
			rc = token_new(c->token);
		if (rc != 0)
			return rc;
		c->type = all[i];
		c->status = CHALL_PENDING;
	}
	return 0;
}

void
ra_new_order(struct req *r)
{
	struct order o;
	struct authz a;
	int64_t now = now_s(), nb = 0, na = 0, window;
	char url[400];
	size_t i;
	bool in_tx = false, wildcard;
	int rc;

	memset(&o, 0, sizeof(o));
	if (r->post_as_get) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "newOrder needs a JSON object payload");
		return;
	}
	if (read_identifiers(r, &o.names, &o.n_names) != 0)
		goto out;
	if (read_time(r, "notBefore", &nb) != 0 ||
	    read_time(r, "notAfter", &na) != 0)
		goto out;
	window = (int64_t)r->srv->cfg.validity_days * 86400;
	if ((na != 0 && (na <= now || na <= nb ||
	    na - (nb > now ? nb : now) > window)) ||
	    (nb != 0 && (nb > now + window || nb < now - 86400))) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "notBefore/notAfter outside this CA's policy "
		    "(at most %d days, starting within a day of now)",
		    r->srv->cfg.validity_days);
		goto out;
	}
	o.not_before = nb;
	o.not_after = na;
	o.authz_ids = calloc(o.n_names + 1, sizeof(*o.authz_ids));
	if (o.authz_ids == NULL || id_new(o.id) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	snprintf(o.acct_id, sizeof(o.acct_id), "%s", r->acct.id);
	o.status = ORDER_PENDING;
	o.created = now;
	o.expires = now + r->srv->cfg.order_lifetime;
	rc = store_begin(r->srv->store);
	if (rc != 0)
		goto fail;
	in_tx = true;
	for (i = 0; i < o.n_names; i++) {
		wildcard = strncmp(o.names[i], "*.", 2) == 0;
		memset(&a, 0, sizeof(a));
		rc = store_authz_find_reusable(r->srv->store, r->acct.id,
		    wildcard ? o.names[i] + 2 : o.names[i], wildcard, now, &a);
		if (rc == ANVIL_ENOENT) {
			rc = authz_new(r, o.names[i], o.expires, &a);
			if (rc == 0)
				rc = store_authz_insert(r->srv->store, &a);
		}
		if (rc == 0) {
			o.authz_ids[i] = strdup(a.id);
			if (o.authz_ids[i] == NULL)
				rc = ANVIL_ENOMEM;
		}
		authz_clear(&a);
		if (rc != 0)
			goto fail;
	}
	rc = store_order_insert(r->srv->store, &o);
	if (rc == 0)
		rc = order_refresh(r->srv->store, &o, now);
	if (rc == 0)
		rc = store_commit(r->srv->store);
	if (rc != 0)
		goto fail;
	in_tx = false;
	url_of(r, PATH_ORDER, o.id, NULL, url, sizeof(url));
	reply_json(r, 201, render_order(r, &o), url);
	goto out;
fail:
	if (in_tx)
		(void)store_rollback(r->srv->store);
	reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
	    "could not create the order");
out:
	order_clear(&o);
}

void
ra_order(struct req *r)
{
	struct order o;
	char url[400];

	memset(&o, 0, sizeof(o));
	if (strcmp(r->sub, "finalize") == 0) {
		ra_finalize(r);
		return;
	}
	if (r->sub[0] != '\0') {
		reply_problem(r, ANVIL_PROB_MALFORMED, 404, "no such resource");
		return;
	}
	if (!r->post_as_get) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "an order is read with POST-as-GET (empty payload)");
		return;
	}
	if (load_own_order(r, r->arg, &o) != 0)
		return;
	if (order_refresh(r->srv->store, &o, now_s()) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not read the order");
		goto out;
	}
	if (o.status == ORDER_PENDING || o.status == ORDER_PROCESSING)
		r->retry_after = 1;
	url_of(r, PATH_ORDER, o.id, NULL, url, sizeof(url));
	reply_json(r, 200, render_order(r, &o), url);
out:
	order_clear(&o);
}

/* Same names, as sets (both lowercase, both deduplicated). */
static bool
same_names(char **csr, char **order, size_t n_order)
{
	size_t i, j, n_csr = 0;

	while (csr[n_csr] != NULL)
		n_csr++;
	if (n_csr != n_order)
		return false;
	for (i = 0; i < n_csr; i++) {
		for (j = 0; j < n_order; j++)
			if (strcmp(csr[i], order[j]) == 0)
				break;
		if (j == n_order)
			return false;
	}
	return true;
}

/* CSR keys: RSA 2048..4096, EC P-256 or P-384 (§7.4, §11.1). */
static bool
csr_key_ok(EVP_PKEY *k)
{
	char group[32];
	size_t glen = 0;
	int bits = EVP_PKEY_get_bits(k);

	if (EVP_PKEY_is_a(k, "RSA"))
		return bits >= ANVIL_MIN_RSA_BITS && bits <= ANVIL_MAX_RSA_BITS;
	if (EVP_PKEY_is_a(k, "EC")) {
		if (EVP_PKEY_get_group_name(k, group, sizeof(group),
		    &glen) != 1)
			return false;
		return strcmp(group, "prime256v1") == 0 ||
		    strcmp(group, "secp384r1") == 0;
	}
	return false;
}

void
ra_finalize(struct req *r)
{
	struct order o;
	struct cert c;
	struct sign_req sr;
	struct sign_resp sp;
	struct anvil_jwk *csr_jwk = NULL;
	X509_REQ *csr = NULL;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char **names = NULL, url[400];
	const char *csr_b64;
	json_t *names_json = NULL;
	int64_t now = now_s();
	size_t i;
	bool in_tx = false;
	int rc;

	memset(&o, 0, sizeof(o));
	memset(&c, 0, sizeof(c));
	memset(&sp, 0, sizeof(sp));
	if (r->post_as_get) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "finalize needs a payload with a csr");
		return;
	}
	if (load_own_order(r, r->arg, &o) != 0)
		return;
	if (order_refresh(r->srv->store, &o, now) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not read the order");
		goto out;
	}
	if (o.status != ORDER_READY) {
		reply_problem(r, ANVIL_PROB_ORDER_NOT_READY, 0,
		    "order is %s, not ready", order_status_name(o.status));
		goto out;
	}
	csr_b64 = anvil_json_str(r->payload, "csr");
	if (csr_b64 == NULL || strlen(csr_b64) >
	    anvil_b64url_len(ANVIL_MAX_CSR_DER) ||
	    anvil_b64url_decode(csr_b64, strlen(csr_b64), &der,
	    &der_len) != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "csr must be a base64url DER CSR of at most %d bytes",
		    ANVIL_MAX_CSR_DER);
		goto out;
	}
	if (anvil_csr_parse(der, der_len, &csr) != 0 ||
	    anvil_csr_verify(csr) != 0) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR does not parse or its signature does not verify");
		goto out;
	}
	if (anvil_csr_names(csr, ANVIL_MAX_IDENTIFIERS, &names) != 0) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR names are not all valid DNS names");
		goto out;
	}
	if (!same_names(names, o.names, o.n_names)) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR names differ from the order's identifiers");
		goto out;
	}
	if (!csr_key_ok(X509_REQ_get0_pubkey(csr))) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR key must be RSA 2048-4096 or ECDSA P-256/P-384");
		goto out;
	}
	if (anvil_jwk_from_pkey(X509_REQ_get0_pubkey(csr), &csr_jwk) != 0 ||
	    strcmp(anvil_jwk_thumbprint(csr_jwk), r->acct.thumbprint) == 0) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR key must not be the account key");
		goto out;
	}
	rc = revoc_key_blocked(r->srv, X509_REQ_get0_pubkey(csr));
	if (rc != 0) {
		reply_problem(r, rc == 1 ? ANVIL_PROB_BAD_PUBLIC_KEY :
		    ANVIL_PROB_SERVER_INTERNAL, 0, rc == 1 ?
		    "CSR key was revoked as compromised" :
		    "could not check the CSR key");
		goto out;
	}
	memset(&sr, 0, sizeof(sr));
	sr.csr_der = der;
	sr.csr_len = der_len;
	sr.names = (const char *const *)o.names;
	sr.n_names = o.n_names;
	sr.not_before = o.not_before != 0 ? o.not_before : now;
	sr.not_after = o.not_after != 0 ? o.not_after :
	    sr.not_before + (int64_t)r->srv->cfg.validity_days * 86400 - 1;
	rc = signer_issue(r->srv->signer, &sr, &sp);
	if (rc == ANVIL_ECSR) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "the signer refused the CSR");
		goto out;
	}
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not issue: %s", anvil_strerror(rc));
		goto out;
	}
	names_json = json_array();
	for (i = 0; names_json != NULL && i < o.n_names; i++)
		json_array_append_new(names_json, json_string(o.names[i]));
	if (names_json == NULL || anvil_json_dump(names_json, &c.names,
	    NULL) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0, "oom");
		goto out;
	}
	snprintf(c.serial, sizeof(c.serial), "%s", sp.serial);
	snprintf(c.acct_id, sizeof(c.acct_id), "%s", r->acct.id);
	snprintf(c.order_id, sizeof(c.order_id), "%s", o.id);
	c.der = sp.der;
	c.der_len = sp.der_len;
	c.spki_hash = sp.spki_hash;
	c.not_before = sp.not_before;
	c.not_after = sp.not_after;
	c.shard = sp.shard;
	/* The certificate is on disk before the order says valid. */
	rc = store_begin(r->srv->store);
	if (rc == 0) {
		in_tx = true;
		rc = store_cert_insert(r->srv->store, &c);
	}
	if (rc == 0) {
		o.status = ORDER_VALID;
		snprintf(o.cert_serial, sizeof(o.cert_serial), "%s", sp.serial);
		rc = store_order_update(r->srv->store, &o);
	}
	if (rc == 0)
		rc = store_commit(r->srv->store);
	c.der = NULL;
	c.spki_hash = NULL;
	if (rc != 0) {
		if (in_tx)
			(void)store_rollback(r->srv->store);
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not record the certificate");
		goto out;
	}
	/* Its first OCSP response, so that no status request waits. */
	revoc_cert_issued(r->srv, sp.serial);
	url_of(r, PATH_ORDER, o.id, NULL, url, sizeof(url));
	reply_json(r, 200, render_order(r, &o), url);
out:
	json_decref(names_json);
	sign_resp_clear(&sp);
	cert_clear(&c);
	order_clear(&o);
	anvil_jwk_free(csr_jwk);
	anvil_strv_free(names);
	X509_REQ_free(csr);
	free(der);
}

void
ra_cert(struct req *r)
{
	struct cert c;
	char *pem = NULL;
	int rc;

	memset(&c, 0, sizeof(c));
	if (r->sub[0] != '\0' || !r->post_as_get) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "a certificate is read with POST-as-GET");
		return;
	}
	rc = store_cert_get(r->srv->store, r->arg, &c);
	if (rc == ANVIL_ENOENT) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 404,
		    "no such certificate");
		return;
	}
	if (rc != 0 || signer_chain_for(r->srv->signer, c.der, c.der_len,
	    &pem) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not read the certificate");
		goto out;
	}
	reply_raw(r, 200, "application/pem-certificate-chain", pem,
	    strlen(pem));
out:
	free(pem);
	cert_clear(&c);
}
