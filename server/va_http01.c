/*
 * va_http01.c - the http-01 check (RFC 8555 §8.3).
 *
 * GET http://NAME/.well-known/acme-challenge/TOKEN (on cfg->http01_port)
 * must answer 200 with the key authorization, trailing whitespace
 * ignored.  Names are resolved by our resolver (va_resolve.c), never by
 * curl: curl is told which address to use with CURLOPT_RESOLVE, tries the
 * IPv6 address first and the IPv4 one when the first cannot connect.
 *
 * Redirects are followed here, not by curl, so that each hop is checked
 * as Let's Encrypt does: at most ANVIL_MAX_REDIRECTS, to http: or https:
 * only, to port 80 or 443 only (explicit or implied), to a host name and
 * not an address literal.  An http: hop goes to cfg->http01_port, an
 * https: one to 443 with certificate verification off, because the
 * challenge proves control of the name, not possession of a certificate.
 * The body is read up to ANVIL_MAX_HTTP01_BODY bytes and the transfer is
 * aborted past that; the whole check, every hop included, ends at the
 * deadline.
 *
 * Each worker thread keeps one curl handle for all its checks (struct
 * va_http01 below), but never a connection: every request connects anew.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "anvil/buf.h"
#include "anvil/error.h"
#include "anvil/limits.h"
#include "anvil/x509.h"
#include "va_internal.h"

#define URL_MAX		2048	/* longest URL we follow */
#define QUOTED_URL	200	/* a URL as shown in a detail */
#define QUOTED_BODY	120	/* a body as shown in a detail */
#define HOST_MAX	256	/* a host name and its NUL */

/* One request of the chain. */
struct hop {
	char		 logical[URL_MAX];/* as the user sees it: default
					   port implied, relative redirects
					   resolved against it */
	char		 url[URL_MAX];	/* fetched, with the port */
	char		 host[HOST_MAX];/* lowercase host name */
	int		 port;		/* port to connect to */
	int		 https;
};

/* What one request brought back. */
struct fetch {
	struct anvil_buf body;		/* max ANVIL_MAX_HTTP01_BODY */
	int		 toolarge;	/* body went past the limit */
	long		 status;
	char		 location[URL_MAX];/* Location header, as sent */
	int		 has_location;
	int		 location_toolong;
	int		 connected;	/* a TCP connection was made */
	char		 errbuf[CURL_ERROR_SIZE];
};

/*
 * The http-01 client of one thread.  The curl handle lives as long as the
 * thread: the options that never change are set once, when it is made,
 * and each request sets its URL, its time limits, its Host header and its
 * pinned address.  So curl's set-up (the easy handle, the multi handle
 * that runs it and that one's wake-up socket pair) is made once per
 * thread instead of once per request.
 *
 * What must not outlive a request does not:
 *  - connections: CURLOPT_FRESH_CONNECT and CURLOPT_FORBID_REUSE, so every
 *    request opens its own connection to the address just resolved and
 *    closes it when done: an answer is always what the server says now;
 *  - TLS sessions (https hops): the session-ID cache is off;
 *  - pinned addresses: a CURLOPT_RESOLVE entry stays in the handle's DNS
 *    cache for good, so each request first removes the previous one's
 *    ("-HOST:PORT", in unpin) and curl's cache holds at most one entry;
 *  - the response: perform() clears f before each request, and curl
 *    clears its status and headers when a transfer starts.
 */
struct va_http01 {
	CURL		*h;		/* owned */
	CURLM		*m;		/* owned; runs h (see run()) */
	struct fetch	 f;		/* the last request's response */
	char		 pin[HOST_MAX + INET6_ADDRSTRLEN + 16];
					/* "HOST:PORT:ADDR" */
	char		 unpin[HOST_MAX + 16];/* "-HOST:PORT" of the previous
					   request, "" before the first */
	char		 hosthdr[HOST_MAX + 8];/* "Host: HOST" */
	struct curl_slist resolve[2];	/* over unpin, pin (not from
					   malloc: curl only reads them) */
	struct curl_slist headers;	/* over hosthdr */
};

/* curl's write callback: keeps the body, aborts past the limit. */
static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct fetch	*f = arg;
	size_t		 n = size * nmemb;
	int		 rc;

	rc = anvil_buf_add(&f->body, p, n);
	if (rc == ANVIL_E2BIG)
		f->toolarge = 1;
	if (rc != 0)
		return 0;	/* anything but n aborts the transfer */
	return n;
}

