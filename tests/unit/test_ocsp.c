/*
 * test_ocsp.c - unit tests for OCSP (server/ocsp.c) and the signer's
 * responder: malformed, oversized and multi-certificate requests first,
 * then requests made by OpenSSL's client code, responses checked with
 * OCSP_basic_verify against the root as openssl(1) does, the unsigned
 * error answers, and the delegated responder certificate and its renewal.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/anvil.h"

#include "ocsp.h"
#include "signer.h"

#define DAY (24 * 60 * 60)

#include "ca_fixture.h"

static X509		*root;

static int
group_setup(void **state)
{
	(void)state;
	if (ca_fixture_open("test_ocsp", NULL) != 0)
		return -1;
	if (signer_ocsp_open(sig, base, (int64_t)time(NULL)) != 0)
		return -1;
	root = pem_load(STATE_ROOT_CERT);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	X509_free(root);
	ca_fixture_close();
	return 0;
}

/* DER of an OCSPRequest for serial hex (n_ids CertIDs) about issuer,
 * with CertIDs hashed with md, and a nonce. */
static uint8_t *
request_der(X509 *issuer, const char *hex, int n_ids, const EVP_MD *md,
    size_t *ret_len)
{
	OCSP_REQUEST	*req;
	OCSP_CERTID	*id;
	ASN1_INTEGER	*sn;
	BIGNUM		*bn = NULL;
	unsigned char	*der = NULL;
	int		 i, len;

	req = OCSP_REQUEST_new();
	assert_non_null(req);
	assert_true(BN_hex2bn(&bn, hex) > 0);
	sn = BN_to_ASN1_INTEGER(bn, NULL);
	for (i = 0; i < n_ids; i++) {
		id = OCSP_cert_id_new(md, X509_get_subject_name(issuer),
		    X509_get0_pubkey_bitstr(issuer), sn);
		assert_non_null(id);
		assert_non_null(OCSP_request_add0_id(req, id));
	}
	assert_int_equal(OCSP_request_add1_nonce(req, NULL, 16), 1);
	len = i2d_OCSP_REQUEST(req, &der);
	assert_true(len > 0);
	*ret_len = (size_t)len;
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	OCSP_REQUEST_free(req);
	return der;
}

static void
test_parse_invalid(void **state)
{
	struct ocsp_query	 q;
	uint8_t			 junk[OCSP_MAX_REQUEST + 1];
	uint8_t			*der, *more;
	size_t			 len;

	(void)state;
	memset(junk, 0x30, sizeof(junk));
	assert_int_equal(ocsp_request_parse(NULL, 10, &q), ANVIL_EINVAL);
	assert_int_equal(ocsp_request_parse(junk, 0, &q), ANVIL_EINVAL);
	assert_int_equal(ocsp_request_parse(junk, sizeof(junk), &q),
	    ANVIL_E2BIG);
	assert_int_equal(ocsp_request_parse((const uint8_t *)"hello", 5, &q),
	    ANVIL_EINVAL);
	der = request_der(inter, "0102", 1, EVP_sha1(), &len);
	/* Truncated, and with a byte after it. */
	assert_int_equal(ocsp_request_parse(der, len - 1, &q), ANVIL_EINVAL);
	more = malloc(len + 1);
	assert_non_null(more);
	memcpy(more, der, len);
	more[len] = 0;
	assert_int_equal(ocsp_request_parse(more, len + 1, &q), ANVIL_EINVAL);
	free(more);
	OPENSSL_free(der);
	/* RFC 5019: one certificate per request. */
	der = request_der(inter, "0102", 2, EVP_sha1(), &len);
	assert_int_equal(ocsp_request_parse(der, len, &q), ANVIL_EINVAL);
	OPENSSL_free(der);
}

static void
test_parse_match(void **state)
{
	struct ocsp_query	 q;
	struct ocsp_issuer	 iss;
	uint8_t			*der;
	size_t			 len;

	(void)state;
	assert_int_equal(signer_ocsp_issuer(sig, &iss), 0);
	der = request_der(inter, "00AB12", 1, EVP_sha1(), &len);
	assert_int_equal(ocsp_request_parse(der, len, &q), 0);
	assert_true(q.serial_ok);
	assert_string_equal(q.serial, "ab12");
	assert_int_equal(ocsp_issuer_match(&iss, &q), 1);
	OPENSSL_free(der);
	/* Another issuer's hashes. */
	der = request_der(root, "ab12", 1, EVP_sha1(), &len);
	assert_int_equal(ocsp_request_parse(der, len, &q), 0);
	assert_int_equal(ocsp_issuer_match(&iss, &q), 0);
	OPENSSL_free(der);
	/* SHA-256 CertIDs are not in the pre-signed cache. */
	der = request_der(inter, "ab12", 1, EVP_sha256(), &len);
	assert_int_equal(ocsp_request_parse(der, len, &q), 0);
	assert_int_equal(ocsp_issuer_match(&iss, &q), ANVIL_EALG);
	OPENSSL_free(der);
	/* Over 20 bytes: parsed, but no serial of ours. */
	der = request_der(inter, "0102030405060708090a0b0c0d0e0f101112131415",
	    1, EVP_sha1(), &len);
	assert_int_equal(ocsp_request_parse(der, len, &q), 0);
	assert_false(q.serial_ok);
	OPENSSL_free(der);
}

