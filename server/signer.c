/*
 * signer.c - the CA signer: holds the intermediate key and turns a checked
 * request (CSR, names, validity) into an end-entity certificate.
 *
 * It trusts nothing it is handed: the CSR is parsed and its signature
 * verified again, its names must be exactly the order's names, and its key
 * must be one we certify.  Everything constant across issuances is
 * prepared once by signer_open: one leaf object holding the issuer and the
 * constant extensions, which every issuance fills in and signs (with a
 * copy of a prepared signing context); the subject key is copied from the
 * CSR as encoded bytes, never decoded and re-encoded, to keep an issuance
 * cheap (see docs/internals/signer.md).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/b64.h"
#include "anvil/error.h"
#include "anvil/limits.h"
#include "anvil/x509.h"

#include "crl.h"
#include "ocsp.h"
#include "signer.h"
#include "signer_int.h"

/* Longest subject commonName (RFC 5280 Appendix A, ub-common-name). */
#define CN_MAX		64
/* Latest time an X.509 validity can express: 9999-12-31T23:59:59Z. */
#define TIME_MAX	INT64_C(253402300799)
/* Largest leaf DER signer_chain_for accepts. */
#define LEAF_DER_MAX	(64 * 1024)

struct signer {
	EVP_PKEY	*key;		/* intermediate private key; owned */
	const EVP_MD	*md;		/* digest used with key */
	X509		*inter;		/* intermediate certificate; owned */
	char		*chain_pem;	/* PEM of inter; owned */
	char		*root_pem;	/* PEM of the root; owned */
	X509_EXTENSION	*bc;		/* critical CA:FALSE; owned */
	X509_EXTENSION	*ku_ec;		/* critical digitalSignature; owned */
	X509_EXTENSION	*ku_rsa;	/* ... plus keyEncipherment; owned */
	X509_EXTENSION	*eku;		/* serverAuth; owned */
	X509_EXTENSION	*aki;		/* keyid of inter's SKI; owned */
	X509_EXTENSION	**cdp;		/* one per CRL shard; owned */
	int		 n_shards;	/* 0 until signer_set_public */
	X509_EXTENSION	*aia;		/* OCSP and caIssuers; owned */
	uint8_t		*inter_der;	/* DER of inter; owned */
	size_t		 inter_der_len;
	struct ocsp_responder *ocsp;	/* delegated responder, prepared
					   (signer_ocsp_sign); owned */
	/* Made once, used by every issuance (see leaf_prepare). */
	X509		*leaf;		/* the leaf being built, reused;
					   owned */
	int		 ku_idx;	/* leaf's keyUsage extension */
	int		 cdp_idx;	/* its CRL distribution point, or -1 */
	EVP_MD_CTX	*sctx;		/* DigestSignInit done with key,
					   never used but to copy; owned */
	EVP_MD_CTX	*ctx;		/* the copy a leaf spends; owned */
	EVP_MD		*sha1;		/* for the SKI; owned */
	EVP_MD		*sha256;	/* for spki_hash; owned */
	struct signer_ec *ec;		/* the CSR reader's keys and
					   digests; owned */
};

int
signer__serial_set(X509 *x)
{
	uint8_t		 b[SIGNER_SERIAL_BYTES];
	BIGNUM		*bn = NULL;
	int		 rc = ANVIL_ECRYPTO, tries;

	/* A zero serial is invalid; 2^-127 per draw, but never issue one. */
	for (tries = 0; tries < 4; tries++) {
		/* 48 bits of time, then 80 random bits (BR §7.1 asks for
		 * 64): the certificate tables' serial indexes grow at one
		 * end. */
		if (anvil_rand_time_ordered(b, sizeof(b)) != 0)
			goto out;
		b[0] &= 0x7f;	/* positive: DER INTEGER is signed */
		BN_free(bn);
		bn = BN_bin2bn(b, sizeof(b), NULL);
		if (bn == NULL) {
			rc = ANVIL_ENOMEM;
			goto out;
		}
		if (!BN_is_zero(bn))
			break;
	}
	if (BN_is_zero(bn))
		goto out;
	if (BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto out;
	rc = 0;
out:
	OPENSSL_cleanse(b, sizeof(b));
	BN_free(bn);
	return rc;
}

const EVP_MD *
signer__md(EVP_PKEY *key)
{
	switch (EVP_PKEY_get_base_id(key)) {
	case EVP_PKEY_RSA:
		return EVP_sha256();
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_bits(key) == 384)
			return EVP_sha384();
		if (EVP_PKEY_get_bits(key) == 256)
			return EVP_sha256();
		return NULL;
	default:
		return NULL;
	}
}

