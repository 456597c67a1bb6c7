/*
 * test_client_store.c - unit tests for the certificate store, the renewal
 * files and the two http-01 solvers (client/certstore.c, renewal.c,
 * solver_http01.c, solver_webroot.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "agent.h"
#include "solver.h"

static char	tmpdir[] = "/tmp/test_client_store.XXXXXX";

/* Signs a certificate for key by issuer_key (self-signed when issuer is
 * NULL), with the SAN text ("DNS:a,DNS:b") or none, valid from nb to na
 * seconds from now. */
static X509 *
make_cert(EVP_PKEY *key, X509 *issuer, EVP_PKEY *issuer_key, const char *cn,
    const char *san, long nb, long na)
{
	X509		*x;
	X509V3_CTX	 ctx;
	X509_EXTENSION	*ext;

	x = X509_new();
	assert_non_null(x);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x),
	    (long)(random() & 0xffffff) + 1), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), nb));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), na));
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_int_equal(X509_NAME_add_entry_by_txt(X509_get_subject_name(x),
	    "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : X509_get_subject_name(x)), 1);
	if (san != NULL) {
		X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL,
		    NULL, 0);
		ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name,
		    san);
		assert_non_null(ext);
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	return x;
}

/* PEM of the certificates, in a new string. */
static char *
pem_of(X509 *a, X509 *b)
{
	BIO	*bio;
	BUF_MEM	*mem;
	char	*s;

	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_X509(bio, a), 1);
	if (b != NULL)
		assert_int_equal(PEM_write_bio_X509(bio, b), 1);
	BIO_get_mem_ptr(bio, &mem);
	s = strndup(mem->data, mem->length);
	BIO_free(bio);
	return s;
}

struct pki {
	EVP_PKEY	*ca_key, *ca2_key, *key, *other_key;
	X509		*ca, *ca2;
};

static struct pki	pki;

static void
pki_init(void)
{
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &pki.ca_key), 0);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &pki.ca2_key), 0);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &pki.key), 0);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &pki.other_key),
	    0);
	pki.ca = make_cert(pki.ca_key, NULL, pki.ca_key, "Test CA", NULL,
	    -3600, 86400 * 365);
	pki.ca2 = make_cert(pki.ca2_key, NULL, pki.ca2_key, "Other CA", NULL,
	    -3600, 86400 * 365);
}

static void
pki_done(void)
{
	EVP_PKEY_free(pki.ca_key);
	EVP_PKEY_free(pki.ca2_key);
	EVP_PKEY_free(pki.key);
	EVP_PKEY_free(pki.other_key);
	X509_free(pki.ca);
	X509_free(pki.ca2);
}

static const char *const names2[] = { "a.example.org", "b.example.org" };

/* Tries to store leaf (+ issuer) for names2; returns the result. */
static int
try_save(X509 *leaf, X509 *issuer, EVP_PKEY *key, struct ag_certinfo *ci)
{
	char	*pem;
	int	 rc;

	pem = pem_of(leaf, issuer);
	ag_err_clear();
	rc = ag_store_save(tmpdir, "web", pem, strlen(pem), key, names2, 2,
	    ci);
	free(pem);
	return rc;
}

static void
test_store_refuses(void **state)
{
	struct ag_certinfo	 ci;
	struct stat		 st;
	char			 p[256];
	X509			*leaf;

	(void)state;
	memset(&ci, 0, sizeof(ci));
	/* Not PEM at all. */
	ag_err_clear();
	assert_int_equal(ag_store_save(tmpdir, "web", "garbage", 7, pki.key,
	    names2, 2, &ci), ANVIL_ECERT);
	/* The certificate is for another key. */
	leaf = make_cert(pki.other_key, pki.ca, pki.ca_key, "a.example.org",
	    "DNS:a.example.org,DNS:b.example.org", -60, 86400 * 90);
	assert_int_equal(try_save(leaf, pki.ca, pki.key, &ci), ANVIL_ECERT);
	assert_string_equal(ag_errstr(),
	    "the certificate does not match its key");
	X509_free(leaf);
	/* A requested name is missing. */
	leaf = make_cert(pki.key, pki.ca, pki.ca_key, "a.example.org",
	    "DNS:a.example.org", -60, 86400 * 90);
	assert_int_equal(try_save(leaf, pki.ca, pki.key, &ci), ANVIL_ECERT);
	assert_string_equal(ag_errstr(),
	    "the certificate does not name b.example.org");
	X509_free(leaf);
	/* Signed by a CA other than the one sent along. */
	leaf = make_cert(pki.key, pki.ca2, pki.ca2_key, "a.example.org",
	    "DNS:a.example.org,DNS:b.example.org", -60, 86400 * 90);
	assert_int_equal(try_save(leaf, pki.ca, pki.key, &ci), ANVIL_ECERT);
	assert_non_null(strstr(ag_errstr(), "the chain does not verify"));
	/* No issuer at all. */
	assert_int_equal(try_save(leaf, NULL, pki.key, &ci), ANVIL_ECERT);
	assert_non_null(strstr(ag_errstr(), "no issuer"));
	X509_free(leaf);
	/* Expired. */
	leaf = make_cert(pki.key, pki.ca, pki.ca_key, "a.example.org",
	    "DNS:a.example.org,DNS:b.example.org", -86400 * 10, -86400);
	assert_int_equal(try_save(leaf, pki.ca, pki.key, &ci), ANVIL_ECERT);
	assert_string_equal(ag_errstr(), "the certificate is not valid now");
	X509_free(leaf);
	/* Nothing was written. */
	(void)snprintf(p, sizeof(p), "%s/live/web", tmpdir);
	assert_int_equal(lstat(p, &st), -1);
	(void)snprintf(p, sizeof(p), "%s/archive/web/1", tmpdir);
	assert_int_equal(lstat(p, &st), -1);
}

