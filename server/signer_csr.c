/*
 * signer_csr.c - reads and verifies an EC CSR without decoding its key
 * through OpenSSL 3.0's provider decoders.
 *
 * d2i_X509_REQ decodes the SubjectPublicKeyInfo with
 * OSSL_DECODER_CTX_new_for_pkey, which walks every decoder and key
 * manager of the library on each call: about 1.2 M instructions, a tenth
 * of anvil-ca's work per issuance.  For the common case (EC on P-256 or
 * P-384, signed with ECDSA and SHA-2) this file walks the DER itself,
 * builds the key from the curve's parameters and the point and
 * checks the signature over the CertificationRequestInfo bytes as
 * received.  Anything else, or anything it does not like, goes back to
 * the general path (anvil_csr_parse and friends), which decides: this
 * path can only accept less than that one.
 */

#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/params.h>
#include <openssl/x509.h>

#include "anvil/error.h"
#include "signer_int.h"

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

/* The digest of an ECDSA signature algorithm without parameters, or
 * NULL for anything else. */
static const EVP_MD *
sig_md(const struct tlv *alg)
{
	const unsigned char	*p = alg->raw;
	X509_ALGOR		*a;
	const ASN1_OBJECT	*obj;
	const EVP_MD		*md = NULL;
	int			 ptype;

	a = d2i_X509_ALGOR(NULL, &p, (long)alg->raw_len);
	if (a == NULL || p != alg->raw + alg->raw_len)
		goto out;
	X509_ALGOR_get0(&obj, &ptype, NULL, a);
	if (ptype != V_ASN1_UNDEF)
		goto out;
	switch (OBJ_obj2nid(obj)) {
	case NID_ecdsa_with_SHA256:
		md = EVP_sha256();
		break;
	case NID_ecdsa_with_SHA384:
		md = EVP_sha384();
		break;
	case NID_ecdsa_with_SHA512:
		md = EVP_sha512();
		break;
	default:
		break;
	}
out:
	X509_ALGOR_free(a);
	return md;
}

/*
 * The curve of an EC SubjectPublicKeyInfo's algorithm (id-ecPublicKey
 * with a namedCurve of P-256 or P-384), as a group name, or NULL.  The
 * point is in *ret_pt, *ret_len (borrowed from spki).
 */
static const char *
spki_curve(const struct tlv *spki, const uint8_t **ret_pt, size_t *ret_len)
{
	const uint8_t		*p = spki->val, *end = spki->val + spki->len;
	const unsigned char	*q;
	struct tlv		 alg, bits;
	X509_ALGOR		*a = NULL;
	const ASN1_OBJECT	*obj;
	const void		*pval;
	const char		*name = NULL;
	size_t			 want;
	int			 ptype;

	if (tlv_next(&p, end, &alg) != 0 || alg.tag != 0x30 ||
	    tlv_next(&p, end, &bits) != 0 || bits.tag != 0x03 || p != end)
		return NULL;
	/* No unused bits; an uncompressed point. */
	if (bits.len < 2 || bits.val[0] != 0 || bits.val[1] != 0x04)
		return NULL;
	q = alg.raw;
	a = d2i_X509_ALGOR(NULL, &q, (long)alg.raw_len);
	if (a == NULL || q != alg.raw + alg.raw_len)
		goto out;
	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	if (OBJ_obj2nid(obj) != NID_X9_62_id_ecPublicKey ||
	    ptype != V_ASN1_OBJECT || pval == NULL)
		goto out;
	switch (OBJ_obj2nid(pval)) {
	case NID_X9_62_prime256v1:
		name = SN_X9_62_prime256v1;
		want = 1 + 2 * 32;
		break;
	case NID_secp384r1:
		name = SN_secp384r1;
		want = 1 + 2 * 48;
		break;
	default:
		goto out;
	}
	if (bits.len - 1 != want) {
		name = NULL;
		goto out;
	}
	*ret_pt = bits.val + 1;
	*ret_len = bits.len - 1;
out:
	X509_ALGOR_free(a);
	return name;
}

