/*
 * test_signer.c - unit tests for `anvil-ca init` (server/ca_init.c) and
 * the CA signer (server/signer.c): files and modes, refusals, the CA
 * certificates, and leaves checked the way a TLS client and openssl(1)
 * check them.
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

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/anvil.h"


#include "crl.h"
#include "signer.h"
#include "signer_int.h"

#define DAY (24 * 60 * 60)

/* The CA shared by the issuance tests, made once by group_setup. */
static char		 base[64];	/* temporary directory */
static char		 ca_dir[128];	/* base/ca */
static struct signer	*sig;
static X509		*root_cert;
static X509		*inter_cert;

static const char *const all_files[] = {
	STATE_ROOT_KEY, STATE_ROOT_CERT, STATE_INTER_KEY, STATE_INTER_CERT,
	STATE_TLS_KEY, STATE_TLS_CERT, STATE_CONFIG
};
#define N_FILES (sizeof(all_files) / sizeof(all_files[0]))

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
rm_tree(const char *dir)
{
	(void)nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void
path_of(char *buf, size_t len, const char *dir, const char *file)
{
	int	 n;

	n = snprintf(buf, len, "%s/%s", dir, file);
	assert_true(n > 0 && (size_t)n < len);
}

/* Makes base/<name> as a path (not created). */
static void
sub_dir(char *buf, size_t len, const char *name)
{
	path_of(buf, len, base, name);
}

static X509 *
cert_read(const char *dir, const char *file)
{
	char	 path[256];
	FILE	*fp;
	X509	*x;

	path_of(path, sizeof(path), dir, file);
	fp = fopen(path, "r");
	assert_non_null(fp);
	x = PEM_read_X509(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(x);
	return x;
}

static int
file_exists(const char *dir, const char *file)
{
	struct stat	 st;
	char		 path[256];

	path_of(path, sizeof(path), dir, file);
	return lstat(path, &st) == 0;
}

/* Reads a whole small file into a new buffer. */
static char *
slurp(const char *dir, const char *file, size_t *ret_len)
{
	char	 path[256];
	char	*data = NULL;
	size_t	 len = 0;

	path_of(path, sizeof(path), dir, file);
	assert_int_equal(anvil_file_read(path, 1 << 20, &data, &len), 0);
	*ret_len = len;
	return data;
}

/* Verifies leaf against the root, with inter as untrusted chain (may be
 * NULL), for the TLS server purpose, strictly.  Returns the X509_V_ code
 * (see openssl-verify(1) for their meaning). */
static int
chain_verify(X509 *leaf, X509 *inter, X509 *root)
{
	X509_STORE	*store;
	X509_STORE_CTX	*ctx;
	STACK_OF(X509)	*untrusted;
	int		 err;

	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	untrusted = sk_X509_new_null();
	assert_non_null(store);
	assert_non_null(ctx);
	assert_non_null(untrusted);
	assert_int_equal(X509_STORE_add_cert(store, root), 1);
	if (inter != NULL)
		assert_true(sk_X509_push(untrusted, inter) > 0);
	assert_int_equal(X509_STORE_CTX_init(ctx, store, leaf, untrusted), 1);
	assert_int_equal(X509_STORE_CTX_set_purpose(ctx,
	    X509_PURPOSE_SSL_SERVER), 1);
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_X509_STRICT);
	if (X509_verify_cert(ctx) == 1)
		err = X509_V_OK;
	else
		err = X509_STORE_CTX_get_error(ctx);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_free(untrusted);
	return err;
}

/* Returns whether extension nid of x is marked critical (fails if absent). */
static int
ext_critical(X509 *x, int nid)
{
	int	 i;

	i = X509_get_ext_by_NID(x, nid, -1);
	assert_true(i >= 0);
	return X509_EXTENSION_get_critical(X509_get_ext(x, i));
}

/* Builds a DER CSR with anvil_csr_new. */
static void
csr_make(EVP_PKEY *key, const char *const *names, size_t n, uint8_t **der,
    size_t *len)
{
	X509_REQ	*req = NULL;

	assert_int_equal(anvil_csr_new(key, names, n, &req), 0);
	assert_int_equal(anvil_csr_der(req, der, len), 0);
	X509_REQ_free(req);
}

/* Which forms of request attributes csr_build writes. */
enum csr_attrs {
	CSR_EXT_REQ,		/* one extensionRequest */
	CSR_EXT_REQ_PASSWORD,	/* ... and a challengePassword */
	CSR_MS_EXT_REQ,		/* the Microsoft extension request */
	CSR_NO_ATTRS,		/* none at all */
};

/*
 * A DER CSR for key signed with md: subject CN cn (none when NULL), a
 * SAN of the n names san (a keyUsage instead when n is 0) in the
 * attributes that form asks for.
 */
static void
csr_build(EVP_PKEY *key, const EVP_MD *md, const char *cn,
    const char *const *san, size_t n, enum csr_attrs form, uint8_t **der,
    size_t *len)
{
	X509_REQ			*req;
	STACK_OF(X509_EXTENSION)	*exts;
	GENERAL_NAMES			*gens;
	GENERAL_NAME			*gen;
	X509_EXTENSION			*ext;
	unsigned char			*p = NULL;
	size_t				 i;
	int				 len_;

	req = X509_REQ_new();
	exts = sk_X509_EXTENSION_new_null();
	gens = sk_GENERAL_NAME_new_null();
	assert_non_null(req);
	assert_non_null(exts);
	assert_non_null(gens);
	if (cn != NULL)
		assert_int_equal(X509_NAME_add_entry_by_NID(
		    X509_REQ_get_subject_name(req), NID_commonName,
		    MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0), 1);
	for (i = 0; i < n; i++) {
		gen = a2i_GENERAL_NAME(NULL, NULL, NULL, GEN_DNS, san[i], 0);
		assert_non_null(gen);
		assert_true(sk_GENERAL_NAME_push(gens, gen) > 0);
	}
	/* Without names, an extension request of a keyUsage alone. */
	if (n > 0)
		ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	else
		ext = X509V3_EXT_conf_nid(NULL, NULL, NID_key_usage,
		    "digitalSignature");
	assert_non_null(ext);
	assert_true(sk_X509_EXTENSION_push(exts, ext) > 0);
	switch (form) {
	case CSR_EXT_REQ:
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		break;
	case CSR_EXT_REQ_PASSWORD:
		assert_int_equal(X509_REQ_add1_attr_by_NID(req,
		    NID_pkcs9_challengePassword, MBSTRING_ASC,
		    (const unsigned char *)"secret", -1), 1);
		assert_int_equal(X509_REQ_add_extensions(req, exts), 1);
		break;
	case CSR_MS_EXT_REQ:
		assert_int_equal(X509_REQ_add_extensions_nid(req, exts,
		    NID_ms_ext_req), 1);
		break;
	case CSR_NO_ATTRS:
		break;
	}
	assert_int_equal(X509_REQ_set_pubkey(req, key), 1);
	assert_true(X509_REQ_sign(req, key, md) > 0);
	len_ = i2d_X509_REQ(req, &p);
	assert_true(len_ > 0);
	*der = malloc((size_t)len_);
	assert_non_null(*der);
	memcpy(*der, p, (size_t)len_);
	*len = (size_t)len_;
	OPENSSL_free(p);
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
}

/* Builds a DER CSR directly with OpenSSL, for keys anvil_csr_new would
 * refuse to use: one name, no subject, an extensionRequest. */
static void
csr_make_raw(EVP_PKEY *key, const char *name, uint8_t **der, size_t *len)
{
	/* Ed25519 signs without a separate digest. */
	csr_build(key, EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519 ? NULL :
	    EVP_sha256(), NULL, &name, 1, CSR_EXT_REQ, der, len);
}

static EVP_PKEY *
key_new(enum anvil_key_type t)
{
	EVP_PKEY	*k = NULL;

	assert_int_equal(anvil_key_generate(t, &k), 0);
	return k;
}

static void
req_fill(struct sign_req *r, const uint8_t *der, size_t len,
    const char *const *names, size_t n, int64_t nb, int64_t na)
{
	memset(r, 0, sizeof(*r));
	r->csr_der = der;
	r->csr_len = len;
	r->names = names;
	r->n_names = n;
	r->not_before = nb;
	r->not_after = na;
}

static X509 *
der_cert(const uint8_t *der, size_t len)
{
	const unsigned char	*p = der;
	X509			*x;

	x = d2i_X509(NULL, &p, (long)len);
	assert_non_null(x);
	assert_ptr_equal(p, der + len);
	return x;
}

/* Checks that x's SAN is exactly names, in order, all dNSName. */
static void
san_exact(X509 *x, const char *const *names, size_t n)
{
	GENERAL_NAMES	*gens;
	GENERAL_NAME	*g;
	size_t		 i;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	assert_non_null(gens);
	assert_int_equal(sk_GENERAL_NAME_num(gens), n);
	for (i = 0; i < n; i++) {
		g = sk_GENERAL_NAME_value(gens, (int)i);
		assert_int_equal(g->type, GEN_DNS);
		assert_int_equal(ASN1_STRING_length(g->d.dNSName),
		    strlen(names[i]));
		assert_memory_equal(ASN1_STRING_get0_data(g->d.dNSName),
		    names[i], strlen(names[i]));
	}
	GENERAL_NAMES_free(gens);
}

static int
group_setup(void **state)
{
	struct ca_init_opts	 o;
	const char		*tls[] = { "acme.test", "192.0.2.7",
				    "2001:db8::1" };

	(void)state;
	strcpy(base, "/tmp/anvil-test-signer-XXXXXX");
	if (mkdtemp(base) == NULL)
		return -1;
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", base);
	memset(&o, 0, sizeof(o));
	o.state_dir = ca_dir;
	o.tls_names = tls;
	o.n_tls_names = 3;
	o.ca_name = "Test";
	if (ca_init(&o) != 0)
		return -1;
	if (signer_open(ca_dir, &sig) != 0)
		return -1;
	root_cert = cert_read(ca_dir, STATE_ROOT_CERT);
	inter_cert = cert_read(ca_dir, STATE_INTER_CERT);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	signer_free(sig);
	X509_free(root_cert);
	X509_free(inter_cert);
	if (base[0] != '\0')
		rm_tree(base);
	return 0;
}

/* Runs ca_init with o on base/never and checks it refused with want and
 * created nothing. */
static void
init_refused(struct ca_init_opts *o, int want)
{
	struct stat	 st;
	char		 dir[128];

	sub_dir(dir, sizeof(dir), "never");
	o->state_dir = dir;
	assert_int_equal(ca_init(o), want);
	assert_int_equal(lstat(dir, &st), -1);
}

static void
test_init_invalid(void **state)
{
	struct ca_init_opts	 o;
	const char		*bad_names[] = { "bad name", "-x.example",
				    "a..b", "x.", "UPPER.example", "" };
	size_t			 i;

	(void)state;
	assert_int_equal(ca_init(NULL), ANVIL_EINVAL);
	memset(&o, 0, sizeof(o));
	assert_int_equal(ca_init(&o), ANVIL_EINVAL);

	memset(&o, 0, sizeof(o));
	o.key_type = "ed25519";		/* not a CA key type here */
	init_refused(&o, ANVIL_EINVAL);
	o.key_type = "dsa";
	init_refused(&o, ANVIL_EINVAL);

	memset(&o, 0, sizeof(o));
	o.ca_name = "";
	init_refused(&o, ANVIL_EINVAL);
	o.ca_name = "A name far too long for a 64-character CN x";
	init_refused(&o, ANVIL_EINVAL);
	o.ca_name = "new\nline";
	init_refused(&o, ANVIL_EINVAL);

	memset(&o, 0, sizeof(o));
	for (i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
		o.tls_names = &bad_names[i];
		o.n_tls_names = 1;
		init_refused(&o, ANVIL_EINVAL);
	}
	o.tls_names = NULL;
	o.n_tls_names = 1;
	init_refused(&o, ANVIL_EINVAL);
}

static void
test_init_files(void **state)
{
	struct stat	 st;
	char		 path[256], *conf;
	const char	*keys[] = { "listen", "base_url", "http01_port",
			    "tlsalpn01_port", "resolver", "validity_days",
			    "order_lifetime", "authz_lifetime",
			    "terms_of_service", "website", "caa_identity",
			    "va_threads" };
	const char	*line;
	size_t		 i, len;

	(void)state;
	assert_int_equal(stat(ca_dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	for (i = 0; i < N_FILES; i++) {
		path_of(path, sizeof(path), ca_dir, all_files[i]);
		assert_int_equal(lstat(path, &st), 0);
		assert_true(S_ISREG(st.st_mode));
		assert_true(st.st_size > 0);
		if (strstr(all_files[i], ".key") != NULL)
			assert_int_equal(st.st_mode & 0777, 0600);
		else
			assert_int_equal(st.st_mode & 0777, 0644);
	}
	/* The store makes the database on first start. */
	assert_false(file_exists(ca_dir, STATE_DB));

	/* Every configuration key is shown, commented out. */
	conf = slurp(ca_dir, STATE_CONFIG, &len);
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(path, sizeof(path), "\n# %s = ", keys[i]);
		assert_non_null(strstr(conf, path));
	}
	assert_non_null(strstr(conf, "\n# listen = 127.0.0.1:14000\n"));
	assert_non_null(strstr(conf, "\n# validity_days = 90\n"));
	/* Nothing is set: every non-blank line is a comment. */
	for (line = conf; *line != '\0'; line = strchr(line, '\n') + 1) {
		assert_true(*line == '#' || *line == '\n');
		assert_non_null(strchr(line, '\n'));
	}
	free(conf);
}

static void
test_init_certs(void **state)
{
	X509		*tls;
	EVP_PKEY	*pk;
	const ASN1_OCTET_STRING *aki_id;
	char		 cn[128], host[256];
	int		 days, secs;

	(void)state;
	/* Root: self-signed CA, pathlen 1, certificate and CRL signing. */
	assert_int_equal(X509_check_issued(root_cert, root_cert), X509_V_OK);
	assert_int_equal(X509_verify(root_cert, X509_get0_pubkey(root_cert)),
	    1);
	assert_true(X509_get_extension_flags(root_cert) & EXFLAG_CA);
	assert_int_equal(X509_get_pathlen(root_cert), 1);
	assert_true(ext_critical(root_cert, NID_basic_constraints));
	assert_true(ext_critical(root_cert, NID_key_usage));
	assert_int_equal(X509_get_key_usage(root_cert),
	    KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	assert_non_null(X509_get0_subject_key_id(root_cert));
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(root_cert),
	    NID_commonName, cn, sizeof(cn)) > 0);
	assert_int_equal(strncmp(cn, "Test Root CA ", 13), 0);
	assert_int_equal(strlen(cn), 17);
	assert_true(X509_NAME_get_text_by_NID(X509_get_subject_name(root_cert),
	    NID_organizationName, cn, sizeof(cn)) > 0);
	assert_string_equal(cn, "Test");
	assert_int_equal(ASN1_TIME_diff(&days, &secs,
	    X509_get0_notBefore(root_cert), X509_get0_notAfter(root_cert)), 1);
	assert_true(days >= 3650 && days <= 3653);
	pk = X509_get0_pubkey(root_cert);
	assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_bits(pk), 256);
	assert_int_equal(X509_get_signature_nid(root_cert),
	    NID_ecdsa_with_SHA256);

	/* Intermediate: pathlen 0, issued by the root, AKI = root SKI. */
	assert_int_equal(X509_check_issued(root_cert, inter_cert), X509_V_OK);
	assert_int_equal(X509_verify(inter_cert, X509_get0_pubkey(root_cert)),
	    1);
	assert_true(X509_get_extension_flags(inter_cert) & EXFLAG_CA);
	assert_int_equal(X509_get_pathlen(inter_cert), 0);
	assert_true(ext_critical(inter_cert, NID_basic_constraints));
	assert_int_equal(X509_get_key_usage(inter_cert),
	    KU_KEY_CERT_SIGN | KU_CRL_SIGN);
	aki_id = X509_get0_authority_key_id(inter_cert);
	assert_non_null(aki_id);
	assert_int_equal(ASN1_OCTET_STRING_cmp(aki_id,
	    X509_get0_subject_key_id(root_cert)), 0);
	assert_int_equal(ASN1_TIME_diff(&days, &secs,
	    X509_get0_notBefore(inter_cert), X509_get0_notAfter(inter_cert)),
	    1);
	assert_true(days >= 1825 && days <= 1827);

	/* HTTPS certificate: root-issued, so the root alone verifies it. */
	tls = cert_read(ca_dir, STATE_TLS_CERT);
	assert_int_equal(chain_verify(tls, NULL, root_cert), X509_V_OK);
	assert_int_equal(X509_check_host(tls, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(tls, "acme.test", 0, 0, NULL), 1);
	assert_int_equal(X509_check_host(tls, "other.test", 0, 0, NULL), 0);
	assert_int_equal(X509_check_ip_asc(tls, "127.0.0.1", 0), 1);
	assert_int_equal(X509_check_ip_asc(tls, "::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(tls, "192.0.2.7", 0), 1);
	assert_int_equal(X509_check_ip_asc(tls, "2001:db8::1", 0), 1);
	assert_int_equal(X509_check_ip_asc(tls, "192.0.2.8", 0), 0);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	host[sizeof(host) - 1] = '\0';
	assert_int_equal(X509_check_host(tls, host, 0, 0, NULL), 1);
	assert_int_equal(X509_get_extended_key_usage(tls), XKU_SSL_SERVER);
	assert_int_equal(X509_get_key_usage(tls), KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_extension_flags(tls) & EXFLAG_CA);
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(tls)), 256);
	assert_int_equal(ASN1_TIME_diff(&days, &secs,
	    X509_get0_notBefore(tls), X509_get0_notAfter(tls)), 1);
	assert_true(days >= 729 && days <= 731);
	/* Signed by the root, not by the intermediate. */
	assert_int_equal(X509_verify(tls, X509_get0_pubkey(inter_cert)), 0);
	X509_free(tls);
}

/* Snapshot of the state files, to prove a refused init changed nothing. */
struct snap {
	char		*data[N_FILES];
	size_t		 len[N_FILES];
	struct timespec	 mtime[N_FILES];
};

static void
snap_take(struct snap *s, const char *dir)
{
	struct stat	 st;
	char		 path[256];
	size_t		 i;

	for (i = 0; i < N_FILES; i++) {
		s->data[i] = slurp(dir, all_files[i], &s->len[i]);
		path_of(path, sizeof(path), dir, all_files[i]);
		assert_int_equal(stat(path, &st), 0);
		s->mtime[i] = st.st_mtim;
	}
}

static void
snap_same(struct snap *a, struct snap *b)
{
	size_t	 i;

	for (i = 0; i < N_FILES; i++) {
		assert_int_equal(a->len[i], b->len[i]);
		assert_memory_equal(a->data[i], b->data[i], a->len[i]);
		assert_int_equal(a->mtime[i].tv_sec, b->mtime[i].tv_sec);
		assert_int_equal(a->mtime[i].tv_nsec, b->mtime[i].tv_nsec);
		free(a->data[i]);
		free(b->data[i]);
	}
}

static void
test_init_refuses(void **state)
{
	struct ca_init_opts	 o;
	struct snap		 before, after;
	char			 dir[128], path[256];
	size_t			 i;
	FILE			*fp;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.state_dir = ca_dir;
	snap_take(&before, ca_dir);
	assert_int_equal(ca_init(&o), ANVIL_EEXIST);
	o.key_type = "rsa2048";
	assert_int_equal(ca_init(&o), ANVIL_EEXIST);
	snap_take(&after, ca_dir);
	snap_same(&before, &after);
	assert_false(file_exists(ca_dir, STATE_DB));

	/* Any single state file blocks init, which then writes nothing. */
	sub_dir(dir, sizeof(dir), "partial");
	assert_int_equal(mkdir(dir, 0700), 0);
	o.state_dir = dir;
	o.key_type = NULL;
	for (i = 0; i < N_FILES + 1; i++) {
		path_of(path, sizeof(path), dir,
		    i < N_FILES ? all_files[i] : STATE_DB);
		fp = fopen(path, "w");
		assert_non_null(fp);
		assert_int_equal(fclose(fp), 0);
		assert_int_equal(ca_init(&o), ANVIL_EEXIST);
		assert_int_equal(unlink(path), 0);
		assert_int_equal(rmdir(dir), 0);	/* i.e. left empty */
		assert_int_equal(mkdir(dir, 0700), 0);
	}
	rm_tree(dir);

	/* A state "directory" that is a file. */
	sub_dir(dir, sizeof(dir), "afile");
	fp = fopen(dir, "w");
	assert_non_null(fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_not_equal(ca_init(&o), 0);
	assert_int_equal(unlink(dir), 0);
}

/* Issues one leaf for a P-256 CSR from s and checks it verifies. */
static void
issue_and_verify(struct signer *s, X509 *root, X509 *inter)
{
	const char	*names[] = { "issue.example" };
	EVP_PKEY	*key;
	uint8_t		*der = NULL;
	size_t		 len;
	struct sign_req	 req;
	struct sign_resp resp;
	X509		*leaf;
	time_t		 now = time(NULL);

	key = key_new(ANVIL_KEY_EC256);
	csr_make(key, names, 1, &der, &len);
	req_fill(&req, der, len, names, 1, now - 60, now + 90 * DAY);
	assert_int_equal(signer_issue(s, &req, &resp), 0);
	leaf = der_cert(resp.der, resp.der_len);
	assert_int_equal(chain_verify(leaf, inter, root), X509_V_OK);
	X509_free(leaf);
	sign_resp_clear(&resp);
	free(der);
	EVP_PKEY_free(key);
}

static void
test_init_key_types(void **state)
{
	static const struct {
		const char	*name;
		int		 base_id, bits, sig_nid;
	} types[] = {
		{ "ec384", EVP_PKEY_EC, 384, NID_ecdsa_with_SHA384 },
		{ "rsa2048", EVP_PKEY_RSA, 2048, NID_sha256WithRSAEncryption },
		{ "rsa3072", EVP_PKEY_RSA, 3072, NID_sha256WithRSAEncryption },
		{ "rsa4096", EVP_PKEY_RSA, 4096, NID_sha256WithRSAEncryption },
	};
	struct ca_init_opts	 o;
	struct signer		*s = NULL;
	X509			*root, *inter;
	EVP_PKEY		*pk;
	char			 dir[128];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		sub_dir(dir, sizeof(dir), types[i].name);
		memset(&o, 0, sizeof(o));
		o.state_dir = dir;
		o.key_type = types[i].name;
		o.ca_name = "Test";
		assert_int_equal(ca_init(&o), 0);
		root = cert_read(dir, STATE_ROOT_CERT);
		inter = cert_read(dir, STATE_INTER_CERT);
		pk = X509_get0_pubkey(root);
		assert_int_equal(EVP_PKEY_get_base_id(pk), types[i].base_id);
		assert_int_equal(EVP_PKEY_get_bits(pk), types[i].bits);
		pk = X509_get0_pubkey(inter);
		assert_int_equal(EVP_PKEY_get_bits(pk), types[i].bits);
		assert_int_equal(X509_get_signature_nid(root),
		    types[i].sig_nid);
		assert_int_equal(X509_get_signature_nid(inter),
		    types[i].sig_nid);
		/* Two CAs of the same name still differ. */
		assert_int_not_equal(X509_NAME_cmp(X509_get_subject_name(root),
		    X509_get_subject_name(root_cert)), 0);
		assert_int_equal(signer_open(dir, &s), 0);
		issue_and_verify(s, root, inter);
		signer_free(s);
		s = NULL;
		X509_free(root);
		X509_free(inter);
		rm_tree(dir);
	}
}

static void
test_open_errors(void **state)
{
	struct signer	*s = NULL;
	char		 dir[128], dst[256];
	char		*data;
	size_t		 len;

	(void)state;
	assert_int_equal(signer_open(NULL, &s), ANVIL_EINVAL);
	sub_dir(dir, sizeof(dir), "empty");
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(signer_open(dir, &s), ANVIL_ENOENT);
	assert_null(s);

	/* The intermediate key paired with another certificate. */
	data = slurp(ca_dir, STATE_TLS_KEY, &len);
	path_of(dst, sizeof(dst), dir, STATE_INTER_KEY);
	assert_int_equal(anvil_file_write_atomic(dst, data, len, 0600), 0);
	free(data);
	data = slurp(ca_dir, STATE_INTER_CERT, &len);
	path_of(dst, sizeof(dst), dir, STATE_INTER_CERT);
	assert_int_equal(anvil_file_write_atomic(dst, data, len, 0644), 0);
	free(data);
	data = slurp(ca_dir, STATE_ROOT_CERT, &len);
	path_of(dst, sizeof(dst), dir, STATE_ROOT_CERT);
	assert_int_equal(anvil_file_write_atomic(dst, data, len, 0644), 0);
	free(data);
	assert_int_equal(signer_open(dir, &s), ANVIL_EKEY);
	assert_null(s);

	/* The right key, but garbage in place of the certificate. */
	data = slurp(ca_dir, STATE_INTER_KEY, &len);
	path_of(dst, sizeof(dst), dir, STATE_INTER_KEY);
	assert_int_equal(anvil_file_write_atomic(dst, data, len, 0600), 0);
	free(data);
	path_of(dst, sizeof(dst), dir, STATE_INTER_CERT);
	assert_int_equal(anvil_file_write_atomic(dst, "not a cert\n", 11,
	    0644), 0);
	assert_int_equal(signer_open(dir, &s), ANVIL_ECERT);
	assert_null(s);

	/* Restored, it opens. */
	data = slurp(ca_dir, STATE_INTER_CERT, &len);
	assert_int_equal(anvil_file_write_atomic(dst, data, len, 0644), 0);
	free(data);
	assert_int_equal(signer_open(dir, &s), 0);
	signer_free(s);
	rm_tree(dir);
}

static void
test_issue_invalid_request(void **state)
{
	const char	*names[] = { "a.example", "b.example" };
	const char	*dup[] = { "a.example", "a.example" };
	const char	*bad[] = { "a.example", "not a name" };
	EVP_PKEY	*key;
	uint8_t		*der = NULL;
	size_t		 len;
	struct sign_req	 req;
	struct sign_resp resp;
	time_t		 now = time(NULL);

	(void)state;
	key = key_new(ANVIL_KEY_EC256);
	csr_make(key, names, 2, &der, &len);
	memset(&resp, 0, sizeof(resp));

	assert_int_equal(signer_issue(sig, NULL, &resp), ANVIL_EINVAL);
	req_fill(&req, der, len, NULL, 2, now, now + DAY);
	assert_int_equal(signer_issue(sig, &req, &resp), ANVIL_EINVAL);
	req_fill(&req, der, len, names, 0, now, now + DAY);
	assert_int_equal(signer_issue(sig, &req, &resp), ANVIL_EINVAL);
	req_fill(&req, der, len, dup, 2, now, now + DAY);
	assert_int_equal(signer_issue(sig, &req, &resp), ANVIL_EINVAL);
	req_fill(&req, der, len, bad, 2, now, now + DAY);
	assert_int_equal(signer_issue(sig, &req, &resp), ANVIL_EINVAL);
	req_fill(&req, der, len, names, 2, now, now);
	assert_int_equal(signer_issue(sig, &req, &resp), ANVIL_EINVAL);
	req_fill(&req, der, len, names, 2, now, now - DAY);
	assert_int_equal(signer_issue(sig, &req, &resp), ANVIL_EINVAL);
	req_fill(&req, der, len, names, 2, -1, now);
	assert_int_equal(signer_issue(sig, &req, &resp), ANVIL_EINVAL);
	req_fill(&req, der, len, names, 2, now, INT64_C(253402300800));
	assert_int_equal(signer_issue(sig, &req, &resp), ANVIL_EINVAL);
	assert_null(resp.der);
	assert_null(resp.spki_hash);

	free(der);
	EVP_PKEY_free(key);
}

/* Expects ANVIL_ECSR for this CSR and these names, and resp untouched. */
static void
refused(const uint8_t *der, size_t len, const char *const *names, size_t n)
{
	struct sign_req	 req;
	struct sign_resp resp;
	time_t		 now = time(NULL);

	memset(&resp, 0, sizeof(resp));
	req_fill(&req, der, len, names, n, now, now + DAY);
	assert_int_equal(signer_issue(sig, &req, &resp), ANVIL_ECSR);
	assert_null(resp.der);
	assert_null(resp.spki_hash);
	assert_string_equal(resp.serial, "");
}

static void
test_issue_refusals(void **state)
{
	const char	*two[] = { "a.example", "b.example" };
	const char	*three[] = { "a.example", "b.example", "c.example" };
	const char	*other[] = { "a.example", "x.example" };
	uint8_t		 garbage[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	uint8_t		*der = NULL, *big;
	size_t		 len;
	EVP_PKEY	*key, *weak;

	(void)state;
	key = key_new(ANVIL_KEY_EC256);

	/* Garbage, empty, oversized. */
	refused(garbage, sizeof(garbage), two, 2);
	refused(garbage, 0, two, 2);
	big = calloc(1, ANVIL_MAX_CSR_DER + 1);
	assert_non_null(big);
	refused(big, ANVIL_MAX_CSR_DER + 1, two, 2);
	free(big);

	/* The CSR asks for a name the order lacks. */
	csr_make(key, three, 3, &der, &len);
	refused(der, len, two, 2);
	free(der);

	/* The CSR misses a name of the order. */
	csr_make(key, two, 1, &der, &len);
	refused(der, len, two, 2);
	free(der);

	/* Same count, different names. */
	csr_make(key, other, 2, &der, &len);
	refused(der, len, two, 2);
	free(der);

	/* A flipped bit in the signature (its last byte). */
	csr_make(key, two, 2, &der, &len);
	der[len - 1] ^= 0x01;
	refused(der, len, two, 2);
	/* ... and in the signed part: the first byte of a name. */
	der[len - 1] ^= 0x01;
	big = memmem(der, len, "b.example", 9);
	assert_non_null(big);
	big[0] = 'c';
	refused(der, len, two, 2);
	free(der);

	/* The public point moved off the curve (its last byte). */
	csr_make(key, two, 2, &der, &len);
	{
		uint8_t	 pt[97];
		size_t	 ptlen = 0;

		assert_int_equal(EVP_PKEY_get_octet_string_param(key,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen), 1);
		big = memmem(der, len, pt, ptlen);
		assert_non_null(big);
		big[ptlen - 1] ^= 0x01;
		refused(der, len, two, 2);
	}
	free(der);

	/* Trailing bytes after the CSR. */
	csr_make(key, two, 2, &der, &len);
	big = malloc(len + 1);
	assert_non_null(big);
	memcpy(big, der, len);
	big[len] = 0;
	refused(big, len + 1, two, 2);
	free(big);
	free(der);

	/* RSA 1024 is too small. */
	weak = EVP_RSA_gen(1024);
	assert_non_null(weak);
	csr_make_raw(weak, "a.example", &der, &len);
	refused(der, len, two, 1);
	free(der);
	EVP_PKEY_free(weak);

	/* Ed25519 is not a key type we certify. */
	weak = key_new(ANVIL_KEY_ED25519);
	csr_make_raw(weak, "a.example", &der, &len);
	refused(der, len, two, 1);
	free(der);
	EVP_PKEY_free(weak);

	EVP_PKEY_free(key);
}

/*
 * The leaf's DER verifies with the intermediate's key and parses back to
 * the same certificate: encoded again (i2d_X509) it is the same bytes,
 * its TBSCertificate re-encoded from its fields (not its cache) is the
 * one inside it, and its two signature algorithms are the same.
 */
static void
der_canonical(X509 *leaf, const uint8_t *der, size_t len)
{
	const ASN1_BIT_STRING	*sigbits;
	const X509_ALGOR	*alg;
	unsigned char		*p = NULL, *tbs = NULL;
	int			 n, tlen;
	X509			*again;

	n = i2d_X509(leaf, &p);
	assert_int_equal(n, (int)len);
	assert_memory_equal(p, der, len);
	OPENSSL_free(p);
	/* Decoded again, re-encoded from its fields, not its cache. */
	again = der_cert(der, len);
	tlen = i2d_re_X509_tbs(again, &tbs);
	assert_true(tlen > 0 && (size_t)tlen < len);
	assert_non_null(memmem(der, len, tbs, (size_t)tlen));
	OPENSSL_free(tbs);
	X509_get0_signature(&sigbits, &alg, again);
	assert_int_equal(X509_ALGOR_cmp(alg, X509_get0_tbs_sigalg(again)), 0);
	assert_int_equal(sigbits->flags & 0x07, 0);
	assert_int_equal(X509_verify(again, X509_get0_pubkey(inter_cert)), 1);
	X509_free(again);
}

/* Issues for key and names; checks what every leaf must have. */
static void
issue_check(EVP_PKEY *key, const char *const *names, size_t n,
    const char *const *csr_names, size_t csr_n, int rsa,
    struct sign_resp *resp, X509 **ret_leaf)
{
	struct sign_req	 req;
	uint8_t		*der = NULL, *spki = NULL, md[SHA256_DIGEST_LENGTH];
	uint8_t		 sha1[SHA_DIGEST_LENGTH];
	const unsigned char *pk;
	char		*hash = NULL, serial[41];
	size_t		 len;
	int		 pklen;
	X509		*leaf;
	X509_REQ	*csr = NULL;
	const unsigned char *p;
	EXTENDED_KEY_USAGE *eku;
	BIGNUM		*bn;
	const ASN1_OCTET_STRING *ski;
	time_t		 now = time(NULL);
	int64_t		 nb = now - 3600, na = now + 90 * DAY;

	csr_make(key, csr_names, csr_n, &der, &len);
	req_fill(&req, der, len, names, n, nb, na);
	assert_int_equal(signer_issue(sig, &req, resp), 0);
	assert_non_null(resp->der);
	assert_int_equal(resp->not_before, nb);
	assert_int_equal(resp->not_after, na);
	leaf = der_cert(resp->der, resp->der_len);
	der_canonical(leaf, resp->der, resp->der_len);

	assert_int_equal(chain_verify(leaf, inter_cert, root_cert), X509_V_OK);
	/* Not without the intermediate. */
	assert_int_not_equal(chain_verify(leaf, NULL, root_cert), X509_V_OK);

	assert_int_equal(X509_get_version(leaf), X509_VERSION_3);
	assert_int_equal(X509_NAME_cmp(X509_get_issuer_name(leaf),
	    X509_get_subject_name(inter_cert)), 0);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), key), 1);
	san_exact(leaf, names, n);

	/* EKU serverAuth only. */
	eku = X509_get_ext_d2i(leaf, NID_ext_key_usage, NULL, NULL);
	assert_non_null(eku);
	assert_int_equal(sk_ASN1_OBJECT_num(eku), 1);
	assert_int_equal(OBJ_obj2nid(sk_ASN1_OBJECT_value(eku, 0)),
	    NID_server_auth);
	EXTENDED_KEY_USAGE_free(eku);

	/* CA:FALSE, critical; keyUsage critical. */
	assert_true(X509_get_extension_flags(leaf) & EXFLAG_BCONS);
	assert_false(X509_get_extension_flags(leaf) & EXFLAG_CA);
	assert_true(ext_critical(leaf, NID_basic_constraints));
	assert_true(ext_critical(leaf, NID_key_usage));
	assert_int_equal(X509_get_key_usage(leaf), rsa ?
	    KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT : KU_DIGITAL_SIGNATURE);

	/* AKI = intermediate SKI; SKI = SHA-1 of the key bits. */
	assert_int_equal(ASN1_OCTET_STRING_cmp(
	    X509_get0_authority_key_id(leaf),
	    X509_get0_subject_key_id(inter_cert)), 0);
	assert_int_equal(X509_PUBKEY_get0_param(NULL, &pk, &pklen, NULL,
	    X509_get_X509_PUBKEY(leaf)), 1);
	SHA1(pk, (size_t)pklen, sha1);
	ski = X509_get0_subject_key_id(leaf);
	assert_non_null(ski);
	assert_int_equal(ASN1_STRING_length(ski), sizeof(sha1));
	assert_memory_equal(ASN1_STRING_get0_data(ski), sha1, sizeof(sha1));

	/* Validity as requested. */
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(leaf),
	    (time_t)nb), 0);
	assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notAfter(leaf),
	    (time_t)na), 0);

	/* Serial: positive, at least 64 bits, reported as libanvil
	 * prints it. */
	bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(leaf), NULL);
	assert_non_null(bn);
	assert_false(BN_is_negative(bn));
	assert_true(BN_num_bits(bn) >= 64 && BN_num_bits(bn) <= 127);
	BN_free(bn);
	assert_int_equal(anvil_cert_serial_hex(leaf, serial), 0);
	assert_string_equal(resp->serial, serial);

	/* SPKI hash: of the leaf's SPKI, which is the CSR's exactly. */
	pklen = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(leaf), &spki);
	assert_true(pklen > 0);
	SHA256(spki, (size_t)pklen, md);
	assert_int_equal(anvil_b64url_encode(md, sizeof(md), &hash), 0);
	assert_string_equal(resp->spki_hash, hash);
	free(hash);
	p = der;
	csr = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(csr);
	OPENSSL_free(spki);
	spki = NULL;
	pklen = i2d_X509_PUBKEY(X509_REQ_get_X509_PUBKEY(csr), &spki);
	assert_true(pklen > 0);
	SHA256(spki, (size_t)pklen, md);
	assert_int_equal(anvil_b64url_encode(md, sizeof(md), &hash), 0);
	assert_string_equal(resp->spki_hash, hash);
	free(hash);
	OPENSSL_free(spki);
	X509_REQ_free(csr);
	free(der);
	*ret_leaf = leaf;
}

