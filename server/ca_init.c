/*
 * ca_init.c - `anvil-ca init`: creates a new CA in the state directory.
 *
 * Three certificates are made: a self-signed root, an intermediate signed
 * by the root (the only key the running server signs with), and the
 * server's own HTTPS certificate, issued by the root directly so that a
 * client trusting root.pem reaches the ACME directory without being given
 * a chain.  Then a commented configuration file listing every key.
 *
 * Nothing is written until everything is built in memory, and nothing is
 * written at all when any state file exists already: a refused run leaves
 * the directory as it was.  A failure while writing removes the files this
 * run created.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/error.h"
#include "anvil/limits.h"
#include "anvil/x509.h"

#include "crl.h"
#include "ocsp.h"
#include "signer.h"
#include "signer_int.h"

#define DAY		(24 * 60 * 60)
#define ROOT_DAYS	3652		/* 10 years */
#define INTER_DAYS	1826		/* 5 years */
#define TLS_DAYS	730		/* 2 years: under Apple's 825 days */
#define BACKDATE	(60 * 60)	/* notBefore early, for clock skew */
#define CA_NAME_MAX	40		/* "<name> Intermediate CA xxxx" fits */
#define HOST_MAX	256

/* Every file init writes or refuses to overwrite, in writing order. */
enum state_file {
	F_ROOT_KEY, F_ROOT_CERT, F_INTER_KEY, F_INTER_CERT, F_TLS_KEY,
	F_TLS_CERT, F_OCSP_KEY, F_OCSP_CERT, F_ROOT_CRL, F_CONFIG, F_DB,
	F__MAX
};

static const char *const state_files[F__MAX] = {
	STATE_ROOT_KEY, STATE_ROOT_CERT, STATE_INTER_KEY, STATE_INTER_CERT,
	STATE_TLS_KEY, STATE_TLS_CERT, STATE_OCSP_KEY, STATE_OCSP_CERT,
	STATE_ROOT_CRL, STATE_CONFIG, STATE_DB
};

/* An extension in OpenSSL's configuration syntax (x509v3_config(5)). */
struct ext_spec {
	int		 nid;
	const char	*value;
};

static const struct ext_spec root_exts[] = {
	{ NID_basic_constraints, "critical,CA:TRUE,pathlen:1" },
	{ NID_key_usage, "critical,keyCertSign,cRLSign" },
	{ NID_subject_key_identifier, "hash" },
	{ NID_undef, NULL }
};

/* The last entry, the CDP naming the root's CRL, is filled in by
 * ca_build from the public base URL. */
#define INTER_EXT_CDP	4
static const struct ext_spec inter_exts[] = {
	{ NID_basic_constraints, "critical,CA:TRUE,pathlen:0" },
	{ NID_key_usage, "critical,keyCertSign,cRLSign" },
	{ NID_subject_key_identifier, "hash" },
	{ NID_authority_key_identifier, "keyid:always" },
	{ NID_crl_distribution_points, NULL },
	{ NID_undef, NULL }
};

static const struct ext_spec tls_exts[] = {
	{ NID_basic_constraints, "critical,CA:FALSE" },
	{ NID_key_usage, "critical,digitalSignature" },
	{ NID_ext_key_usage, "serverAuth" },
	{ NID_subject_key_identifier, "hash" },
	{ NID_authority_key_identifier, "keyid:always" },
	{ NID_undef, NULL }
};

/*
 * The configuration file: every key of server/config.h with its default,
 * commented out.  config.c is the authority on the defaults; keep the two
 * in step.
 */
