/*
 * renewal.c - STATE/renewal/NAME.json: how each certificate was obtained,
 * so that "anvil renew" gets it again the same way.
 *
 *   {"version": 1, "name": "www", "names": ["a.example", ...],
 *    "key_type": "ec256", "solver": {"type": "webroot", "path": "/srv"},
 *    "deploy_hook": "systemctl reload nginx",
 *    "server": the directory URL of the CA that issued it,
 *    "servers": [the failover list given at issue time],
 *    "ca_bundle": "/etc/anvil/ca.pem", "email": "a@b", "agree_tos": true,
 *    "revoked": "serial of a revoked certificate"}
 *
 * Written atomically (0644: it holds no secret).  When a certificate is
 * due: two thirds of its lifetime have passed (RFC 9773 renewal
 * information will replace the rule later), or it was revoked.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define AG_MAX_CERTS	10000	/* renewal files read by one renew */

int
ag_certname_check(const char *name)
{
	size_t	 i, n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
		return ANVIL_EINVAL;
	for (i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') || name[i] == '.' ||
		    name[i] == '-' || name[i] == '_'))
			return ANVIL_EINVAL;
	return 0;
}

void
ag_renewal_done(struct ag_renewal *r)
{
	size_t	 i;

	free(r->name);
	anvil_strv_free(r->names);
	json_decref(r->solver);
	free(r->deploy_hook);
	free(r->server);
	for (i = 0; i < r->n_servers; i++)
		free(r->servers[i]);
	free(r->ca_bundle);
	free(r->email);
	free(r->revoked);
	memset(r, 0, sizeof(*r));
}

/* Copies an optional string member into *dst (NULL when absent). */
static int
opt_str(const json_t *j, const char *key, char **dst)
{
	const char	*s;
	json_t		*v;

	v = json_object_get(j, key);
	if (v == NULL || json_is_null(v))
		return 0;
	s = anvil_json_str(j, key);
	if (s == NULL)
		return ANVIL_EJSON;
	*dst = strdup(s);
	return *dst == NULL ? ANVIL_ENOMEM : 0;
}

int
ag_renewal_load(const char *state, const char *name, struct ag_renewal *ret)
{
	struct ag_renewal	 r;
	json_t			*j = NULL, *arr, *v;
	char			 p[4200];
	char			*data = NULL;
	const char		*kt;
	size_t			 len, i;
	int			 rc;

	memset(&r, 0, sizeof(r));
	(void)snprintf(p, sizeof(p), "%s/renewal/%s.json", state, name);
	rc = anvil_file_read(p, AG_MAX_STATE_FILE, &data, &len);
	if (rc != 0) {
		ag_err("cannot read %s: %s", p, rc == ANVIL_ENOENT ?
		    "no such certificate name" : anvil_strerror(rc));
		goto out;
	}
	rc = ANVIL_EJSON;
	if (anvil_json_parse_object(data, len, &j) != 0)
		goto bad;
	r.name = strdup(name);
	if (r.name == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	arr = anvil_json_arr(j, "names");
	if (arr == NULL || json_array_size(arr) == 0 ||
	    json_array_size(arr) > ANVIL_MAX_IDENTIFIERS)
		goto bad;
	r.names = calloc(json_array_size(arr) + 1, sizeof(*r.names));
	if (r.names == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v) ||
		    anvil_dns_name_check(json_string_value(v), 1) != 0)
			goto bad;
		r.names[i] = strdup(json_string_value(v));
		if (r.names[i] == NULL) {
			rc = ANVIL_ENOMEM;
			goto out;
		}
		r.n_names++;
	}
	kt = anvil_json_str(j, "key_type");
	if (kt == NULL)
		goto bad;
	r.key_type = anvil_key_type_parse(kt);
	if (r.key_type == ANVIL_KEY__MAX)
		goto bad;
	r.solver = anvil_json_obj(j, "solver");
	if (r.solver == NULL)
		goto bad;
	json_incref(r.solver);
	arr = anvil_json_arr(j, "servers");
	if (arr != NULL) {
		json_array_foreach(arr, i, v) {
			if (!json_is_string(v) || r.n_servers == AG_MAX_SERVERS)
				goto bad;
			r.servers[r.n_servers] = strdup(json_string_value(v));
			if (r.servers[r.n_servers] == NULL) {
				rc = ANVIL_ENOMEM;
				goto out;
			}
			r.n_servers++;
		}
	}
	if (anvil_json_str(j, "server") == NULL)
		goto bad;
	rc = opt_str(j, "server", &r.server);
	if (rc == 0)
		rc = opt_str(j, "deploy_hook", &r.deploy_hook);
	if (rc == 0)
		rc = opt_str(j, "ca_bundle", &r.ca_bundle);
	if (rc == 0)
		rc = opt_str(j, "email", &r.email);
	if (rc == 0)
		rc = opt_str(j, "revoked", &r.revoked);
	if (json_is_true(json_object_get(j, "agree_tos")))
		r.agree_tos = 1;
	if (rc == ANVIL_EJSON)
		goto bad;
	if (rc != 0)
		goto out;
	*ret = r;
	memset(&r, 0, sizeof(r));
	goto out;
