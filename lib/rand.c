/*
 * rand.c - random bytes for identifiers, tokens and serial numbers.
 *
 * OpenSSL 3.0's RAND_bytes() costs about 3.5 us a call whatever the size
 * asked (the DRBG's per-request work: locking, a reseed check, its
 * CTR-DRBG update), and an issuance asks nine times: one identifier each
 * for the order, the authorization and its three challenges, three
 * challenge tokens and the certificate's serial.  So each thread keeps a
 * buffer of the DRBG's output and refills it RAND_BUF bytes at a time: the
 * bytes are the same CSPRNG's, fetched ahead.  Not for keys: OpenSSL makes
 * those with its own DRBG.
 *
 * A forked child must not hand out what its parent will: pthread_atfork
 * empties the buffer of the forking thread (the only one the child has)
 * in the child.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "anvil/error.h"
#include "anvil/x509.h"

#define RAND_BUF	512

static __thread uint8_t	 rbuf[RAND_BUF];
static __thread size_t	 rleft;		/* unused bytes at the end of rbuf */
static pthread_once_t	 rfork_once = PTHREAD_ONCE_INIT;
static int		 rfork_err;

static void
rand_forget(void)
{
	OPENSSL_cleanse(rbuf, sizeof(rbuf));
	rleft = 0;
}

static void
rand_fork_init(void)
{
	rfork_err = pthread_atfork(NULL, NULL, rand_forget);
}

int
anvil_rand_bytes(uint8_t *out, size_t n)
{
	uint8_t	*p;

	if (out == NULL || n > INT32_MAX)
		return ANVIL_EINVAL;
	if (pthread_once(&rfork_once, rand_fork_init) != 0 || rfork_err != 0)
		return ANVIL_ECRYPTO;
	/* Larger requests go straight to the DRBG. */
	if (n > RAND_BUF / 4)
		return RAND_bytes(out, (int)n) == 1 ? 0 : ANVIL_ECRYPTO;
	if (rleft < n) {
		if (RAND_bytes(rbuf, sizeof(rbuf)) != 1) {
			rleft = 0;
			return ANVIL_ECRYPTO;
		}
		rleft = sizeof(rbuf);
	}
	/* Each byte is handed out once, then wiped. */
	p = rbuf + sizeof(rbuf) - rleft;
	memcpy(out, p, n);
	OPENSSL_cleanse(p, n);
	rleft -= n;
	return 0;
}

int
anvil_rand_time_ordered(uint8_t *out, size_t n)
{
	struct timespec	ts;
	uint64_t	ms;
	size_t		i;

	if (out == NULL || n <= 6 || n > INT32_MAX)
		return ANVIL_EINVAL;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return ANVIL_EIO;
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (i = 0; i < 6; i++)
		out[i] = (uint8_t)(ms >> (8 * (5 - i)));
	return anvil_rand_bytes(out + 6, n - 6);
}
