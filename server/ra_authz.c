/*
 * ra_authz.c - authorizations and challenges: reading and deactivating an
 * authorization (RFC 8555 §7.5, §7.5.2), answering a challenge (§7.5.1),
 * and applying the validation authority's result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/anvil.h"
#include "ra.h"
#include "store.h"
#include "va.h"

/* Seconds a client should wait before polling a pending validation. */
#define POLL_SECONDS 1

static int
load_own_authz(struct req *r, struct authz *a, const char *authz_id,
    const char *chall_id, size_t *idx)
{
	int rc;

	if (chall_id != NULL)
		rc = store_authz_get_by_chall(r->srv->store, chall_id, a, idx);
	else
		rc = store_authz_get(r->srv->store, authz_id, a);
	if (rc == ANVIL_ENOENT) {
		reply_problem(r, ANVIL_PROB_MALFORMED, 404, "no such %s",
		    chall_id != NULL ? "challenge" : "authorization");
		return -1;
	}
	if (rc == 0 && strcmp(a->acct_id, r->acct.id) != 0) {
		authz_clear(a);
		reply_problem(r, ANVIL_PROB_UNAUTHORIZED, 0,
		    "this authorization belongs to another account");
		return -1;
	}
	if (rc == 0)
		rc = authz_refresh(r->srv->store, a, now_s());
	if (rc != 0) {
		authz_clear(a);
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not read the authorization");
		return -1;
	}
	return 0;
}

static bool
any_processing(const struct authz *a)
{
	size_t i;

	for (i = 0; i < a->n_challs; i++)
		if (a->challs[i].status == CHALL_PROCESSING)
			return true;
	return false;
}

void
ra_authz(struct req *r)
{
	struct authz a;
	const char *status;
	char url[400];

	memset(&a, 0, sizeof(a));
	if (r->sub[0] != '\0') {
		reply_problem(r, ANVIL_PROB_MALFORMED, 404, "no such resource");
		return;
	}
	if (load_own_authz(r, &a, r->arg, NULL, NULL) != 0)
		return;
	if (!r->post_as_get) {
		status = anvil_json_str(r->payload, "status");
		if (status == NULL || strcmp(status, "deactivated") != 0 ||
		    json_object_size(r->payload) != 1) {
			reply_problem(r, ANVIL_PROB_MALFORMED, 0, "an "
			    "authorization can only be updated with "
			    "{\"status\":\"deactivated\"}");
			goto out;
		}
		if (a.status != AUTHZ_PENDING && a.status != AUTHZ_VALID) {
			reply_problem(r, ANVIL_PROB_MALFORMED, 0,
			    "authorization is %s and cannot be deactivated",
			    authz_status_name(a.status));
			goto out;
		}
		a.status = AUTHZ_DEACTIVATED;
		if (store_authz_update(r->srv->store, &a) != 0) {
			reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
			    "could not update the authorization");
			goto out;
		}
	}
	if (a.status == AUTHZ_PENDING && any_processing(&a))
		r->retry_after = POLL_SECONDS;
	url_of(r, PATH_AUTHZ, a.id, NULL, url, sizeof(url));
	reply_json(r, 200, render_authz(r, &a), NULL);
out:
	authz_clear(&a);
}

/* Fills job with the validation of challenge idx of a, for the account
 * whose key has thumbprint. */
static void
job_of(const struct authz *a, size_t idx, const char *thumbprint,
    struct va_job *job)
{
	const struct chall *c = &a->challs[idx];

	memset(job, 0, sizeof(*job));
	snprintf(job->chall_id, sizeof(job->chall_id), "%s", c->id);
	job->type = c->type;
	snprintf(job->name, sizeof(job->name), "%s", a->ident);
	snprintf(job->token, sizeof(job->token), "%s", c->token);
	/* §8.1: keyAuthorization = token || '.' || thumbprint(accountKey) */
	snprintf(job->keyauth, sizeof(job->keyauth), "%s.%s", c->token,
	    thumbprint);
}

