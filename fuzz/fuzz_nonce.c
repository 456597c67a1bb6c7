/*
 * fuzz_nonce.c - anti-replay nonces (server/nonce.c): what nonce_redeem
 * accepts from a client's "nonce" header.
 *
 * The input is a small program run on a fresh pool, against a model that
 * remembers each nonce issued and whether it was redeemed.  Each step
 * starts with an operation byte:
 *
 *	0  issue a nonce
 *	1  redeem issued nonce #b (next byte) as it is
 *	2  redeem issued nonce #b with character at position p set to c
 *	   (next three bytes b, p, c)
 *	3  redeem the next n bytes as a string (n is the next byte)
 *
 * Asserts after every redeem: it succeeded exactly when the string equals
 * an issued nonce not redeemed yet (all issued nonces are inside the
 * window here), and that nonce is then marked redeemed.  So a forged,
 * altered, non-canonical (same bytes, other spelling) or replayed nonce
 * is caught as an accepted input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/error.h"
#include "nonce.h"
#include "fuzz.h"

/* Most nonces one input issues (besides the first few). */
#define MAX_ISSUED	64
/* Nonces issued before the program runs. */
#define PRE_ISSUED	4

struct model {
	char	 v[MAX_ISSUED][NONCE_LEN + 1];
	int	 redeemed[MAX_ISSUED];
	size_t	 n;
};

/* Reads the next byte into *b; returns 0 at the end of the input. */
static int
next(const uint8_t **p, const uint8_t *end, uint8_t *b)
{
	if (*p >= end)
		return 0;
	*b = *(*p)++;
	return 1;
}

static void
issue(struct nonce_pool *pool, struct model *m)
{
	size_t	 i;

	if (m->n == MAX_ISSUED)
		return;
	FUZZ_CHECK(nonce_issue(pool, m->v[m->n]) == 0);
	FUZZ_CHECK(strlen(m->v[m->n]) == NONCE_LEN);
	/* Distinct from every earlier one. */
	for (i = 0; i < m->n; i++)
		FUZZ_CHECK(strcmp(m->v[i], m->v[m->n]) != 0);
	m->redeemed[m->n] = 0;
	m->n++;
}

/* Redeems s and checks the answer against the model. */
static void
redeem(struct nonce_pool *pool, struct model *m, const char *s)
{
	size_t	 i, match = MAX_ISSUED;
	int	 rc;

	for (i = 0; i < m->n; i++)
		if (strcmp(m->v[i], s) == 0)
			match = i;
	rc = nonce_redeem(pool, s);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_EINVAL);
	if (match < MAX_ISSUED && !m->redeemed[match]) {
		FUZZ_CHECK(rc == 0);
		m->redeemed[match] = 1;
	} else
		FUZZ_CHECK(rc != 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nonce_pool	*pool = NULL;
	struct model		*m = NULL;
	const uint8_t		*p = data, *end = data + size;
	char			 s[256 + 1];
	uint8_t			 op, b, pos, c, n;
	size_t			 i;

	if (size > 4096)
		return 0;
	m = calloc(1, sizeof(*m));
	if (m == NULL || nonce_pool_new(&pool) != 0)
		goto out;
	for (i = 0; i < PRE_ISSUED; i++)
		issue(pool, m);
	while (next(&p, end, &op)) {
		switch (op % 4) {
		case 0:
			issue(pool, m);
			break;
		case 1:
			if (!next(&p, end, &b))
				goto out;
			redeem(pool, m, m->v[b % m->n]);
			break;
		case 2:
			if (!next(&p, end, &b) || !next(&p, end, &pos) ||
			    !next(&p, end, &c))
				goto out;
			/* Position NONCE_LEN appends; c = 0 truncates. */
			memcpy(s, m->v[b % m->n], NONCE_LEN + 1);
			pos %= NONCE_LEN + 1;
			s[pos] = (char)c;
			if (pos >= NONCE_LEN)
				s[pos + 1] = '\0';
			redeem(pool, m, s);
			break;
		default:
			if (!next(&p, end, &n))
				goto out;
			for (i = 0; i < n && next(&p, end, &b); i++)
				s[i] = (char)b;
			s[i] = '\0';
			redeem(pool, m, s);
			break;
		}
	}
out:
	nonce_pool_free(pool);
	free(m);
	return 0;
}
