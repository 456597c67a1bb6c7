#!/usr/bin/env bash
# nginx-stapling.sh - nginx, started by this test with `ssl_stapling on`
# and `ssl_stapling_verify on`, serves a certificate certbot got from
# anvil-ca; nginx fetches the OCSP response from the URL in the
# certificate's AIA (anvil-ca's responder) and staples it: `openssl
# s_client -status` must show a successful response saying good.
set -euo pipefail
TEST_NAME=nginx-stapling
. "$(dirname "$0")/../lib/common.sh"
. "$TESTLIB_DIR/target.sh"
. "$TESTLIB_DIR/certbot.sh"
. "$TESTLIB_DIR/revocation.sh"

[ "$TARGET" = anvil ] || { log "SKIP: anvil-ca only"; exit 0; }
command -v nginx >/dev/null || die "nginx is not installed (scripts/install-deps)"
fixture_begin
n1=$(rand_name)
certbot_certonly t1 -d "$n1"
live=$TEST_TMP/certbot/config/live/t1
cat "$ACME_ROOT" "$live/chain.pem" >"$TEST_TMP/trusted.pem"

port=$(free_ports 1)
d=$TEST_TMP/nginx
mkdir -p "$d/logs" "$d/tmp"
cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/logs/error.log info;
events { worker_connections 64; }
http {
	access_log $d/logs/access.log;
	client_body_temp_path $d/tmp;
	proxy_temp_path $d/tmp;
	fastcgi_temp_path $d/tmp;
	uwsgi_temp_path $d/tmp;
	scgi_temp_path $d/tmp;
	server {
		listen 127.0.0.1:$port ssl;
		server_name $n1;
		ssl_certificate $live/fullchain.pem;
		ssl_certificate_key $live/privkey.pem;
		ssl_stapling on;
		ssl_stapling_verify on;
		ssl_trusted_certificate $TEST_TMP/trusted.pem;
		location / { return 200 "ok\n"; }
	}
}
EOF
show_on_failure "$d/logs/error.log"
spawn nginx nginx -p "$d" -c "$d/nginx.conf"
wait_until 10 curl -sk -o /dev/null "https://127.0.0.1:$port/" ||
    die "nginx did not start"

# nginx fetches the response on the first handshakes and staples it on
# later ones: ask until it does, for at most 20 s.
for ((i = 0; i < 40; i++)); do
	out=$(openssl s_client -connect "127.0.0.1:$port" -servername "$n1" \
	    -status -CAfile "$ACME_ROOT" </dev/null 2>/dev/null || true)
	grep -q "Cert Status: good" <<<"$out" && break
	sleep 0.5
done
grep -q "OCSP Response Status: successful" <<<"$out" ||
    die "nginx stapled no OCSP response: $(grep -A3 'OCSP' <<<"$out" | head -n 8)"
grep -q "Cert Status: good" <<<"$out" || die "stapled response is not good"
if grep -Ei 'ocsp.*(error|fail)' "$d/logs/error.log"; then
	die "nginx logged an OCSP error"
fi
log "nginx staples a good OCSP response from anvil-ca"
