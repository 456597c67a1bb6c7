/*
 * error.c - English messages for the ANVIL_E* codes.
 */
#include <string.h>

#include "anvil/error.h"

const char *
anvil_strerror(int err)
{
	switch (err) {
	case ANVIL_OK:
		return "success";
	case ANVIL_EBASE64:
		return "not strict base64url";
	case ANVIL_EJSON:
		return "invalid JSON or wrong JSON shape";
	case ANVIL_EJWK:
		return "unusable JSON Web Key";
	case ANVIL_EJWS:
		return "malformed JWS";
	case ANVIL_EALG:
		return "unsupported or mismatched signature algorithm";
	case ANVIL_ESIG:
		return "signature does not verify";
	case ANVIL_ECSR:
		return "bad certificate signing request";
	case ANVIL_EKEY:
		return "unacceptable key";
	case ANVIL_ECRYPTO:
		return "cryptographic operation failed";
	case ANVIL_ECERT:
		return "bad certificate";
	case ANVIL_EDB:
		return "storage failed";
	default:
		break;
	}
	/* Codes that alias -errno, and any other system error passed through. */
	if (err < 0 && err > ANVIL_EBASE64)
		return strerror(-err);
	return "unknown error";
}
