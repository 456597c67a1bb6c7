#!/usr/bin/env bash
# run.sh - runs the negative cases (cases.py) against one fresh server, or
# against the server given.  Prints TAP lines; after the server stops, one
# more line says whether it stopped cleanly (no sanitizer report).
#
# Usage: run.sh [DIRECTORY_URL CA_BUNDLE [ROOT]]   (see tests/lib/target.sh)
# NEGATIVE_ONLY="case case..." runs only those cases.
set -euo pipefail
TEST_NAME=negative
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"

fixture_begin "$@"
if [ -n "${SERVER_STATE:-}" ]; then
	export ANVIL_DB=$SERVER_STATE/anvil-ca.db
fi
"$PY" "$REPO_ROOT/tests/negative/cases.py" "$ACME_DIRECTORY" \
    "$ACME_CA_BUNDLE" || exit 1
