"""What each source kind needs in `settings`, and which of it is secret (write-only): each
kind's model is its adapter's (app.intake.adapters); `api` sources, which have no sender to
authenticate, take only the common settings."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from app.intake.adapters.base import SourceSettings
from app.intake.adapters.registry import ADAPTERS

SETTINGS_MODELS: dict[str, type[SourceSettings]] = {
    **{kind: adapter.settings for kind, adapter in ADAPTERS.items()},
    "api": SourceSettings,
}

if TYPE_CHECKING:
    Kind = str
else:
    # Built from the registry, so a new kind is its adapter module; published as an enum.
    Kind = Literal[tuple(SETTINGS_MODELS)]

SECRET_FIELDS = frozenset(
    name
    for model in SETTINGS_MODELS.values()
    for name, info in model.model_fields.items()
    if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("writeOnly")
)


def public_view(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings with each secret replaced by whether it is set."""
    return {
        k: ({"set": bool(v)} if k in SECRET_FIELDS else v)
        for k, v in settings.items()
        if v is not None
    }
