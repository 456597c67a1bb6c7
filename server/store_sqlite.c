/* store_sqlite.c - placeholder until the module lands. */
#include "model.h"
