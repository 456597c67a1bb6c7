/*
 * solver_dns01_rfc2136.c - dns-01 (RFC 8555 §8.4) by DNS UPDATE (RFC 2136)
 * signed with TSIG hmac-sha256 (RFC 8945), sent to the primary server
 * given as --dns01-rfc2136 HOST:PORT with the key of --tsig-key FILE.
 *
 * start()    reads the key and the server's address (fails early);
 * add()      finds the zone of _acme-challenge.DOMAIN at the server (SOA
 *            walk, no recursion) and adds "NAME 60 IN TXT VALUE";
 * ready()    waits until the server answers every TXT (it is
 *            authoritative: it alone is asked);
 * cleanup()  deletes each record it tried to add (class NONE, RFC 2136
 *            §2.5.4: that one RR, nothing else of the name), whatever
 *            happened, also after SIGINT/SIGTERM.
 *
 * Every answer is checked: its rcode (REFUSED, NOTAUTH, ...) and TSIG
 * error (BADKEY, BADSIG, BADTIME) become one sentence naming the cause; a
 * successful answer must carry a TSIG that verifies with our key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns01.h"
#include "solver.h"

#define TSIG_FUDGE	300	/* seconds of clock skew allowed */
/* TSIG error codes (RFC 8945 §5.3.2). */
#define TSIG_BADSIG	16
#define TSIG_BADKEY	17
#define TSIG_BADTIME	18

struct r2136 {
	struct ag_tsig_key	 key;
	struct ag_dns_addr	 server;
	struct ag_dns_txt	 recs[AG_MAX_AUTHZ];
	char			*zones[AG_MAX_AUTHZ];	/* of recs[i] */
	size_t			 n;	/* UPDATE tried for recs[0..n) */
};

/* The TSIG error field of p's TSIG record, 0 when none. */
static int
tsig_error(ldns_pkt *p)
{
	ldns_rr	*t = ldns_pkt_tsig(p);

	if (t == NULL || ldns_rr_rd_count(t) < 6 || ldns_rr_rdf(t, 5) == NULL ||
	    ldns_rdf_size(ldns_rr_rdf(t, 5)) != 2)
		return 0;
	return ldns_rdf2native_int16(ldns_rr_rdf(t, 5));
}

/* The sentence for a refused UPDATE. */
static void
explain(const struct r2136 *r, ldns_pkt *ans, const char *zone, char *out,
    size_t outlen)
{
	ldns_lookup_table	*lt;
	int			 rcode = ldns_pkt_get_rcode(ans);
	int			 terr = tsig_error(ans);

	if (terr == TSIG_BADKEY)
		(void)snprintf(out, outlen, "the server does not know the key "
		    "%s (NOTAUTH/BADKEY): check --tsig-key", r->key.name);
	else if (terr == TSIG_BADSIG)
		(void)snprintf(out, outlen, "the signature with key %s does "
		    "not verify (NOTAUTH/BADSIG): wrong secret in --tsig-key",
		    r->key.name);
	else if (terr == TSIG_BADTIME)
		(void)snprintf(out, outlen, "the server's clock and ours "
		    "differ by more than %d s (NOTAUTH/BADTIME)", TSIG_FUDGE);
	else if (rcode == LDNS_RCODE_REFUSED)
		(void)snprintf(out, outlen, "the server refused the update "
		    "(REFUSED): is key %s allowed to update %s?", r->key.name,
		    zone);
	else if (rcode == LDNS_RCODE_NOTAUTH)
		(void)snprintf(out, outlen, "the server is not authoritative "
		    "for %s or rejects the key (NOTAUTH)", zone);
	else {
		lt = ldns_lookup_by_id(ldns_rcodes, rcode);
		(void)snprintf(out, outlen, "the server answered %s",
		    lt != NULL ? lt->name : "an unknown rcode");
	}
}

