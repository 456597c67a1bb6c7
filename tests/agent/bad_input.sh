#!/bin/bash
# bad_input.sh - faults: an unreachable CA, answers that are garbage, of
# the wrong type, too large, 5xx, a problem document; a CA bundle that does
# not trust the server; a broken config; a busy port; a failing hook.  Each
# gives one line on stderr naming the cause, a non-zero exit, and leaves
# the store as it was.  The faults of a CA that gets further into the
# protocol, and local ones (full disk, unreadable config), are in
# faults.sh.
set -euo pipefail
TEST_NAME=bad_input
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

mapfile -t P < <(free_ports 7)
FAKE_CERT=$TEST_TMP/fake-cert.pem FAKE_KEY=$TEST_TMP/fake-key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$FAKE_KEY" -out "$FAKE_CERT" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost" >/dev/null 2>&1
cat "$ACME_CA_BUNDLE" "$FAKE_CERT" >"$TEST_TMP/bundle+fake.pem"

i=1
for mode in garbage html error500 problem huge; do
	spawn "fake-$mode" "$PY" "$AGENT_DIR/fakeca.py" --port "${P[$i]}" \
	    --cert "$FAKE_CERT" --key "$FAKE_KEY" --fault "$mode"
	wait_until 10 curl -s --cacert "$FAKE_CERT" -o /dev/null \
	    "https://localhost:${P[$i]}/dir" || die "fake CA $mode did not start"
	eval "FAKE_$mode=https://localhost:${P[$i]}/dir"
	i=$((i + 1))
done

N=ok-$(rand_label).example.test
anv issue -d "$N" --http01-standalone --http01-port "$HTTP01_PORT" \
    --email admin@example.org --agree-tos >/dev/null ||
    die "the first issue failed"

# expect_fail PATTERN ANVIL-ARGS... - anvil fails with one line matching
# PATTERN and the store is unchanged.
expect_fail() {
	local pat=$1 before rc=0
	shift
	before=$(tree_sum "$ST")
	"$ANVIL" --state "$ST" "$@" >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	[ "$rc" -ne 0 ] || fail "exit status 0"
	one_line_error "$TEST_TMP/err"
	grep -qE -- "$pat" "$TEST_TMP/err" ||
	    fail "stderr does not match /$pat/: $(cat "$TEST_TMP/err")"
	[ "$(tree_sum "$ST")" = "$before" ] || fail "the store changed"
}

# issue_at URL - the arguments of an issue against URL.
issue_at() {
	echo --server "$1" --ca-bundle "$TEST_TMP/bundle+fake.pem" issue \
	    -d "x.$N" --http01-standalone --http01-port "$HTTP01_PORT"
}

t_unreachable() {
	expect_fail "Could not connect|Connection refused|connect" \
	    $(issue_at "https://localhost:${P[0]}/dir")
}
t_garbage() {
	expect_fail "not an ACME directory" $(issue_at "$FAKE_garbage")
}
t_content_type() {
	expect_fail "not an ACME directory" $(issue_at "$FAKE_html")
}
t_5xx() {
	expect_fail "HTTP 500" $(issue_at "$FAKE_error500")
}
t_problem() {
	expect_fail "server said rateLimited: too many requests" \
	    $(issue_at "$FAKE_problem")
}
t_huge() {
	expect_fail "larger than" $(issue_at "$FAKE_huge")
}
t_wrong_bundle() {
	expect_fail "certificate|SSL" --server "$ACME_DIRECTORY" \
	    --ca-bundle "$FAKE_CERT" issue -d "x.$N" --http01-standalone \
	    --http01-port "$HTTP01_PORT"
}
t_missing_bundle() {
	expect_fail "cannot read CA bundle" --server "$ACME_DIRECTORY" \
	    --ca-bundle "$TEST_TMP/nope.pem" list
}
t_bad_config() {
	printf 'server = %s\nfrobnicate = yes\n' "$ACME_DIRECTORY" \
	    >"$TEST_TMP/bad.conf"
	expect_fail "bad.conf:2: unknown key" --config "$TEST_TMP/bad.conf" list
	expect_fail "cannot read config" --config "$TEST_TMP/none.conf" list
}
t_busy_port() {
	expect_fail "cannot listen on port $BUSY" --server "$ACME_DIRECTORY" \
	    --ca-bundle "$ACME_CA_BUNDLE" issue -d "x.$N" \
	    --http01-standalone --http01-port "$BUSY"
}
t_usage() {
	local rc=0
	"$ANVIL" --state "$ST" issue -d 'bad name!' --http01-standalone \
	    2>"$TEST_TMP/err" || rc=$?
	[ "$rc" -eq 2 ] || fail "exit $rc"
	one_line_error "$TEST_TMP/err"
}
t_hook_fails() {
	local rc=0 n=h-$(rand_label).example.test
	anv issue -d "$n" --http01-standalone --http01-port "$HTTP01_PORT" \
	    --deploy-hook 'exit 3' >/dev/null 2>"$TEST_TMP/err" || rc=$?
	[ "$rc" -ne 0 ] || fail "exit 0"
	one_line_error "$TEST_TMP/err"
	grep -q 'deploy hook "exit 3" exited with status 3' "$TEST_TMP/err" ||
	    fail "$(cat "$TEST_TMP/err")"
	# the certificate itself was stored before the hook ran
	verify_live "$n" "$n"
}
t_renew_fails() {
	local rc=0 before
	before=$(tree_sum "$ST")
	"$ANVIL" --state "$ST" --server "$FAKE_error500" \
	    --ca-bundle "$TEST_TMP/bundle+fake.pem" renew --force \
	    --cert-name "$N" >/dev/null 2>"$TEST_TMP/err" || rc=$?
	[ "$rc" -eq 1 ] || fail "exit $rc"
	one_line_error "$TEST_TMP/err"
	grep -q "renew $N: .*HTTP 500.*; next: " "$TEST_TMP/err" ||
	    fail "$(cat "$TEST_TMP/err")"
	[ "$(tree_sum "$ST")" = "$before" ] || fail "the store changed"
}

# Holds a port busy (every address) for t_busy_port; another port when
# someone else on the machine took the first between its check and now.
BUSY=
for _try in 1 2 3 4 5; do
	mapfile -t _bp < <(free_ports 1)
	spawn "busy-$_try" "$PY" -c 'import socket,time
s=socket.socket(); s.bind(("0.0.0.0", '"${_bp[0]}"')); s.listen(1); time.sleep(600)'
	if wait_until 10 bash -c "! $PY -c 'import socket; socket.socket().bind((\"0.0.0.0\", ${_bp[0]}))'" &&
	    kill -0 "$SPAWN_PID" 2>/dev/null; then
		BUSY=${_bp[0]}
		break
	fi
done
[ -n "$BUSY" ] || die "cannot hold a port busy"

check fault_unreachable_server t_unreachable
check fault_garbage_json t_garbage
check fault_wrong_content_type t_content_type
check fault_http_500 t_5xx
check fault_problem_document t_problem
check fault_oversized_answer t_huge
check fault_wrong_ca_bundle t_wrong_bundle
check fault_missing_ca_bundle t_missing_bundle
check fault_bad_config t_bad_config
check fault_http01_port_busy t_busy_port
check fault_usage_bad_name t_usage
check fault_deploy_hook_fails t_hook_fails
check fault_renew_reports_cause_and_next_step t_renew_fails
agent_end
