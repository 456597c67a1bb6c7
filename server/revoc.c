/*
 * revoc.c - the revocation worker: CRL shards and OCSP responses signed
 * ahead of time, so that serving them (pub.c) costs a lookup.
 *
 * The signing runs on a thread of its own, with its own store connection
 * (a struct store is a one-thread object; SQLite's WAL lets it write
 * while the loop's connection reads) and its own struct signer opened
 * from the same state directory.  Two signers rather than one behind a
 * mutex: a 100,000-entry CRL takes seconds to sign, and a mutex would make
 * a finalize on the loop wait for it.  Each signer is used by one thread
 * and the intermediate key is still only touched inside signer.c.
 *
 * A pass of the worker, every WORKER_TICK_MS or at once when kicked:
 *  1. now and then, the root's CRL and the responder certificate (the
 *     worker's signer is the one that renews; the loop's reloads it);
 *  2. the revocation log (the `revocations` table, appended by a trigger
 *     whoever revokes: this server, or `anvil-ca revoke` in another
 *     process) past the last entry done: the revoked OCSP response of each
 *     serial, then the CRL of each shard touched, then the last entry
 *     done is recorded (a crash before that redoes the entries);
 *  3. CRL shards past half their lifetime (or never signed, or asked for
 *     by revoc_crl_regen);
 *  4. OCSP responses past half their lifetime, then those missing
 *     (certificates issued before this version, or while the responder
 *     was off), by rowid windows.
 * Signatures are made outside any transaction; what they produce is
 * written in short transactions (OCSP_BATCH responses, or one CRL), so
 * that the loop's writes never wait for a signature.  Step 4 gives way
 * between batches to a kick (a revocation through ACME) and, after a
 * tick, to a new pass, so that a revocation by `anvil-ca revoke` waits
 * at most about a tick even during a backfill of millions.
 *
 * A CRL signed by the worker is handed to the loop through a slot per
 * shard and a pipe, as va.c hands back results; the loop swaps it in and
 * pub.c serves it from memory.  The loop itself signs only one OCSP
 * response at issuance and, rate-bounded, the on-demand answers.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <openssl/x509.h>

#include "anvil/anvil.h"
#include "crl.h"
#include "ocsp.h"
#include "revoc.h"
#include "workq.h"
#include "signer.h"
#include "store.h"

#define WORKER_TICK_MS		1000
#define LOG_BATCH		1024	/* revocation log entries read at once */
#define LOG_PER_PASS		(64 * 1024)	/* then the CRLs are signed */
#define OCSP_BATCH		200	/* responses per write transaction */
#define OCSP_MISSING_WINDOW	5000	/* rowids looked at per query */
#define SLOW_CHECK_SECS		60	/* root CRL, responder cert */
/* Signatures per second for serials never issued (and stale ones). */
#define OCSP_UNKNOWN_RATE	50
#define SLOW_CRL_MS		100	/* log CRL builds this long */
#define META_REVOCATIONS_DONE	"revocations_done"
/* Pages left in the write-ahead log after the worker's checkpoint that
 * make it wait for the log to start over (SQLite's own threshold). */
#define WAL_RESTART_PAGES	1000

/* What only the worker thread touches, from pthread_create() to
 * pthread_join(). */
struct worker {
	struct store	*store;		/* its own connection; owned */
	struct signer	*signer;	/* its own, same state dir; owned */
	int64_t		*crl_this;	/* thisUpdate per shard, 0 if none */
	unsigned char	*dirty;		/* shards touched by the log */
	unsigned char	*force;		/* shards asked for, taken from rv */
	int64_t		 log_done;	/* last revocation log entry done */
	int64_t		 missing_after;	/* rowid cursor; -1 when done */
	int64_t		 missing_end;	/* where the last scan ended */
	int		 rescans;	/* scans from missing_end still due */
	int64_t		 slow_at;	/* next root CRL / responder check */
	int64_t		 pass_t0;	/* monotonic ms the pass began */
	int64_t		 ckpt_at;	/* monotonic ms of the next WAL
					   checkpoint */
};

