/*
 * test_store.c - unit tests for the SQLite storage authority
 * (server/store_sqlite.c behind server/store.h).
 *
 * Each test gets a fresh database file in its own mkdtemp() directory.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "anvil/error.h"
#include "model.h"
#include "store.h"
#include "store_schema.h"

struct fx {
	char		 dir[64];
	char		 path[128];
	struct store	*s;
};

/* The test's own copy: libanvil's anvil_strv_free() frees the same. */
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

static size_t
strv_len(char **v)
{
	size_t	 n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

static void
rm(const char *dir, const char *name)
{
	char	 p[192];

	(void)snprintf(p, sizeof(p), "%s/%s", dir, name);
	(void)unlink(p);
}

static int
setup(void **state)
{
	struct fx	*f;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	(void)snprintf(f->dir, sizeof(f->dir), "/tmp/test_store.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	(void)snprintf(f->path, sizeof(f->path), "%s/ca.db", f->dir);
	assert_int_equal(store_open(f->path, &f->s), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx	*f = *state;

	store_close(f->s);
	rm(f->dir, "ca.db");
	rm(f->dir, "ca.db-wal");
	rm(f->dir, "ca.db-shm");
	rm(f->dir, "other.db");
	rm(f->dir, "other.db-wal");
	rm(f->dir, "other.db-shm");
	assert_int_equal(rmdir(f->dir), 0);
	free(f);
	return 0;
}

/* Closes and reopens the fixture's store, as a restart would. */
static void
reopen(struct fx *f)
{
	store_close(f->s);
	f->s = NULL;
	assert_int_equal(store_open(f->path, &f->s), 0);
}

/* Runs a one-integer query on the file directly, as the sqlite3 CLI would. */
static int64_t
sql_int(const char *path, const char *sql)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	int64_t		 v;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return v;
}

/* Whether SQLite's plan for sql names index. */
static bool
plan_uses(const char *path, const char *sql, const char *index)
{
	sqlite3		*db = NULL;
	sqlite3_stmt	*st = NULL;
	char		 q[512];
	const char	*detail;
	bool		 found = false;

	(void)snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		detail = (const char *)sqlite3_column_text(st, 3);
		if (detail != NULL && strstr(detail, index) != NULL)
			found = true;
	}
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	return found;
}

/* Fixtures.  Strings point at literals: these structs are only inserted,
 * never cleared. */

static void
mk_acct(struct acct *a, const char *id, const char *thumb)
{
	memset(a, 0, sizeof(*a));
	(void)snprintf(a->id, sizeof(a->id), "%s", id);
	a->jwk = "{\"crv\":\"P-256\",\"kty\":\"EC\",\"x\":\"a\",\"y\":\"b\"}";
	(void)snprintf(a->thumbprint, sizeof(a->thumbprint), "%s", thumb);
	a->status = ACCT_VALID;
	a->contact = "[\"mailto:admin@example.org\"]";
	a->tos_agreed = true;
	a->created = 1700000000;
}

static void
mk_authz(struct authz *a, const char *id, const char *acct_id,
    const char *ident, bool wildcard, enum authz_status st, int64_t expires)
{
	static const enum chall_type types[] = {
		CHALL_HTTP01, CHALL_DNS01, CHALL_TLSALPN01
	};
	size_t	 i;

	memset(a, 0, sizeof(*a));
	(void)snprintf(a->id, sizeof(a->id), "%s", id);
	(void)snprintf(a->acct_id, sizeof(a->acct_id), "%s", acct_id);
	a->ident = (char *)ident;
	a->wildcard = wildcard;
	a->status = st;
	a->expires = expires;
	/* A wildcard gets dns-01 only (RFC 8555 §7.1.3). */
	a->n_challs = wildcard ? 1 : AUTHZ_MAX_CHALLS;
	for (i = 0; i < a->n_challs; i++) {
		(void)snprintf(a->challs[i].id, sizeof(a->challs[i].id),
		    "%s-c%zu", id, i);
		a->challs[i].type = wildcard ? CHALL_DNS01 : types[i];
		(void)snprintf(a->challs[i].token, sizeof(a->challs[i].token),
		    "tok-%s-%zu", id, i);
		a->challs[i].status = CHALL_PENDING;
	}
}

static void
mk_order(struct order *o, const char *id, const char *acct_id,
    char **names, size_t n, char **authz_ids, int64_t created)
{
	memset(o, 0, sizeof(*o));
	(void)snprintf(o->id, sizeof(o->id), "%s", id);
	(void)snprintf(o->acct_id, sizeof(o->acct_id), "%s", acct_id);
	o->status = ORDER_PENDING;
	o->expires = created + 7 * 86400;
	o->names = names;
	o->n_names = n;
	o->authz_ids = authz_ids;
	o->created = created;
}

static const uint8_t der_bytes[] = {
	0x30, 0x82, 0x01, 0x0a, 0x00, 0xff, 0x00, 0x7f, 0x80, 0x01
};

static void
mk_cert(struct cert *c, const char *serial, const char *acct_id,
    const char *order_id)
{
	memset(c, 0, sizeof(*c));
	(void)snprintf(c->serial, sizeof(c->serial), "%s", serial);
	(void)snprintf(c->acct_id, sizeof(c->acct_id), "%s", acct_id);
	(void)snprintf(c->order_id, sizeof(c->order_id), "%s", order_id);
	c->der = (uint8_t *)der_bytes;	/* never freed: not cleared */
	c->der_len = sizeof(der_bytes);
	c->names = "[\"example.org\",\"*.example.org\"]";
	c->spki_hash = "47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU";
	c->not_before = 1700000000;
	c->not_after = 1700000000 + 90 * 86400;
}

/* Comparisons of every field. */

static void
acct_eq(const struct acct *a, const struct acct *b)
{
	assert_string_equal(a->id, b->id);
	assert_string_equal(a->jwk, b->jwk);
	assert_string_equal(a->thumbprint, b->thumbprint);
	assert_int_equal(a->status, b->status);
	assert_string_equal(a->contact, b->contact);
	assert_int_equal(a->tos_agreed, b->tos_agreed);
	assert_int_equal(a->created, b->created);
}

static void
str_opt_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
authz_eq(const struct authz *a, const struct authz *b)
{
	size_t	 i;

	assert_string_equal(a->id, b->id);
	assert_string_equal(a->acct_id, b->acct_id);
	assert_string_equal(a->ident, b->ident);
	assert_int_equal(a->wildcard, b->wildcard);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->n_challs, b->n_challs);
	for (i = 0; i < a->n_challs; i++) {
		assert_string_equal(a->challs[i].id, b->challs[i].id);
		assert_int_equal(a->challs[i].type, b->challs[i].type);
		assert_string_equal(a->challs[i].token, b->challs[i].token);
		assert_int_equal(a->challs[i].status, b->challs[i].status);
		assert_int_equal(a->challs[i].validated,
		    b->challs[i].validated);
		str_opt_eq(a->challs[i].error, b->challs[i].error);
	}
}

static void
order_eq(const struct order *a, const struct order *b)
{
	size_t	 i;

	assert_string_equal(a->id, b->id);
	assert_string_equal(a->acct_id, b->acct_id);
	assert_int_equal(a->status, b->status);
	assert_int_equal(a->expires, b->expires);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->not_after, b->not_after);
	assert_int_equal(a->n_names, b->n_names);
	assert_int_equal(strv_len(a->names), a->n_names);
	assert_int_equal(strv_len(b->names), b->n_names);
	for (i = 0; i < a->n_names; i++)
		assert_string_equal(a->names[i], b->names[i]);
	assert_int_equal(strv_len(a->authz_ids), strv_len(b->authz_ids));
	for (i = 0; a->authz_ids[i] != NULL; i++)
		assert_string_equal(a->authz_ids[i], b->authz_ids[i]);
	str_opt_eq(a->error, b->error);
	assert_string_equal(a->cert_serial, b->cert_serial);
	assert_int_equal(a->created, b->created);
}

static void
cert_eq(const struct cert *a, const struct cert *b)
{
	assert_string_equal(a->serial, b->serial);
	assert_string_equal(a->acct_id, b->acct_id);
	assert_string_equal(a->order_id, b->order_id);
	assert_int_equal(a->der_len, b->der_len);
	assert_memory_equal(a->der, b->der, a->der_len);
	assert_string_equal(a->names, b->names);
	assert_string_equal(a->spki_hash, b->spki_hash);
	assert_int_equal(a->not_before, b->not_before);
	assert_int_equal(a->not_after, b->not_after);
	assert_int_equal(a->revoked_at, b->revoked_at);
	assert_int_equal(a->reason, b->reason);
}

/* True when every byte of the n bytes at p is zero. */
static int
zeroed(const void *p, size_t n)
{
	const uint8_t	*b = p;
	size_t		 i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return 0;
	return 1;
}

/* Inserts account "acct-1" and its pending order "order-1" for "a.test",
 * on which the certificate tests hang. */
static void
insert_base(struct store *s)
{
	static char	*names[] = { "a.test", NULL };
	static char	*authz_ids[] = { "authz-1", NULL };
	struct acct	 a;
	struct authz	 z;
	struct order	 o;

	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(s, &a), 0);
	mk_authz(&z, "authz-1", "acct-1", "a.test", false, AUTHZ_PENDING,
	    1800000000);
	assert_int_equal(store_authz_insert(s, &z), 0);
	mk_order(&o, "order-1", "acct-1", names, 1, authz_ids, 1700000000);
	assert_int_equal(store_order_insert(s, &o), 0);
}

/* Invalid input first. */

