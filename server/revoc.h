/*
 * revoc.h - the revocation worker of `anvil-ca serve`: keeps every CRL
 * shard and every certificate's OCSP response signed ahead of time, and
 * up to date within seconds of a revocation, whichever process wrote it.
 *
 * The signing runs on a thread with its own store connection and its own
 * signer; the event loop only wakes it and swaps in the CRLs it signed,
 * which pub.c serves from memory.  These functions are called on the
 * loop's thread.  See docs/internals/revocation.md.
 */
#ifndef ANVIL_SERVER_REVOC_H
#define ANVIL_SERVER_REVOC_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "server.h"
#include "store.h"

struct revoc;

/*
 * Starts the worker for srv (its store, signer, config and pub_base must
 * be set, and stay unchanged while it runs: the thread reads cfg and
 * pub_base): fixes the number of CRL shards in the database, loads the
 * OCSP responder, configures the signer's CDP and AIA, loads the stored
 * CRLs to serve, opens the worker's own store connection and signer from
 * cfg.state_dir, and starts the thread, whose first pass (at once) signs
 * whatever is missing or stale.  Returns 0 and srv->revoc, or a negative
 * code (the cause logged).
 */
int revoc_start(struct server *srv);
/* Stops the thread (after the signature it is making, if any) and frees
 * the worker.  Accepts a server without one. */
void revoc_stop(struct server *srv);

/* Tells the worker that a certificate was stored: its next tick (within
 * a second) signs the first (good) OCSP responses of the new
 * certificates by batches, off the loop.  A request before that gets one
 * signed on demand (revoc_ocsp_now). */
void revoc_cert_issued(struct server *srv, const char *serial);

/* Wakes the worker to read the revocation log now (after a revocation
 * this process committed): the OCSP response, then the CRL, change
 * within milliseconds (plus the time to sign the shard). */
void revoc_kick(struct server *srv);

/*
 * Signs an OCSP "unknown" answer for a serial this CA never issued.  The
 * rate is bounded (OCSP_UNKNOWN_RATE per second): beyond it, ANVIL_E2BIG
 * (the caller answers tryLater).  *ret is new (signed_obj_clear()).
 */
int revoc_ocsp_unknown(struct server *srv, const char *serial,
    struct signed_obj *ret);

/* Signs the current answer for one issued certificate now and stores it
 * (used when a stored one went stale).  Counts against the same rate. */
int revoc_ocsp_now(struct server *srv, const char *serial,
    struct signed_obj *ret);

/*
 * Whether key was blocked by a keyCompromise revocation: 1 when it was,
 * 0 when not, or a negative code.  Keys are compared by the base64url
 * SHA-256 of their DER SubjectPublicKeyInfo, the form of struct cert's
 * spki_hash.
 */
int revoc_key_blocked(struct server *srv, EVP_PKEY *key);

/* The root's CRL of the intermediate (borrowed until control returns to
 * the loop, NULL if none yet). */
const struct signed_obj *revoc_root_crl(const struct server *srv);

/* The CRL of shard to serve (borrowed until control returns to the loop:
 * a newer one may replace it then), or NULL when the shard is not signed
 * yet or does not exist. */
const struct signed_obj *revoc_crl(const struct server *srv, int shard);

/* Asks the worker to sign the CRL of shard again now, as a revocation
 * would; returns at once (0, or ANVIL_EINVAL for no such shard). */
int revoc_crl_regen(struct server *srv, int shard);

#endif
