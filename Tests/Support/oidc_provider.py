#!/usr/bin/env python3
"""A small OpenID Connect provider for the tests only (never for real use): discovery, JWKS,
the authorization endpoint with PKCE (S256 only), the token endpoint (client_secret_basic or
client_secret_post) and RS256 ID tokens signed with the `cryptography` package.

    python3 Tests/Support/oidc_provider.py

Reads its settings as one JSON object on standard input (so the client secret is never in argv):
{"clientID": "...", "clientSecret": "..." | null, "redirectURIs": ["..."]}
Prints the port it listens on (127.0.0.1, chosen by the system) as its first line; the issuer is
http://127.0.0.1:PORT.

The sign-in page (GET /authorize) asks for an email and signs that person in with one click (no
password: it is a test harness). POST /control (JSON) changes the harness:
  {"autoUser": EMAIL|null}   sign this person in at once, without the page (the Swift tests' client)
  {"unverified": [EMAIL]}    these emails are sent with email_verified false
  {"mode": M}                the next ID tokens are wrong on purpose: wrong_nonce, bad_signature,
                             wrong_audience, expired, wrong_issuer, alg_none (null: correct tokens)
  {"redirectURIs": [...]}    the registered redirect URIs
GET /control/log answers what the token endpoint received (client auth method, PKCE result) as JSON.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import os
import secrets
import signal
import sys
import threading
import time
import urllib.parse

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
except ImportError:  # re-run with the tests' virtualenv, which has `cryptography`
    venv = os.environ.get("MZPANEL_TEST_VENV", "/work/venv")
    python = os.path.join(venv, "bin", "python3")
    if os.path.exists(python) and os.path.realpath(sys.executable) != os.path.realpath(python):
        os.execv(python, [python] + sys.argv)
    raise

import http.server

# The test process starts helpers from threads that block most signals, and a blocked mask
# survives exec: unblock them, or the test's terminate() (SIGTERM) never ends this helper.
signal.pthread_sigmask(signal.SIG_SETMASK, set())


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(value: int) -> bytes:
    return value.to_bytes((value.bit_length() + 7) // 8, "big")


class Provider:
    def __init__(self, settings: dict) -> None:
        self.client_id = settings["clientID"]
        self.client_secret = settings.get("clientSecret")
        self.redirect_uris = list(settings.get("redirectURIs", []))
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.rogue = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "test-key-1"
        self.codes: dict[str, dict] = {}
        self.auto_user: str | None = None
        self.unverified: set[str] = set()
        self.mode: str | None = None
        self.log: list[dict] = []
        self.lock = threading.Lock()
        self.issuer = ""

    def jwks(self) -> dict:
        numbers = self.key.public_key().public_numbers()
        return {"keys": [{"kty": "RSA", "use": "sig", "alg": "RS256", "kid": self.kid, "n": b64url(int_bytes(numbers.n)),
                          "e": b64url(int_bytes(numbers.e))}]}

    def id_token(self, grant: dict) -> str:
        now = int(time.time())
        mode = self.mode
        claims = {"iss": self.issuer, "sub": "sub-" + hashlib.sha256(grant["email"].encode()).hexdigest()[:16], "aud": self.client_id,
                  "iat": now, "exp": now + 300, "nonce": grant["nonce"], "email": grant["email"],
                  "email_verified": grant["email"] not in self.unverified, "auth_time": now}
        if mode == "wrong_nonce":
            claims["nonce"] = "not-the-nonce"
        elif mode == "wrong_audience":
            claims["aud"] = "another-client"
        elif mode == "expired":
            claims["iat"], claims["exp"] = now - 3600, now - 1800
        elif mode == "wrong_issuer":
            claims["iss"] = self.issuer + "/other"
        header = {"alg": "none" if mode == "alg_none" else "RS256", "kid": self.kid, "typ": "JWT"}
        signing_input = b64url(json.dumps(header).encode()) + "." + b64url(json.dumps(claims).encode())
        if mode == "alg_none":
            return signing_input + "."
        key = self.rogue if mode == "bad_signature" else self.key
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        return signing_input + "." + b64url(signature)


def main() -> None:
    provider = Provider(json.loads(sys.stdin.readline()))

    class Handler(http.server.BaseHTTPRequestHandler):
        def answer(self, status: int, body: bytes, content_type: str = "application/json", headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def json(self, status: int, value: object) -> None:
            self.answer(status, json.dumps(value).encode())

        def form(self) -> dict[str, str]:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            return {k: v[0] for k, v in urllib.parse.parse_qs(body, keep_blank_values=True).items()}

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            url = urllib.parse.urlsplit(self.path)
            query = {k: v[0] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
            if url.path == "/.well-known/openid-configuration":
                issuer = provider.issuer
                return self.json(200, {
                    "issuer": issuer, "authorization_endpoint": issuer + "/authorize", "token_endpoint": issuer + "/token",
                    "jwks_uri": issuer + "/jwks", "response_types_supported": ["code"], "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256"], "code_challenge_methods_supported": ["S256"],
                    "scopes_supported": ["openid", "email", "profile"],
                    "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
                    "grant_types_supported": ["authorization_code"]})
            if url.path == "/jwks":
                return self.json(200, provider.jwks())
            if url.path == "/control/log":
                with provider.lock:
                    return self.json(200, provider.log)
            if url.path == "/authorize":
                return self.authorize(query, email=provider.auto_user)
            self.json(404, {"error": "not_found"})

        def authorize(self, query: dict, email: str | None) -> None:
            """Checks the request (RFC 6749 §4.1.1, RFC 7636 §4.3); shows the sign-in page or, with an email, redirects with a code."""
            if query.get("client_id") != provider.client_id or query.get("redirect_uri") not in provider.redirect_uris:
                return self.answer(400, b"unknown client or redirect_uri", "text/plain")
            redirect = query["redirect_uri"]

            def back(params: dict) -> None:
                params["state"] = query.get("state", "")
                separator = "&" if "?" in redirect else "?"
                self.answer(302, b"", "text/plain", {"Location": redirect + separator + urllib.parse.urlencode(params)})

            if query.get("response_type") != "code":
                return back({"error": "unsupported_response_type"})
            if "openid" not in query.get("scope", "").split():
                return back({"error": "invalid_scope"})
            if query.get("code_challenge_method") != "S256" or len(query.get("code_challenge", "")) != 43:
                return back({"error": "invalid_request", "error_description": "PKCE with S256 is required"})
            if not query.get("nonce") or not query.get("state"):
                return back({"error": "invalid_request", "error_description": "state and nonce are required"})
            if email is None:
                hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query.items())
                page = (f"<!doctype html><title>Test provider</title><h1>Test identity provider</h1>"
                        f'<form method="post" action="/authorize" id="provider-form">{hidden}'
                        f'<label for="provider-email">Email</label> <input id="provider-email" name="email" type="email" '
                        f'value="{html.escape(query.get("login_hint", ""))}">'
                        f'<button type="submit" id="provider-sign-in">Sign in</button></form>')
                return self.answer(200, page.encode(), "text/html; charset=utf-8")
            code = secrets.token_urlsafe(24)
            with provider.lock:
                provider.codes[code] = {"email": email.lower(), "nonce": query["nonce"], "challenge": query["code_challenge"],
                                        "redirect_uri": redirect, "client_id": query["client_id"], "expires": time.time() + 60}
            back({"code": code})

        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            url = urllib.parse.urlsplit(self.path)
            if url.path == "/control":
                change = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                with provider.lock:
                    if "autoUser" in change:
                        provider.auto_user = change["autoUser"]
                    if "unverified" in change:
                        provider.unverified = set(change["unverified"])
                    if "mode" in change:
                        provider.mode = change["mode"]
                    if "redirectURIs" in change:
                        provider.redirect_uris = list(change["redirectURIs"])
                return self.json(200, {"ok": True})
            if url.path == "/authorize":
                fields = self.form()
                return self.authorize(fields, email=fields.get("email") or None)
            if url.path == "/token":
                return self.token(self.form())
            self.json(404, {"error": "not_found"})

        def token(self, fields: dict) -> None:
            """RFC 6749 §4.1.3 with client authentication (§2.3.1) and PKCE (RFC 7636 §4.6)."""
            method, client_id, secret = "none", fields.get("client_id"), fields.get("client_secret")
            authorization = self.headers.get("Authorization", "")
            if authorization.startswith("Basic "):
                pair = base64.b64decode(authorization[6:]).decode()
                client_id, _, secret = pair.partition(":")
                client_id, secret = urllib.parse.unquote_plus(client_id), urllib.parse.unquote_plus(secret)
                method = "client_secret_basic"
            elif secret is not None:
                method = "client_secret_post"
            entry = {"method": method, "grant_type": fields.get("grant_type"), "pkce": False, "status": 400}
            try:
                if client_id != provider.client_id or (provider.client_secret is not None and secret != provider.client_secret):
                    entry["status"] = 401
                    return self.json(401, {"error": "invalid_client"})
                if fields.get("grant_type") != "authorization_code":
                    return self.json(400, {"error": "unsupported_grant_type"})
                with provider.lock:
                    grant = provider.codes.pop(fields.get("code", ""), None)
                if grant is None or grant["expires"] < time.time() or grant["client_id"] != client_id:
                    return self.json(400, {"error": "invalid_grant"})
                if grant["redirect_uri"] != fields.get("redirect_uri"):
                    return self.json(400, {"error": "invalid_grant", "error_description": "redirect_uri differs"})
                verifier = fields.get("code_verifier", "")
                entry["pkce"] = b64url(hashlib.sha256(verifier.encode()).digest()) == grant["challenge"] and 43 <= len(verifier) <= 128
                if not entry["pkce"]:
                    return self.json(400, {"error": "invalid_grant", "error_description": "PKCE verification failed"})
                entry["status"] = 200
                self.json(200, {"access_token": secrets.token_urlsafe(24), "token_type": "Bearer", "expires_in": 300,
                                "id_token": provider.id_token(grant)})
            finally:
                with provider.lock:
                    provider.log.append(entry)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    provider.issuer = f"http://127.0.0.1:{server.server_address[1]}"
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