int
signer__path(char *buf, size_t len, const char *dir, const char *file)
{
	int	 n;

	n = snprintf(buf, len, "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= len)
		return ANVIL_E2BIG;
	return 0;
}

int
signer__cert_pem(X509 *x, char **ret)
{
	BIO	*bio = NULL;
	char	*data, *s = NULL;
	long	 len;
	int	 rc = ANVIL_ECRYPTO;

	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		goto out;
	if (PEM_write_bio_X509(bio, x) != 1)
		goto out;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		goto out;
	s = malloc((size_t)len + 1);
	if (s == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	memcpy(s, data, (size_t)len);
	s[len] = '\0';
	*ret = s;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

/*
 * Reads the PEM certificate dir/file into *ret (X509_free()).  Returns 0,
 * ANVIL_ENOENT, ANVIL_ECERT when the file holds no certificate, or another
 * negative code from reading.
 */
static int
cert_load(const char *dir, const char *file, X509 **ret)
{
	char	 path[4096];
	char	*pem = NULL;
	size_t	 len = 0;
	BIO	*bio = NULL;
	X509	*x = NULL;
	int	 rc;

	rc = signer__path(path, sizeof(path), dir, file);
	if (rc != 0)
		goto out;
	rc = anvil_file_read(path, SIGNER_MAX_PEM_FILE, &pem, &len);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECERT;
	bio = BIO_new_mem_buf(pem, (int)len);	/* len <= 64 KiB */
	if (bio == NULL)
		goto out;
	x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
	if (x == NULL)
		goto out;
	*ret = x;
	rc = 0;
out:
	BIO_free(bio);
	free(pem);
	return rc;
}

/* Encodes one extension from its internal value (see X509V3_EXT_i2d). */
static int
ext_make(int nid, int crit, void *value, X509_EXTENSION **ret)
{
	*ret = X509V3_EXT_i2d(nid, crit, value);
	return *ret == NULL ? ANVIL_ECRYPTO : 0;
}

/*
 * Builds the extensions every leaf carries, once.  The AKI names the
 * intermediate's SKI (RFC 5280 §4.2.1.1); an intermediate without one is
 * refused rather than given a computed identifier that a verifier
 * matching by keyid would not find.
 */
static int
exts_prepare(struct signer *s)
{
	BASIC_CONSTRAINTS	*bc = NULL;
	ASN1_BIT_STRING		*ku = NULL;
	EXTENDED_KEY_USAGE	*eku = NULL;
	AUTHORITY_KEYID		*aki = NULL;
	const ASN1_OCTET_STRING	*ski;
	int			 rc = ANVIL_ENOMEM;

	ski = X509_get0_subject_key_id(s->inter);
	if (ski == NULL) {
		rc = ANVIL_ECERT;
		goto out;
	}
	bc = BASIC_CONSTRAINTS_new();
	ku = ASN1_BIT_STRING_new();
	eku = sk_ASN1_OBJECT_new_null();
	aki = AUTHORITY_KEYID_new();
	if (bc == NULL || ku == NULL || eku == NULL || aki == NULL)
		goto out;
	bc->ca = 0;

	/* RFC 5280 §4.2.1.3 bits: 0 digitalSignature, 2 keyEncipherment. */
	if (!ASN1_BIT_STRING_set_bit(ku, 0, 1))
		goto out;
	rc = ext_make(NID_key_usage, 1, ku, &s->ku_ec);
	if (rc != 0)
		goto out;
	rc = ANVIL_ENOMEM;
	if (!ASN1_BIT_STRING_set_bit(ku, 2, 1))
		goto out;
	rc = ext_make(NID_key_usage, 1, ku, &s->ku_rsa);
	if (rc != 0)
		goto out;

	rc = ANVIL_ENOMEM;
	if (sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) <= 0)
		goto out;
	aki->keyid = ASN1_OCTET_STRING_dup(ski);
	if (aki->keyid == NULL)
		goto out;

	rc = ext_make(NID_basic_constraints, 1, bc, &s->bc);
	if (rc == 0)
		rc = ext_make(NID_ext_key_usage, 0, eku, &s->eku);
	if (rc == 0)
		rc = ext_make(NID_authority_key_identifier, 0, aki, &s->aki);
out:
	BASIC_CONSTRAINTS_free(bc);
	ASN1_BIT_STRING_free(ku);
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	AUTHORITY_KEYID_free(aki);
	return rc;
}

/*
 * Prepares what signing a leaf needs from the key and the digests, once:
 * a digest-sign context that each leaf copies (a signature spends its
 * context; initialising one costs a fetch and a key context each time)
 * and the SHA-1 and SHA-256 implementations, fetched once rather than by
 * name on each SHA1()/SHA256() call.
 */
static int
sign_prepare(struct signer *s)
{
	s->sctx = EVP_MD_CTX_new();
	s->ctx = EVP_MD_CTX_new();
	if (s->sctx == NULL || s->ctx == NULL)
		return ANVIL_ENOMEM;
	s->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL);
	s->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (s->sha1 == NULL || s->sha256 == NULL)
		return ANVIL_ECRYPTO;
	return signer__sign_template(s->sctx, s->key, s->md);
}

int
signer__sign_template(EVP_MD_CTX *sctx, EVP_PKEY *key, const EVP_MD *md)
{
	if (EVP_DigestSignInit_ex(sctx, NULL, EVP_MD_get0_name(md), NULL,
	    NULL, key, NULL) != 1)
		return ANVIL_ECRYPTO;
	/* The copies sign once: their final step need not keep them
	 * usable (which costs a copy of the key's context). */
	EVP_MD_CTX_set_flags(sctx, EVP_MD_CTX_FLAG_FINALISE);
	return 0;
}

/*
 * Appends to x an extension nid whose value is empty: a placeholder that
 * leaf_build replaces before every signature.
 */
static int
ext_placeholder(X509 *x, int nid)
{
	ASN1_OCTET_STRING	*empty = NULL;
	X509_EXTENSION		*ext = NULL;
	int			 rc = ANVIL_ENOMEM;

	empty = ASN1_OCTET_STRING_new();
	if (empty == NULL)
		goto out;
	ext = X509_EXTENSION_create_by_NID(NULL, nid, 0, empty);
	if (ext == NULL)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (!X509_add_ext(x, ext, -1))
		goto out;
	rc = 0;
out:
	ASN1_OCTET_STRING_free(empty);
	X509_EXTENSION_free(ext);
	return rc;
}

/*
 * Builds into *ret the leaf that every issuance fills in and signs (one
 * signer is used by one thread at a time): version 3, the issuer, and the
 * extensions in their final order, SAN, basicConstraints, keyUsage, EKU,
 * SKI, AKI, then cdp and aia when not NULL.  Those that are the same for
 * every leaf are added here once, instead of an X509_new, a copy of the
 * issuer name and a copy of each extension per leaf; SAN and SKI are
 * placeholders and keyUsage and CDP (at *ret_ku, *ret_cdp, -1 without
 * cdp) one of their variants, all replaced by leaf_build before it signs,
 * as are the serial, validity, subject and key.  Returns 0, ANVIL_ECRYPTO
 * or ANVIL_ENOMEM.
 */
static int
leaf_prepare(const struct signer *s, X509_EXTENSION *cdp,
    X509_EXTENSION *aia, X509 **ret, int *ret_ku, int *ret_cdp)
{
	X509	*x = NULL;
	int	 ku, cdp_idx = -1, rc = ANVIL_ENOMEM;

	x = X509_new();
	if (x == NULL)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(s->inter)))
		goto out;
	rc = ext_placeholder(x, NID_subject_alt_name);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	ku = X509_get_ext_count(x) + 1;	/* after basicConstraints */
	if (!X509_add_ext(x, s->bc, -1) || !X509_add_ext(x, s->ku_ec, -1) ||
	    !X509_add_ext(x, s->eku, -1))
		goto out;
	rc = ext_placeholder(x, NID_subject_key_identifier);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (!X509_add_ext(x, s->aki, -1))
		goto out;
	if (cdp != NULL) {
		cdp_idx = X509_get_ext_count(x);
		if (!X509_add_ext(x, cdp, -1))
			goto out;
	}
	if (aia != NULL && !X509_add_ext(x, aia, -1))
		goto out;
	*ret = x;
	*ret_ku = ku;
	*ret_cdp = cdp_idx;
	x = NULL;
	rc = 0;
