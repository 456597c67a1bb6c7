/*
 * va_http01.c - the http-01 check (RFC 8555 §8.3).
 *
 * GET http://NAME/.well-known/acme-challenge/TOKEN (on cfg->http01_port)
 * must answer 200 with the key authorization, trailing whitespace
 * ignored.  Names are resolved by our resolver (va_resolve.c), never by
 * curl: curl is told which address to connect to with CURLOPT_CONNECT_TO
 * (an address literal, which curl does not look up), the IPv6 address
 * first and the IPv4 one when the first cannot connect.
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
 * Every transfer of a loop runs on the loop's curl multi handle through
 * curl's socket API: curl says which sockets to watch and when its next
 * timeout is, and those are events on the loop's base (struct va_http01
 * below).  So a check never blocks its thread, and one thread keeps many
 * transfers going.  Easy handles are kept for reuse, but never a
 * connection: every request connects anew.
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

/* Easy handles kept for reuse by one loop, at most. */
#define IDLE_MAX	64
/* How long after its time limit a transfer curl has not ended is ended
 * by the guard (see on_guard()). */
#define GUARD_MS	20

struct va_http01;

/*
 * One check's http-01 state, with its curl easy handle.  The options that
 * never change are set when the handle is made (req_new()); each request
 * sets its URL, time limits, Host header and address (start_request()).
 * When the check ends the request goes back to its client's idle list,
 * handle and buffers kept, so curl's set-up is paid once per concurrent
 * check rather than once per request.
 *
 * What must not outlive a request does not:
 *  - connections: CURLOPT_FRESH_CONNECT and CURLOPT_FORBID_REUSE, so every
 *    request opens its own connection to the address just resolved and
 *    closes it when done: an answer is always what the server says now;
 *  - TLS sessions (https hops): the session-ID cache is off;
 *  - addresses: CURLOPT_CONNECT_TO names an address literal, which curl
 *    does not look up and, with its DNS cache timeout at 0, keeps no
 *    longer than the request;
 *  - the response: start_request() clears f, and curl clears its status
 *    and headers when a transfer starts.
 */
struct req {
	struct va_http01 *cl;
	struct va_check	*c;		/* the check; NULL when idle */
	CURL		*h;		/* owned */
	struct event	*guard;		/* owned; the transfer's time limit */
	int		 running;	/* h is in the multi handle */
	struct va_lookup *lookup;	/* the address lookup running, or NULL */
	struct fetch	 f;		/* the last request's response */
	struct hop	 hop;		/* the request being made */
	struct va_addrs	 addrs;		/* of hop.host */
	size_t		 ai;		/* the address tried, in addrs */
	int		 redirects;	/* followed so far */
	char		 cto[HOST_MAX + INET6_ADDRSTRLEN + 24];
					/* "HOST:PORT:ADDR:PORT" */
	char		 hosthdr[HOST_MAX + 8];/* "Host: HOST" */
	struct curl_slist cto_list;	/* over cto (not from malloc: curl
					   only reads them) */
	struct curl_slist headers;	/* over hosthdr */
	struct req	*next;		/* idle list */
};

/* The http-01 client of one loop. */
struct va_http01 {
	struct event_base *base;	/* not owned */
	CURLM		*m;		/* owned */
	struct event	*timer;		/* owned; curl's next timeout */
	struct req	*idle;		/* owned */
	size_t		 nidle;
};

static void on_fetched(struct req *, CURLcode);
static void on_guard(evutil_socket_t, short, void *);

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

/* Frees r and its handle (not in the multi handle); accepts NULL. */
static void
req_free(struct req *r)
{
	if (r == NULL)
		return;
	if (r->guard != NULL)
		event_free(r->guard);
	curl_easy_cleanup(r->h);
	anvil_buf_free(&r->f.body);
	free(r);
}

