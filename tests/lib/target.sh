# target.sh - starts and stops the ACME server under test and the mock DNS
# server its validation lookups go to.
#
# TARGET=anvil (default) runs $ANVIL_CA (init a fresh state directory, then
# serve); TARGET=pebble runs Debian's pebble, to check the harness itself.
# Both answer validation lookups from pebble-challtestsrv, which gives
# 127.0.0.1 for every name and TXT records set through its HTTP API.
#
# After target_start (or fixture_begin with no URL) these are exported:
#   ACME_DIRECTORY    directory URL
#   ACME_CA_BUNDLE    PEM file to trust for the server's HTTPS (and, for
#                     convenience, its issuing root)
#   ACME_ROOT         the issuing root only: openssl verify -CAfile
#   HTTP01_PORT       port the server's http-01 checks connect to
#   TLSALPN01_PORT    port the server's tls-alpn-01 checks connect to
#   DNS_SERVER        127.0.0.1:PORT of the mock DNS server
#   CHALLTESTSRV_URL  http://127.0.0.1:PORT, its management API
#   CHALLTESTSRV_PID  its process id (bench/compare watches its CPU)
#   SERVER_STATE      anvil-ca's state directory (TARGET=anvil only)
# anvil-ca's plain-HTTP listener (CRLs, OCSP) gets a free port too; its URL
# is the "anvil-ca: public URL" line of $TEST_TMP/anvil-ca.out.
#
# Requires common.sh.

: "${ASAN_OPTIONS:=detect_leaks=1:abort_on_error=1}"
: "${UBSAN_OPTIONS:=halt_on_error=1:print_stacktrace=1}"
export ASAN_OPTIONS UBSAN_OPTIONS TARGET ANVIL_CA

# Seconds a server may take to answer its directory (ASan is slow to start).
: "${SERVER_START_SECS:=30}"

_server_pid=
_server_name=

# challtestsrv_start DNSPORT MGMTPORT - starts the mock DNS server.
challtestsrv_start() {
	local dns=$1 mgmt=$2
	spawn challtestsrv pebble-challtestsrv \
	    -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
	    -dns01 "127.0.0.1:$dns" -http01 "" -https01 "" -tlsalpn01 "" \
	    -management "127.0.0.1:$mgmt"
	CHALLTESTSRV_PID=$SPAWN_PID
	DNS_SERVER=127.0.0.1:$dns
	CHALLTESTSRV_URL=http://127.0.0.1:$mgmt
	export DNS_SERVER CHALLTESTSRV_URL CHALLTESTSRV_PID
	wait_until 10 curl -s -o /dev/null "$CHALLTESTSRV_URL/" ||
	    die "pebble-challtestsrv did not start"
}

# challtest_set_txt NAME VALUE - adds a TXT record (NAME without the final
# dot is fine).
challtest_set_txt() {
	local host=${1%.}.
	curl -fsS -X POST -d "{\"host\":\"$host\",\"value\":\"$2\"}" \
	    "$CHALLTESTSRV_URL/set-txt"
}

# challtest_clear_txt NAME - removes the TXT records of NAME.
challtest_clear_txt() {
	local host=${1%.}.
	curl -fsS -X POST -d "{\"host\":\"$host\"}" \
	    "$CHALLTESTSRV_URL/clear-txt"
}

# _check_sanitizer FILE WHAT - fails the script if FILE holds a report.
_check_sanitizer() {
	if sanitizer_report "$1"; then
		printf -- '----- sanitizer report in %s -----\n' "$1" >&2
		grep -E -A40 'ERROR: |runtime error:' "$1" | head -80 >&2
		hook_fail "$2: sanitizer report"
	fi
}

