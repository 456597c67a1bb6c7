/*
 * flow.c - one anvil-load worker: its account, then complete issuances
 * one after the other (RFC 8555 §7.1 flow), as a state machine driven by
 * HTTP answers and poll timers.
 *
 * Setup (not timed as throughput): GET directory, HEAD newNonce, POST
 * newAccount (ES256, JWK in the header).  Each flow: POST newOrder for a
 * fresh name, POST-as-GET the authorization, publish the http-01 key
 * authorization and POST the challenge, poll the authorization until
 * valid (not when the challenge's answer already says valid), POST
 * finalize with a CSR made from a pre-generated key, poll the
 * order until valid, POST-as-GET the certificate and check it (issuer
 * signature, key, name).
 *
 * Polling follows RFC 8555 §7.5.1: after POSTing the challenge the worker
 * does not poll the authorization until its own http-01 responder has
 * served the token (the server's validation request); then it polls after
 * LOAD_POLL_FIRST_MS, doubling the wait each time, never waiting longer
 * than Retry-After (capped at --max-poll-wait; --poll-ms without one).
 * Until the fetch is seen, Retry-After is the fallback wait.  Orders in
 * processing are polled after Retry-After (§7.4), or --poll-ms.
 * A badNonce answer (§6.5) is retried with the nonce it carries, at most
 * LOAD_MAX_BADNONCE times per request.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>

#include "load.h"

enum wstate {
	W_DIR,		/* GET directory */
	W_NONCE,	/* HEAD newNonce (setup, and when out of nonces) */
	W_ACCOUNT,	/* POST newAccount */
	W_READY,	/* waiting for the timed phase */
	W_ORDER,	/* POST newOrder */
	W_AUTHZ,	/* POST-as-GET authorization */
	W_CHALL,	/* POST challenge */
	W_AUTHZ_POLL,
	W_FINALIZE,
	W_ORDER_POLL,
	W_CERT,
	W_STOPPED,
	W__MAX
};

struct worker {
	struct bench		*b;
	unsigned		 id;
	struct http_conn	*conn;		/* owned */
	EVP_PKEY		*key;		/* account key; owned */
	struct anvil_jwk	*jwk;		/* its JWK; owned */
	struct signer		*signer;	/* JWS with key; owned */
	struct anvil_buf	 body;		/* signed request, re-used */
	struct event		*timer;		/* poll delay; owned */
	enum wstate		 st;

	char			 new_nonce[LOAD_MAX_URL];
	char			 new_account[LOAD_MAX_URL];
	char			 new_order[LOAD_MAX_URL];
	char			 kid[LOAD_MAX_URL];
	char			 nonce[LOAD_MAX_NONCE + 1];	/* "" if none */

	/* The signed request in flight, kept to resend after badNonce. */
	char			 url[LOAD_MAX_URL];
	char			*payload;	/* malloc(); "" = POST-as-GET */
	enum wstate		 post_state;	/* state while it is answered */
	unsigned		 badnonce;

	/* The current flow. */
	char			 name[ANVIL_MAX_NAME_LEN + 1];
	char			 order_url[LOAD_MAX_URL];
	char			 authz_url[LOAD_MAX_URL];
	char			 chall_url[LOAD_MAX_URL];
	char			 finalize_url[LOAD_MAX_URL];
	char			 cert_url[LOAD_MAX_URL];
	char			 token[LOAD_MAX_TOKEN + 1];
	char			 keyauth[LOAD_MAX_TOKEN + ANVIL_THUMBPRINT_LEN
				    + 2];
	int			 published;	/* token is being served */
	int			 served;	/* the server fetched it */
	unsigned		 backoff_ms;	/* last authz poll wait; 0 =
						   none since the fetch */
	struct certkey		*cert_key;	/* borrowed from the pool */
	double			 t_flow, t_step;
};

static void	on_resp(void *, int, struct http_resp *);
static void	next_flow(struct worker *);

/* Copies s into a URL field.  Returns 0, or -1 when absent or too long. */
static int
copy_url(char *dst, const char *s)
{
	size_t	 n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n == 0 || n >= LOAD_MAX_URL)
		return -1;
	memcpy(dst, s, n + 1);
	return 0;
}

