/*
 * ra_acct.c - accounts: newAccount (RFC 8555 §7.3, §7.3.1), update and
 * deactivation (§7.3.2, §7.3.6), the orders list (§7.1.2.1) and key
 * rollover (§7.3.5).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/anvil.h"
#include "keycache.h"
#include "revoc.h"
#include "server.h"
#include "store.h"

#define ORDERS_PAGE 100

/*
 * Checks a contact array: at most ANVIL_MAX_CONTACTS "mailto:" URLs, each
 * one plain address (no hfields, no list).  On failure it answers and
 * returns -1; on success *ret_text is the compact JSON to store.
 */
static int
check_contact(struct req *r, const json_t *contact, char **ret_text)
{
	const char *s, *addr, *at;
	size_t i;
	json_t *v;

	if (!json_is_array(contact)) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "contact must be an array of URLs");
		return -1;
	}
	if (json_array_size(contact) > ANVIL_MAX_CONTACTS) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "at most %d contacts", ANVIL_MAX_CONTACTS);
		return -1;
	}
	json_array_foreach(contact, i, v) {
		s = json_string_value(v);
		if (s == NULL) {
			reply_problem(r, ANVIL_PROB_MALFORMED, 0,
			    "contact entries must be strings");
			return -1;
		}
		if (strncmp(s, "mailto:", 7) != 0) {
			reply_problem(r, ANVIL_PROB_UNSUPPORTED_CONTACT, 0,
			    "only mailto: contacts are supported");
			return -1;
		}
		addr = s + 7;
		at = strchr(addr, '@');
		if (strlen(s) > ANVIL_MAX_CONTACT_LEN || at == NULL ||
		    at == addr || strchr(at + 1, '@') != NULL ||
		    strchr(at + 1, '.') == NULL ||
		    strpbrk(addr, " ,?;<>\"\\\t\r\n") != NULL) {
			reply_problem(r, ANVIL_PROB_INVALID_CONTACT, 0,
			    "contact \"%.64s\" is not a valid mailto: URL", s);
			return -1;
		}
	}
	if (anvil_json_dump(contact, ret_text, NULL) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0, "out of memory");
		return -1;
	}
	return 0;
}

static void
reply_acct(struct req *r, int status, const struct acct *a)
{
	char url[400];

	url_of(r, PATH_ACCT, a->id, NULL, url, sizeof(url));
	reply_json(r, status, render_acct(r, a), url);
}

void
ra_new_account(struct req *r)
{
	struct acct a, old;
	json_t *jwk = NULL;
	bool only_existing = false, tos = false;
	int rc;

	memset(&a, 0, sizeof(a));
	memset(&old, 0, sizeof(old));
	if (r->post_as_get) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "newAccount needs a JSON object payload");
		return;
	}
	if (anvil_json_bool(r->payload, "onlyReturnExisting",
	    &only_existing) == ANVIL_EJSON ||
	    anvil_json_bool(r->payload, "termsOfServiceAgreed", &tos) ==
	    ANVIL_EJSON) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "onlyReturnExisting and termsOfServiceAgreed are booleans");
		return;
	}
	/* §7.3.1: an existing key gets its account back, unchanged. */
	rc = store_acct_find_by_thumbprint(r->srv->store,
	    anvil_jwk_thumbprint(r->key), &old);
	if (rc == 0) {
		if (old.status != ACCT_VALID)
			reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 401,
			    "account is %s", acct_status_name(old.status));
		else
			reply_acct(r, 200, &old);
		goto out;
	}
	if (rc != ANVIL_ENOENT) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not look up the key");
		goto out;
	}
	if (only_existing) {
		reply_problem(r, ANVIL_PROB_ACCOUNT_DOES_NOT_EXIST, 0,
		    "no account for this key");
		goto out;
	}
	rc = revoc_key_blocked(r->srv, anvil_jwk_pkey(r->key));
	if (rc != 0) {
		reply_problem(r, rc == 1 ? ANVIL_PROB_BAD_PUBLIC_KEY :
		    ANVIL_PROB_SERVER_INTERNAL, 0, rc == 1 ?
		    "this key was revoked as compromised" :
		    "could not check the key");
		goto out;
	}
	if (r->srv->cfg.terms_of_service != NULL && !tos) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "agree to the terms of service at %s",
		    r->srv->cfg.terms_of_service);
		goto out;
	}
	if (json_object_get(r->payload, "contact") != NULL) {
		if (check_contact(r, json_object_get(r->payload, "contact"),
		    &a.contact) != 0)
			goto out;
	} else {
		a.contact = strdup("[]");
		if (a.contact == NULL) {
			reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0, "oom");
			goto out;
		}
	}
	jwk = anvil_jwk_to_json(r->key);
	if (jwk == NULL || anvil_json_dump(jwk, &a.jwk, NULL) != 0 ||
	    id_new(a.id) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	snprintf(a.thumbprint, sizeof(a.thumbprint), "%s",
	    anvil_jwk_thumbprint(r->key));
	a.status = ACCT_VALID;
	a.tos_agreed = tos;
	a.created = now_s();
	rc = store_acct_insert(r->srv->store, &a);
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not store the account");
		goto out;
	}
	reply_acct(r, 201, &a);
