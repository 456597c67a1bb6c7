/*
 * test_load.c - unit tests of anvil-load's own crypto (cert.c, sign.c):
 * the chain check must refuse a leaf for another name, for another key,
 * signed by another key, or shown with another issuer; the CSR must be
 * one OpenSSL reads and verifies, with the name as CN and dNSName; the
 * JWS must be one libanvil parses and verifies with the account's JWK.
 * The account of the machine (proc.c, stats.c): /proc/stat and
 * /proc/PID/stat texts are read right or refused, a process that is gone
 * or replaced gives no figure, the JSON report has its fields.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "load.h"

/* A CA: key and self-signed certificate. */
struct ca {
	EVP_PKEY	*key;
	X509		*cert;
};

static X509 *
make_cert(EVP_PKEY *subject_key, const char *cn, const char *dns,
    EVP_PKEY *issuer_key, X509 *issuer, long serial)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	X509_EXTENSION	*ext;
	X509V3_CTX	 v3;
	char		 san[300];

	assert_non_null(x);
	assert_non_null(n);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, subject_key), 1);
	if (dns != NULL) {
		X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL,
		    NULL, 0);
		snprintf(san, sizeof(san), "DNS:%s", dns);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
		    san);
		assert_non_null(ext);
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void
ca_init(struct ca *ca, const char *cn)
{
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &ca->key), 0);
	ca->cert = make_cert(ca->key, cn, NULL, ca->key, NULL, 1);
}

static void
ca_done(struct ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

/* The PEM of leaf then issuer, in a new string (free()). */
static char *
chain_pem(X509 *leaf, X509 *issuer)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *out;
	long	 n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509(b, leaf), 1);
	if (issuer != NULL)
		assert_int_equal(PEM_write_bio_X509(b, issuer), 1);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	assert_non_null(out);
	BIO_free(b);
	return out;
}

/* The public key of ck as an EVP_PKEY (EVP_PKEY_free). */
static EVP_PKEY *
ck_pub(const struct certkey *ck)
{
	const uint8_t	*p;
	size_t		 n;
	EVP_PKEY	*k;

	p = certkey_spki(ck, &n);
	k = d2i_PUBKEY(NULL, &p, (long)n);
	assert_non_null(k);
	return k;
}

/* cert_check of leaf with issuer; returns its result and *why. */
static int
check(struct issuers *is, const struct certkey *ck, const char *name,
    X509 *leaf, X509 *issuer, const char **why)
{
	char	*pem = chain_pem(leaf, issuer);
	int	 rc;

	*why = NULL;
	rc = cert_check(is, ck, name, pem, strlen(pem), why);
	free(pem);
	return rc;
}