static const char config_text[] =
"# anvil-ca.conf - configuration of anvil-ca, written by `anvil-ca init`.\n"
"#\n"
"# One \"key = value\" per line; lines starting with '#' are comments.\n"
"# Every key is optional: the values shown commented out are the defaults.\n"
"# Options given on the command line override this file.\n"
"\n"
"# HTTPS listener of the ACME server: ADDR:PORT or [V6]:PORT.\n"
"# listen = 127.0.0.1:14000\n"
"\n"
"# Public URL prefix of the directory and every object URL.  By default it\n"
"# is derived from listen (\"localhost\" for a loopback address).\n"
"# base_url = https://localhost:14000\n"
"\n"
"# Port the http-01 validator connects to on the name being validated.\n"
"# http01_port = 80\n"
"\n"
"# Port the tls-alpn-01 validator connects to.\n"
"# tlsalpn01_port = 443\n"
"\n"
"# DNS server used for every validation lookup (A/AAAA, TXT, CAA),\n"
"# ADDR:PORT.  By default the system's (/etc/resolv.conf, /etc/hosts).\n"
"# resolver = 127.0.0.1:53\n"
"\n"
"# Lifetime of issued certificates, in days.\n"
"# validity_days = 90\n"
"\n"
"# Seconds a new order stays usable (7 days).\n"
"# order_lifetime = 604800\n"
"\n"
"# Seconds a valid authorization may be reused (30 days).\n"
"# authz_lifetime = 2592000\n"
"\n"
"# URL of the terms of service, shown as meta.termsOfService (none by\n"
"# default; when set, new accounts must agree to them).\n"
"# terms_of_service = https://example.com/acme/terms\n"
"\n"
"# URL shown as meta.website (none by default).\n"
"# website = https://example.com/\n"
"\n"
"# Domain this CA recognises in CAA records, shown in\n"
"# meta.caaIdentities; repeat the line for several (none by default).\n"
"# caa_identity = anvil.invalid\n"
"\n"
"# Number of validation threads (1-64).  Each runs an event loop with up\n"
"# to 256 validations in flight, however long each waits for its peer,\n"
"# so one per core is plenty.\n"
"# va_threads = 2\n"
"\n"
"# Milliseconds the answer to a challenge POST may wait for the result\n"
"# of the validation it starts, when it is the last challenge of its\n"
"# order the client had to answer (0-10000; 0: answer at once, with\n"
"# status processing).  A client then sees valid or invalid without\n"
"# polling first.\n"
"# challenge_wait_ms = 1000\n"
"\n"
"# Plain HTTP listener serving CRLs, OCSP and the intermediate\n"
"# certificate, ADDR:PORT.  By default listen's address, port + 1.\n"
"# public_listen = 127.0.0.1:14001\n"
"\n"
"# URL prefix of those, written into every certificate's CRL\n"
"# distribution point and authority information access.  By default\n"
"# derived from public_listen (\"localhost\" for a loopback address).\n"
"# The intermediate's own CRL distribution point was fixed at init.\n"
"# public_base_url = http://localhost:14001\n"
"\n"
"# OCSP responder, and the OCSP URL in certificates: on or off.\n"
"# ocsp = on\n"
"\n"
"# Number of CRL shards (1-1024): a certificate is listed in shard\n"
"# serial mod crl_shards.  Fixed once certificates exist.\n"
"# crl_shards = 16\n"
"\n"
"# Seconds from a CRL's thisUpdate to its nextUpdate (24 hours); it is\n"
"# signed again at half that, and within seconds of a revocation.\n"
"# crl_lifetime = 86400\n"
"\n"
"# Same for OCSP responses (3 days).\n"
"# ocsp_lifetime = 259200\n";

/* What init builds before writing anything. */
struct ca_files {
	EVP_PKEY	*root_key;	/* owned */
	X509		*root;		/* owned */
	EVP_PKEY	*inter_key;	/* owned */
	X509		*inter;		/* owned */
	EVP_PKEY	*tls_key;	/* owned */
	X509		*tls;		/* owned */
	EVP_PKEY	*ocsp_key;	/* owned */
	X509		*ocsp;		/* owned */
	char		*root_pem;	/* owned */
	char		*inter_pem;	/* owned */
	char		*tls_pem;	/* owned */
	char		*ocsp_pem;	/* owned */
	uint8_t		*root_crl;	/* DER; owned */
	size_t		 root_crl_len;
};