static void
cn_is(X509 *leaf, const char *want)
{
	char	 cn[128];
	int	 n;

	n = X509_NAME_get_text_by_NID(X509_get_subject_name(leaf),
	    NID_commonName, cn, sizeof(cn));
	if (want == NULL) {
		assert_int_equal(n, -1);
		assert_int_equal(X509_NAME_entry_count(
		    X509_get_subject_name(leaf)), 0);
		return;
	}
	assert_true(n > 0);
	assert_string_equal(cn, want);
}

static void
test_issue_ec256(void **state)
{
	/* The CSR lists them in another order: the SAN follows the order. */
	const char	*names[] = { "www.example.com", "example.com",
			    "*.example.com" };
	const char	*csr_names[] = { "*.example.com", "example.com",
			    "www.example.com" };
	struct sign_resp r1, r2;
	X509		*l1, *l2;
	EVP_PKEY	*key;

	(void)state;
	key = key_new(ANVIL_KEY_EC256);
	issue_check(key, names, 3, csr_names, 3, 0, &r1, &l1);
	cn_is(l1, "www.example.com");
	assert_false(ext_critical(l1, NID_subject_alt_name));
	assert_int_equal(X509_check_host(l1, "foo.example.com", 0, 0, NULL),
	    1);

	/* Same CSR again: a different serial. */
	issue_check(key, names, 3, csr_names, 3, 0, &r2, &l2);
	assert_string_not_equal(r1.serial, r2.serial);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(l1),
	    X509_get0_serialNumber(l2)), 0);
	assert_string_equal(r1.spki_hash, r2.spki_hash);

	X509_free(l1);
	X509_free(l2);
	sign_resp_clear(&r1);
	sign_resp_clear(&r2);
	sign_resp_clear(&r2);	/* cleared twice is harmless */
	sign_resp_clear(NULL);
	EVP_PKEY_free(key);
}

