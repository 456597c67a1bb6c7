/*
 * test_jws.c - unit tests for flattened JWS parsing, verification and
 * signing (lib/jws.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "anvil/anvil.h"

/* RFC 7515 Appendix A.2 / A.3 common payload. */
#define RFC7515_PAYLOAD							\
	"eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFt" \
	"cGxlLmNvbS9pc19yb290Ijp0cnVlfQ"

/* RFC 7515 Appendix A.2: RS256. */
#define A2_HEADER	"eyJhbGciOiJSUzI1NiJ9"
#define A2_SIG								\
	"cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7" \
	"AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4" \
	"BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K" \
	"0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv" \
	"hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB" \
	"p0igcN_IoypGlUPQGe77Rw"
#define A2_JWK								\
	"{\"kty\":\"RSA\",\"e\":\"AQAB\",\"n\":\""			\
	"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx"	\
	"HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs"	\
	"D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH"	\
	"SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV"	\
	"MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8"	\
	"NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ\"}"

/* RFC 7515 Appendix A.3: ES256. */
#define A3_HEADER	"eyJhbGciOiJFUzI1NiJ9"
#define A3_SIG								\
	"DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA" \
	"pmWQxfKTUJqPP3-Kg6NU1Q"
#define A3_JWK								\
	"{\"kty\":\"EC\",\"crv\":\"P-256\","				\
	"\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","	\
	"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}"

/* RFC 8037 Appendix A.4: EdDSA. */
#define A4_HEADER	"eyJhbGciOiJFZERTQSJ9"
#define A4_PAYLOAD	"RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define A4_SIG								\
	"hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt" \
	"9g7sVvpAr_MuM0KAg"
#define A4_JWK								\
	"{\"kty\":\"OKP\",\"crv\":\"Ed25519\","				\
	"\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}"

/* Formats a flattened JWS body from compact parts (static buffer). */
static const char *
flat(const char *h, const char *p, const char *s)
{
	static char	 buf[8192];

	snprintf(buf, sizeof(buf),
	    "{\"protected\":\"%s\",\"payload\":\"%s\",\"signature\":\"%s\"}",
	    h, p, s);
	return buf;
}

static struct anvil_jwk *
key(const char *text)
{
	struct anvil_jwk	*k = NULL;
	json_t			*v = NULL;

	assert_int_equal(anvil_json_parse_object(text, strlen(text), &v), 0);
	assert_int_equal(anvil_jwk_from_json(v, &k), 0);
	json_decref(v);
	return k;
}

static struct anvil_jws *
parse(const char *body, int rc)
{
	struct anvil_jws	*jws = NULL;

	assert_int_equal(anvil_jws_parse(body, strlen(body), &jws), rc);
	if (rc != 0)
		assert_null(jws);
	return jws;
}

/* base64url of a header text (static buffer). */
static const char *
hdr(const char *json)
{
	static char	 buf[1024];

	assert_true(anvil_b64url_len(strlen(json)) < sizeof(buf));
	(void)anvil_b64url_encode_to(buf, (const uint8_t *)json,
	    strlen(json));
	return buf;
}

