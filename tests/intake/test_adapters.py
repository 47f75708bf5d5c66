from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from app.intake.adapters import callrail, generic, google, meta, twilio, typeform, unbounce
from app.intake.adapters.base import AdapterError, IgnoredDelivery, RawDelivery
from app.leads.normalize import normalize
from tests.intake.helpers import TYPEFORM_MAPPING

FORM = "application/x-www-form-urlencoded"
Load = Callable[[str], bytes]
LoadJson = Callable[[str], Any]


def _json(data: Any) -> RawDelivery:
    return RawDelivery(json.dumps(data).encode())


# --- Meta ---------------------------------------------------------------------


def test_meta_batch_keeps_every_digit(fixture_bytes: Load) -> None:
    items = meta.parse(RawDelivery(fixture_bytes("meta_leadgen_batch.json")))
    ids = [i.external_id for i in items]
    assert ids == [
        "9007199254740993123",
        "1234567890123456",
        "2345678901234567",
        "18014398509481985",
    ]
    first = items[0].needs_retrieval
    assert first == {
        "leadgen_id": "9007199254740993123",
        "page_id": "153125381133",
        "form_id": "1203847562938475",
        "ad_id": "23851234567890124",
        "adgroup_id": "23851234567890123",
        "created_time": "1440120384",
    }
    assert items[2].needs_retrieval is not None and "ad_id" not in items[2].needs_retrieval
    assert all(i.lead is None and not i.is_test for i in items)


def _meta_body(*changes: Any, entry_id: str = "1") -> dict[str, Any]:
    return {"object": "page", "entry": [{"id": entry_id, "time": 1, "changes": list(changes)}]}


LEADGEN = {"field": "leadgen", "value": {"leadgen_id": "55", "page_id": "1", "form_id": "2"}}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"object": "user", "entry": []}, "object"),
        ({"object": "page"}, "entry"),
        (_meta_body({"field": "leadgen", "value": {"page_id": "1"}}), "entry.0.changes.0"),
        (_meta_body(LEADGEN, {"field": "leadgen"}), "entry.0.changes.1"),
        ({"object": "page", "entry": [{"id": "1"}]}, "entry.0.changes"),
    ],
)
def test_meta_rejects_unmappable(body: Any, field: str) -> None:
    with pytest.raises(AdapterError) as info:
        meta.parse(_json(body))
    assert info.value.field == field


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (_meta_body(LEADGEN), "55"),
        (_meta_body({"field": "feed", "value": {}}), "sha256:"),
        (b"not json", "sha256:"),
    ],
)
def test_meta_event_id(body: Any, expected: str) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert meta.event_id(RawDelivery(raw)).startswith(expected)


def test_meta_batch_event_id_is_order_independent(fixture_json: LoadJson) -> None:
    data = fixture_json("meta_leadgen_batch.json")
    reordered = {**data, "entry": list(reversed(data["entry"]))}
    assert meta.event_id(_json(data)) == meta.event_id(_json(reordered))
    assert meta.event_id(_json(data)).startswith("leadgen-batch:")


def test_meta_testing_tool_ids_are_test_events() -> None:
    change = {"field": "leadgen", "value": {"leadgen_id": "444444444444", "ad_id": "444444444"}}
    [item] = meta.parse(_json(_meta_body(change, entry_id="0")))
    assert item.is_test


def test_meta_graph_lead(fixture_json: LoadJson) -> None:
    lead = meta.lead_from_graph(fixture_json("meta_graph_lead.json"))
    assert (lead.full_name, lead.phone, lead.postal_code) == (
        "Maria  Gonzalez",
        "+17735550119",
        "60647",
    )
    assert lead.channel == "lead_form" and lead.external_id == "9007199254740993123"
    assert lead.attribution is not None
    assert (lead.attribution.campaign_id, lead.attribution.adset, lead.attribution.source) == (
        "23851234567890000", "Chicago 25mi - 45-65", "facebook")  # fmt: skip
    assert lead.consent is not None and lead.consent.checked
    assert lead.custom["disclaimer:sms_consent"] == "checked"
    assert lead.custom["do_you_have_insurance?"] == "Yes - Blue Cross PPO"
    assert normalize(lead).email_normalized == "maria.gonzalez@example.com"


