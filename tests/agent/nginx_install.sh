#!/bin/bash
# nginx_install.sh - the certificate in service: a real nginx (Debian
# package), started here on a free loopback port in the foreground with its
# own configuration, pid and logs in the test's directory, serves
# STATE/live/NAME/{fullchain,privkey}.pem; after "anvil renew --force
# --deploy-hook 'nginx ... -s reload'" openssl s_client sees the new
# serial.
set -euo pipefail
TEST_NAME=nginx_install
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || NGINX=/usr/sbin/nginx
[ -x "$NGINX" ] || skip "nginx is not installed"

N=web-$(rand_label).example.test
D=$TEST_TMP/nginx
mkdir -p "$D/tmp" "$D/logs"
mapfile -t NP < <(free_ports 1)
PORT=${NP[0]}
# The exact command line that reaches this nginx's master (-s reload reads
# the pid file named in the configuration).
NGX=("$NGINX" -p "$D" -c "$D/nginx.conf" -e "$D/logs/error.log")
RELOAD="${NGX[*]} -s reload"

cat >"$D/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $D/nginx.pid;
error_log $D/logs/error.log;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path $D/tmp/body;
	proxy_temp_path $D/tmp/proxy;
	fastcgi_temp_path $D/tmp/fastcgi;
	uwsgi_temp_path $D/tmp/uwsgi;
	scgi_temp_path $D/tmp/scgi;
	server {
		listen 127.0.0.1:$PORT ssl;
		server_name $N;
		ssl_certificate $ST/live/$N/fullchain.pem;
		ssl_certificate_key $ST/live/$N/privkey.pem;
		location / { return 200 "ok\n"; }
	}
}
EOF

# served_serial - the serial of the certificate nginx presents for N.
served_serial() {
	openssl s_client -connect "127.0.0.1:$PORT" -servername "$N" \
	    </dev/null 2>/dev/null | openssl x509 -noout -serial |
	    sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/^0*//'
}

# nginx starts here (not in a check's subshell) so that the exit hooks
# stop it.
anv issue -d "$N" --http01-standalone --http01-port "$HTTP01_PORT" \
    --email admin@example.org --agree-tos >"$TEST_TMP/issue.out" 2>&1 ||
    die "issue failed: $(cat "$TEST_TMP/issue.out")"
"${NGX[@]}" -t >"$TEST_TMP/nginx-t.out" 2>&1 ||
    die "nginx -t: $(cat "$TEST_TMP/nginx-t.out")"
spawn nginx "${NGX[@]}"
show_on_failure "$D/logs/error.log"
wait_until 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$PORT" ||
    die "nginx did not start: $(cat "$D/logs/error.log")"

t_serves_first() {
	local want got
	verify_live "$N" "$N"
	want=$(cert_serial "$ST/live/$N/cert.pem")
	got=$(served_serial)
	[ "$got" = "$want" ] || fail "nginx serves serial '$got', want $want"
	# It verifies as a client would: the CA's root, the name.
	openssl s_client -connect "127.0.0.1:$PORT" -servername "$N" \
	    -CAfile "$ACME_ROOT" -verify_hostname "$N" -verify_return_error \
	    </dev/null >"$TEST_TMP/sc.out" 2>&1 ||
	    fail "s_client: $(grep -i verif "$TEST_TMP/sc.out" | head -3)"
}

t_renew_reload() {
	local old new got i
	old=$(cert_serial "$ST/live/$N/cert.pem")
	"$ANVIL" --state "$ST" renew --force --cert-name "$N" \
	    --deploy-hook "$RELOAD" >"$TEST_TMP/renew.out" 2>&1 ||
	    fail "renew: $(cat "$TEST_TMP/renew.out")"
	new=$(cert_serial "$ST/live/$N/cert.pem")
	[ "$new" != "$old" ] || fail "renew kept serial $old"
	# The reload is asynchronous: new workers take over.
	for ((i = 0; i < 100; i++)); do
		got=$(served_serial)
		[ "$got" = "$new" ] && break
		sleep 0.1
	done
	[ "$got" = "$new" ] || fail "nginx still serves '$got', want $new"
	# The hook is recorded: a later renew reloads nginx again.
	grep -qF "\"deploy_hook\":\"$RELOAD\"" "$ST/renewal/$N.json" ||
	    fail "$(cat "$ST/renewal/$N.json")"
}

t_hook_failure_reported() {
	local rc=0
	"$ANVIL" --state "$ST" renew --force --cert-name "$N" \
	    --deploy-hook "$RELOAD -g 'bad directive'" >/dev/null \
	    2>"$TEST_TMP/hook.err" || rc=$?
	[ "$rc" -eq 1 ] || fail "exit status $rc"
	grep -q "deploy hook .* exited with status" "$TEST_TMP/hook.err" ||
	    fail "$(cat "$TEST_TMP/hook.err")"
	grep -q "run the deploy hook by hand" "$TEST_TMP/hook.err" ||
	    fail "no next step: $(cat "$TEST_TMP/hook.err")"
	# Put the good hook back.
	"$ANVIL" --state "$ST" renew --force --cert-name "$N" \
	    --deploy-hook "$RELOAD" >/dev/null
}

check nginx_serves_issued_certificate t_serves_first
check nginx_renew_force_deploy_hook_reload t_renew_reload
check nginx_failing_reload_reported t_hook_failure_reported
agent_end
