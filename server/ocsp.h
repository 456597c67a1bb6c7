/*
 * ocsp.h - the Online Certificate Status Protocol (RFC 6960) pieces that
 * need no server: parsing a request with bounded size, checking that it
 * asks about our issuer, building and signing a response, the unsigned
 * error responses, and issuing the delegated responder's certificate.
 *
 * Responses follow the lightweight profile of RFC 5019: one certificate
 * per request, CertID hashed with SHA-1, responses made ahead of time (so
 * a request nonce is not echoed).
 */
#ifndef ANVIL_SERVER_OCSP_H
#define ANVIL_SERVER_OCSP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "model.h"

/* Largest OCSPRequest accepted (DER): one CertID with a nonce is ~100
 * bytes; a signed request with its certificate fits easily. */
#define OCSP_MAX_REQUEST	4096

/* Files of the delegated responder in the state directory. */
#define STATE_OCSP_KEY		"ocsp.key"
#define STATE_OCSP_CERT		"ocsp.pem"
/* Lifetime of a responder certificate, and the margin before its end at
 * which `anvil-ca serve` issues a new one. */
#define OCSP_RESPONDER_DAYS	90
#define OCSP_RESPONDER_RENEW	(30 * 86400)

/* OCSPResponseStatus values of unsigned answers (RFC 6960 §4.2.1). */
enum ocsp_error {
	OCSP_ERR_MALFORMED = 1,
	OCSP_ERR_INTERNAL = 2,
	OCSP_ERR_TRY_LATER = 3,
	OCSP_ERR_UNAUTHORIZED = 6
};

/* What one request asks: the CertID fields (RFC 6960 §4.1.1). */
struct ocsp_query {
	int		 hash_nid;	/* NID of hashAlgorithm */
	uint8_t		 name_hash[EVP_MAX_MD_SIZE];
	size_t		 name_hash_len;
	uint8_t		 key_hash[EVP_MAX_MD_SIZE];
	size_t		 key_hash_len;
	char		 serial[SERIAL_HEX_LEN + 1];	/* lowercase hex,
						   as struct cert */
	bool		 serial_ok;	/* false: not a serial we could have
					   issued (negative, over 20 bytes) */
};

/*
 * Parses a DER OCSPRequest of len bytes (at most OCSP_MAX_REQUEST) with
 * exactly one Request into *ret.  Returns 0, ANVIL_E2BIG when too long,
 * or ANVIL_EINVAL when it does not parse or asks about several
 * certificates.
 */
int ocsp_request_parse(const uint8_t *der, size_t len,
    struct ocsp_query *ret);

/* The SHA-1 hashes of an issuer's name and key, for matching requests. */
struct ocsp_issuer {
	uint8_t		 name_hash[20];
	uint8_t		 key_hash[20];
};
int ocsp_issuer_init(X509 *issuer, struct ocsp_issuer *ret);

/* 1 when q names issuer (SHA-1 CertID), 0 when it does not, or
 * ANVIL_EALG when q uses another hash. */
int ocsp_issuer_match(const struct ocsp_issuer *issuer,
    const struct ocsp_query *q);

enum ocsp_cert_status { OCSP_GOOD, OCSP_REVOKED, OCSP_UNKNOWN,
    OCSP_STATUS__MAX };

/* The status to sign for one serial. */
struct ocsp_answer {
	const char		*serial;	/* hex */
	enum ocsp_cert_status	 status;
	int64_t			 revoked_at;	/* when revoked */
	int			 reason;	/* when revoked; 0 is left out */
	int64_t			 this_update;
	int64_t			 next_update;
};

/*
 * A delegated responder made ready to sign responses about the
 * certificates of one issuer: what every response holds but the answer
 * (the CertID's issuer hashes, the responder's certificate) and a signing
 * context, made once.  Used by one thread at a time (the signer that
 * owns it, see signer_ocsp_sign).
 */
struct ocsp_responder;

/*
 * Prepares the responder rcert/rkey, which must match (ANVIL_EKEY
 * otherwise, or for a key signer__md refuses), for issuer.  *ret holds a
 * reference to rcert and to rkey until ocsp_responder_free(), none to
 * issuer.  Returns 0, ANVIL_EINVAL, ANVIL_EKEY, ANVIL_ENOMEM or
 * ANVIL_ECRYPTO.
 */
int ocsp_responder_new(X509 *issuer, X509 *rcert, EVP_PKEY *rkey,
    struct ocsp_responder **ret);
/* Accepts NULL. */
void ocsp_responder_free(struct ocsp_responder *r);

/*
 * Builds a successful OCSPResponse (basic, RFC 6960 §4.2.1) for a,
 * produced at produced_at: one SingleResponse with the CertID made with
 * SHA-1, signed by the responder, which is included in the response and
 * named by its key hash; no extension.  Writes a new DER buffer (free())
 * to *ret_der, only on success.  Returns 0, ANVIL_EINVAL (a bad answer or
 * time), ANVIL_ENOMEM or ANVIL_ECRYPTO.
 */
int ocsp_responder_sign(struct ocsp_responder *r,
    const struct ocsp_answer *a, int64_t produced_at, uint8_t **ret_der,
    size_t *ret_len);

/* The unsigned OCSPResponse of an error status (5 bytes). */
int ocsp_error_response(enum ocsp_error e, uint8_t *out, size_t outlen,
    size_t *ret_len);

/*
 * Issues a delegated responder certificate for rkey from issuer/ikey,
 * valid from an hour before now for OCSP_RESPONDER_DAYS: keyUsage
 * digitalSignature, extKeyUsage OCSPSigning, id-pkix-ocsp-nocheck (RFC
 * 6960 §4.2.2.2.1), SKI, AKI.  Returns 0 and *ret (X509_free()).
 */
int ocsp_responder_issue(X509 *issuer, EVP_PKEY *ikey, EVP_PKEY *rkey,
    int64_t now, X509 **ret);

#endif
