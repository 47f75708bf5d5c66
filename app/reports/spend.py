"""Spend import: JSON or CSV rows, validated per row, replacing whole (day, source) sets."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from sqlalchemy import delete, func, insert, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from app.errors import BadRequest, Unprocessable
from app.fields import DataList, Day
from app.reports import period as periods
from app.reports import queries, unmatched
from app.reports.models import Spend
from app.reports.schemas import UnmatchedSpend
from app.tenancy import scoped

MAX_ROWS = 10_000
COLUMNS = ("date", "source", "campaign", "amount", "currency")
REQUIRED = frozenset({"date", "source", "amount", "currency"})

Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Campaign = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z]{3}$")]


class SpendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date: Day = Field(description="The local day the money was spent (YYYY-MM-DD).")
    source: Label = Field(
        description="A source id, or the label JSON API leads carry in `attribution.source` "
        "(or `utm_source`); labels are matched case-insensitively."
    )
    campaign: Campaign = Field(
        default="",
        description="`attribution.campaign` (else `utm_campaign`) of the leads it bought; "
        "empty: spend not tied to a campaign, matched to the source's leads without one.",
    )
    amount: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    currency: Currency = Field(description="ISO 4217 code; one currency per organisation.")


class SpendOut(BaseModel):
    date: dt.date
    source: str
    campaign: str
    amount: Decimal
    currency: str


class SpendImportResult(BaseModel):
    stored: int = Field(description="Rows stored (same date, source and campaign are summed).")
    days: int = Field(description="Distinct (date, source) sets replaced.")
    replaced: int = Field(description="Previously stored rows deleted by this import.")
    unmatched: list[UnmatchedSpend] = Field(
        default_factory=list,
        description="Imported spend whose source is neither a source id of the organisation "
        "nor the label of any of its leads (`unknown_source`): it would cost nothing in the "
        "cost report, whose `unmatched_spend` lists it too, with spend of known sources "
        "that meets no lead of the report's period.",
    )


class SpendList(DataList[SpendOut]):
    pass


ROWS_COUNT = (
    "`row` counts data rows from 1, the CSV header not counted (row 1 is a CSV's second line, "
    "a JSON list's first item); it is null for an error of the whole body or of the header."
)


def _problem(errors: list[dict[str, Any]]) -> Unprocessable:
    return Unprocessable(
        f"Some spend rows are invalid; see `errors`. {ROWS_COUNT}", extra={"errors": errors[:100]}
    )


def _whole(field: str, message: str) -> Unprocessable:
    return _problem([{"row": None, "field": field, "message": message}])


def parse_json(raw: bytes) -> list[dict[str, Any]]:
    try:
        data = json.loads(raw)
    except ValueError:
        raise BadRequest("The body is not valid JSON.", type="malformed-json") from None
    # `{"data": [...]}`, what `GET /v1/spend` answers, is taken as its list.
    if isinstance(data, dict) and isinstance(data.get("data"), list):
        data = data["data"]
    if not isinstance(data, list):
        raise _whole("body", "expected a list of objects")
    bad = [n for n, r in enumerate(data, start=1) if not isinstance(r, dict)]
    if bad:
        raise _problem([{"row": n, "field": "row", "message": "expected an object"} for n in bad])
    return data


def parse_csv(raw: bytes) -> list[dict[str, Any]]:
    try:
        reader = csv.DictReader(io.StringIO(raw.decode("utf-8-sig")))
        header = [h.strip().lower() for h in reader.fieldnames or []]
        reader.fieldnames = header
        rows = list(reader)
    except (UnicodeDecodeError, csv.Error):
        raise _whole("body", "not UTF-8 CSV") from None
    unknown = [h for h in header if h not in COLUMNS]
    missing = sorted(REQUIRED - set(header))
    if unknown or missing:
        message = f"header must be {','.join(COLUMNS)}"
        raise _whole("header", message)
    return [{k: v for k, v in r.items() if k is not None and v is not None} for r in rows]


def validate(items: list[dict[str, Any]]) -> list[SpendIn]:
    if not items:
        raise _whole("body", "no rows")
    if len(items) > MAX_ROWS:
        raise _whole("body", f"at most {MAX_ROWS} rows")
    out: list[SpendIn] = []
    errors: list[dict[str, Any]] = []
    for n, item in enumerate(items, start=1):
        try:
            out.append(SpendIn.model_validate(item))
        except ValidationError as exc:
            errors.extend(
                {
                    "row": n,
                    "field": ".".join(str(p) for p in e["loc"]) or "row",
                    "message": e["msg"],
                }
                for e in exc.errors(include_input=False)
            )
    if errors:
        raise _problem(errors)
    return out


def _merge(rows: Iterable[SpendIn]) -> dict[tuple[dt.date, str, str], tuple[Decimal, str]]:
    merged: dict[tuple[dt.date, str, str], tuple[Decimal, str]] = {}
    for r in rows:
        key = (r.date, r.source.lower(), r.campaign)
        amount, _ = merged.get(key, (Decimal(0), r.currency))
        merged[key] = (amount + r.amount, r.currency.upper())
    return merged


async def replace(
    session: AsyncSession, org_id: uuid.UUID, rows: list[SpendIn]
) -> SpendImportResult:
    """Each (date, source) in the import replaces all stored rows of that day and source."""
    first = rows[0].currency.upper()
    other = next((n for n, r in enumerate(rows, start=1) if r.currency.upper() != first), None)
    if other is not None:
        message = f"one currency per import (row 1 is {first})"
        raise _problem([{"row": other, "field": "currency", "message": message}])
    merged = _merge(rows)
    days = sorted({(d, s) for d, s, _ in merged})
    deleted = await session.execute(
        delete(Spend).where(
            Spend.organization_id == org_id, tuple_(Spend.date, Spend.source).in_(days)
        )
    )
    await session.execute(
        insert(Spend),
        [
            {"id": uuid.uuid4(), "organization_id": org_id, "date": d, "source": s,
             "campaign": c, "amount": amount, "currency": currency}
            for (d, s, c), (amount, currency) in merged.items()
        ],
    )  # fmt: skip
    currencies = await session.execute(
        select(func.count(func.distinct(Spend.currency))).where(Spend.organization_id == org_id)
    )
    if currencies.scalar_one() > 1:
        raise _whole("currency", "differs from stored spend's currency")
    replaced = int(getattr(deleted, "rowcount", 0) or 0)
    return SpendImportResult(
        stored=len(merged),
        days=len(days),
        replaced=replaced,
        unmatched=await _unmatched(session, org_id, merged),
    )


async def _unmatched(
    session: AsyncSession, org_id: uuid.UUID, merged: dict[tuple[dt.date, str, str], Any]
) -> list[UnmatchedSpend]:
    """The import's unmatched spend: the cost report's definition over the import's days."""
    first, last = min(d for d, _, _ in merged), max(d for d, _, _ in merged)
    first = max(first, last - dt.timedelta(days=periods.MAX_DAYS - 1))
    period = await periods.resolve(session, org_id, first, last, None)
    found = await unmatched.find(session, period, await queries.cost(session, period))
    imported = {(s, c) for _, s, c in merged}
    # A source no lead ever carried; spend of a known source that meets no lead on the
    # import's days is usual for a small campaign and shows on the cost report only.
    return [
        u
        for u in found
        if (u.source, u.campaign or "") in imported and u.reason == "unknown_source"
    ]


async def list_rows(
    session: AsyncSession, org_id: uuid.UUID, first_day: dt.date, last_day: dt.date
) -> SpendList:
    stmt = (
        scoped(Spend, org_id)
        .where(Spend.date >= first_day, Spend.date <= last_day)
        .order_by(Spend.date, Spend.source, Spend.campaign)
    )
    found = (await session.execute(stmt)).scalars().all()
    return SpendList(data=[SpendOut.model_validate(s, from_attributes=True) for s in found])
