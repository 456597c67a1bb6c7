/*
 * test_keycache.c - the account key cache never answers with a key whose
 * thumbprint is not the account's current one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "anvil/anvil.h"
#include "keycache.h"

static struct anvil_jwk *
new_key(void)
{
	struct anvil_jwk *k = NULL;
	EVP_PKEY *p = NULL;

	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &p), 0);
	assert_int_equal(anvil_jwk_from_pkey(p, &k), 0);
	EVP_PKEY_free(p);
	return k;
}

static void
test_miss_hit_and_rollover(void **state)
{
	struct keycache *kc = NULL;
	struct anvil_jwk *a = new_key(), *b = new_key();
	char tpa[64], tpb[64];

	(void)state;
	snprintf(tpa, sizeof(tpa), "%s", anvil_jwk_thumbprint(a));
	snprintf(tpb, sizeof(tpb), "%s", anvil_jwk_thumbprint(b));
	assert_int_equal(keycache_new(4, &kc), 0);
	assert_null(keycache_find(kc, "acct1", tpa));
	assert_ptr_equal(keycache_put(kc, "acct1", a), a);
	assert_ptr_equal(keycache_find(kc, "acct1", tpa), a);
	/* Another id, or the same id after a key change: a miss. */
	assert_null(keycache_find(kc, "acct2", tpa));
	assert_null(keycache_find(kc, "acct1", tpb));
	/* The new key replaces (and frees) the old one. */
	keycache_put(kc, "acct1", b);
	assert_null(keycache_find(kc, "acct1", tpa));
	assert_ptr_equal(keycache_find(kc, "acct1", tpb), b);
	keycache_free(kc);
}

static void
test_collisions_evict(void **state)
{
	struct keycache *kc = NULL;
	struct anvil_jwk *k[3];
	char id[16];
	int i, found = 0;

	(void)state;
	/* One slot: every put evicts the previous key. */
	assert_int_equal(keycache_new(1, &kc), 0);
	for (i = 0; i < 3; i++) {
		k[i] = new_key();
		snprintf(id, sizeof(id), "id%d", i);
		keycache_put(kc, id, k[i]);
	}
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "id%d", i);
		if (keycache_find(kc, id, anvil_jwk_thumbprint(k[2])) != NULL)
			found++;
	}
	assert_int_equal(found, 1);
	keycache_free(kc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_miss_hit_and_rollover),
		cmocka_unit_test(test_collisions_evict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