out:
	json_decref(jwk);
	acct_clear(&a);
	acct_clear(&old);
}

/* The orders list, paged by ?cursor=N (offset). */
static void
orders_list(struct req *r)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(r->ev));
	char **ids = NULL, url[400], link[500];
	json_t *body = NULL, *arr = NULL;
	unsigned long offset = 0;
	char *end = NULL;
	int more = 0;
	size_t i;

	if (q != NULL) {
		if (strncmp(q, "cursor=", 7) != 0) {
			reply_problem(r, ANVIL_PROB_MALFORMED, 0, "bad query");
			return;
		}
		offset = strtoul(q + 7, &end, 10);
		if (*end != '\0' || end == q + 7 || offset > 100000000) {
			reply_problem(r, ANVIL_PROB_MALFORMED, 0, "bad cursor");
			return;
		}
	}
	if (store_order_list(r->srv->store, r->acct.id, offset, ORDERS_PAGE,
	    &ids, &more) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not list orders");
		return;
	}
	arr = json_array();
	for (i = 0; arr != NULL && ids[i] != NULL; i++) {
		url_of(r, PATH_ORDER, ids[i], NULL, url, sizeof(url));
		json_array_append_new(arr, json_string(url));
	}
	body = json_pack("{s:o}", "orders", arr);
	if (more) {
		url_of(r, PATH_ACCT, r->acct.id, "orders", url, sizeof(url));
		snprintf(link, sizeof(link), "<%s?cursor=%lu>;rel=\"next\"",
		    url, offset + ORDERS_PAGE);
		evhttp_add_header(evhttp_request_get_output_headers(r->ev),
		    "Link", link);
	}
	anvil_strv_free(ids);
	reply_json(r, 200, body, NULL);
}

void
ra_account(struct req *r)
{
	const char *status;
	char *contact = NULL;
	json_t *c;

	/* The account URL must be the signer's own. */
	if (strcmp(r->arg, r->acct.id) != 0) {
		reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 0,
		    "this is not your account");
		return;
	}
	if (strcmp(r->sub, "orders") == 0) {
		if (!r->post_as_get) {
			reply_problem(r, ANVIL_PROB_MALFORMED, 0,
			    "the orders list is read with POST-as-GET");
			return;
		}
		orders_list(r);
		return;
	}
	if (r->sub[0] != '\0') {
		reply_problem(r, ANVIL_PROB_MALFORMED, 404, "no such resource");
		return;
	}
	if (r->post_as_get) {
		reply_acct(r, 200, &r->acct);
		return;
	}
	status = anvil_json_str(r->payload, "status");
	if (json_object_get(r->payload, "status") != NULL &&
	    (status == NULL || strcmp(status, "deactivated") != 0)) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "status can only be set to \"deactivated\"");
		return;
	}
	c = json_object_get(r->payload, "contact");
	if (c != NULL && check_contact(r, c, &contact) != 0)
		return;
	if (contact != NULL) {
		free(r->acct.contact);
		r->acct.contact = contact;
	}
	if (status != NULL)
		r->acct.status = ACCT_DEACTIVATED;
	/* The account cache forgets it before the store changes. */
	keycache_acct_drop(r->srv->keys, r->acct.id);
	if (store_acct_update(r->srv->store, &r->acct) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not update the account");
		return;
	}
	reply_acct(r, 200, &r->acct);
}

