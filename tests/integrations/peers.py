"""Local stand-ins for TrustedForm's Certificate API v4 and Jornaya's Authenticate call,
answering as their documentation shows."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.http import Recorded

TF_KEY = "tf-api-key-0123456789abcdef"
LAC = "0A1B2C3D-4E5F-6789-ABCD-EF0123456789"


@dataclass
class TrustedForm:
    """Certificates by id: what each was recorded with, or how it fails."""

    email: dict[str, str] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    flaky: dict[str, int] = field(default_factory=dict)  # id -> 503s before answering

    def __call__(self, req: Recorded) -> tuple[int, Any]:
        cert_id = req.path.strip("/")
        auth = req.headers.get("Authorization", "")
        if req.method != "POST":
            return 405, {"message": "Use POST"}
        if auth != "Basic " + base64.b64encode(f"API:{TF_KEY}".encode()).decode():
            return 401, {"message": "Incorrect API key"}
        if req.headers.get("Content-Type") != "application/json":
            return 400, {"message": "Content-Type must be application/json"}
        if self.flaky.get(cert_id, 0) > 0:
            self.flaky[cert_id] -= 1
            return 503, {"message": "Service unavailable"}
        if cert_id in self.expired or cert_id not in self.email:
            return 404, {"message": "TrustedForm certificate has expired or could not be found"}
        body = json.loads(req.body)
        if "retain" in body and "match_lead" not in body:
            return 422, {"message": "match_lead is required with retain"}
        match = body["match_lead"]
        email_ok = match.get("email", "").lower() == self.email[cert_id]
        answer: dict[str, Any] = {
            "outcome": "success" if email_ok else "failure",
            "reason": None if email_ok else "lead data does not match",
            "match_lead": {
                "email": match.get("email"),
                "phone": match.get("phone"),
                "result": {"email_match": email_ok, "phone_match": False, "success": email_ok},
            },
            "retain": {
                "reference": body["retain"].get("reference"),
                "results": {
                    "expires_at": "2031-03-14T15:04:37.000Z",
                    "masked_cert_url": f"https://cert.trustedform.com/{cert_id[:8]}",
                    "previously_retained": False,
                },
            },
        }
        if "insights" in body:
            answer["insights"] = {
                "properties": {
                    "page_url": "https://www.lakesideortho.example/book",
                    "created_at": "2025-03-14T15:03:12.000Z",
                    "expires_at": "2025-03-17T15:03:12.000Z",
                }
            }
        return 200, answer


@dataclass
class Jornaya:
    authentic: set[str] = field(default_factory=set)

    def __call__(self, req: Recorded) -> tuple[int, Any]:
        parts = urlsplit(req.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if req.method != "GET" or parts.path != "/Authenticate":
            return 404, {"message": "not found"}
        if query.get("lac") != LAC:
            return 200, {"authenticate": {"authentic": 0, "token": query.get("id"), "reason": 1}}
        token = query.get("id", "")
        return 200, {"authenticate": {"authentic": int(token in self.authentic), "token": token}}
