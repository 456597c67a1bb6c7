/*
 * store_sqlite.c - the storage authority (store.h) on SQLite 3.
 *
 * One struct store is one connection (opened SQLITE_OPEN_NOMUTEX: it is
 * used from one thread).  The database runs in WAL mode with
 * synchronous=FULL, so a commit is on disk before it returns: a
 * certificate handed out is never lost.  Every statement is prepared once,
 * at open, and kept in s->st[]; after each use it is reset and its
 * bindings cleared, so no statement holds a read snapshot or a pointer to
 * the caller's memory between calls.
 *
 * Writes that touch several rows (an authorization and its challenges, an
 * order and its names and authorization links) run inside a transaction
 * of their own when the caller has none open, else inside a savepoint, so
 * they are atomic either way.  The schema and its migrations are in
 * store_schema.h; docs/internals/store.md describes both.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "anvil/error.h"
#include "model.h"
#include "store.h"
#include "store_schema.h"

/* How long a connection waits for another one's write lock, in ms. */
#define STORE_BUSY_MS	5000

enum st {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_TX_SAVEPOINT,
	ST_TX_RELEASE,
	ST_TX_ROLLBACK_TO,
	ST_ACCT_INSERT,
	ST_ACCT_GET,
	ST_ACCT_BY_THUMB,
	ST_ACCT_UPDATE,
	ST_AUTHZ_INSERT,
	ST_AUTHZ_GET,
	ST_AUTHZ_UPDATE,
	ST_AUTHZ_REUSE,
	ST_AUTHZ_HAS_VALID,
	ST_CHALL_INSERT,
	ST_CHALL_LIST,
	ST_CHALL_UPDATE,
	ST_AUTHZ_BY_CHALL,
	ST_ORDER_INSERT,
	ST_ORDER_IDENT_INSERT,
	ST_ORDER_GET,
	ST_ORDER_IDENTS,
	ST_ORDER_UPDATE,
	ST_ORDER_LIST,
	ST_ORDER_BY_AUTHZ,
	ST_AUTHZ_SIBLING_UNANSWERED,
	ST_CHALL_PROCESSING,
	ST_CERT_INSERT,
	ST_CERT_GET,
	ST_CERT_STATUS,
	ST_CERT_REVOKE,
	ST_CERT_EXISTS,
	ST_CERT_INVALIDITY,
	ST_CERT_LIST,
	ST_CERT_ANY,
	ST_META_GET,
	ST_META_SET,
	ST_REVOKED_LIST,
	ST_CRL_GET,
	ST_CRL_PUT,
	ST_OCSP_GET,
	ST_OCSP_PUT,
	ST_OCSP_DUE,
	ST_OCSP_MISSING,
	ST_OCSP_MISSING_MAX,
	ST_KEY_BLOCK,
	ST_KEY_BLOCKED,
	ST_REVOCATIONS,
	ST__MAX
};

#define AUTHZ_COLS	"id, acct_id, ident, wildcard, status, expires"
#define ACCT_COLS	"id, jwk, thumbprint, status, contact, tos_agreed," \
			" created"

static const char *const st_sql[ST__MAX] = {
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_SAVEPOINT] = "SAVEPOINT store_write",
	[ST_RELEASE] = "RELEASE store_write",
	[ST_ROLLBACK_TO] = "ROLLBACK TO store_write",
	/* store_begin() inside a batch (store_batch_begin()). */
	[ST_TX_SAVEPOINT] = "SAVEPOINT store_tx",
	[ST_TX_RELEASE] = "RELEASE store_tx",
	[ST_TX_ROLLBACK_TO] = "ROLLBACK TO store_tx",

	[ST_ACCT_INSERT] = "INSERT INTO accounts (" ACCT_COLS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[ST_ACCT_GET] = "SELECT " ACCT_COLS " FROM accounts WHERE id = ?1",
	[ST_ACCT_BY_THUMB] = "SELECT " ACCT_COLS " FROM accounts"
	    " WHERE thumbprint = ?1",
	[ST_ACCT_UPDATE] = "UPDATE accounts SET jwk = ?2, thumbprint = ?3,"
	    " status = ?4, contact = ?5, tos_agreed = ?6 WHERE id = ?1",

	[ST_AUTHZ_INSERT] = "INSERT INTO authzs (" AUTHZ_COLS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_AUTHZ_GET] = "SELECT " AUTHZ_COLS " FROM authzs WHERE id = ?1",
	[ST_AUTHZ_UPDATE] = "UPDATE authzs SET status = ?2, expires = ?3"
	    " WHERE id = ?1",
	/* The candidates; store_authz_find_reusable() picks one (an ORDER
	 * BY would open a sorter, a temporary B-tree, at every run). */
	[ST_AUTHZ_REUSE] = "SELECT id, status = 'valid', expires FROM authzs"
	    " WHERE acct_id = ?1 AND ident = ?2 AND wildcard = ?3"
	    " AND status IN ('valid', 'pending') AND expires > ?4",
	[ST_AUTHZ_HAS_VALID] = "SELECT 1 FROM authzs"
	    " WHERE acct_id = ?1 AND ident = ?2 AND wildcard = ?3"
	    " AND status = 'valid' AND expires > ?4 LIMIT 1",

	[ST_CHALL_INSERT] = "INSERT INTO challenges (id, authz_id, position,"
	    " type, token, status, validated, error)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	[ST_CHALL_LIST] = "SELECT id, type, token, status, validated, error"
	    " FROM challenges WHERE authz_id = ?1 ORDER BY position",
	/* By its key; the id must match too (not looked up: "+"). */
	[ST_CHALL_UPDATE] = "UPDATE challenges SET status = ?3,"
	    " validated = ?4, error = ?5"
	    " WHERE authz_id = ?2 AND position = ?6 AND +id = ?1",
	/* The authorization holding challenge ?1, in one statement (the
	 * index challenges_id holds authz_id). */
	[ST_AUTHZ_BY_CHALL] = "SELECT " AUTHZ_COLS " FROM authzs WHERE id ="
	    " (SELECT authz_id FROM challenges WHERE id = ?1)",

	[ST_ORDER_INSERT] = "INSERT INTO orders (id, acct_id, status,"
	    " expires, not_before, not_after, error, cert_serial, created)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_ORDER_IDENT_INSERT] = "INSERT INTO order_idents"
	    " (order_id, position, name, authz_id) VALUES (?1, ?2, ?3, ?4)",
	[ST_ORDER_GET] = "SELECT id, acct_id, status, expires, not_before,"
	    " not_after, error, cert_serial, created FROM orders"
	    " WHERE id = ?1",
	[ST_ORDER_IDENTS] = "SELECT name, authz_id FROM order_idents"
	    " WHERE order_id = ?1 ORDER BY position",
	[ST_ORDER_UPDATE] = "UPDATE orders SET status = ?2, error = ?3,"
	    " cert_serial = ?4 WHERE id = ?1",
	[ST_ORDER_LIST] = "SELECT id FROM orders WHERE acct_id = ?1"
	    " ORDER BY created, seq LIMIT ?3 OFFSET ?2",
	/* The index order_idents_authz alone, in its order (no sort). */
	[ST_ORDER_BY_AUTHZ] = "SELECT DISTINCT order_id FROM order_idents"
	    " WHERE authz_id = ?1 ORDER BY order_id",
	/* Another authorization of an order that uses ?1, still pending
	 * and none of its challenges being validated: its order's client
	 * has a challenge left to answer. */
	[ST_AUTHZ_SIBLING_UNANSWERED] = "SELECT 1 FROM order_idents o"
	    " JOIN order_idents s ON s.order_id = o.order_id"
	    " JOIN authzs a ON a.id = s.authz_id"
	    " WHERE o.authz_id = ?1 AND s.authz_id <> ?1"
	    " AND a.status = 'pending' AND NOT EXISTS (SELECT 1 FROM"
	    " challenges c WHERE c.authz_id = a.id AND"
	    " c.status = 'processing') LIMIT 1",

	/* Challenges a validation was started for and never finished
	 * (the server stopped first), oldest authorization first. */
	[ST_CHALL_PROCESSING] = "SELECT id FROM challenges"
	    " WHERE status = 'processing' ORDER BY authz_id",

	[ST_CERT_INSERT] = "INSERT INTO certs (serial, acct_id, order_id, der,"
	    " names, spki_hash, not_before, not_after, revoked_at, reason,"
	    " shard) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_CERT_GET] = "SELECT serial, acct_id, order_id, der, names,"
	    " spki_hash, not_before, not_after, revoked_at, reason, shard,"
	    " invalidity FROM certs WHERE serial = ?1",
	/* What an OCSP response says, without the row's DER and names. */
	[ST_CERT_STATUS] = "SELECT revoked_at, reason FROM certs"
	    " WHERE serial = ?1",
	[ST_CERT_REVOKE] = "UPDATE certs SET revoked_at = ?2, reason = ?3"
	    " WHERE serial = ?1 AND revoked_at IS NULL",
	[ST_CERT_EXISTS] = "SELECT 1 FROM certs WHERE serial = ?1",
	[ST_CERT_INVALIDITY] = "UPDATE certs SET invalidity = ?2"
	    " WHERE serial = ?1 AND revoked_at IS NOT NULL",
	/* Same columns as ST_CERT_GET but der (NULL), by rowid. */
	[ST_CERT_LIST] = "SELECT serial, acct_id, order_id, NULL, names,"
	    " spki_hash, not_before, not_after, revoked_at, reason, shard,"
	    " invalidity FROM certs"
	    " WHERE (?1 = 0 OR revoked_at IS NOT NULL)"
	    " AND (?2 = 0 OR (not_after > ?3 AND not_after < ?2))"
	    " ORDER BY rowid",
	[ST_CERT_ANY] = "SELECT 1 FROM certs LIMIT 1",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT OR REPLACE INTO meta (key, value)"
	    " VALUES (?1, ?2)",
	/* RFC 5280 §5: an expired certificate may leave the CRL. */
	[ST_REVOKED_LIST] = "SELECT serial, revoked_at, reason, invalidity"
	    " FROM certs WHERE shard = ?1 AND revoked_at IS NOT NULL"
	    " AND not_after >= ?2",
	[ST_CRL_GET] = "SELECT shard, number, this_update, next_update, der"
	    " FROM crls WHERE shard = ?1",
	[ST_CRL_PUT] = "INSERT OR REPLACE INTO crls (shard, number,"
	    " this_update, next_update, der) VALUES (?1, ?2, ?3, ?4, ?5)",
	[ST_OCSP_GET] = "SELECT serial, 0, this_update, next_update, der"
	    " FROM ocsp WHERE serial = ?1",
	[ST_OCSP_PUT] = "INSERT OR REPLACE INTO ocsp (serial, this_update,"
	    " next_update, der) VALUES (?1, ?2, ?3, ?4)",
	[ST_OCSP_DUE] = "SELECT o.serial FROM ocsp o JOIN certs c"
	    " ON c.serial = o.serial WHERE o.this_update <= ?1"
	    " AND c.not_after >= ?2 ORDER BY o.this_update LIMIT ?3",
	[ST_OCSP_MISSING] = "SELECT c.serial FROM certs c"
	    " WHERE c.rowid > ?1 AND c.rowid <= ?1 + ?2 AND c.not_after >= ?3"
	    " AND NOT EXISTS (SELECT 1 FROM ocsp o WHERE o.serial = c.serial)",
	[ST_OCSP_MISSING_MAX] = "SELECT max(rowid) FROM certs"
	    " WHERE rowid > ?1 AND rowid <= ?1 + ?2",
	[ST_KEY_BLOCK] = "INSERT OR IGNORE INTO blocked_keys (spki_hash,"
	    " reason, created) VALUES (?1, ?2, ?3)",
	[ST_KEY_BLOCKED] = "SELECT 1 FROM blocked_keys WHERE spki_hash = ?1",
	[ST_REVOCATIONS] = "SELECT seq, serial, shard FROM revocations"
	    " WHERE seq > ?1 ORDER BY seq LIMIT ?2",
};

