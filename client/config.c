/*
 * config.c - the agent's options: defaults, the optional --config FILE,
 * then the command line over it.
 *
 * File format, as anvil-ca's: one "key = value" per line, '#' starts a
 * comment line, blank lines are ignored; an unknown key or a malformed
 * line is an error naming FILE:LINE.  Keys:
 *
 *   server        = https://acme.example/directory   (repeatable: failover)
 *   ca_bundle     = /etc/anvil/ca.pem
 *   email         = admin@example.org
 *   agree_tos     = yes | no
 *   state         = /var/lib/anvil
 *   poll_timeout  = 120          seconds per polling phase (5..3600)
 *   http_timeout  = 30           seconds per HTTP request (2..600)
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "agent.h"

void
ag_config_init(struct ag_config *c)
{
	memset(c, 0, sizeof(*c));
	c->poll_timeout = 120;
	c->http_timeout = 30;
}

void
ag_config_done(struct ag_config *c)
{
	size_t	 i;

	for (i = 0; i < c->n_servers; i++)
		free(c->servers[i]);
	free(c->ca_bundle);
	free(c->email);
	free(c->state);
	memset(c, 0, sizeof(*c));
}

/* Replaces *dst with a copy of v. */
static int
setstr(char **dst, const char *v)
{
	char	*s;

	s = strdup(v);
	if (s == NULL)
		return ANVIL_ENOMEM;
	free(*dst);
	*dst = s;
	return 0;
}

/* Parses a decimal integer in [lo, hi]. */
static int
setint(int *dst, const char *v, int lo, int hi)
{
	char	*end;
	long	 n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi)
		return ANVIL_EINVAL;
	*dst = (int)n;
	return 0;
}

int
ag_config_set(struct ag_config *c, const char *key, const char *value,
    const char *where)
{
	int	 rc = 0;

	if (strcmp(key, "server") == 0) {
		if (strncmp(value, "https://", 8) != 0) {
			ag_err("%s: server must be an https:// URL: %s", where,
			    value);
			return ANVIL_EINVAL;
		}
		if (c->n_servers == AG_MAX_SERVERS) {
			ag_err("%s: more than %d servers", where,
			    AG_MAX_SERVERS);
			return ANVIL_EINVAL;
		}
		c->servers[c->n_servers] = strdup(value);
		if (c->servers[c->n_servers] == NULL)
			return ANVIL_ENOMEM;
		c->n_servers++;
	} else if (strcmp(key, "ca_bundle") == 0)
		rc = setstr(&c->ca_bundle, value);
	else if (strcmp(key, "email") == 0)
		rc = setstr(&c->email, value);
	else if (strcmp(key, "state") == 0)
		rc = setstr(&c->state, value);
	else if (strcmp(key, "agree_tos") == 0) {
		if (strcmp(value, "yes") == 0)
			c->agree_tos = 1;
		else if (strcmp(value, "no") == 0)
			c->agree_tos = 0;
		else
			rc = ANVIL_EINVAL;
	} else if (strcmp(key, "poll_timeout") == 0)
		rc = setint(&c->poll_timeout, value, 5, 3600);
	else if (strcmp(key, "http_timeout") == 0)
		rc = setint(&c->http_timeout, value, 2, 600);
	else {
		ag_err("%s: unknown key \"%s\"", where, key);
		return ANVIL_EINVAL;
	}
	if (rc == ANVIL_EINVAL)
		ag_err("%s: bad value for %s: \"%s\"", where, key, value);
	return rc;
}

/* Strips leading and trailing blanks in place. */
static char *
trim(char *s)
{
	size_t	 n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Why path, which anvil_file_read() refused as ANVIL_EINVAL, is no
 * config file. */
static const char *
not_a_file(const char *path)
{
	struct stat	 st;

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return "it is a directory, not a file";
	return "not a regular file";
}

int
ag_config_load(struct ag_config *c, const char *path)
{
	char	*data = NULL, *line, *next, *key, *val, *eq;
	char	 where[300];
	size_t	 len;
	int	 lineno = 0, rc;

	rc = anvil_file_read(path, AG_MAX_CONFIG, &data, &len);
	if (rc != 0) {
		ag_err("cannot read config %s: %s", path,
		    rc == ANVIL_E2BIG ? "larger than 64 KiB" :
		    rc == ANVIL_EINVAL ? not_a_file(path) :
		    anvil_strerror(rc));
		goto out;
	}
	if (memchr(data, '\0', len) != NULL) {
		ag_err("%s: binary data in config", path);
		rc = ANVIL_EINVAL;
		goto out;
	}
	/* One pass over the NUL-terminated text, line by line. */
	for (line = data; line != NULL; line = next) {
		lineno++;
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		key = trim(line);
		if (*key == '\0' || *key == '#')
			continue;
		(void)snprintf(where, sizeof(where), "%s:%d", path, lineno);
		eq = strchr(key, '=');
		if (eq == NULL) {
			ag_err("%s: expected \"key = value\"", where);
			rc = ANVIL_EINVAL;
			goto out;
		}
		*eq = '\0';
		key = trim(key);
		val = trim(eq + 1);
		rc = ag_config_set(c, key, val, where);
		if (rc != 0)
			goto out;
	}
	rc = 0;
out:
	free(data);
	return rc;
}

int
ag_config_finish(struct ag_config *c)
{
	const char	*base;
	char		 buf[4096];
	int		 n;

	if (c->state != NULL) {
		/* Bounded so that every path under it fits in PATH_MAX. */
		if (strlen(c->state) > AG_MAX_STATE_PATH) {
			ag_err("state directory path longer than %d",
			    AG_MAX_STATE_PATH);
			return ANVIL_EINVAL;
		}
		return 0;
	}
	if (geteuid() == 0)
		return setstr(&c->state, "/var/lib/anvil");
	base = getenv("XDG_STATE_HOME");
	if (base != NULL && base[0] == '/')
		n = snprintf(buf, sizeof(buf), "%s/anvil", base);
	else {
		base = getenv("HOME");
		if (base == NULL || base[0] != '/') {
			ag_err("no state directory: set --state, "
			    "XDG_STATE_HOME or HOME");
			return ANVIL_EINVAL;
		}
		n = snprintf(buf, sizeof(buf), "%s/.local/state/anvil", base);
	}
	if (n < 0 || (size_t)n > AG_MAX_STATE_PATH) {
		ag_err("state directory path too long");
		return ANVIL_EINVAL;
	}
	return setstr(&c->state, buf);
}
