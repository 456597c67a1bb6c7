/*
 * model.c - names of statuses and types, and the *_clear() functions of
 * the ACME objects in model.h.
 */
#include <stdlib.h>
#include <string.h>

#include "model.h"

static const char *const acct_status_names[ACCT__MAX] = {
	"valid", "deactivated", "revoked"
};
static const char *const order_status_names[ORDER__MAX] = {
	"pending", "ready", "processing", "valid", "invalid"
};
static const char *const authz_status_names[AUTHZ__MAX] = {
	"pending", "valid", "invalid", "deactivated", "expired", "revoked"
};
static const char *const chall_status_names[CHALL__MAX] = {
	"pending", "processing", "valid", "invalid"
};
static const char *const chall_type_names[CHALL_TYPE__MAX] = {
	"http-01", "dns-01", "tls-alpn-01"
};

static int
lookup(const char *const *names, int n, const char *s)
{
	int i;

	if (s == NULL)
		return n;
	for (i = 0; i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return n;
}

#define NAME_FN(fn, type, table, max)					\
const char *								\
fn(type v)								\
{									\
	if ((int)v < 0 || (int)v >= (max))				\
		return "unknown";					\
	return table[v];						\
}

NAME_FN(acct_status_name, enum acct_status, acct_status_names, ACCT__MAX)
NAME_FN(order_status_name, enum order_status, order_status_names, ORDER__MAX)
NAME_FN(authz_status_name, enum authz_status, authz_status_names, AUTHZ__MAX)
NAME_FN(chall_status_name, enum chall_status, chall_status_names, CHALL__MAX)
NAME_FN(chall_type_name, enum chall_type, chall_type_names, CHALL_TYPE__MAX)

enum acct_status
acct_status_parse(const char *s)
{
	return (enum acct_status)lookup(acct_status_names, ACCT__MAX, s);
}

enum order_status
order_status_parse(const char *s)
{
	return (enum order_status)lookup(order_status_names, ORDER__MAX, s);
}

enum authz_status
authz_status_parse(const char *s)
{
	return (enum authz_status)lookup(authz_status_names, AUTHZ__MAX, s);
}

enum chall_status
chall_status_parse(const char *s)
{
	return (enum chall_status)lookup(chall_status_names, CHALL__MAX, s);
}

enum chall_type
chall_type_parse(const char *s)
{
	return (enum chall_type)lookup(chall_type_names, CHALL_TYPE__MAX, s);
}

uint32_t
id_hash(const char *id)
{
	uint32_t h = 2166136261u;

	for (; *id != '\0'; id++)
		h = (h ^ (uint8_t)*id) * 16777619u;
	return h;
}

static void
strv_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

void
acct_clear(struct acct *a)
{
	if (a == NULL)
		return;
	free(a->jwk);
	free(a->contact);
	memset(a, 0, sizeof(*a));
}

void
chall_clear(struct chall *c)
{
	if (c == NULL)
		return;
	free(c->error);
	memset(c, 0, sizeof(*c));
}

void
authz_clear(struct authz *a)
{
	size_t i;

	if (a == NULL)
		return;
	free(a->ident);
	for (i = 0; i < a->n_challs && i < AUTHZ_MAX_CHALLS; i++)
		chall_clear(&a->challs[i]);
	memset(a, 0, sizeof(*a));
}

void
order_clear(struct order *o)
{
	if (o == NULL)
		return;
	strv_free(o->names);
	strv_free(o->authz_ids);
	free(o->error);
	memset(o, 0, sizeof(*o));
}

void
cert_clear(struct cert *c)
{
	if (c == NULL)
		return;
	free(c->der);
	free(c->names);
	free(c->spki_hash);
	memset(c, 0, sizeof(*c));
}
