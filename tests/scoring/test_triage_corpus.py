"""The triage targets, asserted on the labelled corpus (tests/scoring/triage/)."""

from __future__ import annotations

import pytest

from app.scoring import triage_eval
from app.scoring.triage_eval import TARGETS, Tally

RESULTS = triage_eval.evaluate()


def _misses(tally: Tally, lang: str | None = None) -> list[str]:
    return [i.text for i, _ in tally.misses if lang in (None, i.lang)]


def test_the_corpus_is_as_large_as_promised() -> None:
    em, la = RESULTS["emergencies"], RESULTS["lookalikes"]
    assert em.rate()[1] >= 300 and la.rate()[1] >= 200
    assert em.rate(lang="es")[1] * 3 >= em.rate()[1] * 0.95  # a third in Spanish
    assert la.rate(lang="es")[1] * 3 >= la.rate()[1] * 0.95
    assert RESULTS["services"].rate()[1] >= 200
    assert len({group for group, _ in em.total}) == 13


@pytest.mark.parametrize("lang", ["en", "es"])
def test_emergency_recall(lang: str) -> None:
    right, total = RESULTS["emergencies"].rate(lang=lang)
    assert right >= TARGETS["recall"] * total, _misses(RESULTS["emergencies"], lang)


def test_false_alarms() -> None:
    right, total = RESULTS["lookalikes"].rate()
    assert total - right <= TARGETS["false_alarms"] * total, _misses(RESULTS["lookalikes"])


def test_urgency_accuracy() -> None:
    right, total = RESULTS["urgency"].rate()
    assert right >= TARGETS["urgency"] * total, _misses(RESULTS["urgency"])


@pytest.mark.parametrize("lang", ["en", "es"])
def test_service_match_accuracy(lang: str) -> None:
    right, total = RESULTS["services"].rate(lang=lang)
    assert right >= TARGETS["services"] * total, _misses(RESULTS["services"], lang)


def test_the_command_prints_the_table_and_every_miss(capsys: pytest.CaptureFixture[str]) -> None:
    assert triage_eval.main([]) == 0
    out = capsys.readouterr().out
    assert "| cardiac |" in out and "| negated |" in out and "targets met" in out
    for item, _ in RESULTS["services"].misses:
        assert item.text in out
