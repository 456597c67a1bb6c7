/*
 * ra_order.c - orders: newOrder (RFC 8555 §7.4), reading an order,
 * finalize with the CSR checks, and certificate download (§7.4.2).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

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
	if (anvil_rand_bytes(raw, sizeof(raw)) != 0)
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
	size_t i, valid = 0;
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
		/* Found valid or pending and unexpired at now, or new. */
		if (rc == 0 && a.status == AUTHZ_VALID)
			valid++;
		authz_clear(&a);
		if (rc != 0)
			goto fail;
	}
	/* What order_refresh() would make of it, without reading back the
	 * authorizations in hand: ready when all are valid already. */
	if (valid == o.n_names)
		o.status = ORDER_READY;
	rc = store_order_insert(r->srv->store, &o);
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
	if (order_refresh(r->srv->store, &o, NULL, now_s()) != 0) {
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

/*
 * Whether the CSR's key k is the account's key (§11.1).  r->key is the
 * account key that signed the request (kid): comparing the keys
 * themselves is the same test as comparing their thumbprints, without
 * building a JWK; when OpenSSL cannot compare them, the thumbprints are
 * compared (*csr_jwk gets the JWK, freed by the caller).
 */
static bool
csr_is_acct_key(const struct req *r, EVP_PKEY *k, struct anvil_jwk **csr_jwk)
{
	EVP_PKEY *acct = r->key != NULL ? anvil_jwk_pkey(r->key) : NULL;
	int eq;

	if (acct != NULL) {
		eq = EVP_PKEY_eq(k, acct);
		if (eq == 1)
			return true;
		if (eq == 0 || EVP_PKEY_get_base_id(k) !=
		    EVP_PKEY_get_base_id(acct))
			return false;
		ERR_clear_error();
	}
	if (anvil_jwk_from_pkey(k, csr_jwk) != 0)
		return true;	/* refused: cannot tell */
	return strcmp(anvil_jwk_thumbprint(*csr_jwk), r->acct.thumbprint) == 0;
}

static int spki_blocked(struct server *, const uint8_t *, size_t, char[64]);

/*
 * Whether the CSR's key was blocked as compromised: 1 if blocked, 0 if
 * not, or an error.  The blocked list holds the SHA-256 of the SPKI DER
 * of the revoked leaf, which is the CSR's SPKI as sent (the signer copies
 * it).  For an EC key on a named curve with an uncompressed point, the
 * CSR's SPKI DER is also what i2d_PUBKEY() would write, so it is hashed
 * as it stands; any other key goes through revoc_key_blocked(), which
 * encodes the key in its canonical form (a compressed point would
 * otherwise hash differently from the same key uncompressed).
 */
static int
csr_key_blocked(struct server *srv, X509_REQ *csr)
{
	X509_PUBKEY *pub = X509_REQ_get_X509_PUBKEY(csr);
	ASN1_OBJECT *alg = NULL;
	X509_ALGOR *pa = NULL;
	const unsigned char *pk = NULL;
	unsigned char *spki = NULL;
	int pklen = 0, ptype = 0, len, rc;
	const void *pval = NULL;

	if (pub == NULL ||
	    !X509_PUBKEY_get0_param(&alg, &pk, &pklen, &pa, pub) ||
	    OBJ_obj2nid(alg) != NID_X9_62_id_ecPublicKey)
		return revoc_key_blocked(srv, X509_REQ_get0_pubkey(csr));
	X509_ALGOR_get0(NULL, &ptype, &pval, pa);
	if (ptype != V_ASN1_OBJECT || pval == NULL || pklen < 1 ||
	    pk[0] != POINT_CONVERSION_UNCOMPRESSED)
		return revoc_key_blocked(srv, X509_REQ_get0_pubkey(csr));
	len = i2d_X509_PUBKEY(pub, &spki);
	if (len <= 0) {
		ERR_clear_error();
		return ANVIL_ECRYPTO;
	}
	rc = spki_blocked(srv, spki, (size_t)len, NULL);
	OPENSSL_free(spki);
	return rc;
}

/*
 * The CSR checks of finalize, in two ways.  The signer re-checks the CSR
 * from its DER before signing (signer_issue: it parses it, verifies its
 * signature, compares its names with the order's and applies the key
 * policy), so the RA need only make the checks the signer cannot: the key
 * is not the account's (§11.1) and is not blocked as compromised.  On
 * OpenSSL 3.0, d2i_X509_REQ costs ~300 us (the key goes through the
 * provider decoders): csr_quick() reads the SubjectPublicKeyInfo from the
 * DER instead, for the common case of an EC key in its canonical form;
 * anything else goes through csr_full(), the checks on the parsed CSR.
 * Both answer the request on refusal and return -1; 0 lets it go on.
 */
#define CSR_SLOW	1

/* The SPKI DER of P-256 and P-384 keys on their named curve, point
 * uncompressed: a fixed prefix and the point's coordinates.  This is what
 * i2d_PUBKEY() writes for these keys. */
static const uint8_t spki_p256[] = {
	0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01,
	0x07, 0x03, 0x42, 0x00, 0x04
};
static const uint8_t spki_p384[] = {
	0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d,
	0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62,
	0x00, 0x04
};

/*
 * Reads one DER header at *p (before end) with tag: sets *ret_len to the
 * content's length and returns the content, or NULL if it is not there.
 */
static const uint8_t *
der_enter(const uint8_t *p, const uint8_t *end, uint8_t tag, size_t *ret_len)
{
	size_t len, n, i;

	if (end - p < 2 || p[0] != tag)
		return NULL;
	if (p[1] < 0x80) {
		len = p[1];
		p += 2;
	} else {
		n = p[1] & 0x7f;
		if (n == 0 || n > 2 || (size_t)(end - p) < 2 + n)
			return NULL;
		for (len = 0, i = 0; i < n; i++)
			len = len << 8 | p[2 + i];
		p += 2 + n;
	}
	if ((size_t)(end - p) < len)
		return NULL;
	*ret_len = len;
	return p;
}

/*
 * Finds the CSR's SubjectPublicKeyInfo: CertificationRequest SEQUENCE >
 * CertificationRequestInfo SEQUENCE > version INTEGER, subject SEQUENCE,
 * then the SPKI.  Sets *ret_spki to its first byte (inside der) and
 * returns true when it is a P-256 or P-384 key in the form of spki_p256 /
 * spki_p384, with *ret_len its length.
 */
static bool
csr_ec_spki(const uint8_t *der, size_t der_len, const uint8_t **ret_spki,
    size_t *ret_len)
{
	const uint8_t *end = der + der_len, *p;
	size_t len;

	p = der_enter(der, end, 0x30, &len);
	if (p == NULL || p + len != end)
		return false;
	p = der_enter(p, end, 0x30, &len);		/* info */
	if (p == NULL)
		return false;
	end = p + len;
	p = der_enter(p, end, 0x02, &len);		/* version */
	if (p == NULL)
		return false;
	p = der_enter(p + len, end, 0x30, &len);	/* subject */
	if (p == NULL)
		return false;
	p += len;
	if ((size_t)(end - p) >= sizeof(spki_p256) + 64 &&
	    memcmp(p, spki_p256, sizeof(spki_p256)) == 0)
		len = sizeof(spki_p256) + 64;
	else if ((size_t)(end - p) >= sizeof(spki_p384) + 96 &&
	    memcmp(p, spki_p384, sizeof(spki_p384)) == 0)
		len = sizeof(spki_p384) + 96;
	else
		return false;
	*ret_spki = p;
	*ret_len = len;
	return true;
}

/*
 * Whether the EC point (uncompressed, 0x04 first) is the account key's.
 * Returns 1, 0, or -1 when the account key cannot be read.
 */
static int
point_is_acct_key(const struct req *r, const uint8_t *point, size_t len)
{
	if (r->key == NULL)
		return -1;
	/* From the JWK's coordinates: asking OpenSSL 3.0 for the encoded
	 * point costs more than the rest of the check. */
	return anvil_jwk_ec_point_is(r->key, point, len) ? 1 : 0;
}

/* SHA-256, fetched once for the process: SHA256() fetches it by name on
 * every call (EVP_Q_digest). */
static EVP_MD *spki_md;
static pthread_once_t spki_md_once = PTHREAD_ONCE_INIT;

static void
spki_md_fetch(void)
{
	spki_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

/* Looks up the SHA-256 of an SPKI DER in the blocked keys: 1 blocked, 0
 * not, or an error.  The hash (base64url, as sign_resp.spki_hash) is left
 * in hash when not NULL. */
static int
spki_blocked(struct server *srv, const uint8_t *spki, size_t len,
    char hash[64])
{
	uint8_t md[SHA256_DIGEST_LENGTH];
	char buf[64];

	if (hash == NULL)
		hash = buf;
	if (pthread_once(&spki_md_once, spki_md_fetch) != 0 ||
	    spki_md == NULL ||
	    EVP_Digest(spki, len, md, NULL, spki_md, NULL) != 1) {
		ERR_clear_error();
		return ANVIL_ECRYPTO;
	}
	(void)anvil_b64url_encode_to(hash, md, sizeof(md));
	return store_key_blocked(srv->store, hash);
}

/* Answers a refusal of the blocked-key check (rc from spki_blocked). */
static void
reply_blocked(struct req *r, int rc)
{
	reply_problem(r, rc == 1 ? ANVIL_PROB_BAD_PUBLIC_KEY :
	    ANVIL_PROB_SERVER_INTERNAL, 0, rc == 1 ?
	    "CSR key was revoked as compromised" :
	    "could not check the CSR key");
}

/*
 * The checks without parsing: 0, -1 (answered), or CSR_SLOW when the
 * CSR is not of the common form.  On 0, spki_hash holds the hash of the
 * key these checks were made on: the caller must see the signer certify
 * that same key (sign_resp.spki_hash), since only the signer parses the
 * CSR with OpenSSL and a crafted CSR must not show one key here and
 * another there.
 */
static int
csr_quick(struct req *r, const uint8_t *der, size_t der_len,
    char spki_hash[64])
{
	const uint8_t *spki = NULL;
	size_t len = 0, plen;
	int rc;

	if (!csr_ec_spki(der, der_len, &spki, &len))
		return CSR_SLOW;
	plen = len == sizeof(spki_p256) + 64 ? 65 : 97;
	rc = point_is_acct_key(r, spki + len - plen, plen);
	if (rc < 0)
		return CSR_SLOW;
	if (rc == 1) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR key must not be the account key");
		return -1;
	}
	rc = spki_blocked(r->srv, spki, len, spki_hash);
	if (rc != 0) {
		reply_blocked(r, rc);
		return -1;
	}
	return 0;
}

/* The checks on the parsed CSR, for any other CSR: 0 or -1 (answered). */
static int
csr_full(struct req *r, const struct order *o, const uint8_t *der,
    size_t der_len)
{
	struct anvil_jwk *csr_jwk = NULL;
	X509_REQ *csr = NULL;
	char **names = NULL;
	int rc, ret = -1;

	/* The signature is verified once, by the signer (signer_issue
	 * refuses a CSR whose signature does not verify: badCSR); until
	 * then the CSR only feeds checks that can refuse it. */
	if (anvil_csr_parse(der, der_len, &csr) != 0) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR does not parse");
		goto out;
	}
	if (anvil_csr_names(csr, ANVIL_MAX_IDENTIFIERS, &names) != 0) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR names are not all valid DNS names");
		goto out;
	}
	if (!same_names(names, o->names, o->n_names)) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR names differ from the order's identifiers");
		goto out;
	}
	if (!csr_key_ok(X509_REQ_get0_pubkey(csr))) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR key must be RSA 2048-4096 or ECDSA P-256/P-384");
		goto out;
	}
	if (csr_is_acct_key(r, X509_REQ_get0_pubkey(csr), &csr_jwk)) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR key must not be the account key");
		goto out;
	}
	rc = csr_key_blocked(r->srv, csr);
	if (rc != 0) {
		reply_blocked(r, rc);
		goto out;
	}
	ret = 0;
out:
	anvil_jwk_free(csr_jwk);
	anvil_strv_free(names);
	X509_REQ_free(csr);
	return ret;
}

void
ra_finalize(struct req *r)
{
	struct order o;
	struct cert c;
	struct sign_req sr;
	struct sign_resp sp;
	uint8_t *der = NULL;
	size_t der_len = 0;
	char url[400], quick_hash[64] = "";
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
	if (order_refresh(r->srv->store, &o, NULL, now) != 0) {
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
	rc = csr_quick(r, der, der_len, quick_hash);
	if (rc == CSR_SLOW) {
		quick_hash[0] = '\0';
		rc = csr_full(r, &o, der, der_len);
	}
	if (rc != 0)
		goto out;
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
	/* The quick checks must have looked at the key that was certified;
	 * otherwise the certificate is dropped, never stored or sent. */
	if (quick_hash[0] != '\0' && (sp.spki_hash == NULL ||
	    strcmp(quick_hash, sp.spki_hash) != 0)) {
		reply_problem(r, ANVIL_PROB_BAD_CSR, 0,
		    "CSR public key is not in canonical DER form");
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
