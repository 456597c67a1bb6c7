#!/bin/bash
# faults.sh - faults a real CA cannot be made to produce, served by
# fakeca.py (a small ACME server of the test's own): a resource that stays
# pending or processing forever, a Retry-After past poll_timeout, a
# certificate for another key, a chain that does not verify, a missing
# name, a server that never answers, badNonce forever, HTML where JSON is
# expected; and local ones: a full disk under renew --force, an unreadable
# config.  Each must give one line on stderr naming the cause, a non-zero
# exit, within its bound, with the store exactly as it was (checksum of
# every path, mode, link and content) and the certificate in service
# untouched.
set -euo pipefail
TEST_NAME=faults
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

FAULTS=(endless-authz endless-order long-retry wrong-key bad-signature
    unrelated-chain missing-name hang hang-finalize badnonce html-authz)
mapfile -t P < <(free_ports "${#FAULTS[@]}")
FAKE_CERT=$TEST_TMP/fake-cert.pem FAKE_KEY=$TEST_TMP/fake-key.pem
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$FAKE_KEY" -out "$FAKE_CERT" -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost" >/dev/null 2>&1
BUNDLE=$TEST_TMP/bundle+fake.pem
cat "$ACME_CA_BUNDLE" "$FAKE_CERT" >"$BUNDLE"
# Short bounds, so that the endless faults end soon.
FAST=$TEST_TMP/fast.conf
printf 'poll_timeout = 5\nhttp_timeout = 2\n' >"$FAST"

# tcp_open PORT - something accepts TCP connections on PORT.
tcp_open() {
	"$PY" -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' "$1"
}

declare -A URL
i=0
for f in "${FAULTS[@]}"; do
	spawn "fake-$f" "$PY" "$AGENT_DIR/fakeca.py" --port "${P[$i]}" \
	    --cert "$FAKE_CERT" --key "$FAKE_KEY" --fault "$f"
	wait_until 10 tcp_open "${P[$i]}" || die "fake CA $f did not start"
	URL[$f]=https://localhost:${P[$i]}/dir
	i=$((i + 1))
done

# A certificate in service: the faulty issues below try to replace it.
N=live-$(rand_label).example.test
anv issue -d "$N" --http01-standalone --http01-port "$HTTP01_PORT" \
    --email admin@example.org --agree-tos >/dev/null ||
    die "the first issue failed"
# Accounts at the fake CAs that take one: registering is not the fault.
for f in "${FAULTS[@]}"; do
	case $f in hang | badnonce) continue ;; esac
	"$ANVIL" --config "$FAST" --server "${URL[$f]}" --ca-bundle "$BUNDLE" \
	    --state "$ST" register --email admin@example.org --agree-tos \
	    >/dev/null || die "cannot register at the fake CA $f"
done

# expect_fault FAULT SECONDS PATTERN - a new version of N for two names
# from FAULT's CA fails within SECONDS with one line matching PATTERN;
# the store is unchanged and N's certificate still in service.
expect_fault() {
	local f=$1 max=$2 pat=$3 before rc=0 t0 ms
	before=$(tree_sum "$ST")
	t0=$(date +%s%N)
	"$ANVIL" --config "$FAST" --server "${URL[$f]}" --ca-bundle "$BUNDLE" \
	    --state "$ST" issue -d "$N" -d "www.$N" --cert-name "$N" \
	    --http01-standalone --http01-port "$HTTP01_PORT" \
	    --email admin@example.org --agree-tos \
	    >"$TEST_TMP/out" 2>"$TEST_TMP/err" || rc=$?
	ms=$((($(date +%s%N) - t0) / 1000000))
	log "$f: exit $rc after $ms ms: $(cat "$TEST_TMP/err")"
	[ "$rc" -eq 1 ] || fail "exit status $rc"
	one_line_error "$TEST_TMP/err"
	grep -qE -- "$pat" "$TEST_TMP/err" ||
	    fail "stderr does not match /$pat/: $(cat "$TEST_TMP/err")"
	[ "$ms" -le $((max * 1000)) ] || fail "took $ms ms (bound ${max} s)"
	[ "$(tree_sum "$ST")" = "$before" ] || fail "the store changed"
	verify_live "$N" "$N"
}