@pytest.mark.parametrize(
    ("responses", "mapping", "checked"),
    [
        ([("sms", "1"), ("privacy", "")], {}, False),
        ([("sms", "1"), ("privacy", "")], {"disclaimer:sms": "consent.checked"}, True),
        ([("sms", ""), ("privacy", "1")], {"disclaimer:sms": "consent.checked"}, False),
        ([], {}, None),
    ],
)
def test_meta_disclaimers(
    responses: list[tuple[str, str]], mapping: dict[str, str], checked: bool | None
) -> None:
    graph = {
        "id": "1",
        "field_data": [{"name": "email", "values": ["a@example.com"]}],
        "custom_disclaimer_responses": [{"checkbox_key": k, "is_checked": v} for k, v in responses],
    }
    lead = meta.lead_from_graph(graph, mapping)
    assert (lead.consent.checked if lead.consent else None) is checked


def test_meta_graph_mapping_and_errors() -> None:
    fields = [
        {"name": "q_insurer", "values": ["Aetna"]},
        {"name": "phone_number", "values": ["+13055550100"]},
    ]
    graph = {"id": "1", "field_data": fields}
    lead = meta.lead_from_graph(graph, {"q_insurer": "insurance.carrier"})
    assert lead.insurance is not None and lead.insurance.carrier == "Aetna"
    with pytest.raises(AdapterError, match="not a valid lead"):
        meta.lead_from_graph({"id": "1", "field_data": [{"name": "full_name", "values": ["A"]}]})
    with pytest.raises(AdapterError):
        meta.lead_from_graph({"field_data": []})


# --- Google -------------------------------------------------------------------


def test_google_acceptance(fixture_bytes: Load) -> None:
    delivery = RawDelivery(fixture_bytes("google_lead.json"))
    assert google.extract_google_key(delivery.body) == "prod-form-key-7f3a9c"
    item = google.parse(delivery)
    lead = item.lead
    assert lead is not None and not item.is_test
    assert lead.attribution is not None
    assert lead.attribution.campaign_id == "9223372036854775807"
    assert (lead.attribution.adset_id, lead.attribution.ad_id, lead.attribution.gclid) == (
        "20000000002", "30000000003", "Cj0KCQjw-example-gclid")  # fmt: skip
    assert lead.custom == {"Preferred clinic": "Logan Square"}
    result = normalize(lead)
    assert (result.phone_e164, result.state, result.time_zone) == (
        "+17735550119", "IL", "America/Chicago")  # fmt: skip
    assert google.event_id(delivery) == lead.external_id


def test_google_test_lead(fixture_bytes: Load) -> None:
    delivery = RawDelivery(fixture_bytes("google_test_lead.json"))
    assert google.extract_google_key(delivery.body) == "123"
    item = google.parse(delivery)
    assert item.is_test and item.lead is not None and item.lead.is_test


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"google_key": "a"}, "a"),
        ({"Google_key": "b"}, "b"),
        ({"GOOGLE_KEY": "c"}, None),
        ({"googleKey": "c"}, None),
        ({"google_key": "a", "Google_key": "b"}, None),
        # Numbers are read as their text, so a numeric key compares as its digits.
        ({"google_key": 123}, "123"),
        ({"google_key": None}, None),
        ({}, None),
    ],
)
def test_extract_google_key(body: dict[str, Any], key: str | None) -> None:
    assert google.extract_google_key(json.dumps(body).encode()) == key


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1,}', {"a": "1"}),
        ('{"a": [1, 2 ,\n ],\n}', {"a": ["1", "2"]}),
        ('{"a": "x,}", "b": "y,]"}', {"a": "x,}", "b": "y,]"}),
        ('{"a": "q\\",}",}', {"a": 'q",}'}),
    ],
)
def test_google_trailing_comma_tolerance(text: str, expected: Any) -> None:
    assert google.load_body(text.encode()) == expected


@pytest.mark.parametrize("text", ['{"a": 1,,}', "{,}", "[,]", '{"a": 1', "[1]", '{"a": 1}x'])
def test_google_still_rejects_malformed(text: str) -> None:
    with pytest.raises(AdapterError):
        google.load_body(text.encode())


def test_google_columns_fallbacks_and_mapping() -> None:
    body = {
        "lead_id": "L1",
        "user_column_data": [
            {
                "column_id": "WORK_EMAIL",
                "string_value": "w@example.com",
                "column_name": "Work email",
            },
            {"column_id": "QUESTION_1", "string_value": "Knee", "column_name": "What hurts?"},
            {"column_id": "CUSTOM_Q", "string_value": "Aetna"},
        ],
    }
    lead = google.parse(_json(body), {"CUSTOM_Q": "insurance.carrier"}).lead
    assert lead is not None and lead.email == "w@example.com"
    assert lead.insurance is not None and lead.insurance.carrier == "Aetna"
    assert lead.custom == {"Work email": "w@example.com", "What hurts?": "Knee"}
    with pytest.raises(AdapterError, match="lead_id"):
        google.parse(_json({"user_column_data": []}))