out:
	X509_free(x);
	return rc;
}

/* Keeps the DER of the intermediate, served as caIssuers. */
static int
inter_der_make(struct signer *s)
{
	unsigned char	*p = NULL;
	int		 len;

	len = i2d_X509(s->inter, &p);
	if (len <= 0)
		return ANVIL_ECRYPTO;
	s->inter_der = malloc((size_t)len);
	if (s->inter_der == NULL) {
		OPENSSL_free(p);
		return ANVIL_ENOMEM;
	}
	memcpy(s->inter_der, p, (size_t)len);
	s->inter_der_len = (size_t)len;
	OPENSSL_free(p);
	return 0;
}

int
signer_open(const char *state_dir, struct signer **ret)
{
	struct signer	*s = NULL;
	X509		*root = NULL;
	char		 path[4096];
	int		 rc;

	if (state_dir == NULL || ret == NULL)
		return ANVIL_EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ANVIL_ENOMEM;

	rc = signer__path(path, sizeof(path), state_dir, STATE_INTER_KEY);
	if (rc != 0)
		goto out;
	rc = anvil_key_load(path, &s->key);
	if (rc != 0)
		goto out;
	rc = ANVIL_EKEY;
	s->md = signer__md(s->key);
	if (s->md == NULL)
		goto out;

	rc = cert_load(state_dir, STATE_INTER_CERT, &s->inter);
	if (rc == 0)
		rc = cert_load(state_dir, STATE_ROOT_CERT, &root);
	if (rc != 0)
		goto out;
	/* Certificates signed with a key that the certificate does not
	 * name would never verify: catch a mixed-up state directory now. */
	if (X509_check_private_key(s->inter, s->key) != 1) {
		rc = ANVIL_EKEY;
		goto out;
	}

	rc = exts_prepare(s);
	if (rc == 0)
		rc = sign_prepare(s);
	if (rc == 0)
		rc = signer__ec_new(&s->ec);
	if (rc == 0)
		rc = leaf_prepare(s, NULL, NULL, &s->leaf, &s->ku_idx,
		    &s->cdp_idx);
	if (rc == 0)
		rc = inter_der_make(s);
	if (rc == 0)
		rc = signer__cert_pem(s->inter, &s->chain_pem);
	if (rc == 0)
		rc = signer__cert_pem(root, &s->root_pem);
	if (rc != 0)
		goto out;
	*ret = s;
	s = NULL;
out:
	if (rc != 0)
		ERR_clear_error();
	X509_free(root);
	signer_free(s);
	return rc;
}

static void
cdp_free(struct signer *s)
{
	int	 i;

	for (i = 0; i < s->n_shards; i++)
		X509_EXTENSION_free(s->cdp[i]);
	free(s->cdp);
	s->cdp = NULL;
	s->n_shards = 0;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_free(s->key);
	X509_free(s->inter);
	free(s->chain_pem);
	free(s->root_pem);
	X509_EXTENSION_free(s->bc);
	X509_EXTENSION_free(s->ku_ec);
	X509_EXTENSION_free(s->ku_rsa);
	X509_EXTENSION_free(s->eku);
	X509_EXTENSION_free(s->aki);
	cdp_free(s);
	X509_EXTENSION_free(s->aia);
	free(s->inter_der);
	ocsp_responder_free(s->ocsp);
	X509_free(s->leaf);
	EVP_MD_CTX_free(s->sctx);
	EVP_MD_CTX_free(s->ctx);
	EVP_MD_free(s->sha1);
	EVP_MD_free(s->sha256);
	signer__ec_free(s->ec);
	free(s);
}

const char *
signer_chain_pem(const struct signer *s)
{
	return s->chain_pem;
}

const char *
signer_root_pem(const struct signer *s)
{
	return s->root_pem;
}

void
sign_resp_clear(struct sign_resp *r)
{
	if (r == NULL)
		return;
	free(r->der);
	free(r->spki_hash);
	memset(r, 0, sizeof(*r));
}

/*
 * Checks the caller's half of the request: 1..ANVIL_MAX_IDENTIFIERS
 * distinct valid names and a validity window X.509 can express.  A
 * failure here is the caller's bug, not the client's: ANVIL_EINVAL.
 */
