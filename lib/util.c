/*
 * util.c - small helpers: string vectors, constant-time comparison, DNS
 * name syntax, certificate serial numbers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "anvil/error.h"
#include "anvil/limits.h"
#include "anvil/x509.h"

void
anvil_strv_free(char **v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/*
 * Returns 1 when the two byte strings are equal, else 0.  The lengths are
 * not secret and are compared first; the contents are compared in time
 * that depends only on the length.
 */
int
anvil_memeq_ct(const void *a, size_t alen, const void *b, size_t blen)
{
	if (alen != blen)
		return 0;
	if (alen == 0)
		return 1;
	return CRYPTO_memcmp(a, b, alen) == 0;
}

/* Returns 1 when c may appear in a label (lowercase LDH), else 0. */
static int
ldh(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/*
 * The label syntax of RFC 1123 §2.1 restricted to lowercase.  The loop
 * walks the string once; each label ends at a '.' or at the NUL, which
 * the length check before it guarantees is within 253 characters.  The
 * last label may not be all digits (RFC 3696 §2): that rules out IPv4
 * addresses spelt as DNS names, which have their own identifier type.
 */
int
anvil_dns_name_check(const char *s, int wildcard_ok)
{
	size_t	 len, i, start, labels = 0;
	int	 digits = 1;

	if (s == NULL)
		return ANVIL_EINVAL;
	len = strnlen(s, ANVIL_MAX_NAME_LEN + 1);
	if (len == 0 || len > ANVIL_MAX_NAME_LEN)
		return ANVIL_EINVAL;
	if (wildcard_ok && s[0] == '*' && s[1] == '.') {
		s += 2;
		len -= 2;
	}
	start = 0;
	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			if (!ldh(s[i]))
				return ANVIL_EINVAL;
			if (s[i] < '0' || s[i] > '9')
				digits = 0;
			continue;
		}
		/* s[start..i) is one label. */
		if (i == start || i - start > 63)
			return ANVIL_EINVAL;
		if (s[start] == '-' || s[i - 1] == '-')
			return ANVIL_EINVAL;
		labels++;
		if (i < len) {
			start = i + 1;
			digits = 1;
		}
	}
	if (labels < 2 || digits)
		return ANVIL_EINVAL;
	return 0;
}

int
anvil_asn1_serial_hex(const ASN1_INTEGER *serial, char out[41])
{
	static const char	 hex[] = "0123456789abcdef";
	BIGNUM			*bn = NULL;
	uint8_t			 bin[20];
	int			 n, i, rc = ANVIL_ECERT;

	if (serial == NULL)
		goto out;
	bn = ASN1_INTEGER_to_BN(serial, NULL);
	if (bn == NULL)
		goto out;
	/* RFC 5280 §4.1.2.2: positive, at most 20 octets. */
	if (BN_is_negative(bn))
		goto out;
	n = BN_num_bytes(bn);
	if (n > (int)sizeof(bin))
		goto out;
	if (n == 0) {
		bin[0] = 0;
		n = 1;
	} else if (BN_bn2bin(bn, bin) != n)
		goto out;
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[bin[i] >> 4];
		out[2 * i + 1] = hex[bin[i] & 0xf];
	}
	out[2 * n] = '\0';
	rc = 0;
out:
	BN_free(bn);
	return rc;
}

int
anvil_cert_serial_hex(X509 *cert, char out[41])
{
	return anvil_asn1_serial_hex(X509_get0_serialNumber(cert), out);
}
