/*
 * test_crl.c - unit tests for CRL building (server/crl.c) and the
 * signer's CDP/AIA and CRL entry points: bad requests first, then CRLs
 * read back the way a relying party reads them (signature, number, IDP,
 * reasons, invalidity date) and leaves whose CDP names the shard that
 * crl_shard_of_hex computes.
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
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/anvil.h"

#include "crl.h"
#include "signer.h"

#define DAY (24 * 60 * 60)

#include "ca_fixture.h"

static int
group_setup(void **state)
{
	(void)state;
	return ca_fixture_open("test_crl", "http://crl.test:8080");
}

static int
group_teardown(void **state)
{
	(void)state;
	ca_fixture_close();
	return 0;
}

static void
test_shard_invalid(void **state)
{
	char	 longer[SERIAL_HEX_LEN + 2];

	(void)state;
	memset(longer, 'a', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	assert_int_equal(crl_shard_of_hex(NULL, 16), ANVIL_EINVAL);
	assert_int_equal(crl_shard_of_hex("", 16), ANVIL_EINVAL);
	assert_int_equal(crl_shard_of_hex("12g4", 16), ANVIL_EINVAL);
	assert_int_equal(crl_shard_of_hex("0x12", 16), ANVIL_EINVAL);
	assert_int_equal(crl_shard_of_hex(longer, 16), ANVIL_EINVAL);
	assert_int_equal(crl_shard_of_hex("12", 0), ANVIL_EINVAL);
}

/* The shard is the serial's value modulo n, as BN_mod_word says. */
static void
test_shard_values(void **state)
{
	uint8_t		 b[20];
	BIGNUM		*bn;
	char		*hex;
	int		 i, n;

	(void)state;
	assert_int_equal(crl_shard_of_hex("ff", 16), 15);
	assert_int_equal(crl_shard_of_hex("0100", 16), 0);
	assert_int_equal(crl_shard_of_hex("0A", 7), 3);
	assert_int_equal(crl_shard_of_hex("ffffffff", 1), 0);
	for (i = 0; i < 200; i++) {
		assert_int_equal(RAND_bytes(b, sizeof(b)), 1);
		b[0] &= 0x7f;
		bn = BN_bin2bn(b, sizeof(b), NULL);
		assert_non_null(bn);
		hex = BN_bn2hex(bn);
		n = 1 + i * 5;	/* 1 .. 996 */
		assert_int_equal(crl_shard_of_hex(hex, n),
		    (int)BN_mod_word(bn, (BN_ULONG)n));
		OPENSSL_free(hex);
		BN_free(bn);
	}
}

static void
test_build_invalid(void **state)
{
	struct crl_req	 req;
	struct revoked	 e;
	uint8_t		*der = NULL;
	size_t		 len = 0;
	int64_t		 now = (int64_t)time(NULL);

	(void)state;
	memset(&req, 0, sizeof(req));
	req.this_update = now;
	req.next_update = now + DAY;
	req.number = 0;
	assert_int_equal(signer_crl_sign(sig, &req, &der, &len),
	    ANVIL_EINVAL);
	req.number = 1;
	req.next_update = now;
	assert_int_equal(signer_crl_sign(sig, &req, &der, &len),
	    ANVIL_EINVAL);
	req.next_update = now + DAY;
	req.n_entries = 1;	/* and no entries */
	assert_int_equal(signer_crl_sign(sig, &req, &der, &len),
	    ANVIL_EINVAL);
	memset(&e, 0, sizeof(e));
	snprintf(e.serial, sizeof(e.serial), "0102");
	e.revoked_at = now;
	e.reason = 7;	/* unused code, §5.3.1 */
	req.entries = &e;
	assert_int_equal(signer_crl_sign(sig, &req, &der, &len),
	    ANVIL_EINVAL);
	e.reason = 1;
	snprintf(e.serial, sizeof(e.serial), "zz");
	assert_int_equal(signer_crl_sign(sig, &req, &der, &len),
	    ANVIL_EINVAL);
	assert_null(der);
	assert_int_equal(crl_info((const uint8_t *)"junk", 4, &now, &now,
	    &now), ANVIL_ECERT);
}

/* Returns the reason code of a CRL entry, -1 when absent. */
static int
entry_reason(X509_REVOKED *rv)
{
	ASN1_ENUMERATED	*e;
	int		 r;

	e = X509_REVOKED_get_ext_d2i(rv, NID_crl_reason, NULL, NULL);
	if (e == NULL)
		return -1;
	r = (int)ASN1_ENUMERATED_get(e);
	ASN1_ENUMERATED_free(e);
	return r;
}