static int
req_check(const struct sign_req *req)
{
	size_t	 i, j;

	if (req->names == NULL || req->n_names == 0 ||
	    req->n_names > ANVIL_MAX_IDENTIFIERS)
		return ANVIL_EINVAL;
	for (i = 0; i < req->n_names; i++) {
		if (anvil_dns_name_check(req->names[i], 1) != 0)
			return ANVIL_EINVAL;
		/* Quadratic, but n is at most ANVIL_MAX_IDENTIFIERS. */
		for (j = 0; j < i; j++)
			if (strcmp(req->names[i], req->names[j]) == 0)
				return ANVIL_EINVAL;
	}
	if (req->not_before < 0 || req->not_after <= req->not_before ||
	    req->not_after > TIME_MAX)
		return ANVIL_EINVAL;
	return 0;
}

/*
 * Returns 0 when the CSR's names (deduplicated by anvil_csr_names) and the
 * request's names (distinct, by req_check) are the same set, else
 * ANVIL_ECSR.  Equal counts plus inclusion one way is equality.
 */
static int
names_match(char **csr_names, const struct sign_req *req)
{
	size_t	 n, i, j;

	for (n = 0; csr_names[n] != NULL; n++)
		continue;
	if (n != req->n_names)
		return ANVIL_ECSR;
	for (i = 0; i < req->n_names; i++) {
		for (j = 0; j < n; j++)
			if (strcmp(req->names[i], csr_names[j]) == 0)
				break;
		if (j == n)
			return ANVIL_ECSR;
	}
	return 0;
}

/*
 * Accepts the CSR's key when it is RSA of 2048 to 4096 bits with the
 * rsaEncryption algorithm, or EC on a named P-256 or P-384 curve.  The
 * check reads both the encoded algorithm (which is what gets copied into
 * the certificate) and the decoded key (which anvil_csr_verify used).
 * Sets *ret_rsa.  Returns 0 or ANVIL_ECSR.
 */
static int
key_check(X509_REQ *csr, int *ret_rsa)
{
	X509_PUBKEY		*pub;
	EVP_PKEY		*pkey;
	ASN1_OBJECT		*alg = NULL;
	X509_ALGOR		*pa = NULL;
	const ASN1_OBJECT	*pobj;
	const void		*pval;
	int			 ptype, bits, curve;

	pub = X509_REQ_get_X509_PUBKEY(csr);
	pkey = X509_REQ_get0_pubkey(csr);
	if (pub == NULL || pkey == NULL)
		return ANVIL_ECSR;
	if (!X509_PUBKEY_get0_param(&alg, NULL, NULL, &pa, pub))
		return ANVIL_ECSR;
	X509_ALGOR_get0(&pobj, &ptype, &pval, pa);
	bits = EVP_PKEY_get_bits(pkey);

	switch (OBJ_obj2nid(alg)) {
	case NID_rsaEncryption:
		if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_RSA)
			return ANVIL_ECSR;
		if (bits < ANVIL_MIN_RSA_BITS || bits > ANVIL_MAX_RSA_BITS)
			return ANVIL_ECSR;
		*ret_rsa = 1;
		return 0;
	case NID_X9_62_id_ecPublicKey:
		if (EVP_PKEY_get_base_id(pkey) != EVP_PKEY_EC)
			return ANVIL_ECSR;
		/* RFC 5480 §2.1.1: namedCurve only. */
		if (ptype != V_ASN1_OBJECT || pval == NULL)
			return ANVIL_ECSR;
		curve = OBJ_obj2nid(pval);
		if (!(curve == NID_X9_62_prime256v1 && bits == 256) &&
		    !(curve == NID_secp384r1 && bits == 384))
			return ANVIL_ECSR;
		*ret_rsa = 0;
		return 0;
	default:
		return ANVIL_ECSR;
	}
}

/*
 * Copies the SubjectPublicKeyInfo of src into dst as encoded: algorithm,
 * parameters (an OID or NULL, as key_check allowed) and key bits.  This
 * avoids X509_set_pubkey, which re-encodes a decoded EVP_PKEY through the
 * provider machinery and dominates issuance time on OpenSSL 3.0.  Also
 * returns the key bits in *ret_pk and *ret_len (borrowed from src), for
 * the SKI.
 */
static int
pubkey_copy(X509_PUBKEY *dst, X509_PUBKEY *src, const unsigned char **ret_pk,
    int *ret_len)
{
	ASN1_OBJECT		*alg = NULL, *obj = NULL, *param = NULL;
	X509_ALGOR		*pa = NULL;
	const ASN1_OBJECT	*pobj;
	const void		*pval;
	const unsigned char	*pk = NULL;
	unsigned char		*enc = NULL;
	int			 ptype, pklen = 0, rc = ANVIL_ENOMEM;

	if (!X509_PUBKEY_get0_param(&alg, &pk, &pklen, &pa, src) ||
	    pk == NULL || pklen <= 0) {
		rc = ANVIL_ECSR;
		goto out;
	}
	X509_ALGOR_get0(&pobj, &ptype, &pval, pa);
	obj = OBJ_dup(alg);
	if (obj == NULL)
		goto out;
	if (ptype == V_ASN1_OBJECT) {
		param = OBJ_dup(pval);
		if (param == NULL)
			goto out;
	} else if (ptype != V_ASN1_NULL && ptype != V_ASN1_UNDEF) {
		rc = ANVIL_ECSR;
		goto out;
	}
	enc = OPENSSL_memdup(pk, (size_t)pklen);
	if (enc == NULL)
		goto out;
	if (!X509_PUBKEY_set0_param(dst, obj, ptype, param, enc, pklen)) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	obj = param = NULL;
	enc = NULL;
	*ret_pk = pk;
	*ret_len = pklen;
	rc = 0;
out:
	ASN1_OBJECT_free(obj);
	ASN1_OBJECT_free(param);
	OPENSSL_free(enc);
	return rc;
}

/*
 * Sets the SKI (in place of leaf_prepare's placeholder): SHA-1 of the
 * subjectPublicKey bits, RFC 5280 §4.2.1.2 method (1).
 */
