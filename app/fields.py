"""Field types and the PATCH base that every domain's schemas share.

They keep the published schema and what the database can hold in step: an instant is aware
and in a range a schedule can mean, an integer fits its `integer` column, and a PATCH field
that cannot be stored empty refuses an explicit `null` at its own pointer instead of
failing at the database.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Iterable
from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
INT32_MAX = 2**31 - 1


def _ip_address(value: str) -> str:
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        raise ValueError("not a valid IPv4 or IPv6 address") from None
    return value.strip()


# The address a consent was captured from, as the lead and a grant both carry it.
IpAddress = Annotated[str, StringConstraints(max_length=64), AfterValidator(_ip_address)]


def _sane_year(value: dt.datetime) -> dt.datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise PydanticCustomError(
            "instant_out_of_range",
            "must be between the years {low} and {high}",
            {"low": EARLIEST_YEAR, "high": LATEST_YEAR},
        )
    return value


# A point in time a person or a schedule means: an offset is required and the year is sane
# (year 1 is stored by PostgreSQL as -infinity and breaks every comparison made with it).
Instant = Annotated[
    AwareDatetime,
    AfterValidator(_sane_year),
    Field(json_schema_extra={"format": "date-time"}),
]


def _sane_day(value: dt.date) -> dt.date:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise PydanticCustomError(
            "date_out_of_range",
            "must be between the years {low} and {high}",
            {"low": EARLIEST_YEAR, "high": LATEST_YEAR},
        )
    return value


# A calendar day a report or a schedule means.
Day = Annotated[dt.date, AfterValidator(_sane_day)]

# What an `integer` column holds.
Count32 = Annotated[int, Field(ge=0, le=INT32_MAX)]


INSTANT_MESSAGE = f"must be a FHIR instant with a time zone, years {EARLIEST_YEAR} to {LATEST_YEAR}"


def parse_instant(text: str) -> dt.datetime | None:
    """An ISO 8601 instant with an offset and a sane year, or None: a text that only looks
    like one (`0000-00-00T00:00:00Z`, year 5664) is refused, not raised."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None or not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return None
    return value


def coerce_aware(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware datetime, whatever older rows hold.

    PostgreSQL's ±infinity comes back from asyncpg as naive datetime.min/max; a naive value
    is read as UTC. Comparisons made with the result never raise.
    """
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)


class PatchModel(BaseModel):
    """Only the fields sent change. `null` is accepted only where the field documents that it
    clears the value (`nullable`); anywhere else it is a 422 at the field's pointer."""

    model_config = ConfigDict(extra="forbid")
    nullable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _refuse_null(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None and info.field_name not in cls.nullable:
            raise PydanticCustomError(
                "null_not_allowed", "may not be null: omit the field to keep its value"
            )
        return value

    @classmethod
    def __get_pydantic_json_schema__(
        cls, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        target = handler.resolve_ref_schema(schema)
        names = {(f.alias or name): name for name, f in cls.model_fields.items()}
        for prop_name, prop in target.get("properties", {}).items():
            if names.get(prop_name) in cls.nullable:
                continue
            _drop_null(prop)
        return schema


def _drop_null(prop: dict[str, Any]) -> None:
    """Publish a non-nullable PATCH field as what it accepts: its type, without `null`."""
    prop.pop("default", None)
    any_of = prop.get("anyOf")
    if not isinstance(any_of, list):
        return
    rest = [s for s in any_of if s != {"type": "null"}]
    if len(rest) == 1:
        del prop["anyOf"]
        prop.update(rest[0])
    else:
        prop["anyOf"] = rest


def given(*names: str, exactly: bool = False) -> dict[str, Any]:
    """The JSON Schema of "one of these fields, not null" (`exactly`: one and only one), for a
    model whose validator says so: published, a generated request keeps the rule too."""
    given_ = {"not": {"type": "null"}, "minLength": 1}  # (minLength: strings only)
    branches = [{"required": [n], "properties": {n: given_}} for n in names]
    return {"oneOf" if exactly else "anyOf": branches}


Item = TypeVar("Item", bound=BaseModel)


class DataList(BaseModel, Generic[Item]):
    """Every item in one answer: an organisation's configuration (its teams, locations...).

    Every list of the API answers `{"data": [...], "next_cursor": ...}`; these have one page."""

    # Always in the answer, so the published schema says it is there.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    data: list[Item]
    next_cursor: str | None = Field(
        default=None, description="Always null: every item is in this answer."
    )

    @classmethod
    def of(cls, rows: Iterable[object]) -> Self:
        """The answer for stored rows, each read into the item's model by attribute."""
        return cls.model_validate({"data": list(rows)}, from_attributes=True)