static void
test_open_invalid(void **state)
{
	struct fx	*f = *state;
	struct store	*s = NULL;
	sqlite3		*db = NULL;
	char		 p[160], junk[4096];
	FILE		*fp;

	assert_int_equal(store_open(NULL, &s), ANVIL_EINVAL);
	assert_int_equal(store_open(f->path, NULL), ANVIL_EINVAL);
	assert_int_equal(store_open("/nonexistent-anvil-dir/ca.db", &s),
	    ANVIL_EDB);
	assert_null(s);

	/* A file that is not a database. */
	(void)snprintf(p, sizeof(p), "%s/other.db", f->dir);
	memset(junk, 'x', sizeof(junk));
	fp = fopen(p, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(store_open(p, &s), ANVIL_EDB);
	assert_null(s);
	assert_int_equal(unlink(p), 0);

	/* A database from a newer schema than ours. */
	assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 999", NULL,
	    NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(store_open(p, &s), ANVIL_EDB);
	assert_null(s);
	assert_int_equal(sql_int(p, "PRAGMA user_version"), 999);
}

static void
test_args_invalid(void **state)
{
	struct fx	*f = *state;
	static char	*names2[] = { "a.test", NULL };
	struct acct	 a, got;
	struct authz	 z, gz;
	struct order	 o;
	struct cert	 c;
	char		**ids = NULL;
	int		 more;

	mk_acct(&a, "acct-1", "thumb-1");
	a.jwk = NULL;
	assert_int_equal(store_acct_insert(f->s, &a), ANVIL_EINVAL);
	mk_acct(&a, "acct-1", "thumb-1");
	a.status = ACCT__MAX;
	assert_int_equal(store_acct_insert(f->s, &a), ANVIL_EINVAL);
	mk_acct(&a, "acct-1", "thumb-1");
	memset(a.id, 'a', sizeof(a.id));	/* not terminated */
	assert_int_equal(store_acct_insert(f->s, &a), ANVIL_EINVAL);
	mk_acct(&a, "", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a), ANVIL_EINVAL);
	assert_int_equal(store_acct_insert(f->s, NULL), ANVIL_EINVAL);

	/* Getters zero their output even when refusing. */
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(store_acct_get(f->s, NULL, &got), ANVIL_EINVAL);
	assert_true(zeroed(&got, sizeof(got)));
	assert_int_equal(store_acct_get(f->s, "acct-1", NULL), ANVIL_EINVAL);

	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a), 0);

	/* The identifier is stored without "*.". */
	mk_authz(&z, "authz-1", "acct-1", "*.a.test", true, AUTHZ_PENDING, 9);
	assert_int_equal(store_authz_insert(f->s, &z), ANVIL_EINVAL);
	mk_authz(&z, "authz-1", "acct-1", "a.test", false, AUTHZ_PENDING, 9);
	z.n_challs = AUTHZ_MAX_CHALLS + 1;
	assert_int_equal(store_authz_insert(f->s, &z), ANVIL_EINVAL);
	mk_authz(&z, "authz-1", "acct-1", "a.test", false, AUTHZ__MAX, 9);
	assert_int_equal(store_authz_insert(f->s, &z), ANVIL_EINVAL);
	mk_authz(&z, "authz-1", "acct-1", "a.test", false, AUTHZ_PENDING, 9);
	z.challs[1].type = CHALL_TYPE__MAX;
	assert_int_equal(store_authz_insert(f->s, &z), ANVIL_EINVAL);
	memset(&gz, 0xa5, sizeof(gz));
	assert_int_equal(store_authz_get_by_chall(f->s, "x", &gz, NULL),
	    ANVIL_EINVAL);
	assert_true(zeroed(&gz, sizeof(gz)));
	assert_int_equal(store_authz_has_valid(f->s, "acct-1", "*.a.test",
	    true, 0), ANVIL_EINVAL);
	assert_int_equal(store_authz_get(f->s, "authz-1", &gz), ANVIL_ENOENT);

	/* names must hold n_names entries; authz_ids at most as many. */
	mk_order(&o, "order-1", "acct-1", names2, 2, NULL, 1);
	assert_int_equal(store_order_insert(f->s, &o), ANVIL_EINVAL);
	mk_order(&o, "order-1", "acct-1", NULL, 1, NULL, 1);
	assert_int_equal(store_order_insert(f->s, &o), ANVIL_EINVAL);
	assert_int_equal(store_order_list(f->s, NULL, 0, 1, &ids, &more),
	    ANVIL_EINVAL);
	assert_null(ids);

	mk_cert(&c, "01", "acct-1", "order-1");
	c.der_len = 0;
	assert_int_equal(store_cert_insert(f->s, &c), ANVIL_EINVAL);
	assert_int_equal(store_cert_revoke(f->s, "01", 7, 5), ANVIL_EINVAL);
	assert_int_equal(store_cert_revoke(f->s, "01", REASON_MAX + 1, 5),
	    ANVIL_EINVAL);
	assert_int_equal(store_cert_revoke(f->s, "01", -1, 5), ANVIL_EINVAL);
	assert_int_equal(store_cert_revoke(f->s, "01", 1, 0), ANVIL_EINVAL);
	assert_int_equal(store_cert_revoke(f->s, NULL, 1, 5), ANVIL_EINVAL);
}

