/*
 * test_va.c - unit tests for the validation authority (server/va*.c).
 *
 * The checks run against servers this test starts on 127.0.0.1 in
 * threads: an HTTP server whose behaviour is chosen by the token in the
 * path, a TLS server per tls-alpn-01 case, and pebble-challtestsrv as the
 * DNS server for dns-01 (those cases are skipped when it is not
 * installed).  Without a resolver the name "localhost" is answered by
 * unbound itself, so no query leaves the machine.  Then the worker pool:
 * results arrive once each on the event loop, the queue is bounded, and
 * va_free() is safe with jobs in flight.
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include "anvil/anvil.h"
#include "va.h"
#include "va_internal.h"

/* A made-up account thumbprint: 43 base64url characters. */
#define THUMB	"LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ"
#define CHALLTESTSRV "/usr/bin/pebble-challtestsrv"

/* ---- helpers ---- */

static void
make_job(struct va_job *job, enum chall_type type, const char *id,
    const char *name, const char *token)
{
	memset(job, 0, sizeof(*job));
	(void)snprintf(job->chall_id, sizeof(job->chall_id), "%s", id);
	job->type = type;
	(void)snprintf(job->name, sizeof(job->name), "%s", name);
	(void)snprintf(job->token, sizeof(job->token), "%s", token);
	(void)snprintf(job->keyauth, sizeof(job->keyauth), "%s.%s", token,
	    THUMB);
}

static void
make_cfg(struct va_config *cfg, int http_port, int tls_port, int timeout_ms)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->http01_port = http_port;
	cfg->tlsalpn01_port = tls_port;
	cfg->timeout_ms = timeout_ms;
}

/* Prints the result when it is not the expected one, then asserts. */
static void
expect(const struct va_result *res, int ok, enum anvil_problem p,
    const char *needle)
{
	if (res->ok != ok || (!ok && res->problem != p) ||
	    (needle != NULL && strstr(res->detail, needle) == NULL))
		print_message("result: ok=%d problem=%s detail=%s\n", res->ok,
		    res->ok ? "-" : anvil_problem_name(res->problem),
		    res->detail);
	assert_int_equal(res->ok, ok);
	if (!ok)
		assert_int_equal(res->problem, p);
	if (needle != NULL)
		assert_non_null(strstr(res->detail, needle));
}

/* A listening TCP socket on 127.0.0.1, port chosen by the kernel. */
static int
listen_tcp(int *ret_port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 fd, one = 1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)), 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	*ret_port = ntohs(sin.sin_port);
	return fd;
}

/* A port on 127.0.0.1 that nothing listens on (TCP and UDP). */
static int
free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 t, u, port;

	for (;;) {
		t = socket(AF_INET, SOCK_STREAM, 0);
		u = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(t >= 0 && u >= 0);
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(t, (struct sockaddr *)&sin, sizeof(sin)),
		    0);
		assert_int_equal(getsockname(t, (struct sockaddr *)&sin, &len),
		    0);
		port = ntohs(sin.sin_port);
		/* The same number must be free for UDP too. */
		if (bind(u, (struct sockaddr *)&sin, sizeof(sin)) == 0) {
			(void)close(t);
			(void)close(u);
			return port;
		}
		(void)close(t);
		(void)close(u);
	}
}

