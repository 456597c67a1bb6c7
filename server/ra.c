/*
 * ra.c - registration logic shared by the resources: keeping order and
 * authorization statuses true to RFC 8555 §7.1.6.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/anvil.h"
#include "ra.h"
#include "store.h"

int
authz_refresh(struct store *st, struct authz *a, int64_t now)
{
	if ((a->status == AUTHZ_PENDING || a->status == AUTHZ_VALID) &&
	    a->expires <= now) {
		a->status = AUTHZ_EXPIRED;
		return store_authz_update(st, a);
	}
	return 0;
}

/* The error an order takes when one of its authorizations failed: the
 * failed challenge's problem, as a subproblem naming the identifier. */
static char *
order_error_from(const struct authz *a, int64_t now)
{
	json_t *doc = NULL, *sub = NULL, *subs;
	const char *why = "authorization failed";
	char detail[400], *text = NULL;
	size_t i;

	for (i = 0; i < a->n_challs; i++) {
		if (a->challs[i].error != NULL &&
		    anvil_json_parse_object(a->challs[i].error,
		    strlen(a->challs[i].error), &sub) == 0)
			break;
	}
	if (a->status == AUTHZ_EXPIRED || a->expires <= now)
		why = "authorization expired";
	else if (a->status == AUTHZ_DEACTIVATED)
		why = "authorization was deactivated";
	else if (a->status == AUTHZ_REVOKED)
		why = "authorization was revoked";
	snprintf(detail, sizeof(detail), "%s for %s%s", why,
	    a->wildcard ? "*." : "", a->ident);
	if (sub != NULL) {
		json_object_set_new(sub, "identifier", json_pack("{s:s,s:s}",
		    "type", "dns", "value", a->ident));
		subs = json_array();
		if (subs != NULL)
			json_array_append_new(subs, sub);
		doc = json_pack("{s:s, s:s, s:i, s:o*}", "type",
		    ANVIL_PROBLEM_NS "unauthorized", "detail", detail,
		    "status", 403, "subproblems", subs);
	} else
		doc = json_pack("{s:s, s:s, s:i}", "type",
		    ANVIL_PROBLEM_NS "unauthorized", "detail", detail,
		    "status", 403);
	if (doc != NULL && anvil_json_dump(doc, &text, NULL) != 0)
		text = NULL;
	json_decref(doc);
	return text;
}

int
order_refresh(struct store *st, struct order *o, struct authz *held,
    int64_t now)
{
	struct authz a, *p;
	size_t i, valid = 0;
	int rc = 0;

	if (o->status != ORDER_PENDING && o->status != ORDER_READY)
		return 0;
	if (o->expires <= now) {
		o->status = ORDER_INVALID;
		free(o->error);
		o->error = strdup("{\"type\":\"" ANVIL_PROBLEM_NS "malformed\","
		    "\"detail\":\"order expired\",\"status\":400}");
		return store_order_update(st, o);
	}
	/* A ready order is checked too: an authorization it relies on may
	 * have been deactivated or have expired since. */
	for (i = 0; i < o->n_names; i++) {
		memset(&a, 0, sizeof(a));
		p = &a;
		/* The caller's copy is what the store holds: not read
		 * back. */
		if (held != NULL && o->authz_ids[i] != NULL &&
		    strcmp(o->authz_ids[i], held->id) == 0)
			p = held;
		else {
			rc = store_authz_get(st, o->authz_ids[i], &a);
			if (rc != 0)
				return rc;
		}
		rc = authz_refresh(st, p, now);
		if (rc != 0) {
			authz_clear(&a);
			return rc;
		}
		if (p->status == AUTHZ_VALID)
			valid++;
		else if (p->status != AUTHZ_PENDING) {
			o->status = ORDER_INVALID;
			free(o->error);
			o->error = order_error_from(p, now);
			authz_clear(&a);
			return store_order_update(st, o);
		}
		authz_clear(&a);
	}
	if (valid == o->n_names && o->status != ORDER_READY) {
		o->status = ORDER_READY;
		return store_order_update(st, o);
	}
	return 0;
}

int
load_own_order(struct req *r, const char *id, struct order *ret)
{
	int rc;

	rc = store_order_get(r->srv->store, id, ret);
	if (rc == ANVIL_ENOENT) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 404, "no such order");
		return -1;
	}
	if (rc != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not read the order");
		return -1;
	}
	if (strcmp(ret->acct_id, r->acct.id) != 0) {
		order_clear(ret);
		reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 0,
		    "this order belongs to another account");
		return -1;
	}
	return 0;
}