static int
ski_set(const struct signer *s, X509 *x, const uint8_t *pk, size_t pklen)
{
	ASN1_OCTET_STRING	*ski = NULL;
	uint8_t			 md[SHA_DIGEST_LENGTH];
	int			 rc = ANVIL_ENOMEM;

	if (EVP_Digest(pk, pklen, md, NULL, s->sha1, NULL) != 1) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	ski = ASN1_OCTET_STRING_new();
	if (ski == NULL || !ASN1_OCTET_STRING_set(ski, md, sizeof(md)))
		goto out;
	if (X509_add1_ext_i2d(x, NID_subject_key_identifier, ski, 0,
	    X509V3_ADD_REPLACE_EXISTING) != 1) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	rc = 0;
out:
	ASN1_OCTET_STRING_free(ski);
	return rc;
}

/*
 * Sets the subject (replacing the previous leaf's) and the SAN (in place
 * of the previous one or the placeholder): CN is the first name that fits
 * in 64 characters; with none, the subject is empty and the SAN critical
 * (RFC 5280 §4.2.1.6).  The SAN lists every name as a dNSName in request
 * order.
 */
static int
names_set(X509 *x, const struct sign_req *req)
{
	GENERAL_NAMES	*gens = NULL;
	GENERAL_NAME	*gen;
	X509_NAME	*subj;
	const char	*cn = NULL;
	size_t		 i;
	int		 n, rc = ANVIL_ENOMEM;

	subj = X509_get_subject_name(x);
	/* Ends: each pass removes one entry. */
	while ((n = X509_NAME_entry_count(subj)) > 0)
		X509_NAME_ENTRY_free(X509_NAME_delete_entry(subj, n - 1));
	for (i = 0; i < req->n_names && cn == NULL; i++)
		if (strlen(req->names[i]) <= CN_MAX)
			cn = req->names[i];
	if (cn != NULL && !X509_NAME_add_entry_by_NID(
	    subj, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0))
		goto out;

	gens = sk_GENERAL_NAME_new_reserve(NULL, (int)req->n_names);
	if (gens == NULL)
		goto out;
	for (i = 0; i < req->n_names; i++) {
		gen = a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_DNS,
		    req->names[i], 0);
		if (gen == NULL)
			goto out;
		(void)sk_GENERAL_NAME_push(gens, gen);	/* reserved */
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, gens, cn == NULL,
	    X509V3_ADD_REPLACE_EXISTING) != 1) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* The serial of x modulo n (the value crl_shard_of_hex gives for its
 * hex), or -1. */
static int
serial_shard(X509 *x, int n)
{
	BIGNUM		*bn;
	BN_ULONG	 r;

	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (bn == NULL)
		return -1;
	r = BN_mod_word(bn, (BN_ULONG)n);
	BN_free(bn);
	if (r == (BN_ULONG)-1)
		return -1;
	return (int)r;
}

/*
 * Copies the value of the prepared extension src into x's extension at
 * idx (one of its variants, put there by leaf_prepare).
 */
static int
ext_value_set(X509 *x, int idx, X509_EXTENSION *src)
{
	X509_EXTENSION	*ext;

	ext = X509_get_ext(x, idx);
	if (ext == NULL || OBJ_cmp(X509_EXTENSION_get_object(ext),
	    X509_EXTENSION_get_object(src)) != 0 ||
	    !X509_EXTENSION_set_data(ext, X509_EXTENSION_get_data(src)))
		return ANVIL_ECRYPTO;
	return 0;
}

/*
 * Fills in the signer's leaf for a checked CSR and request and signs it;
 * *ret is that leaf (borrowed: the next issuance rewrites it), its CRL
 * shard in *ret_shard.  The key comes from csr when it is not NULL (the
 * general path), else from view (the EC path).  Every field that differs
 * between two leaves is written here, before the signature, whatever a
 * failed issuance left: serial, validity, key, subject, SAN, keyUsage,
 * SKI and CDP.
 */
static int
leaf_build(struct signer *s, X509_REQ *csr, const struct signer_csr *view,
    const struct sign_req *req, int rsa, X509 **ret, int *ret_shard)
{
	X509			*x = s->leaf;
	const unsigned char	*pk = NULL;
	const uint8_t		*vpk = NULL;
	size_t			 vpklen = 0;
	int			 pklen = 0, shard = 0, rc;

	rc = signer__serial_set(x);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (ASN1_TIME_set(X509_getm_notBefore(x),
	    (time_t)req->not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x),
	    (time_t)req->not_after) == NULL)
		goto out;
	if (csr != NULL) {
		rc = pubkey_copy(X509_get_X509_PUBKEY(x),
		    X509_REQ_get_X509_PUBKEY(csr), &pk, &pklen);
		vpk = pk;
		vpklen = (size_t)pklen;
	} else {
		rc = signer__csr_pubkey_set(view, X509_get_X509_PUBKEY(x));
		vpk = view->point;
		vpklen = view->point_len;
	}
	if (rc != 0)
		goto out;
	rc = names_set(x, req);
	if (rc == 0)
		rc = ext_value_set(x, s->ku_idx, rsa ? s->ku_rsa : s->ku_ec);
	if (rc == 0)
		rc = ski_set(s, x, vpk, vpklen);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (s->n_shards > 0) {
		shard = serial_shard(x, s->n_shards);
		if (shard < 0 ||
		    ext_value_set(x, s->cdp_idx, s->cdp[shard]) != 0)
			goto out;
	}
	if (!EVP_MD_CTX_copy_ex(s->ctx, s->sctx) ||
	    X509_sign_ctx(x, s->ctx) <= 0)
		goto out;
	*ret = x;
	*ret_shard = shard;
	rc = 0;
out:
	return rc;
}