/* Waits up to ms for fd to become readable; returns 1 if it did. */
static int
readable(int fd, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

/* ---- the HTTP server ---- */

struct http_srv {
	int		 fd;
	int		 port;
	pthread_t	 thread;
	atomic_int	 stop;
	pthread_mutex_t	 lock;
	int		 requests;	/* counted since the last reset */
	int		 conns;		/* connections accepted, the same */
	char		 host[256];	/* of the last request */
	char		 agent[128];
	char		 keep_body[64];	/* answer of "keep", "" for the right
					   one */
};

static struct http_srv hs = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void
send_all(int c, const char *p, size_t n)
{
	ssize_t	 w;

	while (n > 0) {
		w = send(c, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void
respond(int c, const char *status, const char *headers, const char *body,
    size_t len, int with_length)
{
	char	 head[1024];

	(void)snprintf(head, sizeof(head), "HTTP/1.1 %s\r\n%s%s", status,
	    strncmp(headers, "Connection:", 11) == 0 ? "" :
	    "Connection: close\r\n", headers);
	if (with_length)
		(void)snprintf(head + strlen(head), sizeof(head) - strlen(head),
		    "Content-Length: %zu\r\n", len);
	(void)strcat(head, "\r\n");
	send_all(c, head, strlen(head));
	send_all(c, body, len);
}

/* Copies the value of header name from req into out. */
static void
header(const char *req, const char *name, char *out, size_t outsz)
{
	const char	*p, *e;
	size_t		 n;

	out[0] = '\0';
	p = strcasestr(req, name);
	if (p == NULL)
		return;
	p += strlen(name);
	while (*p == ' ')
		p++;
	e = strstr(p, "\r\n");
	n = e == NULL ? strlen(p) : (size_t)(e - p);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

/*
 * Answers one request according to the token at the end of its path.
 * Returns 1 when the connection stays open for another request (token
 * "keep": HTTP/1.1 keep-alive), else 0.
 */
static int
serve(int c)
{
	struct timeval	 tv = { .tv_sec = 2 };
	char		 req[4096], path[512], body[256], *big = NULL;
	const char	*tok;
	size_t		 n = 0;
	ssize_t		 r;

	(void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	while (n < sizeof(req) - 1) {
		r = recv(c, req + n, sizeof(req) - 1 - n, 0);
		if (r <= 0)
			return 0;
		n += (size_t)r;
		req[n] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if (sscanf(req, "GET %511s HTTP/1.1", path) != 1)
		return 0;
	(void)pthread_mutex_lock(&hs.lock);
	hs.requests++;
	header(req, "\r\nHost:", hs.host, sizeof(hs.host));
	header(req, "\r\nUser-Agent:", hs.agent, sizeof(hs.agent));
	(void)pthread_mutex_unlock(&hs.lock);

	tok = strrchr(path, '/') + 1;
	(void)snprintf(body, sizeof(body), "%s.%s", tok, THUMB);
	if (strcmp(tok, "keep") == 0) {
		(void)pthread_mutex_lock(&hs.lock);
		if (hs.keep_body[0] != '\0')
			(void)snprintf(body, sizeof(body), "%s", hs.keep_body);
		(void)pthread_mutex_unlock(&hs.lock);
		respond(c, "200 OK", "Connection: keep-alive\r\n", body,
		    strlen(body), 1);
		return 1;
	}
	if (strncmp(path, "/final/", 7) == 0 || strcmp(tok, "ok") == 0)
		respond(c, "200 OK", "", body, strlen(body), 1);
	else if (strcmp(tok, "okcrlf") == 0) {
		(void)strcat(body, " \r\n");
		respond(c, "200 OK", "", body, strlen(body), 1);
	} else if (strcmp(tok, "wrong") == 0)
		respond(c, "200 OK", "", "not \"it\"\x01\n", 10, 1);
	else if (strcmp(tok, "big") == 0 || strcmp(tok, "bigstream") == 0) {
		n = ANVIL_MAX_HTTP01_BODY + 100;
		big = malloc(n);
		assert_non_null(big);
		memset(big, 'a', n);
		respond(c, "200 OK", "", big, n, strcmp(tok, "big") == 0);
		free(big);
	} else if (strcmp(tok, "loop") == 0)
		respond(c, "302 Found", "Location: /.well-known/"
		    "acme-challenge/loop\r\n", "", 0, 1);
	else if (strcmp(tok, "redir") == 0)
		respond(c, "301 Moved Permanently", "Location: "
		    "http://localhost/final/redir\r\n", "", 0, 1);
	else if (strcmp(tok, "port") == 0)
		respond(c, "302 Found", "Location: "
		    "http://localhost:8080/final/port\r\n", "", 0, 1);
	else if (strcmp(tok, "ftp") == 0)
		respond(c, "302 Found", "Location: "
		    "ftp://localhost/final/ftp\r\n", "", 0, 1);
	else if (strcmp(tok, "https") == 0)
		respond(c, "302 Found", "Location: "
		    "https://localhost/final/https\r\n", "", 0, 1);
	else if (strcmp(tok, "ip") == 0)
		respond(c, "302 Found", "Location: "
		    "http://127.0.0.1/final/ip\r\n", "", 0, 1);
	else if (strcmp(tok, "noloc") == 0)
		respond(c, "302 Found", "", "", 0, 1);
	else
		respond(c, "404 Not Found", "", "no such file\n", 13, 1);
	return 0;
}

static void *
http_main(void *arg)
{
	int	 c;

	(void)arg;
	while (!atomic_load(&hs.stop)) {
		if (!readable(hs.fd, 50))
			continue;
		c = accept(hs.fd, NULL, NULL);
		if (c < 0)
			continue;
		(void)pthread_mutex_lock(&hs.lock);
		hs.conns++;
		(void)pthread_mutex_unlock(&hs.lock);
		/* Terminates: each pass reads a request, and the client
		 * closing or 2 s of silence ends it. */
		while (serve(c) && !atomic_load(&hs.stop))
			continue;
		(void)shutdown(c, SHUT_WR);
		(void)close(c);
	}
	return NULL;
}

static int
http_requests_reset(void)
{
	int	 n;

	(void)pthread_mutex_lock(&hs.lock);
	n = hs.requests;
	hs.requests = 0;
	hs.conns = 0;
	(void)pthread_mutex_unlock(&hs.lock);
	return n;
}

/* Connections accepted since the last http_requests_reset(). */
static int
http_conns(void)
{
	int	 n;

	(void)pthread_mutex_lock(&hs.lock);
	n = hs.conns;
	(void)pthread_mutex_unlock(&hs.lock);
	return n;
}

static void
http_keep_body(const char *body)
{
	(void)pthread_mutex_lock(&hs.lock);
	(void)snprintf(hs.keep_body, sizeof(hs.keep_body), "%s", body);
	(void)pthread_mutex_unlock(&hs.lock);
}

/* ---- the TLS server (one connection per case) ---- */

struct tls_srv {
	int		 fd;
	int		 port;
	SSL_CTX		*ctx;
	pthread_t	 thread;
	int		 handshakes;
	char		 sni[256];
};

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char ours[] = "\x0a" "acme-tls/1";
	unsigned char	*sel = NULL;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, ours, sizeof(ours) - 1, in,
	    inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static void *
tls_main(void *arg)
{
	struct tls_srv	*ts = arg;
	struct timeval	 tv = { .tv_sec = 3 };
	SSL		*ssl;
	const char	*sni;
	char		 buf[64];
	int		 c;

	if (!readable(ts->fd, 5000))
		return NULL;
	c = accept(ts->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	(void)setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(ts->ctx);
	if (ssl != NULL && SSL_set_fd(ssl, c) == 1 && SSL_accept(ssl) == 1) {
		ts->handshakes++;
		sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
		if (sni != NULL)
			(void)snprintf(ts->sni, sizeof(ts->sni), "%s", sni);
		while (SSL_read(ssl, buf, sizeof(buf)) > 0)
			continue;
	}
	SSL_free(ssl);
	(void)close(c);
	return NULL;
}

/*
 * Runs one tls-alpn-01 check for job against a server presenting the
 * RFC 8737 certificate for cert_name with the digest of cert_keyauth,
 * selecting acme-tls/1 when alpn is set.
 */
static void
tls_case(const struct va_job *job, const char *cert_name,
    const char *cert_keyauth, int alpn, struct va_result *res,
    struct tls_srv *ts)
{
	struct va_config cfg;
	EVP_PKEY	*key = NULL;
	X509		*cert = NULL;
	uint8_t		 digest[32];

	memset(ts, 0, sizeof(*ts));
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &key), 0);
	assert_non_null(SHA256((const unsigned char *)cert_keyauth,
	    strlen(cert_keyauth), digest));
	assert_int_equal(anvil_tlsalpn_cert_new(key, cert_name, digest, &cert),
	    0);
	ts->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(ts->ctx);
	assert_int_equal(SSL_CTX_use_certificate(ts->ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(ts->ctx, key), 1);
	if (alpn)
		SSL_CTX_set_alpn_select_cb(ts->ctx, alpn_select, NULL);
	ts->fd = listen_tcp(&ts->port);
	assert_int_equal(pthread_create(&ts->thread, NULL, tls_main, ts), 0);

	make_cfg(&cfg, 0, ts->port, 5000);
	memset(res, 0, sizeof(*res));
	va_check_tlsalpn01(&cfg, job, res);

	assert_int_equal(pthread_join(ts->thread, NULL), 0);
	(void)close(ts->fd);
	SSL_CTX_free(ts->ctx);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* ---- pebble-challtestsrv ---- */

static pid_t	 cts_pid = -1;
static int	 cts_dns_port, cts_mgmt_port;

static void
cts_stop(void)
{
	if (cts_pid > 0) {
		(void)kill(cts_pid, SIGKILL);
		(void)waitpid(cts_pid, NULL, 0);
		cts_pid = -1;
	}
}

/* Returns 1 when a TCP connection to 127.0.0.1:port succeeds. */
static int
port_open(int port)
{
	struct sockaddr_in	 sin;
	int			 fd, ok;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ok = connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0;
	(void)close(fd);
	return ok;
}

/* Starts pebble-challtestsrv once; returns 0 when it is not installed. */
static int
cts_start(void)
{
	char	 dns[32], mgmt[32];
	int	 i, null;

	if (cts_pid > 0)
		return 1;
	if (access(CHALLTESTSRV, X_OK) != 0)
		return 0;
	cts_dns_port = free_port();
	cts_mgmt_port = free_port();
	(void)snprintf(dns, sizeof(dns), "127.0.0.1:%d", cts_dns_port);
	(void)snprintf(mgmt, sizeof(mgmt), "127.0.0.1:%d", cts_mgmt_port);
	cts_pid = fork();
	assert_true(cts_pid >= 0);
	if (cts_pid == 0) {
		/* Dies with the test, whatever way the test ends. */
		(void)prctl(PR_SET_PDEATHSIG, SIGKILL);
		null = open("/dev/null", O_RDWR);
		if (null >= 0) {
			(void)dup2(null, 1);
			(void)dup2(null, 2);
		}
		execl(CHALLTESTSRV, CHALLTESTSRV, "-dns01", dns, "-http01", "",
		    "-https01", "", "-tlsalpn01", "", "-management", mgmt,
		    "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		    (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 100; i++) {
		if (port_open(cts_mgmt_port) && port_open(cts_dns_port))
			return 1;
		(void)usleep(50000);
	}
	fail_msg("pebble-challtestsrv did not start");
	return 0;
}

/*
 * Adds a TXT record through the management API.  On a loaded machine the
 * freshly started server may not answer yet: up to 20 tries, 250 ms
 * apart; the handle is freed before any assertion can jump out.
 */
static void
cts_set_txt(const char *host, const char *value)
{
	CURL		*h;
	char		 url[64], body[512];
	long		 status = 0;
	CURLcode	 cc = CURLE_OK;
	int		 i;

	(void)snprintf(url, sizeof(url), "http://127.0.0.1:%d/set-txt",
	    cts_mgmt_port);
	(void)snprintf(body, sizeof(body), "{\"host\":\"%s\",\"value\":\"%s\"}",
	    host, value);
	for (i = 0; i < 20; i++) {
		if (i > 0)
			(void)usleep(250 * 1000);
		status = 0;
		h = curl_easy_init();
		if (h == NULL)
			continue;
		cc = curl_easy_setopt(h, CURLOPT_URL, url);
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(h, CURLOPT_PROXY, "");
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		if (cc == CURLE_OK)
			cc = curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
		if (cc == CURLE_OK)
			cc = curl_easy_perform(h);
		if (cc == CURLE_OK)
			cc = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE,
			    &status);
		curl_easy_cleanup(h);
		if (cc == CURLE_OK && status == 200)
			return;
	}
	fail_msg("set-txt %s: curl %d, HTTP %ld after 20 tries", host,
	    (int)cc, status);
}

/* The dns-01 value for keyauth. */
static void
txt_value(const char *keyauth, char out[64])
{
	uint8_t	 d[32];

	assert_non_null(SHA256((const unsigned char *)keyauth,
	    strlen(keyauth), d));
	out[anvil_b64url_encode_to(out, d, sizeof(d))] = '\0';
}

/* ---- invalid input ---- */

static void
test_resolver_spec(void **state)
{
	static const char *const bad[] = {
		"", "localhost", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:",
		"1.2.3.4:53x", "1.2.3.4:-1", "[::1", "[::1]x", "[1.2.3.4]:53",
		"1.2.3", "::g", "[::1]:", "1.2.3.4:53:53",
	};
	char	 out[64];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(va__resolver_spec(bad[i], out, sizeof(out)),
		    ANVIL_EINVAL);
	assert_int_equal(va__resolver_spec(NULL, out, sizeof(out)),
	    ANVIL_EINVAL);
	assert_int_equal(va__resolver_spec("127.0.0.1:5353", out, 8),
	    ANVIL_EINVAL);

	assert_int_equal(va__resolver_spec("127.0.0.1", out, sizeof(out)), 0);
	assert_string_equal(out, "127.0.0.1@53");
	assert_int_equal(va__resolver_spec("127.0.0.1:5353", out, sizeof(out)),
	    0);
	assert_string_equal(out, "127.0.0.1@5353");
	assert_int_equal(va__resolver_spec("[::1]:8053", out, sizeof(out)), 0);
	assert_string_equal(out, "::1@8053");
	assert_int_equal(va__resolver_spec("[2001:db8::1]", out, sizeof(out)),
	    0);
	assert_string_equal(out, "2001:db8::1@53");
	assert_int_equal(va__resolver_spec("::1", out, sizeof(out)), 0);
	assert_string_equal(out, "::1@53");
}

static void
test_quote(void **state)
{
	char	 out[20], big[100];

	(void)state;
	assert_string_equal(va__quote(out, sizeof(out), "a\"b\\c\x01\xff", 7),
	    "\"a\\\"b\\\\c\\x01\\xff\"");
	assert_string_equal(va__quote(out, sizeof(out), NULL, 0), "\"\"");
	memset(big, 'a', sizeof(big));
	(void)va__quote(out, sizeof(out), big, sizeof(big));
	assert_true(strlen(out) < sizeof(out));
	assert_int_equal(out[0], '"');
	assert_non_null(strstr(out, "a\"..."));
	/* An escape is never cut in half. */
	memset(big, 0x01, sizeof(big));
	(void)va__quote(out, sizeof(out), big, sizeof(big));
	assert_non_null(strstr(out, "\\x01\"..."));
	assert_string_equal(va__quote(out, 4, "abc", 3), "");
}

/* A DNS message under construction, for the answer reader's tests. */
struct msg {
	unsigned char	 b[512];
	size_t		 n;
};

static void
put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->n + n <= sizeof(m->b));
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

/* Appends one record: owner (wire form, ownerlen bytes), type, class,
 * rdata. */
static void
put_rr(struct msg *m, const char *owner, size_t ownerlen, int type,
    int class, const void *rd, size_t rdlen)
{
	unsigned char	 f[10] = { 0 };

	put(m, owner, ownerlen);
	f[0] = (unsigned char)(type >> 8);
	f[1] = (unsigned char)type;
	f[2] = (unsigned char)(class >> 8);
	f[3] = (unsigned char)class;
	f[8] = (unsigned char)(rdlen >> 8);
	f[9] = (unsigned char)rdlen;
	put(m, f, sizeof(f));
	put(m, rd, rdlen);
}

/* Header (id, flags with rcode, 1 question, ancount answers) and the
 * question "a.example." of type qtype, at offset 12. */
static void
put_head(struct msg *m, int rcode, int ancount, int qtype)
{
	unsigned char	 h[12] = { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0,
	    0, 0 };
	unsigned char	 q[4] = { 0, 0, 0, 1 };

	m->n = 0;
	h[3] = (unsigned char)(0x80 | rcode);
	h[7] = (unsigned char)ancount;
	put(m, h, sizeof(h));
	put(m, "\x01" "a" "\x07" "example" "\x00", 11);
	q[1] = (unsigned char)qtype;
	put(m, q, sizeof(q));
}

/* Reads every record a yields into out (4 bytes each, at most max);
 * returns how many. */
static size_t
read_all(const struct va_answer *a, unsigned char *out, size_t max)
{
	struct va_rr_iter	 it;
	const unsigned char	*rd;
	size_t			 rdlen, n = 0;

	va__answer_begin(a, &it);
	while (va__answer_next(a, &it, &rd, &rdlen)) {
		assert_int_equal(rdlen, 4);
		assert_true(n < max);
		memcpy(out + 4 * n++, rd, 4);
	}
	return n;
}

/* The DNS answer reader (va__answer_take, va__answer_next). */
static void
test_answer(void **state)
{
	struct va_answer a;
	struct msg	 m;
	unsigned char	 got[4 * 8];
	const unsigned char *rd;
	struct va_rr_iter it;
	size_t		 rdlen;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.qtype = 1;

	/* a.example CNAME b.example; an A of another name, of b in class
	 * CH, and of B.example (case differs) which is the one. */
	put_head(&m, 0, 4, 1);
	put_rr(&m, "\xc0\x0c", 2, 5, 1, "\x01" "b" "\xc0\x0e", 4);
	put_rr(&m, "\x01" "c" "\xc0\x0e", 4, 1, 1, "\x05\x06\x07\x08", 4);
	put_rr(&m, "\x01" "b" "\xc0\x0e", 4, 1, 3, "\x09\x09\x09\x09", 4);
	put_rr(&m, "\x01" "B" "\xc0\x0e", 4, 1, 1, "\x01\x02\x03\x04", 4);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(a.rcode, 0);
	assert_int_equal(read_all(&a, got, 8), 1);
	assert_memory_equal(got, "\x01\x02\x03\x04", 4);
	va__answer_clear(&a);
	assert_int_equal(a.qtype, 1);
	assert_null(a.pkt);

	/* Without the CNAME, b's address is not a's. */
	put_head(&m, 0, 2, 1);
	put_rr(&m, "\x01" "b" "\xc0\x0e", 4, 1, 1, "\x01\x02\x03\x04", 4);
	put_rr(&m, "\xc0\x0c", 2, 1, 1, "\x0a\x00\x00\x01", 4);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(read_all(&a, got, 8), 1);
	assert_memory_equal(got, "\x0a\x00\x00\x01", 4);
	va__answer_clear(&a);

	/* An owner whose pointer points at itself cannot be read, so
	 * where its record ends is unknown: it ends the reading, and the
	 * records before it stay. */
	put_head(&m, 0, 3, 1);
	put_rr(&m, "\xc0\x0c", 2, 1, 1, "\x01\x02\x03\x04", 4);
	put_rr(&m, "\xc0\x2b", 2, 1, 1, "\x05\x06\x07\x08", 4);
	put_rr(&m, "\xc0\x0c", 2, 1, 1, "\x09\x09\x09\x09", 4);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(read_all(&a, got, 8), 1);
	assert_memory_equal(got, "\x01\x02\x03\x04", 4);
	va__answer_clear(&a);

	/* A loop through two pointers: the same. */
	put_head(&m, 0, 1, 1);
	put_rr(&m, "\x01" "x" "\xc0\x1f", 4, 1, 1, "\x05\x06\x07\x08", 4);
	m.b[0x1f] = 0xc0;
	m.b[0x20] = 0x1b;
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(read_all(&a, got, 8), 0);
	va__answer_clear(&a);

	/* An rdata of the wrong length is handed over as it is (the
	 * caller checks it), and the record after it is read from where
	 * its length says. */
	put_head(&m, 0, 2, 1);
	put_rr(&m, "\xc0\x0c", 2, 1, 1, "\x01\x02\x03\x04\xc0", 5);
	put_rr(&m, "\xc0\x0c", 2, 1, 1, "\x05\x06\x07\x08", 4);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	va__answer_begin(&a, &it);
	assert_int_equal(va__answer_next(&a, &it, &rd, &rdlen), 1);
	assert_int_equal(rdlen, 5);
	assert_int_equal(va__answer_next(&a, &it, &rd, &rdlen), 1);
	assert_int_equal(rdlen, 4);
	assert_memory_equal(rd, "\x05\x06\x07\x08", 4);
	assert_int_equal(va__answer_next(&a, &it, &rd, &rdlen), 0);
	va__answer_clear(&a);

	/* A CNAME target must fill its rdata exactly: a byte left over,
	 * or a pointer past the rdata, ends the reading. */
	put_head(&m, 0, 2, 1);
	put_rr(&m, "\xc0\x0c", 2, 5, 1, "\x01" "b" "\xc0\x0e" "\x00", 5);
	put_rr(&m, "\x01" "b" "\xc0\x0e", 4, 1, 1, "\x01\x02\x03\x04", 4);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(read_all(&a, got, 8), 0);
	va__answer_clear(&a);
	put_head(&m, 0, 2, 1);
	put_rr(&m, "\xc0\x0c", 2, 5, 1, "\xc0\x2b", 2);
	put_rr(&m, "\x01" "b" "\xc0\x0e", 4, 1, 1, "\x01\x02\x03\x04", 4);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(read_all(&a, got, 8), 0);
	va__answer_clear(&a);

	/* A CNAME of another name is not followed, even a malformed one. */
	put_head(&m, 0, 2, 1);
	put_rr(&m, "\x01" "c" "\xc0\x0e", 4, 5, 1, "\x05" "b", 2);
	put_rr(&m, "\xc0\x0c", 2, 1, 1, "\x01\x02\x03\x04", 4);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(read_all(&a, got, 8), 1);
	assert_memory_equal(got, "\x01\x02\x03\x04", 4);
	va__answer_clear(&a);

	/* A CNAME target running out of its rdata ends the reading. */
	put_head(&m, 0, 2, 1);
	put_rr(&m, "\xc0\x0c", 2, 5, 1, "\x05" "b", 2);
	put_rr(&m, "\xc0\x0c", 2, 1, 1, "\x01\x02\x03\x04", 4);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(read_all(&a, got, 8), 0);
	va__answer_clear(&a);

	/* An rdata longer than the message: nothing. */
	put_head(&m, 0, 1, 1);
	put_rr(&m, "\xc0\x0c", 2, 1, 1, "\x01\x02\x03\x04", 4);
	m.b[m.n - 5] = 5;
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	va__answer_begin(&a, &it);
	assert_int_equal(va__answer_next(&a, &it, &rd, &rdlen), 0);
	va__answer_clear(&a);

	/* More answers announced than there are: those present count. */
	put_head(&m, 0, 9, 1);
	put_rr(&m, "\xc0\x0c", 2, 1, 1, "\x01\x02\x03\x04", 4);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(read_all(&a, got, 8), 1);
	va__answer_clear(&a);

	/* NXDOMAIN: the rcode, no record. */
	put_head(&m, 3, 0, 1);
	assert_int_equal(va__answer_take(&a, m.b, m.n), 0);
	assert_int_equal(a.rcode, 3);
	assert_int_equal(read_all(&a, got, 8), 0);
	va__answer_clear(&a);

	/* Refused: shorter than a header, not one question, a question of
	 * another type, a question cut short. */
	put_head(&m, 0, 0, 1);
	assert_int_equal(va__answer_take(&a, m.b, 11), ANVIL_EINVAL);
	assert_int_equal(va__answer_take(&a, m.b, m.n - 1), ANVIL_EINVAL);
	assert_int_equal(va__answer_take(&a, m.b, 20), ANVIL_EINVAL);
	m.b[5] = 2;
	assert_int_equal(va__answer_take(&a, m.b, m.n), ANVIL_EINVAL);
	put_head(&m, 0, 0, 28);
	assert_int_equal(va__answer_take(&a, m.b, m.n), ANVIL_EINVAL);
	assert_null(a.pkt);
	/* An empty answer reads as no record. */
	assert_int_equal(read_all(&a, got, 8), 0);
}

static void
on_done_unused(const struct va_result *res, void *arg)
{
	(void)res;
	(void)arg;
	fail_msg("no result expected");
}

static void
test_new_invalid(void **state)
{
	struct event_base *base;
	struct va_config cfg;
	struct va	*va = NULL;
	struct va_job	 job;

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	make_cfg(&cfg, 0, 0, 0);
	assert_int_equal(va_new(NULL, &cfg, on_done_unused, NULL, &va),
	    ANVIL_EINVAL);
	assert_int_equal(va_new(base, NULL, on_done_unused, NULL, &va),
	    ANVIL_EINVAL);
	assert_int_equal(va_new(base, &cfg, NULL, NULL, &va), ANVIL_EINVAL);
	cfg.threads = -1;
	assert_int_equal(va_new(base, &cfg, on_done_unused, NULL, &va),
	    ANVIL_EINVAL);
	cfg.threads = VA_MAX_THREADS + 1;
	assert_int_equal(va_new(base, &cfg, on_done_unused, NULL, &va),
	    ANVIL_EINVAL);
	make_cfg(&cfg, 70000, 0, 0);
	assert_int_equal(va_new(base, &cfg, on_done_unused, NULL, &va),
	    ANVIL_EINVAL);
	make_cfg(&cfg, 0, -1, 0);
	assert_int_equal(va_new(base, &cfg, on_done_unused, NULL, &va),
	    ANVIL_EINVAL);
	make_cfg(&cfg, 0, 0, -5);
	assert_int_equal(va_new(base, &cfg, on_done_unused, NULL, &va),
	    ANVIL_EINVAL);
	make_cfg(&cfg, 0, 0, 0);
	cfg.resolver = "dns.example.org";
	assert_int_equal(va_new(base, &cfg, on_done_unused, NULL, &va),
	    ANVIL_EINVAL);
	assert_null(va);

	/* A valid one, and submissions it refuses. */
	make_cfg(&cfg, 0, 0, 0);
	cfg.threads = 1;
	assert_int_equal(va_new(base, &cfg, on_done_unused, NULL, &va), 0);
	assert_non_null(va);
	make_job(&job, CHALL_TYPE__MAX, "id", "localhost", "tok");
	assert_int_equal(va_submit(va, &job), ANVIL_EINVAL);
	assert_int_equal(va_submit(va, NULL), ANVIL_EINVAL);
	assert_int_equal(va_submit(NULL, &job), ANVIL_EINVAL);
	va_free(va);
	va_free(NULL);
	event_base_free(base);
}

static void
test_job_invalid(void **state)
{
	struct va_config cfg;
	struct va_job	 job;
	struct va_result res;

	(void)state;
	make_cfg(&cfg, hs.port, 0, 2000);

	make_job(&job, CHALL_HTTP01, "id", "localhost", "../../etc");
	va_check_http01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_MALFORMED, NULL);

	make_job(&job, CHALL_HTTP01, "id", "localhost", "ok");
	(void)snprintf(job.keyauth, sizeof(job.keyauth), "other.%s", THUMB);
	va_check_http01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_MALFORMED, NULL);

	make_job(&job, CHALL_HTTP01, "id", "localhost", "ok");
	(void)snprintf(job.keyauth, sizeof(job.keyauth), "ok.");
	va_check_http01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_MALFORMED, NULL);

	make_job(&job, CHALL_DNS01, "id", "", "ok");
	va_check_dns01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_MALFORMED, NULL);

	make_job(&job, CHALL_DNS01, "id", "a b.example", "ok");
	va_check_dns01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_MALFORMED, NULL);

	make_job(&job, CHALL_TLSALPN01, "id", "localhost/x", "ok");
	va_check_tlsalpn01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_MALFORMED, NULL);

	/* A name that fills the array without a NUL. */
	make_job(&job, CHALL_HTTP01, "id", "localhost", "ok");
	memset(job.name, 'a', sizeof(job.name));
	va_check_http01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_MALFORMED, NULL);

	/* A configuration the checks refuse to run with. */
	make_job(&job, CHALL_HTTP01, "id", "localhost", "ok");
	cfg.resolver = "not-an-address";
	va_check_http01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_SERVER_INTERNAL, NULL);
}

