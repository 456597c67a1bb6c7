/*
 * b64.c - strict base64url without padding (RFC 4648 §5).
 *
 * The decoder accepts exactly one spelling per byte string: anything a
 * lenient decoder would silently fix (padding, whitespace, the '+' and '/'
 * of plain base64, non-zero unused bits) is an error, so two different
 * strings never verify as the same JWS input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/b64.h"
#include "anvil/error.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
anvil_b64url_len(size_t n)
{
	return n / 3 * 4 + (n % 3 == 0 ? 0 : n % 3 + 1);
}

size_t
anvil_b64url_encode_to(char *out, const uint8_t *in, size_t n)
{
	size_t		 i, o = 0;
	uint32_t	 v;

	for (i = 0; i + 3 <= n; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
		out[o++] = alphabet[v & 0x3f];
	}
	if (n - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
	} else if (n - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18 & 0x3f];
		out[o++] = alphabet[v >> 12 & 0x3f];
		out[o++] = alphabet[v >> 6 & 0x3f];
	}
	out[o] = '\0';
	return o;
}

int
anvil_b64url_encode(const uint8_t *in, size_t n, char **ret_out)
{
	char	*out;

	if (n > (SIZE_MAX - 4) / 4 * 3)
		return ANVIL_ENOMEM;
	out = malloc(anvil_b64url_len(n) + 1);
	if (out == NULL)
		return ANVIL_ENOMEM;
	(void)anvil_b64url_encode_to(out, in, n);
	*ret_out = out;
	return 0;
}

/* The 6-bit value of each byte, -1 for those not in the alphabet. */
static const int8_t values[256] = {
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 62, -1, -1,
	52, 53, 54, 55, 56, 57, 58, 59, 60, 61, -1, -1, -1, -1, -1, -1,
	-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
	15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, -1, -1, -1, -1, 63,
	-1, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
	-1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
};

int
anvil_b64url_decode(const char *in, size_t len, uint8_t **ret_out,
    size_t *ret_len)
{
	uint8_t		*out = NULL;
	size_t		 i, o = 0, outlen;
	uint32_t	 acc = 0;
	int		 v, bits = 0, rc = ANVIL_EBASE64;

	/* A single leftover character carries only 6 bits: never a byte. */
	if (len % 4 == 1)
		goto out;
	outlen = len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1);
	out = malloc(outlen + 1);
	if (out == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	/* Four characters, three bytes at a time: a character outside the
	 * alphabet makes its value negative, and so the OR of the four. */
	for (i = 0; i + 4 <= len; i += 4) {
		v = values[(unsigned char)in[i]] |
		    values[(unsigned char)in[i + 1]] |
		    values[(unsigned char)in[i + 2]] |
		    values[(unsigned char)in[i + 3]];
		if (v < 0)
			goto out;
		acc = (uint32_t)values[(unsigned char)in[i]] << 18 |
		    (uint32_t)values[(unsigned char)in[i + 1]] << 12 |
		    (uint32_t)values[(unsigned char)in[i + 2]] << 6 |
		    (uint32_t)values[(unsigned char)in[i + 3]];
		out[o++] = (uint8_t)(acc >> 16);
		out[o++] = (uint8_t)(acc >> 8);
		out[o++] = (uint8_t)acc;
	}
	/* The last two or three characters: one or two bytes. */
	acc = 0;
	for (; i < len; i++) {
		v = values[(unsigned char)in[i]];
		if (v < 0)
			goto out;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* The unused low bits of the last character must be zero. */
	if (acc != 0)
		goto out;
	out[o] = '\0';
	*ret_out = out;
	*ret_len = o;
	out = NULL;
	rc = 0;
out:
	free(out);
	return rc;
}