struct store {
	sqlite3		*db;
	sqlite3_stmt	*st[ST__MAX];	/* prepared at open, never NULL */
	int		 batch;		/* store_batch_begin() is open */
	int		 in_tx;		/* store_begin() inside the batch */
	int		 wal_fd;	/* the log, for store_wal_sync; or -1 */
};

/*
 * Binds parameters with a sticky error, so that a run of bindings is
 * checked once.  Text and blobs are bound SQLITE_STATIC: they must live
 * until the statement is reset, which every caller does before returning.
 */
struct binder {
	sqlite3_stmt	*st;
	int		 rc;	/* first sqlite3_bind_* failure, or SQLITE_OK */
};

/* Reads the columns of a row with a sticky error (any column of the wrong
 * type, a NULL where none may be, or an allocation failure). */
struct reader {
	sqlite3_stmt	*st;
	int		 err;	/* 0 or ANVIL_EDB */
};

/*
 * Maps an SQLite result code to ours: a UNIQUE or PRIMARY KEY conflict is
 * ANVIL_EEXIST, anything else ANVIL_EDB.  Needs extended result codes,
 * which store_open() turns on.
 */
static int
map_err(int rc)
{
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return ANVIL_EEXIST;
	default:
		return ANVIL_EDB;
	}
}

/* Returns statement st to its initial state with no bindings.  Accepts
 * NULL.  The result of reset repeats the last step's, which the caller has
 * seen already. */