/* Makes a request with its easy handle set up.  Returns it or NULL. */
static struct req *
req_new(struct va_http01 *cl)
{
	struct req	*r;
	CURL		*h;
	CURLcode	 cc;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return NULL;
	r->cl = cl;
	anvil_buf_init(&r->f.body, ANVIL_MAX_HTTP01_BODY);
	r->guard = evtimer_new(cl->base, on_guard, r);
	h = r->h = curl_easy_init();
	if (h == NULL || r->guard == NULL) {
		req_free(r);
		return NULL;
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
	if (cc == CURLE_OK)	/* no address kept past its request */
		cc = curl_easy_setopt(h, CURLOPT_DNS_CACHE_TIMEOUT, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_SESSIONID_CACHE, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)ANVIL_MAX_HTTP01_BODY);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_WRITEDATA, &r->f);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_ERRORBUFFER, r->f.errbuf);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(h, CURLOPT_PRIVATE, r);
	if (cc != CURLE_OK) {
		req_free(r);
		return NULL;
	}
	return r;
}

/* r's transfer has left the multi handle with cc. */
static void
transfer_end(struct req *r, CURLcode cc)
{
	r->running = 0;
	(void)evtimer_del(r->guard);
	on_fetched(r, cc);
}

/*
 * The guard of r's transfer: curl has not ended it GUARD_MS after its
 * time limit.  curl 7.88 was seen, rarely and under load, to keep a
 * transfer connecting to a peer whose accept queue was full with no
 * timeout left in its multi handle, so the transfer would never end.  A
 * check must end by its deadline whatever happens: the transfer is
 * removed (curl closes its connection) and ends as timed out.
 */
static void
on_guard(evutil_socket_t fd, short what, void *arg)
{
	struct req	*r = arg;

	(void)fd;
	(void)what;
	if (!r->running)
		return;
	(void)curl_multi_remove_handle(r->cl->m, r->h);
	transfer_end(r, CURLE_OPERATION_TIMEDOUT);
}