static void
ca_files_clear(struct ca_files *f)
{
	EVP_PKEY_free(f->root_key);
	X509_free(f->root);
	EVP_PKEY_free(f->inter_key);
	X509_free(f->inter);
	EVP_PKEY_free(f->tls_key);
	X509_free(f->tls);
	free(f->root_pem);
	free(f->inter_pem);
	free(f->tls_pem);
	EVP_PKEY_free(f->ocsp_key);
	X509_free(f->ocsp);
	free(f->ocsp_pem);
	free(f->root_crl);
	memset(f, 0, sizeof(*f));
}

/*
 * Returns 0 when s is a host name we put in a dNSName: 1..253 characters,
 * labels of 1..63 lowercase letters, digits and inner hyphens, an optional
 * leading "*." label.  Unlike anvil_dns_name_check a single label ("box")
 * is fine: this certificate is for a test or private network.
 */
static int
host_name_check(const char *s)
{
	size_t	 len, i, label = 0;

	len = strnlen(s, ANVIL_MAX_NAME_LEN + 1);
	if (len == 0 || len > ANVIL_MAX_NAME_LEN)
		return ANVIL_EINVAL;
	if (s[0] == '*' && s[1] == '.')
		s += 2, len -= 2;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!((s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
				return ANVIL_EINVAL;
			if (s[i] == '-' && (label == 0 || i + 1 == len ||
			    s[i + 1] == '.'))
				return ANVIL_EINVAL;
			if (++label > 63)
				return ANVIL_EINVAL;
			continue;
		}
		if (label == 0)		/* empty label */
			return ANVIL_EINVAL;
		label = 0;
	}
	return 0;
}

/* Returns 1 when s is an IPv4 or IPv6 address literal, else 0. */
static int
is_ip(const char *s)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;

	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

/* Checks the options before anything touches the disk; sets *ret_type. */
static int
opts_check(const struct ca_init_opts *o, enum anvil_key_type *ret_type)
{
	const char		*name;
	enum anvil_key_type	 t;
	size_t			 i, len;

	if (o == NULL || o->state_dir == NULL || o->state_dir[0] == '\0')
		return ANVIL_EINVAL;
	if (o->n_tls_names > ANVIL_MAX_IDENTIFIERS ||
	    (o->n_tls_names > 0 && o->tls_names == NULL))
		return ANVIL_EINVAL;
	for (i = 0; i < o->n_tls_names; i++) {
		if (o->tls_names[i] == NULL)
			return ANVIL_EINVAL;
		if (!is_ip(o->tls_names[i]) &&
		    host_name_check(o->tls_names[i]) != 0)
			return ANVIL_EINVAL;
	}
	name = o->ca_name != NULL ? o->ca_name : "Anvil";
	len = strnlen(name, CA_NAME_MAX + 1);
	if (len == 0 || len > CA_NAME_MAX)
		return ANVIL_EINVAL;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return ANVIL_EINVAL;

	t = anvil_key_type_parse(o->key_type != NULL ? o->key_type : "ec256");
	switch (t) {
	case ANVIL_KEY_EC256:
	case ANVIL_KEY_EC384:
	case ANVIL_KEY_RSA2048:
	case ANVIL_KEY_RSA3072:
	case ANVIL_KEY_RSA4096:
		*ret_type = t;
		return 0;
	default:
		return ANVIL_EINVAL;
	}
}

