/*
 * fuzz_jws.c - flattened JWS request bodies (anvil/jws.h), the first thing
 * the server parses in every ACME POST.
 *
 * Asserts for every body parsed: the fields agree with the protected
 * header and with each other (signing input = protected "." payload, the
 * payload is the decoding of the sent payload, no "crit").  Then verifies
 * against a fixed P-256 key (RFC 7515 A.3), a fixed HS256 key (RFC 7515
 * A.1) and the header's own "jwk" if any; a signature that verifies must
 * use the key's alg, have the right length, and stop verifying when one
 * byte of the signing input changes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "anvil/b64.h"
#include "anvil/error.h"
#include "anvil/json.h"
#include "anvil/jwk.h"
#include "anvil/jws.h"
#include "fuzz.h"

/* RFC 7515 Appendix A.3 public key. */
static const char rfc7515_a3_jwk[] = "{\"kty\":\"EC\",\"crv\":\"P-256\","
    "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
    "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"}";

/* RFC 7515 Appendix A.1 HMAC key, base64url. */
static const char rfc7515_a1_key[] = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-"
    "EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

static struct anvil_jwk	*fixed_key;
static uint8_t		*mac_key;
static size_t		 mac_key_len;

/* Builds the fixed keys once; they live until exit. */
static void
init_keys(void)
{
	json_t	*v = NULL;

	if (fixed_key != NULL)
		return;
	FUZZ_CHECK(anvil_json_parse_object(rfc7515_a3_jwk,
	    strlen(rfc7515_a3_jwk), &v) == 0);
	FUZZ_CHECK(anvil_jwk_from_json(v, &fixed_key) == 0);
	json_decref(v);
	FUZZ_CHECK(anvil_b64url_decode(rfc7515_a1_key, strlen(rfc7515_a1_key),
	    &mac_key, &mac_key_len) == 0);
}

/* The parsed fields agree with each other. */
static void
check_fields(const struct anvil_jws *jws)
{
	uint8_t		*dec = NULL;
	const char	*dot;
	size_t		 len = 0;

	FUZZ_CHECK(json_is_object(jws->header));
	FUZZ_CHECK(jws->alg != NULL);
	FUZZ_CHECK(jws->alg == anvil_json_str(jws->header, "alg"));
	FUZZ_CHECK(jws->kid == anvil_json_str(jws->header, "kid"));
	FUZZ_CHECK(jws->nonce == anvil_json_str(jws->header, "nonce"));
	FUZZ_CHECK(jws->url == anvil_json_str(jws->header, "url"));
	FUZZ_CHECK(jws->jwk == NULL || json_is_object(jws->jwk));
	FUZZ_CHECK(json_object_get(jws->header, "crit") == NULL);
	FUZZ_CHECK(jws->payload != NULL && jws->payload[jws->payload_len] ==
	    '\0');
	FUZZ_CHECK(jws->sig != NULL || jws->sig_len == 0);
	FUZZ_CHECK(strlen(jws->signing_input) == jws->signing_input_len);
	/* base64url has no '.', so the first one splits the input. */
	dot = strchr(jws->signing_input, '.');
	FUZZ_CHECK(dot != NULL);
	FUZZ_CHECK(strcmp(dot + 1, jws->payload_b64) == 0);
	FUZZ_CHECK(anvil_b64url_decode(jws->payload_b64,
	    strlen(jws->payload_b64), &dec, &len) == 0);
	FUZZ_CHECK(len == jws->payload_len);
	FUZZ_CHECK(len == 0 || memcmp(dec, jws->payload, len) == 0);
	free(dec);
}

/* A verified JWS with one byte of its signing input changed (a copy; the
 * parsed one is not modified) must not verify.  key NULL means HS256. */
static void
check_tamper(const struct anvil_jws *jws, const struct anvil_jwk *key)
{
	struct anvil_jws	 t;
	char			*input;
	size_t			 pos;

	input = strdup(jws->signing_input);
	if (input == NULL)
		return;
	/* Change a byte chosen by the input, to a different character. */
	pos = jws->signing_input_len > 0 ?
	    jws->sig[0] % jws->signing_input_len : 0;
	if (jws->signing_input_len > 0)
		input[pos] = input[pos] == 'A' ? 'B' : 'A';
	t = *jws;
	t.signing_input = input;
	if (key != NULL)
		FUZZ_CHECK(anvil_jws_verify(&t, key) != 0);
	else
		FUZZ_CHECK(anvil_jws_verify_hmac(&t, mac_key,
		    mac_key_len) != 0);
	free(input);
}

/* Verifies with key; checks what a success implies. */
static void
check_verify(const struct anvil_jws *jws, const struct anvil_jwk *key)
{
	int	 rc;

	rc = anvil_jws_verify(jws, key);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_EALG || rc == ANVIL_ESIG ||
	    rc == ANVIL_ECRYPTO || rc == ANVIL_ENOMEM);
	if (rc != 0) {
		if (strcmp(jws->alg, anvil_jwk_alg(key)) != 0)
			FUZZ_CHECK(rc == ANVIL_EALG);
		return;
	}
	FUZZ_CHECK(strcmp(jws->alg, anvil_jwk_alg(key)) == 0);
	FUZZ_CHECK(anvil_jws_alg_supported(jws->alg));
	FUZZ_CHECK(jws->sig_len > 0);
	switch (anvil_jwk_kty(key)) {
	case ANVIL_KTY_EC_P256:
	case ANVIL_KTY_ED25519:
		FUZZ_CHECK(jws->sig_len == 64);
		break;
	case ANVIL_KTY_EC_P384:
		FUZZ_CHECK(jws->sig_len == 96);
		break;
	default:
		FUZZ_CHECK(jws->sig_len >= 256 && jws->sig_len <= 512);
		break;
	}
	check_tamper(jws, key);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct anvil_jws	*jws = NULL;
	struct anvil_jwk	*hdr_key = NULL;
	int			 rc;

	/* The server reads at most ANVIL_MAX_REQUEST_BODY. */
	if (size > 64 * 1024)
		return 0;
	init_keys();
	rc = anvil_jws_parse((const char *)data, size, &jws);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_EJWS || rc == ANVIL_ENOMEM);
	if (rc != 0)
		return 0;
	check_fields(jws);
	check_verify(jws, fixed_key);
	rc = anvil_jws_verify_hmac(jws, mac_key, mac_key_len);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_EALG || rc == ANVIL_ESIG ||
	    rc == ANVIL_ECRYPTO);
	if (rc == 0) {
		FUZZ_CHECK(strcmp(jws->alg, "HS256") == 0);
		FUZZ_CHECK(jws->sig_len == 32);
		check_tamper(jws, NULL);
	}
	if (jws->jwk != NULL && anvil_jwk_from_json(jws->jwk, &hdr_key) == 0)
		check_verify(jws, hdr_key);
	anvil_jwk_free(hdr_key);
	anvil_jws_free(jws);
	return 0;
}
