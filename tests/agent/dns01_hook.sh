#!/bin/bash
# dns01_hook.sh - dns-01 through --dns01-hook: the hook sets TXT records in
# pebble-challtestsrv (the DNS server the CA validates against) through its
# management API; a wildcard and its base name in one certificate (two
# values for one name); the records are removed afterwards, also when the
# hook fails, when the record never shows, and after SIGTERM; renew runs
# the same hook again.
set -euo pipefail
TEST_NAME=dns01_hook
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

command -v kdig >/dev/null || skip "kdig (knot-dnsutils) is not installed"

BASE=h-$(rand_label).example.test
HOOKLOG=$TEST_TMP/hook.log
HOOKDB=$TEST_TMP/hookdb
mkdir -p "$HOOKDB"
export HOOKLOG HOOKDB CHALLTESTSRV_URL

# The hook: keeps the values of each name in a file, and after each change
# sets exactly those in challtestsrv (clear-txt, then set-txt each).
HOOK=$TEST_TMP/hook.sh
cat >"$HOOK" <<'EOF'
#!/bin/bash
set -eu
verb=$1 name=$2 value=$3
echo "$verb $name $value" >>"$HOOKLOG"
[ -z "${HOOK_FAIL:-}" ] || [ "$verb" != add ] || exit 3
[ -z "${HOOK_NOOP:-}" ] || exit 0
db=$HOOKDB/$name
touch "$db"
case $verb in
add)	echo "$value" >>"$db" ;;
remove)	grep -vx -- "$value" "$db" >"$db.new" || true; mv "$db.new" "$db" ;;
*)	exit 2 ;;
esac
curl -fsS -X POST -d "{\"host\":\"$name.\"}" "$CHALLTESTSRV_URL/clear-txt"
while read -r v; do
	curl -fsS -X POST -d "{\"host\":\"$name.\",\"value\":\"$v\"}" \
	    "$CHALLTESTSRV_URL/set-txt"
done <"$db"
EOF
chmod 755 "$HOOK"

# txt NAME - the TXT values the CA's DNS server holds for NAME.
txt() {
	kdig @"${DNS_SERVER%:*}" -p "${DNS_SERVER#*:}" +short TXT "$1" |
	    tr -d '"'
}

dnsopts=(--dns-resolver "$DNS_SERVER" --propagation-timeout 20
    --dns-timeout 2)

t_issue_wildcard() {
	: >"$HOOKLOG"
	anv issue -d "*.$BASE" -d "$BASE" --dns01-hook "$HOOK" \
	    "${dnsopts[@]}" --email admin@example.org --agree-tos >/dev/null
	verify_live "$BASE" "*.$BASE" "$BASE"
}

t_hook_calls() {
	local adds removes vals
	adds=$(grep -c "^add _acme-challenge.$BASE " "$HOOKLOG")
	removes=$(grep -c "^remove _acme-challenge.$BASE " "$HOOKLOG")
	[ "$adds" -eq 2 ] && [ "$removes" -eq 2 ] ||
	    fail "adds $adds removes $removes: $(cat "$HOOKLOG")"
	# Two different base64url SHA-256 values (43 characters).
	vals=$(awk '$1 == "add" { print $3 }' "$HOOKLOG" | sort -u)
	[ "$(echo "$vals" | grep -cE '^[A-Za-z0-9_-]{43}$')" -eq 2 ] ||
	    fail "values: $vals"
	# Each value removed is one that was added.
	[ "$(awk '$1 == "remove" { print $3 }' "$HOOKLOG" | sort -u)" = \
	    "$vals" ] || fail "removed values differ: $(cat "$HOOKLOG")"
}

t_records_gone() {
	local left
	left=$(txt "_acme-challenge.$BASE")
	[ -z "$left" ] || fail "TXT left: $left"
}

t_renewal_record() {
	"$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))
s=r["solver"]; assert s["type"] == "dns01-hook", s
assert s["hook"] == sys.argv[2], s
assert s["resolver"] == sys.argv[3], s
assert s["propagation_timeout"] == 20, s' \
	    "$ST/renewal/$BASE.json" "$HOOK" "$DNS_SERVER" ||
	    fail "$(cat "$ST/renewal/$BASE.json")"
}

