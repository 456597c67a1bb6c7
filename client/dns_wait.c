/*
 * dns_wait.c - the TXT record that answers a dns-01 challenge (RFC 8555
 * §8.4) and the wait until it is visible where the CA will look.
 *
 * Where to look, for each record name:
 *   - the server given (--dns01-rfc2136: it is authoritative itself);
 *   - else the zone's authoritative servers: the zone is found by walking
 *     up the name asking the resolver for its SOA, the servers are the
 *     zone's NS set (addresses from the answer's additional section or
 *     asked for), each probed once; those that answer are asked directly
 *     (no recursion) and must all show the record;
 *   - when no authoritative server can be found or none answers (a test
 *     DNS server, a split horizon), the resolver itself: the first
 *     resolver address that answers must show it.
 * The check repeats every POLL_MS until it passes or the timeout passes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "dns01.h"
#include "solver.h"

#define POLL_MS		2000	/* between two rounds of checks */
#define MAX_DEPTH	128	/* labels walked up for the SOA */

/* Where one record is checked. */
struct target {
	struct ag_dns_addr	 addrs[AG_DNS_MAX_SERVERS];
	size_t			 n;
	int			 rd;	/* resolvers: recursion desired */
	int			 all;	/* every address must show it */
};

int
ag_dns_txt_make(const char *domain, const char *keyauth,
    struct ag_dns_txt *ret)
{
	uint8_t		 md[EVP_MAX_MD_SIZE];
	unsigned	 mdlen = 0;
	int		 rc;

	memset(ret, 0, sizeof(*ret));
	if (EVP_Digest(keyauth, strlen(keyauth), md, &mdlen, EVP_sha256(),
	    NULL) != 1)
		return ANVIL_ECRYPTO;
	rc = anvil_b64url_encode(md, mdlen, &ret->value);
	if (rc != 0)
		return rc;
	/* A wildcard's authorization names the base domain (§7.1.3). */
	if (strncmp(domain, "*.", 2) == 0)
		domain += 2;
	if (asprintf(&ret->name, "_acme-challenge.%s.", domain) < 0) {
		ret->name = NULL;
		ag_dns_txt_done(ret);
		return ANVIL_ENOMEM;
	}
	return 0;
}

int
ag_dns_txt_add(struct ag_dns_txt *recs, size_t *n, const char *domain,
    const char *keyauth)
{
	int	 rc;

	if (*n >= AG_MAX_AUTHZ) {
		ag_err("dns-01: too many records");
		return ANVIL_E2BIG;
	}
	rc = ag_dns_txt_make(domain, keyauth, &recs[*n]);
	if (rc != 0)
		return rc;
	(*n)++;
	return 0;
}

void
ag_dns_txt_done(struct ag_dns_txt *t)
{
	free(t->name);
	free(t->value);
	t->name = t->value = NULL;
}

/*
 * Asks the servers in turn for name/type; the first answer with rcode
 * NOERROR or NXDOMAIN wins.  *ret as ag_dns_query.
 */
static int
ask(const struct ag_dns_addr *servers, size_t n, int rd, const char *name,
    ldns_rr_type type, int timeout, ldns_pkt **ret)
{
	ldns_pkt_rcode	 rcode;
	size_t		 i;
	int		 rc = ANVIL_ETIMEDOUT;

	*ret = NULL;
	for (i = 0; i < n; i++) {
		if (ag_interrupted)
			return AG_EINTR;
		rc = ag_dns_query(&servers[i], name, type, rd, timeout, ret);
		if (rc != 0)
			continue;
		rcode = ldns_pkt_get_rcode(*ret);
		if (rcode == LDNS_RCODE_NOERROR || rcode == LDNS_RCODE_NXDOMAIN)
			return 0;
		ldns_pkt_free(*ret);
		*ret = NULL;
		rc = ANVIL_ENOENT;
	}
	return rc;
}

