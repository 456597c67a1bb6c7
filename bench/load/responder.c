/*
 * responder.c - the http-01 answers (RFC 8555 §8.3) of every worker, from
 * one evhttp server on 127.0.0.1 in the driver's event loop.
 *
 * A request for /.well-known/acme-challenge/TOKEN gets the key
 * authorization a worker published for TOKEN, as text/plain; anything
 * else is a 404.  The lookup scans the workers (at most
 * LOAD_MAX_WORKERS, each holding at most one token): at the concurrency
 * a 2-core machine can drive, a table would cost more than it saves.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "load.h"

#define PREFIX "/.well-known/acme-challenge/"

struct responder {
	struct bench	*b;
	struct evhttp	*http;
};

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct responder	*r = arg;
	const char		*uri, *token, *ka;
	struct evbuffer		*out;

	uri = evhttp_request_get_uri(req);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET ||
	    uri == NULL || strncmp(uri, PREFIX, strlen(PREFIX)) != 0) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	token = uri + strlen(PREFIX);
	ka = strlen(token) <= LOAD_MAX_TOKEN ? bench_keyauth(r->b, token) :
	    NULL;
	if (ka == NULL) {
		evhttp_send_error(req, HTTP_NOTFOUND, NULL);
		return;
	}
	out = evhttp_request_get_output_buffer(req);
	if (evbuffer_add(out, ka, strlen(ka)) != 0 ||
	    evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain") != 0) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evhttp_send_reply(req, HTTP_OK, "OK", NULL);
}

int
responder_new(struct bench *b, uint16_t port, struct responder **ret)
{
	struct responder	*r;

	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return ANVIL_ENOMEM;
	r->b = b;
	r->http = evhttp_new(b->base);
	if (r->http == NULL) {
		free(r);
		return ANVIL_ENOMEM;
	}
	evhttp_set_allowed_methods(r->http, EVHTTP_REQ_GET);
	evhttp_set_max_headers_size(r->http, 16384);
	evhttp_set_max_body_size(r->http, 1024);
	evhttp_set_timeout(r->http, LOAD_IO_TIMEOUT_S);
	evhttp_set_gencb(r->http, on_request, r);
	if (evhttp_bind_socket(r->http, "127.0.0.1", port) != 0) {
		responder_free(r);
		return ANVIL_EIO;
	}
	*ret = r;
	return 0;
}

void
responder_free(struct responder *r)
{
	if (r == NULL)
		return;
	if (r->http != NULL)
		evhttp_free(r->http);
	free(r);
}
