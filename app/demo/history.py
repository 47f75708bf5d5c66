"""The demo practice's past: who asked, when, through which source, and what happened next.

Pure and deterministic: the same seed and "today" give the same history. Each lead's request
is drawn here; scoring and routing then decide it with the service's own cores
(app/demo/load.py), and its journey (calls, booking, visit) is drawn from those decisions.

Assumptions, and where they come from (a two-location orthopedics and sleep-medicine group
in Chicago, mid-size, buying search and paid-social leads):
- Volume and mix: about 30 leads a weekday, 60 % of that on weekends for forms and a quarter
  for calls and referrals. Search lead forms and paid social bring most leads, web forms,
  call tracking and referrals the rest; paid social leads qualify less often than search
  leads. Cost per lead about $80 on search and $35 on paid social: WordStream/LocaliQ
  "Google Ads benchmarks" (health and medical, average cost per lead $60-$110) and "Facebook
  ads benchmarks" (healthcare, $20-$45).
- Arrival times: search forms and calls in the day, paid-social forms into the evening;
  calls and referrals almost only in opening hours.
- Speed to lead: in opening hours a median of about 6 minutes to the first call, 90th
  percentile about an hour; a lead arriving while its team is closed waits for the next
  opening plus the morning backlog; about 5 % of qualified leads are never called.
  Oldroyd, McElheran and Elkington, "The Short Life of Online Sales Leads", Harvard Business
  Review, March 2011 (the average firm took 42 hours; 23 % never responded; firms calling
  within an hour were seven times as likely to qualify a lead), and the Lead Response
  Management study (Oldroyd and InsideSales.com, 2007: odds of reaching a lead fall about
  tenfold after the first five minutes). This practice is better than average, as a
  practice adopting lead-router would aim to be.
- Reaching people: about 45 % of first calls connect, fewer of later ones; six tries without
  an answer make a lead unreachable (app/outreach/history.py); a few reached people decline
  further contact (a revocation on every channel), a few more reply STOP to a text.
- Booking: about 60 % of reached hot leads, 45 % warm, 25 % cold, 5 % not qualified. First
  visits a median of about a week out (appointment availability surveys such as Merritt
  Hawkins' "Survey of Physician Appointment Wait Times", 2022: orthopedics about 2-3 weeks in
  large metros; a practice buying leads keeps new-patient slots open).
- Visits: about 72 % fulfilled, 17 % no-show, 11 % cancelled; a third of no-shows and
  cancellations book again. Dantas et al., "No-shows in appointment scheduling - a
  systematic literature review", Health Policy 122(4), 2018 (average no-show rate 23 %,
  lower with reminders).
- A reached lead that books nothing within two weeks moves to the nurture queue, as a
  practice's follow-up rule would move it, so the desks' open work stays what they hold.
- Identities are fictional: names from common US name lists, phone numbers in the 555
  exchange (555-0100 up), e-mail at example.com/.org/.net (RFC 2606), ZIP codes real.
- One day of display spend is imported as `google` while Google leads carry a source id:
  the review names it as unmatched spend, the most common import mistake.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

SEED = 20_260_105


@dataclass(frozen=True)
class Campaign:
    source: str  # a demo source's kind, or "website": JSON API leads carrying that label
    name: str | None
    service: str  # "ortho" or "sleep": which requests its people make
    weekday_leads: float
    daily_spend: Decimal | None
    hours: str  # "day", "evening", "office"
    weekend: float = 0.6
    consent: float = 1.0  # share of leads with consent given


CAMPAIGNS = (
    Campaign("google_ads_lead_form", "Knee pain - search", "ortho", 5.0, Decimal("420"), "day"),
    Campaign("google_ads_lead_form", "Sleep apnea - search", "sleep", 3.5, Decimal("300"), "day"),
    Campaign(
        "google_ads_lead_form", "Hip replacement - search", "ortho", 2.0, Decimal("190"), "day"
    ),
    Campaign("meta_lead_ads", "Knee pain - video", "ortho", 5.5, Decimal("190"), "evening"),
    Campaign("meta_lead_ads", "Snoring - carousel", "sleep", 4.0, Decimal("140"), "evening"),
    Campaign("web_form", "knee-pain-landing", "ortho", 3.0, Decimal("150"), "day"),
    Campaign("unbounce", "hip-pain-landing", "ortho", 1.5, Decimal("90"), "day"),
    Campaign("typeform", None, "sleep", 1.5, None, "evening"),
    Campaign("call_tracking", "Google Business Profile", "ortho", 2.5, None, "office", 0.25),
    Campaign("call_tracking", "Website calls", "sleep", 1.5, None, "office", 0.25),
    Campaign("partner", None, "ortho", 2.0, None, "office", 0.1),
    Campaign("website", None, "ortho", 2.5, None, "day", 0.6, 0.85),
)

# Relative weight of each local hour of the day.
HOURS = {
    "day": [1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 14, 13, 13, 13, 12, 11, 10, 9, 8, 7, 6, 4, 3, 2],
    "evening": [2, 1, 1, 1, 1, 2, 3, 5, 7, 8, 8, 8, 8, 8, 8, 8, 9, 10, 12, 14, 15, 13, 8, 4],
    "office": [0, 0, 0, 0, 0, 0, 0, 2, 12, 14, 14, 12, 10, 12, 13, 12, 10, 4, 1, 0, 0, 0, 0, 0],
}

ORTHO_REQUESTS = [
    "knee pain", "torn meniscus", "knee replacement consult", "hip pain", "hip replacement",
    "lower back pain and sciatica", "shoulder pain, maybe rotator cuff", "sprained ankle",
    "carpal tunnel", "arthritis in both knees", "sports injury", "torn acl", "joint pain",
]  # fmt: skip
SLEEP_REQUESTS = [
    "snoring", "sleep apnea", "sleep study", "cpap mask problems", "insomnia",
    "always tired during the day", "my husband says I stop breathing at night",
    "home sleep test", "restless legs",
]  # fmt: skip
URGENT = {
    "ortho": ["knee gave out and swelling getting worse", "can't put weight on my ankle"],
    "sleep": ["nodded off driving twice this week"],
}
EMERGENCY = ["sudden numbness in both legs after a fall", "back pain and loss of bladder control"]
UNRELATED = ["dentist", "botox", "weight loss program", "allergy shots", "eye exam"]
# What people tick under "when would you like to be seen?", and how often.
TIMEFRAMES = {
    None: 40, "in the next month": 25, "this week": 15, "just researching": 12,
    "as soon as possible": 8,
}  # fmt: skip

NEAR_ZIPS = [
    "60611", "60614", "60657", "60622", "60610", "60640", "60618", "60613", "60647", "60605",
    "60540", "60563", "60565", "60564", "60532", "60187", "60517", "60559", "60439", "60126",
]  # fmt: skip
FAR_ZIPS = ["61820", "62701", "46032", "53202", "61101"]
PLANS = [
    "Blue Cross Blue Shield", "Aetna", "UnitedHealthcare", "Cigna", "Medicare", "Humana",
    "Medicaid", None,
]  # fmt: skip
FIRST = [
    "Maria", "James", "Linda", "Robert", "Patricia", "Michael", "Jennifer", "David", "Elizabeth",
    "William", "Susan", "Carlos", "Jessica", "Daniel", "Sarah", "Jose", "Karen", "Thomas",
    "Nancy", "Luis", "Lisa", "Kevin", "Angela", "Brian", "Ashley", "Juan", "Michelle", "Tyrone",
    "Keisha", "Wei", "Priya", "Ahmed", "Fatima", "Olga", "Tomasz", "Grace", "Andre", "Rosa",
]  # fmt: skip
LAST = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore",
    "Jackson", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez",
    "Lewis", "Robinson", "Walker", "Young", "Nowak", "Kowalski", "Patel", "Kim", "Nguyen",
    "Okafor", "Cohen", "Murphy",
]  # fmt: skip
SPANISH_FIRST = {"Maria", "Carlos", "Jose", "Luis", "Juan", "Rosa"}
# Area codes of Illinois and its neighbours (773 left out: the README's sample lead uses it).
AREAS = ["312", "872", "630", "331", "708", "847", "224", "815", "779", "217"]
DOMAINS = ["example.com", "example.org", "example.net"]


@dataclass(frozen=True)
class Arrival:
    """One lead as its sender delivered it."""

    index: int
    received_at: dt.datetime  # UTC
    campaign: Campaign
    body: dict[str, Any]  # a canonical lead (app.leads.canonical.CanonicalLead)
    resubmitted_after: dt.timedelta | None  # the same person sent the form again
    rng_seed: str = field(repr=False)

    @property
    def source(self) -> str:
        return self.campaign.source


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _hour(rng: random.Random, kind: str) -> int:
    return rng.choices(range(24), weights=HOURS[kind])[0]


def _request(rng: random.Random, c: Campaign) -> tuple[str, str | None]:
    """(service text, urgency the sender chose): mostly the campaign's service."""
    roll = rng.random()
    if roll < 0.004:
        return rng.choice(EMERGENCY), None
    if roll < 0.06:
        return rng.choice(URGENT[c.service]), "urgent"
    if roll < 0.13 and c.source in ("meta_lead_ads", "google_ads_lead_form", "website"):
        return rng.choice(UNRELATED), None
    theme = c.service if rng.random() < 0.88 else ("sleep" if c.service == "ortho" else "ortho")
    return rng.choice(ORTHO_REQUESTS if theme == "ortho" else SLEEP_REQUESTS), None


