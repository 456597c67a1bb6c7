/*
 * dns01.h - what the two dns-01 solvers (solver_dns01_hook.c,
 * solver_dns01_rfc2136.c) share: one DNS exchange with one server
 * (dns_net.c), the TXT record of an answer and the wait until it is
 * visible (dns_wait.c), and TSIG key files (tsig_key.c).
 *
 * DNS messages are ldns packets; every exchange is bounded in time and in
 * size (UDP, then TCP when the answer is truncated).  libldns is opened
 * on first use (dns_ldns.c): runs without dns-01 never load it.
 */
#ifndef ANVIL_DNS01_H
#define ANVIL_DNS01_H

#include <sys/socket.h>

#include <ldns/ldns.h>

#include "agent.h"

/*
 * libldns is not linked: only dns-01 uses it, and a linked library is
 * loaded and relocated in every run (about 0.3 MiB of resident memory
 * for an http-01 issuance).  ag_ldns_open() (dns_ldns.c) opens it with
 * dlopen() on first use; the dns-01 sources call the ldns functions below
 * through the pointers it fills, under their own names (the macros that
 * follow).  A function added to the dns-01 code goes into this list.
 */
#define AG_LDNS_FUNCS(X) \
	X(ldns_buffer_free) \
	X(ldns_buffer_new) \
	X(ldns_dname_compare) \
	X(ldns_dname_is_subdomain) \
	X(ldns_dname_label_count) \
	X(ldns_dname_left_chop) \
	X(ldns_dname_new_frm_str) \
	X(ldns_lookup_by_id) \
	X(ldns_pkt2buffer_wire) \
	X(ldns_pkt_aa) \
	X(ldns_pkt_ancount) \
	X(ldns_pkt_free) \
	X(ldns_pkt_get_opcode) \
	X(ldns_pkt_get_rcode) \
	X(ldns_pkt_id) \
	X(ldns_pkt_qr) \
	X(ldns_pkt_query_new_frm_str) \
	X(ldns_pkt_rr_list_by_name_and_type) \
	X(ldns_pkt_rr_list_by_type) \
	X(ldns_pkt_set_random_id) \
	X(ldns_pkt_tsig) \
	X(ldns_pkt_tsig_sign) \
	X(ldns_pkt_tsig_verify) \
	X(ldns_rdf2native_int16) \
	X(ldns_rdf2native_sockaddr_storage) \
	X(ldns_rdf2str) \
	X(ldns_rdf_clone) \
	X(ldns_rdf_data) \
	X(ldns_rdf_deep_free) \
	X(ldns_rdf_size) \
	X(ldns_resolver_deep_free) \
	X(ldns_resolver_nameserver_count) \
	X(ldns_resolver_nameservers) \
	X(ldns_resolver_new_frm_file) \
	X(ldns_rr_free) \
	X(ldns_rr_list_deep_free) \
	X(ldns_rr_list_new) \
	X(ldns_rr_list_push_rr) \
	X(ldns_rr_list_rr) \
	X(ldns_rr_list_rr_count) \
	X(ldns_rr_new_frm_str) \
	X(ldns_rr_owner) \
	X(ldns_rr_rd_count) \
	X(ldns_rr_rdf) \
	X(ldns_rr_set_class) \
	X(ldns_rr_set_ttl) \
	X(ldns_tcp_send) \
	X(ldns_udp_send) \
	X(ldns_update_pkt_new) \
	X(ldns_wire2pkt)

#define AG_LDNS_DECLARE(f)	extern __typeof__(f) *ag_##f;
AG_LDNS_FUNCS(AG_LDNS_DECLARE)
extern ldns_lookup_table *ag_ldns_rcodes;

/* Opens libldns once: 0, or ANVIL_ENOENT with the cause in ag_err. */
int	ag_ldns_open(void);