static void
test_chain(void **state)
{
	struct issuers	 is;
	struct certkey	*ck, *other;
	struct ca	 ca1, ca2;
	EVP_PKEY	*pub, *opub;
	X509		*leaf;
	const char	*why;
	const char	*name = "l0011223344556677.example.test";
	char		*pem, *crlf;
	size_t		 i, j;

	(void)state;
	memset(&is, 0, sizeof(is));
	ca_init(&ca1, "CA one");
	ca_init(&ca2, "CA two");
	assert_int_equal(certkey_new(&ck), 0);
	assert_int_equal(certkey_new(&other), 0);
	pub = ck_pub(ck);
	opub = ck_pub(other);

	/* The good chain, twice (the second time from the issuer cache). */
	leaf = make_cert(pub, name, name, ca1.key, ca1.cert, 2);
	assert_int_equal(check(&is, ck, name, leaf, ca1.cert, &why), 0);
	assert_int_equal(check(&is, ck, name, leaf, ca1.cert, &why), 0);
	assert_int_equal(is.n, 1);

	/* Our name is not in it. */
	assert_int_equal(check(&is, ck, "l8899aabbccddeeff.example.test",
	    leaf, ca1.cert, &why), -1);
	assert_string_equal(why,
	    "chain: leaf does not name the order's identifier");

	/* Shown with another issuer (the cache is keyed by its bytes). */
	assert_int_equal(check(&is, ck, name, leaf, ca2.cert, &why), -1);
	assert_string_equal(why, "chain: bad leaf signature");
	assert_int_equal(is.n, 2);

	/* No issuer at all. */
	assert_int_equal(check(&is, ck, name, leaf, NULL, &why), -1);
	assert_string_equal(why, "chain: no issuer certificate");

	/* The first issuer's PEM with other line ends: another text, the
	 * same DER, the same cache entry; broken base64 is refused. */
	pem = chain_pem(leaf, ca1.cert);
	crlf = malloc(2 * strlen(pem) + 1);
	assert_non_null(crlf);
	for (i = 0, j = 0; pem[i] != '\0'; i++) {
		if (pem[i] == '\n')
			crlf[j++] = '\r';
		crlf[j++] = pem[i];
	}
	crlf[j] = '\0';
	assert_int_equal(cert_check(&is, ck, name, crlf, j, &why), 0);
	assert_int_equal(is.n, 2);
	i = (size_t)(strstr(pem, "-----END CERTIFICATE-----\n-----BEGIN") -
	    pem);
	memcpy(pem + i + 60, "!!!!", 4);
	assert_int_equal(cert_check(&is, ck, name, pem, strlen(pem), &why),
	    -1);
	assert_string_equal(why, "chain: issuer certificate does not parse");
	assert_int_equal(is.n, 2);
	free(pem);
	free(crlf);
	X509_free(leaf);

	/* Signed by another key than the issuer's, with its name. */
	leaf = make_cert(pub, name, name, ca2.key, ca1.cert, 3);
	assert_int_equal(check(&is, ck, name, leaf, ca1.cert, &why), -1);
	assert_string_equal(why, "chain: bad leaf signature");
	X509_free(leaf);

	/* A certificate for another key. */
	leaf = make_cert(opub, name, name, ca1.key, ca1.cert, 4);
	assert_int_equal(check(&is, ck, name, leaf, ca1.cert, &why), -1);
	assert_string_equal(why, "chain: leaf key is not the CSR key");
	X509_free(leaf);

	/* Not PEM. */
	assert_int_equal(cert_check(&is, ck, name, "junk", 4, &why), -1);
	assert_string_equal(why, "chain: no PEM certificate");

	EVP_PKEY_free(pub);
	EVP_PKEY_free(opub);
	certkey_free(ck);
	certkey_free(other);
	ca_done(&ca1);
	ca_done(&ca2);
	issuers_done(&is);
	load_crypto_done();
}

/* Checks a CSR made by certkey_csr for name with OpenSSL's parser. */
static void
csr_for(struct certkey *ck, const char *name, int with_cn)
{
	uint8_t			 der[2048];
	size_t			 len = sizeof(der);
	const unsigned char	*p = der;
	X509_REQ		*req;
	EVP_PKEY		*k, *pub = ck_pub(ck);
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES		*gens;
	GENERAL_NAME		*gn;
	X509_NAME		*subj;
	char			 cn[100];
	int			 i;

	assert_int_equal(certkey_csr(ck, name, der, &len), 0);
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_ptr_equal(p, der + len);
	k = X509_REQ_get0_pubkey(req);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_eq(k, pub), 1);
	assert_int_equal(X509_REQ_verify(req, k), 1);
	subj = X509_REQ_get_subject_name(req);
	i = X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn));
	if (with_cn) {
		assert_int_equal(i, (int)strlen(name));
		assert_string_equal(cn, name);
	} else
		assert_int_equal(X509_NAME_entry_count(subj), 0);
	exts = X509_REQ_get_extensions(req);
	assert_non_null(exts);
	assert_int_equal(sk_X509_EXTENSION_num(exts), 1);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
	gn = sk_GENERAL_NAME_value(gens, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_int_equal(ASN1_STRING_length(gn->d.dNSName), (int)strlen(name));
	assert_memory_equal(ASN1_STRING_get0_data(gn->d.dNSName), name,
	    strlen(name));
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
}