/*
 * Fills r from the signed leaf: DER (malloc), serial hex, and the
 * base64url SHA-256 of its SubjectPublicKeyInfo DER.
 */
static int
resp_fill(const struct signer *s, X509 *x, const struct sign_req *req,
    struct sign_resp *r)
{
	unsigned char	*spki = NULL;
	uint8_t		 md[SHA256_DIGEST_LENGTH];
	int		 len, rc;

	rc = signer__der(x, ASN1_ITEM_rptr(X509), &r->der, &r->der_len);
	if (rc != 0)
		goto out;

	rc = anvil_cert_serial_hex(x, r->serial);
	if (rc != 0)
		goto out;

	rc = ANVIL_ECRYPTO;
	len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &spki);
	if (len <= 0)
		goto out;
	if (EVP_Digest(spki, (size_t)len, md, NULL, s->sha256, NULL) != 1)
		goto out;
	rc = anvil_b64url_encode(md, sizeof(md), &r->spki_hash);
	if (rc != 0)
		goto out;
	r->not_before = req->not_before;
	r->not_after = req->not_after;
out:
	OPENSSL_free(spki);
	return rc;
}

int
signer_issue(struct signer *s, const struct sign_req *req,
    struct sign_resp *ret)
{
	struct sign_resp	 r;
	struct signer_csr	 view;
	X509_REQ		*csr = NULL;
	X509			*x = NULL;	/* s->leaf, borrowed */
	int			 rsa = 0, fast, rc;

	memset(&r, 0, sizeof(r));
	memset(&view, 0, sizeof(view));
	if (s == NULL || req == NULL || ret == NULL)
		return ANVIL_EINVAL;
	rc = req_check(req);
	if (rc != 0)
		goto out;

	/* The CSR comes from the network (finalize): bound it first. */
	rc = ANVIL_ECSR;
	if (req->csr_der == NULL || req->csr_len == 0 ||
	    req->csr_len > ANVIL_MAX_CSR_DER)
		goto out;
	/* EC keys: read without the provider decoders (signer_csr.c),
	 * names included. */
	fast = signer__csr_ec(s->ec, req->csr_der, req->csr_len,
	    ANVIL_MAX_IDENTIFIERS, &view);
	rc = 0;
	if (!fast) {
		rc = anvil_csr_parse(req->csr_der, req->csr_len, &csr);
		if (rc == 0)
			rc = anvil_csr_verify(csr);
		if (rc == 0)
			rc = anvil_csr_names(csr, ANVIL_MAX_IDENTIFIERS,
			    &view.names);
		if (rc == 0)
			rc = key_check(csr, &rsa);
	}
	if (rc == 0)
		rc = names_match(view.names, req);
	if (rc != 0) {
		if (rc != ANVIL_ENOMEM)
			rc = ANVIL_ECSR;
		goto out;
	}

	rc = leaf_build(s, csr, &view, req, rsa, &x, &r.shard);
	if (rc == 0)
		rc = resp_fill(s, x, req, &r);
	if (rc != 0)
		goto out;
	*ret = r;
	memset(&r, 0, sizeof(r));
out:
	if (rc != 0)
		ERR_clear_error();
	sign_resp_clear(&r);
	X509_REQ_free(csr);
	anvil_strv_free(view.names);
	return rc;
}

/*
 * Whether der[0..len) has a certificate's outer shape: one DER SEQUENCE
 * spanning exactly len bytes, whose contents open with another SEQUENCE
 * (the TBSCertificate).  The bytes are our own (the store's), so this
 * guards against a truncated or mixed-up row, not an attacker.
 */
static int
cert_shaped(const uint8_t *der, size_t len)
{
	size_t	 hdr, body, n, i;

	if (len < 2 || der[0] != 0x30)
		return 0;
	if (der[1] < 0x80) {
		hdr = 2;
		body = der[1];
	} else {
		n = der[1] & 0x7f;
		if (n == 0 || n > 3 || len < 2 + n || der[2] == 0)
			return 0;
		for (body = 0, i = 0; i < n; i++)
			body = body << 8 | der[2 + i];
		hdr = 2 + n;
	}
	return body == len - hdr && body >= 2 && der[hdr] == 0x30;
}

#define PEM_CERT_BEGIN	"-----BEGIN CERTIFICATE-----\n"
#define PEM_CERT_END	"-----END CERTIFICATE-----\n"

/*
 * The leaf's PEM is the base64 of its DER in lines of 64 (RFC 7468 §2):
 * nothing needs decoding, so the DER is only checked for its shape.
 */
int
signer_chain_for(const struct signer *s, const uint8_t *der, size_t len,
    char **ret)
{
	char	*out = NULL, *p;
	size_t	 b64, lines, chain, total, off, n;

	if (s == NULL || der == NULL || ret == NULL)
		return ANVIL_EINVAL;
	*ret = NULL;
	if (len == 0 || len > LEAF_DER_MAX || !cert_shaped(der, len))
		return ANVIL_ECERT;
	b64 = 4 * ((len + 2) / 3);
	lines = (b64 + 63) / 64;
	chain = strlen(s->chain_pem);
	total = strlen(PEM_CERT_BEGIN) + b64 + lines + strlen(PEM_CERT_END) +
	    chain + 1;
	out = malloc(total);
	if (out == NULL)
		return ANVIL_ENOMEM;
	p = out;
	memcpy(p, PEM_CERT_BEGIN, strlen(PEM_CERT_BEGIN));
	p += strlen(PEM_CERT_BEGIN);
	for (off = 0; off < len; off += n) {
		/* 48 bytes make one line of 64; EVP_EncodeBlock ends it with
		 * a NUL, overwritten by the newline. */
		n = len - off < 48 ? len - off : 48;
		p += EVP_EncodeBlock((unsigned char *)p, der + off, (int)n);
		*p++ = '\n';
	}
	memcpy(p, PEM_CERT_END, strlen(PEM_CERT_END));
	p += strlen(PEM_CERT_END);
	memcpy(p, s->chain_pem, chain + 1);
	*ret = out;
	return 0;
}