int
va__http01_new(struct va_http01 **ret)
{
	struct va_http01	*c;
	CURL			*h;
	CURLcode		 cc;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return ANVIL_ENOMEM;
	anvil_buf_init(&c->f.body, ANVIL_MAX_HTTP01_BODY);
	h = c->h = curl_easy_init();
	if (h == NULL) {
		va__http01_free(c);
		return ANVIL_ENOMEM;
	}
	cc = curl_easy_setopt(h, CURLOPT_USERAGENT, VA_USER_AGENT);
	if (cc == CURLE_OK)	/* never through a proxy from the env */
		cc = curl_easy_setopt(h, CURLOPT_PROXY, "");
	if (cc == CURLE_OK)	/* and no look at no_proxy per transfer */
		cc = curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	if (cc == CURLE_OK)	/* we run in threads */
		cc = curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	if (cc == CURLE_OK)	/* a connection of its own per request */
		cc = curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)ANVIL_MAX_HTTP01_BODY);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &c->f);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->f.errbuf);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	c->m = curl_multi_init();
	if (cc != CURLE_OK || c->m == NULL) {
		va__http01_free(c);
		return ANVIL_ENOMEM;
	}
	*ret = c;
	return 0;
}

void
va__http01_free(struct va_http01 *c)
{
	if (c == NULL)
		return;
	/* h is never left in m (run() removes it): either order works. */
	curl_multi_cleanup(c->m);
	curl_easy_cleanup(c->h);
	anvil_buf_free(&c->f.body);
	free(c);
}

/*
 * Runs c's transfer to its end, as curl_easy_perform() would, on c's own
 * multi handle: it starts the transfer before its first wait, where
 * curl_easy_perform() first polls its wake-up socket for nothing (one
 * poll() per request).  Each wait is curl_multi_poll(), which waits for
 * the transfer's socket or for curl's own next timeout (the
 * CURLOPT_TIMEOUT_MS and CURLOPT_CONNECTTIMEOUT_MS set by perform(), so
 * the transfer ends by the deadline).  Returns curl's result for the
 * transfer; CURLE_OUT_OF_MEMORY when the multi handle fails.
 */
static CURLcode
run(struct va_http01 *c)
{
	CURLMsg		*msg;
	CURLcode	 cc = CURLE_OUT_OF_MEMORY;
	CURLMcode	 mc;
	int		 running = 1, left;

	if (curl_multi_add_handle(c->m, c->h) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	/*
	 * Terminates: curl ends the transfer by its time limit at the
	 * latest, and each wait returns by curl's next timeout.
	 */
	mc = curl_multi_perform(c->m, &running);
	while (mc == CURLM_OK && running > 0) {
		mc = curl_multi_poll(c->m, NULL, 0, 1000, NULL);
		if (mc == CURLM_OK)
			mc = curl_multi_perform(c->m, &running);
	}
	if (mc == CURLM_OK) {
		msg = curl_multi_info_read(c->m, &left);
		if (msg != NULL && msg->msg == CURLMSG_DONE)
			cc = msg->data.result;
	}
	(void)curl_multi_remove_handle(c->m, c->h);
	return cc;
}

/*
 * Performs one GET of hop on the given address with c's handle.  Fills
 * c->f (status, location, body, errbuf).  Returns curl's result;
 * CURLE_OUT_OF_MEMORY when the request could not be set up.
 */
static CURLcode
perform(struct va_http01 *c, const struct hop *hop, const char *addr,
    int family, int64_t deadline)
{
	struct fetch		*f = &c->f;
	struct curl_slist	*resolve;
	struct curl_header	*loc = NULL;
	long			 left, lport = 0;
	CURLcode		 cc;

	anvil_buf_reset(&f->body);
	f->toolarge = 0;
	f->status = 0;
	f->has_location = 0;
	f->location_toolong = 0;
	f->connected = 0;
	f->errbuf[0] = '\0';

	left = va__left_ms(deadline);
	if (left == 0)
		return CURLE_OPERATION_TIMEDOUT;
	(void)snprintf(c->pin, sizeof(c->pin), family == AF_INET6 ?
	    "%s:%d:[%s]" : "%s:%d:%s", hop->host, hop->port, addr);
	(void)snprintf(c->hosthdr, sizeof(c->hosthdr), "Host: %s",
	    hop->host);
	c->resolve[1].data = c->pin;
	c->resolve[1].next = NULL;
	c->resolve[0].data = c->unpin;
	c->resolve[0].next = &c->resolve[1];
	resolve = c->unpin[0] != '\0' ? &c->resolve[0] : &c->resolve[1];
	c->headers.data = c->hosthdr;
	c->headers.next = NULL;

	cc = curl_easy_setopt(c->h, CURLOPT_URL, hop->url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c->h, CURLOPT_RESOLVE, resolve);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c->h, CURLOPT_HTTPHEADER, &c->headers);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c->h, CURLOPT_TIMEOUT_MS, left);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c->h, CURLOPT_CONNECTTIMEOUT_MS, left);
	/*
	 * An http: request goes out in one write on a connection of its
	 * own with nothing sent before it, which Nagle's algorithm never
	 * holds back: curl's TCP_NODELAY would be one setsockopt() per
	 * request for nothing.  Over TLS the request follows the
	 * handshake's last flight, which may not be acknowledged yet, so
	 * there it is kept.
	 */
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY,
		    hop->https ? 1L : 0L);
	if (cc != CURLE_OK)
		return cc;

	cc = run(c);
	/* curl's DNS cache may hold the pin now: the next request drops it. */
	(void)snprintf(c->unpin, sizeof(c->unpin), "-%s:%d", hop->host,
	    hop->port);
	/* A local port is known once the connection was established. */
	if (curl_easy_getinfo(c->h, CURLINFO_LOCAL_PORT, &lport) ==
	    CURLE_OK && lport > 0)
		f->connected = 1;
	if (cc != CURLE_OK)
		return cc;
	if (curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &f->status) !=
	    CURLE_OK)
		f->status = 0;
	/* The last response's Location, if any (the handle owns it). */
	if (curl_easy_header(c->h, "Location", 0, CURLH_HEADER, -1, &loc) ==
	    CURLHE_OK && loc->value != NULL) {
		if (strlen(loc->value) >= sizeof(f->location))
			f->location_toolong = 1;
		else {
			(void)strcpy(f->location, loc->value);
			f->has_location = 1;
		}
	}
	return CURLE_OK;
}

