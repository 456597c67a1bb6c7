/*
 * revoc.c - the revocation worker: CRL shards and OCSP responses signed
 * ahead of time, so that serving them (pub.c) costs a lookup.
 *
 * One timer ticks every REVOC_TICK_MS on the server's loop.  A tick:
 *  1. reads the revocation log (the `revocations` table, appended by a
 *     trigger whoever revokes: this server, or `anvil-ca revoke` in
 *     another process through SQLite's WAL) past the last entry done,
 *     signs the revoked OCSP response of each serial and the CRL of each
 *     shard touched, then records the last entry done;
 *  2. re-signs CRL shards past half their lifetime (or missing), at most
 *     CRL_PER_TICK of them;
 *  3. re-signs OCSP responses past half their lifetime, at most
 *     OCSP_PER_TICK, and signs those missing (certificates issued before
 *     this version, or while the responder was off), by rowid windows;
 *     this step stops after TICK_BUDGET_MS and the next tick comes
 *     10 ms later instead of a second;
 *  4. now and then, the root's CRL and the responder certificate.
 * Writes of a tick are one transaction (one fsync).  The loop is blocked
 * for the length of the largest single step: one CRL shard build, which
 * bench/ocsp-crl.sh measures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "anvil/anvil.h"
#include "crl.h"
#include "ocsp.h"
#include "revoc.h"
#include "signer.h"
#include "store.h"

#define REVOC_TICK_MS		1000
#define LOG_PER_TICK		1024	/* revocation log entries */
#define CRL_PER_TICK		4	/* stale shards re-signed */
#define OCSP_PER_TICK		200	/* stale responses re-signed */
#define OCSP_MISSING_WINDOW	5000	/* rowids looked at per tick */
#define SLOW_CHECK_SECS		60	/* root CRL, responder cert */
/* Signatures per second for serials never issued (and stale ones). */
#define OCSP_UNKNOWN_RATE	50
#define SLOW_CRL_MS		100	/* log CRL builds this long */
/* OCSP signing in one tick stops after this long, so that the loop
 * keeps answering (each signature is ~0.1 ms with its store round). */
#define TICK_BUDGET_MS		50
#define META_REVOCATIONS_DONE	"revocations_done"

struct revoc {
	struct server	*srv;
	struct event	*tick;
	int		 n_shards;
	int64_t		*crl_this;	/* thisUpdate per shard, 0 if none */
	int64_t		 log_done;	/* last revocation log entry done */
	int64_t		 missing_after;	/* rowid cursor; -1 when done */
	int64_t		 slow_at;	/* next root CRL / responder check */
	struct signed_obj root_crl;	/* der NULL until read */
	int64_t		 bucket_at;	/* second of the token bucket */
	int		 bucket;	/* signatures left in it */
	int		 more;		/* the last tick left OCSP work */
};

/* Signs and stores the OCSP response of an issued certificate, as the
 * store has it at now, into *ret when not NULL. */
static int
ocsp_sign_cert(struct server *srv, const char *serial, int64_t now,
    struct signed_obj *ret)
{
	struct cert		 c;
	struct ocsp_answer	 a;
	struct signed_obj	 o;
	int			 rc;

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	rc = store_cert_get(srv->store, serial, &c);
	if (rc != 0)
		goto out;
	memset(&a, 0, sizeof(a));
	a.serial = c.serial;
	a.status = c.revoked_at != 0 ? OCSP_REVOKED : OCSP_GOOD;
	a.revoked_at = c.revoked_at;
	a.reason = c.reason;
	a.this_update = now;
	a.next_update = now + srv->cfg.ocsp_lifetime;
	rc = signer_ocsp_sign(srv->signer, &a, &o.der, &o.der_len);
	if (rc != 0)
		goto out;
	snprintf(o.serial, sizeof(o.serial), "%s", c.serial);
	o.this_update = a.this_update;
	o.next_update = a.next_update;
	rc = store_ocsp_put(srv->store, &o);
	if (rc == 0 && ret != NULL) {
		*ret = o;
		memset(&o, 0, sizeof(o));
	}
out:
	signed_obj_clear(&o);
	cert_clear(&c);
	return rc;
}

