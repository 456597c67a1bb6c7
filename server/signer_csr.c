/*
 * signer_csr.c - reads and verifies an EC CSR without decoding its key
 * through OpenSSL 3.0's provider decoders.
 *
 * d2i_X509_REQ decodes the SubjectPublicKeyInfo with
 * OSSL_DECODER_CTX_new_for_pkey, which walks every decoder and key
 * manager of the library on each call: about 1.2 M instructions, a tenth
 * of anvil-ca's work per issuance.  For the common case (EC on P-256 or
 * P-384, signed with ECDSA and SHA-2) this file walks the DER itself,
 * sets the point on a key of the curve that the signer keeps, checks the
 * signature over the CertificationRequestInfo bytes as received and
 * reads the names from the subject and the extension request, decoded
 * once, without building an X509_REQ.  Anything else, or anything it
 * does not like, goes back to the general path (anvil_csr_parse and
 * friends), which decides: this path can only accept less than that one.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "anvil/error.h"
#include "anvil/x509.h"
#include "signer_int.h"

/* The digests of ECDSA signatures this path reads. */
enum ec_md {
	EC_MD_SHA256,
	EC_MD_SHA384,
	EC_MD_SHA512,
	EC_MD__MAX
};

/* The curves of CSR keys this path reads. */
enum ec_curve {
	EC_CURVE_P256,
	EC_CURVE_P384,
	EC_CURVE__MAX
};

struct signer_ec {
	EVP_PKEY	*key[EC_CURVE__MAX];	/* the curve's parameters,
						   then the last CSR's
						   point; owned */
	EVP_MD		*md[EC_MD__MAX];	/* fetched once; owned */
};

/* One DER element: tag, contents and the whole encoding. */
struct tlv {
	int			 tag;
	const uint8_t		*val;	/* contents */
	size_t			 len;
	const uint8_t		*raw;	/* tag, length and contents */
	size_t			 raw_len;
};

/*
 * Reads one element with a one-byte tag and a definite, minimally
 * encoded length from [*p, end); advances *p past it.  Returns 0, or -1
 * when the bytes are not such an element.
 */
static int
tlv_next(const uint8_t **p, const uint8_t *end, struct tlv *t)
{
	const uint8_t	*q = *p;
	size_t		 len = 0, n, i;

	if (end - q < 2 || (q[0] & 0x1f) == 0x1f)
		return -1;
	t->tag = q[0];
	t->raw = q;
	q++;
	if (*q < 0x80) {
		len = *q++;
	} else {
		n = *q++ & 0x7f;
		/* At most 3 length bytes (a CSR is bounded far below). */
		if (n == 0 || n > 3 || (size_t)(end - q) < n || q[0] == 0)
			return -1;
		for (i = 0; i < n; i++)
			len = len << 8 | q[i];
		q += n;
		if (len < 0x80)
			return -1;
	}
	if ((size_t)(end - q) < len)
		return -1;
	t->val = q;
	t->len = len;
	t->raw_len = (size_t)(q + len - t->raw);
	*p = q + len;
	return 0;
}

/*
 * The AlgorithmIdentifiers this path reads, as DER: a signature's
 * (ECDSA with SHA-2, no parameters, RFC 5758 §3.2) and a key's
 * (id-ecPublicKey with a namedCurve, RFC 5480 §2.1.1).  Comparing the
 * bytes accepts only the DER form, which is what every client sends;
 * any other spelling goes to the general path.  It saves decoding them
 * (d2i_X509_ALGOR, about 6 k instructions for the two).
 */
#define OID_ECDSA_SHA2	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03
static const uint8_t alg_ecdsa[EC_MD__MAX][12] = {
	{ 0x30, 0x0a, OID_ECDSA_SHA2, 0x02 },	/* ecdsa-with-SHA256 */
	{ 0x30, 0x0a, OID_ECDSA_SHA2, 0x03 },	/* ecdsa-with-SHA384 */
	{ 0x30, 0x0a, OID_ECDSA_SHA2, 0x04 },	/* ecdsa-with-SHA512 */
};
#define OID_EC_PUBKEY	0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01
static const uint8_t alg_p256[] = {
	0x30, 0x13, OID_EC_PUBKEY,
	0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07
};
static const uint8_t alg_p384[] = {
	0x30, 0x10, OID_EC_PUBKEY,
	0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22
};