/*
 * Fetches hop: resolves its host, then GETs from the first address that
 * accepts a connection.  Returns 0 with a response in vc->http->f, or a
 * negative code with the problem in res.
 */
static int
fetch(struct va_ctx *vc, const struct hop *hop, int64_t deadline,
    struct va_result *res)
{
	struct fetch	*f = &vc->http->f;
	struct va_addrs	 addrs;
	char		 url[QUOTED_URL];
	CURLcode	 cc = CURLE_COULDNT_CONNECT;
	size_t		 i;
	int		 rc;

	rc = va__lookup_addrs(vc->dns, hop->host, deadline, &addrs, res);
	if (rc != 0)
		return rc;
	/* IPv6 first; the next address only when this one cannot connect. */
	for (i = 0; i < addrs.n; i++) {
		cc = perform(vc->http, hop, addrs.a[i].text,
		    addrs.a[i].family, deadline);
		if (cc != CURLE_COULDNT_CONNECT)
			break;
	}
	if (cc == CURLE_OK)
		return 0;

	(void)va__quote(url, sizeof(url), hop->logical,
	    strlen(hop->logical));
	if (f->toolarge || cc == CURLE_FILESIZE_EXCEEDED)
		va__fail(res, ANVIL_PROB_INCORRECT_RESPONSE, "Invalid response "
		    "from %s: the body is larger than %d bytes", url,
		    ANVIL_MAX_HTTP01_BODY);
	else if (cc == CURLE_OUT_OF_MEMORY || cc == CURLE_WRITE_ERROR)
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Fetching %s: out "
		    "of memory", url);
	else if (cc == CURLE_OPERATION_TIMEDOUT)
		va__fail(res, ANVIL_PROB_CONNECTION, "Fetching %s: %s", url,
		    f->connected ? "timeout waiting for the answer" :
		    "timeout during connect (a firewall may drop the "
		    "packets)");
	else if (hop->https && (cc == CURLE_SSL_CONNECT_ERROR ||
	    cc == CURLE_PEER_FAILED_VERIFICATION))
		va__fail(res, ANVIL_PROB_TLS, "Fetching %s: TLS error: %s",
		    url, f->errbuf[0] != '\0' ? f->errbuf :
		    curl_easy_strerror(cc));
	else
		va__fail(res, ANVIL_PROB_CONNECTION, "Fetching %s: %s", url,
		    f->errbuf[0] != '\0' ? f->errbuf : curl_easy_strerror(cc));
	return ANVIL_EIO;
}