struct revoc {
	struct server	*srv;		/* its cfg and pub_base are read by
					   the worker too: set before
					   revoc_start, never changed */
	int		 n_shards;

	/* The loop's thread only. */
	struct signed_obj *crl;		/* served, per shard (der NULL:
					   none yet); owned */
	struct signed_obj root_crl;	/* der NULL until read */
	int64_t		 bucket_at;	/* second of the token bucket */
	int		 bucket;	/* signatures left in it */
	struct event	*wakeup;	/* read end of the pipe */
	int		 pipe[2];

	/* Shared: under lock. */
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;		/* kicked, forced or stop */
	int		 locks_ready;
	int		 stop;
	int		 kicked;	/* a revocation: read the log */
	int		 issued;	/* certificates stored since the last
					   pass: their responses to sign */
	int		 forced;	/* some force[] set */
	unsigned char	*force;		/* shards revoc_crl_regen asked for */
	struct signed_obj *fresh;	/* signed, not yet taken by the loop
					   (der NULL: none); owned */
	int		 root_changed;	/* root.crl rewritten */
	int		 responder_changed; /* responder files checked */

	struct worker	 w;
	pthread_t	 thread;
	int		 started;
	int		 loop_ckpt_off;	/* the worker checkpoints for the
					   loop's connection */
};