void
ra_key_change(struct req *r)
{
	struct anvil_jws *inner = NULL;
	struct anvil_jwk *newkey = NULL, *oldkey = NULL;
	struct acct other;
	json_t *ip = NULL, *jwk = NULL;
	const char *account;
	char url[400], *jwk_text = NULL;
	int rc;

	memset(&other, 0, sizeof(other));
	if (r->post_as_get) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "keyChange needs a JWS payload");
		goto out;
	}
	rc = anvil_jws_parse((const char *)r->jws->payload,
	    r->jws->payload_len, &inner);
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "inner JWS is malformed");
		goto out;
	}
	/* §7.3.5: jwk of the new key, same url, no nonce. */
	if (inner->jwk == NULL || inner->kid != NULL) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "inner JWS must carry the new key as jwk");
		goto out;
	}
	if (inner->nonce != NULL) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "inner JWS must not have a nonce");
		goto out;
	}
	if (inner->url == NULL || strcmp(inner->url, r->jws->url) != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "inner JWS url differs from the outer one");
		goto out;
	}
	rc = anvil_jwk_from_json(inner->jwk, &newkey);
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_BAD_PUBLIC_KEY, 0,
		    "new key is not usable: %s", anvil_strerror(rc));
		goto out;
	}
	rc = anvil_jws_verify(inner, newkey);
	if (rc != 0) {
		reply_problem(r, rc == ANVIL_EALG ?
		    ANVIL_PROB_BAD_SIGNATURE_ALGORITHM : ANVIL_PROB_MALFORMED,
		    0, "inner JWS signature does not verify");
		goto out;
	}
	rc = revoc_key_blocked(r->srv, anvil_jwk_pkey(newkey));
	if (rc != 0) {
		reply_problem(r, rc == 1 ? ANVIL_PROB_BAD_PUBLIC_KEY :
		    ANVIL_PROB_SERVER_INTERNAL, 0, rc == 1 ?
		    "the new key was revoked as compromised" :
		    "could not check the new key");
		goto out;
	}
	rc = anvil_json_parse_object((const char *)inner->payload,
	    inner->payload_len, &ip);
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "inner payload is not a JSON object");
		goto out;
	}
	account = anvil_json_str(ip, "account");
	url_of(r, PATH_ACCT, r->acct.id, NULL, url, sizeof(url));
	if (account == NULL || strcmp(account, url) != 0) {
		reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 0,
		    "inner payload account is not the signer's account");
		goto out;
	}
	if (anvil_json_obj(ip, "oldKey") == NULL ||
	    anvil_jwk_from_json(anvil_json_obj(ip, "oldKey"), &oldkey) != 0 ||
	    !anvil_jwk_equal(oldkey, r->key)) {
		reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 0,
		    "oldKey is not the account's current key");
		goto out;
	}
	rc = store_acct_find_by_thumbprint(r->srv->store,
	    anvil_jwk_thumbprint(newkey), &other);
	if (rc == 0) {
		url_of(r, PATH_ACCT, other.id, NULL, url, sizeof(url));
		evhttp_add_header(evhttp_request_get_output_headers(r->ev),
		    "Location", url);
		reply_problem(r, ANVIL_PROB_MALFORMED, 409,
		    "the new key is already in use by an account");
		goto out;
	}
	jwk = anvil_jwk_to_json(newkey);
	if (jwk == NULL || anvil_json_dump(jwk, &jwk_text, NULL) != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0, "out of memory");
		goto out;
	}
	free(r->acct.jwk);
	r->acct.jwk = jwk_text;
	jwk_text = NULL;
	snprintf(r->acct.thumbprint, sizeof(r->acct.thumbprint), "%s",
	    anvil_jwk_thumbprint(newkey));
	/* The account cache forgets it before the store changes. */
	keycache_acct_drop(r->srv->keys, r->acct.id);
	rc = store_acct_update(r->srv->store, &r->acct);
	if (rc == ANVIL_EEXIST) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 409,
		    "the new key is already in use by an account");
		goto out;
	}
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not update the account");
		goto out;
	}
	reply_acct(r, 200, &r->acct);
out:
	anvil_jws_free(inner);
	anvil_jwk_free(newkey);
	anvil_jwk_free(oldkey);
	json_decref(ip);
	json_decref(jwk);
	free(jwk_text);
	acct_clear(&other);
}
