/*
 * account.c - the agent's account at each CA (RFC 8555 §7.3).
 *
 * STATE/accounts/ID/account.key   the account key, PKCS#8 PEM, 0600
 * STATE/accounts/ID/account.json  {"url": account URL, "server": directory,
 *                                  "contact": [...]}
 * ID names the CA: host-port-HASH, HASH the first 8 hex digits of the
 * SHA-256 of the directory URL (two directories on one host differ).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/sha.h>

#include "agent.h"

int
ag_account_id(const char *url, char *out, size_t outlen)
{
	unsigned char	 md[SHA256_DIGEST_LENGTH];
	const char	*host, *end;
	size_t		 hlen, i;
	int		 n;

	if (strncmp(url, "https://", 8) != 0)
		return ANVIL_EINVAL;
	host = url + 8;
	end = host + strcspn(host, "/?#");
	hlen = (size_t)(end - host);
	if (hlen == 0 || hlen > 255)
		return ANVIL_EINVAL;
	(void)SHA256((const unsigned char *)url, strlen(url), md);
	n = snprintf(out, outlen, "%.*s-%02x%02x%02x%02x", (int)hlen, host,
	    md[0], md[1], md[2], md[3]);
	if (n < 0 || (size_t)n >= outlen)
		return ANVIL_EINVAL;
	/* host:port -> host-port; anything odd (IPv6 brackets, '@') -> '_' */
	for (i = 0; i < hlen; i++) {
		if (out[i] == ':')
			out[i] = '-';
		else if (!(out[i] == '.' || out[i] == '-' ||
		    (out[i] >= 'a' && out[i] <= 'z') ||
		    (out[i] >= 'A' && out[i] <= 'Z') ||
		    (out[i] >= '0' && out[i] <= '9')))
			out[i] = '_';
	}
	if (out[0] == '.')
		out[0] = '_';
	return 0;
}

/* A contact address we are willing to send: user@host, printable. */
static int
email_check(const char *e)
{
	const char	*at;
	size_t		 i, len = strlen(e);

	at = strchr(e, '@');
	if (at == NULL || at == e || at[1] == '\0' || strchr(at + 1, '@') ||
	    len + 7 > ANVIL_MAX_CONTACT_LEN)
		return ANVIL_EINVAL;
	for (i = 0; i < len; i++)
		if ((unsigned char)e[i] <= ' ' || e[i] == ',' ||
		    (unsigned char)e[i] >= 0x7f || e[i] == '?' || e[i] == '#')
			return ANVIL_EINVAL;
	return 0;
}

/*
 * Registers the account (newAccount, §7.3) with a->key, then records it:
 * the key first when kpath is given (a key made for this registration,
 * written only once the CA accepted it, in dir created here), then
 * jpath.  A failure leaves no part of the record behind.
 */