/* ---- http-01 ---- */

static void
http_check(const char *token, int timeout_ms, struct va_result *res)
{
	struct va_config cfg;
	struct va_job	 job;

	make_cfg(&cfg, hs.port, 0, timeout_ms);
	make_job(&job, CHALL_HTTP01, "id", "localhost", token);
	memset(res, 0, sizeof(*res));
	(void)http_requests_reset();
	va_check_http01(&cfg, &job, res);
}

static void
test_http01_pass(void **state)
{
	struct va_result res;

	(void)state;
	http_check("ok", 5000, &res);
	expect(&res, 1, 0, NULL);
	assert_int_equal(http_requests_reset(), 1);
	assert_string_equal(hs.host, "localhost");
	assert_string_equal(hs.agent, "anvil-ca validator");

	/* §8.3: trailing whitespace is ignored. */
	http_check("okcrlf", 5000, &res);
	expect(&res, 1, 0, NULL);

	/* A redirect to http://localhost/ (port 80 implied) goes to the
	 * configured http-01 port. */
	http_check("redir", 5000, &res);
	expect(&res, 1, 0, NULL);
	assert_int_equal(http_requests_reset(), 2);
}

static void
test_http01_wrong(void **state)
{
	struct va_result res;

	(void)state;
	http_check("wrong", 5000, &res);
	expect(&res, 0, ANVIL_PROB_INCORRECT_RESPONSE,
	    "received \"not \\\"it\\\"\\x01\"");
	assert_non_null(strstr(res.detail,
	    "\"http://localhost/.well-known/acme-challenge/wrong\""));

	http_check("notfound", 5000, &res);
	expect(&res, 0, ANVIL_PROB_UNAUTHORIZED, "HTTP 404");
}