static void
done(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

/* Steps a statement that returns no row, then resets it.  Returns 0,
 * ANVIL_EEXIST or ANVIL_EDB. */
static int
run(sqlite3_stmt *st)
{
	int	 rc, err = 0;

	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		err = rc == SQLITE_ROW ? ANVIL_EDB : map_err(rc);
	done(st);
	return err;
}

/* Runs the UPDATE bound through b, which must change a row.  Returns 0,
 * ANVIL_ENOENT when it changed none, ANVIL_EEXIST or ANVIL_EDB (also for
 * a failed binding). */
static int
run_update(struct store *s, struct binder *b)
{
	int	 err;

	if (b->rc != SQLITE_OK) {
		done(b->st);
		return ANVIL_EDB;
	}
	err = run(b->st);
	if (err == 0 && sqlite3_changes(s->db) == 0)
		err = ANVIL_ENOENT;
	return err;
}

/* Steps a query expected to return one row.  Returns 1 with a row to
 * read, 0 when there is none, or ANVIL_EDB. */
static int
step_row(sqlite3_stmt *st)
{
	int	 rc;

	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return ANVIL_EDB;
}

static void
b_text(struct binder *b, int i, const char *v)
{
	if (b->rc != SQLITE_OK)
		return;
	if (v == NULL)
		b->rc = sqlite3_bind_null(b->st, i);
	else
		b->rc = sqlite3_bind_text(b->st, i, v, -1, SQLITE_STATIC);
}

/* Binds v, or NULL for the empty string ("" means "none" in model.h). */
static void
b_text_opt(struct binder *b, int i, const char *v)
{
	b_text(b, i, v != NULL && v[0] != '\0' ? v : NULL);
}

static void
b_int(struct binder *b, int i, int64_t v)
{
	if (b->rc != SQLITE_OK)
		return;
	b->rc = sqlite3_bind_int64(b->st, i, v);
}

/* Binds v, or NULL for 0 ("not set"). */
static void
b_int_opt(struct binder *b, int i, int64_t v)
{
	if (b->rc != SQLITE_OK)
		return;
	if (v == 0)
		b->rc = sqlite3_bind_null(b->st, i);
	else
		b->rc = sqlite3_bind_int64(b->st, i, v);
}

static void
b_blob(struct binder *b, int i, const void *v, size_t len)
{
	if (b->rc != SQLITE_OK)
		return;
	b->rc = sqlite3_bind_blob64(b->st, i, v, len, SQLITE_STATIC);
}

/* Returns the text of column i, or NULL for a NULL column when nullable
 * (else an error).  The pointer is SQLite's, valid until the next step. */
static const char *
r_text(struct reader *r, int i, int nullable, size_t *ret_len)
{
	const unsigned char	*t;
	int			 type, n;

	*ret_len = 0;
	if (r->err != 0)
		return NULL;
	type = sqlite3_column_type(r->st, i);
	if (type == SQLITE_NULL) {
		if (!nullable)
			r->err = ANVIL_EDB;
		return NULL;
	}
	if (type != SQLITE_TEXT) {
		r->err = ANVIL_EDB;
		return NULL;
	}
	t = sqlite3_column_text(r->st, i);
	n = sqlite3_column_bytes(r->st, i);
	/* NULL here is an allocation failure; an embedded NUL is not ours. */
	if (t == NULL || n < 0 || strlen((const char *)t) != (size_t)n) {
		r->err = ANVIL_EDB;
		return NULL;
	}
	*ret_len = (size_t)n;
	return (const char *)t;
}

/* Returns the text of the non-NULL column i (a status or type name, for
 * the *_parse() functions of model.h), or NULL on error. */
static const char *
r_name(struct reader *r, int i)
{
	size_t	 n;

	return r_text(r, i, 0, &n);
}

/* Returns a malloc'd copy of text column i (caller frees), or NULL for a
 * NULL column when nullable.  NULL on error too, with r->err set. */
static char *
r_strdup(struct reader *r, int i, int nullable)
{
	const char	*t;
	char		*p;
	size_t		 n;

	t = r_text(r, i, nullable, &n);
	if (t == NULL)
		return NULL;
	p = malloc(n + 1);
	if (p == NULL) {
		r->err = ANVIL_EDB;
		return NULL;
	}
	memcpy(p, t, n + 1);
	return p;
}

/* Copies text column i into the fixed array dst of size bytes; a NULL
 * column gives "" when nullable.  Too long is an error. */
static void
r_fixed(struct reader *r, int i, int nullable, char *dst, size_t size)
{
	const char	*t;
	size_t		 n;

	dst[0] = '\0';
	t = r_text(r, i, nullable, &n);
	if (t == NULL)
		return;
	if (n == 0 || n >= size) {
		r->err = ANVIL_EDB;
		return;
	}
	memcpy(dst, t, n + 1);
}

/* A malloc'd copy of blob column i, which must not be empty, into *ret
 * and *ret_len (caller frees); on error r->err is set. */
static void
r_blob(struct reader *r, int i, uint8_t **ret, size_t *ret_len)
{
	const void	*p;
	int		 n;

	*ret = NULL;
	*ret_len = 0;
	if (r->err != 0)
		return;
	r->err = ANVIL_EDB;
	if (sqlite3_column_type(r->st, i) != SQLITE_BLOB)
		return;
	p = sqlite3_column_blob(r->st, i);
	n = sqlite3_column_bytes(r->st, i);
	if (p == NULL || n <= 0)
		return;
	*ret = malloc((size_t)n);
	if (*ret == NULL)
		return;
	memcpy(*ret, p, (size_t)n);
	*ret_len = (size_t)n;
	r->err = 0;
}

/* Returns integer column i; a NULL column gives 0 when nullable. */
static int64_t
r_int(struct reader *r, int i, int nullable)
{
	int	 type;

	if (r->err != 0)
		return 0;
	type = sqlite3_column_type(r->st, i);
	if (type == SQLITE_NULL && nullable)
		return 0;
	if (type != SQLITE_INTEGER) {
		r->err = ANVIL_EDB;
		return 0;
	}
	return sqlite3_column_int64(r->st, i);
}

/* Returns integer column i, which must be 0 or 1. */
static bool
r_bool(struct reader *r, int i)
{
	int64_t	 v;

	v = r_int(r, i, 0);
	if (v != 0 && v != 1)
		r->err = ANVIL_EDB;
	return v == 1;
}

/* True when the fixed array s of size bytes holds a non-empty string. */
static int
fixed_ok(const char *s, size_t size)
{
	return s[0] != '\0' && memchr(s, '\0', size) != NULL;
}

/* True when the fixed array s of size bytes is NUL-terminated. */
static int
fixed_opt_ok(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

/* Frees a NULL-terminated array of strings.  Accepts NULL.  Kept here
 * rather than calling libanvil so that the store links on its own; it
 * frees what anvil_strv_free() frees. */
static void
strv_free(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * Collects column 0 (text) of the rows of the bound query st into a new
 * NULL-terminated array *ret (free each string and the array), at most max
 * strings; *ret_n is their count and *ret_more, if not NULL, is set to 1
 * when another row follows.  The caller resets st.  Returns 0 or ANVIL_EDB.
 */
static int
collect(sqlite3_stmt *st, size_t max, char ***ret, size_t *ret_n,
    int *ret_more)
{
	struct reader	 r = { st, 0 };
	char		**v = NULL, **nv;
	size_t		 n = 0, cap = 0;
	int		 rc, err = 0, more = 0;

	v = calloc(1, sizeof(*v));
	if (v == NULL) {
		err = ANVIL_EDB;
		goto out;
	}
	cap = 1;
	for (;;) {
		rc = step_row(st);
		if (rc < 0) {
			err = rc;
			goto out;
		}
		if (rc == 0)
			break;
		if (n == max) {
			more = 1;
			break;
		}
		if (n + 1 == cap) {
			if (cap > SIZE_MAX / 2 / sizeof(*v)) {
				err = ANVIL_EDB;
				goto out;
			}
			nv = realloc(v, cap * 2 * sizeof(*v));
			if (nv == NULL) {
				err = ANVIL_EDB;
				goto out;
			}
			v = nv;
			cap *= 2;
		}
		v[n] = r_strdup(&r, 0, 0);
		if (r.err != 0) {
			err = r.err;
			goto out;
		}
		v[++n] = NULL;
	}
	*ret = v;
	v = NULL;
	*ret_n = n;
	if (ret_more != NULL)
		*ret_more = more;
out:
	strv_free(v);
	return err;
}

/*
 * Opens the atomic scope of a multi-row write: a transaction when the
 * caller has none open (*ret_nested = 0), else a savepoint inside the
 * caller's (*ret_nested = 1).  Returns 0 or ANVIL_EDB.
 */
static int
wr_begin(struct store *s, int *ret_nested)
{
	int	 nested, err;

	nested = !sqlite3_get_autocommit(s->db);
	err = run(s->st[nested ? ST_SAVEPOINT : ST_BEGIN]);
	if (err != 0)
		return ANVIL_EDB;
	*ret_nested = nested;
	return 0;
}

/*
 * Closes the scope opened by wr_begin(): commits or releases it when err
 * is 0, else undoes it.  Returns err, or ANVIL_EDB when the commit fails
 * (the writes are undone then).
 */
static int
wr_end(struct store *s, int nested, int err)
{
	if (err == 0) {
		err = run(s->st[nested ? ST_RELEASE : ST_COMMIT]);
		if (err != 0)
			err = ANVIL_EDB;
	}
	if (err == 0 || sqlite3_get_autocommit(s->db))
		return err;
	/* An I/O error may have rolled everything back already (above). */
	if (nested) {
		(void)run(s->st[ST_ROLLBACK_TO]);
		(void)run(s->st[ST_RELEASE]);
	} else
		(void)run(s->st[ST_ROLLBACK]);
	return err;
}

/* Runs a PRAGMA returning one row and copies its text into buf. */
static int
pragma_text(sqlite3 *db, const char *sql, char *buf, size_t size)
{
	sqlite3_stmt		*st = NULL;
	struct reader		 r = { NULL, 0 };
	int			 err = ANVIL_EDB;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (step_row(st) != 1)
		goto out;
	r.st = st;
	r_fixed(&r, 0, 0, buf, size);
	err = r.err;
out:
	(void)sqlite3_finalize(st);
	return err;
}

/* Runs a PRAGMA returning one integer into *ret. */
static int
pragma_int(sqlite3 *db, const char *sql, int64_t *ret)
{
	sqlite3_stmt	*st = NULL;
	struct reader	 r = { NULL, 0 };
	int64_t		 v;
	int		 err = ANVIL_EDB;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	if (step_row(st) != 1)
		goto out;
	r.st = st;
	v = r_int(&r, 0, 0);
	if (r.err != 0)
		goto out;
	*ret = v;
	err = 0;
out:
	(void)sqlite3_finalize(st);
	return err;
}

static int
exec(sqlite3 *db, const char *sql)
{
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return ANVIL_EDB;
	return 0;
}

/* Returns 0 when every foreign key of the database holds, else
 * ANVIL_EDB. */
static int
fk_check(sqlite3 *db)
{
	sqlite3_stmt	*st = NULL;
	int		 err = ANVIL_EDB;

	if (sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st,
	    NULL) != SQLITE_OK)
		goto out;
	if (step_row(st) == 0)
		err = 0;
out:
	(void)sqlite3_finalize(st);
	return err;
}

/*
 * Applies the migrations above the database's user_version in one
 * IMMEDIATE transaction, so that two processes opening a new database at
 * once migrate it once.  A database newer than this program is refused.
 * Runs before foreign keys are turned on (a migration that rebuilds a
 * parent table drops it while its children still point at it): every
 * key is checked before the commit instead.  Returns 0 or ANVIL_EDB.
 */
static int
migrate(sqlite3 *db)
{
	char	 sql[64];
	int64_t	 version = 0;
	int	 i, err;

	err = exec(db, "BEGIN IMMEDIATE");
	if (err != 0)
		return err;
	err = pragma_int(db, "PRAGMA user_version", &version);
	if (err != 0)
		goto out;
	if (version < 0 || version > STORE_SCHEMA_VERSION) {
		err = ANVIL_EDB;
		goto out;
	}
	for (i = (int)version; i < STORE_SCHEMA_VERSION; i++) {
		err = exec(db, store_migrations[i]);
		if (err != 0)
			goto out;
	}
	if (version < STORE_SCHEMA_VERSION) {
		/* The migrations ran with foreign keys off: every
		 * reference must hold before they are committed. */
		err = fk_check(db);
		if (err != 0)
			goto out;
		(void)snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		    STORE_SCHEMA_VERSION);
		err = exec(db, sql);
		if (err != 0)
			goto out;
	}
	err = exec(db, "COMMIT");
out:
	if (err != 0 && !sqlite3_get_autocommit(db))
		(void)exec(db, "ROLLBACK");
	return err;
}

/*
 * Creates the database file, if absent, readable by its owner only: it
 * holds account data.  SQLite gives its -wal and -shm files the mode of
 * the database file.  An existing file keeps the mode its owner chose.
 *
 * An existing file is not opened at all: closing any descriptor of a file
 * drops every POSIX lock the process holds on it, so a second connection
 * opened in a process (the revocation worker's) would strip the first of
 * its locks, and another process could then take the WAL for abandoned,
 * checkpoint it and delete it under the running server.
 */
static int
create_private(const char *path)
{
	int	 fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 && errno == EEXIST)
		return 0;
	if (fd == -1)
		return ANVIL_EDB;
	if (close(fd) == -1)
		return ANVIL_EDB;
	return 0;
}

/* Sets the connection up: pragmas, then migrations. */
static int
configure(sqlite3 *db, int memory)
{
	char	 mode[16];
	int64_t	 version = 0;
	int	 err;

	if (sqlite3_extended_result_codes(db, 1) != SQLITE_OK)
		return ANVIL_EDB;
	if (sqlite3_busy_timeout(db, STORE_BUSY_MS) != SQLITE_OK)
		return ANVIL_EDB;
	/* Refuse writes to sqlite_master and other ways to corrupt the file
	 * through SQL. */
	if (sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL) !=
	    SQLITE_OK)
		return ANVIL_EDB;
	/* The first read: fails here (SQLITE_NOTADB) on a foreign file.  A
	 * database of a newer schema is left as it is, journal mode too. */
	err = pragma_int(db, "PRAGMA user_version", &version);
	if (err != 0)
		return err;
	if (version < 0 || version > STORE_SCHEMA_VERSION)
		return ANVIL_EDB;
	err = pragma_text(db, "PRAGMA journal_mode = WAL", mode, sizeof(mode));
	if (err != 0)
		return err;
	if (strcmp(mode, memory ? "memory" : "wal") != 0)
		return ANVIL_EDB;
	err = exec(db, "PRAGMA synchronous = FULL");
	if (err != 0)
		return err;
	/* Statement and savepoint journals in memory: inside a batch every
	 * store_begin is a SAVEPOINT, whose journal of original pages
	 * otherwise goes to a temporary file past 64 KiB (most of the
	 * server's pwrite64 calls).  They hold only pages changed inside
	 * one transaction, and are never needed after a crash. */
	err = exec(db, "PRAGMA temp_store = MEMORY");
	if (err != 0)
		return err;
	/* Foreign keys off while migrating (migrate()), on afterwards;
	 * outside any transaction, or the pragma is silently ignored. */
	err = exec(db, "PRAGMA foreign_keys = OFF");
	if (err != 0)
		return err;
	err = migrate(db);
	if (err != 0)
		return err;
	return exec(db, "PRAGMA foreign_keys = ON");
}

static pthread_once_t config_once = PTHREAD_ONCE_INIT;

/*
 * Process-wide settings, before SQLite initialises.  No memory
 * statistics: with them every sqlite3_malloc and sqlite3_free takes one
 * global mutex, which the loop's, the sync thread's and the revocation
 * worker's connections then contend for; nothing here reads them (no
 * soft or hard heap limit).  SQLITE_MISUSE, if the process initialised
 * SQLite before, leaves the defaults: a cost, not an error.
 */
static void
config_process(void)
{
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int
store_open(const char *path, struct store **ret)
{
	struct store	*s = NULL;
	int		 memory, i, err = ANVIL_EDB;

	if (path == NULL || ret == NULL)
		return ANVIL_EINVAL;
	(void)pthread_once(&config_once, config_process);
	memory = strcmp(path, ":memory:") == 0;
	if (!memory) {
		err = create_private(path);
		if (err != 0)
			goto out;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		err = ANVIL_EDB;
		goto out;
	}
	s->wal_fd = -1;
	/* On failure db may still be set and is closed below. */
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		err = ANVIL_EDB;
		goto out;
	}
	err = configure(s->db, memory);
	if (err != 0)
		goto out;
	for (i = 0; i < ST__MAX; i++) {
		if (sqlite3_prepare_v3(s->db, st_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL) != SQLITE_OK ||
		    s->st[i] == NULL) {
			err = ANVIL_EDB;
			goto out;
		}
	}
	*ret = s;
	s = NULL;
	err = 0;
out:
	store_close(s);
	return err;
}

