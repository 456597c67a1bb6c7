/*
 * config.h - anvil-ca's configuration: the file STATE/anvil-ca.conf, then
 * command-line options over it.
 *
 * File format: one "key = value" per line; '#' starts a comment line;
 * blank lines ignored; unknown keys and malformed lines are errors naming
 * the line.  Keys (all optional):
 *
 *   listen            = 127.0.0.1:14000   HTTPS listener, ADDR:PORT or [V6]:PORT
 *   base_url          = https://localhost:14000   public URL prefix; default
 *                       derived from listen ("localhost" for loopback)
 *   http01_port       = 80
 *   tlsalpn01_port    = 443
 *   resolver          = 127.0.0.1:53      DNS server for validation lookups
 *   validity_days     = 90
 *   order_lifetime    = 604800            seconds (7 days)
 *   authz_lifetime    = 2592000           seconds (30 days)
 *   terms_of_service  = https://...       meta.termsOfService (URL)
 *   website           = https://...       meta.website
 *   caa_identity      = anvil.invalid     meta.caaIdentities (repeatable)
 *   va_threads        = 2                 validation event loops (1-64)
 *   public_listen     = 127.0.0.1:14001   plain HTTP listener for CRLs, OCSP
 *                       and the intermediate; default: listen's address,
 *                       port + 1
 *   public_base_url   = http://localhost:14001   URL prefix put in the
 *                       certificates' CDP and AIA; default derived from
 *                       public_listen
 *   ocsp              = on                on|off: AIA OCSP URL and responder
 *   crl_shards        = 16                CRL partitions (1-1024); fixed once
 *                       certificates exist (kept in the database)
 *   crl_lifetime      = 86400             seconds from thisUpdate to
 *                       nextUpdate of a CRL (regenerated at half-life)
 *   ocsp_lifetime     = 259200            same for OCSP responses (3 days)
 *   challenge_wait_ms = 1000              how long the answer to a challenge
 *                       POST may wait for its validation's result (0-10000;
 *                       0: answer at once); see ra_authz.c
 */
#ifndef ANVIL_SERVER_CONFIG_H
#define ANVIL_SERVER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONFIG_MAX_CAA 8

struct config {
	char		*state_dir;
	char		*listen;
	char		*base_url;
	int		 http01_port;
	int		 tlsalpn01_port;
	char		*resolver;
	int		 validity_days;
	int64_t		 order_lifetime;
	int64_t		 authz_lifetime;
	char		*terms_of_service;
	char		*website;
	char		*caa_identities[CONFIG_MAX_CAA];
	size_t		 n_caa;
	int		 va_threads;
	char		*public_listen;
	char		*public_base_url;
	bool		 ocsp;
	int		 crl_shards;
	int64_t		 crl_lifetime;
	int64_t		 ocsp_lifetime;
	int		 challenge_wait_ms;
};

#define CONFIG_MAX_CRL_SHARDS	1024

/* Sets the defaults. */
void config_init(struct config *c);
/* Reads a file over c.  On error writes one line naming file:line and the
 * cause to err (size errlen) and returns a negative ANVIL_E* code. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);
/* Sets one key from a string (used by the file and the command line). */
int config_set(struct config *c, const char *key, const char *value,
    char *err, size_t errlen);
void config_done(struct config *c);
/* Splits a listen address "ADDR:PORT" or "[V6]:PORT" (port 0 lets the
 * kernel choose).  Returns 0 or ANVIL_EINVAL. */
int config_split_addr(const char *s, char *addr, size_t addrlen, int *port);

#endif