# --- Typeform -----------------------------------------------------------------


def test_typeform_response(fixture_bytes: Load) -> None:
    delivery = RawDelivery(fixture_bytes("typeform_response.json"))
    item = typeform.parse(delivery, TYPEFORM_MAPPING)
    lead = item.lead
    assert lead is not None and item.external_id == "a3a12ec67a1365927098a606107fac15"
    assert (lead.first_name, lead.postal_code, str(lead.date_of_birth)) == (
        "Maria",
        "60647",
        "1968-07-04",
    )
    assert lead.service is not None and lead.service.text == "Knee pain"
    assert lead.new_patient is True
    assert lead.custom == {"days": "Monday, Wednesday", "weeks": "6"}
    assert lead.attribution is not None
    assert (lead.attribution.utm_campaign, lead.attribution.form_id) == (
        "knee-pain-chicago",
        "lT4Z3j",
    )
    consent = lead.consent
    assert consent is not None and consent.checked and consent.method == "web_form"
    assert consent.disclosure_text is not None and "scheduling.  Consent" in consent.disclosure_text
    assert consent.certificate_url is not None
    assert consent.certificate_url.startswith("https://cert.trustedform.com/")
    assert typeform.event_id(delivery) == "01HQZ8V4KX4M3T0J2A9B7C6D5E"


@pytest.mark.parametrize(
    ("mapping", "reason"),
    [
        (None, "no field mapping"),
        ({}, "no field mapping"),
        ({"first_name": "first_name"}, "not a valid lead"),
        ({"email": "email", "zip": "zip_code"}, "not a valid lead"),
    ],
)
def test_typeform_unmappable(
    fixture_bytes: Load, mapping: dict[str, str] | None, reason: str
) -> None:
    with pytest.raises(AdapterError, match=reason) as info:
        typeform.parse(RawDelivery(fixture_bytes("typeform_response.json")), mapping)
    assert "Maria" not in str(info.value) and "60647" not in repr(info.value.problems)


@pytest.mark.parametrize(
    ("answer", "value"),
    [
        ({"type": "text", "text": "hi"}, "hi"),
        ({"type": "email", "email": "a@b.co"}, "a@b.co"),
        ({"type": "phone_number", "phone_number": "+13055550100"}, "+13055550100"),
        ({"type": "date", "date": "2000-01-31"}, "2000-01-31"),
        ({"type": "choice", "choice": {"label": "Back"}}, "Back"),
        ({"type": "choice", "choice": {"other": "Hip"}}, "Hip"),
        ({"type": "choices", "choices": {"labels": ["A", "B"], "other": "C"}}, "A, B, C"),
        ({"type": "number", "number": "7"}, "7"),
        ({"type": "boolean", "boolean": False}, False),
        ({"type": "url", "url": "https://x.example"}, "https://x.example"),
        ({"type": "file_url", "file_url": "https://x.example/f"}, None),
        ({"type": "text", "text": "  "}, None),
    ],
)
def test_typeform_answer_values(answer: dict[str, Any], value: Any) -> None:
    assert typeform.answer_value(answer) == value


# --- Unbounce -----------------------------------------------------------------

UNBOUNCE_MAPPING = {
    "what_brings_you_in": "reason",
    "insurance_carrier": "insurance.carrier",
    "sms_consent": "consent.checked",
}


def test_unbounce_body(fixture_bytes: Load) -> None:
    delivery = RawDelivery(fixture_bytes("unbounce_body.txt"), FORM)
    item = unbounce.parse(delivery, UNBOUNCE_MAPPING)
    lead = item.lead
    assert lead is not None and lead.phone == "(773) 555-0119"
    assert lead.reason == "Knee pain when climbing stairs & kneeling"
    assert lead.consent is not None and lead.consent.ip == "203.0.113.42"
    assert lead.consent.checked and lead.submitted_at is not None
    assert lead.submitted_at.isoformat() == "2025-03-14T22:57:00+00:00"
    assert lead.attribution is not None and lead.attribution.utm_source == "facebook"
    assert normalize(lead).postal_code == "60647"
    assert item.external_id == unbounce.event_id(delivery)
    assert item.external_id.startswith(
        "6f1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d:2025-03-14 10:57 PM UTC:"
    )