static void
test_store_saves_versions(void **state)
{
	struct ag_certinfo	 ci, ci2;
	struct stat		 st;
	char			 p[256], link[256], serial[41];
	X509			*leaf, *leaf2;
	EVP_PKEY		*k = NULL;
	ssize_t			 n;

	(void)state;
	leaf = make_cert(pki.key, pki.ca, pki.ca_key, "a.example.org",
	    "DNS:a.example.org,DNS:b.example.org", -60, 86400 * 90);
	assert_int_equal(try_save(leaf, pki.ca, pki.key, &ci), 0);
	assert_int_equal(anvil_cert_serial_hex(leaf, serial), 0);
	assert_string_equal(ci.serial, serial);
	assert_string_equal(ci.names[0], "a.example.org");
	assert_string_equal(ci.names[1], "b.example.org");
	assert_null(ci.names[2]);
	assert_true(ci.not_after - ci.not_before == 86400 * 90 + 60);
	/* The layout: live/web -> ../archive/web/1, key 0600. */
	(void)snprintf(p, sizeof(p), "%s/live/web", tmpdir);
	n = readlink(p, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "../archive/web/1");
	(void)snprintf(p, sizeof(p), "%s/live/web/privkey.pem", tmpdir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(anvil_key_load(p, &k), 0);
	assert_int_equal(EVP_PKEY_eq(k, pki.key), 1);
	EVP_PKEY_free(k);
	(void)snprintf(p, sizeof(p), "%s/live/web/cert.pem", tmpdir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(ag_store_info(tmpdir, "web", &ci2), 0);
	assert_string_equal(ci2.serial, serial);
	ag_certinfo_done(&ci2);
	ag_certinfo_done(&ci);

	/* A second version: live moves, the first stays in the archive. */
	leaf2 = make_cert(pki.key, pki.ca, pki.ca_key, "a.example.org",
	    "DNS:a.example.org,DNS:b.example.org", -60, 86400 * 90);
	assert_int_equal(try_save(leaf2, pki.ca, pki.key, &ci), 0);
	(void)snprintf(p, sizeof(p), "%s/live/web", tmpdir);
	n = readlink(p, link, sizeof(link) - 1);
	assert_true(n > 0);
	link[n] = '\0';
	assert_string_equal(link, "../archive/web/2");
	(void)snprintf(p, sizeof(p), "%s/archive/web/1/fullchain.pem", tmpdir);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(ag_store_info(tmpdir, "web", &ci2), 0);
	assert_string_not_equal(ci2.serial, serial);
	ag_certinfo_done(&ci2);
	ag_certinfo_done(&ci);
	X509_free(leaf);
	X509_free(leaf2);
}

static void
test_renewal(void **state)
{
	struct ag_renewal	 r, back;
	struct ag_certinfo	 ci;
	char			**list = NULL;
	char			 p[256];
	FILE			*f;

	(void)state;
	memset(&r, 0, sizeof(r));
	/* Invalid first: absent, then not JSON, then wrong shape. */
	ag_err_clear();
	assert_int_equal(ag_renewal_load(tmpdir, "none", &back), ANVIL_ENOENT);
	assert_non_null(strstr(ag_errstr(), "no such certificate name"));
	(void)snprintf(p, sizeof(p), "%s/renewal", tmpdir);
	assert_int_equal(ag_mkdirs(p, 0755), 0);
	(void)snprintf(p, sizeof(p), "%s/renewal/bad.json", tmpdir);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs("{\"names\": [\"UPPER.example\"], \"key_type\": \"ec256\"}", f);
	fclose(f);
	ag_err_clear();
	assert_int_equal(ag_renewal_load(tmpdir, "bad", &back), ANVIL_EJSON);
	assert_non_null(strstr(ag_errstr(), "not a valid renewal file"));
	assert_int_equal(unlink(p), 0);

	/* A round trip. */
	r.name = strdup("web");
	r.names = calloc(3, sizeof(char *));
	r.names[0] = strdup("a.example.org");
	r.names[1] = strdup("b.example.org");
	r.n_names = 2;
	r.key_type = ANVIL_KEY_RSA3072;
	r.solver = json_pack("{s:s, s:s}", "type", "webroot", "path", "/srv");
	r.deploy_hook = strdup("systemctl reload nginx");
	r.server = strdup("https://b/dir");
	r.servers[0] = strdup("https://a/dir");
	r.servers[1] = strdup("https://b/dir");
	r.n_servers = 2;
	r.agree_tos = 1;
	assert_int_equal(ag_renewal_save(tmpdir, &r), 0);
	assert_int_equal(ag_renewal_load(tmpdir, "web", &back), 0);
	assert_string_equal(back.names[1], "b.example.org");
	assert_int_equal(back.n_names, 2);
	assert_int_equal(back.key_type, ANVIL_KEY_RSA3072);
	assert_string_equal(anvil_json_str(back.solver, "path"), "/srv");
	assert_string_equal(back.deploy_hook, "systemctl reload nginx");
	assert_string_equal(back.server, "https://b/dir");
	assert_int_equal(back.n_servers, 2);
	assert_string_equal(back.servers[0], "https://a/dir");
	assert_null(back.ca_bundle);
	assert_null(back.revoked);
	assert_int_equal(back.agree_tos, 1);
	ag_renewal_done(&back);
	assert_int_equal(ag_renewal_list(tmpdir, &list), 0);
	assert_string_equal(list[0], "web");
	assert_null(list[1]);
	anvil_strv_free(list);
	ag_renewal_done(&r);

	/* Due at two thirds of the lifetime. */
	memset(&ci, 0, sizeof(ci));
	ci.not_before = 1000;
	ci.not_after = 1000 + 90 * 86400;
	assert_false(ag_renewal_due(&ci, 1000));
	assert_false(ag_renewal_due(&ci, 1000 + 60 * 86400 - 1));
	assert_true(ag_renewal_due(&ci, 1000 + 60 * 86400));
	assert_true(ag_renewal_due(&ci, 1000 + 100 * 86400));
	ci.not_after = ci.not_before;
	assert_true(ag_renewal_due(&ci, 0));
}

/* Sends a request to 127.0.0.1:port and returns the answer (static). */
static const char *
http_get(int port, const char *path)
{
	static char		 buf[2048];
	struct sockaddr_in	 sa;
	char			 req[512];
	size_t			 len = 0;
	ssize_t			 r;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		close(fd);
		return NULL;
	}
	(void)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n",
	    path);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (len < sizeof(buf) - 1) {
		r = read(fd, buf + len, sizeof(buf) - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	close(fd);
	return buf;
}

/* A port the kernel says is free now. */
static int
free_port(void)
{
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	int			 fd, port;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

#define TOKEN	"evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KEYAUTH	TOKEN ".9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"

static void
test_http01_responder(void **state)
{
	struct ag_solver_conf	 c;
	struct ag_solver	*s = NULL, *s2 = NULL;
	const char		*a;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.kind = AG_SOLVER_HTTP01;
	c.port = free_port();
	assert_int_equal(ag_solver_new(&c, &s), 0);
	assert_int_equal(s->ops->start(s), 0);
	/* A second responder on the same port fails at start, clearly. */
	assert_int_equal(ag_solver_new(&c, &s2), 0);
	ag_err_clear();
	assert_int_equal(s2->ops->start(s2), -EADDRINUSE);
	assert_non_null(strstr(ag_errstr(), "cannot listen on port"));
	ag_solver_free(s2);

	assert_int_equal(s->ops->add(s, "a.example.org", TOKEN, KEYAUTH), 0);
	assert_int_equal(s->ops->ready(s), 0);
	a = http_get(c.port, "/.well-known/acme-challenge/" TOKEN);
	assert_non_null(a);
	assert_int_equal(strncmp(a, "HTTP/1.1 200 ", 13), 0);
	assert_non_null(strstr(a, "\r\n\r\n" KEYAUTH));
	/* Only this order's tokens, only under the well-known path. */
	a = http_get(c.port, "/.well-known/acme-challenge/other");
	assert_int_equal(strncmp(a, "HTTP/1.1 404 ", 13), 0);
	a = http_get(c.port, "/" TOKEN);
	assert_int_equal(strncmp(a, "HTTP/1.1 404 ", 13), 0);
	a = http_get(c.port, "/.well-known/acme-challenge/" TOKEN "x");
	assert_int_equal(strncmp(a, "HTTP/1.1 404 ", 13), 0);
	s->ops->cleanup(s);
	/* Down after cleanup. */
	assert_null(http_get(c.port, "/.well-known/acme-challenge/" TOKEN));
	ag_solver_free(s);
}

/* Handshakes with 127.0.0.1:port offering alpn (or none) for sni;
 * returns the server's certificate or NULL when the handshake failed. */
static X509 *
tls_get(int port, const char *sni, int alpn)
{
	struct sockaddr_in	 sa;
	SSL_CTX			*ctx;
	SSL			*ssl;
	X509			*x = NULL;
	int			 fd;

	ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(ctx);
	if (alpn)
		assert_int_equal(SSL_CTX_set_alpn_protos(ctx,
		    (const unsigned char *)"\x0a" "acme-tls/1", 11), 0);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ssl = SSL_new(ctx);
	assert_int_equal(SSL_set_tlsext_host_name(ssl, sni), 1);
	assert_int_equal(SSL_set_fd(ssl, fd), 1);
	if (SSL_connect(ssl) == 1)
		x = SSL_get1_peer_certificate(ssl);
	SSL_free(ssl);
	SSL_CTX_free(ctx);
	close(fd);
	return x;
}

static void
test_tlsalpn01_responder(void **state)
{
	struct ag_solver_conf	 c;
	struct ag_solver	*s = NULL;
	uint8_t			 want[32], got[32];
	X509			*x;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.kind = AG_SOLVER_TLSALPN01;
	c.port = free_port();
	assert_int_equal(ag_solver_new(&c, &s), 0);
	assert_int_equal(s->ops->start(s), 0);
	assert_int_equal(s->ops->add(s, "a.example.org", TOKEN, KEYAUTH), 0);
	/* No ALPN, or another name: no handshake. */
	assert_null(tls_get(c.port, "a.example.org", 0));
	assert_null(tls_get(c.port, "b.example.org", 1));
	/* RFC 8737 §3: the digest of the key authorization. */
	x = tls_get(c.port, "a.example.org", 1);
	assert_non_null(x);
	(void)SHA256((const unsigned char *)KEYAUTH, strlen(KEYAUTH), want);
	assert_int_equal(anvil_tlsalpn_cert_digest(x, got), 0);
	assert_memory_equal(got, want, 32);
	X509_free(x);
	s->ops->cleanup(s);
	ag_solver_free(s);
}

static void
test_webroot(void **state)
{
	struct ag_solver_conf	 c;
	struct ag_solver	*s = NULL;
	struct stat		 st;
	char			 root[256], p[512];
	char			*data = NULL;
	size_t			 len;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.kind = AG_SOLVER_WEBROOT;
	(void)snprintf(root, sizeof(root), "%s/www", tmpdir);
	c.webroot = root;
	/* A web root that does not exist. */
	assert_int_equal(ag_solver_new(&c, &s), 0);
	ag_err_clear();
	assert_int_equal(s->ops->start(s), ANVIL_ENOENT);
	assert_non_null(strstr(ag_errstr(), "is not a directory"));
	ag_solver_free(s);

	assert_int_equal(mkdir(root, 0755), 0);
	assert_int_equal(ag_solver_new(&c, &s), 0);
	assert_int_equal(s->ops->start(s), 0);
	assert_int_equal(s->ops->add(s, "a.example.org", TOKEN, KEYAUTH), 0);
	(void)snprintf(p, sizeof(p), "%s/.well-known/acme-challenge/" TOKEN,
	    root);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(anvil_file_read(p, 4096, &data, &len), 0);
	assert_string_equal(data, KEYAUTH);
	free(data);
	s->ops->cleanup(s);
	/* The file and the directories anvil made are gone. */
	(void)snprintf(p, sizeof(p), "%s/.well-known", root);
	assert_int_equal(stat(p, &st), -1);
	assert_int_equal(rmdir(root), 0);
	ag_solver_free(s);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	pki_init();
	return 0;
}

static int
teardown(void **state)
{
	char	 cmd[300];

	(void)state;
	pki_done();
	/* The test's own temporary directory. */
	(void)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_refuses),
		cmocka_unit_test(test_store_saves_versions),
		cmocka_unit_test(test_renewal),
		cmocka_unit_test(test_http01_responder),
		cmocka_unit_test(test_tlsalpn01_responder),
		cmocka_unit_test(test_webroot),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
