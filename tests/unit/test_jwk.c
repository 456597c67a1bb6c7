/*
 * test_jwk.c - unit tests for JSON Web Keys and thumbprints (lib/jwk.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include "anvil/anvil.h"

/* RFC 7517 Appendix A.1 (and RFC 7638 §3.1) RSA modulus. */
#define RFC7517_N							\
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx"		\
	"4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMs" \
	"tn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2" \
	"QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbI" \
	"SD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqb" \
	"w0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
#define RFC7517_EC_X	"MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4"
#define RFC7517_EC_Y	"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyM"
#define RFC8037_X	"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"

/* Parses text as a JWK and expects rc; returns the key on success. */
static struct anvil_jwk *
jwk(const char *text, int rc)
{
	struct anvil_jwk	*k = NULL;
	json_t			*v = NULL;

	assert_int_equal(anvil_json_parse(text, strlen(text), &v), 0);
	assert_int_equal(anvil_jwk_from_json(v, &k), rc);
	json_decref(v);
	if (rc != 0)
		assert_null(k);
	else
		assert_non_null(k);
	return k;
}

/* Returns a JWK text for RSA with the given n and e (static buffer). */
static const char *
rsa(const char *n, const char *e)
{
	static char	 buf[4096];

	snprintf(buf, sizeof(buf), "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\"}",
	    n, e);
	return buf;
}

/* base64url of the RFC 7517 modulus changed by f. */
static char *
modulus(int op)
{
	uint8_t	*n = NULL, *m;
	size_t	 len = 0;
	char	*s = NULL;

	assert_int_equal(anvil_b64url_decode(RFC7517_N, strlen(RFC7517_N),
	    &n, &len), 0);
	m = calloc(1, len + 1);
	assert_non_null(m);
	switch (op) {
	case 0:		/* leading zero byte */
		memcpy(m + 1, n, len);
		len++;
		break;
	case 1:		/* even */
		memcpy(m, n, len);
		m[len - 1] &= 0xfe;
		break;
	case 2:		/* 1024 bits */
		memcpy(m, n, len);
		len = 128;
		m[len - 1] |= 1;
		break;
	default:	/* 2047 bits */
		memcpy(m, n, len);
		m[0] = 0x7f;
		break;
	}
	assert_int_equal(anvil_b64url_encode(m, len, &s), 0);
	free(n);
	free(m);
	return s;
}

