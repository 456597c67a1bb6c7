/*
 * certstore.c - the certificate store, laid out as certbot users expect:
 *
 *   STATE/archive/NAME/N/{cert,chain,fullchain,privkey}.pem   version N
 *   STATE/live/NAME -> ../archive/NAME/N                       in service
 *
 * A new version is written whole into archive/NAME/.new-N (every file
 * through a temporary file, fsync, rename; privkey.pem 0600 from its
 * creation), that directory is renamed to N, and only then the symbolic
 * link live/NAME is replaced by rename(2): one atomic step.  A crash at
 * any moment leaves live/NAME on a complete version, old or new; older
 * versions stay in the archive.  Nothing is stored before the checks of
 * ag_store_check() pass.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sys/stat.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "agent.h"

#define MAX_VERSION	1000000	/* archive versions of one name */
#define CLOCK_SKEW	300	/* seconds a notBefore may be ahead */

void
ag_certinfo_done(struct ag_certinfo *ci)
{
	anvil_strv_free(ci->names);
	memset(ci, 0, sizeof(*ci));
}

int
ag_store_parse_chain(const char *pem, size_t len, STACK_OF(X509) **ret)
{
	STACK_OF(X509)	*sk = NULL;
	BIO		*bio = NULL;
	X509		*x;
	int		 rc = ANVIL_ECERT;

	if (len > ANVIL_MAX_RESPONSE_BODY || len > INT32_MAX)
		return ANVIL_E2BIG;
	bio = BIO_new_mem_buf(pem, (int)len);
	sk = sk_X509_new_null();
	if (bio == NULL || sk == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	/* Each read consumes one PEM block; the count is capped. */
	for (;;) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		if (x == NULL)
			break;
		if (sk_X509_num(sk) == AG_MAX_CHAIN ||
		    sk_X509_push(sk, x) <= 0) {
			X509_free(x);
			goto out;
		}
	}
	ERR_clear_error();
	if (sk_X509_num(sk) == 0)
		goto out;
	*ret = sk;
	sk = NULL;
	rc = 0;
out:
	BIO_free(bio);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

/* The certificate's dNSName SANs, lowercase (anvil_strv_free). */
static int
cert_names(X509 *x, char ***ret)
{
	GENERAL_NAMES		*gens;
	const GENERAL_NAME	*g;
	char			**v = NULL;
	int			 i, n, k = 0, len;

	gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	n = gens == NULL ? 0 : sk_GENERAL_NAME_num(gens);
	v = calloc((size_t)n + 1, sizeof(*v));
	if (v == NULL) {
		GENERAL_NAMES_free(gens);
		return ANVIL_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		g = sk_GENERAL_NAME_value(gens, i);
		if (g->type != GEN_DNS)
			continue;
		len = ASN1_STRING_length(g->d.dNSName);
		if (len <= 0 || len > ANVIL_MAX_NAME_LEN)
			continue;
		v[k] = strndup((const char *)ASN1_STRING_get0_data(
		    g->d.dNSName), (size_t)len);
		if (v[k] == NULL) {
			anvil_strv_free(v);
			GENERAL_NAMES_free(gens);
			return ANVIL_ENOMEM;
		}
		k++;
	}
	GENERAL_NAMES_free(gens);
	*ret = v;
	return 0;
}

/* ASN1_TIME to seconds since the epoch. */
static int
asn1_epoch(const ASN1_TIME *t, int64_t *ret)
{
	struct tm	 tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return ANVIL_ECERT;
	*ret = (int64_t)timegm(&tm);
	return 0;
}

static int
cert_info(X509 *x, struct ag_certinfo *ret)
{
	struct ag_certinfo	 ci;
	int			 rc;

	memset(&ci, 0, sizeof(ci));
	rc = anvil_cert_serial_hex(x, ci.serial);
	if (rc == 0)
		rc = asn1_epoch(X509_get0_notBefore(x), &ci.not_before);
	if (rc == 0)
		rc = asn1_epoch(X509_get0_notAfter(x), &ci.not_after);
	if (rc == 0)
		rc = cert_names(x, &ci.names);
	if (rc != 0)
		return rc;
	*ret = ci;
	return 0;
}

int
ag_store_check(STACK_OF(X509) *chain, EVP_PKEY *key,
    const char *const *names, size_t n)
{
	X509		*leaf, *x, *up;
	char		**have = NULL;
	size_t		 i, j;
	int64_t		 nb, na, now = ag_now();
	int		 k, rc = ANVIL_ECERT;

	leaf = sk_X509_value(chain, 0);
	if (X509_check_private_key(leaf, key) != 1) {
		ag_err("the certificate does not match its key");
		goto out;
	}
	rc = cert_names(leaf, &have);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECERT;
	for (i = 0; i < n; i++) {
		for (j = 0; have[j] != NULL; j++)
			if (strcasecmp(have[j], names[i]) == 0)
				break;
		if (have[j] == NULL) {
			ag_err("the certificate does not name %s", names[i]);
			goto out;
		}
	}
	if (asn1_epoch(X509_get0_notBefore(leaf), &nb) != 0 ||
	    asn1_epoch(X509_get0_notAfter(leaf), &na) != 0 ||
	    nb > now + CLOCK_SKEW || na <= now || na <= nb) {
		ag_err("the certificate is not valid now");
		goto out;
	}
	if (sk_X509_num(chain) < 2) {
		ag_err("the server sent no issuer certificate with the "
		    "certificate");
		goto out;
	}
	/* Each certificate must be signed by the next one. */
	for (k = 0; k + 1 < sk_X509_num(chain); k++) {
		x = sk_X509_value(chain, k);
		up = sk_X509_value(chain, k + 1);
		if (X509_verify(x, X509_get0_pubkey(up)) != 1) {
			ag_err("the chain does not verify: certificate %d is "
			    "not signed by certificate %d", k, k + 1);
			goto out;
		}
	}
	rc = 0;
out:
	ERR_clear_error();
	anvil_strv_free(have);
	return rc;
}

/* PEM of certificates [from, to) into a new string (free()). */
static int
chain_pem(STACK_OF(X509) *sk, int from, int to, char **ret, size_t *ret_len)
{
	BIO	*bio;
	BUF_MEM	*mem;
	int	 i, rc = ANVIL_ECRYPTO;

	bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		return ANVIL_ENOMEM;
	for (i = from; i < to; i++)
		if (PEM_write_bio_X509(bio, sk_X509_value(sk, i)) != 1)
			goto out;
	BIO_get_mem_ptr(bio, &mem);
	*ret = malloc(mem->length + 1);
	if (*ret == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	memcpy(*ret, mem->data, mem->length);
	(*ret)[mem->length] = '\0';
	*ret_len = mem->length;
	rc = 0;
out:
	BIO_free(bio);
	return rc;
}

/* The highest numbered version under dir, 0 when none. */
static int
last_version(const char *dir, long *ret)
{
	DIR		*d;
	struct dirent	*e;
	char		*end;
	long		 v, max = 0;

	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT) {
			*ret = 0;
			return 0;
		}
		return -errno;
	}
	while ((e = readdir(d)) != NULL) {
		errno = 0;
		v = strtol(e->d_name, &end, 10);
		if (errno == 0 && end != e->d_name && *end == '\0' && v > max &&
		    v < MAX_VERSION)
			max = v;
	}
	(void)closedir(d);
	*ret = max;
	return 0;
}

