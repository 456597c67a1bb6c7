/*
 * fuzz.h - what every fuzz target shares: the libFuzzer entry point and an
 * assertion that stays on in every build type.
 *
 * A target checks properties, not only "does not crash": a failed
 * FUZZ_CHECK prints the condition and aborts, which both libFuzzer and
 * the replay driver (main.c) report as a crash with the input saved.
 */
#ifndef ANVIL_FUZZ_H
#define ANVIL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The libFuzzer interface; main.c calls it when libFuzzer is not used. */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: fuzz check failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

/*
 * Returns a NUL-terminated copy of data (free()), for the APIs that take
 * C strings; NULL on allocation failure (the caller then skips the input).
 */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char	*s;

	s = malloc(size + 1);
	if (s == NULL)
		return NULL;
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

#endif
