/*
 * jws.h - JSON Web Signature in the flattened JSON serialization
 * (RFC 7515 §7.2.2), the only form ACME allows (RFC 8555 §6.2).
 *
 * Algorithms: ES256, ES384 (signature is raw R||S, RFC 7518 §3.4), RS256,
 * EdDSA (Ed25519), and HS256 for external account binding only.
 */
#ifndef ANVIL_JWS_H
#define ANVIL_JWS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "anvil/common.h"
#include "anvil/jwk.h"

struct anvil_jws {
	json_t		*header;	/* decoded protected header; owned */
	const char	*alg;		/* "alg" member; borrowed from header */
	const char	*nonce;		/* "nonce" or NULL; borrowed */
	const char	*url;		/* "url" or NULL; borrowed */
	const char	*kid;		/* "kid" or NULL; borrowed */
	json_t		*jwk;		/* "jwk" object or NULL; borrowed */
	uint8_t		*payload;	/* decoded payload, NUL-terminated; owned */
	size_t		 payload_len;
	char		*payload_b64;	/* payload as sent; borrowed: the
					   end of signing_input */
	char		*signing_input;	/* protected "." payload, NUL-
					   terminated; inside the JWS's
					   own allocation (freed with it) */
	size_t		 signing_input_len;
	uint8_t		*sig;		/* decoded signature; owned */
	size_t		 sig_len;
};

/*
 * Parses a request body in flattened JSON form.  Rejects (ANVIL_EJWS):
 * anything but a JSON object with exactly the members "protected",
 * "payload" and "signature" (so compact form, general form with
 * "signatures" and any unprotected "header" are refused), bad base64url, a
 * protected header that is not a JSON object or lacks a string "alg", a
 * "jwk" that is not an object, a "kid"/"nonce"/"url" that is not a string,
 * and a "crit" member.  It does not check nonce, url, or that exactly one of
 * jwk/kid is present: those are the caller's rules.
 * Returns 0 and a new JWS in *ret (anvil_jws_free), ANVIL_EJWS, ANVIL_ENOMEM.
 */
ANVIL_API int anvil_jws_parse(const char *body, size_t len,
    struct anvil_jws **ret) ANVIL_MUSTCHECK;

/*
 * Verifies the signature with key.  The header's alg must be the one the key
 * signs with (ANVIL_EALG otherwise, also for "none", HS* and unknown algs);
 * a signature of the wrong length or that does not verify is ANVIL_ESIG.
 */
ANVIL_API int anvil_jws_verify(const struct anvil_jws *jws,
    const struct anvil_jwk *key) ANVIL_MUSTCHECK;

/* Verifies an HS256 JWS (external account binding) with a MAC key, in
 * constant time.  Returns 0, ANVIL_EALG, ANVIL_ESIG, or ANVIL_EINVAL for
 * an empty key. */
ANVIL_API int anvil_jws_verify_hmac(const struct anvil_jws *jws,
    const uint8_t *key, size_t key_len) ANVIL_MUSTCHECK;

/* True when the algorithm name is one anvil_jws_verify can accept. */
ANVIL_API bool anvil_jws_alg_supported(const char *alg);

/*
 * Signs payload (may be empty: POST-as-GET) with key, producing a flattened
 * JWS body in *ret_body (free()).  protected is the header without "alg":
 * the alg for the key is added to a copy; the caller puts nonce, url and
 * jwk or kid in it.  Returns 0, ANVIL_EKEY, ANVIL_ECRYPTO, ANVIL_ENOMEM.
 */
ANVIL_API int anvil_jws_sign(EVP_PKEY *key, const json_t *protected,
    const uint8_t *payload, size_t payload_len, char **ret_body)
    ANVIL_MUSTCHECK;

/* Same with HS256 and a MAC key (external account binding, RFC 8555 §7.3.4). */
ANVIL_API int anvil_jws_sign_hmac(const uint8_t *key, size_t key_len,
    const json_t *protected, const uint8_t *payload, size_t payload_len,
    char **ret_body) ANVIL_MUSTCHECK;

/* Frees jws; accepts NULL. */
ANVIL_API void anvil_jws_free(struct anvil_jws *jws);

#endif
