"""A small, realistic Chicago-metro practice shared by the scoring tests."""

from __future__ import annotations

import dataclasses
from typing import Any

import zipcodes

from app.scoring.core import (
    CompiledPractice,
    LeadFacts,
    LocationDef,
    ScoringSettings,
    ServiceDef,
    compile_practice,
)


def coords(zip_code: str) -> tuple[float, float]:
    row = zipcodes.matching(zip_code)[0]
    return float(row["lat"]), float(row["long"])


ORTHO = ServiceDef(
    code="orthopedics",
    name="Orthopedics",
    synonyms=(
        "orthopedic surgeon",
        "knee",
        "knee pain",
        "knee replacement",
        "torn acl",
        "acl tear",
        "torn meniscus",
        "hip pain",
        "back pain",
        "shoulder pain",
        "rotator cuff",
        "sports injury",
        "fracture",
        "broken bone",
        "joint replacement",
        "carpal tunnel",
    ),
    urgency_phrases=("can't walk", "can't put weight"),
    red_flag_phrases=("bone sticking out",),
)
SLEEP = ServiceDef(
    code="sleep-medicine",
    name="Sleep Medicine",
    synonyms=(
        "snoring",
        "sleep apnea",
        "obstructive sleep apnea",
        "insomnia",
        "cpap",
        "sleep study",
        "restless legs",
        "narcolepsy",
        "daytime sleepiness",
    ),
    urgency_phrases=("fell asleep driving",),
)

LAT_A, LON_A = coords("60611")
LAT_B, LON_B = coords("60540")

STREETERVILLE = LocationDef(
    id="loc-streeterville",
    name="Streeterville",
    postal_code="60611",
    latitude=LAT_A,
    longitude=LON_A,
    time_zone="America/Chicago",
    services=("orthopedics", "sleep-medicine"),
    languages=("en", "es"),
    insurance_accepted=("Aetna", "Blue Cross Blue Shield", "Medicare", "UnitedHealthcare"),
    min_age=18,
    service_radius_miles=12.0,
)
NAPERVILLE = LocationDef(
    id="loc-naperville",
    name="Naperville",
    postal_code="60540",
    latitude=LAT_B,
    longitude=LON_B,
    time_zone="America/Chicago",
    services=("orthopedics", "sleep-medicine"),
    languages=("English", "Polish"),
    insurance_accepted=("Aetna", "Blue Cross Blue Shield", "Cigna"),
    service_radius_miles=15.0,
)

SETTINGS = ScoringSettings(red_flag_phrases=("numbness in both legs",), version="org-7")


def practice(*locations: LocationDef, settings: ScoringSettings = SETTINGS) -> CompiledPractice:
    return compile_practice((ORTHO, SLEEP), locations or (STREETERVILLE, NAPERVILLE), settings)


PRACTICE = practice()


def lead(zip_code: str | None = "60610", **overrides: Any) -> LeadFacts:
    """A complete, qualifying lead near Streeterville; override what a case is about."""
    lat, lon = coords(zip_code) if zip_code else (None, None)
    base = LeadFacts(
        service_text="knee pain doctor",
        postal_code=zip_code,
        latitude=lat,
        longitude=lon,
        language="English",
        insurance_plan="Aetna PPO",
        new_patient=True,
        age=45,
        has_phone=True,
        phone_valid=True,
        has_email=True,
        email_valid=True,
        consent_checked=True,
    )
    return dataclasses.replace(base, **overrides)