# anvil_start LISTENPORT PUBLICPORT - init a fresh state directory and
# serve it: ACME over HTTPS on LISTENPORT, CRLs and OCSP over plain HTTP on
# PUBLICPORT (given, so that it is a free port too).  init is told that
# public URL, so that the intermediate's CDP names this server's root.crl.
anvil_start() {
	local port=$1 pub=$2 st=$TEST_TMP/state i
	[ -x "$ANVIL_CA" ] || die "no anvil-ca binary at $ANVIL_CA"
	show_on_failure "$TEST_TMP/anvil-init.err"
	if ! "$ANVIL_CA" init --state "$st" --tls-name localhost \
	    --public-base-url "http://localhost:$pub" \
	    >"$TEST_TMP/anvil-init.out" 2>"$TEST_TMP/anvil-init.err"; then
		_check_sanitizer "$TEST_TMP/anvil-init.err" "anvil-ca init"
		die "anvil-ca init failed"
	fi
	_check_sanitizer "$TEST_TMP/anvil-init.err" "anvil-ca init"
	if ! "$ANVIL_CA" root --state "$st" >"$TEST_TMP/root.pem" \
	    2>"$TEST_TMP/anvil-root.err"; then
		_check_sanitizer "$TEST_TMP/anvil-root.err" "anvil-ca root"
		die "anvil-ca root failed: $(head -c 300 "$TEST_TMP/anvil-root.err")"
	fi
	_check_sanitizer "$TEST_TMP/anvil-root.err" "anvil-ca root"
	grep -q 'BEGIN CERTIFICATE' "$TEST_TMP/root.pem" ||
	    die "anvil-ca root printed no certificate"
	SERVER_STATE=$st
	ACME_ROOT=$TEST_TMP/root.pem
	ACME_CA_BUNDLE=$TEST_TMP/root.pem

	SPAWN_OWN_STOP=1 spawn anvil-ca "$ANVIL_CA" serve --state "$st" \
	    --listen "127.0.0.1:$port" --http01-port "$HTTP01_PORT" \
	    --tlsalpn01-port "$TLSALPN01_PORT" --resolver "$DNS_SERVER" \
	    --public-listen "127.0.0.1:$pub"
	_server_pid=$SPAWN_PID
	_server_name=anvil-ca
	show_on_failure "$TEST_TMP/anvil-ca.out"
	ACME_DIRECTORY=
	for ((i = 0; i < SERVER_START_SECS * 10; i++)); do
		ACME_DIRECTORY=$(sed -n 's/^anvil-ca: directory //p' \
		    "$TEST_TMP/anvil-ca.out" 2>/dev/null | head -n 1) || true
		[ -n "$ACME_DIRECTORY" ] && break
		kill -0 "$_server_pid" 2>/dev/null ||
		    die "anvil-ca serve exited before it was ready"
		sleep 0.1
	done
	[ -n "$ACME_DIRECTORY" ] ||
	    die "anvil-ca serve printed no directory line in ${SERVER_START_SECS}s"
	wait_until 10 curl -fsS --cacert "$ACME_CA_BUNDLE" \
	    "$ACME_DIRECTORY" ||
	    die "no answer from $ACME_DIRECTORY"
}

# pebble_start LISTENPORT MGMTPORT - runs Pebble with a certificate made
# for localhost, its VA pointed at our ports and DNS server.
pebble_start() {
	local port=$1 mgmt=$2 d=$TEST_TMP/pebble
	mkdir -p "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
	    -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 2 \
	    -subj /CN=localhost \
	    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    >/dev/null 2>&1 || die "cannot make pebble's certificate"
	cat >"$d/config.json" <<-EOF
	{"pebble": {
	  "listenAddress": "127.0.0.1:$port",
	  "managementListenAddress": "127.0.0.1:$mgmt",
	  "certificate": "$d/cert.pem",
	  "privateKey": "$d/key.pem",
	  "httpPort": $HTTP01_PORT,
	  "tlsPort": $TLSALPN01_PORT,
	  "ocspResponderURL": "",
	  "externalAccountBindingRequired": false
	}}
	EOF
	# No validation sleep; no random rejection of good nonces.
	SPAWN_OWN_STOP=1 spawn pebble \
	    env PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 \
	    pebble -config "$d/config.json" -strict -dnsserver "$DNS_SERVER"
	_server_pid=$SPAWN_PID
	_server_name=pebble
	show_on_failure "$TEST_TMP/pebble.out"
	ACME_DIRECTORY=https://localhost:$port/dir
	wait_until "$SERVER_START_SECS" curl -fsS --cacert "$d/cert.pem" \
	    "$ACME_DIRECTORY" || die "pebble did not start"
	curl -fsS --cacert "$d/cert.pem" -o "$TEST_TMP/root.pem" \
	    "https://localhost:$mgmt/roots/0" || die "no pebble root"
	cat "$d/cert.pem" "$TEST_TMP/root.pem" >"$TEST_TMP/bundle.pem"
	ACME_ROOT=$TEST_TMP/root.pem
	ACME_CA_BUNDLE=$TEST_TMP/bundle.pem
	SERVER_STATE=
}

