#!/usr/bin/env python3
"""Runs JavaScript in headless Chromium against the hub's browser modules
(Sources/ControlPlane/Resources/static, served by the hub at /backups/static/).

A local HTTP server (127.0.0.1, random port, in a thread) serves the static folder at `/` plus this
folder's `bridge.html` and `bridge.js`; Chromium (Debian's `chromium` + `chromium-driver`, through
selenium) opens `/bridge.html`, which imports `/js/hpke.js` and `/js/sealing.js` and exposes them as
`globalThis.bridge` (`bridge.hpke`, `bridge.sealing`, `bridge.hexToBytes`, `bridge.bytesToHex`).

Command line:

    python3 Tests/Browser/jsbridge.py < request.json

`request.json` is `{"script": "<body of an async JS function>", "args": {...}}`. The body sees
`args` and may `await import('/js/sealing.js')`; what it returns is printed as JSON on stdout
(exit 0). A thrown error, or a script that does not finish, prints the message on stderr (exit 1).
A JSON array of requests runs them in one browser session and prints a JSON array of results
(a failed request's entry is `{"error": "..."}`, and the exit code is then 1).

Values crossing back to Python go through JSON.stringify in the page, with one addition: a
Uint8Array (or ArrayBuffer) becomes its lowercase hex string.

From Python: `with Bridge() as bridge: bridge.run(script, args)`, or `run_requests([...])`.

Environment: CHROMIUM_BINARY (default /usr/bin/chromium), CHROMEDRIVER (default
/usr/bin/chromedriver), JSBRIDGE_TIMEOUT (seconds per script, default 300). When selenium is not
importable, the script re-runs itself with the tests' virtualenv (`.build-venv`, or
MZPANEL_TEST_VENV) if that has it.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import sys
import threading
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STATIC = REPO / "Sources" / "ControlPlane" / "Resources" / "static"
BRIDGE_FILES = {"/bridge.html": HERE / "bridge.html", "/bridge.js": HERE / "bridge.js"}

# Selenium Manager would try to download a driver or browser when it cannot find one; the paths
# below are always given explicitly, and offline mode makes sure it never reaches the network.
os.environ.setdefault("SE_OFFLINE", "true")


class BridgeError(Exception):
    """A script threw, timed out, or the browser could not be driven."""


def ensure_selenium() -> None:
    """Re-executes this process with the tests' virtualenv when selenium is not importable here."""
    try:
        import selenium  # noqa: F401
        return
    except ImportError:
        pass
    venv = Path(os.environ.get("MZPANEL_TEST_VENV") or REPO / ".build-venv")
    python = venv / "bin" / "python3"
    # (The venv's python3 is a symlink to this same interpreter, so compare prefixes, not binaries.)
    if python.exists() and Path(sys.prefix).resolve() != venv.resolve() and not os.environ.get("JSBRIDGE_REEXEC"):
        os.environ["JSBRIDGE_REEXEC"] = "1"
        os.execv(str(python), [str(python), *sys.argv])
    sys.stderr.write(
        "jsbridge: selenium is not installed; run `python3 -m venv .build-venv && .build-venv/bin/pip install selenium` "
        "and `apt-get install -y --no-install-recommends chromium chromium-driver`\n"
    )
    sys.exit(2)


# ---------------------------------------------------------------------------------------------
# HTTP server

