/*
 * test_config.c - anvil-ca.conf: defaults, good files, and broken files
 * refused with the line named.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static char path[64];

static void
write_conf(const char *text)
{
	FILE *f;
	int fd;

	snprintf(path, sizeof(path), "/tmp/anvil-conf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int
load(const char *text, struct config *c, char *err, size_t errlen)
{
	int rc;

	write_conf(text);
	config_init(c);
	rc = config_load(c, path, err, errlen);
	unlink(path);
	return rc;
}

static void
test_broken_files(void **state)
{
	static const struct { const char *text, *want; } cases[] = {
		{ "listen 127.0.0.1:1\n", ":1: expected" },
		{ "# ok\nnope = 1\n", ":2: unknown key" },
		{ "http01_port = 0\n", ":1: http01_port" },
		{ "http01_port = 70000\n", ":1: http01_port" },
		{ "http01_port = 80x\n", ":1: http01_port" },
		{ "validity_days = -1\n", ":1: validity_days" },
		{ "listen = \n", ":1: empty" },
		{ "website = ftp://x\n", ":1: website" },
		{ "base_url = https://x/\n", ":1: base_url" },
		{ "challenge_wait_ms = 10001\n", ":1: challenge_wait_ms" },
		{ "challenge_wait_ms = -1\n", ":1: challenge_wait_ms" },
		/* As many as the VA accepts (VA_MAX_THREADS). */
		{ "va_threads = 65\n", ":1: va_threads: expected 1-64" },
		{ "va_threads = 0\n", ":1: va_threads" },
	};
	struct config c;
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_not_equal(load(cases[i].text, &c, err,
		    sizeof(err)), 0);
		if (strstr(err, cases[i].want) == NULL)
			fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err,
			    cases[i].want);
		config_done(&c);
	}
	config_init(&c);
	assert_int_not_equal(config_load(&c, "/nonexistent/anvil.conf", err,
	    sizeof(err)), 0);
	assert_non_null(strstr(err, "/nonexistent/anvil.conf"));
	config_done(&c);
}

static void
test_defaults_and_values(void **state)
{
	struct config c;
	char err[512];

	(void)state;
	assert_int_equal(load("# comment\n\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.http01_port, 80);
	assert_int_equal(c.tlsalpn01_port, 443);
	assert_int_equal(c.validity_days, 90);
	assert_int_equal(c.challenge_wait_ms, 1000);
	assert_int_equal(c.va_threads, 2);
	assert_null(c.listen);
	config_done(&c);

	assert_int_equal(load("va_threads = 64\n", &c, err, sizeof(err)), 0);
	assert_int_equal(c.va_threads, 64);
	config_done(&c);

	assert_int_equal(load("challenge_wait_ms = 0\n", &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c.challenge_wait_ms, 0);
	config_done(&c);

	assert_int_equal(load("listen = [::1]:8443\n  http01_port=5002 \n"
	    "resolver = 127.0.0.1:8053\ncaa_identity = a.example\n"
	    "caa_identity = b.example\nterms_of_service = https://x/tos\n",
	    &c, err, sizeof(err)), 0);
	assert_string_equal(c.listen, "[::1]:8443");
	assert_int_equal(c.http01_port, 5002);
	assert_string_equal(c.resolver, "127.0.0.1:8053");
	assert_int_equal(c.n_caa, 2);
	assert_string_equal(c.caa_identities[1], "b.example");
	assert_string_equal(c.terms_of_service, "https://x/tos");
	/* The command line goes over the file. */
	assert_int_equal(config_set(&c, "http01_port", "6000", err,
	    sizeof(err)), 0);
	assert_int_equal(c.http01_port, 6000);
	config_done(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_broken_files),
		cmocka_unit_test(test_defaults_and_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
