/*
 * ocsp.c - OCSP (RFC 6960) requests, responses and the responder's
 * certificate, without any server state.
 *
 * Requests come from the network: they are bounded (OCSP_MAX_REQUEST),
 * must be exactly one DER OCSPRequest with nothing after it, and must ask
 * about one certificate.  Responses are built by the revocation worker
 * ahead of time; the server then only looks them up.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ocsp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "anvil/error.h"
#include "anvil/x509.h"

#include "ocsp.h"
#include "signer_int.h"

#define BACKDATE	(60 * 60)	/* responder notBefore, for skew */
#define DAY		(24 * 60 * 60)

int
ocsp_request_parse(const uint8_t *der, size_t len, struct ocsp_query *ret)
{
	const unsigned char	*p = der;
	OCSP_REQUEST		*req = NULL;
	OCSP_ONEREQ		*one;
	OCSP_CERTID		*cid;
	ASN1_OCTET_STRING	*nh = NULL, *kh = NULL;
	ASN1_OBJECT		*md = NULL;
	ASN1_INTEGER		*sn = NULL;
	struct ocsp_query	 q;
	int			 rc = ANVIL_EINVAL;

	memset(&q, 0, sizeof(q));
	if (der == NULL || ret == NULL || len == 0)
		return ANVIL_EINVAL;
	if (len > OCSP_MAX_REQUEST)
		return ANVIL_E2BIG;
	req = d2i_OCSP_REQUEST(NULL, &p, (long)len);
	if (req == NULL || p != der + len)
		goto out;
	/* RFC 5019 §2.1.1: one Request per OCSPRequest. */
	if (OCSP_request_onereq_count(req) != 1)
		goto out;
	one = OCSP_request_onereq_get0(req, 0);
	cid = one != NULL ? OCSP_onereq_get0_id(one) : NULL;
	if (cid == NULL || !OCSP_id_get0_info(&nh, &md, &kh, &sn, cid) ||
	    nh == NULL || kh == NULL || md == NULL || sn == NULL)
		goto out;
	if (ASN1_STRING_length(nh) < 0 ||
	    ASN1_STRING_length(nh) > EVP_MAX_MD_SIZE ||
	    ASN1_STRING_length(kh) < 0 ||
	    ASN1_STRING_length(kh) > EVP_MAX_MD_SIZE)
		goto out;
	q.hash_nid = OBJ_obj2nid(md);
	q.name_hash_len = (size_t)ASN1_STRING_length(nh);
	memcpy(q.name_hash, ASN1_STRING_get0_data(nh), q.name_hash_len);
	q.key_hash_len = (size_t)ASN1_STRING_length(kh);
	memcpy(q.key_hash, ASN1_STRING_get0_data(kh), q.key_hash_len);
	q.serial_ok = anvil_asn1_serial_hex(sn, q.serial) == 0;
	if (!q.serial_ok)
		q.serial[0] = '\0';
	*ret = q;
	rc = 0;
out:
	ERR_clear_error();
	OCSP_REQUEST_free(req);
	return rc;
}

int
ocsp_issuer_init(X509 *issuer, struct ocsp_issuer *ret)
{
	unsigned int	 n = 0;
	uint8_t		 md[EVP_MAX_MD_SIZE];

	if (issuer == NULL || ret == NULL)
		return ANVIL_EINVAL;
	/* RFC 6960 §4.1.1: the hash of the DER of the issuer's name, and
	 * of the value of its subjectPublicKey BIT STRING. */
	if (!X509_NAME_digest(X509_get_subject_name(issuer), EVP_sha1(), md,
	    &n) || n != sizeof(ret->name_hash))
		return ANVIL_ECRYPTO;
	memcpy(ret->name_hash, md, n);
	if (!X509_pubkey_digest(issuer, EVP_sha1(), md, &n) ||
	    n != sizeof(ret->key_hash))
		return ANVIL_ECRYPTO;
	memcpy(ret->key_hash, md, n);
	return 0;
}

int
ocsp_issuer_match(const struct ocsp_issuer *issuer,
    const struct ocsp_query *q)
{
	if (q->hash_nid != NID_sha1)
		return ANVIL_EALG;
	return q->name_hash_len == sizeof(issuer->name_hash) &&
	    q->key_hash_len == sizeof(issuer->key_hash) &&
	    memcmp(q->name_hash, issuer->name_hash, q->name_hash_len) == 0 &&
	    memcmp(q->key_hash, issuer->key_hash, q->key_hash_len) == 0;
}

