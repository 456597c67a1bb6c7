"""acmelib.py - a small ACME (RFC 8555) request builder for the tests.

It builds every part of a request by hand so that a test can break exactly
one rule: flattened JWS (RFC 7515 §7.2.2) with ES256 (raw R||S), ES384 or
RS256, nonces from Replay-Nonce / newNonce, kid or jwk.  Each response is
kept with the request that caused it, and checked for the headers every
ACME response needs (Replay-Nonce, Link rel="index").

Debian's python3 and python3-cryptography only; no network beyond the
server it is given.
"""
import base64
import hashlib
import http.client
import json
import re
import ssl
import threading
import time
import http.server
import urllib.parse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature)
from cryptography.x509.oid import NameOID

PROBLEM_NS = "urn:ietf:params:acme:error:"
HTTP_TIMEOUT = 15


def b64u(data):
    """base64url without padding (RFC 7515 §2) of bytes or str."""
    if isinstance(data, str):
        data = data.encode()
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64u_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def canon_json(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


class Key:
    """An account or certificate key: EC P-256 / P-384 or RSA."""

    def __init__(self, kind="ec256"):
        self.kind = kind
        if kind == "ec256":
            self.priv = ec.generate_private_key(ec.SECP256R1())
            self.alg, self.size, self.hash = "ES256", 32, hashes.SHA256()
        elif kind == "ec384":
            self.priv = ec.generate_private_key(ec.SECP384R1())
            self.alg, self.size, self.hash = "ES384", 48, hashes.SHA384()
        elif kind == "rsa2048":
            self.priv = rsa.generate_private_key(65537, 2048)
            self.alg, self.size, self.hash = "RS256", 0, hashes.SHA256()
        else:
            raise ValueError("unknown key kind " + kind)

    def jwk(self):
        pub = self.priv.public_key().public_numbers()
        if self.kind.startswith("ec"):
            crv = "P-256" if self.kind == "ec256" else "P-384"
            return {"crv": crv, "kty": "EC",
                    "x": b64u(pub.x.to_bytes(self.size, "big")),
                    "y": b64u(pub.y.to_bytes(self.size, "big"))}
        n = pub.n.to_bytes((pub.n.bit_length() + 7) // 8, "big")
        e = pub.e.to_bytes((pub.e.bit_length() + 7) // 8, "big")
        return {"e": b64u(e), "kty": "RSA", "n": b64u(n)}

    def thumbprint(self):
        """RFC 7638 thumbprint, base64url."""
        return b64u(hashlib.sha256(canon_json(self.jwk()).encode()).digest())

    def sign(self, data):
        """JWS signature of data: raw R||S for ECDSA (RFC 7518 §3.4)."""
        if self.kind.startswith("ec"):
            der = self.priv.sign(data, ec.ECDSA(self.hash))
            r, s = decode_dss_signature(der)
            return r.to_bytes(self.size, "big") + s.to_bytes(self.size, "big")
        return self.priv.sign(data, padding.PKCS1v15(), self.hash)


def make_csr(key, names):
    """DER CSR for names (SAN dNSName each, CN the first), signed by key."""
    b = x509.CertificateSigningRequestBuilder()
    b = b.subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
    b = b.add_extension(x509.SubjectAlternativeName(
        [x509.DNSName(n) for n in names]), critical=False)
    csr = b.sign(key.priv, hashes.SHA256())
    return csr.public_bytes(serialization.Encoding.DER)


class Response:
    def __init__(self, method, url, status, headers, body):
        self.method = method
        self.url = url
        self.status = status
        self.headers = headers      # http.client.HTTPMessage
        self.body = body

    def header(self, name):
        return self.headers.get(name)

    def content_type(self):
        ct = self.headers.get("Content-Type") or ""
        return ct.split(";")[0].strip().lower()

    def json(self):
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None

    def problem_type(self):
        j = self.json()
        if isinstance(j, dict):
            return j.get("type")
        return None

    def brief(self):
        text = self.body[:300].decode("utf-8", "replace")
        return "%s %s -> %d %s %s" % (self.method, self.url, self.status,
                                      self.content_type(), text)


class AcmeError(Exception):
    pass


class Client:
    """One connection-less ACME client; every request is logged in
    self.log and checked by check_headers()."""

    def __init__(self, directory_url, cafile):
        self.directory_url = directory_url
        self.ctx = ssl.create_default_context(cafile=cafile)
        self.log = []
        self.header_faults = []
        self._nonce = None
        self.directory = None
        self.refresh_directory()

    # --- transport -----------------------------------------------------
    def request(self, method, url, body=None, headers=None):
        u = urllib.parse.urlsplit(url)
        if u.scheme != "https":
            raise AcmeError("not an https URL: " + url)
        conn = http.client.HTTPSConnection(u.hostname, u.port or 443,
                                           context=self.ctx,
                                           timeout=HTTP_TIMEOUT)
        path = u.path + ("?" + u.query if u.query else "")
        try:
            conn.request(method, path or "/", body=body,
                         headers=headers or {})
            r = conn.getresponse()
            data = r.read(4 * 1024 * 1024)
            resp = Response(method, url, r.status, r.headers, data)
        finally:
            conn.close()
        self.log.append(resp)
        self.check_headers(resp)
        n = resp.header("Replay-Nonce")
        if n:
            self._nonce = n
        return resp

    def check_headers(self, resp):
        """RFC 8555 §6.5: Replay-Nonce on every POST answer (MUST on
        success, SHOULD on error; we ask it of all) and on newNonce; §7.1:
        Link rel="index" on every resource but the directory."""
        is_dir = (resp.method == "GET" and resp.url == self.directory_url)
        if is_dir:
            return
        if resp.method == "POST" or (
                self.directory and resp.url == self.directory.get("newNonce")):
            n = resp.header("Replay-Nonce")
            if not n or not re.fullmatch(r"[A-Za-z0-9_-]+", n):
                self.header_faults.append(
                    "no valid Replay-Nonce: " + resp.brief())
        idx = self.index_link(resp)
        if idx != self.directory_url:
            self.header_faults.append(
                "Link rel=index is %r, not the directory: %s"
                % (idx, resp.brief()))

    @staticmethod
    def index_link(resp):
        for v in resp.headers.get_all("Link") or []:
            for part in v.split(","):
                m = re.match(r'\s*<([^>]*)>\s*;\s*rel\s*=\s*"?index"?\s*$',
                             part)
                if m:
                    return m.group(1)
        return None

    def refresh_directory(self):
        r = self.request("GET", self.directory_url)
        if r.status != 200 or not isinstance(r.json(), dict):
            raise AcmeError("directory: " + r.brief())
        self.directory = r.json()
        return r

    def url(self, name):
        return self.directory[name]

    # --- nonces --------------------------------------------------------
    def new_nonce(self):
        r = self.request("HEAD", self.url("newNonce"))
        n = r.header("Replay-Nonce")
        if r.status not in (200, 204) or not n:
            raise AcmeError("newNonce: " + r.brief())
        self._nonce = None
        return n

    def take_nonce(self):
        """A nonce to use once: the last Replay-Nonce seen, else a new one."""
        n = self._nonce
        self._nonce = None
        return n if n else self.new_nonce()

    # --- JWS -----------------------------------------------------------
    def protected(self, url, key, kid=None, nonce=True, alg=None,
                  jwk=None, extra=None):
        """The protected header: kid when given, else jwk; nonce=True takes
        a fresh nonce, a string uses it, None leaves it out."""
        h = {"alg": alg or key.alg, "url": url}
        if nonce is True:
            h["nonce"] = self.take_nonce()
        elif nonce is not None:
            h["nonce"] = nonce
            if nonce == self._nonce:
                self._nonce = None
        if kid is not None:
            h["kid"] = kid
        if jwk or (kid is None and jwk is None):
            h["jwk"] = key.jwk()
        if extra:
            h.update(extra)
        return h

    @staticmethod
    def encode_payload(payload):
        if payload is None:
            return ""
        if isinstance(payload, (bytes, str)):
            return b64u(payload)
        return b64u(json.dumps(payload))

    @staticmethod
    def flattened(protected, payload_b64, key, sign_key=None):
        """Flattened JWS; protected is a dict or an already encoded str."""
        if isinstance(protected, dict):
            prot_b64 = b64u(json.dumps(protected))
        else:
            prot_b64 = protected
        signer = sign_key or key
        sig = signer.sign((prot_b64 + "." + payload_b64).encode())
        return {"protected": prot_b64, "payload": payload_b64,
                "signature": b64u(sig)}

    def post_raw(self, url, body, content_type="application/jose+json"):
        if isinstance(body, dict):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        return self.request("POST", url, body=body,
                            headers={"Content-Type": content_type})

    def post(self, url, payload, key, kid=None, **kw):
        """A correct signed POST (payload None = POST-as-GET)."""
        prot = self.protected(url, key, kid=kid, **kw)
        jws = self.flattened(prot, self.encode_payload(payload), key)
        return self.post_raw(url, jws)

    # --- flows ---------------------------------------------------------
    def new_account(self, key, only_existing=False):
        payload = {"termsOfServiceAgreed": True,
                   "contact": ["mailto:test@example.test"]}
        if only_existing:
            payload = {"onlyReturnExisting": True}
        r = self.post(self.url("newAccount"), payload, key)
        return r

    def account(self, key):
        r = self.new_account(key)
        if r.status not in (200, 201) or not r.header("Location"):
            raise AcmeError("newAccount: " + r.brief())
        return r.header("Location")

    def new_order(self, key, kid, names):
        r = self.post(self.url("newOrder"), {
            "identifiers": [{"type": "dns", "value": n} for n in names]},
            key, kid=kid)
        if r.status != 201 or not r.header("Location"):
            raise AcmeError("newOrder: " + r.brief())
        return r.header("Location"), r.json()

    def get(self, url, key, kid):
        """POST-as-GET; returns the parsed JSON or raises."""
        r = self.post(url, None, key, kid=kid)
        if r.status != 200:
            raise AcmeError("POST-as-GET: " + r.brief())
        return r.json() if r.content_type() == "application/json" else r.body

    def wait_status(self, url, key, kid, want, secs=30):
        """Polls a resource until its status is in want; returns it."""
        deadline = time.time() + secs
        while True:
            obj = self.get(url, key, kid)
            if obj.get("status") in want:
                return obj
            if obj.get("status") == "invalid" or time.time() > deadline:
                raise AcmeError("%s stayed %s (wanted %s): %s" % (
                    url, obj.get("status"), want, json.dumps(obj)[:400]))
            time.sleep(0.2)

    def validate_http01(self, key, kid, order, responder):
        """Answers the http-01 challenge of every authorization of order
        (a dict) through responder; returns when the order is ready."""
        for authz_url in order["authorizations"]:
            authz = self.get(authz_url, key, kid)
            if authz.get("status") == "valid":
                continue
            chal = [c for c in authz.get("challenges", [])
                    if c.get("type") == "http-01"]
            if not chal:
                raise AcmeError("no http-01 challenge in " + authz_url)
            token = chal[0]["token"]
            responder.tokens[token] = token + "." + key.thumbprint()
            r = self.post(chal[0]["url"], {}, key, kid=kid)
            if r.status != 200:
                raise AcmeError("challenge: " + r.brief())
            self.wait_status(authz_url, key, kid, ("valid",))


class Http01Responder:
    """Serves /.well-known/acme-challenge/TOKEN on 127.0.0.1:port from the
    dict self.tokens, in a daemon thread; a token in self.delays is
    answered that many seconds late."""

    def __init__(self, port):
        self.tokens = {}
        self.delays = {}
        tokens, delays = self.tokens, self.delays

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                prefix = "/.well-known/acme-challenge/"
                tok = self.path[len(prefix):] if self.path.startswith(
                    prefix) else None
                body = tokens.get(tok)
                if tok in delays:
                    time.sleep(delays[tok])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                                      Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
