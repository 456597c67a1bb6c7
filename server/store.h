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

#include <stdbool.h>
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

/*
 * Group commit: store_batch_begin() opens one transaction (BEGIN
 * IMMEDIATE) that the following calls join; inside it store_begin() /
 * store_commit() / store_rollback() become SAVEPOINT / RELEASE /
 * ROLLBACK TO (no nesting: a second store_begin() is ANVIL_EDB), and
 * nothing is durable until store_batch_commit() returns 0 (one fsync for
 * all).  If it fails, no answer that depended on the batch may be sent as
 * a success.  store_batch_open() tells whether a batch is open.
 */
int store_batch_begin(struct store *s);
int store_batch_commit(struct store *s);
bool store_batch_open(const struct store *s);

/*
 * WAL checkpoints.  By default a commit that leaves 1000 pages or more in
 * the write-ahead log copies them into the database file itself (SQLite's
 * autocheckpoint), on the committing thread.  store_autocheckpoint() sets
 * that number for this connection; 0 turns it off, when another
 * connection calls store_checkpoint() instead.
 *
 * store_checkpoint() copies what the log holds into the database file
 * without blocking writers or readers (PASSIVE).  A log is reused from its
 * start only by a write that begins when everything in it is copied; under
 * a steady stream of writes from another connection that moment may never
 * come, so when restart_pages or more are still in the log afterwards, it
 * waits (busy timeout) for the writer and the readers to let it finish
 * (RESTART): the next write then starts the log over (restart_pages 0:
 * never).  A busy database is not an error: the next call tries again.
 * Returns 0, or ANVIL_EDB (also inside a transaction).
 */
/*
 * Deferred durability, for the event loop's connection: its commits no
 * longer wait for the disk (synchronous=NORMAL) and are durable once a
 * store_wal_sync() that began after them has returned 0.  The caller must
 * hold back every answer that depends on a commit until then (front.c
 * does, for every answer, so that fsyncs overlap with the next requests
 * instead of stopping the loop).  Checkpoints stay synced: SQLite syncs
 * the log before copying it and the database file after, so no log frame
 * is reused before its page is on disk in the database.  Not for
 * ":memory:".  Returns 0, ANVIL_EINVAL, or ANVIL_EIO when the log file
 * cannot be opened (then nothing changed: commits stay synchronous).
 *
 * store_wal_sync() flushes the write-ahead log (fdatasync of the
 * descriptor store_defer_sync opened): every commit that returned before
 * the call is durable when it returns 0.  It touches only that
 * descriptor, so it may run on another thread than the connection's,
 * while the connection goes on.  Returns 0, ANVIL_EINVAL (not deferred)
 * or ANVIL_EIO.
 */
int store_defer_sync(struct store *s);
int store_wal_sync(struct store *s);

#define STORE_AUTOCHECKPOINT_DEFAULT	1000	/* SQLite's */
int store_autocheckpoint(struct store *s, int pages);
int store_checkpoint(struct store *s, int restart_pages);

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
/* Writes the status and expires of a, not its challenges. */
int store_authz_update(struct store *s, const struct authz *a);
/* Writes the status, validated and error of challenge a->challs[idx] and,
 * when with_authz, a's status and expires, in one atomic write.
 * ANVIL_ENOENT, and nothing written, when a or that challenge of a does
 * not exist; ANVIL_EINVAL when idx >= a->n_challs. */
int store_chall_update(struct store *s, const struct authz *a, size_t idx,
    bool with_authz);
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
/* Ids of the orders (any account) that use authorization authz_id, each
 * once, by id. */
int store_order_ids_by_authz(struct store *s, const char *authz_id,
    char ***ret_ids);
/* True (1) when an order that uses authz_id has another authorization
 * still pending with none of its challenges being validated (its client
 * has a challenge left to answer), 0 when not, negative on error. */
int store_authz_sibling_unanswered(struct store *s, const char *authz_id);
/* Ids of the challenges whose validation was started and never recorded
 * (status processing), at most max, NULL-terminated (anvil_strv_free());
 * *ret_more is 1 when there are more. */
int store_chall_processing(struct store *s, size_t max, char ***ret_ids,
    int *ret_more);

/* Certificates, by serial (hex). */
int store_cert_insert(struct store *s, const struct cert *c);
int store_cert_get(struct store *s, const char *serial, struct cert *ret);
/* What an OCSP response says of serial: *revoked_at (0 when not revoked)
 * and *reason (0 when none), set only on success.  ANVIL_ENOENT when no
 * certificate has that serial. */