static void
test_invalid(void **state)
{
	struct anvil_jwk	*k = NULL;
	char			*n;
	int			 i;

	(void)state;
	assert_int_equal(anvil_jwk_from_json(NULL, &k), ANVIL_EJWK);
	jwk("[]", ANVIL_EJWK);
	jwk("{}", ANVIL_EJWK);
	jwk("{\"kty\":1}", ANVIL_EJWK);
	jwk("{\"kty\":\"oct\",\"k\":\"AAAA\"}", ANVIL_EJWK);
	/* Unknown curves and types. */
	jwk("{\"kty\":\"EC\",\"crv\":\"P-521\",\"x\":\"" RFC7517_EC_X
	    "\",\"y\":\"" RFC7517_EC_Y "\"}", ANVIL_EJWK);
	jwk("{\"kty\":\"EC\",\"x\":\"" RFC7517_EC_X "\",\"y\":\""
	    RFC7517_EC_Y "\"}", ANVIL_EJWK);
	jwk("{\"kty\":\"OKP\",\"crv\":\"Ed448\",\"x\":\"" RFC8037_X "\"}",
	    ANVIL_EJWK);
	jwk("{\"kty\":\"OKP\",\"crv\":\"X25519\",\"x\":\"" RFC8037_X "\"}",
	    ANVIL_EJWK);
	/* Missing and wrong-typed members. */
	jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7517_EC_X "\"}",
	    ANVIL_EJWK);
	jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7517_EC_X
	    "\",\"y\":5}", ANVIL_EJWK);
	jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\"}", ANVIL_EJWK);
	jwk("{\"kty\":\"RSA\",\"n\":\"" RFC7517_N "\"}", ANVIL_EJWK);
	/* Bad base64url: padding, plain base64 characters. */
	jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X "=\"}",
	    ANVIL_EJWK);
	jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\""
	    "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7D4\",\"y\":\""
	    "4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IF+M\"}", ANVIL_EJWK);
	/* Private members. */
	jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"d\":"
	    "\"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A\",\"x\":\""
	    RFC8037_X "\"}", ANVIL_EJWK);
	jwk("{\"kty\":\"RSA\",\"n\":\"" RFC7517_N "\",\"e\":\"AQAB\","
	    "\"p\":\"AQAB\"}", ANVIL_EJWK);
	jwk("{\"kty\":\"RSA\",\"n\":\"" RFC7517_N "\",\"e\":\"AQAB\","
	    "\"qi\":\"AQAB\"}", ANVIL_EJWK);
	/* Coordinates of the wrong length: 31 bytes, P-384 length on
	 * P-256, and a y for Ed25519. */
	jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\""
	    "MKBCTNIcKUSDii11ySs3526iDZ8AiTo7Tu6KPAqv7A\",\"y\":\""
	    RFC7517_EC_Y "\"}", ANVIL_EJWK);
	jwk("{\"kty\":\"EC\",\"crv\":\"P-384\",\"x\":\"" RFC7517_EC_X
	    "\",\"y\":\"" RFC7517_EC_Y "\"}", ANVIL_EJWK);
	jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
	    "\",\"y\":\"" RFC8037_X "\"}", ANVIL_EJWK);
	jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7T"
	    "yWQHOg7hcvPapiMlrwIaaPcHUR\"}", ANVIL_EJWK);
	/* A point not on the curve (last bit of y flipped). */
	jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7517_EC_X
	    "\",\"y\":\"4Etl6SRW2YiLUrN5vfvVHuhp7x8PxltmWWlbbM4IFyI\"}",
	    ANVIL_EJWK);
	/* All-zero coordinates: the point at infinity is not a key. */
	jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"y\":"
	    "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}", ANVIL_EJWK);
	/* RSA exponents: 1, even, leading zero, too large, empty. */
	jwk(rsa(RFC7517_N, "AQ"), ANVIL_EJWK);
	jwk(rsa(RFC7517_N, "Ag"), ANVIL_EJWK);
	jwk(rsa(RFC7517_N, "AAEAAQ"), ANVIL_EJWK);
	jwk(rsa(RFC7517_N, "AQAAAAE"), ANVIL_EJWK);
	jwk(rsa(RFC7517_N, ""), ANVIL_EJWK);
	/* RSA moduli: leading zero, even, 1024 and 2047 bits. */
	for (i = 0; i < 4; i++) {
		n = modulus(i);
		jwk(rsa(n, "AQAB"), ANVIL_EJWK);
		free(n);
	}
}