void
store_close(struct store *s)
{
	int	 i;

	if (s == NULL)
		return;
	for (i = 0; i < ST__MAX; i++)
		(void)sqlite3_finalize(s->st[i]);
	/* No POSIX lock is ever taken on the log itself (the WAL-index
	 * locks are on -shm), so closing this descriptor drops none. */
	if (s->wal_fd >= 0)
		(void)close(s->wal_fd);
	/* Rolls back an open transaction; the _v2 form frees the handle
	 * even if something were still unfinalized. */
	(void)sqlite3_close_v2(s->db);
	free(s);
}

int
store_defer_sync(struct store *s)
{
	const char	*db, *wal;
	int		 fd;

	if (s == NULL || s->wal_fd >= 0 || s->batch ||
	    !sqlite3_get_autocommit(s->db))
		return ANVIL_EINVAL;
	db = sqlite3_db_filename(s->db, "main");
	if (db == NULL || *db == '\0')
		return ANVIL_EINVAL;	/* in memory */
	wal = sqlite3_filename_wal(db);
	if (wal == NULL || *wal == '\0')
		return ANVIL_EINVAL;
	/* The log exists while a connection in WAL mode is open. */
	fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ANVIL_EIO;
	/* A batch that grows while the fsync runs may dirty more pages
	 * than the cache holds: without cache_spill SQLite keeps them in
	 * memory until the COMMIT instead of writing them to the log in
	 * the middle of the transaction (and again at the COMMIT when they
	 * change once more).  The batch is bounded by the open requests. */
	if (exec(s->db, "PRAGMA synchronous = NORMAL") != 0 ||
	    exec(s->db, "PRAGMA cache_spill = OFF") != 0) {
		(void)close(fd);
		return ANVIL_EIO;
	}
	s->wal_fd = fd;
	return 0;
}

int
store_wal_sync(struct store *s)
{
	if (s == NULL || s->wal_fd < 0)
		return ANVIL_EINVAL;
	return fdatasync(s->wal_fd) == 0 ? 0 : ANVIL_EIO;
}

int
store_autocheckpoint(struct store *s, int pages)
{
	if (s == NULL || pages < 0)
		return ANVIL_EINVAL;
	return sqlite3_wal_autocheckpoint(s->db, pages) == SQLITE_OK ? 0 :
	    ANVIL_EDB;
}

/*
 * Runs one checkpoint of mode on the main database; *ret_log is the number
 * of frames in the log afterwards (-1 when there is no log, or the
 * checkpoint could not start).  SQLITE_BUSY (another checkpoint running,
 * or the busy timeout passed) is not an error.
 */
static int
checkpoint(struct store *s, int mode, int *ret_log)
{
	int	 rc, n_log = -1, n_ckpt = -1;

	rc = sqlite3_wal_checkpoint_v2(s->db, "main", mode, &n_log, &n_ckpt);
	*ret_log = n_log;
	if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY)
		return ANVIL_EDB;
	return 0;
}

int
store_checkpoint(struct store *s, int restart_pages)
{
	int	 n_log = -1, err;

	if (s == NULL || restart_pages < 0)
		return ANVIL_EINVAL;
	/* Inside a transaction SQLite would refuse (SQLITE_LOCKED). */
	if (!sqlite3_get_autocommit(s->db))
		return ANVIL_EDB;
	err = checkpoint(s, SQLITE_CHECKPOINT_PASSIVE, &n_log);
	if (err == 0 && restart_pages > 0 && n_log >= restart_pages)
		err = checkpoint(s, SQLITE_CHECKPOINT_RESTART, &n_log);
	return err;
}

/*
 * The batch: one transaction around many store_begin()/store_commit()
 * pairs, committed (one fsync) by store_batch_commit().  Inside it
 * store_begin() is a savepoint, store_commit() releases it and
 * store_rollback() undoes only it; calls outside a pair join the batch.
 */
int
store_batch_begin(struct store *s)
{
	if (s == NULL || s->batch || !sqlite3_get_autocommit(s->db))
		return ANVIL_EDB;
	if (run(s->st[ST_BEGIN]) != 0)
		return ANVIL_EDB;
	s->batch = 1;
	s->in_tx = 0;
	return 0;
}

bool
store_batch_open(const struct store *s)
{
	return s != NULL && s->batch;
}

/*
 * Commits the batch: durable when it returns 0.  On failure everything
 * since store_batch_begin() is undone (or, if SQLite had already rolled
 * the transaction back after an I/O error, the calls since then committed
 * one by one: the caller must report a failure either way).  No batch is
 * open afterwards.
 */
int
store_batch_commit(struct store *s)
{
	int	 err = ANVIL_EDB;

	if (s == NULL || !s->batch)
		return ANVIL_EDB;
	s->batch = 0;
	if (s->in_tx) {
		/* A handler left its transaction open: undo it, keep the
		 * rest (as store_rollback() would have). */
		(void)run(s->st[ST_TX_ROLLBACK_TO]);
		(void)run(s->st[ST_TX_RELEASE]);
		s->in_tx = 0;
	}
	if (sqlite3_get_autocommit(s->db))
		return ANVIL_EDB;
	if (run(s->st[ST_COMMIT]) == 0)
		err = 0;
	if (err != 0 && !sqlite3_get_autocommit(s->db))
		(void)run(s->st[ST_ROLLBACK]);
	return err;
}

int
store_begin(struct store *s)
{
	if (s->batch) {
		/* The batch lost (an I/O error rolled it back) or nested. */
		if (s->in_tx || sqlite3_get_autocommit(s->db))
			return ANVIL_EDB;
		if (run(s->st[ST_TX_SAVEPOINT]) != 0)
			return ANVIL_EDB;
		s->in_tx = 1;
		return 0;
	}
	return run(s->st[ST_BEGIN]) == 0 ? 0 : ANVIL_EDB;
}

/* On failure the transaction is rolled back: none is open afterwards. */
int
store_commit(struct store *s)
{
	if (s->batch) {
		if (!s->in_tx)
			return ANVIL_EDB;
		s->in_tx = 0;
		if (!sqlite3_get_autocommit(s->db) &&
		    run(s->st[ST_TX_RELEASE]) == 0)
			return 0;
		if (!sqlite3_get_autocommit(s->db)) {
			(void)run(s->st[ST_TX_ROLLBACK_TO]);
			(void)run(s->st[ST_TX_RELEASE]);
		}
		return ANVIL_EDB;
	}
	if (run(s->st[ST_COMMIT]) == 0)
		return 0;
	if (!sqlite3_get_autocommit(s->db))
		(void)run(s->st[ST_ROLLBACK]);
	return ANVIL_EDB;
}

/* Rolling back with no transaction open is a no-op (0), so that cleanup
 * paths may call it unconditionally. */
int
store_rollback(struct store *s)
{
	int	 err = 0;

	if (s->batch) {
		if (!s->in_tx)
			return 0;
		s->in_tx = 0;
		if (sqlite3_get_autocommit(s->db))
			return ANVIL_EDB;
		if (run(s->st[ST_TX_ROLLBACK_TO]) != 0)
			err = ANVIL_EDB;
		if (run(s->st[ST_TX_RELEASE]) != 0)
			err = ANVIL_EDB;
		return err;
	}
	if (sqlite3_get_autocommit(s->db))
		return 0;
	return run(s->st[ST_ROLLBACK]) == 0 ? 0 : ANVIL_EDB;
}

/* Accounts. */

static int
acct_check(const struct acct *a)
{
	if (a == NULL || !fixed_ok(a->id, sizeof(a->id)) || a->jwk == NULL ||
	    !fixed_ok(a->thumbprint, sizeof(a->thumbprint)) ||
	    a->contact == NULL || (int)a->status < 0 ||
	    a->status >= ACCT__MAX)
		return ANVIL_EINVAL;
	return 0;
}

int
store_acct_insert(struct store *s, const struct acct *a)
{
	sqlite3_stmt	*st = s->st[ST_ACCT_INSERT];
	struct binder	 b = { st, SQLITE_OK };
	int		 err;

	err = acct_check(a);
	if (err != 0)
		return err;
	b_text(&b, 1, a->id);
	b_text(&b, 2, a->jwk);
	b_text(&b, 3, a->thumbprint);
	b_text(&b, 4, acct_status_name(a->status));
	b_text(&b, 5, a->contact);
	b_int(&b, 6, a->tos_agreed);
	b_int(&b, 7, a->created);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	return run(st);
}

/* Looks one account up by the text key bound to ?1 of st. */
static int
acct_get_by(sqlite3_stmt *st, const char *key, struct acct *ret)
{
	struct binder	 b = { st, SQLITE_OK };
	struct reader	 r = { st, 0 };
	int		 rc, err = ANVIL_EDB;

	if (ret == NULL)
		return ANVIL_EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (key == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, key);
	if (b.rc != SQLITE_OK)
		goto out;
	rc = step_row(st);
	if (rc <= 0) {
		err = rc == 0 ? ANVIL_ENOENT : rc;
		goto out;
	}
	r_fixed(&r, 0, 0, ret->id, sizeof(ret->id));
	ret->jwk = r_strdup(&r, 1, 0);
	r_fixed(&r, 2, 0, ret->thumbprint, sizeof(ret->thumbprint));
	ret->status = acct_status_parse(r_name(&r, 3));
	ret->contact = r_strdup(&r, 4, 0);
	ret->tos_agreed = r_bool(&r, 5);
	ret->created = r_int(&r, 6, 0);
	err = r.err;
	if (err == 0 && ret->status == ACCT__MAX)
		err = ANVIL_EDB;
out:
	done(st);
	if (err != 0)
		acct_clear(ret);
	return err;
}

