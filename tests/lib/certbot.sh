# certbot.sh - runs certbot against the fixture's server, everything in
# $TEST_TMP/certbot, trusting $ACME_CA_BUNDLE.  Requires common.sh and
# target.sh (fixture_begin first).

# certbot_cmd ARGS... - certbot with the server, directories and trust set.
certbot_cmd() {
	local d=$TEST_TMP/certbot
	mkdir -p "$d/config" "$d/work" "$d/logs"
	REQUESTS_CA_BUNDLE=$ACME_CA_BUNDLE certbot "$@" \
	    --server "$ACME_DIRECTORY" \
	    --config-dir "$d/config" --work-dir "$d/work" \
	    --logs-dir "$d/logs" --non-interactive --no-random-sleep-on-renew \
	    --max-log-backups 0
}

# certbot_certonly NAME -d DOMAIN... - gets certificate lineage NAME by
# http-01 with certbot's standalone responder on $HTTP01_PORT.
certbot_certonly() {
	local name=$1
	shift
	show_on_failure "$TEST_TMP/certbot-$name.log"
	show_on_failure "$TEST_TMP/certbot/logs/letsencrypt.log"
	certbot_cmd certonly --standalone --preferred-challenges http \
	    --http-01-address 127.0.0.1 --http-01-port "$HTTP01_PORT" \
	    --agree-tos --register-unsafely-without-email \
	    --cert-name "$name" "$@" >"$TEST_TMP/certbot-$name.log" 2>&1 ||
	    die "certbot certonly failed"
}
