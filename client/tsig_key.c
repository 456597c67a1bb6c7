/*
 * tsig_key.c - TSIG key files (RFC 8945) for --tsig-key, in the two
 * formats DNS administrators already have:
 *
 *   BIND (tsig-keygen, rndc-confgen):
 *       key "acme-update" {
 *           algorithm hmac-sha256;
 *           secret "BASE64";
 *       };
 *   knot (keymgr -t):
 *       key:
 *         - id: acme-update
 *           algorithm: hmac-sha256
 *           secret: BASE64
 *
 * The first key of the file is used.  Comments (#, //, C style) are
 * skipped.  Only hmac-sha256 is accepted; the secret must be base64 of
 * 16 to 128 bytes.  The secret never appears in an error message and is
 * zeroed when the key is released.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dns01.h"

#define MAX_KEYFILE	(64 * 1024)
#define MAX_TOKEN	512
#define MIN_SECRET	16	/* bytes, decoded */
#define MAX_SECRET	128

struct lexer {
	const char	*p, *end;
};

/* Skips blanks and comments. */
static void
skip_space(struct lexer *lx)
{
	while (lx->p < lx->end) {
		if (isspace((unsigned char)*lx->p))
			lx->p++;
		else if (*lx->p == '#' || (*lx->p == '/' && lx->p + 1 <
		    lx->end && lx->p[1] == '/')) {
			while (lx->p < lx->end && *lx->p != '\n')
				lx->p++;
		} else if (*lx->p == '/' && lx->p + 1 < lx->end &&
		    lx->p[1] == '*') {
			lx->p += 2;
			while (lx->p + 1 < lx->end &&
			    !(lx->p[0] == '*' && lx->p[1] == '/'))
				lx->p++;
			lx->p = lx->p + 2 < lx->end ? lx->p + 2 : lx->end;
		} else
			break;
	}
}

/*
 * The next BIND token into tok: a word, a quoted string (without its
 * quotes), or one of "{};".  0, 1 at the end, -1 when malformed.
 */
static int
next_token(struct lexer *lx, char tok[MAX_TOKEN], int *quoted)
{
	size_t	 n = 0;

	*quoted = 0;
	skip_space(lx);
	if (lx->p >= lx->end)
		return 1;
	if (*lx->p == '{' || *lx->p == '}' || *lx->p == ';') {
		tok[0] = *lx->p++;
		tok[1] = '\0';
		return 0;
	}
	if (*lx->p == '"') {
		*quoted = 1;
		lx->p++;
		while (lx->p < lx->end && *lx->p != '"' && *lx->p != '\n') {
			if (n + 1 >= MAX_TOKEN)
				return -1;
			tok[n++] = *lx->p++;
		}
		if (lx->p >= lx->end || *lx->p != '"')
			return -1;
		lx->p++;
		tok[n] = '\0';
		return 0;
	}
	while (lx->p < lx->end && !isspace((unsigned char)*lx->p) &&
	    strchr("{};\"", *lx->p) == NULL) {
		if (n + 1 >= MAX_TOKEN)
			return -1;
		tok[n++] = *lx->p++;
	}
	tok[n] = '\0';
	return 0;
}

/* A key name: labels of letters, digits, '-' and '_', 1..63 each. */
static bool
name_ok(const char *name)
{
	size_t	 len = strlen(name), lab = 0, i;

	if (len == 0 || len > 250 || name[0] == '.')
		return false;
	for (i = 0; i < len; i++) {
		if (name[i] == '.') {
			if (lab == 0)
				return false;
			lab = 0;
		} else if (isalnum((unsigned char)name[i]) || name[i] == '-' ||
		    name[i] == '_') {
			if (++lab > 63)
				return false;
		} else
			return false;
	}
	return true;
}