/* The SOA owner in p that is dn or a parent of dn, or NULL (a clone). */
static ldns_rdf *
soa_owner(ldns_pkt *p, const ldns_rdf *dn, const ldns_rdf *cur)
{
	ldns_rr_list	*l;
	ldns_rr		*rr;
	ldns_rdf	*own, *found = NULL;
	size_t		 i;

	l = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_SOA, LDNS_SECTION_ANSWER);
	for (i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++) {
		rr = ldns_rr_list_rr(l, i);
		if (ldns_dname_compare(ldns_rr_owner(rr), cur) == 0) {
			found = ldns_rdf_clone(ldns_rr_owner(rr));
			break;
		}
	}
	ldns_rr_list_deep_free(l);
	if (found != NULL)
		return found;
	l = ldns_pkt_rr_list_by_type(p, LDNS_RR_TYPE_SOA,
	    LDNS_SECTION_AUTHORITY);
	for (i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++) {
		rr = ldns_rr_list_rr(l, i);
		own = ldns_rr_owner(rr);
		/* Not any SOA: a test server may answer with its own. */
		if (ldns_dname_compare(own, dn) == 0 ||
		    ldns_dname_is_subdomain(dn, own)) {
			found = ldns_rdf_clone(own);
			break;
		}
	}
	ldns_rr_list_deep_free(l);
	return found;
}

int
ag_dns_find_zone(const struct ag_dns_addr *servers, size_t n, int rd,
    const char *name, int timeout, char **ret)
{
	ldns_rdf	*dn = NULL, *cur = NULL, *next, *zone = NULL;
	ldns_pkt	*p = NULL;
	char		*cs = NULL;
	int		 depth, rc = ANVIL_ENOENT, answered = 0;

	*ret = NULL;
	rc = ag_ldns_open();
	if (rc != 0)
		return rc;
	rc = ANVIL_ENOENT;
	dn = ldns_dname_new_frm_str(name);
	if (dn == NULL)
		return ANVIL_EINVAL;
	cur = ldns_rdf_clone(dn);
	for (depth = 0; cur != NULL && depth < MAX_DEPTH; depth++) {
		cs = ldns_rdf2str(cur);
		if (cs == NULL) {
			rc = ANVIL_ENOMEM;
			goto out;
		}
		rc = ask(servers, n, rd, cs, LDNS_RR_TYPE_SOA, timeout, &p);
		free(cs);
		cs = NULL;
		if (rc == AG_EINTR || rc == ANVIL_ENOMEM)
			goto out;
		if (rc == 0) {
			answered = 1;
			zone = soa_owner(p, dn, cur);
			ldns_pkt_free(p);
			p = NULL;
			if (zone != NULL)
				break;
		}
		if (ldns_dname_label_count(cur) == 0)
			break;
		next = ldns_dname_left_chop(cur);
		ldns_rdf_deep_free(cur);
		cur = next;
	}
	if (zone == NULL) {
		/* Nobody answered at all: say so rather than "no zone". */
		rc = answered ? ANVIL_ENOENT : rc;
		if (rc == 0)
			rc = ANVIL_ENOENT;
		goto out;
	}
	*ret = ldns_rdf2str(zone);
	rc = *ret == NULL ? ANVIL_ENOMEM : 0;
out:
	ldns_pkt_free(p);
	ldns_rdf_deep_free(zone);
	ldns_rdf_deep_free(cur);
	ldns_rdf_deep_free(dn);
	return rc;
}

/* Adds the address in rr (A or AAAA) at port 53 to t. */
static void
add_addr(struct target *t, const ldns_rr *rr)
{
	struct sockaddr_storage	*ss;
	size_t			 len = 0, i;

	if (t->n == AG_DNS_MAX_SERVERS || ldns_rr_rd_count(rr) < 1)
		return;
	ss = ldns_rdf2native_sockaddr_storage(ldns_rr_rdf(rr, 0),
	    AG_DNS_DEFAULT_PORT, &len);
	if (ss == NULL)
		return;
	if (len <= sizeof(t->addrs[0].ss)) {
		for (i = 0; i < t->n; i++)
			if (t->addrs[i].len == len &&
			    memcmp(&t->addrs[i].ss, ss, len) == 0)
				break;
		if (i == t->n) {
			memset(&t->addrs[t->n], 0, sizeof(t->addrs[t->n]));
			memcpy(&t->addrs[t->n].ss, ss, len);
			t->addrs[t->n].len = (socklen_t)len;
			t->n++;
		}
	}
	free(ss);
}