static void
unpublish(struct worker *w)
{
	w->published = 0;
	w->served = 0;
	w->backoff_ms = 0;
	w->token[0] = '\0';
}

/*
 * Ends the current step with an error counted under what.  During setup
 * the worker gives up; during the run it starts the next flow.
 */
static void
flow_error(struct worker *w, const char *what)
{
	struct bench	*b = w->b;

	unpublish(w);
	if (b->verbose)
		fprintf(stderr, "anvil-load: worker %u: %s%s%s%s\n", w->id,
		    what, w->name[0] != '\0' ? " (" : "", w->name,
		    w->name[0] != '\0' ? ")" : "");
	if (w->st <= W_ACCOUNT) {
		stats_error(&b->stats, what);
		w->st = W_STOPPED;
		bench_worker_ready(b, w, 0);
		return;
	}
	bench_flow_failed(b, what);
	next_flow(w);
}

/* Fails the step with the error of a local call. */
static void
local_error(struct worker *w, const char *what, int rc)
{
	char	 s[128];

	snprintf(s, sizeof(s), "%s: %s", what, anvil_strerror(rc));
	flow_error(w, s);
}

/* Sends a plain request (directory, newNonce). */
static void
send_plain(struct worker *w, const char *method, const char *url,
    enum wstate st)
{
	int	 rc;

	w->st = st;
	rc = http_conn_request(w->conn, method, url, NULL, NULL, 0, on_resp,
	    w);
	if (rc != 0)
		local_error(w, "request", rc);
}

/*
 * Signs and sends the pending request (w->url, w->payload) with the
 * nonce we hold; without one, fetches a nonce first (the answer comes
 * back to on_resp in W_NONCE, which sends the pending request).
 */
static void
send_pending(struct worker *w)
{
	int	 rc;

	if (w->nonce[0] == '\0') {
		send_plain(w, "HEAD", w->new_nonce, W_NONCE);
		return;
	}
	rc = signer_jws(w->signer, w->kid[0] != '\0' ? w->kid : NULL,
	    w->nonce, w->url, w->payload, strlen(w->payload), &w->body);
	w->nonce[0] = '\0';	/* used up, whatever the answer */
	if (rc == 0) {
		w->st = w->post_state;
		rc = http_conn_request(w->conn, "POST", w->url,
		    "application/jose+json", w->body.data, w->body.len,
		    on_resp, w);
	}
	if (rc != 0)
		local_error(w, "sign and send", rc);
}

/* Starts a signed POST of payload (NULL: POST-as-GET) to url; the answer
 * arrives in state st. */
static void
post(struct worker *w, const char *url, const char *payload, enum wstate st)
{
	free(w->payload);
	w->payload = strdup(payload != NULL ? payload : "");
	if (w->payload == NULL || copy_url(w->url, url) != 0) {
		local_error(w, "post", ANVIL_ENOMEM);
		return;
	}
	w->post_state = st;
	w->badnonce = 0;
	send_pending(w);
}

static void
on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct worker	*w = arg;

	if (w->st == W_AUTHZ_POLL)
		post(w, w->authz_url, NULL, W_AUTHZ_POLL);
	else
		post(w, w->order_url, NULL, W_ORDER_POLL);
}

/* The longest wait before the next poll: Retry-After capped at
 * --max-poll-wait, or --poll-ms without one. */
static unsigned long
poll_cap_ms(const struct bench *b, const struct http_resp *resp)
{
	unsigned long	 ms;

	if (resp->retry_after < 0)
		return b->poll_ms;
	ms = (unsigned long)resp->retry_after * 1000;
	return ms > b->max_wait_ms ? b->max_wait_ms : ms;
}

static void
arm_timer(struct worker *w, unsigned long ms)
{
	struct timeval	 tv;

	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (evtimer_add(w->timer, &tv) != 0)
		flow_error(w, "timer");
}

/* Polls again in state st after Retry-After (capped) or --poll-ms. */
static void
poll_later(struct worker *w, const struct http_resp *resp, enum wstate st)
{
	w->b->stats.polls++;
	w->st = st;
	arm_timer(w, poll_cap_ms(w->b, resp));
}

/*
 * Polls the authorization again (§7.5.1): before the server has fetched
 * the token, after the full Retry-After (the fetch, when it comes, cuts
 * the wait short: worker_keyauth); after it, after LOAD_POLL_FIRST_MS,
 * doubling, at most Retry-After.
 */