/* Opening twice applies the migrations once; the file reads well. */
static void
test_open_twice(void **state)
{
	struct fx	*f = *state;
	struct acct	 a, got;

	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a), 0);
	reopen(f);
	reopen(f);
	assert_int_equal(store_acct_get(f->s, "acct-1", &got), 0);
	acct_clear(&got);
	/* Migration 2 (revocation) adds meta, crls, ocsp, blocked_keys
	 * and revocations. */
	assert_int_equal(sql_int(f->path, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(sql_int(f->path,
	    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"), 11);
	assert_int_equal(sql_int(f->path,
	    "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
	    " AND name IN ('authzs_reuse', 'orders_acct', 'challenges_id',"
	    " 'order_idents_authz', 'certs_revoked', 'ocsp_this_update')"),
	    6);
	/* Migration 6 merged order_names and order_authzs. */
	assert_int_equal(sql_int(f->path,
	    "SELECT count(*) FROM sqlite_master WHERE name IN"
	    " ('order_names', 'order_authzs', 'authzs_6', 'challenges_6')"),
	    0);
	/* Migration 3 dropped the indexes no query read. */
	assert_int_equal(sql_int(f->path,
	    "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
	    " AND name IN ('certs_spki', 'certs_not_after')"), 0);
	/* WAL is a property of the file, kept across connections. */
	assert_int_equal(sql_int(f->path,
	    "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
	/* Statuses are stored as their names. */
	assert_int_equal(sql_int(f->path,
	    "SELECT count(*) FROM accounts WHERE status = 'valid'"), 1);
}

/* An in-memory database serves other modules' tests. */
static void
test_open_memory(void **state)
{
	struct store	*s = NULL;
	struct acct	 a, got;

	(void)state;
	assert_int_equal(store_open(":memory:", &s), 0);
	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(s, &a), 0);
	assert_int_equal(store_acct_get(s, "acct-1", &got), 0);
	acct_eq(&got, &a);
	acct_clear(&got);
	store_close(s);
	store_close(NULL);
}

/* The database and its WAL are not readable by others, whatever the
 * umask. */
static void
test_file_mode(void **state)
{
	struct fx	*f = *state;
	struct store	*s = NULL;
	struct acct	 a;
	struct stat	 sb;
	char		 p[160], wal[176];
	mode_t		 old;

	(void)snprintf(p, sizeof(p), "%s/other.db", f->dir);
	(void)snprintf(wal, sizeof(wal), "%s-wal", p);
	old = umask(0);
	assert_int_equal(store_open(p, &s), 0);
	(void)umask(old);
	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(s, &a), 0);
	assert_int_equal(stat(p, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(stat(wal, &sb), 0);
	assert_int_equal(sb.st_mode & 077, 0);
	store_close(s);
}

static void
test_acct(void **state)
{
	struct fx	*f = *state;
	struct acct	 a, b, got;

	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a), 0);

	/* Missing ones, with the output left empty. */
	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(store_acct_get(f->s, "acct-2", &got), ANVIL_ENOENT);
	assert_true(zeroed(&got, sizeof(got)));
	assert_int_equal(store_acct_find_by_thumbprint(f->s, "thumb-2", &got),
	    ANVIL_ENOENT);
	assert_true(zeroed(&got, sizeof(got)));

	/* Same key (thumbprint) twice, or the same id twice. */
	mk_acct(&b, "acct-2", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &b), ANVIL_EEXIST);
	mk_acct(&b, "acct-1", "thumb-2");
	assert_int_equal(store_acct_insert(f->s, &b), ANVIL_EEXIST);
	assert_int_equal(store_acct_get(f->s, "acct-2", &got), ANVIL_ENOENT);

	assert_int_equal(store_acct_get(f->s, "acct-1", &got), 0);
	acct_eq(&got, &a);
	acct_clear(&got);
	assert_int_equal(store_acct_find_by_thumbprint(f->s, "thumb-1", &got),
	    0);
	acct_eq(&got, &a);
	acct_clear(&got);

	/* Key rollover, contact change, deactivation; created stays. */
	a.jwk = "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"c\"}";
	(void)snprintf(a.thumbprint, sizeof(a.thumbprint), "thumb-9");
	a.contact = "[]";
	a.tos_agreed = false;
	a.status = ACCT_DEACTIVATED;
	b = a;
	b.created = 1;
	assert_int_equal(store_acct_update(f->s, &b), 0);
	assert_int_equal(store_acct_get(f->s, "acct-1", &got), 0);
	acct_eq(&got, &a);
	acct_clear(&got);
	assert_int_equal(store_acct_find_by_thumbprint(f->s, "thumb-1", &got),
	    ANVIL_ENOENT);
	assert_int_equal(store_acct_find_by_thumbprint(f->s, "thumb-9", &got),
	    0);
	assert_string_equal(got.id, "acct-1");
	acct_clear(&got);

	/* Update of a missing account; update onto a taken thumbprint. */
	mk_acct(&b, "acct-3", "thumb-3");
	assert_int_equal(store_acct_update(f->s, &b), ANVIL_ENOENT);
	assert_int_equal(store_acct_insert(f->s, &b), 0);
	(void)snprintf(b.thumbprint, sizeof(b.thumbprint), "thumb-9");
	assert_int_equal(store_acct_update(f->s, &b), ANVIL_EEXIST);
	assert_int_equal(store_acct_get(f->s, "acct-3", &got), 0);
	assert_string_equal(got.thumbprint, "thumb-3");
	acct_clear(&got);
}

static void
test_authz(void **state)
{
	struct fx	*f = *state;
	struct acct	 a;
	struct authz	 z, y, got;
	size_t		 idx = 99;

	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a), 0);

	/* An unknown account is refused by the foreign key. */
	mk_authz(&z, "authz-0", "acct-9", "a.test", false, AUTHZ_PENDING, 9);
	assert_int_equal(store_authz_insert(f->s, &z), ANVIL_EDB);
	assert_int_equal(store_authz_get(f->s, "authz-0", &got),
	    ANVIL_ENOENT);
	assert_int_equal(store_authz_get_by_chall(f->s, "authz-0-c0", &got,
	    &idx), ANVIL_ENOENT);

	mk_authz(&z, "authz-1", "acct-1", "a.test", false, AUTHZ_PENDING,
	    1800000000);
	z.challs[2].error = "{\"type\":\"urn:ietf:params:acme:error:tls\"}";
	z.challs[2].status = CHALL_INVALID;
	assert_int_equal(store_authz_insert(f->s, &z), 0);
	assert_int_equal(store_authz_insert(f->s, &z), ANVIL_EEXIST);

	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(store_authz_get(f->s, "authz-2", &got), ANVIL_ENOENT);
	assert_true(zeroed(&got, sizeof(got)));
	assert_int_equal(store_authz_get(f->s, "authz-1", &got), 0);
	authz_eq(&got, &z);
	authz_clear(&got);

	assert_int_equal(store_authz_get_by_chall(f->s, "authz-1-c1", &got,
	    &idx), 0);
	assert_int_equal(idx, 1);
	authz_eq(&got, &z);
	assert_int_equal(got.challs[idx].type, CHALL_DNS01);
	authz_clear(&got);
	idx = 99;
	assert_int_equal(store_authz_get_by_chall(f->s, "nope", &got, &idx),
	    ANVIL_ENOENT);
	assert_int_equal(idx, 99);

	/* A second authorization reusing a challenge id fails whole: its
	 * row and its first challenge are gone too. */
	mk_authz(&y, "authz-2", "acct-1", "b.test", false, AUTHZ_PENDING, 9);
	(void)snprintf(y.challs[1].id, sizeof(y.challs[1].id), "authz-1-c0");
	assert_int_equal(store_authz_insert(f->s, &y), ANVIL_EEXIST);
	assert_int_equal(store_authz_get(f->s, "authz-2", &got),
	    ANVIL_ENOENT);
	assert_int_equal(store_authz_get_by_chall(f->s, "authz-2-c0", &got,
	    &idx), ANVIL_ENOENT);

	/* Validation of http-01 started: that challenge only. */
	z.challs[0].status = CHALL_PROCESSING;
	assert_int_equal(store_chall_update(f->s, &z, 0, false), 0);
	assert_int_equal(store_authz_get(f->s, "authz-1", &got), 0);
	authz_eq(&got, &z);
	authz_clear(&got);

	/* Validation succeeded on dns-01: it and the authorization. */
	z.status = AUTHZ_VALID;
	z.expires = 1900000000;
	z.challs[1].status = CHALL_VALID;
	z.challs[1].validated = 1700000123;
	assert_int_equal(store_chall_update(f->s, &z, 1, true), 0);
	assert_int_equal(store_authz_get(f->s, "authz-1", &got), 0);
	authz_eq(&got, &z);
	authz_clear(&got);

	/* http-01 failed: its error is written, its status too, and
	 * nothing else of what differs in memory. */
	y = z;
	y.status = AUTHZ_DEACTIVATED;
	y.challs[2].status = CHALL_PENDING;
	y.challs[0].status = CHALL_INVALID;
	y.challs[0].error = "{\"type\":\"urn:ietf:params:acme:error:dns\"}";
	assert_int_equal(store_chall_update(f->s, &y, 0, false), 0);
	z.challs[0] = y.challs[0];
	assert_int_equal(store_authz_get(f->s, "authz-1", &got), 0);
	authz_eq(&got, &z);
	authz_clear(&got);

	/* store_authz_update() writes the authorization's row only. */
	y = z;
	y.status = AUTHZ_DEACTIVATED;
	y.expires = 1900000500;
	y.challs[2].status = CHALL_PENDING;
	y.challs[2].error = NULL;
	assert_int_equal(store_authz_update(f->s, &y), 0);
	z.status = y.status;
	z.expires = y.expires;
	assert_int_equal(store_authz_get(f->s, "authz-1", &got), 0);
	authz_eq(&got, &z);
	assert_int_equal(got.challs[2].status, CHALL_INVALID);
	authz_clear(&got);

	/* An update naming a challenge of no such authorization changes
	 * nothing at all, the authorization's row neither. */
	y = z;
	y.status = AUTHZ_REVOKED;
	(void)snprintf(y.challs[2].id, sizeof(y.challs[2].id), "other");
	assert_int_equal(store_chall_update(f->s, &y, 2, true), ANVIL_ENOENT);
	assert_int_equal(store_chall_update(f->s, &y, 2, false),
	    ANVIL_ENOENT);
	assert_int_equal(store_authz_get(f->s, "authz-1", &got), 0);
	authz_eq(&got, &z);
	authz_clear(&got);
	/* Its own challenge, at another position, neither. */
	y = z;
	y.status = AUTHZ_REVOKED;
	(void)snprintf(y.challs[2].id, sizeof(y.challs[2].id), "%s",
	    z.challs[1].id);
	assert_int_equal(store_chall_update(f->s, &y, 2, true), ANVIL_ENOENT);
	assert_int_equal(store_authz_get(f->s, "authz-1", &got), 0);
	authz_eq(&got, &z);
	authz_clear(&got);
	y = z;
	assert_int_equal(store_chall_update(f->s, &y, AUTHZ_MAX_CHALLS, true),
	    ANVIL_EINVAL);
	mk_authz(&y, "authz-9", "acct-1", "a.test", false, AUTHZ_VALID, 9);
	assert_int_equal(store_authz_update(f->s, &y), ANVIL_ENOENT);
	assert_int_equal(store_chall_update(f->s, &y, 0, true),
	    ANVIL_ENOENT);
	assert_int_equal(store_chall_update(f->s, &y, 0, false),
	    ANVIL_ENOENT);
	/* A challenge of another authorization is not this one's. */
	(void)snprintf(y.challs[0].id, sizeof(y.challs[0].id), "authz-1-c0");
	assert_int_equal(store_chall_update(f->s, &y, 0, false),
	    ANVIL_ENOENT);
	assert_int_equal(store_authz_get(f->s, "authz-1", &got), 0);
	assert_int_equal(got.challs[0].status, CHALL_INVALID);
	authz_clear(&got);
}

static void
test_authz_reuse(void **state)
{
	struct fx	*f = *state;
	struct acct	 a;
	struct authz	 z, got;
	struct {
		const char	*id;
		const char	*acct;
		bool		 wild;
		enum authz_status st;
		int64_t		 expires;
	} rows[] = {
		{ "p-2000", "acct-1", false, AUTHZ_PENDING, 2000 },
		{ "v-1500", "acct-1", false, AUTHZ_VALID, 1500 },
		{ "v-900", "acct-1", false, AUTHZ_VALID, 900 },	/* expired */
		{ "v-1800", "acct-1", false, AUTHZ_VALID, 1800 },
		{ "o-5000", "acct-2", false, AUTHZ_VALID, 5000 },
		{ "w-5000", "acct-1", true, AUTHZ_VALID, 5000 },
		{ "i-5000", "acct-1", false, AUTHZ_INVALID, 5000 },
		{ "d-5000", "acct-1", false, AUTHZ_DEACTIVATED, 5000 },
		{ "p-2500", "acct-1", false, AUTHZ_PENDING, 2500 },
		/* First by id: neither may hide a better one after it. */
		{ "a-2200", "acct-1", false, AUTHZ_PENDING, 2200 },
		{ "b-1700", "acct-1", false, AUTHZ_VALID, 1700 },
	};
	size_t		 i;

	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a), 0);
	mk_acct(&a, "acct-2", "thumb-2");
	assert_int_equal(store_acct_insert(f->s, &a), 0);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		mk_authz(&z, rows[i].id, rows[i].acct, "a.test",
		    rows[i].wild, rows[i].st, rows[i].expires);
		assert_int_equal(store_authz_insert(f->s, &z), 0);
	}

	/* Valid beats pending; among valid, the one expiring last. */
	assert_int_equal(store_authz_find_reusable(f->s, "acct-1", "a.test",
	    false, 1000, &got), 0);
	assert_string_equal(got.id, "v-1800");
	assert_int_equal(got.n_challs, AUTHZ_MAX_CHALLS);
	assert_string_equal(got.challs[0].id, "v-1800-c0");
	authz_clear(&got);
	/* Expiry is strict: at 1800 that one no longer counts. */
	assert_int_equal(store_authz_find_reusable(f->s, "acct-1", "a.test",
	    false, 1799, &got), 0);
	assert_string_equal(got.id, "v-1800");
	authz_clear(&got);
	assert_int_equal(store_authz_find_reusable(f->s, "acct-1", "a.test",
	    false, 1800, &got), 0);
	assert_string_equal(got.id, "p-2500");
	authz_clear(&got);
	assert_int_equal(store_authz_find_reusable(f->s, "acct-1", "a.test",
	    false, 1700, &got), 0);
	assert_string_equal(got.id, "v-1800");
	authz_clear(&got);
	assert_int_equal(store_authz_find_reusable(f->s, "acct-1", "a.test",
	    false, 2499, &got), 0);
	assert_string_equal(got.id, "p-2500");
	assert_int_equal(got.status, AUTHZ_PENDING);
	assert_int_equal(got.expires, 2500);
	authz_clear(&got);
	assert_int_equal(store_authz_find_reusable(f->s, "acct-1", "a.test",
	    false, 2500, &got), ANVIL_ENOENT);
	assert_true(zeroed(&got, sizeof(got)));
	/* The wildcard flag and the account must match. */
	assert_int_equal(store_authz_find_reusable(f->s, "acct-1", "a.test",
	    true, 2500, &got), 0);
	assert_string_equal(got.id, "w-5000");
	assert_true(got.wildcard);
	authz_clear(&got);
	assert_int_equal(store_authz_find_reusable(f->s, "acct-2", "a.test",
	    false, 1000, &got), 0);
	assert_string_equal(got.id, "o-5000");
	authz_clear(&got);
	assert_int_equal(store_authz_find_reusable(f->s, "acct-2", "a.test",
	    true, 1000, &got), ANVIL_ENOENT);
	assert_int_equal(store_authz_find_reusable(f->s, "acct-1", "b.test",
	    false, 1000, &got), ANVIL_ENOENT);
	assert_int_equal(store_authz_find_reusable(f->s, "acct-3", "a.test",
	    false, 1000, &got), ANVIL_ENOENT);

	assert_int_equal(store_authz_has_valid(f->s, "acct-1", "a.test",
	    false, 1799), 1);
	assert_int_equal(store_authz_has_valid(f->s, "acct-1", "a.test",
	    false, 1800), 0);	/* only pending ones left */
	assert_int_equal(store_authz_has_valid(f->s, "acct-1", "a.test",
	    true, 4999), 1);
	assert_int_equal(store_authz_has_valid(f->s, "acct-1", "a.test",
	    true, 5000), 0);
	assert_int_equal(store_authz_has_valid(f->s, "acct-2", "a.test",
	    true, 1000), 0);
	assert_int_equal(store_authz_has_valid(f->s, "acct-2", "a.test",
	    false, 1000), 1);
	assert_int_equal(store_authz_has_valid(f->s, "acct-1", "b.test",
	    false, 1000), 0);
}

