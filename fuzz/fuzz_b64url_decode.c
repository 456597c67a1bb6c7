/*
 * fuzz_b64url_decode.c - strict base64url (anvil/b64.h).
 *
 * Asserts both directions of "one spelling per byte string": an input
 * that decodes re-encodes to exactly itself, with the length the
 * encoding rules give; and any bytes, encoded, decode back to themselves.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/b64.h"
#include "anvil/error.h"
#include "fuzz.h"

/* The input as text: decode, and re-encode what decoded. */
static void
as_text(const uint8_t *data, size_t size)
{
	uint8_t	*out = NULL;
	char	*again = NULL;
	size_t	 len = 0;
	int	 rc;

	rc = anvil_b64url_decode((const char *)data, size, &out, &len);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_EBASE64 || rc == ANVIL_ENOMEM);
	if (rc != 0)
		return;
	FUZZ_CHECK(size % 4 != 1);
	FUZZ_CHECK(anvil_b64url_len(len) == size);
	FUZZ_CHECK(out[len] == '\0');
	rc = anvil_b64url_encode(out, len, &again);
	if (rc == 0) {
		FUZZ_CHECK(strlen(again) == size);
		FUZZ_CHECK(memcmp(again, data, size) == 0);
	}
	free(again);
	free(out);
}

/* The input as bytes: encode, then decode back. */
static void
as_bytes(const uint8_t *data, size_t size)
{
	uint8_t	*back = NULL;
	char	*enc = NULL;
	size_t	 i, len = 0;

	if (anvil_b64url_encode(data, size, &enc) != 0)
		return;
	FUZZ_CHECK(strlen(enc) == anvil_b64url_len(size));
	for (i = 0; enc[i] != '\0'; i++)
		FUZZ_CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		    "opqrstuvwxyz0123456789-_", enc[i]) != NULL);
	if (anvil_b64url_decode(enc, strlen(enc), &back, &len) == 0) {
		FUZZ_CHECK(len == size);
		FUZZ_CHECK(size == 0 || memcmp(back, data, size) == 0);
	} else
		FUZZ_CHECK(!"a fresh encoding failed to decode");
	free(back);
	free(enc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Bound the work per input: decoding is linear anyway. */
	if (size > 64 * 1024)
		return 0;
	as_text(data, size);
	as_bytes(data, size);
	return 0;
}