static void
test_build_shard(void **state)
{
	struct crl_req		 req;
	struct revoked		 e[3];
	const unsigned char	*p;
	uint8_t			*der = NULL;
	size_t			 len = 0;
	X509_CRL		*crl;
	X509_REVOKED		*rv;
	ASN1_INTEGER		*sn;
	ISSUING_DIST_POINT	*idp;
	AUTHORITY_KEYID		*aki;
	ASN1_INTEGER		*num;
	BIGNUM			*bn = NULL;
	int64_t			 now = (int64_t)time(NULL), a, b, n;
	int			 crit = 0;

	(void)state;
	memset(e, 0, sizeof(e));
	snprintf(e[0].serial, sizeof(e[0].serial), "0a0b0c");
	e[0].revoked_at = now - 100;
	e[0].reason = 0;
	snprintf(e[1].serial, sizeof(e[1].serial), "7fee");
	e[1].revoked_at = now - 50;
	e[1].reason = 1;
	snprintf(e[2].serial, sizeof(e[2].serial), "01");
	e[2].revoked_at = now;
	e[2].reason = 4;
	e[2].invalidity = now - DAY;
	memset(&req, 0, sizeof(req));
	req.this_update = now;
	req.next_update = now + DAY;
	req.number = 42;
	req.idp_url = "http://crl.test:8080/crl/3.crl";
	req.entries = e;
	req.n_entries = 3;
	assert_int_equal(signer_crl_sign(sig, &req, &der, &len), 0);

	p = der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	assert_ptr_equal(p, der + len);
	assert_int_equal(X509_CRL_get_version(crl), X509_CRL_VERSION_2);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(inter)), 1);
	assert_int_equal(X509_NAME_cmp(X509_CRL_get_issuer(crl),
	    X509_get_subject_name(inter)), 0);
	assert_int_equal(sk_X509_REVOKED_num(X509_CRL_get_REVOKED(crl)), 3);
	num = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL, NULL);
	assert_non_null(num);
	assert_int_equal(ASN1_INTEGER_get(num), 42);
	ASN1_INTEGER_free(num);
	aki = X509_CRL_get_ext_d2i(crl, NID_authority_key_identifier, NULL,
	    NULL);
	assert_non_null(aki);
	assert_non_null(aki->keyid);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki->keyid,
	    X509_get0_subject_key_id(inter)), 0);
	AUTHORITY_KEYID_free(aki);
	idp = X509_CRL_get_ext_d2i(crl, NID_issuing_distribution_point,
	    &crit, NULL);
	assert_non_null(idp);
	assert_int_equal(crit, 1);
	assert_true(idp->onlyuser);
	ISSUING_DIST_POINT_free(idp);

	/* Entry by entry: reason left out for unspecified (§5.3.1). */
	assert_int_equal(BN_hex2bn(&bn, "7fee"), 4);
	sn = BN_to_ASN1_INTEGER(bn, NULL);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rv, sn), 1);
	assert_int_equal(entry_reason(rv), 1);
	ASN1_INTEGER_free(sn);
	assert_int_equal(BN_hex2bn(&bn, "0a0b0c"), 6);
	sn = BN_to_ASN1_INTEGER(bn, NULL);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rv, sn), 1);
	assert_int_equal(entry_reason(rv), -1);
	ASN1_INTEGER_free(sn);
	assert_int_equal(BN_hex2bn(&bn, "01"), 2);
	sn = BN_to_ASN1_INTEGER(bn, NULL);
	assert_int_equal(X509_CRL_get0_by_serial(crl, &rv, sn), 1);
	assert_int_equal(entry_reason(rv), 4);
	assert_true(X509_REVOKED_get_ext_by_NID(rv, NID_invalidity_date,
	    -1) >= 0);
	ASN1_INTEGER_free(sn);
	BN_free(bn);

	assert_int_equal(crl_info(der, len, &a, &b, &n), 0);
	assert_true(a == now && b == now + DAY && n == 42);
	X509_CRL_free(crl);
	free(der);
}

