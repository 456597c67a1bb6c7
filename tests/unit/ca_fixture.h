/*
 * ca_fixture.h - a CA made by ca_init in a temporary directory and opened
 * with signer_open, for the tests of what the signer signs (test_crl.c,
 * test_ocsp.c).  Included by one test file each: its state is static.
 */
#ifndef ANVIL_TESTS_CA_FIXTURE_H
#define ANVIL_TESTS_CA_FIXTURE_H

#include <sys/stat.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>

#include <openssl/pem.h>
#include <openssl/x509.h>

#include "signer.h"

static char		 base[64];	/* the state directory */
static struct signer	*sig;
static X509		*inter;		/* the intermediate */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* A certificate of the state directory. */
static X509 *
pem_load(const char *file)
{
	char	 path[256];
	FILE	*f;
	X509	*x;

	snprintf(path, sizeof(path), "%s/%s", base, file);
	f = fopen(path, "r");
	assert_non_null(f);
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	return x;
}

/* Makes and opens the CA under /tmp/NAME.XXXXXX; public_base_url may be
 * NULL.  0 or -1. */
static int
ca_fixture_open(const char *name, const char *public_base_url)
{
	struct ca_init_opts	 o;

	snprintf(base, sizeof(base), "/tmp/%s.XXXXXX", name);
	if (mkdtemp(base) == NULL)
		return -1;
	memset(&o, 0, sizeof(o));
	o.state_dir = base;
	o.public_base_url = public_base_url;
	if (ca_init(&o) != 0 || signer_open(base, &sig) != 0)
		return -1;
	inter = pem_load(STATE_INTER_CERT);
	return 0;
}

static void
ca_fixture_close(void)
{
	signer_free(sig);
	X509_free(inter);
	(void)nftw(base, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

#endif