/* Starts validation of challenge idx of authorization a. */
static int
start_validation(struct req *r, struct authz *a, size_t idx)
{
	struct chall *c = &a->challs[idx];
	struct va_job job;
	int rc;

	job_of(a, idx, r->acct.thumbprint, &job);
	c->status = CHALL_PROCESSING;
	rc = store_chall_update(r->srv->store, a, idx, false);
	if (rc != 0)
		return rc;
	rc = va_submit(r->srv->va, &job);
	if (rc != 0) {
		c->status = CHALL_PENDING;
		(void)store_chall_update(r->srv->store, a, idx, false);
	}
	return rc;
}

/* Answers r with challenge idx of a (§7.5.1: the challenge object, a
 * Link "up" to its authorization, Retry-After while it is processing). */
static void
chall_answer(struct req *r, const struct authz *a, size_t idx)
{
	const struct chall *c = &a->challs[idx];

	if (c->status == CHALL_PROCESSING)
		r->retry_after = POLL_SECONDS;
	url_of(r, PATH_AUTHZ, a->id, NULL, r->link_up, sizeof(r->link_up));
	reply_json(r, 200, render_chall(r, c, a->id), NULL);
}

/* A parked challenge answer whose time is up (or the server stops):
 * answered with the challenge as the store has it now. */
static void
chall_answer_expired(struct req *r, const char *chall_id)
{
	struct authz a;
	size_t idx = 0;

	memset(&a, 0, sizeof(a));
	if (store_authz_get_by_chall(r->srv->store, chall_id, &a, &idx)
	    != 0) {
		reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
		    "could not read the challenge");
		return;
	}
	chall_answer(r, &a, idx);
	authz_clear(&a);
}

/*
 * Whether the answer to the POST that started validating a's challenge
 * waits for the result (up to challenge_wait_ms): only when no other
 * authorization of its orders still waits for the client, since a client
 * answers its challenges one after the other and those validations run
 * side by side.  The last answer then says valid or invalid: a client
 * may go on to finalize without polling (§7.1.6), and one that polls
 * finds the authorization decided at its first poll.
 */
static bool
answer_waits(struct req *r, const struct authz *a)
{
	if (r->srv->cfg.challenge_wait_ms <= 0 || r->srv->parking == NULL)
		return false;
	return store_authz_sibling_unanswered(r->srv->store, a->id) == 0;
}

void
ra_chall(struct req *r)
{
	struct authz a;
	struct chall *c;
	size_t idx = 0;
	int rc;

	memset(&a, 0, sizeof(a));
	if (r->sub[0] != '\0') {
		reply_problem(r, ANVIL_PROB_MALFORMED, 404, "no such resource");
		return;
	}
	if (load_own_authz(r, &a, NULL, r->arg, &idx) != 0)
		return;
	c = &a.challs[idx];
	/* §7.5.1: any JSON object (normally {}) asks for validation; a
	 * repeated request changes nothing. */
	if (!r->post_as_get && c->status == CHALL_PENDING &&
	    a.status == AUTHZ_PENDING) {
		rc = start_validation(r, &a, idx);
		if (rc == ANVIL_E2BIG) {
			r->retry_after = 5;
			reply_problem(r, ANVIL_PROB_RATE_LIMITED, 503,
			    "validation queue is full, retry later");
			goto out;
		}
		if (rc != 0) {
			reply_problem(r, ANVIL_PROB_SERVER_INTERNAL, 0,
			    "could not start validation");
			goto out;
		}
		/* Answered by ra_validation_done, or on the timer. */
		if (answer_waits(r, &a) && front_park(r, c->id,
		    r->srv->cfg.challenge_wait_ms, chall_answer_expired) == 0)
			goto out;
	}
	chall_answer(r, &a, idx);
out:
	authz_clear(&a);
}

/* The problem document a failed check leaves on its challenge. */
static char *
chall_error(const struct va_result *res)
{
	char type[128], *text = NULL;
	json_t *doc;

	snprintf(type, sizeof(type), ANVIL_PROBLEM_NS "%s",
	    anvil_problem_name(res->problem) != NULL ?
	    anvil_problem_name(res->problem) : "serverInternal");
	doc = json_pack("{s:s, s:s, s:i}", "type", type, "detail",
	    res->detail, "status", anvil_problem_status(res->problem));
	if (doc != NULL && anvil_json_dump(doc, &text, NULL) != 0)
		text = NULL;
	json_decref(doc);
	return text;
}