/* A leaf names base/crl/<serial mod shards>.crl, OCSP and caIssuers. */
static void
test_leaf_cdp(void **state)
{
	struct signer_public	 pp;
	struct sign_req		 req;
	struct sign_resp	 resp;
	const char		*names[] = { "cdp.example.test" };
	const unsigned char	*p;
	EVP_PKEY		*key = NULL;
	X509_REQ		*csr = NULL;
	X509			*x;
	uint8_t			*csr_der = NULL;
	size_t			 csr_len = 0;
	char			 want[128];
	BIO			*bio;
	char			*text;
	long			 tlen;
	int			 i;

	(void)state;
	memset(&pp, 0, sizeof(pp));
	pp.base_url = "http://crl.test:8080";
	pp.crl_shards = 0;
	assert_int_equal(signer_set_public(sig, &pp), ANVIL_EINVAL);
	pp.crl_shards = 7;
	pp.ocsp = true;
	assert_int_equal(signer_set_public(sig, &pp), 0);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &key), 0);
	assert_int_equal(anvil_csr_new(key, names, 1, &csr), 0);
	assert_int_equal(anvil_csr_der(csr, &csr_der, &csr_len), 0);
	for (i = 0; i < 5; i++) {
		memset(&req, 0, sizeof(req));
		req.csr_der = csr_der;
		req.csr_len = csr_len;
		req.names = names;
		req.n_names = 1;
		req.not_before = (int64_t)time(NULL);
		req.not_after = req.not_before + DAY;
		assert_int_equal(signer_issue(sig, &req, &resp), 0);
		assert_int_equal(resp.shard,
		    crl_shard_of_hex(resp.serial, 7));
		p = resp.der;
		x = d2i_X509(NULL, &p, (long)resp.der_len);
		assert_non_null(x);
		bio = BIO_new(BIO_s_mem());
		assert_int_equal(X509_print(bio, x), 1);
		tlen = BIO_get_mem_data(bio, &text);
		assert_true(tlen > 0);
		snprintf(want, sizeof(want),
		    "URI:http://crl.test:8080/crl/%d.crl", resp.shard);
		assert_non_null(memmem(text, (size_t)tlen, want,
		    strlen(want)));
		assert_non_null(memmem(text, (size_t)tlen,
		    "OCSP - URI:http://crl.test:8080/ocsp", 36));
		assert_non_null(memmem(text, (size_t)tlen,
		    "CA Issuers - URI:http://crl.test:8080/intermediate.der",
		    53));
		BIO_free(bio);
		X509_free(x);
		sign_resp_clear(&resp);
	}
	free(csr_der);
	X509_REQ_free(csr);
	EVP_PKEY_free(key);
}

/* init signs the root's CRL; it is signed again at half its life, with
 * a higher number, and verifies with the root's key. */
static void
test_root_crl(void **state)
{
	char			 path[256];
	char			*der = NULL;
	size_t			 len = 0;
	int64_t			 now = (int64_t)time(NULL), a, b, n1, n2;
	const unsigned char	*p;
	X509_CRL		*crl;
	X509			*root;
	int			 made = -1;

	(void)state;
	snprintf(path, sizeof(path), "%s/%s", base, STATE_ROOT_CRL);
	assert_int_equal(anvil_file_read(path, 65536, &der, &len), 0);
	assert_int_equal(crl_info((uint8_t *)der, len, &a, &b, &n1), 0);
	free(der);
	assert_int_equal(crl_root_refresh(base, now, &made), 0);
	assert_int_equal(made, 0);
	assert_int_equal(crl_root_refresh(base, now + CRL_ROOT_LIFETIME / 2 +
	    60, &made), 0);
	assert_int_equal(made, 1);
	assert_int_equal(anvil_file_read(path, 65536, &der, &len), 0);
	assert_int_equal(crl_info((uint8_t *)der, len, &a, &b, &n2), 0);
	assert_int_equal(n2, n1 + 1);
	p = (const unsigned char *)der;
	crl = d2i_X509_CRL(NULL, &p, (long)len);
	assert_non_null(crl);
	root = pem_load(STATE_ROOT_CERT);
	assert_int_equal(X509_CRL_verify(crl, X509_get0_pubkey(root)), 1);
	/* The complete CRL of the root has no IDP. */
	assert_true(X509_CRL_get_ext_by_NID(crl,
	    NID_issuing_distribution_point, -1) < 0);
	X509_free(root);
	X509_CRL_free(crl);
	free(der);
}

/* The intermediate points at the root's CRL (public_base_url of init). */
static void
test_inter_cdp(void **state)
{
	CRL_DIST_POINTS	*cdp;
	DIST_POINT	*dp;
	GENERAL_NAME	*gen;

	(void)state;
	cdp = X509_get_ext_d2i(inter, NID_crl_distribution_points, NULL,
	    NULL);
	assert_non_null(cdp);
	assert_int_equal(sk_DIST_POINT_num(cdp), 1);
	dp = sk_DIST_POINT_value(cdp, 0);
	gen = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
	assert_int_equal(gen->type, GEN_URI);
	assert_string_equal((const char *)ASN1_STRING_get0_data(
	    gen->d.uniformResourceIdentifier),
	    "http://crl.test:8080/crl/root.crl");
	CRL_DIST_POINTS_free(cdp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shard_invalid),
		cmocka_unit_test(test_shard_values),
		cmocka_unit_test(test_build_invalid),
		cmocka_unit_test(test_build_shard),
		cmocka_unit_test(test_leaf_cdp),
		cmocka_unit_test(test_root_crl),
		cmocka_unit_test(test_inter_cdp),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
