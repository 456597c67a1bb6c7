/*
 * front_park.c - answers that wait for an event: a request whose answer
 * depends on work still running elsewhere (the challenge POST that starts
 * a validation, ra_authz.c) is parked under a key, unanswered, until the
 * work ends (front_unpark) or its time is up (the expire function then
 * answers with the state of that moment).  Either way the answer goes
 * out through the usual path: it joins the batch of the pass, so it
 * never leaves before the writes it reports are on disk.
 *
 * Parked requests are few (at most one per validation running), so they
 * sit in a small hash table of lists keyed by the challenge id.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>

#include "anvil/anvil.h"
#include "server.h"

#define PARK_BUCKETS	64

struct parked {
	struct parked		*next;
	struct server		*srv;
	struct evhttp_request	*ev;
	struct event		*timer;		/* owned */
	park_expire_fn		 expire;
	char			 key[ID_LEN + 1];
	char			 base[sizeof(((struct req *)0)->base)];
};

struct parking {
	struct parked	*bucket[PARK_BUCKETS];
	size_t		 n;
};

static size_t
bucket_of(const char *key)
{
	return id_hash(key) % PARK_BUCKETS;
}

/* Takes p out of the table (not freed). */
static void
unlink_parked(struct parking *pk, struct parked *p)
{
	struct parked	**pp;

	for (pp = &pk->bucket[bucket_of(p->key)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			pk->n--;
			return;
		}
	}
}

/*
 * Makes r a request to answer p with: its server, its evhttp request and
 * base URL; the answer joins the pass's batch when one can be opened (and
 * is then held for its commit and fsync).  Frees p.
 */
static void
revive(struct parked *p, struct req *r)
{
	memset(r, 0, sizeof(*r));
	r->srv = p->srv;
	r->ev = p->ev;
	r->retry_after = -1;
	memcpy(r->base, p->base, sizeof(r->base));
	r->batched = front_batch_join(p->srv) == 0;
	if (p->timer != NULL)
		event_free(p->timer);
	free(p);
}

static void
on_expire(evutil_socket_t fd, short what, void *arg)
{
	struct parked	*p = arg;
	park_expire_fn	 expire = p->expire;
	char		 key[ID_LEN + 1];
	struct req	 r;

	(void)fd;
	(void)what;
	unlink_parked(p->srv->parking, p);
	memcpy(key, p->key, sizeof(key));
	revive(p, &r);
	expire(&r, key);
}

int
front_park(struct req *r, const char *key, int ms, park_expire_fn expire)
{
	struct parking	*pk = r->srv->parking;
	struct parked	*p;
	struct timeval	 tv;
	size_t		 b;

	if (pk == NULL || key == NULL || strlen(key) > ID_LEN || ms <= 0)
		return ANVIL_EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return ANVIL_ENOMEM;
	p->srv = r->srv;
	p->ev = r->ev;
	p->expire = expire;
	memcpy(p->key, key, strlen(key) + 1);
	memcpy(p->base, r->base, sizeof(p->base));
	p->timer = evtimer_new(r->srv->base, on_expire, p);
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	if (p->timer == NULL || evtimer_add(p->timer, &tv) != 0) {
		if (p->timer != NULL)
			event_free(p->timer);
		free(p);
		return ANVIL_ENOMEM;
	}
	b = bucket_of(key);
	p->next = pk->bucket[b];
	pk->bucket[b] = p;
	pk->n++;
	return 0;
}

bool
front_unpark(struct server *srv, const char *key, struct req *r)
{
	struct parking	*pk = srv->parking;
	struct parked	*p;

	if (pk == NULL || pk->n == 0)
		return false;
	for (p = pk->bucket[bucket_of(key)]; p != NULL; p = p->next)
		if (strcmp(p->key, key) == 0)
			break;
	if (p == NULL)
		return false;
	unlink_parked(pk, p);
	revive(p, r);
	return true;
}

int
front_park_start(struct server *srv)
{
	srv->parking = calloc(1, sizeof(*srv->parking));
	return srv->parking == NULL ? ANVIL_ENOMEM : 0;
}

void
front_park_stop(struct server *srv)
{
	struct parking	*pk = srv->parking;
	struct parked	*p;
	park_expire_fn	 expire;
	char		 key[ID_LEN + 1];
	struct req	 r;
	size_t		 b;

	if (pk == NULL)
		return;
	/* Every waiting answer leaves now, as on its timer. */
	for (b = 0; b < PARK_BUCKETS; b++) {
		while ((p = pk->bucket[b]) != NULL) {
			pk->bucket[b] = p->next;
			pk->n--;
			expire = p->expire;
			memcpy(key, p->key, sizeof(key));
			revive(p, &r);
			expire(&r, key);
		}
	}
	free(pk);
	srv->parking = NULL;
}