static void
test_http01_too_large(void **state)
{
	struct va_result res;

	(void)state;
	/* Announced by Content-Length. */
	http_check("big", 5000, &res);
	expect(&res, 0, ANVIL_PROB_INCORRECT_RESPONSE, "larger than 8192");
	/* Streamed until the connection closes. */
	http_check("bigstream", 5000, &res);
	expect(&res, 0, ANVIL_PROB_INCORRECT_RESPONSE, "larger than 8192");
}

static void
test_http01_redirects(void **state)
{
	struct va_result res;

	(void)state;
	http_check("loop", 5000, &res);
	expect(&res, 0, ANVIL_PROB_UNAUTHORIZED, "too many redirects");
	assert_int_equal(http_requests_reset(), ANVIL_MAX_REDIRECTS + 1);

	http_check("port", 5000, &res);
	expect(&res, 0, ANVIL_PROB_UNAUTHORIZED, "only ports 80 and 443");
	assert_non_null(strstr(res.detail, "localhost:8080"));
	assert_int_equal(http_requests_reset(), 1);

	http_check("ftp", 5000, &res);
	expect(&res, 0, ANVIL_PROB_UNAUTHORIZED, "only http and https");
	assert_int_equal(http_requests_reset(), 1);

	/* https: goes to port 443 whatever the http-01 port is. */
	http_check("https", 3000, &res);
	assert_int_equal(res.ok, 0);
	assert_int_equal(http_requests_reset(), 1);
	if (res.problem == ANVIL_PROB_CONNECTION)
		assert_non_null(strstr(res.detail, "port 443"));

	http_check("ip", 5000, &res);
	expect(&res, 0, ANVIL_PROB_UNAUTHORIZED, "must be a DNS name");
	assert_int_equal(http_requests_reset(), 1);
}