static void
poll_authz_later(struct worker *w, const struct http_resp *resp)
{
	unsigned long	 cap = poll_cap_ms(w->b, resp), ms = cap;

	w->b->stats.polls++;
	w->st = W_AUTHZ_POLL;
	if (w->served) {
		w->backoff_ms = w->backoff_ms == 0 ? LOAD_POLL_FIRST_MS :
		    w->backoff_ms * 2;
		if (w->backoff_ms < cap)
			ms = w->backoff_ms;
	}
	arm_timer(w, ms);
}

/* Records the duration of the step that began at t_step. */
static void
step_done(struct worker *w, enum step s)
{
	double	 t = now_mono();

	if (stats_add(&w->b->stats, s, (t - w->t_step) * 1000.0) != 0)
		stats_error(&w->b->stats, "out of memory");
	w->t_step = t;
}

/* Parses the body as a JSON object; fails the step if it is not one. */
static json_t *
body_json(struct worker *w, const struct http_resp *resp)
{
	json_t	*o = NULL;

	if (anvil_json_parse_object(resp->body, resp->body_len, &o) != 0) {
		flow_error(w, "protocol: body is not a JSON object");
		return NULL;
	}
	return o;
}

/* The short name of an ACME problem type ("badNonce"), else the type. */
static const char *
short_type(const char *type)
{
	size_t	 n = strlen(ANVIL_PROBLEM_NS);

	if (type == NULL)
		return "untyped";
	return strncmp(type, ANVIL_PROBLEM_NS, n) == 0 ? type + n : type;
}

/*
 * Handles an error answer.  Returns 1 when it was one (the step is failed
 * or the request resent), 0 for a success status.
 */
static int
handle_problem(struct worker *w, const struct http_resp *resp)
{
	json_t		*o = NULL;
	const char	*type = NULL;
	char		 what[160];

	if (resp->status >= 200 && resp->status < 300)
		return 0;
	if (resp->body_len > 0 && anvil_json_parse_object(resp->body,
	    resp->body_len, &o) == 0)
		type = anvil_json_str(o, "type");
	if (type != NULL && strcmp(type, ANVIL_PROBLEM_NS "badNonce") == 0 &&
	    w->badnonce < LOAD_MAX_BADNONCE && w->st != W_NONCE &&
	    w->st != W_DIR) {
		json_decref(o);
		w->badnonce++;
		w->b->stats.badnonce_retries++;
		send_pending(w);
		return 1;
	}
	if (type != NULL)
		snprintf(what, sizeof(what), "%s", short_type(type));
	else
		snprintf(what, sizeof(what), "http-%d", resp->status);
	json_decref(o);
	flow_error(w, what);
	return 1;
}

/* The error type of the first challenge that has one, for a report. */
static void
authz_error(json_t *authz, char *out, size_t outsz)
{
	json_t		*chs, *ch, *err;
	size_t		 i;

	snprintf(out, outsz, "authz-invalid");
	chs = anvil_json_arr(authz, "challenges");
	json_array_foreach(chs, i, ch) {
		err = anvil_json_obj(ch, "error");
		if (err != NULL) {
			snprintf(out, outsz, "authz-invalid:%s",
			    short_type(anvil_json_str(err, "type")));
			return;
		}
	}
}

/* ---- setup ---- */

static void
got_directory(struct worker *w, const struct http_resp *resp)
{
	json_t	*d;

	d = body_json(w, resp);
	if (d == NULL)
		return;
	if (copy_url(w->new_nonce, anvil_json_str(d, "newNonce")) != 0 ||
	    copy_url(w->new_account, anvil_json_str(d, "newAccount")) != 0 ||
	    copy_url(w->new_order, anvil_json_str(d, "newOrder")) != 0) {
		json_decref(d);
		flow_error(w, "protocol: directory lacks a URL");
		return;
	}
	json_decref(d);
	send_plain(w, "HEAD", w->new_nonce, W_NONCE);
}

static void
got_account(struct worker *w, const struct http_resp *resp)
{
	step_done(w, STEP_ACCOUNT);
	if (copy_url(w->kid, resp->location) != 0) {
		flow_error(w, "protocol: account without Location");
		return;
	}
	w->st = W_READY;
	bench_worker_ready(w->b, w, 1);
}

