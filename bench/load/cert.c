/*
 * cert.c - the certificate side of a flow, made cheap for the driver:
 * pre-generated keys, a CSR per flow, and the check of the chain that
 * comes back.
 *
 * Why not anvil_csr_new, X509_REQ and d2i_X509: on OpenSSL 3.0 setting a
 * key in a request (X509_PUBKEY_set, through the encoders) and decoding a
 * key from a certificate (d2i_X509, through the decoders) cost ~100-200 us
 * each, and signing a request through ASN1_item_sign re-encodes it and
 * fetches the digest and the signature implementation every time: more
 * than the ECDSA operations themselves; a driver paying them per issuance
 * measures itself.  So each pool key gets its DER SubjectPublicKeyInfo
 * and a signing context before the timed phase, and each flow writes its
 * CertificationRequestInfo in DER around them (subject, key, the
 * subjectAltName request) and signs its SHA-256.  The chain check walks
 * the leaf's DER to its to-be-signed part and signature and verifies that
 * signature with the issuer's key, decoded once per distinct issuer
 * certificate (compared byte for byte), with a verifying context kept
 * with it; the issuer's PEM text, the same in every chain, is compared
 * as it is and decoded only when it is new.  The leaf must also carry our
 * SubjectPublicKeyInfo and our name, byte for byte.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "load.h"

#define MAX_CERT_DER	(64 * 1024)	/* one certificate */
#define MAX_CN		64		/* ub-common-name, RFC 5280 */

struct certkey {
	EVP_PKEY	*key;		/* owned */
	EVP_PKEY_CTX	*ctx;		/* sign-initialised; owned */
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
	rc = load_sign_ctx(ck->key, &ck->ctx);
	if (rc != 0)
		goto fail;
	rc = ANVIL_ECRYPTO;
	n = i2d_PUBKEY(ck->key, &p);
	if (n <= 0)
		goto fail;
	ck->spki = p;
	ck->spki_len = (size_t)n;
	*ret = ck;
	return 0;
fail:
	ERR_clear_error();
	certkey_free(ck);
	return rc;
}

void
certkey_free(struct certkey *ck)
{
	if (ck == NULL)
		return;
	EVP_PKEY_free(ck->key);
	EVP_PKEY_CTX_free(ck->ctx);
	OPENSSL_free(ck->spki);
	free(ck);
}

const uint8_t *
certkey_spki(const struct certkey *ck, size_t *ret_len)
{
	*ret_len = ck->spki_len;
	return ck->spki;
}

/*
 * DER written back to front: each element's contents first, then its
 * header in front of them, so no length has to be known in advance.
 * pos only moves towards buf; err is sticky.
 */
struct rdw {
	uint8_t		*buf;
	size_t		 pos;	/* start of what is written */
	int		 err;
};

static void
rdw_put(struct rdw *w, const void *p, size_t n)
{
	if (w->err || n > w->pos) {
		w->err = 1;
		return;
	}
	w->pos -= n;
	memcpy(w->buf + w->pos, p, n);
}

/* Wraps what was written since mark (a earlier pos) in tag. */
static void
rdw_wrap(struct rdw *w, unsigned tag, size_t mark)
{
	uint8_t	 h[2 + sizeof(size_t)];
	size_t	 len = mark - w->pos, n = 0, i;

	if (w->err)
		return;
	if (len < 0x80)
		h[sizeof(h) - 1 - n++] = (uint8_t)len;
	else {
		for (i = len; i != 0; i >>= 8)
			h[sizeof(h) - 1 - n++] = (uint8_t)(i & 0xff);
		h[sizeof(h) - 1 - n] = (uint8_t)(0x80 | n);
		n++;
	}
	h[sizeof(h) - 1 - n++] = (uint8_t)tag;
	rdw_put(w, h + sizeof(h) - n, n);
}

