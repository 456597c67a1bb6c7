/*
 * test_client_config.c - unit tests for the agent's configuration file
 * and the small parsers next to it (client/config.c, renewal.c, revoke.c,
 * account.c, acme.c, solver.c).
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

#include "agent.h"
#include "solver.h"

static char	tmpdir[] = "/tmp/test_client_config.XXXXXX";

/* Writes text to a file in tmpdir and returns its path (static). */
static const char *
write_conf(const char *text)
{
	static char	 path[256];
	FILE		*f;

	(void)snprintf(path, sizeof(path), "%s/anvil.conf", tmpdir);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static int
load(const char *text, struct ag_config *c)
{
	ag_err_clear();
	ag_config_init(c);
	return ag_config_load(c, write_conf(text));
}

static void
test_config_invalid(void **state)
{
	struct ag_config	 c;
	char			 big[AG_MAX_CONFIG + 16];

	(void)state;
	assert_int_equal(load("server https://x/dir\n", &c), ANVIL_EINVAL);
	assert_non_null(strstr(ag_errstr(), "anvil.conf:1: expected"));
	ag_config_done(&c);
	assert_int_equal(load("# c\n\nfrob = 1\n", &c), ANVIL_EINVAL);
	assert_non_null(strstr(ag_errstr(), "anvil.conf:3: unknown key"));
	ag_config_done(&c);
	assert_int_equal(load("server = http://x/dir\n", &c), ANVIL_EINVAL);
	assert_non_null(strstr(ag_errstr(), "https://"));
	ag_config_done(&c);
	assert_int_equal(load("poll_timeout = 0\n", &c), ANVIL_EINVAL);
	ag_config_done(&c);
	assert_int_equal(load("poll_timeout = 12x\n", &c), ANVIL_EINVAL);
	ag_config_done(&c);
	assert_int_equal(load("agree_tos = maybe\n", &c), ANVIL_EINVAL);
	ag_config_done(&c);
	/* Too many servers. */
	assert_int_equal(load("server = https://a/1\nserver = https://a/2\n"
	    "server = https://a/3\nserver = https://a/4\nserver = https://a/5\n"
	    "server = https://a/6\nserver = https://a/7\nserver = https://a/8\n"
	    "server = https://a/9\n", &c), ANVIL_EINVAL);
	ag_config_done(&c);
	/* Binary data and oversized files. */
	assert_int_equal(load("", &c), 0);
	ag_config_done(&c);
	memset(big, '#', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(load(big, &c), ANVIL_E2BIG);
	assert_non_null(strstr(ag_errstr(), "larger than"));
	ag_config_done(&c);
	ag_err_clear();
	ag_config_init(&c);
	assert_int_equal(ag_config_load(&c, "/nonexistent/anvil.conf"),
	    ANVIL_ENOENT);
	assert_non_null(strstr(ag_errstr(), "cannot read config"));
	ag_config_done(&c);
}

static void
test_config_valid(void **state)
{
	struct ag_config	 c;

	(void)state;
	assert_int_equal(load("# anvil\n  server = https://a.example/dir  \n"
	    "server=https://b.example/dir\nca_bundle = /etc/ca.pem\n"
	    "email = admin@example.org\nagree_tos = yes\n"
	    "state = /srv/anvil\npoll_timeout = 60\nhttp_timeout = 10\n",
	    &c), 0);
	assert_int_equal(c.n_servers, 2);
	assert_string_equal(c.servers[0], "https://a.example/dir");
	assert_string_equal(c.servers[1], "https://b.example/dir");
	assert_string_equal(c.ca_bundle, "/etc/ca.pem");
	assert_string_equal(c.email, "admin@example.org");
	assert_int_equal(c.agree_tos, 1);
	assert_string_equal(c.state, "/srv/anvil");
	assert_int_equal(c.poll_timeout, 60);
	assert_int_equal(c.http_timeout, 10);
	assert_int_equal(ag_config_finish(&c), 0);
	assert_string_equal(c.state, "/srv/anvil");
	ag_config_done(&c);
}

static void
test_state_default(void **state)
{
	struct ag_config	 c;

	(void)state;
	if (geteuid() == 0) {
		ag_config_init(&c);
		assert_int_equal(ag_config_finish(&c), 0);
		assert_string_equal(c.state, "/var/lib/anvil");
		ag_config_done(&c);
		return;
	}
	assert_int_equal(setenv("XDG_STATE_HOME", "/xdg", 1), 0);
	ag_config_init(&c);
	assert_int_equal(ag_config_finish(&c), 0);
	assert_string_equal(c.state, "/xdg/anvil");
	ag_config_done(&c);
	assert_int_equal(unsetenv("XDG_STATE_HOME"), 0);
	assert_int_equal(setenv("HOME", "/home/u", 1), 0);
	ag_config_init(&c);
	assert_int_equal(ag_config_finish(&c), 0);
	assert_string_equal(c.state, "/home/u/.local/state/anvil");
	ag_config_done(&c);
}

static void
test_names(void **state)
{
	char	 id[300];

	(void)state;
	/* Certificate names become directory names. */
	assert_int_equal(ag_certname_check(""), ANVIL_EINVAL);
	assert_int_equal(ag_certname_check(".."), ANVIL_EINVAL);
	assert_int_equal(ag_certname_check("a/b"), ANVIL_EINVAL);
	assert_int_equal(ag_certname_check("-x"), ANVIL_EINVAL);
	assert_int_equal(ag_certname_check("a b"), ANVIL_EINVAL);
	assert_int_equal(ag_certname_check("www.example.org"), 0);
	assert_int_equal(ag_certname_check("web_1-a"), 0);
	/* Account directories. */
	assert_int_equal(ag_account_id("http://x/dir", id, sizeof(id)),
	    ANVIL_EINVAL);
	assert_int_equal(ag_account_id("https:///dir", id, sizeof(id)),
	    ANVIL_EINVAL);
	assert_int_equal(ag_account_id("https://localhost:14000/dir", id,
	    sizeof(id)), 0);
	assert_int_equal(strncmp(id, "localhost-14000-", 16), 0);
	assert_int_equal(strlen(id), 16 + 8);
	assert_int_equal(ag_account_id("https://[::1]:14000/dir", id,
	    sizeof(id)), 0);
	assert_null(strchr(id, '/'));
	assert_null(strchr(id, ':'));
	/* Two directories on one host get two accounts. */
	{
		char id2[300];

		assert_int_equal(ag_account_id("https://localhost:14000/other",
		    id2, sizeof(id2)), 0);
		assert_string_not_equal(id, id2);
	}
	/* Revocation reasons, RFC 5280 §5.3.1 codes. */
	assert_int_equal(ag_revoke_reason("keycompromise"), -1);
	assert_int_equal(ag_revoke_reason("aACompromise"), -1);
	assert_int_equal(ag_revoke_reason("unspecified"), 0);
	assert_int_equal(ag_revoke_reason("keyCompromise"), 1);
	assert_int_equal(ag_revoke_reason("superseded"), 4);
	assert_int_equal(ag_revoke_reason("cessationOfOperation"), 5);
}

static void
test_poll_delay(void **state)
{
	struct ag_resp	 r;

	(void)state;
	ag_resp_init(&r);
	/* No Retry-After: 250 ms doubling up to 2 s. */
	assert_int_equal(ag_acme_poll_delay(&r, 0), 250);
	assert_int_equal(ag_acme_poll_delay(&r, 1), 500);
	assert_int_equal(ag_acme_poll_delay(&r, 3), 2000);
	assert_int_equal(ag_acme_poll_delay(&r, 50), 2000);
	/* Retry-After honoured within 250 ms .. 30 s. */
	r.retry_after = 0;
	assert_int_equal(ag_acme_poll_delay(&r, 0), 250);
	r.retry_after = 3;
	assert_int_equal(ag_acme_poll_delay(&r, 0), 3000);
	r.retry_after = 86400 * 365;
	assert_int_equal(ag_acme_poll_delay(&r, 0), 30000);
	ag_resp_done(&r);
}

static void
test_prompt_delay(void **state)
{
	struct ag_resp	 r;
	long		 prev, ms;
	int		 i;

	(void)state;
	ag_resp_init(&r);
	/* No Retry-After: 10 ms, doubled each poll, never above 2 s. */
	assert_int_equal(ag_acme_prompt_delay(&r, 0), 10);
	assert_int_equal(ag_acme_prompt_delay(&r, 1), 20);
	assert_int_equal(ag_acme_prompt_delay(&r, 2), 40);
	assert_int_equal(ag_acme_prompt_delay(&r, 7), 1280);
	assert_int_equal(ag_acme_prompt_delay(&r, 8), 2000);
	assert_int_equal(ag_acme_prompt_delay(&r, 1000), 2000);
	/* Negative attempts are treated as the first. */
	assert_int_equal(ag_acme_prompt_delay(&r, -5), 10);
	/* The schedule never shrinks and never passes its cap. */
	prev = 0;
	for (i = 0; i < 64; i++) {
		ms = ag_acme_prompt_delay(&r, i);
		assert_true(ms >= prev);
		assert_true(ms <= 2000);
		prev = ms;
	}
	/* Retry-After: 0 s still waits the 10 ms floor, never less. */
	r.retry_after = 0;
	assert_int_equal(ag_acme_prompt_delay(&r, 0), 10);
	assert_int_equal(ag_acme_prompt_delay(&r, 20), 10);
	/* 1 s: doubling stops at 1000 ms, not at the next power. */
	r.retry_after = 1;
	assert_int_equal(ag_acme_prompt_delay(&r, 0), 10);
	assert_int_equal(ag_acme_prompt_delay(&r, 6), 640);
	assert_int_equal(ag_acme_prompt_delay(&r, 7), 1000);
	assert_int_equal(ag_acme_prompt_delay(&r, 30), 1000);
	/* 5 s: above the 2 s of no Retry-After, reached by doubling. */
	r.retry_after = 5;
	assert_int_equal(ag_acme_prompt_delay(&r, 8), 2560);
	assert_int_equal(ag_acme_prompt_delay(&r, 9), 5000);
	assert_int_equal(ag_acme_prompt_delay(&r, 99), 5000);
	/* A Retry-After beyond 30 s is capped at 30 s. */
	r.retry_after = 86400 * 365;
	assert_int_equal(ag_acme_prompt_delay(&r, 0), 10);
	assert_int_equal(ag_acme_prompt_delay(&r, 11), 20480);
	assert_int_equal(ag_acme_prompt_delay(&r, 12), 30000);
	assert_int_equal(ag_acme_prompt_delay(&r, 1000), 30000);
	for (i = 0; i < 64; i++)
		assert_true(ag_acme_prompt_delay(&r, i) <= 30000);
	ag_resp_done(&r);
}

static void
test_problem_message(void **state)
{
	struct ag_resp	 r;

	(void)state;
	ag_resp_init(&r);
	r.status = 400;
	r.content_type = strdup("application/problem+json");
	assert_int_equal(anvil_buf_adds(&r.body, "{\"type\":\"urn:ietf:params:"
	    "acme:error:badCSR\",\"detail\":\"key too\\nsmall\"}"), 0);
	ag_err_clear();
	assert_int_equal(ag_acme_problem(&r, "finalize"), AG_ECA);
	/* One line: the newline from the peer is gone. */
	assert_string_equal(ag_errstr(),
	    "finalize: server said badCSR: key too small");
	ag_resp_done(&r);

	/* Not a problem document: the status is named. */
	ag_resp_init(&r);
	r.status = 503;
	r.content_type = strdup("text/html");
	assert_int_equal(anvil_buf_adds(&r.body, "<html>"), 0);
	ag_err_clear();
	assert_int_equal(ag_acme_problem(&r, "newOrder"), AG_ECA);
	assert_string_equal(ag_errstr(),
	    "newOrder: HTTP 503 from the server (server error)");
	ag_resp_done(&r);
	/* The first error is kept. */
	ag_err("second");
	assert_non_null(strstr(ag_errstr(), "newOrder"));
	ag_err_clear();
}

static void
test_solver_conf(void **state)
{
	struct ag_solver_conf	 c, back;
	struct ag_solver	*s = NULL;
	json_t			*j;

	(void)state;
	/* Invalid first. */
	memset(&c, 0, sizeof(c));
	c.kind = AG_SOLVER_HTTP01;
	c.port = 0;
	assert_int_equal(ag_solver_new(&c, &s), ANVIL_EINVAL);
	c.kind = AG_SOLVER_WEBROOT;
	assert_int_equal(ag_solver_new(&c, &s), ANVIL_EINVAL);
	c.kind = AG_SOLVER__MAX;
	assert_int_equal(ag_solver_new(&c, &s), ANVIL_EINVAL);
	assert_int_equal(ag_solver_kind_parse("dns01"), AG_SOLVER__MAX);
	j = json_pack("{s:s, s:i}", "type", "http01-standalone", "port", 70000);
	assert_int_equal(ag_solver_conf_parse(j, &back), ANVIL_EJSON);
	json_decref(j);
	j = json_pack("{s:s}", "type", "webroot");
	assert_int_equal(ag_solver_conf_parse(j, &back), ANVIL_EJSON);
	json_decref(j);

	/* Round trips. */
	c.kind = AG_SOLVER_HTTP01;
	c.port = 8080;
	j = ag_solver_conf_json(&c);
	assert_non_null(j);
	assert_int_equal(ag_solver_conf_parse(j, &back), 0);
	assert_int_equal(back.kind, AG_SOLVER_HTTP01);
	assert_int_equal(back.port, 8080);
	json_decref(j);
	c.kind = AG_SOLVER_WEBROOT;
	c.webroot = (char *)"/srv/www";
	j = ag_solver_conf_json(&c);
	assert_int_equal(ag_solver_conf_parse(j, &back), 0);
	assert_int_equal(back.kind, AG_SOLVER_WEBROOT);
	assert_string_equal(back.webroot, "/srv/www");
	assert_int_equal(ag_solver_new(&back, &s), 0);
	assert_string_equal(s->ops->challenge, "http-01");
	ag_solver_free(s);
	ag_solver_conf_done(&back);
	json_decref(j);
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	 p[256];

	(void)state;
	(void)snprintf(p, sizeof(p), "%s/anvil.conf", tmpdir);
	(void)unlink(p);
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config_invalid),
		cmocka_unit_test(test_config_valid),
		cmocka_unit_test(test_state_default),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_poll_delay),
		cmocka_unit_test(test_prompt_delay),
		cmocka_unit_test(test_problem_message),
		cmocka_unit_test(test_solver_conf),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
