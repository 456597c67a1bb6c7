/*
 * internal.h - helpers shared between libanvil source files; not public.
 */
#ifndef ANVIL_INTERNAL_H
#define ANVIL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "anvil/jwk.h"

/*
 * Writes data to a new temporary file next to path, created with mode,
 * fsyncs it, renames it to path (refusing to replace an existing path when
 * overwrite is 0) and fsyncs the directory.  Returns 0, ANVIL_EEXIST,
 * ANVIL_EINVAL, or a negative errno.
 */
int	anvil__file_write(const char *path, const void *data, size_t len,
	    unsigned mode, int overwrite);

/* Decodes member key of obj as strict base64url into a new buffer
 * (free()).  Returns 0, ANVIL_ENOENT if absent, ANVIL_EINVAL if not a
 * string, ANVIL_EBASE64, ANVIL_ENOMEM. */
/* The fast path of anvil_json_parse (json_read.c): the value, or NULL
 * when the text is not one it reads (then Jansson decides). */
json_t	*anvil__json_read_simple(const char *p, size_t len);

int	anvil__json_b64(const json_t *obj, const char *key, uint8_t **ret,
	    size_t *ret_len);

/*
 * Classifies a public or private key as one of the JWK types we support
 * (RSA between ANVIL_MIN_RSA_BITS and ANVIL_MAX_RSA_BITS).  Returns 0 and
 * sets *ret, or ANVIL_EKEY.
 */
int	anvil__pkey_kty(EVP_PKEY *pkey, enum anvil_kty *ret);

/* The JWS alg a key type signs with ("ES256", ...), NULL if out of range. */
const char *anvil__kty_alg(enum anvil_kty kty);

/* The digest to sign certificates and CSRs with: SHA-256, or NULL for
 * EdDSA keys, which hash internally. */
const EVP_MD *anvil__pkey_md(EVP_PKEY *pkey);

#endif