def _person(rng: random.Random, index: int) -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    area = AREAS[index % len(AREAS)]
    number = 100 + index // len(AREAS)
    # Adults, mostly 35-75; a few teenagers (sports injuries, under a location's minimum age).
    roll = rng.random()
    age = (
        rng.randint(13, 17)
        if roll < 0.03
        else rng.randint(35, 75)
        if roll < 0.7
        else rng.randint(18, 85)
    )
    return {
        "first_name": first,
        "last_name": last,
        "phone": f"+1 {area}-555-{number:04d}",
        "email": f"{first}.{last}{index}@{rng.choice(DOMAINS)}".lower(),
        "age": age,
        "language": "es" if first in SPANISH_FIRST and rng.random() < 0.5 else None,
    }


def _body(rng: random.Random, c: Campaign, index: int, received: dt.datetime) -> dict[str, Any]:
    who = _person(rng, index)
    text, urgency = _request(rng, c)
    zip_code = rng.choice(FAR_ZIPS) if rng.random() < 0.05 else rng.choice(NEAR_ZIPS)
    born = received.date() - dt.timedelta(days=365 * who["age"] + rng.randint(0, 364))
    body: dict[str, Any] = {
        "first_name": who["first_name"],
        "last_name": who["last_name"],
        "phone": who["phone"],
        "postal_code": zip_code,
        "date_of_birth": born.isoformat(),
        "service": {"text": text},
        "external_id": f"demo-{index:05d}",
        "submitted_at": received.isoformat(),
    }
    if c.source != "call_tracking":
        body["email"] = who["email"]
    if urgency:
        body["urgency"] = urgency
    timeframe = rng.choices(list(TIMEFRAMES), weights=list(TIMEFRAMES.values()))[0]
    if timeframe:
        body["requested_timeframe"] = timeframe
    if who["language"]:
        body["language"] = who["language"]
    plan = rng.choice(PLANS)
    if plan and c.source not in ("call_tracking",):
        body["insurance"] = {"carrier": plan}
    body["new_patient"] = rng.random() < 0.9
    attribution: dict[str, Any] = {}
    if c.source == "website":
        attribution["source"] = "website"
    if c.name:
        attribution["campaign"] = c.name
    if attribution:
        body["attribution"] = attribution
    if c.source not in ("call_tracking", "partner"):
        checked = rng.random() < c.consent
        body["consent"] = {"checked": checked, "channels": ["voice", "sms"]}
    return body


