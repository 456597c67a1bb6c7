/*
 * test_x509.c - unit tests for keys, files, CSRs, tls-alpn-01
 * certificates and the small helpers of lib/util.c.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "anvil/anvil.h"

static char	 tmpdir[] = "/tmp/anvil-test-x509.XXXXXX";

/* Returns "<tmpdir>/name" (static buffer). */
static const char *
tpath(const char *name)
{
	static char	 buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", tmpdir, name);
	return buf;
}

static void
test_dns_name(void **state)
{
	static const char *const bad[] = {
		"", "com", "example.com.", ".example.com", "example..com",
		"Example.com", "exa_mple.com", "-a.example.com",
		"a-.example.com", "*.com", "a.*.example.com", "*example.com",
		"**.example.com", "*", "*.", "1.2.3.4", "a.123", "ex ample.com",
		"exämple.com", "a.example.com/x",
	};
	char	 name[300];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (anvil_dns_name_check(bad[i], 1) != ANVIL_EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(anvil_dns_name_check(NULL, 1), ANVIL_EINVAL);
	assert_int_equal(anvil_dns_name_check("*.example.com", 0),
	    ANVIL_EINVAL);
	/* A 64-character label. */
	memset(name, 'a', 64);
	strcpy(name + 64, ".com");
	assert_int_equal(anvil_dns_name_check(name, 0), ANVIL_EINVAL);
	assert_int_equal(anvil_dns_name_check(name + 1, 0), 0);
	/* 253 characters pass, 254 do not. */
	for (i = 0; i < 253; i++)
		name[i] = i % 2 == 0 ? 'a' : '.';
	name[253] = '\0';
	assert_int_equal(anvil_dns_name_check(name, 0), 0);
	name[253] = 'b';
	name[254] = '\0';
	assert_int_equal(anvil_dns_name_check(name, 0), ANVIL_EINVAL);

	assert_int_equal(anvil_dns_name_check("example.com", 0), 0);
	assert_int_equal(anvil_dns_name_check("a-b.x1.example.com", 0), 0);
	assert_int_equal(anvil_dns_name_check("xn--bcher-kva.example", 0),
	    0);
	assert_int_equal(anvil_dns_name_check("*.example.com", 1), 0);
	assert_int_equal(anvil_dns_name_check("1.2.3.example", 0), 0);
}

static void
test_util(void **state)
{
	char	**v;

	(void)state;
	assert_true(anvil_memeq_ct("abc", 3, "abc", 3));
	assert_false(anvil_memeq_ct("abc", 3, "abd", 3));
	assert_false(anvil_memeq_ct("abc", 3, "abcd", 4));
	assert_true(anvil_memeq_ct("", 0, "", 0));
	anvil_strv_free(NULL);
	v = calloc(3, sizeof(*v));
	assert_non_null(v);
	v[0] = strdup("a");
	v[1] = strdup("b");
	anvil_strv_free(v);
}

/* Time first, then random: later ids sort after earlier ones. */
static void
test_rand_time_ordered(void **state)
{
	uint8_t		 a[16], b[16], c[16];
	struct timespec	 ts;
	uint64_t	 ms, now;
	int		 i;

	(void)state;
	assert_int_equal(anvil_rand_time_ordered(NULL, 16), ANVIL_EINVAL);
	assert_int_equal(anvil_rand_time_ordered(a, 6), ANVIL_EINVAL);
	assert_int_equal(anvil_rand_time_ordered(a, sizeof(a)), 0);
	assert_int_equal(clock_gettime(CLOCK_REALTIME, &ts), 0);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (ms = 0, i = 0; i < 6; i++)
		ms = ms << 8 | a[i];
	assert_true(ms <= now && now - ms < 5000);
	/* 10 ms apart: the time prefix orders them. */
	ts.tv_sec = 0;
	ts.tv_nsec = 10 * 1000 * 1000;
	assert_int_equal(nanosleep(&ts, NULL), 0);
	assert_int_equal(anvil_rand_time_ordered(b, sizeof(b)), 0);
	assert_true(memcmp(a, b, 6) < 0);
	/* The same millisecond at most, never the same random part. */
	assert_int_equal(anvil_rand_time_ordered(c, sizeof(c)), 0);
	assert_true(memcmp(b + 6, c + 6, 10) != 0);
}

/* anvil_rand_bytes hands each buffered byte out once, in every thread
 * and across a fork. */
static void
test_rand_bytes(void **state)
{
	static uint8_t	 seen[400][16];
	uint8_t		 big[300], mine[16], theirs[16];
	size_t		 i, j;
	pid_t		 pid;
	int		 fd[2], st;

	(void)state;
	assert_int_equal(anvil_rand_bytes(NULL, 16), ANVIL_EINVAL);
	assert_int_equal(anvil_rand_bytes(mine, 0), 0);
	/* Past several refills of the buffer: no repeat. */
	for (i = 0; i < 400; i++) {
		assert_int_equal(anvil_rand_bytes(seen[i], 16), 0);
		for (j = 0; j < i; j++)
			assert_memory_not_equal(seen[i], seen[j], 16);
	}
	/* Bigger than the buffer's share: straight from the DRBG. */
	memset(big, 0, sizeof(big));
	assert_int_equal(anvil_rand_bytes(big, sizeof(big)), 0);
	assert_memory_not_equal(big, big + 150, 150);
	/* A child must not draw what the parent draws next. */
	assert_int_equal(anvil_rand_bytes(mine, 5), 0);
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fd[0]);
		if (anvil_rand_bytes(theirs, sizeof(theirs)) != 0 ||
		    write(fd[1], theirs, sizeof(theirs)) != sizeof(theirs))
			_exit(1);
		_exit(0);
	}
	close(fd[1]);
	assert_int_equal(read(fd[0], theirs, sizeof(theirs)),
	    sizeof(theirs));
	close(fd[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_int_equal(anvil_rand_bytes(mine, sizeof(mine)), 0);
	assert_memory_not_equal(mine, theirs, sizeof(mine));
}

static X509 *
cert_with_serial(const uint8_t *bytes, size_t n, int negative)
{
	X509	*x;
	BIGNUM	*bn;

	x = X509_new();
	assert_non_null(x);
	bn = BN_bin2bn(bytes, (int)n, NULL);
	assert_non_null(bn);
	BN_set_negative(bn, negative);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	BN_free(bn);
	return x;
}

static void
test_serial(void **state)
{
	static const uint8_t s21[21] = { 1 };
	static const uint8_t s20[20] = { 0xfe, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0, 0, 0, 0x0a };
	static const uint8_t s3[] = { 0x01, 0xab, 0x0c };
	char	 out[41];
	X509	*x;

	(void)state;
	x = cert_with_serial(s21, sizeof(s21), 0);
	assert_int_equal(anvil_cert_serial_hex(x, out), ANVIL_ECERT);
	X509_free(x);
	x = cert_with_serial(s3, sizeof(s3), 1);
	assert_int_equal(anvil_cert_serial_hex(x, out), ANVIL_ECERT);
	X509_free(x);

	x = cert_with_serial(s3, sizeof(s3), 0);
	assert_int_equal(anvil_cert_serial_hex(x, out), 0);
	assert_string_equal(out, "01ab0c");
	X509_free(x);
	x = cert_with_serial(s20, sizeof(s20), 0);
	assert_int_equal(anvil_cert_serial_hex(x, out), 0);
	assert_string_equal(out, "fe0000000000000000000000000000000000000a");
	X509_free(x);
	x = cert_with_serial(NULL, 0, 0);
	assert_int_equal(anvil_cert_serial_hex(x, out), 0);
	assert_string_equal(out, "00");
	X509_free(x);
}

static void
test_file(void **state)
{
	struct stat	 st;
	char		*data = NULL;
	size_t		 len = 0;

	(void)state;
	assert_int_equal(anvil_file_read(tpath("missing"), 100, &data, &len),
	    ANVIL_ENOENT);
	assert_int_equal(anvil_file_read(tmpdir, 100, &data, &len),
	    ANVIL_EINVAL);
	assert_int_equal(anvil_file_write_atomic(tpath("no/such/dir"), "x", 1,
	    0644), -ENOENT);
	assert_int_equal(anvil_file_write_atomic(tpath("f"), "x", 1, 010000),
	    ANVIL_EINVAL);

	assert_int_equal(anvil_file_write_atomic(tpath("f"), "hello", 5,
	    0640), 0);
	assert_int_equal(stat(tpath("f"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(anvil_file_read(tpath("f"), 4, &data, &len),
	    ANVIL_E2BIG);
	assert_null(data);
	assert_int_equal(anvil_file_read(tpath("f"), 5, &data, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	free(data);
	/* Replaced atomically, with the new mode. */
	assert_int_equal(anvil_file_write_atomic(tpath("f"), "", 0, 0600), 0);
	assert_int_equal(stat(tpath("f"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(anvil_file_read(tpath("f"), 5, &data, NULL), 0);
	assert_string_equal(data, "");
	free(data);
	assert_int_equal(unlink(tpath("f")), 0);
}

static void
test_key_names(void **state)
{
	int	 i;

	(void)state;
	assert_int_equal(anvil_key_type_parse("EC256"), ANVIL_KEY__MAX);
	assert_int_equal(anvil_key_type_parse("rsa1024"), ANVIL_KEY__MAX);
	assert_int_equal(anvil_key_type_parse(NULL), ANVIL_KEY__MAX);
	assert_null(anvil_key_type_name(ANVIL_KEY__MAX));
	assert_int_equal(anvil_key_type_parse("ed25519"), ANVIL_KEY_ED25519);
	assert_string_equal(anvil_key_type_name(ANVIL_KEY_RSA3072),
	    "rsa3072");
	for (i = 0; i < ANVIL_KEY__MAX; i++)
		assert_int_equal(anvil_key_type_parse(anvil_key_type_name(i)),
		    i);
}

static void
test_key_files(void **state)
{
	struct stat	 st;
	EVP_PKEY	*k = NULL, *k2 = NULL, *l = NULL;
	FILE		*f;
	BIO		*bio;

	(void)state;
	assert_int_equal(anvil_key_generate(ANVIL_KEY__MAX, &k),
	    ANVIL_EINVAL);
	assert_int_equal(anvil_key_load(tpath("nokey"), &l), ANVIL_ENOENT);
	/* Not a key. */
	assert_int_equal(anvil_file_write_atomic(tpath("junk"), "junk\n", 5,
	    0600), 0);
	assert_int_equal(anvil_key_load(tpath("junk"), &l), ANVIL_EKEY);
	/* An encrypted key is refused without prompting. */
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &k), 0);
	bio = BIO_new_file(tpath("enc"), "w");
	assert_non_null(bio);
	assert_int_equal(PEM_write_bio_PKCS8PrivateKey(bio, k,
	    EVP_aes_128_cbc(), "secret", 6, NULL, NULL), 1);
	BIO_free(bio);
	assert_int_equal(anvil_key_load(tpath("enc"), &l), ANVIL_EKEY);
	/* A key of an unsupported type. */
	k2 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(k2);
	assert_int_equal(anvil_key_save(tpath("p521"), k2, 0), 0);
	assert_int_equal(anvil_key_load(tpath("p521"), &l), ANVIL_EKEY);
	assert_null(l);
	EVP_PKEY_free(k2);

	/* Save: 0600, PKCS#8, no replacing unless asked. */
	assert_int_equal(anvil_key_save(tpath("key.pem"), k, 0), 0);
	assert_int_equal(stat(tpath("key.pem"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	f = fopen(tpath("key.pem"), "r");
	assert_non_null(f);
	{
		char	 line[64];

		assert_non_null(fgets(line, sizeof(line), f));
		assert_string_equal(line, "-----BEGIN PRIVATE KEY-----\n");
	}
	fclose(f);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_ED25519, &k2), 0);
	assert_int_equal(anvil_key_save(tpath("key.pem"), k2, 0),
	    ANVIL_EEXIST);
	assert_int_equal(anvil_key_load(tpath("key.pem"), &l), 0);
	assert_int_equal(EVP_PKEY_eq(k, l), 1);
	EVP_PKEY_free(l);
	assert_int_equal(anvil_key_save(tpath("key.pem"), k2, 1), 0);
	assert_int_equal(stat(tpath("key.pem"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(anvil_key_load(tpath("key.pem"), &l), 0);
	assert_int_equal(EVP_PKEY_eq(k2, l), 1);
	EVP_PKEY_free(l);
	EVP_PKEY_free(k);
	EVP_PKEY_free(k2);
	(void)unlink(tpath("key.pem"));
	(void)unlink(tpath("junk"));
	(void)unlink(tpath("enc"));
	(void)unlink(tpath("p521"));
}

/* Makes a CSR by hand: cn (or NULL), SAN entries of GEN_DNS or GEN_IPADD
 * (given as "ip:" strings), signed by key. */
static X509_REQ *
hand_csr(EVP_PKEY *key, const char *cn, const char *const *san, size_t n)
{
	STACK_OF(X509_EXTENSION)	*exts;
	GENERAL_NAMES			*gens;
	GENERAL_NAME			*gen;
	ASN1_OCTET_STRING		*ip;
	ASN1_IA5STRING			*ia5;
	X509_REQ			*req;
	size_t				 i;
	static const uint8_t		 addr[4] = { 127, 0, 0, 1 };

	req = X509_REQ_new();
	assert_non_null(req);
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	if (cn != NULL)
		assert_int_equal(X509_NAME_add_entry_by_NID(
		    X509_REQ_get_subject_name(req), NID_commonName,
		    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
	if (n > 0) {
		gens = GENERAL_NAMES_new();
		for (i = 0; i < n; i++) {
			gen = GENERAL_NAME_new();
			if (strncmp(san[i], "ip:", 3) == 0) {
				ip = ASN1_OCTET_STRING_new();
				ASN1_OCTET_STRING_set(ip, addr, 4);
				GENERAL_NAME_set0_value(gen, GEN_IPADD, ip);
			} else {
				ia5 = ASN1_IA5STRING_new();
				ASN1_STRING_set(ia5, san[i], -1);
				GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
			}
			sk_GENERAL_NAME_push(gens, gen);
		}
		exts = sk_X509_EXTENSION_new_null();
		sk_X509_EXTENSION_push(exts,
		    X509V3_EXT_i2d(NID_subject_alt_name, 0, gens));
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
		GENERAL_NAMES_free(gens);
	}
	assert_true(X509_REQ_sign(req, key, EVP_sha256()) > 0);
	return req;
}

static void
expect_names(X509_REQ *req, size_t max, int rc, const char *const *want,
    size_t n)
{
	char	**v = NULL;
	size_t	  i;

	assert_int_equal(anvil_csr_names(req, max, &v), rc);
	if (rc != 0) {
		assert_null(v);
		return;
	}
	for (i = 0; i < n; i++) {
		assert_non_null(v[i]);
		assert_string_equal(v[i], want[i]);
	}
	assert_null(v[n]);
	anvil_strv_free(v);
}

static void
test_csr_invalid(void **state)
{
	static const char *const ip[] = { "a.example.com", "ip:" };
	static const char *const bad[] = { "a.example.com", "a_b.example" };
	static const char *const many[] = { "a.example.com", "b.example.com",
	    "c.example.com" };
	static const char *const badnames[] = { "Example.com" };
	static const uint8_t junk[] = { 0x30, 0x03, 0x02, 0x01, 0x00 };
	X509_REQ	*req = NULL;
	EVP_PKEY	*k = NULL;
	uint8_t		*der = NULL, *big, *p;
	size_t		 len = 0;

	(void)state;
	assert_int_equal(anvil_csr_parse(junk, 0, &req), ANVIL_ECSR);
	assert_int_equal(anvil_csr_parse(junk, sizeof(junk), &req),
	    ANVIL_ECSR);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &k), 0);
	assert_int_equal(anvil_csr_new(k, many, 0, &req), ANVIL_EINVAL);
	assert_int_equal(anvil_csr_new(k, badnames, 1, &req), ANVIL_EINVAL);
	assert_null(req);

	/* Trailing byte, truncated, over the size limit. */
	assert_int_equal(anvil_csr_new(k, many, 1, &req), 0);
	assert_int_equal(anvil_csr_der(req, &der, &len), 0);
	X509_REQ_free(req);
	req = NULL;
	big = calloc(1, ANVIL_MAX_CSR_DER + 1);
	assert_non_null(big);
	memcpy(big, der, len);
	assert_int_equal(anvil_csr_parse(big, len + 1, &req), ANVIL_ECSR);
	assert_int_equal(anvil_csr_parse(big, len - 1, &req), ANVIL_ECSR);
	assert_int_equal(anvil_csr_parse(big, ANVIL_MAX_CSR_DER + 1, &req),
	    ANVIL_ECSR);
	/* A changed letter in the signed name breaks the signature. */
	p = memmem(big, len, "a.example.com", 13);
	assert_non_null(p);
	*p = 'b';
	assert_int_equal(anvil_csr_parse(big, len, &req), 0);
	assert_int_equal(anvil_csr_verify(req), ANVIL_ECSR);
	X509_REQ_free(req);
	req = NULL;
	free(big);
	free(der);

	/* Other SAN types, bad names, too many names, no names at all. */
	req = hand_csr(k, NULL, ip, 2);
	expect_names(req, 10, ANVIL_ECSR, NULL, 0);
	X509_REQ_free(req);
	req = hand_csr(k, NULL, bad, 2);
	expect_names(req, 10, ANVIL_ECSR, NULL, 0);
	X509_REQ_free(req);
	req = hand_csr(k, "not a name", many, 1);
	expect_names(req, 10, ANVIL_ECSR, NULL, 0);
	X509_REQ_free(req);
	req = hand_csr(k, NULL, many, 3);
	expect_names(req, 2, ANVIL_ECSR, NULL, 0);
	X509_REQ_free(req);
	req = hand_csr(k, NULL, NULL, 0);
	expect_names(req, 10, ANVIL_ECSR, NULL, 0);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

static void
test_csr_names(void **state)
{
	static const char *const san[] = { "WWW.Example.com", "a.example.com",
	    "www.example.com", "*.Example.COM" };
	static const char *const want[] = { "www.example.com",
	    "a.example.com", "*.example.com", "b.example.com" };
	X509_REQ	*req;
	EVP_PKEY	*k = NULL;

	(void)state;
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &k), 0);
	/* Lowercased, deduplicated (the CN too), SAN order then CN. */
	req = hand_csr(k, "B.example.com", san, 4);
	assert_int_equal(anvil_csr_verify(req), 0);
	expect_names(req, 4, 0, want, 4);
	expect_names(req, 3, ANVIL_ECSR, NULL, 0);
	X509_REQ_free(req);
	req = hand_csr(k, "www.example.com", san, 4);
	expect_names(req, 3, 0, want, 3);
	X509_REQ_free(req);
	/* CN only. */
	req = hand_csr(k, "B.example.com", NULL, 0);
	expect_names(req, 1, 0, want + 3, 1);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

static void
test_csr_roundtrip(void **state)
{
	static const enum anvil_key_type types[] = { ANVIL_KEY_EC256,
	    ANVIL_KEY_EC384, ANVIL_KEY_RSA2048, ANVIL_KEY_ED25519 };
	static char long_name[80];
	const char *names[] = { "example.com", "*.example.com",
	    "www.example.com", long_name };
	X509_REQ	*req = NULL, *req2 = NULL;
	EVP_PKEY	*k = NULL;
	uint8_t		*der = NULL;
	size_t		 len = 0, i;
	char		**v = NULL;

	(void)state;
	memset(long_name, 'a', 70);
	long_name[40] = '.';
	strcpy(long_name + 70, ".example");
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		assert_int_equal(anvil_key_generate(types[i], &k), 0);
		assert_int_equal(anvil_csr_new(k, names, 4, &req), 0);
		assert_int_equal(anvil_csr_der(req, &der, &len), 0);
		assert_int_equal(anvil_csr_parse(der, len, &req2), 0);
		assert_int_equal(anvil_csr_verify(req2), 0);
		assert_int_equal(EVP_PKEY_eq(X509_REQ_get0_pubkey(req2), k),
		    1);
		assert_int_equal(anvil_csr_names(req2, 100, &v), 0);
		assert_string_equal(v[0], "example.com");
		assert_string_equal(v[1], "*.example.com");
		assert_string_equal(v[2], "www.example.com");
		assert_string_equal(v[3], long_name);
		assert_null(v[4]);
		anvil_strv_free(v);
		free(der);
		X509_REQ_free(req);
		X509_REQ_free(req2);
		EVP_PKEY_free(k);
	}
	/* A name over 64 characters first: no CN, names from the SAN. */
	names[0] = long_name;
	names[3] = "example.com";
	assert_int_equal(anvil_key_generate(ANVIL_KEY_ED25519, &k), 0);
	assert_int_equal(anvil_csr_new(k, names, 4, &req), 0);
	assert_int_equal(X509_NAME_entry_count(X509_REQ_get_subject_name(req)),
	    0);
	assert_int_equal(anvil_csr_names(req, 100, &v), 0);
	assert_string_equal(v[0], long_name);
	anvil_strv_free(v);
	X509_REQ_free(req);
	EVP_PKEY_free(k);
}

/* Adds an extension with the acmeIdentifier OID and a raw value. */
static X509 *
alpn_cert(EVP_PKEY *k, const uint8_t *val, size_t n, int crit, int twice)
{
	ASN1_OBJECT		*obj;
	ASN1_OCTET_STRING	*os;
	X509_EXTENSION		*ext;
	X509			*x;

	x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_pubkey(x, k), 1);
	obj = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	os = ASN1_OCTET_STRING_new();
	assert_int_equal(ASN1_OCTET_STRING_set(os, val, (int)n), 1);
	ext = X509_EXTENSION_create_by_OBJ(NULL, obj, crit, os);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(x, ext, -1), 1);
	if (twice)
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(obj);
	return x;
}

static void
test_tlsalpn(void **state)
{
	uint8_t		 digest[32], out[32], val[40];
	EVP_PKEY	*k = NULL;
	X509		*x = NULL;
	GENERAL_NAMES	*gens;
	const GENERAL_NAME *gen;
	int		 crit = -1, i;

	(void)state;
	for (i = 0; i < 32; i++)
		digest[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &k), 0);
	assert_int_equal(anvil_tlsalpn_cert_new(k, "*.example.com", digest,
	    &x), ANVIL_EINVAL);
	assert_int_equal(anvil_tlsalpn_cert_new(k, "Example.com", digest,
	    &x), ANVIL_EINVAL);
	assert_null(x);

	/* No extension; not critical; wrong lengths; not an OCTET STRING;
	 * trailing bytes; twice. */
	x = X509_new();
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), ANVIL_ENOENT);
	X509_free(x);
	val[0] = 0x04;
	val[1] = 32;
	memcpy(val + 2, digest, 32);
	x = alpn_cert(k, val, 34, 0, 0);
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), ANVIL_ECERT);
	X509_free(x);
	x = alpn_cert(k, digest, 32, 1, 0);
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), ANVIL_ECERT);
	X509_free(x);
	val[1] = 31;
	x = alpn_cert(k, val, 33, 1, 0);
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), ANVIL_ECERT);
	X509_free(x);
	val[1] = 32;
	val[0] = 0x0c;	/* UTF8String */
	x = alpn_cert(k, val, 34, 1, 0);
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), ANVIL_ECERT);
	X509_free(x);
	val[0] = 0x04;
	val[34] = 0;
	x = alpn_cert(k, val, 35, 1, 0);
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), ANVIL_ECERT);
	X509_free(x);
	x = alpn_cert(k, val, 34, 1, 1);
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), ANVIL_ECERT);
	X509_free(x);
	x = alpn_cert(k, val, 34, 1, 0);
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), 0);
	assert_memory_equal(out, digest, 32);
	X509_free(x);

	/* The real certificate: digest back, SAN, self-signed. */
	assert_int_equal(anvil_tlsalpn_cert_new(k, "www.example.com", digest,
	    &x), 0);
	memset(out, 0, sizeof(out));
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), 0);
	assert_memory_equal(out, digest, 32);
	assert_int_equal(X509_verify(x, k), 1);
	gens = X509_get_ext_d2i(x, NID_subject_alt_name, &crit, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
	gen = sk_GENERAL_NAME_value(gens, 0);
	assert_int_equal(gen->type, GEN_DNS);
	assert_string_equal(ASN1_STRING_get0_data(gen->d.dNSName),
	    "www.example.com");
	GENERAL_NAMES_free(gens);
	X509_free(x);
	EVP_PKEY_free(k);

	assert_int_equal(anvil_key_generate(ANVIL_KEY_ED25519, &k), 0);
	assert_int_equal(anvil_tlsalpn_cert_new(k, "example.org", digest,
	    &x), 0);
	assert_int_equal(X509_verify(x, k), 1);
	assert_int_equal(anvil_tlsalpn_cert_digest(x, out), 0);
	X509_free(x);
	EVP_PKEY_free(k);
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
	(void)state;
	return rmdir(tmpdir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_name),
		cmocka_unit_test(test_util),
		cmocka_unit_test(test_rand_time_ordered),
		cmocka_unit_test(test_rand_bytes),
		cmocka_unit_test(test_serial),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_key_names),
		cmocka_unit_test(test_key_files),
		cmocka_unit_test(test_csr_invalid),
		cmocka_unit_test(test_csr_names),
		cmocka_unit_test(test_csr_roundtrip),
		cmocka_unit_test(test_tlsalpn),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
