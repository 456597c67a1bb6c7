/*
 * fuzz_tlsalpn.c - the acmeIdentifier extension of a tls-alpn-01
 * certificate (RFC 8737 §3), as the validator reads it from a handshake:
 * d2i_X509, then anvil_tlsalpn_cert_digest.
 *
 * Asserts: a digest is returned only from a certificate with exactly one
 * critical acmeIdentifier extension; a certificate built with
 * anvil_tlsalpn_cert_new for that digest reads back the same digest; the
 * function is deterministic and leaves OpenSSL's error queue empty.
 */
#include <stdint.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include "anvil/error.h"
#include "anvil/x509.h"
#include "fuzz.h"

static EVP_PKEY		*fixed_key;
static ASN1_OBJECT	*acme_id;

/* A key to build certificates with, and the OID, made once. */
static void
init(void)
{
	if (fixed_key != NULL)
		return;
	FUZZ_CHECK(anvil_key_generate(ANVIL_KEY_EC256, &fixed_key) == 0);
	acme_id = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
	FUZZ_CHECK(acme_id != NULL);
}

/* What the digest was read from: one critical acmeIdentifier. */
static void
check_extension(X509 *x)
{
	X509_EXTENSION	*ext;
	int		 idx;

	idx = X509_get_ext_by_OBJ(x, acme_id, -1);
	FUZZ_CHECK(idx >= 0);
	FUZZ_CHECK(X509_get_ext_by_OBJ(x, acme_id, idx) < 0);
	ext = X509_get_ext(x, idx);
	FUZZ_CHECK(ext != NULL && X509_EXTENSION_get_critical(ext) == 1);
}

/* A fresh certificate for the digest gives the digest back. */
static void
check_rebuild(const uint8_t digest[32])
{
	X509	*x = NULL;
	uint8_t	 back[32];

	if (anvil_tlsalpn_cert_new(fixed_key, "example.com", digest, &x) != 0)
		return;
	FUZZ_CHECK(anvil_tlsalpn_cert_digest(x, back) == 0);
	FUZZ_CHECK(memcmp(back, digest, 32) == 0);
	X509_free(x);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const unsigned char	*p = data;
	X509			*x = NULL;
	uint8_t			 digest[32], again[32];
	int			 rc, rc2;

	/* A TLS certificate message is at most 16 MB; real ones are small. */
	if (size > 64 * 1024)
		return 0;
	init();
	ERR_clear_error();
	x = d2i_X509(NULL, &p, (long)size);
	if (x == NULL) {
		ERR_clear_error();
		return 0;
	}
	memset(digest, 0, sizeof(digest));
	rc = anvil_tlsalpn_cert_digest(x, digest);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_ENOENT || rc == ANVIL_ECERT ||
	    rc == ANVIL_ENOMEM);
	FUZZ_CHECK(ERR_peek_error() == 0);
	rc2 = anvil_tlsalpn_cert_digest(x, again);
	FUZZ_CHECK(rc2 == rc);
	if (rc == 0) {
		FUZZ_CHECK(memcmp(digest, again, sizeof(digest)) == 0);
		check_extension(x);
		check_rebuild(digest);
	}
	X509_free(x);
	ERR_clear_error();
	return 0;
}