/* Creates dir 0700 unless it is a directory already. */
static int
dir_make(const char *dir)
{
	struct stat	 st;

	if (mkdir(dir, 0700) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	if (stat(dir, &st) == -1)
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return ANVIL_EEXIST;
	return 0;
}

/* Returns 0 when none of the state files exists, ANVIL_EEXIST when one
 * does, or a negative errno when one cannot be looked at. */
static int
files_absent(const char *dir)
{
	struct stat	 st;
	char		 path[4096];
	int		 i, rc;

	for (i = 0; i < F__MAX; i++) {
		rc = signer__path(path, sizeof(path), dir, state_files[i]);
		if (rc != 0)
			return rc;
		if (lstat(path, &st) == 0)
			return ANVIL_EEXIST;
		if (errno != ENOENT)
			return -errno;
	}
	return 0;
}

/* Builds "O=<ca>, CN=<ca> <what> <4 random hex digits>" into *ret. */
static int
ca_subject(const char *ca, const char *what, X509_NAME **ret)
{
	uint8_t		 rnd[2];
	char		 cn[128];
	int		 len;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return ANVIL_ECRYPTO;
	len = snprintf(cn, sizeof(cn), "%s %s %02x%02x", ca, what, rnd[0],
	    rnd[1]);
	if (len < 0 || (size_t)len >= sizeof(cn))
		return ANVIL_EINVAL;
	return signer__name_o_cn(ca, cn, ret);
}

/*
 * Builds a certificate for key named subject, valid for days from an hour
 * ago, with the extensions exts (and san when not NULL), signed by
 * issuer_key as issuer (NULL issuer: self-signed).  Returns 0 and *ret.
 */
static int
cert_make(EVP_PKEY *key, const X509_NAME *subject, X509 *issuer,
    EVP_PKEY *issuer_key, int days, const struct ext_spec *exts,
    GENERAL_NAMES *san, X509 **ret)
{
	X509		*x = NULL;
	X509_EXTENSION	*ext = NULL;
	X509V3_CTX	 ctx;
	const EVP_MD	*md;
	time_t		 now;
	size_t		 i;
	int		 rc = ANVIL_ENOMEM;

	md = signer__md(issuer_key);
	if (md == NULL)
		return ANVIL_EKEY;
	x = X509_new();
	if (x == NULL)
		goto out;
	rc = signer__serial_set(x);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	now = time(NULL);
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, subject) ||
	    !X509_set_issuer_name(x, issuer != NULL ?
	    X509_get_subject_name(issuer) : subject) ||
	    ASN1_TIME_set(X509_getm_notBefore(x), now - BACKDATE) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x),
	    now + (time_t)days * DAY) == NULL ||
	    !X509_set_pubkey(x, key))
		goto out;

	/* The subject must have its key before "hash" (SKI) is computed,
	 * and the issuer its SKI before "keyid" (AKI) is. */
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (i = 0; exts[i].nid != NID_undef; i++) {
		ext = X509V3_EXT_nconf_nid(NULL, &ctx, exts[i].nid,
		    exts[i].value);
		if (ext == NULL || !X509_add_ext(x, ext, -1))
			goto out;
		X509_EXTENSION_free(ext);
		ext = NULL;
	}
	if (san != NULL && X509_add1_ext_i2d(x, NID_subject_alt_name, san, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	if (X509_sign(x, issuer_key, md) <= 0)
		goto out;
	*ret = x;
	x = NULL;
	rc = 0;
out:
	X509_EXTENSION_free(ext);
	X509_free(x);
	return rc;
}

/* Appends one dNSName or iPAddress to gens unless an equal entry is there. */
static int
san_push(GENERAL_NAMES *gens, int type, const char *value)
{
	GENERAL_NAME	*gen;
	int		 i;

	gen = a2i_GENERAL_NAME(NULL, NULL, NULL, type, value, 0);
	if (gen == NULL)
		return ANVIL_ECRYPTO;
	for (i = 0; i < sk_GENERAL_NAME_num(gens); i++) {
		if (GENERAL_NAME_cmp(gen,
		    sk_GENERAL_NAME_value(gens, i)) == 0) {
			GENERAL_NAME_free(gen);
			return 0;
		}
	}
	if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
		GENERAL_NAME_free(gen);
		return ANVIL_ENOMEM;
	}
	return 0;
}

/*
 * The HTTPS certificate's names: localhost, 127.0.0.1, ::1, this host's
 * name (skipped when it is not a usable DNS name) and the operator's.
 */