/* Whether the program SQLite compiles for sql (on db) holds opcode. */
static bool
program_has(sqlite3 *db, const char *sql, const char *opcode)
{
	sqlite3_stmt	*st = NULL;
	char		 q[512];
	const char	*op;
	bool		 found = false;

	(void)snprintf(q, sizeof(q), "EXPLAIN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		op = (const char *)sqlite3_column_text(st, 1);
		if (op != NULL && strcmp(op, opcode) == 0)
			found = true;
	}
	assert_int_equal(sqlite3_finalize(st), SQLITE_OK);
	return found;
}

/* Runs sql with ?1 bound to v on db: the SQLite result code. */
static int
exec_text(sqlite3 *db, const char *sql, const char *v)
{
	sqlite3_stmt	*st = NULL;
	int		 rc;

	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_bind_text(st, 1, v, -1, SQLITE_STATIC),
	    SQLITE_OK);
	rc = sqlite3_step(st);
	(void)sqlite3_finalize(st);
	return rc;
}

/*
 * The CHECKs of the tables written per issuance accept exactly the names
 * of model.h, and SQLite runs them, and the reuse query, without a
 * temporary table (OpenEphemeral: an IN list of three or more values, or
 * an ORDER BY, built one at every run).
 */
static void
test_checks(void **state)
{
	struct fx	*f = *state;
	sqlite3		*db = NULL;
	static const char *const writes[] = {
		"INSERT INTO authzs (id, acct_id, ident, wildcard, status,"
		" expires) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		"UPDATE authzs SET status = ?2, expires = ?3 WHERE id = ?1",
		"INSERT INTO challenges (id, authz_id, position, type, token,"
		" status, validated, error)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
		"UPDATE challenges SET status = ?3, validated = ?4, error = ?5"
		" WHERE authz_id = ?2 AND position = ?6 AND +id = ?1",
		"INSERT INTO orders (id, acct_id, status, expires, not_before,"
		" not_after, error, cert_serial, created)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
		"UPDATE orders SET status = ?2, error = ?3, cert_serial = ?4"
		" WHERE id = ?1",
		"INSERT INTO order_idents (order_id, position, name, authz_id)"
		" VALUES (?1, ?2, ?3, ?4)",
		"SELECT id, status = 'valid', expires FROM authzs"
		" WHERE acct_id = ?1 AND ident = ?2 AND wildcard = ?3"
		" AND status IN ('valid', 'pending') AND expires > ?4",
	};
	static const struct {
		const char	*sql;
		const char	*good[7];
	} checks[] = {
		{ "INSERT INTO authzs VALUES ('z', 'acct-1', 'a.test', 0, ?1,"
		  " 9)", { "pending", "valid", "invalid", "deactivated",
		  "expired", "revoked" } },
		{ "INSERT INTO challenges (authz_id, position, id, type, token,"
		  " status) VALUES ('authz-1', 7, 'c', ?1, 't', 'pending')",
		  { "http-01", "dns-01", "tls-alpn-01" } },
		{ "INSERT INTO challenges (authz_id, position, id, type, token,"
		  " status) VALUES ('authz-1', 7, 'c', 'dns-01', 't', ?1)",
		  { "pending", "processing", "valid", "invalid" } },
		{ "INSERT INTO orders (id, acct_id, status, expires, created)"
		  " VALUES ('o', 'acct-1', ?1, 9, 9)",
		  { "pending", "ready", "processing", "valid", "invalid" } },
	};
	static const char *const bad[] = {
		"", "bogus", "Valid", "valid ", "http", "ready1",
	};
	size_t		 i, j;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	for (i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
		assert_false(program_has(db, writes[i], "OpenEphemeral"));
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		for (j = 0; checks[i].good[j] != NULL; j++) {
			assert_int_equal(exec_text(db, checks[i].sql,
			    checks[i].good[j]), SQLITE_DONE);
			assert_int_equal(sqlite3_exec(db, "DELETE FROM authzs"
			    " WHERE id = 'z'; DELETE FROM challenges"
			    " WHERE id = 'c'; DELETE FROM orders"
			    " WHERE id = 'o'", NULL, NULL, NULL), SQLITE_OK);
		}
		for (j = 0; j < sizeof(bad) / sizeof(bad[0]); j++)
			assert_int_equal(exec_text(db, checks[i].sql, bad[j]),
			    SQLITE_CONSTRAINT);
	}
	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static void
test_order(void **state)
{
	struct fx	*f = *state;
	static char	*names[] = { "a.test", "*.a.test", NULL };
	static char	*authz_ids[] = { "authz-1", "authz-w", NULL };
	static char	*bad_ids[] = { "authz-1", "authz-404", NULL };
	static char	*one[] = { "a.test", NULL };
	struct acct	 a;
	struct authz	 z;
	struct order	 o, p, got;
	struct cert	 c;
	char		**ids = NULL;
	int		 more = -1;

	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a), 0);
	mk_authz(&z, "authz-1", "acct-1", "a.test", false, AUTHZ_PENDING, 9);
	assert_int_equal(store_authz_insert(f->s, &z), 0);
	mk_authz(&z, "authz-w", "acct-1", "a.test", true, AUTHZ_PENDING, 9);
	assert_int_equal(store_authz_insert(f->s, &z), 0);

	mk_order(&o, "order-1", "acct-1", names, 2, authz_ids, 1700000000);
	o.not_before = 1700000100;
	o.not_after = 1700086400;
	assert_int_equal(store_order_insert(f->s, &o), 0);
	assert_int_equal(store_order_insert(f->s, &o), ANVIL_EEXIST);

	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(store_order_get(f->s, "order-2", &got), ANVIL_ENOENT);
	assert_true(zeroed(&got, sizeof(got)));
	assert_int_equal(store_order_get(f->s, "order-1", &got), 0);
	order_eq(&got, &o);
	order_clear(&got);

	/* A link to a missing authorization undoes the whole order. */
	mk_order(&p, "order-2", "acct-1", names, 2, bad_ids, 1700000001);
	assert_int_equal(store_order_insert(f->s, &p), ANVIL_EDB);
	assert_int_equal(store_order_get(f->s, "order-2", &got), ANVIL_ENOENT);
	assert_int_equal(sql_int(f->path, "SELECT count(*) FROM order_idents"
	    " WHERE order_id = 'order-2'"), 0);

	/* Another order sharing authz-1; one not linked yet. */
	mk_order(&p, "order-2", "acct-1", one, 1, authz_ids, 1700000001);
	authz_ids[1] = NULL;
	assert_int_equal(store_order_insert(f->s, &p), 0);
	authz_ids[1] = "authz-w";
	mk_order(&p, "order-3", "acct-1", one, 1, NULL, 1700000002);
	assert_int_equal(store_order_insert(f->s, &p), 0);
	assert_int_equal(store_order_get(f->s, "order-3", &got), 0);
	assert_int_equal(got.n_names, 1);
	assert_non_null(got.authz_ids);
	assert_null(got.authz_ids[0]);
	order_clear(&got);

	assert_int_equal(store_order_ids_by_authz(f->s, "authz-1", &ids), 0);
	assert_int_equal(strv_len(ids), 2);
	assert_string_equal(ids[0], "order-1");
	assert_string_equal(ids[1], "order-2");
	strv_free(ids);
	assert_int_equal(store_order_ids_by_authz(f->s, "authz-w", &ids), 0);
	assert_int_equal(strv_len(ids), 1);
	assert_string_equal(ids[0], "order-1");
	strv_free(ids);
	assert_int_equal(store_order_ids_by_authz(f->s, "authz-x", &ids), 0);
	assert_int_equal(strv_len(ids), 0);
	strv_free(ids);

	/* Whether an order of an authorization still waits for another
	 * challenge answer: authz-w is pending with no validation running,
	 * then its challenge is being validated. */
	assert_int_equal(store_authz_sibling_unanswered(f->s, "authz-1"), 1);
	assert_int_equal(store_authz_sibling_unanswered(f->s, "authz-w"), 1);
	assert_int_equal(store_authz_sibling_unanswered(f->s, "authz-x"), 0);
	z.challs[0].status = CHALL_PROCESSING;
	assert_int_equal(store_chall_update(f->s, &z, 0, false), 0);
	assert_int_equal(store_authz_sibling_unanswered(f->s, "authz-1"), 0);
	assert_int_equal(store_authz_sibling_unanswered(f->s, "authz-w"), 1);

	/* The validations left processing: z's challenge, and no other;
	 * with max 0, none but the word that there are more. */
	assert_int_equal(store_chall_processing(f->s, 10, &ids, &more), 0);
	assert_int_equal(strv_len(ids), 1);
	assert_string_equal(ids[0], z.challs[0].id);
	assert_int_equal(more, 0);
	strv_free(ids);
	assert_int_equal(store_chall_processing(f->s, 0, &ids, &more), 0);
	assert_int_equal(strv_len(ids), 0);
	assert_int_equal(more, 1);
	strv_free(ids);

	/* Update writes status, error and cert_serial only. */
	o.status = ORDER_INVALID;
	o.error = "{\"type\":\"urn:ietf:params:acme:error:badCSR\"}";
	p = o;
	p.expires = 1;
	p.created = 2;
	p.n_names = 0;
	p.names = NULL;
	assert_int_equal(store_order_update(f->s, &p), 0);
	assert_int_equal(store_order_get(f->s, "order-1", &got), 0);
	order_eq(&got, &o);
	order_clear(&got);

	/* A serial must name a stored certificate. */
	(void)snprintf(p.cert_serial, sizeof(p.cert_serial), "0badc0de");
	assert_int_equal(store_order_update(f->s, &p), ANVIL_EDB);
	assert_int_equal(store_order_get(f->s, "order-1", &got), 0);
	assert_string_equal(got.cert_serial, "");
	order_clear(&got);
	mk_cert(&c, "0badc0de", "acct-1", "order-1");
	assert_int_equal(store_cert_insert(f->s, &c), 0);
	o.status = ORDER_VALID;
	o.error = NULL;
	(void)snprintf(o.cert_serial, sizeof(o.cert_serial), "0badc0de");
	assert_int_equal(store_order_update(f->s, &o), 0);
	assert_int_equal(store_order_get(f->s, "order-1", &got), 0);
	order_eq(&got, &o);
	order_clear(&got);

	mk_order(&p, "order-9", "acct-1", one, 1, NULL, 1);
	assert_int_equal(store_order_update(f->s, &p), ANVIL_ENOENT);
}

