/*
 * render.c - the JSON form of each ACME object (RFC 8555 §7.1.2-§7.1.5).
 */
#include <stdio.h>
#include <string.h>

#include "anvil/json.h"
#include "server.h"

static void
set_time(json_t *o, const char *key, int64_t t)
{
	char buf[32];

	anvil_time_fmt(t, buf);
	json_object_set_new(o, key, json_string(buf));
}

/* Parses a stored JSON text (our own), or NULL. */
static json_t *
stored(const char *text)
{
	json_t *v = NULL;

	if (text == NULL || anvil_json_parse(text, strlen(text), &v) != 0)
		return NULL;
	return v;
}

json_t *
render_acct(const struct req *r, const struct acct *a)
{
	json_t *o = json_object(), *contact;
	char url[400];

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "status", json_string(acct_status_name(a->status)));
	contact = stored(a->contact);
	json_object_set_new(o, "contact", contact != NULL ? contact :
	    json_array());
	json_object_set_new(o, "termsOfServiceAgreed",
	    json_boolean(a->tos_agreed));
	url_of(r, PATH_ACCT, a->id, "orders", url, sizeof(url));
	json_object_set_new(o, "orders", json_string(url));
	set_time(o, "createdAt", a->created);
	return o;
}

static json_t *
identifier(const char *name)
{
	return json_pack("{s:s, s:s}", "type", "dns", "value", name);
}

json_t *
render_order(const struct req *r, const struct order *o)
{
	json_t *j = json_object(), *ids = json_array(), *authzs = json_array();
	json_t *err;
	char url[400];
	size_t i;

	if (j == NULL || ids == NULL || authzs == NULL) {
		json_decref(j);
		json_decref(ids);
		json_decref(authzs);
		return NULL;
	}
	json_object_set_new(j, "status",
	    json_string(order_status_name(o->status)));
	set_time(j, "expires", o->expires);
	for (i = 0; i < o->n_names; i++) {
		json_array_append_new(ids, identifier(o->names[i]));
		url_of(r, PATH_AUTHZ, o->authz_ids[i], NULL, url, sizeof(url));
		json_array_append_new(authzs, json_string(url));
	}
	json_object_set_new(j, "identifiers", ids);
	if (o->not_before != 0)
		set_time(j, "notBefore", o->not_before);
	if (o->not_after != 0)
		set_time(j, "notAfter", o->not_after);
	json_object_set_new(j, "authorizations", authzs);
	url_of(r, PATH_ORDER, o->id, "finalize", url, sizeof(url));
	json_object_set_new(j, "finalize", json_string(url));
	if (o->status == ORDER_VALID && o->cert_serial[0] != '\0') {
		url_of(r, PATH_CERT, o->cert_serial, NULL, url, sizeof(url));
		json_object_set_new(j, "certificate", json_string(url));
	}
	err = stored(o->error);
	if (err != NULL)
		json_object_set_new(j, "error", err);
	return j;
}

json_t *
render_chall(const struct req *r, const struct chall *c, const char *authz_id)
{
	json_t *j, *err;
	char url[400];

	(void)authz_id;
	url_of(r, PATH_CHALL, c->id, NULL, url, sizeof(url));
	j = json_pack("{s:s, s:s, s:s, s:s}", "type", chall_type_name(c->type),
	    "url", url, "status", chall_status_name(c->status),
	    "token", c->token);
	if (j == NULL)
		return NULL;
	if (c->validated != 0)
		set_time(j, "validated", c->validated);
	err = stored(c->error);
	if (err != NULL)
		json_object_set_new(j, "error", err);
	return j;
}

json_t *
render_authz(const struct req *r, const struct authz *a)
{
	json_t *j = json_object(), *challs = json_array();
	size_t i;

	if (j == NULL || challs == NULL) {
		json_decref(j);
		json_decref(challs);
		return NULL;
	}
	json_object_set_new(j, "identifier", identifier(a->ident));
	json_object_set_new(j, "status",
	    json_string(authz_status_name(a->status)));
	set_time(j, "expires", a->expires);
	for (i = 0; i < a->n_challs; i++)
		json_array_append_new(challs, render_chall(r, &a->challs[i],
		    a->id));
	json_object_set_new(j, "challenges", challs);
	if (a->wildcard)
		json_object_set_new(j, "wildcard", json_true());
	return j;
}
