/*
 * crl.h - certificate revocation lists (RFC 5280 §5): building and signing
 * one CRL from a list of entries, naming the shard of a serial, and the
 * root's CRL of the intermediate.
 *
 * Nothing here holds a key: the signer passes its own to crl_build(), and
 * crl_root_refresh() reads the root key from the state directory for the
 * moment it signs (see docs/internals/revocation.md on the root key).
 */
#ifndef ANVIL_SERVER_CRL_H
#define ANVIL_SERVER_CRL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "store.h"

/* The root's CRL in the state directory (DER), and its lifetime: it only
 * ever lists the intermediate, so it is long-lived; re-signed at half. */
#define STATE_ROOT_CRL		"root.crl"
#define CRL_ROOT_LIFETIME	(7 * 86400)

/* Most entries one CRL may hold (a shard of a very large CA). */
#define CRL_MAX_ENTRIES		(4 * 1024 * 1024)

/* What one CRL says. */
struct crl_req {
	int64_t			 this_update;
	int64_t			 next_update;
	int64_t			 number;	/* cRLNumber, > 0 */
	const char		*idp_url;	/* issuingDistributionPoint
						   fullName (a shard), or
						   NULL for a complete CRL */
	const struct revoked	*entries;	/* borrowed */
	size_t			 n_entries;
};

/*
 * Builds the CRL of req, issued and signed by issuer/key: version 2,
 * authorityKeyIdentifier (the issuer's SKI), cRLNumber, a critical
 * issuingDistributionPoint with onlyContainsUserCerts when idp_url is set,
 * and per entry the reasonCode (omitted for unspecified, §5.3.1) and the
 * invalidityDate when set.  Writes a new DER buffer (free()) to *ret_der.
 * Returns 0, ANVIL_EINVAL for a bad request, ANVIL_ENOMEM or ANVIL_ECRYPTO.
 */
int crl_build(X509 *issuer, EVP_PKEY *key, const struct crl_req *req,
    uint8_t **ret_der, size_t *ret_len);

/* The shard of a serial given as lowercase or uppercase hex: its value
 * modulo n.  Returns the shard (>= 0) or ANVIL_EINVAL. */
int crl_shard_of_hex(const char *serial_hex, int n);

/* Formats base + "/crl/<shard>.crl" into out.  Returns 0 or ANVIL_E2BIG. */
int crl_url(char *out, size_t outlen, const char *base, int shard);

/*
 * Signs a new root CRL (empty: no intermediate was ever revoked) into
 * state_dir/root.crl when the file is missing or past half its lifetime
 * at now, numbered one above the previous file's.  The root key is read
 * from the state directory and dropped before returning.  Sets *ret_made
 * to 1 when a new CRL was written.  Returns 0 or a negative code.
 */
int crl_root_refresh(const char *state_dir, int64_t now, int *ret_made);

/* Reads the thisUpdate, nextUpdate and cRLNumber of a DER CRL. */
int crl_info(const uint8_t *der, size_t len, int64_t *ret_this,
    int64_t *ret_next, int64_t *ret_number);

#endif
