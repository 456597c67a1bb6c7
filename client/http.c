/*
 * http.c - the agent's HTTPS requests, on libcurl.
 *
 * One easy handle per CA (connections are kept alive between requests).
 * HTTPS only, redirects not followed, certificates verified against
 * --ca-bundle or the system's trust, a connect timeout and a whole-request
 * timeout, the body capped at ANVIL_MAX_RESPONSE_BODY, and the few headers
 * ACME uses captured (each capped at AG_MAX_HEADER).  A signal sets
 * ag_interrupted and the progress callback aborts the transfer.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "agent.h"

struct ag_http {
	CURL	*curl;
	char	*ca_bundle;	/* malloc(), or NULL */
	int	 timeout;
};

/* The response being filled, and whether the body went over its cap. */
struct xfer {
	struct ag_resp	*r;
	int		 too_big;
};

int
ag_http_new(const char *ca_bundle, int timeout, struct ag_http **ret)
{
	struct ag_http	*h;

	h = calloc(1, sizeof(*h));
	if (h == NULL)
		return ANVIL_ENOMEM;
	h->timeout = timeout;
	h->curl = curl_easy_init();
	if (h->curl == NULL)
		goto fail;
	if (ca_bundle != NULL) {
		h->ca_bundle = strdup(ca_bundle);
		if (h->ca_bundle == NULL)
			goto fail;
	}
	*ret = h;
	return 0;
fail:
	ag_http_free(h);
	return ANVIL_ENOMEM;
}

void
ag_http_free(struct ag_http *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);
	free(h->ca_bundle);
	free(h);
}

void
ag_resp_init(struct ag_resp *r)
{
	memset(r, 0, sizeof(*r));
	anvil_buf_init(&r->body, ANVIL_MAX_RESPONSE_BODY);
	r->retry_after = -1;
}

void
ag_resp_done(struct ag_resp *r)
{
	anvil_buf_free(&r->body);
	free(r->nonce);
	free(r->location);
	free(r->content_type);
	free(r->link_up);
	ag_resp_init(r);
}

/* Forgets the headers of an earlier answer (1xx, or a retried request). */
static void
resp_clear_headers(struct ag_resp *r)
{
	free(r->nonce);
	free(r->location);
	free(r->content_type);
	free(r->link_up);
	r->nonce = r->location = r->content_type = r->link_up = NULL;
	r->retry_after = -1;
	anvil_buf_reset(&r->body);
}

static size_t
on_body(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	size_t		 n = size * nmemb;

	if (anvil_buf_add(&x->r->body, p, n) != 0) {
		x->too_big = 1;
		return 0;	/* aborts the transfer */
	}
	return n;
}

/* Replaces *dst with a copy of len bytes of v. */
static void
keep(char **dst, const char *v, size_t len)
{
	char	*s;

	s = strndup(v, len);
	if (s == NULL)
		return;	/* the header is then missing: handled by callers */
	free(*dst);
	*dst = s;
}

/* Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. */
static int64_t
parse_retry_after(const char *v, size_t len)
{
	char	 buf[64];
	int64_t	 n = 0, when;
	size_t	 i;

	if (len == 0 || len >= sizeof(buf))
		return -1;
	if (isdigit((unsigned char)v[0])) {
		for (i = 0; i < len; i++) {
			if (!isdigit((unsigned char)v[i]))
				return -1;
			if (n > 100000000)
				return 100000000;	/* far enough */
			n = n * 10 + (v[i] - '0');
		}
		return n;
	}
	memcpy(buf, v, len);
	buf[len] = '\0';
	when = (int64_t)curl_getdate(buf, NULL);
	if (when < 0)
		return -1;
	n = when - ag_now();
	return n < 0 ? 0 : n;
}

/*
 * Finds the target of a rel="up" link in one Link header value
 * (RFC 8288: <uri>; param, <uri>; param ...).  The scan moves forward
 * through the value and stops at its end.
 */
static void
parse_link(struct ag_resp *r, const char *v, size_t len)
{
	const char	*end = v + len, *lt, *gt, *next;

	while (v < end && r->link_up == NULL) {
		lt = memchr(v, '<', (size_t)(end - v));
		if (lt == NULL)
			return;
		gt = memchr(lt, '>', (size_t)(end - lt));
		if (gt == NULL)
			return;
		next = memchr(gt, ',', (size_t)(end - gt));
		if (next == NULL)
			next = end;
		if (memmem(gt, (size_t)(next - gt), "rel=\"up\"", 8) != NULL ||
		    memmem(gt, (size_t)(next - gt), "rel=up", 6) != NULL)
			keep(&r->link_up, lt + 1, (size_t)(gt - lt - 1));
		v = next;
	}
}

