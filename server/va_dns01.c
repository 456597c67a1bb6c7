/*
 * va_dns01.c - the dns-01 check (RFC 8555 §8.4).
 *
 * A TXT record at _acme-challenge.NAME must hold base64url(SHA-256(key
 * authorization)).  Any one matching record among several passes; the
 * character-strings of one record are concatenated before comparing
 * (RFC 7208 §3.3 does the same for long values), so a value split in two
 * strings still matches.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/sha.h>

#include "anvil/b64.h"
#include "anvil/error.h"
#include "anvil/limits.h"
#include "anvil/x509.h"
#include "va_internal.h"

#define RR_TXT		16
#define RCODE_SERVFAIL	2
#define RCODE_NXDOMAIN	3
#define TXT_KEEP	256	/* bytes of a record kept for comparison;
				   longer ones cannot match 43 characters */
#define QUOTED_TXT	120

/*
 * Concatenates the character-strings of one TXT rdata (len bytes) into
 * out (size TXT_KEEP, NUL-terminated), keeping at most TXT_KEEP - 1 bytes
 * whose count goes to *ret_kept.  Returns the full length of the value,
 * or -1 when the rdata is malformed (a string running past the end).
 */
static long
txt_value(const unsigned char *rd, size_t len, char *out, size_t *ret_kept)
{
	size_t	 pos = 0, kept = 0, l, take;
	long	 total = 0;

	/* Terminates: pos grows by at least one per pass, up to len. */
	while (pos < len) {
		l = rd[pos++];
		if (l > len - pos)
			return -1;
		take = l;
		if (take > TXT_KEEP - 1 - kept)
			take = TXT_KEEP - 1 - kept;
		memcpy(out + kept, rd + pos, take);
		kept += take;
		total += (long)l;
		pos += l;
	}
	out[kept] = '\0';
	*ret_kept = kept;
	return total;
}

/*
 * Judges the answer to the TXT lookup of qname against want (wlen
 * bytes), into res.
 */
static void
judge(const char *qname, const char *want, size_t wlen, int rc,
    const struct va_answer *ans, struct va_result *res)
{
	struct va_rr_iter	 it;
	const unsigned char	*rd;
	char			 value[TXT_KEEP], shown[QUOTED_TXT];
	size_t			 kept, rdlen, nany = 0, nrec = 0;
	long			 total;

	shown[0] = '\0';
	if (rc == ANVIL_ETIMEDOUT) {
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: query timed out "
		    "looking up TXT for %s", qname);
		return;
	}
	if (ans->err != NULL) {
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s looking up TXT "
		    "for %s", ans->err, qname);
		return;
	}
	if (ans->bogus) {
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: DNSSEC validation "
		    "failure looking up TXT for %s", qname);
		return;
	}
	if (ans->rcode != 0 && ans->rcode != RCODE_NXDOMAIN) {
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s looking up TXT "
		    "for %s", ans->rcode == RCODE_SERVFAIL ? "SERVFAIL" :
		    "DNS error", qname);
		return;
	}
	va__answer_begin(ans, &it);
	while (va__answer_next(ans, &it, &rd, &rdlen)) {
		nany++;
		total = txt_value(rd, rdlen, value, &kept);
		if (total < 0)
			continue;
		nrec++;
		if ((size_t)total == kept && anvil_memeq_ct(value, kept, want,
		    wlen)) {
			va__pass(res);
			return;
		}
		if (shown[0] == '\0')
			(void)va__quote(shown, sizeof(shown), value, kept);
	}
	if (nany == 0)
		va__fail(res, ANVIL_PROB_UNAUTHORIZED, "No TXT record found at "
		    "%s", qname);
	else if (nrec == 0)
		va__fail(res, ANVIL_PROB_UNAUTHORIZED, "No valid TXT record "
		    "found at %s", qname);
	else if (nrec == 1)
		va__fail(res, ANVIL_PROB_INCORRECT_RESPONSE, "Incorrect TXT "
		    "record %s found at %s", shown, qname);
	else
		va__fail(res, ANVIL_PROB_INCORRECT_RESPONSE, "Incorrect TXT "
		    "record %s (and %zu more) found at %s", shown, nrec - 1,
		    qname);
}

/* The end of the TXT lookup started by va__dns01(). */
static void
on_txt(void *arg, int rc, const struct va_answer *ans)
{
	struct va_check	*c = arg;
	uint8_t		 digest[SHA256_DIGEST_LENGTH];
	char		 qname[ANVIL_MAX_NAME_LEN + 32], want[64];
	size_t		 wlen;

	c->cancel = NULL;
	(void)snprintf(qname, sizeof(qname), "_acme-challenge.%s",
	    c->job.name);
	if (SHA256((const unsigned char *)c->job.keyauth,
	    strlen(c->job.keyauth), digest) == NULL)
		va__fail(&c->res, ANVIL_PROB_SERVER_INTERNAL, "Cannot hash the "
		    "key authorization for %s", c->job.name);
	else {
		wlen = anvil_b64url_encode_to(want, digest, sizeof(digest));
		judge(qname, want, wlen, rc, ans, &c->res);
	}
	va__check_end(c);
}

/* Ends c while its lookup runs (the VA stops). */
static void
cancel(struct va_check *c)
{
	va__lookup_cancel(c->state);
	c->cancel = NULL;
	va__fail(&c->res, ANVIL_PROB_SERVER_INTERNAL, "Validation of %s "
	    "stopped", c->job.name);
	va__check_end(c);
}

void
va__dns01(struct va_check *c)
{
	struct va_lookup *lk;
	char		 qname[ANVIL_MAX_NAME_LEN + 32];
	int		 rc;

	(void)snprintf(qname, sizeof(qname), "_acme-challenge.%s",
	    c->job.name);
	rc = va__lookup(c->loop->dns, qname, RR_TXT, c->deadline, on_txt, c,
	    &lk);
	if (rc != 0) {
		va__fail(&c->res, ANVIL_PROB_SERVER_INTERNAL, "Cannot look up "
		    "TXT for %s: %s", qname, anvil_strerror(rc));
		va__check_end(c);
		return;
	}
	c->state = lk;
	c->cancel = cancel;
}

void
va_check_dns01(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res)
{
	va__check_sync(cfg, job, res, va__dns01);
}
