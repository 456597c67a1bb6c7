/*
 * tlsalpn.c - the tls-alpn-01 challenge certificate (RFC 8737 §3): build
 * it (client side) and read the key authorization digest out of it (the
 * validator).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/error.h"
#include "anvil/x509.h"
#include "internal.h"

/* RFC 8737 §6.1: id-pe-acmeIdentifier. */
#define ACME_ID_OID	"1.3.6.1.5.5.7.1.31"
#define DIGEST_LEN	32
/* Validity of the challenge certificate; only its handshake matters. */
#define CERT_DAYS	7

/* Returns a new ASN1_OBJECT for the acmeIdentifier OID, or NULL. */
static ASN1_OBJECT *
acme_id_obj(void)
{
	return OBJ_txt2obj(ACME_ID_OID, 1);
}

/*
 * Makes the critical acmeIdentifier extension: its extnValue holds the
 * DER of an OCTET STRING of the 32-byte digest (RFC 8737 §3).
 */
static int
acme_id_ext(const uint8_t digest[DIGEST_LEN], X509_EXTENSION **ret)
{
	ASN1_OBJECT		*obj = NULL;
	ASN1_OCTET_STRING	*inner = NULL, *outer = NULL;
	X509_EXTENSION		*ext = NULL;
	unsigned char		*der = NULL;
	int			 len, rc = ANVIL_ENOMEM;

	obj = acme_id_obj();
	inner = ASN1_OCTET_STRING_new();
	outer = ASN1_OCTET_STRING_new();
	if (obj == NULL || inner == NULL || outer == NULL)
		goto out;
	if (ASN1_OCTET_STRING_set(inner, digest, DIGEST_LEN) != 1)
		goto out;
	len = i2d_ASN1_OCTET_STRING(inner, &der);
	if (len <= 0)
		goto out;
	if (ASN1_OCTET_STRING_set(outer, der, len) != 1)
		goto out;
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, 1, outer);
	if (ext == NULL)
		goto out;
	*ret = ext;
	rc = 0;
out:
	OPENSSL_free(der);
	ASN1_OCTET_STRING_free(inner);
	ASN1_OCTET_STRING_free(outer);
	ASN1_OBJECT_free(obj);
	return rc;
}

/* Adds a subjectAltName of the single dNSName name, critical when the
 * subject is empty (RFC 5280 §4.2.1.6). */
static int
add_san(X509 *x, const char *name, int critical)
{
	GENERAL_NAMES	*gens = NULL;
	GENERAL_NAME	*gen = NULL;
	ASN1_IA5STRING	*ia5 = NULL;
	int		 rc = ANVIL_ENOMEM;

	gens = GENERAL_NAMES_new();
	gen = GENERAL_NAME_new();
	ia5 = ASN1_IA5STRING_new();
	if (gens == NULL || gen == NULL || ia5 == NULL ||
	    ASN1_STRING_set(ia5, name, -1) != 1)
		goto out;
	GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
	ia5 = NULL;
	if (sk_GENERAL_NAME_push(gens, gen) <= 0)
		goto out;
	gen = NULL;
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical,
	    X509V3_ADD_DEFAULT) != 1) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	rc = 0;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	return rc;
}

/* Sets a random positive 128-bit serial number. */
static int
set_serial(X509 *x)
{
	uint8_t		 rnd[16];
	BIGNUM		*bn = NULL;
	int		 rc = ANVIL_ECRYPTO;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		goto out;
	rnd[0] &= 0x7f;
	rnd[0] |= 0x01;		/* never zero, always 16 bytes */
	bn = BN_bin2bn(rnd, sizeof(rnd), NULL);
	if (bn == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	rc = 0;
out:
	BN_free(bn);
	return rc;
}

int
anvil_tlsalpn_cert_new(EVP_PKEY *key, const char *name,
    const uint8_t digest[32], X509 **ret)
{
	X509		*x = NULL;
	X509_NAME	*subj;
	X509_EXTENSION	*ext = NULL;
	int		 cn, rc = ANVIL_EINVAL;

	if (key == NULL || digest == NULL ||
	    anvil_dns_name_check(name, 0) != 0)
		goto out;
	rc = ANVIL_ENOMEM;
	x = X509_new();
	if (x == NULL)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (X509_set_version(x, X509_VERSION_3) != 1)
		goto out;
	rc = set_serial(x);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)CERT_DAYS * 86400) == NULL)
		goto out;
	/* Self-signed: subject and issuer are the name, when it fits. */
	cn = strlen(name) <= 64;
	subj = X509_get_subject_name(x);
	if (cn && X509_NAME_add_entry_by_NID(subj, NID_commonName,
	    MBSTRING_ASC, (const unsigned char *)name, -1, -1, 0) != 1)
		goto out;
	if (X509_set_issuer_name(x, subj) != 1 || X509_set_pubkey(x, key) != 1)
		goto out;
	rc = add_san(x, name, !cn);
	if (rc != 0)
		goto out;
	rc = acme_id_ext(digest, &ext);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (X509_add_ext(x, ext, -1) != 1)
		goto out;
	if (X509_sign(x, key, anvil__pkey_md(key)) <= 0)
		goto out;
	*ret = x;
	x = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	X509_EXTENSION_free(ext);
	X509_free(x);
	return rc;
}

/*
 * RFC 8737 §3: the extension must be critical and hold exactly an OCTET
 * STRING of 32 bytes.  Two such extensions are refused (RFC 5280 §4.2:
 * an extension appears at most once).
 */
int
anvil_tlsalpn_cert_digest(X509 *cert, uint8_t digest[32])
{
	ASN1_OBJECT		*obj = NULL;
	ASN1_OCTET_STRING	*inner = NULL;
	const ASN1_OCTET_STRING	*data;
	X509_EXTENSION		*ext;
	const unsigned char	*p, *end;
	int			 idx, rc = ANVIL_ECERT;

	if (cert == NULL)
		return ANVIL_EINVAL;
	obj = acme_id_obj();
	if (obj == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	idx = X509_get_ext_by_OBJ(cert, obj, -1);
	if (idx < 0) {
		rc = ANVIL_ENOENT;
		goto out;
	}
	if (X509_get_ext_by_OBJ(cert, obj, idx) >= 0)
		goto out;
	ext = X509_get_ext(cert, idx);
	if (ext == NULL || X509_EXTENSION_get_critical(ext) != 1)
		goto out;
	data = X509_EXTENSION_get_data(ext);
	p = ASN1_STRING_get0_data(data);
	end = p + ASN1_STRING_length(data);
	inner = d2i_ASN1_OCTET_STRING(NULL, &p, end - p);
	if (inner == NULL || p != end ||
	    ASN1_STRING_length(inner) != DIGEST_LEN)
		goto out;
	memcpy(digest, ASN1_STRING_get0_data(inner), DIGEST_LEN);
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	ASN1_OCTET_STRING_free(inner);
	ASN1_OBJECT_free(obj);
	return rc;
}
