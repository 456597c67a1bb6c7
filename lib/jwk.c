/*
 * jwk.c - public JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037) and
 * their RFC 7638 thumbprints.
 *
 * A key is kept as its raw public components (the bytes that the JWK
 * members encode), the EVP_PKEY built from them, and the thumbprint,
 * computed once.  Because base64url decoding is strict and the lengths
 * are fixed or minimal, the components have exactly one JSON spelling,
 * so the thumbprint of a key does not depend on how a client sent it.
 *
 * An EC or RSA key also keeps what verifying with it needs, made once:
 * its digest (fetched, not looked up by name per call), a digest context
 * and a public-key context initialised for verification with that digest.
 * OpenSSL 3.0 would otherwise create a context and fetch the signature
 * and digest algorithms on every verification (EVP_DigestVerifyInit:
 * ~3.5 us of a ~80 us P-256 verification, measured natively, against
 * ~0.6 us with the kept contexts).
 */
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "anvil/b64.h"
#include "anvil/buf.h"
#include "anvil/error.h"
#include "anvil/json.h"
#include "anvil/jwk.h"
#include "anvil/limits.h"
#include "internal.h"

/*
 * Limits on the RSA public exponent: odd, at least 3, and at most four
 * bytes.  Every real key uses 65537; OpenSSL refuses exponents over 64
 * bits for large moduli anyway, and a huge exponent only costs us time.
 */
#define RSA_E_MAX_BYTES	4
#define RSA_N_MAX_BYTES	(ANVIL_MAX_RSA_BITS / 8)

struct anvil_jwk {
	enum anvil_kty	 kty;
	EVP_PKEY	*pkey;		/* owned reference */
	uint8_t		*a;		/* x (EC, OKP) or n (RSA); owned */
	size_t		 alen;
	uint8_t		*b;		/* y (EC) or e (RSA); owned, or NULL */
	size_t		 blen;
	char		 thumb[ANVIL_THUMBPRINT_LEN + 1];
	EVP_MD		*md;		/* fetched digest; owned; NULL for
					   Ed25519 */
	EVP_MD_CTX	*mdctx;		/* reused for each digest; owned */
	EVP_PKEY_CTX	*vctx;		/* verify-initialised, with md as the
					   signature digest; owned */
	atomic_int	 refs;		/* anvil_jwk_free at 1 frees */
};

/* Members that only a private (or symmetric) key has: RFC 7518 §6.2.2,
 * §6.3.2, §6.4.1, RFC 8037 §2. */
static const char *const private_members[] = {
	"d", "p", "q", "dp", "dq", "qi", "oth", "k",
};

/* Coordinate length of each curve, 0 for the other types. */
static size_t
coord_len(enum anvil_kty kty)
{
	switch (kty) {
	case ANVIL_KTY_EC_P256:
		return 32;
	case ANVIL_KTY_EC_P384:
		return 48;
	case ANVIL_KTY_ED25519:
		return 32;
	default:
		return 0;
	}
}

/* Returns the JWK "crv" name of kty, or NULL for RSA. */
static const char *
crv_name(enum anvil_kty kty)
{
	switch (kty) {
	case ANVIL_KTY_EC_P256:
		return "P-256";
	case ANVIL_KTY_EC_P384:
		return "P-384";
	case ANVIL_KTY_ED25519:
		return "Ed25519";
	default:
		return NULL;
	}
}

/*
 * Checks the raw components for kty: exact coordinate lengths; for RSA a
 * modulus of 2048..4096 bits without a leading zero byte and odd, and an
 * exponent without a leading zero byte, odd, 3 or more, at most
 * RSA_E_MAX_BYTES.  Returns 0 or ANVIL_EJWK.
 */
static int
check_components(enum anvil_kty kty, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen)
{
	size_t	 bits;
	unsigned int	 top;

	switch (kty) {
	case ANVIL_KTY_EC_P256:
	case ANVIL_KTY_EC_P384:
		if (alen != coord_len(kty) || blen != coord_len(kty))
			return ANVIL_EJWK;
		return 0;
	case ANVIL_KTY_ED25519:
		if (alen != coord_len(kty) || b != NULL)
			return ANVIL_EJWK;
		return 0;
	case ANVIL_KTY_RSA:
		if (alen == 0 || alen > RSA_N_MAX_BYTES || a[0] == 0 ||
		    (a[alen - 1] & 1) == 0)
			return ANVIL_EJWK;
		/* a[0] != 0, so the loop stops within 8 steps. */
		bits = (alen - 1) * 8;
		for (top = a[0]; top != 0; top >>= 1)
			bits++;
		if (bits < ANVIL_MIN_RSA_BITS || bits > ANVIL_MAX_RSA_BITS)
			return ANVIL_EJWK;
		if (blen == 0 || blen > RSA_E_MAX_BYTES || b[0] == 0 ||
		    (b[blen - 1] & 1) == 0 || (blen == 1 && b[0] < 3))
			return ANVIL_EJWK;
		return 0;
	default:
		return ANVIL_EJWK;
	}
}