/*
 * A parameters-only key of each curve, made once: a CSR's key is a copy
 * of the curve's parameters plus its point, which costs about a third of
 * building it by name (EVP_PKEY_fromdata: 45 us against 13 us here).
 */
static EVP_PKEY		*curve_p256, *curve_p384;
static pthread_once_t	 curves_once = PTHREAD_ONCE_INIT;

static EVP_PKEY *
curve_params(const char *curve)
{
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*k = NULL;
	OSSL_PARAM	 params[2];

	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)curve, 0);
	params[1] = OSSL_PARAM_construct_end();
	ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &k, EVP_PKEY_KEY_PARAMETERS, params) != 1)
		k = NULL;
	EVP_PKEY_CTX_free(ctx);
	return k;
}

static void
curves_init(void)
{
	curve_p256 = curve_params(SN_X9_62_prime256v1);
	curve_p384 = curve_params(SN_secp384r1);
}

/* The public key of a curve and point into *ret; 0 or -1.  Setting the
 * point checks that it is on the curve. */
static int
key_build(const char *curve, const uint8_t *pt, size_t len, EVP_PKEY **ret)
{
	EVP_PKEY	*tmpl, *k = NULL;

	if (pthread_once(&curves_once, curves_init) != 0)
		return -1;
	if (strcmp(curve, SN_X9_62_prime256v1) == 0)
		tmpl = curve_p256;
	else if (strcmp(curve, SN_secp384r1) == 0)
		tmpl = curve_p384;
	else
		return -1;
	if (tmpl == NULL)
		return -1;
	k = EVP_PKEY_new();
	if (k == NULL || EVP_PKEY_copy_parameters(k, tmpl) != 1 ||
	    EVP_PKEY_set1_encoded_public_key(k, pt, len) != 1) {
		EVP_PKEY_free(k);
		return -1;
	}
	*ret = k;
	return 0;
}

/* ECDSA signature sig (a BIT STRING's contents) of msg by key, with md:
 * 0 when it verifies, else -1. */
static int
sig_verify(EVP_PKEY *key, const EVP_MD *md, const struct tlv *sig,
    const struct tlv *msg)
{
	EVP_MD_CTX	*mctx = NULL;
	int		 rc = -1;

	if (sig->len < 2 || sig->val[0] != 0)
		return -1;
	mctx = EVP_MD_CTX_new();
	if (mctx == NULL ||
	    EVP_DigestVerifyInit(mctx, NULL, md, NULL, key) != 1 ||
	    EVP_DigestVerify(mctx, sig->val + 1, sig->len - 1, msg->raw,
	    msg->raw_len) != 1)
		goto out;
	rc = 0;
out:
	EVP_MD_CTX_free(mctx);
	return rc;
}

/*
 * A request without a decoded key: subject and attributes copied from the
 * DER, the SubjectPublicKeyInfo set as encoded.  0 or -1.
 */
static int
req_build(const struct tlv *subj, const struct tlv *spki,
    const struct tlv *attrs, X509_REQ **ret)
{
	X509_REQ		*req = NULL;
	X509_NAME		*name = NULL;
	X509_ATTRIBUTE		*at = NULL;
	X509_PUBKEY		*pub = NULL;
	const unsigned char	*q;
	const uint8_t		*p, *end;
	struct tlv		 t;
	int			 rc = -1;

	req = X509_REQ_new();
	if (req == NULL || X509_REQ_set_version(req, 0) != 1)
		goto out;
	q = subj->raw;
	name = d2i_X509_NAME(NULL, &q, (long)subj->raw_len);
	if (name == NULL || q != subj->raw + subj->raw_len ||
	    X509_REQ_set_subject_name(req, name) != 1)
		goto out;
	if (attrs != NULL) {
		p = attrs->val;
		end = attrs->val + attrs->len;
		while (p < end) {
			if (tlv_next(&p, end, &t) != 0 || t.tag != 0x30)
				goto out;
			q = t.raw;
			at = d2i_X509_ATTRIBUTE(NULL, &q, (long)t.raw_len);
			if (at == NULL || q != t.raw + t.raw_len ||
			    X509_REQ_add1_attr(req, at) != 1)
				goto out;
			X509_ATTRIBUTE_free(at);
			at = NULL;
		}
	}
	/* X509_PUBKEY's own decoder would run the provider decoders again:
	 * copy its two fields instead. */
	pub = X509_REQ_get_X509_PUBKEY(req);
	if (pub == NULL || signer__spki_set(pub, spki->raw, spki->raw_len) != 0)
		goto out;
	*ret = req;
	req = NULL;
	rc = 0;
out:
	X509_NAME_free(name);
	X509_ATTRIBUTE_free(at);
	X509_REQ_free(req);
	return rc;
}