static void
test_http01_connection(void **state)
{
	struct va_config cfg;
	struct va_job	 job;
	struct va_result res;
	int64_t		 t0;
	int		 silent, port;

	(void)state;
	/* Nothing listens: refused on ::1 and on 127.0.0.1. */
	make_cfg(&cfg, free_port(), 0, 5000);
	make_job(&job, CHALL_HTTP01, "id", "localhost", "ok");
	va_check_http01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_CONNECTION, NULL);

	/* Listens but never answers: ends at the timeout. */
	silent = listen_tcp(&port);
	make_cfg(&cfg, port, 0, 400);
	t0 = va__now_ms();
	va_check_http01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_CONNECTION, "timeout waiting for the "
	    "answer");
	assert_true(va__now_ms() - t0 < 2000);
	(void)close(silent);
}

/* Counts the checks of a loop that ended: arg is the counter. */
static void
count_end(struct va_check *c, void *arg)
{
	(void)c;
	(*(int *)arg)++;
}

/* Starts an http-01 check of token on loop, with cfg, into c. */
static void
loop_start(struct va_loop *loop, const struct va_config *cfg,
    const char *token, struct va_check *c, int *ended)
{
	memset(c, 0, sizeof(*c));
	make_job(&c->job, CHALL_HTTP01, "id", "localhost", token);
	loop->cfg = cfg;
	loop->end = count_end;
	loop->arg = ended;
	c->loop = loop;
	c->deadline = va__now_ms() + cfg->timeout_ms;
	va__http01(c);
}

/* Runs an http-01 check on loop until it ends, as a worker does. */
static void
ctx_check(const struct va_config *cfg, struct va_loop *loop,
    const char *token, struct va_result *res)
{
	struct va_check	 c;
	int		 ended = 0;

	loop_start(loop, cfg, token, &c, &ended);
	while (!ended)
		assert_int_equal(event_base_loop(loop->base, EVLOOP_ONCE), 0);
	*res = c.res;
}

