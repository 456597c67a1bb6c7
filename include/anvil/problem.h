/*
 * problem.h - RFC 8555 §6.7 error types, as one table.
 *
 * The server renders them as RFC 7807 documents; the client parses them.
 */
#ifndef ANVIL_PROBLEM_H
#define ANVIL_PROBLEM_H

#include "anvil/common.h"

/* X(enum suffix, type name after "urn:ietf:params:acme:error:", HTTP status) */
#define ANVIL_PROBLEM_MAP(X)						\
	X(ACCOUNT_DOES_NOT_EXIST, "accountDoesNotExist", 400)		\
	X(ALREADY_REVOKED, "alreadyRevoked", 400)			\
	X(BAD_CSR, "badCSR", 400)					\
	X(BAD_NONCE, "badNonce", 400)					\
	X(BAD_PUBLIC_KEY, "badPublicKey", 400)				\
	X(BAD_REVOCATION_REASON, "badRevocationReason", 400)		\
	X(BAD_SIGNATURE_ALGORITHM, "badSignatureAlgorithm", 400)	\
	X(CAA, "caa", 403)						\
	X(COMPOUND, "compound", 403)					\
	X(CONNECTION, "connection", 400)				\
	X(DNS, "dns", 400)						\
	X(EXTERNAL_ACCOUNT_REQUIRED, "externalAccountRequired", 403)	\
	X(INCORRECT_RESPONSE, "incorrectResponse", 403)			\
	X(INVALID_CONTACT, "invalidContact", 400)			\
	X(MALFORMED, "malformed", 400)					\
	X(ORDER_NOT_READY, "orderNotReady", 403)			\
	X(RATE_LIMITED, "rateLimited", 429)				\
	X(REJECTED_IDENTIFIER, "rejectedIdentifier", 400)		\
	X(SERVER_INTERNAL, "serverInternal", 500)			\
	X(TLS, "tls", 400)						\
	X(UNAUTHORIZED, "unauthorized", 403)				\
	X(UNSUPPORTED_CONTACT, "unsupportedContact", 400)		\
	X(UNSUPPORTED_IDENTIFIER, "unsupportedIdentifier", 400)		\
	X(USER_ACTION_REQUIRED, "userActionRequired", 403)		\
	X(ALREADY_REPLACED, "alreadyReplaced", 409)			\
	X(INVALID_PROFILE, "invalidProfile", 400)

enum anvil_problem {
#define ANVIL_PROBLEM_ENUM(e, s, h) ANVIL_PROB_##e,
	ANVIL_PROBLEM_MAP(ANVIL_PROBLEM_ENUM)
#undef ANVIL_PROBLEM_ENUM
	ANVIL_PROB__MAX
};

#define ANVIL_PROBLEM_NS "urn:ietf:params:acme:error:"

/* Returns the short name ("badNonce") of p, or NULL when p is out of range. */
ANVIL_API const char *anvil_problem_name(enum anvil_problem p);

/* Returns the default HTTP status for p (400 when out of range). */
ANVIL_API int anvil_problem_status(enum anvil_problem p);

/*
 * Looks up a full type URN ("urn:ietf:params:acme:error:badNonce").
 * Returns the problem, or ANVIL_PROB__MAX when the type is unknown.
 */
ANVIL_API enum anvil_problem anvil_problem_parse(const char *type);

#endif