class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves the static folder plus the bridge page, with a strict CSP (no inline scripts, same origin only)."""

    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, ".js": "text/javascript", ".mjs": "text/javascript"}

    def translate_path(self, path: str) -> str:
        clean = path.split("?", 1)[0].split("#", 1)[0]
        if clean in ("/", ""):
            clean = "/bridge.html"
        if clean in BRIDGE_FILES:
            return str(BRIDGE_FILES[clean])
        return super().translate_path(path)

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", "default-src 'self'; script-src 'self'; object-src 'none'")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - keep the test output quiet
        pass


class _Server:
    def __init__(self) -> None:
        handler = functools.partial(_Handler, directory=str(STATIC))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="jsbridge-http", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


# ---------------------------------------------------------------------------------------------
# The browser

def chromium_driver():
    """A headless Chromium session (selenium), with the paths given explicitly so nothing is downloaded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
    for argument in (
        "--headless=new",  # no display needed
        "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",  # small /dev/shm in containers
        "--disable-gpu",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--metrics-recording-only",
    ):
        options.add_argument(argument)
    # An explicit driver path: selenium then skips Selenium Manager (which would try to download one).
    service = Service(executable_path=os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver"))
    return webdriver.Chrome(service=service, options=options)


# Wraps a request's body: runs it as an async function with `args`, and hands back either
# {"ok": true, "json": "<result as JSON>"} or {"ok": false, "error": "...", "stack": "..."}.
_WRAPPER = """
const __done = arguments[arguments.length - 1];
const __args = arguments[0];
const __json = (value) => JSON.stringify(value === undefined ? null : value, (key, v) => {
  if (v instanceof ArrayBuffer) v = new Uint8Array(v);
  if (v instanceof Uint8Array) return Array.from(v, (b) => b.toString(16).padStart(2, "0")).join("");
  return v;
});
(async (args) => {
/*BODY*/
})(__args).then(
  (value) => { try { __done({ok: true, json: __json(value)}); } catch (e) { __done({ok: false, error: "the result is not JSON: " + e.message}); } },
  (error) => __done({ok: false, error: String((error && error.message) || error), stack: String((error && error.stack) || "")}),
);
"""


def run_in_page(driver, script: str, args=None, timeout: float | None = None):
    """Runs `script` (an async function body seeing `args`) in the driver's current page; returns its result."""
    from selenium.common.exceptions import JavascriptException, TimeoutException

    try:
        outcome = driver.execute_async_script(_WRAPPER.replace("/*BODY*/", script, 1), args if args is not None else {})
    except TimeoutException:
        limit = timeout if timeout is not None else driver.timeouts.script
        raise BridgeError(f"the script did not finish within {limit:g} s") from None
    except JavascriptException as error:  # e.g. a syntax error in the body
        raise BridgeError(error.msg or str(error)) from None
    if not isinstance(outcome, dict):
        raise BridgeError(f"unexpected answer from the page: {outcome!r}")
    if not outcome.get("ok"):
        raise BridgeError(outcome.get("error") or "the script failed")
    return json.loads(outcome["json"])


class Bridge:
    """One headless Chromium session on the bridge page; `run` executes scripts in it."""

    def __init__(self, timeout: float | None = None) -> None:
        self.timeout = float(timeout or os.environ.get("JSBRIDGE_TIMEOUT", "300"))
        self.server: _Server | None = None
        self.driver = None

    def __enter__(self) -> "Bridge":
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def start(self) -> None:
        self.server = _Server()
        try:
            self.driver = chromium_driver()
        except Exception:
            self.server.close()
            self.server = None
            raise
        self.driver.set_script_timeout(self.timeout)
        self.driver.get(self.server.url + "/bridge.html")
        state = self.driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const started = Date.now();
            (function poll() {
              const b = globalThis.bridge;
              if (b && (b.ready || b.loadError)) return done({ready: b.ready, error: b.loadError});
              if (Date.now() - started > 30000) return done({ready: false, error: "the bridge page did not load its modules in 30 s"});
              setTimeout(poll, 20);
            })();
            """
        )
        if not state.get("ready"):
            self.close()
            raise BridgeError(f"the bridge page failed to load: {state.get('error')}")

    def run(self, script: str, args=None):
        """Runs `script` (an async function body seeing `args`) and returns its result, or raises BridgeError."""
        if self.driver is None:
            raise BridgeError("the bridge is not started")
        return run_in_page(self.driver, script, args, timeout=self.timeout)

    def close(self) -> None:
        if self.driver is not None:
            try:
                self.driver.quit()
            finally:
                self.driver = None
        if self.server is not None:
            self.server.close()
            self.server = None


def run_script(script: str, args=None):
    """One script in a fresh browser session."""
    with Bridge() as bridge:
        return bridge.run(script, args)


def _run_batch(requests: list[dict]) -> list[tuple[bool, object]]:
    """Runs requests in one session; each outcome is (True, result) or (False, error message)."""
    outcomes: list[tuple[bool, object]] = []
    with Bridge() as bridge:
        for request in requests:
            try:
                outcomes.append((True, bridge.run(request["script"], request.get("args"))))
            except BridgeError as error:
                outcomes.append((False, str(error)))
    return outcomes


def run_requests(requests: list[dict]) -> list:
    """Several {"script", "args"} requests in one session; a failed one gives {"error": message}."""
    return [value if ok else {"error": value} for ok, value in _run_batch(requests)]


def main() -> int:
    ensure_selenium()
    try:
        request = json.load(sys.stdin)
    except json.JSONDecodeError as error:
        sys.stderr.write(f"jsbridge: standard input is not JSON: {error}\n")
        return 1
    batch = isinstance(request, list)
    requests = request if batch else [request]
    if not all(isinstance(r, dict) and isinstance(r.get("script"), str) for r in requests):
        sys.stderr.write('jsbridge: each request is {"script": "<async function body>", "args": {...}}\n')
        return 1
    try:
        outcomes = _run_batch(requests)
    except BridgeError as error:
        sys.stderr.write(f"jsbridge: {error}\n")
        return 1
    except Exception as error:  # the browser or driver could not start
        sys.stderr.write(f"jsbridge: {type(error).__name__}: {error}\n")
        return 1
    failures = [value for ok, value in outcomes if not ok]
    for message in failures:
        sys.stderr.write(f"{message}\n")
    if batch:
        json.dump([value if ok else {"error": value} for ok, value in outcomes], sys.stdout)
        sys.stdout.write("\n")
    elif not failures:
        json.dump(outcomes[0][1], sys.stdout)
        sys.stdout.write("\n")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