/*
 * Responses are made with OpenSSL's OCSP objects.  What depends only on
 * the issuer and the responder is made once per responder (struct
 * ocsp_responder): the CertID with the issuer's hashes, whose serial is
 * replaced for each response; the time objects, set in place; and a
 * digest-sign context, initialised once and copied for each response
 * (a signature spends its context).  The responder's certificate is
 * up-referenced into each response and written from its cached DER.
 *
 * Left to every response: the OCSP_BASICRESP, the copies that
 * OCSP_basic_add1_status makes (CertID, times), what OCSP_basic_sign_ctx
 * does on every call (X509_check_private_key, the ResponderID's SHA-1 of
 * the responder key: the public API has no way to set them once), the
 * encoding of the ResponseData, the signature, and the encodings of the
 * BasicOCSPResponse (OCSP_response_create) and of the OCSPResponse.
 * Built from scratch with OCSP_basic_sign, a response cost about twice
 * its ECDSA signature: the CertID's two SHA-1 hashes, a digest-sign
 * context made from the key, and the rest as above (numbers in
 * docs/internals/revocation.md).
 */

/* Latest time a GeneralizedTime YYYYMMDDHHMMSSZ can hold:
 * 9999-12-31T23:59:59Z. */
#define GENTIME_MAX	INT64_C(253402300799)

struct ocsp_responder {
	X509			*rcert;	/* the responder; reference held */
	EVP_MD_CTX		*sctx;	/* DigestSignInit done with the
					   responder key (a reference held),
					   never used but to copy; owned */
	EVP_MD_CTX		*ctx;	/* the copy a response spends;
					   owned */
	OCSP_CERTID		*cid;	/* SHA-1 CertID of the issuer; owned */
	ASN1_INTEGER		*serial;	/* cid's serial; borrowed */
	BIGNUM			*bn;	/* the serial being converted; owned */
	ASN1_GENERALIZEDTIME	*tu;	/* thisUpdate; owned */
	ASN1_GENERALIZEDTIME	*nu;	/* nextUpdate; owned */
	ASN1_GENERALIZEDTIME	*rt;	/* revocationTime; owned */
};

void
ocsp_responder_free(struct ocsp_responder *r)
{
	if (r == NULL)
		return;
	X509_free(r->rcert);
	EVP_MD_CTX_free(r->sctx);
	EVP_MD_CTX_free(r->ctx);
	OCSP_CERTID_free(r->cid);
	BN_free(r->bn);
	ASN1_GENERALIZEDTIME_free(r->tu);
	ASN1_GENERALIZEDTIME_free(r->nu);
	ASN1_GENERALIZEDTIME_free(r->rt);
	free(r);
}

int
ocsp_responder_new(X509 *issuer, X509 *rcert, EVP_PKEY *rkey,
    struct ocsp_responder **ret)
{
	struct ocsp_responder	*r = NULL;
	const EVP_MD		*md;
	int			 rc = ANVIL_EKEY;

	if (issuer == NULL || rcert == NULL || rkey == NULL || ret == NULL)
		return ANVIL_EINVAL;
	md = signer__md(rkey);
	if (md == NULL)
		goto out;
	/* Checked here as well as in every OCSP_basic_sign_ctx, which
	 * cannot be told to skip it, to refuse a mismatch with its own
	 * code. */
	if (X509_check_private_key(rcert, rkey) != 1)
		goto out;
	rc = ANVIL_ENOMEM;
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		goto out;
	r->sctx = EVP_MD_CTX_new();
	r->ctx = EVP_MD_CTX_new();
	r->bn = BN_new();
	r->tu = ASN1_GENERALIZEDTIME_new();
	r->nu = ASN1_GENERALIZEDTIME_new();
	r->rt = ASN1_GENERALIZEDTIME_new();
	if (r->sctx == NULL || r->ctx == NULL || r->bn == NULL ||
	    r->tu == NULL || r->nu == NULL || r->rt == NULL)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (!X509_up_ref(rcert))
		goto out;
	r->rcert = rcert;
	/* RFC 6960 §4.1.1, with SHA-1 (what clients send, RFC 5019
	 * §2.1.1); the serial is set for each response. */
	r->cid = OCSP_cert_id_new(EVP_sha1(), X509_get_subject_name(issuer),
	    X509_get0_pubkey_bitstr(issuer), NULL);
	if (r->cid == NULL ||
	    !OCSP_id_get0_info(NULL, NULL, NULL, &r->serial, r->cid) ||
	    r->serial == NULL)
		goto out;
	if (signer__sign_template(r->sctx, rkey, md) != 0)
		goto out;
	*ret = r;
	r = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	ocsp_responder_free(r);
	return rc;
}

