/*
 * key.c - private keys: type names, generation, PKCS#8 PEM files.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>

#include "anvil/error.h"
#include "anvil/jwk.h"
#include "anvil/limits.h"
#include "anvil/x509.h"
#include "internal.h"

/* Largest key file we read: an RSA-4096 PKCS#8 PEM is about 3.3 KB. */
#define KEY_FILE_MAX	(64 * 1024)

static const char *const key_names[ANVIL_KEY__MAX] = {
	[ANVIL_KEY_EC256] = "ec256",
	[ANVIL_KEY_EC384] = "ec384",
	[ANVIL_KEY_RSA2048] = "rsa2048",
	[ANVIL_KEY_RSA3072] = "rsa3072",
	[ANVIL_KEY_RSA4096] = "rsa4096",
	[ANVIL_KEY_ED25519] = "ed25519",
};

enum anvil_key_type
anvil_key_type_parse(const char *name)
{
	int	 i;

	if (name == NULL)
		return ANVIL_KEY__MAX;
	for (i = 0; i < ANVIL_KEY__MAX; i++)
		if (strcmp(name, key_names[i]) == 0)
			return (enum anvil_key_type)i;
	return ANVIL_KEY__MAX;
}

/* Returns the name of t, or NULL when t is out of range. */
const char *
anvil_key_type_name(enum anvil_key_type t)
{
	if ((unsigned)t >= ANVIL_KEY__MAX)
		return NULL;
	return key_names[t];
}

int
anvil_key_generate(enum anvil_key_type t, EVP_PKEY **ret)
{
	EVP_PKEY	*k = NULL;

	switch (t) {
	case ANVIL_KEY_EC256:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case ANVIL_KEY_EC384:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case ANVIL_KEY_RSA2048:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	case ANVIL_KEY_RSA3072:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)3072);
		break;
	case ANVIL_KEY_RSA4096:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)4096);
		break;
	case ANVIL_KEY_ED25519:
		k = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	default:
		return ANVIL_EINVAL;
	}
	if (k == NULL)
		return ANVIL_ECRYPTO;
	*ret = k;
	return 0;
}

int
anvil__pkey_kty(EVP_PKEY *pkey, enum anvil_kty *ret)
{
	char	 group[64];
	size_t	 glen = 0;
	int	 bits, nid;

	if (pkey == NULL)
		return ANVIL_EKEY;
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_EC:
		if (EVP_PKEY_get_utf8_string_param(pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    &glen) != 1)
			return ANVIL_EKEY;
		nid = OBJ_sn2nid(group);
		if (nid == NID_undef)
			nid = EC_curve_nist2nid(group);
		if (nid == NID_X9_62_prime256v1)
			*ret = ANVIL_KTY_EC_P256;
		else if (nid == NID_secp384r1)
			*ret = ANVIL_KTY_EC_P384;
		else
			return ANVIL_EKEY;
		return 0;
	case EVP_PKEY_RSA:
		bits = EVP_PKEY_get_bits(pkey);
		if (bits < ANVIL_MIN_RSA_BITS || bits > ANVIL_MAX_RSA_BITS)
			return ANVIL_EKEY;
		*ret = ANVIL_KTY_RSA;
		return 0;
	case EVP_PKEY_ED25519:
		*ret = ANVIL_KTY_ED25519;
		return 0;
	default:
		return ANVIL_EKEY;
	}
}

const EVP_MD *
anvil__pkey_md(EVP_PKEY *pkey)
{
	int	 id;

	id = EVP_PKEY_get_base_id(pkey);
	if (id == EVP_PKEY_ED25519 || id == EVP_PKEY_ED448)
		return NULL;
	return EVP_sha256();
}

/*
 * The PEM is produced in a secure-memory BIO, whose buffer OpenSSL wipes
 * as it grows and when it is freed, so no copy of the key is left in the
 * heap.  PEM_write_bio_PrivateKey writes PKCS#8 ("PRIVATE KEY").
 */
int
anvil_key_save(const char *path, EVP_PKEY *key, int overwrite)
{
	BIO	*bio = NULL;
	char	*data = NULL;
	long	 len;
	int	 rc;

	if (path == NULL || key == NULL)
		return ANVIL_EINVAL;
	bio = BIO_new(BIO_s_secmem());
	if (bio == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	if (PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
	    NULL) != 1) {
		rc = ANVIL_EKEY;
		goto out;
	}
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || data == NULL) {
		rc = ANVIL_ECRYPTO;
		goto out;
	}
	rc = anvil__file_write(path, data, (size_t)len, 0600, overwrite);
out:
	BIO_free(bio);
	return rc;
}

/* Refuses to prompt for a passphrase: encrypted keys are not supported. */
static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

/*
 * Loads a PEM private key (PKCS#8 or the traditional forms OpenSSL
 * reads).  A key of a type we cannot use for ACME is ANVIL_EKEY as well.
 */
int
anvil_key_load(const char *path, EVP_PKEY **ret)
{
	enum anvil_kty	 kty;
	EVP_PKEY	*k = NULL;
	BIO		*bio = NULL;
	char		*data = NULL;
	size_t		 len = 0;
	int		 rc;

	rc = anvil_file_read(path, KEY_FILE_MAX, &data, &len);
	if (rc == ANVIL_ENOENT || rc == ANVIL_EINVAL)
		goto out;
	if (rc != 0) {
		rc = rc == ANVIL_E2BIG ? ANVIL_EKEY : rc;
		goto out;
	}
	bio = BIO_new_mem_buf(data, (int)len);
	if (bio == NULL) {
		rc = ANVIL_ENOMEM;
		goto out;
	}
	k = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	if (k == NULL) {
		rc = ANVIL_EKEY;
		goto out;
	}
	rc = anvil__pkey_kty(k, &kty);
	if (rc != 0)
		goto out;
	*ret = k;
	k = NULL;
out:
	EVP_PKEY_free(k);
	BIO_free(bio);
	if (data != NULL) {
		OPENSSL_cleanse(data, len);
		free(data);
	}
	return rc;
}