int
store_acct_get(struct store *s, const char *id, struct acct *ret)
{
	return acct_get_by(s->st[ST_ACCT_GET], id, ret);
}

int
store_acct_find_by_thumbprint(struct store *s, const char *thumbprint,
    struct acct *ret)
{
	return acct_get_by(s->st[ST_ACCT_BY_THUMB], thumbprint, ret);
}

int
store_acct_update(struct store *s, const struct acct *a)
{
	sqlite3_stmt	*st = s->st[ST_ACCT_UPDATE];
	struct binder	 b = { st, SQLITE_OK };
	int		 err;

	err = acct_check(a);
	if (err != 0)
		return err;
	b_text(&b, 1, a->id);
	b_text(&b, 2, a->jwk);
	b_text(&b, 3, a->thumbprint);
	b_text(&b, 4, acct_status_name(a->status));
	b_text(&b, 5, a->contact);
	b_int(&b, 6, a->tos_agreed);
	return run_update(s, &b);
}

/* Authorizations. */

static int
chall_check(const struct chall *c)
{
	if (!fixed_ok(c->id, sizeof(c->id)) ||
	    !fixed_ok(c->token, sizeof(c->token)) ||
	    (int)c->type < 0 || c->type >= CHALL_TYPE__MAX ||
	    (int)c->status < 0 || c->status >= CHALL__MAX)
		return ANVIL_EINVAL;
	return 0;
}

/* Checks what insert and update write.  The identifier is stored without
 * its "*." (model.h), which a leading '*' would contradict. */
static int
authz_check(const struct authz *a)
{
	size_t	 i;

	if (a == NULL || !fixed_ok(a->id, sizeof(a->id)) ||
	    !fixed_ok(a->acct_id, sizeof(a->acct_id)) || a->ident == NULL ||
	    a->ident[0] == '\0' || a->ident[0] == '*' ||
	    (int)a->status < 0 || a->status >= AUTHZ__MAX ||
	    a->n_challs > AUTHZ_MAX_CHALLS)
		return ANVIL_EINVAL;
	for (i = 0; i < a->n_challs; i++)
		if (chall_check(&a->challs[i]) != 0)
			return ANVIL_EINVAL;
	return 0;
}

static int
chall_insert(struct store *s, const char *authz_id, size_t pos,
    const struct chall *c)
{
	sqlite3_stmt	*st = s->st[ST_CHALL_INSERT];
	struct binder	 b = { st, SQLITE_OK };

	b_text(&b, 1, c->id);
	b_text(&b, 2, authz_id);
	b_int(&b, 3, (int64_t)pos);
	b_text(&b, 4, chall_type_name(c->type));
	b_text(&b, 5, c->token);
	b_text(&b, 6, chall_status_name(c->status));
	b_int(&b, 7, c->validated);
	b_text(&b, 8, c->error);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	return run(st);
}

int
store_authz_insert(struct store *s, const struct authz *a)
{
	sqlite3_stmt	*st = s->st[ST_AUTHZ_INSERT];
	struct binder	 b = { st, SQLITE_OK };
	size_t		 i;
	int		 nested = 0, err;

	err = authz_check(a);
	if (err != 0)
		return err;
	err = wr_begin(s, &nested);
	if (err != 0)
		return err;
	b_text(&b, 1, a->id);
	b_text(&b, 2, a->acct_id);
	b_text(&b, 3, a->ident);
	b_int(&b, 4, a->wildcard);
	b_text(&b, 5, authz_status_name(a->status));
	b_int(&b, 6, a->expires);
	if (b.rc != SQLITE_OK) {
		done(st);
		err = ANVIL_EDB;
		goto out;
	}
	err = run(st);
	for (i = 0; err == 0 && i < a->n_challs; i++)
		err = chall_insert(s, a->id, i, &a->challs[i]);
out:
	return wr_end(s, nested, err);
}

/*
 * Fills ret from the current row of st (AUTHZ_COLS) and the challenges of
 * that authorization, in their insertion order.  st must be left
 * unstepped afterwards by the caller (it is reset there).  On error ret
 * may hold owned members: the caller clears it.
 */
static int
authz_load(struct store *s, sqlite3_stmt *st, struct authz *ret)
{
	sqlite3_stmt	*cs = s->st[ST_CHALL_LIST];
	struct binder	 b = { cs, SQLITE_OK };
	struct reader	 r = { st, 0 }, cr = { cs, 0 };
	struct chall	*c;
	int		 rc, err = 0;

	r_fixed(&r, 0, 0, ret->id, sizeof(ret->id));
	r_fixed(&r, 1, 0, ret->acct_id, sizeof(ret->acct_id));
	ret->ident = r_strdup(&r, 2, 0);
	ret->wildcard = r_bool(&r, 3);
	ret->status = authz_status_parse(r_name(&r, 4));
	ret->expires = r_int(&r, 5, 0);
	if (r.err != 0 || ret->status == AUTHZ__MAX)
		return ANVIL_EDB;

	b_text(&b, 1, ret->id);
	if (b.rc != SQLITE_OK) {
		err = ANVIL_EDB;
		goto out;
	}
	for (;;) {
		rc = step_row(cs);
		if (rc < 0) {
			err = rc;
			goto out;
		}
		if (rc == 0)
			break;
		if (ret->n_challs == AUTHZ_MAX_CHALLS) {
			err = ANVIL_EDB;
			goto out;
		}
		c = &ret->challs[ret->n_challs++];
		r_fixed(&cr, 0, 0, c->id, sizeof(c->id));
		c->type = chall_type_parse(r_name(&cr, 1));
		r_fixed(&cr, 2, 0, c->token, sizeof(c->token));
		c->status = chall_status_parse(r_name(&cr, 3));
		c->validated = r_int(&cr, 4, 0);
		c->error = r_strdup(&cr, 5, 1);
		if (cr.err != 0 || c->type == CHALL_TYPE__MAX ||
		    c->status == CHALL__MAX) {
			err = ANVIL_EDB;
			goto out;
		}
	}
out:
	done(cs);
	return err;
}

/* Looks up authorization id with st (ST_AUTHZ_GET) into ret, zeroed
 * first and cleared on error. */
static int
authz_get(struct store *s, const char *id, struct authz *ret)
{
	sqlite3_stmt	*st = s->st[ST_AUTHZ_GET];
	struct binder	 b = { st, SQLITE_OK };
	int		 rc, err = ANVIL_EDB;

	b_text(&b, 1, id);
	if (b.rc != SQLITE_OK)
		goto out;
	rc = step_row(st);
	if (rc <= 0) {
		err = rc == 0 ? ANVIL_ENOENT : rc;
		goto out;
	}
	err = authz_load(s, st, ret);
out:
	done(st);
	if (err != 0)
		authz_clear(ret);
	return err;
}

int
store_authz_get(struct store *s, const char *id, struct authz *ret)
{
	if (ret == NULL)
		return ANVIL_EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (id == NULL)
		return ANVIL_EINVAL;
	return authz_get(s, id, ret);
}

/* Writes the status and expires of a (checked by the caller).  Returns 0,
 * ANVIL_ENOENT when a->id does not exist, or ANVIL_EDB. */
static int
authz_row_update(struct store *s, const struct authz *a)
{
	sqlite3_stmt	*st = s->st[ST_AUTHZ_UPDATE];
	struct binder	 b = { st, SQLITE_OK };

	b_text(&b, 1, a->id);
	b_text(&b, 2, authz_status_name(a->status));
	b_int(&b, 3, a->expires);
	return run_update(s, &b);
}

int
store_authz_update(struct store *s, const struct authz *a)
{
	int	 err;

	err = authz_check(a);
	if (err != 0)
		return err;
	return authz_row_update(s, a);
}

/*
 * One statement for the challenge, and one for the authorization only
 * when asked: a validation changes one challenge, and the authorization's
 * row only when it moves on (its reuse index entry moves with it).
 */
int
store_chall_update(struct store *s, const struct authz *a, size_t idx,
    bool with_authz)
{
	sqlite3_stmt	*st = s->st[ST_CHALL_UPDATE];
	struct binder	 b = { st, SQLITE_OK };
	const struct chall *c;
	int		 nested = 0, err;

	err = authz_check(a);
	if (err != 0)
		return err;
	if (idx >= a->n_challs)
		return ANVIL_EINVAL;
	c = &a->challs[idx];
	if (with_authz) {
		err = wr_begin(s, &nested);
		if (err != 0)
			return err;
		err = authz_row_update(s, a);
		if (err != 0)
			goto out;
	}
	b_text(&b, 1, c->id);
	b_text(&b, 2, a->id);
	b_text(&b, 3, chall_status_name(c->status));
	b_int(&b, 4, c->validated);
	b_text(&b, 5, c->error);
	b_int(&b, 6, (int64_t)idx);
	if (b.rc != SQLITE_OK) {
		done(st);
		err = ANVIL_EDB;
		goto out;
	}
	err = run(st);
	if (err == 0 && sqlite3_changes(s->db) == 0)
		err = ANVIL_ENOENT;
out:
	if (with_authz)
		err = wr_end(s, nested, err);
	return err;
}

int
store_authz_get_by_chall(struct store *s, const char *chall_id,
    struct authz *ret, size_t *ret_idx)
{
	sqlite3_stmt	*st = s->st[ST_AUTHZ_BY_CHALL];
	struct binder	 b = { st, SQLITE_OK };
	size_t		 i;
	int		 rc, err = ANVIL_EDB;

	if (ret == NULL)
		return ANVIL_EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (chall_id == NULL || ret_idx == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, chall_id);
	if (b.rc != SQLITE_OK)
		goto out;
	rc = step_row(st);
	if (rc <= 0) {
		err = rc == 0 ? ANVIL_ENOENT : rc;
		goto out;
	}
	err = authz_load(s, st, ret);
	if (err != 0)
		goto out;
	for (i = 0; i < ret->n_challs; i++)
		if (strcmp(ret->challs[i].id, chall_id) == 0)
			break;
	if (i == ret->n_challs) {
		err = ANVIL_EDB;
		goto out;
	}
	*ret_idx = i;
out:
	done(st);
	if (err != 0)
		authz_clear(ret);
	return err;
}

