/*
 * solver_dns01_hook.c - dns-01 (RFC 8555 §8.4) through a program of the
 * user's that knows how to change their DNS:
 *
 *     PROGRAM add    _acme-challenge.DOMAIN VALUE
 *     PROGRAM remove _acme-challenge.DOMAIN VALUE
 *
 * NAME has no final dot; VALUE is the TXT text (base64url, 43
 * characters).  A wildcard and its base domain give the same NAME with
 * two VALUEs: "add" must add a record, not replace the set, and "remove"
 * removes that one value.  The program runs without a shell, stdin
 * /dev/null, and must exit 0 within HOOK_SECS seconds.
 *
 * After the last "add", ready() waits (dns_wait.c) until every TXT is
 * visible at the zone's authoritative servers.  cleanup() runs "remove"
 * for every record whose "add" was started, whatever happened, also after
 * SIGINT/SIGTERM; a failing "remove" is reported on stderr.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/wait.h>

#include "dns01.h"
#include "solver.h"

#define HOOK_SECS	120	/* one run of the program */
#define WAIT_STEP_MS	20

struct hk {
	struct ag_dns_txt	 recs[AG_MAX_AUTHZ];
	size_t			 n;	/* "add" started for recs[0..n) */
};

/* Sleeps ms milliseconds, whatever the signals. */
static void
nap(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/*
 * Runs PROGRAM VERB NAME VALUE and waits for it, at most HOOK_SECS (then
 * it is killed).  A signal to us does not abandon it: a half-done change
 * is worse than a late one.  0, or AG_EHOOK with the cause in why.
 */
static int
run_hook(const char *prog, const char *verb, const char *name,
    const char *value, char *why, size_t whylen)
{
	char		*argv[5];
	pid_t		 pid, w;
	int64_t		 deadline;
	int		 st = 0, killed = 0;

	argv[0] = (char *)prog;
	argv[1] = (char *)verb;
	argv[2] = (char *)name;
	argv[3] = (char *)value;
	argv[4] = NULL;
	(void)fflush(NULL);
	pid = fork();
	if (pid == -1) {
		(void)snprintf(why, whylen, "fork: %s", strerror(errno));
		return AG_EHOOK;
	}
	if (pid == 0) {
		ag_child_stdin_null();
		(void)signal(SIGPIPE, SIG_DFL);
		execvp(prog, argv);
		fprintf(stderr, "anvil: cannot run %s: %s\n", prog,
		    strerror(errno));
		_exit(127);
	}
	deadline = ag_now() + HOOK_SECS;
	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w == -1 && errno != EINTR) {
			(void)snprintf(why, whylen, "waitpid: %s",
			    strerror(errno));
			return AG_EHOOK;
		}
		if (!killed && ag_now() > deadline) {
			(void)kill(pid, SIGKILL);
			killed = 1;
		}
		nap(WAIT_STEP_MS);
	}
	if (killed) {
		(void)snprintf(why, whylen, "did not finish in %d s (killed)",
		    HOOK_SECS);
		return AG_EHOOK;
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (WIFEXITED(st))
		(void)snprintf(why, whylen, "exited with status %d",
		    WEXITSTATUS(st));
	else
		(void)snprintf(why, whylen, "killed by signal %d",
		    WTERMSIG(st));
	return AG_EHOOK;
}

/* The record's name as the program gets it: without the final dot. */
static void
hook_name(const struct ag_dns_txt *r, char *out, size_t outlen)
{
	size_t	 len = strlen(r->name);

	if (len > 0 && r->name[len - 1] == '.')
		len--;
	if (len >= outlen)
		len = outlen - 1;
	memcpy(out, r->name, len);
	out[len] = '\0';
}

static void
hk_cleanup(struct ag_solver *s)
{
	struct hk	*h = s->priv;
	char		 why[128], name[ANVIL_MAX_NAME_LEN + 32];
	size_t		 i;

	if (h == NULL)
		return;
	/* Last added first. */
	for (i = h->n; i-- > 0;) {
		hook_name(&h->recs[i], name, sizeof(name));
		if (run_hook(s->conf.hook, "remove", name, h->recs[i].value,
		    why, sizeof(why)) != 0)
			fprintf(stderr, "anvil: dns-01 hook \"%s remove %s "
			    "%s\" %s: remove that TXT record by hand\n",
			    s->conf.hook, name, h->recs[i].value, why);
		ag_dns_txt_done(&h->recs[i]);
	}
	free(h);
	s->priv = NULL;
}

static int
hk_start(struct ag_solver *s)
{
	struct hk	*h;

	if (strchr(s->conf.hook, '/') != NULL &&
	    access(s->conf.hook, X_OK) != 0) {
		ag_err("dns-01 hook %s: %s", s->conf.hook, strerror(errno));
		return AG_EHOOK;
	}
	/* Before the CA is asked: the propagation check needs ldns. */
	if (ag_ldns_open() != 0)
		return AG_EDNS;
	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return ANVIL_ENOMEM;
	s->priv = h;
	return 0;
}

static int
hk_add(struct ag_solver *s, const char *domain, const char *token,
    const char *keyauth)
{
	struct hk		*h = s->priv;
	struct ag_dns_txt	*r;
	char			 why[128], name[ANVIL_MAX_NAME_LEN + 32];
	int			 rc;

	/* Counted first: cleanup removes it even if "add" half-failed. */
	rc = ag_dns_txt_add(h->recs, &h->n, domain, keyauth);
	if (rc != 0)
		return rc;
	r = &h->recs[h->n - 1];
	hook_name(r, name, sizeof(name));
	rc = run_hook(s->conf.hook, "add", name, r->value, why, sizeof(why));
	if (rc != 0)
		ag_err("dns-01 hook \"%s add %s %s\" %s", s->conf.hook, name,
		    r->value, why);
	return rc;
}

static int
hk_ready(struct ag_solver *s)
{
	struct hk	*h = s->priv;

	return ag_dns_wait_conf(h->recs, h->n, &s->conf, NULL);
}

const struct ag_solver_ops ag_solver_dns01_hook_ops = {
	.name = "dns01-hook",
	.challenge = "dns-01",
	.start = hk_start,
	.add = hk_add,
	.ready = hk_ready,
	.cleanup = hk_cleanup,
};