/* ---- one issuance ---- */

static void
got_order(struct worker *w, const struct http_resp *resp)
{
	json_t	*o;
	json_t	*az;

	step_done(w, STEP_ORDER);
	o = body_json(w, resp);
	if (o == NULL)
		return;
	az = anvil_json_arr(o, "authorizations");
	if (copy_url(w->order_url, resp->location) != 0 ||
	    copy_url(w->finalize_url, anvil_json_str(o, "finalize")) != 0 ||
	    json_array_size(az) != 1 ||
	    copy_url(w->authz_url, json_string_value(json_array_get(az, 0)))
	    != 0) {
		json_decref(o);
		flow_error(w, "protocol: order lacks a URL");
		return;
	}
	json_decref(o);
	post(w, w->authz_url, NULL, W_AUTHZ);
}

/* Builds the CSR for the flow's name and POSTs it to finalize. */
static void
finalize(struct worker *w)
{
	static const char	 pre[] = "{\"csr\":\"", end[] = "\"}";
	uint8_t			 der[2048];
	char			 payload[sizeof(pre) + sizeof(end) +
				    sizeof(der) * 4 / 3 + 4];
	size_t			 der_len = sizeof(der), n;
	int			 rc;

	rc = certkey_csr(w->cert_key, w->name, der, &der_len);
	if (rc != 0) {
		local_error(w, "csr", rc);
		return;
	}
	memcpy(payload, pre, sizeof(pre) - 1);
	n = sizeof(pre) - 1;
	n += anvil_b64url_encode_to(payload + n, der, der_len);
	memcpy(payload + n, end, sizeof(end));
	w->t_step = now_mono();
	post(w, w->finalize_url, payload, W_FINALIZE);
}

static void
got_authz(struct worker *w, const struct http_resp *resp, int polled)
{
	json_t		*a, *chs, *ch;
	const char	*status, *token = NULL;
	char		 what[160];
	size_t		 i;

	a = body_json(w, resp);
	if (a == NULL)
		return;
	status = anvil_json_str(a, "status");
	if (status == NULL)
		status = "";
	if (!polled) {
		step_done(w, STEP_AUTHZ);
		chs = anvil_json_arr(a, "challenges");
		json_array_foreach(chs, i, ch) {
			const char *type = anvil_json_str(ch, "type");

			if (type != NULL && strcmp(type, "http-01") == 0) {
				token = anvil_json_str(ch, "token");
				if (copy_url(w->chall_url,
				    anvil_json_str(ch, "url")) != 0)
					token = NULL;
				break;
			}
		}
		if (strcmp(status, "pending") == 0) {
			/* §8.1: token "." base64url(JWK thumbprint) */
			if (token == NULL || strlen(token) > LOAD_MAX_TOKEN ||
			    strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefgh"
			    "ijklmnopqrstuvwxyz0123456789-_") != strlen(token)) {
				json_decref(a);
				flow_error(w, "protocol: no usable http-01 "
				    "challenge");
				return;
			}
			snprintf(w->keyauth, sizeof(w->keyauth), "%s.%s",
			    token, anvil_jwk_thumbprint(w->jwk));
			snprintf(w->token, sizeof(w->token), "%s", token);
			w->published = 1;
			w->served = 0;
			w->backoff_ms = 0;
			json_decref(a);
			post(w, w->chall_url, "{}", W_CHALL);
			return;
		}
	}
	if (strcmp(status, "valid") == 0) {
		json_decref(a);
		if (polled)
			step_done(w, STEP_CHALL);
		unpublish(w);
		finalize(w);
		return;
	}
	if (polled && strcmp(status, "pending") == 0) {
		json_decref(a);
		poll_authz_later(w, resp);
		return;
	}
	if (strcmp(status, "invalid") == 0)
		authz_error(a, what, sizeof(what));
	else
		snprintf(what, sizeof(what), "authz-%.32s", status);
	json_decref(a);
	flow_error(w, what);
}

