/*
 * keycache.h - accounts and their keys, kept built.
 *
 * Every kid-signed request needs the account (RFC 8555 §6.2: its status,
 * and its key as an OpenSSL object).  Reading the account from the store
 * and building its key from the stored JWK on every request cost a SQLite
 * read and more than a tenth of an issuance's CPU (BENCHMARKS.md).  This
 * is a direct-mapped cache from account id to the built key, and, next to
 * it, the account as last read from the store (everything but its JWK and
 * contact texts), for valid accounts only.
 *
 * Coherence: the account part is what the store said, as long as the
 * store's account row has not changed since.  Every writer of accounts
 * (ra_acct.c: contact update, deactivation, key change) drops the
 * account part before writing, and the front drops every account part
 * when a batch fails to commit (a rolled-back write may have been read
 * back into the cache in the meantime).  The key part is keyed by
 * thumbprint as well, so a key rollover never serves the old key.  No
 * other process writes accounts: the admin commands of anvil-ca (revoke,
 * list) do not, and there is no multi-instance or shared database yet;
 * one that ever did would need an invalidation from the store.
 *
 * Fixed size (bounded memory: a collision evicts); single-threaded (the
 * event loop's).
 */
#ifndef ANVIL_SERVER_KEYCACHE_H
#define ANVIL_SERVER_KEYCACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "anvil/jwk.h"
#include "model.h"

struct keycache;

/* A cache of `slots` entries (rounded up to a power of two). */
int keycache_new(size_t slots, struct keycache **ret);
void keycache_free(struct keycache *kc);

/* The key of account id if cached with thumbprint tp, else NULL.  The
 * pointer is borrowed: valid until the next keycache_put. */
struct anvil_jwk *keycache_find(struct keycache *kc, const char *id,
    const char *tp);

/* Caches key for account id, taking ownership of key (it is freed when
 * replaced); returns key, still valid until the next keycache_put.  The
 * slot's account part is dropped. */
struct anvil_jwk *keycache_put(struct keycache *kc, const char *id,
    struct anvil_jwk *key);

/*
 * Records a, as just read from the store, next to its key: only when a is
 * valid and the slot holds a's id with a key of a's thumbprint (else it
 * does nothing).  The JWK and contact texts are not kept.
 */
void keycache_acct_put(struct keycache *kc, const struct acct *a);

/*
 * Account id as recorded by keycache_acct_put and not dropped since: fills
 * *ret with it (jwk and contact NULL: nothing to free) and returns its key
 * (borrowed: valid until the next keycache_put), or returns NULL.
 */
struct anvil_jwk *keycache_acct_find(struct keycache *kc, const char *id,
    struct acct *ret);

/* Forgets the account part of id (its key stays); for every writer of the
 * account, before it writes. */
void keycache_acct_drop(struct keycache *kc, const char *id);

/* Forgets every account part (the keys stay). */
void keycache_acct_drop_all(struct keycache *kc);

#endif
