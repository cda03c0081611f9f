#!/usr/bin/env python3
"""An SMTP server for the email-channel tests: accepts every message and appends it, with its
envelope, as one JSON line to LOG_FILE.

    python3 Tests/Support/smtp_receiver.py LOG_FILE

Prints the port it listens on (127.0.0.1, chosen by the system) as its first line.
"""


import json
import signal
import sys
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
import asyncore  # noqa: E402
import smtpd  # noqa: E402 - Python 3.11's standard SMTP server (Debian 12)

# The test process starts helpers from threads that block most signals, and a blocked mask
# survives exec: unblock them, or the test's terminate() (SIGTERM) never ends this helper.
signal.pthread_sigmask(signal.SIG_SETMASK, set())


class Recorder(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
        with open(self.log, "a") as out:
            out.write(json.dumps({"from": mailfrom, "to": rcpttos, "data": text}) + "\n")


def main() -> None:
    server = Recorder(("127.0.0.1", 0), None, decode_data=False)
    server.log = sys.argv[1]
    print(server.socket.getsockname()[1], flush=True)
    asyncore.loop()


if __name__ == "__main__":
    main()
