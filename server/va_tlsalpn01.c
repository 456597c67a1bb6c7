/* va_tlsalpn01.c - placeholder until the module lands. */
#include "model.h"
