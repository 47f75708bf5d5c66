"""Measure triage on the labelled corpus: `python -m app.scoring.triage_eval [--corpus DIR]`.

Prints emergency recall per category and language, the false-alarm rate of the look-alikes per
kind and language, urgency accuracy on its sample, service-match accuracy on the demo practice,
and every miss. Emergencies and urgency are measured with the built-in concepts only (an
organisation without phrases of its own); services with the demo practice's synonyms.
Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from app.demo import practice as demo
from app.scoring.core import CompiledPractice, LeadFacts, compile_practice, decide
from app.scoring.definitions import ServiceDef

DEFAULT_CORPUS = Path(__file__).resolve().parents[2] / "tests" / "scoring" / "triage"
TARGETS = {"recall": 0.99, "false_alarms": 0.02, "urgency": 0.90, "services": 0.95}


@dataclass(frozen=True, slots=True)
class Item:
    label: str
    lang: str
    text: str
    line: int


def load(path: Path) -> list[Item]:
    items = []
    for n, raw in enumerate(path.read_text("utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        label, lang, text = (part.strip() for part in line.split("|", 2))
        items.append(Item(label, lang, text, n))
    return items


@dataclass
class Tally:
    right: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    total: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    misses: list[tuple[Item, str]] = field(default_factory=list)

    def add(self, item: Item, group: str, ok: bool, got: str) -> None:
        self.total[(group, item.lang)] += 1
        if ok:
            self.right[(group, item.lang)] += 1
        else:
            self.misses.append((item, got))

    def rate(self, group: str | None = None, lang: str | None = None) -> tuple[int, int]:
        keys = [
            k for k in self.total if (group is None or k[0] == group) and (lang in (None, k[1]))
        ]
        return sum(self.right[k] for k in keys), sum(self.total[k] for k in keys)


def demo_practice() -> CompiledPractice:

    services = [
        ServiceDef(s.code, s.name, tuple(s.synonyms or ()), tuple(s.urgency_phrases or ()))
        for s in (demo.ORTHOPEDICS, demo.SLEEP_MEDICINE)
    ]
    return compile_practice(services, ())


BUILT_IN_ONLY = compile_practice((), ())


def _run(items: Iterable[Item], check: Callable[[Item], tuple[bool, str]]) -> Tally:
    tally = Tally()
    for item in items:
        ok, got = check(item)
        tally.add(item, item.label, ok, got)
    return tally


def _assess(text: str) -> tuple[str, tuple[str, ...]]:
    a = decide(LeadFacts(reason_text=text), BUILT_IN_ONLY)
    return a.urgency, a.red_flags


def evaluate(corpus: Path = DEFAULT_CORPUS) -> dict[str, Tally]:
    practice = demo_practice()

    def emergency(item: Item) -> tuple[bool, str]:
        level, _ = _assess(item.text)
        return level == "emergency", level

    def lookalike(item: Item) -> tuple[bool, str]:
        level, flags = _assess(item.text)
        return level != "emergency", ", ".join(flags) or level

    def urgency(item: Item) -> tuple[bool, str]:
        level, _ = _assess(item.text)
        return level == item.label, level

    def service(item: Item) -> tuple[bool, str]:
        code = decide(LeadFacts(service_text=item.text), practice).service.code or "none"
        return code == item.label, code

    return {
        "emergencies": _run(load(corpus / "emergencies.txt"), emergency),
        "lookalikes": _run(load(corpus / "lookalikes.txt"), lookalike),
        "urgency": _run(load(corpus / "urgency.txt"), urgency),
        "services": _run(load(corpus / "services.txt"), service),
    }


def _pct(right: int, total: int) -> str:
    return f"{100 * right / total:5.1f} % ({right}/{total})" if total else "    -"


def report(results: dict[str, Tally]) -> tuple[str, bool]:
    lines: list[str] = []
    ok = True
    em, la = results["emergencies"], results["lookalikes"]
    lines.append("| emergency category | en recall | es recall |")
    lines.append("|---|---|---|")
    for group in sorted({g for g, _ in em.total}):
        lines.append(f"| {group} | {_pct(*em.rate(group, 'en'))} | {_pct(*em.rate(group, 'es'))} |")
    for lang in ("en", "es"):
        right, total = em.rate(lang=lang)
        ok &= right >= TARGETS["recall"] * total
    lines.append(f"| **all** | {_pct(*em.rate(lang='en'))} | {_pct(*em.rate(lang='es'))} |")
    lines.append("")
    lines.append("| look-alike kind | en false alarms | es false alarms |")
    lines.append("|---|---|---|")
    for group in sorted({g for g, _ in la.total}):
        cells = []
        for lang in ("en", "es"):
            right, total = la.rate(group, lang)
            cells.append(_pct(total - right, total))
        lines.append(f"| {group} | {cells[0]} | {cells[1]} |")
    right, total = la.rate()
    ok &= total - right <= TARGETS["false_alarms"] * total
    lines.append(f"| **all** | {_pct(*_wrong(la, 'en'))} | {_pct(*_wrong(la, 'es'))} |")
    lines.append("")
    lines.append("| sample | en accuracy | es accuracy | target |")
    lines.append("|---|---|---|---|")
    for name in ("urgency", "services"):
        t = results[name]
        lines.append(
            f"| {name} | {_pct(*t.rate(lang='en'))} | {_pct(*t.rate(lang='es'))} "
            f"| ≥ {TARGETS[name]:.0%} |"
        )
        if name == "urgency":
            right, total = t.rate()
            ok &= right >= TARGETS[name] * total
        else:
            for lang in ("en", "es"):
                right, total = t.rate(lang=lang)
                ok &= right >= TARGETS[name] * total
    lines.append("")
    for name, tally in results.items():
        for item, got in tally.misses:
            lines.append(
                f"miss {name}:{item.line} [{item.label}/{item.lang}] got {got}: {item.text}"
            )
    return "\n".join(lines), ok


def _wrong(t: Tally, lang: str) -> tuple[int, int]:
    right, total = t.rate(lang=lang)
    return total - right, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    args = parser.parse_args(argv)
    if not (args.corpus / "emergencies.txt").exists():
        print(f"corpus not found in {args.corpus}; pass --corpus DIR", file=sys.stderr)
        return 2
    text, ok = report(evaluate(args.corpus))
    print(text)
    print("targets met" if ok else "targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
