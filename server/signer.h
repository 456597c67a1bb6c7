/*
 * signer.h - the CA signer: the only module that holds the issuing key.
 *
 * Its interface is message-shaped (a request struct in, a response struct
 * out, no shared pointers into caller state) so that it can move into its
 * own process.  It re-checks what it is asked to sign: the CSR's
 * signature, that its names are exactly the requested names, and its key.
 */
#ifndef ANVIL_SERVER_SIGNER_H
#define ANVIL_SERVER_SIGNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct crl_req;
struct ocsp_answer;
struct ocsp_issuer;

/* Files in the state directory. */
#define STATE_ROOT_KEY		"root.key"
#define STATE_ROOT_CERT		"root.pem"
#define STATE_INTER_KEY		"intermediate.key"
#define STATE_INTER_CERT	"intermediate.pem"
#define STATE_TLS_KEY		"tls.key"
#define STATE_TLS_CERT		"tls.pem"	/* leaf then root-issued chain */
#define STATE_CONFIG		"anvil-ca.conf"
#define STATE_DB		"anvil-ca.db"
/* Also STATE_OCSP_KEY, STATE_OCSP_CERT (ocsp.h), STATE_ROOT_CRL (crl.h). */
#define DEFAULT_PUBLIC_BASE	"http://localhost:14001"

struct signer;

/* Loads the intermediate key and certificate and the root certificate from
 * state_dir.  Returns 0 and *ret, or a negative ANVIL_E* code.  A signer is
 * used by one thread at a time: another thread opens its own from the same
 * state_dir (the revocation worker does, see revoc.c). */
int signer_open(const char *state_dir, struct signer **ret);
void signer_free(struct signer *s);

struct sign_req {
	const uint8_t	*csr_der;	/* as received in finalize */
	size_t		 csr_len;
	const char *const *names;	/* the order's identifiers (may include
					   "*.x"), lowercase; SAN in this order */
	size_t		 n_names;
	int64_t		 not_before;	/* seconds since the epoch */
	int64_t		 not_after;
};

struct sign_resp {
	uint8_t		*der;		/* leaf certificate DER; owned (free()) */
	size_t		 der_len;
	char		 serial[SERIAL_HEX_LEN + 1]; /* lowercase hex */
	char		*spki_hash;	/* base64url SHA-256 of the leaf's SPKI
					   DER; owned (free()) */
	int64_t		 not_before;
	int64_t		 not_after;
	int		 shard;		/* CRL shard named in the CDP (0 when
					   signer_set_public was not called) */
};

/* Where relying parties find revocation information (plain HTTP). */
struct signer_public {
	const char	*base_url;	/* "http://host:port", no trailing / */
	int		 crl_shards;	/* 1..CONFIG_MAX_CRL_SHARDS */
	bool		 ocsp;		/* add the AIA OCSP URL */
};

/*
 * Makes every later leaf carry a cRLDistributionPoints extension naming
 * base_url/crl/<shard>.crl, shard being the serial modulo crl_shards
 * (as crl_shard_of_hex computes it), and an authorityInfoAccess with
 * caIssuers base_url/intermediate.der, plus OCSP base_url/ocsp when ocsp
 * is set.  Returns 0, ANVIL_EINVAL or ANVIL_ENOMEM.
 */
int signer_set_public(struct signer *s, const struct signer_public *p);

/* Signs a CRL of the intermediate (see crl_build).  *ret_der is new
 * (free()). */
int signer_crl_sign(struct signer *s, const struct crl_req *req,
    uint8_t **ret_der, size_t *ret_len);

/*
 * Loads the delegated OCSP responder's key and certificate from
 * state_dir (STATE_OCSP_KEY, STATE_OCSP_CERT); when they are missing,
 * do not match, were not issued by the intermediate, or end within
 * OCSP_RESPONDER_RENEW of now, issues a new key and certificate from the
 * intermediate and writes them first.  Then prepares the responder for
 * signer_ocsp_sign (ocsp_responder_new) in place of the one in use, which
 * stays on failure.  Returns 0 or a negative code.
 */
int signer_ocsp_open(struct signer *s, const char *state_dir, int64_t now);

/*
 * Loads the responder like signer_ocsp_open, but never issues one: for a
 * second signer of the same state directory while another one may renew
 * (the revocation worker renews, the event loop's signer follows).  Keeps
 * the responder in use unless the files hold one usable at now (and it
 * could be prepared).  Returns 0, ANVIL_ENOENT, ANVIL_ECERT, or an error
 * of ocsp_responder_new.
 */
int signer_ocsp_load(struct signer *s, const char *state_dir, int64_t now);

/*
 * Signs one OCSP response, produced now, with the prepared responder the
 * signer owns (see ocsp_responder_sign); like the rest of the signer, by
 * one thread at a time.  ANVIL_ENOENT before signer_ocsp_open or
 * signer_ocsp_load succeeded.
 */
int signer_ocsp_sign(struct signer *s, const struct ocsp_answer *a,
    uint8_t **ret_der, size_t *ret_len);

/* The hashes that OCSP requests use to name the intermediate. */
int signer_ocsp_issuer(const struct signer *s, struct ocsp_issuer *ret);

/* DER of the intermediate certificate (borrowed). */
const uint8_t *signer_inter_der(const struct signer *s, size_t *ret_len);

/*
 * Issues a certificate: random positive serial of 128 bits, subject CN the
 * first name that fits in 64 characters, SAN of all names, keyUsage
 * digitalSignature (plus keyEncipherment for RSA keys), EKU serverAuth,
 * basicConstraints CA:FALSE, SKI, AKI, public key copied from the CSR's
 * SubjectPublicKeyInfo.  Returns 0, ANVIL_ECSR when the CSR fails the
 * re-checks, or another negative ANVIL_E* code.
 */
int signer_issue(struct signer *s, const struct sign_req *req,
    struct sign_resp *ret);
void sign_resp_clear(struct sign_resp *r);

/* PEM of the intermediate certificate and of the root (borrowed). */
const char *signer_chain_pem(const struct signer *s);
const char *signer_root_pem(const struct signer *s);

/*
 * Converts a leaf DER to the RFC 8555 §9.1 PEM chain (leaf, then the
 * intermediate) in a new string (free()).
 */
int signer_chain_for(const struct signer *s, const uint8_t *der, size_t len,
    char **ret);

/* Options of `anvil-ca init`. */
struct ca_init_opts {
	const char	*state_dir;	/* created 0700 if missing */
	const char	*key_type;	/* "ec256" (default), "ec384", "rsa2048",
					   "rsa3072", "rsa4096" for both CAs */
	const char *const *tls_names;	/* extra names/IPs for the HTTPS cert */
	size_t		 n_tls_names;
	const char	*ca_name;	/* subject O/CN prefix, default "Anvil" */
	const char	*public_base_url; /* put in the intermediate's CDP
					   (root.crl); NULL for the default
					   http://localhost:14001 */
};

/*
 * Creates the root (10 years, self-signed, pathlen 1), the intermediate
 * (5 years, pathlen 0, signed by the root), the server's HTTPS certificate
 * (issued from the root... see ca_init.c) for localhost, 127.0.0.1, ::1, the
 * host's name and tls_names, and the commented configuration file.  Keys
 * are written 0600.  Refuses (ANVIL_EEXIST) when any of these files exists.
 */
int ca_init(const struct ca_init_opts *o);

#endif
