/*
 * nonce.h - anti-replay nonces (RFC 8555 §6.5).
 *
 * A nonce is AES-128 of (a per-process random prefix, a counter), in
 * base64url: unpredictable to anyone but this process, checkable without a
 * lookup table, and each counter in a sliding window has one bit saying
 * whether it was redeemed.  Memory is fixed (the window), whatever the load;
 * a nonce older than the window, from another process or from before a
 * restart is refused, and the client retries with the fresh nonce that
 * comes with the badNonce answer.
 *
 * Not thread-safe: used from the event loop's thread.
 */
#ifndef ANVIL_SERVER_NONCE_H
#define ANVIL_SERVER_NONCE_H

#include <stddef.h>
#include <stdint.h>

/* 16 bytes in base64url: 22 characters. */
#define NONCE_LEN 22

/* Counters that stay redeemable: the last NONCE_WINDOW issued. */
#define NONCE_WINDOW (1u << 20)

struct nonce_pool;

int nonce_pool_new(struct nonce_pool **ret);
void nonce_pool_free(struct nonce_pool *p);

/* Writes a fresh nonce and a NUL into out.  Returns 0 or ANVIL_ECRYPTO. */
int nonce_issue(struct nonce_pool *p, char out[NONCE_LEN + 1]);

/* Redeems a nonce: 0 the first time for a nonce this pool issued within
 * the window, ANVIL_EINVAL otherwise (unknown, forged, stale or reused). */
int nonce_redeem(struct nonce_pool *p, const char *nonce);

#endif
