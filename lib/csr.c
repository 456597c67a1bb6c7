/*
 * csr.c - certificate signing requests (RFC 2986): parse, verify, list
 * the DNS names asked for, and build one (for the client).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/error.h"
#include "anvil/limits.h"
#include "anvil/x509.h"
#include "internal.h"

/* Longest commonName (RFC 5280 Appendix A, ub-common-name). */
#define CN_MAX		64
/* Bound on the max argument of anvil_csr_names: its array is allocated
 * up front. */
#define NAMES_MAX	10000

int
anvil_csr_parse(const uint8_t *der, size_t len, X509_REQ **ret)
{
	const unsigned char	*p = der;
	X509_REQ		*req;

	if (der == NULL || len == 0 || len > ANVIL_MAX_CSR_DER)
		return ANVIL_ECSR;
	req = d2i_X509_REQ(NULL, &p, (long)len);
	if (req == NULL) {
		ERR_clear_error();
		return ANVIL_ECSR;
	}
	/* DER is one value: bytes after it mean the input is not a CSR. */
	if (p != der + len) {
		X509_REQ_free(req);
		return ANVIL_ECSR;
	}
	*ret = req;
	return 0;
}

int
anvil_csr_verify(X509_REQ *req)
{
	EVP_PKEY	*pkey;

	if (req == NULL)
		return ANVIL_ECSR;
	pkey = X509_REQ_get0_pubkey(req);
	if (pkey == NULL || X509_REQ_verify(req, pkey) != 1) {
		ERR_clear_error();
		return ANVIL_ECSR;
	}
	return 0;
}

/* A list of distinct names, at most max of them. */
struct names {
	char	**v;	/* NULL-terminated; from malloc() */
	size_t	  n;
	size_t	  max;
};

/*
 * Adds a name of len bytes (not NUL-terminated, maybe with NULs inside)
 * after lowercasing and checking it.  Returns 0 (also when it was there
 * already), ANVIL_ECSR, or ANVIL_ENOMEM.
 */
static int
names_add(struct names *ns, const unsigned char *p, size_t len)
{
	char	*s;
	size_t	 i;

	if (len == 0 || len > ANVIL_MAX_NAME_LEN || memchr(p, '\0', len))
		return ANVIL_ECSR;
	s = malloc(len + 1);
	if (s == NULL)
		return ANVIL_ENOMEM;
	for (i = 0; i < len; i++)
		s[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) :
		    (char)p[i];
	s[len] = '\0';
	if (anvil_dns_name_check(s, 1) != 0) {
		free(s);
		return ANVIL_ECSR;
	}
	for (i = 0; i < ns->n; i++) {
		if (strcmp(ns->v[i], s) == 0) {
			free(s);
			return 0;
		}
	}
	if (ns->n == ns->max) {
		free(s);
		return ANVIL_ECSR;
	}
	ns->v[ns->n++] = s;
	ns->v[ns->n] = NULL;
	return 0;
}

/* Adds every dNSName of the subjectAltName among exts (may be NULL). */
static int
san_names(const STACK_OF(X509_EXTENSION) *exts, struct names *ns)
{
	GENERAL_NAMES		*gens = NULL;
	const GENERAL_NAME	*gen;
	int			 crit = -1, i, rc = 0;

	if (exts == NULL)
		return 0;
	gens = X509V3_get_d2i(exts, NID_subject_alt_name, &crit, NULL);
	if (gens == NULL) {
		/* -1: absent; -2: more than one; else undecodable. */
		rc = crit == -1 ? 0 : ANVIL_ECSR;
		goto out;
	}
	/* Ends after the stack's entries; names_add bounds the result. */
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		gen = sk_GENERAL_NAME_value(gens, i);
		if (gen->type != GEN_DNS) {
			rc = ANVIL_ECSR;
			goto out;
		}
		rc = names_add(ns, ASN1_STRING_get0_data(gen->d.dNSName),
		    (size_t)ASN1_STRING_length(gen->d.dNSName));
		if (rc != 0)
			goto out;
	}
out:
	if (rc != 0)
		ERR_clear_error();
	GENERAL_NAMES_free(gens);
	return rc;
}

/* Adds every commonName of subj (may be NULL). */
static int
cn_names(const X509_NAME *subj, struct names *ns)
{
	X509_NAME_ENTRY	*ent;
	unsigned char	*utf8 = NULL;
	int		 idx = -1, len, rc = 0;

	if (subj == NULL)
		return 0;
	for (;;) {
		/* Each call moves idx forward, so the loop ends. */
		idx = X509_NAME_get_index_by_NID(subj, NID_commonName, idx);
		if (idx < 0)
			break;
		ent = X509_NAME_get_entry(subj, idx);
		len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ent));
		if (len < 0) {
			rc = ANVIL_ECSR;
			break;
		}
		rc = names_add(ns, utf8, (size_t)len);
		OPENSSL_free(utf8);
		utf8 = NULL;
		if (rc != 0)
			break;
	}
	if (rc != 0)
		ERR_clear_error();
	return rc;
}

