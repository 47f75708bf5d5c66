"""Median time per `decide` for a large practice: 20 services x 200 phrases, 50 locations.

Run: `python bench/bench_scoring.py`. Prints wall and CPU time per decision.
"""

from __future__ import annotations

import itertools
import statistics
import time

from app.scoring.core import LeadFacts, LocationDef, ServiceDef, compile_practice, decide

BODY = ["knee", "hip", "shoulder", "ankle", "wrist", "neck", "spine", "elbow", "jaw", "foot"]
COMPLAINTS = ["pain", "swelling", "stiffness", "injury", "numbness", "weakness", "clicking"]
SPECIALTIES = [
    "orthopedics", "sleep-medicine", "cardiology", "dermatology", "gastroenterology",
    "neurology", "urology", "ent", "allergy", "endocrinology", "rheumatology", "podiatry",
    "pain-management", "physical-therapy", "ophthalmology", "pulmonology", "womens-health",
    "bariatrics", "plastic-surgery", "vascular",
]  # fmt: skip


def _services() -> list[ServiceDef]:
    services = []
    for n, code in enumerate(SPECIALTIES):
        qualifier = f"{code.split('-')[0]}{n}"
        pairs = itertools.product(BODY, COMPLAINTS, ("left", "right", "chronic"))
        phrases = tuple(f"{qualifier} {b} {c} {side}" for b, c, side in pairs)[:195]
        extra = (f"{qualifier} consult", *(f"{b} {code}" for b in BODY[:4]))
        services.append(
            ServiceDef(
                code=code,
                name=code.replace("-", " ").title(),
                synonyms=(*phrases, *extra),
                urgency_phrases=(f"{qualifier} flare",),
                red_flag_phrases=(f"{qualifier} collapse",),
            )
        )
    return services


def _locations() -> list[LocationDef]:
    return [
        LocationDef(
            id=f"loc-{i:02d}",
            name=f"Clinic {i}",
            postal_code=f"60{i:03d}",
            latitude=41.5 + (i % 10) * 0.05,
            longitude=-88.2 + (i // 10) * 0.1,
            time_zone="America/Chicago",
            services=tuple(SPECIALTIES[(i + k) % 20] for k in range(6)),
            languages=("en", "es"),
            insurance_accepted=("Aetna", "Blue Cross Blue Shield", "Cigna", "Medicare"),
            service_radius_miles=15.0,
        )
        for i in range(50)
    ]


TEXTS = [
    "knee pain doctor, been hurting for weeks and can't walk far",
    "orthopedics0 hip swelling chronic since my fall last spring",
    "slep apnea and snoring, my wife says I stop breathing",
    "crushing chest pain since this morning",
    "no chest pain but I need a dermatology3 consult this week please",
    "general question about appointments and parking",
]


def main() -> None:
    practice = compile_practice(_services(), _locations())
    leads = [
        LeadFacts(
            service_text=text, reason_text=text, latitude=41.8, longitude=-87.9,
            postal_code="60611", insurance_plan="Aetna PPO", language="en", age=40,
            has_phone=True, phone_valid=True, consent_checked=True,
        )
        for text in TEXTS
    ]  # fmt: skip
    for facts in leads:
        decide(facts, practice)
    wall, cpu = [], []
    for _ in range(300):
        for facts in leads:
            # CPU time too: other processes' turns on the core inflate wall time, not this.
            start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
            decide(facts, practice)
            cpu.append((time.thread_time_ns() - start_cpu) / 1000)
            wall.append((time.perf_counter_ns() - start) / 1000)
    print(f"services=20 phrases/service~200 locations=50 decisions={len(wall)}")
    for name, samples in (("wall", wall), ("CPU", cpu)):
        p95 = sorted(samples)[int(len(samples) * 0.95)]
        print(f"{name}: median {statistics.median(samples):.0f} us, p95 {p95:.0f} us")


if __name__ == "__main__":
    main()