/*
 * One context for many checks, as a worker thread keeps it: each check
 * makes its own connection and sees the answer of the moment, and no
 * status, header, body or address of a check reaches the next.
 */
static void
test_http01_reuse(void **state)
{
	struct va_config in, cfg, tcfg;
	struct va_loop	 l, *vc = &l;
	struct event_base *base;
	struct va_result res;
	int64_t		 t0;
	int		 silent, sport;

	(void)state;
	make_cfg(&in, hs.port, 0, 5000);
	assert_int_equal(va__config(&in, &cfg), 0);
	assert_non_null(base = event_base_new());
	assert_int_equal(va__loop_init(vc, base, &cfg), 0);

	/* The server offers to keep the connection open.  The second check
	 * must connect again (the server, waiting on the first connection
	 * for 2 s, would otherwise delay it) and see the new body. */
	http_keep_body("");
	(void)http_requests_reset();
	ctx_check(&cfg, vc, "keep", &res);
	expect(&res, 1, 0, NULL);
	http_keep_body("stale");
	t0 = va__now_ms();
	ctx_check(&cfg, vc, "keep", &res);
	expect(&res, 0, ANVIL_PROB_INCORRECT_RESPONSE, "received \"stale\"");
	assert_true(va__now_ms() - t0 < 1500);
	assert_int_equal(http_conns(), 2);
	assert_int_equal(http_requests_reset(), 2);
	http_keep_body("");

	/* A redirect with a Location, then one without. */
	ctx_check(&cfg, vc, "redir", &res);
	expect(&res, 1, 0, NULL);
	ctx_check(&cfg, vc, "noloc", &res);
	expect(&res, 0, ANVIL_PROB_UNAUTHORIZED, "without a Location");
	(void)http_requests_reset();

	/* The redirect limit, on a handle used before, twice. */
	ctx_check(&cfg, vc, "loop", &res);
	expect(&res, 0, ANVIL_PROB_UNAUTHORIZED, "too many redirects");
	assert_int_equal(http_conns(), ANVIL_MAX_REDIRECTS + 1);
	assert_int_equal(http_requests_reset(), ANVIL_MAX_REDIRECTS + 1);
	ctx_check(&cfg, vc, "loop", &res);
	expect(&res, 0, ANVIL_PROB_UNAUTHORIZED, "too many redirects");
	assert_int_equal(http_requests_reset(), ANVIL_MAX_REDIRECTS + 1);

	/* Body too large, then right; wrong, then right. */
	ctx_check(&cfg, vc, "big", &res);
	expect(&res, 0, ANVIL_PROB_INCORRECT_RESPONSE, "larger than 8192");
	ctx_check(&cfg, vc, "ok", &res);
	expect(&res, 1, 0, NULL);
	ctx_check(&cfg, vc, "wrong", &res);
	expect(&res, 0, ANVIL_PROB_INCORRECT_RESPONSE, "received");
	ctx_check(&cfg, vc, "okcrlf", &res);
	expect(&res, 1, 0, NULL);
	(void)http_requests_reset();

	/* A listener that never answers: the transfer ends at the
	 * deadline, and the handle (and the multi handle that runs it) is
	 * left ready for the next check, which passes. */
	silent = listen_tcp(&sport);
	make_cfg(&in, sport, 0, 300);
	assert_int_equal(va__config(&in, &tcfg), 0);
	t0 = va__now_ms();
	ctx_check(&tcfg, vc, "ok", &res);
	expect(&res, 0, ANVIL_PROB_CONNECTION, "timeout waiting for the "
	    "answer");
	assert_true(va__now_ms() - t0 < 1500);
	(void)close(silent);
	ctx_check(&cfg, vc, "ok", &res);
	expect(&res, 1, 0, NULL);
	assert_int_equal(http_requests_reset(), 1);

	/* Another port, where nothing listens: neither the last address
	 * pinned nor a kept connection answers for it. */
	make_cfg(&in, free_port(), 0, 5000);
	assert_int_equal(va__config(&in, &cfg), 0);
	ctx_check(&cfg, vc, "ok", &res);
	expect(&res, 0, ANVIL_PROB_CONNECTION, NULL);
	assert_int_equal(http_requests_reset(), 0);

	va__loop_done(vc);
	va__loop_done(vc);	/* empty: nothing to do */
	event_base_free(base);
}

/*
 * Many checks in flight on one loop: a check waiting on a silent peer
 * holds up none of the others, which all end, right, long before it.
 */
static void
test_loop_many(void **state)
{
	struct va_config in, cfg, tcfg;
	struct va_loop	 loop;
	struct event_base *base;
	struct va_check	 slow, c[12];
	int64_t		 t0;
	size_t		 i;
	int		 ended = 0, silent, sport;

	(void)state;
	make_cfg(&in, hs.port, 0, 5000);
	assert_int_equal(va__config(&in, &cfg), 0);
	silent = listen_tcp(&sport);
	make_cfg(&in, sport, 0, 1500);
	assert_int_equal(va__config(&in, &tcfg), 0);
	assert_non_null(base = event_base_new());
	assert_int_equal(va__loop_init(&loop, base, &cfg), 0);

	t0 = va__now_ms();
	/* The slow check reads its port when it starts. */
	loop_start(&loop, &tcfg, "ok", &slow, &ended);
	for (i = 0; i < 12; i++)
		loop_start(&loop, &cfg, i % 3 == 2 ? "wrong" : "ok", &c[i],
		    &ended);
	(void)http_requests_reset();
	while (ended < 12)
		assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	assert_true(va__now_ms() - t0 < 1000);
	for (i = 0; i < 12; i++) {
		if (i % 3 == 2)
			expect(&c[i].res, 0, ANVIL_PROB_INCORRECT_RESPONSE,
			    "received");
		else
			expect(&c[i].res, 1, 0, NULL);
	}
	assert_int_equal(http_requests_reset(), 12);
	while (ended < 13)
		assert_int_equal(event_base_loop(base, EVLOOP_ONCE), 0);
	expect(&slow.res, 0, ANVIL_PROB_CONNECTION, "timeout waiting for the "
	    "answer");
	assert_true(va__now_ms() - t0 >= 1400);
	(void)close(silent);
	va__loop_done(&loop);
	event_base_free(base);
}

/* ---- tls-alpn-01 ---- */

static void
test_tlsalpn01(void **state)
{
	struct tls_srv	 ts;
	struct va_job	 job;
	struct va_result res;

	(void)state;
	/* Unbound answers 127.0.0.1 for any name under localhost. */
	make_job(&job, CHALL_TLSALPN01, "id", "tls.localhost", "tlstok");

	tls_case(&job, "tls.localhost", job.keyauth, 1, &res, &ts);
	expect(&res, 1, 0, NULL);
	assert_string_equal(ts.sni, "tls.localhost");

	/* The same, the name differing in case only. */
	make_job(&job, CHALL_TLSALPN01, "id", "TLS.localhost", "tlstok");
	tls_case(&job, "tls.localhost", job.keyauth, 1, &res, &ts);
	expect(&res, 1, 0, NULL);
	make_job(&job, CHALL_TLSALPN01, "id", "tls.localhost", "tlstok");

	/* The digest of another key authorization. */
	tls_case(&job, "tls.localhost", "tlstok.other", 1, &res, &ts);
	expect(&res, 0, ANVIL_PROB_INCORRECT_RESPONSE,
	    "does not match this challenge");

	/* A certificate for another name. */
	tls_case(&job, "other.localhost", job.keyauth, 1, &res, &ts);
	expect(&res, 0, ANVIL_PROB_INCORRECT_RESPONSE, "subjectAltName");

	/* A server that does not speak acme-tls/1. */
	tls_case(&job, "tls.localhost", job.keyauth, 0, &res, &ts);
	expect(&res, 0, ANVIL_PROB_TLS, "acme-tls/1");
}