/* The digest of an ECDSA signature algorithm, or EC_MD__MAX. */
static enum ec_md
sig_md(const struct tlv *alg)
{
	int	 i;

	for (i = 0; i < EC_MD__MAX; i++)
		if (alg->raw_len == sizeof(alg_ecdsa[i]) &&
		    memcmp(alg->raw, alg_ecdsa[i], alg->raw_len) == 0)
			return (enum ec_md)i;
	return EC_MD__MAX;
}

/*
 * The curve of an EC SubjectPublicKeyInfo (P-256 or P-384, the point
 * uncompressed), or EC_CURVE__MAX.  The point is left in *ret_pt,
 * *ret_len (borrowed from spki).
 */
static enum ec_curve
spki_curve(const struct tlv *spki, const uint8_t **ret_pt,
    size_t *ret_len)
{
	const uint8_t		*p = spki->val;
	const uint8_t		*end = spki->val + spki->len;
	struct tlv		 alg, bits;
	enum ec_curve		 curve;
	size_t			 want;

	if (tlv_next(&p, end, &alg) != 0 ||
	    tlv_next(&p, end, &bits) != 0 || bits.tag != 0x03 ||
	    p != end)
		return EC_CURVE__MAX;
	if (alg.raw_len == sizeof(alg_p256) &&
	    memcmp(alg.raw, alg_p256, sizeof(alg_p256)) == 0) {
		curve = EC_CURVE_P256;
		want = 1 + 2 * 32;
	} else if (alg.raw_len == sizeof(alg_p384) &&
	    memcmp(alg.raw, alg_p384, sizeof(alg_p384)) == 0) {
		curve = EC_CURVE_P384;
		want = 1 + 2 * 48;
	} else
		return EC_CURVE__MAX;
	/* No unused bits; an uncompressed point (X9.62 §4.3.6). */
	if (bits.len != 1 + want || bits.val[0] != 0 || bits.val[1] != 0x04)
		return EC_CURVE__MAX;
	*ret_pt = bits.val + 1;
	*ret_len = want;
	return curve;
}

/* A key of the named curve with its parameters only, in *ret; 0 or
 * ANVIL_ECRYPTO. */