static size_t
on_header(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer	*x = arg;
	struct ag_resp	*r = x->r;
	size_t		 n = size * nmemb, klen, vlen;
	const char	*colon, *v;

	if (n >= 5 && strncmp(p, "HTTP/", 5) == 0) {
		resp_clear_headers(r);	/* a new answer starts */
		return n;
	}
	colon = memchr(p, ':', n);
	if (colon == NULL)
		return n;
	klen = (size_t)(colon - p);
	v = colon + 1;
	vlen = n - klen - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen > 0 && isspace((unsigned char)v[vlen - 1]))
		vlen--;
	if (vlen > AG_MAX_HEADER || memchr(v, '\0', vlen) != NULL)
		return n;	/* ignored: no header we use is that long */
#define IS(name) (klen == sizeof(name) - 1 && strncasecmp(p, name, klen) == 0)
	if (IS("Replay-Nonce"))
		keep(&r->nonce, v, vlen);
	else if (IS("Location"))
		keep(&r->location, v, vlen);
	else if (IS("Content-Type"))
		keep(&r->content_type, v, vlen);
	else if (IS("Retry-After"))
		r->retry_after = parse_retry_after(v, vlen);
	else if (IS("Link"))
		parse_link(r, v, vlen);
#undef IS
	return n;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	return ag_interrupted ? 1 : 0;
}

int
ag_http_do(struct ag_http *h, const char *method, const char *url,
    const char *body, size_t len, const char *accept, struct ag_resp *r)
{
	struct curl_slist	*hdrs = NULL, *tmp;
	struct xfer		 x = { r, 0 };
	char			 cerr[CURL_ERROR_SIZE] = "";
	CURLcode		 cc;
	char			 acc[128];
	double			 secs;
	int			 rc = AG_ECA;

	ag_resp_done(r);
	curl_easy_reset(h->curl);
	if (accept != NULL) {
		(void)snprintf(acc, sizeof(acc), "Accept: %s", accept);
		tmp = curl_slist_append(hdrs, acc);
		if (tmp == NULL)
			goto nomem;
		hdrs = tmp;
	}
	if (strcmp(method, "POST") == 0) {
		tmp = curl_slist_append(hdrs,
		    "Content-Type: application/jose+json");
		if (tmp == NULL)
			goto nomem;
		hdrs = tmp;
		(void)curl_easy_setopt(h->curl, CURLOPT_POST, 1L);
		(void)curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, body);
		(void)curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)len);
	} else if (strcmp(method, "HEAD") == 0)
		(void)curl_easy_setopt(h->curl, CURLOPT_NOBODY, 1L);
	(void)curl_easy_setopt(h->curl, CURLOPT_URL, url);
	(void)curl_easy_setopt(h->curl, CURLOPT_PROTOCOLS_STR, "https");
	(void)curl_easy_setopt(h->curl, CURLOPT_FOLLOWLOCATION, 0L);
	(void)curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYPEER, 1L);
	(void)curl_easy_setopt(h->curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (h->ca_bundle != NULL)
		(void)curl_easy_setopt(h->curl, CURLOPT_CAINFO, h->ca_bundle);
	(void)curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT, 10L);
	(void)curl_easy_setopt(h->curl, CURLOPT_TIMEOUT, (long)h->timeout);
	(void)curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	(void)curl_easy_setopt(h->curl, CURLOPT_USERAGENT, "anvil/0.1");
	(void)curl_easy_setopt(h->curl, CURLOPT_HTTPHEADER, hdrs);
	(void)curl_easy_setopt(h->curl, CURLOPT_WRITEFUNCTION, on_body);
	(void)curl_easy_setopt(h->curl, CURLOPT_WRITEDATA, &x);
	(void)curl_easy_setopt(h->curl, CURLOPT_HEADERFUNCTION, on_header);
	(void)curl_easy_setopt(h->curl, CURLOPT_HEADERDATA, &x);
	(void)curl_easy_setopt(h->curl, CURLOPT_NOPROGRESS, 0L);
	(void)curl_easy_setopt(h->curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	(void)curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, cerr);

	cc = curl_easy_perform(h->curl);
	if (cc != CURLE_OK) {
		if (x.too_big)
			ag_err("%s: answer larger than %d bytes", url,
			    ANVIL_MAX_RESPONSE_BODY);
		else if (ag_interrupted) {
			ag_err("interrupted");
			rc = AG_EINTR;
		} else if (cc == CURLE_OPERATION_TIMEDOUT) {
			if (curl_easy_getinfo(h->curl, CURLINFO_TOTAL_TIME,
			    &secs) != CURLE_OK)
				secs = h->timeout;
			ag_err("%s: no answer within %.0f s (timed out; see "
			    "http_timeout)", url, secs);
		} else
			ag_err("%s: %s", url, cerr[0] != '\0' ? cerr :
			    curl_easy_strerror(cc));
		goto out;
	}
	(void)curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &r->status);
	rc = 0;
	goto out;
nomem:
	rc = ANVIL_ENOMEM;
out:
	curl_slist_free_all(hdrs);
	return rc;
}
