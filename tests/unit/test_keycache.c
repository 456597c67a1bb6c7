/*
 * test_keycache.c - the account key cache never answers with a key whose
 * thumbprint is not the account's current one, and an account only
 * while nothing dropped it.
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

/* An account as the store would give it. */
static void
acct_of(struct acct *a, const char *id, const struct anvil_jwk *k,
    enum acct_status status)
{
	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s", id);
	snprintf(a->thumbprint, sizeof(a->thumbprint), "%s",
	    anvil_jwk_thumbprint(k));
	a->status = status;
	a->tos_agreed = true;
	a->created = 1700000000;
}

static void
test_acct(void **state)
{
	struct keycache *kc = NULL;
	struct anvil_jwk *a = new_key(), *b = new_key();
	struct acct acct, got;

	(void)state;
	assert_int_equal(keycache_new(16, &kc), 0);
	acct_of(&acct, "acct1", a, ACCT_VALID);
	/* No key cached yet: nothing recorded. */
	keycache_acct_put(kc, &acct);
	assert_null(keycache_acct_find(kc, "acct1", &got));
	keycache_put(kc, "acct1", a);
	assert_null(keycache_acct_find(kc, "acct1", &got));
	keycache_acct_put(kc, &acct);
	assert_ptr_equal(keycache_acct_find(kc, "acct1", &got), a);
	assert_string_equal(got.id, "acct1");
	assert_string_equal(got.thumbprint, anvil_jwk_thumbprint(a));
	assert_int_equal(got.status, ACCT_VALID);
	assert_true(got.tos_agreed);
	assert_int_equal(got.created, 1700000000);
	assert_null(got.jwk);
	assert_null(got.contact);
	assert_null(keycache_acct_find(kc, "acct2", &got));

	/* Dropped (a write to the account): gone, the key stays. */
	keycache_acct_drop(kc, "acct1");
	assert_null(keycache_acct_find(kc, "acct1", &got));
	assert_ptr_equal(keycache_find(kc, "acct1", anvil_jwk_thumbprint(a)),
	    a);
	/* Dropping another id leaves it alone. */
	keycache_acct_put(kc, &acct);
	keycache_acct_drop(kc, "acct9");
	assert_ptr_equal(keycache_acct_find(kc, "acct1", &got), a);

	/* A deactivated account is never recorded. */
	keycache_acct_drop(kc, "acct1");
	acct_of(&acct, "acct1", a, ACCT_DEACTIVATED);
	keycache_acct_put(kc, &acct);
	assert_null(keycache_acct_find(kc, "acct1", &got));

	/* An account whose thumbprint is not the cached key's (a key
	 * change): not recorded until its key is put. */
	acct_of(&acct, "acct1", b, ACCT_VALID);
	keycache_acct_put(kc, &acct);
	assert_null(keycache_acct_find(kc, "acct1", &got));
	keycache_put(kc, "acct1", b);
	keycache_acct_put(kc, &acct);
	assert_ptr_equal(keycache_acct_find(kc, "acct1", &got), b);
	assert_string_equal(got.thumbprint, anvil_jwk_thumbprint(b));
	/* Putting a key again drops the account part. */
	keycache_put(kc, "acct1", b);
	assert_null(keycache_acct_find(kc, "acct1", &got));

	/* drop_all (a failed commit). */
	keycache_acct_put(kc, &acct);
	assert_non_null(keycache_acct_find(kc, "acct1", &got));
	keycache_acct_drop_all(kc);
	assert_null(keycache_acct_find(kc, "acct1", &got));
	keycache_free(kc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_miss_hit_and_rollover),
		cmocka_unit_test(test_collisions_evict),
		cmocka_unit_test(test_acct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