static void
test_csr(void **state)
{
	struct certkey	*ck;
	char		 longname[ANVIL_MAX_NAME_LEN + 2];
	uint8_t		 der[2048];
	size_t		 len;

	(void)state;
	assert_int_equal(certkey_new(&ck), 0);
	csr_for(ck, "l0011223344556677.example.test", 1);
	/* Past 64 characters: no CN, and lengths past 127 bytes. */
	memset(longname, 'a', 200);
	memcpy(longname + 200, ".example.test", 14);
	csr_for(ck, longname, 0);
	/* Too long a name, too small a buffer. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	len = sizeof(der);
	assert_int_equal(certkey_csr(ck, longname, der, &len), ANVIL_E2BIG);
	len = 100;
	assert_int_equal(certkey_csr(ck, "a.example.test", der, &len),
	    ANVIL_E2BIG);
	certkey_free(ck);
	load_crypto_done();
}

static void
test_jws(void **state)
{
	EVP_PKEY		*key;
	struct anvil_jwk	*jwk;
	json_t			*jwk_json;
	struct signer		*s;
	struct anvil_jws	*jws;
	struct anvil_buf	 out;
	const char		*pay = "{\"csr\":\"x\"}";
	int			 i;

	(void)state;
	anvil_buf_init(&out, ANVIL_MAX_REQUEST_BODY);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &key), 0);
	assert_int_equal(anvil_jwk_from_pkey(key, &jwk), 0);
	jwk_json = anvil_jwk_to_json(jwk);
	assert_non_null(jwk_json);
	assert_int_equal(signer_new(key, jwk_json, &s), 0);
	/* Many signatures: r or s with a leading zero byte, now and then. */
	for (i = 0; i < 64; i++) {
		assert_int_equal(signer_jws(s, i % 2 ? NULL :
		    "https://ca.test/acct/1", "nonce-\"\\\x01",
		    "https://ca.test/new-order", i % 3 ? pay : "",
		    i % 3 ? strlen(pay) : 0, &out), 0);
		assert_int_equal(anvil_jws_parse(out.data, out.len, &jws), 0);
		assert_int_equal(anvil_jws_verify(jws, jwk), 0);
		assert_string_equal(jws->alg, "ES256");
		assert_string_equal(jws->nonce, "nonce-\"\\\x01");
		assert_string_equal(jws->url, "https://ca.test/new-order");
		if (i % 2) {
			assert_null(jws->kid);
			assert_non_null(jws->jwk);
			assert_true(json_equal(jws->jwk, jwk_json));
		} else {
			assert_string_equal(jws->kid, "https://ca.test/acct/1");
			assert_null(jws->jwk);
		}
		assert_int_equal(jws->payload_len, i % 3 ? strlen(pay) : 0);
		anvil_jws_free(jws);
	}
	signer_free(s);
	json_decref(jwk_json);
	anvil_jwk_free(jwk);
	EVP_PKEY_free(key);
	anvil_buf_free(&out);
	load_crypto_done();
}

/* A string literal and its length. */
#define TEXT(s)	(s), sizeof(s) - 1

/* A /proc/stat of two CPUs; guest and guest_nice (100, 7) are in user
 * and nice already. */
static const char stat_a[] =
    "cpu  1000 20 300 5000 80 10 5 2 100 7\n"
    "cpu0 500 10 150 2500 40 5 3 1 50 3\n"
    "cpu1 500 10 150 2500 40 5 2 1 50 4\n"
    "intr 123456 1 2 3\n"
    "ctxt 987654\n"
    "cpu_fake 1 2 3\n";
static const char stat_b[] =
    "cpu  1600 20 500 5200 80 10 5 2 100 7\n"
    "cpu0 800 10 250 2600 40 5 3 1 50 3\n"
    "cpu1 800 10 250 2600 40 5 2 1 50 4\n"
    "intr 123457 1 2 3\n";