int
certkey_csr(struct certkey *ck, const char *name, uint8_t *der, size_t *len)
{
	static const uint8_t	 version[] = { 0x02, 0x01, 0x00 };
	static const uint8_t	 oid_cn[] = { 0x06, 0x03, 0x55, 0x04, 0x03 };
	static const uint8_t	 oid_san[] = { 0x06, 0x03, 0x55, 0x1d, 0x11 };
	static const uint8_t	 oid_extreq[] = { 0x06, 0x09, 0x2a, 0x86,
	    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x0e };
	/* AlgorithmIdentifier ecdsa-with-SHA256 (RFC 5758 §3.2) */
	static const uint8_t	 alg[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a,
	    0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	uint8_t			 tbs_buf[1024], dgst[EVP_MAX_MD_SIZE],
				 sig[80];
	size_t			 nlen = strlen(name), dgst_len, sig_len =
				     sizeof(sig), m[8];
	struct rdw		 t = { tbs_buf, sizeof(tbs_buf), 0 };
	struct rdw		 o = { der, *len, 0 };
	int			 i, rc;

	if (nlen == 0 || nlen > ANVIL_MAX_NAME_LEN)
		return ANVIL_E2BIG;
	/* CertificationRequestInfo (RFC 2986 §4.1), last field first:
	 * attributes [0] { Attribute { extensionRequest (RFC 2985 §5.4.2),
	 * SET { Extensions { Extension { subjectAltName, OCTET STRING {
	 * GeneralNames { dNSName [2] } } } } } } } */
	for (i = 0; i < 8; i++)
		m[i] = t.pos;	/* nested: all end where the info ends */
	rdw_put(&t, name, nlen);
	rdw_wrap(&t, 0x82, m[7]);
	rdw_wrap(&t, 0x30, m[6]);
	rdw_wrap(&t, 0x04, m[5]);
	rdw_put(&t, oid_san, sizeof(oid_san));
	rdw_wrap(&t, 0x30, m[4]);
	rdw_wrap(&t, 0x30, m[3]);
	rdw_wrap(&t, 0x31, m[2]);
	rdw_put(&t, oid_extreq, sizeof(oid_extreq));
	rdw_wrap(&t, 0x30, m[1]);
	rdw_wrap(&t, 0xa0, m[0]);
	rdw_put(&t, ck->spki, ck->spki_len);
	/* subject: SEQUENCE { SET { SEQUENCE { commonName, UTF8String } } },
	 * or empty when the name is too long for a CN. */
	m[0] = t.pos;
	if (nlen <= MAX_CN) {
		m[1] = t.pos;
		m[2] = t.pos;
		m[3] = t.pos;
		rdw_put(&t, name, nlen);
		rdw_wrap(&t, 0x0c, m[3]);
		rdw_put(&t, oid_cn, sizeof(oid_cn));
		rdw_wrap(&t, 0x30, m[2]);
		rdw_wrap(&t, 0x31, m[1]);
	}
	rdw_wrap(&t, 0x30, m[0]);
	rdw_put(&t, version, sizeof(version));
	rdw_wrap(&t, 0x30, sizeof(tbs_buf));
	if (t.err)
		return ANVIL_E2BIG;

	rc = load_digest_init(LOAD_SHA256);
	if (rc == 0)
		rc = load_digest_update(t.buf + t.pos, sizeof(tbs_buf) - t.pos);
	if (rc == 0)
		rc = load_digest_final(dgst, &dgst_len);
	if (rc == 0)
		rc = load_sign_digest(ck->ctx, dgst, dgst_len, sig, &sig_len);
	if (rc != 0)
		return rc;
	/* CertificationRequest { info, algorithm, signature BIT STRING } */
	m[0] = o.pos;
	m[1] = o.pos;
	rdw_put(&o, sig, sig_len);
	rdw_put(&o, "", 1);	/* no unused bits */
	rdw_wrap(&o, 0x03, m[1]);
	rdw_put(&o, alg, sizeof(alg));
	rdw_put(&o, t.buf + t.pos, sizeof(tbs_buf) - t.pos);
	rdw_wrap(&o, 0x30, m[0]);
	if (o.err)
		return ANVIL_E2BIG;
	memmove(der, der + o.pos, *len - o.pos);
	*len -= o.pos;
	return 0;
}

int
load_der_tlv(const uint8_t **p, const uint8_t *end, unsigned *tag,
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
 * Finds the n-th (0-based) "CERTIFICATE" PEM block of pem: its base64
 * text from *ret_b up to *ret_e.  Returns 0 or -1.
 */
static int
pem_block(const char *pem, size_t len, int n, const char **ret_b,
    const char **ret_e)
{
	static const char	 begin[] = "-----BEGIN CERTIFICATE-----";
	static const char	 end[] = "-----END CERTIFICATE-----";
	const char		*b, *e, *lim = pem + len;

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
	*ret_b = b;
	*ret_e = e;
	return 0;
}

/* Decodes the base64 text from b to e into a new buffer *ret (free()).
 * Returns 0 or -1. */
static int
pem_decode(const char *b, const char *e, uint8_t **ret, size_t *ret_len)
{
	EVP_ENCODE_CTX		*ctx = NULL;
	uint8_t			*out = NULL;
	int			 o1 = 0, o2 = 0, rc = -1;

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

/*
 * The digest of a certificate signature algorithm (DER OID contents) in
 * *ret; LOAD_MD__MAX for Ed25519, which signs without a separate digest.
 * Returns 0, or -1 for an algorithm we do not know.
 */
static int
sig_md(const uint8_t *oid, size_t n, enum load_md *ret)
{
	static const uint8_t	 ecdsa[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d,
	    0x04, 0x03 };
	static const uint8_t	 rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7,
	    0x0d, 0x01, 0x01 };
	static const uint8_t	 ed25519[] = { 0x2b, 0x65, 0x70 };

	if (n == sizeof(ecdsa) + 1 && memcmp(oid, ecdsa, sizeof(ecdsa)) == 0) {
		switch (oid[n - 1]) {
		case 2: *ret = LOAD_SHA256; return 0;
		case 3: *ret = LOAD_SHA384; return 0;
		case 4: *ret = LOAD_SHA512; return 0;
		}
	}
	if (n == sizeof(rsa) + 1 && memcmp(oid, rsa, sizeof(rsa)) == 0) {
		switch (oid[n - 1]) {
		case 11: *ret = LOAD_SHA256; return 0;
		case 12: *ret = LOAD_SHA384; return 0;
		case 13: *ret = LOAD_SHA512; return 0;
		}
	}
	if (n == sizeof(ed25519) && memcmp(oid, ed25519, n) == 0) {
		*ret = LOAD_MD__MAX;
		return 0;
	}
	return -1;
}

/*
 * The index of the issuer certificate whose PEM block's base64 text runs
 * from b to e: one seen before (the same text, or else the same DER once
 * decoded), or decoded now with its key and a verifying context (NULL
 * for a key that verifies only with its digest, Ed25519).  Returns the
 * index or -1.
 */
static int
issuer_find(struct issuers *is, const char *b, const char *e)
{
	const unsigned char	*p;
	X509			*x;
	EVP_PKEY		*k = NULL;
	EVP_PKEY_CTX		*ctx;
	uint8_t			*der = NULL;
	size_t			 i, len, tlen = (size_t)(e - b);
	int			 rc = -1;

	for (i = 0; i < is->n; i++)
		if (is->pem_len[i] == tlen && memcmp(is->pem[i], b, tlen) == 0)
			return (int)i;
	if (pem_decode(b, e, &der, &len) != 0)
		return -1;
	for (i = 0; i < is->n; i++)
		if (is->len[i] == len && memcmp(is->der[i], der, len) == 0) {
			rc = (int)i;
			goto out;
		}
	if (is->n == LOAD_MAX_ISSUERS)
		goto out;
	p = der;
	x = d2i_X509(NULL, &p, (long)len);
	if (x == NULL || p != der + len) {
		X509_free(x);
		goto out;
	}
	k = X509_get_pubkey(x);
	X509_free(x);
	is->pem[is->n] = malloc(tlen);
	if (k == NULL || is->pem[is->n] == NULL) {
		free(is->pem[is->n]);
		is->pem[is->n] = NULL;
		goto out;
	}
	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, k, NULL);
	if (ctx != NULL && EVP_PKEY_verify_init(ctx) != 1) {
		EVP_PKEY_CTX_free(ctx);
		ctx = NULL;
	}
	memcpy(is->pem[is->n], b, tlen);
	is->pem_len[is->n] = tlen;
	is->der[is->n] = der;
	is->len[is->n] = len;
	is->key[is->n] = k;
	is->vctx[is->n] = ctx;
	is->vmd[is->n] = NULL;
	der = NULL;
	k = NULL;
	rc = (int)is->n++;
out:
	EVP_PKEY_free(k);
	free(der);
	return rc;
}

void
issuers_done(struct issuers *is)
{
	size_t	 i;

	for (i = 0; i < is->n; i++) {
		free(is->der[i]);
		free(is->pem[i]);
		EVP_PKEY_free(is->key[i]);
		EVP_PKEY_CTX_free(is->vctx[i]);
	}
	memset(is, 0, sizeof(*is));
}

/*
 * Verifies sig over tbs with issuer i's key: the digest made here and
 * checked with the issuer's context (its digest set once), or in one go
 * for Ed25519.  Returns 1 when the signature is good.
 */
static int
verify(struct issuers *is, int i, enum load_md which, const uint8_t *sig,
    size_t sig_len, const uint8_t *tbs, size_t tbs_len)
{
	EVP_MD_CTX	*mdc;
	const EVP_MD	*md;
	uint8_t		 dgst[EVP_MAX_MD_SIZE];
	size_t		 dgst_len;
	int		 ok;

	if (which == LOAD_MD__MAX) {
		mdc = EVP_MD_CTX_new();
		ok = mdc != NULL && EVP_DigestVerifyInit(mdc, NULL, NULL, NULL,
		    is->key[i]) == 1 && EVP_DigestVerify(mdc, sig, sig_len,
		    tbs, tbs_len) == 1;
		EVP_MD_CTX_free(mdc);
		return ok;
	}
	md = load_md(which);
	if (md == NULL || is->vctx[i] == NULL)
		return 0;
	if (is->vmd[i] != md) {
		if (EVP_PKEY_CTX_set_signature_md(is->vctx[i], md) != 1)
			return 0;
		is->vmd[i] = md;
	}
	if (load_digest_init(which) != 0 ||
	    load_digest_update(tbs, tbs_len) != 0 ||
	    load_digest_final(dgst, &dgst_len) != 0)
		return 0;
	return EVP_PKEY_verify(is->vctx[i], sig, sig_len, dgst, dgst_len) == 1;
}

int
cert_check(struct issuers *is, const struct certkey *ck, const char *name,
    const char *pem, size_t pem_len, const char **why)
{
	enum load_md	 which;
	uint8_t		*leaf = NULL;
	const uint8_t	*p, *end, *cert, *tbs, *algid, *oid, *sig, *v;
	const char	*lb, *le, *ub, *ue;
	size_t		 leaf_len = 0, cert_len, tbs_len, algid_len,
			 oid_len, sig_len, v_len;
	unsigned	 tag;
	int		 i, rc = -1;

	*why = "chain: no PEM certificate";
	if (pem_block(pem, pem_len, 0, &lb, &le) != 0 ||
	    pem_decode(lb, le, &leaf, &leaf_len) != 0)
		goto out;
	*why = "chain: no issuer certificate";
	if (pem_block(le, (size_t)(pem + pem_len - le), 0, &ub, &ue) != 0)
		goto out;
	/* Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm,
	 * signatureValue BIT STRING } (RFC 5280 §4.1) */
	*why = "chain: leaf is not DER";
	p = leaf;
	end = leaf + leaf_len;
	if (load_der_tlv(&p, end, &tag, &cert, &cert_len) != 0 ||
	    tag != 0x30 || p != end)
		goto out;
	p = cert;
	end = cert + cert_len;
	tbs = p;
	if (load_der_tlv(&p, end, &tag, &v, &v_len) != 0 || tag != 0x30)
		goto out;
	tbs_len = (size_t)(p - tbs);
	if (load_der_tlv(&p, end, &tag, &algid, &algid_len) != 0 ||
	    tag != 0x30 || load_der_tlv(&p, end, &tag, &sig, &sig_len) != 0 ||
	    tag != 0x03 || p != end || sig_len < 2 || sig[0] != 0)
		goto out;
	sig++;
	sig_len--;
	p = algid;
	if (load_der_tlv(&p, algid + algid_len, &tag, &oid, &oid_len) != 0 ||
	    tag != 0x06)
		goto out;
	*why = "chain: unknown signature algorithm";
	if (sig_md(oid, oid_len, &which) != 0)
		goto out;
	*why = "chain: issuer certificate does not parse";
	i = issuer_find(is, ub, ue);
	if (i < 0)
		goto out;
	*why = "chain: bad leaf signature";
	if (!verify(is, i, which, sig, sig_len, tbs, tbs_len))
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
	free(leaf);
	return rc;
}
