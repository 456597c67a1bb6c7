/*
 * fuzz_csr.c - certificate signing requests from a finalize request
 * (anvil/x509.h: anvil_csr_parse, anvil_csr_verify, anvil_csr_names).
 *
 * Asserts: names are returned only when the extension request decodes;
 * every name returned passes anvil_dns_name_check, is lowercase
 * and appears once; there are at most max of them, and the limit is
 * exact (max = n succeeds with the same names, max = n - 1 fails); the
 * DER re-encoding of a parsed CSR parses again and gives the same names
 * and the same verification result.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/error.h"
#include "anvil/limits.h"
#include "anvil/x509.h"
#include "fuzz.h"

static size_t
strv_len(char **v)
{
	size_t	 n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

static int
strv_equal(char **a, char **b)
{
	size_t	 i;

	for (i = 0; a[i] != NULL && b[i] != NULL; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return a[i] == NULL && b[i] == NULL;
}

/* Checks the names and the exactness of the max argument. */
static void
check_names(X509_REQ *req, char **names)
{
	STACK_OF(X509_EXTENSION) *exts;
	char	**again = NULL;
	size_t	 n, i, j;
	int	 rc;

	/* Names come only from a CSR whose extension request decodes (an
	 * absent one decodes to an empty list). */
	exts = X509_REQ_get_extensions(req);
	FUZZ_CHECK(exts != NULL);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	ERR_clear_error();
	n = strv_len(names);
	FUZZ_CHECK(n >= 1 && n <= ANVIL_MAX_IDENTIFIERS);
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(anvil_dns_name_check(names[i], 1) == 0);
		for (j = 0; names[i][j] != '\0'; j++)
			FUZZ_CHECK(names[i][j] < 'A' || names[i][j] > 'Z');
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(names[i], names[j]) != 0);
	}
	rc = anvil_csr_names(req, n, &again);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_ENOMEM);
	if (rc == 0) {
		FUZZ_CHECK(strv_equal(names, again));
		anvil_strv_free(again);
		again = NULL;
	}
	if (n > 1) {
		rc = anvil_csr_names(req, n - 1, &again);
		FUZZ_CHECK(rc == ANVIL_ECSR || rc == ANVIL_ENOMEM);
		FUZZ_CHECK(again == NULL);
	}
}

/* The re-encoded CSR reads the same. */
static void
check_reencode(X509_REQ *req, int verified, char **names)
{
	X509_REQ	*req2 = NULL;
	uint8_t		*der = NULL;
	char		**names2 = NULL;
	size_t		 len = 0;
	int		 rc;

	if (anvil_csr_der(req, &der, &len) != 0)
		return;
	rc = anvil_csr_parse(der, len, &req2);
	/* Only the size bound can refuse what OpenSSL wrote itself. */
	FUZZ_CHECK(rc == 0 || len > ANVIL_MAX_CSR_DER);
	if (rc != 0)
		goto out;
	FUZZ_CHECK((anvil_csr_verify(req2) == 0) == verified);
	rc = anvil_csr_names(req2, ANVIL_MAX_IDENTIFIERS, &names2);
	FUZZ_CHECK((rc == 0) == (names != NULL));
	if (rc == 0)
		FUZZ_CHECK(strv_equal(names, names2));
out:
	anvil_strv_free(names2);
	X509_REQ_free(req2);
	free(der);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	X509_REQ	*req = NULL;
	char		**names = NULL;
	int		 rc, verified;

	ERR_clear_error();
	rc = anvil_csr_parse(data, size, &req);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_ECSR);
	if (rc != 0)
		goto out;
	FUZZ_CHECK(size > 0 && size <= ANVIL_MAX_CSR_DER);
	rc = anvil_csr_verify(req);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_ECSR);
	verified = rc == 0;
	rc = anvil_csr_names(req, ANVIL_MAX_IDENTIFIERS, &names);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_ECSR || rc == ANVIL_ENOMEM);
	if (rc == 0)
		check_names(req, names);
	else
		FUZZ_CHECK(names == NULL);
	check_reencode(req, verified, names);
out:
	/* Every refusal must leave OpenSSL's error queue empty. */
	FUZZ_CHECK(ERR_peek_error() == 0);
	anvil_strv_free(names);
	X509_REQ_free(req);
	return 0;
}
