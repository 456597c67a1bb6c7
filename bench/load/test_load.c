/*
 * test_load.c - unit tests of anvil-load's own crypto (cert.c, sign.c):
 * the chain check must refuse a leaf for another name, for another key,
 * signed by another key, or shown with another issuer; the CSR must be
 * one OpenSSL reads and verifies, with the name as CN and dNSName; the
 * JWS must be one libanvil parses and verifies with the account's JWK.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "load.h"

/* A CA: key and self-signed certificate. */
struct ca {
	EVP_PKEY	*key;
	X509		*cert;
};

static X509 *
make_cert(EVP_PKEY *subject_key, const char *cn, const char *dns,
    EVP_PKEY *issuer_key, X509 *issuer, long serial)
{
	X509		*x = X509_new();
	X509_NAME	*n = X509_NAME_new();
	X509_EXTENSION	*ext;
	X509V3_CTX	 v3;
	char		 san[300];

	assert_non_null(x);
	assert_non_null(n);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(x), serial),
	    1);
	assert_int_equal(X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, n), 1);
	assert_int_equal(X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : n), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	assert_int_equal(X509_set_pubkey(x, subject_key), 1);
	if (dns != NULL) {
		X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL,
		    NULL, 0);
		snprintf(san, sizeof(san), "DNS:%s", dns);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name,
		    san);
		assert_non_null(ext);
		assert_int_equal(X509_add_ext(x, ext, -1), 1);
		X509_EXTENSION_free(ext);
	}
	assert_true(X509_sign(x, issuer_key, EVP_sha256()) > 0);
	X509_NAME_free(n);
	return x;
}

static void
ca_init(struct ca *ca, const char *cn)
{
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &ca->key), 0);
	ca->cert = make_cert(ca->key, cn, NULL, ca->key, NULL, 1);
}

static void
ca_done(struct ca *ca)
{
	X509_free(ca->cert);
	EVP_PKEY_free(ca->key);
}

/* The PEM of leaf then issuer, in a new string (free()). */
static char *
chain_pem(X509 *leaf, X509 *issuer)
{
	BIO	*b = BIO_new(BIO_s_mem());
	char	*p, *out;
	long	 n;

	assert_non_null(b);
	assert_int_equal(PEM_write_bio_X509(b, leaf), 1);
	if (issuer != NULL)
		assert_int_equal(PEM_write_bio_X509(b, issuer), 1);
	n = BIO_get_mem_data(b, &p);
	out = strndup(p, (size_t)n);
	assert_non_null(out);
	BIO_free(b);
	return out;
}

/* The public key of ck as an EVP_PKEY (EVP_PKEY_free). */
static EVP_PKEY *
ck_pub(const struct certkey *ck)
{
	const uint8_t	*p;
	size_t		 n;
	EVP_PKEY	*k;

	p = certkey_spki(ck, &n);
	k = d2i_PUBKEY(NULL, &p, (long)n);
	assert_non_null(k);
	return k;
}

/* cert_check of leaf with issuer; returns its result and *why. */
static int
check(struct issuers *is, const struct certkey *ck, const char *name,
    X509 *leaf, X509 *issuer, const char **why)
{
	char	*pem = chain_pem(leaf, issuer);
	int	 rc;

	*why = NULL;
	rc = cert_check(is, ck, name, pem, strlen(pem), why);
	free(pem);
	return rc;
}

static void
test_chain(void **state)
{
	struct issuers	 is;
	struct certkey	*ck, *other;
	struct ca	 ca1, ca2;
	EVP_PKEY	*pub, *opub;
	X509		*leaf;
	const char	*why;
	const char	*name = "l0011223344556677.example.test";

	(void)state;
	memset(&is, 0, sizeof(is));
	ca_init(&ca1, "CA one");
	ca_init(&ca2, "CA two");
	assert_int_equal(certkey_new(&ck), 0);
	assert_int_equal(certkey_new(&other), 0);
	pub = ck_pub(ck);
	opub = ck_pub(other);

	/* The good chain, twice (the second time from the issuer cache). */
	leaf = make_cert(pub, name, name, ca1.key, ca1.cert, 2);
	assert_int_equal(check(&is, ck, name, leaf, ca1.cert, &why), 0);
	assert_int_equal(check(&is, ck, name, leaf, ca1.cert, &why), 0);
	assert_int_equal(is.n, 1);

	/* Our name is not in it. */
	assert_int_equal(check(&is, ck, "l8899aabbccddeeff.example.test",
	    leaf, ca1.cert, &why), -1);
	assert_string_equal(why,
	    "chain: leaf does not name the order's identifier");

	/* Shown with another issuer (the cache is keyed by its bytes). */
	assert_int_equal(check(&is, ck, name, leaf, ca2.cert, &why), -1);
	assert_string_equal(why, "chain: bad leaf signature");
	assert_int_equal(is.n, 2);

	/* No issuer at all. */
	assert_int_equal(check(&is, ck, name, leaf, NULL, &why), -1);
	assert_string_equal(why, "chain: no issuer certificate");
	X509_free(leaf);

	/* Signed by another key than the issuer's, with its name. */
	leaf = make_cert(pub, name, name, ca2.key, ca1.cert, 3);
	assert_int_equal(check(&is, ck, name, leaf, ca1.cert, &why), -1);
	assert_string_equal(why, "chain: bad leaf signature");
	X509_free(leaf);

	/* A certificate for another key. */
	leaf = make_cert(opub, name, name, ca1.key, ca1.cert, 4);
	assert_int_equal(check(&is, ck, name, leaf, ca1.cert, &why), -1);
	assert_string_equal(why, "chain: leaf key is not the CSR key");
	X509_free(leaf);

	/* Not PEM. */
	assert_int_equal(cert_check(&is, ck, name, "junk", 4, &why), -1);
	assert_string_equal(why, "chain: no PEM certificate");

	EVP_PKEY_free(pub);
	EVP_PKEY_free(opub);
	certkey_free(ck);
	certkey_free(other);
	ca_done(&ca1);
	ca_done(&ca2);
	issuers_done(&is);
	load_crypto_done();
}

