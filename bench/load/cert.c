/*
 * cert.c - the certificate side of a flow, made cheap for the driver:
 * pre-generated keys with their CSR skeletons, a CSR per flow, and the
 * check of the chain that comes back.
 *
 * Why not anvil_csr_new and d2i_X509: on OpenSSL 3.0 setting a key in a
 * request (X509_PUBKEY_set, through the encoders) and decoding a key from
 * a certificate (d2i_X509, through the decoders) cost ~100-200 us each,
 * more than the ECDSA operations themselves; a driver paying them per
 * issuance measures itself.  So each pool key gets its X509_REQ (with the
 * key set) before the timed phase, and each flow only sets the subject and
 * the subjectAltName and signs.  The chain check walks the leaf's DER to
 * its to-be-signed part and signature and verifies that signature with the
 * issuer's key, decoded once per distinct issuer; the leaf must also
 * carry our SubjectPublicKeyInfo and our name, byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "load.h"

#define MAX_CERT_DER	(64 * 1024)	/* one certificate */

struct certkey {
	EVP_PKEY	*key;		/* owned */
	X509_REQ	*req;		/* skeleton, key set; owned */
	uint8_t		*spki;		/* DER SubjectPublicKeyInfo; malloc() */
	size_t		 spki_len;
};

int
certkey_new(struct certkey **ret)
{
	struct certkey	*ck;
	unsigned char	*p = NULL;
	int		 n, rc;

	ck = calloc(1, sizeof(*ck));
	if (ck == NULL)
		return ANVIL_ENOMEM;
	rc = anvil_key_generate(ANVIL_KEY_EC256, &ck->key);
	if (rc != 0)
		goto fail;
	rc = ANVIL_ECRYPTO;
	ck->req = X509_REQ_new();
	if (ck->req == NULL || X509_REQ_set_version(ck->req, 0) != 1 ||
	    X509_REQ_set_pubkey(ck->req, ck->key) != 1)
		goto fail;
	n = i2d_PUBKEY(ck->key, &p);
	if (n <= 0)
		goto fail;
	ck->spki = p;
	ck->spki_len = (size_t)n;
	*ret = ck;
	return 0;
fail:
	certkey_free(ck);
	return rc;
}

void
certkey_free(struct certkey *ck)
{
	if (ck == NULL)
		return;
	EVP_PKEY_free(ck->key);
	X509_REQ_free(ck->req);
	OPENSSL_free(ck->spki);
	free(ck);
}

/* Sets the request's subject to CN=name (when it fits, RFC 5280's 64). */
static int
set_subject(X509_REQ *req, const char *name)
{
	X509_NAME	*n;
	int		 ok;

	n = X509_NAME_new();
	if (n == NULL)
		return 0;
	ok = strlen(name) > 64 || X509_NAME_add_entry_by_NID(n, NID_commonName,
	    MBSTRING_UTF8, (const unsigned char *)name, -1, -1, 0) == 1;
	if (ok)
		ok = X509_REQ_set_subject_name(req, n) == 1;
	X509_NAME_free(n);
	return ok;
}

/* Replaces the request's extensionRequest with one subjectAltName. */
static int
set_san(X509_REQ *req, const char *name)
{
	STACK_OF(X509_EXTENSION) *exts = NULL;
	GENERAL_NAMES	*gens = NULL;
	GENERAL_NAME	*gn = NULL;
	ASN1_IA5STRING	*ia5 = NULL;
	X509_EXTENSION	*ext = NULL;
	X509_ATTRIBUTE	*old;
	int		 i, ok = 0;

	while ((i = X509_REQ_get_attr_by_NID(req, NID_ext_req, -1)) >= 0) {
		old = X509_REQ_delete_attr(req, i);
		X509_ATTRIBUTE_free(old);
	}
	gens = GENERAL_NAMES_new();
	gn = GENERAL_NAME_new();
	ia5 = ASN1_IA5STRING_new();
	exts = sk_X509_EXTENSION_new_null();
	if (gens == NULL || gn == NULL || ia5 == NULL || exts == NULL ||
	    ASN1_STRING_set(ia5, name, (int)strlen(name)) != 1)
		goto out;
	GENERAL_NAME_set0_value(gn, GEN_DNS, ia5);
	ia5 = NULL;
	if (sk_GENERAL_NAME_push(gens, gn) <= 0)
		goto out;
	gn = NULL;
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	if (ext == NULL || sk_X509_EXTENSION_push(exts, ext) <= 0)
		goto out;
	ext = NULL;
	ok = X509_REQ_add_extensions(req, exts) == 1;
out:
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gn);
	GENERAL_NAMES_free(gens);
	return ok;
}