def test_unbounce_unmapped_fields_go_to_custom(fixture_bytes: Load) -> None:
    lead = unbounce.parse(RawDelivery(fixture_bytes("unbounce_body.txt"), FORM)).lead
    assert lead is not None and lead.consent is None
    assert set(lead.custom) == {"what_brings_you_in", "insurance_carrier", "sms_consent"}


@pytest.mark.parametrize(
    "body",
    [urlencode({"page_id": "p"}).encode(), urlencode({"data.json": "[1]"}).encode(), b"\xff\xfe"],
)
def test_unbounce_malformed(body: bytes) -> None:
    with pytest.raises(AdapterError):
        unbounce.parse(RawDelivery(body, FORM))
    assert unbounce.event_id(RawDelivery(body, FORM)).startswith("sha256:")


# --- Generic (web form, partner, API) -------------------------------------------


def test_generic_canonical_json(fixture_bytes: Load) -> None:
    delivery = RawDelivery(fixture_bytes("api_lead.json"))
    item = generic.parse(delivery, channel="api")
    assert item.external_id == "partner-7781" and item.lead is not None
    assert item.lead.channel == "partner"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "1", "status": "new"}, "status"),
        ({"phone": "1", "attribution": {"cost": "5"}}, "attribution.cost"),
        ({"first_name": "A"}, "(root)"),
    ],
)
def test_generic_rejects_unknown_fields(body: dict[str, Any], field: str) -> None:
    with pytest.raises(AdapterError) as info:
        generic.parse(_json(body))
    assert info.value.field == field


def test_generic_mapping_with_nested_sender_fields() -> None:
    body = {"patient": {"name": "Ann Lee", "tel": "3055550100"}, "zip": "33101", "note": "hi",
            "ref_id": "R-9", "blank": ""}  # fmt: skip
    mapping = {"patient.name": "full_name", "patient.tel": "phone", "zip": "postal_code",
               "ref_id": "external_id", "note": "custom.Note"}  # fmt: skip
    item = generic.parse(_json(body), mapping, channel="partner")
    lead = item.lead
    assert lead is not None and item.external_id == "R-9" and lead.channel == "partner"
    assert (lead.full_name, lead.phone, lead.custom) == ("Ann Lee", "3055550100", {"Note": "hi"})


def test_generic_form_with_dotted_paths() -> None:
    form = urlencode({"first_name": "Ann", "email": "a@example.com", "consent.checked": "on",
                      "attribution.utm_source": "fb"}).encode()  # fmt: skip
    lead = generic.parse(RawDelivery(form, FORM + "; charset=utf-8")).lead
    assert lead is not None and lead.consent is not None and lead.consent.checked
    assert lead.attribution is not None and lead.attribution.utm_source == "fb"


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        ({"Webhook-Id": "msg_1"}, {"phone": "1", "external_id": "x"}, "msg_1"),
        ({}, {"phone": "1", "external_id": "x"}, "x"),
        ({}, {"phone": "1"}, "sha256:"),
    ],
)
def test_generic_event_id(headers: dict[str, str], body: dict[str, Any], expected: str) -> None:
    delivery = RawDelivery(json.dumps(body).encode(), headers=headers)
    assert generic.event_id(delivery).startswith(expected)


# --- CallRail -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "call_id", "duration", "answered", "full_name"),
    [
        (
            "callrail_post_call.json",
            "CALb14811eb573645c6989000cf426b9772",
            187,
            True,
            "Maria Gonzalez",
        ),
        ("callrail_test_vector.json", "id:766970532", 13, False, "Kaylah Mills"),
    ],
)
def test_callrail_post_call(
    fixture_bytes: Load, name: str, call_id: str, duration: int, answered: bool, full_name: str
) -> None:
    delivery = RawDelivery(fixture_bytes(name))
    item = callrail.parse(delivery)
    assert not isinstance(item, IgnoredDelivery) and item.lead is not None
    call = item.kind_specific["call"]
    assert isinstance(call, callrail.CallInfo)
    assert (call.resource_id, call.duration_seconds, call.answered) == (call_id, duration, answered)
    assert call.direction == "inbound" and call.started_at is not None
    assert (item.lead.channel, item.lead.full_name) == ("phone_call", full_name)
    assert callrail.event_id(delivery) == call_id


@pytest.mark.parametrize(
    "body",
    [
        {"resource_id": "SMS123", "content": "hi", "customer_phone_number": "+13055550100"},
        {"resource_id": "FRM123", "form_data": {"name": "x"}},
        {"resource_id": "CAL9", "answered": True, "duration": "5", "customer_phone_number": ""},
    ],
)
def test_callrail_ignores_other_shapes(body: dict[str, Any]) -> None:
    assert isinstance(callrail.parse(_json(body)), IgnoredDelivery)


