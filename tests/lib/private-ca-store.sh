#!/usr/bin/env bash
# private-ca-store.sh - runs a command in a private mount namespace where
# /etc/ssl/certs holds only the given CA bundle (as ca-certificates.crt and
# as hashed links), for clients that have no option to name a CA file.
# The machine's own /etc/ssl/certs is not touched.
#
# Usage (as root): private-ca-store.sh BUNDLE CMD [ARGS...]
set -euo pipefail
bundle=${1:?usage: $0 BUNDLE CMD [ARGS...]}
shift
[ $# -ge 1 ] || { echo "usage: $0 BUNDLE CMD [ARGS...]" >&2; exit 2; }
store=$(mktemp -d "${TMPDIR:-/tmp}/ca-store.XXXXXX")
trap 'rm -rf "$store"' EXIT
cp "$bundle" "$store/ca-certificates.crt"
# One file per certificate, so that hashed lookups (CApath) work too.
awk -v d="$store" '
	/-----BEGIN CERTIFICATE-----/ { n++ }
	n > 0 { print > (d "/ca-" n ".pem") }
' "$bundle"
openssl rehash "$store" >/dev/null 2>&1 || true
# unshare needs the store to outlive exec: run, then clean up via the trap.
unshare --mount --propagation private \
    sh -c 'mount --bind "$0" /etc/ssl/certs && exec "$@"' "$store" "$@"
