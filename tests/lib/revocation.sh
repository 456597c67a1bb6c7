# revocation.sh - helpers for the revocation tests: the anvil-ca public
# (plain HTTP) base URL, fetching CRLs, asking OCSP.  Requires common.sh
# and target.sh (fixture_begin first, TARGET=anvil).

# pub_base - prints the public base URL anvil-ca announced at start.
pub_base() {
	sed -n 's/^anvil-ca: public //p' "$TEST_TMP/anvil-ca.out" | head -n 1
}

# cert_cdp CERT - prints the first CRL distribution point URI of CERT.
cert_cdp() {
	openssl x509 -in "$1" -noout -ext crlDistributionPoints 2>/dev/null |
	    sed -n 's/^ *URI://p' | head -n 1
}

# cert_serial CERT - prints the serial of CERT in lowercase hex.
cert_serial() {
	openssl x509 -in "$1" -noout -serial | sed 's/^serial=//' |
	    tr 'A-F' 'a-f'
}

# fetch_crl URL OUT - fetches a DER CRL into OUT (PEM), failing the test
# when the answer is not a CRL.
fetch_crl() {
	curl -fsS -o "$2.der" "$1" || die "cannot fetch $1"
	openssl crl -inform DER -in "$2.der" -out "$2" 2>/dev/null ||
	    die "$1 is not a DER CRL"
}

# crl_lists CRL SERIAL - succeeds when the PEM CRL lists SERIAL (hex).
crl_lists() {
	openssl crl -in "$1" -noout -text | tr -d ' ' | tr 'A-F' 'a-f' |
	    grep -qix "serialnumber:$2"
}

# wait_crl_lists URL SERIAL OUT - fetches URL into OUT until it lists
# SERIAL, for at most 10 s.
wait_crl_lists() {
	local i
	for ((i = 0; i < 50; i++)); do
		fetch_crl "$1" "$3"
		crl_lists "$3" "$2" && return 0
		sleep 0.2
	done
	die "CRL $1 does not list $2 after 10 s"
}

# ocsp_query ISSUER CERT URL ROOT - runs openssl ocsp and prints its
# output (stdout and stderr): the status line, reason, "Response verify
# OK".
ocsp_query() {
	openssl ocsp -issuer "$1" -cert "$2" -url "$3" -CAfile "$4" \
	    -verify_other "$1" -no_nonce 2>&1
}
