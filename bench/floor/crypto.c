/*
 * crypto.c - the signatures of one issuance, on one side: for the
 * server, o->verify ES256 verifications (each JWS, and the CSR) and
 * o->sign P-256 signatures (the certificate and its OCSP response); for
 * the client, its JWS and CSR signatures and its check of the chain.
 * Each over a SHA-256 digest of a
 * message the size of a JWS signing input, with one key context made
 * beforehand and reused: OpenSSL's cheapest path through EVP, the one
 * `openssl speed` times.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "floor.h"

#define MSG_LEN		700	/* a JWS signing input, about */
#define WARMUP		20

struct ops {
	EVP_MD		*md;		/* SHA-256, fetched once */
	EVP_PKEY_CTX	*sctx;		/* sign-initialised */
	EVP_PKEY_CTX	*vctx;		/* verify-initialised */
	unsigned char	 msg[MSG_LEN];
	unsigned char	 sig[128];
	size_t		 siglen;
};

/* One signature over msg (the digest made here); 0 or -1. */
static int
sign_once(struct ops *op)
{
	unsigned char	 h[32];
	unsigned int	 hlen = 0;
	size_t		 len = sizeof(op->sig);

	if (EVP_Digest(op->msg, sizeof(op->msg), h, &hlen, op->md,
	    NULL) != 1 ||
	    EVP_PKEY_sign(op->sctx, op->sig, &len, h, hlen) != 1)
		return -1;
	op->siglen = len;
	return 0;
}

/* One verification of op->sig over msg; 0, or -1 when it fails (it
 * must not: a floor of failed checks would be no floor). */
static int
verify_once(struct ops *op)
{
	unsigned char	 h[32];
	unsigned int	 hlen = 0;

	if (EVP_Digest(op->msg, sizeof(op->msg), h, &hlen, op->md,
	    NULL) != 1 ||
	    EVP_PKEY_verify(op->vctx, op->sig, op->siglen, h, hlen) != 1)
		return -1;
	return 0;
}

int
floor_crypto(const struct floor_opts *o, unsigned verify, unsigned sign,
    double *ret_ms)
{
	struct ops	 op;
	EVP_PKEY	*key = NULL;
	double		 t0, t1;
	unsigned	 i, j;
	int		 rc = -1;

	memset(&op, 0, sizeof(op));
	memset(op.msg, 'a', sizeof(op.msg));
	key = EVP_EC_gen("P-256");
	op.md = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (key == NULL || op.md == NULL)
		goto out;
	op.sctx = EVP_PKEY_CTX_new(key, NULL);
	op.vctx = EVP_PKEY_CTX_new(key, NULL);
	if (op.sctx == NULL || op.vctx == NULL ||
	    EVP_PKEY_sign_init(op.sctx) != 1 ||
	    EVP_PKEY_verify_init(op.vctx) != 1)
		goto out;
	for (i = 0; i < WARMUP; i++)
		if (sign_once(&op) != 0 || verify_once(&op) != 0)
			goto out;

	t0 = floor_thread_cpu();
	for (i = 0; i < o->count; i++) {
		for (j = 0; j < sign; j++)
			if (sign_once(&op) != 0)
				goto out;
		for (j = 0; j < verify; j++)
			if (verify_once(&op) != 0)
				goto out;
	}
	t1 = floor_thread_cpu();
	*ret_ms = (t1 - t0) * 1e3 / o->count;
	rc = 0;
out:
	if (rc != 0)
		fprintf(stderr, "anvil-floor: crypto: an OpenSSL call "
		    "failed\n");
	ERR_clear_error();
	EVP_PKEY_CTX_free(op.sctx);
	EVP_PKEY_CTX_free(op.vctx);
	EVP_PKEY_free(key);
	EVP_MD_free(op.md);
	return rc;
}
