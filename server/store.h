/*
 * store.h - the storage authority: every read and write of server state.
 *
 * One struct store is one database connection, used from one thread.  The
 * interface knows nothing of protocol rules; it stores and fetches the
 * objects of model.h.  SQLite (store_sqlite.c) is the default; PostgreSQL
 * will implement the same functions.
 *
 * Getters fill a caller-provided struct (zeroed first by the getter) whose
 * owned members the caller frees with the *_clear() of model.h.  All
 * functions return 0, ANVIL_ENOENT when the object does not exist,
 * ANVIL_EEXIST on a uniqueness conflict, or ANVIL_EDB.
 *
 * Writes made between store_begin() and store_commit() are one transaction;
 * store_rollback() undoes them.  Outside such a pair each call commits on its
 * own.  A commit is durable (WAL, synchronous=FULL) before it returns.
 */
#ifndef ANVIL_SERVER_STORE_H
#define ANVIL_SERVER_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct store;

/* Opens (creating if needed) the database at path and applies the numbered
 * schema migrations.  Returns 0 and *ret, or ANVIL_EDB. */
int store_open(const char *path, struct store **ret);
void store_close(struct store *s);

int store_begin(struct store *s);
int store_commit(struct store *s);
int store_rollback(struct store *s);

/* Accounts.  Thumbprints are unique. */
int store_acct_insert(struct store *s, const struct acct *a);
int store_acct_get(struct store *s, const char *id, struct acct *ret);
int store_acct_find_by_thumbprint(struct store *s, const char *thumbprint,
    struct acct *ret);
/* Writes jwk, thumbprint, status, contact and tos_agreed of a->id. */
int store_acct_update(struct store *s, const struct acct *a);

/* Authorizations, with their challenges (ids unique across all). */
int store_authz_insert(struct store *s, const struct authz *a);
int store_authz_get(struct store *s, const char *id, struct authz *ret);
/* Writes status, expires and each challenge's status, validated, error. */
int store_authz_update(struct store *s, const struct authz *a);
/* Finds the authorization holding challenge chall_id; *ret_idx is the
 * challenge's index in ret->challs. */
int store_authz_get_by_chall(struct store *s, const char *chall_id,
    struct authz *ret, size_t *ret_idx);
/* Finds an authorization of acct_id for ident (and wildcard flag) whose
 * status is valid or pending and that expires after now, preferring
 * valid, then the one expiring last.  Used to reuse authorizations. */
int store_authz_find_reusable(struct store *s, const char *acct_id,
    const char *ident, bool wildcard, int64_t now, struct authz *ret);
/* True (1) when acct_id holds a valid authorization for ident that expires
 * after now, 0 when not, negative on error.  A wildcard authorization
 * "*.x" counts for ident "*.x" only. */
int store_authz_has_valid(struct store *s, const char *acct_id,
    const char *ident, bool wildcard, int64_t now);

/* Orders, with their names and authorization ids (order kept). */
int store_order_insert(struct store *s, const struct order *o);
int store_order_get(struct store *s, const char *id, struct order *ret);
/* Writes status, error and cert_serial. */
int store_order_update(struct store *s, const struct order *o);
/* Ids of the orders of acct_id, oldest first, skipping the first `offset`,
 * at most limit, in a NULL-terminated array (free with anvil_strv_free).
 * *ret_more is set to 1 when more follow, else 0. */
int store_order_list(struct store *s, const char *acct_id, size_t offset,
    size_t limit, char ***ret_ids, int *ret_more);
/* Ids of the orders (any account) that use authorization authz_id. */
int store_order_ids_by_authz(struct store *s, const char *authz_id,
    char ***ret_ids);

/* Certificates, by serial (hex). */
int store_cert_insert(struct store *s, const struct cert *c);
int store_cert_get(struct store *s, const char *serial, struct cert *ret);
/* Marks serial revoked at `when` with reason.  ANVIL_EEXIST when it is
 * revoked already (nothing changes then). */
int store_cert_revoke(struct store *s, const char *serial, int reason,
    int64_t when);

#endif
