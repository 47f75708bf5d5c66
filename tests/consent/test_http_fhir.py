"""`GET /v1/leads/{id}/consent?format=fhir`: an R4 Bundle of Consent resources."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import httpx

from tests.conftest import Org
from tests.consent.helpers import new_lead, revoke
from tests.consent.test_http_evidence import TRICKY, _consent


async def _fhir(client: httpx.AsyncClient, org: Org, lead_id: str) -> dict[str, Any]:
    r = await client.get(
        f"/v1/leads/{lead_id}/consent", params={"format": "fhir"}, headers=org.headers
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/fhir+json"
    return dict(r.json())


def _by_channel(bundle: dict[str, Any], channel: str, purpose: str) -> dict[str, Any]:
    for entry in bundle["entry"]:
        provision = entry["resource"]["provision"]
        codes = {c["code"] for c in provision["purpose"]}
        if provision["code"][0]["coding"][0]["code"] == channel and purpose in codes:
            return dict(entry["resource"])
    raise AssertionError(f"no Consent for {channel}/{purpose}")


async def test_fhir_bundle_shape(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org, 301, consent=_consent(TRICKY))
    bundle = await _fhir(client, org, lead_id)
    assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection"
    assert len(bundle["entry"]) == 4
    consent = _by_channel(bundle, "sms", "marketing")
    assert consent["resourceType"] == "Consent"
    assert consent["status"] == "active"
    assert consent["scope"]["coding"][0]["code"] == "patient-privacy"
    assert consent["category"][0]["coding"][0] == {"system": "http://loinc.org", "code": "59284-0"}
    assert consent["patient"] == {"reference": f"Patient/{lead_id}"}
    assert consent["dateTime"] == "2025-03-14T15:04:37Z"
    assert consent["organization"][0]["display"] == "Lakeside Orthopedics"
    assert consent["policyRule"]["coding"][0]["code"] == "tcpa-pewc"
    assert consent["provision"]["type"] == "permit"
    assert "HMARKT" in {c["code"] for c in consent["provision"]["purpose"]}
    attachment = consent["sourceAttachment"]
    data = base64.b64decode(attachment["data"])
    assert data == TRICKY.encode("utf-8")
    assert (
        attachment["hash"]
        == base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode()
    )
    systems = {i["system"] for i in consent["identifier"]}
    assert "https://cert.trustedform.com" in systems
    assert "https://www.jornaya.com/leadid" in systems


async def test_fhir_revoked_consent_is_inactive_with_an_end(
    client: httpx.AsyncClient, org: Org
) -> None:
    lead_id = await new_lead(client, org, 302, consent=_consent(TRICKY))
    r = await revoke(client, org, lead_id=lead_id, words="STOP", via="sms_reply")
    assert r.status_code == 201
    bundle = await _fhir(client, org, lead_id)
    sms = _by_channel(bundle, "sms", "scheduling")
    assert sms["status"] == "inactive"
    assert sms["provision"]["type"] == "permit"
    assert sms["provision"]["period"]["start"] == "2025-03-14T15:04:37Z"
    assert sms["provision"]["period"]["end"] >= "2025"
    assert "sourceAttachment" in sms  # the wording of the grant that was revoked
    assert _by_channel(bundle, "voice", "scheduling")["status"] == "active"


async def test_fhir_refusal_is_rejected_deny(client: httpx.AsyncClient, org: Org) -> None:
    lead_id = await new_lead(client, org, 303, consent=_consent("No thanks.", checked=False))
    bundle = await _fhir(client, org, lead_id)
    voice = _by_channel(bundle, "voice", "scheduling")
    assert voice["status"] == "rejected" and voice["provision"]["type"] == "deny"
