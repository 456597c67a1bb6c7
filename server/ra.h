/*
 * ra.h - helpers shared by the registration logic's files (ra_*.c).
 */
#ifndef ANVIL_SERVER_RA_H
#define ANVIL_SERVER_RA_H

#include <stdbool.h>
#include <stdint.h>

#include "model.h"
#include "server.h"

struct store;

/*
 * Brings an order's status up to date from its authorizations and its
 * expiry (RFC 8555 §7.1.6): pending -> ready when all are valid; pending or
 * ready -> invalid when one failed or the order expired.  Writes the order
 * back when it changed.  held, if not NULL, is an authorization exactly
 * as the store holds it (e.g. just written): used, and refreshed, in place
 * of reading that one back.  Returns 0 or a negative ANVIL_E* code.
 */
int order_refresh(struct store *st, struct order *o, struct authz *held,
    int64_t now);

/* Marks an authorization expired when its time has passed (in memory and
 * in the store).  Returns 0 or a negative code. */
int authz_refresh(struct store *st, struct authz *a, int64_t now);

/* Loads an order and checks that it belongs to the requesting account;
 * answers and returns -1 when it does not exist or is another's. */
int load_own_order(struct req *r, const char *id, struct order *ret);

#endif