/* Adds the A/AAAA records of owner found in section sec of p. */
static void
add_addrs_from(struct target *t, ldns_pkt *p, const ldns_rdf *owner,
    ldns_pkt_section sec)
{
	ldns_rr_list	*l;
	ldns_rr_type	 types[2] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	size_t		 i, k;

	for (k = 0; k < 2; k++) {
		l = ldns_pkt_rr_list_by_name_and_type(p, owner, types[k], sec);
		for (i = 0; l != NULL && i < ldns_rr_list_rr_count(l); i++)
			add_addr(t, ldns_rr_list_rr(l, i));
		ldns_rr_list_deep_free(l);
	}
}

/*
 * The authoritative servers of zone that answer, through the resolvers
 * res.  0 with t->n possibly 0 (none found or none answers).
 */
static int
find_auth(const struct target *res, const char *zone, int timeout,
    struct target *t)
{
	struct target	 cand;
	ldns_pkt	*p = NULL, *q = NULL;
	ldns_rr_list	*ns = NULL;
	ldns_rdf	*zdn = NULL, *nsname;
	ldns_rr_type	 types[2] = { LDNS_RR_TYPE_A, LDNS_RR_TYPE_AAAA };
	char		*nss;
	size_t		 i, k, before;
	int		 rc;

	memset(t, 0, sizeof(*t));
	memset(&cand, 0, sizeof(cand));
	t->all = 1;
	zdn = ldns_dname_new_frm_str(zone);
	if (zdn == NULL)
		return ANVIL_EINVAL;
	rc = ask(res->addrs, res->n, 1, zone, LDNS_RR_TYPE_NS, timeout, &p);
	if (rc != 0)
		goto out;
	ns = ldns_pkt_rr_list_by_name_and_type(p, zdn, LDNS_RR_TYPE_NS,
	    LDNS_SECTION_ANSWER);
	for (i = 0; ns != NULL && i < ldns_rr_list_rr_count(ns) &&
	    i < AG_DNS_MAX_NS; i++) {
		if (ldns_rr_rd_count(ldns_rr_list_rr(ns, i)) < 1)
			continue;
		nsname = ldns_rr_rdf(ldns_rr_list_rr(ns, i), 0);
		before = cand.n;
		add_addrs_from(&cand, p, nsname, LDNS_SECTION_ADDITIONAL);
		if (cand.n > before)
			continue;
		nss = ldns_rdf2str(nsname);
		if (nss == NULL) {
			rc = ANVIL_ENOMEM;
			goto out;
		}
		for (k = 0; k < 2; k++) {
			if (ask(res->addrs, res->n, 1, nss, types[k], timeout,
			    &q) != 0)
				continue;
			add_addrs_from(&cand, q, nsname, LDNS_SECTION_ANSWER);
			ldns_pkt_free(q);
			q = NULL;
		}
		free(nss);
		if (ag_interrupted) {
			rc = AG_EINTR;
			goto out;
		}
	}
	/* Keep those that answer for the zone. */
	for (i = 0; i < cand.n; i++) {
		if (ag_interrupted) {
			rc = AG_EINTR;
			goto out;
		}
		if (ag_dns_query(&cand.addrs[i], zone, LDNS_RR_TYPE_SOA, 0,
		    timeout, &q) != 0)
			continue;
		if (ldns_pkt_aa(q))
			t->addrs[t->n++] = cand.addrs[i];
		ldns_pkt_free(q);
		q = NULL;
	}
	rc = 0;
out:
	ldns_rr_list_deep_free(ns);
	ldns_pkt_free(p);
	ldns_rdf_deep_free(zdn);
	return rc;
}