/* Returns 1 when host is a plausible host name and not an address. */
static int
host_ok(const char *host)
{
	unsigned char	 bin[sizeof(struct in6_addr)];
	size_t		 i, n = strlen(host);

	if (n == 0 || n > ANVIL_MAX_NAME_LEN || host[0] == '.' ||
	    host[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)host[i]) && host[i] != '-' &&
		    host[i] != '.')
			return 0;
	return inet_pton(AF_INET, host, bin) != 1;
}

/* Fills hop from the URL in u, with host and the port to connect to.
 * Returns 0 or ANVIL_E2BIG / ANVIL_EINVAL. */
static int
hop_from_url(CURLU *u, int https, int port, const char *host,
    struct hop *hop)
{
	char	 pstr[8], *url = NULL;
	size_t	 i;
	int	 rc = ANVIL_EINVAL;

	if (strlen(host) >= sizeof(hop->host))
		return ANVIL_E2BIG;
	for (i = 0; host[i] != '\0'; i++)
		hop->host[i] = (char)tolower((unsigned char)host[i]);
	hop->host[i] = '\0';
	hop->port = port;
	hop->https = https;
	(void)snprintf(pstr, sizeof(pstr), "%d", port);
	if (curl_url_set(u, CURLUPART_HOST, hop->host, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_USER, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK)
		goto out;
	if (curl_url_get(u, CURLUPART_URL, &url, CURLU_NO_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	rc = ANVIL_E2BIG;
	if (strlen(url) >= sizeof(hop->logical))
		goto out;
	(void)strcpy(hop->logical, url);
	curl_free(url);
	url = NULL;
	rc = ANVIL_EINVAL;
	if (curl_url_set(u, CURLUPART_PORT, pstr, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_URL, &url, CURLU_NO_DEFAULT_PORT) !=
	    CURLUE_OK)
		goto out;
	rc = ANVIL_E2BIG;
	if (strlen(url) >= sizeof(hop->url))
		goto out;
	(void)strcpy(hop->url, url);
	rc = 0;
out:
	curl_free(url);
	return rc;
}

/*
 * Checks a redirect target against the rules in the comment at the top
 * and turns it into the next hop.  Returns 0, or a negative code with an
 * unauthorized problem in res naming both URLs.
 */
static int
next_hop(const struct va_config *cfg, const struct hop *from,
    const char *loc, struct hop *next, struct va_result *res)
{
	CURLU		*u = NULL;
	char		*scheme = NULL, *host = NULL, *port = NULL;
	char		 fromq[QUOTED_URL], toq[QUOTED_URL];
	const char	*why = NULL;
	int		 https = 0, rc = ANVIL_EINVAL;
	CURLUcode	 uc;

	(void)va__quote(fromq, sizeof(fromq), from->logical,
	    strlen(from->logical));
	(void)va__quote(toq, sizeof(toq), loc, strlen(loc));
	u = curl_url();
	if (u == NULL) {
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Following the "
		    "redirect from %s: out of memory", fromq);
		rc = ANVIL_ENOMEM;
		goto out;
	}
	/* Setting loc over the current URL resolves a relative one. */
	if (curl_url_set(u, CURLUPART_URL, from->logical, 0) != CURLUE_OK ||
	    curl_url_set(u, CURLUPART_URL, loc, CURLU_NON_SUPPORT_SCHEME) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
		why = "it is not a valid URL";
		goto out;
	}
	if (strcasecmp(scheme, "https") == 0)
		https = 1;
	else if (strcasecmp(scheme, "http") != 0) {
		why = "only http and https are allowed";
		goto out;
	}
	uc = curl_url_get(u, CURLUPART_PORT, &port, 0);
	if (uc != CURLUE_OK && uc != CURLUE_NO_PORT) {
		why = "it is not a valid URL";
		goto out;
	}
	if (port != NULL && strcmp(port, "80") != 0 &&
	    strcmp(port, "443") != 0) {
		why = "only ports 80 and 443 are allowed";
		goto out;
	}
	if (!host_ok(host)) {
		why = "the host must be a DNS name";
		goto out;
	}
	/* http: goes where http-01 goes; https: to 443. */
	rc = hop_from_url(u, https, https ? 443 : cfg->http01_port, host,
	    next);
	if (rc != 0)
		why = "it is not a valid URL";
out:
	if (why != NULL) {
		va__fail(res, ANVIL_PROB_UNAUTHORIZED, "Invalid redirect from "
		    "%s to %s: %s", fromq, toq, why);
		if (rc == 0)
			rc = ANVIL_EINVAL;
	}
	curl_free(port);
	curl_free(host);
	curl_free(scheme);
	curl_url_cleanup(u);
	return rc;
}

/*
 * Builds the first hop: http://NAME[:PORT]/.well-known/acme-challenge/TOKEN,
 * the port shown only when it is not 80.  The job was checked (the name
 * has only letters, digits, '-' and '.', the token is base64url), so the
 * URL is written directly: the same text curl's URL API makes from these
 * parts (see hop_from_url()), without its parsing and allocations on
 * every check.  Returns 0 or a negative code with the problem in res.
 */
static int
first_hop(const struct va_config *cfg, const struct va_job *job,
    struct hop *hop, struct va_result *res)
{
	size_t	 i;
	int	 n;

	for (i = 0; job->name[i] != '\0' && i + 1 < sizeof(hop->host); i++)
		hop->host[i] = (char)tolower((unsigned char)job->name[i]);
	hop->host[i] = '\0';
	hop->port = cfg->http01_port;
	hop->https = 0;
	n = snprintf(hop->logical, sizeof(hop->logical),
	    "http://%s/.well-known/acme-challenge/%s", hop->host, job->token);
	if (n > 0 && (size_t)n < sizeof(hop->logical)) {
		if (hop->port == 80)
			n = snprintf(hop->url, sizeof(hop->url), "%s",
			    hop->logical);
		else
			n = snprintf(hop->url, sizeof(hop->url),
			    "http://%s:%d/.well-known/acme-challenge/%s",
			    hop->host, hop->port, job->token);
	}
	if (job->name[i] != '\0' || n <= 0 || (size_t)n >= sizeof(hop->url)) {
		va__fail(res, ANVIL_PROB_SERVER_INTERNAL, "Cannot build the "
		    "http-01 URL for %s", job->name);
		return ANVIL_E2BIG;
	}
	return 0;
}

/* §8.3: "MAY ignore whitespace characters at the end of the body". */
static size_t
trim_len(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
	    s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return n;
}

/* Compares the body of a 200 answer with the key authorization. */
static void
judge(const struct va_job *job, const struct hop *hop, const struct fetch *f,
    struct va_result *res)
{
	char	 url[QUOTED_URL], got[QUOTED_BODY];
	size_t	 n;

	n = trim_len(f->body.data != NULL ? f->body.data : "", f->body.len);
	if (anvil_memeq_ct(f->body.data, n, job->keyauth,
	    strlen(job->keyauth))) {
		va__pass(res);
		return;
	}
	(void)va__quote(url, sizeof(url), hop->logical,
	    strlen(hop->logical));
	(void)va__quote(got, sizeof(got), f->body.data, n);
	va__fail(res, ANVIL_PROB_INCORRECT_RESPONSE, "The key authorization "
	    "file from %s does not match this challenge: received %s", url,
	    got);
}

void
va__http01(const struct va_config *cfg, struct va_ctx *vc,
    const struct va_job *job, struct va_result *res)
{
	const struct fetch *f = &vc->http->f;
	struct hop	 hop, next;
	char		 url[QUOTED_URL];
	int64_t		 deadline;
	int		 redirects;

	deadline = va__now_ms() + cfg->timeout_ms;
	if (first_hop(cfg, job, &hop, res) != 0)
		return;
	/* Terminates: each pass follows one redirect, and they are
	 * counted. */
	for (redirects = 0;; redirects++) {
		if (fetch(vc, &hop, deadline, res) != 0)
			return;
		if (f->status == 200) {
			judge(job, &hop, f, res);
			return;
		}
		(void)va__quote(url, sizeof(url), hop.logical,
		    strlen(hop.logical));
		if (f->status == 301 || f->status == 302 || f->status == 303 ||
		    f->status == 307 || f->status == 308) {
			if (redirects == ANVIL_MAX_REDIRECTS) {
				va__fail(res, ANVIL_PROB_UNAUTHORIZED,
				    "Fetching %s: too many redirects (more "
				    "than %d)", url, ANVIL_MAX_REDIRECTS);
				return;
			}
			if (!f->has_location) {
				va__fail(res, ANVIL_PROB_UNAUTHORIZED,
				    "Fetching %s: HTTP %ld redirect %s", url,
				    f->status, f->location_toolong ?
				    "to a URL too long to follow" :
				    "without a Location");
				return;
			}
			if (next_hop(cfg, &hop, f->location, &next, res) != 0)
				return;
			hop = next;
			continue;
		}
		va__fail(res, ANVIL_PROB_UNAUTHORIZED, "Invalid response "
		    "from %s: HTTP %ld", url, f->status);
		return;
	}
}

void
va_check_http01(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res)
{
	va__check_sync(cfg, job, res, va__http01);
}
