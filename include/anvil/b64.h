/*
 * b64.h - base64url without padding (RFC 4648 §5, RFC 7515 Appendix C).
 *
 * Decoding is strict: no padding, no whitespace, no character outside the
 * alphabet, no length of 1 modulo 4, and the unused low bits of the last
 * character must be zero (so every byte string has exactly one encoding).
 */
#ifndef ANVIL_B64_H
#define ANVIL_B64_H

#include <stddef.h>
#include <stdint.h>

#include "anvil/common.h"

/* Number of characters anvil_b64url_encode writes for n bytes (no NUL). */
ANVIL_API size_t anvil_b64url_len(size_t n);

/*
 * Encodes n bytes into out, which must have room for anvil_b64url_len(n)
 * characters plus a NUL.  Returns the number of characters written.
 */
ANVIL_API size_t anvil_b64url_encode_to(char *out, const uint8_t *in, size_t n);

/* Encodes into a new NUL-terminated string in *ret_out (free()).
 * Returns 0 or ANVIL_ENOMEM. */
ANVIL_API int anvil_b64url_encode(const uint8_t *in, size_t n, char **ret_out)
    ANVIL_MUSTCHECK;

/*
 * Decodes len characters into a new buffer *ret_out (free(); it is also
 * NUL-terminated for convenience, not counted in *ret_len).
 * Returns 0, ANVIL_EBASE64 on any non-canonical input, or ANVIL_ENOMEM.
 * An empty input decodes to an empty buffer.
 */
ANVIL_API int anvil_b64url_decode(const char *in, size_t len,
    uint8_t **ret_out, size_t *ret_len) ANVIL_MUSTCHECK;

#endif