#ifndef AG_LDNS_NO_REDIRECT
#define ldns_buffer_free	(*ag_ldns_buffer_free)
#define ldns_buffer_new	(*ag_ldns_buffer_new)
#define ldns_dname_compare	(*ag_ldns_dname_compare)
#define ldns_dname_is_subdomain	(*ag_ldns_dname_is_subdomain)
#define ldns_dname_label_count	(*ag_ldns_dname_label_count)
#define ldns_dname_left_chop	(*ag_ldns_dname_left_chop)
#define ldns_dname_new_frm_str	(*ag_ldns_dname_new_frm_str)
#define ldns_lookup_by_id	(*ag_ldns_lookup_by_id)
#define ldns_pkt2buffer_wire	(*ag_ldns_pkt2buffer_wire)
#define ldns_pkt_aa	(*ag_ldns_pkt_aa)
#define ldns_pkt_ancount	(*ag_ldns_pkt_ancount)
#define ldns_pkt_free	(*ag_ldns_pkt_free)
#define ldns_pkt_get_opcode	(*ag_ldns_pkt_get_opcode)
#define ldns_pkt_get_rcode	(*ag_ldns_pkt_get_rcode)
#define ldns_pkt_id	(*ag_ldns_pkt_id)
#define ldns_pkt_qr	(*ag_ldns_pkt_qr)
#define ldns_pkt_query_new_frm_str	(*ag_ldns_pkt_query_new_frm_str)
#define ldns_pkt_rr_list_by_name_and_type	(*ag_ldns_pkt_rr_list_by_name_and_type)
#define ldns_pkt_rr_list_by_type	(*ag_ldns_pkt_rr_list_by_type)
#define ldns_pkt_set_random_id	(*ag_ldns_pkt_set_random_id)
#define ldns_pkt_tsig	(*ag_ldns_pkt_tsig)
#define ldns_pkt_tsig_sign	(*ag_ldns_pkt_tsig_sign)
#define ldns_pkt_tsig_verify	(*ag_ldns_pkt_tsig_verify)
#define ldns_rdf2native_int16	(*ag_ldns_rdf2native_int16)
#define ldns_rdf2native_sockaddr_storage	(*ag_ldns_rdf2native_sockaddr_storage)
#define ldns_rdf2str	(*ag_ldns_rdf2str)
#define ldns_rdf_clone	(*ag_ldns_rdf_clone)
#define ldns_rdf_data	(*ag_ldns_rdf_data)
#define ldns_rdf_deep_free	(*ag_ldns_rdf_deep_free)
#define ldns_rdf_size	(*ag_ldns_rdf_size)
#define ldns_resolver_deep_free	(*ag_ldns_resolver_deep_free)
#define ldns_resolver_nameserver_count	(*ag_ldns_resolver_nameserver_count)
#define ldns_resolver_nameservers	(*ag_ldns_resolver_nameservers)
#define ldns_resolver_new_frm_file	(*ag_ldns_resolver_new_frm_file)
#define ldns_rr_free	(*ag_ldns_rr_free)
#define ldns_rr_list_deep_free	(*ag_ldns_rr_list_deep_free)
#define ldns_rr_list_new	(*ag_ldns_rr_list_new)
#define ldns_rr_list_push_rr	(*ag_ldns_rr_list_push_rr)
#define ldns_rr_list_rr	(*ag_ldns_rr_list_rr)
#define ldns_rr_list_rr_count	(*ag_ldns_rr_list_rr_count)
#define ldns_rr_new_frm_str	(*ag_ldns_rr_new_frm_str)
#define ldns_rr_owner	(*ag_ldns_rr_owner)
#define ldns_rr_rd_count	(*ag_ldns_rr_rd_count)
#define ldns_rr_rdf	(*ag_ldns_rr_rdf)
#define ldns_rr_set_class	(*ag_ldns_rr_set_class)
#define ldns_rr_set_ttl	(*ag_ldns_rr_set_ttl)
#define ldns_tcp_send	(*ag_ldns_tcp_send)
#define ldns_udp_send	(*ag_ldns_udp_send)
#define ldns_update_pkt_new	(*ag_ldns_update_pkt_new)
#define ldns_wire2pkt	(*ag_ldns_wire2pkt)
#define ldns_rcodes	(ag_ldns_rcodes)
#endif

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