/* Milliseconds of the monotonic clock. */
static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Signs and stores the CRL of shard at now. */
static int
crl_sign_shard(struct revoc *rv, int shard, int64_t now)
{
	struct server		*srv = rv->srv;
	struct crl_req		 req;
	struct signed_obj	 prev, o;
	struct revoked		*v = NULL;
	size_t			 n = 0;
	char			 url[400];
	int64_t			 t0;
	int			 rc;

	memset(&prev, 0, sizeof(prev));
	memset(&o, 0, sizeof(o));
	rc = store_crl_get(srv->store, shard, &prev);
	if (rc != 0 && rc != ANVIL_ENOENT)
		goto out;
	rc = store_revoked_list(srv->store, shard, now, CRL_MAX_ENTRIES, &v,
	    &n);
	if (rc == 0)
		rc = crl_url(url, sizeof(url), srv->pub_base, shard);
	if (rc != 0)
		goto out;
	memset(&req, 0, sizeof(req));
	req.this_update = now;
	req.next_update = now + srv->cfg.crl_lifetime;
	/* §5.2.3: monotonically increasing for this scope. */
	req.number = prev.number + 1;
	req.idp_url = url;
	req.entries = v;
	req.n_entries = n;
	t0 = mono_ms();
	rc = signer_crl_sign(srv->signer, &req, &o.der, &o.der_len);
	if (rc != 0)
		goto out;
	/* A large shard blocks the loop while it is signed: say so. */
	if (mono_ms() - t0 >= SLOW_CRL_MS)
		fprintf(stderr, "anvil-ca: CRL shard %d: %zu entries, %zu "
		    "bytes, built and signed in %lld ms\n", shard, n,
		    o.der_len, (long long)(mono_ms() - t0));
	o.shard = shard;
	o.number = req.number;
	o.this_update = req.this_update;
	o.next_update = req.next_update;
	rc = store_crl_put(srv->store, &o);
	if (rc == 0)
		rv->crl_this[shard] = now;
out:
	if (rc != 0)
		fprintf(stderr, "anvil-ca: CRL shard %d: %s\n", shard,
		    anvil_strerror(rc));
	free(v);
	signed_obj_clear(&prev);
	signed_obj_clear(&o);
	return rc;
}

/* Step 1: the revocation log. */
static int
log_process(struct revoc *rv, int64_t now)
{
	struct revocation_event	 ev[LOG_PER_TICK];
	struct server		*srv = rv->srv;
	unsigned char		*dirty = NULL;
	size_t			 n = 0, i;
	int			 s, rc;

	rc = store_revocations_since(srv->store, rv->log_done, LOG_PER_TICK,
	    ev, &n);
	if (rc != 0 || n == 0)
		return rc;
	dirty = calloc((size_t)rv->n_shards, 1);
	if (dirty == NULL)
		return ANVIL_ENOMEM;
	for (i = 0; i < n; i++) {
		if (srv->cfg.ocsp) {
			rc = ocsp_sign_cert(srv, ev[i].serial, now, NULL);
			if (rc != 0 && rc != ANVIL_ENOENT)
				goto out;
		}
		if (ev[i].shard >= 0 && ev[i].shard < rv->n_shards)
			dirty[ev[i].shard] = 1;
	}
	for (s = 0; s < rv->n_shards; s++) {
		if (!dirty[s])
			continue;
		rc = crl_sign_shard(rv, s, now);
		if (rc != 0)
			goto out;
	}
	rc = store_meta_set(srv->store, META_REVOCATIONS_DONE, ev[n - 1].seq);
	if (rc == 0)
		rv->log_done = ev[n - 1].seq;
out:
	free(dirty);
	return rc;
}