/* Binds the (acct_id, ident, wildcard, now) of a reuse query. */
static int
bind_reuse(sqlite3_stmt *st, const char *acct_id, const char *ident,
    bool wildcard, int64_t now)
{
	struct binder	 b = { st, SQLITE_OK };

	if (acct_id == NULL || ident == NULL || ident[0] == '*')
		return ANVIL_EINVAL;
	b_text(&b, 1, acct_id);
	b_text(&b, 2, ident);
	b_int(&b, 3, wildcard);
	b_int(&b, 4, now);
	return b.rc == SQLITE_OK ? 0 : ANVIL_EDB;
}

/*
 * Picks among the candidates of ST_AUTHZ_REUSE (the account's
 * authorizations for the name, a few) the valid one first, then the one
 * expiring last; on a tie the first in the index, by id.  Here rather
 * than by ORDER BY ... LIMIT 1, whose sorter SQLite opens, a temporary
 * B-tree, at every run, rows or not: most of the query's cost.  The one
 * picked is then read by its key.
 */
int
store_authz_find_reusable(struct store *s, const char *acct_id,
    const char *ident, bool wildcard, int64_t now, struct authz *ret)
{
	sqlite3_stmt	*st = s->st[ST_AUTHZ_REUSE];
	struct reader	 r = { st, 0 };
	char		 best[sizeof(ret->id)];
	int64_t		 valid, expires, best_valid = -1;
	int64_t		 best_expires = 0;
	int		 rc, err;

	if (ret == NULL)
		return ANVIL_EINVAL;
	memset(ret, 0, sizeof(*ret));
	err = bind_reuse(st, acct_id, ident, wildcard, now);
	if (err != 0)
		goto out;
	for (;;) {
		rc = step_row(st);
		if (rc < 0) {
			err = rc;
			goto out;
		}
		if (rc == 0)
			break;
		valid = r_int(&r, 1, 0);
		expires = r_int(&r, 2, 0);
		if (r.err == 0 && (valid > best_valid ||
		    (valid == best_valid && expires > best_expires))) {
			r_fixed(&r, 0, 0, best, sizeof(best));
			best_valid = valid;
			best_expires = expires;
		}
		if (r.err != 0) {
			err = r.err;
			goto out;
		}
	}
	done(st);
	if (best_valid < 0) {
		err = ANVIL_ENOENT;
		goto out;
	}
	err = authz_get(s, best, ret);
out:
	done(st);
	if (err != 0)
		authz_clear(ret);
	return err;
}

int
store_authz_has_valid(struct store *s, const char *acct_id,
    const char *ident, bool wildcard, int64_t now)
{
	sqlite3_stmt	*st = s->st[ST_AUTHZ_HAS_VALID];
	int		 rc;

	rc = bind_reuse(st, acct_id, ident, wildcard, now);
	if (rc == 0)
		rc = step_row(st);
	done(st);
	return rc;
}

/* Orders. */

/* Counts the NULL-terminated v, which must hold at most max strings. */
static int
strv_count(char *const *v, size_t max, size_t *ret)
{
	size_t	 n = 0;

	if (v != NULL)
		while (n < max && v[n] != NULL)
			n++;
	if (v != NULL && v[n] != NULL)
		return ANVIL_EINVAL;
	*ret = n;
	return 0;
}

static int
order_check(const struct order *o)
{
	if (o == NULL || !fixed_ok(o->id, sizeof(o->id)) ||
	    !fixed_ok(o->acct_id, sizeof(o->acct_id)) ||
	    (int)o->status < 0 || o->status >= ORDER__MAX ||
	    !fixed_opt_ok(o->cert_serial, sizeof(o->cert_serial)))
		return ANVIL_EINVAL;
	return 0;
}

/*
 * Inserts the rows of order_idents for o: name i with authz_ids[i], or
 * no link (NULL) past the first n_authzs.
 */
static int
order_idents_insert(struct store *s, const struct order *o, size_t n_authzs)
{
	sqlite3_stmt	*st = s->st[ST_ORDER_IDENT_INSERT];
	struct binder	 b = { st, SQLITE_OK };
	size_t		 i;
	int		 err = 0;

	for (i = 0; err == 0 && i < o->n_names; i++) {
		b_text(&b, 1, o->id);
		b_int(&b, 2, (int64_t)i);
		b_text(&b, 3, o->names[i]);
		b_text(&b, 4, i < n_authzs ? o->authz_ids[i] : NULL);
		if (b.rc != SQLITE_OK) {
			done(st);
			return ANVIL_EDB;
		}
		err = run(st);
	}
	return err;
}

int
store_order_insert(struct store *s, const struct order *o)
{
	sqlite3_stmt	*st = s->st[ST_ORDER_INSERT];
	struct binder	 b = { st, SQLITE_OK };
	size_t		 n_names, n_authzs;
	int		 nested = 0, err;

	err = order_check(o);
	if (err != 0)
		return err;
	/* names holds exactly n_names; authz_ids one per name, or fewer
	 * while they are being created. */
	if (strv_count(o->names, o->n_names, &n_names) != 0 ||
	    n_names != o->n_names ||
	    strv_count(o->authz_ids, o->n_names, &n_authzs) != 0)
		return ANVIL_EINVAL;
	err = wr_begin(s, &nested);
	if (err != 0)
		return err;
	b_text(&b, 1, o->id);
	b_text(&b, 2, o->acct_id);
	b_text(&b, 3, order_status_name(o->status));
	b_int(&b, 4, o->expires);
	b_int(&b, 5, o->not_before);
	b_int(&b, 6, o->not_after);
	b_text(&b, 7, o->error);
	b_text_opt(&b, 8, o->cert_serial);
	b_int(&b, 9, o->created);
	if (b.rc != SQLITE_OK) {
		done(st);
		err = ANVIL_EDB;
		goto out;
	}
	err = run(st);
	if (err == 0)
		err = order_idents_insert(s, o, n_authzs);
out:
	return wr_end(s, nested, err);
}

/*
 * Reads the names of order o->id and the ids of their authorizations
 * (ST_ORDER_IDENTS) into o->names, o->n_names and o->authz_ids: new
 * NULL-terminated arrays, the links up to the first name without one.
 * A link after a name without one is ANVIL_EDB (store_order_insert()
 * never writes it).  On error o may hold owned members: the caller
 * clears it.
 */
static int
order_idents_load(struct store *s, struct order *o)
{
	sqlite3_stmt	*st = s->st[ST_ORDER_IDENTS];
	struct binder	 b = { st, SQLITE_OK };
	struct reader	 r = { st, 0 };
	char		**nv, **av;
	size_t		 n = 0, n_authzs = 0, cap = 4;
	int		 rc, err = ANVIL_EDB;

	o->names = calloc(cap + 1, sizeof(*o->names));
	o->authz_ids = calloc(cap + 1, sizeof(*o->authz_ids));
	if (o->names == NULL || o->authz_ids == NULL)
		goto out;
	b_text(&b, 1, o->id);
	if (b.rc != SQLITE_OK)
		goto out;
	for (;;) {
		rc = step_row(st);
		if (rc < 0)
			goto out;
		if (rc == 0)
			break;
		if (n == cap) {
			if (cap > SIZE_MAX / 2 / sizeof(*nv) - 1)
				goto out;
			nv = realloc(o->names, (cap * 2 + 1) * sizeof(*nv));
			if (nv == NULL)
				goto out;
			o->names = nv;
			av = realloc(o->authz_ids, (cap * 2 + 1) * sizeof(*av));
			if (av == NULL)
				goto out;
			o->authz_ids = av;
			cap *= 2;
		}
		o->names[n] = r_strdup(&r, 0, 0);
		o->names[++n] = NULL;
		o->authz_ids[n_authzs] = r_strdup(&r, 1, 1);
		if (r.err != 0)
			goto out;
		if (o->authz_ids[n_authzs] != NULL) {
			if (n_authzs + 1 != n) {
				free(o->authz_ids[n_authzs]);
				o->authz_ids[n_authzs] = NULL;
				goto out;
			}
			n_authzs++;
		}
		o->authz_ids[n_authzs] = NULL;
	}
	o->n_names = n;
	err = 0;
out:
	done(st);
	return err;
}

int
store_order_get(struct store *s, const char *id, struct order *ret)
{
	sqlite3_stmt	*st = s->st[ST_ORDER_GET];
	struct binder	 b = { st, SQLITE_OK };
	struct reader	 r = { st, 0 };
	int		 rc, err = ANVIL_EDB;

	if (ret == NULL)
		return ANVIL_EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (id == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, id);
	if (b.rc != SQLITE_OK)
		goto out;
	rc = step_row(st);
	if (rc <= 0) {
		err = rc == 0 ? ANVIL_ENOENT : rc;
		goto out;
	}
	r_fixed(&r, 0, 0, ret->id, sizeof(ret->id));
	r_fixed(&r, 1, 0, ret->acct_id, sizeof(ret->acct_id));
	ret->status = order_status_parse(r_name(&r, 2));
	ret->expires = r_int(&r, 3, 0);
	ret->not_before = r_int(&r, 4, 0);
	ret->not_after = r_int(&r, 5, 0);
	ret->error = r_strdup(&r, 6, 1);
	r_fixed(&r, 7, 1, ret->cert_serial, sizeof(ret->cert_serial));
	ret->created = r_int(&r, 8, 0);
	done(st);
	if (r.err != 0 || ret->status == ORDER__MAX) {
		err = ANVIL_EDB;
		goto out;
	}
	err = order_idents_load(s, ret);
out:
	done(st);
	if (err != 0)
		order_clear(ret);
	return err;
}

int
store_order_update(struct store *s, const struct order *o)
{
	sqlite3_stmt	*st = s->st[ST_ORDER_UPDATE];
	struct binder	 b = { st, SQLITE_OK };
	int		 err;

	err = order_check(o);
	if (err != 0)
		return err;
	b_text(&b, 1, o->id);
	b_text(&b, 2, order_status_name(o->status));
	b_text(&b, 3, o->error);
	b_text_opt(&b, 4, o->cert_serial);
	return run_update(s, &b);
}