/* A peer that accepts one connection, reads what comes when told to,
 * then holds the connection for hold_ms before closing it. */
struct peer {
	int		 fd;		/* listening */
	int		 read_first;
	int		 hold_ms;
	pthread_t	 thread;
};

static void *
peer_main(void *arg)
{
	struct peer	*p = arg;
	struct pollfd	 pfd;
	char		 buf[1024];
	ssize_t		 n = 0;
	int		 c;

	c = accept(p->fd, NULL, NULL);
	if (c < 0)
		return NULL;
	if (p->read_first) {
		pfd.fd = c;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 2000) == 1)
			n = read(c, buf, sizeof(buf));
	}
	(void)n;
	if (p->hold_ms > 0)
		(void)poll(NULL, 0, p->hold_ms);
	(void)close(c);
	return NULL;
}

/* Starts p on a listener of its own; returns its port. */
static int
peer_start(struct peer *p, int read_first, int hold_ms)
{
	int	 port;

	p->fd = listen_tcp(&port);
	p->read_first = read_first;
	p->hold_ms = hold_ms;
	assert_int_equal(pthread_create(&p->thread, NULL, peer_main, p), 0);
	return port;
}

static void
peer_stop(struct peer *p)
{
	assert_int_equal(pthread_join(p->thread, NULL), 0);
	(void)close(p->fd);
}

static void
test_tlsalpn01_connection(void **state)
{
	struct va_config cfg;
	struct va_job	 job;
	struct va_result res;
	struct peer	 p;
	int64_t		 t0;
	int		 silent, port;

	(void)state;
	make_job(&job, CHALL_TLSALPN01, "id", "localhost", "tlstok");
	make_cfg(&cfg, 0, free_port(), 3000);
	va_check_tlsalpn01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_CONNECTION, "refused");

	/* Accepts TCP but never answers the ClientHello: the check ends
	 * at its deadline. */
	silent = listen_tcp(&port);
	make_cfg(&cfg, 0, port, 400);
	t0 = va__now_ms();
	va_check_tlsalpn01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_CONNECTION, "Timeout during the TLS "
	    "handshake");
	assert_true(va__now_ms() - t0 < 1000);
	(void)close(silent);

	/* Reads the ClientHello, then stalls for longer than the check
	 * may take. */
	make_cfg(&cfg, 0, peer_start(&p, 1, 1500), 400);
	t0 = va__now_ms();
	va_check_tlsalpn01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_CONNECTION, "Timeout during the TLS "
	    "handshake");
	assert_true(va__now_ms() - t0 < 1000);
	peer_stop(&p);

	/* Accepts and closes at once. */
	make_cfg(&cfg, 0, peer_start(&p, 0, 0), 3000);
	va_check_tlsalpn01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_TLS, "TLS handshake with");
	peer_stop(&p);
}

/* ---- dns-01, and names through a configured resolver ---- */

static void
test_dns01(void **state)
{
	struct va_config cfg;
	struct va_job	 job;
	struct va_result res;
	char		 resolver[32], value[64];

	(void)state;
	if (!cts_start())
		skip();
	(void)snprintf(resolver, sizeof(resolver), "127.0.0.1:%d",
	    cts_dns_port);
	make_cfg(&cfg, hs.port, 0, 5000);
	cfg.resolver = resolver;

	/* A wrong record and the right one: passes. */
	make_job(&job, CHALL_DNS01, "id", "x.example.test", "dnstok");
	txt_value(job.keyauth, value);
	cts_set_txt("_acme-challenge.x.example.test.", "wrongvalue");
	cts_set_txt("_acme-challenge.x.example.test.", value);
	va_check_dns01(&cfg, &job, &res);
	expect(&res, 1, 0, NULL);

	/* Only a wrong record. */
	make_job(&job, CHALL_DNS01, "id", "w.example.test", "dnstok");
	cts_set_txt("_acme-challenge.w.example.test.", "wrongvalue");
	va_check_dns01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_INCORRECT_RESPONSE,
	    "Incorrect TXT record \"wrongvalue\" found at "
	    "_acme-challenge.w.example.test");

	/* No record at all. */
	make_job(&job, CHALL_DNS01, "id", "n.example.test", "dnstok");
	va_check_dns01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_UNAUTHORIZED,
	    "No TXT record found at _acme-challenge.n.example.test");

	/* http-01 for a name of the test. zone, resolved by that server. */
	make_job(&job, CHALL_HTTP01, "id", "a.example.test", "ok");
	(void)http_requests_reset();
	va_check_http01(&cfg, &job, &res);
	expect(&res, 1, 0, NULL);
	assert_int_equal(http_requests_reset(), 1);
	assert_string_equal(hs.host, "a.example.test");
}

static void
test_dns01_resolver_down(void **state)
{
	struct va_config cfg;
	struct va_job	 job;
	struct va_result res;
	char		 resolver[32];

	(void)state;
	(void)snprintf(resolver, sizeof(resolver), "127.0.0.1:%d",
	    free_port());
	make_cfg(&cfg, hs.port, 0, 800);
	cfg.resolver = resolver;
	make_job(&job, CHALL_DNS01, "id", "x.example.test", "dnstok");
	va_check_dns01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_DNS, "_acme-challenge.x.example.test");

	make_job(&job, CHALL_HTTP01, "id", "x.example.test", "ok");
	va_check_http01(&cfg, &job, &res);
	expect(&res, 0, ANVIL_PROB_DNS, "x.example.test");
}

/* ---- the pool ---- */

struct collect {
	struct event_base *base;
	struct va_result   res[8];
	int		   n;
	int		   want;
};

static void
on_done(const struct va_result *res, void *arg)
{
	struct collect	*c = arg;

	assert_true(c->n < (int)(sizeof(c->res) / sizeof(c->res[0])));
	c->res[c->n++] = *res;
	if (c->n == c->want)
		(void)event_base_loopbreak(c->base);
}

static const struct va_result *
find(const struct collect *c, const char *id)
{
	const struct va_result	*found = NULL;
	int			 i;

	for (i = 0; i < c->n; i++) {
		if (strcmp(c->res[i].chall_id, id) != 0)
			continue;
		assert_null(found);	/* once only */
		found = &c->res[i];
	}
	assert_non_null(found);
	return found;
}

static void
test_pool(void **state)
{
	struct collect	 c;
	struct va_config cfg;
	struct va_job	 job;
	struct va	*va = NULL;
	struct timeval	 limit = { .tv_sec = 15 };

	(void)state;
	memset(&c, 0, sizeof(c));
	c.base = event_base_new();
	assert_non_null(c.base);
	make_cfg(&cfg, hs.port, free_port(), 5000);
	cfg.threads = 2;
	assert_int_equal(va_new(c.base, &cfg, on_done, &c, &va), 0);

	make_job(&job, CHALL_HTTP01, "chall-ok", "localhost", "ok");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_HTTP01, "chall-wrong", "localhost", "wrong");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_TLSALPN01, "chall-tls", "localhost", "tok");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_DNS01, "chall-bad", "localhost", "../x");
	assert_int_equal(va_submit(va, &job), 0);
	c.want = 4;

	assert_int_equal(event_base_loopexit(c.base, &limit), 0);
	assert_int_equal(event_base_dispatch(c.base), 0);
	assert_int_equal(c.n, 4);
	expect(find(&c, "chall-ok"), 1, 0, NULL);
	expect(find(&c, "chall-wrong"), 0, ANVIL_PROB_INCORRECT_RESPONSE,
	    NULL);
	expect(find(&c, "chall-tls"), 0, ANVIL_PROB_CONNECTION, NULL);
	expect(find(&c, "chall-bad"), 0, ANVIL_PROB_MALFORMED, NULL);

	va_free(va);
	event_base_free(c.base);
}

