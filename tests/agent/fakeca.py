#!/usr/bin/python3
"""fakeca.py - a small ACME server (RFC 8555) for the agent's fault tests:
just enough of the protocol to take a client to the step where it serves
one fault that a real CA cannot be made to produce.

Usage: fakeca.py --port PORT --cert CERT --key KEY --fault NAME
  CERT/KEY: the HTTPS certificate the test made (for "localhost").

It does not check signatures or validate challenges: an answered
challenge makes its authorization valid.  It issues from a CA key of its
own, made at start; the chain it sends is the leaf then that CA.  Every
request is logged on stderr as "METHOD PATH -> STATUS".

Faults (NAME):
  none             a working CA
  garbage          every answer: 200 application/json, not JSON
  html             every answer: the directory as text/html
  error500         every answer: 500 text/plain
  problem          every answer: 429 rateLimited problem document
  huge             every answer: 2 MiB of JSON
  hang             accepts TCP connections and never answers (not even TLS)
  badnonce         every POST: 400 badNonce (with a fresh nonce)
  html-authz       authorizations: 200 with an HTML page
  endless-authz    authorizations stay "pending", Retry-After: 1
  endless-order    after finalize the order stays "processing",
                   Retry-After: 1
  long-retry       authorizations stay "pending", Retry-After: 86400
  hang-finalize    finalize is never answered
  wrong-key        the certificate is for another key than the CSR's
  bad-signature    the leaf is not signed by the CA certificate sent
  unrelated-chain  the chain after the leaf is an unrelated certificate
  missing-name     the certificate lacks the last requested name
"""
import argparse
import base64
import datetime
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

