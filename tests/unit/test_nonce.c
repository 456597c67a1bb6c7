/*
 * test_nonce.c - anti-replay nonces: each redeems once, forged, stale and
 * foreign ones are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "anvil/error.h"
#include "nonce.h"

static void
test_garbage_refused(void **state)
{
	struct nonce_pool *p = NULL;

	(void)state;
	assert_int_equal(nonce_pool_new(&p), 0);
	assert_int_equal(nonce_redeem(p, NULL), ANVIL_EINVAL);
	assert_int_equal(nonce_redeem(p, ""), ANVIL_EINVAL);
	assert_int_equal(nonce_redeem(p, "not-a-nonce"), ANVIL_EINVAL);
	assert_int_equal(nonce_redeem(p, "AAAAAAAAAAAAAAAAAAAAAA"),
	    ANVIL_EINVAL);
	assert_int_equal(nonce_redeem(p, "AAAAAAAAAAAAAAAAAAAAAA=="),
	    ANVIL_EINVAL);
	nonce_pool_free(p);
}

static void
test_redeem_once(void **state)
{
	struct nonce_pool *p = NULL;
	char a[NONCE_LEN + 1], b[NONCE_LEN + 1];

	(void)state;
	assert_int_equal(nonce_pool_new(&p), 0);
	assert_int_equal(nonce_issue(p, a), 0);
	assert_int_equal(nonce_issue(p, b), 0);
	assert_int_equal(strlen(a), NONCE_LEN);
	assert_string_not_equal(a, b);
	/* Out of order is fine; twice is not. */
	assert_int_equal(nonce_redeem(p, b), 0);
	assert_int_equal(nonce_redeem(p, a), 0);
	assert_int_equal(nonce_redeem(p, a), ANVIL_EINVAL);
	assert_int_equal(nonce_redeem(p, b), ANVIL_EINVAL);
	nonce_pool_free(p);
}

static void
test_tampered_refused(void **state)
{
	struct nonce_pool *p = NULL;
	char a[NONCE_LEN + 1];

	(void)state;
	assert_int_equal(nonce_pool_new(&p), 0);
	assert_int_equal(nonce_issue(p, a), 0);
	a[3] = a[3] == 'A' ? 'B' : 'A';
	assert_int_equal(nonce_redeem(p, a), ANVIL_EINVAL);
	nonce_pool_free(p);
}

static void
test_other_pool_refused(void **state)
{
	struct nonce_pool *p = NULL, *q = NULL;
	char a[NONCE_LEN + 1];

	(void)state;
	assert_int_equal(nonce_pool_new(&p), 0);
	assert_int_equal(nonce_pool_new(&q), 0);
	assert_int_equal(nonce_issue(p, a), 0);
	/* A restarted server (new pool) does not take old nonces. */
	assert_int_equal(nonce_redeem(q, a), ANVIL_EINVAL);
	assert_int_equal(nonce_redeem(p, a), 0);
	nonce_pool_free(p);
	nonce_pool_free(q);
}

static void
test_window(void **state)
{
	struct nonce_pool *p = NULL;
	char first[NONCE_LEN + 1], last[NONCE_LEN + 1], n[NONCE_LEN + 1];
	uint32_t i;

	(void)state;
	assert_int_equal(nonce_pool_new(&p), 0);
	assert_int_equal(nonce_issue(p, first), 0);
	for (i = 0; i < NONCE_WINDOW - 1; i++)
		assert_int_equal(nonce_issue(p, n), 0);
	/* first is exactly at the window's edge: still good. */
	memcpy(last, n, sizeof(n));
	assert_int_equal(nonce_issue(p, n), 0);
	/* Now first fell out of the window. */
	assert_int_equal(nonce_redeem(p, first), ANVIL_EINVAL);
	assert_int_equal(nonce_redeem(p, last), 0);
	assert_int_equal(nonce_redeem(p, n), 0);
	nonce_pool_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_garbage_refused),
		cmocka_unit_test(test_redeem_once),
		cmocka_unit_test(test_tampered_refused),
		cmocka_unit_test(test_other_pool_refused),
		cmocka_unit_test(test_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