int
store_order_list(struct store *s, const char *acct_id, size_t offset,
    size_t limit, char ***ret_ids, int *ret_more)
{
	sqlite3_stmt	*st = s->st[ST_ORDER_LIST];
	struct binder	 b = { st, SQLITE_OK };
	size_t		 n;
	int		 err = ANVIL_EDB;

	if (acct_id == NULL || ret_ids == NULL || ret_more == NULL)
		return ANVIL_EINVAL;
	/* SQLite counts in int64; beyond that nothing is there anyway.
	 * One row more than asked tells whether more follow. */
	if (offset > INT64_MAX)
		offset = INT64_MAX;
	if (limit > INT64_MAX - 1)
		limit = INT64_MAX - 1;
	b_text(&b, 1, acct_id);
	b_int(&b, 2, (int64_t)offset);
	b_int(&b, 3, (int64_t)limit + 1);
	if (b.rc == SQLITE_OK)
		err = collect(st, limit, ret_ids, &n, ret_more);
	done(st);
	return err;
}

int
store_order_ids_by_authz(struct store *s, const char *authz_id,
    char ***ret_ids)
{
	sqlite3_stmt	*st = s->st[ST_ORDER_BY_AUTHZ];
	struct binder	 b = { st, SQLITE_OK };
	size_t		 n;
	int		 err = ANVIL_EDB;

	if (authz_id == NULL || ret_ids == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, authz_id);
	if (b.rc == SQLITE_OK)
		err = collect(st, SIZE_MAX, ret_ids, &n, NULL);
	done(st);
	return err;
}

int
store_authz_sibling_unanswered(struct store *s, const char *authz_id)
{
	sqlite3_stmt	*st = s->st[ST_AUTHZ_SIBLING_UNANSWERED];
	struct binder	 b = { st, SQLITE_OK };
	int		 rc = ANVIL_EDB;

	if (authz_id == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, authz_id);
	if (b.rc == SQLITE_OK)
		rc = step_row(st);
	done(st);
	return rc;
}

int
store_chall_processing(struct store *s, size_t max, char ***ret_ids,
    int *ret_more)
{
	sqlite3_stmt	*st = s->st[ST_CHALL_PROCESSING];
	size_t		 n;
	int		 err;

	if (ret_ids == NULL || ret_more == NULL)
		return ANVIL_EINVAL;
	err = collect(st, max, ret_ids, &n, ret_more);
	done(st);
	return err;
}

/* Certificates. */

/* RFC 5280 §5.3.1: reason codes 0 to 10, 7 unused. */
static int
reason_ok(int reason)
{
	return reason >= 0 && reason <= REASON_MAX && reason != 7;
}

int
store_cert_insert(struct store *s, const struct cert *c)
{
	sqlite3_stmt	*st = s->st[ST_CERT_INSERT];
	struct binder	 b = { st, SQLITE_OK };

	if (c == NULL || !fixed_ok(c->serial, sizeof(c->serial)) ||
	    !fixed_ok(c->acct_id, sizeof(c->acct_id)) ||
	    !fixed_ok(c->order_id, sizeof(c->order_id)) ||
	    c->der == NULL || c->der_len == 0 || c->names == NULL ||
	    c->spki_hash == NULL || c->revoked_at < 0 || c->shard < 0 ||
	    (c->revoked_at != 0 && !reason_ok(c->reason)))
		return ANVIL_EINVAL;
	b_text(&b, 1, c->serial);
	b_text(&b, 2, c->acct_id);
	b_text(&b, 3, c->order_id);
	b_blob(&b, 4, c->der, c->der_len);
	b_text(&b, 5, c->names);
	b_text(&b, 6, c->spki_hash);
	b_int(&b, 7, c->not_before);
	b_int(&b, 8, c->not_after);
	b_int_opt(&b, 9, c->revoked_at);
	if (c->revoked_at != 0)
		b_int(&b, 10, c->reason);
	b_int(&b, 11, c->shard);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	return run(st);
}

/* Reads the columns of ST_CERT_GET and ST_CERT_LIST but der (3). */
static void
cert_row(struct reader *r, struct cert *c)
{
	r_fixed(r, 0, 0, c->serial, sizeof(c->serial));
	r_fixed(r, 1, 0, c->acct_id, sizeof(c->acct_id));
	r_fixed(r, 2, 0, c->order_id, sizeof(c->order_id));
	c->names = r_strdup(r, 4, 0);
	c->spki_hash = r_strdup(r, 5, 0);
	c->not_before = r_int(r, 6, 0);
	c->not_after = r_int(r, 7, 0);
	c->revoked_at = r_int(r, 8, 1);
	c->reason = (int)r_int(r, 9, 1);
	c->shard = (int)r_int(r, 10, 0);
	c->invalidity = r_int(r, 11, 1);
}

int
store_cert_get(struct store *s, const char *serial, struct cert *ret)
{
	sqlite3_stmt	*st = s->st[ST_CERT_GET];
	struct binder	 b = { st, SQLITE_OK };
	struct reader	 r = { st, 0 };
	int		 rc, err = ANVIL_EDB;

	if (ret == NULL)
		return ANVIL_EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (serial == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, serial);
	if (b.rc != SQLITE_OK)
		goto out;
	rc = step_row(st);
	if (rc <= 0) {
		err = rc == 0 ? ANVIL_ENOENT : rc;
		goto out;
	}
	cert_row(&r, ret);
	r_blob(&r, 3, &ret->der, &ret->der_len);
	if (r.err != 0)
		goto out;
	err = 0;
out:
	done(st);
	if (err != 0)
		cert_clear(ret);
	return err;
}

int
store_cert_status(struct store *s, const char *serial, int64_t *revoked_at,
    int *reason)
{
	sqlite3_stmt	*st = s->st[ST_CERT_STATUS];
	struct binder	 b = { st, SQLITE_OK };
	struct reader	 r = { st, 0 };
	int64_t		 at, why;
	int		 rc, err = ANVIL_EDB;

	if (serial == NULL || revoked_at == NULL || reason == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, serial);
	if (b.rc != SQLITE_OK)
		goto out;
	rc = step_row(st);
	if (rc <= 0) {
		err = rc == 0 ? ANVIL_ENOENT : rc;
		goto out;
	}
	at = r_int(&r, 0, 1);
	why = r_int(&r, 1, 1);
	if (r.err != 0)
		goto out;
	*revoked_at = at;
	*reason = (int)why;
	err = 0;
out:
	done(st);
	return err;
}

int
store_cert_revoke(struct store *s, const char *serial, int reason,
    int64_t when)
{
	sqlite3_stmt	*st = s->st[ST_CERT_REVOKE];
	sqlite3_stmt	*xs = s->st[ST_CERT_EXISTS];
	struct binder	 b = { st, SQLITE_OK };
	int		 rc, err;

	/* revoked_at 0 means "not revoked" in model.h. */
	if (serial == NULL || !reason_ok(reason) || when <= 0)
		return ANVIL_EINVAL;
	b_text(&b, 1, serial);
	b_int(&b, 2, when);
	b_int(&b, 3, reason);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	err = run(st);
	if (err != 0 || sqlite3_changes(s->db) == 1)
		return err;
	/* Nothing changed: unknown, or revoked already. */
	b.st = xs;
	b_text(&b, 1, serial);
	if (b.rc != SQLITE_OK) {
		done(xs);
		return ANVIL_EDB;
	}
	rc = step_row(xs);
	done(xs);
	if (rc < 0)
		return rc;
	return rc == 1 ? ANVIL_EEXIST : ANVIL_ENOENT;
}

int
store_cert_set_invalidity(struct store *s, const char *serial, int64_t when)
{
	sqlite3_stmt	*st = s->st[ST_CERT_INVALIDITY];
	struct binder	 b = { st, SQLITE_OK };
	int		 err;

	if (serial == NULL || when <= 0)
		return ANVIL_EINVAL;
	b_text(&b, 1, serial);
	b_int(&b, 2, when);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	err = run(st);
	if (err == 0 && sqlite3_changes(s->db) != 1)
		err = ANVIL_ENOENT;
	return err;
}

int
store_cert_list(struct store *s, const struct cert_filter *f,
    int (*fn)(void *arg, const struct cert *c), void *arg)
{
	sqlite3_stmt	*st = s->st[ST_CERT_LIST];
	struct binder	 b = { st, SQLITE_OK };
	struct reader	 r = { st, 0 };
	struct cert	 c;
	int		 rc, err = 0;

	memset(&c, 0, sizeof(c));
	if (f == NULL || fn == NULL)
		return ANVIL_EINVAL;
	b_int(&b, 1, f->revoked_only ? 1 : 0);
	b_int(&b, 2, f->expiring_before);
	b_int(&b, 3, f->now);
	if (b.rc != SQLITE_OK) {
		err = ANVIL_EDB;
		goto out;
	}
	for (;;) {
		rc = step_row(st);
		if (rc <= 0) {
			err = rc;
			break;
		}
		cert_row(&r, &c);
		if (r.err != 0) {
			err = r.err;
			break;
		}
		err = fn(arg, &c);
		cert_clear(&c);
		if (err != 0)
			break;
	}
out:
	cert_clear(&c);
	done(st);
	return err;
}

int
store_meta_get(struct store *s, const char *key, int64_t *ret)
{
	sqlite3_stmt	*st = s->st[ST_META_GET];
	struct binder	 b = { st, SQLITE_OK };
	struct reader	 r = { st, 0 };
	int64_t		 v;
	int		 rc, err;

	if (key == NULL || ret == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, key);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	rc = step_row(st);
	if (rc <= 0) {
		done(st);
		return rc == 0 ? ANVIL_ENOENT : rc;
	}
	v = r_int(&r, 0, 0);
	err = r.err;
	done(st);
	if (err == 0)
		*ret = v;
	return err;
}