/*
 * Sets pub's algorithm and key bits from an encoded SubjectPublicKeyInfo
 * (id-ecPublicKey with a named curve, as spki_curve checked), leaving its
 * key undecoded.  0 or -1.
 */
int
signer__spki_set(X509_PUBKEY *pub, const uint8_t *der, size_t len)
{
	const uint8_t		*p = der, *end = der + len;
	const unsigned char	*q;
	struct tlv		 seq, alg, bits;
	X509_ALGOR		*a = NULL;
	const ASN1_OBJECT	*obj;
	const void		*pval;
	ASN1_OBJECT		*o = NULL, *param = NULL;
	unsigned char		*enc = NULL;
	int			 ptype, rc = -1;

	if (tlv_next(&p, end, &seq) != 0 || seq.tag != 0x30 || p != end)
		return -1;
	p = seq.val;
	end = seq.val + seq.len;
	if (tlv_next(&p, end, &alg) != 0 || tlv_next(&p, end, &bits) != 0 ||
	    bits.tag != 0x03 || bits.len < 2 || bits.val[0] != 0)
		return -1;
	q = alg.raw;
	a = d2i_X509_ALGOR(NULL, &q, (long)alg.raw_len);
	if (a == NULL)
		goto out;
	X509_ALGOR_get0(&obj, &ptype, &pval, a);
	if (ptype != V_ASN1_OBJECT || pval == NULL)
		goto out;
	o = OBJ_dup(obj);
	param = OBJ_dup(pval);
	enc = OPENSSL_memdup(bits.val + 1, bits.len - 1);
	if (o == NULL || param == NULL || enc == NULL)
		goto out;
	if (!X509_PUBKEY_set0_param(pub, o, V_ASN1_OBJECT, param, enc,
	    (int)(bits.len - 1)))
		goto out;
	o = param = NULL;
	enc = NULL;
	rc = 0;
out:
	X509_ALGOR_free(a);
	ASN1_OBJECT_free(o);
	ASN1_OBJECT_free(param);
	OPENSSL_free(enc);
	return rc;
}

int
signer__csr_ec(const uint8_t *der, size_t len, X509_REQ **ret)
{
	const uint8_t	*p = der, *end = der + len, *pt = NULL;
	struct tlv	 outer, info, alg, sig, ver, subj, spki, attrs;
	const EVP_MD	*md;
	const char	*curve;
	EVP_PKEY	*key = NULL;
	size_t		 ptlen = 0;
	int		 have_attrs = 0, rc = 0;

	*ret = NULL;
	/* CertificationRequest: info, signatureAlgorithm, signature. */
	if (tlv_next(&p, end, &outer) != 0 || outer.tag != 0x30 || p != end)
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
		if (tlv_next(&p, end, &attrs) != 0 || attrs.tag != 0xa0 ||
		    p != end)
			goto out;
		have_attrs = 1;
	}
	md = sig_md(&alg);
	curve = spki_curve(&spki, &pt, &ptlen);
	if (md == NULL || curve == NULL)
		goto out;
	if (key_build(curve, pt, ptlen, &key) != 0 ||
	    sig_verify(key, md, &sig, &info) != 0)
		goto out;
	if (req_build(&subj, &spki, have_attrs ? &attrs : NULL, ret) != 0)
		goto out;
	rc = 1;
out:
	ERR_clear_error();
	EVP_PKEY_free(key);
	return rc;
}
