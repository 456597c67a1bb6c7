/*
 * x509.h - keys, CSRs (RFC 2986) and certificate helpers on OpenSSL 3.
 */
#ifndef ANVIL_X509_H
#define ANVIL_X509_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "anvil/common.h"

/* Key types by the names users type. */
enum anvil_key_type {
	ANVIL_KEY_EC256,
	ANVIL_KEY_EC384,
	ANVIL_KEY_RSA2048,
	ANVIL_KEY_RSA3072,
	ANVIL_KEY_RSA4096,
	ANVIL_KEY_ED25519,
	ANVIL_KEY__MAX
};

/* "ec256" -> ANVIL_KEY_EC256; ANVIL_KEY__MAX when unknown.  The name of
 * a type is NULL when t is out of range. */
ANVIL_API enum anvil_key_type anvil_key_type_parse(const char *name);
ANVIL_API const char *anvil_key_type_name(enum anvil_key_type t);

/* Generates a new private key.  Returns 0, ANVIL_EINVAL, ANVIL_ECRYPTO. */
ANVIL_API int anvil_key_generate(enum anvil_key_type t, EVP_PKEY **ret)
    ANVIL_MUSTCHECK;

/*
 * Writes a private key as PKCS#8 PEM to path: created 0600 from the start
 * (never chmod after writing), written to a temporary file in the same
 * directory, fsynced, renamed over path, directory fsynced.  Refuses to
 * replace an existing file unless overwrite is set (ANVIL_EEXIST).
 */
ANVIL_API int anvil_key_save(const char *path, EVP_PKEY *key, int overwrite)
    ANVIL_MUSTCHECK;

/* Reads a PEM private key. Returns 0, ANVIL_ENOENT, ANVIL_EKEY (also for
 * an encrypted key, and for a key type anvil_jwk_from_pkey refuses). */
ANVIL_API int anvil_key_load(const char *path, EVP_PKEY **ret) ANVIL_MUSTCHECK;

/*
 * Writes data to path atomically (temporary file, fsync, rename, fsync of
 * the directory) with the given mode from creation.
 */
ANVIL_API int anvil_file_write_atomic(const char *path, const void *data,
    size_t len, unsigned mode) ANVIL_MUSTCHECK;

/* Reads a whole file of at most max bytes into a new NUL-terminated buffer. */
ANVIL_API int anvil_file_read(const char *path, size_t max, char **ret,
    size_t *ret_len) ANVIL_MUSTCHECK;

/* Parses a DER CSR; rejects trailing bytes.  Returns 0 or ANVIL_ECSR. */
ANVIL_API int anvil_csr_parse(const uint8_t *der, size_t len, X509_REQ **ret)
    ANVIL_MUSTCHECK;

/* Verifies the CSR's self-signature. Returns 0 or ANVIL_ECSR. */
ANVIL_API int anvil_csr_verify(X509_REQ *req) ANVIL_MUSTCHECK;

/*
 * Collects the DNS names the CSR asks for: dNSName entries of its
 * subjectAltName extension request plus the subject commonName if any,
 * lowercased, deduplicated, in a new NULL-terminated array *ret (free
 * with anvil_strv_free).  Any other SAN type (IP, email, URI), a name that
 * is not a valid DNS name, more than max names, or no name at all is
 * ANVIL_ECSR.
 */
ANVIL_API int anvil_csr_names(X509_REQ *req, size_t max, char ***ret)
    ANVIL_MUSTCHECK;

/*
 * anvil_csr_names for a request read in parts by a caller that walks its
 * DER itself (the CA signer's EC path): its subject (NULL: none) and the
 * extensions of its extension request (NULL or empty: none), with the
 * same rules and result.  Returns 0, ANVIL_ECSR, ANVIL_EINVAL (max out of
 * range) or ANVIL_ENOMEM.
 */
ANVIL_API int anvil_csr_names_of(const X509_NAME *subject,
    const STACK_OF(X509_EXTENSION) *exts, size_t max, char ***ret)
    ANVIL_MUSTCHECK;