/*
 * Sends one signed UPDATE for rec in zone: add, or delete that RR.  0, or
 * AG_EDNS with the cause in why; *refused is set when the server answered
 * that it did not apply it.
 */
static int
update(struct r2136 *r, int timeout, const struct ag_dns_txt *rec,
    const char *zone, int add, int *refused, char *why, size_t whylen)
{
	ldns_rr_list	*up = NULL;
	ldns_rr		*rr = NULL;
	ldns_rdf	*zdn = NULL, *qmac;
	ldns_pkt	*q = NULL, *ans = NULL;
	uint8_t		*wire = NULL;
	char		*txt = NULL;
	size_t		 wlen = 0;
	int		 rc = AG_EDNS, nrc;

	why[0] = '\0';
	*refused = 0;
	if (asprintf(&txt, "%s %d IN TXT \"%s\"", rec->name, AG_DNS_TXT_TTL,
	    rec->value) < 0) {
		txt = NULL;
		rc = ANVIL_ENOMEM;
		goto out;
	}
	up = ldns_rr_list_new();
	zdn = ldns_dname_new_frm_str(zone);
	if (up == NULL || zdn == NULL ||
	    ldns_rr_new_frm_str(&rr, txt, 0, NULL, NULL) != LDNS_STATUS_OK) {
		(void)snprintf(why, whylen, "cannot build the update");
		goto out;
	}
	if (!add) {
		/* RFC 2136 §2.5.4: class NONE, TTL 0 deletes this RR. */
		ldns_rr_set_class(rr, LDNS_RR_CLASS_NONE);
		ldns_rr_set_ttl(rr, 0);
	}
	if (!ldns_rr_list_push_rr(up, rr)) {
		(void)snprintf(why, whylen, "out of memory");
		goto out;
	}
	rr = NULL;
	/* The packet owns zdn; it copies up. */
	q = ldns_update_pkt_new(zdn, LDNS_RR_CLASS_IN, NULL, up, NULL);
	if (q == NULL) {
		(void)snprintf(why, whylen, "cannot build the update");
		goto out;
	}
	zdn = NULL;
	ldns_pkt_set_random_id(q);
	if (ldns_pkt_tsig_sign(q, r->key.name, r->key.secret, TSIG_FUDGE,
	    r->key.algorithm, NULL) != LDNS_STATUS_OK ||
	    ldns_pkt_tsig(q) == NULL) {
		(void)snprintf(why, whylen, "cannot sign with key %s",
		    r->key.name);
		goto out;
	}
	nrc = ag_dns_send(&r->server, q, 0, timeout, &ans, &wire, &wlen);
	if (nrc != 0) {
		(void)snprintf(why, whylen, "%s",
		    nrc == ANVIL_ETIMEDOUT ? "no answer (timeout)" :
		    nrc == ANVIL_EIO ? "network error" : "malformed answer");
		goto out;
	}
	if (ldns_pkt_get_opcode(ans) != LDNS_PACKET_UPDATE) {
		(void)snprintf(why, whylen, "the answer is not to an UPDATE");
		goto out;
	}
	if (ldns_pkt_get_rcode(ans) != LDNS_RCODE_NOERROR ||
	    tsig_error(ans) != 0) {
		explain(r, ans, zone, why, whylen);
		*refused = 1;
		goto out;
	}
	/* RFC 8945 §5.3: the answer is signed over our request's MAC. */
	qmac = ldns_rr_rdf(ldns_pkt_tsig(q), 3);
	if (ldns_pkt_tsig(ans) == NULL || !ldns_pkt_tsig_verify(ans, wire,
	    wlen, r->key.name, r->key.secret, qmac)) {
		(void)snprintf(why, whylen, "the answer is not signed with key "
		    "%s", r->key.name);
		goto out;
	}
	rc = 0;
out:
	ldns_pkt_free(ans);
	ldns_pkt_free(q);
	ldns_rr_free(rr);
	ldns_rr_list_deep_free(up);
	ldns_rdf_deep_free(zdn);
	free(wire);
	free(txt);
	return rc;
}