/* Checks one page of acct-1's orders. */
static void
page(struct store *s, size_t offset, size_t limit, const char *want,
    int want_more)
{
	char	**ids = NULL, buf[128] = "";
	size_t	 i;
	int	 more = -1;

	assert_int_equal(store_order_list(s, "acct-1", offset, limit, &ids,
	    &more), 0);
	for (i = 0; ids[i] != NULL; i++) {
		(void)strncat(buf, ids[i], sizeof(buf) - strlen(buf) - 1);
		(void)strncat(buf, " ", sizeof(buf) - strlen(buf) - 1);
	}
	assert_string_equal(buf, want);
	assert_int_equal(more, want_more);
	strv_free(ids);
}

static void
test_order_list(void **state)
{
	struct fx	*f = *state;
	static char	*one[] = { "a.test", NULL };
	static const struct {
		const char	*id;
		const char	*acct;
		int64_t		 created;
	} rows[] = {
		{ "o1", "acct-1", 100 },
		{ "x1", "acct-2", 100 },
		{ "o2", "acct-1", 100 },	/* same second: by insertion */
		{ "o3", "acct-1", 101 },
		{ "x2", "acct-2", 102 },
		{ "o4", "acct-1", 102 },
		{ "o5", "acct-1", 103 },
	};
	struct acct	 a;
	struct order	 o;
	char		**ids = NULL;
	size_t		 i;
	int		 more = -1;

	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a), 0);
	mk_acct(&a, "acct-2", "thumb-2");
	assert_int_equal(store_acct_insert(f->s, &a), 0);

	assert_int_equal(store_order_list(f->s, "acct-1", 0, 10, &ids, &more),
	    0);
	assert_null(ids[0]);
	assert_int_equal(more, 0);
	strv_free(ids);

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		mk_order(&o, rows[i].id, rows[i].acct, one, 1, NULL,
		    rows[i].created);
		assert_int_equal(store_order_insert(f->s, &o), 0);
	}
	page(f->s, 0, 2, "o1 o2 ", 1);
	page(f->s, 2, 2, "o3 o4 ", 1);
	page(f->s, 4, 2, "o5 ", 0);
	page(f->s, 5, 2, "", 0);
	page(f->s, 50, 2, "", 0);
	page(f->s, 0, 5, "o1 o2 o3 o4 o5 ", 0);
	page(f->s, 0, 4, "o1 o2 o3 o4 ", 1);
	page(f->s, 0, 0, "", 1);
	page(f->s, 1, SIZE_MAX, "o2 o3 o4 o5 ", 0);
	page(f->s, SIZE_MAX, SIZE_MAX, "", 0);
	assert_int_equal(store_order_list(f->s, "acct-3", 0, 10, &ids, &more),
	    0);
	assert_null(ids[0]);
	assert_int_equal(more, 0);
	strv_free(ids);
}

static void
test_cert(void **state)
{
	struct fx	*f = *state;
	struct cert	 c, d, got;
	int64_t		 at;
	int		 why;

	insert_base(f->s);
	mk_cert(&c, "00a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3", "acct-1",
	    "order-1");
	assert_int_equal(store_cert_insert(f->s, &c), 0);
	mk_cert(&d, "00a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3", "acct-1",
	    "order-1");
	d.not_after = 5;
	assert_int_equal(store_cert_insert(f->s, &d), ANVIL_EEXIST);
	mk_cert(&d, "0101", "acct-1", "order-404");
	assert_int_equal(store_cert_insert(f->s, &d), ANVIL_EDB);

	memset(&got, 0xa5, sizeof(got));
	assert_int_equal(store_cert_get(f->s, "0101", &got), ANVIL_ENOENT);
	assert_true(zeroed(&got, sizeof(got)));
	assert_int_equal(store_cert_get(f->s, c.serial, &got), 0);
	cert_eq(&got, &c);
	assert_int_equal(got.revoked_at, 0);
	cert_clear(&got);
	/* The status alone: not revoked; unknown; untouched on failure. */
	at = -1;
	why = -1;
	assert_int_equal(store_cert_status(f->s, c.serial, &at, &why), 0);
	assert_int_equal(at, 0);
	assert_int_equal(why, 0);
	at = -1;
	why = -1;
	assert_int_equal(store_cert_status(f->s, "0101", &at, &why),
	    ANVIL_ENOENT);
	assert_int_equal(at, -1);
	assert_int_equal(why, -1);
	assert_int_equal(store_cert_status(f->s, NULL, &at, &why),
	    ANVIL_EINVAL);
	assert_int_equal(store_cert_status(f->s, c.serial, NULL, &why),
	    ANVIL_EINVAL);

	assert_int_equal(store_cert_revoke(f->s, "0101", 1, 1700001000),
	    ANVIL_ENOENT);
	assert_int_equal(store_cert_revoke(f->s, c.serial, 4, 1700001000), 0);
	c.revoked_at = 1700001000;
	c.reason = 4;
	assert_int_equal(store_cert_get(f->s, c.serial, &got), 0);
	cert_eq(&got, &c);
	cert_clear(&got);
	assert_int_equal(store_cert_status(f->s, c.serial, &at, &why), 0);
	assert_int_equal(at, 1700001000);
	assert_int_equal(why, 4);
	/* The second revocation changes nothing. */
	assert_int_equal(store_cert_revoke(f->s, c.serial, 1, 1700002000),
	    ANVIL_EEXIST);
	assert_int_equal(store_cert_get(f->s, c.serial, &got), 0);
	cert_eq(&got, &c);
	cert_clear(&got);

	/* Reason 0 (unspecified) is a reason like any other. */
	mk_cert(&d, "02", "acct-1", "order-1");
	assert_int_equal(store_cert_insert(f->s, &d), 0);
	assert_int_equal(store_cert_revoke(f->s, "02", 0, 1700003000), 0);
	assert_int_equal(store_cert_get(f->s, "02", &got), 0);
	assert_int_equal(got.revoked_at, 1700003000);
	assert_int_equal(got.reason, 0);
	cert_clear(&got);
	assert_int_equal(store_cert_revoke(f->s, "02", 0, 1700004000),
	    ANVIL_EEXIST);
}

