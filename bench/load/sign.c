/*
 * sign.c - anvil-load's signatures and digests, with every OpenSSL object
 * made once: the SHA-2 digests are fetched once for the process, and
 * each key gets one EVP_PKEY_CTX, initialised for signing (or verifying)
 * once and used for every operation after that.
 *
 * Why not anvil_jws_sign: on OpenSSL 3.0 each EVP_DigestSignInit fetches
 * the digest and the signature implementation and asks the key for its
 * group again; with the protected header built through Jansson and the
 * signing input copied twice, that was about as much CPU as the ECDSA
 * signature itself, seven times per issuance.  Here a JWS (RFC 7515
 * flattened JSON, ES256 per RFC 7518 §3.4) is the SHA-256 of
 * base64url(header) "." base64url(payload), signed with the key's
 * context, the DER signature turned into the raw R || S.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "load.h"

#define MAX_HEADER	(16 * 1024)	/* one protected header */

static EVP_MD		*mds[3];	/* SHA-256, -384, -512; owned */
static EVP_MD_CTX	*mdctx;		/* re-used for every digest */

struct signer {
	EVP_PKEY_CTX	*ctx;		/* sign-initialised; owned */
	char		*jwk;		/* public JWK, compact JSON; malloc() */
	struct anvil_buf hdr;		/* protected header, re-used */
	char		*b64;		/* scratch for base64url; malloc() */
	size_t		 b64_cap;
};

const EVP_MD *
load_md(enum load_md which)
{
	static const char *const names[] = { "SHA2-256", "SHA2-384",
	    "SHA2-512" };

	if ((unsigned)which >= sizeof(mds) / sizeof(mds[0]))
		return NULL;
	if (mds[which] == NULL)
		mds[which] = EVP_MD_fetch(NULL, names[which], NULL);
	return mds[which];
}

int
load_digest_init(enum load_md which)
{
	const EVP_MD	*md = load_md(which);

	if (mdctx == NULL)
		mdctx = EVP_MD_CTX_new();
	if (md == NULL || mdctx == NULL ||
	    EVP_DigestInit_ex2(mdctx, md, NULL) != 1)
		return ANVIL_ECRYPTO;
	return 0;
}

int
load_digest_update(const void *p, size_t n)
{
	return EVP_DigestUpdate(mdctx, p, n) == 1 ? 0 : ANVIL_ECRYPTO;
}

int
load_digest_final(uint8_t out[EVP_MAX_MD_SIZE], size_t *ret_len)
{
	unsigned	 n = 0;

	if (EVP_DigestFinal_ex(mdctx, out, &n) != 1)
		return ANVIL_ECRYPTO;
	*ret_len = n;
	return 0;
}

void
load_crypto_done(void)
{
	size_t	 i;

	for (i = 0; i < sizeof(mds) / sizeof(mds[0]); i++) {
		EVP_MD_free(mds[i]);
		mds[i] = NULL;
	}
	EVP_MD_CTX_free(mdctx);
	mdctx = NULL;
}

int
load_sign_ctx(EVP_PKEY *key, EVP_PKEY_CTX **ret)
{
	EVP_PKEY_CTX	*ctx;

	ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (ctx == NULL || EVP_PKEY_sign_init(ctx) != 1) {
		EVP_PKEY_CTX_free(ctx);
		ERR_clear_error();
		return ANVIL_ECRYPTO;
	}
	*ret = ctx;
	return 0;
}

int
load_sign_digest(EVP_PKEY_CTX *ctx, const uint8_t *dgst, size_t dgst_len,
    uint8_t *sig, size_t *sig_len)
{
	if (EVP_PKEY_sign(ctx, sig, sig_len, dgst, dgst_len) != 1) {
		ERR_clear_error();
		return ANVIL_ECRYPTO;
	}
	return 0;
}

/*
 * Converts a DER ECDSA-Sig-Value (SEQUENCE { r INTEGER, s INTEGER }) into
 * r || s, each n bytes big-endian (RFC 7518 §3.4).  Returns 0 or
 * ANVIL_ECRYPTO.
 */
int
load_ecdsa_raw(const uint8_t *der, size_t len, size_t n, uint8_t *raw)
{
	const uint8_t	*p = der, *end = der + len, *seq, *v;
	size_t		 seq_len, v_len;
	unsigned	 tag;
	int		 i;

	if (load_der_tlv(&p, end, &tag, &seq, &seq_len) != 0 ||
	    tag != 0x30 || p != end)
		return ANVIL_ECRYPTO;
	p = seq;
	end = seq + seq_len;
	for (i = 0; i < 2; i++) {
		if (load_der_tlv(&p, end, &tag, &v, &v_len) != 0 ||
		    tag != 0x02 || v_len == 0 || (v[0] & 0x80) != 0)
			return ANVIL_ECRYPTO;
		/* One leading zero keeps a high bit from meaning "negative". */
		while (v_len > n && v[0] == 0) {
			v++;
			v_len--;
		}
		if (v_len > n)
			return ANVIL_ECRYPTO;
		memset(raw + i * n, 0, n - v_len);
		memcpy(raw + i * n + (n - v_len), v, v_len);
	}
	return p == end ? 0 : ANVIL_ECRYPTO;
}