static void
r_cleanup(struct ag_solver *s)
{
	struct r2136	*r = s->priv;
	char		 why[256];
	size_t		 i;
	int		 refused;

	if (r == NULL)
		return;
	for (i = r->n; i-- > 0;) {
		if (r->zones[i] != NULL && update(r, s->conf.dns_timeout,
		    &r->recs[i], r->zones[i], 0, &refused, why,
		    sizeof(why)) != 0)
			fprintf(stderr, "anvil: dns-01: cannot delete %s TXT "
			    "\"%s\" at %s: %s; delete it by hand\n",
			    r->recs[i].name, r->recs[i].value, s->conf.rfc2136,
			    why);
		ag_dns_txt_done(&r->recs[i]);
		free(r->zones[i]);
	}
	ag_tsig_key_done(&r->key);
	free(r);
	s->priv = NULL;
}

static int
r_start(struct ag_solver *s)
{
	struct r2136	*r;
	int		 rc;

	/* Before the CA is asked: updates and checks need ldns. */
	if (ag_ldns_open() != 0)
		return AG_EDNS;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ANVIL_ENOMEM;
	s->priv = r;
	rc = ag_tsig_key_load(s->conf.tsig_key, &r->key);
	if (rc != 0)
		goto fail;
	rc = ag_dns_addr_parse(s->conf.rfc2136, &r->server);
	if (rc != 0) {
		ag_err("--dns01-rfc2136 %s: not HOST:PORT of a reachable "
		    "name", s->conf.rfc2136);
		goto fail;
	}
	return 0;
fail:
	r_cleanup(s);
	return rc;
}

static int
r_add(struct ag_solver *s, const char *domain, const char *token,
    const char *keyauth)
{
	struct r2136	*r = s->priv;
	char		 why[256];
	size_t		 i = r->n;
	int		 rc, refused = 0;

	rc = ag_dns_txt_add(r->recs, &r->n, domain, keyauth);
	if (rc != 0)
		return rc;
	rc = ag_dns_find_zone(&r->server, 1, 0, r->recs[i].name,
	    s->conf.dns_timeout, &r->zones[i]);
	if (rc != 0) {
		if (rc == AG_EINTR)
			ag_err("interrupted");
		else if (rc == ANVIL_ETIMEDOUT || rc == ANVIL_EIO)
			ag_err("dns-01: %s does not answer DNS queries",
			    s->conf.rfc2136);
		else
			ag_err("dns-01: %s is authoritative for no zone above "
			    "%s", s->conf.rfc2136, r->recs[i].name);
		return rc == AG_EINTR || rc == ANVIL_ENOMEM ? rc : AG_EDNS;
	}
	/* zones[i] set: from here on cleanup sends the delete. */
	rc = update(r, s->conf.dns_timeout, &r->recs[i], r->zones[i], 1,
	    &refused, why, sizeof(why));
	if (rc != 0)
		ag_err("dns-01: update of %s in zone %s at %s failed: %s",
		    r->recs[i].name, r->zones[i], s->conf.rfc2136, why);
	if (refused) {
		/* Nothing was added: nothing to delete. */
		free(r->zones[i]);
		r->zones[i] = NULL;
	}
	return rc;
}

static int
r_ready(struct ag_solver *s)
{
	struct r2136	*r = s->priv;

	/* The server updated is the one asked; no resolver involved. */
	return ag_dns_wait_conf(r->recs, r->n, &s->conf, s->conf.rfc2136);
}

const struct ag_solver_ops ag_solver_dns01_rfc2136_ops = {
	.name = "dns01-rfc2136",
	.challenge = "dns-01",
	.start = r_start,
	.add = r_add,
	.ready = r_ready,
	.cleanup = r_cleanup,
};