static void
test_rfc7517(void **state)
{
	struct anvil_jwk	*ec, *r, *r3;
	json_t			*v;
	char			*s = NULL;

	(void)state;
	/* Appendix A.1, with its extra members ("use", "kid", "alg"). */
	ec = jwk("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"" RFC7517_EC_X
	    "\",\"y\":\"" RFC7517_EC_Y "\",\"use\":\"enc\",\"kid\":\"1\"}", 0);
	assert_int_equal(anvil_jwk_kty(ec), ANVIL_KTY_EC_P256);
	assert_string_equal(anvil_jwk_alg(ec), "ES256");
	assert_non_null(anvil_jwk_pkey(ec));
	assert_int_equal(EVP_PKEY_get_bits(anvil_jwk_pkey(ec)), 256);
	v = anvil_jwk_to_json(ec);
	assert_int_equal(anvil_json_dump(v, &s, NULL), 0);
	assert_string_equal(s, "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\""
	    RFC7517_EC_X "\",\"y\":\"" RFC7517_EC_Y "\"}");
	free(s);
	json_decref(v);

	r = jwk("{\"kty\":\"RSA\",\"n\":\"" RFC7517_N "\",\"e\":\"AQAB\","
	    "\"alg\":\"RS256\",\"kid\":\"2011-04-29\"}", 0);
	assert_int_equal(anvil_jwk_kty(r), ANVIL_KTY_RSA);
	assert_string_equal(anvil_jwk_alg(r), "RS256");
	assert_int_equal(EVP_PKEY_get_bits(anvil_jwk_pkey(r)), 2048);
	/* RFC 7638 §3.1. */
	assert_string_equal(anvil_jwk_thumbprint(r),
	    "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
	v = anvil_jwk_to_json(r);
	assert_int_equal(anvil_json_dump(v, &s, NULL), 0);
	assert_string_equal(s, "{\"e\":\"AQAB\",\"kty\":\"RSA\",\"n\":\""
	    RFC7517_N "\"}");
	free(s);
	json_decref(v);

	assert_false(anvil_jwk_equal(ec, r));
	assert_true(anvil_jwk_equal(r, r));
	/* Exponent 3 is acceptable and gives another key. */
	r3 = jwk(rsa(RFC7517_N, "Aw"), 0);
	assert_false(anvil_jwk_equal(r, r3));
	assert_string_not_equal(anvil_jwk_thumbprint(r),
	    anvil_jwk_thumbprint(r3));
	anvil_jwk_free(r3);
	anvil_jwk_free(r);
	anvil_jwk_free(ec);
	anvil_jwk_free(NULL);
}

static void
test_rfc8037(void **state)
{
	static const uint8_t x[32] = {
		0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7,
		0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a,
		0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25,
		0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
	};
	struct anvil_jwk	*k, *k2 = NULL;
	EVP_PKEY		*pkey;
	uint8_t			 raw[32];
	size_t			 rawlen = sizeof(raw);
	json_t			*v;
	char			*s = NULL;

	(void)state;
	/* A.2 public key; A.3 thumbprint. */
	k = jwk("{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"" RFC8037_X
	    "\"}", 0);
	assert_int_equal(anvil_jwk_kty(k), ANVIL_KTY_ED25519);
	assert_string_equal(anvil_jwk_alg(k), "EdDSA");
	assert_string_equal(anvil_jwk_thumbprint(k),
	    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	assert_int_equal(EVP_PKEY_get_raw_public_key(anvil_jwk_pkey(k), raw,
	    &rawlen), 1);
	assert_memory_equal(raw, x, sizeof(x));
	v = anvil_jwk_to_json(k);
	assert_int_equal(anvil_json_dump(v, &s, NULL), 0);
	assert_string_equal(s,
	    "{\"crv\":\"Ed25519\",\"kty\":\"OKP\",\"x\":\"" RFC8037_X "\"}");
	free(s);
	json_decref(v);

	/* The same key from an EVP_PKEY is the same JWK. */
	pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, x, 32);
	assert_non_null(pkey);
	assert_int_equal(anvil_jwk_from_pkey(pkey, &k2), 0);
	EVP_PKEY_free(pkey);	/* k2 holds its own reference */
	assert_true(anvil_jwk_equal(k, k2));
	assert_string_equal(anvil_jwk_thumbprint(k2),
	    "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	assert_non_null(anvil_jwk_pkey(k2));
	anvil_jwk_free(k2);
	anvil_jwk_free(k);
}

/* Generated keys: from_pkey, to_json, from_json give the same key. */
static void
test_from_pkey(void **state)
{
	static const enum anvil_key_type types[] = { ANVIL_KEY_EC256,
	    ANVIL_KEY_EC384, ANVIL_KEY_RSA2048, ANVIL_KEY_ED25519 };
	static const enum anvil_kty ktys[] = { ANVIL_KTY_EC_P256,
	    ANVIL_KTY_EC_P384, ANVIL_KTY_RSA, ANVIL_KTY_ED25519 };
	struct anvil_jwk	*a = NULL, *b = NULL;
	EVP_PKEY		*pkey = NULL, *small = NULL;
	json_t			*v;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(anvil_key_generate(types[i], &pkey), 0);
		assert_int_equal(anvil_jwk_from_pkey(pkey, &a), 0);
		assert_int_equal(anvil_jwk_kty(a), ktys[i]);
		assert_ptr_equal(anvil_jwk_pkey(a), pkey);
		v = anvil_jwk_to_json(a);
		assert_non_null(v);
		assert_null(json_object_get(v, "d"));
		assert_int_equal(anvil_jwk_from_json(v, &b), 0);
		assert_true(anvil_jwk_equal(a, b));
		assert_string_equal(anvil_jwk_thumbprint(a),
		    anvil_jwk_thumbprint(b));
		assert_int_equal(strlen(anvil_jwk_thumbprint(a)),
		    ANVIL_THUMBPRINT_LEN);
		assert_int_equal(EVP_PKEY_eq(pkey, anvil_jwk_pkey(b)), 1);
		json_decref(v);
		anvil_jwk_free(a);
		anvil_jwk_free(b);
		EVP_PKEY_free(pkey);
		a = b = NULL;
	}

	/* Unsupported keys: RSA-1024 and P-521. */
	small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	assert_non_null(small);
	assert_int_equal(anvil_jwk_from_pkey(small, &a), ANVIL_EKEY);
	EVP_PKEY_free(small);
	small = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(small);
	assert_int_equal(anvil_jwk_from_pkey(small, &a), ANVIL_EKEY);
	EVP_PKEY_free(small);
	assert_int_equal(anvil_jwk_from_pkey(NULL, &a), ANVIL_EKEY);
	assert_null(a);
}

/* The EC point check against what OpenSSL encodes for the same key. */
static void
test_ec_point_is(void **state)
{
	static const enum anvil_key_type types[] = { ANVIL_KEY_EC256,
	    ANVIL_KEY_EC384 };
	struct anvil_jwk	*a = NULL;
	EVP_PKEY		*pkey = NULL;
	uint8_t			 pt[100];
	size_t			 i, n = 0;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(anvil_key_generate(types[i], &pkey), 0);
		assert_int_equal(anvil_jwk_from_pkey(pkey, &a), 0);
		assert_int_equal(EVP_PKEY_get_octet_string_param(pkey,
		    OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, pt, sizeof(pt), &n), 1);
		assert_true(anvil_jwk_ec_point_is(a, pt, n));
		assert_false(anvil_jwk_ec_point_is(a, pt, n - 1));
		assert_false(anvil_jwk_ec_point_is(a, NULL, n));
		pt[n - 1] ^= 1;		/* y */
		assert_false(anvil_jwk_ec_point_is(a, pt, n));
		pt[n - 1] ^= 1;
		pt[1] ^= 1;		/* x */
		assert_false(anvil_jwk_ec_point_is(a, pt, n));
		pt[1] ^= 1;
		pt[0] = 0x02;		/* not uncompressed */
		assert_false(anvil_jwk_ec_point_is(a, pt, n));
		anvil_jwk_free(a);
		EVP_PKEY_free(pkey);
	}
	/* Not an EC key. */
	assert_int_equal(anvil_key_generate(ANVIL_KEY_ED25519, &pkey), 0);
	assert_int_equal(anvil_jwk_from_pkey(pkey, &a), 0);
	pt[0] = 0x04;
	assert_false(anvil_jwk_ec_point_is(a, pt, 65));
	anvil_jwk_free(a);
	EVP_PKEY_free(pkey);
	assert_false(anvil_jwk_ec_point_is(NULL, pt, 65));
}

