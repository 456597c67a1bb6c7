/*
 * config.c - reads anvil-ca.conf and applies command-line options over it.
 *
 * The format is deliberately small ("key = value", '#' comments) so that a
 * broken file gets an error naming the line, never a guess.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/error.h"
#include "config.h"

#define CONFIG_MAX_LINE 1024

void
config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
	c->http01_port = 80;
	c->tlsalpn01_port = 443;
	c->validity_days = 90;
	c->order_lifetime = 7 * 86400;
	c->authz_lifetime = 30 * 86400;
	c->va_threads = 2;
	c->challenge_wait_ms = 1000;
	c->ocsp = true;
	c->crl_shards = 16;
	c->crl_lifetime = 86400;
	c->ocsp_lifetime = 3 * 86400;
}

void
config_done(struct config *c)
{
	size_t i;

	free(c->state_dir);
	free(c->listen);
	free(c->base_url);
	free(c->resolver);
	free(c->terms_of_service);
	free(c->website);
	free(c->public_listen);
	free(c->public_base_url);
	for (i = 0; i < c->n_caa; i++)
		free(c->caa_identities[i]);
	memset(c, 0, sizeof(*c));
}

/* Parses a decimal integer in [min, max].  Returns 0 or ANVIL_EINVAL. */
static int
parse_int(const char *s, long long min, long long max, long long *ret)
{
	char *end = NULL;
	long long v;

	if (*s == '\0' || isspace((unsigned char)*s))
		return ANVIL_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return ANVIL_EINVAL;
	*ret = v;
	return 0;
}

static int
set_str(char **field, const char *value)
{
	char *p;

	p = strdup(value);
	if (p == NULL)
		return ANVIL_ENOMEM;
	free(*field);
	*field = p;
	return 0;
}

/* A URL in the configuration must be https:// or http:// with no spaces. */
static int
check_url(const char *v)
{
	const char *p;

	if (strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
		return ANVIL_EINVAL;
	for (p = v; *p != '\0'; p++)
		if (!isgraph((unsigned char)*p))
			return ANVIL_EINVAL;
	return 0;
}

int
config_set(struct config *c, const char *key, const char *value, char *err,
    size_t errlen)
{
	long long n = 0;
	int rc;

	if (strcmp(key, "listen") == 0) {
		if (strchr(value, ':') == NULL) {
			snprintf(err, errlen, "listen: expected ADDR:PORT, "
			    "got \"%s\"", value);
			return ANVIL_EINVAL;
		}
		return set_str(&c->listen, value);
	}
	if (strcmp(key, "base_url") == 0) {
		if (check_url(value) != 0 || value[strlen(value) - 1] == '/') {
			snprintf(err, errlen, "base_url: expected https://HOST"
			    "[:PORT] without a trailing slash");
			return ANVIL_EINVAL;
		}
		return set_str(&c->base_url, value);
	}
	if (strcmp(key, "resolver") == 0)
		return set_str(&c->resolver, value);
	if (strcmp(key, "public_listen") == 0) {
		if (strchr(value, ':') == NULL) {
			snprintf(err, errlen, "public_listen: expected "
			    "ADDR:PORT, got \"%s\"", value);
			return ANVIL_EINVAL;
		}
		return set_str(&c->public_listen, value);
	}
	if (strcmp(key, "public_base_url") == 0) {
		/* Relying parties fetch CRLs and OCSP over plain HTTP (RFC
		 * 5280 §4.2.1.13, RFC 6960 Appendix A). */
		if (strncmp(value, "http://", 7) != 0 ||
		    check_url(value) != 0 || value[strlen(value) - 1] == '/') {
			snprintf(err, errlen, "public_base_url: expected "
			    "http://HOST[:PORT] without a trailing slash");
			return ANVIL_EINVAL;
		}
		return set_str(&c->public_base_url, value);
	}
	if (strcmp(key, "ocsp") == 0) {
		if (strcmp(value, "on") != 0 && strcmp(value, "off") != 0) {
			snprintf(err, errlen, "ocsp: expected on or off, got "
			    "\"%s\"", value);
			return ANVIL_EINVAL;
		}
		c->ocsp = strcmp(value, "on") == 0;
		return 0;
	}
	if (strcmp(key, "crl_shards") == 0) {
		rc = parse_int(value, 1, CONFIG_MAX_CRL_SHARDS, &n);
		if (rc != 0) {
			snprintf(err, errlen, "crl_shards: expected 1-%d, got "
			    "\"%s\"", CONFIG_MAX_CRL_SHARDS, value);
			return rc;
		}
		c->crl_shards = (int)n;
		return 0;
	}
	if (strcmp(key, "crl_lifetime") == 0 ||
	    strcmp(key, "ocsp_lifetime") == 0) {
		/* At least a minute so that half-life refreshes do not spin;
		 * at most 10 days (CA/B BR 4.9.7 and 4.9.10 caps). */
		rc = parse_int(value, 60, 10LL * 86400, &n);
		if (rc != 0) {
			snprintf(err, errlen, "%s: expected seconds, 60 to "
			    "864000, got \"%s\"", key, value);
			return rc;
		}
		if (key[0] == 'c')
			c->crl_lifetime = n;
		else
			c->ocsp_lifetime = n;
		return 0;
	}
	if (strcmp(key, "terms_of_service") == 0 ||
	    strcmp(key, "website") == 0) {
		if (check_url(value) != 0) {
			snprintf(err, errlen, "%s: expected an http(s) URL", key);
			return ANVIL_EINVAL;
		}
		return set_str(key[0] == 't' ? &c->terms_of_service :
		    &c->website, value);
	}
	if (strcmp(key, "caa_identity") == 0) {
		if (c->n_caa >= CONFIG_MAX_CAA) {
			snprintf(err, errlen, "caa_identity: at most %d",
			    CONFIG_MAX_CAA);
			return ANVIL_EINVAL;
		}
		c->caa_identities[c->n_caa] = strdup(value);
		if (c->caa_identities[c->n_caa] == NULL)
			return ANVIL_ENOMEM;
		c->n_caa++;
		return 0;
	}
	if (strcmp(key, "http01_port") == 0 ||
	    strcmp(key, "tlsalpn01_port") == 0) {
		rc = parse_int(value, 1, 65535, &n);
		if (rc != 0) {
			snprintf(err, errlen, "%s: expected a port 1-65535, "
			    "got \"%s\"", key, value);
			return rc;
		}
		if (key[0] == 'h')
			c->http01_port = (int)n;
		else
			c->tlsalpn01_port = (int)n;
		return 0;
	}
	if (strcmp(key, "validity_days") == 0) {
		rc = parse_int(value, 1, 3650, &n);
		if (rc != 0) {
			snprintf(err, errlen, "validity_days: expected 1-3650, "
			    "got \"%s\"", value);
			return rc;
		}
		c->validity_days = (int)n;
		return 0;
	}
	if (strcmp(key, "order_lifetime") == 0 ||
	    strcmp(key, "authz_lifetime") == 0) {
		rc = parse_int(value, 60, 365LL * 86400, &n);
		if (rc != 0) {
			snprintf(err, errlen, "%s: expected seconds, 60 to "
			    "31536000, got \"%s\"", key, value);
			return rc;
		}
		if (key[0] == 'o')
			c->order_lifetime = n;
		else
			c->authz_lifetime = n;
		return 0;
	}
	if (strcmp(key, "va_threads") == 0) {
		rc = parse_int(value, 1, 64, &n);
		if (rc != 0) {
			snprintf(err, errlen, "va_threads: expected 1-64, "
			    "got \"%s\"", value);
			return rc;
		}
		c->va_threads = (int)n;
		return 0;
	}
	if (strcmp(key, "challenge_wait_ms") == 0) {
		rc = parse_int(value, 0, 10000, &n);
		if (rc != 0) {
			snprintf(err, errlen, "challenge_wait_ms: expected "
			    "0-10000, got \"%s\"", value);
			return rc;
		}
		c->challenge_wait_ms = (int)n;
		return 0;
	}
	snprintf(err, errlen, "unknown key \"%s\"", key);
	return ANVIL_EINVAL;
}

/* Trims white space at both ends, in place. */
static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	*e = '\0';
	return s;
}

