/*
 * va_resolve.c - DNS lookups for the validation authority, on libunbound.
 *
 * Each worker thread owns one ub_ctx, created once, so that nothing is
 * shared between threads and each keeps its own (short-lived) cache.  The
 * context runs unbound's resolver in a background thread (ub_ctx_async(1);
 * the default would fork a process), and a lookup waits on ub_fd() with
 * poll() until the check's deadline: unbound's own retries can take far
 * longer than a validation may.
 *
 * Unbound answers some special-use zones itself (test., home.arpa. ...)
 * with NXDOMAIN.  A CA pointed at a test resolver must see the real
 * answers for names such as a.example.test, so those zones are made
 * "transparent": local data (from /etc/hosts) if any, else a real lookup.
 * ("nodefault" would do the same in a configuration file, but
 * ub_ctx_set_option() does not honour it.)  onion., invalid. and
 * localhost. keep their fixed answers.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unbound.h>

#include "anvil/error.h"
#include "va_internal.h"

#define RR_A		1
#define RR_AAAA		28
#define RR_CLASS_IN	1
#define RCODE_SERVFAIL	2

/* Zones that unbound answers locally by default and that a validation
 * resolver must look up instead (RFC 6761 §6.2, RFC 8375). */
static const char *const lookup_zones[] = { "test.", "home.arpa." };

/* One outstanding query. */
struct query {
	const char	*name;
	int		 type;
	int		 id;		/* unbound's async id */
	int		 done;
	int		 err;		/* UB_* error, or 0 */
	struct ub_result *result;	/* owned: ub_resolve_free() */
};

int
va__resolver_spec(const char *s, char *out, size_t outsz)
{
	char		 addr[INET6_ADDRSTRLEN];
	const char	*end, *port = NULL;
	unsigned char	 bin[sizeof(struct in6_addr)];
	size_t		 alen;
	long		 p;
	char		*ep;
	int		 n;

	if (s == NULL || *s == '\0')
		return ANVIL_EINVAL;
	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			return ANVIL_EINVAL;
		alen = (size_t)(end - s - 1);
		if (alen >= sizeof(addr))
			return ANVIL_EINVAL;
		memcpy(addr, s + 1, alen);
		addr[alen] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			return ANVIL_EINVAL;
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return ANVIL_EINVAL;
	} else if (strchr(s, ':') != strrchr(s, ':')) {
		/* Two colons or more: a bare IPv6 address, no port. */
		if (strlen(s) >= sizeof(addr))
			return ANVIL_EINVAL;
		(void)strcpy(addr, s);
		if (inet_pton(AF_INET6, addr, bin) != 1)
			return ANVIL_EINVAL;
	} else {
		end = strchr(s, ':');
		alen = end == NULL ? strlen(s) : (size_t)(end - s);
		if (alen >= sizeof(addr))
			return ANVIL_EINVAL;
		memcpy(addr, s, alen);
		addr[alen] = '\0';
		if (end != NULL)
			port = end + 1;
		if (inet_pton(AF_INET, addr, bin) != 1)
			return ANVIL_EINVAL;
	}

	p = 53;
	if (port != NULL) {
		if (*port < '0' || *port > '9')
			return ANVIL_EINVAL;
		errno = 0;
		p = strtol(port, &ep, 10);
		if (errno != 0 || *ep != '\0' || p < 1 || p > 65535)
			return ANVIL_EINVAL;
	}
	n = snprintf(out, outsz, "%s@%ld", addr, p);
	if (n < 0 || (size_t)n >= outsz)
		return ANVIL_EINVAL;
	return 0;
}

/* Sets one unbound option ("name:" form).  Returns 0 or ANVIL_EINVAL. */
static int
set_option(struct ub_ctx *ub, const char *opt, const char *val)
{
	if (ub_ctx_set_option(ub, opt, val) != 0)
		return ANVIL_EINVAL;
	return 0;
}