static void
test_transactions(void **state)
{
	struct fx	*f = *state;
	static char	*one[] = { "a.test", NULL };
	static char	*links[] = { "authz-1", NULL };
	struct store	*other = NULL;
	struct acct	 a, got;
	struct authz	 z, y, gz;
	struct order	 o, go;

	assert_int_equal(store_rollback(f->s), 0);	/* none open */
	assert_int_equal(store_commit(f->s), ANVIL_EDB);

	/* Rollback really undoes. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_begin(f->s), ANVIL_EDB);	/* no nesting */
	mk_acct(&a, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a), 0);
	assert_int_equal(store_acct_get(f->s, "acct-1", &got), 0);
	acct_clear(&got);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(store_acct_get(f->s, "acct-1", &got), ANVIL_ENOENT);

	/* Multi-row writes inside the caller's transaction, undone with
	 * it. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_acct_insert(f->s, &a), 0);
	mk_authz(&z, "authz-1", "acct-1", "a.test", false, AUTHZ_PENDING, 9);
	assert_int_equal(store_authz_insert(f->s, &z), 0);
	mk_order(&o, "order-1", "acct-1", one, 1, links, 1);
	assert_int_equal(store_order_insert(f->s, &o), 0);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(store_acct_get(f->s, "acct-1", &got), ANVIL_ENOENT);
	assert_int_equal(store_authz_get(f->s, "authz-1", &gz), ANVIL_ENOENT);
	assert_int_equal(store_order_get(f->s, "order-1", &go), ANVIL_ENOENT);
	assert_int_equal(sql_int(f->path,
	    "SELECT count(*) FROM challenges"), 0);

	/* A failed multi-row write undoes itself only; the transaction
	 * goes on and commits, visible to others only then. */
	assert_int_equal(store_open(f->path, &other), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_acct_insert(f->s, &a), 0);
	assert_int_equal(store_authz_insert(f->s, &z), 0);
	mk_authz(&y, "authz-2", "acct-1", "b.test", false, AUTHZ_PENDING, 9);
	(void)snprintf(y.challs[2].id, sizeof(y.challs[2].id), "authz-1-c1");
	assert_int_equal(store_authz_insert(f->s, &y), ANVIL_EEXIST);
	assert_int_equal(store_order_insert(f->s, &o), 0);
	assert_int_equal(store_acct_get(other, "acct-1", &got), ANVIL_ENOENT);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_acct_get(other, "acct-1", &got), 0);
	acct_eq(&got, &a);
	acct_clear(&got);
	assert_int_equal(store_authz_get(other, "authz-1", &gz), 0);
	authz_eq(&gz, &z);
	authz_clear(&gz);
	assert_int_equal(store_authz_get(other, "authz-2", &gz), ANVIL_ENOENT);
	assert_int_equal(store_authz_get_by_chall(other, "authz-2-c0", &gz,
	    &(size_t){ 0 }), ANVIL_ENOENT);
	assert_int_equal(store_order_get(other, "order-1", &go), 0);
	order_clear(&go);
	store_close(other);

	/* A commit that breaks a deferred constraint fails and leaves no
	 * transaction open, and nothing of it written. */
	assert_int_equal(store_begin(f->s), 0);
	o.status = ORDER_VALID;
	(void)snprintf(o.cert_serial, sizeof(o.cert_serial), "77");
	assert_int_equal(store_order_update(f->s, &o), 0);
	assert_int_equal(store_commit(f->s), ANVIL_EDB);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(store_order_get(f->s, "order-1", &go), 0);
	assert_int_equal(go.status, ORDER_PENDING);
	assert_string_equal(go.cert_serial, "");
	order_clear(&go);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_commit(f->s), 0);
}

/*
 * Group commit: one batch transaction, store_begin() pairs as savepoints
 * inside it, nothing visible to another connection (nor durable) before
 * store_batch_commit(), and a batch whose commit fails leaves nothing.
 */
static void
test_batch(void **state)
{
	struct fx	*f = *state;
	static char	*one[] = { "a.test", NULL };
	static char	*links[] = { "authz-1", NULL };
	struct store	*other = NULL;
	struct acct	 a1, a2, a3, a4, got;
	struct authz	 z;
	struct order	 o, go;

	/* Misuse first. */
	assert_false(store_batch_open(f->s));
	assert_false(store_batch_open(NULL));
	assert_int_equal(store_batch_commit(f->s), ANVIL_EDB);
	assert_int_equal(store_batch_begin(NULL), ANVIL_EDB);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_batch_begin(f->s), ANVIL_EDB);
	assert_false(store_batch_open(f->s));
	assert_int_equal(store_rollback(f->s), 0);

	assert_int_equal(store_open(f->path, &other), 0);
	mk_acct(&a1, "acct-1", "thumb-1");
	mk_acct(&a2, "acct-2", "thumb-2");
	mk_acct(&a3, "acct-3", "thumb-3");
	assert_int_equal(store_batch_begin(f->s), 0);
	assert_true(store_batch_open(f->s));
	assert_int_equal(store_batch_begin(f->s), ANVIL_EDB);
	assert_int_equal(store_commit(f->s), ANVIL_EDB);   /* no pair open */
	assert_int_equal(store_rollback(f->s), 0);	   /* a no-op */
	/* A pair that commits: released into the batch. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_begin(f->s), ANVIL_EDB);	   /* no nesting */
	assert_int_equal(store_acct_insert(f->s, &a1), 0);
	assert_int_equal(store_commit(f->s), 0);
	/* A pair that rolls back undoes itself only. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_acct_insert(f->s, &a2), 0);
	assert_int_equal(store_rollback(f->s), 0);
	assert_int_equal(store_acct_get(f->s, "acct-2", &got), ANVIL_ENOENT);
	assert_int_equal(store_acct_get(f->s, "acct-1", &got), 0);
	acct_clear(&got);
	/* A call outside a pair joins the batch; a multi-row write too. */
	assert_int_equal(store_acct_insert(f->s, &a3), 0);
	mk_authz(&z, "authz-1", "acct-1", "a.test", false, AUTHZ_PENDING, 9);
	assert_int_equal(store_authz_insert(f->s, &z), 0);
	mk_order(&o, "order-1", "acct-1", one, 1, links, 1);
	assert_int_equal(store_order_insert(f->s, &o), 0);
	/* Nothing is visible to the other connection yet. */
	assert_int_equal(store_acct_get(other, "acct-1", &got), ANVIL_ENOENT);
	assert_int_equal(store_acct_get(other, "acct-3", &got), ANVIL_ENOENT);
	assert_int_equal(store_batch_commit(f->s), 0);
	assert_false(store_batch_open(f->s));
	assert_int_equal(store_acct_get(other, "acct-1", &got), 0);
	acct_eq(&got, &a1);
	acct_clear(&got);
	assert_int_equal(store_acct_get(other, "acct-3", &got), 0);
	acct_clear(&got);
	assert_int_equal(store_acct_get(other, "acct-2", &got), ANVIL_ENOENT);
	assert_int_equal(store_order_get(other, "order-1", &go), 0);
	order_clear(&go);

	/* A pair left open is undone at the batch's commit; the rest
	 * commits. */
	mk_acct(&a4, "acct-4", "thumb-4");
	assert_int_equal(store_batch_begin(f->s), 0);
	assert_int_equal(store_acct_insert(f->s, &a2), 0);
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_acct_insert(f->s, &a4), 0);
	assert_int_equal(store_batch_commit(f->s), 0);
	assert_int_equal(store_acct_get(other, "acct-2", &got), 0);
	acct_clear(&got);
	assert_int_equal(store_acct_get(other, "acct-4", &got), ANVIL_ENOENT);

	/* A deferred constraint is checked at the batch's commit: it fails,
	 * and the whole batch is undone, the other pairs' writes too. */
	assert_int_equal(store_batch_begin(f->s), 0);
	assert_int_equal(store_acct_insert(f->s, &a4), 0);
	assert_int_equal(store_begin(f->s), 0);
	o.status = ORDER_VALID;
	(void)snprintf(o.cert_serial, sizeof(o.cert_serial), "77");
	assert_int_equal(store_order_update(f->s, &o), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_batch_commit(f->s), ANVIL_EDB);
	assert_false(store_batch_open(f->s));
	assert_int_equal(store_acct_get(f->s, "acct-4", &got), ANVIL_ENOENT);
	assert_int_equal(store_order_get(f->s, "order-1", &go), 0);
	assert_int_equal(go.status, ORDER_PENDING);
	order_clear(&go);
	/* And the connection works as before afterwards. */
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_acct_insert(f->s, &a4), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_acct_get(other, "acct-4", &got), 0);
	acct_clear(&got);
	store_close(other);
}

/* Everything written survives a close and reopen, as a restart. */
/*
 * Two connections in one process (the server's loop and its revocation
 * worker) and a third process (sqlite3, anvil-ca revoke) opening and
 * closing the database: the WAL stays and every write is kept.  (The
 * regression crl-large.sh guards against, store_open closing a
 * descriptor of the live database and so dropping the process's POSIX
 * locks, needs a write in flight to show; this checks the plain case.)
 */
static void
test_two_connections(void **state)
{
	struct fx	*f = *state;
	struct store	*b = NULL;
	struct acct	 a1, a2, g;
	char		 wal[160];
	struct stat	 st;
	pid_t		 pid;
	int		 wst = 0;

	mk_acct(&a1, "acct-1", "thumb-1");
	assert_int_equal(store_acct_insert(f->s, &a1), 0);
	assert_int_equal(store_open(f->path, &b), 0);
	assert_int_equal(store_acct_get(b, "acct-1", &g), 0);
	acct_clear(&g);
	store_close(b);
	/* Another process (sqlite3, anvil-ca revoke) opens and closes: it
	 * must see the first connection's locks and leave the WAL alone. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		sqlite3 *db = NULL;

		if (sqlite3_open(f->path, &db) != SQLITE_OK ||
		    sqlite3_exec(db, "SELECT count(*) FROM accounts", NULL,
		    NULL, NULL) != SQLITE_OK)
			_exit(1);
		_exit(sqlite3_close(db) == SQLITE_OK ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &wst, 0), pid);
	assert_true(WIFEXITED(wst) && WEXITSTATUS(wst) == 0);
	(void)snprintf(wal, sizeof(wal), "%s-wal", f->path);
	assert_int_equal(stat(wal, &st), 0);
	/* The first connection still writes, and the write is kept. */
	mk_acct(&a2, "acct-2", "thumb-2");
	assert_int_equal(store_acct_insert(f->s, &a2), 0);
	reopen(f);
	assert_int_equal(store_acct_get(f->s, "acct-1", &g), 0);
	acct_clear(&g);
	assert_int_equal(store_acct_get(f->s, "acct-2", &g), 0);
	acct_clear(&g);
}