/* Checks a CSR made by certkey_csr for name with OpenSSL's parser. */
static void
csr_for(struct certkey *ck, const char *name, int with_cn)
{
	uint8_t			 der[2048];
	size_t			 len = sizeof(der);
	const unsigned char	*p = der;
	X509_REQ		*req;
	EVP_PKEY		*k, *pub = ck_pub(ck);
	STACK_OF(X509_EXTENSION) *exts;
	GENERAL_NAMES		*gens;
	GENERAL_NAME		*gn;
	X509_NAME		*subj;
	char			 cn[100];
	int			 i;

	assert_int_equal(certkey_csr(ck, name, der, &len), 0);
	req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_ptr_equal(p, der + len);
	k = X509_REQ_get0_pubkey(req);
	assert_non_null(k);
	assert_int_equal(EVP_PKEY_eq(k, pub), 1);
	assert_int_equal(X509_REQ_verify(req, k), 1);
	subj = X509_REQ_get_subject_name(req);
	i = X509_NAME_get_text_by_NID(subj, NID_commonName, cn, sizeof(cn));
	if (with_cn) {
		assert_int_equal(i, (int)strlen(name));
		assert_string_equal(cn, name);
	} else
		assert_int_equal(X509_NAME_entry_count(subj), 0);
	exts = X509_REQ_get_extensions(req);
	assert_non_null(exts);
	assert_int_equal(sk_X509_EXTENSION_num(exts), 1);
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), 1);
	gn = sk_GENERAL_NAME_value(gens, 0);
	assert_int_equal(gn->type, GEN_DNS);
	assert_int_equal(ASN1_STRING_length(gn->d.dNSName), (int)strlen(name));
	assert_memory_equal(ASN1_STRING_get0_data(gn->d.dNSName), name,
	    strlen(name));
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	EVP_PKEY_free(pub);
}

static void
test_csr(void **state)
{
	struct certkey	*ck;
	char		 longname[ANVIL_MAX_NAME_LEN + 2];
	uint8_t		 der[2048];
	size_t		 len;

	(void)state;
	assert_int_equal(certkey_new(&ck), 0);
	csr_for(ck, "l0011223344556677.example.test", 1);
	/* Past 64 characters: no CN, and lengths past 127 bytes. */
	memset(longname, 'a', 200);
	memcpy(longname + 200, ".example.test", 14);
	csr_for(ck, longname, 0);
	/* Too long a name, too small a buffer. */
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	len = sizeof(der);
	assert_int_equal(certkey_csr(ck, longname, der, &len), ANVIL_E2BIG);
	len = 100;
	assert_int_equal(certkey_csr(ck, "a.example.test", der, &len),
	    ANVIL_E2BIG);
	certkey_free(ck);
	load_crypto_done();
}

static void
test_jws(void **state)
{
	EVP_PKEY		*key;
	struct anvil_jwk	*jwk;
	json_t			*jwk_json;
	struct signer		*s;
	struct anvil_jws	*jws;
	struct anvil_buf	 out;
	const char		*pay = "{\"csr\":\"x\"}";
	int			 i;

	(void)state;
	anvil_buf_init(&out, ANVIL_MAX_REQUEST_BODY);
	assert_int_equal(anvil_key_generate(ANVIL_KEY_EC256, &key), 0);
	assert_int_equal(anvil_jwk_from_pkey(key, &jwk), 0);
	jwk_json = anvil_jwk_to_json(jwk);
	assert_non_null(jwk_json);
	assert_int_equal(signer_new(key, jwk_json, &s), 0);
	/* Many signatures: r or s with a leading zero byte, now and then. */
	for (i = 0; i < 64; i++) {
		assert_int_equal(signer_jws(s, i % 2 ? NULL :
		    "https://ca.test/acct/1", "nonce-\"\\\x01",
		    "https://ca.test/new-order", i % 3 ? pay : "",
		    i % 3 ? strlen(pay) : 0, &out), 0);
		assert_int_equal(anvil_jws_parse(out.data, out.len, &jws), 0);
		assert_int_equal(anvil_jws_verify(jws, jwk), 0);
		assert_string_equal(jws->alg, "ES256");
		assert_string_equal(jws->nonce, "nonce-\"\\\x01");
		assert_string_equal(jws->url, "https://ca.test/new-order");
		if (i % 2) {
			assert_null(jws->kid);
			assert_non_null(jws->jwk);
			assert_true(json_equal(jws->jwk, jwk_json));
		} else {
			assert_string_equal(jws->kid, "https://ca.test/acct/1");
			assert_null(jws->jwk);
		}
		assert_int_equal(jws->payload_len, i % 3 ? strlen(pay) : 0);
		anvil_jws_free(jws);
	}
	signer_free(s);
	json_decref(jwk_json);
	anvil_jwk_free(jwk);
	EVP_PKEY_free(key);
	anvil_buf_free(&out);
	load_crypto_done();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_csr),
		cmocka_unit_test(test_jws),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