/*
 * The names come in the order of the SAN extension, then the commonName
 * when it is not among them.  A CSR with no name at all is refused too.
 */
int
anvil_csr_names_of(const X509_NAME *subject,
    const STACK_OF(X509_EXTENSION) *exts, size_t max, char ***ret)
{
	struct names	 ns = { NULL, 0, max };
	int		 rc;

	if (max == 0 || max > NAMES_MAX)
		return ANVIL_EINVAL;
	ns.v = calloc(max + 1, sizeof(*ns.v));
	if (ns.v == NULL)
		return ANVIL_ENOMEM;
	rc = san_names(exts, &ns);
	if (rc != 0)
		goto out;
	rc = cn_names(subject, &ns);
	if (rc != 0)
		goto out;
	if (ns.n == 0) {
		rc = ANVIL_ECSR;
		goto out;
	}
	*ret = ns.v;
	ns.v = NULL;
out:
	anvil_strv_free(ns.v);
	return rc;
}

int
anvil_csr_names(X509_REQ *req, size_t max, char ***ret)
{
	STACK_OF(X509_EXTENSION)	*exts;
	int				 rc;

	if (req == NULL || max == 0 || max > NAMES_MAX)
		return ANVIL_EINVAL;
	/* OpenSSL 3 returns an empty list for a CSR without extensions:
	 * NULL means the extension request did not decode. */
	exts = X509_REQ_get_extensions(req);
	if (exts == NULL) {
		ERR_clear_error();
		return ANVIL_ECSR;
	}
	rc = anvil_csr_names_of(X509_REQ_get_subject_name(req), exts, max,
	    ret);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

/* Builds the subjectAltName extension for names into the request. */
static int
add_san(X509_REQ *req, const char *const *names, size_t n)
{
	STACK_OF(X509_EXTENSION)	*exts = NULL;
	GENERAL_NAMES			*gens = NULL;
	GENERAL_NAME			*gen = NULL;
	ASN1_IA5STRING			*ia5 = NULL;
	X509_EXTENSION			*ext = NULL;
	size_t				 i;
	int				 rc = ANVIL_ENOMEM;

	gens = GENERAL_NAMES_new();
	if (gens == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		gen = GENERAL_NAME_new();
		ia5 = ASN1_IA5STRING_new();
		if (gen == NULL || ia5 == NULL ||
		    ASN1_STRING_set(ia5, names[i], -1) != 1)
			goto out;
		GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
		ia5 = NULL;
		if (sk_GENERAL_NAME_push(gens, gen) <= 0)
			goto out;
		gen = NULL;
	}
	ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	exts = sk_X509_EXTENSION_new_null();
	if (ext == NULL || exts == NULL ||
	    sk_X509_EXTENSION_push(exts, ext) <= 0)
		goto out;
	ext = NULL;
	if (X509_REQ_add_extensions(req, exts) != 1) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	rc = 0;
out:
	ASN1_IA5STRING_free(ia5);
	GENERAL_NAME_free(gen);
	GENERAL_NAMES_free(gens);
	X509_EXTENSION_free(ext);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return rc;
}

int
anvil_csr_new(EVP_PKEY *key, const char *const *names, size_t n,
    X509_REQ **ret)
{
	X509_REQ	*req = NULL;
	X509_NAME	*subj;
	size_t		 i;
	int		 rc = ANVIL_EINVAL;

	if (key == NULL || names == NULL || n == 0 ||
	    n > ANVIL_MAX_IDENTIFIERS)
		goto out;
	for (i = 0; i < n; i++)
		if (anvil_dns_name_check(names[i], 1) != 0)
			goto out;
	rc = ANVIL_ECRYPTO;
	req = X509_REQ_new();
	if (req == NULL)
		goto out;
	/* RFC 2986 §4.1: version 0. */
	if (X509_REQ_set_version(req, 0) != 1 ||
	    X509_REQ_set_pubkey(req, key) != 1)
		goto out;
	if (strlen(names[0]) <= CN_MAX) {
		subj = X509_REQ_get_subject_name(req);
		if (X509_NAME_add_entry_by_NID(subj, NID_commonName,
		    MBSTRING_ASC, (const unsigned char *)names[0], -1, -1,
		    0) != 1)
			goto out;
	}
	rc = add_san(req, names, n);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (X509_REQ_sign(req, key, anvil__pkey_md(key)) <= 0)
		goto out;
	*ret = req;
	req = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	X509_REQ_free(req);
	return rc;
}

int
anvil_csr_der(X509_REQ *req, uint8_t **ret, size_t *ret_len)
{
	unsigned char	*der = NULL, *p;
	int		 len, len2;

	if (req == NULL)
		return ANVIL_EINVAL;
	len = i2d_X509_REQ(req, NULL);
	if (len <= 0)
		return ANVIL_ECRYPTO;
	der = malloc((size_t)len);
	if (der == NULL)
		return ANVIL_ENOMEM;
	p = der;
	len2 = i2d_X509_REQ(req, &p);
	if (len2 != len) {
		free(der);
		return ANVIL_ECRYPTO;
	}
	*ret = der;
	*ret_len = (size_t)len;
	return 0;
}
