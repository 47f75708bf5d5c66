"""Meta (Facebook/Instagram) Lead Ads.

The webhook carries ids only; answers come from a Graph API fetch that the
caller performs with `needs_retrieval`, then feeds to `lead_from_graph`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from app import signatures as sig
from app.intake.adapters.base import (
    Adapter,
    AdapterError,
    ParsedItem,
    RawDelivery,
    SourceSettings,
    add_custom,
    body_digest,
    build_lead,
    load_json_object,
    parse_iso_datetime,
    secret,
    set_path,
)
from app.leads.canonical import CanonicalLead

RETRIEVAL_KEYS = ("leadgen_id", "page_id", "form_id", "ad_id", "adgroup_id", "created_time")
# Ids the "Lead Ads Testing" tool sends; a Graph fetch for them fails.
TEST_LEADGEN_IDS = frozenset({"444444444444"})
TEST_PAGE_IDS = frozenset({"0"})

STANDARD_FIELDS: Mapping[str, str] = {
    "full_name": "full_name",
    "first_name": "first_name",
    "last_name": "last_name",
    "email": "email",
    "phone_number": "phone",
    "phone": "phone",
    "zip_code": "postal_code",
    "post_code": "postal_code",
    "postal_code": "postal_code",
    "zip": "postal_code",
    "city": "address.city",
    "state": "address.state",
    "province": "address.state",
    "country": "address.country",
    "street_address": "address.line1",
    "date_of_birth": "date_of_birth",
}
DISCLAIMER_PREFIX = "disclaimer:"


def _id_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip()
    return text or None


def _retrieval(value: Mapping[str, Any]) -> dict[str, str]:
    return {k: t for k in RETRIEVAL_KEYS if (t := _id_text(value.get(k))) is not None}


def _changes(data: Mapping[str, Any]) -> list[tuple[str, dict[str, str]]]:
    if data.get("object") != "page":
        raise AdapterError("not a page webhook", field="object")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise AdapterError("missing entry list", field="entry")
    found: list[tuple[str, dict[str, str]]] = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise AdapterError("entry is not an object", field=f"entry.{i}")
        entry_id = _id_text(entry.get("id")) or ""
        changes = entry.get("changes")
        if not isinstance(changes, list):
            raise AdapterError("missing changes list", field=f"entry.{i}.changes")
        for j, change in enumerate(changes):
            if not isinstance(change, dict) or change.get("field") != "leadgen":
                continue
            value = change.get("value")
            ids = _retrieval(value) if isinstance(value, dict) else {}
            if "leadgen_id" not in ids:
                raise AdapterError("change without leadgen_id", field=f"entry.{i}.changes.{j}")
            found.append((entry_id, ids))
    return found


def parse(delivery: RawDelivery) -> list[ParsedItem]:
    """One item per leadgen change; `lead` is None until the Graph fetch."""
    items: list[ParsedItem] = []
    for entry_id, ids in _changes(load_json_object(delivery.body)):
        is_test = ids["leadgen_id"] in TEST_LEADGEN_IDS or entry_id in TEST_PAGE_IDS
        items.append(
            ParsedItem(
                external_id=ids["leadgen_id"],
                lead=None,
                needs_retrieval=ids,
                is_test=is_test,
                kind_specific={"entry_id": entry_id},
            )
        )
    return items


def event_id(delivery: RawDelivery) -> str:
    """The leadgen id, or a hash of the sorted ids for a batch (bounded index key)."""
    try:
        ids = sorted({ids["leadgen_id"] for _, ids in _changes(load_json_object(delivery.body))})
    except AdapterError:
        return body_digest(delivery.body)
    if len(ids) == 1:
        return ids[0]
    if not ids:
        return body_digest(delivery.body)
    return "leadgen-batch:" + hashlib.sha256(",".join(ids).encode()).hexdigest()


def _apply_field_data(data: dict[str, Any], field_data: Any, mapping: Mapping[str, str]) -> None:
    if not isinstance(field_data, list):
        raise AdapterError("field_data is not a list", field="field_data")
    for item in field_data:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise AdapterError("field_data item without a name", field="field_data")
        values = [v for v in item.get("values") or [] if isinstance(v, str) and v.strip()]
        if not values:
            continue
        name: str = item["name"]
        path = mapping.get(name) or STANDARD_FIELDS.get(name)
        if path:
            set_path(data, path, values[0])
        else:
            add_custom(data, name, ", ".join(values))


def _apply_disclaimers(data: dict[str, Any], responses: Any, mapping: Mapping[str, str]) -> None:
    """Checkbox answers go to custom; consent only from a mapped checkbox, or all checked.

    Forms often pair an SMS-consent box with a privacy-policy box, so without an
    explicit mapping we only claim consent when every box was ticked.
    """
    if not isinstance(responses, list) or not responses:
        return
    states: dict[str, bool] = {}
    for item in responses:
        if isinstance(item, dict) and isinstance(item.get("checkbox_key"), str):
            states[item["checkbox_key"]] = str(item.get("is_checked", "")) in ("1", "true")
    for key, checked in states.items():
        add_custom(data, DISCLAIMER_PREFIX + key, "checked" if checked else "unchecked")
        path = mapping.get(DISCLAIMER_PREFIX + key)
        if path:
            set_path(data, path, checked)
    mapped = any(DISCLAIMER_PREFIX + k in mapping for k in states)
    if states and not mapped:
        set_path(data, "consent.checked", all(states.values()))


def _attribution(graph: Mapping[str, Any]) -> dict[str, str]:
    pairs = {
        "campaign_id": "campaign_id",
        "campaign_name": "campaign",
        "adset_id": "adset_id",
        "adset_name": "adset",
        "ad_id": "ad_id",
        "ad_name": "ad",
        "form_id": "form_id",
    }
    result = {"source": "instagram" if graph.get("platform") == "ig" else "facebook"}
    for src, dst in pairs.items():
        text = _id_text(graph.get(src))
        if text:
            result[dst] = text
    return result


def lead_from_graph(
    graph: Mapping[str, Any], mapping: Mapping[str, str] | None = None
) -> CanonicalLead:
    """Graph API lead response → canonical lead.

    `mapping` maps a field_data name (or `disclaimer:<checkbox_key>`) to a
    canonical path and wins over the standard keys.
    """
    mapping = mapping or {}
    lead_id = _id_text(graph.get("id"))
    if not lead_id:
        raise AdapterError("graph lead without id", field="id")
    data: dict[str, Any] = {"external_id": lead_id, "channel": "lead_form"}
    _apply_field_data(data, graph.get("field_data"), mapping)
    _apply_disclaimers(data, graph.get("custom_disclaimer_responses"), mapping)
    submitted = parse_iso_datetime(graph.get("created_time"))
    if submitted:
        data["submitted_at"] = submitted
        if isinstance(data.get("consent"), dict):
            data["consent"].setdefault("captured_at", submitted)
            data["consent"].setdefault("method", "web_form")
    attribution = data.setdefault("attribution", {})
    for key, value in _attribution(graph).items():
        attribution.setdefault(key, value)
    if lead_id in TEST_LEADGEN_IDS:
        data["is_test"] = True
    return build_lead(data)


def authenticate(settings: Mapping[str, Any], delivery: RawDelivery, now: dt.datetime) -> None:
    sig.verify_meta(delivery.body, delivery.header("x-hub-signature-256"), settings["app_secret"])


def _parse(delivery: RawDelivery, mapping: Mapping[str, str] | None) -> list[ParsedItem]:
    return parse(delivery)


# Meta retries a non-2xx answer for 36 hours: a quarantined delivery is answered 200.
class MetaSettings(SourceSettings):
    app_secret: str = secret(min_length=8, max_length=200)
    verify_token: str = secret(min_length=8, max_length=200)
    access_token: str = secret(min_length=8, max_length=1000)
    graph_base_url: str | None = Field(
        default=None, max_length=500, description="Default: the Graph API (setting)."
    )
    graph_version: str | None = Field(default=None, pattern=r"^v\d+\.\d+$")


ADAPTER = Adapter(
    "meta_lead_ads", MetaSettings, authenticate, event_id, _parse, quarantine_status=200
)