/* fsync of a directory, so that renames in it are durable. */
static int
sync_dir(const char *dir)
{
	int	 fd, rc = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd) != 0)
		rc = -errno;
	(void)close(fd);
	return rc;
}

/* Removes a half-written version directory. */
static void
remove_partial(const char *dir)
{
	static const char *const f[] = { "cert.pem", "chain.pem",
	    "fullchain.pem", "privkey.pem" };
	char	 p[4300];
	size_t	 i;

	for (i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		(void)snprintf(p, sizeof(p), "%s/%s", dir, f[i]);
		(void)unlink(p);
	}
	(void)rmdir(dir);
}

int
ag_store_live(const char *state, const char *name, char *out, size_t outlen)
{
	int	 n;

	n = snprintf(out, outlen, "%s/live/%s", state, name);
	if (n < 0 || (size_t)n >= outlen)
		return ANVIL_EINVAL;
	return 0;
}

int
ag_store_save(const char *state, const char *name, const char *pem,
    size_t pem_len, EVP_PKEY *key, const char *const *names, size_t n,
    struct ag_certinfo *ret)
{
	STACK_OF(X509)	*chain = NULL;
	char		 arch[4096], tmpd[4200], vdir[4200], p[4300];
	char		 live[4096], ltmp[4200], target[4200];
	char		*cert = NULL, *rest = NULL, *full = NULL;
	size_t		 cert_len, rest_len, full_len;
	long		 v = 0;
	int		 rc, nc, made = 0;

