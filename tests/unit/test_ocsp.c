/*
 * test_ocsp.c - unit tests for OCSP (server/ocsp.c) and the signer's
 * responder: malformed, oversized and multi-certificate requests first,
 * then requests made by OpenSSL's client code, responses checked with
 * OCSP_basic_verify against the root as openssl(1) does and compared
 * with those OpenSSL's OCSP_basic_sign makes (EC and RSA responders),
 * what a prepared responder refuses, the unsigned error answers, and the
 * delegated responder certificate and its renewal.
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

/*
 * The response as OCSP_basic_sign makes it from scratch (what ocsp.c did
 * before it prepared its responder), for the same answer: producedAt is
 * the time of signing.
 */
static OCSP_BASICRESP *
reference_basic(X509 *rcert, EVP_PKEY *rkey, const struct ocsp_answer *a)
{
	static const int	 status_of[OCSP_STATUS__MAX] = {
		[OCSP_GOOD] = V_OCSP_CERTSTATUS_GOOD,
		[OCSP_REVOKED] = V_OCSP_CERTSTATUS_REVOKED,
		[OCSP_UNKNOWN] = V_OCSP_CERTSTATUS_UNKNOWN,
	};
	OCSP_BASICRESP		*bs;
	OCSP_CERTID		*cid;
	ASN1_INTEGER		*sn;
	ASN1_GENERALIZEDTIME	*tu, *nu, *rt = NULL;
	BIGNUM			*bn = NULL;
	int			 reason = OCSP_REVOKED_STATUS_NOSTATUS;

	assert_true(BN_hex2bn(&bn, a->serial) > 0);
	sn = BN_to_ASN1_INTEGER(bn, NULL);
	assert_non_null(sn);
	bs = OCSP_BASICRESP_new();
	tu = ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->this_update);
	nu = ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->next_update);
	cid = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(inter),
	    X509_get0_pubkey_bitstr(inter), sn);
	assert_true(bs != NULL && tu != NULL && nu != NULL && cid != NULL);
	if (a->status == OCSP_REVOKED) {
		rt = ASN1_GENERALIZEDTIME_set(NULL, (time_t)a->revoked_at);
		assert_non_null(rt);
		if (a->reason != 0)
			reason = a->reason;
	}
	assert_non_null(OCSP_basic_add1_status(bs, cid, status_of[a->status],
	    reason, rt, tu, nu));
	assert_int_equal(OCSP_basic_sign(bs, rcert, rkey,
	    EVP_get_digestbyname(EVP_PKEY_get_bits(rkey) == 384 ? "SHA384" :
	    "SHA256"), NULL, OCSP_RESPID_KEY), 1);
	OCSP_CERTID_free(cid);
	ASN1_INTEGER_free(sn);
	ASN1_GENERALIZEDTIME_free(tu);
	ASN1_GENERALIZEDTIME_free(nu);
	ASN1_GENERALIZEDTIME_free(rt);
	BN_free(bn);
	return bs;
}

/* Asserts that the DER of two ASN.1 objects of type it are equal. */
static void
assert_same_der(const void *x, const void *y, const ASN1_ITEM *it)
{
	unsigned char	*a = NULL, *b = NULL;
	int		 la, lb;

	la = ASN1_item_i2d((const ASN1_VALUE *)x, &a, it);
	lb = ASN1_item_i2d((const ASN1_VALUE *)y, &b, it);
	assert_true(la > 0);
	assert_int_equal(la, lb);
	assert_memory_equal(a, b, (size_t)la);
	OPENSSL_free(a);
	OPENSSL_free(b);
}

/*
 * Signs a with r and compares with OpenSSL's response of the same
 * answer, field by field: the ResponseData (the same producedAt), the
 * signatureAlgorithm, the certificates; the DER is canonical (parsed and
 * written again, the same bytes) and the signature verifies as a client
 * checks it.
 */
static void
check_same(struct ocsp_responder *r, X509 *rcert, EVP_PKEY *rkey,
    const struct ocsp_answer *a)
{
	const ASN1_GENERALIZEDTIME	*pa;
	const unsigned char		*p;
	OCSP_BASICRESP			*ref, *bs;
	OCSP_RESPONSE			*resp;
	X509_STORE			*store;
	STACK_OF(X509)			*untrusted;
	struct tm			 tm;
	unsigned char			*again = NULL;
	uint8_t				*der = NULL;
	size_t				 len = 0;
	int				 n;

	ref = reference_basic(rcert, rkey, a);
	pa = OCSP_resp_get0_produced_at(ref);
	assert_int_equal(ASN1_TIME_to_tm(pa, &tm), 1);
	assert_int_equal(ocsp_responder_sign(r, a, (int64_t)timegm(&tm),
	    &der, &len), 0);
	p = der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	assert_non_null(resp);
	assert_ptr_equal(p, der + len);
	n = i2d_OCSP_RESPONSE(resp, &again);
	assert_int_equal(n, (int)len);
	assert_memory_equal(again, der, len);
	assert_int_equal(OCSP_response_status(resp),
	    OCSP_RESPONSE_STATUS_SUCCESSFUL);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	assert_same_der(OCSP_resp_get0_respdata(bs),
	    OCSP_resp_get0_respdata(ref), ASN1_ITEM_rptr(OCSP_RESPDATA));
	assert_same_der(OCSP_resp_get0_tbs_sigalg(bs),
	    OCSP_resp_get0_tbs_sigalg(ref), ASN1_ITEM_rptr(X509_ALGOR));
	assert_int_equal(sk_X509_num(OCSP_resp_get0_certs(bs)), 1);
	assert_int_equal(X509_cmp(sk_X509_value(OCSP_resp_get0_certs(bs), 0),
	    rcert), 0);
	store = X509_STORE_new();
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	untrusted = sk_X509_new_null();
	assert_true(sk_X509_push(untrusted, inter) > 0);
	assert_int_equal(OCSP_basic_verify(bs, untrusted, store, 0), 1);
	sk_X509_free(untrusted);
	X509_STORE_free(store);
	OCSP_BASICRESP_free(bs);
	OCSP_BASICRESP_free(ref);
	OCSP_RESPONSE_free(resp);
	OPENSSL_free(again);
	free(der);
}

