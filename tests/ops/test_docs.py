"""The documents say what the code does: settings, source kinds, commands, the triggers and
the tests that cover them, links inside the repository, and the first integration's scripts."""

from __future__ import annotations

import ast
import importlib.util
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import get_args

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.cli import build_parser
from app.config import Settings
from app.intake.source_settings import Kind
from app.signatures import sign_standard_webhook, verify_standard_webhook

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
INTERNALS = (ROOT / "docs" / "internals.md").read_text()
DOCUMENTS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]


def test_every_setting_is_in_the_readme_table() -> None:
    missing = [
        name for name in Settings.model_fields if f"`LEAD_ROUTER_{name.upper()}`" not in README
    ]
    assert missing == []


def test_placeholder_secrets_are_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="placeholder"):
        Settings(environment="production", secret_key="change-me", encryption_keys="k:AAAA")
    ok = Settings(
        environment="production", secret_key="s" * 40, encryption_keys="k1:" + "A" * 43 + "="
    )
    assert ok.environment == "production"


def test_the_first_screen_has_exactly_the_two_setup_commands() -> None:
    first_block = README.split("```sh\n", 1)[1].split("```", 1)[0]
    commands = [line for line in first_block.splitlines() if line and not line.startswith("#")]
    assert commands == [
        "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/lead-router demo",
        "python3 -m venv .venv && .venv/bin/pip install -e '.[dev]' && .venv/bin/python -m pytest",
    ]


def test_the_source_table_lists_every_kind() -> None:
    table = README.split("| kind | how the sender authenticates | settings |", 1)[1]
    rows = table.split("\n\n", 1)[0]
    listed = set(re.findall(r"^\| `(\w+)`(?:, `(\w+)`)?", rows, re.M))
    named = {kind for pair in listed for kind in pair if kind}
    assert named == set(get_args(Kind))


def test_every_command_the_readme_names_exists() -> None:
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    commands = set(subparsers.choices)  # type: ignore[arg-type]
    # In code: `lead-router purge`, a code block's line, `.venv/bin/lead-router demo`.
    named = set(re.findall(r"(?:`|^|bin/)lead-router ([a-z][a-z-]+)", README, re.M))
    assert named - commands == set()
    assert commands - named == set(), "a command the README does not explain"


def test_the_documents_link_only_inside_the_repository() -> None:
    for document in DOCUMENTS:
        body = document.read_text()
        for target in re.findall(r"\]\(([^)#\s]+)[^)]*\)", body):
            if target.startswith(("http://", "https://")):
                continue
            resolved = (document.parent / target).resolve()
            assert resolved.is_relative_to(ROOT), (document.name, target)
            assert resolved.exists(), (document.name, target)
        assert "../shared" not in body, document.name


def test_every_file_the_documents_name_exists() -> None:
    for document in DOCUMENTS:
        named = re.findall(
            r"`((?:app|bench|deploy|docs|examples|migrations|tests)/[\w./-]+\.[a-z]+)`",
            document.read_text(),
        )
        assert [n for n in named if not (ROOT / n).exists()] == [], document.name


def _tests_named(document: str) -> set[tuple[str, str]]:
    return set(re.findall(r"`(tests/[\w/]+\.py)::(test_\w+)", document)) | {
        (path, name)
        for path, rest in re.findall(
            r"`(tests/[\w/]+\.py)::test_\w+`((?:, `::test_\w+`)+)", document
        )
        for name in re.findall(r"`::(test_\w+)`", rest)
    }


def test_every_test_the_internals_name_exists() -> None:
    named = _tests_named(INTERNALS)
    assert len(named) >= 15
    for path, name in named:
        tree = ast.parse((ROOT / path).read_text())
        defined = {
            node.name
            for node in ast.walk(tree)
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        }
        assert name in defined, f"{path}::{name}"


def _name_pattern(documented: str) -> re.Pattern[str]:
    """`{table}_config_version_{insert,update,delete}` or `*_bulk` as a regular expression."""
    p = re.escape(documented).replace(r"\{table\}", r"\w+").replace(r"\*", r"\w*")
    p = re.sub(r"\\\{([\w,]+)\\\}", lambda m: "(" + m[1].replace(",", "|") + ")", p)
    return re.compile(p)


async def test_every_trigger_in_the_database_is_in_the_internals(session: AsyncSession) -> None:
    triggers = (
        await session.execute(text("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))
    ).scalars()
    section = INTERNALS.split("## What the database keeps", 1)[1].split("\n## ", 1)[0]
    names = [_name_pattern(n) for n in re.findall(r"`([\w{},*]+)`", section)]
    missing = sorted(t for t in triggers if not any(n.fullmatch(t) for n in names))
    assert missing == []


def _example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SECRET = "whsec_ZGVtby1vbmx5LXdlYi1mb3JtLXNlY3JldC0xMjM0NTY="


def test_the_example_sender_signs_as_intake_verifies() -> None:
    sender = _example("send_web_form_lead")
    body, now = b'{"phone": "+13125550123"}', int(time.time())
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(now),
        "webhook-signature": sender.sign(SECRET, "msg_1", now, body),
    }
    verify_standard_webhook(body, headers, [SECRET], datetime.now(UTC))


@pytest.mark.parametrize(
    ("change", "accepted"),
    [({}, True), ({"body": b"{}"}, False), ({"secret": "whsec_" + "B" * 44}, False),
     ({"age": 600}, False)],
)  # fmt: skip
def test_the_example_receiver_accepts_only_what_handoff_signs(
    change: dict[str, object], accepted: bool
) -> None:
    receiver = _example("webhook_receiver")
    body = b'{"type": "lead.routed", "data": {}}'
    sent_at = int(time.time()) - int(change.get("age", 0))  # type: ignore[call-overload]
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(sent_at),
        "webhook-signature": sign_standard_webhook("msg_1", sent_at, body, SECRET),
    }
    secret = str(change.get("secret", SECRET))
    assert receiver.verified(secret, headers, change.get("body", body)) is accepted