/* Builds and signs a CSR for names (names[0] also becomes the CN when it
 * fits in 64 characters).  Returns 0, ANVIL_EINVAL, ANVIL_ECRYPTO. */
ANVIL_API int anvil_csr_new(EVP_PKEY *key, const char *const *names,
    size_t n, X509_REQ **ret) ANVIL_MUSTCHECK;

/* DER encoding of a CSR or certificate into a new buffer (free()). */
ANVIL_API int anvil_csr_der(X509_REQ *req, uint8_t **ret, size_t *ret_len)
    ANVIL_MUSTCHECK;

/*
 * Checks that s is a DNS name ACME can certify: 1..253 characters,
 * labels 1..63 of [a-z0-9-] (not starting or ending with '-'), at least two
 * labels (not counting "*"), a last label that is not all digits (so no
 * IPv4 address), no trailing dot; a leading "*." is allowed when
 * wildcard_ok.
 * Uppercase is refused (callers lowercase first).  Returns 0 or ANVIL_EINVAL.
 */
ANVIL_API int anvil_dns_name_check(const char *s, int wildcard_ok)
    ANVIL_MUSTCHECK;

/*
 * RFC 8737 §3: builds the self-signed tls-alpn-01 certificate for name,
 * with a critical acmeIdentifier extension holding digest (SHA-256 of the
 * key authorization) and a SAN of name.  key signs it.
 */
ANVIL_API int anvil_tlsalpn_cert_new(EVP_PKEY *key, const char *name,
    const uint8_t digest[32], X509 **ret) ANVIL_MUSTCHECK;

/*
 * Reads the acmeIdentifier extension (OID 1.3.6.1.5.5.7.1.31) of cert into
 * digest.  Returns 0, ANVIL_ENOENT if absent, ANVIL_ECERT if it is not
 * critical or not an OCTET STRING of 32 bytes.
 */
ANVIL_API int anvil_tlsalpn_cert_digest(X509 *cert, uint8_t digest[32])
    ANVIL_MUSTCHECK;

/* Frees a NULL-terminated array of strings; accepts NULL. */
ANVIL_API void anvil_strv_free(char **v);

/* Hex of the certificate serial, lowercase, no leading zeros beyond one
 * byte's pair, into out (at least 41 bytes).  Returns 0 or ANVIL_ECERT. */
ANVIL_API int anvil_cert_serial_hex(X509 *cert, char out[41]) ANVIL_MUSTCHECK;

/* The same for a serial on its own (an OCSP CertID's, a CRL entry's).
 * Returns 0 or ANVIL_ECERT (negative, over 20 bytes, or NULL). */
ANVIL_API int anvil_asn1_serial_hex(const ASN1_INTEGER *serial,
    char out[41]) ANVIL_MUSTCHECK;

/* Constant-time comparison of two byte strings (lengths compared first).
 * Returns 1 when equal, 0 otherwise. */
ANVIL_API int anvil_memeq_ct(const void *a, size_t alen, const void *b,
    size_t blen);

/*
 * Fills out (n > 6 bytes) with the milliseconds since the epoch, 48 bits
 * big-endian, then n - 6 bytes from the CSPRNG.  Identifiers and serials
 * made this way are still unguessable (80 random bits for n = 16) but
 * those made close in time sort close together, so a database index of
 * them grows at its right edge instead of dirtying a random page per
 * insert.  Returns 0, ANVIL_EINVAL or ANVIL_ECRYPTO.
 */
ANVIL_API int anvil_rand_time_ordered(uint8_t *out, size_t n)
    ANVIL_MUSTCHECK;

/*
 * Fills out with n bytes from the CSPRNG, for identifiers, tokens and
 * serials (not keys): from a per-thread buffer refilled from OpenSSL's
 * DRBG, cheaper than a RAND_bytes() call each.  Returns 0, ANVIL_EINVAL
 * or ANVIL_ECRYPTO.
 */
ANVIL_API int anvil_rand_bytes(uint8_t *out, size_t n) ANVIL_MUSTCHECK;

#endif
