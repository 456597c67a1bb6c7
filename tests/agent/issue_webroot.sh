#!/bin/bash
# issue_webroot.sh - issue through a web server's root (python3's
# http.server on the http-01 port), and check that the challenge files and
# the directories anvil made are gone afterwards, also after a failure.
set -euo pipefail
TEST_NAME=issue_webroot
source "$(dirname "$0")/lib.sh"
agent_begin "${1:-}"

N=w-$(rand_label).example.test
WEB=$TEST_TMP/www
mkdir -p "$WEB"
echo hello >"$WEB/index.html"
http_server "$WEB" "$HTTP01_PORT"

t_issue() {
	anv issue -d "$N" --webroot "$WEB" --email admin@example.org \
	    --agree-tos
	verify_live "$N" "$N"
}

t_clean() {
	[ ! -e "$WEB/.well-known" ] ||
	    fail "left behind: $(find "$WEB/.well-known")"
	[ -f "$WEB/index.html" ] || fail "index.html gone"
}

t_existing_dirs_kept() {
	local n=x-$(rand_label).example.test
	mkdir -p "$WEB/.well-known/acme-challenge"
	echo keep >"$WEB/.well-known/acme-challenge/other"
	anv issue -d "$n" --webroot "$WEB" >/dev/null
	[ "$(ls -A "$WEB/.well-known/acme-challenge")" = other ] ||
	    fail "$(ls -A "$WEB/.well-known/acme-challenge")"
	rm -rf "$WEB/.well-known"
}

t_clean_after_failure() {
	# A web root the http server does not serve: validation fails.
	local other=$TEST_TMP/other n=f-$(rand_label).example.test
	mkdir -p "$other"
	if anv issue -d "$n" --webroot "$other" 2>"$TEST_TMP/f.err"; then
		fail "issue succeeded with an unserved web root"
	fi
	one_line_error "$TEST_TMP/f.err"
	grep -q 'http-01' "$TEST_TMP/f.err" || fail "$(cat "$TEST_TMP/f.err")"
	[ -z "$(ls -A "$other")" ] || fail "left: $(find "$other")"
	[ ! -e "$ST/live/$n" ] || fail "a certificate was stored"
}

check issue_webroot t_issue
check webroot_cleaned t_clean
check webroot_existing_dirs_kept t_existing_dirs_kept
check webroot_cleaned_after_failure t_clean_after_failure
agent_end