int
signer_new(EVP_PKEY *key, const json_t *jwk, struct signer **ret)
{
	struct signer	*s;
	size_t		 n;
	int		 rc;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return ANVIL_ENOMEM;
	anvil_buf_init(&s->hdr, MAX_HEADER);
	rc = load_sign_ctx(key, &s->ctx);
	if (rc != 0)
		goto fail;
	rc = anvil_json_dump(jwk, &s->jwk, &n);
	if (rc != 0)
		goto fail;
	*ret = s;
	return 0;
fail:
	signer_free(s);
	return rc;
}

void
signer_free(struct signer *s)
{
	if (s == NULL)
		return;
	EVP_PKEY_CTX_free(s->ctx);
	free(s->jwk);
	anvil_buf_free(&s->hdr);
	free(s->b64);
	free(s);
}

/*
 * Appends v to b as a JSON string, quotes included, escaping '"', '\' and
 * every control character.  Returns 0 or an ANVIL_E* code.
 */
static int
json_str(struct anvil_buf *b, const char *v)
{
	char		 esc[8];
	const char	*run = v;
	int		 rc;

	rc = anvil_buf_add(b, "\"", 1);
	for (; rc == 0 && *v != '\0'; v++) {
		if (*v != '"' && *v != '\\' && (unsigned char)*v >= 0x20)
			continue;
		rc = anvil_buf_add(b, run, (size_t)(v - run));
		if (rc == 0) {
			snprintf(esc, sizeof(esc), "\\u%04x",
			    (unsigned)(unsigned char)*v);
			rc = anvil_buf_adds(b, esc);
		}
		run = v + 1;
	}
	if (rc == 0)
		rc = anvil_buf_add(b, run, (size_t)(v - run));
	if (rc == 0)
		rc = anvil_buf_add(b, "\"", 1);
	return rc;
}

/* base64url of n bytes into the signer's scratch; returns its length
 * in *ret_len.  Returns 0 or ANVIL_ENOMEM. */
static int
b64(struct signer *s, const void *p, size_t n, size_t *ret_len)
{
	size_t	 need = anvil_b64url_len(n) + 1;
	char	*q;

	if (need > s->b64_cap) {
		q = realloc(s->b64, need);
		if (q == NULL)
			return ANVIL_ENOMEM;
		s->b64 = q;
		s->b64_cap = need;
	}
	*ret_len = anvil_b64url_encode_to(s->b64, p, n);
	return 0;
}

int
signer_jws(struct signer *s, const char *kid, const char *nonce,
    const char *url, const char *payload, size_t payload_len,
    struct anvil_buf *out)
{
	uint8_t		 dgst[EVP_MAX_MD_SIZE], der[80], raw[64];
	size_t		 dgst_len, der_len = sizeof(der), n;
	int		 rc;

	/* The protected header (RFC 8555 §6.2): alg, kid or jwk, nonce,
	 * url. */
	anvil_buf_reset(&s->hdr);
	rc = anvil_buf_adds(&s->hdr, "{\"alg\":\"ES256\",");
	if (rc == 0 && kid != NULL) {
		rc = anvil_buf_adds(&s->hdr, "\"kid\":");
		if (rc == 0)
			rc = json_str(&s->hdr, kid);
	} else if (rc == 0)
		rc = anvil_buf_addf(&s->hdr, "\"jwk\":%s", s->jwk);
	if (rc == 0)
		rc = anvil_buf_adds(&s->hdr, ",\"nonce\":");
	if (rc == 0)
		rc = json_str(&s->hdr, nonce);
	if (rc == 0)
		rc = anvil_buf_adds(&s->hdr, ",\"url\":");
	if (rc == 0)
		rc = json_str(&s->hdr, url);
	if (rc == 0)
		rc = anvil_buf_adds(&s->hdr, "}");
	if (rc != 0)
		return rc;

	/* The body, and the digest of the signing input as it is written:
	 * base64url(header) "." base64url(payload). */
	anvil_buf_reset(out);
	rc = load_digest_init(LOAD_SHA256);
	if (rc == 0)
		rc = b64(s, s->hdr.data, s->hdr.len, &n);
	if (rc == 0)
		rc = load_digest_update(s->b64, n);
	if (rc == 0)
		rc = load_digest_update(".", 1);
	if (rc == 0)
		rc = anvil_buf_adds(out, "{\"protected\":\"");
	if (rc == 0)
		rc = anvil_buf_add(out, s->b64, n);
	if (rc == 0)
		rc = b64(s, payload, payload_len, &n);
	if (rc == 0)
		rc = load_digest_update(s->b64, n);
	if (rc == 0)
		rc = anvil_buf_adds(out, "\",\"payload\":\"");
	if (rc == 0)
		rc = anvil_buf_add(out, s->b64, n);
	if (rc == 0)
		rc = load_digest_final(dgst, &dgst_len);
	if (rc == 0)
		rc = load_sign_digest(s->ctx, dgst, dgst_len, der, &der_len);
	if (rc == 0)
		rc = load_ecdsa_raw(der, der_len, 32, raw);
	if (rc == 0)
		rc = b64(s, raw, sizeof(raw), &n);
	if (rc == 0)
		rc = anvil_buf_adds(out, "\",\"signature\":\"");
	if (rc == 0)
		rc = anvil_buf_add(out, s->b64, n);
	if (rc == 0)
		rc = anvil_buf_adds(out, "\"}");
	return rc;
}
