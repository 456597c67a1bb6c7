#!/usr/bin/python3
"""fakeca.py - an HTTPS server that answers every request with one fault,
for the agent's bad-input tests.

Usage: fakeca.py PORT CERT KEY MODE
MODE:
  garbage     200, Content-Type application/json, body not JSON
  html        200, a valid directory, Content-Type text/html
  error500    500, text/plain
  problem     429, an RFC 7807 rateLimited problem document
  huge        200, JSON that never ends within the agent's limit (2 MiB)
"""
import http.server
import json
import ssl
import sys

PORT, CERT, KEY, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, ctype, body):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_any(self):
        base = "https://localhost:%d" % PORT
        directory = json.dumps({"newNonce": base + "/nonce",
                                "newAccount": base + "/acct",
                                "newOrder": base + "/order"}).encode()
        if MODE == "garbage":
            self.answer(200, "application/json", b"<html>not json{")
        elif MODE == "html":
            self.answer(200, "text/html", directory)
        elif MODE == "error500":
            self.answer(500, "text/plain", b"internal error")
        elif MODE == "problem":
            self.answer(429, "application/problem+json", json.dumps({
                "type": "urn:ietf:params:acme:error:rateLimited",
                "detail": "too many requests, try again later"}).encode())
        elif MODE == "huge":
            self.answer(200, "application/json",
                        b"[" + b"1," * (1024 * 1024) + b"1]")
        else:
            self.answer(404, "text/plain", b"unknown mode")

    do_GET = do_any
    do_HEAD = do_any
    do_POST = do_any


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(CERT, KEY)
srv = http.server.ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
