/*
 * anvil.h - the whole public API of libanvil.
 */
#ifndef ANVIL_ANVIL_H
#define ANVIL_ANVIL_H

#include "anvil/common.h"
#include "anvil/error.h"
#include "anvil/limits.h"
#include "anvil/problem.h"
#include "anvil/buf.h"
#include "anvil/b64.h"
#include "anvil/json.h"
#include "anvil/jwk.h"
#include "anvil/jws.h"
#include "anvil/x509.h"

#endif