# (a) polling is bounded: poll_timeout is 5 s.
t_endless_authz() {
	expect_fault endless-authz 15 \
	    "anvil: $N still pending after [5-9] s: giving up"
}
t_endless_order() {
	expect_fault endless-order 15 \
	    "anvil: order still processing after [5-9] s: giving up"
}
t_long_retry_after() {
	# Retry-After: 86400 is beyond poll_timeout: no point waiting.
	expect_fault long-retry 5 \
	    "asks to retry after 86400 s, more than poll_timeout \(5 s\)"
}
# (b) - (d) the certificate is checked before anything is written.
t_wrong_key() {
	expect_fault wrong-key 10 "the certificate does not match its key"
}
t_bad_signature() {
	expect_fault bad-signature 10 "the chain does not verify"
}
t_unrelated_chain() {
	expect_fault unrelated-chain 10 "the chain does not verify"
}
t_missing_name() {
	expect_fault missing-name 10 "the certificate does not name www\.$N"
}
# (e) a server that never answers: http_timeout is 2 s.
t_hang() {
	expect_fault hang 8 "/dir: no answer within 2 s \(timed out"
}
t_hang_finalize() {
	expect_fault hang-finalize 10 "/finalize/.*: no answer within 2 s"
}
# (f) badNonce forever: 3 retries, then the cause.  No account was
# registered at this CA: none may be left half-made.
t_badnonce() {
	local n port
	expect_fault badnonce 10 "server said badNonce"
	n=$(grep -c '^POST /acct -> 400' "$TEST_TMP/fake-badnonce.err") || n=0
	[ "$n" -eq 4 ] || fail "$n newAccount requests (want 1 + 3 retries)"
	port=${URL[badnonce]#https://localhost:}
	port=${port%/dir}
	! compgen -G "$ST/accounts/localhost-$port-*" >/dev/null ||
	    fail "an account directory was left for the fake CA"
}
# (g) HTML on a 200 where an authorization was expected.
t_html_authz() {
	expect_fault html-authz 10 \
	    "/authz/.*: answer is not JSON \(Content-Type text/html\)"
}

# (h) a full disk: the state on a small tmpfs in a private mount
# namespace, filled up after a first issue; renew --force must fail
# writing and leave the first version in service, whole.
NS_PID=
SMALL=$TEST_TMP/small
# in_ns CMD... - CMD in the namespace where SMALL is mounted.
in_ns() {
	nsenter -t "$NS_PID" -m -- "$@"
}
# mount_small - mounts SMALL (tmpfs, else a loop ext4 image) in a new
# mount namespace held by a sleeping process; fails when neither works.
mount_small() {
	mkdir -p "$SMALL"
	command -v unshare >/dev/null && command -v nsenter >/dev/null ||
	    return 1
	spawn ns unshare -m --propagation private sh -c '
	    if mount -t tmpfs -o size=1m,mode=0755 anvil-test "$1"; then
		echo mounted tmpfs
	    elif truncate -s 8m "$2" && mkfs.ext4 -q -F "$2" &&
		mount -o loop "$2" "$1"; then
		echo mounted ext4
	    else
		echo failed; exit 1
	    fi
	    exec sleep 600' sh "$SMALL" "$TEST_TMP/small.img"
	NS_PID=$SPAWN_PID
	wait_until 10 grep -q '^mounted' "$TEST_TMP/ns.out"
}
t_disk_full() {
	local n=disk-$(rand_label).example.test st=$SMALL/state before rc=0
	local a
	a=(--server "$ACME_DIRECTORY" --ca-bundle "$ACME_CA_BUNDLE"
	    --state "$st")
	in_ns "$ANVIL" "${a[@]}" issue -d "$n" --http01-standalone \
	    --http01-port "$HTTP01_PORT" --email admin@example.org \
	    --agree-tos >/dev/null || fail "the first issue failed"
	# Fills every block; the write that finds none left fails.
	in_ns dd if=/dev/zero of="$SMALL/fill" bs=4k 2>/dev/null || true
	before=$(in_ns bash -c "$(declare -f tree_sum); tree_sum '$st'")
	in_ns "$ANVIL" "${a[@]}" renew --force --cert-name "$n" \
	    >/dev/null 2>"$TEST_TMP/err" || rc=$?
	log "disk full: exit $rc: $(cat "$TEST_TMP/err")"
	[ "$rc" -eq 1 ] || fail "exit status $rc"
	one_line_error "$TEST_TMP/err"
	grep -q "renew $n: cannot write .*: No space left on device; next: " \
	    "$TEST_TMP/err" || fail "stderr: $(cat "$TEST_TMP/err")"
	[ "$(in_ns bash -c "$(declare -f tree_sum); tree_sum '$st'")" = \
	    "$before" ] || fail "the store changed"
	[ "$(in_ns readlink "$st/live/$n")" = "../archive/$n/1" ] ||
	    fail "live/$n -> $(in_ns readlink "$st/live/$n")"
	# The version in service is whole: its key matches, its chain holds.
	in_ns cat "$st/live/$n/fullchain.pem" >"$TEST_TMP/disk-full.pem"
	[ "$(in_ns openssl x509 -in "$st/live/$n/cert.pem" -noout -pubkey)" = \
	    "$(in_ns openssl pkey -in "$st/live/$n/privkey.pem" -pubout)" ] ||
	    fail "cert.pem and privkey.pem do not match"
	( check_fullchain "$TEST_TMP/disk-full.pem" "$ACME_ROOT" "$n" )
}

# (i) an unreadable config: mode 000 for a user other than root, and a
# directory given as the config.
t_config_unreadable() {
	local d rc=0 before as=()
	before=$(tree_sum "$ST")
	d=$(mktemp -d /tmp/anvil-cfg.XXXXXX)
	on_exit "rm -rf '$d'"
	chmod 755 "$d"
	printf 'server = %s\n' "$ACME_DIRECTORY" >"$d/anvil.conf"
	chmod 000 "$d/anvil.conf"
	if [ "$(id -u)" -eq 0 ]; then
		as=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
		"${as[@]}" test -x "$d" || fail "nobody cannot reach $d"
	fi
	"${as[@]}" "$ANVIL" --config "$d/anvil.conf" --state "$ST" list \
	    >/dev/null 2>"$TEST_TMP/err" || rc=$?
	[ "$rc" -eq 1 ] || fail "exit status $rc"
	one_line_error "$TEST_TMP/err"
	grep -q "cannot read config $d/anvil.conf: Permission denied" \
	    "$TEST_TMP/err" || fail "stderr: $(cat "$TEST_TMP/err")"
	rc=0
	"$ANVIL" --config "$d" --state "$ST" issue -d "$N" \
	    --http01-standalone >/dev/null 2>"$TEST_TMP/err" || rc=$?
	[ "$rc" -eq 1 ] || fail "exit status $rc"
	one_line_error "$TEST_TMP/err"
	grep -q "cannot read config $d: it is a directory" "$TEST_TMP/err" ||
	    fail "stderr: $(cat "$TEST_TMP/err")"
	[ "$(tree_sum "$ST")" = "$before" ] || fail "the store changed"
}

check fault_endless_pending_authz t_endless_authz
check fault_endless_processing_order t_endless_order
check fault_retry_after_past_poll_timeout t_long_retry_after
check fault_cert_for_another_key t_wrong_key
check fault_chain_bad_signature t_bad_signature
check fault_chain_unrelated t_unrelated_chain
check fault_cert_missing_a_name t_missing_name
check fault_server_never_answers t_hang
check fault_finalize_never_answered t_hang_finalize
check fault_badnonce_forever t_badnonce
check fault_html_for_json t_html_authz
if mount_small; then
	log "full disk on $(cat "$TEST_TMP/ns.out")"
	check fault_disk_full_keeps_old_version t_disk_full
else
	echo "ok fault_disk_full_keeps_old_version # skip: cannot mount a" \
	    "small filesystem (need root: unshare -m, mount tmpfs or loop):" \
	    "$(cat "$TEST_TMP/ns.out" "$TEST_TMP/ns.err" 2>/dev/null | tr '\n' ' ')"
fi
check fault_config_unreadable t_config_unreadable
agent_end
