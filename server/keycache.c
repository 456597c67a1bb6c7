/*
 * keycache.c - direct-mapped cache of built account keys (see keycache.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/error.h"
#include "keycache.h"
#include "model.h"

struct slot {
	char		 id[ID_LEN + 1];
	struct anvil_jwk *key;		/* owned */
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

/* FNV-1a: ids are random already, any mixing will do. */
static size_t
slot_of(const struct keycache *kc, const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h & kc->mask;
}

struct anvil_jwk *
keycache_find(struct keycache *kc, const char *id, const char *tp)
{
	struct slot *s = &kc->slots[slot_of(kc, id)];

	if (s->key == NULL || strcmp(s->id, id) != 0 ||
	    strcmp(anvil_jwk_thumbprint(s->key), tp) != 0)
		return NULL;
	return s->key;
}

struct anvil_jwk *
keycache_put(struct keycache *kc, const char *id, struct anvil_jwk *key)
{
	struct slot *s = &kc->slots[slot_of(kc, id)];

	if (s->key != key)
		anvil_jwk_free(s->key);
	s->key = key;
	strncpy(s->id, id, ID_LEN);
	s->id[ID_LEN] = '\0';
	return key;
}