bad:
	ag_err("%s: not a valid renewal file", p);
	rc = ANVIL_EJSON;
out:
	ag_renewal_done(&r);
	json_decref(j);
	free(data);
	return rc;
}

int
ag_renewal_save(const char *state, const struct ag_renewal *r)
{
	json_t	*j = NULL, *names = NULL, *servers = NULL;
	char	 dir[4096], p[4200];
	char	*dump = NULL;
	size_t	 i, len;
	int	 rc = ANVIL_ENOMEM;

	names = json_array();
	servers = json_array();
	if (names == NULL || servers == NULL)
		goto out;
	for (i = 0; i < r->n_names; i++)
		if (json_array_append_new(names, json_string(r->names[i])))
			goto out;
	for (i = 0; i < r->n_servers; i++)
		if (json_array_append_new(servers, json_string(r->servers[i])))
			goto out;
	j = json_pack("{s:i, s:s, s:O, s:s, s:O, s:s?, s:s, s:O, s:s?, "
	    "s:s?, s:b, s:s?}", "version", 1, "name", r->name, "names", names,
	    "key_type", anvil_key_type_name(r->key_type), "solver", r->solver,
	    "deploy_hook", r->deploy_hook, "server", r->server,
	    "servers", servers, "ca_bundle", r->ca_bundle,
	    "email", r->email, "agree_tos", r->agree_tos,
	    "revoked", r->revoked);
	if (j == NULL)
		goto out;
	rc = anvil_json_dump(j, &dump, &len);
	if (rc != 0)
		goto out;
	(void)snprintf(dir, sizeof(dir), "%s/renewal", state);
	rc = ag_mkdirs(dir, 0755);
	if (rc != 0) {
		ag_err("cannot create %s: %s", dir, strerror(-rc));
		goto out;
	}
	(void)snprintf(p, sizeof(p), "%s/%s.json", dir, r->name);
	rc = anvil_file_write_atomic(p, dump, len, 0644);
	if (rc != 0)
		ag_err("cannot write %s: %s", p, anvil_strerror(rc));
out:
	json_decref(j);
	json_decref(names);
	json_decref(servers);
	free(dump);
	return rc;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
ag_renewal_list(const char *state, char ***ret)
{
	DIR		*d;
	struct dirent	*e;
	char		 dir[4096];
	char		**v = NULL, **nv;
	size_t		 n = 0, len;
	int		 rc = 0;

	(void)snprintf(dir, sizeof(dir), "%s/renewal", state);
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return ANVIL_ENOMEM;
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT) {
			*ret = v;
			return 0;
		}
		ag_err("cannot read %s: %s", dir, strerror(errno));
		free(v);
		return -errno;
	}
	while ((e = readdir(d)) != NULL) {
		len = strlen(e->d_name);
		if (len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
			continue;
		if (n == AG_MAX_CERTS) {
			ag_err("%s: more than %d certificates", dir,
			    AG_MAX_CERTS);
			rc = ANVIL_E2BIG;
			break;
		}
		nv = realloc(v, (n + 2) * sizeof(*v));
		if (nv == NULL) {
			rc = ANVIL_ENOMEM;
			break;
		}
		v = nv;
		v[n] = strndup(e->d_name, len - 5);
		if (v[n] == NULL) {
			rc = ANVIL_ENOMEM;
			break;
		}
		v[++n] = NULL;
		if (ag_certname_check(v[n - 1]) != 0) {
			free(v[--n]);
			v[n] = NULL;
		}
	}
	(void)closedir(d);
	if (rc != 0) {
		anvil_strv_free(v);
		return rc;
	}
	qsort(v, n, sizeof(*v), cmp_str);
	*ret = v;
	return 0;
}

bool
ag_renewal_due(const struct ag_certinfo *ci, int64_t now)
{
	int64_t	 life = ci->not_after - ci->not_before;

	if (life <= 0)
		return true;
	return now >= ci->not_before + life / 3 * 2;
}
