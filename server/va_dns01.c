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

void
va__dns01(const struct va_config *cfg, struct va_ctx *vc,
    const struct va_job *job, struct va_result *res)
{
	struct va_answer	 ans;
	struct va_rr_iter	 it;
	const unsigned char	*rd;
	uint8_t			 digest[SHA256_DIGEST_LENGTH];
	char			 qname[ANVIL_MAX_NAME_LEN + 32];
	char			 want[64], value[TXT_KEEP];
	char			 shown[QUOTED_TXT];
	size_t			 kept, rdlen, wlen, nany = 0, nrec = 0;
	long			 total;
	int64_t			 deadline;
	int			 rc;

	memset(&ans, 0, sizeof(ans));
	deadline = va__now_ms() + cfg->timeout_ms;
	shown[0] = '\0';
	(void)snprintf(qname, sizeof(qname), "_acme-challenge.%s", job->name);
	if (SHA256((const unsigned char *)job->keyauth, strlen(job->keyauth),
	    digest) == NULL) {
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Cannot hash the key "
		    "authorization for %s", job->name);
		return;
	}
	wlen = anvil_b64url_encode_to(want, digest, sizeof(digest));

	rc = va__lookup(vc->dns, qname, RR_TXT, deadline, &ans);
	if (rc == ANVIL_ETIMEDOUT) {
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: query timed out "
		    "looking up TXT for %s", qname);
		goto out;
	}
	if (ans.err != NULL) {
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s looking up TXT "
		    "for %s", ans.err, qname);
		goto out;
	}
	if (ans.bogus) {
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: DNSSEC validation "
		    "failure looking up TXT for %s", qname);
		goto out;
	}
	if (ans.rcode != 0 && ans.rcode != RCODE_NXDOMAIN) {
		va__fail(res, ANVIL_PROB_DNS, "DNS problem: %s looking up TXT "
		    "for %s", ans.rcode == RCODE_SERVFAIL ? "SERVFAIL" :
		    "DNS error", qname);
		goto out;
	}
	va__answer_begin(&ans, &it);
	while (va__answer_next(&ans, &it, &rd, &rdlen)) {
		nany++;
		total = txt_value(rd, rdlen, value, &kept);
		if (total < 0)
			continue;
		nrec++;
		if ((size_t)total == kept && anvil_memeq_ct(value, kept, want,
		    wlen)) {
			va__pass(res);
			goto out;
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
out:
	va__answer_clear(&ans);
}

void
va_check_dns01(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res)
{
	va__check_sync(cfg, job, res, va__dns01);
}
