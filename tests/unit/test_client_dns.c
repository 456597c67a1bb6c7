/*
 * test_client_dns.c - unit tests for what the dns-01 solvers parse and
 * compute without a network: TSIG key files (client/tsig_key.c), server
 * addresses (dns_net.c), the TXT record of an answer (dns_wait.c), the
 * dns-01 solver options (solver.c), and libldns opened at run time
 * (dns_ldns.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include "dns01.h"
#include "solver.h"

#define SECRET	"pQ1Fkq4bA8lJ0+tbMvMKf1B0y5lz3ht1PrB7eLaZcOQ="

static int
parse(const char *text, struct ag_tsig_key *k)
{
	ag_err_clear();
	return ag_tsig_key_parse(text, strlen(text), "k.key", k);
}

static void
test_tsig_invalid(void **state)
{
	static const char *const bad[] = {
		"",
		"# nothing but a comment\n",
		"server { }",
		/* BIND: unterminated, missing parts, unknown option */
		"key \"a\" { algorithm hmac-sha256; secret \"" SECRET "\"; ",
		"key \"a\" { algorithm hmac-sha256; };",
		"key \"a\" { secret \"" SECRET "\"; };",
		"key \"a\" { algorithm hmac-sha256 secret \"" SECRET "\"; };",
		"key \"a\" { algorithm hmac-sha256; secret \"" SECRET "; };",
		"key \"a\" { algorithm hmac-sha256; secret \"" SECRET "\"; "
		    "primaries 1.2.3.4; };",
		"key \"a b\" { algorithm hmac-sha256; secret \"" SECRET
		    "\"; };",
		"key \"\" { algorithm hmac-sha256; secret \"" SECRET "\"; };",
		/* not base64, too short, wrong algorithm */
		"key \"a\" { algorithm hmac-sha256; secret \"abc$\"; };",
		"key \"a\" { algorithm hmac-sha256; secret \"c2hvcnQ=\"; };",
		"key \"a\" { algorithm hmac-md5; secret \"" SECRET "\"; };",
		/* knot: no key, no id, no secret */
		"key:\n",
		"key:\n  - algorithm: hmac-sha256\n    secret: " SECRET "\n",
		"key:\n  - id: a\n    algorithm: hmac-sha256\n",
		"key:\n  - id: a\n    algorithm: hmac-sha1\n    secret: " SECRET
		    "\n",
	};
	struct ag_tsig_key	 k;
	size_t			 i;
	char			 nul[] = "key \"a\" {\0}";

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(bad[i], &k) == 0)
			fail_msg("accepted: %s", bad[i]);
		/* The message names the file, never the secret. */
		assert_non_null(strstr(ag_errstr(), "k.key"));
		assert_null(strstr(ag_errstr(), SECRET));
		assert_null(k.secret);
	}
	ag_err_clear();
	assert_int_equal(ag_tsig_key_parse(nul, sizeof(nul) - 1, "k.key", &k),
	    ANVIL_EINVAL);
	assert_non_null(strstr(parse("key \"a\" { algorithm hmac-md5; "
	    "secret \"" SECRET "\"; };", &k) != 0 ? ag_errstr() : "",
	    "use hmac-sha256"));
	ag_err_clear();
	assert_int_not_equal(ag_tsig_key_load("/nonexistent/k.key", &k), 0);
	assert_non_null(strstr(ag_errstr(), "cannot read TSIG key"));
}