# target_start - starts the mock DNS server and the ACME server on fresh
# ports; both are stopped (and checked) at exit.
target_start() {
	local p
	tmp_init
	mapfile -t p < <(free_ports 6)
	[ "${#p[@]}" -eq 6 ] || die "cannot find free ports"
	HTTP01_PORT=${p[0]}
	TLSALPN01_PORT=${p[1]}
	export HTTP01_PORT TLSALPN01_PORT
	challtestsrv_start "${p[2]}" "${p[3]}"
	on_exit target_stop
	case $TARGET in
	anvil)	anvil_start "${p[4]}" "${p[5]}" ;;
	pebble)	pebble_start "${p[4]}" "${p[5]}" ;;
	*)	die "unknown TARGET '$TARGET' (anvil or pebble)" ;;
	esac
	export ACME_DIRECTORY ACME_CA_BUNDLE ACME_ROOT SERVER_STATE
	log "$TARGET at $ACME_DIRECTORY"
}

# target_stop - stops the server with SIGTERM; fails the script if it did
# not exit cleanly, died early, or wrote a sanitizer report.
target_stop() {
	local rc=0 pid=$_server_pid
	[ -n "$pid" ] || return 0
	_server_pid=
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid" 2>/dev/null || rc=$?
		hook_fail "$_server_name exited on its own (status $rc)"
	else
		stop_pid "$pid" 15 || rc=$?
		case $_server_name:$rc in
		anvil-ca:0 | pebble:*) ;;
		*) hook_fail "$_server_name exited with status $rc after SIGTERM" ;;
		esac
	fi
	_check_sanitizer "$TEST_TMP/$_server_name.err" "$_server_name"
	_check_sanitizer "$TEST_TMP/$_server_name.out" "$_server_name"
}

# fixture_begin [DIRECTORY_URL CA_BUNDLE [ROOT]] - with no arguments, starts
# a fresh server (target_start).  With a URL, uses that server: then the
# environment must give HTTP01_PORT, TLSALPN01_PORT, DNS_SERVER and
# CHALLTESTSRV_URL as that server was started with, and ROOT (default
# CA_BUNDLE) must hold the issuing root.
fixture_begin() {
	tmp_init
	if [ $# -ge 1 ] && [ -n "$1" ]; then
		ACME_DIRECTORY=$1
		ACME_CA_BUNDLE=${2:?usage: $0 [DIRECTORY_URL CA_BUNDLE [ROOT]]}
		ACME_ROOT=${3:-$2}
		: "${HTTP01_PORT:?set HTTP01_PORT for an external server}"
		: "${TLSALPN01_PORT:?set TLSALPN01_PORT for an external server}"
		: "${DNS_SERVER:?set DNS_SERVER for an external server}"
		: "${CHALLTESTSRV_URL:?set CHALLTESTSRV_URL for an external server}"
		export ACME_DIRECTORY ACME_CA_BUNDLE ACME_ROOT
	else
		target_start
	fi
}