	rc = ag_store_parse_chain(pem, pem_len, &chain);
	if (rc != 0) {
		ag_err("the server sent no PEM certificate chain");
		goto out;
	}
	rc = ag_store_check(chain, key, names, n);
	if (rc != 0)
		goto out;
	nc = sk_X509_num(chain);
	rc = chain_pem(chain, 0, 1, &cert, &cert_len);
	if (rc == 0)
		rc = chain_pem(chain, 1, nc, &rest, &rest_len);
	if (rc == 0)
		rc = chain_pem(chain, 0, nc, &full, &full_len);
	if (rc != 0) {
		ag_err("cannot encode the certificates");
		goto out;
	}
	(void)snprintf(arch, sizeof(arch), "%s/archive/%s", state, name);
	(void)snprintf(live, sizeof(live), "%s/live", state);
	rc = ag_mkdirs(arch, 0755);
	if (rc == 0)
		rc = ag_mkdirs(live, 0755);
	if (rc == 0)
		rc = last_version(arch, &v);
	if (rc != 0) {
		ag_err("cannot prepare %s: %s", arch, strerror(-rc));
		goto out;
	}
	if (v + 1 >= MAX_VERSION) {
		ag_err("%s: too many versions", arch);
		rc = ANVIL_E2BIG;
		goto out;
	}
	(void)snprintf(tmpd, sizeof(tmpd), "%s/.new-%ld", arch, v + 1);
	(void)snprintf(vdir, sizeof(vdir), "%s/%ld", arch, v + 1);
	remove_partial(tmpd);	/* left by a crash, if any */
	if (mkdir(tmpd, 0755) != 0) {
		rc = -errno;
		ag_err("cannot create %s: %s", tmpd, strerror(errno));
		goto out;
	}
	made = 1;
	(void)snprintf(p, sizeof(p), "%s/privkey.pem", tmpd);
	rc = anvil_key_save(p, key, 0);
	if (rc != 0)
		goto werr;
	(void)snprintf(p, sizeof(p), "%s/cert.pem", tmpd);
	rc = anvil_file_write_atomic(p, cert, cert_len, 0644);
	if (rc != 0)
		goto werr;
	(void)snprintf(p, sizeof(p), "%s/chain.pem", tmpd);
	rc = anvil_file_write_atomic(p, rest, rest_len, 0644);
	if (rc != 0)
		goto werr;
	(void)snprintf(p, sizeof(p), "%s/fullchain.pem", tmpd);
	rc = anvil_file_write_atomic(p, full, full_len, 0644);
	if (rc != 0)
		goto werr;
	if (rename(tmpd, vdir) != 0) {
		rc = -errno;
		(void)snprintf(p, sizeof(p), "%s", vdir);
		goto werr;
	}
	made = 0;
	rc = sync_dir(arch);
	if (rc != 0) {
		(void)snprintf(p, sizeof(p), "%s", arch);
		goto werr;
	}
	/* The switch: a new link, renamed over live/NAME. */
	(void)snprintf(target, sizeof(target), "../archive/%s/%ld", name,
	    v + 1);
	(void)snprintf(ltmp, sizeof(ltmp), "%s/.%s.new", live, name);
	(void)unlink(ltmp);
	(void)snprintf(p, sizeof(p), "%s/%s", live, name);
	if (symlink(target, ltmp) != 0) {
		rc = -errno;
		(void)snprintf(p, sizeof(p), "%s", ltmp);
		goto werr;
	}
	if (rename(ltmp, p) != 0) {
		rc = -errno;
		(void)unlink(ltmp);
		goto werr;
	}
	rc = sync_dir(live);
	if (rc != 0) {
		(void)snprintf(p, sizeof(p), "%s", live);
		goto werr;
	}
	rc = cert_info(sk_X509_value(chain, 0), ret);
	goto out;
werr:
	ag_err("cannot write %s: %s", p, rc < 0 && rc > -4096 ?
	    strerror(-rc) : anvil_strerror(rc));
out:
	if (made)
		remove_partial(tmpd);
	sk_X509_pop_free(chain, X509_free);
	free(cert);
	free(rest);
	free(full);
	return rc;
}

int
ag_store_cert(const char *state, const char *name, X509 **ret)
{
	STACK_OF(X509)	*sk = NULL;
	char		 p[4200];
	char		*data = NULL;
	size_t		 len;
	int		 rc;

	(void)snprintf(p, sizeof(p), "%s/live/%s/cert.pem", state, name);
	rc = anvil_file_read(p, AG_MAX_STATE_FILE, &data, &len);
	if (rc != 0) {
		ag_err("cannot read %s: %s", p, anvil_strerror(rc));
		return rc;
	}
	rc = ag_store_parse_chain(data, len, &sk);
	free(data);
	if (rc != 0) {
		ag_err("%s: not a PEM certificate", p);
		return rc;
	}
	*ret = sk_X509_shift(sk);
	sk_X509_pop_free(sk, X509_free);
	return 0;
}

int
ag_store_info(const char *state, const char *name, struct ag_certinfo *ret)
{
	X509	*x = NULL;
	int	 rc;

	rc = ag_store_cert(state, name, &x);
	if (rc != 0)
		return rc;
	rc = cert_info(x, ret);
	if (rc != 0)
		ag_err("%s: unreadable certificate", name);
	X509_free(x);
	return rc;
}