static void
test_issue_other_keys(void **state)
{
	const char	*names[] = { "rsa.example" };
	struct sign_resp r;
	X509		*leaf;
	EVP_PKEY	*key;

	(void)state;
	key = key_new(ANVIL_KEY_RSA2048);
	issue_check(key, names, 1, names, 1, 1, &r, &leaf);
	X509_free(leaf);
	sign_resp_clear(&r);
	EVP_PKEY_free(key);

	key = key_new(ANVIL_KEY_EC384);
	issue_check(key, names, 1, names, 1, 0, &r, &leaf);
	X509_free(leaf);
	sign_resp_clear(&r);
	EVP_PKEY_free(key);
}

static void
test_issue_long_names(void **state)
{
	/* 63 + 1 + 63 + 1 + 7 = 135 characters: too long for a CN. */
	char		 l1[160], l2[160];
	const char	*names[3], *only_long[2];
	struct sign_resp r;
	X509		*leaf;
	EVP_PKEY	*key;

	(void)state;
	memset(l1, 'a', 63);
	l1[63] = '.';
	memset(l1 + 64, 'b', 63);
	strcpy(l1 + 127, ".example");
	strcpy(l2, l1);
	l2[0] = 'c';
	key = key_new(ANVIL_KEY_EC256);

	names[0] = l1;
	names[1] = "short.example";
	names[2] = l2;
	issue_check(key, names, 3, names, 3, 0, &r, &leaf);
	cn_is(leaf, "short.example");
	assert_false(ext_critical(leaf, NID_subject_alt_name));
	X509_free(leaf);
	sign_resp_clear(&r);

	only_long[0] = l1;
	only_long[1] = l2;
	issue_check(key, only_long, 2, only_long, 2, 0, &r, &leaf);
	cn_is(leaf, NULL);
	assert_true(ext_critical(leaf, NID_subject_alt_name));
	X509_free(leaf);
	sign_resp_clear(&r);
	EVP_PKEY_free(key);
}