static void
got_chall(struct worker *w, const struct http_resp *resp)
{
	json_t		*c;
	const char	*status;
	char		 what[160];
	int		 valid;

	c = body_json(w, resp);
	if (c == NULL)
		return;
	status = anvil_json_str(c, "status");
	if (status != NULL && strcmp(status, "invalid") == 0) {
		snprintf(what, sizeof(what), "challenge-invalid:%s",
		    short_type(anvil_json_str(anvil_json_obj(c, "error"),
		    "type")));
		json_decref(c);
		flow_error(w, what);
		return;
	}
	valid = status != NULL && strcmp(status, "valid") == 0;
	json_decref(c);
	/* A valid challenge makes its authorization valid (§7.1.6), so
	 * the flow goes on to finalize without polling it; otherwise the
	 * authorization is polled after the server's wait. */
	if (valid) {
		step_done(w, STEP_CHALL);
		unpublish(w);
		finalize(w);
	} else
		poll_authz_later(w, resp);
}

static void
got_order_state(struct worker *w, const struct http_resp *resp)
{
	json_t		*o;
	const char	*status;
	char		 what[160];

	o = body_json(w, resp);
	if (o == NULL)
		return;
	status = anvil_json_str(o, "status");
	if (status == NULL)
		status = "";
	if (strcmp(status, "valid") == 0) {
		if (copy_url(w->cert_url, anvil_json_str(o, "certificate"))
		    != 0) {
			json_decref(o);
			flow_error(w, "protocol: valid order without "
			    "certificate");
			return;
		}
		json_decref(o);
		step_done(w, STEP_FINALIZE);
		post(w, w->cert_url, NULL, W_CERT);
		return;
	}
	if (strcmp(status, "processing") == 0 ||
	    strcmp(status, "ready") == 0) {
		json_decref(o);
		poll_later(w, resp, W_ORDER_POLL);
		return;
	}
	if (strcmp(status, "invalid") == 0)
		snprintf(what, sizeof(what), "order-invalid:%s",
		    short_type(anvil_json_str(anvil_json_obj(o, "error"),
		    "type")));
	else
		snprintf(what, sizeof(what), "order-%.32s", status);
	json_decref(o);
	flow_error(w, what);
}

static void
got_cert(struct worker *w, const struct http_resp *resp)
{
	const char	*why;
	double		 t;

	step_done(w, STEP_DOWNLOAD);
	if (cert_check(&w->b->issuers, w->cert_key, w->name,
	    resp->body, resp->body_len,
	    &why) != 0) {
		flow_error(w, why);
		return;
	}
	t = now_mono();
	if (stats_add(&w->b->stats, STEP_FLOW, (t - w->t_flow) * 1000.0)
	    != 0)
		stats_error(&w->b->stats, "out of memory");
	w->b->issued++;
	next_flow(w);
}

/* Starts the next issuance, or stops the worker when the run is over. */
static void
next_flow(struct worker *w)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t		 rnd[8];
	char		 payload[ANVIL_MAX_NAME_LEN + 96];
	size_t		 i;

	unpublish(w);
	w->name[0] = '\0';
	if (!bench_may_start(w->b)) {
		w->st = W_STOPPED;
		bench_worker_idle(w->b);
		return;
	}
	if (anvil_rand_bytes(rnd, sizeof(rnd)) != 0) {
		flow_error(w, "random");
		return;
	}
	/* A fresh label each time: no authorization can be re-used. */
	w->name[0] = 'l';
	for (i = 0; i < sizeof(rnd); i++) {
		w->name[1 + 2 * i] = hex[rnd[i] >> 4];
		w->name[2 + 2 * i] = hex[rnd[i] & 0xf];
	}
	snprintf(w->name + 1 + 2 * sizeof(rnd),
	    sizeof(w->name) - 1 - 2 * sizeof(rnd), ".%s", w->b->suffix);
	snprintf(payload, sizeof(payload), "{\"identifiers\":[{\"type\":"
	    "\"dns\",\"value\":\"%s\"}]}", w->name);
	w->cert_key = bench_next_key(w->b);
	w->t_flow = now_mono();
	w->t_step = w->t_flow;
	post(w, w->new_order, payload, W_ORDER);
}

