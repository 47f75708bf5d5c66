"""A lead's contact consent as a FHIR R4 Bundle of `Consent` resources.

One resource per channel and purpose, from the decision currently in force. Category is
LOINC 59284-0 (Patient Consent), the category R4's own examples use for a consent
document; the `consentcategorycodes` such as `acd` name advance directives and research
consents, not consent to be contacted. TCPA has no FHIR code system, so the policy, the
channel and the scheduling purpose use lead-router code systems; marketing is also coded
as HL7 v3 ActReason HMARKT.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import uuid
from typing import Any

from app.consent.schemas import ConsentView, DisclosureOut, EventOut, VerificationOut

FHIR_JSON = "application/fhir+json"
_CS = "https://lead-router.dev/fhir/CodeSystem/"
_TCPA_URI = (
    "https://www.ecfr.gov/current/title-47/chapter-I/subchapter-B/part-64/subpart-L/section-64.1200"
)
_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
_STATUS = {"granted": "active", "denied": "rejected", "incomplete": "proposed"}
_PURPOSE_CODES: dict[str, list[dict[str, str]]] = {
    "scheduling": [{"system": _CS + "contact-purpose", "code": "scheduling"}],
    "marketing": [
        {"system": _CS + "contact-purpose", "code": "marketing"},
        {
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": "HMARKT",
            "display": "healthcare marketing",
        },
    ],
}


def _when(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _attachment(disclosure: DisclosureOut) -> dict[str, Any]:
    data = disclosure.text.encode("utf-8")
    return {
        "contentType": "text/plain; charset=utf-8",
        "data": base64.b64encode(data).decode(),
        # FHIR Attachment.hash is the base64 SHA-1 of `data`; the SHA-256 is the identifier.
        "hash": base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode(),
        "title": f"Consent disclosure {disclosure.version} (sha256 {disclosure.sha256})",
        "creation": _when(disclosure.first_seen_at),
    }


def _identifiers(event: EventOut) -> list[dict[str, str]]:
    found = [{"system": _CS + "consent-event", "value": str(event.id)}]
    cert = event.evidence.get("certificate_url")
    if cert:
        found.append({"system": "https://cert.trustedform.com", "value": str(cert)})
    token = event.evidence.get("leadid_token")
    if token:
        found.append({"system": "https://www.jornaya.com/leadid", "value": str(token)})
    return found


def _grant_before(events: list[EventOut], revocation: EventOut) -> EventOut | None:
    grants = [
        e
        for e in events
        if e.decision == "granted"
        and (e.channel, e.purpose) == (revocation.channel, revocation.purpose)
        and e.captured_at <= revocation.captured_at
    ]
    return grants[-1] if grants else None


def _status(deciding: EventOut, basis: EventOut) -> tuple[str, str, dict[str, str]]:
    """(status, provision type, period) for the decision in force."""
    if deciding.decision == "revoked":
        if basis is deciding:  # an opt-out with no grant before it: an active refusal
            return "active", "deny", {"start": _when(deciding.captured_at)}
        period = {"start": _when(basis.captured_at), "end": _when(deciding.captured_at)}
        return "inactive", "permit", period
    kind = "deny" if deciding.decision == "denied" else "permit"
    return _STATUS[deciding.decision], kind, {"start": _when(deciding.captured_at)}


def _provision(
    deciding: EventOut, kind: str, period: dict[str, str], practice: dict[str, str]
) -> dict[str, Any]:
    role = {"system": _PARTICIPATION, "code": "PRF", "display": "performer"}
    return {
        "type": kind,
        "period": period,
        "actor": [{"role": {"coding": [role]}, "reference": practice}],
        "code": [{"coding": [{"system": _CS + "contact-channel", "code": deciding.channel}]}],
        "purpose": _PURPOSE_CODES[deciding.purpose],
    }


def consent_resource(
    view: ConsentView,
    deciding: EventOut,
    org_id: uuid.UUID,
    org_name: str,
) -> dict[str, Any]:
    basis = deciding
    if deciding.decision == "revoked":
        basis = _grant_before(view.events, deciding) or deciding
    status, kind, period = _status(deciding, basis)
    patient = {"reference": f"Patient/{view.lead_id}"}
    practice = {"reference": f"Organization/{org_id}", "display": basis.seller or org_name}
    resource: dict[str, Any] = {
        "resourceType": "Consent",
        "id": str(deciding.id),
        "identifier": _identifiers(basis),
        "status": status,
        "scope": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                    "code": "patient-privacy",
                }
            ]
        },
        "category": [
            {"coding": [{"system": "http://loinc.org", "code": "59284-0"}], "text": "Consent"}
        ],
        "patient": patient,
        "dateTime": _when(deciding.captured_at),
        "performer": [patient],
        "organization": [practice],
        "policy": [{"authority": "https://www.fcc.gov", "uri": _TCPA_URI}],
        "policyRule": {
            "coding": [{"system": _CS + "consent-policy", "code": "tcpa-pewc"}],
            "text": "TCPA prior express written consent, 47 CFR 64.1200(f)(9)",
        },
        "provision": _provision(deciding, kind, period, practice),
    }
    disclosure = next((d for d in view.disclosures if d.id == basis.disclosure_id), None)
    if disclosure is not None:
        resource["sourceAttachment"] = _attachment(disclosure)
    checked = [v for v in view.verifications if v.checked_at is not None]
    if checked:
        resource["verification"] = [_verification(v) for v in checked]
    if view.consent_unverified:
        resource["meta"] = {"tag": [{"system": _CS + "consent-flag", "code": "consent-unverified",
                                     "display": "Consent certificate did not verify"}]}  # fmt: skip
    return resource


def _verification(v: VerificationOut) -> dict[str, Any]:
    """R4 Consent.verification: a TrustedForm or Jornaya check of the consent's evidence."""
    assert v.checked_at is not None
    return {
        "extension": [
            {"url": _CS + "verification-provider", "valueCode": v.provider},
            {"url": _CS + "verification-outcome", "valueCode": v.status},
        ],
        "verified": v.status == "verified",
        "verificationDate": _when(v.checked_at),
    }


def bundle(view: ConsentView, org_id: uuid.UUID, org_name: str, now: dt.datetime) -> dict[str, Any]:
    by_id = {e.id: e for e in view.events}
    entries = [
        consent_resource(view, by_id[current.evidence_id], org_id, org_name)
        for channel in sorted(view.current)
        for _, current in sorted(view.current[channel].items())
    ]
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "timestamp": _when(now),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in entries],
    }
