/* va_http01.c - placeholder until the module lands. */
#include "model.h"
