# common.sh - shell helpers shared by the test scripts: temporary
# directories, exit hooks, background processes, bounded waits, free
# ports, random names, certificate checks.
#
# Source it from bash (set -euo pipefail is the callers' business).  Every
# process started with spawn is stopped at exit; every wait is bounded.

# Debian's interpreter: a python3 found first in PATH (pyenv, venv) may lack
# python3-cryptography.
PY=/usr/bin/python3

TESTLIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$TESTLIB_DIR/../.." && pwd)

# The program under test; scripts/test points it at the ASan build.
: "${ANVIL_CA:=$REPO_ROOT/build/server/anvil-ca}"
# anvil (default) or pebble: which ACME server the fixtures start.
: "${TARGET:=anvil}"

_exit_hooks=()
_fail_logs=()
_hook_failure=

log() {
	printf '%s: %s\n' "${TEST_NAME:-test}" "$*" >&2
}

die() {
	log "FAIL: $*"
	exit 1
}

# skip REASON - ends the script as skipped (exit 77, as meson counts it).
skip() {
	log "SKIP: $*"
	exit 77
}

# on_exit CMD - runs CMD (a string, eval'd) when the script exits; hooks run
# last-registered first.
on_exit() {
	_exit_hooks+=("$1")
}

# hook_fail REASON - called from an exit hook: the script fails even if it
# was passing (e.g. the server's stderr holds a sanitizer report).
hook_fail() {
	_hook_failure="${_hook_failure:+$_hook_failure; }$1"
}

# show_on_failure FILE - prints the tail of FILE if the script fails.
show_on_failure() {
	_fail_logs+=("$1")
}

tail_log() {
	local f=$1 n=${2:-40}
	[ -s "$f" ] || return 0
	printf -- '----- %s (last %s lines) -----\n' "$f" "$n" >&2
	tail -n "$n" "$f" >&2
}