/*
 * Builds the EVP_PKEY from checked components with EVP_PKEY_fromdata.
 * For EC, OpenSSL decodes the uncompressed point and refuses one that is
 * not on the curve; the quick public check adds the range checks.
 * Returns 0, ANVIL_EJWK, or ANVIL_ENOMEM.
 */
static int
build_pkey(enum anvil_kty kty, const uint8_t *a, size_t alen,
    const uint8_t *b, size_t blen, EVP_PKEY **ret)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL, *cctx = NULL;
	EVP_PKEY	*pkey = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	uint8_t		 point[1 + 2 * 48];
	int		 rc = ANVIL_ENOMEM;

	if (kty == ANVIL_KTY_ED25519) {
		pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
		    a, alen);
		if (pkey == NULL) {
			rc = ANVIL_EJWK;
			goto out;
		}
		*ret = pkey;
		pkey = NULL;
		rc = 0;
		goto out;
	}

	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL)
		goto out;
	if (kty == ANVIL_KTY_RSA) {
		n = BN_bin2bn(a, (int)alen, NULL);
		e = BN_bin2bn(b, (int)blen, NULL);
		if (n == NULL || e == NULL)
			goto out;
		if (OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) != 1 ||
		    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) != 1)
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	} else {
		/* SEC 1 §2.3.3 uncompressed point: 0x04 || x || y. */
		point[0] = 0x04;
		memcpy(point + 1, a, alen);
		memcpy(point + 1 + alen, b, blen);
		if (OSSL_PARAM_BLD_push_utf8_string(bld,
		    OSSL_PKEY_PARAM_GROUP_NAME, crv_name(kty), 0) != 1 ||
		    OSSL_PARAM_BLD_push_octet_string(bld,
		    OSSL_PKEY_PARAM_PUB_KEY, point, 1 + alen + blen) != 1)
			goto out;
		ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	}
	params = OSSL_PARAM_BLD_to_param(bld);
	if (ctx == NULL || params == NULL)
		goto out;
	rc = ANVIL_EJWK;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if (kty != ANVIL_KTY_RSA) {
		cctx = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
		if (cctx == NULL) {
			rc = ANVIL_ENOMEM;
			goto out;
		}
		if (EVP_PKEY_public_check_quick(cctx) != 1)
			goto out;
	}
	*ret = pkey;
	pkey = NULL;
	rc = 0;
out:
	/* Refused keys leave errors on OpenSSL's queue: not ours to keep. */
	if (rc != 0)
		ERR_clear_error();
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(cctx);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return rc;
}

/* Appends ,"name":"<base64url of p>" (or without the comma when first). */
static int
add_member(struct anvil_buf *out, const char *name, const uint8_t *p,
    size_t len, int first)
{
	char	*s = NULL;
	int	 rc;

	rc = anvil_b64url_encode(p, len, &s);
	if (rc != 0)
		return rc;
	rc = anvil_buf_addf(out, "%s\"%s\":\"%s\"", first ? "" : ",", name, s);
	free(s);
	return rc;
}

/*
 * RFC 7638 §3.2: the required members only, in lexicographic order, no
 * whitespace.  The strings are base64url and fixed names, which need no
 * escaping.  The same text is what anvil_jwk_to_json dumps to.
 */
static int
canonical_json(const struct anvil_jwk *k, struct anvil_buf *out)
{
	int	 rc;

	rc = anvil_buf_adds(out, "{");
	if (rc != 0)
		return rc;
	switch (k->kty) {
	case ANVIL_KTY_RSA:
		rc = add_member(out, "e", k->b, k->blen, 1);
		if (rc == 0)
			rc = anvil_buf_adds(out, ",\"kty\":\"RSA\"");
		if (rc == 0)
			rc = add_member(out, "n", k->a, k->alen, 0);
		break;
	case ANVIL_KTY_EC_P256:
	case ANVIL_KTY_EC_P384:
		rc = anvil_buf_addf(out, "\"crv\":\"%s\",\"kty\":\"EC\"",
		    crv_name(k->kty));
		if (rc == 0)
			rc = add_member(out, "x", k->a, k->alen, 0);
		if (rc == 0)
			rc = add_member(out, "y", k->b, k->blen, 0);
		break;
	case ANVIL_KTY_ED25519:
		rc = anvil_buf_adds(out, "\"crv\":\"Ed25519\",\"kty\":\"OKP\"");
		if (rc == 0)
			rc = add_member(out, "x", k->a, k->alen, 0);
		break;
	default:
		rc = ANVIL_EINVAL;
		break;
	}
	if (rc == 0)
		rc = anvil_buf_adds(out, "}");
	return rc;
}

