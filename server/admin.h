/*
 * admin.h - operator commands that work on the state directory directly,
 * while `anvil-ca serve` runs or not: revoke a certificate, list the
 * certificates issued.
 */
#ifndef ANVIL_SERVER_ADMIN_H
#define ANVIL_SERVER_ADMIN_H

/* `anvil-ca revoke --state DIR --serial HEX --reason REASON
 * [--invalidity-date EPOCH]`.  Returns the process exit status. */
int admin_revoke(int argc, char **argv);

/* `anvil-ca list --state DIR [--revoked] [--expiring DAYS] [--json]`.
 * Returns the process exit status. */
int admin_list(int argc, char **argv);

/* Parses a revocation reason the operator may give: a number or an RFC
 * 5280 §5.3.1 name (unspecified, keyCompromise, affiliationChanged,
 * superseded, cessationOfOperation, privilegeWithdrawn; any case).
 * Returns the code or -1. */
int admin_reason_parse(const char *s);

#endif
