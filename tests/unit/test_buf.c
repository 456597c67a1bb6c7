/*
 * test_buf.c - unit tests for the bounded byte buffer (lib/buf.c).
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
test_over_max(void **state)
{
	struct anvil_buf	 b;

	(void)state;
	anvil_buf_init(&b, 8);
	assert_int_equal(anvil_buf_add(&b, "12345", 5), 0);
	/* Past the maximum: refused, and the buffer is unchanged. */
	assert_int_equal(anvil_buf_add(&b, "6789", 4), ANVIL_E2BIG);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.data, "12345");
	assert_int_equal(anvil_buf_addf(&b, "%d", 1234), ANVIL_E2BIG);
	assert_string_equal(b.data, "12345");
	assert_int_equal(anvil_buf_adds(&b, "678"), 0);
	assert_int_equal(b.len, 8);
	assert_int_equal(anvil_buf_add(&b, "x", 1), ANVIL_E2BIG);
	assert_true(b.cap <= 9);
	anvil_buf_free(&b);
	assert_null(b.data);
}

static void
test_max_zero(void **state)
{
	struct anvil_buf	 b;
	char			*s;
	size_t			 len = 99;

	(void)state;
	anvil_buf_init(&b, 0);
	assert_int_equal(anvil_buf_add(&b, "a", 1), ANVIL_E2BIG);
	assert_int_equal(anvil_buf_add(&b, "", 0), 0);
	s = anvil_buf_take(&b, &len);
	assert_non_null(s);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	anvil_buf_free(&b);
}

static void
test_add_take(void **state)
{
	struct anvil_buf	 b;
	char			*s;
	size_t			 len = 0, i;

	(void)state;
	anvil_buf_init(&b, 100000);
	/* Take on a never-used buffer gives "". */
	s = anvil_buf_take(&b, NULL);
	assert_string_equal(s, "");
	free(s);

	for (i = 0; i < 1000; i++)
		assert_int_equal(anvil_buf_addf(&b, "%03zu,", i), 0);
	assert_int_equal(b.len, 4000);
	assert_int_equal(strlen(b.data), 4000);
	assert_memory_equal(b.data + 3996, "999,", 4);
	/* Binary data with a NUL inside is kept. */
	assert_int_equal(anvil_buf_add(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 4003);
	assert_int_equal(b.data[4001], '\0');
	assert_int_equal(b.data[4003], '\0');

	s = anvil_buf_take(&b, &len);
	assert_int_equal(len, 4003);
	assert_memory_equal(s, "000,001,", 8);
	free(s);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	/* Reusable after take. */
	assert_int_equal(anvil_buf_adds(&b, "again"), 0);
	assert_string_equal(b.data, "again");
	anvil_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.data, "");
	anvil_buf_free(&b);
	anvil_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_over_max),
		cmocka_unit_test(test_max_zero),
		cmocka_unit_test(test_add_take),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