/* One worker: every job runs on the same thread, one after the other. */
static void
test_pool_one_thread(void **state)
{
	struct collect	 c;
	struct va_config cfg;
	struct va_job	 job;
	struct va	*va = NULL;
	struct timeval	 limit = { .tv_sec = 15 };
	int		 silent, sport;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.base = event_base_new();
	assert_non_null(c.base);
	/* tls-alpn-01 goes to a listener that never answers. */
	silent = listen_tcp(&sport);
	make_cfg(&cfg, hs.port, sport, 1500);
	cfg.threads = 1;
	assert_int_equal(va_new(c.base, &cfg, on_done, &c, &va), 0);

	/* First in, last out: it waits for its deadline while the others
	 * run on the same thread. */
	make_job(&job, CHALL_TLSALPN01, "0-slow", "localhost", "ok");
	assert_int_equal(va_submit(va, &job), 0);

	make_job(&job, CHALL_HTTP01, "1-ok", "localhost", "ok");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_HTTP01, "2-loop", "localhost", "loop");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_HTTP01, "3-redir", "localhost", "redir");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_HTTP01, "4-wrong", "localhost", "wrong");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_HTTP01, "5-noloc", "localhost", "noloc");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_HTTP01, "6-ok", "localhost", "ok");
	assert_int_equal(va_submit(va, &job), 0);
	c.want = 7;

	assert_int_equal(event_base_loopexit(c.base, &limit), 0);
	assert_int_equal(event_base_dispatch(c.base), 0);
	assert_int_equal(c.n, 7);
	assert_string_equal(c.res[6].chall_id, "0-slow");
	expect(&c.res[6], 0, ANVIL_PROB_CONNECTION, "Timeout");
	expect(find(&c, "1-ok"), 1, 0, NULL);
	expect(find(&c, "2-loop"), 0, ANVIL_PROB_UNAUTHORIZED,
	    "too many redirects");
	expect(find(&c, "3-redir"), 1, 0, NULL);
	expect(find(&c, "4-wrong"), 0, ANVIL_PROB_INCORRECT_RESPONSE, NULL);
	expect(find(&c, "5-noloc"), 0, ANVIL_PROB_UNAUTHORIZED,
	    "without a Location");
	expect(find(&c, "6-ok"), 1, 0, NULL);

	va_free(va);
	event_base_free(c.base);
	(void)close(silent);
}

/*
 * A stop ends the checks in flight wherever they wait: a DNS lookup sent
 * to a resolver that never answers (dns-01, and http-01 before its
 * transfer), an http-01 transfer and a TLS handshake with peers that
 * never answer.
 */
static void
test_pool_stop(void **state)
{
	struct va_config cfg;
	struct va_job	 job;
	struct va	*va = NULL;
	struct event_base *base;
	char		 resolver[32];
	int64_t		 t0;
	int		 hsilent, tsilent, hport, tport;

	(void)state;
	assert_non_null(base = event_base_new());
	hsilent = listen_tcp(&hport);
	tsilent = listen_tcp(&tport);
	(void)snprintf(resolver, sizeof(resolver), "127.0.0.1:%d",
	    free_port());
	make_cfg(&cfg, hport, tport, 5000);
	cfg.resolver = resolver;
	cfg.threads = 2;
	assert_int_equal(va_new(base, &cfg, on_done_unused, NULL, &va), 0);
	make_job(&job, CHALL_DNS01, "d", "a.example.test", "tok");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_HTTP01, "h-dns", "a.example.test", "tok");
	assert_int_equal(va_submit(va, &job), 0);
	/* Names under localhost. need no query. */
	make_job(&job, CHALL_HTTP01, "h", "localhost", "tok");
	assert_int_equal(va_submit(va, &job), 0);
	make_job(&job, CHALL_TLSALPN01, "t", "localhost", "tok");
	assert_int_equal(va_submit(va, &job), 0);

	(void)poll(NULL, 0, 300);
	t0 = va__now_ms();
	va_free(va);
	assert_true(va__now_ms() - t0 < 1000);
	(void)close(hsilent);
	(void)close(tsilent);
	event_base_free(base);
}

static void
test_pool_full(void **state)
{
	struct collect	 c;
	struct va_config cfg;
	struct va_job	 job;
	struct va	*va = NULL;
	int64_t		 t0;
	int		 silent, port, i, rc = 0;

	(void)state;
	memset(&c, 0, sizeof(c));
	c.base = event_base_new();
	assert_non_null(c.base);
	silent = listen_tcp(&port);
	make_cfg(&cfg, port, 0, 5000);
	cfg.threads = 1;
	assert_int_equal(va_new(c.base, &cfg, on_done_unused, &c, &va), 0);

	/* Nothing is delivered while the loop does not run, so exactly
	 * VA_QUEUE_MAX jobs are accepted. */
	make_job(&job, CHALL_HTTP01, "slow", "localhost", "ok");
	for (i = 0; i < VA_QUEUE_MAX + 10; i++) {
		rc = va_submit(va, &job);
		if (rc != 0)
			break;
	}
	assert_int_equal(rc, ANVIL_E2BIG);
	assert_int_equal(i, VA_QUEUE_MAX);

	/* Freed with checks in flight (waiting on a peer that never
	 * answers, for up to 5 s) and the rest queued: the checks are ended
	 * at once, the others dropped. */
	(void)poll(NULL, 0, 100);
	t0 = va__now_ms();
	va_free(va);
	assert_true(va__now_ms() - t0 < 1000);
	(void)close(silent);
	event_base_free(c.base);
}

static int
setup(void **state)
{
	(void)state;
	hs.fd = listen_tcp(&hs.port);
	atomic_store(&hs.stop, 0);
	if (pthread_create(&hs.thread, NULL, http_main, NULL) != 0)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	atomic_store(&hs.stop, 1);
	(void)pthread_join(hs.thread, NULL);
	(void)close(hs.fd);
	cts_stop();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resolver_spec),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_new_invalid),
		cmocka_unit_test(test_job_invalid),
		cmocka_unit_test(test_http01_pass),
		cmocka_unit_test(test_http01_wrong),
		cmocka_unit_test(test_http01_too_large),
		cmocka_unit_test(test_http01_redirects),
		cmocka_unit_test(test_http01_connection),
		cmocka_unit_test(test_http01_reuse),
		cmocka_unit_test(test_loop_many),
		cmocka_unit_test(test_tlsalpn01),
		cmocka_unit_test(test_tlsalpn01_connection),
		cmocka_unit_test(test_dns01),
		cmocka_unit_test(test_dns01_resolver_down),
		cmocka_unit_test(test_pool),
		cmocka_unit_test(test_pool_one_thread),
		cmocka_unit_test(test_pool_stop),
		cmocka_unit_test(test_pool_full),
	};
	int	 rc;

	/* As anvil-ca does: a peer closing early must not kill us. */
	(void)signal(SIGPIPE, SIG_IGN);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return 1;
	(void)atexit(cts_stop);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	cts_stop();
	curl_global_cleanup();
	return rc;
}
