/*
 * signer_int.h - certificate-building helpers shared by signer.c (which
 * defines them) and ca_init.c; not part of the signer's interface.
 */
#ifndef ANVIL_SERVER_SIGNER_INT_H
#define ANVIL_SERVER_SIGNER_INT_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

/* Bytes of a certificate serial: 6 of time and 10 random (RFC 5280
 * §4.1.2.2 allows 20; the CA/B Baseline Requirements ask for at least 64
 * bits from a CSPRNG). */
#define SIGNER_SERIAL_BYTES	16

/* Largest certificate PEM file signer_open reads. */
#define SIGNER_MAX_PEM_FILE	(64 * 1024)

/*
 * Sets a positive serial of SIGNER_SERIAL_BYTES bytes on x: the time in
 * milliseconds, then random bytes (anvil_rand_time_ordered).  Returns 0,
 * ANVIL_ECRYPTO or ANVIL_ENOMEM.
 */
int		 signer__serial_set(X509 *x);

/*
 * The digest that goes with a signing key: SHA-384 for P-384, SHA-256 for
 * P-256 and RSA.  Returns NULL for any other key (the caller refuses it).
 */
const EVP_MD	*signer__md(EVP_PKEY *key);

/*
 * Readies sctx (new, empty) to sign with key and md, as a template: each
 * signature is made on a copy (EVP_MD_CTX_copy_ex), since initialising a
 * context costs a fetch and a key context each time, and each copy signs
 * once.  Returns 0 or ANVIL_ECRYPTO.
 */
int		 signer__sign_template(EVP_MD_CTX *sctx, EVP_PKEY *key,
		    const EVP_MD *md);

/* Joins dir and file into buf (size len).  Returns 0 or ANVIL_E2BIG. */
int		 signer__path(char *buf, size_t len, const char *dir,
		    const char *file);

/* PEM of x in a new NUL-terminated string (free()).  Returns 0,
 * ANVIL_ECRYPTO or ANVIL_ENOMEM. */
int		 signer__cert_pem(X509 *x, char **ret);

/* The DER of obj (of ASN.1 type it) in a new buffer *ret (free()), its
 * length in *ret_len.  Returns 0, ANVIL_ECRYPTO or ANVIL_ENOMEM. */
int		 signer__der(const void *obj, const ASN1_ITEM *it,
		    uint8_t **ret, size_t *ret_len);

/* A DistributionPointName holding one URI as its fullName (the form of
 * a certificate's CRL distribution point and of a CRL's issuing
 * distribution point).  Returns 0, ANVIL_EINVAL for a bad URI, or
 * ANVIL_ENOMEM. */
int		 signer__uri_dpname(const char *url, DIST_POINT_NAME **ret);

/* The name "O=<o>, CN=<cn>" (UTF-8) in *ret.  Returns 0 or
 * ANVIL_ENOMEM. */
int		 signer__name_o_cn(const char *o, const char *cn,
		    X509_NAME **ret);

/*
 * signer_csr.c: an EC CSR (P-256 or P-384, ECDSA with SHA-2) read and
 * its signature verified without OpenSSL's key decoders, using a key
 * object per curve and digests fetched once (struct signer_ec, one per
 * signer: like the signer, used by one thread at a time).
 */
struct signer_ec;

/* What issuance needs from a CSR that signer__csr_ec accepted. */
struct signer_csr {
	char		**names;	/* as anvil_csr_names lists them; owned
					   (anvil_strv_free) */
	int		 curve_nid;	/* its key's: NID_X9_62_prime256v1 or
					   NID_secp384r1 */
	const uint8_t	*point;		/* the key, an uncompressed point,
					   inside the CSR's bytes
					   (borrowed) */
	size_t		 point_len;
};

/* Makes the per-signer state of the EC path.  Returns 0, ANVIL_ENOMEM or
 * ANVIL_ECRYPTO. */
int		 signer__ec_new(struct signer_ec **ret);
void		 signer__ec_free(struct signer_ec *ec);

/*
 * Reads the CSR der (len bytes, already bounded by the caller), verifies
 * its self-signature and lists its names (at most max).  Returns 1 with
 * *ret filled (names owned by the caller), or 0, *ret untouched, when
 * the general path must decide (another kind of CSR, or one this path
 * does not accept).
 */
int		 signer__csr_ec(struct signer_ec *ec, const uint8_t *der,
		    size_t len, size_t max, struct signer_csr *ret);

/*
 * Sets pub to the key of c (id-ecPublicKey, c's named curve and point),
 * leaving it undecoded.  Returns 0, ANVIL_EINVAL (c holds another
 * curve), ANVIL_ENOMEM or ANVIL_ECRYPTO.
 */
int		 signer__csr_pubkey_set(const struct signer_csr *c,
		    X509_PUBKEY *pub);

#endif
