/*
 * model.h - the ACME objects the server keeps (RFC 8555 §7.1), as plain
 * structs passed between the registration logic and the store.
 *
 * Strings marked "owned" are from malloc() and freed by the matching
 * *_clear() function; fixed arrays are NUL-terminated.
 */
#ifndef ANVIL_SERVER_MODEL_H
#define ANVIL_SERVER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Object ids in URLs: 16 random bytes in base64url (22 characters). */
#define ID_LEN 22
/* Certificate serials: 20 bytes at most (RFC 5280 §4.1.2.2), as hex. */
#define SERIAL_HEX_LEN 40

/* A hash of an id (FNV-1a) for tables keyed by ids: they are random
 * already, so any mixing will do. */
uint32_t id_hash(const char *id);

enum acct_status { ACCT_VALID, ACCT_DEACTIVATED, ACCT_REVOKED, ACCT__MAX };

enum order_status {
	ORDER_PENDING, ORDER_READY, ORDER_PROCESSING, ORDER_VALID,
	ORDER_INVALID, ORDER__MAX
};

enum authz_status {
	AUTHZ_PENDING, AUTHZ_VALID, AUTHZ_INVALID, AUTHZ_DEACTIVATED,
	AUTHZ_EXPIRED, AUTHZ_REVOKED, AUTHZ__MAX
};

enum chall_status {
	CHALL_PENDING, CHALL_PROCESSING, CHALL_VALID, CHALL_INVALID,
	CHALL__MAX
};

enum chall_type { CHALL_HTTP01, CHALL_DNS01, CHALL_TLSALPN01, CHALL_TYPE__MAX };

/* Status and type names as they appear in JSON ("pending", "http-01"). */
const char *acct_status_name(enum acct_status s);
const char *order_status_name(enum order_status s);
const char *authz_status_name(enum authz_status s);
const char *chall_status_name(enum chall_status s);
const char *chall_type_name(enum chall_type t);
/* Reverse lookups; return the __MAX value when unknown. */
enum acct_status acct_status_parse(const char *s);
enum order_status order_status_parse(const char *s);
enum authz_status authz_status_parse(const char *s);
enum chall_status chall_status_parse(const char *s);
enum chall_type chall_type_parse(const char *s);

struct acct {
	char		 id[ID_LEN + 1];
	char		*jwk;		/* public JWK, compact JSON; owned */
	char		 thumbprint[44];/* RFC 7638, base64url */
	enum acct_status status;
	char		*contact;	/* JSON array of URLs, "[]" if none; owned */
	bool		 tos_agreed;
	int64_t		 created;	/* seconds since the epoch */
};

struct chall {
	char		 id[ID_LEN + 1];
	enum chall_type	 type;
	char		 token[44];	/* 32 random bytes, base64url */
	enum chall_status status;
	int64_t		 validated;	/* 0 until valid */
	char		*error;		/* problem document JSON or NULL; owned */
};

#define AUTHZ_MAX_CHALLS 3

struct authz {
	char		 id[ID_LEN + 1];
	char		 acct_id[ID_LEN + 1];
	char		*ident;		/* DNS name, without "*."; owned */
	bool		 wildcard;
	enum authz_status status;
	int64_t		 expires;
	struct chall	 challs[AUTHZ_MAX_CHALLS];
	size_t		 n_challs;
};

struct order {
	char		 id[ID_LEN + 1];
	char		 acct_id[ID_LEN + 1];
	enum order_status status;
	int64_t		 expires;
	int64_t		 not_before;	/* requested, 0 if not */
	int64_t		 not_after;	/* requested, 0 if not */
	char		**names;	/* identifier values as ordered ("*.x"
					   for wildcards), NULL-terminated; owned */
	size_t		 n_names;
	char		**authz_ids;	/* one per name, same order; owned */
	char		*error;		/* problem document JSON or NULL; owned */
	char		 cert_serial[SERIAL_HEX_LEN + 1]; /* "" until valid */
	int64_t		 created;
};

/* RFC 5280 §5.3.1 reason codes (7 is unused). */
#define REASON_MAX 10

struct cert {
	char		 serial[SERIAL_HEX_LEN + 1];
	char		 acct_id[ID_LEN + 1];
	char		 order_id[ID_LEN + 1];
	uint8_t		*der;		/* the leaf certificate; owned */
	size_t		 der_len;
	char		*names;		/* JSON array of the SAN names; owned */
	char		*spki_hash;	/* base64url SHA-256 of the SPKI DER; owned */
	int64_t		 not_before;
	int64_t		 not_after;
	int64_t		 revoked_at;	/* 0 when not revoked */
	int		 reason;	/* revocation reason when revoked */
	int		 shard;		/* CRL shard named in its CDP */
	int64_t		 invalidity;	/* RFC 5280 §5.3.2 date, 0 if none */
};

void acct_clear(struct acct *a);
void chall_clear(struct chall *c);
void authz_clear(struct authz *a);
void order_clear(struct order *o);
void cert_clear(struct cert *c);

#endif
