/*
 * jws.c - JSON Web Signatures in the flattened JSON serialization
 * (RFC 7515 §7.2.2): parsing, verification and signing.
 *
 * ECDSA signatures travel as raw R||S (RFC 7518 §3.4) while OpenSSL
 * speaks DER ECDSA-Sig-Value, so both directions convert here.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "anvil/b64.h"
#include "anvil/error.h"
#include "anvil/json.h"
#include "anvil/jwk.h"
#include "anvil/jws.h"
#include "anvil/x509.h"
#include "internal.h"

#define HS256_LEN	32

/* Decodes base64url text; any failure is ANVIL_EJWS except allocation
 * failure.  Returns 0 with a new buffer in *ret (free()). */
static int
b64_decode(const char *in, size_t len, uint8_t **ret, size_t *ret_len)
{
	int	 rc;

	rc = anvil_b64url_decode(in, len, ret, ret_len);
	if (rc == ANVIL_ENOMEM)
		return rc;
	return rc == 0 ? 0 : ANVIL_EJWS;
}

/* Returns 1 when member name is absent or a string, else 0. */
static int
opt_str(const json_t *obj, const char *name)
{
	json_t	*v;

	v = json_object_get(obj, name);
	return v == NULL || json_is_string(v);
}

/*
 * The JWS and its signing input share one allocation (the input right
 * after the struct), and payload_b64 points into the input: the input
 * ends with the payload as sent.  The other members are Jansson's or the
 * base64url decoder's.
 */
