/*
 * revoke.c - certificate revocation (RFC 8555 §7.6), signed with the
 * account key that ordered the certificate.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/x509.h>

#include "agent.h"

/* RFC 5280 §5.3.1 reason codes the command line accepts. */
static const struct {
	const char	*name;
	int		 code;
} reasons[] = {
	{ "unspecified", 0 },
	{ "keyCompromise", 1 },
	{ "superseded", 4 },
	{ "cessationOfOperation", 5 },
};

int
ag_revoke_reason(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(reasons[i].name, s) == 0)
			return reasons[i].code;
	return -1;
}

int
ag_revoke(struct ag_acme *a, X509 *cert, int reason)
{
	struct ag_resp	 r;
	json_t		*req = NULL;
	unsigned char	*der = NULL;
	char		*b64 = NULL;
	const char	*url;
	int		 len, rc;

	ag_resp_init(&r);
	url = ag_acme_dirurl(a, "revokeCert");
	if (url == NULL) {
		ag_err("%s: the CA offers no revocation", a->url);
		rc = AG_ECA;
		goto out;
	}
	len = i2d_X509(cert, &der);
	if (len <= 0) {
		ag_err("cannot encode the certificate");
		rc = ANVIL_ECERT;
		goto out;
	}
	rc = anvil_b64url_encode(der, (size_t)len, &b64);
	if (rc != 0)
		goto out;
	req = json_pack("{s:s, s:i}", "certificate", b64, "reason", reason);
	if (req == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = ag_acme_post(a, url, req, 0, NULL, &r);
out:
	ag_resp_done(&r);
	json_decref(req);
	OPENSSL_free(der);
	free(b64);
	return rc;
}
