/*
 * test_responder.c - the http-01 responder (responder.c): answers at once
 * without --http01-delay, MS later with it, without holding up the loop
 * (two delayed requests overlap), 404 for an unknown token (also
 * delayed), its bound on delayed answers (503 past it), and a pause
 * rather than a spin when accept4 runs out of file descriptors.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "load.h"

/* The one token the test's "worker" publishes. */
const char *
bench_keyauth(struct bench *b, const char *token)
{
	(void)b;
	return strcmp(token, "tok") == 0 ? "tok.thumb" : NULL;
}

double
now_mono(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A client connection: what it read, when the answer ended. */
struct client {
	int		 fd;
	struct event	*ev;
	char		 buf[1024];
	size_t		 len;
	double		 t_done;	/* 0 until the server closed */
	int		*left;
	struct event_base *base;
};

static void
on_client(evutil_socket_t fd, short what, void *arg)
{
	struct client	*c = arg;
	ssize_t		 n;

	n = read(fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n > 0) {
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		return;
	}
	c->t_done = now_mono();
	event_del(c->ev);
	if (--*c->left == 0)
		event_base_loopbreak(c->base);
}

/* Sends req on a new connection to port, watched by c. */
static void
client_start(struct client *c, struct event_base *base, uint16_t port,
    const char *req, int *left)
{
	struct sockaddr_in	 sin;

	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(c->fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(c->fd, (struct sockaddr *)&sin,
	    sizeof(sin)), 0);
	assert_int_equal(write(c->fd, req, strlen(req)), (ssize_t)strlen(req));
	c->left = left;
	c->base = base;
	c->ev = event_new(base, c->fd, EV_READ | EV_PERSIST, on_client, c);
	assert_non_null(c->ev);
	assert_int_equal(event_add(c->ev, NULL), 0);
}

static void
client_done(struct client *c)
{
	event_free(c->ev);
	close(c->fd);
}

/* A responder on a free port of 127.0.0.1 with the given delay. */
static struct responder *
start(struct bench *b, unsigned delay_ms, uint16_t *port)
{
	struct responder	*r = NULL;
	unsigned		 p;

	memset(b, 0, sizeof(*b));
	b->base = event_base_new();
	assert_non_null(b->base);
	b->http01_delay_ms = delay_ms;
	for (p = 20000 + (unsigned)getpid() % 20000; ; p++) {
		if (responder_new(b, (uint16_t)p, &r) == 0)
			break;
		assert_true(p < 65000);
	}
	*port = (uint16_t)p;
	return r;
}

#define GET(path) "GET " path " HTTP/1.1\r\nHost: x\r\n\r\n"
#define OK_BODY "\r\n\r\ntok.thumb"

static void
test_responder_delay(void **state)
{
	struct bench		 b;
	struct responder	*r;
	struct client		 c[3];
	uint16_t		 port;
	double			 t0;
	int			 left, i;

	(void)state;
	/* No delay: the answer comes at once. */
	r = start(&b, 0, &port);
	left = 1;
	t0 = now_mono();
	client_start(&c[0], b.base, port,
	    GET("/.well-known/acme-challenge/tok"), &left);
	assert_int_equal(event_base_dispatch(b.base), 0);
	assert_non_null(strstr(c[0].buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(c[0].buf, OK_BODY));
	assert_true(c[0].t_done - t0 < 0.1);
	client_done(&c[0]);
	responder_free(r);
	event_base_free(b.base);

	/* 300 ms: three requests at once, all answered about 300 ms later
	 * (not 900: the loop is free meanwhile); an unknown token and a
	 * POST are delayed too. */
	r = start(&b, 300, &port);
	left = 3;
	t0 = now_mono();
	client_start(&c[0], b.base, port,
	    GET("/.well-known/acme-challenge/tok"), &left);
	client_start(&c[1], b.base, port,
	    GET("/.well-known/acme-challenge/other"), &left);
	client_start(&c[2], b.base, port,
	    "POST /.well-known/acme-challenge/tok HTTP/1.1\r\n\r\n", &left);
	assert_int_equal(event_base_dispatch(b.base), 0);
	/* libevent's clock may be the coarse one, a tick (4 ms) behind. */
	for (i = 0; i < 3; i++) {
		assert_true(c[i].t_done - t0 >= 0.29);
		assert_true(c[i].t_done - t0 < 0.6);
	}
	assert_non_null(strstr(c[0].buf, "HTTP/1.1 200 OK\r\n"));
	assert_non_null(strstr(c[0].buf, OK_BODY));
	assert_non_null(strstr(c[1].buf, "HTTP/1.1 404 Not Found\r\n"));
	assert_non_null(strstr(c[2].buf,
	    "HTTP/1.1 405 Method Not Allowed\r\n"));
	for (i = 0; i < 3; i++)
		client_done(&c[i]);
	responder_free(r);
	event_base_free(b.base);
}

/* LOAD_MAX_PENDING delayed answers at once; the next one gets 503 at
 * once; freeing the responder with answers pending frees them. */
static void
test_responder_bound(void **state)
{
	struct bench		 b;
	struct responder	*r;
	struct client		*c, extra;
	uint16_t		 port;
	double			 t0;
	int			 left, i, n = LOAD_MAX_PENDING;

	(void)state;
	c = calloc((size_t)n, sizeof(*c));
	assert_non_null(c);
	r = start(&b, 10000, &port);
	left = n + 1;
	for (i = 0; i < n; i++) {
		client_start(&c[i], b.base, port,
		    GET("/.well-known/acme-challenge/tok"), &left);
		/* Let the responder read it before the next. */
		assert_int_equal(event_base_loop(b.base, EVLOOP_NONBLOCK), 0);
	}
	t0 = now_mono();
	left = 1;
	client_start(&extra, b.base, port,
	    GET("/.well-known/acme-challenge/tok"), &left);
	assert_int_equal(event_base_dispatch(b.base), 0);
	assert_true(extra.t_done - t0 < 1.0);
	assert_non_null(strstr(extra.buf,
	    "HTTP/1.1 503 Service Unavailable\r\n"));
	for (i = 0; i < n; i++)
		assert_int_equal(c[i].t_done, 0);
	client_done(&extra);
	responder_free(r);	/* closes the pending ones unanswered */
	for (i = 0; i < n; i++)
		client_done(&c[i]);
	free(c);
	event_base_free(b.base);
}

/* CPU seconds this process has used. */
static double
cpu_used(void)
{
	struct rusage	 ru;

	assert_int_equal(getrusage(RUSAGE_SELF, &ru), 0);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * Out of file descriptors, the listening socket stays readable and
 * accept4 keeps failing: the responder must pause (a loop spinning for
 * 300 ms would use about 300 ms of CPU), then answer once a descriptor
 * is free again.
 */
static void
test_responder_nofile(void **state)
{
	struct bench		 b;
	struct responder	*r;
	struct client		 c;
	struct rlimit		 old, low;
	struct timeval		 tv = { 0, 300 * 1000 };
	uint16_t		 port;
	double			 cpu0;
	int			 fill[64], nfill = 0, left = 1, i;

	(void)state;
	r = start(&b, 0, &port);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
	low = old;
	low.rlim_cur = 48;
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
	while (nfill < 64 && (fill[nfill] = dup(0)) >= 0)
		nfill++;
	assert_int_equal(errno, EMFILE);
	assert_true(nfill > 0 && nfill < 64);
	/* One free: for the client's socket, none for accept4. */
	close(fill[--nfill]);
	client_start(&c, b.base, port,
	    GET("/.well-known/acme-challenge/tok"), &left);
	cpu0 = cpu_used();
	assert_int_equal(event_base_loopexit(b.base, &tv), 0);
	assert_int_equal(event_base_dispatch(b.base), 0);
	assert_true(cpu_used() - cpu0 < 0.15);
	assert_int_equal(c.len, 0);
	/* A descriptor comes back: answered after the pause. */
	close(fill[--nfill]);
	assert_int_equal(event_base_dispatch(b.base), 0);
	assert_non_null(strstr(c.buf, "HTTP/1.1 200 OK\r\n"));
	for (i = 0; i < nfill; i++)
		close(fill[i]);
	assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
	client_done(&c);
	responder_free(r);
	event_base_free(b.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_responder_delay),
		cmocka_unit_test(test_responder_bound),
		cmocka_unit_test(test_responder_nofile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