int
anvil_jws_parse(const char *body, size_t len, struct anvil_jws **ret)
{
	struct anvil_jws	*jws = NULL;
	json_t			*top = NULL, *jwk, *vprot, *vpay, *vsig;
	uint8_t			*hdr = NULL;
	size_t			 hdrlen = 0, plen, paylen;
	int			 rc = ANVIL_EJWS;

	if (anvil_json_parse_object(body, len, &top) != 0)
		goto out;
	/* RFC 8555 §6.2: flattened only, no unprotected header. */
	if (json_object_size(top) != 3)
		goto out;
	vprot = json_object_get(top, "protected");
	vpay = json_object_get(top, "payload");
	vsig = json_object_get(top, "signature");
	if (!json_is_string(vprot) || !json_is_string(vpay) ||
	    !json_is_string(vsig))
		goto out;
	/* Jansson refuses "\u0000" without JSON_ALLOW_NUL: the lengths are
	 * the strings' lengths.  Both are under len, the body's size. */
	plen = json_string_length(vprot);
	paylen = json_string_length(vpay);

	/* The signing input is the text as sent (RFC 7515 §5.2 step 8). */
	jws = calloc(1, sizeof(*jws) + plen + 1 + paylen + 1);
	if (jws == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	jws->signing_input = (char *)(jws + 1);
	memcpy(jws->signing_input, json_string_value(vprot), plen);
	jws->signing_input[plen] = '.';
	memcpy(jws->signing_input + plen + 1, json_string_value(vpay), paylen);
	jws->signing_input[plen + 1 + paylen] = '\0';
	jws->signing_input_len = plen + 1 + paylen;
	jws->payload_b64 = jws->signing_input + plen + 1;

	rc = b64_decode(json_string_value(vprot), plen, &hdr, &hdrlen);
	if (rc != 0)
		goto out;
	rc = b64_decode(json_string_value(vpay), paylen, &jws->payload,
	    &jws->payload_len);
	if (rc != 0)
		goto out;
	rc = b64_decode(json_string_value(vsig), json_string_length(vsig),
	    &jws->sig, &jws->sig_len);
	if (rc != 0)
		goto out;
	rc = ANVIL_EJWS;
	if (anvil_json_parse_object((const char *)hdr, hdrlen,
	    &jws->header) != 0)
		goto out;
	jws->alg = anvil_json_str(jws->header, "alg");
	if (jws->alg == NULL)
		goto out;
	/* RFC 7515 §4.1.11: we understand no extension, so none may be
	 * critical. */
	if (json_object_get(jws->header, "crit") != NULL)
		goto out;
	jwk = json_object_get(jws->header, "jwk");
	if (jwk != NULL && !json_is_object(jwk))
		goto out;
	jws->jwk = jwk;
	if (!opt_str(jws->header, "kid") || !opt_str(jws->header, "nonce") ||
	    !opt_str(jws->header, "url"))
		goto out;
	jws->kid = anvil_json_str(jws->header, "kid");
	jws->nonce = anvil_json_str(jws->header, "nonce");
	jws->url = anvil_json_str(jws->header, "url");
	*ret = jws;
	jws = NULL;
	rc = 0;
out:
	anvil_jws_free(jws);
	free(hdr);
	json_decref(top);
	return rc;
}

/* Half the length of a raw ECDSA signature, 0 for other key types. */
static size_t
ec_half(enum anvil_kty kty)
{
	switch (kty) {
	case ANVIL_KTY_EC_P256:
		return 32;
	case ANVIL_KTY_EC_P384:
		return 48;
	default:
		return 0;
	}
}

/* The longest DER ECDSA-Sig-Value raw_to_der writes: a SEQUENCE of two
 * INTEGERs of at most 48 bytes and a leading zero each; under 128 bytes,
 * so every length is in DER's short form. */
#define EC_DER_MAX	(2 + 2 * (2 + 1 + 48))

/* Writes the DER INTEGER of the unsigned big-endian p[0..n) (n >= 1):
 * minimal (leading zeros dropped, one kept for zero), and a zero byte
 * first when the top bit is set.  Returns the bytes written. */
static size_t
der_uint(uint8_t *out, const uint8_t *p, size_t n)
{
	size_t	 pad;

	while (n > 1 && p[0] == 0) {
		p++;
		n--;
	}
	pad = (p[0] & 0x80) != 0;
	out[0] = 0x02;
	out[1] = (uint8_t)(n + pad);
	out[2] = 0;
	memcpy(out + 2 + pad, p, n);
	return 2 + pad + n;
}

/*
 * Raw R||S (2n bytes, n at most 48) to a DER ECDSA-Sig-Value in der
 * (EC_DER_MAX bytes).  Written here rather than through ECDSA_SIG and two
 * BIGNUMs: no allocation, and the encoding is fixed (X.690 §8.3, §10.1).
 * Values OpenSSL would refuse (zero, not below the order) are encoded as
 * they are and refused by the verification.  Returns the length.
 */
static size_t
raw_to_der(const uint8_t *raw, size_t n, uint8_t der[EC_DER_MAX])
{
	size_t	 len;

	len = der_uint(der + 2, raw, n);
	len += der_uint(der + 2 + len, raw + n, n);
	der[0] = 0x30;
	der[1] = (uint8_t)len;
	return 2 + len;
}

/* DER ECDSA-Sig-Value to raw R||S of 2n bytes.  Returns 0 or
 * ANVIL_ECRYPTO. */
static int
der_to_raw(const uint8_t *der, size_t len, size_t n, uint8_t *raw)
{
	const uint8_t	*p = der;
	const BIGNUM	*r, *s;
	ECDSA_SIG	*es;
	int		 rc = ANVIL_ECRYPTO;

	es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	if (es == NULL || p != der + len)
		goto out;
	ECDSA_SIG_get0(es, &r, &s);
	if (BN_bn2binpad(r, raw, (int)n) != (int)n ||
	    BN_bn2binpad(s, raw + n, (int)n) != (int)n)
		goto out;
	rc = 0;
out:
	ECDSA_SIG_free(es);
	return rc;
}

int
anvil_jws_verify(const struct anvil_jws *jws, const struct anvil_jwk *key)
{
	enum anvil_kty	 kty;
	const uint8_t	*sig;
	uint8_t		 der[EC_DER_MAX];
	size_t		 siglen, n;

	if (jws == NULL || key == NULL || jws->alg == NULL)
		return ANVIL_EINVAL;
	/* RFC 8555 §6.2: the key decides the alg; this also refuses
	 * "none", the HS* family and anything unknown. */
	if (strcmp(jws->alg, anvil_jwk_alg(key)) != 0)
		return ANVIL_EALG;
	kty = anvil_jwk_kty(key);
	sig = jws->sig;
	siglen = jws->sig_len;
	/* RFC 7518 §3.4: R||S, each exactly the curve's size. */
	n = ec_half(kty);
	if (n != 0) {
		if (siglen != 2 * n)
			return ANVIL_ESIG;
		siglen = raw_to_der(sig, n, der);
		sig = der;
	} else if (kty == ANVIL_KTY_RSA) {
		if (siglen != (size_t)EVP_PKEY_get_size(anvil_jwk_pkey(key)))
			return ANVIL_ESIG;
	} else if (siglen != 64)
		return ANVIL_ESIG;
	return anvil_jwk_verify(key, sig, siglen,
	    (const uint8_t *)jws->signing_input, jws->signing_input_len);
}

/* HMAC-SHA256 of the signing input.  Returns 0 or ANVIL_ECRYPTO. */
static int
hs256(const uint8_t *key, size_t key_len, const char *in, size_t len,
    uint8_t out[HS256_LEN])
{
	unsigned int	 outlen = 0;

	if (key_len > INT32_MAX)
		return ANVIL_EINVAL;
	if (HMAC(EVP_sha256(), key, (int)key_len, (const uint8_t *)in, len,
	    out, &outlen) == NULL || outlen != HS256_LEN)
		return ANVIL_ECRYPTO;
	return 0;
}

/*
 * An empty MAC key is refused (ANVIL_EINVAL): it would let anyone forge
 * a binding.  The MAC is compared in constant time.
 */
int
anvil_jws_verify_hmac(const struct anvil_jws *jws, const uint8_t *key,
    size_t key_len)
{
	uint8_t	 mac[HS256_LEN];
	int	 rc;

	if (jws == NULL || jws->alg == NULL || key == NULL || key_len == 0)
		return ANVIL_EINVAL;
	if (strcmp(jws->alg, "HS256") != 0)
		return ANVIL_EALG;
	rc = hs256(key, key_len, jws->signing_input, jws->signing_input_len,
	    mac);
	if (rc != 0)
		goto out;
	if (!anvil_memeq_ct(mac, sizeof(mac), jws->sig, jws->sig_len))
		rc = ANVIL_ESIG;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	return rc;
}

bool
anvil_jws_alg_supported(const char *alg)
{
	static const char *const algs[] = { "ES256", "ES384", "RS256",
	    "EdDSA" };
	size_t	 i;

	if (alg == NULL)
		return false;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(alg, algs[i]) == 0)
			return true;
	return false;
}