int store_cert_status(struct store *s, const char *serial,
    int64_t *revoked_at, int *reason);
/* Marks serial revoked at `when` with reason.  ANVIL_EEXIST when it is
 * revoked already (nothing changes then). */
int store_cert_revoke(struct store *s, const char *serial, int reason,
    int64_t when);
/* Sets the invalidity date (RFC 5280 §5.3.2) of a revoked certificate.
 * ANVIL_ENOENT when serial is unknown or not revoked. */
int store_cert_set_invalidity(struct store *s, const char *serial,
    int64_t when);

/* Which certificates store_cert_list() reports. */
struct cert_filter {
	bool		 revoked_only;
	int64_t		 expiring_before;	/* 0: any; else unexpired at
						   `now` and not_after < it */
	int64_t		 now;
};
/* Calls fn for each matching certificate, oldest first, without its DER
 * (c->der NULL; c is cleared after the call).  Stops and returns what fn
 * returns when that is not 0. */
int store_cert_list(struct store *s, const struct cert_filter *f,
    int (*fn)(void *arg, const struct cert *c), void *arg);

/*
 * Revocation state (docs/internals/revocation.md).
 */

/* The number of CRL shards, fixed in the database.  When none is recorded
 * yet, or no certificate exists, want is recorded.  *ret is the number in
 * force.  ANVIL_EEXIST (and *ret set) when certificates exist under a
 * different recorded number: shards cannot change once named in
 * certificates. */
int store_crl_shards(struct store *s, int want, int *ret);

/* One entry of a CRL. */
struct revoked {
	char		 serial[SERIAL_HEX_LEN + 1];
	int64_t		 revoked_at;
	int		 reason;
	int64_t		 invalidity;	/* 0 if none */
};
/* The certificates of shard revoked and not expired at now, in a new
 * array (free()) of *ret_n entries, at most max (ANVIL_E2BIG beyond). */
int store_revoked_list(struct store *s, int shard, int64_t now, size_t max,
    struct revoked **ret, size_t *ret_n);

/* A signed CRL or OCSP response kept for serving.  key is the shard (-1
 * for none) of a CRL, or the serial of an OCSP response. */
struct signed_obj {
	int		 shard;
	char		 serial[SERIAL_HEX_LEN + 1];
	int64_t		 number;	/* CRL number */
	int64_t		 this_update;
	int64_t		 next_update;
	uint8_t		*der;		/* owned (free()) */
	size_t		 der_len;
};
void signed_obj_clear(struct signed_obj *o);

int store_crl_get(struct store *s, int shard, struct signed_obj *ret);
/* Inserts or replaces the CRL of o->shard. */
int store_crl_put(struct store *s, const struct signed_obj *o);
int store_ocsp_get(struct store *s, const char *serial,
    struct signed_obj *ret);
/* Inserts or replaces the response of o->serial. */
int store_ocsp_put(struct store *s, const struct signed_obj *o);
/* Serials, at most max, whose response was made at or before `before`
 * and whose certificate is unexpired at now, oldest response first
 * (NULL-terminated array, anvil_strv_free). */
int store_ocsp_due(struct store *s, int64_t before, int64_t now, size_t max,
    char ***ret);
/* Serials of unexpired certificates without a response, among the
 * certificates of rowid in (after, after + window]; *ret_last is the
 * largest rowid looked at, or after when there were none (the end). */
int store_ocsp_missing(struct store *s, int64_t after, int64_t window,
    int64_t now, char ***ret, int64_t *ret_last);

/* Blocked keys (keyCompromise): SPKI hash as in struct cert.  Blocking a
 * blocked key again is not an error. */
int store_key_block(struct store *s, const char *spki_hash, int reason,
    int64_t when);
/* 1 when blocked, 0 when not, or a negative code. */
int store_key_blocked(struct store *s, const char *spki_hash);

/* The revocation log, in order: entries with seq > after, at most max,
 * into ret[] (serial, shard); *ret_n entries. */
struct revocation_event {
	int64_t		 seq;
	char		 serial[SERIAL_HEX_LEN + 1];
	int		 shard;
};
int store_revocations_since(struct store *s, int64_t after, size_t max,
    struct revocation_event *ret, size_t *ret_n);

/* Small named integers (e.g. the last revocation processed).  get gives
 * ANVIL_ENOENT when unset. */
int store_meta_get(struct store *s, const char *key, int64_t *ret);
int store_meta_set(struct store *s, const char *key, int64_t value);

#endif