static int
account_register(struct ag_acme *a, const char *dir, const char *kpath,
    const char *jpath, const char *email)
{
	struct ag_resp	 r;
	json_t		*req = NULL, *rec = NULL, *acct = NULL, *contact;
	char		 mail[ANVIL_MAX_CONTACT_LEN + 1];
	char		*dump = NULL;
	const char	*status;
	size_t		 len;
	int		 rc = ANVIL_ENOMEM;

	ag_resp_init(&r);
	req = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	contact = json_array();
	if (req == NULL || contact == NULL ||
	    json_object_set_new(req, "contact", contact) != 0)
		goto out;
	if (email != NULL) {
		(void)snprintf(mail, sizeof(mail), "mailto:%s", email);
		if (json_array_append_new(contact, json_string(mail)) != 0)
			goto out;
	}
	rc = ag_acme_post(a, ag_acme_dirurl(a, "newAccount"), req, 1, NULL,
	    &r);
	if (rc != 0)
		goto out;
	rc = AG_ECA;
	if ((r.status != 201 && r.status != 200) || r.location == NULL ||
	    strncmp(r.location, "https://", 8) != 0) {
		ag_err("%s: newAccount gave no account URL (HTTP %ld)", a->url,
		    r.status);
		goto out;
	}
	if (anvil_json_parse_object(r.body.data, r.body.len, &acct) == 0) {
		status = anvil_json_str(acct, "status");
		if (status != NULL && strcmp(status, "valid") != 0) {
			ag_err("%s: account is %s", a->url, status);
			goto out;
		}
	}
	free(a->kid);
	a->kid = strdup(r.location);
	rec = json_pack("{s:s, s:s, s:O}", "url", r.location, "server",
	    a->url, "contact", contact);
	if (a->kid == NULL || rec == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = anvil_json_dump(rec, &dump, &len);
	if (rc != 0)
		goto out;
	if (kpath != NULL) {
		rc = ag_mkdirs(dir, 0700);
		if (rc != 0) {
			ag_err("cannot create %s: %s", dir, strerror(-rc));
			goto out;
		}
		rc = anvil_key_save(kpath, a->key, 0);
		if (rc != 0) {
			ag_err("cannot write account key %s: %s", kpath,
			    anvil_strerror(rc));
			(void)rmdir(dir);
			goto out;
		}
	}
	rc = anvil_file_write_atomic(jpath, dump, len, 0600);
	if (rc != 0) {
		ag_err("cannot write %s: %s", jpath, anvil_strerror(rc));
		if (kpath != NULL) {
			(void)unlink(kpath);
			(void)rmdir(dir);
		}
	}
out:
	ag_resp_done(&r);
	json_decref(req);
	json_decref(rec);
	json_decref(acct);
	free(dump);
	return rc;
}

/* Reads the account URL from account.json into a->kid. */
static int
account_read(struct ag_acme *a, const char *jpath)
{
	json_t		*j = NULL;
	char		*data = NULL;
	const char	*url;
	size_t		 len;
	int		 rc;

	rc = anvil_file_read(jpath, AG_MAX_STATE_FILE, &data, &len);
	if (rc != 0)
		goto out;
	rc = ANVIL_EJSON;
	if (anvil_json_parse_object(data, len, &j) != 0)
		goto bad;
	url = anvil_json_str(j, "url");
	if (url == NULL || strncmp(url, "https://", 8) != 0)
		goto bad;
	a->kid = strdup(url);
	rc = a->kid == NULL ? ANVIL_ENOMEM : 0;
	goto out;
bad:
	ag_err("%s: not an account record (remove it and register again)",
	    jpath);
out:
	free(data);
	json_decref(j);
	return rc;
}

int
ag_account_ensure(struct ag_acme *a, const char *state, const char *email,
    int agree_tos, int may_register, enum anvil_key_type kt)
{
	EVP_PKEY	*key = NULL;
	char		 id[300], dir[4096], kpath[4200], jpath[4200];
	int		 rc, fresh = 0;

	if (may_register && email != NULL && email_check(email) != 0) {
		ag_err("not an email address: \"%s\"", email);
		return ANVIL_EINVAL;
	}
	rc = ag_account_id(a->url, id, sizeof(id));
	if (rc != 0) {
		ag_err("%s: cannot name an account directory", a->url);
		return rc;
	}
	(void)snprintf(dir, sizeof(dir), "%s/accounts/%s", state, id);
	(void)snprintf(kpath, sizeof(kpath), "%s/account.key", dir);
	(void)snprintf(jpath, sizeof(jpath), "%s/account.json", dir);

	rc = anvil_key_load(kpath, &key);
	if (rc == ANVIL_ENOENT) {
		if (!may_register || !agree_tos)
			goto noacct;
		/* Kept in memory until the CA has accepted the account. */
		rc = anvil_key_generate(kt, &key);
		if (rc != 0) {
			ag_err("cannot make an account key: %s",
			    anvil_strerror(rc));
			return rc;
		}
		fresh = 1;
	} else if (rc != 0) {
		ag_err("cannot load account key %s: %s", kpath,
		    anvil_strerror(rc));
		return rc;
	}
	rc = ag_acme_set_key(a, key);
	if (rc != 0) {
		EVP_PKEY_free(key);
		return rc;
	}
	if (!fresh && access(jpath, F_OK) == 0)
		return account_read(a, jpath);
	if (!may_register || !agree_tos)
		goto noacct;
	return account_register(a, dir, fresh ? kpath : NULL, jpath, email);
noacct:
	ag_err("no account at %s: run \"anvil register --email ADDR "
	    "--agree-tos\" or add --agree-tos", a->url);
	return ANVIL_ENOENT;
}