/* The key of the state directory's file. */
static EVP_PKEY *
key_load(const char *file)
{
	char		 path[256];
	EVP_PKEY	*k = NULL;

	snprintf(path, sizeof(path), "%s/%s", base, file);
	assert_int_equal(anvil_key_load(path, &k), 0);
	return k;
}

/* Every status, serials of every shape, for a responder key of type t
 * (issued here by the intermediate unless it is the state's). */
static void
same_as_openssl(enum anvil_key_type t, int own)
{
	static const char *const serials[] = {
		"7f0102", "ff", "80", "0", "00", "000000ab", "1",
		"0102030405060708090a0b0c0d0e0f1011121314",
		"ffffffffffffffffffffffffffffffffffffffff",
		"800000000000000000000000000000000000000",
	};
	struct ocsp_responder	*r = NULL;
	struct ocsp_answer	 a;
	EVP_PKEY		*rkey = NULL, *ikey;
	X509			*rcert = NULL;
	int64_t			 now = (int64_t)time(NULL);
	size_t			 i;

	if (own) {
		rkey = key_load(STATE_OCSP_KEY);
		rcert = pem_load(STATE_OCSP_CERT);
	} else {
		ikey = key_load(STATE_INTER_KEY);
		assert_int_equal(anvil_key_generate(t, &rkey), 0);
		assert_int_equal(ocsp_responder_issue(inter, ikey, rkey, now,
		    &rcert), 0);
		EVP_PKEY_free(ikey);
	}
	assert_int_equal(ocsp_responder_new(inter, rcert, rkey, &r), 0);
	memset(&a, 0, sizeof(a));
	a.this_update = now - 5;
	a.next_update = now + 3 * DAY;
	for (i = 0; i < sizeof(serials) / sizeof(serials[0]); i++) {
		a.serial = serials[i];
		a.status = OCSP_GOOD;
		check_same(r, rcert, rkey, &a);
		a.status = OCSP_UNKNOWN;
		check_same(r, rcert, rkey, &a);
		a.status = OCSP_REVOKED;
		a.revoked_at = now - 100;
		a.reason = (int)(i % 2 == 0 ? 0 : 1 + i % 6);
		check_same(r, rcert, rkey, &a);
	}
	a.serial = "01";
	a.reason = REASON_MAX;
	a.this_update = 253402300799LL - 10;	/* 9999-12-31 23:59:49 */
	a.next_update = 253402300799LL;
	check_same(r, rcert, rkey, &a);
	ocsp_responder_free(r);
	X509_free(rcert);
	EVP_PKEY_free(rkey);
}

static void
test_same_as_openssl(void **state)
{
	(void)state;
	same_as_openssl(ANVIL_KEY_EC256, 1);
	same_as_openssl(ANVIL_KEY_EC384, 0);
	same_as_openssl(ANVIL_KEY_RSA2048, 0);
}

