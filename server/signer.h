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

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* Files in the state directory. */
#define STATE_ROOT_KEY		"root.key"
#define STATE_ROOT_CERT		"root.pem"
#define STATE_INTER_KEY		"intermediate.key"
#define STATE_INTER_CERT	"intermediate.pem"
#define STATE_TLS_KEY		"tls.key"
#define STATE_TLS_CERT		"tls.pem"	/* leaf then root-issued chain */
#define STATE_CONFIG		"anvil-ca.conf"
#define STATE_DB		"anvil-ca.db"

struct signer;

/* Loads the intermediate key and certificate and the root certificate from
 * state_dir.  Returns 0 and *ret, or a negative ANVIL_E* code. */
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
};

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
