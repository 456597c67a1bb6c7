/*
 * va.c - the validation of one issuance's http-01 challenge, the
 * validator's side: two DNS queries (A and AAAA) over UDP, each from a
 * socket of its own (a fresh source port per query: RFC 5452 §9.2, what
 * libunbound and every resolver that resists spoofing do), then one HTTP
 * GET on a new TCP connection to the name's address (RFC 8555 §8.3: the
 * CA fetches the token from the name itself), read to its end.
 *
 * The cheapest a validator can be: blocking calls on one thread, no
 * event loop, no HTTP parsing.  The DNS server and the http-01 responder
 * are threads of their own, timed apart (the peers' share).  Sizes as anvil-ca's (strace,
 * HEAD aa175a0): 59-byte queries, a 171-byte request and a 171-byte
 * answer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "floor.h"

#define WARMUP		20
#define IO_TIMEOUT_S	10
#define HTTP_LEN	171	/* request and answer, each */

struct va_run {
	const struct floor_opts	*o;
	int		 dns_fd;	/* the DNS server's UDP socket */
	int		 http_fd;	/* the responder's listening socket */
	struct sockaddr_in dns_addr;
	struct sockaddr_in http_addr;
	int		 dns_rc, http_rc;
	double		 dns_cpu, http_cpu;	/* timed part, each */
};

/* Bounds blocking reads (and accept) on fd; 0 or -1. */
static int
timeout_set(int fd)
{
	struct timeval	 tv = { IO_TIMEOUT_S, 0 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0)
		return -1;
	return 0;
}

/* A socket of type on 127.0.0.1, any port, its address in *a; -1 on
 * error. */
static int
bound_socket(int type, struct sockaddr_in *a)
{
	socklen_t	 alen = sizeof(*a);
	int		 fd;

	memset(a, 0, sizeof(*a));
	a->sin_family = AF_INET;
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (timeout_set(fd) != 0 ||
	    bind(fd, (struct sockaddr *)a, sizeof(*a)) != 0 ||
	    getsockname(fd, (struct sockaddr *)a, &alen) != 0 ||
	    (type == SOCK_STREAM && listen(fd, 64) != 0)) {
		(void)close(fd);
		return -1;
	}
	return fd;
}

/*
 * A query for NAME type qtype (RFC 1035 §4.1) with an EDNS OPT record,
 * as a resolver sends it: 59 bytes for this name.  Returns its length.
 */
static size_t
query_make(uint8_t *q, uint16_t id, uint16_t qtype)
{
	static const uint8_t name[] = "\x11" "lc07a73711ac0eb74" "\x07"
	    "example" "\x04" "test";	/* with its final zero */
	static const uint8_t opt[] = { 0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0,
	    0, 0 };
	size_t	 n = 0;

	q[n++] = id >> 8;
	q[n++] = id & 0xff;
	q[n++] = 0x01;		/* RD */
	q[n++] = 0x00;
	q[n++] = 0; q[n++] = 1;	/* QDCOUNT */
	q[n++] = 0; q[n++] = 0;	/* ANCOUNT */
	q[n++] = 0; q[n++] = 0;	/* NSCOUNT */
	q[n++] = 0; q[n++] = 1;	/* ARCOUNT: the OPT record */
	memcpy(q + n, name, sizeof(name));
	n += sizeof(name);
	q[n++] = qtype >> 8;
	q[n++] = qtype & 0xff;
	q[n++] = 0; q[n++] = 1;	/* IN */
	memcpy(q + n, opt, sizeof(opt));
	return n + sizeof(opt);
}

/*
 * The DNS server: answers each query with itself turned into a response
 * and, for type A, one record giving 127.0.0.1 (NODATA for the others).
 */
static void *
dns_main(void *arg)
{
	struct va_run		*v = arg;
	struct sockaddr_in	 from;
	socklen_t		 flen;
	uint8_t			 b[512];
	ssize_t			 n;
	size_t			 len, qend;
	double			 t0 = 0;
	unsigned		 i;

	v->dns_rc = -1;
	for (i = 0; i < 2 * (WARMUP + v->o->count); i++) {
		if (i == 2 * WARMUP)
			t0 = floor_thread_cpu();
		flen = sizeof(from);
		n = recvfrom(v->dns_fd, b, sizeof(b) - 16, 0,
		    (struct sockaddr *)&from, &flen);
		if (n < 12 + 5)
			return NULL;
		len = (size_t)n;
		b[2] |= 0x80;	/* QR */
		b[3] = 0x80;	/* RA, NOERROR */
		/* The question ends 4 bytes after its name's zero. */
		for (qend = 12; qend < len && b[qend] != 0; qend += b[qend] + 1u)
			;
		qend += 5;
		if (qend > len)
			return NULL;
		if (b[qend - 4] == 0 && b[qend - 3] == 1) {
			/* An answer before the OPT record: move it on. */
			memmove(b + qend + 16, b + qend, len - qend);
			memcpy(b + qend, "\xc0\x0c\x00\x01\x00\x01\x00\x00"
			    "\x00\x3c\x00\x04\x7f\x00\x00\x01", 16);
			b[7] = 1;	/* ANCOUNT */
			len += 16;
		}
		if (sendto(v->dns_fd, b, len, 0, (struct sockaddr *)&from,
		    flen) != (ssize_t)len)
			return NULL;
	}
	v->dns_cpu = floor_thread_cpu() - t0;
	v->dns_rc = 0;
	return NULL;
}

