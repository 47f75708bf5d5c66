"""Send one lead to a `web_form` (or `partner`) source, signed as Standard Webhooks asks.

    python3 examples/send_web_form_lead.py WEBHOOK_URL WHSEC_SECRET [--phone …] [--id …]

WEBHOOK_URL is the source's `webhook_url` (`/v1/webhooks/{source_id}`), WHSEC_SECRET one of
its `secrets`. Prints the delivery's webhook-id and the service's answer: the lead's id and
the decisions taken on it.
Python's standard library only, so it runs anywhere Python 3 does.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import sys
import time
import urllib.error
import urllib.request
import uuid


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`webhook-signature`: v1, then base64(HMAC-SHA256 of "id.timestamp.body") keyed with
    the secret's base64-decoded bytes (the part after `whsec_`)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def lead(phone: str) -> dict[str, object]:
    """A canonical lead as a web form would send it, with the consent the person gave."""
    return {
        "first_name": "Maria",
        "last_name": "Gonzalez",
        "phone": phone,
        "email": "maria.gonzalez@example.com",
        "postal_code": "60614",
        "service": {"text": "knee pain, it's been getting worse for weeks"},
        "consent": {
            "checked": True,
            "channels": ["voice", "sms"],
            "disclosure_text": "I agree that Lakeshore Orthopedics & Sleep may call and text "
            "me about scheduling.",
            "seller": "Lakeshore Orthopedics & Sleep",
            "captured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "page_url": "https://example.com/knee-pain",
        },
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url", help="the source's webhook_url")
    parser.add_argument("secret", help="one of the source's whsec_ secrets")
    parser.add_argument("--phone", default="+1 312-555-0123", help="the lead's phone")
    parser.add_argument(
        "--id", help="the delivery's webhook-id (default: a new one); reuse one to retry"
    )
    args = parser.parse_args()

    if not args.url.startswith(("http://", "https://")):
        parser.error("the webhook URL must start with http:// or https://")
    body = json.dumps(lead(args.phone)).encode()
    # The id names this delivery: send it again with the same id and the service answers
    # what it answered the first time, creating nothing.
    msg_id = args.id or f"msg_{uuid.uuid4().hex}"
    timestamp = int(time.time())
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        args.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(args.secret, msg_id, timestamp, body),
        },
    )
    print(f"webhook-id: {msg_id}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (as above)
            print(response.status, json.dumps(json.load(response), indent=2))
            return 0
    except urllib.error.HTTPError as refused:
        print(refused.code, refused.read().decode(), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
