/*
 * deploy.c - the deploy hook: a shell command run after each successful
 * issue or renewal, e.g. "systemctl reload nginx".
 *
 * It runs as "/bin/sh -c COMMAND" with, in its environment:
 *   ANVIL_CERT_NAME   the certificate name
 *   ANVIL_LIVE_DIR    STATE/live/NAME (cert.pem, chain.pem, ...)
 *   ANVIL_DOMAINS     the names, separated by one space
 * Its stdin is /dev/null; stdout and stderr are the agent's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

#include "agent.h"

int
ag_deploy_run(const char *cmd, const char *name, const char *live,
    const char *const *names, size_t n)
{
	struct anvil_buf doms;
	pid_t		 pid;
	size_t		 i;
	int		 st, rc = 0;

	anvil_buf_init(&doms, (ANVIL_MAX_NAME_LEN + 1) * ANVIL_MAX_IDENTIFIERS);
	for (i = 0; i < n && rc == 0; i++)
		rc = anvil_buf_addf(&doms, "%s%s", i > 0 ? " " : "", names[i]);
	if (rc == 0 && doms.data == NULL)
		rc = anvil_buf_adds(&doms, "");
	if (rc != 0)
		goto out;
	(void)fflush(NULL);
	pid = fork();
	if (pid == -1) {
		ag_err("deploy hook: fork: %s", strerror(errno));
		rc = AG_EHOOK;
		goto out;
	}
	if (pid == 0) {
		ag_child_stdin_null();
		if (setenv("ANVIL_CERT_NAME", name, 1) != 0 ||
		    setenv("ANVIL_LIVE_DIR", live, 1) != 0 ||
		    setenv("ANVIL_DOMAINS", doms.data, 1) != 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* Waits for the hook; a signal to us does not abandon it. */
	while (waitpid(pid, &st, 0) == -1) {
		if (errno != EINTR) {
			ag_err("deploy hook: waitpid: %s", strerror(errno));
			rc = AG_EHOOK;
			goto out;
		}
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		goto out;
	rc = AG_EHOOK;
	if (WIFEXITED(st))
		ag_err("deploy hook \"%s\" exited with status %d (the "
		    "certificate is stored; run the hook by hand)", cmd,
		    WEXITSTATUS(st));
	else
		ag_err("deploy hook \"%s\" killed by signal %d (the "
		    "certificate is stored; run the hook by hand)", cmd,
		    WTERMSIG(st));
out:
	anvil_buf_free(&doms);
	return rc;
}
