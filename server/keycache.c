/*
 * keycache.c - direct-mapped cache of accounts and their built keys (see
 * keycache.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/error.h"
#include "keycache.h"
#include "model.h"

_Static_assert(sizeof(((struct acct *)0)->thumbprint) ==
    ANVIL_THUMBPRINT_LEN + 1, "a thumbprint fits struct acct");

struct slot {
	char		 id[ID_LEN + 1];
	struct anvil_jwk *key;		/* owned */
	bool		 has_acct;	/* the fields below are the store's */
	bool		 tos_agreed;
	int64_t		 created;
};

struct keycache {
	struct slot	*slots;		/* owned */
	size_t		 mask;
};

int
keycache_new(size_t slots, struct keycache **ret)
{
	struct keycache *kc;
	size_t n = 1;

	while (n < slots && n < ((size_t)1 << 24))
		n <<= 1;
	kc = calloc(1, sizeof(*kc));
	if (kc == NULL)
		return ANVIL_ENOMEM;
	kc->slots = calloc(n, sizeof(*kc->slots));
	if (kc->slots == NULL) {
		free(kc);
		return ANVIL_ENOMEM;
	}
	kc->mask = n - 1;
	*ret = kc;
	return 0;
}

void
keycache_free(struct keycache *kc)
{
	size_t i;

	if (kc == NULL)
		return;
	for (i = 0; i <= kc->mask; i++)
		anvil_jwk_free(kc->slots[i].key);
	free(kc->slots);
	free(kc);
}

static struct slot *
slot_of(const struct keycache *kc, const char *id)
{
	return &kc->slots[id_hash(id) & kc->mask];
}

struct anvil_jwk *
keycache_find(struct keycache *kc, const char *id, const char *tp)
{
	struct slot *s = slot_of(kc, id);

	if (s->key == NULL || strcmp(s->id, id) != 0 ||
	    strcmp(anvil_jwk_thumbprint(s->key), tp) != 0)
		return NULL;
	return s->key;
}

struct anvil_jwk *
keycache_put(struct keycache *kc, const char *id, struct anvil_jwk *key)
{
	struct slot *s = slot_of(kc, id);

	if (s->key != key)
		anvil_jwk_free(s->key);
	s->key = key;
	strncpy(s->id, id, ID_LEN);
	s->id[ID_LEN] = '\0';
	s->has_acct = false;
	return key;
}

void
keycache_acct_put(struct keycache *kc, const struct acct *a)
{
	struct slot *s = slot_of(kc, a->id);

	if (a->status != ACCT_VALID || s->key == NULL ||
	    strcmp(s->id, a->id) != 0 ||
	    strcmp(anvil_jwk_thumbprint(s->key), a->thumbprint) != 0)
		return;
	s->tos_agreed = a->tos_agreed;
	s->created = a->created;
	s->has_acct = true;
}

struct anvil_jwk *
keycache_acct_find(struct keycache *kc, const char *id, struct acct *ret)
{
	struct slot *s = slot_of(kc, id);

	if (!s->has_acct || strcmp(s->id, id) != 0)
		return NULL;
	memset(ret, 0, sizeof(*ret));
	memcpy(ret->id, s->id, sizeof(ret->id));
	/* The key was checked against the account's thumbprint when the
	 * account was put, and a put of another key drops the account. */
	memcpy(ret->thumbprint, anvil_jwk_thumbprint(s->key),
	    sizeof(ret->thumbprint));
	ret->status = ACCT_VALID;
	ret->tos_agreed = s->tos_agreed;
	ret->created = s->created;
	return s->key;
}

void
keycache_acct_drop(struct keycache *kc, const char *id)
{
	struct slot *s = slot_of(kc, id);

	if (strcmp(s->id, id) == 0)
		s->has_acct = false;
}

void
keycache_acct_drop_all(struct keycache *kc)
{
	size_t i;

	for (i = 0; i <= kc->mask; i++)
		kc->slots[i].has_acct = false;
}