/* The extensions of x are exactly those of want, in that order. */
static void
ext_order(X509 *x, const int *want, int n)
{
	int	 i;

	assert_int_equal(X509_get_ext_count(x), n);
	for (i = 0; i < n; i++)
		assert_int_equal(OBJ_obj2nid(X509_EXTENSION_get_object(
		    X509_get_ext(x, i))), want[i]);
}

/* The only CRL distribution point of x is base/crl/<shard>.crl. */
static void
cdp_is(X509 *x, const char *base_url, int shard)
{
	CRL_DIST_POINTS		*cdps;
	DIST_POINT		*dp;
	GENERAL_NAME		*gen;
	char			 want[128];

	snprintf(want, sizeof(want), "%s/crl/%d.crl", base_url, shard);
	cdps = X509_get_ext_d2i(x, NID_crl_distribution_points, NULL, NULL);
	assert_non_null(cdps);
	assert_int_equal(sk_DIST_POINT_num(cdps), 1);
	dp = sk_DIST_POINT_value(cdps, 0);
	assert_non_null(dp->distpoint);
	assert_int_equal(dp->distpoint->type, 0);
	assert_int_equal(sk_GENERAL_NAME_num(dp->distpoint->name.fullname), 1);
	gen = sk_GENERAL_NAME_value(dp->distpoint->name.fullname, 0);
	assert_int_equal(gen->type, GEN_URI);
	assert_int_equal(ASN1_STRING_length(gen->d.ia5), (int)strlen(want));
	assert_memory_equal(ASN1_STRING_get0_data(gen->d.ia5), want,
	    strlen(want));
	CRL_DIST_POINTS_free(cdps);
}

