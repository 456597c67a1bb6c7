/*
 * problem.c - the RFC 8555 §6.7 error type table (see anvil/problem.h).
 */
#include <string.h>

#include "anvil/problem.h"

static const struct {
	const char	*name;	/* after ANVIL_PROBLEM_NS */
	int		 status;	/* default HTTP status */
} problems[ANVIL_PROB__MAX] = {
#define ANVIL_PROBLEM_ROW(e, s, h) [ANVIL_PROB_##e] = { s, h },
	ANVIL_PROBLEM_MAP(ANVIL_PROBLEM_ROW)
#undef ANVIL_PROBLEM_ROW
};

const char *
anvil_problem_name(enum anvil_problem p)
{
	if ((unsigned)p >= ANVIL_PROB__MAX)
		return NULL;
	return problems[p].name;
}

int
anvil_problem_status(enum anvil_problem p)
{
	if ((unsigned)p >= ANVIL_PROB__MAX)
		return 400;
	return problems[p].status;
}

enum anvil_problem
anvil_problem_parse(const char *type)
{
	size_t	 nslen = sizeof(ANVIL_PROBLEM_NS) - 1;
	size_t	 i;

	if (type == NULL || strncmp(type, ANVIL_PROBLEM_NS, nslen) != 0)
		return ANVIL_PROB__MAX;
	type += nslen;
	for (i = 0; i < ANVIL_PROB__MAX; i++)
		if (strcmp(type, problems[i].name) == 0)
			return (enum anvil_problem)i;
	return ANVIL_PROB__MAX;
}
