"""Where the code keeps its SQL and its source kinds: the rules docs/internals.md states."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest
from sqlalchemy.sql import ClauseElement

from app.direct import Direct
from app.intake.adapters.base import SourceSettings
from app.intake.adapters.registry import ADAPTERS
from app.intake.source_settings import SECRET_FIELDS, SETTINGS_MODELS, public_view

APP = Path(__file__).resolve().parents[2] / "app"
# app.direct defines the wrapper; the configuration cache is a base module under no package,
# with one statement of its own (the organisation's configuration version).
OUTSIDE_PACKAGES = {"direct.py", "configcache.py"}


def _direct_statements(path: Path) -> list[int]:
    """Lines of `Direct(...)` constructions in a module."""
    tree = ast.parse(path.read_text(), str(path))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name | ast.Attribute)
        and (node.func.id if isinstance(node.func, ast.Name) else node.func.attr) == "Direct"
    ]


def test_statements_past_the_orm_live_in_a_packages_queries_module() -> None:
    found = {
        str(path.relative_to(APP)): lines
        for path in APP.rglob("*.py")
        if path.name != "queries.py" and str(path.relative_to(APP)) not in OUTSIDE_PACKAGES
        if (lines := _direct_statements(path))
    }
    assert found == {}, f"move these statements to their package's queries.py: {found}"
    # The check sees them where they are.
    assert _direct_statements(APP / "leads" / "queries.py")
    assert _direct_statements(APP / "routing" / "queries.py")


def test_no_package_composes_another_packages_statements() -> None:
    """A package calls another's functions; it never takes its SQL to compose its own."""
    taken = []
    for path in APP.rglob("*.py"):
        package = path.relative_to(APP).parts[0]
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom) or not node.module:
                continue
            parts = node.module.split(".")
            if len(parts) != 3 or parts[2] != "queries" or parts[1] == package:
                continue
            module = importlib.import_module(node.module)
            for alias in node.names:
                value = getattr(module, alias.name)
                if isinstance(value, Direct | str | ClauseElement):
                    taken.append((str(path.relative_to(APP)), f"{node.module}.{alias.name}"))
    assert taken == []


@pytest.mark.parametrize("kind", sorted(ADAPTERS))
def test_each_source_kind_is_its_adapter_module(kind: str) -> None:
    adapter = ADAPTERS[kind]
    assert SETTINGS_MODELS[kind] is adapter.settings
    assert issubclass(adapter.settings, SourceSettings)
    # The module that parses a kind also declares its settings.
    assert adapter.settings.__module__ == adapter.parse.__module__


def test_api_sources_take_only_the_common_settings() -> None:
    assert SETTINGS_MODELS["api"] is SourceSettings


@pytest.mark.parametrize(
    ("settings", "shown"),
    [
        ({"secret": "s" * 20}, {"secret": {"set": True}}),
        ({"secrets": ["whsec_" + "a" * 30]}, {"secrets": {"set": True}}),
        ({"app_secret": "x" * 10, "graph_version": "v21.0"},
         {"app_secret": {"set": True}, "graph_version": "v21.0"}),
        ({"auth_token": "t" * 10, "public_url": None}, {"auth_token": {"set": True}}),
    ],
)  # fmt: skip
def test_secrets_declared_by_the_adapters_are_never_shown(
    settings: dict[str, object], shown: dict[str, object]
) -> None:
    assert public_view(settings) == shown


def test_every_secret_field_of_every_kind_is_known() -> None:
    assert {
        "app_secret", "verify_token", "access_token", "google_key", "secret", "secrets",
        "signing_key", "auth_token",
    } == SECRET_FIELDS  # fmt: skip
