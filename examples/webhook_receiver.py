"""Receive lead-router's outbound webhooks and check each one's signature.

    python3 examples/webhook_receiver.py WHSEC_SECRET [--port 9000]

WHSEC_SECRET is the `secret` that `POST /v1/webhook-subscriptions` answered. Each delivery
is printed with its type and data once its Standard Webhooks signature and timestamp check
out; one that does not is answered 401 (lead-router retries it later). Python's standard
library only.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import hashlib
import hmac
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE_SECONDS = 5 * 60


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """True when one of the `v1,` signatures is HMAC-SHA256 of "id.timestamp.body" under the
    secret, and the timestamp is within five minutes of now (a replay is refused)."""
    msg_id = headers.get("webhook-id", "")
    timestamp = headers.get("webhook-timestamp", "")
    if not msg_id or not timestamp.isdigit():
        return False
    if abs(time.time() - int(timestamp)) > TOLERANCE_SECONDS:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    given = [s.split(",", 1)[1] for s in headers.get("webhook-signature", "").split() if "," in s]
    return any(hmac.compare_digest(expected, g) for g in given)


def handler(secret: str) -> type[BaseHTTPRequestHandler]:
    seen: set[str] = set()

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            if not verified(secret, headers, body):
                self.send_response(401)
                self.end_headers()
                print("refused: bad or stale signature", flush=True)
                return
            # A retry carries the same webhook-id: do the work once.
            first = headers["webhook-id"] not in seen
            seen.add(headers["webhook-id"])
            event = json.loads(body)
            note = "" if first else " (a retry, already handled)"
            print(f"{event['type']}{note}: {json.dumps(event['data'])}", flush=True)
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the events printed above are the log."""

    return Receiver


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("secret", help="the subscription's whsec_ secret")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), handler(args.secret))
    print(f"listening on http://{args.host}:{args.port}/", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