/* Stores name, algorithm and secret into ret after checking them. */
static int
finish(const char *where, const char *name, const char *alg,
    const char *secret, struct ag_tsig_key *ret)
{
	uint8_t	 raw[MAX_SECRET * 2];
	size_t	 len, pad = 0, i;
	int	 n;

	if (name[0] == '\0' || alg[0] == '\0' || secret[0] == '\0') {
		ag_err("%s: the key needs a name, an algorithm and a secret",
		    where);
		return ANVIL_EINVAL;
	}
	if (!name_ok(name)) {
		ag_err("%s: bad key name", where);
		return ANVIL_EINVAL;
	}
	if (strcasecmp(alg, "hmac-sha256") != 0 &&
	    strcasecmp(alg, "hmac-sha256.") != 0) {
		ag_err("%s: algorithm \"%.40s\" is not supported: use "
		    "hmac-sha256", where, alg);
		return ANVIL_EINVAL;
	}
	len = strlen(secret);
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)secret[i]) && secret[i] != '+' &&
		    secret[i] != '/' && secret[i] != '=')
			break;
	if (len % 4 != 0 || i != len || len / 4 * 3 > sizeof(raw)) {
		ag_err("%s: the secret is not base64", where);
		return ANVIL_EINVAL;
	}
	n = EVP_DecodeBlock(raw, (const unsigned char *)secret, (int)len);
	if (len >= 1 && secret[len - 1] == '=')
		pad++;
	if (len >= 2 && secret[len - 2] == '=')
		pad++;
	OPENSSL_cleanse(raw, sizeof(raw));
	if (n < 0 || (size_t)n - pad < MIN_SECRET ||
	    (size_t)n - pad > MAX_SECRET) {
		ag_err("%s: the secret is not base64 of %d to %d bytes", where,
		    MIN_SECRET, MAX_SECRET);
		return ANVIL_EINVAL;
	}
	memset(ret, 0, sizeof(*ret));
	if (asprintf(&ret->name, "%s%s", name,
	    name[strlen(name) - 1] == '.' ? "" : ".") < 0)
		ret->name = NULL;
	ret->algorithm = strdup("hmac-sha256.");
	ret->secret = strdup(secret);
	if (ret->name == NULL || ret->algorithm == NULL ||
	    ret->secret == NULL) {
		ag_tsig_key_done(ret);
		return ANVIL_ENOMEM;
	}
	for (i = 0; ret->name[i] != '\0'; i++)
		ret->name[i] = (char)tolower((unsigned char)ret->name[i]);
	return 0;
}

/* key "NAME" { algorithm ALG; secret "S"; }; */
static int
parse_bind(const char *text, size_t len, const char *where,
    struct ag_tsig_key *ret)
{
	struct lexer	 lx = { text, text + len };
	char		 tok[MAX_TOKEN], name[MAX_TOKEN], alg[MAX_TOKEN];
	char		 secret[MAX_TOKEN], opt[MAX_TOKEN];
	int		 q, rc = ANVIL_EINVAL;

	name[0] = alg[0] = secret[0] = '\0';
	if (next_token(&lx, tok, &q) != 0 || q || strcmp(tok, "key") != 0 ||
	    next_token(&lx, name, &q) != 0 || strchr("{};", name[0]) != NULL ||
	    next_token(&lx, tok, &q) != 0 || strcmp(tok, "{") != 0)
		goto bad;
	for (;;) {
		if (next_token(&lx, opt, &q) != 0)
			goto bad;
		if (!q && strcmp(opt, "}") == 0)
			break;
		if (next_token(&lx, tok, &q) != 0 || strchr("{};", tok[0]))
			goto bad;
		if (strcmp(opt, "algorithm") == 0)
			memcpy(alg, tok, sizeof(alg));
		else if (strcmp(opt, "secret") == 0)
			memcpy(secret, tok, sizeof(secret));
		else {
			ag_err("%s: unknown key option \"%.40s\"", where, opt);
			goto out;
		}
		if (next_token(&lx, tok, &q) != 0 || strcmp(tok, ";") != 0)
			goto bad;
	}
	rc = finish(where, name, alg, secret, ret);
	goto out;
bad:
	ag_err("%s: not a BIND key clause: key \"NAME\" { algorithm "
	    "hmac-sha256; secret \"BASE64\"; };", where);
out:
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(tok, sizeof(tok));
	return rc;
}

/* Copies the value after "KEY:" on a knot line, unquoted, into out. */
static void
yaml_value(const char *v, size_t vlen, char out[MAX_TOKEN])
{
	while (vlen > 0 && isspace((unsigned char)*v)) {
		v++;
		vlen--;
	}
	while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	if (vlen >= 2 && (v[0] == '"' || v[0] == '\'') && v[vlen - 1] == v[0]) {
		v++;
		vlen -= 2;
	}
	if (vlen >= MAX_TOKEN)
		vlen = MAX_TOKEN - 1;
	memcpy(out, v, vlen);
	out[vlen] = '\0';
}

