#!/usr/bin/env python3
"""A fake hub for the browser tests of the web UI's modules (no Swift build needed).

One local HTTP server (127.0.0.1, random port, in a thread) that
- serves the real static files (jsbridge.STATIC) at `/backups/static/`, as the hub does,
- serves `fixtures/NAME.html` at `/fixtures/NAME.html`, with `%%TOKEN%%`s replaced from `tokens`,
- answers the JSON API routes the pages call, in memory (`/api/v1/vault`, `/api/v1/destinations…`,
  envelopes, `/api/v1/schedules/preview`), with the hub's error shape
  `{"error": {"code", "message", "field"}}`, and refuses a change without `X-MZPanel-Request: 1`,
- streams `/backups/runs/{id}/events` (server-sent events) from `run_events[id]` (once),
- serves a stand-in page at `/backups/destinations/{id}`, where the forms go after success, and
  records a plain form post to any other path (answered with a page saying `posted`).

Every API request is recorded in `hub.requests` (method, path, headers, raw body, parsed JSON).
`hub.fail(method, path_regex, status, error)` makes the next matching request answer an error.
All pages carry the hub's Content-Security-Policy, so an inline script or style would fail here
as it would in production.

Also: `x25519_public_key(private)` and `key_id(public)` (docs/sealing.md) for server keys.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import json
import re
import threading
import time
from pathlib import Path
from urllib.parse import unquote, urlsplit

import jsbridge

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
STATIC = jsbridge.STATIC

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}


# ---------------------------------------------------------------------------------------------
# X25519 (RFC 7748), enough to make server key pairs for the tests

_P = 2**255 - 19


def _x25519(scalar: bytes, u: bytes) -> bytes:
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k_int = int.from_bytes(k, "little")
    x1 = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        bit = (k_int >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = (x2 + z2) % _P, (x2 - z2) % _P
        aa, bb = a * a % _P, b * b % _P
        e = (aa - bb) % _P
        c, d = (x3 + z3) % _P, (x3 - z3) % _P
        da, cb = d * a % _P, c * b % _P
        x3 = (da + cb) ** 2 % _P
        z3 = x1 * (da - cb) ** 2 % _P
        x2 = aa * bb % _P
        z2 = e * (aa + 121665 * e) % _P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, _P - 2, _P) % _P).to_bytes(32, "little")


def x25519_public_key(private_key: bytes) -> bytes:
    return _x25519(private_key, (9).to_bytes(32, "little"))


def key_id(public_key: bytes) -> str:
    """The key id of docs/sealing.md: SHA-256, first 16 bytes, hex in groups of 4 joined by ':'."""
    digest = hashlib.sha256(public_key).hexdigest()[:32]
    return ":".join(digest[i : i + 4] for i in range(0, 32, 4))


class ServerKey:
    """A test server's key pair, derived from its id."""

    def __init__(self, server_id: str) -> None:
        self.server_id = server_id
        self.private = hashlib.sha256(f"mzpanel-test-server-key/{server_id}".encode()).digest()
        self.public = x25519_public_key(self.private)
        self.public_b64 = base64.b64encode(self.public).decode()
        self.key_id = key_id(self.public)


# ---------------------------------------------------------------------------------------------
# The fake hub


def _error(code: str, message: str, field: str | None = None) -> dict:
    body = {"code": code, "message": message}
    if field:
        body["field"] = field
    return {"error": body}


