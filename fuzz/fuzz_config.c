/*
 * fuzz_config.c - anvil-ca's configuration file (server/config.c): the
 * input is written to a temporary file and read with config_load.
 *
 * Asserts: a failure leaves an error message starting with the file name;
 * a success gives values inside the documented ranges (ports, days,
 * lifetimes, threads, URLs, at most CONFIG_MAX_CAA CAA identities); and
 * the loaded configuration, written back as "key=value" lines, loads to
 * the same configuration.
 */
#include <sys/mman.h>

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "anvil/error.h"
#include "config.h"
#include "fuzz.h"

static char	 tmp_path[4096];
static int	 tmp_fd = -1;

static void
remove_tmp(void)
{
	if (tmp_fd >= 0 && strncmp(tmp_path, "/proc/", 6) != 0)
		(void)unlink(tmp_path);
}

/*
 * Creates the file once; it is rewritten for each input.  A memfd, named
 * by its /proc/self/fd path, keeps the disk out of it (truncating a real
 * file for every input costs milliseconds); a file in $TMPDIR otherwise.
 */
static void
init_tmp(void)
{
	const char	*dir;

	if (tmp_fd >= 0)
		return;
	tmp_fd = memfd_create("fuzz-config", MFD_CLOEXEC);
	if (tmp_fd >= 0) {
		FUZZ_CHECK((size_t)snprintf(tmp_path, sizeof(tmp_path),
		    "/proc/self/fd/%d", tmp_fd) < sizeof(tmp_path));
		if (access(tmp_path, R_OK) == 0)
			return;
		close(tmp_fd);
	}
	dir = getenv("TMPDIR");
	if (dir == NULL || *dir == '\0')
		dir = "/tmp";
	FUZZ_CHECK((size_t)snprintf(tmp_path, sizeof(tmp_path),
	    "%s/fuzz-config.XXXXXX", dir) < sizeof(tmp_path));
	tmp_fd = mkstemp(tmp_path);
	FUZZ_CHECK(tmp_fd >= 0);
	atexit(remove_tmp);
}

/* Replaces the file's content.  Returns 0, or -1 on a write error. */
static int
write_tmp(const void *data, size_t size)
{
	const uint8_t	*p = data;
	size_t		 off = 0;
	ssize_t		 n;

	if (ftruncate(tmp_fd, 0) != 0)
		return -1;
	while (off < size) {
		n = pwrite(tmp_fd, p + off, size - off, (off_t)off);
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

static int
is_url(const char *s)
{
	size_t	 i;

	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!isgraph((unsigned char)s[i]))
			return 0;
	return 1;
}

/* The values config_set lets through. */
static void
check_ranges(const struct config *c)
{
	size_t	 i;

	FUZZ_CHECK(c->state_dir == NULL);
	FUZZ_CHECK(c->listen == NULL || strchr(c->listen, ':') != NULL);
	if (c->base_url != NULL) {
		FUZZ_CHECK(is_url(c->base_url));
		FUZZ_CHECK(c->base_url[strlen(c->base_url) - 1] != '/');
	}
	FUZZ_CHECK(c->terms_of_service == NULL ||
	    is_url(c->terms_of_service));
	FUZZ_CHECK(c->website == NULL || is_url(c->website));
	FUZZ_CHECK(c->http01_port >= 1 && c->http01_port <= 65535);
	FUZZ_CHECK(c->tlsalpn01_port >= 1 && c->tlsalpn01_port <= 65535);
	FUZZ_CHECK(c->validity_days >= 1 && c->validity_days <= 3650);
	FUZZ_CHECK(c->order_lifetime >= 60 &&
	    c->order_lifetime <= 365 * 86400);
	FUZZ_CHECK(c->authz_lifetime >= 60 &&
	    c->authz_lifetime <= 365 * 86400);
	FUZZ_CHECK(c->va_threads >= 1 && c->va_threads <= 256);
	FUZZ_CHECK(c->n_caa <= CONFIG_MAX_CAA);
	for (i = 0; i < c->n_caa; i++)
		FUZZ_CHECK(c->caa_identities[i] != NULL &&
		    c->caa_identities[i][0] != '\0');
}

/* Appends "key=value\n" when value is set. */
static void
put(FILE *f, const char *key, const char *value)
{
	if (value != NULL)
		fprintf(f, "%s=%s\n", key, value);
}

static int
str_eq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* Writes c back as a file, loads it, and compares. */
static void
check_round_trip(const struct config *c)
{
	struct config	 d;
	char		*text = NULL, err[512];
	size_t		 len = 0, i;
	FILE		*f;

	f = open_memstream(&text, &len);
	if (f == NULL)
		return;
	put(f, "listen", c->listen);
	put(f, "base_url", c->base_url);
	put(f, "resolver", c->resolver);
	put(f, "terms_of_service", c->terms_of_service);
	put(f, "website", c->website);
	for (i = 0; i < c->n_caa; i++)
		put(f, "caa_identity", c->caa_identities[i]);
	fprintf(f, "http01_port=%d\ntlsalpn01_port=%d\nvalidity_days=%d\n"
	    "order_lifetime=%lld\nauthz_lifetime=%lld\nva_threads=%d\n",
	    c->http01_port, c->tlsalpn01_port, c->validity_days,
	    (long long)c->order_lifetime, (long long)c->authz_lifetime,
	    c->va_threads);
	if (fclose(f) != 0 || write_tmp(text, len) != 0) {
		free(text);
		return;
	}
	config_init(&d);
	err[0] = '\0';
	if (config_load(&d, tmp_path, err, sizeof(err)) != 0) {
		fprintf(stderr, "round trip refused: %s\n", err);
		FUZZ_CHECK(!"the written-back configuration loads");
	}
	FUZZ_CHECK(str_eq(c->listen, d.listen));
	FUZZ_CHECK(str_eq(c->base_url, d.base_url));
	FUZZ_CHECK(str_eq(c->resolver, d.resolver));
	FUZZ_CHECK(str_eq(c->terms_of_service, d.terms_of_service));
	FUZZ_CHECK(str_eq(c->website, d.website));
	FUZZ_CHECK(c->n_caa == d.n_caa);
	for (i = 0; i < c->n_caa; i++)
		FUZZ_CHECK(str_eq(c->caa_identities[i], d.caa_identities[i]));
	FUZZ_CHECK(c->http01_port == d.http01_port);
	FUZZ_CHECK(c->tlsalpn01_port == d.tlsalpn01_port);
	FUZZ_CHECK(c->validity_days == d.validity_days);
	FUZZ_CHECK(c->order_lifetime == d.order_lifetime);
	FUZZ_CHECK(c->authz_lifetime == d.authz_lifetime);
	FUZZ_CHECK(c->va_threads == d.va_threads);
	config_done(&d);
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config	 c;
	char		 err[512];
	int		 rc;

	if (size > 64 * 1024)
		return 0;
	init_tmp();
	if (write_tmp(data, size) != 0)
		return 0;
	config_init(&c);
	err[0] = '\0';
	rc = config_load(&c, tmp_path, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc < 0);
		FUZZ_CHECK(strncmp(err, tmp_path, strlen(tmp_path)) == 0);
	} else {
		check_ranges(&c);
		check_round_trip(&c);
	}
	config_done(&c);
	return 0;
}
