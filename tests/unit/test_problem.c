/*
 * test_problem.c - unit tests for the ACME problem table and error
 * messages (lib/problem.c, lib/error.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "anvil/anvil.h"

static void
test_invalid(void **state)
{
	(void)state;
	assert_null(anvil_problem_name(ANVIL_PROB__MAX));
	assert_null(anvil_problem_name((enum anvil_problem)-1));
	assert_int_equal(anvil_problem_status(ANVIL_PROB__MAX), 400);
	assert_int_equal(anvil_problem_parse(NULL), ANVIL_PROB__MAX);
	assert_int_equal(anvil_problem_parse("badNonce"), ANVIL_PROB__MAX);
	assert_int_equal(anvil_problem_parse(
	    "urn:ietf:params:acme:error:"), ANVIL_PROB__MAX);
	assert_int_equal(anvil_problem_parse(
	    "urn:ietf:params:acme:error:badnonce"), ANVIL_PROB__MAX);
	assert_int_equal(anvil_problem_parse(
	    "urn:ietf:params:acme:error:badNonce "), ANVIL_PROB__MAX);
	assert_int_equal(anvil_problem_parse(
	    "about:blank"), ANVIL_PROB__MAX);
}

static void
test_table(void **state)
{
	char	 urn[128];
	int	 i;

	(void)state;
	assert_string_equal(anvil_problem_name(ANVIL_PROB_BAD_NONCE),
	    "badNonce");
	assert_int_equal(anvil_problem_status(ANVIL_PROB_RATE_LIMITED), 429);
	assert_int_equal(anvil_problem_status(ANVIL_PROB_SERVER_INTERNAL),
	    500);
	assert_int_equal(anvil_problem_status(ANVIL_PROB_UNAUTHORIZED), 403);
	assert_int_equal(anvil_problem_parse(
	    "urn:ietf:params:acme:error:badSignatureAlgorithm"),
	    ANVIL_PROB_BAD_SIGNATURE_ALGORITHM);
	/* Every row round-trips through its URN. */
	for (i = 0; i < ANVIL_PROB__MAX; i++) {
		assert_non_null(anvil_problem_name(i));
		strcpy(urn, ANVIL_PROBLEM_NS);
		strcat(urn, anvil_problem_name(i));
		assert_int_equal(anvil_problem_parse(urn), i);
	}
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(anvil_strerror(ANVIL_ESIG),
	    "signature does not verify");
	assert_string_equal(anvil_strerror(ANVIL_ENOENT),
	    strerror(ENOENT));
	assert_string_equal(anvil_strerror(ANVIL_E__MIN), "unknown error");
	assert_string_equal(anvil_strerror(5), "unknown error");
	assert_non_null(anvil_strerror(ANVIL_EDB));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