/* RFC 7638 §3: SHA-256 of the canonical JSON, base64url. */
static int
thumbprint(struct anvil_jwk *k)
{
	struct anvil_buf	 b;
	uint8_t			 md[32];
	unsigned int		 mdlen = 0;
	int			 rc;

	/* An RSA-4096 JWK is under 800 bytes. */
	anvil_buf_init(&b, 4096);
	rc = canonical_json(k, &b);
	if (rc != 0)
		goto out;
	if (EVP_Digest(b.data, b.len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md)) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	(void)anvil_b64url_encode_to(k->thumb, md, sizeof(md));
	rc = 0;
out:
	anvil_buf_free(&b);
	return rc;
}

/*
 * Makes the verification contexts of an EC or RSA key (Ed25519 signs the
 * message itself: one-shot, nothing to keep).  The signature digest set
 * on vctx makes the provider refuse a digest of another length, and
 * selects PKCS #1 v1.5 with SHA-256's DigestInfo for RSA.
 * Returns 0, ANVIL_ENOMEM, or ANVIL_ECRYPTO.
 */
static int
verify_ctx_new(struct anvil_jwk *k)
{
	const char	*name;

	switch (k->kty) {
	case ANVIL_KTY_EC_P256:
	case ANVIL_KTY_RSA:
		name = "SHA256";
		break;
	case ANVIL_KTY_EC_P384:
		name = "SHA384";
		break;
	default:
		return 0;
	}
	k->md = EVP_MD_fetch(NULL, name, NULL);
	k->mdctx = EVP_MD_CTX_new();
	k->vctx = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
	if (k->md == NULL || k->mdctx == NULL || k->vctx == NULL)
		return ANVIL_ENOMEM;
	if (EVP_PKEY_verify_init(k->vctx) != 1 ||
	    (k->kty == ANVIL_KTY_RSA && EVP_PKEY_CTX_set_rsa_padding(k->vctx,
	    RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_CTX_set_signature_md(k->vctx, k->md) != 1)
		return ANVIL_ECRYPTO;
	return 0;
}

/*
 * Makes a key from components (taken: freed on error too) and, when pkey
 * is NULL, builds the EVP_PKEY.  Returns 0, ANVIL_EJWK, ANVIL_ENOMEM.
 */
static int
jwk_new(enum anvil_kty kty, uint8_t *a, size_t alen, uint8_t *b,
    size_t blen, EVP_PKEY *pkey, struct anvil_jwk **ret)
{
	struct anvil_jwk	*k = NULL;
	int			 rc;

	rc = check_components(kty, a, alen, b, blen);
	if (rc != 0)
		goto out;
	k = calloc(1, sizeof(*k));
	if (k == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	atomic_init(&k->refs, 1);
	k->kty = kty;
	k->a = a;
	k->alen = alen;
	k->b = b;
	k->blen = blen;
	a = b = NULL;
	if (pkey != NULL) {
		if (EVP_PKEY_up_ref(pkey) != 1) {
			rc = ANVIL_ECRYPTO;
			goto out;
		}
		k->pkey = pkey;
	} else {
		rc = build_pkey(kty, k->a, k->alen, k->b, k->blen, &k->pkey);
		if (rc != 0)
			goto out;
	}
	rc = verify_ctx_new(k);
	if (rc != 0)
		goto out;
	rc = thumbprint(k);
	if (rc != 0)
		goto out;
	*ret = k;
	k = NULL;
out:
	free(a);
	free(b);
	if (rc != 0)
		ERR_clear_error();
	anvil_jwk_free(k);
	return rc;
}

/*
 * Digests in with k's digest and verifies sig (DER ECDSA-Sig-Value, or
 * PKCS #1 v1.5) over it with k's kept context; Ed25519 keys verify the
 * message in one shot.  A failed verification leaves nothing behind in
 * the contexts: the digest context is initialised again on each call and
 * the verification context holds no per-call state (the provider checks
 * each signature on its own), so one call cannot change the outcome of
 * the next.  Returns 0, ANVIL_ESIG, ANVIL_ENOMEM, or ANVIL_ECRYPTO.
 */
int
anvil_jwk_verify(const struct anvil_jwk *k, const uint8_t *sig,
    size_t siglen, const uint8_t *in, size_t inlen)
{
	EVP_MD_CTX	*ctx = NULL;
	uint8_t		 md[EVP_MAX_MD_SIZE];
	unsigned int	 mdlen = 0;
	int		 rc = ANVIL_ECRYPTO;

	if (k->vctx == NULL) {
		ctx = EVP_MD_CTX_new();
		if (ctx == NULL) {
			rc = ANVIL_ENOMEM;
			goto out;
		}
		if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) != 1)
			goto out;
		rc = EVP_DigestVerify(ctx, sig, siglen, in, inlen) == 1 ? 0 :
		    ANVIL_ESIG;
		goto out;
	}
	if (EVP_DigestInit_ex2(k->mdctx, k->md, NULL) != 1 ||
	    EVP_DigestUpdate(k->mdctx, in, inlen) != 1 ||
	    EVP_DigestFinal_ex(k->mdctx, md, &mdlen) != 1)
		goto out;
	rc = EVP_PKEY_verify(k->vctx, sig, siglen, md, mdlen) == 1 ? 0 :
	    ANVIL_ESIG;
out:
	/* A refused signature may leave errors on OpenSSL's queue. */
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* Decodes a required base64url member; any failure is ANVIL_EJWK except
 * allocation failure. */
static int
member(const json_t *jwk, const char *name, uint8_t **ret, size_t *ret_len)
{
	int	 rc;

	rc = anvil__json_b64(jwk, name, ret, ret_len);
	if (rc == ANVIL_ENOMEM)
		return rc;
	return rc == 0 ? 0 : ANVIL_EJWK;
}

int
anvil_jwk_from_json(const json_t *jwk, struct anvil_jwk **ret)
{
	enum anvil_kty	 kty;
	const char	*ktys, *crv;
	uint8_t		*a = NULL, *b = NULL;
	size_t		 alen = 0, blen = 0, i;
	int		 rc = ANVIL_EJWK;

	if (!json_is_object(jwk))
		goto out;
	/* A private key sent as an account key is refused, not stripped. */
	for (i = 0; i < sizeof(private_members) / sizeof(private_members[0]);
	    i++)
		if (json_object_get(jwk, private_members[i]) != NULL)
			goto out;
	ktys = anvil_json_str(jwk, "kty");
	crv = anvil_json_str(jwk, "crv");
	if (ktys == NULL)
		goto out;
	if (strcmp(ktys, "EC") == 0 && crv != NULL &&
	    strcmp(crv, "P-256") == 0)
		kty = ANVIL_KTY_EC_P256;
	else if (strcmp(ktys, "EC") == 0 && crv != NULL &&
	    strcmp(crv, "P-384") == 0)
		kty = ANVIL_KTY_EC_P384;
	else if (strcmp(ktys, "OKP") == 0 && crv != NULL &&
	    strcmp(crv, "Ed25519") == 0)
		kty = ANVIL_KTY_ED25519;
	else if (strcmp(ktys, "RSA") == 0)
		kty = ANVIL_KTY_RSA;
	else
		goto out;

	if (kty == ANVIL_KTY_RSA) {
		rc = member(jwk, "n", &a, &alen);
		if (rc == 0)
			rc = member(jwk, "e", &b, &blen);
	} else {
		rc = member(jwk, "x", &a, &alen);
		if (rc == 0 && kty != ANVIL_KTY_ED25519)
			rc = member(jwk, "y", &b, &blen);
		else if (rc == 0 && json_object_get(jwk, "y") != NULL)
			rc = ANVIL_EJWK;
	}
	if (rc != 0)
		goto out;
	rc = jwk_new(kty, a, alen, b, blen, NULL, ret);
	a = b = NULL;
out:
	free(a);
	free(b);
	return rc;
}

/* Reads a BIGNUM parameter of pkey as minimal big-endian bytes (pad 0)
 * or padded to pad bytes.  Returns 0, ANVIL_EKEY, ANVIL_ENOMEM. */
static int
bn_param(EVP_PKEY *pkey, const char *name, size_t pad, uint8_t **ret,
    size_t *ret_len)
{
	BIGNUM	*bn = NULL;
	uint8_t	*p = NULL;
	size_t	 len;
	int	 rc = ANVIL_EKEY;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		goto out;
	len = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
	if (len == 0 || len > RSA_N_MAX_BYTES)
		goto out;
	p = malloc(len);
	if (p == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	if (BN_bn2binpad(bn, p, (int)len) != (int)len)
		goto out;
	*ret = p;
	*ret_len = len;
	p = NULL;
	rc = 0;
out:
	free(p);
	BN_free(bn);
	return rc;
}

int
anvil_jwk_from_pkey(EVP_PKEY *pkey, struct anvil_jwk **ret)
{
	enum anvil_kty	 kty;
	uint8_t		*a = NULL, *b = NULL;
	size_t		 alen = 0, blen = 0;
	int		 rc;

	rc = anvil__pkey_kty(pkey, &kty);
	if (rc != 0)
		goto out;
	switch (kty) {
	case ANVIL_KTY_EC_P256:
	case ANVIL_KTY_EC_P384:
		rc = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, coord_len(kty),
		    &a, &alen);
		if (rc == 0)
			rc = bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y,
			    coord_len(kty), &b, &blen);
		break;
	case ANVIL_KTY_RSA:
		rc = bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, 0, &a, &alen);
		if (rc == 0)
			rc = bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, 0, &b,
			    &blen);
		break;
	case ANVIL_KTY_ED25519:
		alen = 32;
		a = malloc(alen);
		if (a == NULL) {
			rc = ANVIL_ENOMEM;
			break;
		}
		if (EVP_PKEY_get_raw_public_key(pkey, a, &alen) != 1 ||
		    alen != 32)
			rc = ANVIL_EKEY;
		break;
	default:
		rc = ANVIL_EKEY;
		break;
	}
	if (rc != 0)
		goto out;
	rc = jwk_new(kty, a, alen, b, blen, pkey, ret);
	a = b = NULL;
	if (rc == ANVIL_EJWK)
		rc = ANVIL_EKEY;