/* 1 when t fits a GeneralizedTime of RFC 5280 §4.1.2.5.2, from 1970. */
static int
time_ok(int64_t t)
{
	return t >= 0 && t <= GENTIME_MAX;
}

/* Checks what ocsp_responder_sign is asked to sign. */
static int
answer_ok(const struct ocsp_answer *a)
{
	if (a->serial == NULL || (unsigned int)a->status >= OCSP_STATUS__MAX ||
	    a->this_update <= 0 || a->next_update <= a->this_update ||
	    !time_ok(a->next_update))
		return 0;
	if (a->status == OCSP_REVOKED && (a->revoked_at <= 0 ||
	    !time_ok(a->revoked_at) || a->reason < 0 ||
	    a->reason > REASON_MAX || a->reason == 7))
		return 0;
	return 1;
}

/* Sets r's CertID serial to hex: 1 to SERIAL_HEX_LEN lowercase hex
 * digits, leading zeros allowed; anything else is ANVIL_EINVAL. */
static int
serial_set(struct ocsp_responder *r, const char *hex)
{
	size_t	 len, i;

	len = strnlen(hex, SERIAL_HEX_LEN + 1);
	if (len == 0 || len > SERIAL_HEX_LEN)
		return ANVIL_EINVAL;
	for (i = 0; i < len; i++)
		if (!((hex[i] >= '0' && hex[i] <= '9') ||
		    (hex[i] >= 'a' && hex[i] <= 'f')))
			return ANVIL_EINVAL;
	if (BN_hex2bn(&r->bn, hex) != (int)len ||
	    BN_to_ASN1_INTEGER(r->bn, r->serial) == NULL)
		return ANVIL_ENOMEM;
	return 0;
}

int
ocsp_responder_sign(struct ocsp_responder *r, const struct ocsp_answer *a,
    int64_t produced_at, uint8_t **ret_der, size_t *ret_len)
{
	static const int	 status_of[OCSP_STATUS__MAX] = {
		[OCSP_GOOD] = V_OCSP_CERTSTATUS_GOOD,
		[OCSP_REVOKED] = V_OCSP_CERTSTATUS_REVOKED,
		[OCSP_UNKNOWN] = V_OCSP_CERTSTATUS_UNKNOWN,
	};
	OCSP_BASICRESP		*bs = NULL;
	OCSP_RESPONSE		*resp = NULL;
	ASN1_GENERALIZEDTIME	*rt = NULL, *pa;
	int			 reason, rc;

	if (r == NULL || a == NULL || ret_der == NULL || ret_len == NULL ||
	    !answer_ok(a) || !time_ok(produced_at))
		return ANVIL_EINVAL;
	rc = serial_set(r, a->serial);
	if (rc != 0)
		goto out;
	rc = ANVIL_ENOMEM;
	if (ASN1_GENERALIZEDTIME_set(r->tu, (time_t)a->this_update) == NULL ||
	    ASN1_GENERALIZEDTIME_set(r->nu, (time_t)a->next_update) == NULL)
		goto out;
	reason = OCSP_REVOKED_STATUS_NOSTATUS;
	if (a->status == OCSP_REVOKED) {
		rt = ASN1_GENERALIZEDTIME_set(r->rt, (time_t)a->revoked_at);
		if (rt == NULL)
			goto out;
		/* As in CRLs (RFC 5280 §5.3.1), unspecified is left out. */
		if (a->reason != 0)
			reason = a->reason;
	}
	bs = OCSP_BASICRESP_new();
	if (bs == NULL)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (OCSP_basic_add1_status(bs, r->cid, status_of[a->status], reason,
	    rt, r->tu, r->nu) == NULL)
		goto out;
	/*
	 * producedAt: the response's own (allocated with it), set in place
	 * since OCSP_basic_sign_ctx can only set it to the current second
	 * (OCSP_NOTIME keeps it).  The getter is const, the object is not.
	 */
	pa = (ASN1_GENERALIZEDTIME *)OCSP_resp_get0_produced_at(bs);
	if (pa == NULL ||
	    ASN1_GENERALIZEDTIME_set(pa, (time_t)produced_at) == NULL)
		goto out;
	if (!EVP_MD_CTX_copy_ex(r->ctx, r->sctx))
		goto out;
	/* The responder's certificate goes in so that a client can check
	 * the delegation (§4.2.2.2); naming it by key hash is shorter. */
	if (!OCSP_basic_sign_ctx(bs, r->rcert, r->ctx, NULL,
	    OCSP_RESPID_KEY | OCSP_NOTIME))
		goto out;
	resp = OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, bs);
	if (resp == NULL)
		goto out;
	rc = signer__der(resp, ASN1_ITEM_rptr(OCSP_RESPONSE), ret_der,
	    ret_len);
