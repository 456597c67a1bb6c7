/*
 * pub.h - the public plain-HTTP listener of anvil-ca: CRLs, the OCSP
 * responder (RFC 6960 Appendix A) and the intermediate certificate, on
 * the server's event loop.
 *
 *   GET /crl/<shard>.crl      a CRL shard (application/pkix-crl)
 *   GET /crl/root.crl         the root's CRL of the intermediate
 *   GET /intermediate.der     the issuer of every leaf (application/pkix-cert)
 *   GET /ocsp/<base64 req>    OCSP, request in the URL
 *   POST /ocsp                OCSP, application/ocsp-request body
 */
#ifndef ANVIL_SERVER_PUB_H
#define ANVIL_SERVER_PUB_H

#include "server.h"

/* Longest request line accepted (a GET OCSP request of OCSP_MAX_REQUEST
 * bytes in URL-encoded base64 fits). */
#define PUB_MAX_HEADERS		(16 * 1024)

/*
 * Binds the listener: cfg.public_listen, or by default listen's address
 * with its port + 1 (and, when that port is taken, any free port, with a
 * warning: the URLs in certificates follow).  Sets srv->pub_base from
 * cfg.public_base_url or the bound address ("localhost" for loopback and
 * wildcard addresses).  Returns 0 or a negative code (cause logged).
 */
int pub_start(struct server *srv);
void pub_stop(struct server *srv);

#endif
