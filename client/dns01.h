/*
 * dns01.h - what the two dns-01 solvers (solver_dns01_hook.c,
 * solver_dns01_rfc2136.c) share: one DNS exchange with one server
 * (dns_net.c), the TXT record of an answer and the wait until it is
 * visible (dns_wait.c), and TSIG key files (tsig_key.c).
 *
 * DNS messages are ldns packets; every exchange is bounded in time and in
 * size (UDP, then TCP when the answer is truncated).
 */
#ifndef ANVIL_DNS01_H
#define ANVIL_DNS01_H

#include <sys/socket.h>

#include <ldns/ldns.h>

#include "agent.h"

#define AG_DNS_MAX_SERVERS	16	/* authoritative addresses per zone */
#define AG_DNS_MAX_NS		8	/* NS names used per zone */
#define AG_DNS_DEFAULT_PORT	53
#define AG_DNS_TXT_TTL		60	/* TTL of the TXT records we add */

/* One server address. */
struct ag_dns_addr {
	struct sockaddr_storage	 ss;
	socklen_t		 len;
};

/* ------------------------------------------------------------------ */
/* dns_net.c */

/*
 * Parses "ADDR", "ADDR:PORT", "[V6ADDR]:PORT" or "HOST:PORT" (a host name
 * is looked up with getaddrinfo, the first address wins) into ret; the
 * port defaults to 53.  0, or ANVIL_EINVAL / ANVIL_ENOENT.
 */
int	ag_dns_addr_parse(const char *s, struct ag_dns_addr *ret);
/* "127.0.0.1:53" / "[::1]:53" into out. */
void	ag_dns_addr_str(const struct ag_dns_addr *a, char *out, size_t outlen);
/*
 * Sends q to one server and waits at most timeout seconds for the answer
 * with the same ID: UDP first, TCP when the answer is truncated (or
 * always when tcp is set).  On success *ret is the parsed answer
 * (ldns_pkt_free) and, when wire is not NULL, *wire / *wire_len its bytes
 * (free()).  ANVIL_ETIMEDOUT when nothing came back, ANVIL_EIO on a
 * network error, ANVIL_EINVAL on a malformed answer.  No ag_err: the
 * callers know what the exchange was for.
 */
int	ag_dns_send(const struct ag_dns_addr *to, ldns_pkt *q, int tcp,
	    int timeout, ldns_pkt **ret, uint8_t **wire, size_t *wire_len);
/*
 * A query for name/type to one server, rd the "recursion desired" bit.
 * Same returns as ag_dns_send.
 */
int	ag_dns_query(const struct ag_dns_addr *to, const char *name,
	    ldns_rr_type type, int rd, int timeout, ldns_pkt **ret);

/* ------------------------------------------------------------------ */
/* dns_wait.c */

/* One record to wait for: NAME IN TXT "VALUE". */
struct ag_dns_txt {
	char	*name;		/* "_acme-challenge.example.org." */
	char	*value;		/* base64url(SHA-256(key authorization)) */
};

/*
 * The record that answers a dns-01 challenge for domain with keyauth
 * (RFC 8555 §8.4): fills ret (ag_dns_txt_done).
 */
int	ag_dns_txt_make(const char *domain, const char *keyauth,
	    struct ag_dns_txt *ret);
void	ag_dns_txt_done(struct ag_dns_txt *t);
/*
 * Appends the record for domain and keyauth to recs, which holds *n of at
 * most AG_MAX_AUTHZ: 0 with *n grown, ANVIL_E2BIG with ag_err when full,
 * or the failure of ag_dns_txt_make() (*n unchanged).
 */
int	ag_dns_txt_add(struct ag_dns_txt *recs, size_t *n, const char *domain,
	    const char *keyauth);

struct ag_dns_wait_opts {
	const char	*resolver;	/* "ADDR:PORT", or NULL: resolv.conf */
	const char	*authority;	/* "HOST:PORT" to ask alone, or NULL:
					 * the zone's NS servers */
	int		 timeout;	/* seconds for the whole wait */
	int		 query_timeout;	/* seconds per query */
};

/*
 * Waits until every record is visible at the servers that answer for it:
 * o->authority when set, else each authoritative server of the record's
 * zone (found by walking up the name for its SOA, then its NS set,
 * through the resolver).  When no authoritative server can be found or
 * reached, the resolver itself is asked instead.  0, AG_EDNS with ag_err
 * naming the first record missing and where, or AG_EINTR.
 */
int	ag_dns_wait(const struct ag_dns_txt *recs, size_t n,
	    const struct ag_dns_wait_opts *o);
/*
 * ag_dns_wait() with a dns-01 solver's options (--dns-resolver,
 * --propagation-timeout, --dns-timeout) and authority as in
 * struct ag_dns_wait_opts.
 */
struct ag_solver_conf;
int	ag_dns_wait_conf(const struct ag_dns_txt *recs, size_t n,
	    const struct ag_solver_conf *c, const char *authority);
/*
 * The zone (apex, with the final dot) that name is in, by SOA walk: asks
 * the servers in turn (the first that answers decides; rd set when they
 * are resolvers) for the SOA of name, then of each parent, until an
 * answer carries a SOA whose owner is that name or one of its parents.
 * *ret malloc().  ANVIL_ENOENT when none is found, ANVIL_ETIMEDOUT or
 * ANVIL_EIO when no server answered.
 */
int	ag_dns_find_zone(const struct ag_dns_addr *servers, size_t n, int rd,
	    const char *name, int timeout, char **ret);

/* ------------------------------------------------------------------ */
/* tsig_key.c */

struct ag_tsig_key {
	char	*name;		/* key name, with the final dot */
	char	*algorithm;	/* "hmac-sha256." */
	char	*secret;	/* base64, as in the file; zeroed on free */
};

/*
 * Reads a TSIG key file, in BIND's format
 *     key "NAME" { algorithm hmac-sha256; secret "BASE64"; };
 * or knot's
 *     key:
 *       - id: NAME
 *         algorithm: hmac-sha256
 *         secret: BASE64
 * (the first key of the file).  Only hmac-sha256 is accepted.  0, or an
 * error with ag_err naming the file and what is wrong.
 */
int	ag_tsig_key_load(const char *path, struct ag_tsig_key *ret);
/* Parses the text of a key file (for tests); where names it in errors. */
int	ag_tsig_key_parse(const char *text, size_t len, const char *where,
	    struct ag_tsig_key *ret);
void	ag_tsig_key_done(struct ag_tsig_key *k);

#endif