out:
	if (rc != 0)
		ERR_clear_error();
	OCSP_RESPONSE_free(resp);
	OCSP_BASICRESP_free(bs);
	return rc;
}

int
ocsp_error_response(enum ocsp_error e, uint8_t *out, size_t outlen,
    size_t *ret_len)
{
	/* OCSPResponse ::= SEQUENCE { responseStatus ENUMERATED } with no
	 * responseBytes (§4.2.1). */
	if (outlen < 5 || ret_len == NULL)
		return ANVIL_E2BIG;
	if (e != OCSP_ERR_MALFORMED && e != OCSP_ERR_INTERNAL &&
	    e != OCSP_ERR_TRY_LATER && e != OCSP_ERR_UNAUTHORIZED)
		return ANVIL_EINVAL;
	out[0] = 0x30;
	out[1] = 0x03;
	out[2] = 0x0a;
	out[3] = 0x01;
	out[4] = (uint8_t)e;
	*ret_len = 5;
	return 0;
}

/* Adds one extension in OpenSSL's configuration syntax. */
static int
ext_conf(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	int		 ok;

	ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	if (ext == NULL)
		return ANVIL_ECRYPTO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : ANVIL_ECRYPTO;
}

/* Subject of the responder: the issuer's O, and CN "<issuer CN> OCSP". */
static int
responder_name(X509 *issuer, X509_NAME **ret)
{
	X509_NAME	*in = X509_get_subject_name(issuer);
	char		 o[65], cn[65], buf[80];

	if (X509_NAME_get_text_by_NID(in, NID_organizationName, o,
	    sizeof(o)) < 0)
		snprintf(o, sizeof(o), "Anvil");
	if (X509_NAME_get_text_by_NID(in, NID_commonName, cn,
	    sizeof(cn)) < 0)
		snprintf(cn, sizeof(cn), "Anvil");
	snprintf(buf, sizeof(buf), "%.55s OCSP", cn);
	return signer__name_o_cn(o, buf, ret);
}

int
ocsp_responder_issue(X509 *issuer, EVP_PKEY *ikey, EVP_PKEY *rkey,
    int64_t now, X509 **ret)
{
	X509		*x = NULL;
	X509_NAME	*name = NULL;
	ASN1_NULL	*null = NULL;
	X509V3_CTX	 ctx;
	const EVP_MD	*md;
	int		 rc = ANVIL_ENOMEM;

	if (issuer == NULL || ikey == NULL || rkey == NULL || ret == NULL)
		return ANVIL_EINVAL;
	md = signer__md(ikey);
	if (md == NULL)
		return ANVIL_EKEY;
	x = X509_new();
	null = ASN1_NULL_new();
	if (x == NULL || null == NULL)
		goto out;
	rc = responder_name(issuer, &name);
	if (rc == 0)
		rc = signer__serial_set(x);
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	if (!X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_subject_name(x, name) ||
	    !X509_set_issuer_name(x, X509_get_subject_name(issuer)) ||
	    ASN1_TIME_set(X509_getm_notBefore(x),
	    (time_t)(now - BACKDATE)) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x),
	    (time_t)(now + (int64_t)OCSP_RESPONDER_DAYS * DAY)) == NULL ||
	    !X509_set_pubkey(x, rkey))
		goto out;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	rc = ext_conf(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
	if (rc == 0)
		rc = ext_conf(x, &ctx, NID_key_usage,
		    "critical,digitalSignature");
	if (rc == 0)
		rc = ext_conf(x, &ctx, NID_ext_key_usage, "OCSPSigning");
	if (rc == 0)
		rc = ext_conf(x, &ctx, NID_subject_key_identifier, "hash");
	if (rc == 0)
		rc = ext_conf(x, &ctx, NID_authority_key_identifier,
		    "keyid:always");
	if (rc != 0)
		goto out;
	rc = ANVIL_ECRYPTO;
	/* §4.2.2.2.1: clients need not check the responder's revocation
	 * (its certificate is short-lived instead). */
	if (X509_add1_ext_i2d(x, NID_id_pkix_OCSP_noCheck, null, 0,
	    X509V3_ADD_DEFAULT) != 1)
		goto out;
	if (X509_sign(x, ikey, md) <= 0)
		goto out;
	*ret = x;
	x = NULL;
	rc = 0;
out:
	if (rc != 0)
		ERR_clear_error();
	X509_free(x);
	X509_NAME_free(name);
	ASN1_NULL_free(null);
	return rc;
}
