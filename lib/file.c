/*
 * file.c - whole-file reads with a size limit and crash-safe writes.
 *
 * A write goes to a new temporary file in the target's directory, created
 * with its final mode by open(O_CREAT | O_EXCL), fsynced, then moved into
 * place and the directory fsynced: after a crash the path holds either the
 * old contents or the new, never a mix, and a private key is never
 * readable by others, not even for a moment.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "anvil/error.h"
#include "anvil/x509.h"
#include "internal.h"

/* Attempts at a fresh temporary name before giving up. */
#define TMP_TRIES	16

/* Returns the negative errno of the last failed call, never 0. */
static int
syserr(void)
{
	return errno > 0 ? -errno : ANVIL_EIO;
}

/* Writes all of data to fd, retrying on EINTR and short writes.
 * Returns 0 or a negative errno. */
static int
write_all(int fd, const uint8_t *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? syserr() : ANVIL_EIO;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Fsyncs the directory dir so a rename in it is durable. */
static int
sync_dir(const char *dir)
{
	int	 fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return syserr();
	if (fsync(fd) != 0)
		rc = syserr();
	if (close(fd) != 0 && rc == 0)
		rc = syserr();
	return rc;
}

/*
 * Opens a new file "<dir>/.<base>.<random>" with O_EXCL and mode.
 * Returns the descriptor and the name in *ret_tmp (free()), or a negative
 * error code.
 */
static int
open_tmp(const char *dir, const char *base, unsigned mode, char **ret_tmp)
{
	uint8_t	 rnd[8];
	char	*tmp = NULL;
	int	 fd = ANVIL_EEXIST, i, n;

	for (i = 0; i < TMP_TRIES; i++) {
		if (RAND_bytes(rnd, sizeof(rnd)) != 1)
			return ANVIL_ECRYPTO;
		free(tmp);
		tmp = NULL;
		n = asprintf(&tmp, "%s/.%s.%02x%02x%02x%02x%02x%02x%02x%02x",
		    dir, base, rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
		    rnd[6], rnd[7]);
		if (n < 0) {
			tmp = NULL;
			return ANVIL_ENOMEM;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, (mode_t)mode);
		if (fd >= 0)
			break;
		fd = syserr();
		if (fd != -EEXIST)
			break;
	}
	if (fd < 0) {
		free(tmp);
		return fd;
	}
	*ret_tmp = tmp;
	return fd;
}

int
anvil__file_write(const char *path, const void *data, size_t len,
    unsigned mode, int overwrite)
{
	char	*dcopy = NULL, *bcopy = NULL, *tmp = NULL;
	char	*dir, *base;
	int	 fd = -1, rc;

	if (path == NULL || *path == '\0' || (mode & ~07777u) != 0)
		return ANVIL_EINVAL;
	dcopy = strdup(path);
	bcopy = strdup(path);
	if (dcopy == NULL || bcopy == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	dir = dirname(dcopy);
	base = basename(bcopy);
	if (*base == '\0' || strcmp(base, "/") == 0 || strcmp(base, ".") == 0 ||
	    strcmp(base, "..") == 0) {
		rc = ANVIL_EINVAL;
		goto out;
	}
	fd = open_tmp(dir, base, mode, &tmp);
	if (fd < 0) {
		rc = fd;
		goto out;
	}
	/* The file is still empty: set the exact mode the umask trimmed. */
	if (fchmod(fd, (mode_t)mode) != 0) {
		rc = syserr();
		goto out;
	}
	rc = write_all(fd, data, len);
	if (rc != 0)
		goto out;
	if (fsync(fd) != 0) {
		rc = syserr();
		goto out;
	}
	rc = close(fd) == 0 ? 0 : syserr();
	fd = -1;
	if (rc != 0)
		goto out;
	if (overwrite) {
		if (rename(tmp, path) != 0) {
			rc = syserr();
			goto out;
		}
	} else {
		/* link() fails with EEXIST rather than replace: no race. */
		if (link(tmp, path) != 0) {
			rc = syserr();
			goto out;
		}
		(void)unlink(tmp);
	}
	free(tmp);
	tmp = NULL;
	rc = sync_dir(dir);
out:
	if (fd >= 0)
		(void)close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	free(dcopy);
	free(bcopy);
	return rc;
}

int
anvil_file_write_atomic(const char *path, const void *data, size_t len,
    unsigned mode)
{
	return anvil__file_write(path, data, len, mode, 1);
}

/*
 * Grows the buffer *p of *cap bytes to ncap, wiping the old copy (the
 * file may be a private key).  Returns 0 or ANVIL_ENOMEM.
 */
static int
regrow(char **p, size_t *cap, size_t ncap)
{
	char	*n;

	n = malloc(ncap);
	if (n == NULL)
		return ANVIL_ENOMEM;
	memcpy(n, *p, *cap);
	OPENSSL_cleanse(*p, *cap);
	free(*p);
	*p = n;
	*cap = ncap;
	return 0;
}

/*
 * The buffer is sized from fstat() so a key is read without copies; a
 * file that grows while we read is still bounded by max.  The loop ends
 * at EOF, or with E2BIG once max + 1 bytes were seen.
 */
int
anvil_file_read(const char *path, size_t max, char **ret, size_t *ret_len)
{
	struct stat	 st;
	char		*p = NULL;
	ssize_t		 n;
	size_t		 len = 0, cap = 0, ncap;
	int		 fd = -1, rc;

	if (path == NULL || max >= SIZE_MAX / 2) {
		rc = ANVIL_EINVAL;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = syserr();
		goto out;
	}
	if (fstat(fd, &st) != 0) {
		rc = syserr();
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = ANVIL_EINVAL;
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		rc = ANVIL_E2BIG;
		goto out;
	}
	/* Room for the whole file, one byte to detect growth, and the NUL. */
	cap = (size_t)st.st_size + 2;
	p = malloc(cap);
	if (p == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	for (;;) {
		if (len + 1 == cap) {
			ncap = cap * 2 > max + 2 ? max + 2 : cap * 2;
			if (ncap <= cap) {
				rc = ANVIL_E2BIG;
				goto out;
			}
			rc = regrow(&p, &cap, ncap);
			if (rc != 0)
				goto out;
		}
		n = read(fd, p + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = syserr();
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max) {
			rc = ANVIL_E2BIG;
			goto out;
		}
	}
	p[len] = '\0';
	*ret = p;
	p = NULL;
	if (ret_len != NULL)
		*ret_len = len;
	rc = 0;
out:
	if (p != NULL) {
		OPENSSL_cleanse(p, cap);
		free(p);
	}
	if (fd >= 0)
		(void)close(fd);
	return rc;
}