/* Step 2: stale CRL shards. */
static int
crl_refresh(struct revoc *rv, int64_t now)
{
	int64_t	 half = rv->srv->cfg.crl_lifetime / 2;
	int	 s, done = 0, rc;

	for (s = 0; s < rv->n_shards && done < CRL_PER_TICK; s++) {
		if (rv->crl_this[s] != 0 && now < rv->crl_this[s] + half)
			continue;
		rc = crl_sign_shard(rv, s, now);
		if (rc != 0)
			return rc;
		done++;
	}
	return 0;
}

/*
 * Signs the OCSP responses of the serials v until TICK_BUDGET_MS have
 * passed since t0.  Sets *ret_all when every one was signed.
 */
static int
ocsp_sign_list(struct server *srv, char **v, int64_t now, int64_t t0,
    int *ret_all)
{
	size_t	 i;
	int	 rc;

	*ret_all = 0;
	for (i = 0; v[i] != NULL; i++) {
		if (mono_ms() - t0 > TICK_BUDGET_MS)
			return 0;
		rc = ocsp_sign_cert(srv, v[i], now, NULL);
		if (rc != 0)
			return rc;
	}
	*ret_all = 1;
	return 0;
}

/* Step 3: stale and missing OCSP responses, within the tick's budget. */
static int
ocsp_refresh(struct revoc *rv, int64_t now)
{
	struct server	*srv = rv->srv;
	char		**v = NULL;
	int64_t		 last = 0, t0 = mono_ms();
	int		 all = 0, rc;

	rc = store_ocsp_due(srv->store, now - srv->cfg.ocsp_lifetime / 2,
	    now, OCSP_PER_TICK, &v);
	if (rc == 0)
		rc = ocsp_sign_list(srv, v, now, t0, &all);
	anvil_strv_free(v);
	v = NULL;
	rv->more = !all;
	if (rc != 0 || !all || rv->missing_after < 0)
		return rc;
	rc = store_ocsp_missing(srv->store, rv->missing_after,
	    OCSP_MISSING_WINDOW, now, &v, &last);
	if (rc == 0)
		rc = ocsp_sign_list(srv, v, now, t0, &all);
	anvil_strv_free(v);
	rv->more = !all;
	if (rc != 0 || !all)
		return rc;	/* the same window again next tick */
	/* The end of the table: certificates issued from now on get their
	 * response at issuance (revoc_cert_issued). */
	rv->missing_after = last == rv->missing_after ? -1 : last;
	return 0;
}

/* Reads the root CRL file into rv->root_crl. */
static int
root_crl_load(struct revoc *rv)
{
	char		 path[4096];
	char		*der = NULL;
	size_t		 len = 0;
	int64_t		 a = 0, b = 0, n = 0;
	int		 rc;

	snprintf(path, sizeof(path), "%s/%s", rv->srv->cfg.state_dir,
	    STATE_ROOT_CRL);
	rc = anvil_file_read(path, 64 * 1024, &der, &len);
	if (rc == 0)
		rc = crl_info((const uint8_t *)der, len, &a, &b, &n);
	if (rc != 0) {
		free(der);
		return rc;
	}
	signed_obj_clear(&rv->root_crl);
	rv->root_crl.shard = -1;
	rv->root_crl.der = (uint8_t *)der;
	rv->root_crl.der_len = len;
	rv->root_crl.this_update = a;
	rv->root_crl.next_update = b;
	rv->root_crl.number = n;
	return 0;
}