int
ra_resume_validations(struct server *srv)
{
	struct authz a;
	struct acct acct;
	struct va_job job;
	char **ids = NULL;
	int64_t now = now_s();
	size_t idx, i;
	int more = 0, n = 0, rc;

	rc = store_chall_processing(srv->store, RA_RESUME_MAX, &ids, &more);
	if (rc != 0)
		return rc;
	for (i = 0; ids[i] != NULL; i++) {
		memset(&a, 0, sizeof(a));
		memset(&acct, 0, sizeof(acct));
		/* An authorization no longer pending or past its time is
		 * left as it is: no result could change it. */
		if (store_authz_get_by_chall(srv->store, ids[i], &a, &idx) ==
		    0 && a.status == AUTHZ_PENDING && a.expires > now &&
		    store_acct_get(srv->store, a.acct_id, &acct) == 0) {
			job_of(&a, idx, acct.thumbprint, &job);
			rc = va_submit(srv->va, &job);
			if (rc == 0)
				n++;
		}
		acct_clear(&acct);
		authz_clear(&a);
		if (rc != 0)
			break;
	}
	if (more || rc != 0)
		fprintf(stderr, "anvil-ca: %d validations started again, more "
		    "were left processing\n", n);
	anvil_strv_free(ids);
	return rc != 0 ? rc : n;
}

void
ra_validation_done(const struct va_result *res, void *arg)
{
	struct server *srv = arg;
	struct authz a;
	struct order o;
	struct chall *c;
	struct req r;
	char **order_ids = NULL;
	int64_t now = now_s();
	size_t idx = 0, i;
	bool authz_moved;
	int rc;

	memset(&a, 0, sizeof(a));
	/* Joins the pass's batch: committed with the requests' writes. */
	(void)front_batch_join(srv);
	rc = store_authz_get_by_chall(srv->store, res->chall_id, &a, &idx);
	if (rc != 0) {
		fprintf(stderr, "anvil-ca: validation result for unknown "
		    "challenge %s\n", res->chall_id);
		return;
	}
	c = &a.challs[idx];
	if (c->status != CHALL_PROCESSING)
		goto out;
	if (store_begin(srv->store) != 0)
		goto out;
	authz_moved = a.status == AUTHZ_PENDING;
	if (res->ok) {
		c->status = CHALL_VALID;
		c->validated = now;
		if (a.status == AUTHZ_PENDING) {
			a.status = AUTHZ_VALID;
			a.expires = now + srv->cfg.authz_lifetime;
		}
	} else {
		c->status = CHALL_INVALID;
		free(c->error);
		c->error = chall_error(res);
		if (a.status == AUTHZ_PENDING)
			a.status = AUTHZ_INVALID;
	}
	/* The challenge, and the authorization when its status moved. */
	rc = store_chall_update(srv->store, &a, idx, authz_moved);
	if (rc == 0)
		rc = store_order_ids_by_authz(srv->store, a.id, &order_ids);
	/* a is as just written: order_refresh() uses it, not a copy read
	 * back. */
	for (i = 0; rc == 0 && order_ids[i] != NULL; i++) {
		memset(&o, 0, sizeof(o));
		rc = store_order_get(srv->store, order_ids[i], &o);
		if (rc == 0)
			rc = order_refresh(srv->store, &o, &a, now);
		order_clear(&o);
	}
	if (rc == 0)
		rc = store_commit(srv->store);
	if (rc != 0) {
		(void)store_rollback(srv->store);
		fprintf(stderr, "anvil-ca: could not record validation of "
		    "%s\n", res->chall_id);
	}
	/* The answer to the POST that started it, if it waits: the
	 * challenge as just written, sent once that is on disk. */
	if (front_unpark(srv, res->chall_id, &r)) {
		if (rc == 0)
			chall_answer(&r, &a, idx);
		else
			chall_answer_expired(&r, res->chall_id);
	}
out:
	anvil_strv_free(order_ids);
	authz_clear(&a);
}