t_renew() {
	local s1 adds
	s1=$(cert_serial "$ST/live/$BASE/cert.pem")
	: >"$HOOKLOG"
	"$ANVIL" --state "$ST" renew --force --cert-name "$BASE" >/dev/null
	[ "$(cert_serial "$ST/live/$BASE/cert.pem")" != "$s1" ] ||
	    fail "same serial"
	# One add per authorization the CA did not reuse (Pebble reuses
	# half of them), each with its remove.
	adds=$(grep -c '^add ' "$HOOKLOG") || adds=0
	[ "$adds" -le 2 ] || fail "$(cat "$HOOKLOG")"
	[ "$(grep -c '^remove ' "$HOOKLOG")" -eq "$adds" ] ||
	    fail "$(cat "$HOOKLOG")"
	t_records_gone
}

t_hook_fails() {
	local n=f-$(rand_label).example.test rc=0
	: >"$HOOKLOG"
	HOOK_FAIL=1 anv issue -d "$n" --dns01-hook "$HOOK" "${dnsopts[@]}" \
	    >/dev/null 2>"$TEST_TMP/fail.err" || rc=$?
	[ "$rc" -eq 1 ] || fail "exit status $rc"
	one_line_error "$TEST_TMP/fail.err"
	grep -q "dns-01 hook .* add _acme-challenge.$n .* exited with status 3" \
	    "$TEST_TMP/fail.err" || fail "$(cat "$TEST_TMP/fail.err")"
	grep -q "^remove _acme-challenge.$n " "$HOOKLOG" ||
	    fail "no remove after a failed add: $(cat "$HOOKLOG")"
	[ ! -e "$ST/live/$n" ] || fail "a certificate was stored"
}

t_never_visible() {
	local n=v-$(rand_label).example.test rc=0 t0
	: >"$HOOKLOG"
	t0=$SECONDS
	HOOK_NOOP=1 anv issue -d "$n" --dns01-hook "$HOOK" \
	    --dns-resolver "$DNS_SERVER" --propagation-timeout 3 \
	    >/dev/null 2>"$TEST_TMP/vis.err" || rc=$?
	[ "$rc" -eq 1 ] || fail "exit status $rc"
	one_line_error "$TEST_TMP/vis.err"
	grep -q "_acme-challenge.$n. TXT .* not visible after 3 s" \
	    "$TEST_TMP/vis.err" || fail "$(cat "$TEST_TMP/vis.err")"
	[ $((SECONDS - t0)) -lt 30 ] || fail "took $((SECONDS - t0)) s"
	grep -q "^remove _acme-challenge.$n " "$HOOKLOG" ||
	    fail "no remove: $(cat "$HOOKLOG")"
}

t_sigterm() {
	local n=i-$(rand_label).example.test rc=0 pid i
	: >"$HOOKLOG"
	# exec: $! is anvil itself, not a subshell.
	(export HOOK_NOOP=1; exec "$ANVIL" --server "$ACME_DIRECTORY" \
	    --ca-bundle "$ACME_CA_BUNDLE" --state "$ST" issue -d "$n" \
	    --dns01-hook "$HOOK" --dns-resolver "$DNS_SERVER" \
	    --propagation-timeout 60 >/dev/null 2>"$TEST_TMP/int.err") &
	pid=$!
	for ((i = 0; i < 100; i++)); do
		grep -q '^add ' "$HOOKLOG" && break
		sleep 0.1
	done
	sleep 0.5
	kill -TERM "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 130 ] || fail "exit status $rc: $(cat "$TEST_TMP/int.err")"
	grep -q "^remove _acme-challenge.$n " "$HOOKLOG" ||
	    fail "no remove after SIGTERM: $(cat "$HOOKLOG")"
}

t_usage() {
	local rc=0
	anv issue -d x.example.test --dns01-hook "$HOOK" --webroot /tmp \
	    2>/dev/null || rc=$?
	[ "$rc" -ne 0 ] || fail "two solvers accepted"
	rc=0
	anv issue -d x.example.test --dns01-hook "$HOOK" \
	    --propagation-timeout 0 2>"$TEST_TMP/u.err" || rc=$?
	[ "$rc" -eq 2 ] || fail "bad timeout: status $rc"
}

check dns01_hook_wildcard_and_base t_issue_wildcard
check dns01_hook_add_remove_calls t_hook_calls
check dns01_hook_records_removed t_records_gone
check dns01_hook_renewal_record t_renewal_record
check dns01_hook_renew_force t_renew
check dns01_hook_failing_hook t_hook_fails
check dns01_hook_propagation_timeout t_never_visible
check dns01_hook_sigterm_removes t_sigterm
check dns01_hook_usage_errors t_usage
agent_end
