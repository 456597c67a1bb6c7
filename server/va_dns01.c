/* va_dns01.c - placeholder until the module lands. */
#include "model.h"
