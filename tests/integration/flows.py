#!/usr/bin/python3
"""flows.py - every ACME resource of anvil-ca used the way RFC 8555 says,
beyond what the real clients exercise: account update and deactivation
(§7.3.2, §7.3.6), onlyReturnExisting (§7.3.1), key rollover (§7.3.5), the
orders list and its paging (§7.1.2.1), authorization reuse and
deactivation (§7.5.2), a failed validation (§7.1.6, §8.3), identifier
rules (§7.1.3, subproblems §6.7.1), certificate download (§7.4.2) and
revocation by another authorized account and by the certificate key
(§7.6), and the server's account cache (server/keycache.h): an account
used through the cached routes (newOrder, order, authz) and then
deactivated, rolled over to another key or given a new contact must be
seen in its new state by the very next request.

Usage: flows.py DIRECTORY_URL CA_BUNDLE ROOT
Environment: HTTP01_PORT - the port the server's http-01 checks connect to.

Output is TAP, one line a case, then "# flows: N ok, N not ok".
"""
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "lib"))
from acmelib import (AcmeError, Client, Http01Responder, Key,  # noqa: E402
                     b64u, make_csr, PROBLEM_NS)
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402


class Fail(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Fail(why)


def expect_problem(r, status, ptype):
    expect(r.status == status and r.problem_type() == PROBLEM_NS + ptype,
           "wanted %d %s, got %s" % (status, ptype, r.brief()))


def pem_certs(data):
    """The certificates of a PEM chain (cryptography 38 has no loader for
    several)."""
    end = b"-----END CERTIFICATE-----"
    return [x509.load_pem_x509_certificate(p + end)
            for p in data.split(end) if b"-----BEGIN" in p]


def name():
    return "f%s.example.test" % secrets.token_hex(5)


class Flows:
    def __init__(self, directory, bundle, root, port):
        self.c = Client(directory, bundle)
        self.root = root
        self.http = Http01Responder(port)

    # helpers -------------------------------------------------------------
    def account(self, kind="ec256"):
        k = Key(kind)
        return k, self.c.account(k)

    def issue(self, key, kid, names, cert_key=None):
        """A whole issuance; returns (order URL, PEM chain, cert key)."""
        url, order = self.c.new_order(key, kid, names)
        self.c.validate_http01(key, kid, order, self.http)
        self.c.wait_status(url, key, kid, ("ready",))
        cert_key = cert_key or Key("ec256")
        r = self.c.post(order["finalize"], {"csr": b64u(make_csr(
            cert_key, names))}, key, kid=kid)
        expect(r.status == 200, "finalize: " + r.brief())
        order = self.c.wait_status(url, key, kid, ("valid",))
        r = self.c.post(order["certificate"], None, key, kid=kid)
        expect(r.status == 200, "download: " + r.brief())
        return url, r, cert_key

    def order_req(self, key, kid):
        """A newOrder for a fresh name, signed by key as kid; the response
        (newOrder takes the account from the cache when it is there)."""
        return self.c.post(self.c.url("newOrder"), {"identifiers": [
            {"type": "dns", "value": name()}]}, key, kid=kid)

    def cached_orders(self, key, kid):
        """Two newOrders by kid: the first fills the account cache, the
        second is served from it.  Returns the order URL and object of the
        first."""
        r = self.order_req(key, kid)
        expect(r.status == 201 and r.header("Location"),
               "newOrder (cache fill): " + r.brief())
        url, order = r.header("Location"), r.json()
        r = self.order_req(key, kid)
        expect(r.status == 201, "newOrder (cache hit): " + r.brief())
        return url, order

    def key_change(self, old, new, kid):
        """Rolls account kid over from key old to key new (§7.3.5);
        returns the response."""
        url = self.c.url("keyChange")
        inner = Client.flattened({"alg": new.alg, "jwk": new.jwk(),
                                  "url": url},
                                 b64u(json.dumps({"account": kid,
                                                  "oldKey": old.jwk()})),
                                 new)
        return self.c.post(url, inner, old, kid=kid)

    def rolled_over(self, old, new, refused):
        """Checks an account rolled over from key old to key new while the
        old key was in the account cache: requests signed with the old
        key get `refused` ((status, problem type)), on newOrder and on a
        POST-as-GET of an order made before, and those with the new key
        work (the second one from the refilled cache); then the old key
        is still refused.  A cache that kept the old key would take the
        old key's requests (201/200) and refuse the new key's."""
        old_key, kid = old
        url, order = self.cached_orders(old_key, kid)
        r = self.key_change(old_key, new, kid)
        expect(r.status == 200 and r.json()["status"] == "valid",
               "keyChange: " + r.brief())
        expect_problem(self.order_req(old_key, kid), *refused)
        expect_problem(self.c.post(url, None, old_key, kid=kid), *refused)
        for i in ("fill", "hit"):
            r = self.order_req(new, kid)
            expect(r.status == 201, "newOrder with the new key (cache %s): "
                   % i + r.brief())
            r = self.c.post(url, None, new, kid=kid)
            expect(r.status == 200 and r.json()["identifiers"] ==
                   order["identifiers"], "order with the new key (cache "
                   "%s): " % i + r.brief())
        for _ in range(2):
            expect_problem(self.order_req(old_key, kid), *refused)
            expect_problem(self.c.post(url, None, old_key, kid=kid),
                           *refused)
        r = self.c.new_account(old_key, only_existing=True)
        expect_problem(r, 400, "accountDoesNotExist")
        r = self.c.new_account(new, only_existing=True)
        expect(r.status == 200 and r.header("Location") == kid,
               "new key finds: " + r.brief())

    # cases -----------------------------------------------------------------
    def case_existing_key_returns_account(self):
        k, kid = self.account()
        r = self.c.new_account(k)
        expect(r.status == 200 and r.header("Location") == kid,
               "second newAccount: " + r.brief())
        r = self.c.new_account(k, only_existing=True)
        expect(r.status == 200 and r.header("Location") == kid,
               "onlyReturnExisting: " + r.brief())
        r = self.c.new_account(Key(), only_existing=True)
        expect_problem(r, 400, "accountDoesNotExist")

    def case_account_update_contact(self):
        k, kid = self.account()
        r = self.c.post(kid, {"contact": ["mailto:new@example.test"]}, k,
                        kid=kid)
        expect(r.status == 200, "update: " + r.brief())
        acct = self.c.get(kid, k, kid)
        expect(acct["contact"] == ["mailto:new@example.test"],
               "contact not updated: %r" % acct)
        r = self.c.post(kid, {"contact": ["tel:+1555"]}, k, kid=kid)
        expect_problem(r, 400, "unsupportedContact")
        r = self.c.post(kid, {"contact": ["mailto:a@b@c"]}, k, kid=kid)
        expect_problem(r, 400, "invalidContact")
        acct = self.c.get(kid, k, kid)
        expect(acct["contact"] == ["mailto:new@example.test"],
               "a refused update changed the contact: %r" % acct)

    def case_account_deactivation(self):
        k, kid = self.account()
        r = self.c.post(kid, {"status": "deactivated"}, k, kid=kid)
        expect(r.status == 200 and r.json()["status"] == "deactivated",
               "deactivate: " + r.brief())
        r = self.c.post(self.c.url("newOrder"), {"identifiers": [
            {"type": "dns", "value": name()}]}, k, kid=kid)
        expect_problem(r, 401, "unauthorized")
        r = self.c.new_account(k)
        expect_problem(r, 401, "unauthorized")

    def case_orders_list_paged(self):
        k, kid = self.account()
        made = []
        for _ in range(103):
            url, _ = self.c.new_order(k, kid, [name()])
            made.append(url)
        acct = self.c.get(kid, k, kid)
        r = self.c.post(acct["orders"], None, k, kid=kid)
        expect(r.status == 200, "orders: " + r.brief())
        first = r.json()["orders"]
        expect(len(first) == 100, "first page has %d orders" % len(first))
        nxt = None
        for v in r.headers.get_all("Link") or []:
            if 'rel="next"' in v:
                nxt = v[v.index("<") + 1:v.index(">")]
        expect(nxt, "no Link rel=next on a full page")
        r = self.c.post(nxt, None, k, kid=kid)
        expect(r.status == 200, "next page: " + r.brief())
        expect(first + r.json()["orders"] == made,
               "pages do not list the orders in order")

    def case_key_change(self):
        old, kid = self.account()
        new = Key("ec384")
        url = self.c.url("keyChange")
        inner = Client.flattened({"alg": new.alg, "jwk": new.jwk(),
                                  "url": url},
                                 b64u('{"account":"%s","oldKey":%s}' % (
                                     kid, __import__("json").dumps(
                                         old.jwk()))), new)
        # An inner JWS with a nonce is refused, and nothing changes.
        bad = Client.flattened({"alg": new.alg, "jwk": new.jwk(),
                                "url": url, "nonce": self.c.new_nonce()},
                               inner["payload"], new)
        r = self.c.post(url, bad, old, kid=kid)
        expect_problem(r, 400, "malformed")
        self.c.get(kid, old, kid)
        r = self.c.post(url, inner, old, kid=kid)
        expect(r.status == 200, "keyChange: " + r.brief())
        r = self.c.post(kid, None, old, kid=kid)
        expect(r.status >= 400, "old key still works: " + r.brief())
        self.c.get(kid, new, kid)
        r = self.c.new_account(new, only_existing=True)
        expect(r.header("Location") == kid, "new key finds another account")
        # Rolling another account onto a key in use: 409 with Location.
        other, okid = self.account()
        inner = Client.flattened({"alg": new.alg, "jwk": new.jwk(),
                                  "url": url},
                                 b64u('{"account":"%s","oldKey":%s}' % (
                                     okid, __import__("json").dumps(
                                         other.jwk()))), new)
        r = self.c.post(url, inner, other, kid=okid)
        expect(r.status == 409 and r.header("Location") == kid,
               "key in use: " + r.brief())

    def case_identifiers_refused(self):
        k, kid = self.account()
        r = self.c.post(self.c.url("newOrder"), {"identifiers": [
            {"type": "dns", "value": "127.0.0.1"},
            {"type": "dns", "value": "bad name.example.test"},
            {"type": "dns", "value": name()}]}, k, kid=kid)
        expect_problem(r, 400, "rejectedIdentifier")
        subs = r.json().get("subproblems", [])
        expect(sorted(s["identifier"]["value"] for s in subs) ==
               ["127.0.0.1", "bad name.example.test"],
               "subproblems: %r" % subs)
        r = self.c.post(self.c.url("newOrder"), {"identifiers": [
            {"type": "ip", "value": "127.0.0.1"}]}, k, kid=kid)
        expect_problem(r, 400, "unsupportedIdentifier")
        acct = self.c.get(kid, k, kid)
        r = self.c.post(acct["orders"], None, k, kid=kid)
        expect(r.json()["orders"] == [], "a refused order was stored")

    def case_wildcard_needs_dns01(self):
        k, kid = self.account()
        n = name()
        url, order = self.c.new_order(k, kid, ["*." + n])
        authz = self.c.get(order["authorizations"][0], k, kid)
        expect(authz.get("wildcard") is True and
               authz["identifier"]["value"] == n,
               "wildcard authz: %r" % authz)
        expect([c["type"] for c in authz["challenges"]] == ["dns-01"],
               "wildcard offers %r" % authz["challenges"])

    def case_failed_validation(self):
        k, kid = self.account()
        n = name()
        url, order = self.c.new_order(k, kid, [n])
        authz_url = order["authorizations"][0]
        authz = self.c.get(authz_url, k, kid)
        ch = [c for c in authz["challenges"] if c["type"] == "http-01"][0]
        self.http.tokens[ch["token"]] = "wrong." + k.thumbprint()
        r = self.c.post(ch["url"], {}, k, kid=kid)
        # The order's only challenge: the answer waits for the result.
        expect(r.status == 200 and r.json()["status"] == "invalid" and
               r.json()["error"]["type"] == PROBLEM_NS +
               "incorrectResponse", "challenge: " + r.brief())
        expect(any('rel="up"' in v and authz_url in v
                   for v in r.headers.get_all("Link") or []),
               "no Link rel=up to the authorization")
        deadline = time.time() + 20
        while time.time() < deadline:
            order = self.c.get(url, k, kid)
            if order["status"] != "pending":
                break
            time.sleep(0.2)
        expect(order["status"] == "invalid", "order: %r" % order)
        err = order.get("error", {})
        expect(err.get("subproblems", [{}])[0].get("identifier", {})
               .get("value") == n, "order error: %r" % err)
        ch = self.c.get(ch["url"], k, kid)
        expect(ch["status"] == "invalid" and ch["error"]["type"] ==
               PROBLEM_NS + "incorrectResponse", "challenge: %r" % ch)
        # Asking again changes nothing (§7.5.1 retries are not offered).
        r = self.c.post(ch["url"], {}, k, kid=kid)
        expect(r.json()["status"] == "invalid", "retry: " + r.brief())

    def chall_of(self, k, kid, authz_url):
        authz = self.c.get(authz_url, k, kid)
        ch = [c for c in authz["challenges"] if c["type"] == "http-01"][0]
        self.http.tokens[ch["token"]] = ch["token"] + "." + k.thumbprint()
        return ch

    def case_challenge_answer_waits_for_validation(self):
        # §7.5.1: the POST that answers an order's last challenge is
        # answered with the validation's result (challenge_wait_ms); the
        # ones before it at once, their validations running meanwhile.
        k, kid = self.account()
        url, order = self.c.new_order(k, kid, [name()])
        ch = self.chall_of(k, kid, order["authorizations"][0])
        r = self.c.post(ch["url"], {}, k, kid=kid)
        body = r.json()
        expect(r.status == 200 and body["status"] == "valid" and
               "validated" in body, "challenge: " + r.brief())
        expect(r.header("Retry-After") is None, "Retry-After on valid")
        expect(any('rel="up"' in v and order["authorizations"][0] in v
                   for v in r.headers.get_all("Link") or []),
               "no Link rel=up to the authorization")
        expect(self.c.get(url, k, kid)["status"] == "ready",
               "order not ready after a valid answer")

        url, order = self.c.new_order(k, kid, [name(), name()])
        first, last = [self.chall_of(k, kid, a)
                       for a in order["authorizations"]]
        r = self.c.post(first["url"], {}, k, kid=kid)
        expect(r.status == 200 and r.json()["status"] in
               ("processing", "valid") and
               (r.json()["status"] == "valid" or
                r.header("Retry-After") is not None),
               "first challenge: " + r.brief())
        r = self.c.post(last["url"], {}, k, kid=kid)
        expect(r.status == 200 and r.json()["status"] == "valid",
               "last challenge: " + r.brief())
        self.c.wait_status(url, k, kid, ("ready",))

    def case_challenge_answer_wait_bounded(self):
        # A validation slower than challenge_wait_ms (1 s): the answer
        # says processing, with Retry-After, once the wait is over.
        k, kid = self.account()
        url, order = self.c.new_order(k, kid, [name()])
        ch = self.chall_of(k, kid, order["authorizations"][0])
        self.http.delays[ch["token"]] = 2.5
        t0 = time.time()
        r = self.c.post(ch["url"], {}, k, kid=kid)
        took = time.time() - t0
        expect(r.status == 200 and r.json()["status"] == "processing" and
               r.header("Retry-After") is not None,
               "challenge: " + r.brief())
        expect(0.9 <= took < 2.4, "answered after %.2f s" % took)
        self.c.wait_status(url, k, kid, ("ready",))

    def case_authz_reuse_and_deactivation(self):
        k, kid = self.account()
        n = name()
        url, order = self.c.new_order(k, kid, [n])
        self.c.validate_http01(k, kid, order, self.http)
        url2, order2 = self.c.new_order(k, kid, [n])
        expect(order2["status"] == "ready" and
               order2["authorizations"] == order["authorizations"],
               "valid authorization not reused: %r" % order2)
        r = self.c.post(order["authorizations"][0],
                        {"status": "deactivated"}, k, kid=kid)
        expect(r.status == 200 and r.json()["status"] == "deactivated",
               "deactivate: " + r.brief())
        order2 = self.c.get(url2, k, kid)
        expect(order2["status"] == "invalid", "order after deactivation: "
               "%r" % order2)
        r = self.c.post(order2["finalize"], {"csr": b64u(make_csr(
            Key(), [n]))}, k, kid=kid)
        expect_problem(r, 403, "orderNotReady")

    def case_download_chain(self):
        k, kid = self.account()
        n1, n2 = name(), name()
        _, r, ck = self.issue(k, kid, [n1, n2])
        expect(r.content_type() == "application/pem-certificate-chain",
               "content type " + r.content_type())
        certs = pem_certs(r.body)
        expect(len(certs) == 2, "chain of %d certificates" % len(certs))
        san = certs[0].extensions.get_extension_for_class(
            x509.SubjectAlternativeName).value.get_values_for_type(
                x509.DNSName)
        expect(sorted(san) == sorted([n1, n2]), "SAN %r" % san)
        expect(certs[0].public_key().public_numbers() ==
               ck.priv.public_key().public_numbers(), "wrong key")
        with tempfile.TemporaryDirectory() as d:
            leaf, chain = os.path.join(d, "leaf"), os.path.join(d, "chain")
            with open(leaf, "wb") as f:
                f.write(certs[0].public_bytes(serialization.Encoding.PEM))
            with open(chain, "wb") as f:
                f.write(certs[1].public_bytes(serialization.Encoding.PEM))
            p = subprocess.run(["openssl", "verify", "-CAfile", self.root,
                                "-untrusted", chain, leaf],
                               capture_output=True, text=True)
            expect(p.returncode == 0, "openssl verify: " + p.stdout +
                   p.stderr)

    def case_revoke_by_authorized_account(self):
        a, akid = self.account()
        n = name()
        _, r, _ = self.issue(a, akid, [n])
        der = pem_certs(r.body)[0].public_bytes(
            serialization.Encoding.DER)
        payload = {"certificate": b64u(der), "reason": 4}
        # An account without authorizations for the name may not.
        c, ckid = self.account()
        r = self.c.post(self.c.url("revokeCert"), payload, c, kid=ckid)
        expect_problem(r, 403, "unauthorized")
        # Reason 7 does not exist (RFC 5280 §5.3.1).
        b, bkid = self.account()
        url, order = self.c.new_order(b, bkid, [n])
        self.c.validate_http01(b, bkid, order, self.http)
        r = self.c.post(self.c.url("revokeCert"), {
            "certificate": b64u(der), "reason": 7}, b, kid=bkid)
        expect_problem(r, 400, "badRevocationReason")
        r = self.c.post(self.c.url("revokeCert"), payload, b, kid=bkid)
        expect(r.status == 200, "revoke by authorized account: " +
               r.brief())
        r = self.c.post(self.c.url("revokeCert"), payload, a, kid=akid)
        expect_problem(r, 400, "alreadyRevoked")

    def case_revoke_by_certificate_key(self):
        a, akid = self.account()
        _, r, ck = self.issue(a, akid, [name()])
        der = pem_certs(r.body)[0].public_bytes(
            serialization.Encoding.DER)
        payload = {"certificate": b64u(der)}
        other = Key()
        r = self.c.post(self.c.url("revokeCert"), payload, other)
        expect_problem(r, 403, "unauthorized")
        r = self.c.post(self.c.url("revokeCert"), payload, ck)
        expect(r.status == 200, "revoke by cert key: " + r.brief())

    def case_cached_account_deactivation(self):
        """§7.3.6 after the account was cached: newOrder and a POST-as-GET
        of an order and an authorization made before get 401
        unauthorized, and again on the next try.  A stale cache (a
        deactivation that did not drop the entry) would answer 201/200:
        the account part holds status valid and the key, so the request
        would never reach the store."""
        k, kid = self.account()
        url, order = self.cached_orders(k, kid)
        authz = order["authorizations"][0]
        r = self.c.post(url, None, k, kid=kid)
        expect(r.status == 200, "order (cache hit): " + r.brief())
        r = self.c.post(kid, {"status": "deactivated"}, k, kid=kid)
        expect(r.status == 200 and r.json()["status"] == "deactivated",
               "deactivate: " + r.brief())
        for _ in range(2):
            expect_problem(self.order_req(k, kid), 401, "unauthorized")
            expect_problem(self.c.post(url, None, k, kid=kid), 401,
                           "unauthorized")
            expect_problem(self.c.post(authz, None, k, kid=kid), 401,
                           "unauthorized")

    def case_cached_account_key_change(self):
        """§7.3.5 to a key of another type (ES256 to RS256) after the old
        key was cached: the server refuses the old key's JWS with 400
        badSignatureAlgorithm (its alg is no longer the account key's,
        §6.2), takes the new key's."""
        self.rolled_over(self.account("ec256"), Key("rsa2048"),
                         (400, "badSignatureAlgorithm"))

    def case_cached_account_key_change_same_type(self):
        """§7.3.5 to another key of the same type (ES256 to ES256) after
        the old key was cached: the old key's JWS now reaches signature
        verification against the new key and is refused with 400
        malformed; the stale cache this catches is one the alg check above
        cannot, as both keys have the same alg."""
        self.rolled_over(self.account("ec256"), Key("ec256"),
                         (400, "malformed"))

    def case_cached_account_contact_update(self):
        """§7.3.2 after the account was cached: the account stays usable
        through the cache (refilled, then hit) and the account object
        shows the new contact.  The cache keeps no contact, so what this
        catches is the cache's partial account (no JWK, no contact texts)
        leaking into the update or its answer: the answer or the account
        object would lose the contact, or the rewritten row its key and
        the next newOrder would fail.  Then a deactivation of the refilled
        entry is seen at once (401), as in the case above."""
        k, kid = self.account()
        url, order = self.cached_orders(k, kid)
        r = self.c.post(kid, {"contact": ["mailto:cached@example.test"]}, k,
                        kid=kid)
        expect(r.status == 200 and r.json()["contact"] ==
               ["mailto:cached@example.test"], "update: " + r.brief())
        url2, _ = self.cached_orders(k, kid)
        r = self.c.post(url, None, k, kid=kid)
        expect(r.status == 200 and r.json()["identifiers"] ==
               order["identifiers"], "order after the update: " + r.brief())
        acct = self.c.get(kid, k, kid)
        expect(acct["contact"] == ["mailto:cached@example.test"] and
               acct["status"] == "valid", "account: %r" % acct)
        r = self.c.post(acct["orders"], None, k, kid=kid)
        expect(r.status == 200 and url in r.json()["orders"] and
               url2 in r.json()["orders"], "orders: " + r.brief())
        r = self.c.new_account(k, only_existing=True)
        expect(r.status == 200 and r.header("Location") == kid,
               "onlyReturnExisting: " + r.brief())
        r = self.c.post(kid, {"status": "deactivated"}, k, kid=kid)
        expect(r.status == 200, "deactivate: " + r.brief())
        expect_problem(self.order_req(k, kid), 401, "unauthorized")
        expect_problem(self.c.post(url2, None, k, kid=kid), 401,
                       "unauthorized")


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: flows.py DIRECTORY_URL CA_BUNDLE ROOT")
    f = Flows(sys.argv[1], sys.argv[2], sys.argv[3],
              int(os.environ["HTTP01_PORT"]))
    cases = sorted(n for n in dir(f) if n.startswith("case_"))
    ok = bad = 0
    for i, n in enumerate(cases, 1):
        f.c.header_faults.clear()
        try:
            getattr(f, n)()
            if f.c.header_faults:
                raise Fail("; ".join(f.c.header_faults[:3]))
            print("ok %d - %s" % (i, n[5:]), flush=True)
            ok += 1
        except (Fail, AcmeError) as e:
            print("not ok %d - %s: %s" % (i, n[5:], e), flush=True)
            bad += 1
        except Exception:
            print("not ok %d - %s: %s" % (
                i, n[5:], traceback.format_exc().replace("\n", " | ")),
                flush=True)
            bad += 1
    f.http.close()
    print("# flows: %d ok, %d not ok" % (ok, bad))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