static void
test_tsig_valid(void **state)
{
	static const char bind[] =
	    "// tsig-keygen acme-update\n"
	    "key \"Acme-Update\" {\n"
	    "\talgorithm hmac-sha256;\n"
	    "\tsecret \"" SECRET "\";\n"
	    "};\n"
	    "key \"second\" { algorithm hmac-sha256; secret \"x\"; };\n";
	static const char bind_unquoted[] =
	    "/* a comment */ key acme.example. { algorithm HMAC-SHA256; "
	    "secret \"" SECRET "\"; };";
	static const char knot[] =
	    "# hmac-sha256:acme-update:" SECRET "\n"
	    "key:\n"
	    "  - id: acme-update\n"
	    "    algorithm: hmac-sha256\n"
	    "    secret: " SECRET "\n"
	    "  - id: other\n"
	    "    algorithm: hmac-sha256\n"
	    "    secret: AAAA\n";
	static const char knot_quoted[] =
	    "server:\n    listen: 127.0.0.1@53\n"
	    "key:\n  - id: \"k1\"\n    secret: '" SECRET "'\n"
	    "    algorithm: hmac-sha256\n";
	struct ag_tsig_key	 k;

	(void)state;
	assert_int_equal(parse(bind, &k), 0);
	assert_string_equal(k.name, "acme-update.");
	assert_string_equal(k.algorithm, "hmac-sha256.");
	assert_string_equal(k.secret, SECRET);
	ag_tsig_key_done(&k);
	assert_null(k.secret);

	assert_int_equal(parse(bind_unquoted, &k), 0);
	assert_string_equal(k.name, "acme.example.");
	ag_tsig_key_done(&k);

	assert_int_equal(parse(knot, &k), 0);
	assert_string_equal(k.name, "acme-update.");
	assert_string_equal(k.secret, SECRET);
	ag_tsig_key_done(&k);

	assert_int_equal(parse(knot_quoted, &k), 0);
	assert_string_equal(k.name, "k1.");
	assert_string_equal(k.secret, SECRET);
	ag_tsig_key_done(&k);
}

static void
test_addr(void **state)
{
	static const char *const bad[] = {
		"", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:x", "1.2.3.4:",
		"[::1", "[::1]x", "[::1]:", "[]:53",
	};
	struct ag_dns_addr	 a;
	char			 s[64];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ag_dns_addr_parse(bad[i], &a) == 0)
			fail_msg("accepted: %s", bad[i]);
	assert_int_equal(ag_dns_addr_parse("127.0.0.1", &a), 0);
	ag_dns_addr_str(&a, s, sizeof(s));
	assert_string_equal(s, "127.0.0.1:53");
	assert_int_equal(ag_dns_addr_parse("127.0.0.2:5353", &a), 0);
	ag_dns_addr_str(&a, s, sizeof(s));
	assert_string_equal(s, "127.0.0.2:5353");
	assert_int_equal(a.len, sizeof(struct sockaddr_in));
	assert_int_equal(ag_dns_addr_parse("[::1]:54", &a), 0);
	ag_dns_addr_str(&a, s, sizeof(s));
	assert_string_equal(s, "[::1]:54");
	assert_int_equal(ag_dns_addr_parse("::1", &a), 0);
	ag_dns_addr_str(&a, s, sizeof(s));
	assert_string_equal(s, "[::1]:53");
	assert_int_equal(ag_dns_addr_parse("localhost:1053", &a), 0);
	ag_dns_addr_str(&a, s, sizeof(s));
	assert_non_null(strstr(s, ":1053"));
}

static void
test_txt(void **state)
{
	/* RFC 8555 §8.1: keyAuthorization = token "." thumbprint; §8.4:
	 * the TXT is base64url(SHA-256(keyAuthorization)). */
	static const char ka[] = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
	    ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI";
	struct ag_dns_txt	 t;

	(void)state;
	assert_int_equal(ag_dns_txt_make("www.example.org", ka, &t), 0);
	assert_string_equal(t.name, "_acme-challenge.www.example.org.");
	assert_string_equal(t.value,
	    "lCM7cZyQXcVHK2nnW3jjAhNT3Fvm18UN-kWZZknKoYM");
	ag_dns_txt_done(&t);
	/* A wildcard's record is its base name's. */
	assert_int_equal(ag_dns_txt_make("*.example.org", ka, &t), 0);
	assert_string_equal(t.name, "_acme-challenge.example.org.");
	ag_dns_txt_done(&t);
	assert_null(t.name);
}