out:
	if (rc != 0)
		ERR_clear_error();
	free(a);
	free(b);
	return rc;
}

json_t *
anvil_jwk_to_json(const struct anvil_jwk *k)
{
	struct anvil_buf	 b;
	json_t			*v = NULL;

	anvil_buf_init(&b, 4096);
	if (canonical_json(k, &b) == 0 &&
	    anvil_json_parse_object(b.data, b.len, &v) != 0)
		v = NULL;
	anvil_buf_free(&b);
	return v;
}

const char *
anvil_jwk_thumbprint(const struct anvil_jwk *k)
{
	return k->thumb;
}

enum anvil_kty
anvil_jwk_kty(const struct anvil_jwk *k)
{
	return k->kty;
}

EVP_PKEY *
anvil_jwk_pkey(const struct anvil_jwk *k)
{
	return k->pkey;
}

const char *
anvil__kty_alg(enum anvil_kty kty)
{
	switch (kty) {
	case ANVIL_KTY_EC_P256:
		return "ES256";
	case ANVIL_KTY_EC_P384:
		return "ES384";
	case ANVIL_KTY_RSA:
		return "RS256";
	case ANVIL_KTY_ED25519:
		return "EdDSA";
	default:
		return NULL;
	}
}

const char *
anvil_jwk_alg(const struct anvil_jwk *k)
{
	return anvil__kty_alg(k->kty);
}