/* key: / - id: NAME / algorithm: ALG / secret: S (first key only). */
static int
parse_knot(const char *text, size_t len, const char *where,
    struct ag_tsig_key *ret)
{
	const char	*p = text, *end = text + len, *eol, *s;
	char		 name[MAX_TOKEN], alg[MAX_TOKEN], secret[MAX_TOKEN];
	size_t		 ll;
	int		 in_key = 0, ids = 0, rc;

	name[0] = alg[0] = secret[0] = '\0';
	for (; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == NULL)
			eol = end;
		s = p;
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		ll = (size_t)(eol - s);
		if (ll == 0 || *s == '#')
			continue;
		if (s == p) {
			/* A top-level section: "key:" or another. */
			in_key = ll >= 4 && strncmp(s, "key:", 4) == 0;
			continue;
		}
		if (!in_key)
			continue;
		if (ll >= 2 && s[0] == '-' && (s[1] == ' ' || s[1] == '\t')) {
			s += 2;
			while (s < eol && (*s == ' ' || *s == '\t'))
				s++;
			ll = (size_t)(eol - s);
			if (ids++ > 0)
				break;	/* the second key */
		}
		if (ll > 3 && strncmp(s, "id:", 3) == 0)
			yaml_value(s + 3, ll - 3, name);
		else if (ll > 10 && strncmp(s, "algorithm:", 10) == 0)
			yaml_value(s + 10, ll - 10, alg);
		else if (ll > 7 && strncmp(s, "secret:", 7) == 0)
			yaml_value(s + 7, ll - 7, secret);
		if (eol == end)
			break;
	}
	if (ids == 0) {
		ag_err("%s: no key in the knot \"key:\" section", where);
		rc = ANVIL_EINVAL;
	} else
		rc = finish(where, name, alg, secret, ret);
	OPENSSL_cleanse(secret, sizeof(secret));
	return rc;
}

int
ag_tsig_key_parse(const char *text, size_t len, const char *where,
    struct ag_tsig_key *ret)
{
	struct lexer	 lx = { text, text + len };

	memset(ret, 0, sizeof(*ret));
	if (len > MAX_KEYFILE || memchr(text, '\0', len) != NULL) {
		ag_err("%s: not a text file of at most %d bytes", where,
		    MAX_KEYFILE);
		return ANVIL_EINVAL;
	}
	skip_space(&lx);
	/* knot: a top-level "key:" section, anywhere in a knot.conf. */
	if (((size_t)(lx.end - lx.p) >= 4 && strncmp(lx.p, "key:", 4) == 0) ||
	    memmem(text, len, "\nkey:", 5) != NULL)
		return parse_knot(text, len, where, ret);
	if ((size_t)(lx.end - lx.p) >= 4 && strncmp(lx.p, "key", 3) == 0 &&
	    (isspace((unsigned char)lx.p[3]) || lx.p[3] == '"'))
		return parse_bind(text, len, where, ret);
	ag_err("%s: not a TSIG key file (BIND \"key NAME { ... };\" or knot "
	    "\"key: - id: NAME\")", where);
	return ANVIL_EINVAL;
}

int
ag_tsig_key_load(const char *path, struct ag_tsig_key *ret)
{
	char	*data = NULL;
	size_t	 len = 0;
	int	 rc;

	memset(ret, 0, sizeof(*ret));
	rc = anvil_file_read(path, MAX_KEYFILE, &data, &len);
	if (rc != 0) {
		ag_err("cannot read TSIG key %s: %s", path,
		    rc == ANVIL_E2BIG ? "larger than 64 KiB" :
		    anvil_strerror(rc));
		return rc;
	}
	rc = ag_tsig_key_parse(data, len, path, ret);
	OPENSSL_cleanse(data, len);
	free(data);
	return rc;
}

void
ag_tsig_key_done(struct ag_tsig_key *k)
{
	if (k->secret != NULL)
		OPENSSL_cleanse(k->secret, strlen(k->secret));
	free(k->secret);
	free(k->name);
	free(k->algorithm);
	memset(k, 0, sizeof(*k));
}