/* The size of file dir/name, -1 if absent. */
static off_t
file_size(const char *path, const char *suffix)
{
	char		 p[192];
	struct stat	 st;

	(void)snprintf(p, sizeof(p), "%s%s", path, suffix);
	if (stat(p, &st) != 0)
		return -1;
	return st.st_size;
}

/* Inserts n accounts named prefix-i, in one transaction, each with a jwk
 * of 6000 bytes: about 2 pages of the log each. */
static void
insert_big(struct store *s, const char *prefix, int n)
{
	static char	 jwk[6001];
	struct acct	 a;
	char		 id[16], th[20];
	int		 i;

	memset(jwk, 'j', sizeof(jwk) - 1);
	assert_int_equal(store_begin(s), 0);
	for (i = 0; i < n; i++) {
		(void)snprintf(id, sizeof(id), "%s-%d", prefix, i);
		(void)snprintf(th, sizeof(th), "th-%s-%d", prefix, i);
		mk_acct(&a, id, th);
		a.jwk = jwk;
		assert_int_equal(store_acct_insert(s, &a), 0);
	}
	assert_int_equal(store_commit(s), 0);
}

/*
 * By default a commit that leaves 1000 pages in the log copies them into
 * the database itself; with store_autocheckpoint(0) it does not, and
 * another connection's store_checkpoint() does, after which the next
 * write starts the log over instead of growing it.
 */
static void
test_checkpoint(void **state)
{
	struct fx	*f = *state;
	struct store	*other = NULL, *mem = NULL;
	struct acct	 g;
	off_t		 db, wal;

	assert_int_equal(store_autocheckpoint(NULL, 0), ANVIL_EINVAL);
	assert_int_equal(store_autocheckpoint(f->s, -1), ANVIL_EINVAL);
	assert_int_equal(store_checkpoint(NULL, 0), ANVIL_EINVAL);

	/* SQLite's default: the committing connection copied the log. */
	insert_big(f->s, "a", 800);
	assert_true(file_size(f->path, "") > 1000 * 4096);

	assert_int_equal(store_autocheckpoint(f->s, 0), 0);
	db = file_size(f->path, "");
	insert_big(f->s, "b", 800);
	wal = file_size(f->path, "-wal");
	assert_true(wal > 1000 * 4096);
	assert_int_equal(file_size(f->path, ""), db);

	/* Inside a transaction SQLite cannot checkpoint. */
	assert_int_equal(store_open(f->path, &other), 0);
	assert_int_equal(store_begin(other), 0);
	assert_int_equal(store_checkpoint(other, 1000), ANVIL_EDB);
	assert_int_equal(store_rollback(other), 0);

	assert_int_equal(store_checkpoint(other, 1000), 0);
	assert_true(file_size(f->path, "") > db + 600 * 4096);
	/* The next write starts the log over: the file does not grow. */
	insert_big(f->s, "c", 10);
	assert_int_equal(file_size(f->path, "-wal"), wal);
	assert_int_equal(store_acct_get(other, "b-799", &g), 0);
	acct_clear(&g);
	assert_int_equal(store_acct_get(f->s, "c-9", &g), 0);
	acct_clear(&g);
	/* Nothing to copy: still 0. */
	assert_int_equal(store_checkpoint(other, 0), 0);
	store_close(other);

	/* No log at all in memory. */
	assert_int_equal(store_open(":memory:", &mem), 0);
	assert_int_equal(store_autocheckpoint(mem, 0), 0);
	assert_int_equal(store_checkpoint(mem, 1), 0);
	store_close(mem);
}

static void *
sync_loop(void *arg)
{
	struct store	*s = arg;
	int		 i;

	for (i = 0; i < 50; i++)
		if (store_wal_sync(s) != 0)
			return (void *)1;
	return NULL;
}

/*
 * Deferred sync: refused where it cannot work; then commits go on while
 * another thread fsyncs the log, and what was committed is there for
 * another connection and after a reopen.
 */
static void
test_defer_sync(void **state)
{
	struct fx	*f = *state;
	struct store	*other = NULL, *mem = NULL;
	struct acct	 g;
	pthread_t	 t;
	void		*res = NULL;

	assert_int_equal(store_defer_sync(NULL), ANVIL_EINVAL);
	assert_int_equal(store_wal_sync(NULL), ANVIL_EINVAL);
	assert_int_equal(store_wal_sync(f->s), ANVIL_EINVAL);
	assert_int_equal(store_open(":memory:", &mem), 0);
	assert_int_equal(store_defer_sync(mem), ANVIL_EINVAL);
	store_close(mem);
	/* Not while a transaction is open. */
	assert_int_equal(store_batch_begin(f->s), 0);
	assert_int_equal(store_defer_sync(f->s), ANVIL_EINVAL);
	assert_int_equal(store_batch_commit(f->s), 0);

	assert_int_equal(store_defer_sync(f->s), 0);
	assert_int_equal(store_defer_sync(f->s), ANVIL_EINVAL);
	assert_int_equal(pthread_create(&t, NULL, sync_loop, f->s), 0);
	insert_big(f->s, "d", 200);
	assert_int_equal(pthread_join(t, &res), 0);
	assert_null(res);
	assert_int_equal(store_wal_sync(f->s), 0);

	assert_int_equal(store_open(f->path, &other), 0);
	assert_int_equal(store_acct_get(other, "d-199", &g), 0);
	acct_clear(&g);
	/* A checkpoint by another connection, then more deferred commits. */
	assert_int_equal(store_checkpoint(other, 1), 0);
	insert_big(f->s, "e", 10);
	assert_int_equal(store_wal_sync(f->s), 0);
	assert_int_equal(store_acct_get(other, "e-9", &g), 0);
	acct_clear(&g);
	store_close(other);

	reopen(f);
	assert_int_equal(store_acct_get(f->s, "d-0", &g), 0);
	acct_clear(&g);
	assert_int_equal(store_acct_get(f->s, "e-9", &g), 0);
	acct_clear(&g);
}

/*
 * A database of schema version 2, as the released server left it, opens
 * with its data and migrates to the current version.
 */
