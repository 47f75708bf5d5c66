"""The contact policy: may we contact this lead on this channel now, and if not, when?

A pure function over plain data (no session, no clock, no I/O) so that the
outreach service, the dialer queue and the tests all get the same answer.

Where the lead is comes from two signals, the ZIP and the phone's area code.
They can disagree (people move and keep their numbers), so every state and
every zone either points to is applied and the contact must pass all of them:
the stricter rule wins (checklist 9, 10). With no usable signal at all the
policy assumes the worst: the window must hold in both Eastern and Pacific
time, and every state rule in the rulebook applies.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.consent.area_codes import PhoneLocation, phone_location, valid_zone, zip_location
from app.consent.rulebook import (
    ALL_RULES,
    TIMED_CHANNELS,
    Channel,
    HealthcareExemption,
    JurisdictionRule,
    PurposeRule,
    Rulebook,
    load_rulebook,
)

__all__ = [
    "Channel",
    "ChannelConsent",
    "ConsentStatus",
    "Direction",
    "PastAttempt",
    "PolicyDecision",
    "PolicyLead",
    "Purpose",
    "Rule",
    "Violation",
    "consent_allows",
    "evaluate",
]

FALLBACK_ZONES = ("America/New_York", "America/Los_Angeles")
CAP_PERIOD = timedelta(hours=24)
WEEK = timedelta(days=7)
# 47 CFR 64.1200(a)(12): one confirmation text within 5 minutes is presumed compliant.
CONFIRMATION_PERIOD = timedelta(minutes=5)
_MAX_STEPS = 64

_REVOKED_SOURCE = "47 CFR 64.1200(a)(10), (a)(12); FCC 24-24, 89 FR 15756 (5 Mar 2024)"
_CONSENT_SOURCE = "47 CFR 64.1200(a)(2), (f)(9) (prior express written consent)"


class Direction(StrEnum):
    OUTBOUND = "outbound"
    INBOUND = "inbound"


class ConsentStatus(StrEnum):
    GRANTED = "granted"
    # Ticked, but the evidence misses a piece (app.consent.levels): no written consent.
    INCOMPLETE = "incomplete"
    DENIED = "denied"
    UNKNOWN = "unknown"


class Purpose(StrEnum):
    MARKETING = "marketing"
    SCHEDULING = "scheduling"
    # A callback to a person who reported an emergency: not a solicitation (the rule file).
    EMERGENCY_CALLBACK = "emergency-callback"
    OPT_OUT_CONFIRMATION = "opt-out-confirmation"


class Rule(StrEnum):
    """Problem `type` suffixes, in order of how decisive they are."""

    REVOKED = "revoked"
    NO_CONSENT = "no-consent"
    CONSENT_UNVERIFIED = "consent-unverified"
    ATTEMPT_CAP = "attempt-cap"
    CALLING_HOURS = "calling-hours"


_RULE_ORDER = {rule: i for i, rule in enumerate(Rule)}


@dataclass(frozen=True, slots=True)
class PolicyLead:
    """Where the lead is, as far as the ZIP and the phone number tell."""

    zip_state: str | None = None
    zip_time_zone: str | None = None
    phone_e164: str | None = None

    @classmethod
    def from_contact(cls, zip_code: str | None, phone_e164: str | None) -> PolicyLead:
        state, zone = zip_location(zip_code) if zip_code else (None, None)
        return cls(zip_state=state, zip_time_zone=zone, phone_e164=phone_e164)


@dataclass(frozen=True, slots=True)
class ChannelConsent:
    """Consent for one channel; `revoked_at` is the revocation currently in force."""

    status: ConsentStatus = ConsentStatus.UNKNOWN
    revoked_at: datetime | None = None
    # The consent's certificate or token did not verify: the grant proves nothing.
    unverified: bool = False
    # What the evidence lacks when INCOMPLETE (codes of app.consent.levels).
    missing: tuple[str, ...] = ()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def express(self) -> bool:
        """Ticked under wording we hold, without all of written consent's evidence: what a
        scheduling call or text may rest on under the healthcare exemption."""
        return self.status is ConsentStatus.INCOMPLETE and "disclosure" not in self.missing


@dataclass(frozen=True, slots=True)
class PastAttempt:
    at: datetime
    channel: Channel
    direction: Direction = Direction.OUTBOUND
    purpose: Purpose = Purpose.MARKETING


@dataclass(frozen=True, slots=True)
class Violation:
    rule: Rule
    jurisdiction: str
    message: str  # never holds PHI: it may reach problem+json `detail`
    source: str


@dataclass(frozen=True, slots=True)
class PolicyDecision:
    allowed: bool
    reasons: tuple[Violation, ...]
    # None: waiting will not help (revoked, no consent, or no common window).
    next_allowed_at: datetime | None
    applied: tuple[str, ...]
    located_in: tuple[str, ...]
    time_zones: tuple[str, ...]
    rules_version: str
    # What the consent evidence lacks, when that is why written consent is missing.
    missing_evidence: tuple[str, ...] = ()
    # What an allowed contact rests on: written_consent, healthcare_exemption, inbound,
    # opt_out_confirmation. None when refused.
    basis: str | None = None

    @property
    def problem_type(self) -> Rule | None:
        return self.reasons[0].rule if self.reasons else None


@dataclass(frozen=True, slots=True)
class _Place:
    states: tuple[str, ...]
    zones: tuple[str, ...]
    rules: tuple[JurisdictionRule, ...]


@dataclass(frozen=True, slots=True)
class _Block:
    violation: Violation
    constraint: str  # window | sunday | holiday | cap: one reason per kind and jurisdiction
    release: datetime  # earliest instant at which this one constraint passes


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return value.astimezone(UTC)


def _locate(lead: PolicyLead, rules: Rulebook) -> _Place:
    phone = phone_location(lead.phone_e164) if lead.phone_e164 else PhoneLocation(None, ())
    states = tuple(sorted({s.upper() for s in (lead.zip_state, phone.state) if s}))
    zip_zone = valid_zone(lead.zip_time_zone)
    zones = tuple(sorted({z for z in (zip_zone, *phone.time_zones) if z})) or FALLBACK_ZONES
    if states:
        state_rules = [rules.states[s] for s in states if s in rules.states]
    else:
        state_rules = [rules.states[s] for s in sorted(rules.states)]
    return _Place(states, zones, (rules.federal, *state_rules))


def _next_local(t: datetime, zone: ZoneInfo, at: time) -> datetime:
    """The first instant after t (or t's day, if `at` is still ahead) at local `at`."""
    local = t.astimezone(zone)
    day = local.date() if local.time() < at else local.date() + timedelta(days=1)
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _hour_blocks(rule: JurisdictionRule, zones: Iterable[str], t: datetime) -> list[_Block]:
    blocks: list[_Block] = []
    for name in zones:
        zone = ZoneInfo(name)
        local = t.astimezone(zone)
        if rule.no_sunday and local.weekday() == 6:
            text = f"{rule.code} forbids calls on Sunday ({name})"
            blocks.append(_block("sunday", rule, text, _next_local(t, zone, time(0))))
        if rule.is_holiday(local.date()):
            text = f"{rule.code} forbids calls on holidays ({local.date()}, {name})"
            blocks.append(_block("holiday", rule, text, _next_local(t, zone, time(0))))
        window = rule.window
        if window is not None and not window.start <= local.time() < window.end:
            text = (
                f"{rule.code} allows calls {window.start:%H:%M}-{window.end:%H:%M} local time;"
                f" it is {local:%H:%M} in {name}"
            )
            blocks.append(_block("window", rule, text, _next_local(t, zone, window.start)))
    return blocks


def _cap_block(
    rule: JurisdictionRule, channel: Channel, t: datetime, attempts: Sequence[PastAttempt]
) -> _Block | None:
    cap = rule.max_attempts_24h
    if cap is None or channel not in rule.attempt_channels:
        return None
    counted = sorted(
        (
            a.at
            for a in attempts
            if a.direction is Direction.OUTBOUND
            # The caps count calls "on the same subject": not these two.
            and a.purpose not in (Purpose.OPT_OUT_CONFIRMATION, Purpose.EMERGENCY_CALLBACK)
            and a.channel in rule.attempt_channels
            and t - CAP_PERIOD < a.at <= t
        ),
        reverse=True,
    )
    if len(counted) < cap:
        return None
    kinds = "/".join(sorted(rule.attempt_channels))
    text = f"{rule.code} allows {cap} {kinds} attempts per 24 h; {len(counted)} already made"
    # The window empties enough once the cap-th most recent attempt is 24 h old.
    return _block("cap", rule, text, counted[cap - 1] + CAP_PERIOD)


def _block(constraint: str, rule: JurisdictionRule, text: str, release: datetime) -> _Block:
    kind = Rule.ATTEMPT_CAP if constraint == "cap" else Rule.CALLING_HOURS
    return _Block(Violation(kind, rule.code, text, rule.source), constraint, release)


def _exemption_blocks(
    exemption: HealthcareExemption, channel: Channel, t: datetime, attempts: Sequence[PastAttempt]
) -> list[_Block]:
    """The healthcare exemption's own limits: so many calls and texts a day and a week."""
    if channel not in exemption.channels:
        return []
    counted = sorted(
        (
            a.at
            for a in attempts
            if a.direction is Direction.OUTBOUND
            and a.purpose is Purpose.SCHEDULING
            and a.channel in exemption.channels
            and a.at <= t
        ),
        reverse=True,
    )
    blocks: list[_Block] = []
    for cap, period, label in (
        (exemption.max_per_day, CAP_PERIOD, "a day"),
        (exemption.max_per_week, WEEK, "a week"),
    ):
        recent = [at for at in counted if t - period < at]
        if len(recent) >= cap:
            text = (
                f"without written consent, the healthcare exemption allows {cap} call or text"
                f" {label}; {len(recent)} already made"
            )
            violation = Violation(Rule.ATTEMPT_CAP, "US", text, exemption.source)
            blocks.append(_Block(violation, f"exemption-{label}", recent[cap - 1] + period))
    return blocks


def _time_blocks(
    place: _Place,
    channel: Channel,
    t: datetime,
    attempts: Sequence[PastAttempt],
    exemption: HealthcareExemption | None = None,
    binding: PurposeRule = ALL_RULES,
) -> list[_Block]:
    blocks: list[_Block] = []
    if exemption is not None:
        blocks.extend(_exemption_blocks(exemption, channel, t, attempts))
    for rule in place.rules:
        cap = _cap_block(rule, channel, t, attempts) if binding.attempt_caps else None
        if cap is not None:
            blocks.append(cap)
        if channel in TIMED_CHANNELS and binding.calling_hours:
            blocks.extend(_hour_blocks(rule, place.zones, t))
    return blocks


def _next_allowed(
    place: _Place,
    channel: Channel,
    now: datetime,
    attempts: Sequence[PastAttempt],
    exemption: HealthcareExemption | None = None,
    binding: PurposeRule = ALL_RULES,
) -> datetime | None:
    """Step to the latest release among current blocks until nothing blocks.

    Each block's release is a lower bound for any allowed instant, so jumping
    to the largest one never skips a valid time. Windows that never overlap
    (zones half a day apart) keep bouncing; the step limit turns that into None.
    """
    t = now
    for _ in range(_MAX_STEPS):
        blocks = _time_blocks(place, channel, t, attempts, exemption, binding)
        if not blocks:
            return t
        t = max(b.release for b in blocks)
    return None


def _confirmation_allowed(
    consent: ChannelConsent, now: datetime, attempts: Sequence[PastAttempt]
) -> bool:
    if consent.revoked_at is None:
        return False
    revoked_at = _aware(consent.revoked_at, "revoked_at")
    if not revoked_at <= now <= revoked_at + CONFIRMATION_PERIOD:
        return False
    return not any(
        a.purpose is Purpose.OPT_OUT_CONFIRMATION
        and a.direction is Direction.OUTBOUND
        and a.channel is Channel.SMS
        and a.at >= revoked_at
        for a in attempts
    )


def _exempt(
    channel: Channel, consent: ChannelConsent, purpose: Purpose, rules: Rulebook
) -> HealthcareExemption | None:
    """The exemption, when a scheduling contact rests on it (ticked, evidence incomplete)."""
    exemption = rules.healthcare_exemption
    if exemption is None or purpose is not Purpose.SCHEDULING or consent.revoked:
        return None
    if consent.express and channel in exemption.channels:
        return exemption
    return None


def _consent_violations(
    channel: Channel,
    consent: ChannelConsent,
    suppressed: frozenset[Channel],
    purpose: Purpose,
    exempt: bool,
    needs_consent: bool = True,
) -> list[Violation]:
    found: list[Violation] = []
    if consent.revoked:
        found.append(Violation(Rule.REVOKED, "US", f"{channel} consent revoked", _REVOKED_SOURCE))
    if channel in suppressed:
        text = f"{channel} to this number is suppressed"
        found.append(Violation(Rule.REVOKED, "US", text, _REVOKED_SOURCE))
    # A revocation supersedes whatever status it revoked.
    if consent.revoked or not needs_consent:
        return found
    if consent.status is ConsentStatus.GRANTED or exempt:
        if consent.unverified:
            text = f"the {channel} consent's certificate did not verify"
            found.append(Violation(Rule.CONSENT_UNVERIFIED, "US", text, _CONSENT_SOURCE))
        return found
    if consent.missing:
        on_record = "lacks" if consent.status is ConsentStatus.INCOMPLETE else "on record lacks"
        text = (
            f"no written {channel} consent for {purpose}: the evidence {on_record}"
            f" {', '.join(consent.missing)}"
        )
    else:
        text = f"no {channel} consent on record ({consent.status})"
    found.append(Violation(Rule.NO_CONSENT, "US", text, _CONSENT_SOURCE))
    return found


def consent_allows(
    channel: Channel,
    consent: ChannelConsent,
    suppressed: frozenset[Channel],
    purpose: Purpose = Purpose.MARKETING,
    rules: Rulebook | None = None,
) -> bool:
    """Whether the consent on record alone lets outbound contact on `channel` for `purpose`
    through (calling hours and attempt caps aside): what decides if a lead is in a queue."""
    rules = rules if rules is not None else load_rulebook()
    exempt = _exempt(channel, consent, purpose, rules) is not None
    needs = rules.purpose(purpose.value).needs_consent
    return not _consent_violations(channel, consent, suppressed, purpose, exempt, needs)


def _decision(
    place: _Place,
    rules: Rulebook,
    reasons: Sequence[Violation],
    next_allowed_at: datetime | None,
    *,
    basis: str | None = None,
    missing: tuple[str, ...] = (),
) -> PolicyDecision:
    ordered = sorted(reasons, key=lambda v: (_RULE_ORDER[v.rule], v.jurisdiction != "US"))
    return PolicyDecision(
        allowed=not ordered,
        reasons=tuple(ordered),
        next_allowed_at=next_allowed_at,
        applied=tuple(r.code for r in place.rules),
        located_in=place.states,
        time_zones=place.zones,
        rules_version=rules.version,
        missing_evidence=missing,
        basis=None if ordered else basis,
    )


def evaluate(
    lead: PolicyLead,
    channel: Channel,
    now: datetime,
    *,
    direction: Direction = Direction.OUTBOUND,
    consent: Mapping[Channel, ChannelConsent] | None = None,
    suppressed: frozenset[Channel] = frozenset(),
    past_attempts: Sequence[PastAttempt] = (),
    purpose: Purpose = Purpose.MARKETING,
    rules: Rulebook | None = None,
) -> PolicyDecision:
    """Decide one contact attempt; every reason is listed, the most decisive first.

    Inbound contact (the person reached us) is always allowed. An outbound
    opt-out confirmation text is allowed once, within 5 minutes of the SMS
    revocation, at any hour. An emergency callback (the rule file's `purposes`)
    is refused only by a revocation or suppression: it needs no consent and no
    calling hours or caps bind it. Everything else needs consent on the channel
    and must pass the windows, day rules and attempt caps of every jurisdiction:
    written consent (complete evidence), or, for a scheduling call or text the
    person asked for under wording we hold, the healthcare exemption and its
    own daily and weekly limits.
    """
    rules = rules if rules is not None else load_rulebook()
    now = _aware(now, "now")
    attempts = [
        PastAttempt(_aware(a.at, "attempt time"), a.channel, a.direction, a.purpose)
        for a in past_attempts
    ]
    place = _locate(lead, rules)
    if direction is Direction.INBOUND:
        return _decision(place, rules, (), now, basis="inbound")
    channel_consent = (consent or {}).get(channel, ChannelConsent())
    confirming = purpose is Purpose.OPT_OUT_CONFIRMATION and channel is Channel.SMS
    if confirming and _confirmation_allowed(channel_consent, now, attempts):
        return _decision(place, rules, (), now, basis="opt_out_confirmation")
    binding = rules.purpose(purpose.value)
    exemption = _exempt(channel, channel_consent, purpose, rules)
    consent_reasons = _consent_violations(
        channel, channel_consent, suppressed, purpose, exemption is not None,
        binding.needs_consent,
    )  # fmt: skip
    missing = channel_consent.missing if consent_reasons and not channel_consent.revoked else ()
    basis = "healthcare_exemption" if exemption is not None else "written_consent"
    if not binding.needs_consent:
        basis = purpose.value.replace("-", "_")
    blocks = _time_blocks(place, channel, now, attempts, exemption, binding)
    reasons = [*consent_reasons, *_first_per_constraint(blocks)]
    if consent_reasons:
        return _decision(place, rules, reasons, None, missing=missing)
    if not reasons:
        return _decision(place, rules, (), now, basis=basis)
    after = _next_allowed(place, channel, now, attempts, exemption, binding)
    return _decision(place, rules, reasons, after, basis=basis)


def _first_per_constraint(blocks: Iterable[_Block]) -> list[Violation]:
    """When several zones fail the same constraint, the first one says enough."""
    seen: dict[tuple[str, str], Violation] = {}
    for block in blocks:
        seen.setdefault((block.violation.jurisdiction, block.constraint), block.violation)
    return list(seen.values())