def local_days(today: dt.date, days: int) -> list[dt.date]:
    """The history's days: `days` full days before today, then today (until now)."""
    return [today - dt.timedelta(days=n) for n in range(days, -1, -1)]


def arrivals(now: dt.datetime, time_zone: str, days: int = 90, seed: int = SEED) -> list[Arrival]:
    """Every lead of the history, in order of receipt, all received before `now`."""
    zone = ZoneInfo(time_zone)
    today = now.astimezone(zone).date()
    rng = random.Random(f"{seed}:arrivals:{today.isoformat()}")
    out: list[tuple[dt.datetime, Campaign, random.Random]] = []
    for day in local_days(today, days):
        weekend = day.isoweekday() >= 6
        for c in CAMPAIGNS:
            mean = c.weekday_leads * (c.weekend if weekend else 1.0)
            for _ in range(_poisson(rng, mean)):
                local = dt.datetime.combine(day, dt.time(_hour(rng, c.hours)), zone)
                at = local + dt.timedelta(seconds=rng.randint(0, 3599))
                if at < now:
                    out.append((at.astimezone(dt.UTC), c, random.Random(rng.random())))
    out.sort(key=lambda item: item[0])
    result = []
    for index, (at, c, own) in enumerate(out):
        resub = dt.timedelta(hours=own.uniform(1, 96)) if own.random() < 0.06 else None
        result.append(Arrival(index, at, c, _body(own, c, index, at), resub, f"{seed}:{index}"))
    return result


def spend(
    now: dt.datetime, time_zone: str, days: int = 90, seed: int = SEED
) -> list[dict[str, Any]]:
    """Daily spend per paid campaign (`source` is the demo source's kind until loaded), and
    one day of display spend imported under the label `google`."""
    today = now.astimezone(ZoneInfo(time_zone)).date()
    rng = random.Random(f"{seed}:spend:{today.isoformat()}")
    rows = []
    for day in local_days(today, days)[:-1]:
        weekend = day.isoweekday() >= 6
        for c in CAMPAIGNS:
            if c.daily_spend is None:
                continue
            factor = Decimal(str(round(rng.uniform(0.8, 1.15) * (0.7 if weekend else 1), 3)))
            amount = (c.daily_spend * factor).quantize(Decimal("0.01"))
            rows.append({"date": day, "source": c.source, "campaign": c.name or "",
                         "amount": amount})  # fmt: skip
    display_day = today - dt.timedelta(days=3)
    rows.append({"date": display_day, "source": "label:google", "campaign": "Display - retargeting",
                 "amount": Decimal("245.00")})  # fmt: skip
    return rows