/* Hands every ended transfer of cl over to its check. */
static void
take_done(struct va_http01 *cl)
{
	CURLMsg		*msg;
	CURLcode	 cc;
	char		*p;
	CURL		*h;
	int		 left;

	while ((msg = curl_multi_info_read(cl->m, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg does not survive the handle's removal. */
		h = msg->easy_handle;
		cc = msg->data.result;
		p = NULL;
		(void)curl_easy_getinfo(h, CURLINFO_PRIVATE, &p);
		(void)curl_multi_remove_handle(cl->m, h);
		if (p != NULL)
			transfer_end((struct req *)(void *)p, cc);
	}
}

/* A socket curl watches is ready. */
static void
on_socket(evutil_socket_t fd, short what, void *arg)
{
	struct va_http01 *cl = arg;
	int		 flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	(void)curl_multi_socket_action(cl->m, fd, flags, &running);
	take_done(cl);
}

/* curl's next timeout came. */
static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct va_http01 *cl = arg;
	int		 running;

	(void)fd;
	(void)what;
	(void)curl_multi_socket_action(cl->m, CURL_SOCKET_TIMEOUT, 0,
	    &running);
	take_done(cl);
}

/*
 * curl's socket callback: watch s for what curl asks, with one event per
 * socket (assigned to it in curl), freed when curl lets it go.  libevent
 * allows the event to be freed from inside its own callback, which is
 * where curl closes a socket.  Returns 0, or -1 (curl then fails the
 * transfer).
 */
static int
on_curl_socket(CURL *h, curl_socket_t s, int what, void *arg, void *sockp)
{
	struct va_http01 *cl = arg;
	struct event	*ev = sockp;
	short		 kind = EV_PERSIST;

	(void)h;
	if (what == CURL_POLL_REMOVE) {
		if (ev != NULL)
			event_free(ev);
		(void)curl_multi_assign(cl->m, s, NULL);
		return 0;
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (ev == NULL) {
		ev = event_new(cl->base, s, kind, on_socket, cl);
		if (ev == NULL)
			return -1;
		if (curl_multi_assign(cl->m, s, ev) != CURLM_OK) {
			event_free(ev);
			return -1;
		}
	} else if (event_del(ev) != 0 ||
	    event_assign(ev, cl->base, s, kind, on_socket, cl) != 0)
		return -1;
	return event_add(ev, NULL) == 0 ? 0 : -1;
}

/* curl's timer callback: the next timeout in ms, -1 for none.  Returns 0
 * or -1. */
static int
on_curl_timer(CURLM *m, long ms, void *arg)
{
	struct va_http01 *cl = arg;
	struct timeval	 tv;

	(void)m;
	if (ms < 0)
		return evtimer_del(cl->timer) == 0 ? 0 : -1;
	/* 0 means at once: on the next pass, not from inside curl. */
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(cl->timer, &tv) == 0 ? 0 : -1;
}

int
va__http01_new(struct event_base *base, struct va_http01 **ret)
{
	struct va_http01 *cl;
	CURLMcode	 mc;

	cl = calloc(1, sizeof(*cl));
	if (cl == NULL)
		return ANVIL_ENOMEM;
	cl->base = base;
	cl->timer = evtimer_new(base, on_timer, cl);
	cl->m = curl_multi_init();
	if (cl->timer == NULL || cl->m == NULL) {
		va__http01_free(cl);
		return ANVIL_ENOMEM;
	}
	mc = curl_multi_setopt(cl->m, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(cl->m, CURLMOPT_SOCKETDATA, cl);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(cl->m, CURLMOPT_TIMERFUNCTION,
		    on_curl_timer);
	if (mc == CURLM_OK)
		mc = curl_multi_setopt(cl->m, CURLMOPT_TIMERDATA, cl);
	if (mc != CURLM_OK) {
		va__http01_free(cl);
		return ANVIL_ENOMEM;
	}
	*ret = cl;
	return 0;
}

void
va__http01_free(struct va_http01 *cl)
{
	struct req	*r;

	if (cl == NULL)
		return;
	/* No transfer runs (the loop's checks have all ended), so no
	 * socket event is left either. */
	curl_multi_cleanup(cl->m);
	while ((r = cl->idle) != NULL) {
		cl->idle = r->next;
		req_free(r);
	}
	if (cl->timer != NULL)
		event_free(cl->timer);
	free(cl);
}

/* Ends r's check: r goes back to the idle list (or is freed), then the
 * check is handed back. */
static void
req_end(struct req *r)
{
	struct va_http01 *cl = r->cl;
	struct va_check	*c = r->c;

	r->c = NULL;
	c->cancel = NULL;
	if (cl->nidle < IDLE_MAX) {
		r->next = cl->idle;
		cl->idle = r;
		cl->nidle++;
	} else
		req_free(r);
	va__check_end(c);
}

/*
 * Starts one GET of r->hop on r's current address.  Returns 0 (its end
 * comes to on_fetched()), or curl's code when it could not start.
 */
static CURLcode
start_request(struct req *r)
{
	struct fetch	*f = &r->f;
	const char	*addr = r->addrs.a[r->ai].text;
	struct timeval	 tv;
	long		 left;
	CURLcode	 cc;

	anvil_buf_reset(&f->body);
	f->toolarge = 0;
	f->status = 0;
	f->has_location = 0;
	f->location_toolong = 0;
	f->connected = 0;
	f->errbuf[0] = '\0';

	left = va__left_ms(r->c->deadline);
	if (left == 0)
		return CURLE_OPERATION_TIMEDOUT;
	(void)snprintf(r->cto, sizeof(r->cto),
	    r->addrs.a[r->ai].family == AF_INET6 ? "%s:%d:[%s]:%d" :
	    "%s:%d:%s:%d", r->hop.host, r->hop.port, addr, r->hop.port);
	(void)snprintf(r->hosthdr, sizeof(r->hosthdr), "Host: %s",
	    r->hop.host);
	r->cto_list.data = r->cto;
	r->cto_list.next = NULL;
	r->headers.data = r->hosthdr;
	r->headers.next = NULL;

	cc = curl_easy_setopt(r->h, CURLOPT_URL, r->hop.url);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(r->h, CURLOPT_CONNECT_TO, &r->cto_list);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(r->h, CURLOPT_HTTPHEADER, &r->headers);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(r->h, CURLOPT_TIMEOUT_MS, left);
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(r->h, CURLOPT_CONNECTTIMEOUT_MS, left);
	/*
	 * An http: request goes out in one write on a connection of its
	 * own with nothing sent before it, which Nagle's algorithm never
	 * holds back: curl's TCP_NODELAY would be one setsockopt() per
	 * request for nothing.  Over TLS the request follows the
	 * handshake's last flight, which may not be acknowledged yet, so
	 * there it is kept.
	 */
	if (cc == CURLE_OK)
		cc = curl_easy_setopt(r->h, CURLOPT_TCP_NODELAY,
		    r->hop.https ? 1L : 0L);
	if (cc != CURLE_OK)
		return cc;
	tv.tv_sec = (left + GUARD_MS) / 1000;
	tv.tv_usec = ((left + GUARD_MS) % 1000) * 1000;
	if (evtimer_add(r->guard, &tv) != 0)
		return CURLE_OUT_OF_MEMORY;
	if (curl_multi_add_handle(r->cl->m, r->h) != CURLM_OK) {
		(void)evtimer_del(r->guard);
		return CURLE_OUT_OF_MEMORY;
	}
	r->running = 1;
	return CURLE_OK;
}

/* Reads what a finished transfer left in r's handle into r->f. */
static void
read_response(struct req *r, CURLcode cc)
{
	struct fetch		*f = &r->f;
	struct curl_header	*loc = NULL;
	long			 lport = 0;

	/* A local port is known once the connection was established. */
	if (curl_easy_getinfo(r->h, CURLINFO_LOCAL_PORT, &lport) ==
	    CURLE_OK && lport > 0)
		f->connected = 1;
	if (cc != CURLE_OK)
		return;
	if (curl_easy_getinfo(r->h, CURLINFO_RESPONSE_CODE, &f->status) !=
	    CURLE_OK)
		f->status = 0;
	/* The last response's Location, if any (the handle owns it). */
	if (curl_easy_header(r->h, "Location", 0, CURLH_HEADER, -1, &loc) ==
	    CURLHE_OK && loc->value != NULL) {
		if (strlen(loc->value) >= sizeof(f->location))
			f->location_toolong = 1;
		else {
			(void)strcpy(f->location, loc->value);
			f->has_location = 1;
		}
	}
}

/* Fails res for a request of hop that ended with cc, not CURLE_OK. */
static void
fetch_failed(const struct hop *hop, const struct fetch *f, CURLcode cc,
    struct va_result *res)
{
	char	 url[QUOTED_URL];

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
}

/* Starts the request of r->ai's address; on failure, ends the check. */
static void
request(struct req *r)
{
	CURLcode	 cc;

	cc = start_request(r);
	if (cc != CURLE_OK) {
		fetch_failed(&r->hop, &r->f, cc, &r->c->res);
		req_end(r);
	}
}

/* The addresses of r->hop.host are known: its first request starts. */
static void
on_addrs(void *arg, int rc, const struct va_addrs *addrs)
{
	struct req	*r = arg;

	r->lookup = NULL;
	if (rc != 0) {		/* the problem is in the check's res */
		req_end(r);
		return;
	}
	r->addrs = *addrs;
	r->ai = 0;
	request(r);
}

/* Looks r->hop.host up; its end comes to on_addrs(). */
static void
resolve(struct req *r)
{
	if (va__lookup_addrs(r->c->loop->dns, r->hop.host, r->c->deadline,
	    &r->c->res, on_addrs, r, &r->lookup) != 0)
		req_end(r);
}

/* Ends c where it waits, its lookup or its transfer (the VA stops). */
static void
cancel(struct va_check *c)
{
	struct req	*r = c->state;

	if (r->lookup != NULL) {
		va__lookup_cancel(r->lookup);
		r->lookup = NULL;
	}
	if (r->running) {
		(void)curl_multi_remove_handle(r->cl->m, r->h);
		(void)evtimer_del(r->guard);
		r->running = 0;
	}
	va__fail(&c->res, ANVIL_PROB_SERVER_INTERNAL, "Validation of %s "
	    "stopped", c->job.name);
	req_end(r);
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

/*
 * A request of r ended with cc: the next address when this one could not
 * be connected to, a redirect followed, or the check judged.
 */
static void
on_fetched(struct req *r, CURLcode cc)
{
	const struct va_config *cfg = r->c->loop->cfg;
	const struct fetch *f = &r->f;
	struct va_result *res = &r->c->res;
	struct hop	 next;
	char		 url[QUOTED_URL];

	read_response(r, cc);
	/* IPv6 first; the next address only when this one cannot connect. */
	if (cc == CURLE_COULDNT_CONNECT && r->ai + 1 < r->addrs.n) {
		r->ai++;
		request(r);
		return;
	}
	if (cc != CURLE_OK) {
		fetch_failed(&r->hop, f, cc, res);
		goto end;
	}
	if (f->status == 200) {
		judge(&r->c->job, &r->hop, f, res);
		goto end;
	}
	(void)va__quote(url, sizeof(url), r->hop.logical,
	    strlen(r->hop.logical));
	if (f->status != 301 && f->status != 302 && f->status != 303 &&
	    f->status != 307 && f->status != 308) {
		va__fail(res, ANVIL_PROB_UNAUTHORIZED, "Invalid response "
		    "from %s: HTTP %ld", url, f->status);
		goto end;
	}
	if (r->redirects == ANVIL_MAX_REDIRECTS) {
		va__fail(res, ANVIL_PROB_UNAUTHORIZED, "Fetching %s: too many "
		    "redirects (more than %d)", url, ANVIL_MAX_REDIRECTS);
		goto end;
	}
	if (!f->has_location) {
		va__fail(res, ANVIL_PROB_UNAUTHORIZED, "Fetching %s: HTTP %ld "
		    "redirect %s", url, f->status, f->location_toolong ?
		    "to a URL too long to follow" : "without a Location");
		goto end;
	}
	if (next_hop(cfg, &r->hop, f->location, &next, res) != 0)
		goto end;
	/* Terminates: redirects are counted, and each hop is resolved
	 * again. */
	r->hop = next;
	r->redirects++;
	resolve(r);
	return;
end:
	req_end(r);
}

void
va__http01(struct va_check *c)
{
	struct va_http01 *cl = c->loop->http;
	struct req	*r;

	r = cl->idle;
	if (r != NULL) {
		cl->idle = r->next;
		cl->nidle--;
	} else if ((r = req_new(cl)) == NULL) {
		va__fail(&c->res, ANVIL_PROB_SERVER_INTERNAL, "Validation of "
		    "%s could not start: out of memory", c->job.name);
		va__check_end(c);
		return;
	}
	r->next = NULL;
	r->c = c;
	r->redirects = 0;
	r->lookup = NULL;
	c->state = r;
	c->cancel = cancel;
	if (first_hop(c->loop->cfg, &c->job, &r->hop, &c->res) != 0) {
		req_end(r);
		return;
	}
	resolve(r);
}

void
va_check_http01(const struct va_config *cfg, const struct va_job *job,
    struct va_result *res)
{
	va__check_sync(cfg, job, res, va__http01);
}
