/*
 * crl.c - builds and signs certificate revocation lists (RFC 5280 §5).
 *
 * A CRL here is either one shard of the intermediate's certificates (its
 * issuingDistributionPoint names the shard's URL, so that a relying party
 * never takes a shard for the complete list, §5.2.5) or the root's
 * complete CRL of intermediates.  The reasonCode extensions, one per
 * reason, are encoded once per build and copied into each entry: at
 * 100,000 entries the per-entry cost is what counts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/error.h"
#include "anvil/x509.h"

#include "crl.h"
#include "model.h"
#include "signer.h"
#include "signer_int.h"

/* Largest CRL file crl_root_refresh reads back. */
#define ROOT_CRL_MAX	(64 * 1024)

int
crl_shard_of_hex(const char *serial_hex, int n)
{
	unsigned int	 r = 0, d;
	size_t		 i, len;
	char		 c;

	if (serial_hex == NULL || n < 1)
		return ANVIL_EINVAL;
	len = strnlen(serial_hex, SERIAL_HEX_LEN + 1);
	if (len == 0 || len > SERIAL_HEX_LEN)
		return ANVIL_EINVAL;
	/* Horner's rule on the big-endian value; r stays below n. */
	for (i = 0; i < len; i++) {
		c = serial_hex[i];
		if (c >= '0' && c <= '9')
			d = (unsigned int)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned int)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned int)(c - 'A' + 10);
		else
			return ANVIL_EINVAL;
		r = (r * 16 + d) % (unsigned int)n;
	}
	return (int)r;
}

int
crl_url(char *out, size_t outlen, const char *base, int shard)
{
	int	 n;

	n = snprintf(out, outlen, "%s/crl/%d.crl", base, shard);
	if (n < 0 || (size_t)n >= outlen)
		return ANVIL_E2BIG;
	return 0;
}

