#!/usr/bin/env bash
# run.sh - runs flows.py against one fresh anvil-ca.  Prints TAP lines.
#
# Usage: run.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]   (see tests/lib/target.sh)
set -euo pipefail
TEST_NAME=flows
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"

fixture_begin "$@"
"$PY" "$REPO_ROOT/tests/integration/flows.py" "$ACME_DIRECTORY" \
    "$ACME_CA_BUNDLE" "$ACME_ROOT" || exit 1
