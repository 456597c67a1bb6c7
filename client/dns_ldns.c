/*
 * dns_ldns.c - libldns, opened when dns-01 first needs it.
 *
 * Only the dns-01 solvers use ldns.  Linked, it would be loaded and
 * relocated by every run, an http-01 issuance included (about 0.3 MiB of
 * the agent's resident memory).  Here it is opened with dlopen() by the
 * dns-01 code's entry points, and the pointers that dns01.h maps the
 * ldns names onto are filled.  The name opened is the soname of the
 * libldns the agent was built against (AG_LDNS_SONAME, from meson).
 */
#include <dlfcn.h>

#define AG_LDNS_NO_REDIRECT	/* the real ldns names, for dlsym() */
#include "dns01.h"

#ifndef AG_LDNS_SONAME
#define AG_LDNS_SONAME	"libldns.so.3"
#endif

#define AG_LDNS_DEFINE(f)	__typeof__(f) *ag_##f;
AG_LDNS_FUNCS(AG_LDNS_DEFINE)
ldns_lookup_table *ag_ldns_rcodes;

int
ag_ldns_open(void)
{
	static int	 opened;
	const char	*missing = "ldns_rcodes";
	void		*h;

	if (opened)
		return 0;
	/* Kept open for the life of the process. */
	h = dlopen(AG_LDNS_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		ag_err("dns-01 needs libldns: %s", dlerror());
		return ANVIL_ENOENT;
	}
	/* POSIX: a function pointer is read from dlsym() through its
	 * object representation. */
#define AG_LDNS_SYM(f)							\
	*(void **)(&ag_##f) = dlsym(h, #f);				\
	if (ag_##f == NULL) {						\
		missing = #f;						\
		goto fail;						\
	}
	AG_LDNS_FUNCS(AG_LDNS_SYM)
#undef AG_LDNS_SYM
	ag_ldns_rcodes = dlsym(h, "ldns_rcodes");
	if (ag_ldns_rcodes == NULL)
		goto fail;
	opened = 1;
	return 0;
fail:
	ag_err("dns-01: %s has no %s", AG_LDNS_SONAME, missing);
	(void)dlclose(h);
	return ANVIL_ENOENT;
}