/* References: the key lives until the last anvil_jwk_free (ASan would
 * report a use after free or a double free otherwise). */
static void
test_ref(void **state)
{
	struct anvil_jwk	*a = NULL, *r;
	EVP_PKEY		*pkey = NULL;
	char			 tp[ANVIL_THUMBPRINT_LEN + 1];

	(void)state;
	assert_null(anvil_jwk_ref(NULL));
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &pkey), 0);
	assert_int_equal(anvil_jwk_from_pkey(pkey, &a), 0);
	EVP_PKEY_free(pkey);
	snprintf(tp, sizeof(tp), "%s", anvil_jwk_thumbprint(a));
	r = anvil_jwk_ref(a);
	assert_ptr_equal(r, a);
	assert_ptr_equal(anvil_jwk_ref(a), a);
	anvil_jwk_free(a);
	anvil_jwk_free(a);
	/* One reference left: still whole. */
	assert_string_equal(anvil_jwk_thumbprint(r), tp);
	assert_int_equal(anvil_jwk_kty(r), ANVIL_KTY_EC_P256);
	anvil_jwk_free(r);
}

/* Signs msg with pkey in OpenSSL's encoding; *ret_sig is malloc'd. */
static void
ossl_sign(EVP_PKEY *pkey, const EVP_MD *md, const char *msg,
    uint8_t **ret_sig, size_t *ret_len)
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	size_t		 len = 0;

	assert_non_null(ctx);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, pkey), 1);
	assert_int_equal(EVP_DigestSign(ctx, NULL, &len,
	    (const uint8_t *)msg, strlen(msg)), 1);
	*ret_sig = malloc(len);
	assert_non_null(*ret_sig);
	assert_int_equal(EVP_DigestSign(ctx, *ret_sig, &len,
	    (const uint8_t *)msg, strlen(msg)), 1);
	*ret_len = len;
	EVP_MD_CTX_free(ctx);
}