/* Step 4: the root's CRL and the responder's certificate. */
static void
slow_checks(struct revoc *rv, int64_t now)
{
	int	 made = 0, rc;

	if (now < rv->slow_at)
		return;
	rv->slow_at = now + SLOW_CHECK_SECS;
	rc = crl_root_refresh(rv->srv->cfg.state_dir, now, &made);
	if (rc == 0 && (made || rv->root_crl.der == NULL))
		rc = root_crl_load(rv);
	if (rc != 0)
		fprintf(stderr, "anvil-ca: root CRL: %s\n",
		    anvil_strerror(rc));
	if (!rv->srv->cfg.ocsp)
		return;
	rc = signer_ocsp_open(rv->srv->signer, rv->srv->cfg.state_dir, now);
	if (rc != 0)
		fprintf(stderr, "anvil-ca: OCSP responder certificate: %s\n",
		    anvil_strerror(rc));
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct revoc	*rv = arg;
	struct server	*srv = rv->srv;
	struct timeval	 tv = { REVOC_TICK_MS / 1000,
	    (REVOC_TICK_MS % 1000) * 1000 };
	int64_t		 now = now_s();
	int		 rc;

	(void)fd;
	(void)what;
	rv->more = 0;
	slow_checks(rv, now);
	rc = store_begin(srv->store);
	if (rc == 0)
		rc = log_process(rv, now);
	if (rc == 0)
		rc = crl_refresh(rv, now);
	if (rc == 0 && srv->cfg.ocsp)
		rc = ocsp_refresh(rv, now);
	if (rc == 0)
		rc = store_commit(srv->store);
	if (rc != 0) {
		(void)store_rollback(srv->store);
		fprintf(stderr, "anvil-ca: revocation worker: %s (will "
		    "retry)\n", anvil_strerror(rc));
		/* What was signed in memory is redone next tick. */
		memset(rv->crl_this, 0, (size_t)rv->n_shards *
		    sizeof(*rv->crl_this));
	}
	/* Work left: come back soon, after what else is ready. */
	if (rv->more) {
		tv.tv_sec = 0;
		tv.tv_usec = 10 * 1000;
	}
	(void)event_add(rv->tick, &tv);
}

/* Loads the thisUpdate of each shard's stored CRL. */
static int
crl_state_load(struct revoc *rv)
{
	struct signed_obj	 o;
	int			 s, rc;

	for (s = 0; s < rv->n_shards; s++) {
		rc = store_crl_get(rv->srv->store, s, &o);
		if (rc == ANVIL_ENOENT)
			continue;
		if (rc != 0)
			return rc;
		rv->crl_this[s] = o.this_update;
		signed_obj_clear(&o);
	}
	return 0;
}