static int
tls_san(const struct ca_init_opts *o, GENERAL_NAMES **ret)
{
	GENERAL_NAMES	*gens = NULL;
	char		 host[HOST_MAX];
	const char	*n;
	size_t		 i;
	int		 rc = ANVIL_ENOMEM;

	gens = sk_GENERAL_NAME_new_null();
	if (gens == NULL)
		goto out;
	rc = san_push(gens, GEN_DNS, "localhost");
	if (rc == 0)
		rc = san_push(gens, GEN_IPADD, "127.0.0.1");
	if (rc == 0)
		rc = san_push(gens, GEN_IPADD, "::1");
	if (rc != 0)
		goto out;
	if (gethostname(host, sizeof(host)) == 0) {
		host[sizeof(host) - 1] = '\0';
		for (i = 0; host[i] != '\0'; i++)
			if (host[i] >= 'A' && host[i] <= 'Z')
				host[i] = (char)(host[i] - 'A' + 'a');
		if (host_name_check(host) == 0) {
			rc = san_push(gens, GEN_DNS, host);
			if (rc != 0)
				goto out;
		}
	}
	for (i = 0; i < o->n_tls_names; i++) {
		n = o->tls_names[i];
		rc = san_push(gens, is_ip(n) ? GEN_IPADD : GEN_DNS, n);
		if (rc != 0)
			goto out;
	}
	*ret = gens;
	gens = NULL;
	rc = 0;
out:
	GENERAL_NAMES_free(gens);
	return rc;
}

/* Builds the three keys and certificates in memory. */
static int
ca_build(const struct ca_init_opts *o, enum anvil_key_type t,
    struct ca_files *f)
{
	const char	*ca = o->ca_name != NULL ? o->ca_name : "Anvil";
	struct ext_spec	 iexts[sizeof(inter_exts) / sizeof(inter_exts[0])];
	struct crl_req	 crl;
	X509_NAME	*name = NULL;
	GENERAL_NAMES	*san = NULL;
	char		 cdp[1100];
	int		 n, rc;

	rc = anvil_key_generate(t, &f->root_key);
	if (rc == 0)
		rc = anvil_key_generate(t, &f->inter_key);
	if (rc == 0)
		rc = anvil_key_generate(ANVIL_KEY_EC256, &f->tls_key);
	if (rc != 0)
		goto out;

	rc = ca_subject(ca, "Root CA", &name);
	if (rc == 0)
		rc = cert_make(f->root_key, name, NULL, f->root_key,
		    ROOT_DAYS, root_exts, NULL, &f->root);
	X509_NAME_free(name);
	name = NULL;
	if (rc != 0)
		goto out;

	/* The intermediate names the root's CRL (RFC 5280 §4.2.1.13), so
	 * that relying parties checking the whole chain find it. */
	n = snprintf(cdp, sizeof(cdp), "URI:%s/crl/%s",
	    o->public_base_url != NULL ? o->public_base_url :
	    DEFAULT_PUBLIC_BASE, STATE_ROOT_CRL);
	if (n < 0 || (size_t)n >= sizeof(cdp)) {
		rc = ANVIL_EINVAL;
		goto out;
	}
	memcpy(iexts, inter_exts, sizeof(iexts));
	iexts[INTER_EXT_CDP].value = cdp;
	rc = ca_subject(ca, "Intermediate CA", &name);
	if (rc == 0)
		rc = cert_make(f->inter_key, name, f->root, f->root_key,
		    INTER_DAYS, iexts, NULL, &f->inter);
	X509_NAME_free(name);
	name = NULL;
	if (rc != 0)
		goto out;