/* Milliseconds of the monotonic clock. */
static int64_t
mono_ms(void)
{
	struct timespec	 ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Signs the OCSP response of an issued certificate as st has it, at now,
 * with sg, into *ret (new: signed_obj_clear()).  ANVIL_ENOENT when the
 * serial is unknown.  Stores nothing.
 */
static int
ocsp_make(struct store *st, struct signer *sg, int64_t lifetime,
    const char *serial, int64_t now, struct signed_obj *ret)
{
	struct ocsp_answer	 a;
	struct signed_obj	 o;
	int64_t			 revoked_at;
	int			 reason, rc;

	memset(&o, 0, sizeof(o));
	/* The serial matched the store's exactly: it is the stored one. */
	rc = store_cert_status(st, serial, &revoked_at, &reason);
	if (rc != 0)
		goto out;
	if (strlen(serial) >= sizeof(o.serial)) {
		rc = ANVIL_EINVAL;
		goto out;
	}
	memset(&a, 0, sizeof(a));
	a.serial = serial;
	a.status = revoked_at != 0 ? OCSP_REVOKED : OCSP_GOOD;
	a.revoked_at = revoked_at;
	a.reason = reason;
	a.this_update = now;
	a.next_update = now + lifetime;
	rc = signer_ocsp_sign(sg, &a, &o.der, &o.der_len);
	if (rc != 0)
		goto out;
	o.shard = -1;
	snprintf(o.serial, sizeof(o.serial), "%s", serial);
	o.this_update = a.this_update;
	o.next_update = a.next_update;
	*ret = o;
	memset(&o, 0, sizeof(o));
out:
	signed_obj_clear(&o);
	return rc;
}

/* Wakes the event loop.  A failed write means the pipe is full, so a
 * wakeup is pending already. */
static void
wake(struct revoc *rv)
{
	char	 c = 1;
	ssize_t	 n;

	n = write(rv->pipe[1], &c, 1);
	(void)n;
}

/*
 * 1 when the worker should leave the OCSP refresh for a new pass:
 * stopping, a revocation kicked it, or the pass has lasted a tick (the
 * log may hold a revocation from another process, which does not kick).
 */
static int
interrupted(struct revoc *rv)
{
	int	 r;

	if (mono_ms() - rv->w.pass_t0 >= WORKER_TICK_MS)
		return 1;
	(void)pthread_mutex_lock(&rv->lock);
	r = rv->stop || rv->kicked;
	(void)pthread_mutex_unlock(&rv->lock);
	return r;
}

/* 1 when the server is stopping. */
static int
stopping(struct revoc *rv)
{
	int	 r;

	(void)pthread_mutex_lock(&rv->lock);
	r = rv->stop;
	(void)pthread_mutex_unlock(&rv->lock);
	return r;
}

/*
 * Worker: signs the responses of the n (at most OCSP_BATCH) serials v at
 * now, then writes them in one transaction.  Serials no longer in the
 * store are skipped.
 */
static int
ocsp_batch(struct revoc *rv, const char *const *v, size_t n, int64_t now)
{
	struct worker		*w = &rv->w;
	struct signed_obj	 o[OCSP_BATCH];
	size_t			 made = 0, i;
	int			 rc = 0;

	/* o[i] is written by ocsp_make, for i < made only: no clearing of
	 * the whole array (19 KB) for a batch of a few. */
	if (n > OCSP_BATCH)
		return ANVIL_EINVAL;
	for (i = 0; i < n; i++) {
		rc = ocsp_make(w->store, w->signer,
		    rv->srv->cfg.ocsp_lifetime, v[i], now, &o[made]);
		if (rc == ANVIL_ENOENT)
			continue;
		if (rc != 0)
			goto out;
		made++;
	}
	rc = 0;
	if (made == 0)
		goto out;
	rc = store_begin(w->store);
	for (i = 0; rc == 0 && i < made; i++)
		rc = store_ocsp_put(w->store, &o[i]);
	if (rc == 0)
		rc = store_commit(w->store);
	else
		(void)store_rollback(w->store);
out:
	for (i = 0; i < made; i++)
		signed_obj_clear(&o[i]);
	return rc;
}

/* Worker: signs the responses of the NULL-terminated v, by batches. */
static int
ocsp_list(struct revoc *rv, char **v, int64_t now)
{
	size_t	 n, i = 0;
	int	 rc;

	while (v[i] != NULL) {
		for (n = 0; n < OCSP_BATCH && v[i + n] != NULL; n++)
			continue;
		rc = ocsp_batch(rv, (const char *const *)(v + i), n, now);
		if (rc != 0)
			return rc;
		i += n;
	}
	return 0;
}

/* Worker: signs and stores the CRL of shard at now, and hands it to the
 * loop. */
static int
crl_sign_shard(struct revoc *rv, int shard, int64_t now)
{
	struct server		*srv = rv->srv;
	struct worker		*w = &rv->w;
	struct crl_req		 req;
	struct signed_obj	 prev, o;
	struct revoked		*v = NULL;
	size_t			 n = 0;
	char			 url[400];
	int64_t			 t0;
	int			 rc;

	memset(&prev, 0, sizeof(prev));
	memset(&o, 0, sizeof(o));
	/* The worker is the only writer of this table: no race on the
	 * number. */
	rc = store_crl_get(w->store, shard, &prev);
	if (rc != 0 && rc != ANVIL_ENOENT)
		goto out;
	rc = store_revoked_list(w->store, shard, now, CRL_MAX_ENTRIES, &v,
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
	rc = signer_crl_sign(w->signer, &req, &o.der, &o.der_len);
	if (rc != 0)
		goto out;
	if (mono_ms() - t0 >= SLOW_CRL_MS)
		fprintf(stderr, "anvil-ca: CRL shard %d: %zu entries, %zu "
		    "bytes, built and signed in %lld ms (off the loop)\n",
		    shard, n, o.der_len, (long long)(mono_ms() - t0));
	o.shard = shard;
	o.number = req.number;
	o.this_update = req.this_update;
	o.next_update = req.next_update;
	t0 = mono_ms();
	rc = store_crl_put(w->store, &o);
	if (rc != 0)
		goto out;
	if (mono_ms() - t0 >= SLOW_CRL_MS)
		fprintf(stderr, "anvil-ca: CRL shard %d: stored in %lld ms\n",
		    shard, (long long)(mono_ms() - t0));
	w->crl_this[shard] = now;
	/* To the loop: the newest replaces one it has not taken yet. */
	(void)pthread_mutex_lock(&rv->lock);
	signed_obj_clear(&rv->fresh[shard]);
	rv->fresh[shard] = o;
	(void)pthread_mutex_unlock(&rv->lock);
	memset(&o, 0, sizeof(o));
	wake(rv);
out:
	if (rc != 0)
		fprintf(stderr, "anvil-ca: CRL shard %d: %s\n", shard,
		    anvil_strerror(rc));
	free(v);
	signed_obj_clear(&prev);
	signed_obj_clear(&o);
	return rc;
}

/*
 * Worker, step 2: the revocation log past w->log_done, at most
 * LOG_PER_PASS entries (*ret_more set when more are waiting).
 */
static int
log_pass(struct revoc *rv, int64_t now, int *ret_more)
{
	struct worker		*w = &rv->w;
	struct revocation_event	*ev = NULL;
	const char		*v[OCSP_BATCH];
	int64_t			 after = w->log_done;
	size_t			 n = 0, i, k = 0, total = 0;
	int			 s, rc;

	*ret_more = 0;
	ev = calloc(LOG_BATCH, sizeof(*ev));
	if (ev == NULL)
		return ANVIL_ENOMEM;
	memset(w->dirty, 0, (size_t)rv->n_shards);
	for (;;) {
		rc = store_revocations_since(w->store, after, LOG_BATCH, ev,
		    &n);
		if (rc != 0 || n == 0)
			break;
		for (i = 0; i < n && rv->srv->cfg.ocsp; i += k) {
			for (k = 0; k < OCSP_BATCH && i + k < n; k++)
				v[k] = ev[i + k].serial;
			rc = ocsp_batch(rv, v, k, now);
			if (rc != 0)
				goto out;
		}
		for (i = 0; i < n; i++)
			if (ev[i].shard >= 0 && ev[i].shard < rv->n_shards)
				w->dirty[ev[i].shard] = 1;
		after = ev[n - 1].seq;
		total += n;
		if (n < LOG_BATCH)
			break;
		if (total >= LOG_PER_PASS) {
			*ret_more = 1;
			break;
		}
		if (stopping(rv))
			goto out;	/* redone at the next start */
	}
	if (rc != 0 || after == w->log_done)
		goto out;
	for (s = 0; s < rv->n_shards; s++) {
		if (!w->dirty[s])
			continue;
		rc = crl_sign_shard(rv, s, now);
		if (rc != 0)
			goto out;
	}
	rc = store_meta_set(w->store, META_REVOCATIONS_DONE, after);
	if (rc == 0)
		w->log_done = after;
out:
	free(ev);
	return rc;
}

/* Worker, step 3: shards past half their life, never signed, or
 * forced. */
static int
crl_refresh(struct revoc *rv, int64_t now)
{
	struct worker	*w = &rv->w;
	int64_t		 half = rv->srv->cfg.crl_lifetime / 2;
	int		 s, rc;

	for (s = 0; s < rv->n_shards; s++) {
		if (!w->force[s] && w->crl_this[s] != 0 &&
		    now < w->crl_this[s] + half)
			continue;
		if (stopping(rv))
			return 0;
		rc = crl_sign_shard(rv, s, now);
		if (rc != 0)
			return rc;
		w->force[s] = 0;
	}
	return 0;
}

/* Worker, step 4: stale, then missing OCSP responses, giving way to a
 * kick between batches (*ret_more set then). */
static int
ocsp_refresh(struct revoc *rv, int64_t now, int *ret_more)
{
	struct server	*srv = rv->srv;
	struct worker	*w = &rv->w;
	char		**v = NULL;
	int64_t		 last = 0;
	size_t		 n;
	int		 rc;

	*ret_more = 0;
	for (;;) {
		rc = store_ocsp_due(w->store, now - srv->cfg.ocsp_lifetime / 2,
		    now, OCSP_BATCH, &v);
		if (rc != 0)
			return rc;
		for (n = 0; v[n] != NULL; n++)
			continue;
		rc = ocsp_batch(rv, (const char *const *)v, n, now);
		anvil_strv_free(v);
		v = NULL;
		if (rc != 0)
			return rc;
		/* Each signed one left the set: this ends. */
		if (n < OCSP_BATCH)
			break;
		if (interrupted(rv)) {
			*ret_more = 1;
			return 0;
		}
	}
	/* New certificates: from where the last scan ended. */
	if (w->missing_after < 0 && w->rescans > 0) {
		w->missing_after = w->missing_end;
		w->rescans--;
	}
	while (w->missing_after >= 0) {
		rc = store_ocsp_missing(w->store, w->missing_after,
		    OCSP_MISSING_WINDOW, now, &v, &last);
		if (rc == 0)
			rc = ocsp_list(rv, v, now);
		anvil_strv_free(v);
		v = NULL;
		if (rc != 0)
			return rc;
		/* The end of the table: certificates issued from now on are
		 * looked for from here (revoc_cert_issued). */
		if (last == w->missing_after)
			w->missing_end = last;
		w->missing_after = last == w->missing_after ? -1 : last;
		if (w->missing_after >= 0 && interrupted(rv)) {
			*ret_more = 1;
			return 0;
		}
	}
	return 0;
}

/* Worker, step 1: the root's CRL and the responder's certificate; tells
 * the loop to reload them. */
static void
slow_checks(struct revoc *rv, int64_t now)
{
	struct server	*srv = rv->srv;
	int		 made = 0, rc;

	if (now < rv->w.slow_at)
		return;
	rv->w.slow_at = now + SLOW_CHECK_SECS;
	rc = crl_root_refresh(srv->cfg.state_dir, now, &made);
	if (rc != 0)
		fprintf(stderr, "anvil-ca: root CRL: %s\n",
		    anvil_strerror(rc));
	if (srv->cfg.ocsp) {
		rc = signer_ocsp_open(rv->w.signer, srv->cfg.state_dir, now);
		if (rc != 0)
			fprintf(stderr, "anvil-ca: OCSP responder "
			    "certificate: %s\n", anvil_strerror(rc));
	}
	(void)pthread_mutex_lock(&rv->lock);
	rv->root_changed |= made;
	rv->responder_changed |= srv->cfg.ocsp && rc == 0;
	(void)pthread_mutex_unlock(&rv->lock);
	if (made || (srv->cfg.ocsp && rc == 0))
		wake(rv);
}

/* Worker: one pass; *ret_more when work is left for at once. */
static int
worker_pass(struct revoc *rv, int *ret_more)
{
	int64_t	 now = now_s();
	int	 more_log = 0, more_ocsp = 0, rc;

	rv->w.pass_t0 = mono_ms();
	slow_checks(rv, now);
	rc = log_pass(rv, now, &more_log);
	if (rc == 0)
		rc = crl_refresh(rv, now);
	if (rc == 0 && rv->srv->cfg.ocsp)
		rc = ocsp_refresh(rv, now, &more_ocsp);
	*ret_more = more_log || more_ocsp;
	return rc;
}

/*
 * Worker: copies the write-ahead log into the database file, at most once
 * a tick.  The loop's connection does not (revoc_start() turned its
 * autocheckpoint off): on the loop, a checkpoint would write every page a
 * second time and fsync the database file between two passes, while the
 * answers wait.  A PASSIVE checkpoint never blocks the loop; when the log
 * still holds WAL_RESTART_PAGES, the worker waits until the loop's
 * current batch is committed and lets the next one start the log over,
 * so that the file stays bounded under a constant stream of writes.
 */
static void
wal_checkpoint(struct revoc *rv)
{
	int64_t	 t = mono_ms();
	int	 rc;

	if (t < rv->w.ckpt_at)
		return;
	rv->w.ckpt_at = t + WORKER_TICK_MS;
	rc = store_checkpoint(rv->w.store, WAL_RESTART_PAGES);
	if (rc != 0)
		fprintf(stderr, "anvil-ca: WAL checkpoint: %s (will "
		    "retry)\n", anvil_strerror(rc));
}

static void *
worker_main(void *arg)
{
	struct revoc	*rv = arg;
	struct timespec	 dl;
	int		 more = 0, stop, s, rc;

	for (;;) {
		(void)pthread_mutex_lock(&rv->lock);
		(void)clock_gettime(CLOCK_MONOTONIC, &dl);
		dl.tv_sec += WORKER_TICK_MS / 1000;
		dl.tv_nsec += (WORKER_TICK_MS % 1000) * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		while (!more && !rv->stop && !rv->kicked && !rv->forced) {
			if (pthread_cond_timedwait(&rv->cond, &rv->lock,
			    &dl) == ETIMEDOUT)
				break;
		}
		stop = rv->stop;
		rv->kicked = 0;
		/* Twice: a certificate announced before its batch committed
		 * is not visible to the first scan. */
		if (rv->issued)
			rv->w.rescans = 2;
		rv->issued = 0;
		if (rv->forced) {
			for (s = 0; s < rv->n_shards; s++)
				rv->w.force[s] |= rv->force[s];
			memset(rv->force, 0, (size_t)rv->n_shards);
			rv->forced = 0;
		}
		(void)pthread_mutex_unlock(&rv->lock);
		if (stop)
			break;
		rc = worker_pass(rv, &more);
		if (rc != 0) {
			fprintf(stderr, "anvil-ca: revocation worker: %s "
			    "(will retry)\n", anvil_strerror(rc));
			more = 0;	/* in a second */
		}
		wal_checkpoint(rv);
	}
	return NULL;
}

/* Reads the root CRL file into rv->root_crl (loop). */
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

/*
 * The pipe's read callback, on the loop: empties the pipe first (so that
 * a CRL handed over after this cannot be missed), then swaps in the CRLs
 * the worker signed and reloads what it renewed.
 */
static void
on_wakeup(evutil_socket_t fd, short what, void *arg)
{
	struct revoc	*rv = arg;
	char		 buf[256];
	int		 root, responder, s, rc;

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		continue;
	(void)pthread_mutex_lock(&rv->lock);
	for (s = 0; s < rv->n_shards; s++) {
		if (rv->fresh[s].der == NULL)
			continue;
		signed_obj_clear(&rv->crl[s]);
		rv->crl[s] = rv->fresh[s];
		memset(&rv->fresh[s], 0, sizeof(rv->fresh[s]));
	}
	root = rv->root_changed;
	responder = rv->responder_changed;
	rv->root_changed = rv->responder_changed = 0;
	(void)pthread_mutex_unlock(&rv->lock);
	if (root) {
		rc = root_crl_load(rv);
		if (rc != 0)
			fprintf(stderr, "anvil-ca: root CRL: %s\n",
			    anvil_strerror(rc));
	}
	if (responder) {
		rc = signer_ocsp_load(rv->srv->signer, rv->srv->cfg.state_dir,
		    now_s());
		if (rc != 0)
			fprintf(stderr, "anvil-ca: OCSP responder "
			    "certificate: %s (the previous one stays)\n",
			    anvil_strerror(rc));
	}
}

/* Loads each shard's stored CRL to serve, and its thisUpdate for the
 * worker (loop, before the worker starts). */
static int
crl_state_load(struct revoc *rv)
{
	int	 s, rc;

	for (s = 0; s < rv->n_shards; s++) {
		rc = store_crl_get(rv->srv->store, s, &rv->crl[s]);
		if (rc == ANVIL_ENOENT)
			continue;
		if (rc != 0)
			return rc;
		rv->w.crl_this[s] = rv->crl[s].this_update;
	}
	return 0;
}

/* Initialises the lock and a condition on the monotonic clock. */
static int
locks_init(struct revoc *rv)
{
	pthread_condattr_t	 ca;
	int			 rc = ANVIL_ENOMEM;

	if (pthread_condattr_init(&ca) != 0)
		return ANVIL_ENOMEM;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0)
		goto out;
	if (pthread_mutex_init(&rv->lock, NULL) != 0)
		goto out;
	if (pthread_cond_init(&rv->cond, &ca) != 0) {
		(void)pthread_mutex_destroy(&rv->lock);
		goto out;
	}
	rv->locks_ready = 1;
	rc = 0;
out:
	(void)pthread_condattr_destroy(&ca);
	return rc;
}

/* Stops the worker (waiting for the signature it is making) and frees
 * rv, whatever revoc_start got to.  Accepts NULL. */
static void
revoc_free(struct revoc *rv)
{
	int	 s;

	if (rv == NULL)
		return;
	if (rv->started) {
		(void)pthread_mutex_lock(&rv->lock);
		rv->stop = 1;
		(void)pthread_cond_broadcast(&rv->cond);
		(void)pthread_mutex_unlock(&rv->lock);
		(void)pthread_join(rv->thread, NULL);
	}
	/* Nobody checkpoints for the loop's connection any more. */
	if (rv->loop_ckpt_off)
		(void)store_autocheckpoint(rv->srv->store,
		    STORE_AUTOCHECKPOINT_DEFAULT);
	/* The worker is gone: its store and signer may close here. */
	store_close(rv->w.store);
	signer_free(rv->w.signer);
	if (rv->wakeup != NULL)
		event_free(rv->wakeup);
	if (rv->pipe[0] >= 0)
		(void)close(rv->pipe[0]);
	if (rv->pipe[1] >= 0)
		(void)close(rv->pipe[1]);
	if (rv->locks_ready) {
		(void)pthread_cond_destroy(&rv->cond);
		(void)pthread_mutex_destroy(&rv->lock);
	}
	for (s = 0; s < rv->n_shards; s++) {
		if (rv->crl != NULL)
			signed_obj_clear(&rv->crl[s]);
		if (rv->fresh != NULL)
			signed_obj_clear(&rv->fresh[s]);
	}
	signed_obj_clear(&rv->root_crl);
	free(rv->crl);
	free(rv->fresh);
	free(rv->force);
	free(rv->w.crl_this);
	free(rv->w.dirty);
	free(rv->w.force);
	free(rv);
}

/* Opens the worker's own store connection and signer. */
static int
worker_open(struct revoc *rv)
{
	struct server	*srv = rv->srv;
	char		 path[4096];
	int		 n, rc;

	n = snprintf(path, sizeof(path), "%s/%s", srv->cfg.state_dir,
	    STATE_DB);
	if (n < 0 || (size_t)n >= sizeof(path))
		return ANVIL_E2BIG;
	rc = store_open(path, &rv->w.store);
	/* Its own commits leave the log to wal_checkpoint() too. */
	if (rc == 0)
		rc = store_autocheckpoint(rv->w.store, 0);
	if (rc == 0)
		rc = signer_open(srv->cfg.state_dir, &rv->w.signer);
	/* The loop's signer has just loaded or issued the responder. */
	if (rc == 0 && srv->cfg.ocsp)
		rc = signer_ocsp_load(rv->w.signer, srv->cfg.state_dir,
		    now_s());
	return rc;
}

/* Starts the worker thread with every signal blocked, so that signals
 * reach the daemon's main thread only. */
static int
worker_start(struct revoc *rv)
{
	int	 rc;

	rc = workq_thread_start(&rv->thread, worker_main, rv);
	if (rc == 0)
		rv->started = 1;
	return rc;
}

int
revoc_start(struct server *srv)
{
	struct revoc		*rv = NULL;
	struct signer_public	 p;
	size_t			 n;
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
	rv->pipe[0] = rv->pipe[1] = -1;
	rv->n_shards = shards;
	n = (size_t)shards;
	rv->crl = calloc(n, sizeof(*rv->crl));
	rv->fresh = calloc(n, sizeof(*rv->fresh));
	rv->force = calloc(n, 1);
	rv->w.crl_this = calloc(n, sizeof(*rv->w.crl_this));
	rv->w.dirty = calloc(n, 1);
	rv->w.force = calloc(n, 1);
	if (rv->crl == NULL || rv->fresh == NULL || rv->force == NULL ||
	    rv->w.crl_this == NULL || rv->w.dirty == NULL ||
	    rv->w.force == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	rc = locks_init(rv);
	if (rc == 0)
		rc = crl_state_load(rv);
	if (rc != 0)
		goto out;
	rc = store_meta_get(srv->store, META_REVOCATIONS_DONE,
	    &rv->w.log_done);
	if (rc == ANVIL_ENOENT) {
		rv->w.log_done = 0;
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
	/* Served at once if present; the worker renews it when due. */
	if (root_crl_load(rv) != 0)
		signed_obj_clear(&rv->root_crl);
	rc = worker_open(rv);
	if (rc != 0) {
		fprintf(stderr, "anvil-ca: revocation worker: cannot open "
		    "its database connection or signer: %s\n",
		    anvil_strerror(rc));
		goto out;
	}
	rc = ANVIL_EIO;
	if (pipe2(rv->pipe, O_NONBLOCK | O_CLOEXEC) != 0)
		goto out;
	rv->wakeup = event_new(srv->base, rv->pipe[0], EV_READ | EV_PERSIST,
	    on_wakeup, rv);
	if (rv->wakeup == NULL || event_add(rv->wakeup, NULL) != 0)
		goto out;
	/* The first pass runs at once: whatever is missing or stale. */
	rc = worker_start(rv);
	if (rc != 0)
		goto out;
	/* From now on the worker checkpoints (wal_checkpoint()). */
	rc = store_autocheckpoint(srv->store, 0);
	if (rc != 0)
		goto out;
	rv->loop_ckpt_off = 1;
	srv->revoc = rv;
	rv = NULL;
out:
	revoc_free(rv);
	return rc;
}

void
revoc_stop(struct server *srv)
{
	revoc_free(srv->revoc);
	srv->revoc = NULL;
}

void
revoc_cert_issued(struct server *srv, const char *serial)
{
	struct revoc	*rv = srv->revoc;

	(void)serial;
	if (rv == NULL || !srv->cfg.ocsp)
		return;
	/* No wake-up: the worker's next tick (at most WORKER_TICK_MS)
	 * signs what is missing, by batches, off the loop. */
	(void)pthread_mutex_lock(&rv->lock);
	rv->issued = 1;
	(void)pthread_mutex_unlock(&rv->lock);
}

void
revoc_kick(struct server *srv)
{
	struct revoc	*rv = srv->revoc;

	if (rv == NULL)
		return;
	if (store_batch_open(srv->store)) {
		/* The worker reads through its own connection: it would not
		 * see the batch before its commit (front_batch_flush). */
		srv->kick_after_commit = true;
		return;
	}
	(void)pthread_mutex_lock(&rv->lock);
	rv->kicked = 1;
	(void)pthread_cond_signal(&rv->cond);
	(void)pthread_mutex_unlock(&rv->lock);
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
	struct signed_obj	 o;
	int			 rc;

	memset(ret, 0, sizeof(*ret));
	memset(&o, 0, sizeof(o));
	if (srv->revoc == NULL)
		return ANVIL_ENOENT;
	rc = bucket_take(srv->revoc);
	if (rc != 0)
		return rc;
	rc = ocsp_make(srv->store, srv->signer, srv->cfg.ocsp_lifetime,
	    serial, now_s(), &o);
	/* A cached response: it joins the batch (no fsync of its own); the
	 * answer, signed, does not depend on it. */
	if (rc == 0)
		(void)front_batch_join(srv);
	if (rc == 0)
		rc = store_ocsp_put(srv->store, &o);
	if (rc != 0) {
		signed_obj_clear(&o);
		return rc;
	}
	*ret = o;
	return 0;
}

const struct signed_obj *
revoc_root_crl(const struct server *srv)
{
	if (srv->revoc == NULL || srv->revoc->root_crl.der == NULL)
		return NULL;
	return &srv->revoc->root_crl;
}

const struct signed_obj *
revoc_crl(const struct server *srv, int shard)
{
	const struct revoc	*rv = srv->revoc;

	if (rv == NULL || shard < 0 || shard >= rv->n_shards ||
	    rv->crl[shard].der == NULL)
		return NULL;
	return &rv->crl[shard];
}

int
revoc_crl_regen(struct server *srv, int shard)
{
	struct revoc	*rv = srv->revoc;

	if (rv == NULL || shard < 0 || shard >= rv->n_shards)
		return ANVIL_EINVAL;
	(void)pthread_mutex_lock(&rv->lock);
	rv->force[shard] = 1;
	rv->forced = 1;
	(void)pthread_cond_signal(&rv->cond);
	(void)pthread_mutex_unlock(&rv->lock);
	return 0;
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
