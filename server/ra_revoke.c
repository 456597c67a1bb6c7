/*
 * ra_revoke.c - revokeCert (RFC 8555 §7.6): by the account that got the
 * certificate, by an account holding valid authorizations for all its
 * names, or by the certificate's own key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "anvil/anvil.h"
#include "ra.h"
#include "revoc.h"
#include "store.h"

/* RFC 5280 §5.3.1 reasons a subscriber may give (as Let's Encrypt). */
static bool
reason_ok(json_int_t reason)
{
	return reason == 0 || reason == 1 || reason == 3 || reason == 4 ||
	    reason == 5;
}

/* True when the account holds valid authorizations for every name. */
static int
authorized_for_all(struct req *r, const struct cert *c)
{
	json_t *names = NULL, *v;
	const char *n;
	size_t i;
	int rc = 0, ok = 1;

	if (anvil_json_parse(c->names, strlen(c->names), &names) != 0 ||
	    !json_is_array(names) || json_array_size(names) == 0) {
		json_decref(names);
		return ANVIL_EDB;
	}
	json_array_foreach(names, i, v) {
		n = json_string_value(v);
		if (n == NULL) {
			ok = 0;
			break;
		}
		if (strncmp(n, "*.", 2) == 0)
			rc = store_authz_has_valid(r->srv->store, r->acct.id,
			    n + 2, true, now_s());
		else
			rc = store_authz_has_valid(r->srv->store, r->acct.id,
			    n, false, now_s());
		if (rc < 0)
			break;
		if (rc == 0) {
			ok = 0;
			break;
		}
	}
	json_decref(names);
	return rc < 0 ? rc : ok;
}

void
ra_revoke(struct req *r)
{
	struct cert c;
	struct anvil_jwk *certkey = NULL;
	json_t *jreason;
	const char *b64;
	const unsigned char *p;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char serial[41];
	X509 *x = NULL;
	json_int_t reason = 0;
	bool in_tx = false;
	int rc;

	memset(&c, 0, sizeof(c));
	if (r->post_as_get) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "revokeCert needs a payload with a certificate");
		return;
	}
	b64 = anvil_json_str(r->payload, "certificate");
	if (b64 == NULL || strlen(b64) > anvil_b64url_len(ANVIL_MAX_CSR_DER) ||
	    anvil_b64url_decode(b64, strlen(b64), &der, &der_len) != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "certificate must be base64url DER");
		goto out;
	}
	p = der;
	x = d2i_X509(NULL, &p, (long)der_len);
	if (x == NULL || p != der + der_len ||
	    anvil_cert_serial_hex(x, serial) != 0) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 0,
		    "certificate does not parse");
		goto out;
	}
	jreason = json_object_get(r->payload, "reason");
	if (jreason != NULL) {
		if (!json_is_integer(jreason)) {
			reply_problem(r, ANVIL_PROB_BAD_REVOCATION_REASON, 0,
			    "reason must be an integer");
			goto out;
		}
		reason = json_integer_value(jreason);
		if (!reason_ok(reason)) {
			reply_problem(r, ANVIL_PROB_BAD_REVOCATION_REASON, 0,
			    "reason %lld is not accepted (0, 1, 3, 4, 5 are)",
			    (long long)reason);
			goto out;
		}
	}
	rc = store_cert_get(r->srv->store, serial, &c);
	if (rc == ANVIL_ENOENT || (rc == 0 && (c.der_len != der_len ||
	    memcmp(c.der, der, der_len) != 0))) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 404,
		    "certificate was not issued by this CA");
		goto out;
	}
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not read the certificate");
		goto out;
	}
	if (r->jws->jwk != NULL) {
		/* Signed with a key: it must be the certificate's. */
		if (anvil_jwk_from_pkey(X509_get0_pubkey(x), &certkey) != 0 ||
		    !anvil_jwk_equal(certkey, r->key)) {
			reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 0,
			    "the JWS key is not the certificate's key");
			goto out;
		}
	} else if (strcmp(c.acct_id, r->acct.id) != 0) {
		rc = authorized_for_all(r, &c);
		if (rc < 0) {
			reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
			    "could not check authorizations");
			goto out;
		}
		if (rc == 0) {
			reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 0,
			    "account holds no valid authorizations for all "
			    "names of this certificate");
			goto out;
		}
	}
	if (c.revoked_at != 0) {
		reply_problem(r, ANVIL_PROB_ALREADY_REVOKED, 0,
		    "certificate was revoked already");
		goto out;
	}
	/* The revocation and, for keyCompromise, the block of its key
	 * (badPublicKey from now on) are one transaction. */
	rc = store_begin(r->srv->store);
	if (rc == 0) {
		in_tx = true;
		rc = store_cert_revoke(r->srv->store, serial, (int)reason,
		    now_s());
	}
	if (rc == 0 && reason == 1)
		rc = store_key_block(r->srv->store, c.spki_hash, 1, now_s());
	if (rc == 0) {
		in_tx = false;
		rc = store_commit(r->srv->store);
	}
	if (rc == ANVIL_EEXIST) {
		reply_problem(r, ANVIL_PROB_ALREADY_REVOKED, 0,
		    "certificate was revoked already");
		goto out;
	}
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not record the revocation");
		goto out;
	}
	/* The CRL shard and OCSP response follow on the next loop turn. */
	revoc_kick(r->srv);
	reply_raw(r, 200, NULL, NULL, 0);
out:
	if (in_tx)
		(void)store_rollback(r->srv->store);
	anvil_jwk_free(certkey);
	X509_free(x);
	free(der);
	cert_clear(&c);
}
