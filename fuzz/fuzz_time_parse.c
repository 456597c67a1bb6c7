/*
 * fuzz_time_parse.c - RFC 3339 date-times (anvil_time_parse,
 * anvil_time_fmt), as in "notBefore"/"notAfter" of a newOrder request.
 *
 * Asserts: a parsed time inside the range anvil_time_fmt writes formats
 * to a 20-character "YYYY-MM-DDTHH:MM:SSZ" string that parses back to
 * the same time; and any 64-bit time (the first 8 input bytes) formats,
 * clamped to 0000..9999 years, to a string that parses back to the
 * clamped value.  A time in the canonical spelling formats to exactly
 * the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "anvil/error.h"
#include "anvil/json.h"
#include "fuzz.h"

/* 9999-12-31T23:59:59Z, the last time anvil_time_fmt can write. */
#define TIME_MAX	INT64_C(253402300799)

/* Formats t (in range) and parses it back. */
static void
check_fmt(int64_t t)
{
	char	 s[32];
	int64_t	 back = -1;
	size_t	 i;

	anvil_time_fmt(t, s);
	FUZZ_CHECK(strlen(s) == 20);
	for (i = 0; i < 20; i++) {
		if (i == 4 || i == 7)
			FUZZ_CHECK(s[i] == '-');
		else if (i == 10)
			FUZZ_CHECK(s[i] == 'T');
		else if (i == 13 || i == 16)
			FUZZ_CHECK(s[i] == ':');
		else if (i == 19)
			FUZZ_CHECK(s[i] == 'Z');
		else
			FUZZ_CHECK(s[i] >= '0' && s[i] <= '9');
	}
	FUZZ_CHECK(anvil_time_parse(s, &back) == 0);
	if (t < 0)
		t = 0;
	if (t > TIME_MAX)
		t = TIME_MAX;
	FUZZ_CHECK(back == t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t	 u = 0;
	int64_t		 t = 0;
	char		*s, out[32];
	size_t		 i;
	int		 rc;

	if (size > 4096)
		return 0;
	s = fuzz_strndup(data, size);
	if (s == NULL)
		return 0;
	rc = anvil_time_parse(s, &t);
	FUZZ_CHECK(rc == 0 || rc == ANVIL_EINVAL);
	if (rc == 0) {
		/* The shortest form is "YYYY-MM-DDTHH:MM:SSZ". */
		FUZZ_CHECK(strlen(s) >= 20);
		if (t >= 0 && t <= TIME_MAX)
			check_fmt(t);
		/* The canonical spelling, without a leap second, is what
		 * anvil_time_fmt writes for it. */
		if (strlen(s) == 20 && s[10] == 'T' && s[19] == 'Z' &&
		    s[17] != '6' && t >= 0 && t <= TIME_MAX) {
			anvil_time_fmt(t, out);
			FUZZ_CHECK(strcmp(out, s) == 0);
		}
	}
	for (i = 0; i < 8 && i < size; i++)
		u = u << 8 | data[i];
	check_fmt((int64_t)u);
	free(s);
	return 0;
}