static void
test_dns_solver_conf(void **state)
{
	struct ag_solver_conf	 c, back;
	struct ag_solver	*s = NULL;
	json_t			*j;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.kind = AG_SOLVER_DNS01_HOOK;
	c.propagation_timeout = AG_PROPAGATION_TIMEOUT;
	c.dns_timeout = AG_DNS_TIMEOUT;
	/* Invalid first: no program, timeouts out of bounds. */
	ag_err_clear();
	assert_int_equal(ag_solver_new(&c, &s), ANVIL_EINVAL);
	assert_non_null(strstr(ag_errstr(), "--dns01-hook"));
	c.hook = (char *)"/usr/local/bin/dns-hook";
	c.propagation_timeout = 0;
	ag_err_clear();
	assert_int_equal(ag_solver_new(&c, &s), ANVIL_EINVAL);
	c.propagation_timeout = AG_PROPAGATION_MAX + 1;
	assert_int_equal(ag_solver_new(&c, &s), ANVIL_EINVAL);
	c.propagation_timeout = 30;
	c.dns_timeout = 0;
	assert_int_equal(ag_solver_new(&c, &s), ANVIL_EINVAL);
	c.dns_timeout = 3;
	c.dns_resolver = (char *)"127.0.0.1:5353";

	j = ag_solver_conf_json(&c);
	assert_non_null(j);
	assert_int_equal(ag_solver_conf_parse(j, &back), 0);
	assert_int_equal(back.kind, AG_SOLVER_DNS01_HOOK);
	assert_string_equal(back.hook, c.hook);
	assert_string_equal(back.dns_resolver, "127.0.0.1:5353");
	assert_int_equal(back.propagation_timeout, 30);
	assert_int_equal(back.dns_timeout, 3);
	assert_int_equal(ag_solver_new(&back, &s), 0);
	assert_string_equal(s->ops->challenge, "dns-01");
	assert_string_equal(s->ops->name, "dns01-hook");
	ag_solver_free(s);
	ag_solver_conf_done(&back);
	json_decref(j);

	/* RFC 2136 needs a key file; the resolver is optional. */
	memset(&c, 0, sizeof(c));
	c.kind = AG_SOLVER_DNS01_RFC2136;
	c.propagation_timeout = 60;
	c.dns_timeout = 2;
	c.rfc2136 = (char *)"127.0.0.1:5300";
	ag_err_clear();
	assert_int_equal(ag_solver_new(&c, &s), ANVIL_EINVAL);
	assert_non_null(strstr(ag_errstr(), "--tsig-key"));
	c.tsig_key = (char *)"/etc/anvil/update.key";
	j = ag_solver_conf_json(&c);
	assert_int_equal(ag_solver_conf_parse(j, &back), 0);
	assert_string_equal(back.rfc2136, "127.0.0.1:5300");
	assert_string_equal(back.tsig_key, "/etc/anvil/update.key");
	assert_null(back.dns_resolver);
	ag_solver_conf_done(&back);
	json_decref(j);
	/* A renewal file without the key is refused. */
	j = json_pack("{s:s, s:s}", "type", "dns01-rfc2136", "server",
	    "127.0.0.1:53");
	assert_int_equal(ag_solver_conf_parse(j, &back), ANVIL_EJSON);
	json_decref(j);
	j = json_pack("{s:s, s:s, s:i}", "type", "dns01-hook", "hook", "/x",
	    "propagation_timeout", 0);
	assert_int_equal(ag_solver_conf_parse(j, &back), ANVIL_EJSON);
	json_decref(j);
}

/* libldns opens once, and the ldns names reach it through dns01.h. */
static void
test_ldns_open(void **state)
{
	ldns_rdf	*d, *parent;

	(void)state;
	assert_int_equal(ag_ldns_open(), 0);
	assert_int_equal(ag_ldns_open(), 0);
	assert_non_null(ag_ldns_dname_new_frm_str);
	d = ldns_dname_new_frm_str("_acme-challenge.Example.ORG.");
	assert_non_null(d);
	assert_int_equal(ldns_dname_label_count(d), 3);
	parent = ldns_dname_left_chop(d);
	assert_non_null(parent);
	assert_true(ldns_dname_is_subdomain(d, parent));
	assert_non_null(ldns_lookup_by_id(ldns_rcodes, LDNS_RCODE_REFUSED));
	assert_string_equal(ldns_lookup_by_id(ldns_rcodes,
	    LDNS_RCODE_REFUSED)->name, "REFUSED");
	ldns_rdf_deep_free(parent);
	ldns_rdf_deep_free(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tsig_invalid),
		cmocka_unit_test(test_tsig_valid),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_txt),
		cmocka_unit_test(test_dns_solver_conf),
		cmocka_unit_test(test_ldns_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