@pytest.mark.parametrize("name", ["WIRELESS CALLER", "+1 305 555 0100", "Unknown"])
def test_callrail_drops_caller_id_placeholders(name: str) -> None:
    body = {"resource_id": "CAL1", "answered": False, "duration": "0",
            "customer_phone_number": "+13055550100", "customer_name": name}  # fmt: skip
    item = callrail.parse(_json(body))
    assert not isinstance(item, IgnoredDelivery) and item.lead is not None
    assert item.lead.full_name is None


# --- Twilio -------------------------------------------------------------------


def test_twilio_status_fixture(fixture_bytes: Load) -> None:
    delivery = RawDelivery(fixture_bytes("twilio_status.txt"), FORM)
    call = twilio.parse_status_callback(delivery.body)
    assert (call.call_sid, call.sequence_number, call.call_duration) == (
        "CA5b2f7f0d6e1c4a3b9a8e7d6c5b4a3f21", 3, 142)  # fmt: skip
    assert call.timestamp is not None and call.timestamp.isoformat() == "2025-03-14T15:31:52+00:00"
    assert twilio.attempt_outcome(call) == "connected"
    assert twilio.event_id(delivery) == "CA5b2f7f0d6e1c4a3b9a8e7d6c5b4a3f21:3"


@pytest.mark.parametrize(
    ("fields", "outcome"),
    [
        ({"CallStatus": "completed", "CallDuration": "30"}, "connected"),
        ({"CallStatus": "completed", "CallDuration": "0"}, "no_answer"),
        (
            {"CallStatus": "completed", "CallDuration": "30", "AnsweredBy": "machine_end_beep"},
            "voicemail",
        ),
        ({"CallStatus": "busy"}, "busy"),
        ({"CallStatus": "no-answer"}, "no_answer"),
        ({"CallStatus": "canceled"}, "no_answer"),
        ({"CallStatus": "failed", "SipResponseCode": "404"}, "invalid_number"),
        ({"CallStatus": "failed", "SipResponseCode": "503"}, "failed"),
        ({"CallStatus": "ringing"}, None),
        ({"CallStatus": "in-progress"}, None),
    ],
)
def test_twilio_outcomes(fields: dict[str, str], outcome: str | None) -> None:
    call = twilio.parse_status_callback(urlencode({"CallSid": "CA1", **fields}).encode())
    assert twilio.attempt_outcome(call) == outcome


@pytest.mark.parametrize(
    ("fields", "event"),
    [
        ({"CallSid": "CA1", "CallStatus": "busy", "SequenceNumber": "0"}, "CA1:0"),
        ({"CallSid": "CA1", "CallStatus": "busy"}, "CA1:busy"),
        ({"CallStatus": "busy"}, "sha256:"),
        ({"CallSid": "CA1", "CallStatus": "exploded"}, "sha256:"),
    ],
)
def test_twilio_event_ids(fields: dict[str, str], event: str) -> None:
    assert twilio.event_id(RawDelivery(urlencode(fields).encode(), FORM)).startswith(event)


@pytest.mark.parametrize(
    ("body", "phone", "custom"),
    [
        ({"phone": "3125550101"}, "3125550101", {}),  # the canonical name, mapping or not
        ({"mobile": "3125550102"}, "3125550102", {}),
        ({"mobile": "3125550102", "phone": "3125550101"}, "3125550102", {}),  # mapped wins
        ({"mobile": "", "phone": "3125550101"}, "3125550101", {}),  # an empty one gives none
        ({"phone": "3125550101", "Clinic": "Loop"}, "3125550101", {"Clinic": "Loop"}),
    ],
)
def test_a_mapping_adds_to_the_canonical_names(
    body: dict[str, Any], phone: str, custom: dict[str, str]
) -> None:
    lead = generic.parse(_json(body), {"mobile": "phone"}, channel="partner").lead
    assert lead is not None and (lead.phone, lead.custom) == (phone, custom)


def test_a_mapped_field_inside_a_canonical_object_keeps_its_siblings() -> None:
    body = {"src": "fb", "phone": "3125550101",
            "attribution": {"utm_source": "google", "utm_campaign": "spring"}}  # fmt: skip
    lead = generic.parse(_json(body), {"src": "attribution.utm_source"}).lead
    assert lead is not None and lead.attribution is not None
    assert (lead.attribution.utm_source, lead.attribution.utm_campaign) == ("fb", "spring")