FAULTS = ("none", "garbage", "html", "error500", "problem", "huge", "hang",
          "badnonce", "html-authz", "endless-authz", "endless-order",
          "long-retry", "hang-finalize", "wrong-key", "bad-signature",
          "unrelated-chain", "missing-name")

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--fault", choices=FAULTS, required=True)
ARGS = ap.parse_args()
FAULT = ARGS.fault
BASE = "https://localhost:%d" % ARGS.port
LOCK = threading.Lock()
ORDERS = {}  # id -> {"names", "authz": [valid?], "status", "cert"}


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def new_ca(cn):
    """A self-signed CA: (key, certificate)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.utcnow()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None),
                           critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


CA_KEY, CA_CERT = new_ca("fakeca root")


def pem(c):
    return c.public_bytes(serialization.Encoding.PEM)


def issue(csr_der, names):
    """The PEM chain for a CSR, with the fault applied."""
    csr = x509.load_der_x509_csr(csr_der)
    pub = csr.public_key()
    if FAULT == "wrong-key":
        pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    if FAULT == "missing-name" and len(names) > 1:
        names = names[:-1]
    elif FAULT == "missing-name":
        names = ["other." + names[0]]
    sign_key = CA_KEY
    if FAULT == "bad-signature":
        sign_key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.utcnow()
    leaf = (x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(CA_CERT.subject)
            .public_key(pub)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.SubjectAlternativeName(
                [x509.DNSName(n) for n in names]), critical=True)
            .sign(sign_key, hashes.SHA256()))
    up = CA_CERT
    if FAULT == "unrelated-chain":
        up = new_ca("unrelated")[1]
    return pem(leaf) + pem(up)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def answer(self, status, ctype, body, headers=None):
        sys.stderr.write("%s %s -> %d\n" % (self.command, self.path, status))
        sys.stderr.flush()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Replay-Nonce", b64u(os.urandom(16)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def obj(self, status, o, headers=None):
        self.answer(status, "application/json", json.dumps(o).encode(),
                    headers)

    def problem(self, status, kind, detail):
        self.answer(status, "application/problem+json", json.dumps({
            "type": "urn:ietf:params:acme:error:" + kind,
            "detail": detail}).encode())

    def directory(self):
        return {"newNonce": BASE + "/nonce", "newAccount": BASE + "/acct",
                "newOrder": BASE + "/new-order"}

    def whole_fault(self):
        """The faults that answer every request alike; True if served."""
        if FAULT == "garbage":
            self.answer(200, "application/json", b"<html>not json{")
        elif FAULT == "html":
            self.answer(200, "text/html",
                        json.dumps(self.directory()).encode())
        elif FAULT == "error500":
            self.answer(500, "text/plain", b"internal error")
        elif FAULT == "problem":
            self.problem(429, "rateLimited",
                         "too many requests, try again later")
        elif FAULT == "huge":
            self.answer(200, "application/json",
                        b"[" + b"1," * (1024 * 1024) + b"1]")
        else:
            return False
        return True

    def do_GET(self):
        if self.whole_fault():
            return
        if self.path == "/dir":
            self.obj(200, self.directory())
        elif self.path == "/nonce":
            self.answer(200, "text/plain", b"")
        else:
            self.problem(405, "malformed", "use POST")

    do_HEAD = do_GET

    def payload(self):
        """The JWS payload: None for POST-as-GET, else the JSON."""
        n = int(self.headers.get("Content-Length", "0"))
        if n > 1 << 20:
            raise ValueError("too large")
        jws = json.loads(self.rfile.read(n))
        pl = jws.get("payload", "")
        return json.loads(unb64u(pl)) if pl else None

    def order_obj(self, oid):
        o = ORDERS[oid]
        if o["status"] == "pending" and all(o["authz"]):
            o["status"] = "ready"
        j = {"status": o["status"],
             "identifiers": [{"type": "dns", "value": n} for n in o["names"]],
             "authorizations": ["%s/authz/%s/%d" % (BASE, oid, i)
                                for i in range(len(o["names"]))],
             "finalize": "%s/finalize/%s" % (BASE, oid)}
        if o["status"] == "valid":
            j["certificate"] = "%s/cert/%s" % (BASE, oid)
        return j

    def authz_obj(self, oid, i):
        o = ORDERS[oid]
        st = "valid" if o["authz"][i] else "pending"
        chs = [{"type": t, "url": "%s/chall/%s/%d" % (BASE, oid, i),
                "token": o["tokens"][i], "status": st}
               for t in ("http-01", "tls-alpn-01", "dns-01")]
        return {"status": st, "challenges": chs,
                "identifier": {"type": "dns", "value": o["names"][i]}}

    def do_POST(self):
        if self.whole_fault():
            return
        try:
            pl = self.payload()
        except (ValueError, KeyError):
            self.problem(400, "malformed", "not a JWS")
            return
        if FAULT == "badnonce":
            self.problem(400, "badNonce", "nonce unknown (always)")
            return
        parts = self.path.strip("/").split("/")
        with LOCK:
            self.route(parts, pl)

    def route(self, parts, pl):
        what = parts[0]
        if what == "acct":
            self.obj(201, {"status": "valid"},
                     {"Location": BASE + "/acct/1"})
        elif what == "new-order":
            oid = b64u(os.urandom(6))
            names = [i["value"] for i in pl["identifiers"]]
            ORDERS[oid] = {"names": names, "authz": [False] * len(names),
                           "tokens": [b64u(os.urandom(24)) for _ in names],
                           "status": "pending", "cert": None}
            self.obj(201, self.order_obj(oid),
                     {"Location": "%s/order/%s" % (BASE, oid)})
        elif what == "order" and parts[1] in ORDERS:
            o = ORDERS[parts[1]]
            hdr = {}
            if FAULT == "endless-order" and o["status"] == "processing":
                hdr = {"Retry-After": "1"}
            self.obj(200, self.order_obj(parts[1]), hdr)
        elif what == "authz" and parts[1] in ORDERS:
            if FAULT == "html-authz":
                self.answer(200, "text/html",
                            b"<html><body><h1>Maintenance</h1></body></html>")
                return
            hdr = {}
            if FAULT in ("endless-authz", "long-retry"):
                hdr = {"Retry-After":
                       "86400" if FAULT == "long-retry" else "1"}
            self.obj(200, self.authz_obj(parts[1], int(parts[2])), hdr)
        elif what == "chall" and parts[1] in ORDERS:
            oid, i = parts[1], int(parts[2])
            if FAULT not in ("endless-authz", "long-retry"):
                ORDERS[oid]["authz"][i] = True
            ch = self.authz_obj(oid, i)["challenges"][0]
            ch["status"] = "valid" if ORDERS[oid]["authz"][i] else \
                "processing"
            self.obj(200, ch)
        elif what == "finalize" and parts[1] in ORDERS:
            oid = parts[1]
            o = ORDERS[oid]
            if FAULT == "hang-finalize":
                LOCK.release()
                try:
                    time.sleep(3600)
                finally:
                    LOCK.acquire()
            if o["status"] != "ready":
                self.problem(403, "orderNotReady", "order not ready")
                return
            o["cert"] = issue(unb64u(pl["csr"]), o["names"])
            o["status"] = "processing" if FAULT == "endless-order" \
                else "valid"
            self.obj(200, self.order_obj(oid))
        elif what == "cert" and parts[1] in ORDERS and \
                ORDERS[parts[1]]["cert"]:
            self.answer(200, "application/pem-certificate-chain",
                        ORDERS[parts[1]]["cert"])
        else:
            self.problem(404, "malformed", "no such resource")


def hang_forever():
    """Accepts connections and keeps them open, silent."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", ARGS.port))
    s.listen(16)
    held = []
    while True:
        c, _ = s.accept()
        sys.stderr.write("connection accepted, never answered\n")
        sys.stderr.flush()
        held.append(c)


if FAULT == "hang":
    hang_forever()
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(ARGS.cert, ARGS.key)
http.server.ThreadingHTTPServer.daemon_threads = True
srv = http.server.ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