static void
test_migrate_v2(void **state)
{
	struct fx	*f = *state;
	struct store	*s = NULL;
	struct cert	 c;
	sqlite3		*db = NULL;
	char		 path[160];
	int		 shards = 0;

	(void)snprintf(path, sizeof(path), "%s/other.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, store_migrations[0], NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, store_migrations[1], NULL, NULL,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "PRAGMA user_version = 2;"
	    "INSERT INTO accounts VALUES ('acct-1', '{}', 'th', 'valid',"
	    "  '[]', 1, 1700000000);"
	    "INSERT INTO orders (id, acct_id, status, expires, created)"
	    "  VALUES ('order-1', 'acct-1', 'valid', 1800000000, 1700000000);"
	    "INSERT INTO certs (serial, acct_id, order_id, der, names,"
	    "  spki_hash, not_before, not_after, shard)"
	    "  VALUES ('0a', 'acct-1', 'order-1', x'3000', '[\"a.test\"]',"
	    "  'hash', 1700000000, 1900000000, 1);"
	    "UPDATE orders SET cert_serial = '0a';",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	assert_int_equal(store_open(path, &s), 0);
	assert_int_equal(sql_int(path, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"
	    " WHERE name IN ('certs_spki', 'certs_not_after',"
	    " 'certs_shard')"), 0);
	assert_true(plan_uses(path, "SELECT serial FROM certs WHERE shard = 1"
	    " AND revoked_at IS NOT NULL AND not_after >= 0",
	    "certs_revoked"));
	assert_true(plan_uses(path, "SELECT id FROM authzs WHERE acct_id = 'a'"
	    " AND ident = 'b' AND wildcard = 0 AND status IN ('valid',"
	    " 'pending') AND expires > 0", "authzs_reuse"));
	assert_int_equal(store_cert_get(s, "0a", &c), 0);
	assert_string_equal(c.spki_hash, "hash");
	assert_int_equal(c.not_after, 1900000000);
	cert_clear(&c);
	/* Certificates exist under 2 shards: the number stays. */
	assert_int_equal(store_crl_shards(s, 2, &shards), 0);
	assert_int_equal(store_crl_shards(s, 3, &shards), ANVIL_EEXIST);
	assert_int_equal(shards, 2);
	store_close(s);
}

/*
 * A database of schema version 5 (before the tables of authorizations,
 * challenges and order names were rebuilt) migrates with its data: every
 * lookup still finds it, links not made yet stay unmade, and foreign keys
 * hold afterwards.
 */
static void
test_migrate_v5(void **state)
{
	struct fx	*f = *state;
	struct store	*s = NULL;
	struct authz	 z, got;
	struct order	 o;
	sqlite3		*db = NULL;
	char		 path[160], **ids = NULL;
	char		*o_names[2] = { NULL, NULL };
	char		*o_links[1] = { NULL };
	size_t		 idx = 9;
	int		 i, more = -1;

	(void)snprintf(path, sizeof(path), "%s/other.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL",
	    NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < 5; i++)
		assert_int_equal(sqlite3_exec(db, store_migrations[i], NULL,
		    NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	    "PRAGMA user_version = 5;"
	    "INSERT INTO accounts VALUES ('acct-1', '{}', 'th', 'valid',"
	    "  '[]', 1, 1700000000);"
	    "INSERT INTO authzs VALUES ('az-1', 'acct-1', 'a.test', 0,"
	    "  'valid', 1800000000);"
	    "INSERT INTO authzs VALUES ('az-2', 'acct-1', 'b.test', 0,"
	    "  'pending', 1800000000);"
	    "INSERT INTO challenges VALUES ('c-1', 'az-1', 0, 'http-01',"
	    "  'tok-1', 'valid', 1700000100, NULL);"
	    "INSERT INTO challenges VALUES ('c-2', 'az-1', 1, 'dns-01',"
	    "  'tok-2', 'pending', 0, NULL);"
	    "INSERT INTO challenges VALUES ('c-3', 'az-2', 0, 'http-01',"
	    "  'tok-3', 'invalid', 0, '{\"type\":\"x\"}');"
	    "INSERT INTO orders (id, acct_id, status, expires, created)"
	    "  VALUES ('order-1', 'acct-1', 'pending', 1800000000,"
	    "  1700000000);"
	    "INSERT INTO order_names VALUES ('order-1', 0, 'a.test');"
	    "INSERT INTO order_names VALUES ('order-1', 1, 'b.test');"
	    "INSERT INTO order_names VALUES ('order-1', 2, 'c.test');"
	    "INSERT INTO order_authzs VALUES ('order-1', 0, 'az-1');"
	    "INSERT INTO order_authzs VALUES ('order-1', 1, 'az-2');"
	    /* Listed after order-1 (same second, later seq). */
	    "INSERT INTO orders (seq, id, acct_id, status, expires, error,"
	    "  created) VALUES (7, 'order-0', 'acct-1', 'invalid',"
	    "  1800000000, '{}', 1700000000);",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);

	assert_int_equal(store_open(path, &s), 0);
	assert_int_equal(sql_int(path, "PRAGMA user_version"),
	    STORE_SCHEMA_VERSION);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"
	    " WHERE name IN ('order_names', 'order_authzs', 'authzs_6',"
	    " 'challenges_6')"), 0);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM"
	    " pragma_foreign_key_check"), 0);
	assert_true(plan_uses(path, "SELECT id FROM authzs WHERE acct_id = 'a'"
	    " AND ident = 'b' AND wildcard = 0", "authzs_reuse"));
	assert_true(plan_uses(path, "SELECT authz_id FROM challenges"
	    " WHERE id = 'c'", "challenges_id"));
	assert_true(plan_uses(path, "SELECT order_id FROM order_idents"
	    " WHERE authz_id = 'a'", "order_idents_authz"));
	assert_true(plan_uses(path, "SELECT id FROM orders WHERE acct_id = 'a'"
	    " ORDER BY created, seq", "orders_acct"));
	assert_true(plan_uses(path, "SELECT seq FROM orders WHERE id = 'a'",
	    "sqlite_autoindex_orders_1"));
	/* orders was rebuilt with its data and its seq. */
	assert_int_equal(sql_int(path, "SELECT seq FROM orders"
	    " WHERE id = 'order-0'"), 7);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM orders"
	    " WHERE id = 'order-0' AND status = 'invalid' AND error = '{}'"
	    " AND not_before = 0 AND cert_serial IS NULL"), 1);

	assert_int_equal(store_authz_get_by_chall(s, "c-2", &got, &idx), 0);
	assert_string_equal(got.id, "az-1");
	assert_int_equal(idx, 1);
	assert_int_equal(got.n_challs, 2);
	assert_string_equal(got.challs[0].id, "c-1");
	assert_int_equal(got.challs[0].status, CHALL_VALID);
	assert_int_equal(got.challs[0].validated, 1700000100);
	assert_string_equal(got.challs[1].token, "tok-2");
	assert_int_equal(got.challs[1].type, CHALL_DNS01);
	authz_clear(&got);
	assert_int_equal(store_authz_get(s, "az-2", &got), 0);
	assert_string_equal(got.challs[0].error, "{\"type\":\"x\"}");
	authz_clear(&got);
	/* Reuse still finds the valid one. */
	assert_int_equal(store_authz_find_reusable(s, "acct-1", "a.test",
	    false, 1700000000, &got), 0);
	assert_string_equal(got.id, "az-1");
	z = got;
	z.challs[1].status = CHALL_PROCESSING;
	assert_int_equal(store_chall_update(s, &z, 1, false), 0);
	authz_clear(&got);
	assert_int_equal(store_authz_get(s, "az-1", &got), 0);
	assert_int_equal(got.challs[1].status, CHALL_PROCESSING);
	authz_clear(&got);

	assert_int_equal(store_order_get(s, "order-1", &o), 0);
	assert_int_equal(o.n_names, 3);
	assert_string_equal(o.names[2], "c.test");
	assert_string_equal(o.authz_ids[0], "az-1");
	assert_string_equal(o.authz_ids[1], "az-2");
	assert_null(o.authz_ids[2]);
	order_clear(&o);
	assert_int_equal(store_order_ids_by_authz(s, "az-2", &ids), 0);
	assert_int_equal(strv_len(ids), 1);
	assert_string_equal(ids[0], "order-1");
	strv_free(ids);
	/* New rows take seq after the copied ones; listed by (created, seq). */
	o_names[0] = "d.test";
	mk_order(&o, "order-9", "acct-1", o_names, 1, o_links, 1690000000);
	assert_int_equal(store_order_insert(s, &o), 0);
	assert_int_equal(sql_int(path, "SELECT seq FROM orders"
	    " WHERE id = 'order-9'"), 8);
	assert_int_equal(store_order_list(s, "acct-1", 0, 10, &ids, &more),
	    0);
	assert_int_equal(strv_len(ids), 3);
	assert_string_equal(ids[0], "order-9");
	assert_string_equal(ids[1], "order-1");
	assert_string_equal(ids[2], "order-0");
	assert_int_equal(more, 0);
	strv_free(ids);
	/* Its deferred reference to certs still holds at commit. */
	o.status = ORDER_VALID;
	(void)snprintf(o.cert_serial, sizeof(o.cert_serial), "0badc0de");
	assert_int_equal(store_order_update(s, &o), ANVIL_EDB);
	/* And its status CHECK. */
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'orders' AND sql LIKE '%status = ''ready''%'"), 1);
	/* Foreign keys are on again. */
	mk_authz(&z, "az-3", "acct-404", "c.test", false, AUTHZ_PENDING, 9);
	assert_int_equal(store_authz_insert(s, &z), ANVIL_EDB);
	store_close(s);
}

/*
 * A migration that leaves a broken reference is not committed: the
 * database stays as it was.
 */
static void
test_migrate_fk(void **state)
{
	struct fx	*f = *state;
	struct store	*s = NULL;
	sqlite3		*db = NULL;
	char		 path[160];
	int		 i;

	(void)snprintf(path, sizeof(path), "%s/other.db", f->dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL",
	    NULL, NULL, NULL), SQLITE_OK);
	for (i = 0; i < 5; i++)
		assert_int_equal(sqlite3_exec(db, store_migrations[i], NULL,
		    NULL, NULL), SQLITE_OK);
	/* Foreign keys are off on this connection: a dangling link. */
	assert_int_equal(sqlite3_exec(db,
	    "PRAGMA user_version = 5;"
	    "INSERT INTO authzs VALUES ('az-1', 'acct-404', 'a.test', 0,"
	    "  'valid', 1800000000);",
	    NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	assert_int_equal(store_open(path, &s), ANVIL_EDB);
	assert_null(s);
	assert_int_equal(sql_int(path, "PRAGMA user_version"), 5);
	assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_master"
	    " WHERE name = 'order_names'"), 1);
}

static void
test_reopen(void **state)
{
	struct fx	*f = *state;
	static char	*names[] = { "a.test", NULL };
	static char	*links[] = { "authz-1", NULL };
	struct acct	 a, ga;
	struct authz	 z, gz;
	struct order	 o, go;
	struct cert	 c, gc;

	insert_base(f->s);
	mk_acct(&a, "acct-1", "thumb-1");
	mk_authz(&z, "authz-1", "acct-1", "a.test", false, AUTHZ_VALID,
	    1800000000);
	z.challs[0].status = CHALL_VALID;
	z.challs[0].validated = 1700000050;
	assert_int_equal(store_chall_update(f->s, &z, 0, true), 0);
	mk_cert(&c, "7f", "acct-1", "order-1");
	mk_order(&o, "order-1", "acct-1", names, 1, links, 1700000000);
	o.status = ORDER_VALID;
	(void)snprintf(o.cert_serial, sizeof(o.cert_serial), "7f");
	assert_int_equal(store_begin(f->s), 0);
	assert_int_equal(store_order_update(f->s, &o), 0);
	assert_int_equal(store_cert_insert(f->s, &c), 0);
	assert_int_equal(store_commit(f->s), 0);
	assert_int_equal(store_cert_revoke(f->s, "7f", 1, 1700000500), 0);
	c.revoked_at = 1700000500;
	c.reason = 1;

	reopen(f);
	assert_int_equal(store_acct_get(f->s, "acct-1", &ga), 0);
	acct_eq(&ga, &a);
	acct_clear(&ga);
	assert_int_equal(store_authz_get(f->s, "authz-1", &gz), 0);
	authz_eq(&gz, &z);
	authz_clear(&gz);
	assert_int_equal(store_order_get(f->s, "order-1", &go), 0);
	order_eq(&go, &o);
	order_clear(&go);
	assert_int_equal(store_cert_get(f->s, "7f", &gc), 0);
	cert_eq(&gc, &c);
	cert_clear(&gc);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_invalid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_args_invalid, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_open_twice, setup,
		    teardown),
		cmocka_unit_test(test_open_memory),
		cmocka_unit_test_setup_teardown(test_file_mode, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_acct, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authz, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authz_reuse, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_order_list, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_cert, setup, teardown),
		cmocka_unit_test_setup_teardown(test_transactions, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_connections, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_defer_sync, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_checkpoint, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v5, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_migrate_fk, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
