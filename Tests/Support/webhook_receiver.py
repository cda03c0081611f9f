#!/usr/bin/env python3
"""A webhook receiver for the notification tests: records every POST (path, headers and body) as one
JSON line, answers 500 to the first N requests (a receiver that is down), then 204. Whatever N,
a path under /redirect answers 302 to /landed, and a path under /broken answers 500 with a body
(RECEIVER-BODY-…) that the hub must not repeat; every GET is recorded too (a followed redirect).
With --hold-first S, the first POST is recorded when it arrives and answered only S seconds later
(a delivery in flight, for a hub killed while it waits).

    python3 Tests/Support/webhook_receiver.py LOG_FILE [--fail-first N] [--hold-first S]

Prints the port it listens on (127.0.0.1, chosen by the system) as its first line.
"""

import http.server
import json
import signal
import sys
import threading
import time

# The test process starts helpers from threads that block most signals, and a blocked mask
# survives exec: unblock them, or the test's terminate() (SIGTERM) never ends this helper.
signal.pthread_sigmask(signal.SIG_SETMASK, set())


def main() -> None:
    log = sys.argv[1]
    fail_first = int(sys.argv[sys.argv.index("--fail-first") + 1]) if "--fail-first" in sys.argv else 0
    hold_first = float(sys.argv[sys.argv.index("--hold-first") + 1]) if "--hold-first" in sys.argv else 0
    lock = threading.Lock()
    state = {"seen": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            with lock:
                state["seen"] += 1
                status = 500 if state["seen"] <= fail_first else 204
                if self.path.startswith("/redirect"):
                    status = 302
                elif self.path.startswith("/broken"):
                    status = 500
                hold = hold_first if state["seen"] == 1 else 0
                with open(log, "a") as out:
                    out.write(json.dumps({"method": "POST", "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body, "status": status}) + "\n")
            if hold:
                time.sleep(hold)
            try:
                self.reply(status)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the sender died while the answer was held

        def reply(self, status: int) -> None:
            self.send_response(status)
            reply = b""
            if status == 302:
                self.send_header("Location", "/landed")
                reply = b"RECEIVER-BODY-redirect"
            elif self.path.startswith("/broken"):
                reply = b"RECEIVER-BODY-stack-trace"
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def do_GET(self) -> None:  # noqa: N802 - the http.server API
            with lock:
                with open(log, "a") as out:
                    out.write(json.dumps({"method": "GET", "path": self.path, "headers": {}, "body": "", "status": 200}) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
