/*
 * solver.c - what all solvers share: choosing one by name, making it,
 * and recording its options in the renewal file.
 */
#include <errno.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "solver.h"

static const struct ag_solver_ops *const ops_of[AG_SOLVER__MAX] = {
	[AG_SOLVER_HTTP01] = &ag_solver_http01_ops,
	[AG_SOLVER_WEBROOT] = &ag_solver_webroot_ops,
	[AG_SOLVER_TLSALPN01] = &ag_solver_tlsalpn01_ops,
	[AG_SOLVER_DNS01_HOOK] = &ag_solver_dns01_hook_ops,
	[AG_SOLVER_DNS01_RFC2136] = &ag_solver_dns01_rfc2136_ops,
};

enum ag_solver_kind
ag_solver_kind_parse(const char *name)
{
	int	 k;

	for (k = 0; k < AG_SOLVER__MAX; k++)
		if (strcmp(ops_of[k]->name, name) == 0)
			return (enum ag_solver_kind)k;
	return AG_SOLVER__MAX;
}

const char *
ag_solver_kind_name(enum ag_solver_kind k)
{
	if ((int)k < 0 || k >= AG_SOLVER__MAX)
		return NULL;
	return ops_of[k]->name;
}

void
ag_solver_conf_done(struct ag_solver_conf *conf)
{
	free(conf->webroot);
	free(conf->hook);
	free(conf->rfc2136);
	free(conf->tsig_key);
	free(conf->dns_resolver);
	conf->webroot = conf->hook = conf->rfc2136 = conf->tsig_key =
	    conf->dns_resolver = NULL;
}

/* *dst = strdup(src) unless src is NULL. */
static int
dup_opt(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return 0;
	*dst = strdup(src);
	return *dst == NULL ? ANVIL_ENOMEM : 0;
}

/* Deep copy of src into dst. */
static int
conf_copy(struct ag_solver_conf *dst, const struct ag_solver_conf *src)
{
	*dst = *src;
	dst->webroot = dst->hook = dst->rfc2136 = dst->tsig_key =
	    dst->dns_resolver = NULL;
	if (dup_opt(&dst->webroot, src->webroot) != 0 ||
	    dup_opt(&dst->hook, src->hook) != 0 ||
	    dup_opt(&dst->rfc2136, src->rfc2136) != 0 ||
	    dup_opt(&dst->tsig_key, src->tsig_key) != 0 ||
	    dup_opt(&dst->dns_resolver, src->dns_resolver) != 0) {
		ag_solver_conf_done(dst);
		return ANVIL_ENOMEM;
	}
	return 0;
}

/* The options of the dns-01 solvers: 0, or ANVIL_EINVAL with ag_err. */
static int
dns_conf_check(const struct ag_solver_conf *conf)
{
	if (conf->kind == AG_SOLVER_DNS01_HOOK &&
	    (conf->hook == NULL || conf->hook[0] == '\0' ||
	    strlen(conf->hook) > AG_MAX_STATE_PATH)) {
		ag_err("--dns01-hook needs a program");
		return ANVIL_EINVAL;
	}
	if (conf->kind == AG_SOLVER_DNS01_RFC2136 &&
	    (conf->rfc2136 == NULL || conf->rfc2136[0] == '\0' ||
	    strlen(conf->rfc2136) > 260)) {
		ag_err("--dns01-rfc2136 needs HOST:PORT");
		return ANVIL_EINVAL;
	}
	if (conf->kind == AG_SOLVER_DNS01_RFC2136 &&
	    (conf->tsig_key == NULL || conf->tsig_key[0] == '\0' ||
	    strlen(conf->tsig_key) > AG_MAX_STATE_PATH)) {
		ag_err("--dns01-rfc2136 needs --tsig-key FILE");
		return ANVIL_EINVAL;
	}
	if (conf->dns_resolver != NULL && strlen(conf->dns_resolver) > 260) {
		ag_err("--dns-resolver too long");
		return ANVIL_EINVAL;
	}
	if (conf->propagation_timeout < 1 ||
	    conf->propagation_timeout > AG_PROPAGATION_MAX) {
		ag_err("--propagation-timeout must be 1..%d seconds",
		    AG_PROPAGATION_MAX);
		return ANVIL_EINVAL;
	}
	if (conf->dns_timeout < 1 || conf->dns_timeout > AG_DNS_TIMEOUT_MAX) {
		ag_err("--dns-timeout must be 1..%d seconds",
		    AG_DNS_TIMEOUT_MAX);
		return ANVIL_EINVAL;
	}
	return 0;
}

