#!/bin/bash
# bad_nonce.sh - badNonce answers (RFC 8555 §6.5) are retried with the
# fresh nonce they carry, and the issue succeeds.
#
# Against Pebble: a second Pebble rejects 10% of nonces.  It does not log
# its rejections, but six issues make about 70 signed requests: without
# retries all would pass with a chance of 0.9^70, under 0.1%.
#
# Against anvil-ca: its nonces die with its process (persist.py checks
# that an old one is refused), so a dns-01 hook (hooks/restart-ca.sh)
# restarts it after the agent has read the authorization and before it
# POSTs the challenge: the nonce the agent holds then is refused for
# certain, and the issue succeeds only through the retry.  The agent's
# kept-alive connection to the old process must be replaced as well.
set -euo pipefail
TEST_NAME=bad_nonce
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

# Against anvil-ca: restarted by the dns-01 hook (hooks/restart-ca.sh).
if [ -n "${SERVER_STATE:-}" ]; then
	PIDFILE=$TEST_TMP/ca.pid
	ARGVFILE=$TEST_TMP/ca.argv
	CA_OUT=$TEST_TMP/anvil-ca2.out
	CA_ERR=$TEST_TMP/anvil-ca2.err
	first_pid=$_server_pid
	echo "$first_pid" >"$PIDFILE"
	cp "/proc/$first_pid/cmdline" "$ARGVFILE"
	: >"$CA_OUT"
	: >"$CA_ERR"
	export PIDFILE ARGVFILE CA_OUT CA_ERR CHALLTESTSRV_URL \
	    ACME_DIRECTORY ACME_CA_BUNDLE
	# The restarted server is no child of this shell: stopped here
	# (SIGTERM, then SIGKILL after 15 s), also when the test dies.
	stop_restarted() {
		local pid i
		pid=$(cat "$PIDFILE")
		[ "$pid" != "$first_pid" ] || return 0
		kill -TERM "$pid" 2>/dev/null || return 0
		for ((i = 0; i < 150; i++)); do
			kill -0 "$pid" 2>/dev/null || return 0
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null || true
		return 1
	}
	on_exit stop_restarted

	t_retried_after_restart() {
		local n
		n=r-$(rand_label).example.test
		anv issue -d "$n" --dns01-hook "$AGENT_DIR/hooks/restart-ca.sh" \
		    --dns-resolver "$DNS_SERVER" --propagation-timeout 20 \
		    --dns-timeout 2 --email admin@example.org --agree-tos \
		    >/dev/null
		[ "$(cat "$PIDFILE")" != "$first_pid" ] ||
		    fail "the hook did not restart anvil-ca"
		verify_live "$n" "$n"
	}
	t_restarted_server_clean() {
		stop_restarted || fail "the restarted anvil-ca ignored SIGTERM"
		if grep -qE "ERROR: AddressSanitizer|runtime error:|LeakSanitizer" \
		    "$CA_ERR"; then
			tail -n 30 "$CA_ERR"
			fail "sanitizer report from the restarted anvil-ca"
		fi
	}
	check bad_nonce_retried t_retried_after_restart
	# The hook stopped the first server: the harness must not stop it
	# again (it reaps it here).
	wait "$first_pid" 2>/dev/null || true
	_server_pid=
	check restarted_server_clean t_restarted_server_clean
	agent_end
fi

# A second Pebble, with its own ports, rejecting nonces.
mapfile -t P < <(free_ports 2)
sed -e "s/\"listenAddress\": *\"[^\"]*\"/\"listenAddress\": \"127.0.0.1:${P[0]}\"/" \
    -e "s/\"managementListenAddress\": *\"[^\"]*\"/\"managementListenAddress\": \"127.0.0.1:${P[1]}\"/" \
    "$TEST_TMP/pebble/config.json" >"$TEST_TMP/pebble2.json"
spawn pebble2 env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=10 \
    pebble -config "$TEST_TMP/pebble2.json" -strict -dnsserver "$DNS_SERVER"
DIR2=https://localhost:${P[0]}/dir
wait_until 30 curl -fsS --cacert "$ACME_CA_BUNDLE" "$DIR2" ||
    die "second pebble did not start"
curl -fsS --cacert "$ACME_CA_BUNDLE" -o "$TEST_TMP/root2.pem" \
    "https://localhost:${P[1]}/roots/0" || die "no root"

t_retried() {
	local i n
	for ((i = 0; i < 6; i++)); do
		n=n$i-$(rand_label).example.test
		"$ANVIL" --server "$DIR2" --ca-bundle "$ACME_CA_BUNDLE" \
		    --state "$ST" issue -d "$n" --http01-standalone \
		    --http01-port "$HTTP01_PORT" --email admin@example.org \
		    --agree-tos >/dev/null
		( check_fullchain "$ST/live/$n/fullchain.pem" \
		    "$TEST_TMP/root2.pem" "$n" )
	done
}

check bad_nonce_retried t_retried
agent_end