/*
 * anvil_jwk_verify with the kept contexts: each key type's digest, a
 * refusal for another message, another key's signature, a truncated or
 * garbage signature, and a success again afterwards on the same key.
 */
static void
test_verify(void **state)
{
	static const enum anvil_key_type types[] = { ANVIL_KEY_EC256,
	    ANVIL_KEY_EC384, ANVIL_KEY_RSA2048, ANVIL_KEY_ED25519 };
	struct anvil_jwk	*k = NULL, *o = NULL;
	EVP_PKEY		*pkey = NULL, *opkey = NULL;
	const EVP_MD		*md;
	uint8_t			*sig = NULL, *osig = NULL;
	uint8_t			 junk[512];
	size_t			 i, len = 0, olen = 0;

	(void)state;
	memset(junk, 0x5a, sizeof(junk));
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		md = types[i] == ANVIL_KEY_EC384 ? EVP_sha384() :
		    types[i] == ANVIL_KEY_ED25519 ? NULL : EVP_sha256();
		assert_int_equal(anvil_key_generate(types[i], &pkey), 0);
		assert_int_equal(anvil_key_generate(types[i], &opkey), 0);
		assert_int_equal(anvil_jwk_from_pkey(pkey, &k), 0);
		/* Built from the JSON form too: the server's path. */
		o = k;
		k = NULL;
		{
			json_t *j = anvil_jwk_to_json(o);

			assert_non_null(j);
			assert_int_equal(anvil_jwk_from_json(j, &k), 0);
			json_decref(j);
		}
		anvil_jwk_free(o);
		o = NULL;
		ossl_sign(pkey, md, "message", &sig, &len);
		ossl_sign(opkey, md, "message", &osig, &olen);
		assert_int_equal(anvil_jwk_verify(k, sig, len,
		    (const uint8_t *)"message", 7), 0);
		assert_int_equal(anvil_jwk_verify(k, sig, len,
		    (const uint8_t *)"messagf", 7), ANVIL_ESIG);
		assert_int_equal(anvil_jwk_verify(k, osig, olen,
		    (const uint8_t *)"message", 7), ANVIL_ESIG);
		assert_int_equal(anvil_jwk_verify(k, sig, len - 1,
		    (const uint8_t *)"message", 7), ANVIL_ESIG);
		assert_int_equal(anvil_jwk_verify(k, junk, len,
		    (const uint8_t *)"message", 7), ANVIL_ESIG);
		assert_int_equal(anvil_jwk_verify(k, sig, 0,
		    (const uint8_t *)"message", 7), ANVIL_ESIG);
		assert_int_equal(anvil_jwk_verify(k, sig, len,
		    (const uint8_t *)"message", 7), 0);
		assert_int_equal(ERR_peek_error(), 0);
		free(sig);
		free(osig);
		anvil_jwk_free(k);
		EVP_PKEY_free(pkey);
		EVP_PKEY_free(opkey);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_rfc7517),
		cmocka_unit_test(test_rfc8037),
		cmocka_unit_test(test_from_pkey),
		cmocka_unit_test(test_ref),
		cmocka_unit_test(test_ec_point_is),
		cmocka_unit_test(test_verify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