	rc = ANVIL_ENOMEM;
	name = X509_NAME_new();
	if (name == NULL ||
	    !X509_NAME_add_entry_by_NID(name, NID_organizationName,
	    MBSTRING_UTF8, (const unsigned char *)ca, -1, -1, 0) ||
	    !X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
	    (const unsigned char *)"localhost", -1, -1, 0))
		goto out;
	rc = tls_san(o, &san);
	if (rc == 0)
		rc = cert_make(f->tls_key, name, f->root, f->root_key,
		    TLS_DAYS, tls_exts, san, &f->tls);
	if (rc != 0)
		goto out;

	/* The delegated OCSP responder, and the root's first CRL. */
	rc = anvil_key_generate(ANVIL_KEY_EC256, &f->ocsp_key);
	if (rc == 0)
		rc = ocsp_responder_issue(f->inter, f->inter_key, f->ocsp_key,
		    (int64_t)time(NULL), &f->ocsp);
	if (rc != 0)
		goto out;
	memset(&crl, 0, sizeof(crl));
	crl.this_update = (int64_t)time(NULL);
	crl.next_update = crl.this_update + CRL_ROOT_LIFETIME;
	crl.number = 1;
	rc = crl_build(f->root, f->root_key, &crl, &f->root_crl,
	    &f->root_crl_len);
	if (rc != 0)
		goto out;

	rc = signer__cert_pem(f->root, &f->root_pem);
	if (rc == 0)
		rc = signer__cert_pem(f->inter, &f->inter_pem);
	if (rc == 0)
		rc = signer__cert_pem(f->tls, &f->tls_pem);
	if (rc == 0)
		rc = signer__cert_pem(f->ocsp, &f->ocsp_pem);
out:
	X509_NAME_free(name);
	GENERAL_NAMES_free(san);
	return rc;
}

/* Writes one state file: keys 0600 through anvil_key_save, the rest 0644. */
static int
file_write(const char *dir, enum state_file which, const struct ca_files *f)
{
	char		 path[4096];
	const char	*text = NULL;
	EVP_PKEY	*key = NULL;
	int		 rc;

	rc = signer__path(path, sizeof(path), dir, state_files[which]);
	if (rc != 0)
		return rc;
	switch (which) {
	case F_ROOT_KEY:
		key = f->root_key;
		break;
	case F_INTER_KEY:
		key = f->inter_key;
		break;
	case F_TLS_KEY:
		key = f->tls_key;
		break;
	case F_OCSP_KEY:
		key = f->ocsp_key;
		break;
	case F_OCSP_CERT:
		text = f->ocsp_pem;
		break;
	case F_ROOT_CRL:
		return anvil_file_write_atomic(path, f->root_crl,
		    f->root_crl_len, 0644);
	case F_ROOT_CERT:
		text = f->root_pem;
		break;
	case F_INTER_CERT:
		text = f->inter_pem;
		break;
	case F_TLS_CERT:
		/* The root issues it: the chain is the leaf alone. */
		text = f->tls_pem;
		break;
	case F_CONFIG:
		text = config_text;
		break;
	default:
		return ANVIL_EINVAL;
	}
	if (key != NULL)
		return anvil_key_save(path, key, 0);
	return anvil_file_write_atomic(path, text, strlen(text), 0644);
}

int
ca_init(const struct ca_init_opts *o)
{
	struct ca_files		 f;
	enum anvil_key_type	 t = ANVIL_KEY__MAX;
	char			 path[4096];
	int			 i, written = 0, rc;

	memset(&f, 0, sizeof(f));
	rc = opts_check(o, &t);
	if (rc != 0)
		return rc;
	rc = dir_make(o->state_dir);
	if (rc == 0)
		rc = files_absent(o->state_dir);
	if (rc == 0)
		rc = ca_build(o, t, &f);
	if (rc != 0)
		goto out;
	/* The database is left to the store, which makes it on first start. */
	for (i = 0; i < F_DB; i++) {
		rc = file_write(o->state_dir, i, &f);
		if (rc != 0)
			goto out;
		written = i + 1;
	}
out:
	/* Undo a partial write; files_absent proved none of these existed. */
	if (rc != 0) {
		for (i = written - 1; i >= 0; i--)
			if (signer__path(path, sizeof(path), o->state_dir,
			    state_files[i]) == 0)
				(void)unlink(path);
		ERR_clear_error();
	}
	ca_files_clear(&f);
	return rc;
}
