/*
 * test_b64.c - unit tests for strict base64url (lib/b64.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "anvil/anvil.h"

static void
reject(const char *s)
{
	uint8_t	*out = NULL;
	size_t	 len = 12345;

	assert_int_equal(anvil_b64url_decode(s, strlen(s), &out, &len),
	    ANVIL_EBASE64);
	assert_null(out);
	assert_int_equal(len, 12345);
}

static void
test_invalid(void **state)
{
	uint8_t	*out = NULL;
	size_t	 len;

	(void)state;
	reject("Zg==");		/* padding */
	reject("Zg=");
	reject("Zm9v YmFy");	/* whitespace */
	reject("Zm9v\nYmFy");
	reject("Zm9vYmFy\n");
	reject("+/8");		/* plain base64 alphabet */
	reject("a+b/");
	reject("Z");		/* length 1 mod 4 */
	reject("Zm9vY");
	reject("Zh");		/* "f" with non-zero unused bits */
	reject("Zm9");		/* "fo" is Zm8 */
	reject("Zm9vYmF");	/* "fooba" is Zm9vYmE */
	reject("_w-");		/* low bits of '-' are 10 */
	reject("\xc3\xa9\xc3\xa9");	/* non-ASCII */
	/* An embedded NUL within the given length. */
	assert_int_equal(anvil_b64url_decode("Zm\0v", 4, &out, &len),
	    ANVIL_EBASE64);
}

static void
roundtrip(const char *plain, const char *enc)
{
	uint8_t	*out = NULL;
	char	*s = NULL, buf[64];
	size_t	 len = 0, n;

	n = strlen(plain);
	assert_int_equal(anvil_b64url_len(n), strlen(enc));
	assert_int_equal(anvil_b64url_encode_to(buf, (const uint8_t *)plain,
	    n), strlen(enc));
	assert_string_equal(buf, enc);
	assert_int_equal(anvil_b64url_encode((const uint8_t *)plain, n, &s),
	    0);
	assert_string_equal(s, enc);
	free(s);
	assert_int_equal(anvil_b64url_decode(enc, strlen(enc), &out, &len),
	    0);
	assert_int_equal(len, n);
	assert_memory_equal(out, plain, n);
	assert_int_equal(out[len], '\0');
	free(out);
}

/* RFC 4648 §10 vectors, without the padding base64url omits. */
static void
test_rfc4648(void **state)
{
	(void)state;
	roundtrip("", "");
	roundtrip("f", "Zg");
	roundtrip("fo", "Zm8");
	roundtrip("foo", "Zm9v");
	roundtrip("foob", "Zm9vYg");
	roundtrip("fooba", "Zm9vYmE");
	roundtrip("foobar", "Zm9vYmFy");
}

/* The URL-safe alphabet: bytes that need '-' and '_'. */
static void
test_alphabet(void **state)
{
	static const uint8_t	 bin[] = { 0xfb, 0xff, 0xbf, 0xfe };
	uint8_t			*out = NULL, all[256];
	char			*s = NULL;
	size_t			 len, i;

	(void)state;
	assert_int_equal(anvil_b64url_encode(bin, sizeof(bin), &s), 0);
	assert_string_equal(s, "-_-__g");
	assert_int_equal(anvil_b64url_decode(s, strlen(s), &out, &len), 0);
	assert_int_equal(len, sizeof(bin));
	assert_memory_equal(out, bin, sizeof(bin));
	free(out);
	free(s);

	/* RFC 7515 Appendix C example. */
	{
		static const uint8_t c[] = { 3, 236, 255, 224, 193 };

		assert_int_equal(anvil_b64url_encode(c, sizeof(c), &s), 0);
		assert_string_equal(s, "A-z_4ME");
		free(s);
	}

	for (i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)i;
	assert_int_equal(anvil_b64url_encode(all, sizeof(all), &s), 0);
	assert_int_equal(strlen(s), anvil_b64url_len(sizeof(all)));
	assert_int_equal(anvil_b64url_decode(s, strlen(s), &out, &len), 0);
	assert_int_equal(len, sizeof(all));
	assert_memory_equal(out, all, sizeof(all));
	free(out);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_rfc4648),
		cmocka_unit_test(test_alphabet),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