class FakeHub:
    def __init__(self, tokens: dict[str, str] | None = None) -> None:
        self.tokens = dict(tokens or {})
        self.lock = threading.Lock()
        self.reset()
        hub = self

        class Handler(_Handler):
            fake = hub

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fakehub-http", daemon=True)
        self.thread.start()

    def reset(self) -> None:
        with self.lock:
            self.requests: list[dict] = []
            self.vault = None
            self.destinations: dict[str, dict] = {}
            self.servers: dict[str, dict] = {}
            self.envelopes: dict[tuple[str, str], dict] = {}
            self.jobs: dict[str, dict] = {}
            self.failures: list[dict] = []
            self.counter = 0
            self.run_events: dict[str, list[dict]] = {}
            self.preview_delay = 0.0

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)

    def fail(self, method: str, path_regex: str, status: int, error: dict, times: int = 1) -> None:
        """The next `times` requests matching answer `status` with `error` ({"error": {...}})."""
        with self.lock:
            self.failures.append({"method": method.upper(), "path": re.compile(path_regex), "status": status, "body": error, "times": times})

    def api_requests(self, method: str | None = None, path_regex: str | None = None) -> list[dict]:
        with self.lock:
            found = list(self.requests)
        if method:
            found = [r for r in found if r["method"] == method.upper()]
        if path_regex:
            found = [r for r in found if re.fullmatch(path_regex, r["path"])]
        return found

    # The API ------------------------------------------------------------------------------

    def handle_api(self, method: str, path: str, body) -> tuple[int, object]:
        with self.lock:
            for failure in self.failures:
                if failure["times"] > 0 and failure["method"] == method and failure["path"].fullmatch(path):
                    failure["times"] -= 1
                    return failure["status"], failure["body"]

            if path == "/api/v1/vault":
                if method == "GET":
                    if self.vault is None:
                        return 404, _error("not_found", "this account has no vault yet")
                    return 200, self.vault
                if method == "PUT":
                    if self.vault is not None and not (isinstance(body, dict) and body.get("replace")):
                        return 409, _error("conflict", "this account already has a vault", "vault")
                    if not isinstance(body, dict) or not isinstance(body.get("vault"), dict):
                        return 400, _error("invalid", "vault is required", "vault")
                    self.vault = body["vault"]
                    return 200, self.vault

            match = re.fullmatch(r"/api/v1/servers/([^/]+)", path)
            if match and method == "GET":
                server = self.servers.get(match[1])
                return (200, server) if server else (404, _error("not_found", f"no server {match[1]}"))
            match = re.fullmatch(r"/api/v1/servers/([^/]+)/certificate", path)
            if match and method == "PUT":
                server = self.servers.get(match[1])
                if server is None:
                    return 404, _error("not_found", f"no server {match[1]}")
                if not isinstance(body, dict) or body.get("keyFingerprint") != server["keyFingerprint"]:
                    return 409, _error("conflict", "the server's key changed", "keyFingerprint")
                server["certificate"] = body.get("certificate")
                return 200, server

            if path == "/api/v1/destinations" and method == "GET":
                return 200, {"destinations": list(self.destinations.values())}
            if path == "/api/v1/jobs" and method == "GET":
                return 200, {"jobs": list(self.jobs.values())}

            if path == "/api/v1/destinations" and method == "POST":
                if not isinstance(body, dict) or not str(body.get("name", "")).strip():
                    return 400, _error("invalid", "name must not be empty", "name")
                self.counter += 1
                destination = {
                    "id": f"dst_{self.counter}",
                    "accountID": self.tokens.get("ACCOUNT", "acc_test"),
                    "name": body["name"],
                    "kind": body.get("kind"),
                    "settings": body.get("settings") or {},
                }
                self.destinations[destination["id"]] = destination
                return 201, destination

            match = re.fullmatch(r"/api/v1/destinations/([^/]+)", path)
            if match:
                destination = self.destinations.get(match[1])
                if destination is None:
                    return 404, _error("not_found", f"no destination {match[1]}")
                if method == "GET":
                    return 200, {**destination, "jobs": [], "sealedTo": [s for (d, s) in self.envelopes if d == match[1]]}
                if method == "PATCH":
                    if isinstance(body, dict) and "credentialKey" in body:
                        destination["credentialKey"] = body["credentialKey"]
                        for key in [k for k in self.envelopes if k[0] == match[1]]:
                            del self.envelopes[key]
                    return 200, destination
                if method == "DELETE":
                    del self.destinations[match[1]]
                    return 200, {"deleted": True}

            match = re.fullmatch(r"/api/v1/(destinations|jobs)/([^/]+)/manifest", path)
            if match and method == "PUT":
                item = (self.destinations if match[1] == "destinations" else self.jobs).get(match[2])
                if item is None:
                    return 404, _error("not_found", f"no {match[1][:-1]} {match[2]}")
                if not isinstance(body, dict) or set(body) != {"manifest"} or set(body["manifest"]) != {"body", "signature"}:
                    return 400, _error("invalid", "manifest {body, signature} is required", "manifest")
                item["manifest"] = body["manifest"]
                return 200, {**item, "manifestState": "signed"}
            match = re.fullmatch(r"/api/v1/jobs/([^/]+)", path)
            if match and method == "GET":
                job = self.jobs.get(match[1])
                return (200, job) if job else (404, _error("not_found", f"no job {match[1]}"))

            match = re.fullmatch(r"/api/v1/destinations/([^/]+)/envelopes/([^/]+)", path)
            if match and method == "PUT":
                destination = self.destinations.get(match[1])
                if destination is None:
                    return 404, _error("not_found", f"no destination {match[1]}")
                if not destination.get("credentialKey"):
                    return 409, _error("conflict", "the destination has no credential yet", "ciphertext")
                self.envelopes[(match[1], match[2])] = body
                return 200, {"destinationID": match[1], "serverID": match[2], **(body or {})}

            if path == "/api/v1/schedules/preview" and method == "POST":
                delay = self.preview_delay
            else:
                return 404, _error("not_found", f"no route {method} {path}")

        # (outside the lock: the preview may be slow on purpose)
        if delay:
            time.sleep(delay)
        schedule = str((body or {}).get("schedule", ""))
        zone = (body or {}).get("timeZone") or "UTC"
        if schedule == "bad":
            return 400, _error("invalid", "\"bad\" is not a schedule; use daily, hourly or an OnCalendar expression", "schedule")
        if zone == "Mars/Olympus":
            return 400, _error("invalid", "\"Mars/Olympus\" is not a time zone", "timeZone")
        count = int((body or {}).get("count", 5))
        next_runs = [f"2025-03-0{day}T01:30:00Z" for day in range(1, 1 + count)]
        return 200, {"calendar": schedule, "timeZone": zone, "onCalendar": f"*-*-* 02:30:00 {zone}", "next": next_runs}