int
signer__der(const void *obj, const ASN1_ITEM *it, uint8_t **ret,
    size_t *ret_len)
{
	unsigned char	*der, *p;
	int		 len;

	len = ASN1_item_i2d((const ASN1_VALUE *)obj, NULL, it);
	if (len <= 0)
		return ANVIL_ECRYPTO;
	der = malloc((size_t)len);
	if (der == NULL)
		return ANVIL_ENOMEM;
	p = der;
	if (ASN1_item_i2d((const ASN1_VALUE *)obj, &p, it) != len) {
		free(der);
		return ANVIL_ECRYPTO;
	}
	*ret = der;
	*ret_len = (size_t)len;
	return 0;
}

int
signer__name_o_cn(const char *o, const char *cn, X509_NAME **ret)
{
	X509_NAME	*n;

	n = X509_NAME_new();
	if (n == NULL ||
	    !X509_NAME_add_entry_by_NID(n, NID_organizationName,
	    MBSTRING_UTF8, (const unsigned char *)o, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(n, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0)) {
		X509_NAME_free(n);
		return ANVIL_ENOMEM;
	}
	*ret = n;
	return 0;
}

int
signer__uri_dpname(const char *url, DIST_POINT_NAME **ret)
{
	DIST_POINT_NAME	*dpn = NULL;
	GENERAL_NAME	*gen = NULL;
	int		 rc = ANVIL_ENOMEM;

	dpn = DIST_POINT_NAME_new();
	if (dpn == NULL)
		goto out;
	dpn->type = 0;	/* fullName */
	dpn->name.fullname = sk_GENERAL_NAME_new_null();
	if (dpn->name.fullname == NULL)
		goto out;
	gen = a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_URI, url, 0);
	if (gen == NULL) {
		rc = ANVIL_EINVAL;
		goto out;
	}
	if (sk_GENERAL_NAME_push(dpn->name.fullname, gen) <= 0)
		goto out;
	gen = NULL;
	*ret = dpn;
	dpn = NULL;
	rc = 0;
out:
	GENERAL_NAME_free(gen);
	DIST_POINT_NAME_free(dpn);
	return rc;
}

/* Builds a cRLDistributionPoints extension of one fullName URI. */
static int
cdp_make(const char *url, X509_EXTENSION **ret)
{
	CRL_DIST_POINTS	*cdps = NULL;
	DIST_POINT	*dp = NULL;
	int		 rc = ANVIL_ENOMEM;

	cdps = sk_DIST_POINT_new_null();
	dp = DIST_POINT_new();
	if (cdps == NULL || dp == NULL)
		goto out;
	rc = signer__uri_dpname(url, &dp->distpoint);
	if (rc != 0)
		goto out;
	rc = ANVIL_ENOMEM;
	if (sk_DIST_POINT_push(cdps, dp) <= 0)
		goto out;
	dp = NULL;
	rc = ext_make(NID_crl_distribution_points, 0, cdps, ret);
out:
	DIST_POINT_free(dp);
	CRL_DIST_POINTS_free(cdps);
	return rc;
}

/* Appends one AccessDescription (method nid, URI url) to aia. */
static int
aia_push(AUTHORITY_INFO_ACCESS *aia, int nid, const char *url)
{
	ACCESS_DESCRIPTION	*ad;

	ad = ACCESS_DESCRIPTION_new();
	if (ad == NULL)
		return ANVIL_ENOMEM;
	ASN1_OBJECT_free(ad->method);
	ad->method = OBJ_nid2obj(nid);
	GENERAL_NAME_free(ad->location);
	ad->location = a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_URI, url, 0);
	if (ad->method == NULL || ad->location == NULL ||
	    sk_ACCESS_DESCRIPTION_push(aia, ad) <= 0) {
		ACCESS_DESCRIPTION_free(ad);
		return ANVIL_ENOMEM;
	}
	return 0;
}

