/*
 * util.c - the agent's error sentence, interruption, sleeping,
 * directory creation, and the stdin of hook processes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

volatile sig_atomic_t ag_interrupted;

static char	errmsg[AG_ERRLEN];

void
ag_err(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;

	if (errmsg[0] != '\0')
		return;
	va_start(ap, fmt);
	(void)vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	/* One line: peer text may carry newlines or control characters. */
	for (p = errmsg; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void
ag_err_clear(void)
{
	errmsg[0] = '\0';
}

const char *
ag_errstr(void)
{
	return errmsg;
}

const char *
ag_strerror(int rc)
{
	switch (rc) {
	case AG_ECA:
		return "the CA failed or refused";
	case AG_EINTR:
		return "interrupted";
	case AG_EHOOK:
		return "a hook program failed";
	case AG_EDNS:
		return "the DNS record could not be set or seen";
	default:
		return anvil_strerror(rc);
	}
}

int
ag_sleep_ms(long ms)
{
	struct timespec	 ts;

	if (ms < 0)
		ms = 0;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	/* A signal cuts the sleep short (EINTR): then check the flag. */
	while (nanosleep(&ts, &ts) == -1) {
		if (errno != EINTR || ag_interrupted)
			break;
	}
	if (ag_interrupted) {
		ag_err("interrupted");
		return AG_EINTR;
	}
	return 0;
}

int64_t
ag_now(void)
{
	return (int64_t)time(NULL);
}

int
ag_mkdirs(const char *path, unsigned mode)
{
	char	 buf[4096];
	size_t	 len, i;

	len = strlen(path);
	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	/* Each pass creates one more component; ends at the string's end. */
	for (i = 1; i <= len; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, (mode_t)mode) == -1 && errno != EEXIST)
			return -errno;
		if (i < len)
			buf[i] = '/';
	}
	return 0;
}

void
ag_child_stdin_null(void)
{
	int	 fd;

	fd = open("/dev/null", O_RDONLY);
	if (fd < 0)
		return;
	(void)dup2(fd, 0);
	if (fd > 0)
		(void)close(fd);
}