/* The resolvers: o->resolver, or those of /etc/resolv.conf. */
static int
resolvers(const struct ag_dns_wait_opts *o, struct target *t)
{
	struct sockaddr_storage	*ss;
	ldns_resolver		*r = NULL;
	ldns_rdf		**ns;
	size_t			 i, len;
	int			 rc;

	memset(t, 0, sizeof(*t));
	t->rd = 1;
	if (o->resolver != NULL) {
		rc = ag_dns_addr_parse(o->resolver, &t->addrs[0]);
		if (rc != 0) {
			ag_err("--dns-resolver %s: not an address[:port]",
			    o->resolver);
			return rc;
		}
		t->n = 1;
		return 0;
	}
	if (ldns_resolver_new_frm_file(&r, NULL) != LDNS_STATUS_OK ||
	    r == NULL) {
		ag_err("dns-01: cannot read /etc/resolv.conf (give "
		    "--dns-resolver ADDR:PORT)");
		return AG_EDNS;
	}
	ns = ldns_resolver_nameservers(r);
	for (i = 0; i < ldns_resolver_nameserver_count(r) &&
	    t->n < AG_DNS_MAX_SERVERS; i++) {
		len = 0;
		ss = ldns_rdf2native_sockaddr_storage(ns[i],
		    AG_DNS_DEFAULT_PORT, &len);
		if (ss != NULL && len <= sizeof(t->addrs[0].ss)) {
			memcpy(&t->addrs[t->n].ss, ss, len);
			t->addrs[t->n].len = (socklen_t)len;
			t->n++;
		}
		free(ss);
	}
	ldns_resolver_deep_free(r);
	if (t->n == 0) {
		ag_err("dns-01: no nameserver in /etc/resolv.conf (give "
		    "--dns-resolver ADDR:PORT)");
		return AG_EDNS;
	}
	return 0;
}

/* Where rec is to be checked: the authority, the zone's servers, or the
 * resolvers. */
static int
target_for(const struct ag_dns_txt *rec, const struct ag_dns_wait_opts *o,
    const struct target *res, struct target *t)
{
	char	*zone = NULL;
	int	 rc;

	if (o->authority != NULL) {
		memset(t, 0, sizeof(*t));
		rc = ag_dns_addr_parse(o->authority, &t->addrs[0]);
		if (rc != 0) {
			ag_err("dns-01: cannot use server %s", o->authority);
			return rc;
		}
		t->n = 1;
		t->all = 1;
		return 0;
	}
	rc = ag_dns_find_zone(res->addrs, res->n, 1, rec->name,
	    o->query_timeout, &zone);
	if (rc == AG_EINTR || rc == ANVIL_ENOMEM)
		return rc;
	if (rc == 0) {
		rc = find_auth(res, zone, o->query_timeout, t);
		free(zone);
		if (rc == AG_EINTR || rc == ANVIL_ENOMEM)
			return rc;
		if (rc == 0 && t->n > 0)
			return 0;
	}
	/* The documented escape: ask the resolver itself. */
	*t = *res;
	t->all = 0;
	return 0;
}

/* True when p's answer holds a TXT for name whose text is value. */
static bool
has_txt(ldns_pkt *p, const char *name, const char *value)
{
	ldns_rr_list	*l;
	ldns_rr		*rr;
	ldns_rdf	*dn, *f;
	char		 text[1024];
	size_t		 i, k, len, fl;
	bool		 found = false;

	dn = ldns_dname_new_frm_str(name);
	if (dn == NULL)
		return false;
	l = ldns_pkt_rr_list_by_name_and_type(p, dn, LDNS_RR_TYPE_TXT,
	    LDNS_SECTION_ANSWER);
	for (i = 0; !found && l != NULL && i < ldns_rr_list_rr_count(l); i++) {
		rr = ldns_rr_list_rr(l, i);
		/* The character-strings of one TXT, joined. */
		len = 0;
		for (k = 0; k < ldns_rr_rd_count(rr); k++) {
			f = ldns_rr_rdf(rr, k);
			if (ldns_rdf_size(f) < 1)
				continue;
			fl = ldns_rdf_data(f)[0];
			if (fl + 1 > ldns_rdf_size(f) ||
			    len + fl >= sizeof(text))
				break;
			memcpy(text + len, ldns_rdf_data(f) + 1, fl);
			len += fl;
		}
		found = len == strlen(value) && memcmp(text, value, len) == 0;
	}
	ldns_rr_list_deep_free(l);
	ldns_rdf_deep_free(dn);
	return found;
}