/* The thumbprint is a hash of the whole public key: equal thumbprints
 * mean equal keys (the values are public: no constant time needed). */
bool
anvil_jwk_equal(const struct anvil_jwk *a, const struct anvil_jwk *b)
{
	if (a == NULL || b == NULL)
		return false;
	return a->kty == b->kty && strcmp(a->thumb, b->thumb) == 0;
}

void
anvil_jwk_free(struct anvil_jwk *k)
{
	if (k == NULL)
		return;
	/* Atomic: a reference may be dropped on another thread. */
	if (atomic_fetch_sub_explicit(&k->refs, 1, memory_order_acq_rel) > 1)
		return;
	EVP_PKEY_CTX_free(k->vctx);
	EVP_MD_CTX_free(k->mdctx);
	EVP_MD_free(k->md);
	EVP_PKEY_free(k->pkey);
	free(k->a);
	free(k->b);
	free(k);
}

struct anvil_jwk *
anvil_jwk_ref(struct anvil_jwk *k)
{
	if (k != NULL)
		atomic_fetch_add_explicit(&k->refs, 1, memory_order_relaxed);
	return k;
}

bool
anvil_jwk_ec_point_is(const struct anvil_jwk *k, const uint8_t *pt,
    size_t len)
{
	if (k == NULL || pt == NULL ||
	    (k->kty != ANVIL_KTY_EC_P256 && k->kty != ANVIL_KTY_EC_P384))
		return false;
	/* Coordinates are full length (check_components). */
	if (len != 1 + k->alen + k->blen || pt[0] != 0x04)
		return false;
	return memcmp(pt + 1, k->a, k->alen) == 0 &&
	    memcmp(pt + 1 + k->alen, k->b, k->blen) == 0;
}