/* Signs a for serial and checks the answer as an OCSP client does:
 * verified to the root through the intermediate, CertID found, status,
 * reason, times. */
static void
check_answer(const struct ocsp_answer *a, int want_status, int want_reason)
{
	const unsigned char	*p;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	OCSP_RESPONSE		*resp;
	OCSP_BASICRESP		*bs;
	OCSP_CERTID		*id;
	ASN1_INTEGER		*sn;
	ASN1_GENERALIZEDTIME	*rev = NULL, *tu = NULL, *nu = NULL;
	X509_STORE		*store;
	STACK_OF(X509)		*untrusted;
	BIGNUM			*bn = NULL;
	int			 status = -1, reason = -1;

	assert_int_equal(signer_ocsp_sign(sig, a, &der, &len), 0);
	p = der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	assert_non_null(resp);
	assert_int_equal(OCSP_response_status(resp),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	store = X509_STORE_new();
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	untrusted = sk_X509_new_null();
	assert_true(sk_X509_push(untrusted, inter) > 0);
	assert_int_equal(OCSP_basic_verify(bs, untrusted, store, 0), 1);
	assert_true(BN_hex2bn(&bn, a->serial) > 0);
	sn = BN_to_ASN1_INTEGER(bn, NULL);
	id = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(inter),
	    X509_get0_pubkey_bitstr(inter), sn);
	assert_int_equal(OCSP_resp_find_status(bs, id, &status, &reason,
	    &rev, &tu, &nu), 1);
	assert_int_equal(status, want_status);
	assert_int_equal(reason, want_reason);
	assert_int_equal(OCSP_check_validity(tu, nu, 300, -1), 1);
	if (want_status == V_OCSP_CERTSTATUS_REVOKED)
		assert_non_null(rev);
	OCSP_CERTID_free(id);
	ASN1_INTEGER_free(sn);
	BN_free(bn);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(der);
}

static void
test_responses(void **state)
{
	struct ocsp_answer	 a;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	int64_t			 now = (int64_t)time(NULL);

	(void)state;
	memset(&a, 0, sizeof(a));
	a.serial = "7f0102";
	a.this_update = now;
	a.next_update = now;
	assert_int_equal(signer_ocsp_sign(sig, &a, &der, &len), ANVIL_EINVAL);
	a.next_update = now + 3 * DAY;
	a.status = OCSP_REVOKED;	/* without a time */
	assert_int_equal(signer_ocsp_sign(sig, &a, &der, &len), ANVIL_EINVAL);
	a.status = OCSP_GOOD;
	a.serial = "not hex";
	assert_int_equal(signer_ocsp_sign(sig, &a, &der, &len), ANVIL_EINVAL);
	assert_null(der);

	a.serial = "7f0102";
	check_answer(&a, V_OCSP_CERTSTATUS_GOOD, -1);
	a.status = OCSP_REVOKED;
	a.revoked_at = now - 10;
	a.reason = 1;
	check_answer(&a, V_OCSP_CERTSTATUS_REVOKED, 1);
	a.reason = 0;	/* unspecified: left out */
	check_answer(&a, V_OCSP_CERTSTATUS_REVOKED, -1);
	a.status = OCSP_UNKNOWN;
	check_answer(&a, V_OCSP_CERTSTATUS_UNKNOWN, -1);
}

static void
test_error_response(void **state)
{
	const unsigned char	*p;
	uint8_t			 b[8];
	size_t			 len = 0;
	OCSP_RESPONSE		*resp;

	(void)state;
	assert_int_equal(ocsp_error_response(OCSP_ERR_UNAUTHORIZED, b, 4,
	    &len), ANVIL_E2BIG);
	assert_int_equal(ocsp_error_response((enum ocsp_error)4, b,
	    sizeof(b), &len), ANVIL_EINVAL);
	assert_int_equal(ocsp_error_response(OCSP_ERR_UNAUTHORIZED, b,
	    sizeof(b), &len), 0);
	assert_int_equal(len, 5);
	p = b;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	assert_non_null(resp);
	assert_int_equal(OCSP_response_status(resp),
	    OCSP_RESPONSE_STATUS_UNAUTHORIZED);
	OCSP_RESPONSE_free(resp);
}

/* The responder: OCSPSigning, nocheck, issued by the intermediate; kept
 * while it lasts, replaced within 30 days of its end. */
static void
test_responder(void **state)
{
	X509		*x, *y;
	int64_t		 now = (int64_t)time(NULL);

	(void)state;
	x = pem_load(STATE_OCSP_CERT);
	assert_true(X509_get_extended_key_usage(x) & XKU_OCSP_SIGN);
	assert_true(X509_get_ext_by_NID(x, NID_id_pkix_OCSP_noCheck, -1) >=
	    0);
	assert_int_equal(X509_verify(x, X509_get0_pubkey(inter)), 1);
	assert_int_equal(X509_check_ca(x), 0);
	assert_int_equal(signer_ocsp_open(sig, base, now + DAY), 0);
	y = pem_load(STATE_OCSP_CERT);
	assert_int_equal(X509_cmp(x, y), 0);
	X509_free(y);
	assert_int_equal(signer_ocsp_open(sig, base,
	    now + (OCSP_RESPONDER_DAYS - 29) * (int64_t)DAY), 0);
	y = pem_load(STATE_OCSP_CERT);
	assert_int_not_equal(X509_cmp(x, y), 0);
	X509_free(y);
	X509_free(x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_match),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_responder),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