_run_exit_hooks() {
	local rc=$? i f
	set +e
	trap - EXIT INT TERM
	for ((i = ${#_exit_hooks[@]} - 1; i >= 0; i--)); do
		eval "${_exit_hooks[$i]}"
	done
	if [ -n "$_hook_failure" ]; then
		log "FAIL: $_hook_failure"
		case $rc in 0 | 77) rc=1 ;; esac
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		for f in "${_fail_logs[@]}"; do
			tail_log "$f" 40
		done
	fi
	if { [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; } && [ -n "${TEST_TMP:-}" ] &&
	    [ -z "${KEEP_TMP:-}" ]; then
		rm -rf "$TEST_TMP"
	elif [ -n "${TEST_TMP:-}" ]; then
		log "files kept in $TEST_TMP"
	fi
	exit "$rc"
}
trap _run_exit_hooks EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# tmp_init - creates TEST_TMP (removed at exit when the script passed).
tmp_init() {
	if [ -z "${TEST_TMP:-}" ]; then
		TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/anvil-test.XXXXXX")
	fi
	export TEST_TMP
}

# spawn NAME CMD... - starts CMD in the background, stdout and stderr in
# $TEST_TMP/NAME.out and NAME.err.  Sets SPAWN_PID.  The process is
# stopped at exit (SIGTERM, then SIGKILL after 10 s) unless the caller
# set SPAWN_OWN_STOP=1 and stops it itself from its own exit hook.
spawn() {
	local name=$1
	shift
	# Created here, not by the background child: readers may look at
	# once.
	: >"$TEST_TMP/$name.out"
	: >"$TEST_TMP/$name.err"
	"$@" >>"$TEST_TMP/$name.out" 2>>"$TEST_TMP/$name.err" </dev/null &
	SPAWN_PID=$!
	if [ -z "${SPAWN_OWN_STOP:-}" ]; then
		on_exit "stop_pid $SPAWN_PID 10 >/dev/null 2>&1"
	fi
	show_on_failure "$TEST_TMP/$name.err"
}

# stop_pid PID [SECONDS] - sends SIGTERM, waits at most SECONDS (default
# 10), then SIGKILL.  Returns the process's exit status (143 after a
# SIGTERM that was not handled, 137 after SIGKILL), 0 if already gone and
# reaped.
stop_pid() {
	local pid=$1 secs=${2:-10} i rc=0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return $?; }
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		log "pid $pid ignored SIGTERM for ${secs}s: SIGKILL"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || rc=$?
	return "$rc"
}

# wait_until SECONDS CMD... - runs CMD every 0.1 s until it succeeds;
# returns 1 after SECONDS.
wait_until() {
	local secs=$1 i
	shift
	for ((i = 0; i < secs * 10; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# free_ports N - prints N distinct loopback ports free for TCP and UDP.
free_ports() {
	"$PY" "$TESTLIB_DIR/freeport.py" "$1"
}

# rand_label - a random DNS label (12 lowercase hex characters).
rand_label() {
	od -An -N6 -tx1 /dev/urandom | tr -d ' \n'
}

# rand_name - a random name under example.test.
rand_name() {
	printf '%s.example.test\n' "$(rand_label)"
}

# split_chain FULLCHAIN LEAF REST - writes the first certificate of a PEM
# chain to LEAF and the others to REST.
split_chain() {
	awk -v leaf="$2" -v rest="$3" '
		/-----BEGIN CERTIFICATE-----/ { n++ }
		n == 1 { print > leaf; next }
		n > 1 { print > rest }
	' "$1"
	[ -s "$2" ] || die "no certificate in $1"
	[ -f "$3" ] || : >"$3"
}

# cert_sans CERT - prints the certificate's subjectAltName entries, one a
# line, sorted ("DNS:a.example.test").
cert_sans() {
	openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
	    sed -n '2,$p' | tr ',' '\n' | sed 's/^ *//; /^$/d' | sort
}

# oneline TEXT - TEXT's lines joined by spaces.
oneline() {
	printf '%s\n' "$1" | paste -sd ' ' -
}

# check_cert CERT CHAIN ROOT NAME... - the certificate must chain to ROOT
# through CHAIN for TLS server use, and its SANs must be exactly NAME...
check_cert() {
	local cert=$1 chain=$2 root=$3 out want got
	shift 3
	local untrusted=()
	[ -s "$cert" ] || die "no certificate at $cert"
	# A leaf signed by the root itself comes with an empty chain.
	if grep -q 'BEGIN CERTIFICATE' "$chain"; then
		untrusted=(-untrusted "$chain")
	fi
	if ! out=$(openssl verify -purpose sslserver -CAfile "$root" \
	    "${untrusted[@]}" "$cert" 2>&1); then
		die "openssl verify failed: $out"
	fi
	want=$(printf 'DNS:%s\n' "$@" | sort)
	got=$(cert_sans "$cert") || got=
	if [ "$want" != "$got" ]; then
		die "SANs differ: want [$(oneline "$want")] got [$(oneline "$got")]"
	fi
	log "certificate ok: $(oneline "$got")"
}

# check_fullchain FULLCHAIN ROOT NAME... - check_cert on a PEM file that
# holds the leaf followed by its chain.
check_fullchain() {
	local full=$1 root=$2 d
	shift 2
	d=$(mktemp -d "$TEST_TMP/chk.XXXXXX")
	split_chain "$full" "$d/leaf.pem" "$d/chain.pem"
	check_cert "$d/leaf.pem" "$d/chain.pem" "$root" "$@"
}

# sanitizer_report FILE - succeeds when FILE holds a sanitizer report.
sanitizer_report() {
	[ -f "$1" ] && grep -qE -e 'ERROR: (Address|Leak|Memory|Thread)Sanitizer' \
	    -e 'runtime error:' -e 'UndefinedBehaviorSanitizer' "$1"
}

# http_server DIR PORT - serves DIR over plain HTTP on 127.0.0.1:PORT
# (http-01 answers written by a client's hook) until exit.
http_server() {
	local dir=$1 port=$2
	spawn "httpd-$port" "$PY" -m http.server --bind 127.0.0.1 \
	    --directory "$dir" "$port"
	wait_until 10 curl -s -o /dev/null "http://127.0.0.1:$port/" ||
	    die "http server on port $port did not start"
}

# check_revoked CERT CHAIN ROOT BUNDLE - when CERT names an OCSP responder
# (AIA) or a CRL distribution point, asks it (fetched with curl, trusting
# BUNDLE) and requires CERT to be reported revoked, with the answer's
# signature checked against CHAIN and ROOT.  Without either pointer it
# says so and succeeds: the caller checks alreadyRevoked instead.
check_revoked() {
	local cert=$1 chain=$2 root=$3 bundle=$4 d url serial seen=
	d=$(mktemp -d "$TEST_TMP/rev.XXXXXX")
	cat "$chain" "$root" >"$d/cas.pem"
	split_chain "$chain" "$d/issuer.pem" "$d/rest.pem"
	serial=$(openssl x509 -in "$cert" -noout -serial |
	    sed 's/^serial=//') || die "cannot read the serial of $cert"
	url=$(openssl x509 -in "$cert" -noout -ocsp_uri 2>/dev/null |
	    head -n 1) || url=
	if [ -n "$url" ]; then
		seen=1
		openssl ocsp -issuer "$d/issuer.pem" -cert "$cert" -no_nonce \
		    -reqout "$d/req.der" >/dev/null 2>&1 ||
		    die "cannot build an OCSP request"
		curl -fsS --cacert "$bundle" --max-time 10 \
		    -H 'Content-Type: application/ocsp-request' \
		    --data-binary @"$d/req.der" -o "$d/resp.der" "$url" ||
		    die "OCSP request to $url failed"
		openssl ocsp -respin "$d/resp.der" -issuer "$d/issuer.pem" \
		    -cert "$cert" -CAfile "$d/cas.pem" -no_nonce \
		    >"$d/ocsp.txt" 2>&1 ||
		    die "OCSP answer does not verify: $(head -c 300 "$d/ocsp.txt")"
		grep -q ": revoked" "$d/ocsp.txt" ||
		    die "OCSP does not say revoked: $(head -c 300 "$d/ocsp.txt")"
		log "OCSP ($url): revoked"
	fi
	url=$(openssl x509 -in "$cert" -noout -ext crlDistributionPoints \
	    2>/dev/null | sed -n 's/^ *URI://p' | head -n 1) || url=
	if [ -n "$url" ]; then
		seen=1
		curl -fsS --cacert "$bundle" --max-time 10 -o "$d/crl" "$url" ||
		    die "CRL download from $url failed"
		if ! openssl crl -in "$d/crl" -inform DER -out "$d/crl.pem" \
		    2>/dev/null; then
			cp "$d/crl" "$d/crl.pem"
		fi
		openssl crl -in "$d/crl.pem" -CAfile "$d/cas.pem" -noout \
		    >/dev/null 2>&1 || die "CRL from $url does not verify"
		openssl crl -in "$d/crl.pem" -noout -text |
		    grep -qi "Serial Number: *$serial\$" ||
		    die "serial $serial is not in the CRL from $url"
		log "CRL ($url): serial $serial listed"
	fi
	[ -n "$seen" ] || log "no OCSP or CRL pointer in the certificate"
}