static int
curve_key(const char *curve, EVP_PKEY **ret)
{
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*k = NULL;
	OSSL_PARAM	 params[2];
	int		 rc = ANVIL_ECRYPTO;

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
	params[1] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		goto out;
	*ret = k;
	rc = 0;
out:
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

/*
 * One key object per curve, made once: each CSR's point is set on it
 * (EVP_PKEY_set1_encoded_public_key, which checks that the point is on
 * the curve).  Measured per CSR key (callgrind, OpenSSL 3.0, P-256):
 * EVP_PKEY_new plus EVP_PKEY_copy_parameters from a template 52 k
 * instructions, EVP_PKEY_dup of the template 48 k, EVP_PKEY_fromdata
 * with the group name and the point 194 k (with a cached context; 212 k
 * without), setting the point on the kept key 13 k.  The digests are
 * fetched once too: the signature is checked as a digest made here and
 * EVP_PKEY_verify, since EVP_DigestVerifyInit fetches its digest by name
 * on every call (10 k less per CSR).
 */
int
signer__ec_new(struct signer_ec **ret)
{
	static const char *const mds[EC_MD__MAX] = {
		"SHA256", "SHA384", "SHA512"
	};
	struct signer_ec	*ec;
	int			 i, rc;

	ec = calloc(1, sizeof(*ec));
	if (ec == NULL)
		return ANVIL_ENOMEM;
	rc = curve_key(SN_X9_62_prime256v1, &ec->key[EC_CURVE_P256]);
	if (rc == 0)
		rc = curve_key(SN_secp384r1, &ec->key[EC_CURVE_P384]);
	for (i = 0; rc == 0 && i < EC_MD__MAX; i++) {
		ec->md[i] = EVP_MD_fetch(NULL, mds[i], NULL);
		if (ec->md[i] == NULL)
			rc = ANVIL_ECRYPTO;
	}
	if (rc != 0) {
		ERR_clear_error();
		signer__ec_free(ec);
		return rc;
	}
	*ret = ec;
	return 0;
}

void
signer__ec_free(struct signer_ec *ec)
{
	int	 i;

	if (ec == NULL)
		return;
	for (i = 0; i < EC_CURVE__MAX; i++)
		EVP_PKEY_free(ec->key[i]);
	for (i = 0; i < EC_MD__MAX; i++)
		EVP_MD_free(ec->md[i]);
	free(ec);
}

/*
 * Whether the ECDSA signature sig (a BIT STRING's contents) over msg
 * verifies with the point pt on the curve: 0, or -1 when it does not
 * (or the point is not on the curve).
 */
static int
sig_verify(struct signer_ec *ec, enum ec_curve curve, const uint8_t *pt,
    size_t ptlen, enum ec_md md, const struct tlv *sig,
    const struct tlv *msg)
{
	EVP_PKEY	*key = ec->key[curve];
	EVP_PKEY_CTX	*pctx = NULL;
	unsigned char	 h[EVP_MAX_MD_SIZE];
	unsigned int	 hlen = 0;
	int		 rc = -1;

	if (sig->len < 2 || sig->val[0] != 0)
		return -1;
	if (EVP_PKEY_set1_encoded_public_key(key, pt, ptlen) != 1 ||
	    EVP_Digest(msg->raw, msg->raw_len, h, &hlen, ec->md[md],
	    NULL) != 1)
		goto out;
	/* ECDSA signs the digest: the same check as EVP_DigestVerify. */
	pctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (pctx == NULL || EVP_PKEY_verify_init(pctx) != 1 ||
	    EVP_PKEY_verify(pctx, sig->val + 1, sig->len - 1, h, hlen) != 1)
		goto out;
	rc = 0;
out:
	EVP_PKEY_CTX_free(pctx);
	return rc;
}

/*
 * The extensions of the request's attributes (the contents of its [0]
 * field), each attribute decoded: into *ret (NULL when there is no
 * extension request).  Only one form is read: at most one
 * extensionRequest with exactly one value, a SEQUENCE, and no Microsoft
 * extension request; the general path decides any other (OpenSSL
 * versions differ on which of several they read).  0 or -1.
 */
static int
attrs_exts(const struct tlv *attrs, STACK_OF(X509_EXTENSION) **ret)
{
	const uint8_t			*p = attrs->val;
	const uint8_t			*end = attrs->val + attrs->len;
	const unsigned char		*q;
	X509_ATTRIBUTE			*at = NULL;
	ASN1_TYPE			*v;
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	struct tlv			 t;
	int				 rc = -1;

	/* Ends: each pass moves p forward by one element, or stops. */
	while (p < end) {
		if (tlv_next(&p, end, &t) != 0 || t.tag != 0x30)
			goto out;
		q = t.raw;
		at = d2i_X509_ATTRIBUTE(NULL, &q, (long)t.raw_len);
		if (at == NULL || q != t.raw + t.raw_len)
			goto out;
		switch (OBJ_obj2nid(X509_ATTRIBUTE_get0_object(at))) {
		case NID_ms_ext_req:
			goto out;
		case NID_ext_req:
			if (exts != NULL || X509_ATTRIBUTE_count(at) != 1)
				goto out;
			v = X509_ATTRIBUTE_get0_type(at, 0);
			if (v == NULL || v->type != V_ASN1_SEQUENCE)
				goto out;
			q = v->value.sequence->data;
			exts = d2i_X509_EXTENSIONS(NULL, &q,
			    v->value.sequence->length);
			if (exts == NULL || q != v->value.sequence->data +
			    v->value.sequence->length)
				goto out;
			break;
		default:
			break;
		}
		X509_ATTRIBUTE_free(at);
		at = NULL;
	}
	*ret = exts;
	exts = NULL;
	rc = 0;
out:
	X509_ATTRIBUTE_free(at);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/*
 * The names of the request (anvil_csr_names_of, at most max) from its
 * subject and attributes (NULL: none), into *ret.  0 or -1.
 */
static int
req_names(const struct tlv *subj, const struct tlv *attrs,
    size_t max, char ***ret)
{
	const unsigned char		*q;
	X509_NAME			*name = NULL;
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	int				 rc = -1;

	q = subj->raw;
	name = d2i_X509_NAME(NULL, &q, (long)subj->raw_len);
	if (name == NULL || q != subj->raw + subj->raw_len)
		goto out;
	if (attrs != NULL && attrs_exts(attrs, &exts) != 0)
		goto out;
	if (anvil_csr_names_of(name, exts, max, ret) != 0)
		goto out;
	rc = 0;
out:
	X509_NAME_free(name);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
signer__csr_pubkey_set(const struct signer_csr *c, X509_PUBKEY *pub)
{
	uint8_t	*enc;

	if (c->curve_nid != NID_X9_62_prime256v1 &&
	    c->curve_nid != NID_secp384r1)
		return ANVIL_EINVAL;
	enc = OPENSSL_memdup(c->point, c->point_len);
	if (enc == NULL)
		return ANVIL_ENOMEM;
	/* The OIDs are OpenSSL's static objects (freeing them does
	 * nothing): nothing to copy. */
	if (!X509_PUBKEY_set0_param(pub,
	    OBJ_nid2obj(NID_X9_62_id_ecPublicKey), V_ASN1_OBJECT,
	    OBJ_nid2obj(c->curve_nid), enc, (int)c->point_len)) {
		OPENSSL_free(enc);
		return ANVIL_ECRYPTO;
	}
	return 0;
}

int
signer__csr_ec(struct signer_ec *ec, const uint8_t *der, size_t len,
    size_t max, struct signer_csr *ret)
{
	const uint8_t	*p = der, *end = der + len, *pt = NULL;
	struct tlv	 outer, info, alg, sig, ver, subj, spki, attrs;
	enum ec_md	 md;
	enum ec_curve	 curve;
	char		**names = NULL;
	size_t		 ptlen = 0;
	int		 have_attrs = 0, rc = 0;

	/* CertificationRequest: info, signatureAlgorithm, signature. */
	if (tlv_next(&p, end, &outer) != 0 || outer.tag != 0x30 ||
	    p != end)
		goto out;
	p = outer.val;
	end = outer.val + outer.len;
	if (tlv_next(&p, end, &info) != 0 || info.tag != 0x30 ||
	    tlv_next(&p, end, &alg) != 0 || alg.tag != 0x30 ||
	    tlv_next(&p, end, &sig) != 0 || sig.tag != 0x03 || p != end)
		goto out;
	/* CertificationRequestInfo: version 0, subject, SPKI, [0] attrs. */
	p = info.val;
	end = info.val + info.len;
	if (tlv_next(&p, end, &ver) != 0 || ver.tag != 0x02 ||
	    ver.len != 1 || ver.val[0] != 0 ||
	    tlv_next(&p, end, &subj) != 0 || subj.tag != 0x30 ||
	    tlv_next(&p, end, &spki) != 0 || spki.tag != 0x30)
		goto out;
	if (p != end) {
		if (tlv_next(&p, end, &attrs) != 0 ||
		    attrs.tag != 0xa0 || p != end)
			goto out;
		have_attrs = 1;
	}
	md = sig_md(&alg);
	curve = spki_curve(&spki, &pt, &ptlen);
	if (md == EC_MD__MAX || curve == EC_CURVE__MAX)
		goto out;
	if (sig_verify(ec, curve, pt, ptlen, md, &sig, &info) != 0)
		goto out;
	if (req_names(&subj, have_attrs ? &attrs : NULL, max, &names) != 0)
		goto out;
	ret->names = names;
	ret->curve_nid = curve == EC_CURVE_P256 ? NID_X9_62_prime256v1 :
	    NID_secp384r1;
	ret->point = pt;
	ret->point_len = ptlen;
	rc = 1;
out:
	if (rc == 0)
		ERR_clear_error();
	return rc;
}
