/*
 * log.c - what durable storage of one issuance costs at least: its
 * records appended to a log (o->log_bytes, by default 2 KB: the
 * certificate and the state of its order, authorization and challenge)
 * and a share of one fdatasync(2), o->group issuances a sync (a group
 * commit; anvil-ca made one sync per 3.7 issuances at concurrency 64).
 * One pwrite(2) per group, into blocks already allocated, as a database
 * log is reused after a checkpoint: the sync writes data, not the file's
 * size.  The file is unlinked as soon as it is made.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "floor.h"

/* Writes len bytes of buf at off, all of them; 0 or -1. */
static int
pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
	ssize_t	 n;

	while (len > 0) {
		n = pwrite(fd, buf, len, off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

int
floor_log(const struct floor_opts *o, double *ret_ms)
{
	char		 path[PATH_MAX];
	char		*buf = NULL;
	size_t		 chunk = o->log_bytes * o->group;
	off_t		 off = 0;
	double		 t0;
	unsigned	 done, n;
	int		 fd = -1, rc = -1;

	if (snprintf(path, sizeof(path), "%s/anvil-floor.XXXXXX",
	    o->dir) >= (int)sizeof(path)) {
		fprintf(stderr, "anvil-floor: log: --dir too long\n");
		return -1;
	}
	buf = malloc(chunk);
	if (buf == NULL) {
		fprintf(stderr, "anvil-floor: log: out of memory\n");
		return -1;
	}
	memset(buf, 'l', chunk);
	fd = mkstemp(path);
	if (fd == -1 || unlink(path) != 0) {
		fprintf(stderr, "anvil-floor: log: %s: %s\n", path,
		    strerror(errno));
		goto out;
	}
	/* The blocks the timed part overwrites, on disk first. */
	for (done = 0; done < o->count; done += o->group, off += chunk)
		if (pwrite_all(fd, buf, chunk, off) != 0)
			goto fail;
	if (fdatasync(fd) != 0)
		goto fail;

	off = 0;
	t0 = floor_thread_cpu();
	for (done = 0; done < o->count; done += n) {
		n = o->count - done < o->group ? o->count - done : o->group;
		if (pwrite_all(fd, buf, n * o->log_bytes, off) != 0 ||
		    fdatasync(fd) != 0)
			goto fail;
		off += (off_t)(n * o->log_bytes);
	}
	*ret_ms = (floor_thread_cpu() - t0) * 1e3 / o->count;
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "anvil-floor: log: write or sync in %s: %s\n",
	    o->dir, strerror(errno));
out:
	if (fd != -1)
		(void)close(fd);
	free(buf);
	return rc;
}