int
certkey_csr(struct certkey *ck, const char *name, uint8_t **ret_der,
    size_t *ret_len)
{
	unsigned char	*der = NULL;
	int		 n;

	if (!set_subject(ck->req, name) || !set_san(ck->req, name) ||
	    X509_REQ_sign(ck->req, ck->key, EVP_sha256()) <= 0) {
		ERR_clear_error();
		return ANVIL_ECRYPTO;
	}
	n = i2d_X509_REQ(ck->req, &der);
	if (n <= 0)
		return ANVIL_ECRYPTO;
	*ret_der = der;
	*ret_len = (size_t)n;
	return 0;
}

/*
 * Reads one DER TLV at *p (at most end): its tag in *tag, its contents in
 * *val and *vlen; *p moves past it.  Definite lengths only, up to 4 bytes.
 * Returns 0 or -1.
 */
static int
tlv(const uint8_t **p, const uint8_t *end, unsigned *tag,
    const uint8_t **val, size_t *vlen)
{
	const uint8_t	*q = *p;
	size_t		 len, nb, i;

	if (end - q < 2)
		return -1;
	*tag = *q++;
	len = *q++;
	if (len & 0x80) {
		nb = len & 0x7f;
		if (nb == 0 || nb > 4 || (size_t)(end - q) < nb)
			return -1;
		for (len = 0, i = 0; i < nb; i++)
			len = (len << 8) | *q++;
	}
	if ((size_t)(end - q) < len)
		return -1;
	*val = q;
	*vlen = len;
	*p = q + len;
	return 0;
}

/*
 * Finds the n-th (0-based) "CERTIFICATE" PEM block of pem and decodes it
 * into a new buffer *ret (free()).  Returns 0 or -1.
 */
static int
pem_cert(const char *pem, size_t len, int n, uint8_t **ret, size_t *ret_len)
{
	static const char	 begin[] = "-----BEGIN CERTIFICATE-----";
	static const char	 end[] = "-----END CERTIFICATE-----";
	EVP_ENCODE_CTX		*ctx = NULL;
	const char		*b, *e, *lim = pem + len;
	uint8_t			*out = NULL;
	int			 o1 = 0, o2 = 0, rc = -1;

	b = pem;
	for (;;) {
		b = memmem(b, lim - b, begin, sizeof(begin) - 1);
		if (b == NULL)
			return -1;
		b += sizeof(begin) - 1;
		e = memmem(b, lim - b, end, sizeof(end) - 1);
		if (e == NULL)
			return -1;
		if (n-- == 0)
			break;
		b = e + sizeof(end) - 1;
	}
	if (e - b > MAX_CERT_DER * 2)
		return -1;
	out = malloc((size_t)(e - b) * 3 / 4 + 4);
	ctx = EVP_ENCODE_CTX_new();
	if (out == NULL || ctx == NULL)
		goto out;
	EVP_DecodeInit(ctx);
	if (EVP_DecodeUpdate(ctx, out, &o1, (const unsigned char *)b,
	    (int)(e - b)) < 0 || EVP_DecodeFinal(ctx, out + o1, &o2) != 1)
		goto out;
	*ret = out;
	*ret_len = (size_t)(o1 + o2);
	out = NULL;
	rc = 0;
out:
	EVP_ENCODE_CTX_free(ctx);
	free(out);
	return rc;
}

/* The digest of a certificate signature algorithm (DER OID contents);
 * *ok is 0 when unknown.  Ed25519 signs without a separate digest. */
static const EVP_MD *
sig_md(const uint8_t *oid, size_t n, int *ok)
{
	static const uint8_t	 ecdsa[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d,
	    0x04, 0x03 };
	static const uint8_t	 rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
	    0x0d, 0x01, 0x01 };
	static const uint8_t	 ed25519[] = { 0x2b, 0x65, 0x70 };

	*ok = 1;
	if (n == sizeof(ecdsa) + 1 && memcmp(oid, ecdsa, sizeof(ecdsa)) == 0) {
		switch (oid[n - 1]) {
		case 2: return EVP_sha256();
		case 3: return EVP_sha384();
		case 4: return EVP_sha512();
		}
	}
	if (n == sizeof(rsa) + 1 && memcmp(oid, rsa, sizeof(rsa)) == 0) {
		switch (oid[n - 1]) {
		case 11: return EVP_sha256();
		case 12: return EVP_sha384();
		case 13: return EVP_sha512();
		}
	}
	if (n == sizeof(ed25519) && memcmp(oid, ed25519, n) == 0)
		return NULL;
	*ok = 0;
	return NULL;
}

