/*
 * keycache.h - account keys, kept built.
 *
 * Every kid-signed request needs the account's key as an OpenSSL object;
 * building it from the stored JWK costs more than a tenth of an issuance's
 * CPU when done on every request (measured with callgrind, BENCHMARKS.md).
 * This is a direct-mapped cache from account id to the built key, checked
 * against the account's current thumbprint so that a key rollover never
 * serves the old key.  Fixed size; single-threaded (the event loop's).
 */
#ifndef ANVIL_SERVER_KEYCACHE_H
#define ANVIL_SERVER_KEYCACHE_H

#include <stddef.h>

#include "anvil/jwk.h"

struct keycache;

/* A cache of `slots` entries (rounded up to a power of two). */
int keycache_new(size_t slots, struct keycache **ret);
void keycache_free(struct keycache *kc);

/* The key of account id if cached with thumbprint tp, else NULL.  The
 * pointer is borrowed: valid until the next keycache_put. */
struct anvil_jwk *keycache_find(struct keycache *kc, const char *id,
    const char *tp);

/* Caches key for account id, taking ownership of key (it is freed when
 * replaced); returns key, still valid until the next keycache_put. */
struct anvil_jwk *keycache_put(struct keycache *kc, const char *id,
    struct anvil_jwk *key);

#endif
