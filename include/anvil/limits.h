/*
 * limits.h - every size limit applied to untrusted input, in one place.
 */
#ifndef ANVIL_LIMITS_H
#define ANVIL_LIMITS_H

#define ANVIL_MAX_REQUEST_BODY	(64 * 1024)	/* one ACME POST body */
#define ANVIL_MAX_RESPONSE_BODY	(1024 * 1024)	/* one ACME response (client) */
#define ANVIL_MAX_HTTP01_BODY	(8 * 1024)	/* http-01 answer read by the VA */
#define ANVIL_MAX_CSR_DER	(16 * 1024)	/* CSR in finalize */
#define ANVIL_MAX_IDENTIFIERS	100		/* names in one order */
#define ANVIL_MAX_NAME_LEN	253		/* one DNS name */
#define ANVIL_MAX_CONTACTS	10		/* contact URLs on one account */
#define ANVIL_MAX_CONTACT_LEN	320		/* one contact URL */
#define ANVIL_MAX_RSA_BITS	4096
#define ANVIL_MIN_RSA_BITS	2048
#define ANVIL_MAX_REDIRECTS	10		/* http-01 redirects followed */

#endif