static void
test_proc_stat(void **state)
{
	struct cpustat	 a, b, c;
	double		 pct;

	(void)state;
	assert_int_equal(proc_stat_parse(stat_a, strlen(stat_a), &a), 0);
	assert_int_equal(a.ncpu, 2);
	assert_int_equal(a.total, 1000 + 20 + 300 + 5000 + 80 + 10 + 5 + 2);
	assert_int_equal(a.idle, 5000 + 80);
	assert_int_equal(proc_stat_parse(stat_b, strlen(stat_b), &b), 0);
	/* 1000 ticks, of which 200 idle: 80 % busy. */
	pct = cpustat_busy_pct(&a, &b);
	assert_true(pct > 79.999 && pct < 80.001);
	assert_true(cpustat_busy_s(&a, &b) > 0);
	/* Nothing counted, counters gone back: unknown. */
	assert_true(cpustat_busy_pct(&a, &a) < 0);
	assert_true(cpustat_busy_pct(&b, &a) < 0);
	assert_true(cpustat_busy_s(&b, &a) < 0);
	c = b;
	c.idle = a.idle - 1;
	assert_true(cpustat_busy_pct(&a, &c) < 0);

	/* Old kernels: four fields only. */
	assert_int_equal(proc_stat_parse(TEXT("cpu 1 2 3 4\ncpu0 1 2 3 4\n"),
	    &c), 0);
	assert_int_equal(c.total, 10);
	assert_int_equal(c.idle, 4);
	assert_int_equal(c.ncpu, 1);
	/* Only the first len bytes count (cut inside cpu0: refused). */
	assert_int_equal(proc_stat_parse(stat_a, 60, &c), ANVIL_EINVAL);
	/* Cut after cpu0: one CPU. */
	assert_int_equal(proc_stat_parse(stat_a, 73, &c), 0);
	assert_int_equal(c.ncpu, 1);
	/* Refused: empty, no "cpu" line, a cpuN line first, no cpuN line,
	 * two "cpu" lines, not numbers, a number too large, too few. */
	assert_int_equal(proc_stat_parse(TEXT(""), &c), ANVIL_EINVAL);
	assert_int_equal(proc_stat_parse(TEXT("intr 1\n"), &c), ANVIL_EINVAL);
	assert_int_equal(proc_stat_parse(TEXT("cpu0 1 2 3 4\ncpu 1 2 3 4\n"),
	    &c), ANVIL_EINVAL);
	assert_int_equal(proc_stat_parse(TEXT("cpu 1 2 3 4\nintr 1\n"), &c),
	    ANVIL_EINVAL);
	assert_int_equal(proc_stat_parse(TEXT("cpu 1 2 3 4\ncpu 1 2 3 4\n"
	    "cpu0 1 2 3 4\n"), &c), ANVIL_EINVAL);
	assert_int_equal(proc_stat_parse(TEXT("cpu 1 x 3 4\ncpu0 1 2 3 4\n"),
	    &c), ANVIL_EINVAL);
	assert_int_equal(proc_stat_parse(TEXT("cpu 1 -2 3 4\ncpu0 1 2 3 4\n"),
	    &c), ANVIL_EINVAL);
	assert_int_equal(proc_stat_parse(TEXT("cpu 99999999999999999999 2 3 4\n"
	    "cpu0 1\n"), &c), ANVIL_EINVAL);
	assert_int_equal(proc_stat_parse(TEXT("cpu 1 2 3\ncpu0 1 2 3\n"), &c),
	    ANVIL_EINVAL);

	/* This machine's. */
	assert_int_equal(proc_stat_read(&a), 0);
	assert_true(a.ncpu >= 1);
	assert_int_equal(a.ncpu, (unsigned)sysconf(_SC_NPROCESSORS_ONLN));
}

