/*
 * jwk.h - public JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037) and their
 * thumbprints (RFC 7638).
 *
 * Supported: EC P-256 and P-384, RSA 2048 to 4096 bits, OKP Ed25519.
 * A JWK is built from its parameters (not from DER: OpenSSL 3.0 builds a key
 * from parameters about six times faster than it decodes SubjectPublicKeyInfo).
 */
#ifndef ANVIL_JWK_H
#define ANVIL_JWK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "anvil/common.h"

enum anvil_kty {
	ANVIL_KTY_EC_P256,
	ANVIL_KTY_EC_P384,
	ANVIL_KTY_RSA,
	ANVIL_KTY_ED25519,
	ANVIL_KTY__MAX
};

/* base64url SHA-256 thumbprint: 43 characters and a NUL */
#define ANVIL_THUMBPRINT_LEN 43

struct anvil_jwk;	/* opaque */

/*
 * Builds a key from a JWK object.  Rejects: unknown kty or crv, missing or
 * non-string members, non-canonical base64url, points not on the curve,
 * coordinates of the wrong length, RSA moduli outside 2048..4096 bits or
 * with an even or tiny exponent, and any private member ("d", "p", ...).
 * Returns 0 and a new key in *ret, or ANVIL_EJWK / ANVIL_ENOMEM.
 */
ANVIL_API int anvil_jwk_from_json(const json_t *jwk, struct anvil_jwk **ret)
    ANVIL_MUSTCHECK;

/* Wraps a public or private key of a supported type (takes its own
 * reference on pkey).  Returns 0, ANVIL_EKEY for an unsupported key, or
 * ANVIL_ENOMEM. */
ANVIL_API int anvil_jwk_from_pkey(EVP_PKEY *pkey, struct anvil_jwk **ret)
    ANVIL_MUSTCHECK;

/* Returns a new JSON object with the public members only, in the order of
 * RFC 7638 (so its compact dump is the thumbprint input). */
ANVIL_API json_t *anvil_jwk_to_json(const struct anvil_jwk *k);

/* The thumbprint, computed once when the key was built.  Borrowed. */
ANVIL_API const char *anvil_jwk_thumbprint(const struct anvil_jwk *k);

ANVIL_API enum anvil_kty anvil_jwk_kty(const struct anvil_jwk *k);

/* The key (borrowed; valid while k lives). */
ANVIL_API EVP_PKEY *anvil_jwk_pkey(const struct anvil_jwk *k);

/* The JWS alg this key signs with: "ES256", "ES384", "RS256", "EdDSA". */
ANVIL_API const char *anvil_jwk_alg(const struct anvil_jwk *k);

/*
 * Verifies sig over msg with the key, sig in OpenSSL's encoding: a DER
 * ECDSA-Sig-Value (EC, with SHA-256 for P-256, SHA-384 for P-384),
 * PKCS #1 v1.5 with SHA-256 (RSA), or the 64 bytes of Ed25519.  JWS
 * callers want anvil_jws_verify, which also checks the alg and converts
 * the raw R||S of ES256/ES384.  Returns 0, ANVIL_ESIG, ANVIL_ENOMEM or
 * ANVIL_ECRYPTO.
 *
 * An EC or RSA key keeps its verification contexts (made once, when it is
 * built): verifications with one key must not run in several threads at
 * the same time (different keys may).
 */
ANVIL_API int anvil_jwk_verify(const struct anvil_jwk *k, const uint8_t *sig,
    size_t siglen, const uint8_t *msg, size_t msglen) ANVIL_MUSTCHECK;

/* True when k is an EC key whose point, uncompressed (0x04 || x || y,
 * as in a SubjectPublicKeyInfo), is pt. */
ANVIL_API bool anvil_jwk_ec_point_is(const struct anvil_jwk *k,
    const uint8_t *pt, size_t len);

/* True when both are the same public key. */
ANVIL_API bool anvil_jwk_equal(const struct anvil_jwk *a,
    const struct anvil_jwk *b);

/*
 * Takes one more reference on k and returns k (NULL stays NULL): a key
 * lent to another thread outlives its owner's anvil_jwk_free.  The count
 * is atomic; anything else about sharing a key still holds (see
 * anvil_jwk_verify).
 */
ANVIL_API struct anvil_jwk *anvil_jwk_ref(struct anvil_jwk *k);

/* Drops a reference on k, freeing it with the last; accepts NULL. */
ANVIL_API void anvil_jwk_free(struct anvil_jwk *k);

#endif