/*
 * One signer builds every leaf in the same object (signer.c,
 * leaf_prepare): leaves of different key types, names and subjects one
 * after the other, with refusals between them, must each carry only what
 * is theirs, and signer_set_public must change the extensions of the
 * leaves after it.  Runs last: it leaves sig with CDP and AIA.
 */
static void
test_issue_reuse(void **state)
{
	static const int	 plain[] = { NID_subject_alt_name,
	    NID_basic_constraints, NID_key_usage, NID_ext_key_usage,
	    NID_subject_key_identifier, NID_authority_key_identifier };
	static const int	 public[] = { NID_subject_alt_name,
	    NID_basic_constraints, NID_key_usage, NID_ext_key_usage,
	    NID_subject_key_identifier, NID_authority_key_identifier,
	    NID_crl_distribution_points, NID_info_access };
	const char		*rsa_names[] = { "rsa.example",
				    "www.rsa.example" };
	const char		*ec_names[] = { "ec.example" };
	const char		*other[] = { "other.example" };
	const char		*long_names[1];
	char			 l[160];
	struct signer_public	 pp;
	struct sign_resp	 r;
	X509			*leaf;
	EVP_PKEY		*rsa, *ec, *ec384;
	uint8_t			*der = NULL;
	size_t			 len;
	int			 round;

	(void)state;
	memset(l, 'a', 63);
	l[63] = '.';
	memset(l + 64, 'b', 63);
	strcpy(l + 127, ".example");
	long_names[0] = l;
	rsa = key_new(ANVIL_KEY_RSA2048);
	ec = key_new(ANVIL_KEY_EC256);
	ec384 = key_new(ANVIL_KEY_EC384);

	issue_check(ec, ec_names, 1, ec_names, 1, 0, &r, &leaf);
	ext_order(leaf, plain, 6);
	X509_free(leaf);
	sign_resp_clear(&r);

	memset(&pp, 0, sizeof(pp));
	pp.base_url = "http://reuse.test";
	pp.crl_shards = 5;
	pp.ocsp = true;
	assert_int_equal(signer_set_public(sig, &pp), 0);
	for (round = 0; round < 2; round++) {
		issue_check(rsa, rsa_names, 2, rsa_names, 2, 1, &r, &leaf);
		ext_order(leaf, public, 8);
		cn_is(leaf, "rsa.example");
		assert_false(ext_critical(leaf, NID_subject_alt_name));
		assert_int_equal(r.shard, crl_shard_of_hex(r.serial, 5));
		cdp_is(leaf, pp.base_url, r.shard);
		X509_free(leaf);
		sign_resp_clear(&r);

		/* Refused between two leaves: the next one is whole. */
		csr_make(ec, ec_names, 1, &der, &len);
		refused(der, len, other, 1);
		free(der);

		issue_check(ec, long_names, 1, long_names, 1, 0, &r, &leaf);
		ext_order(leaf, public, 8);
		cn_is(leaf, NULL);
		assert_true(ext_critical(leaf, NID_subject_alt_name));
		cdp_is(leaf, pp.base_url, r.shard);
		X509_free(leaf);
		sign_resp_clear(&r);

		issue_check(ec384, ec_names, 1, ec_names, 1, 0, &r, &leaf);
		ext_order(leaf, public, 8);
		cn_is(leaf, "ec.example");
		assert_false(ext_critical(leaf, NID_subject_alt_name));
		cdp_is(leaf, pp.base_url, r.shard);
		X509_free(leaf);
		sign_resp_clear(&r);
	}
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ec384);
}