/*
 * Builds the encoded protected header ({"alg":alg} followed by the
 * caller's members, less any "alg" of theirs), the encoded payload, and
 * the signing input "header.payload" in *ret_input.  All three are new
 * strings (free()).  Returns 0, ANVIL_EINVAL, ANVIL_ENOMEM.
 */
static int
signing_input(const char *alg, const json_t *protected,
    const uint8_t *payload, size_t payload_len, char **ret_prot,
    char **ret_pay, char **ret_input)
{
	json_t		*hdr = NULL, *v;
	const char	*name;
	char		*text = NULL, *prot = NULL, *pay = NULL, *input = NULL;
	size_t		 textlen = 0, plen, paylen;
	int		 rc = ANVIL_EINVAL;

	if (protected != NULL && !json_is_object(protected))
		goto out;
	hdr = json_object();
	if (hdr == NULL || json_object_set_new(hdr, "alg",
	    json_string(alg)) != 0) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	json_object_foreach((json_t *)protected, name, v) {
		if (strcmp(name, "alg") == 0)
			continue;
		if (json_object_set(hdr, name, v) != 0) {
			rc = ANVIL_ENOMEM;
			goto out;
		}
	}
	rc = anvil_json_dump(hdr, &text, &textlen);
	if (rc != 0)
		goto out;
	rc = anvil_b64url_encode((const uint8_t *)text, textlen, &prot);
	if (rc != 0)
		goto out;
	rc = anvil_b64url_encode(payload, payload_len, &pay);
	if (rc != 0)
		goto out;
	plen = strlen(prot);
	paylen = strlen(pay);
	input = malloc(plen + 1 + paylen + 1);
	if (input == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	memcpy(input, prot, plen);
	input[plen] = '.';
	memcpy(input + plen + 1, pay, paylen + 1);
	*ret_prot = prot;
	*ret_pay = pay;
	*ret_input = input;
	prot = pay = NULL;
	rc = 0;
out:
	free(text);
	free(prot);
	free(pay);
	json_decref(hdr);
	return rc;
}

/* Writes the flattened JWS body into *ret_body (free()). */
static int
body(const char *prot, const char *pay, const uint8_t *sig, size_t siglen,
    char **ret_body)
{
	json_t	*v = NULL;
	char	*s = NULL;
	int	 rc;

	rc = anvil_b64url_encode(sig, siglen, &s);
	if (rc != 0)
		goto out;
	v = json_pack("{s:s, s:s, s:s}", "protected", prot, "payload", pay,
	    "signature", s);
	if (v == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = anvil_json_dump(v, ret_body, NULL);
out:
	json_decref(v);
	free(s);
	return rc;
}

/* The digest an alg signs with; NULL for EdDSA (one-shot, no digest). */
static const EVP_MD *
alg_md(enum anvil_kty kty)
{
	switch (kty) {
	case ANVIL_KTY_EC_P256:
	case ANVIL_KTY_RSA:
		return EVP_sha256();
	case ANVIL_KTY_EC_P384:
		return EVP_sha384();
	default:
		return NULL;
	}
}

int
anvil_jws_sign(EVP_PKEY *key, const json_t *protected,
    const uint8_t *payload, size_t payload_len, char **ret_body)
{
	enum anvil_kty	 kty;
	EVP_MD_CTX	*ctx = NULL;
	uint8_t		*sig = NULL, raw[96];
	char		*prot = NULL, *pay = NULL, *input = NULL;
	size_t		 siglen = 0, n;
	int		 rc;

	if (payload == NULL && payload_len != 0)
		return ANVIL_EINVAL;
	rc = anvil__pkey_kty(key, &kty);
	if (rc != 0)
		goto out;
	rc = signing_input(anvil__kty_alg(kty), protected, payload,
	    payload_len, &prot, &pay, &input);
	if (rc != 0)
		goto out;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = ANVIL_ECRYPTO;
	if (EVP_DigestSignInit(ctx, NULL, alg_md(kty), NULL, key) != 1)
		goto out;
	if (EVP_DigestSign(ctx, NULL, &siglen, (const uint8_t *)input,
	    strlen(input)) != 1)
		goto out;
	sig = malloc(siglen);
	if (sig == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)input,
	    strlen(input)) != 1)
		goto out;
	n = ec_half(kty);
	if (n != 0) {
		rc = der_to_raw(sig, siglen, n, raw);
		if (rc != 0)
			goto out;
		rc = body(prot, pay, raw, 2 * n, ret_body);
	} else
		rc = body(prot, pay, sig, siglen, ret_body);
out:
	if (rc != 0)
		ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(sig);
	free(prot);
	free(pay);
	free(input);
	return rc;
}

int
anvil_jws_sign_hmac(const uint8_t *key, size_t key_len,
    const json_t *protected, const uint8_t *payload, size_t payload_len,
    char **ret_body)
{
	uint8_t	 mac[HS256_LEN];
	char	*prot = NULL, *pay = NULL, *input = NULL;
	int	 rc;

	if (key == NULL || key_len == 0 ||
	    (payload == NULL && payload_len != 0))
		return ANVIL_EINVAL;
	rc = signing_input("HS256", protected, payload, payload_len, &prot,
	    &pay, &input);
	if (rc != 0)
		goto out;
	rc = hs256(key, key_len, input, strlen(input), mac);
	if (rc != 0)
		goto out;
	rc = body(prot, pay, mac, sizeof(mac), ret_body);
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(prot);
	free(pay);
	free(input);
	return rc;
}

void
anvil_jws_free(struct anvil_jws *jws)
{
	if (jws == NULL)
		return;
	json_decref(jws->header);
	free(jws->payload);
	free(jws->sig);
	/* signing_input and payload_b64 are inside jws's allocation. */
	free(jws);
}
