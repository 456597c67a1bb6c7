/*
 * nonce.c - anti-replay nonces: encrypted counters with a redeemed-bit
 * window (see nonce.h for why).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "anvil/b64.h"
#include "anvil/error.h"
#include "nonce.h"

struct nonce_pool {
	EVP_CIPHER_CTX	*enc;
	EVP_CIPHER_CTX	*dec;
	uint8_t		 prefix[8];	/* random per process */
	uint64_t	 next;		/* counter of the next nonce */
	uint8_t		 used[NONCE_WINDOW / 8]; /* bit c % WINDOW: redeemed */
};

static int
cipher_ctx(const uint8_t key[16], int enc, EVP_CIPHER_CTX **ret)
{
	EVP_CIPHER_CTX *ctx;

	ctx = EVP_CIPHER_CTX_new();
	if (ctx == NULL)
		return ANVIL_ENOMEM;
	if (EVP_CipherInit_ex(ctx, EVP_aes_128_ecb(), NULL, key, NULL,
	    enc) != 1 || EVP_CIPHER_CTX_set_padding(ctx, 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		return ANVIL_ECRYPTO;
	}
	*ret = ctx;
	return 0;
}

int
nonce_pool_new(struct nonce_pool **ret)
{
	struct nonce_pool *p = NULL;
	uint8_t key[16];
	int rc;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return ANVIL_ENOMEM;
	if (RAND_bytes(key, sizeof(key)) != 1 ||
	    RAND_bytes(p->prefix, sizeof(p->prefix)) != 1) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	rc = cipher_ctx(key, 1, &p->enc);
	if (rc != 0)
		goto out;
	rc = cipher_ctx(key, 0, &p->dec);
	if (rc != 0)
		goto out;
	*ret = p;
	p = NULL;
out:
	OPENSSL_cleanse(key, sizeof(key));
	nonce_pool_free(p);
	return rc;
}

void
nonce_pool_free(struct nonce_pool *p)
{
	if (p == NULL)
		return;
	EVP_CIPHER_CTX_free(p->enc);
	EVP_CIPHER_CTX_free(p->dec);
	free(p);
}

static int
one_block(EVP_CIPHER_CTX *ctx, const uint8_t in[16], uint8_t out[16])
{
	int n = 0;

	if (EVP_CipherUpdate(ctx, out, &n, in, 16) != 1 || n != 16)
		return ANVIL_ECRYPTO;
	return 0;
}

int
nonce_issue(struct nonce_pool *p, char out[NONCE_LEN + 1])
{
	uint8_t block[16], ct[16];
	uint64_t c = p->next;
	int i, rc;

	memcpy(block, p->prefix, 8);
	for (i = 0; i < 8; i++)
		block[8 + i] = (uint8_t)(c >> (56 - 8 * i));
	rc = one_block(p->enc, block, ct);
	if (rc != 0)
		return rc;
	/* The slot now stands for counter c: not redeemed yet. */
	p->used[(c % NONCE_WINDOW) / 8] &= (uint8_t)~(1u << (c % 8));
	p->next = c + 1;
	anvil_b64url_encode_to(out, ct, sizeof(ct));
	return 0;
}

int
nonce_redeem(struct nonce_pool *p, const char *nonce)
{
	uint8_t *raw = NULL, block[16];
	size_t len = 0, slot;
	uint64_t c = 0;
	uint8_t bit;
	int i, rc = ANVIL_EINVAL;

	if (nonce == NULL || strlen(nonce) != NONCE_LEN)
		return ANVIL_EINVAL;
	if (anvil_b64url_decode(nonce, NONCE_LEN, &raw, &len) != 0 ||
	    len != 16)
		goto out;
	if (one_block(p->dec, raw, block) != 0)
		goto out;
	if (memcmp(block, p->prefix, 8) != 0)
		goto out;
	for (i = 0; i < 8; i++)
		c = (c << 8) | block[8 + i];
	/* Issued, and not older than the window. */
	if (c >= p->next || p->next - c > NONCE_WINDOW)
		goto out;
	slot = (size_t)(c % NONCE_WINDOW);
	bit = (uint8_t)(1u << (slot % 8));
	if (p->used[slot / 8] & bit)
		goto out;
	p->used[slot / 8] |= bit;
	rc = 0;
out:
	free(raw);
	return rc;
}