int
config_load(struct config *c, const char *path, char *err, size_t errlen)
{
	char sub[256], *line = NULL, *key, *value, *eq;
	size_t cap = 0;
	ssize_t n;
	FILE *f = NULL;
	int lineno = 0, rc = 0;

	f = fopen(path, "r");
	if (f == NULL) {
		rc = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return rc;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		lineno++;
		if (n > CONFIG_MAX_LINE) {
			snprintf(err, errlen, "%s:%d: line longer than %d "
			    "characters", path, lineno, CONFIG_MAX_LINE);
			rc = ANVIL_EINVAL;
			goto out;
		}
		if (memchr(line, '\0', (size_t)n) != NULL) {
			snprintf(err, errlen, "%s:%d: NUL byte in the line",
			    path, lineno);
			rc = ANVIL_EINVAL;
			goto out;
		}
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected \"key = value\"",
			    path, lineno);
			rc = ANVIL_EINVAL;
			goto out;
		}
		*eq = '\0';
		key = trim(key);
		value = trim(eq + 1);
		if (*key == '\0' || *value == '\0') {
			snprintf(err, errlen, "%s:%d: empty key or value",
			    path, lineno);
			rc = ANVIL_EINVAL;
			goto out;
		}
		sub[0] = '\0';
		rc = config_set(c, key, value, sub, sizeof(sub));
		if (rc != 0) {
			snprintf(err, errlen, "%s:%d: %s", path, lineno,
			    sub[0] != '\0' ? sub : "out of memory");
			goto out;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		rc = ANVIL_EIO;
	}
out:
	free(line);
	fclose(f);
	return rc;
}

int
config_split_addr(const char *s, char *addr, size_t addrlen, int *port)
{
	const char *colon;
	char *end = NULL;
	long p;
	size_t n;

	if (*s == '[') {
		colon = strstr(s, "]:");
		if (colon == NULL)
			return ANVIL_EINVAL;
		n = (size_t)(colon - s - 1);
		if (n >= addrlen)
			return ANVIL_EINVAL;
		memcpy(addr, s + 1, n);
		addr[n] = '\0';
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL || (size_t)(colon - s) >= addrlen)
			return ANVIL_EINVAL;
		memcpy(addr, s, (size_t)(colon - s));
		addr[colon - s] = '\0';
	}
	errno = 0;
	p = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || p < 0 ||
	    p > 65535)
		return ANVIL_EINVAL;
	*port = (int)p;
	return 0;
}