static void
test_parse_invalid(void **state)
{
	char	 h[1024];

	(void)state;
	/* Not JSON, truncated, compact form. */
	parse("", ANVIL_EJWS);
	parse("{\"protected\":\"" A3_HEADER "\",\"payload\":\"\"",
	    ANVIL_EJWS);
	parse(A3_HEADER "." RFC7515_PAYLOAD "." A3_SIG, ANVIL_EJWS);
	/* General form. */
	parse("{\"payload\":\"" RFC7515_PAYLOAD "\",\"signatures\":[{"
	    "\"protected\":\"" A3_HEADER "\",\"signature\":\"" A3_SIG
	    "\"}]}", ANVIL_EJWS);
	/* Unprotected header, missing or extra members. */
	parse("{\"protected\":\"" A3_HEADER "\",\"header\":{\"kid\":\"x\"},"
	    "\"payload\":\"\",\"signature\":\"" A3_SIG "\"}", ANVIL_EJWS);
	parse("{\"protected\":\"" A3_HEADER "\",\"payload\":\"\"}",
	    ANVIL_EJWS);
	parse("{\"protected\":\"" A3_HEADER "\",\"payload\":\"\","
	    "\"signature\":\"" A3_SIG "\",\"x\":1}", ANVIL_EJWS);
	/* Duplicate members. */
	parse("{\"protected\":\"" A3_HEADER "\",\"payload\":\"\","
	    "\"payload\":\"\",\"signature\":\"" A3_SIG "\"}", ANVIL_EJWS);
	/* Wrong types. */
	parse("{\"protected\":{\"alg\":\"ES256\"},\"payload\":\"\","
	    "\"signature\":\"" A3_SIG "\"}", ANVIL_EJWS);
	parse("{\"protected\":\"" A3_HEADER "\",\"payload\":null,"
	    "\"signature\":\"" A3_SIG "\"}", ANVIL_EJWS);
	parse("{\"protected\":\"" A3_HEADER "\",\"payload\":\"\","
	    "\"signature\":5}", ANVIL_EJWS);
	/* Bad base64url in each part. */
	parse(flat(A3_HEADER "=", RFC7515_PAYLOAD, A3_SIG), ANVIL_EJWS);
	parse(flat(A3_HEADER, RFC7515_PAYLOAD "=", A3_SIG), ANVIL_EJWS);
	parse(flat(A3_HEADER, RFC7515_PAYLOAD, "a+b/"), ANVIL_EJWS);
	parse(flat(A3_HEADER, "Z", A3_SIG), ANVIL_EJWS);
	/* Protected headers: not an object, no alg, alg not a string,
	 * duplicate keys, crit, bad jwk/kid/nonce/url types. */
	strcpy(h, hdr("[\"alg\"]"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
	strcpy(h, hdr("{\"nonce\":\"n\"}"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
	strcpy(h, hdr("{\"alg\":null}"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
	strcpy(h, hdr("{\"alg\":\"ES256\",\"alg\":\"none\"}"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
	strcpy(h, hdr("{\"alg\":\"ES256\",\"crit\":[\"b64\"],\"b64\":false}"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
	strcpy(h, hdr("{\"alg\":\"ES256\",\"jwk\":\"key\"}"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
	strcpy(h, hdr("{\"alg\":\"ES256\",\"kid\":1}"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
	strcpy(h, hdr("{\"alg\":\"ES256\",\"nonce\":[]}"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
	strcpy(h, hdr("{\"alg\":\"ES256\",\"url\":{}}"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
	strcpy(h, hdr("{\"alg\":\"ES256\"}x"));
	parse(flat(h, "", A3_SIG), ANVIL_EJWS);
}

static void
test_verify_invalid(void **state)
{
	struct anvil_jwk	*ec, *rsa, *ed;
	struct anvil_jws	*jws;
	char			 h[1024], sig[512];

	(void)state;
	ec = key(A3_JWK);
	rsa = key(A2_JWK);
	ed = key(A4_JWK);

	/* alg none, HS256 and unknown algs are refused by anvil_jws_verify. */
	strcpy(h, hdr("{\"alg\":\"none\"}"));
	jws = parse(flat(h, RFC7515_PAYLOAD, ""), 0);
	assert_int_equal(anvil_jws_verify(jws, ec), ANVIL_EALG);
	assert_int_equal(anvil_jws_verify(jws, rsa), ANVIL_EALG);
	anvil_jws_free(jws);
	strcpy(h, hdr("{\"alg\":\"HS256\"}"));
	jws = parse(flat(h, RFC7515_PAYLOAD, A3_SIG), 0);
	assert_int_equal(anvil_jws_verify(jws, ec), ANVIL_EALG);
	anvil_jws_free(jws);
	strcpy(h, hdr("{\"alg\":\"es256\"}"));
	jws = parse(flat(h, RFC7515_PAYLOAD, A3_SIG), 0);
	assert_int_equal(anvil_jws_verify(jws, ec), ANVIL_EALG);
	anvil_jws_free(jws);
	assert_false(anvil_jws_alg_supported("none"));
	assert_false(anvil_jws_alg_supported("HS256"));
	assert_false(anvil_jws_alg_supported("ES512"));
	assert_false(anvil_jws_alg_supported(NULL));
	assert_true(anvil_jws_alg_supported("EdDSA"));

	/* A valid ES256 JWS with a key of another type: alg mismatch. */
	jws = parse(flat(A3_HEADER, RFC7515_PAYLOAD, A3_SIG), 0);
	assert_int_equal(anvil_jws_verify(jws, rsa), ANVIL_EALG);
	assert_int_equal(anvil_jws_verify(jws, ed), ANVIL_EALG);
	anvil_jws_free(jws);

	/* Signatures of the wrong length. */
	jws = parse(flat(A3_HEADER, RFC7515_PAYLOAD, A3_SIG "AA"), 0);
	assert_int_equal(anvil_jws_verify(jws, ec), ANVIL_ESIG);
	anvil_jws_free(jws);
	jws = parse(flat(A3_HEADER, RFC7515_PAYLOAD, ""), 0);
	assert_int_equal(anvil_jws_verify(jws, ec), ANVIL_ESIG);
	anvil_jws_free(jws);
	jws = parse(flat(A2_HEADER, RFC7515_PAYLOAD, A3_SIG), 0);
	assert_int_equal(anvil_jws_verify(jws, rsa), ANVIL_ESIG);
	anvil_jws_free(jws);

	/* A changed payload, and a changed signature. */
	jws = parse(flat(A3_HEADER, RFC7515_PAYLOAD "A", A3_SIG), 0);
	assert_int_equal(anvil_jws_verify(jws, ec), ANVIL_ESIG);
	anvil_jws_free(jws);
	strcpy(sig, A2_SIG);
	sig[10] = sig[10] == 'A' ? 'B' : 'A';
	jws = parse(flat(A2_HEADER, RFC7515_PAYLOAD, sig), 0);
	assert_int_equal(anvil_jws_verify(jws, rsa), ANVIL_ESIG);
	anvil_jws_free(jws);
	strcpy(sig, A4_SIG);
	sig[0] = 'i';
	jws = parse(flat(A4_HEADER, A4_PAYLOAD, sig), 0);
	assert_int_equal(anvil_jws_verify(jws, ed), ANVIL_ESIG);
	anvil_jws_free(jws);
	/* R = S = 0. */
	jws = parse(flat(A3_HEADER, RFC7515_PAYLOAD,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAA"), 0);
	assert_int_equal(anvil_jws_verify(jws, ec), ANVIL_ESIG);
	anvil_jws_free(jws);

	anvil_jwk_free(ec);
	anvil_jwk_free(rsa);
	anvil_jwk_free(ed);
}

static void
test_rfc_vectors(void **state)
{
	struct anvil_jwk	*k;
	struct anvil_jws	*jws;

	(void)state;
	/* RFC 7515 A.2 (RS256). */
	k = key(A2_JWK);
	jws = parse(flat(A2_HEADER, RFC7515_PAYLOAD, A2_SIG), 0);
	assert_string_equal(jws->alg, "RS256");
	assert_null(jws->nonce);
	assert_null(jws->jwk);
	assert_string_equal(jws->signing_input,
	    A2_HEADER "." RFC7515_PAYLOAD);
	assert_int_equal(jws->signing_input_len,
	    strlen(A2_HEADER "." RFC7515_PAYLOAD));
	assert_string_equal(jws->payload_b64, RFC7515_PAYLOAD);
	assert_memory_equal(jws->payload, "{\"iss\":\"joe\",\r\n", 15);
	assert_int_equal(jws->payload_len, 70);
	assert_int_equal(jws->sig_len, 256);
	assert_int_equal(anvil_jws_verify(jws, k), 0);
	anvil_jws_free(jws);
	anvil_jwk_free(k);

	/* RFC 7515 A.3 (ES256). */
	k = key(A3_JWK);
	jws = parse(flat(A3_HEADER, RFC7515_PAYLOAD, A3_SIG), 0);
	assert_int_equal(jws->sig_len, 64);
	assert_int_equal(anvil_jws_verify(jws, k), 0);
	anvil_jws_free(jws);
	anvil_jwk_free(k);

	/* RFC 8037 A.4/A.5 (EdDSA). */
	k = key(A4_JWK);
	jws = parse(flat(A4_HEADER, A4_PAYLOAD, A4_SIG), 0);
	assert_string_equal((char *)jws->payload,
	    "Example of Ed25519 signing");
	assert_int_equal(anvil_jws_verify(jws, k), 0);
	anvil_jws_free(jws);
	anvil_jwk_free(k);
}

/* RFC 8037 A.4: Ed25519 is deterministic, so signing reproduces it. */
static void
test_sign_rfc8037(void **state)
{
	static const uint8_t d[32] = {
		0x9d, 0x61, 0xb1, 0x9d, 0xef, 0xfd, 0x5a, 0x60,
		0xba, 0x84, 0x4a, 0xf4, 0x92, 0xec, 0x2c, 0xc4,
		0x44, 0x49, 0xc5, 0x69, 0x7b, 0x32, 0x69, 0x19,
		0x70, 0x3b, 0xac, 0x03, 0x1c, 0xae, 0x7f, 0x60,
	};
	static const char msg[] = "Example of Ed25519 signing";
	EVP_PKEY	*pkey;
	json_t		*prot;
	char		*body = NULL;

	(void)state;
	pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, 32);
	assert_non_null(pkey);
	prot = json_object();
	assert_int_equal(anvil_jws_sign(pkey, prot, (const uint8_t *)msg,
	    strlen(msg), &body), 0);
	assert_string_equal(body, flat(A4_HEADER, A4_PAYLOAD, A4_SIG));
	free(body);
	json_decref(prot);
	EVP_PKEY_free(pkey);
}

static void
test_sign_roundtrip(void **state)
{
	static const enum anvil_key_type types[] = { ANVIL_KEY_EC256,
	    ANVIL_KEY_EC384, ANVIL_KEY_RSA2048, ANVIL_KEY_ED25519 };
	static const char *const algs[] = { "ES256", "ES384", "RS256",
	    "EdDSA" };
	struct anvil_jwk	*k = NULL, *hk = NULL;
	struct anvil_jws	*jws = NULL;
	EVP_PKEY		*pkey = NULL;
	json_t			*prot;
	char			*body = NULL;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(anvil_key_generate(types[i], &pkey), 0);
		assert_int_equal(anvil_jwk_from_pkey(pkey, &k), 0);
		prot = json_pack("{s:s, s:s, s:o}", "nonce", "abc",
		    "url", "https://127.0.0.1/acme/new-account",
		    "jwk", anvil_jwk_to_json(k));
		assert_non_null(prot);
		assert_int_equal(anvil_jws_sign(pkey, prot,
		    (const uint8_t *)"{}", 2, &body), 0);
		jws = parse(body, 0);
		assert_string_equal(jws->alg, algs[i]);
		assert_string_equal(jws->nonce, "abc");
		assert_string_equal(jws->url,
		    "https://127.0.0.1/acme/new-account");
		assert_non_null(jws->jwk);
		assert_int_equal(anvil_jwk_from_json(jws->jwk, &hk), 0);
		assert_true(anvil_jwk_equal(k, hk));
		assert_string_equal((char *)jws->payload, "{}");
		assert_int_equal(anvil_jws_verify(jws, hk), 0);
		/* "alg" comes first in the protected header. */
		assert_string_equal(json_object_iter_key(
		    json_object_iter(jws->header)), "alg");
		anvil_jws_free(jws);
		free(body);
		anvil_jwk_free(hk);
		hk = NULL;

		/* POST-as-GET: empty payload. */
		assert_int_equal(anvil_jws_sign(pkey, prot, NULL, 0, &body),
		    0);
		jws = parse(body, 0);
		assert_string_equal(jws->payload_b64, "");
		assert_int_equal(jws->payload_len, 0);
		assert_int_equal(anvil_jws_verify(jws, k), 0);
		anvil_jws_free(jws);
		free(body);

		json_decref(prot);
		anvil_jwk_free(k);
		EVP_PKEY_free(pkey);
		k = NULL;
	}
}

static void
test_hmac(void **state)
{
	static const uint8_t mac_key[] = "0123456789abcdef0123456789abcdef";
	struct anvil_jws	*jws;
	json_t			*prot;
	char			*body = NULL, *p;

	(void)state;
	prot = json_pack("{s:s, s:s, s:s}", "alg", "ignored", "kid", "eab-1",
	    "url", "https://127.0.0.1/acme/new-account");
	assert_int_equal(anvil_jws_sign_hmac(mac_key, 32, prot,
	    (const uint8_t *)"{\"k\":1}", 7, &body), 0);
	jws = parse(body, 0);
	assert_string_equal(jws->alg, "HS256");
	assert_string_equal(jws->kid, "eab-1");
	assert_int_equal(jws->sig_len, 32);
	assert_int_equal(anvil_jws_verify_hmac(jws, mac_key, 32), 0);
	assert_int_equal(anvil_jws_verify_hmac(jws, mac_key, 31), ANVIL_ESIG);
	assert_int_equal(anvil_jws_verify_hmac(jws, mac_key, 0),
	    ANVIL_EINVAL);
	anvil_jws_free(jws);

	/* Tampered MAC. */
	p = strstr(body, "\"signature\":\"");
	assert_non_null(p);
	p += strlen("\"signature\":\"");
	*p = *p == 'A' ? 'B' : 'A';
	jws = parse(body, 0);
	assert_int_equal(anvil_jws_verify_hmac(jws, mac_key, 32), ANVIL_ESIG);
	anvil_jws_free(jws);
	free(body);
	json_decref(prot);

	/* An asymmetric JWS is not an HMAC one. */
	jws = parse(flat(A3_HEADER, RFC7515_PAYLOAD, A3_SIG), 0);
	assert_int_equal(anvil_jws_verify_hmac(jws, mac_key, 32), ANVIL_EALG);
	anvil_jws_free(jws);
}

/* Signs payload with pkey (protected header {"nonce":"n"}), parses it. */
static struct anvil_jws *
signed_jws(EVP_PKEY *pkey, const char *payload)
{
	struct anvil_jws	*jws;
	json_t			*prot;
	char			*body = NULL;

	prot = json_pack("{s:s}", "nonce", "n");
	assert_non_null(prot);
	assert_int_equal(anvil_jws_sign(pkey, prot, (const uint8_t *)payload,
	    strlen(payload), &body), 0);
	jws = parse(body, 0);
	free(body);
	json_decref(prot);
	return jws;
}

/*
 * A key keeps its verification contexts: failures of every kind in
 * between must not change the outcome of the next verification, with
 * the same key object, for every key type.
 */
static void
test_verify_reuse(void **state)
{
	static const enum anvil_key_type types[] = { ANVIL_KEY_EC256,
	    ANVIL_KEY_EC384, ANVIL_KEY_RSA2048, ANVIL_KEY_ED25519 };
	struct anvil_jwk	*k = NULL, *ok = NULL;
	struct anvil_jws	*good, *other, *bad, t;
	EVP_PKEY		*pkey = NULL, *opkey = NULL;
	uint8_t			*sig;
	size_t			 i;
	int			 round;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(anvil_key_generate(types[i], &pkey), 0);
		assert_int_equal(anvil_key_generate(types[i], &opkey), 0);
		assert_int_equal(anvil_jwk_from_pkey(pkey, &k), 0);
		assert_int_equal(anvil_jwk_from_pkey(opkey, &ok), 0);
		good = signed_jws(pkey, "{\"a\":1}");
		/* The same payload and header signed by another key. */
		other = signed_jws(opkey, "{\"a\":1}");
		bad = signed_jws(pkey, "{\"a\":1}");
		bad->sig[bad->sig_len / 2] ^= 0x01;
		for (round = 0; round < 3; round++) {
			assert_int_equal(anvil_jws_verify(good, k), 0);
			assert_int_equal(anvil_jws_verify(other, k),
			    ANVIL_ESIG);
			assert_int_equal(anvil_jws_verify(other, ok), 0);
			assert_int_equal(anvil_jws_verify(bad, k), ANVIL_ESIG);
			assert_int_equal(anvil_jws_verify(good, k), 0);
			/* One byte short, one byte long (a copy). */
			t = *good;
			t.sig_len = good->sig_len - 1;
			assert_int_equal(anvil_jws_verify(&t, k), ANVIL_ESIG);
			sig = malloc(good->sig_len + 1);
			assert_non_null(sig);
			memcpy(sig, good->sig, good->sig_len);
			sig[good->sig_len] = 0;
			t.sig = sig;
			t.sig_len = good->sig_len + 1;
			assert_int_equal(anvil_jws_verify(&t, k), ANVIL_ESIG);
			free(sig);
			/* Another alg in the header. */
			t = *good;
			t.alg = types[i] == ANVIL_KEY_EC256 ? "ES384" : "ES256";
			assert_int_equal(anvil_jws_verify(&t, k), ANVIL_EALG);
			/* The signing input changed. */
			t = *good;
			t.signing_input_len--;
			assert_int_equal(anvil_jws_verify(&t, k), ANVIL_ESIG);
			assert_int_equal(anvil_jws_verify(good, k), 0);
		}
		anvil_jws_free(good);
		anvil_jws_free(other);
		anvil_jws_free(bad);
		anvil_jwk_free(k);
		anvil_jwk_free(ok);
		EVP_PKEY_free(pkey);
		EVP_PKEY_free(opkey);
	}
}

/*
 * Raw R||S to DER: R and S with leading zero bytes (shorter INTEGERs)
 * and with the top bit set (a zero byte first) must all verify.  Each
 * signature has R or S with a leading zero byte with probability ~1/128:
 * 2048 signatures miss every such case with probability ~1e-7.
 */
static void
test_verify_der_shapes(void **state)
{
	struct anvil_jwk	*k = NULL;
	struct anvil_jws	*jws;
	EVP_PKEY		*pkey = NULL;
	char			 payload[32];
	int			 i, lead_zero = 0, top_bit = 0;

	(void)state;
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &pkey), 0);
	assert_int_equal(anvil_jwk_from_pkey(pkey, &k), 0);
	for (i = 0; i < 2048; i++) {
		snprintf(payload, sizeof(payload), "{\"i\":%d}", i);
		jws = signed_jws(pkey, payload);
		assert_int_equal(jws->sig_len, 64);
		if (jws->sig[0] == 0 || jws->sig[32] == 0)
			lead_zero++;
		if ((jws->sig[0] & 0x80) != 0 || (jws->sig[32] & 0x80) != 0)
			top_bit++;
		assert_int_equal(anvil_jws_verify(jws, k), 0);
		anvil_jws_free(jws);
	}
	assert_true(lead_zero > 0);
	assert_true(top_bit > 0);
	anvil_jwk_free(k);
	EVP_PKEY_free(pkey);
}

/* The signing input and payload_b64 live in the JWS's allocation. */
static void
test_parse_layout(void **state)
{
	struct anvil_jws	*jws;

	(void)state;
	jws = parse(flat(A3_HEADER, RFC7515_PAYLOAD, A3_SIG), 0);
	assert_int_equal(jws->signing_input_len,
	    strlen(A3_HEADER) + 1 + strlen(RFC7515_PAYLOAD));
	assert_int_equal(strlen(jws->signing_input), jws->signing_input_len);
	assert_ptr_equal(jws->payload_b64,
	    jws->signing_input + strlen(A3_HEADER) + 1);
	assert_int_equal(jws->sig_len, 64);
	anvil_jws_free(jws);
	/* Empty payload (POST-as-GET): the input ends with the dot. */
	jws = parse(flat(A3_HEADER, "", A3_SIG), 0);
	assert_string_equal(jws->signing_input, A3_HEADER ".");
	assert_string_equal(jws->payload_b64, "");
	assert_int_equal(jws->payload_len, 0);
	assert_non_null(jws->payload);
	anvil_jws_free(jws);
	/* Bad base64url in any of the three. */
	parse(flat(A3_HEADER "=", RFC7515_PAYLOAD, A3_SIG), ANVIL_EJWS);
	parse(flat(A3_HEADER, RFC7515_PAYLOAD "+", A3_SIG), ANVIL_EJWS);
	parse(flat(A3_HEADER, RFC7515_PAYLOAD, A3_SIG "*"), ANVIL_EJWS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_verify_invalid),
		cmocka_unit_test(test_rfc_vectors),
		cmocka_unit_test(test_sign_rfc8037),
		cmocka_unit_test(test_sign_roundtrip),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_verify_reuse),
		cmocka_unit_test(test_verify_der_shapes),
		cmocka_unit_test(test_parse_layout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