/*
 * Checks rec at t once: 0 when visible, else ANVIL_ENOENT with what was
 * seen in why.
 */
static int
check_one(const struct ag_dns_txt *rec, const struct target *t, int timeout,
    char *why, size_t whylen)
{
	ldns_pkt	*p = NULL;
	ldns_pkt_rcode	 rcode;
	char		 where[64];
	size_t		 i;
	int		 rc;

	for (i = 0; i < t->n; i++) {
		if (ag_interrupted)
			return AG_EINTR;
		ag_dns_addr_str(&t->addrs[i], where, sizeof(where));
		rc = ag_dns_query(&t->addrs[i], rec->name, LDNS_RR_TYPE_TXT,
		    t->rd, timeout, &p);
		if (rc != 0) {
			(void)snprintf(why, whylen, "%s did not answer", where);
			if (!t->all)
				continue;
			return ANVIL_ENOENT;
		}
		if (has_txt(p, rec->name, rec->value)) {
			ldns_pkt_free(p);
			p = NULL;
			if (!t->all)
				return 0;
			continue;
		}
		rcode = ldns_pkt_get_rcode(p);
		(void)snprintf(why, whylen, "%s answers %s", where,
		    rcode == LDNS_RCODE_NXDOMAIN ? "no such name" :
		    rcode != LDNS_RCODE_NOERROR ? "with an error" :
		    ldns_pkt_ancount(p) == 0 ? "no TXT" : "other TXT values");
		ldns_pkt_free(p);
		return ANVIL_ENOENT;
	}
	return t->all ? 0 : ANVIL_ENOENT;
}

int
ag_dns_wait(const struct ag_dns_txt *recs, size_t n,
    const struct ag_dns_wait_opts *o)
{
	struct target	 res, *tg = NULL;
	char		 why[256];
	int64_t		 deadline;
	size_t		 i;
	int		 rc = 0;

	rc = ag_ldns_open();
	if (rc != 0)
		return rc;
	deadline = ag_now() + o->timeout;
	memset(&res, 0, sizeof(res));
	if (o->authority == NULL) {
		rc = resolvers(o, &res);
		if (rc != 0)
			return rc;
	}
	tg = calloc(n > 0 ? n : 1, sizeof(*tg));
	if (tg == NULL)
		return ANVIL_ENOMEM;
	for (i = 0; i < n; i++) {
		rc = target_for(&recs[i], o, &res, &tg[i]);
		if (rc != 0)
			goto out;
	}
	for (;;) {
		why[0] = '\0';
		for (i = 0; i < n; i++) {
			rc = check_one(&recs[i], &tg[i], o->query_timeout, why,
			    sizeof(why));
			if (rc != 0)
				break;
		}
		if (rc == 0 || rc == AG_EINTR)
			goto out;
		if (ag_now() + POLL_MS / 1000 > deadline) {
			ag_err("dns-01: %s TXT \"%s\" not visible after %d s: "
			    "%s", recs[i].name, recs[i].value, o->timeout,
			    why[0] != '\0' ? why : "no server to ask");
			rc = AG_EDNS;
			goto out;
		}
		rc = ag_sleep_ms(POLL_MS);
		if (rc != 0)
			goto out;
	}
out:
	if (rc == AG_EINTR)
		ag_err("interrupted");
	free(tg);
	return rc;
}

int
ag_dns_wait_conf(const struct ag_dns_txt *recs, size_t n,
    const struct ag_solver_conf *c, const char *authority)
{
	struct ag_dns_wait_opts	 o;

	memset(&o, 0, sizeof(o));
	o.resolver = c->dns_resolver;
	o.authority = authority;
	o.timeout = c->propagation_timeout;
	o.query_timeout = c->dns_timeout;
	return ag_dns_wait(recs, n, &o);
}
