/* file.c - placeholder until the module lands. */
#include "anvil/anvil.h"
