/*
 * error.h - error codes shared by every libanvil module.
 *
 * Functions return 0 on success or a negative ANVIL_E* code.  Codes alias
 * -errno where one exists, so a system error can be passed through as is.
 */
#ifndef ANVIL_ERROR_H
#define ANVIL_ERROR_H

#include <errno.h>

#include "anvil/common.h"

enum anvil_err {
	ANVIL_OK	= 0,
	ANVIL_ENOMEM	= -ENOMEM,	/* allocation failed */
	ANVIL_EINVAL	= -EINVAL,	/* bad argument or malformed input */
	ANVIL_EIO	= -EIO,		/* read or write failed */
	ANVIL_ENOENT	= -ENOENT,	/* no such object */
	ANVIL_EEXIST	= -EEXIST,	/* object exists already */
	ANVIL_E2BIG	= -E2BIG,	/* input over its size limit */
	ANVIL_ETIMEDOUT	= -ETIMEDOUT,	/* operation timed out */

	ANVIL_EBASE64	= -1000,	/* not strict base64url */
	ANVIL_EJSON,			/* not valid JSON, or wrong shape */
	ANVIL_EJWK,			/* unusable JSON Web Key */
	ANVIL_EJWS,			/* malformed JWS */
	ANVIL_EALG,			/* unsupported or mismatched alg */
	ANVIL_ESIG,			/* signature does not verify */
	ANVIL_ECSR,			/* bad certificate signing request */
	ANVIL_EKEY,			/* unacceptable key (type, size) */
	ANVIL_ECRYPTO,			/* an OpenSSL call failed */
	ANVIL_ECERT,			/* bad certificate */
	ANVIL_EDB,			/* storage failed */
	ANVIL_E__MIN	= -1100
};

/* Returns a static English sentence for an ANVIL_E* code; never NULL. */
ANVIL_API const char *anvil_strerror(int err);

#endif
