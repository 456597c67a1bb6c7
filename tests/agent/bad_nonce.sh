#!/bin/bash
# bad_nonce.sh - a Pebble that rejects 10% of nonces (badNonce): anvil
# retries with the fresh nonce and every issue succeeds.  Pebble does not
# log its rejections, but six issues make about 70 signed requests: without
# retries all would pass with a chance of 0.9^70, under 0.1%.
set -euo pipefail
TEST_NAME=bad_nonce
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"
[ -f "$TEST_TMP/pebble/config.json" ] || { echo "ok bad_nonce_retried # skip: needs Pebble"; exit 0; }

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
