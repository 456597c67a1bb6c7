/*
 * solver_webroot.c - http-01 through an existing web server: the key
 * authorization goes to DIR/.well-known/acme-challenge/TOKEN (RFC 8555
 * §8.3), served by whatever serves DIR.
 *
 * Files are written atomically, 0644 (the web server reads them), and
 * removed in cleanup() with the directories this solver created (when
 * empty), after success, failure or a signal alike.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>

#include "solver.h"

struct wr {
	char	*files[AG_MAX_AUTHZ];	/* written so far; malloc() */
	size_t	 n;
	char	*made[2];	/* directories created, deepest first */
	size_t	 n_made;
};

static void
wr_cleanup(struct ag_solver *s)
{
	struct wr	*w = s->priv;
	size_t		 i;

	if (w == NULL)
		return;
	for (i = 0; i < w->n; i++) {
		if (unlink(w->files[i]) != 0 && errno != ENOENT)
			fprintf(stderr, "anvil: webroot: cannot remove %s: "
			    "%s\n", w->files[i], strerror(errno));
		free(w->files[i]);
	}
	for (i = 0; i < w->n_made; i++) {
		(void)rmdir(w->made[i]);
		free(w->made[i]);
	}
	free(w);
	s->priv = NULL;
}

/* Creates path (mode 0755) unless it exists; records it when made. */
static int
make_dir(struct wr *w, const char *path)
{
	if (mkdir(path, 0755) == 0) {
		w->made[w->n_made] = strdup(path);
		if (w->made[w->n_made] == NULL)
			return ANVIL_ENOMEM;
		w->n_made++;
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	return -errno;
}

static int
wr_start(struct ag_solver *s)
{
	struct wr	*w;
	struct stat	 st;
	char		 wk[4096], ac[4096];
	int		 rc;

	if (stat(s->conf.webroot, &st) != 0 || !S_ISDIR(st.st_mode)) {
		ag_err("webroot %s is not a directory", s->conf.webroot);
		return ANVIL_ENOENT;
	}
	if ((size_t)snprintf(wk, sizeof(wk), "%s/.well-known",
	    s->conf.webroot) >= sizeof(wk) ||
	    (size_t)snprintf(ac, sizeof(ac), "%s/acme-challenge", wk) >=
	    sizeof(ac)) {
		ag_err("webroot path too long");
		return ANVIL_EINVAL;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return ANVIL_ENOMEM;
	s->priv = w;
	rc = make_dir(w, wk);
	if (rc == 0)
		rc = make_dir(w, ac);
	if (rc != 0) {
		ag_err("webroot: cannot create %s: %s", ac, rc == ANVIL_ENOMEM ?
		    "out of memory" : strerror(-rc));
		goto fail;
	}
	/* rmdir goes deepest first. */
	if (w->n_made == 2) {
		char *t = w->made[0];
		w->made[0] = w->made[1];
		w->made[1] = t;
	}
	return 0;
fail:
	wr_cleanup(s);
	return rc;
}

static int
wr_add(struct ag_solver *s, const char *name, const char *token,
    const char *keyauth)
{
	struct wr	*w = s->priv;
	char		*path = NULL;
	int		 rc;

	if (w->n == AG_MAX_AUTHZ) {
		ag_err("webroot: too many tokens");
		return ANVIL_E2BIG;
	}
	/* token_check() in order.c allows only base64url characters. */
	if (asprintf(&path, "%s/.well-known/acme-challenge/%s",
	    s->conf.webroot, token) < 0)
		return ANVIL_ENOMEM;
	/* Recorded first: cleanup removes it even if the write half-failed. */
	w->files[w->n++] = path;
	rc = anvil_file_write_atomic(path, keyauth, strlen(keyauth), 0644);
	if (rc != 0)
		ag_err("webroot: cannot write %s: %s", path,
		    anvil_strerror(rc));
	return rc;
}

static int
wr_ready(struct ag_solver *s)
{
	return 0;
}

const struct ag_solver_ops ag_solver_webroot_ops = {
	.name = "webroot",
	.challenge = "http-01",
	.start = wr_start,
	.add = wr_add,
	.ready = wr_ready,
	.cleanup = wr_cleanup,
};