int
ag_solver_new(const struct ag_solver_conf *conf, struct ag_solver **ret)
{
	struct ag_solver	*s;
	int			 rc;

	if ((int)conf->kind < 0 || conf->kind >= AG_SOLVER__MAX) {
		ag_err("no such solver");
		return ANVIL_EINVAL;
	}
	if ((conf->kind == AG_SOLVER_HTTP01 ||
	    conf->kind == AG_SOLVER_TLSALPN01) &&
	    (conf->port < 1 || conf->port > 65535)) {
		ag_err("the solver's port must be 1..65535");
		return ANVIL_EINVAL;
	}
	if (conf->kind == AG_SOLVER_WEBROOT && conf->webroot != NULL &&
	    strlen(conf->webroot) > AG_MAX_STATE_PATH) {
		ag_err("--webroot path too long");
		return ANVIL_EINVAL;
	}
	if (conf->kind == AG_SOLVER_WEBROOT &&
	    (conf->webroot == NULL || conf->webroot[0] == '\0')) {
		ag_err("--webroot needs a directory");
		return ANVIL_EINVAL;
	}
	if ((conf->kind == AG_SOLVER_DNS01_HOOK ||
	    conf->kind == AG_SOLVER_DNS01_RFC2136) &&
	    dns_conf_check(conf) != 0)
		return ANVIL_EINVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ANVIL_ENOMEM;
	s->ops = ops_of[conf->kind];
	rc = conf_copy(&s->conf, conf);
	if (rc != 0) {
		free(s);
		return rc;
	}
	*ret = s;
	return 0;
}

void
ag_solver_free(struct ag_solver *s)
{
	if (s == NULL)
		return;
	ag_solver_conf_done(&s->conf);
	free(s);
}

json_t *
ag_solver_conf_json(const struct ag_solver_conf *conf)
{
	const char	*name = ag_solver_kind_name(conf->kind);

	if (name == NULL)
		return NULL;
	switch (conf->kind) {
	case AG_SOLVER_HTTP01:
	case AG_SOLVER_TLSALPN01:
		return json_pack("{s:s, s:i}", "type", name, "port",
		    conf->port);
	case AG_SOLVER_WEBROOT:
		return json_pack("{s:s, s:s}", "type", name, "path",
		    conf->webroot);
	case AG_SOLVER_DNS01_HOOK:
		return json_pack("{s:s, s:s, s:s?, s:i, s:i}", "type", name,
		    "hook", conf->hook, "resolver", conf->dns_resolver,
		    "propagation_timeout", conf->propagation_timeout,
		    "dns_timeout", conf->dns_timeout);
	case AG_SOLVER_DNS01_RFC2136:
		return json_pack("{s:s, s:s, s:s, s:s?, s:i, s:i}", "type",
		    name, "server", conf->rfc2136, "tsig_key", conf->tsig_key,
		    "resolver", conf->dns_resolver, "propagation_timeout",
		    conf->propagation_timeout, "dns_timeout",
		    conf->dns_timeout);
	default:
		return NULL;
	}
}

/* Reads the optional string key of j into *ret (strdup); 0 or an error. */
static int
opt_str(const json_t *j, const char *key, int required, char **ret)
{
	const char	*v = anvil_json_str(j, key);

	*ret = NULL;
	if (v == NULL)
		return required ? ANVIL_EJSON : 0;
	*ret = strdup(v);
	return *ret == NULL ? ANVIL_ENOMEM : 0;
}