class _Handler(http.server.BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep the test output quiet
        pass

    def _send(self, status: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, value) -> None:
        # One connection per API call: with keep-alive, 2 of 6 runs of the attach test never got the
        # answer to their last request from this server; closing after each answer, none hang.
        self._send(status, json.dumps(value).encode(), "application/json", {"Connection": "close"})

    def _page(self, title: str, text: str) -> None:
        html = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{0}</title>'
            '<link rel="stylesheet" href="/backups/static/css/app.css"></head>'
            '<body><main class="page"><h1 data-page="{0}">{1}</h1></main></body></html>'
        ).format(title, text)
        self._send(200, html.encode(), CONTENT_TYPES[".html"])

    def do_GET(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PATCH(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        path = unquote(urlsplit(self.path).path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode("utf-8", "replace") if length else ""

        if path.startswith("/api/"):
            parsed = None
            if raw:
                try:
                    parsed = json.loads(raw)
                except json.JSONDecodeError:
                    parsed = None
            with self.fake.lock:
                self.fake.requests.append(
                    {"method": self.command, "path": path, "query": urlsplit(self.path).query, "headers": dict(self.headers.items()), "body": raw, "json": parsed}
                )
            if self.command != "GET" and self.headers.get("X-MZPanel-Request") != "1":
                return self._json(403, _error("csrf", "a change needs X-MZPanel-Request: 1"))
            if raw and parsed is None:
                return self._json(400, _error("invalid", "the body is not JSON"))
            status, value = self.fake.handle_api(self.command, path, parsed)
            return self._json(status, value)

        if self.command != "GET":
            # A plain form post (a page's action): recorded, answered with a page saying so.
            with self.fake.lock:
                self.fake.requests.append({"method": self.command, "path": path, "query": urlsplit(self.path).query, "headers": dict(self.headers.items()), "body": raw, "json": None})
            return self._page("posted", f"posted to {path}")

        if path.startswith("/backups/static/"):
            target = (STATIC / path[len("/backups/static/") :]).resolve()
            if STATIC.resolve() not in target.parents or not target.is_file():
                return self._send(404, b"not found", "text/plain")
            return self._send(200, target.read_bytes(), CONTENT_TYPES.get(target.suffix, "application/octet-stream"))

        if path.startswith("/fixtures/"):
            target = (FIXTURES / path[len("/fixtures/") :]).resolve()
            if FIXTURES.resolve() not in target.parents or not target.is_file():
                return self._send(404, b"not found", "text/plain")
            text = target.read_text()
            for name, value in self.fake.tokens.items():
                text = text.replace(f"%%{name}%%", value)
            return self._send(200, text.encode(), CONTENT_TYPES.get(target.suffix, "text/plain"))

        match = re.fullmatch(r"/backups/runs/([^/]+)/events", path)
        if match:
            return self._events(match[1])

        match = re.fullmatch(r"/backups/destinations/([^/]+)", path)
        if match:
            return self._page("destination", f"destination {match[1]}")

        return self._send(404, b"not found", "text/plain")

    def _events(self, run_id: str) -> None:
        with self.fake.lock:
            events = self.fake.run_events.pop(run_id, [])  # once: a reconnection after the end gets none
            self.fake.requests.append({"method": "GET", "path": self.path, "query": "", "headers": dict(self.headers.items()), "body": "", "json": None})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        try:
            for event in events:
                self.wfile.write(f"data: {json.dumps(event)}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.15)
        except (BrokenPipeError, ConnectionResetError):
            pass
