/*
 * buf.c - growable byte buffer with a hard maximum (see anvil/buf.h).
 *
 * The buffer grows geometrically but never allocates more than max + 1
 * bytes, so a peer cannot make us hold more than the limit chosen by the
 * caller when the buffer was initialised.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/buf.h"
#include "anvil/error.h"

void
anvil_buf_init(struct anvil_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/*
 * Makes room for n more bytes plus the NUL.  Returns 0, ANVIL_E2BIG when
 * len + n would pass the maximum, or ANVIL_ENOMEM.  b is unchanged on error.
 */
static int
grow(struct anvil_buf *b, size_t n)
{
	size_t	 need, ncap;
	char	*p;

	if (n > b->max || b->len > b->max - n)
		return ANVIL_E2BIG;
	need = b->len + n + 1;	/* cannot overflow: max < SIZE_MAX */
	if (need <= b->cap)
		return 0;
	ncap = b->cap < 64 ? 64 : b->cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need;
			break;
		}
		ncap *= 2;
	}
	if (ncap > b->max + 1)
		ncap = b->max + 1;
	if (ncap < need)
		ncap = need;
	p = realloc(b->data, ncap);
	if (p == NULL)
		return ANVIL_ENOMEM;
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
anvil_buf_add(struct anvil_buf *b, const void *p, size_t n)
{
	int	 rc;

	if (b->max == SIZE_MAX)
		return ANVIL_EINVAL;
	rc = grow(b, n);
	if (rc != 0)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
anvil_buf_adds(struct anvil_buf *b, const char *s)
{
	return anvil_buf_add(b, s, strlen(s));
}

int
anvil_buf_addf(struct anvil_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return ANVIL_EINVAL;
	if (b->max == SIZE_MAX)
		return ANVIL_EINVAL;
	rc = grow(b, (size_t)n);
	if (rc != 0)
		return rc;
	va_start(ap, fmt);
	/* grow() left room for n characters and the NUL. */
	n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return ANVIL_EINVAL;
	}
	b->len += (size_t)n;
	return 0;
}

void
anvil_buf_reset(struct anvil_buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

char *
anvil_buf_take(struct anvil_buf *b, size_t *ret_len)
{
	char	*p;

	p = b->data;
	if (p == NULL) {
		p = strdup("");
		if (p == NULL)
			return NULL;
	}
	if (ret_len != NULL)
		*ret_len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

void
anvil_buf_free(struct anvil_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}