int
signer_set_public(struct signer *s, const struct signer_public *p)
{
	AUTHORITY_INFO_ACCESS	*aia = NULL;
	X509_EXTENSION		**cdp = NULL, *aiax = NULL;
	X509			*leaf = NULL;
	char			 url[1024];
	int			 i, n = 0, ku_idx, cdp_idx, rc = ANVIL_EINVAL;

	if (s == NULL || p == NULL || p->base_url == NULL ||
	    p->crl_shards < 1 || p->crl_shards > 1024 ||
	    strlen(p->base_url) > 900)
		return ANVIL_EINVAL;
	rc = ANVIL_ENOMEM;
	cdp = calloc((size_t)p->crl_shards, sizeof(*cdp));
	aia = sk_ACCESS_DESCRIPTION_new_null();
	if (cdp == NULL || aia == NULL)
		goto out;
	for (n = 0; n < p->crl_shards; n++) {
		rc = crl_url(url, sizeof(url), p->base_url, n);
		if (rc == 0)
			rc = cdp_make(url, &cdp[n]);
		if (rc != 0)
			goto out;
	}
	/* RFC 5280 §4.2.2.1: OCSP first is what clients expect. */
	if (p->ocsp) {
		snprintf(url, sizeof(url), "%s/ocsp", p->base_url);
		rc = aia_push(aia, NID_ad_OCSP, url);
		if (rc != 0)
			goto out;
	}
	snprintf(url, sizeof(url), "%s/intermediate.der", p->base_url);
	rc = aia_push(aia, NID_ad_ca_issuers, url);
	if (rc == 0)
		rc = ext_make(NID_info_access, 0, aia, &aiax);
	if (rc == 0)
		rc = leaf_prepare(s, cdp[0], aiax, &leaf, &ku_idx, &cdp_idx);
	if (rc != 0)
		goto out;
	cdp_free(s);
	X509_EXTENSION_free(s->aia);
	X509_free(s->leaf);
	s->cdp = cdp;
	s->n_shards = p->crl_shards;
	s->aia = aiax;
	s->leaf = leaf;
	s->ku_idx = ku_idx;
	s->cdp_idx = cdp_idx;
	cdp = NULL;
	aiax = NULL;
	n = 0;
	rc = 0;
out:
	if (cdp != NULL) {
		for (i = 0; i < n && i < p->crl_shards; i++)
			X509_EXTENSION_free(cdp[i]);
		free(cdp);
	}
	AUTHORITY_INFO_ACCESS_free(aia);
	X509_EXTENSION_free(aiax);
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

int
signer_crl_sign(struct signer *s, const struct crl_req *req,
    uint8_t **ret_der, size_t *ret_len)
{
	if (s == NULL)
		return ANVIL_EINVAL;
	return crl_build(s->inter, s->key, req, ret_der, ret_len);
}

const uint8_t *
signer_inter_der(const struct signer *s, size_t *ret_len)
{
	*ret_len = s->inter_der_len;
	return s->inter_der;
}

int
signer_ocsp_issuer(const struct signer *s, struct ocsp_issuer *ret)
{
	return ocsp_issuer_init(s->inter, ret);
}

/*
 * Loads the responder from state_dir into *ret_key and *ret_cert when it
 * is usable at now: key and certificate match, the intermediate signed
 * the certificate, and it lasts beyond now + margin.  Returns 0,
 * ANVIL_ENOENT when a file is missing, or ANVIL_ECERT when it is not
 * usable.
 */
static int
responder_load(struct signer *s, const char *dir, int64_t now,
    int64_t margin, EVP_PKEY **ret_key, X509 **ret_cert)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	char		 path[4096];
	time_t		 t;
	int		 rc;

	rc = signer__path(path, sizeof(path), dir, STATE_OCSP_KEY);
	if (rc == 0)
		rc = anvil_key_load(path, &key);
	if (rc == 0)
		rc = cert_load(dir, STATE_OCSP_CERT, &x);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECERT;
	t = (time_t)(now + margin);
	if (X509_check_private_key(x, key) != 1 ||
	    X509_verify(x, X509_get0_pubkey(s->inter)) != 1 ||
	    X509_cmp_time(X509_get0_notAfter(x), &t) <= 0)
		goto out;
	*ret_key = key;
	*ret_cert = x;
	key = NULL;
	x = NULL;
	rc = 0;
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}

/* Issues a new responder key and certificate and writes them to dir. */
static int
responder_new(struct signer *s, const char *dir, int64_t now,
    EVP_PKEY **ret_key, X509 **ret_cert)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	char		 path[4096], *pem = NULL;
	int		 rc;

	rc = anvil_key_generate(ANVIL_KEY_EC256, &key);
	if (rc == 0)
		rc = ocsp_responder_issue(s->inter, s->key, key, now, &x);
	if (rc == 0)
		rc = signer__cert_pem(x, &pem);
	/* The key first: a crash between the two leaves a pair that does
	 * not match, which the next start replaces. */
	if (rc == 0)
		rc = signer__path(path, sizeof(path), dir, STATE_OCSP_KEY);
	if (rc == 0)
		rc = anvil_key_save(path, key, 1);
	if (rc == 0)
		rc = signer__path(path, sizeof(path), dir, STATE_OCSP_CERT);
	if (rc == 0)
		rc = anvil_file_write_atomic(path, pem, strlen(pem), 0644);
	if (rc != 0)
		goto out;
	*ret_key = key;
	*ret_cert = x;
	key = NULL;
	x = NULL;
out:
	free(pem);
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}

/*
 * Makes s sign with the responder key/x from now on: prepares it once
 * for all its responses, then drops the one in use.  key and x stay the
 * caller's (the prepared responder holds references).
 */
static int
responder_use(struct signer *s, EVP_PKEY *key, X509 *x)
{
	struct ocsp_responder	*r = NULL;
	int			 rc;

	rc = ocsp_responder_new(s->inter, x, key, &r);
	if (rc != 0)
		return rc;
	ocsp_responder_free(s->ocsp);
	s->ocsp = r;
	return 0;
}

int
signer_ocsp_open(struct signer *s, const char *state_dir, int64_t now)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	int		 rc;

	if (s == NULL || state_dir == NULL)
		return ANVIL_EINVAL;
	/* Missing, damaged, foreign or ending soon: replace it. */
	rc = responder_load(s, state_dir, now, OCSP_RESPONDER_RENEW, &key,
	    &x);
	if (rc != 0)
		rc = responder_new(s, state_dir, now, &key, &x);
	if (rc == 0)
		rc = responder_use(s, key, x);
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}

int
signer_ocsp_load(struct signer *s, const char *state_dir, int64_t now)
{
	EVP_PKEY	*key = NULL;
	X509		*x = NULL;
	int		 rc;

	if (s == NULL || state_dir == NULL)
		return ANVIL_EINVAL;
	/* Usable now is enough: renewing is signer_ocsp_open's job. */
	rc = responder_load(s, state_dir, now, 0, &key, &x);
	if (rc == 0)
		rc = responder_use(s, key, x);
	EVP_PKEY_free(key);
	X509_free(x);
	return rc;
}

int
signer_ocsp_sign(struct signer *s, const struct ocsp_answer *a,
    uint8_t **ret_der, size_t *ret_len)
{
	if (s == NULL)
		return ANVIL_EINVAL;
	if (s->ocsp == NULL)
		return ANVIL_ENOENT;
	/* producedAt: when it is signed, as OCSP_basic_sign sets it. */
	return ocsp_responder_sign(s->ocsp, a, (int64_t)time(NULL), ret_der,
	    ret_len);
}