int
store_meta_set(struct store *s, const char *key, int64_t value)
{
	sqlite3_stmt	*st = s->st[ST_META_SET];
	struct binder	 b = { st, SQLITE_OK };

	if (key == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, key);
	b_int(&b, 2, value);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	return run(st);
}

int
store_crl_shards(struct store *s, int want, int *ret)
{
	sqlite3_stmt	*st = s->st[ST_CERT_ANY];
	int64_t		 have = 0;
	int		 nested = 0, any, err;

	if (want < 1 || ret == NULL)
		return ANVIL_EINVAL;
	err = wr_begin(s, &nested);
	if (err != 0)
		return err;
	err = store_meta_get(s, "crl_shards", &have);
	if (err == ANVIL_ENOENT) {
		have = 0;
		err = 0;
	}
	if (err != 0)
		goto out;
	any = step_row(st);
	done(st);
	if (any < 0) {
		err = any;
		goto out;
	}
	if (have == want) {
		*ret = want;
		goto out;
	}
	/* A database made before migration 2 holds certificates without a
	 * CDP: they sit in shard 0 whatever the number, so it may be set. */
	if (any == 1 && have != 0) {
		*ret = (int)have;
		err = ANVIL_EEXIST;
		goto out;
	}
	err = store_meta_set(s, "crl_shards", want);
	if (err == 0)
		*ret = want;
out:
	return wr_end(s, nested, err == ANVIL_EEXIST ? 0 : err) != 0 ?
	    ANVIL_EDB : err;
}

int
store_revoked_list(struct store *s, int shard, int64_t now, size_t max,
    struct revoked **ret, size_t *ret_n)
{
	sqlite3_stmt	*st = s->st[ST_REVOKED_LIST];
	struct binder	 b = { st, SQLITE_OK };
	struct reader	 r = { st, 0 };
	struct revoked	*v = NULL, *nv;
	size_t		 n = 0, cap = 0;
	int		 rc, err = 0;

	if (ret == NULL || ret_n == NULL || shard < 0)
		return ANVIL_EINVAL;
	b_int(&b, 1, shard);
	b_int(&b, 2, now);
	if (b.rc != SQLITE_OK) {
		err = ANVIL_EDB;
		goto out;
	}
	for (;;) {
		rc = step_row(st);
		if (rc < 0) {
			err = rc;
			goto out;
		}
		if (rc == 0)
			break;
		if (n == max) {
			err = ANVIL_E2BIG;
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			if (cap > max)
				cap = max;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				err = ANVIL_ENOMEM;
				goto out;
			}
			v = nv;
		}
		r_fixed(&r, 0, 0, v[n].serial, sizeof(v[n].serial));
		v[n].revoked_at = r_int(&r, 1, 0);
		v[n].reason = (int)r_int(&r, 2, 0);
		v[n].invalidity = r_int(&r, 3, 1);
		if (r.err != 0) {
			err = r.err;
			goto out;
		}
		n++;
	}
	*ret = v;
	*ret_n = n;
	v = NULL;
out:
	done(st);
	free(v);
	return err;
}

void
signed_obj_clear(struct signed_obj *o)
{
	if (o == NULL)
		return;
	free(o->der);
	memset(o, 0, sizeof(*o));
}

/* Reads a row of ST_CRL_GET or ST_OCSP_GET into ret. */
static int
signed_get(sqlite3_stmt *st, int is_crl, struct signed_obj *ret)
{
	struct reader	 r = { st, 0 };
	int		 rc, err = ANVIL_EDB;

	rc = step_row(st);
	if (rc <= 0) {
		err = rc == 0 ? ANVIL_ENOENT : rc;
		goto out;
	}
	if (is_crl)
		ret->shard = (int)r_int(&r, 0, 0);
	else
		r_fixed(&r, 0, 0, ret->serial, sizeof(ret->serial));
	ret->number = r_int(&r, 1, 0);
	ret->this_update = r_int(&r, 2, 0);
	ret->next_update = r_int(&r, 3, 0);
	r_blob(&r, 4, &ret->der, &ret->der_len);
	if (r.err != 0)
		goto out;
	err = 0;
out:
	done(st);
	if (err != 0)
		signed_obj_clear(ret);
	return err;
}

int
store_crl_get(struct store *s, int shard, struct signed_obj *ret)
{
	sqlite3_stmt	*st = s->st[ST_CRL_GET];
	struct binder	 b = { st, SQLITE_OK };

	if (ret == NULL)
		return ANVIL_EINVAL;
	memset(ret, 0, sizeof(*ret));
	b_int(&b, 1, shard);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	return signed_get(st, 1, ret);
}

int
store_crl_put(struct store *s, const struct signed_obj *o)
{
	sqlite3_stmt	*st = s->st[ST_CRL_PUT];
	struct binder	 b = { st, SQLITE_OK };

	if (o == NULL || o->der == NULL || o->der_len == 0 || o->number < 1)
		return ANVIL_EINVAL;
	b_int(&b, 1, o->shard);
	b_int(&b, 2, o->number);
	b_int(&b, 3, o->this_update);
	b_int(&b, 4, o->next_update);
	b_blob(&b, 5, o->der, o->der_len);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	return run(st);
}

int
store_ocsp_get(struct store *s, const char *serial, struct signed_obj *ret)
{
	sqlite3_stmt	*st = s->st[ST_OCSP_GET];
	struct binder	 b = { st, SQLITE_OK };

	if (ret == NULL)
		return ANVIL_EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (serial == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, serial);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	return signed_get(st, 0, ret);
}

int
store_ocsp_put(struct store *s, const struct signed_obj *o)
{
	sqlite3_stmt	*st = s->st[ST_OCSP_PUT];
	struct binder	 b = { st, SQLITE_OK };

	if (o == NULL || !fixed_ok(o->serial, sizeof(o->serial)) ||
	    o->der == NULL || o->der_len == 0)
		return ANVIL_EINVAL;
	b_text(&b, 1, o->serial);
	b_int(&b, 2, o->this_update);
	b_int(&b, 3, o->next_update);
	b_blob(&b, 4, o->der, o->der_len);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	return run(st);
}

int
store_ocsp_due(struct store *s, int64_t before, int64_t now, size_t max,
    char ***ret)
{
	sqlite3_stmt	*st = s->st[ST_OCSP_DUE];
	struct binder	 b = { st, SQLITE_OK };
	size_t		 n = 0;
	int		 err;

	if (ret == NULL || max == 0 || max > INT_MAX)
		return ANVIL_EINVAL;
	b_int(&b, 1, before);
	b_int(&b, 2, now);
	b_int(&b, 3, (int64_t)max);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	err = collect(st, max, ret, &n, NULL);
	done(st);
	return err;
}

int
store_ocsp_missing(struct store *s, int64_t after, int64_t window,
    int64_t now, char ***ret, int64_t *ret_last)
{
	sqlite3_stmt	*st = s->st[ST_OCSP_MISSING];
	sqlite3_stmt	*mx = s->st[ST_OCSP_MISSING_MAX];
	struct binder	 b = { mx, SQLITE_OK };
	struct reader	 r = { mx, 0 };
	char		**v = NULL;
	size_t		 n = 0;
	int64_t		 last = after;
	int		 rc, err;

	if (ret == NULL || ret_last == NULL || window < 1 || after < 0)
		return ANVIL_EINVAL;
	b_int(&b, 1, after);
	b_int(&b, 2, window);
	if (b.rc != SQLITE_OK) {
		done(mx);
		return ANVIL_EDB;
	}
	rc = step_row(mx);
	if (rc == 1)
		last = r_int(&r, 0, 1);
	err = rc < 0 ? rc : r.err;
	done(mx);
	if (err != 0)
		return err;
	if (last == 0)
		last = after;
	b.st = st;
	b_int(&b, 1, after);
	b_int(&b, 2, window);
	b_int(&b, 3, now);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	err = collect(st, (size_t)window, &v, &n, NULL);
	done(st);
	if (err != 0)
		return err;
	*ret = v;
	*ret_last = last;
	return 0;
}

int
store_key_block(struct store *s, const char *spki_hash, int reason,
    int64_t when)
{
	sqlite3_stmt	*st = s->st[ST_KEY_BLOCK];
	struct binder	 b = { st, SQLITE_OK };

	if (spki_hash == NULL || spki_hash[0] == '\0')
		return ANVIL_EINVAL;
	b_text(&b, 1, spki_hash);
	b_int(&b, 2, reason);
	b_int(&b, 3, when);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	return run(st);
}

int
store_key_blocked(struct store *s, const char *spki_hash)
{
	sqlite3_stmt	*st = s->st[ST_KEY_BLOCKED];
	struct binder	 b = { st, SQLITE_OK };
	int		 rc;

	if (spki_hash == NULL)
		return ANVIL_EINVAL;
	b_text(&b, 1, spki_hash);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	rc = step_row(st);
	done(st);
	return rc;
}

int
store_revocations_since(struct store *s, int64_t after, size_t max,
    struct revocation_event *ret, size_t *ret_n)
{
	sqlite3_stmt	*st = s->st[ST_REVOCATIONS];
	struct binder	 b = { st, SQLITE_OK };
	struct reader	 r = { st, 0 };
	size_t		 n = 0;
	int		 rc, err = 0;

	if (ret == NULL || ret_n == NULL || max == 0 || max > INT_MAX)
		return ANVIL_EINVAL;
	b_int(&b, 1, after);
	b_int(&b, 2, (int64_t)max);
	if (b.rc != SQLITE_OK) {
		done(st);
		return ANVIL_EDB;
	}
	while (n < max) {
		rc = step_row(st);
		if (rc < 0) {
			err = rc;
			break;
		}
		if (rc == 0)
			break;
		ret[n].seq = r_int(&r, 0, 0);
		r_fixed(&r, 1, 0, ret[n].serial, sizeof(ret[n].serial));
		ret[n].shard = (int)r_int(&r, 2, 0);
		if (r.err != 0) {
			err = r.err;
			break;
		}
		n++;
	}
	done(st);
	if (err == 0)
		*ret_n = n;
	return err;
}
