/*
 * buf.h - a growable byte buffer with a hard maximum, after curl's dynbuf.
 *
 * Every buffer that may hold peer data is given its maximum when it is
 * initialised; the limits used across Anvil live in anvil/limits.h.
 * The data is always NUL-terminated (the NUL is not counted in len).
 */
#ifndef ANVIL_BUF_H
#define ANVIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

#include "anvil/common.h"

struct anvil_buf {
	char	*data;	/* from malloc(); NULL until the first add */
	size_t	 len;	/* bytes used, without the NUL */
	size_t	 cap;	/* bytes allocated */
	size_t	 max;	/* len never exceeds this */
};

/* Initialises b empty, with a maximum length of max bytes. */
ANVIL_API void anvil_buf_init(struct anvil_buf *b, size_t max);

/* Appends n bytes.  Returns 0, ANVIL_E2BIG past the maximum (b unchanged),
 * or ANVIL_ENOMEM. */
ANVIL_API int anvil_buf_add(struct anvil_buf *b, const void *p, size_t n)
    ANVIL_MUSTCHECK;

/* Appends a NUL-terminated string. */
ANVIL_API int anvil_buf_adds(struct anvil_buf *b, const char *s)
    ANVIL_MUSTCHECK;

/* Appends printf-formatted text. */
ANVIL_API int anvil_buf_addf(struct anvil_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3))) ANVIL_MUSTCHECK;

/* Empties b, keeping its allocation. */
ANVIL_API void anvil_buf_reset(struct anvil_buf *b);

/* Takes ownership of the data (never NULL: an empty buffer gives "");
 * *ret_len gets the length when ret_len is not NULL.  b is left empty.
 * Returns NULL only on allocation failure.  Free with free(). */
ANVIL_API char *anvil_buf_take(struct anvil_buf *b, size_t *ret_len);

/* Frees the data; b is left empty and reusable. */
ANVIL_API void anvil_buf_free(struct anvil_buf *b);

#endif
