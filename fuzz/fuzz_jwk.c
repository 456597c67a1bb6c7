/*
 * fuzz_jwk.c - JSON Web Keys from untrusted JSON (anvil/jwk.h), as in a
 * newAccount request's "jwk" header.
 *
 * Asserts for every key accepted: the thumbprint is 43 base64url
 * characters and is the SHA-256 of the compact dump of anvil_jwk_to_json
 * (RFC 7638 §3); that JSON builds an equal key with the same thumbprint;
 * the EVP_PKEY builds an equal key too (anvil_jwk_from_pkey); the alg
 * matches the key type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "anvil/b64.h"
#include "anvil/error.h"
#include "anvil/json.h"
#include "anvil/jwk.h"
#include "fuzz.h"

static const char *const algs[ANVIL_KTY__MAX] = {
	[ANVIL_KTY_EC_P256] = "ES256",
	[ANVIL_KTY_EC_P384] = "ES384",
	[ANVIL_KTY_RSA] = "RS256",
	[ANVIL_KTY_ED25519] = "EdDSA",
};

/* Checks the thumbprint against the dump of the key's JSON. */
static void
check_thumbprint(const struct anvil_jwk *k, const json_t *pub)
{
	const char	*thumb;
	uint8_t		 md[32];
	unsigned int	 mdlen = 0;
	char		*text = NULL, b64[ANVIL_THUMBPRINT_LEN + 1];
	size_t		 len = 0, i;

	thumb = anvil_jwk_thumbprint(k);
	FUZZ_CHECK(thumb != NULL && strlen(thumb) == ANVIL_THUMBPRINT_LEN);
	for (i = 0; i < ANVIL_THUMBPRINT_LEN; i++)
		FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789-_", thumb[i]) != NULL);
	if (anvil_json_dump(pub, &text, &len) != 0)
		return;
	if (EVP_Digest(text, len, md, &mdlen, EVP_sha256(), NULL) == 1) {
		FUZZ_CHECK(mdlen == sizeof(md));
		anvil_b64url_encode_to(b64, md, sizeof(md));
		FUZZ_CHECK(strcmp(b64, thumb) == 0);
	}
	free(text);
}

/* The public JSON and the EVP_PKEY both give the same key back. */
static void
check_round_trip(const struct anvil_jwk *k)
{
	struct anvil_jwk	*k2 = NULL, *k3 = NULL;
	json_t			*pub;
	int			 rc;

	pub = anvil_jwk_to_json(k);
	if (pub == NULL)
		return;		/* allocation failure */
	check_thumbprint(k, pub);
	rc = anvil_jwk_from_json(pub, &k2);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_ENOMEM);
	if (rc == 0) {
		FUZZ_CHECK(anvil_jwk_equal(k, k2));
		FUZZ_CHECK(anvil_jwk_kty(k2) == anvil_jwk_kty(k));
		FUZZ_CHECK(strcmp(anvil_jwk_thumbprint(k),
		    anvil_jwk_thumbprint(k2)) == 0);
	}
	rc = anvil_jwk_from_pkey(anvil_jwk_pkey(k), &k3);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_ENOMEM);
	if (rc == 0) {
		FUZZ_CHECK(anvil_jwk_equal(k, k3));
		FUZZ_CHECK(strcmp(anvil_jwk_thumbprint(k),
		    anvil_jwk_thumbprint(k3)) == 0);
	}
	anvil_jwk_free(k3);
	anvil_jwk_free(k2);
	json_decref(pub);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct anvil_jwk	*k = NULL;
	json_t			*v = NULL;
	enum anvil_kty		 kty;
	int			 rc;

	if (size > 64 * 1024)
		return 0;
	if (anvil_json_parse_object((const char *)data, size, &v) != 0)
		return 0;
	rc = anvil_jwk_from_json(v, &k);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_EJWK || rc == ANVIL_ENOMEM);
	if (rc == 0) {
		/* A private member is refused, never dropped. */
		FUZZ_CHECK(json_object_get(v, "d") == NULL);
		kty = anvil_jwk_kty(k);
		FUZZ_CHECK((unsigned)kty < ANVIL_KTY__MAX);
		FUZZ_CHECK(strcmp(anvil_jwk_alg(k), algs[kty]) == 0);
		FUZZ_CHECK(anvil_jwk_pkey(k) != NULL);
		FUZZ_CHECK(anvil_jwk_equal(k, k));
		check_round_trip(k);
	}
	anvil_jwk_free(k);
	json_decref(v);
	return 0;
}
