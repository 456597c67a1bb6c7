#!/bin/bash
# interrupt.sh - SIGTERM while the CA validates: anvil stops, removes its
# webroot files, stores nothing and exits 130.  The http-01 port holds a
# tarpit that accepts and never answers, so validation hangs.
set -euo pipefail
TEST_NAME=interrupt
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

spawn tarpit "$PY" -c 'import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", '"$HTTP01_PORT"')); s.listen(64)
held = []
while True:
    c, _ = s.accept(); held.append(c)'
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP01_PORT" ||
    die "tarpit did not start"
WEB=$TEST_TMP/www
mkdir -p "$WEB"
N=i-$(rand_label).example.test

t_sigterm() {
	local pid rc=0 i
	# exec: $! is anvil itself, not a subshell running anv.
	(exec "$ANVIL" --server "$ACME_DIRECTORY" --ca-bundle \
	    "$ACME_CA_BUNDLE" --state "$ST" issue -d "$N" --webroot "$WEB" \
	    --email admin@example.org --agree-tos >/dev/null \
	    2>"$TEST_TMP/err") &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		[ -n "$(ls -A "$WEB/.well-known/acme-challenge" 2>/dev/null)" ] &&
		    break
		sleep 0.1
	done
	[ "$i" -lt 100 ] || { kill "$pid"; fail "no challenge file appeared"; }
	sleep 0.5
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 130 ] || fail "exit status $rc: $(cat "$TEST_TMP/err")"
	one_line_error "$TEST_TMP/err"
	grep -q interrupted "$TEST_TMP/err" || fail "$(cat "$TEST_TMP/err")"
	[ ! -e "$WEB/.well-known" ] || fail "left: $(find "$WEB/.well-known")"
	[ ! -e "$ST/live/$N" ] || fail "a certificate was stored"
}

check sigterm_cleans_webroot t_sigterm
agent_end