static void
test_proc_pid(void **state)
{
	static const char	 text[] = "4242 (a) b\x01(c) d) S 1 4242 "
	    "4242 0 -1 4194560 1234 0 5 0 250 75 0 0 20 0 9 0 778899 "
	    "12345678 900 "
	    "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
	static const char	 longname[] = "1 (0123456789012345678901234567"
	    "890123456789) S 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 99 0 0\n";
	struct pidstat		 a, b;
	pid_t			 child;
	int			 st;

	(void)state;
	/* comm holds spaces, parentheses and a control byte. */
	assert_int_equal(proc_pid_parse(text, strlen(text), &a), 0);
	assert_string_equal(a.comm, "a) b?(c) d");
	assert_int_equal(a.cpu_ticks, 250 + 75);
	assert_int_equal(a.start_ticks, 778899);
	assert_int_equal(proc_pid_parse(longname, strlen(longname), &b), 0);
	assert_int_equal(strlen(b.comm), LOAD_MAX_COMM - 1);
	assert_int_equal(b.cpu_ticks, 15);
	assert_int_equal(b.start_ticks, 99);
	/* Same process, later: its CPU; another start time: unknown. */
	b = a;
	b.cpu_ticks += sysconf(_SC_CLK_TCK);
	assert_true(pidstat_cpu_s(&a, &b) > 0.999 &&
	    pidstat_cpu_s(&a, &b) < 1.001);
	b.start_ticks++;
	assert_true(pidstat_cpu_s(&a, &b) < 0);
	b = a;
	b.cpu_ticks--;
	assert_true(pidstat_cpu_s(&a, &b) < 0);
	/* Refused: cut before starttime, no ')', a field not a number. */
	assert_int_equal(proc_pid_parse(text, 60, &b), ANVIL_EINVAL);
	assert_int_equal(proc_pid_parse(text,
	    (size_t)(strstr(text, "778899") + 4 - text), &b), ANVIL_EINVAL);
	assert_int_equal(proc_pid_parse(TEXT("1 (x S 1"), &b), ANVIL_EINVAL);
	assert_int_equal(proc_pid_parse(TEXT("1 x) S 1"), &b), ANVIL_EINVAL);
	assert_int_equal(proc_pid_parse(TEXT("1 (x) S 1 1 1 0 -1 0 0 0 0 "
	    "0 x 8 0 0 20 0 1 0 99\n"), &b), ANVIL_EINVAL);

	/* This process: readable, the same process twice. */
	assert_int_equal(proc_pid_read(getpid(), &a), 0);
	assert_string_equal(a.comm, "test_load");
	assert_int_equal(proc_pid_read(getpid(), &b), 0);
	assert_true(pidstat_cpu_s(&a, &b) >= 0);
	assert_true(proc_cpu_s(getpid()) >= 0);
	assert_true(proc_hwm_kb(getpid()) > 0);

	/* A process that has gone (reaped): no such process, no figure. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0)
		_exit(0);
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_int_equal(proc_pid_read(child, &b), ANVIL_ENOENT);
	assert_true(proc_cpu_s(child) < 0);
	assert_int_equal(proc_hwm_kb(child), -1);
	assert_int_equal(proc_pid_read(0, &b), ANVIL_EINVAL);
}

/* The JSON report of r, parsed. */
static json_t *
report_json(struct stats *st, const struct report *r)
{
	char		*text = NULL;
	size_t		 len = 0;
	FILE		*f;
	json_t		*j;

	f = open_memstream(&text, &len);
	assert_non_null(f);
	assert_int_equal(stats_print_json(st, r, f), 0);
	assert_int_equal(fclose(f), 0);
	j = json_loadb(text, len, 0, NULL);
	assert_non_null(j);
	free(text);
	return j;
}

/* The text report of r (free()). */
static char *
report_text(struct stats *st, const struct report *r)
{
	char		*text = NULL;
	size_t		 len = 0;
	FILE		*f;

	f = open_memstream(&text, &len);
	assert_non_null(f);
	stats_print_text(st, r, f);
	assert_int_equal(fclose(f), 0);
	return text;
}

static void
test_report(void **state)
{
	struct watched	 w[3] = {
		{ .pid = 11, .comm = "pebble-challtes", .cpu_s = 0.5 },
		{ .pid = 12, .comm = "gone", .cpu_s = -1 },
		{ .pid = 13, .comm = "", .cpu_s = -1 },
	};
	struct report	 r;
	struct stats	 st;
	json_t		*j, *a, *o;
	char		*text;
	static const char *const kept[] = { "directory", "concurrency",
		"issuances", "seconds", "issuances_per_s", "error_count",
		"badnonce_retries", "polls", "driver_cpu_ms_per_issuance",
		"driver_cpu_user_s", "driver_cpu_sys_s", "driver_maxrss_kb",
		"server_cpu_ms_per_issuance", "server_peak_rss_kb", "steps",
		"errors" };
	size_t		 i;

	(void)state;
	memset(&st, 0, sizeof(st));
	assert_int_equal(stats_add(&st, STEP_FLOW, 12.5), 0);
	memset(&r, 0, sizeof(r));
	r.concurrency = 64;
	r.issuances = 1000;
	r.seconds = 2.5;
	r.cpu_user_s = 0.6;
	r.cpu_sys_s = 0.3;
	r.maxrss_kb = 5000;
	r.server_cpu_s = 2.8;
	r.server_hwm_kb = 40000;
	r.directory = "https://localhost:14000/dir";
	r.watched = w;
	r.n_watched = 3;
	r.machine_cpus = 2;
	r.machine_busy_pct = 88.25;
	r.machine_busy_s = 4.4;

	j = report_json(&st, &r);
	for (i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		assert_non_null(json_object_get(j, kept[i]));
	assert_true(fabs(json_real_value(json_object_get(j,
	    "server_cpu_ms_per_issuance")) - 2.8) < 1e-9);
	assert_int_equal(json_integer_value(json_object_get(j,
	    "machine_cpus")), 2);
	assert_true(fabs(json_real_value(json_object_get(j,
	    "machine_busy_pct")) - 88.25) < 1e-9);
	assert_true(fabs(json_real_value(json_object_get(j,
	    "machine_cpu_ms_per_issuance")) - 4.4) < 1e-9);
	a = json_object_get(j, "watched");
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), 3);
	o = json_array_get(a, 0);
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), 11);
	assert_string_equal(json_string_value(json_object_get(o, "comm")),
	    "pebble-challtes");
	assert_true(fabs(json_real_value(json_object_get(o,
	    "cpu_ms_per_issuance")) - 0.5) < 1e-9);
	/* Gone: its name, no figure; never there: neither. */
	o = json_array_get(a, 1);
	assert_string_equal(json_string_value(json_object_get(o, "comm")),
	    "gone");
	assert_true(json_is_null(json_object_get(o, "cpu_ms_per_issuance")));
	o = json_array_get(a, 2);
	assert_int_equal(json_integer_value(json_object_get(o, "pid")), 13);
	assert_true(json_is_null(json_object_get(o, "comm")));
	assert_true(json_is_null(json_object_get(o, "cpu_ms_per_issuance")));
	json_decref(j);

	text = report_text(&st, &r);
	assert_non_null(strstr(text, "watched pebble-challtes (pid 11) CPU: "
	    "0.500 ms per issuance\n"));
	assert_non_null(strstr(text, "watched gone (pid 12) CPU: unknown "
	    "(gone during the run)\n"));
	assert_non_null(strstr(text, "watched - (pid 13) CPU: unknown (not "
	    "there at the start)\n"));
	/* 4.4 - 0.9 - 2.8 - 0.5 = 0.2 s over 1000 issuances. */
	assert_non_null(strstr(text, "machine: 2 CPUs 88.2 % busy, 4.400 ms "
	    "CPU per issuance (0.200 of them not by the processes above)\n"));
	free(text);

	/* Nothing watched, machine unknown (/proc/stat unreadable). */
	r.n_watched = 0;
	r.watched = NULL;
	r.machine_cpus = 0;
	r.machine_busy_pct = -1;
	r.machine_busy_s = -1;
	j = report_json(&st, &r);
	assert_int_equal(json_array_size(json_object_get(j, "watched")), 0);
	assert_true(json_is_null(json_object_get(j, "machine_cpus")));
	assert_true(json_is_null(json_object_get(j, "machine_busy_pct")));
	assert_true(json_is_null(json_object_get(j,
	    "machine_cpu_ms_per_issuance")));
	json_decref(j);
	text = report_text(&st, &r);
	assert_non_null(strstr(text, "machine: busy share unknown\n"));
	assert_null(strstr(text, "watched"));
	free(text);
	stats_done(&st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_jws),
		cmocka_unit_test(test_proc_stat),
		cmocka_unit_test(test_proc_pid),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