int
revoc_start(struct server *srv)
{
	struct revoc		*rv = NULL;
	struct signer_public	 p;
	int			 shards = 0, rc;

	rc = store_crl_shards(srv->store, srv->cfg.crl_shards, &shards);
	if (rc == ANVIL_EEXIST) {
		fprintf(stderr, "anvil-ca: crl_shards is %d in the database "
		    "and certificates name their shard: it cannot become "
		    "%d\n", shards, srv->cfg.crl_shards);
		return rc;
	}
	if (rc != 0)
		return rc;
	rv = calloc(1, sizeof(*rv));
	if (rv == NULL)
		return ANVIL_ENOMEM;
	rv->srv = srv;
	rv->n_shards = shards;
	rv->crl_this = calloc((size_t)shards, sizeof(*rv->crl_this));
	if (rv->crl_this == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = crl_state_load(rv);
	if (rc != 0)
		goto out;
	rc = store_meta_get(srv->store, META_REVOCATIONS_DONE, &rv->log_done);
	if (rc == ANVIL_ENOENT) {
		rv->log_done = 0;
		rc = 0;
	}
	if (rc != 0)
		goto out;
	if (srv->cfg.ocsp) {
		rc = signer_ocsp_open(srv->signer, srv->cfg.state_dir,
		    now_s());
		if (rc != 0) {
			fprintf(stderr, "anvil-ca: cannot load or issue the "
			    "OCSP responder certificate: %s\n",
			    anvil_strerror(rc));
			goto out;
		}
	}
	memset(&p, 0, sizeof(p));
	p.base_url = srv->pub_base;
	p.crl_shards = shards;
	p.ocsp = srv->cfg.ocsp;
	rc = signer_set_public(srv->signer, &p);
	if (rc != 0)
		goto out;
	rv->tick = evtimer_new(srv->base, on_tick, rv);
	if (rv->tick == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	srv->revoc = rv;
	rv = NULL;
	/* The first tick runs at once. */
	event_active(srv->revoc->tick, EV_TIMEOUT, 0);
out:
	if (rv != NULL) {
		free(rv->crl_this);
		free(rv);
	}
	return rc;
}

void
revoc_stop(struct server *srv)
{
	struct revoc	*rv = srv->revoc;

	if (rv == NULL)
		return;
	if (rv->tick != NULL)
		event_free(rv->tick);
	signed_obj_clear(&rv->root_crl);
	free(rv->crl_this);
	free(rv);
	srv->revoc = NULL;
}

void
revoc_cert_issued(struct server *srv, const char *serial)
{
	int	 rc;

	if (srv->revoc == NULL || !srv->cfg.ocsp)
		return;
	rc = ocsp_sign_cert(srv, serial, now_s(), NULL);
	if (rc != 0)
		fprintf(stderr, "anvil-ca: OCSP response for %s: %s (the "
		    "refresh will retry)\n", serial, anvil_strerror(rc));
}

void
revoc_kick(struct server *srv)
{
	if (srv->revoc == NULL)
		return;
	event_active(srv->revoc->tick, EV_TIMEOUT, 0);
}

/* Takes one signature from the token bucket: 0, or ANVIL_E2BIG. */
static int
bucket_take(struct revoc *rv)
{
	int64_t	 now = now_s();

	if (now != rv->bucket_at) {
		rv->bucket_at = now;
		rv->bucket = OCSP_UNKNOWN_RATE;
	}
	if (rv->bucket <= 0)
		return ANVIL_E2BIG;
	rv->bucket--;
	return 0;
}

int
revoc_ocsp_unknown(struct server *srv, const char *serial,
    struct signed_obj *ret)
{
	struct ocsp_answer	 a;
	int64_t			 now = now_s();
	int			 rc;

	memset(ret, 0, sizeof(*ret));
	if (srv->revoc == NULL)
		return ANVIL_ENOENT;
	rc = bucket_take(srv->revoc);
	if (rc != 0)
		return rc;
	memset(&a, 0, sizeof(a));
	a.serial = serial;
	a.status = OCSP_UNKNOWN;
	a.this_update = now;
	/* Short: the serial may yet be issued (it never is with random
	 * serials, but the answer should not outlive a mistake long). */
	a.next_update = now + 3600;
	rc = signer_ocsp_sign(srv->signer, &a, &ret->der, &ret->der_len);
	if (rc != 0)
		return rc;
	snprintf(ret->serial, sizeof(ret->serial), "%s", serial);
	ret->this_update = a.this_update;
	ret->next_update = a.next_update;
	return 0;
}

int
revoc_ocsp_now(struct server *srv, const char *serial,
    struct signed_obj *ret)
{
	int	 rc;

	memset(ret, 0, sizeof(*ret));
	if (srv->revoc == NULL)
		return ANVIL_ENOENT;
	rc = bucket_take(srv->revoc);
	if (rc != 0)
		return rc;
	return ocsp_sign_cert(srv, serial, now_s(), ret);
}

const struct signed_obj *
revoc_root_crl(const struct server *srv)
{
	if (srv->revoc == NULL || srv->revoc->root_crl.der == NULL)
		return NULL;
	return &srv->revoc->root_crl;
}

int
revoc_crl_regen(struct server *srv, int shard)
{
	if (srv->revoc == NULL || shard < 0 || shard >= srv->revoc->n_shards)
		return ANVIL_EINVAL;
	return crl_sign_shard(srv->revoc, shard, now_s());
}

int
revoc_key_blocked(struct server *srv, EVP_PKEY *key)
{
	unsigned char	*spki = NULL;
	uint8_t		 md[SHA256_DIGEST_LENGTH];
	char		 hash[64];
	int		 len, rc = ANVIL_ECRYPTO;

	if (key == NULL)
		return ANVIL_EINVAL;
	len = i2d_PUBKEY(key, &spki);
	if (len <= 0)
		goto out;
	if (SHA256(spki, (size_t)len, md) == NULL)
		goto out;
	(void)anvil_b64url_encode_to(hash, md, sizeof(md));
	rc = store_key_blocked(srv->store, hash);
out:
	OPENSSL_free(spki);
	return rc;
}