/* Sets *ret to a new ASN1_INTEGER of the hex serial. */
static int
serial_from_hex(const char *hex, ASN1_INTEGER **ret)
{
	BIGNUM		*bn = NULL;
	ASN1_INTEGER	*ai = NULL;
	int		 rc = ANVIL_EINVAL;

	if (crl_shard_of_hex(hex, 1) != 0)	/* checks the characters */
		goto out;
	if (BN_hex2bn(&bn, hex) != (int)strlen(hex))
		goto out;
	ai = BN_to_ASN1_INTEGER(bn, NULL);
	if (ai == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	*ret = ai;
	rc = 0;
out:
	BN_free(bn);
	return rc;
}

/* The reasonCode extension of each reason, built once per CRL. */
struct reason_exts {
	X509_EXTENSION	*ext[REASON_MAX + 1];	/* owned; [0] stays NULL */
};

static void
reason_exts_clear(struct reason_exts *r)
{
	int	 i;

	for (i = 0; i <= REASON_MAX; i++)
		X509_EXTENSION_free(r->ext[i]);
	memset(r, 0, sizeof(*r));
}

/* Returns the extension for reason, making it on first use; NULL for
 * unspecified (0), which §5.3.1 says to leave out, or on failure (with
 * *rc set). */
static X509_EXTENSION *
reason_ext(struct reason_exts *r, int reason, int *rc)
{
	ASN1_ENUMERATED	*e = NULL;

	if (reason == 0)
		return NULL;
	if (r->ext[reason] != NULL)
		return r->ext[reason];
	e = ASN1_ENUMERATED_new();
	if (e == NULL || !ASN1_ENUMERATED_set(e, reason)) {
		*rc = ANVIL_ENOMEM;
		goto out;
	}
	r->ext[reason] = X509V3_EXT_i2d(NID_crl_reason, 0, e);
	if (r->ext[reason] == NULL)
		*rc = ANVIL_ECRYPTO;
out:
	ASN1_ENUMERATED_free(e);
	return r->ext[reason];
}

/* Adds one entry to crl. */
static int
entry_add(X509_CRL *crl, const struct revoked *e, struct reason_exts *rx)
{
	X509_REVOKED		*rv = NULL;
	ASN1_INTEGER		*serial = NULL;
	ASN1_TIME		*when = NULL;
	ASN1_GENERALIZEDTIME	*inv = NULL;
	X509_EXTENSION		*ext;
	int			 rc;

	if (e->reason < 0 || e->reason > REASON_MAX || e->reason == 7 ||
	    e->revoked_at <= 0 || e->invalidity < 0)
		return ANVIL_EINVAL;
	rc = serial_from_hex(e->serial, &serial);
	if (rc != 0)
		goto out;
	rc = ANVIL_ENOMEM;
	rv = X509_REVOKED_new();
	when = ASN1_TIME_set(NULL, (time_t)e->revoked_at);
	if (rv == NULL || when == NULL)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (!X509_REVOKED_set_serialNumber(rv, serial) ||
	    !X509_REVOKED_set_revocationDate(rv, when))
		goto out;
	rc = 0;
	ext = reason_ext(rx, e->reason, &rc);
	if (rc != 0)
		goto out;
	if (ext != NULL && !X509_REVOKED_add_ext(rv, ext, -1)) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	/* §5.3.2: invalidityDate is a GeneralizedTime. */
	if (e->invalidity != 0) {
		inv = ASN1_GENERALIZEDTIME_set(NULL, (time_t)e->invalidity);
		if (inv == NULL || X509_REVOKED_add1_ext_i2d(rv,
		    NID_invalidity_date, inv, 0, X509V3_ADD_DEFAULT) != 1) {
			rc = ANVIL_ECRYPTO;
			goto out;
		}
	}
	if (!X509_CRL_add0_revoked(crl, rv)) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rv = NULL;
	rc = 0;
out:
	X509_REVOKED_free(rv);
	ASN1_INTEGER_free(serial);
	ASN1_TIME_free(when);
	ASN1_GENERALIZEDTIME_free(inv);
	return rc;
}

/* Adds the critical issuingDistributionPoint of a shard (§5.2.5): the
 * shard's URL, and onlyContainsUserCerts. */
static int
idp_add(X509_CRL *crl, const char *url)
{
	ISSUING_DIST_POINT	*idp = NULL;
	int			 rc = ANVIL_ENOMEM;

	idp = ISSUING_DIST_POINT_new();
	if (idp == NULL)
		goto out;
	rc = signer__uri_dpname(url, &idp->distpoint);
	if (rc != 0)
		goto out;
	idp->onlyuser = 0xff;
	if (X509_CRL_add1_ext_i2d(crl, NID_issuing_distribution_point, idp,
	    1, X509V3_ADD_DEFAULT) != 1) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	rc = 0;
out:
	ISSUING_DIST_POINT_free(idp);
	return rc;
}

/* Adds the authorityKeyIdentifier (§5.2.1, the issuer's SKI) and the
 * cRLNumber (§5.2.3). */
static int
crl_exts_add(X509_CRL *crl, X509 *issuer, int64_t number)
{
	AUTHORITY_KEYID		*aki = NULL;
	ASN1_INTEGER		*num = NULL;
	const ASN1_OCTET_STRING	*ski;
	int			 rc = ANVIL_ECERT;

	ski = X509_get0_subject_key_id(issuer);
	if (ski == NULL)
		goto out;
	rc = ANVIL_ENOMEM;
	aki = AUTHORITY_KEYID_new();
	num = ASN1_INTEGER_new();
	if (aki == NULL || num == NULL)
		goto out;
	aki->keyid = ASN1_OCTET_STRING_dup(ski);
	if (aki->keyid == NULL || !ASN1_INTEGER_set_int64(num, number))
		goto out;
	rc = ANVIL_ECRYPTO;
	if (X509_CRL_add1_ext_i2d(crl, NID_authority_key_identifier, aki, 0,
	    X509V3_ADD_DEFAULT) != 1 ||
	    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	rc = 0;
out:
	AUTHORITY_KEYID_free(aki);
	ASN1_INTEGER_free(num);
	return rc;
}

int
crl_build(X509 *issuer, EVP_PKEY *key, const struct crl_req *req,
    uint8_t **ret_der, size_t *ret_len)
{
	X509_CRL		*crl = NULL;
	ASN1_TIME		*t = NULL;
	struct reason_exts	 rx;
	const EVP_MD		*md;
	size_t			 i;
	int			 rc = ANVIL_EINVAL;

	memset(&rx, 0, sizeof(rx));
	if (issuer == NULL || key == NULL || req == NULL || ret_der == NULL ||
	    ret_len == NULL)
		return ANVIL_EINVAL;
	if (req->number < 1 || req->this_update <= 0 ||
	    req->next_update <= req->this_update ||
	    req->n_entries > CRL_MAX_ENTRIES ||
	    (req->n_entries > 0 && req->entries == NULL))
		return ANVIL_EINVAL;
	md = signer__md(key);
	if (md == NULL)
		return ANVIL_EKEY;

	rc = ANVIL_ENOMEM;
	crl = X509_CRL_new();
	if (crl == NULL)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (!X509_CRL_set_version(crl, X509_CRL_VERSION_2) ||
	    !X509_CRL_set_issuer_name(crl, X509_get_subject_name(issuer)))
		goto out;
	t = ASN1_TIME_set(NULL, (time_t)req->this_update);
	if (t == NULL || !X509_CRL_set1_lastUpdate(crl, t))
		goto out;
	if (ASN1_TIME_set(t, (time_t)req->next_update) == NULL ||
	    !X509_CRL_set1_nextUpdate(crl, t))
		goto out;
	for (i = 0; i < req->n_entries; i++) {
		rc = entry_add(crl, &req->entries[i], &rx);
		if (rc != 0)
			goto out;
	}
	rc = crl_exts_add(crl, issuer, req->number);
	if (rc == 0 && req->idp_url != NULL)
		rc = idp_add(crl, req->idp_url);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	/* Entries in serial order: a reader may search, and the output is
	 * the same whatever order the store returned. */
	if (!X509_CRL_sort(crl) || X509_CRL_sign(crl, key, md) <= 0)
		goto out;
	rc = signer__der(crl, ASN1_ITEM_rptr(X509_CRL), ret_der, ret_len);
out:
	if (rc != 0)
		ERR_clear_error();
	ASN1_TIME_free(t);
	reason_exts_clear(&rx);
	X509_CRL_free(crl);
	return rc;
}

/* Converts an ASN1_TIME to seconds since the epoch. */
static int
time_of(const ASN1_TIME *t, int64_t *ret)
{
	struct tm	 tm;

	if (t == NULL || !ASN1_TIME_to_tm(t, &tm))
		return ANVIL_ECERT;
	*ret = (int64_t)timegm(&tm);
	return 0;
}

int
crl_info(const uint8_t *der, size_t len, int64_t *ret_this,
    int64_t *ret_next, int64_t *ret_number)
{
	const unsigned char	*p = der;
	X509_CRL		*crl = NULL;
	ASN1_INTEGER		*num = NULL;
	int64_t			 a = 0, b = 0, n = 0;
	int			 rc = ANVIL_ECERT;

	if (der == NULL || len == 0 || len > CRL_MAX_ENTRIES * 64UL)
		return ANVIL_EINVAL;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	if (crl == NULL || p != der + len)
		goto out;
	rc = time_of(X509_CRL_get0_lastUpdate(crl), &a);
	if (rc == 0)
		rc = time_of(X509_CRL_get0_nextUpdate(crl), &b);
	if (rc != 0)
		goto out;
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	if (num == NULL || !ASN1_INTEGER_get_int64(&n, num) || n < 1) {
		rc = ANVIL_ECERT;
		goto out;
	}
	*ret_this = a;
	*ret_next = b;
	*ret_number = n;
	rc = 0;
out:
	ERR_clear_error();
	ASN1_INTEGER_free(num);
	X509_CRL_free(crl);
	return rc;
}

/* Reads the PEM certificate at path into *ret. */
static int
pem_cert_read(const char *path, X509 **ret)
{
	char	*pem = NULL;
	size_t	 len = 0;
	BIO	*bio = NULL;
	int	 rc;

	rc = anvil_file_read(path, SIGNER_MAX_PEM_FILE, &pem, &len);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECERT;
	bio = BIO_new_mem_buf(pem, (int)len);	/* len <= 64 KiB */
	if (bio == NULL)
		goto out;
	*ret = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (*ret != NULL)
		rc = 0;
out:
	BIO_free(bio);
	free(pem);
	return rc;
}

int
crl_root_refresh(const char *state_dir, int64_t now, int *ret_made)
{
	struct crl_req	 req;
	EVP_PKEY	*key = NULL;
	X509		*root = NULL;
	char		 path[4096];
	char		*old = NULL;
	uint8_t		*der = NULL;
	size_t		 old_len = 0, der_len = 0;
	int64_t		 this = 0, next = 0, number = 0;
	int		 rc;

	*ret_made = 0;
	rc = signer__path(path, sizeof(path), state_dir, STATE_ROOT_CRL);
	if (rc != 0)
		return rc;
	rc = anvil_file_read(path, ROOT_CRL_MAX, &old, &old_len);
	if (rc == 0) {
		rc = crl_info((const uint8_t *)old, old_len, &this, &next,
		    &number);
		/* Fresh enough: before half its lifetime. */
		if (rc == 0 && now < this + (next - this) / 2)
			goto out;
		/* A damaged file is replaced, numbered from the clock so
		 * that the number still grows. */
		if (rc != 0)
			number = now;
	} else if (rc != ANVIL_ENOENT)
		goto out;

	rc = signer__path(path, sizeof(path), state_dir, STATE_ROOT_KEY);
	if (rc == 0)
		rc = anvil_key_load(path, &key);
	if (rc == 0)
		rc = signer__path(path, sizeof(path), state_dir,
		    STATE_ROOT_CERT);
	if (rc == 0)
		rc = pem_cert_read(path, &root);
	if (rc != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.this_update = now;
	req.next_update = now + CRL_ROOT_LIFETIME;
	req.number = number + 1;
	rc = crl_build(root, key, &req, &der, &der_len);
	if (rc == 0)
		rc = signer__path(path, sizeof(path), state_dir,
		    STATE_ROOT_CRL);
	if (rc == 0)
		rc = anvil_file_write_atomic(path, der, der_len, 0644);
	if (rc == 0)
		*ret_made = 1;
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(root);
	free(old);
	free(der);
	return rc;
}