static void
on_resp(void *arg, int err, struct http_resp *resp)
{
	struct worker	*w = arg;
	char		 what[300];

	if (err != 0) {
		snprintf(what, sizeof(what), "io: %s", err == ANVIL_ETIMEDOUT ?
		    "timed out" : *http_conn_error(w->conn) != '\0' ?
		    http_conn_error(w->conn) : anvil_strerror(err));
		flow_error(w, what);
		return;
	}
	if (w->b->verbose > 1)
		fprintf(stderr, "anvil-load: worker %u: state %d: HTTP %d, "
		    "%zu bytes\n", w->id, (int)w->st, resp->status,
		    resp->body_len);
	if (resp->nonce != NULL)
		snprintf(w->nonce, sizeof(w->nonce), "%s", resp->nonce);
	if (handle_problem(w, resp))
		return;
	switch (w->st) {
	case W_DIR:
		got_directory(w, resp);
		break;
	case W_NONCE:
		if (w->nonce[0] == '\0') {
			flow_error(w, "protocol: newNonce without "
			    "Replay-Nonce");
			break;
		}
		if (w->kid[0] == '\0' && w->payload == NULL) {
			/* Setup: the account comes next. */
			w->t_step = now_mono();
			post(w, w->new_account,
			    "{\"termsOfServiceAgreed\":true}", W_ACCOUNT);
		} else
			send_pending(w);
		break;
	case W_ACCOUNT:
		got_account(w, resp);
		break;
	case W_ORDER:
		got_order(w, resp);
		break;
	case W_AUTHZ:
		got_authz(w, resp, 0);
		break;
	case W_CHALL:
		got_chall(w, resp);
		break;
	case W_AUTHZ_POLL:
		got_authz(w, resp, 1);
		break;
	case W_FINALIZE:
	case W_ORDER_POLL:
		got_order_state(w, resp);
		break;
	case W_CERT:
		got_cert(w, resp);
		break;
	case W_READY:
	case W_STOPPED:
	case W__MAX:
		break;
	}
}

int
worker_new(struct bench *b, unsigned id, struct worker **ret)
{
	struct worker	*w;
	json_t		*jwk;
	int		 rc;

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return ANVIL_ENOMEM;
	anvil_buf_init(&w->body, ANVIL_MAX_REQUEST_BODY);
	w->b = b;
	w->id = id;
	rc = http_conn_new(b->base, b->ssl, b->directory, &w->conn);
	if (rc != 0)
		goto fail;
	rc = anvil_key_generate(ANVIL_KEY_EC256, &w->key);
	if (rc != 0)
		goto fail;
	rc = anvil_jwk_from_pkey(w->key, &w->jwk);
	if (rc != 0)
		goto fail;
	rc = ANVIL_ENOMEM;
	jwk = anvil_jwk_to_json(w->jwk);
	if (jwk == NULL)
		goto fail;
	rc = signer_new(w->key, jwk, &w->signer);
	json_decref(jwk);
	if (rc != 0)
		goto fail;
	rc = ANVIL_ENOMEM;
	w->timer = evtimer_new(b->base, on_timer, w);
	if (w->timer == NULL)
		goto fail;
	*ret = w;
	return 0;
fail:
	worker_free(w);
	return rc;
}

void
worker_setup(struct worker *w)
{
	send_plain(w, "GET", w->b->directory, W_DIR);
}

void
worker_start(struct worker *w)
{
	if (w->st == W_READY)
		next_flow(w);
}

/*
 * The key authorization w publishes for token, or NULL.  Being asked is
 * the server's validation request (§7.5.1): a worker waiting for it polls
 * soon after, instead of after the whole Retry-After.
 */
const char *
worker_keyauth(struct worker *w, const char *token)
{
	if (!w->published || strcmp(w->token, token) != 0)
		return NULL;
	if (!w->served) {
		w->served = 1;
		w->backoff_ms = 0;
		if (w->st == W_AUTHZ_POLL &&
		    evtimer_pending(w->timer, NULL)) {
			w->backoff_ms = LOAD_POLL_FIRST_MS;
			arm_timer(w, w->backoff_ms);
		}
	}
	return w->keyauth;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	if (w->timer != NULL)
		event_free(w->timer);
	http_conn_free(w->conn);
	signer_free(w->signer);
	anvil_buf_free(&w->body);
	anvil_jwk_free(w->jwk);
	EVP_PKEY_free(w->key);
	free(w->payload);
	free(w);
}