/* The issuer's key for this DER, decoded on first sight (borrowed). */
static EVP_PKEY *
issuer_key(struct issuers *is, const uint8_t *der, size_t len)
{
	const unsigned char	*p = der;
	X509			*x;
	EVP_PKEY		*k;
	size_t			 i;

	for (i = 0; i < is->n; i++)
		if (is->len[i] == len && memcmp(is->der[i], der, len) == 0)
			return is->key[i];
	if (is->n == LOAD_MAX_ISSUERS)
		return NULL;
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL)
		return NULL;
	k = X509_get_pubkey(x);
	X509_free(x);
	is->der[is->n] = malloc(len);
	if (k == NULL || is->der[is->n] == NULL) {
		EVP_PKEY_free(k);
		return NULL;
	}
	memcpy(is->der[is->n], der, len);
	is->len[is->n] = len;
	is->key[is->n] = k;
	return is->key[is->n++];
}

void
issuers_done(struct issuers *is)
{
	size_t	 i;

	for (i = 0; i < is->n; i++) {
		free(is->der[i]);
		EVP_PKEY_free(is->key[i]);
	}
	memset(is, 0, sizeof(*is));
}

int
cert_check(struct issuers *is, const struct certkey *ck, const char *name,
    const char *pem, size_t pem_len, const char **why)
{
	EVP_MD_CTX	*md = NULL;
	const EVP_MD	*alg;
	EVP_PKEY	*ikey;
	uint8_t		*leaf = NULL, *up = NULL;
	const uint8_t	*p, *end, *cert, *tbs, *algid, *oid, *sig, *v;
	size_t		 leaf_len = 0, up_len = 0, cert_len, tbs_len,
			 algid_len, oid_len, sig_len, v_len;
	unsigned	 tag;
	int		 ok, rc = -1;

	*why = "chain: no PEM certificate";
	if (pem_cert(pem, pem_len, 0, &leaf, &leaf_len) != 0)
		goto out;
	*why = "chain: no issuer certificate";
	if (pem_cert(pem, pem_len, 1, &up, &up_len) != 0)
		goto out;
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signatureValue BIT STRING } (RFC 5280 §4.1) */
	*why = "chain: leaf is not DER";
	p = leaf;
	end = leaf + leaf_len;
	if (tlv(&p, end, &tag, &cert, &cert_len) != 0 || tag != 0x30 ||
	    p != end)
		goto out;
	p = cert;
	end = cert + cert_len;
	tbs = p;
	if (tlv(&p, end, &tag, &v, &v_len) != 0 || tag != 0x30)
		goto out;
	tbs_len = (size_t)(p - tbs);
	if (tlv(&p, end, &tag, &algid, &algid_len) != 0 || tag != 0x30 ||
	    tlv(&p, end, &tag, &sig, &sig_len) != 0 || tag != 0x03 ||
	    p != end || sig_len < 2 || sig[0] != 0)
		goto out;
	sig++;
	sig_len--;
	p = algid;
	if (tlv(&p, algid + algid_len, &tag, &oid, &oid_len) != 0 ||
	    tag != 0x06)
		goto out;
	alg = sig_md(oid, oid_len, &ok);
	*why = "chain: unknown signature algorithm";
	if (!ok)
		goto out;
	*why = "chain: issuer certificate does not parse";
	ikey = issuer_key(is, up, up_len);
	if (ikey == NULL)
		goto out;
	*why = "chain: bad leaf signature";
	md = EVP_MD_CTX_new();
	if (md == NULL ||
	    EVP_DigestVerifyInit(md, NULL, alg, NULL, ikey) != 1 ||
	    EVP_DigestVerify(md, sig, sig_len, tbs, tbs_len) != 1)
		goto out;
	*why = "chain: leaf key is not the CSR key";
	if (memmem(tbs, tbs_len, ck->spki, ck->spki_len) == NULL)
		goto out;
	*why = "chain: leaf does not name the order's identifier";
	if (memmem(tbs, tbs_len, name, strlen(name)) == NULL)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	EVP_MD_CTX_free(md);
	free(leaf);
	free(up);
	return rc;
}