/* The names of a CSR as the general path reads them (anvil_csr_parse,
 * anvil_csr_verify, anvil_csr_names), or NULL when it refuses it. */
static char **
general_names(const uint8_t *der, size_t len)
{
	X509_REQ	*req = NULL;
	char		**names = NULL;

	if (anvil_csr_parse(der, len, &req) == 0 &&
	    anvil_csr_verify(req) == 0 &&
	    anvil_csr_names(req, ANVIL_MAX_IDENTIFIERS, &names) != 0)
		names = NULL;
	X509_REQ_free(req);
	return names;
}

static size_t
strv_len(char **v)
{
	size_t	 n = 0;

	while (v != NULL && v[n] != NULL)
		n++;
	return n;
}

/*
 * The EC path (signer__csr_ec) against the general one, for one CSR:
 * when it reads the CSR (want_fast), it finds the general path's names
 * and the key's point; either way signer_issue issues for the general
 * path's names, or refuses when that path refuses.
 */
static void
csr_path_check(EVP_PKEY *key, const uint8_t *der, size_t len, int want_fast)
{
	struct signer_ec	*ec = NULL;
	struct signer_csr	 c;
	struct sign_req		 req;
	struct sign_resp	 resp;
	const char		*any[] = { "a.example" };
	char			**gen;
	uint8_t			 pt[97];
	size_t			 ptlen = 0, i, n;
	time_t			 now = time(NULL);
	X509			*leaf;

	gen = general_names(der, len);
	assert_int_equal(signer__ec_new(&ec), 0);
	memset(&c, 0, sizeof(c));
	assert_int_equal(signer__csr_ec(ec, der, len, ANVIL_MAX_IDENTIFIERS,
	    &c), want_fast);
	if (want_fast) {
		assert_non_null(gen);
		n = strv_len(gen);
		assert_int_equal(strv_len(c.names), n);
		for (i = 0; i < n; i++)
			assert_string_equal(c.names[i], gen[i]);
		assert_int_equal(EVP_PKEY_get_octet_string_param(key,
		    OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &ptlen), 1);
		assert_int_equal(c.point_len, ptlen);
		assert_memory_equal(c.point, pt, ptlen);
		assert_int_equal(c.curve_nid, EVP_PKEY_get_bits(key) == 256 ?
		    NID_X9_62_prime256v1 : NID_secp384r1);
		anvil_strv_free(c.names);
	} else
		assert_null(c.names);
	signer__ec_free(ec);

	if (gen == NULL) {
		refused(der, len, any, 1);
		return;
	}
	memset(&resp, 0, sizeof(resp));
	req_fill(&req, der, len, (const char *const *)gen, strv_len(gen),
	    now, now + DAY);
	assert_int_equal(signer_issue(sig, &req, &resp), 0);
	leaf = der_cert(resp.der, resp.der_len);
	der_canonical(leaf, resp.der, resp.der_len);
	assert_int_equal(chain_verify(leaf, inter_cert, root_cert), X509_V_OK);
	assert_int_equal(EVP_PKEY_eq(X509_get0_pubkey(leaf), key), 1);
	X509_free(leaf);
	sign_resp_clear(&resp);
	anvil_strv_free(gen);
}