int
va__resolver_new(const char *resolver, struct ub_ctx **ret)
{
	struct ub_ctx	*ub = NULL;
	char		 spec[INET6_ADDRSTRLEN + 8], zone[32];
	size_t		 i;
	int		 rc = ANVIL_EINVAL;

	if (resolver != NULL) {
		rc = va__resolver_spec(resolver, spec, sizeof(spec));
		if (rc != 0)
			goto out;
	}
	ub = ub_ctx_create();
	if (ub == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = ANVIL_EINVAL;
	/* A resolver on 127.0.0.1 is the usual case in tests and with a
	 * local caching server. */
	if (set_option(ub, "do-not-query-localhost:", "no") != 0)
		goto out;
	/*
	 * A validation must see the records as they are now: a user who
	 * fixes a TXT record and retries must not get the cached old one.
	 */
	if (set_option(ub, "cache-max-ttl:", "0") != 0 ||
	    set_option(ub, "cache-max-negative-ttl:", "0") != 0)
		goto out;
	for (i = 0; i < sizeof(lookup_zones) / sizeof(lookup_zones[0]); i++) {
		(void)snprintf(zone, sizeof(zone), "%s transparent",
		    lookup_zones[i]);
		if (set_option(ub, "local-zone:", zone) != 0)
			goto out;
	}
	if (resolver != NULL) {
		if (ub_ctx_set_fwd(ub, spec) != 0)
			goto out;
	} else {
		/*
		 * A system without /etc/hosts or /etc/resolv.conf (some
		 * containers) is not an error: unbound then recurses from
		 * the root by itself.
		 */
		(void)ub_ctx_hosts(ub, NULL);
		(void)ub_ctx_resolvconf(ub, NULL);
	}
	/* Resolve in a thread, not in a forked process. */
	if (ub_ctx_async(ub, 1) != 0)
		goto out;
	*ret = ub;
	ub = NULL;
	rc = 0;
out:
	if (ub != NULL)
		ub_ctx_delete(ub);
	return rc;
}

/* Called by ub_process() when a query completes. */
static void
query_done(void *arg, int err, struct ub_result *result)
{
	struct query	*q = arg;

	q->done = 1;
	q->err = err;
	q->result = result;
}

/*
 * Runs n queries in parallel until all are answered or deadline passes.
 * Returns 0 (each query done, with err or result), ANVIL_ETIMEDOUT (the
 * unanswered ones are cancelled and left !done) or ANVIL_EIO when the
 * resolver itself fails.  Results are the caller's to free.
 */
static int
run_queries(struct ub_ctx *ub, struct query *qs, size_t n, int64_t deadline)
{
	struct pollfd	 pfd;
	size_t		 i, pending = 0;
	int		 rc = 0, r;

	for (i = 0; i < n; i++) {
		qs[i].done = 0;
		qs[i].err = 0;
		qs[i].result = NULL;
		qs[i].id = 0;
		r = ub_resolve_async(ub, qs[i].name, qs[i].type, RR_CLASS_IN,
		    &qs[i], query_done, &qs[i].id);
		if (r != 0) {
			qs[i].done = 1;
			qs[i].err = r;
		} else
			pending++;
	}

	/*
	 * Terminates: every pass either processes answers (each query is
	 * answered once), or waits, and the wait is bounded by deadline.
	 */
	while (rc == 0) {
		pending = 0;
		for (i = 0; i < n; i++)
			if (!qs[i].done)
				pending++;
		if (pending == 0)
			break;
		if (va__left_ms(deadline) == 0) {
			rc = ANVIL_ETIMEDOUT;
			break;
		}
		pfd.fd = ub_fd(ub);
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (pfd.fd < 0) {
			rc = ANVIL_EIO;
			break;
		}
		r = poll(&pfd, 1, va__left_ms(deadline));
		if (r < 0 && errno != EINTR) {
			rc = ANVIL_EIO;
			break;
		}
		if (r > 0 && ub_process(ub) != 0)
			rc = ANVIL_EIO;
	}
	if (rc != 0)
		for (i = 0; i < n; i++)
			if (!qs[i].done)
				(void)ub_cancel(ub, qs[i].id);
	return rc;
}

int
va__lookup(struct ub_ctx *ub, const char *name, int type, int64_t deadline,
    struct ub_result **ret, char *why, size_t whylen)
{
	struct query	 q;
	int		 rc;

	q.name = name;
	q.type = type;
	rc = run_queries(ub, &q, 1, deadline);
	if (rc == 0 && q.err != 0) {
		(void)snprintf(why, whylen, "%s", ub_strerror(q.err));
		rc = ANVIL_EIO;
	} else if (rc == ANVIL_EIO)
		(void)snprintf(why, whylen, "resolver failure");
	if (rc == 0)
		*ret = q.result;
	else if (q.result != NULL)
		ub_resolve_free(q.result);
	return rc;
}

/* Copies the first usable address of q into out.  Returns 1 if one was
 * added. */
static int
take_addr(const struct query *q, struct va_addrs *out)
{
	const struct ub_result	*r = q->result;
	int			 family, want;
	size_t			 i;

	if (q->err != 0 || r == NULL || !r->havedata || r->bogus)
		return 0;
	family = q->type == RR_AAAA ? AF_INET6 : AF_INET;
	want = family == AF_INET6 ? 16 : 4;
	/* data is NULL-terminated; stop at the first usable one. */
	for (i = 0; r->data[i] != NULL; i++) {
		if (r->len[i] != want)
			continue;
		if (inet_ntop(family, r->data[i], out->a[out->n].text,
		    sizeof(out->a[out->n].text)) == NULL)
			continue;
		out->a[out->n].family = family;
		out->n++;
		return 1;
	}
	return 0;
}

/* Describes why q gave no address, into buf.  Returns 1 when this is a
 * failure of DNS (as opposed to "no such record"). */
static int
explain(const struct query *q, char *buf, size_t len)
{
	const char	*tname = q->type == RR_AAAA ? "AAAA" : "A";
	const struct ub_result *r = q->result;

	if (!q->done) {
		(void)snprintf(buf, len, "query timed out looking up %s",
		    tname);
		return 1;
	}
	if (q->err != 0) {
		(void)snprintf(buf, len, "%s looking up %s",
		    ub_strerror(q->err), tname);
		return 1;
	}
	if (r->bogus) {
		(void)snprintf(buf, len, "DNSSEC validation failure looking "
		    "up %s", tname);
		return 1;
	}
	if (r->nxdomain) {
		(void)snprintf(buf, len, "NXDOMAIN looking up %s", tname);
		return 0;
	}
	if (r->rcode != 0) {
		(void)snprintf(buf, len, "%s looking up %s",
		    r->rcode == RCODE_SERVFAIL ? "SERVFAIL" : "DNS error",
		    tname);
		return 1;
	}
	(void)snprintf(buf, len, "no %s record", tname);
	return 0;
}

int
va__lookup_addrs(struct ub_ctx *ub, const char *name, int64_t deadline,
    struct va_addrs *out, struct va_result *res)
{
	struct query	 qs[2];
	char		 why[2][96];
	int		 rc, hard0, hard1;
	size_t		 i;

	memset(out, 0, sizeof(*out));
	qs[0].name = name;
	qs[0].type = RR_AAAA;
	qs[1].name = name;
	qs[1].type = RR_A;
	rc = run_queries(ub, qs, 2, deadline);
	if (rc == ANVIL_EIO) {
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: resolver failure "
		    "looking up %s", name);
		goto out;
	}
	/* IPv6 first (qs[0]), then IPv4: Let's Encrypt's order. */
	(void)take_addr(&qs[0], out);
	(void)take_addr(&qs[1], out);
	if (out->n > 0) {
		rc = 0;
		goto out;
	}
	hard0 = explain(&qs[0], why[0], sizeof(why[0]));
	hard1 = explain(&qs[1], why[1], sizeof(why[1]));
	if (hard1)
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s for %s", why[1],
		    name);
	else if (hard0)
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s for %s", why[0],
		    name);
	else if (qs[1].result->nxdomain)
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s for %s", why[1],
		    name);
	else
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: no valid IP "
		    "addresses found for %s", name);
	rc = ANVIL_ENOENT;
out:
	for (i = 0; i < 2; i++)
		if (qs[i].result != NULL)
			ub_resolve_free(qs[i].result);
	return rc;
}