/* The http-01 responder: reads one request, answers, closes. */
static void *
http_main(void *arg)
{
	struct va_run	*v = arg;
	char		 ans[HTTP_LEN], req[1024];
	size_t		 got;
	ssize_t		 n;
	double		 t0 = 0;
	unsigned	 i;
	int		 fd = -1;

	v->http_rc = -1;
	/* 66 bytes of head, 105 of body: a token and a thumbprint. */
	memset(ans, 'k', sizeof(ans));
	memcpy(ans, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 105\r\n\r\n", 66);
	for (i = 0; i < WARMUP + v->o->count; i++) {
		if (i == WARMUP)
			t0 = floor_thread_cpu();
		fd = accept4(v->http_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1 || timeout_set(fd) != 0)
			goto fail;
		for (got = 0; got < HTTP_LEN; got += (size_t)n) {
			n = recv(fd, req + got, sizeof(req) - got, 0);
			if (n <= 0)
				goto fail;
		}
		if (send(fd, ans, sizeof(ans), MSG_NOSIGNAL) != HTTP_LEN)
			goto fail;
		(void)close(fd);
		fd = -1;
	}
	v->http_cpu = floor_thread_cpu() - t0;
	v->http_rc = 0;
	return NULL;
fail:
	if (fd != -1)
		(void)close(fd);
	return NULL;
}

/* One DNS query from a socket of its own; 0 or -1. */
static int
lookup(const struct va_run *v, uint16_t id, uint16_t qtype)
{
	uint8_t		 q[64], a[512];
	size_t		 len;
	ssize_t		 n;
	int		 fd, rc = -1;

	len = query_make(q, id, qtype);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (timeout_set(fd) != 0 ||
	    connect(fd, (const struct sockaddr *)&v->dns_addr,
	    sizeof(v->dns_addr)) != 0 ||
	    send(fd, q, len, 0) != (ssize_t)len)
		goto out;
	n = recv(fd, a, sizeof(a), 0);
	if (n < 12 || a[0] != q[0] || a[1] != q[1] || !(a[2] & 0x80))
		goto out;
	rc = 0;
out:
	(void)close(fd);
	return rc;
}

/* One GET on a new connection, read until the responder closes; 0 or
 * -1. */
static int
fetch(const struct va_run *v, char *req)
{
	char		 ans[1024];
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd, rc = -1;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (timeout_set(fd) != 0 ||
	    connect(fd, (const struct sockaddr *)&v->http_addr,
	    sizeof(v->http_addr)) != 0 ||
	    send(fd, req, HTTP_LEN, MSG_NOSIGNAL) != HTTP_LEN)
		goto out;
	do {
		n = recv(fd, ans + got, sizeof(ans) - got, 0);
		if (n < 0)
			goto out;
		got += (size_t)n;
	} while (n > 0 && got < sizeof(ans));
	if (got != HTTP_LEN || memcmp(ans, "HTTP/1.1 200 ", 13) != 0)
		goto out;
	rc = 0;
out:
	(void)close(fd);
	return rc;
}

int
floor_validation(const struct floor_opts *o, double *ret_ms,
    double *ret_peer_ms)
{
	struct va_run	 v;
	char		 req[HTTP_LEN];
	pthread_t	 dns, http;
	double		 t0 = 0;
	unsigned	 i;
	int		 have_dns = 0, have_http = 0, rc = -1;

	memset(&v, 0, sizeof(v));
	v.o = o;
	memset(req, 't', sizeof(req));
	memcpy(req, "GET /.well-known/acme-challenge/", 32);
	memcpy(req + HTTP_LEN - 4, "\r\n\r\n", 4);
	v.dns_fd = bound_socket(SOCK_DGRAM, &v.dns_addr);
	v.http_fd = bound_socket(SOCK_STREAM, &v.http_addr);
	if (v.dns_fd == -1 || v.http_fd == -1) {
		fprintf(stderr, "anvil-floor: validation: cannot bind on "
		    "127.0.0.1: %s\n", strerror(errno));
		goto out;
	}
	have_dns = pthread_create(&dns, NULL, dns_main, &v) == 0;
	have_http = pthread_create(&http, NULL, http_main, &v) == 0;
	if (!have_dns || !have_http)
		goto out;
	for (i = 0; i < WARMUP + o->count; i++) {
		if (i == WARMUP)
			t0 = floor_thread_cpu();
		if (lookup(&v, (uint16_t)(2 * i), 1) != 0 ||
		    lookup(&v, (uint16_t)(2 * i + 1), 28) != 0 ||
		    fetch(&v, req) != 0)
			goto out;
	}
	*ret_ms = (floor_thread_cpu() - t0) * 1e3 / o->count;
	rc = 0;
out:
	/* On a failure the servers' reads time out and they end. */
	if (have_dns)
		(void)pthread_join(dns, NULL);
	if (have_http)
		(void)pthread_join(http, NULL);
	if (rc == 0 && (v.dns_rc != 0 || v.http_rc != 0))
		rc = -1;
	if (rc == 0)
		*ret_peer_ms = (v.dns_cpu + v.http_cpu) * 1e3 / o->count;
	if (rc != 0)
		fprintf(stderr, "anvil-floor: validation: a lookup or a "
		    "fetch failed\n");
	if (v.dns_fd != -1)
		(void)close(v.dns_fd);
	if (v.http_fd != -1)
		(void)close(v.http_fd);
	return rc;
}