/* What a prepared responder refuses. */
static void
test_responder_invalid(void **state)
{
	struct ocsp_responder	*r = NULL;
	struct ocsp_answer	 a;
	EVP_PKEY		*rkey, *other = NULL;
	X509			*rcert;
	uint8_t			*der = NULL;
	size_t			 len = 0, i;
	int64_t			 now = (int64_t)time(NULL);
	static const char *const bad[] = {
		"", "AB", "0x12", "12 ", "-1", "g0",
		"0102030405060708090a0b0c0d0e0f101112131415",
	};

	(void)state;
	rkey = key_load(STATE_OCSP_KEY);
	rcert = pem_load(STATE_OCSP_CERT);
	assert_int_equal(ocsp_responder_new(NULL, rcert, rkey, &r),
	    ANVIL_EINVAL);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &other), 0);
	assert_int_equal(ocsp_responder_new(inter, rcert, other, &r),
	    ANVIL_EKEY);
	EVP_PKEY_free(other);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_ED25519, &other), 0);
	assert_int_equal(ocsp_responder_new(inter, rcert, other, &r),
	    ANVIL_EKEY);
	EVP_PKEY_free(other);
	assert_null(r);
	assert_int_equal(ocsp_responder_new(inter, rcert, rkey, &r), 0);
	memset(&a, 0, sizeof(a));
	a.this_update = now;
	a.next_update = now + DAY;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.serial = bad[i];
		assert_int_equal(ocsp_responder_sign(r, &a, now, &der, &len),
		    ANVIL_EINVAL);
	}
	a.serial = "01";
	assert_int_equal(ocsp_responder_sign(r, &a, -1, &der, &len),
	    ANVIL_EINVAL);
	assert_int_equal(ocsp_responder_sign(r, &a, 253402300800LL, &der,
	    &len), ANVIL_EINVAL);
	a.next_update = 253402300800LL;		/* year 10000 */
	assert_int_equal(ocsp_responder_sign(r, &a, now, &der, &len),
	    ANVIL_EINVAL);
	a.next_update = now + DAY;
	a.status = OCSP_REVOKED;
	a.revoked_at = now;
	a.reason = 7;
	assert_int_equal(ocsp_responder_sign(r, &a, now, &der, &len),
	    ANVIL_EINVAL);
	a.reason = REASON_MAX + 1;
	assert_int_equal(ocsp_responder_sign(r, &a, now, &der, &len),
	    ANVIL_EINVAL);
	a.status = OCSP_STATUS__MAX;
	assert_int_equal(ocsp_responder_sign(r, &a, now, &der, &len),
	    ANVIL_EINVAL);
	assert_null(der);
	ocsp_responder_free(r);
	ocsp_responder_free(NULL);
	X509_free(rcert);
	EVP_PKEY_free(rkey);
}

/* Signs a with s: the response must carry the responder certificate
 * want. */
static void
assert_responder(struct signer *s, const struct ocsp_answer *a, X509 *want)
{
	const unsigned char	*p;
	OCSP_RESPONSE		*resp;
	OCSP_BASICRESP		*bs;
	uint8_t			*der = NULL;
	size_t			 len = 0;

	assert_int_equal(signer_ocsp_sign(s, a, &der, &len), 0);
	p = der;
	resp = d2i_OCSP_RESPONSE(NULL, &p, (long)len);
	assert_non_null(resp);
	bs = OCSP_response_get1_basic(resp);
	assert_non_null(bs);
	assert_int_equal(X509_cmp(sk_X509_value(OCSP_resp_get0_certs(bs), 0),
	    want), 0);
	OCSP_BASICRESP_free(bs);
	OCSP_RESPONSE_free(resp);
	free(der);
}

/*
 * The signer owns its prepared responder: none before the responder is
 * loaded, then the one of the files, replaced when they change (the old
 * one freed: ASan's leak check), kept when they are unusable.
 */
static void
test_signer_owns(void **state)
{
	struct signer		*s = NULL;
	struct ocsp_answer	 a;
	X509			*x;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	int64_t			 now = (int64_t)time(NULL);
	int			 i;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.serial = "0a0b";
	a.this_update = now;
	a.next_update = now + DAY;
	assert_int_equal(signer_open(base, &s), 0);
	assert_int_equal(signer_ocsp_sign(s, &a, &der, &len), ANVIL_ENOENT);
	assert_null(der);
	/* Unusable files (too late for them) leave it without one. */
	assert_int_equal(signer_ocsp_load(s, base,
	    now + (OCSP_RESPONDER_DAYS + 1) * (int64_t)DAY), ANVIL_ECERT);
	assert_int_equal(signer_ocsp_sign(s, &a, &der, &len), ANVIL_ENOENT);
	for (i = 0; i < 3; i++) {
		assert_int_equal(signer_ocsp_load(s, base, now), 0);
		assert_int_equal(signer_ocsp_sign(s, &a, &der, &len), 0);
		free(der);
		der = NULL;
	}
	/* Kept when the files are unusable. */
	assert_int_equal(signer_ocsp_load(s, base,
	    now + (OCSP_RESPONDER_DAYS + 1) * (int64_t)DAY), ANVIL_ECERT);
	x = pem_load(STATE_OCSP_CERT);
	assert_responder(s, &a, x);
	X509_free(x);
	signer_free(s);
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
	struct ocsp_answer	 a;
	X509			*x, *y;
	char			 path[256];
	int64_t			 now = (int64_t)time(NULL);

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
	/* A responder issued now (its certificate gone): the next answer
	 * carries it (the prepared one is replaced) and verifies. */
	snprintf(path, sizeof(path), "%s/%s", base, STATE_OCSP_CERT);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(signer_ocsp_open(sig, base, now), 0);
	y = pem_load(STATE_OCSP_CERT);
	memset(&a, 0, sizeof(a));
	a.serial = "0c";
	a.this_update = now;
	a.next_update = now + DAY;
	assert_responder(sig, &a, y);
	X509_free(y);
	check_answer(&a, V_OCSP_CERTSTATUS_GOOD, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_parse_match),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_responses),
		cmocka_unit_test(test_same_as_openssl),
		cmocka_unit_test(test_responder_invalid),
		cmocka_unit_test(test_signer_owns),
		cmocka_unit_test(test_responder),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
