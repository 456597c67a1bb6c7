/*
 * store_schema.h - the numbered schema migrations of the SQLite store.
 *
 * Included by store_sqlite.c only.  Migration n (1-based) is
 * store_migrations[n - 1]; store_open() applies, in one transaction, every
 * migration above the database's PRAGMA user_version and then sets
 * user_version to the last number.  A migration, once released, is never
 * edited: a schema change is a new entry at the end.
 *
 * Statuses and challenge types are stored as their model.h names
 * ("pending", "http-01") so that the database reads well in the sqlite3
 * shell; the CHECK constraints list exactly those names.  Times are seconds
 * since the epoch.  Tables whose listing order matters carry an INTEGER
 * PRIMARY KEY (stable across VACUUM, unlike an implicit rowid) or an
 * explicit position column.
 */
#ifndef ANVIL_SERVER_STORE_SCHEMA_H
#define ANVIL_SERVER_STORE_SCHEMA_H

static const char *const store_migrations[] = {
	/* 1: the initial schema. */
	"CREATE TABLE accounts ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  jwk         TEXT NOT NULL,"
	"  thumbprint  TEXT NOT NULL UNIQUE,"
	"  status      TEXT NOT NULL"
	"    CHECK (status IN ('valid', 'deactivated', 'revoked')),"
	"  contact     TEXT NOT NULL DEFAULT '[]',"
	"  tos_agreed  INTEGER NOT NULL CHECK (tos_agreed IN (0, 1)),"
	"  created     INTEGER NOT NULL"
	");"

	"CREATE TABLE authzs ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  acct_id     TEXT NOT NULL REFERENCES accounts (id),"
	"  ident       TEXT NOT NULL,"
	"  wildcard    INTEGER NOT NULL CHECK (wildcard IN (0, 1)),"
	"  status      TEXT NOT NULL"
	"    CHECK (status IN ('pending', 'valid', 'invalid', 'deactivated',"
	"      'expired', 'revoked')),"
	"  expires     INTEGER NOT NULL"
	");"
	/* store_authz_find_reusable() and store_authz_has_valid(). */
	"CREATE INDEX authzs_reuse"
	"  ON authzs (acct_id, ident, wildcard, status, expires);"

	"CREATE TABLE challenges ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  authz_id    TEXT NOT NULL REFERENCES authzs (id),"
	"  position    INTEGER NOT NULL CHECK (position >= 0),"
	"  type        TEXT NOT NULL"
	"    CHECK (type IN ('http-01', 'dns-01', 'tls-alpn-01')),"
	"  token       TEXT NOT NULL,"
	"  status      TEXT NOT NULL"
	"    CHECK (status IN ('pending', 'processing', 'valid', 'invalid')),"
	"  validated   INTEGER NOT NULL DEFAULT 0,"
	"  error       TEXT,"
	"  UNIQUE (authz_id, position)"
	");"

	/* seq keeps the insertion order for store_order_list(). */
	"CREATE TABLE orders ("
	"  seq         INTEGER PRIMARY KEY,"
	"  id          TEXT NOT NULL UNIQUE,"
	"  acct_id     TEXT NOT NULL REFERENCES accounts (id),"
	"  status      TEXT NOT NULL"
	"    CHECK (status IN ('pending', 'ready', 'processing', 'valid',"
	"      'invalid')),"
	"  expires     INTEGER NOT NULL,"
	"  not_before  INTEGER NOT NULL DEFAULT 0,"
	"  not_after   INTEGER NOT NULL DEFAULT 0,"
	"  error       TEXT,"
	/* Deferred: the certificate and the order's move to valid are
	 * written in one transaction, in either order. */
	"  cert_serial TEXT REFERENCES certs (serial)"
	"    DEFERRABLE INITIALLY DEFERRED,"
	"  created     INTEGER NOT NULL"
	");"
	/* The implicit trailing seq makes the index deliver rows in
	 * (created, seq) order without a sort. */
	"CREATE INDEX orders_acct ON orders (acct_id, created);"

	"CREATE TABLE order_names ("
	"  order_id    TEXT NOT NULL REFERENCES orders (id),"
	"  position    INTEGER NOT NULL CHECK (position >= 0),"
	"  name        TEXT NOT NULL,"
	"  PRIMARY KEY (order_id, position)"
	") WITHOUT ROWID;"

	"CREATE TABLE order_authzs ("
	"  order_id    TEXT NOT NULL REFERENCES orders (id),"
	"  position    INTEGER NOT NULL CHECK (position >= 0),"
	"  authz_id    TEXT NOT NULL REFERENCES authzs (id),"
	"  PRIMARY KEY (order_id, position)"
	") WITHOUT ROWID;"
	"CREATE INDEX order_authzs_authz ON order_authzs (authz_id);"

	/* revoked_at and reason are NULL while the certificate is good. */
	"CREATE TABLE certs ("
	"  serial      TEXT PRIMARY KEY NOT NULL,"
	"  acct_id     TEXT NOT NULL REFERENCES accounts (id),"
	"  order_id    TEXT NOT NULL REFERENCES orders (id),"
	"  der         BLOB NOT NULL CHECK (length(der) > 0),"
	"  names       TEXT NOT NULL,"
	"  spki_hash   TEXT NOT NULL,"
	"  not_before  INTEGER NOT NULL,"
	"  not_after   INTEGER NOT NULL,"
	"  revoked_at  INTEGER,"
	"  reason      INTEGER"
	"    CHECK (reason IS NULL OR"
	"      (reason BETWEEN 0 AND 10 AND reason <> 7)),"
	"  CHECK ((revoked_at IS NULL) = (reason IS NULL))"
	");"
	"CREATE INDEX certs_spki ON certs (spki_hash);",

	/*
	 * 2: revocation that reaches relying parties (docs/internals/
	 * revocation.md).  Each certificate names its CRL shard; the CRL of
	 * each shard and the pre-signed OCSP response of each certificate
	 * are kept here so that serving them costs a lookup, never a
	 * signature.  Every revocation, whoever writes it (the ACME server,
	 * `anvil-ca revoke` in another process), appends to `revocations`
	 * through the trigger, and the server regenerates from that log.
	 */
	"ALTER TABLE certs ADD COLUMN shard INTEGER NOT NULL DEFAULT 0"
	"  CHECK (shard >= 0);"
	"ALTER TABLE certs ADD COLUMN invalidity INTEGER;"
	"CREATE INDEX certs_shard ON certs (shard, revoked_at);"
	"CREATE INDEX certs_not_after ON certs (not_after);"

	"CREATE TABLE meta ("
	"  key         TEXT PRIMARY KEY NOT NULL,"
	"  value       INTEGER NOT NULL"
	") WITHOUT ROWID;"

	"CREATE TABLE crls ("
	"  shard       INTEGER PRIMARY KEY CHECK (shard >= -1),"
	"  number      INTEGER NOT NULL CHECK (number > 0),"
	"  this_update INTEGER NOT NULL,"
	"  next_update INTEGER NOT NULL,"
	"  der         BLOB NOT NULL CHECK (length(der) > 0)"
	");"

	"CREATE TABLE ocsp ("
	"  serial      TEXT PRIMARY KEY NOT NULL REFERENCES certs (serial),"
	"  this_update INTEGER NOT NULL,"
	"  next_update INTEGER NOT NULL,"
	"  der         BLOB NOT NULL CHECK (length(der) > 0)"
	");"
	"CREATE INDEX ocsp_this_update ON ocsp (this_update);"

	"CREATE TABLE blocked_keys ("
	"  spki_hash   TEXT PRIMARY KEY NOT NULL,"
	"  reason      INTEGER NOT NULL,"
	"  created     INTEGER NOT NULL"
	") WITHOUT ROWID;"

	"CREATE TABLE revocations ("
	"  seq         INTEGER PRIMARY KEY,"
	"  serial      TEXT NOT NULL,"
	"  shard       INTEGER NOT NULL"
	");"
	"CREATE TRIGGER certs_revoked AFTER UPDATE OF revoked_at ON certs"
	"  WHEN OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL"
	"  BEGIN"
	"    INSERT INTO revocations (serial, shard)"
	"      VALUES (NEW.serial, NEW.shard);"
	"  END;",

	/*
	 * 3: two indexes of certs that no query reads (EXPLAIN QUERY PLAN
	 * of every statement of store_sqlite.c), while every issuance
	 * wrote them: certs_spki at a random place (a hash), one more page
	 * per issuance.  Blocked keys are looked up in blocked_keys.
	 */
	"DROP INDEX certs_spki;"
	"DROP INDEX certs_not_after;",

	/*
	 * 4: the CRL query (ST_REVOKED_LIST) reads revoked certificates of
	 * one shard only; an index of every certificate by shard put each
	 * issuance's entry at one of crl_shards places.  Indexing only the
	 * revoked ones writes it on revocation, never on issuance.
	 */
	"DROP INDEX certs_shard;"
	"CREATE INDEX certs_revoked ON certs (shard, revoked_at)"
	"  WHERE revoked_at IS NOT NULL;",

	/*
	 * 5: the reuse index without status and expires, which every
	 * authorization changes when it is validated: with them each
	 * validation moved the entry (a delete and an insert in the index).
	 * An account has few authorizations for one name, so the reuse
	 * queries filter those two columns on the rows the index finds.
	 */
	"DROP INDEX authzs_reuse;"
	"CREATE INDEX authzs_reuse ON authzs (acct_id, ident, wildcard);",

	/*
	 * 6: fewer B-trees per issuance, each row where its lookups go.
	 * - authzs WITHOUT ROWID: the id is the key, so a lookup is one
	 *   search (was the id index, then the table) and an insert writes
	 *   one B-tree less.
	 * - challenges WITHOUT ROWID, keyed by (authz_id, position): the
	 *   challenges of an authorization are one range of the table (read
	 *   with each authorization), an update names its row by its key;
	 *   the id keeps a UNIQUE index, which leads from a challenge's URL
	 *   to its authorization (it holds the key).  Was a rowid table and
	 *   two indexes: three B-trees written per challenge, now two.
	 * - order_idents, one row per name of an order with the link to its
	 *   authorization (NULL while not made yet), instead of order_names
	 *   and order_authzs: one row written and one read per name, not
	 *   two.  Its authz_id index answers store_order_ids_by_authz()
	 *   without reading orders nor sorting.
	 * - The CHECKs of the tables written per issuance (these three,
	 *   and orders, rebuilt for it) compare with an OR of equalities,
	 *   the same values as the IN lists they replace: SQLite 3.40
	 *   builds a temporary table (OpenEphemeral) for an IN list of
	 *   three or more values at every INSERT or UPDATE that checks it,
	 *   13 per issuance, about 3 % of the server's instructions.
	 *   accounts, written once per account, keeps its IN.
	 * Run with foreign keys off (store_open checks them all before the
	 * commit): dropping a parent table would otherwise check its
	 * children.
	 */
	"CREATE TABLE authzs_6 ("
	"  id          TEXT PRIMARY KEY NOT NULL,"
	"  acct_id     TEXT NOT NULL REFERENCES accounts (id),"
	"  ident       TEXT NOT NULL,"
	"  wildcard    INTEGER NOT NULL CHECK (wildcard IN (0, 1)),"
	"  status      TEXT NOT NULL"
	"    CHECK (status = 'pending' OR status = 'valid' OR"
	"      status = 'invalid' OR status = 'deactivated' OR"
	"      status = 'expired' OR status = 'revoked'),"
	"  expires     INTEGER NOT NULL"
	") WITHOUT ROWID;"
	"INSERT INTO authzs_6 (id, acct_id, ident, wildcard, status, expires)"
	"  SELECT id, acct_id, ident, wildcard, status, expires FROM authzs;"

	"CREATE TABLE challenges_6 ("
	"  authz_id    TEXT NOT NULL REFERENCES authzs (id),"
	"  position    INTEGER NOT NULL CHECK (position >= 0),"
	"  id          TEXT NOT NULL,"
	"  type        TEXT NOT NULL"
	"    CHECK (type = 'http-01' OR type = 'dns-01' OR"
	"      type = 'tls-alpn-01'),"
	"  token       TEXT NOT NULL,"
	"  status      TEXT NOT NULL"
	"    CHECK (status = 'pending' OR status = 'processing' OR"
	"      status = 'valid' OR status = 'invalid'),"
	"  validated   INTEGER NOT NULL DEFAULT 0,"
	"  error       TEXT,"
	"  PRIMARY KEY (authz_id, position)"
	") WITHOUT ROWID;"
	"INSERT INTO challenges_6 (authz_id, position, id, type, token,"
	"  status, validated, error)"
	"  SELECT authz_id, position, id, type, token, status, validated,"
	"  error FROM challenges;"

	"CREATE TABLE order_idents ("
	"  order_id    TEXT NOT NULL REFERENCES orders (id),"
	"  position    INTEGER NOT NULL CHECK (position >= 0),"
	"  name        TEXT NOT NULL,"
	"  authz_id    TEXT REFERENCES authzs (id),"
	"  PRIMARY KEY (order_id, position)"
	") WITHOUT ROWID;"
	"INSERT INTO order_idents (order_id, position, name, authz_id)"
	"  SELECT n.order_id, n.position, n.name, l.authz_id"
	"  FROM order_names n LEFT JOIN order_authzs l"
	"  ON l.order_id = n.order_id AND l.position = n.position;"

	/* The same orders (seq kept: the listing order), with the status
	 * CHECK written without IN (above). */
	"CREATE TABLE orders_6 ("
	"  seq         INTEGER PRIMARY KEY,"
	"  id          TEXT NOT NULL UNIQUE,"
	"  acct_id     TEXT NOT NULL REFERENCES accounts (id),"
	"  status      TEXT NOT NULL"
	"    CHECK (status = 'pending' OR status = 'ready' OR"
	"      status = 'processing' OR status = 'valid' OR"
	"      status = 'invalid'),"
	"  expires     INTEGER NOT NULL,"
	"  not_before  INTEGER NOT NULL DEFAULT 0,"
	"  not_after   INTEGER NOT NULL DEFAULT 0,"
	"  error       TEXT,"
	"  cert_serial TEXT REFERENCES certs (serial)"
	"    DEFERRABLE INITIALLY DEFERRED,"
	"  created     INTEGER NOT NULL"
	");"
	"INSERT INTO orders_6 (seq, id, acct_id, status, expires, not_before,"
	"  not_after, error, cert_serial, created)"
	"  SELECT seq, id, acct_id, status, expires, not_before, not_after,"
	"  error, cert_serial, created FROM orders;"

	"DROP TABLE order_authzs;"
	"DROP TABLE order_names;"
	"DROP TABLE challenges;"
	"DROP TABLE authzs;"
	"DROP TABLE orders;"
	"ALTER TABLE authzs_6 RENAME TO authzs;"
	"ALTER TABLE challenges_6 RENAME TO challenges;"
	"ALTER TABLE orders_6 RENAME TO orders;"
	"CREATE INDEX authzs_reuse ON authzs (acct_id, ident, wildcard);"
	"CREATE INDEX orders_acct ON orders (acct_id, created);"
	"CREATE UNIQUE INDEX challenges_id ON challenges (id);"
	"CREATE INDEX order_idents_authz ON order_idents (authz_id);",
};

#define STORE_SCHEMA_VERSION \
	((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

#endif