/*
 * Forms of CSRs and which path reads them: the EC path takes the common
 * ones and leaves the rest to the general path, which decides.
 */
static void
test_csr_paths(void **state)
{
	static const char *const two[] = { "a.example", "B.example" };
	static const char *const one[] = { "a.example" };
	enum { EC256, EC384, RSA, N_KEYS };
	/* want_fast 1: the EC path reads it, with the general path's
	 * result; 0: it goes to the general path. */
	static const struct {
		int			  key;
		const EVP_MD		*(*md)(void);
		const char		 *cn;
		const char *const	 *san;
		size_t			  n;
		enum csr_attrs		  form;
		int			  want_fast;
	} cases[] = {
		/* SAN and a CN among them (deduplicated, lowercased). */
		{ EC256, EVP_sha256, "a.example", two, 2, CSR_EXT_REQ, 1 },
		/* Another attribute besides the extension request. */
		{ EC256, EVP_sha256, NULL, two, 2, CSR_EXT_REQ_PASSWORD, 1 },
		/* A CN and no attribute at all; no SAN in the request. */
		{ EC256, EVP_sha256, "a.example", NULL, 0, CSR_NO_ATTRS, 1 },
		{ EC256, EVP_sha256, "a.example", NULL, 0, CSR_EXT_REQ, 1 },
		/* Each digest with each curve. */
		{ EC256, EVP_sha512, NULL, one, 1, CSR_EXT_REQ, 1 },
		{ EC384, EVP_sha384, NULL, one, 1, CSR_EXT_REQ, 1 },
		{ EC384, EVP_sha256, NULL, two, 2, CSR_EXT_REQ, 1 },
		/* No name at all: both refuse. */
		{ EC256, EVP_sha256, NULL, NULL, 0, CSR_NO_ATTRS, 0 },
		/* Left to the general path: the Microsoft extension request
		 * (a second extensionRequest, also left to it, is one that
		 * OpenSSL 3.0.22 no longer writes), SHA-1, RSA. */
		{ EC256, EVP_sha256, NULL, two, 2, CSR_MS_EXT_REQ, 0 },
		{ EC256, EVP_sha1, NULL, one, 1, CSR_EXT_REQ, 0 },
		{ RSA, EVP_sha256, NULL, one, 1, CSR_EXT_REQ, 0 },
	};
	EVP_PKEY	*keys[N_KEYS];
	uint8_t		*der = NULL;
	size_t		 len, i;

	(void)state;
	keys[EC256] = key_new(ANVIL_KEY_EC256);
	keys[EC384] = key_new(ANVIL_KEY_EC384);
	keys[RSA] = key_new(ANVIL_KEY_RSA2048);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		csr_build(keys[cases[i].key], cases[i].md(), cases[i].cn,
		    cases[i].san, cases[i].n, cases[i].form, &der, &len);
		csr_path_check(keys[cases[i].key], der, len,
		    cases[i].want_fast);
		free(der);
	}
	for (i = 0; i < N_KEYS; i++)
		EVP_PKEY_free(keys[i]);
}