/* The dns-01 options of a renewal file's solver object. */
static int
dns_conf_parse(const json_t *j, struct ag_solver_conf *c)
{
	int64_t	 v;
	int	 rc;

	c->propagation_timeout = AG_PROPAGATION_TIMEOUT;
	c->dns_timeout = AG_DNS_TIMEOUT;
	if (anvil_json_int(j, "propagation_timeout", &v) == 0) {
		if (v < 1 || v > AG_PROPAGATION_MAX)
			return ANVIL_EJSON;
		c->propagation_timeout = (int)v;
	}
	if (anvil_json_int(j, "dns_timeout", &v) == 0) {
		if (v < 1 || v > AG_DNS_TIMEOUT_MAX)
			return ANVIL_EJSON;
		c->dns_timeout = (int)v;
	}
	rc = opt_str(j, "resolver", 0, &c->dns_resolver);
	if (rc == 0 && c->kind == AG_SOLVER_DNS01_HOOK)
		rc = opt_str(j, "hook", 1, &c->hook);
	if (rc == 0 && c->kind == AG_SOLVER_DNS01_RFC2136)
		rc = opt_str(j, "server", 1, &c->rfc2136);
	if (rc == 0 && c->kind == AG_SOLVER_DNS01_RFC2136)
		rc = opt_str(j, "tsig_key", 1, &c->tsig_key);
	return rc;
}

int
ag_solver_conf_parse(const json_t *j, struct ag_solver_conf *ret)
{
	struct ag_solver_conf	 c;
	const char		*type, *path;
	int64_t			 port;
	int			 rc;

	memset(&c, 0, sizeof(c));
	type = anvil_json_str(j, "type");
	if (type == NULL)
		return ANVIL_EJSON;
	c.kind = ag_solver_kind_parse(type);
	switch (c.kind) {
	case AG_SOLVER_HTTP01:
	case AG_SOLVER_TLSALPN01:
		if (anvil_json_int(j, "port", &port) != 0 || port < 1 ||
		    port > 65535)
			return ANVIL_EJSON;
		c.port = (int)port;
		break;
	case AG_SOLVER_WEBROOT:
		path = anvil_json_str(j, "path");
		if (path == NULL)
			return ANVIL_EJSON;
		c.webroot = strdup(path);
		if (c.webroot == NULL)
			return ANVIL_ENOMEM;
		break;
	case AG_SOLVER_DNS01_HOOK:
	case AG_SOLVER_DNS01_RFC2136:
		rc = dns_conf_parse(j, &c);
		if (rc != 0) {
			ag_solver_conf_done(&c);
			return rc;
		}
		break;
	default:
		return ANVIL_EJSON;
	}
	*ret = c;
	return 0;
}

/* t + ms, normalised. */
static void
ts_add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

int
ag_solver_wait(pthread_mutex_t *mu, pthread_cond_t *cv, const size_t *served,
    size_t want, long ms)
{
	struct timespec	 now, end, slice;
	int		 rc = 0;

	(void)clock_gettime(CLOCK_REALTIME, &end);
	ts_add_ms(&end, ms < 0 ? 0 : ms);
	(void)pthread_mutex_lock(mu);
	/* Each pass waits at most 100 ms; the loop ends by the deadline. */
	while (*served < want) {
		if (ag_interrupted) {
			rc = AG_EINTR;
			break;
		}
		(void)clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > end.tv_sec || (now.tv_sec == end.tv_sec &&
		    now.tv_nsec >= end.tv_nsec)) {
			rc = ANVIL_ETIMEDOUT;
			break;
		}
		slice = now;
		ts_add_ms(&slice, 100);
		if (slice.tv_sec > end.tv_sec || (slice.tv_sec == end.tv_sec &&
		    slice.tv_nsec > end.tv_nsec))
			slice = end;
		(void)pthread_cond_timedwait(cv, mu, &slice);
	}
	(void)pthread_mutex_unlock(mu);
	return rc;
}