/* anvil_csr_names_of reads no extensions and no subject as no names. */
static void
test_csr_names_of(void **state)
{
	const char			*two[] = { "a.example", "b.example" };
	STACK_OF(X509_EXTENSION)	*exts;
	X509_NAME			*subj;
	char				**v = NULL;
	uint8_t				*der = NULL;
	size_t				 len;
	X509_REQ			*req = NULL;
	EVP_PKEY			*ec;

	(void)state;
	assert_int_equal(anvil_csr_names_of(NULL, NULL, 10, &v), ANVIL_ECSR);
	subj = X509_NAME_new();
	assert_non_null(subj);
	assert_int_equal(anvil_csr_names_of(subj, NULL, 10, &v), ANVIL_ECSR);
	assert_int_equal(anvil_csr_names_of(subj, NULL, 0, &v), ANVIL_EINVAL);
	assert_int_equal(X509_NAME_add_entry_by_NID(subj, NID_commonName,
	    MBSTRING_ASC, (const unsigned char *)"A.Example", -1, -1, 0), 1);
	assert_int_equal(anvil_csr_names_of(subj, NULL, 10, &v), 0);
	assert_int_equal(strv_len(v), 1);
	assert_string_equal(v[0], "a.example");
	anvil_strv_free(v);
	v = NULL;

	/* With a SAN: its names first, then the CN when new. */
	ec = key_new(ANVIL_KEY_EC256);
	csr_make(ec, two, 2, &der, &len);
	assert_int_equal(anvil_csr_parse(der, len, &req), 0);
	exts = X509_REQ_get_extensions(req);
	assert_non_null(exts);
	assert_int_equal(anvil_csr_names_of(subj, exts, 10, &v), 0);
	assert_int_equal(strv_len(v), 2);
	assert_string_equal(v[0], "a.example");
	assert_string_equal(v[1], "b.example");
	anvil_strv_free(v);
	v = NULL;
	assert_int_equal(anvil_csr_names_of(subj, exts, 1, &v), ANVIL_ECSR);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	X509_NAME_free(subj);
	EVP_PKEY_free(ec);
	free(der);
}

/* Reads every certificate of a PEM string. */
static int
pem_certs(const char *pem, X509 **out, int max)
{
	BIO	*bio;
	int	 n = 0;

	bio = BIO_new_mem_buf(pem, -1);
	assert_non_null(bio);
	while (n < max) {
		out[n] = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (out[n] == NULL)
			break;
		n++;
	}
	BIO_free(bio);
	return n;
}

static void
test_chain(void **state)
{
	const char	*names[] = { "chain.example" };
	struct sign_resp r;
	X509		*leaf, *got[3];
	EVP_PKEY	*key;
	char		*chain = NULL;
	unsigned char	*der = NULL;
	int		 n, len;

	(void)state;
	assert_int_equal(pem_certs(signer_chain_pem(sig), got, 3), 1);
	assert_int_equal(X509_cmp(got[0], inter_cert), 0);
	X509_free(got[0]);
	assert_int_equal(pem_certs(signer_root_pem(sig), got, 3), 1);
	assert_int_equal(X509_cmp(got[0], root_cert), 0);
	X509_free(got[0]);

	assert_int_equal(signer_chain_for(sig, (const uint8_t *)"\x30\x00",
	    2, &chain), ANVIL_ECERT);
	assert_null(chain);

	key = key_new(ANVIL_KEY_EC256);
	issue_check(key, names, 1, names, 1, 0, &r, &leaf);
	assert_int_equal(signer_chain_for(sig, r.der, 0, &chain), ANVIL_ECERT);
	assert_int_equal(signer_chain_for(sig, r.der, r.der_len - 1, &chain),
	    ANVIL_ECERT);
	assert_null(chain);
	assert_int_equal(signer_chain_for(sig, r.der, r.der_len, &chain), 0);
	assert_non_null(chain);
	assert_int_equal(strncmp(chain, "-----BEGIN CERTIFICATE-----\n", 28),
	    0);
	n = pem_certs(chain, got, 3);
	assert_int_equal(n, 2);
	len = i2d_X509(got[0], &der);
	assert_int_equal(len, r.der_len);
	assert_memory_equal(der, r.der, r.der_len);
	assert_int_equal(X509_cmp(got[1], inter_cert), 0);
	OPENSSL_free(der);
	X509_free(got[0]);
	X509_free(got[1]);
	free(chain);
	X509_free(leaf);
	sign_resp_clear(&r);
	EVP_PKEY_free(key);
}

/* openssl(1) is what users check with. */
static void
test_openssl_verify(void **state)
{
	const char	*names[] = { "cli.example", "www.cli.example" };
	struct sign_resp r;
	X509		*leaf;
	EVP_PKEY	*key;
	char		*chain = NULL, path[256], cmd[1024], out[1024];
	FILE		*fp;
	size_t		 n;

	(void)state;
	key = key_new(ANVIL_KEY_EC256);
	issue_check(key, names, 2, names, 2, 0, &r, &leaf);
	assert_int_equal(signer_chain_for(sig, r.der, r.der_len, &chain), 0);
	path_of(path, sizeof(path), base, "leaf.pem");
	assert_int_equal(anvil_file_write_atomic(path, chain, strlen(chain),
	    0644), 0);
	snprintf(cmd, sizeof(cmd), "openssl verify -x509_strict "
	    "-purpose sslserver -verify_hostname www.cli.example "
	    "-CAfile %s/%s -untrusted %s/%s %s 2>&1", ca_dir, STATE_ROOT_CERT,
	    ca_dir, STATE_INTER_CERT, path);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	n = fread(out, 1, sizeof(out) - 1, fp);
	out[n] = '\0';
	assert_int_equal(pclose(fp), 0);
	assert_non_null(strstr(out, ": OK"));
	assert_int_equal(unlink(path), 0);
	free(chain);
	X509_free(leaf);
	sign_resp_clear(&r);
	EVP_PKEY_free(key);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_invalid),
		cmocka_unit_test(test_init_files),
		cmocka_unit_test(test_init_certs),
		cmocka_unit_test(test_init_refuses),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_issue_invalid_request),
		cmocka_unit_test(test_issue_refusals),
		cmocka_unit_test(test_issue_ec256),
		cmocka_unit_test(test_issue_other_keys),
		cmocka_unit_test(test_issue_long_names),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_openssl_verify),
		cmocka_unit_test(test_init_key_types),
		cmocka_unit_test(test_issue_reuse),
		cmocka_unit_test(test_csr_paths),
		cmocka_unit_test(test_csr_names_of),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
