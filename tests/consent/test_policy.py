from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.consent.area_codes import phone_location
from app.consent.policy import (
    Channel,
    ChannelConsent,
    ConsentStatus,
    Direction,
    PastAttempt,
    PolicyDecision,
    PolicyLead,
    Purpose,
    Rule,
    evaluate,
)
from app.consent.rulebook import load_rulebook, parse_rulebook

ET = ZoneInfo("America/New_York")
CT = ZoneInfo("America/Chicago")
PT = ZoneInfo("America/Los_Angeles")

GRANTED = ChannelConsent(ConsentStatus.GRANTED)
ALL_CONSENT = {channel: GRANTED for channel in Channel}
VOICE_ONLY = {Channel.VOICE: GRANTED}

NY = PolicyLead("NY", "America/New_York", "+12125550100")
FL = PolicyLead("FL", "America/New_York", "+13055550100")
NY_ZIP_305 = PolicyLead("NY", "America/New_York", "+13055550100")
MD = PolicyLead("MD", "America/New_York", "+14105550100")
OK = PolicyLead("OK", "America/Chicago", "+14055550100")
KY = PolicyLead("KY", "America/Kentucky/Louisville", "+15025550100")
CT_LEAD = PolicyLead("CT", "America/New_York", "+12035550100")
AL = PolicyLead("AL", "America/Chicago", "+12055550100")
CA_ZIP_212 = PolicyLead("CA", "America/Los_Angeles", "+12125550100")
FL_ZIP_TOLL_FREE = PolicyLead("FL", "America/New_York", "+18005550100")
NY_ZIP_BAD_PHONE = PolicyLead("NY", "America/New_York", "+19995550100")
NOWHERE = PolicyLead()

# 2026-06-10 is a Wednesday, 2026-06-14 a Sunday.
WED = (2026, 6, 10)
SUN = (2026, 6, 14)


def at(zone: ZoneInfo, day: tuple[int, int, int], hour: int, minute: int = 0) -> datetime:
    return datetime(*day, hour, minute, tzinfo=zone)


def run(
    lead: PolicyLead,
    now: datetime,
    channel: Channel = Channel.VOICE,
    attempts: Sequence[PastAttempt] = (),
    **kwargs: object,
) -> PolicyDecision:
    kwargs.setdefault("consent", ALL_CONSENT)
    return evaluate(lead, channel, now, past_attempts=attempts, **kwargs)  # type: ignore[arg-type]


def voice_attempts(*times: datetime, channel: Channel = Channel.VOICE) -> list[PastAttempt]:
    return [PastAttempt(t, channel) for t in times]


@pytest.mark.parametrize(
    ("number", "state", "zone"),
    [
        ("+13055550100", "FL", "America/New_York"),
        ("+12125550100", "NY", "America/New_York"),
        ("+17735550100", "IL", "America/Chicago"),
        ("+14055550100", "OK", "America/Chicago"),
        ("+14105550100", "MD", "America/New_York"),
        ("+18005550100", None, None),
        ("+19995550100", None, None),
        ("not a number", None, None),
    ],
)
def test_area_code_gives_state_and_zone(number: str, state: str | None, zone: str | None) -> None:
    location = phone_location(number)
    assert location.state == state
    assert location.time_zones == ((zone,) if zone else ())


@pytest.mark.parametrize(
    ("case", "lead", "now", "channel", "allowed"),
    [
        ("federal 08:00 opens", NY, at(ET, WED, 8), Channel.VOICE, True),
        ("federal 07:59 closed", NY, at(ET, WED, 7, 59), Channel.VOICE, False),
        ("NY 20:59 open", NY, at(ET, WED, 20, 59), Channel.VOICE, True),
        ("NY 21:00 closed", NY, at(ET, WED, 21), Channel.VOICE, False),
        ("texts are calls", NY, at(ET, WED, 21), Channel.SMS, False),
        ("email has no window", NY, at(ET, WED, 23), Channel.EMAIL, True),
        ("FL 19:59 open", FL, at(ET, WED, 19, 59), Channel.VOICE, True),
        ("FL 20:00 closed", FL, at(ET, WED, 20), Channel.VOICE, False),
        ("OK 20:00 closed", OK, at(CT, WED, 20), Channel.VOICE, False),
        ("MD 20:00 closed", MD, at(ET, WED, 20), Channel.SMS, False),
        ("KY 09:59 closed", KY, at(ET, WED, 9, 59), Channel.VOICE, False),
        ("KY 10:00 open", KY, at(ET, WED, 10), Channel.VOICE, True),
        ("CT 08:30 closed", CT_LEAD, at(ET, WED, 8, 30), Channel.VOICE, False),
        ("AL Sunday closed", AL, at(CT, SUN, 12), Channel.VOICE, False),
        ("AL Wednesday open", AL, at(CT, WED, 12), Channel.VOICE, True),
        ("AL Independence Day", AL, at(CT, (2026, 7, 4), 12), Channel.VOICE, False),
        ("AL observed July 3", AL, at(CT, (2026, 7, 3), 12), Channel.VOICE, False),
        ("AL Thanksgiving", AL, at(CT, (2026, 11, 26), 12), Channel.SMS, False),
        ("NY Sunday open", NY, at(ET, SUN, 12), Channel.VOICE, True),
        ("305 with NY ZIP: FL 20:00", NY_ZIP_305, at(ET, WED, 20), Channel.VOICE, False),
        ("CA ZIP, 212 phone: 07:30 PT", CA_ZIP_212, at(PT, WED, 7, 30), Channel.VOICE, False),
        ("CA ZIP, 212 phone: 18:30 PT", CA_ZIP_212, at(PT, WED, 18, 30), Channel.VOICE, False),
        ("CA ZIP, 212 phone: 12:00 PT", CA_ZIP_212, at(PT, WED, 12), Channel.VOICE, True),
        ("toll-free phone, FL ZIP", FL_ZIP_TOLL_FREE, at(ET, WED, 20), Channel.VOICE, False),
        ("unknown area code, NY ZIP", NY_ZIP_BAD_PHONE, at(ET, WED, 20, 30), Channel.VOICE, True),
        ("no location: 10:00 ET is 07:00 PT", NOWHERE, at(ET, WED, 10), Channel.VOICE, False),
        ("no location: 13:00 ET", NOWHERE, at(ET, WED, 13), Channel.VOICE, True),
        ("DST spring-forward 07:59", NY, at(ET, (2026, 3, 8), 7, 59), Channel.VOICE, False),
        ("DST spring-forward 08:00", NY, at(ET, (2026, 3, 8), 8), Channel.VOICE, True),
        ("DST fall-back 20:59", NY, at(ET, (2026, 11, 1), 20, 59), Channel.VOICE, True),
    ],
)
def test_calling_hours(
    case: str, lead: PolicyLead, now: datetime, channel: Channel, allowed: bool
) -> None:
    decision = run(lead, now, channel)
    assert decision.allowed is allowed, (case, decision.reasons)
    if not allowed:
        assert decision.problem_type is Rule.CALLING_HOURS
        assert decision.next_allowed_at is not None
        assert decision.next_allowed_at > now
    else:
        assert decision.next_allowed_at == now


@pytest.mark.parametrize(
    ("case", "lead", "now", "expected"),
    [
        ("NY after close", NY, at(ET, WED, 21, 30), at(ET, (2026, 6, 11), 8)),
        ("NY before open", NY, at(ET, WED, 6), at(ET, WED, 8)),
        ("FL at close", FL, at(ET, WED, 20), at(ET, (2026, 6, 11), 8)),
        ("KY before 10", KY, at(ET, WED, 9, 59), at(ET, WED, 10)),
        ("strictest zone opens last", CA_ZIP_212, at(PT, WED, 7, 30), at(PT, WED, 8)),
        ("NY closes first", CA_ZIP_212, at(PT, WED, 18, 30), at(PT, (2026, 6, 11), 8)),
        ("AL Sunday to Monday", AL, at(CT, SUN, 12), at(CT, (2026, 6, 15), 8)),
        ("AL Saturday night", AL, at(CT, (2026, 6, 13), 21, 30), at(CT, (2026, 6, 15), 8)),
        ("AL holiday weekend", AL, at(CT, (2026, 7, 3), 9), at(CT, (2026, 7, 6), 8)),
        # Unknown state: every state rule applies, so KY's 10:00 in the western zone.
        ("no location", NOWHERE, at(ET, WED, 21), at(PT, (2026, 6, 11), 10)),
        ("spring forward", NY, at(ET, (2026, 3, 8), 1, 30), at(ET, (2026, 3, 8), 8)),
        ("fall back", NY, at(ET, (2026, 10, 31), 22), at(ET, (2026, 11, 1), 8)),
    ],
)
def test_next_allowed_after_calling_hours(
    case: str, lead: PolicyLead, now: datetime, expected: datetime
) -> None:
    decision = run(lead, now)
    assert not decision.allowed, case
    assert decision.next_allowed_at == expected, case


def test_dst_next_allowed_is_in_the_new_offset() -> None:
    spring = run(NY, at(ET, (2026, 3, 8), 1, 30)).next_allowed_at
    fall = run(NY, at(ET, (2026, 10, 31), 22)).next_allowed_at
    assert spring == datetime(2026, 3, 8, 12, tzinfo=UTC)  # 08:00 EDT
    assert fall == datetime(2026, 11, 1, 13, tzinfo=UTC)  # 08:00 EST


FL_DAY1 = [at(ET, WED, 9), at(ET, WED, 12), at(ET, WED, 15)]


@pytest.mark.parametrize(
    ("case", "lead", "channel", "attempts", "now", "allowed"),
    [
        ("FL 3rd attempt", FL, Channel.VOICE, voice_attempts(*FL_DAY1[:2]), at(ET, WED, 18), True),
        ("FL 4th attempt", FL, Channel.VOICE, voice_attempts(*FL_DAY1), at(ET, WED, 18), False),
        (
            "FL 4th, 24 h after the first",
            FL,
            Channel.VOICE,
            voice_attempts(*FL_DAY1),
            at(ET, (2026, 6, 11), 9),
            True,
        ),
        # Fla. Stat. 501.059(1)(j): a text is a call under Florida's cap.
        (
            "FL cap counts texts after three calls",
            FL,
            Channel.SMS,
            voice_attempts(*FL_DAY1),
            at(ET, WED, 18),
            False,
        ),
        (
            "FL cap counts calls after three texts",
            FL,
            Channel.VOICE,
            voice_attempts(*FL_DAY1, channel=Channel.SMS),
            at(ET, WED, 18),
            False,
        ),
        (
            "FL third text after two calls",
            FL,
            Channel.SMS,
            [*voice_attempts(*FL_DAY1[:1]), *voice_attempts(FL_DAY1[1], channel=Channel.SMS)],
            at(ET, WED, 18),
            True,
        ),
        (
            "OK cap counts calls only",
            OK,
            Channel.SMS,
            voice_attempts(*FL_DAY1),
            at(ET, WED, 18),
            True,
        ),
        ("OK 4th attempt", OK, Channel.VOICE, voice_attempts(*FL_DAY1), at(ET, WED, 18), False),
        ("NY has no cap", NY, Channel.VOICE, voice_attempts(*FL_DAY1), at(ET, WED, 18), True),
        (
            "MD counts calls and texts",
            MD,
            Channel.SMS,
            [*voice_attempts(*FL_DAY1[:2]), *voice_attempts(FL_DAY1[2], channel=Channel.SMS)],
            at(ET, WED, 18),
            False,
        ),
        (
            "inbound calls are not attempts",
            FL,
            Channel.VOICE,
            [PastAttempt(t, Channel.VOICE, Direction.INBOUND) for t in FL_DAY1],
            at(ET, WED, 18),
            True,
        ),
        (
            "305 with NY ZIP gets FL's cap",
            NY_ZIP_305,
            Channel.VOICE,
            voice_attempts(*FL_DAY1),
            at(ET, WED, 18),
            False,
        ),
    ],
)
def test_attempt_caps(
    case: str,
    lead: PolicyLead,
    channel: Channel,
    attempts: list[PastAttempt],
    now: datetime,
    allowed: bool,
) -> None:
    decision = run(lead, now, channel, attempts)
    assert decision.allowed is allowed, (case, decision.reasons)
    if not allowed:
        assert decision.problem_type is Rule.ATTEMPT_CAP
        assert decision.next_allowed_at == FL_DAY1[0] + timedelta(hours=24)


def test_cap_expiring_after_close_waits_for_the_next_window() -> None:
    late = at(ET, WED, 20, 30)  # made while the lead was thought to be elsewhere
    attempts = voice_attempts(late, at(ET, (2026, 6, 11), 12), at(ET, (2026, 6, 11), 13))
    decision = run(FL, at(ET, (2026, 6, 11), 19), attempts=attempts)
    assert decision.problem_type is Rule.ATTEMPT_CAP
    assert decision.next_allowed_at == at(ET, (2026, 6, 12), 8)


def test_305_with_new_york_zip_applies_florida_hours_and_cap() -> None:
    decision = run(NY_ZIP_305, at(ET, WED, 20, 30), attempts=voice_attempts(*FL_DAY1))
    assert decision.applied == ("US", "FL")
    assert decision.located_in == ("FL", "NY")
    assert [(v.rule, v.jurisdiction) for v in decision.reasons] == [
        (Rule.ATTEMPT_CAP, "FL"),
        (Rule.CALLING_HOURS, "FL"),
    ]
    assert decision.next_allowed_at == at(ET, (2026, 6, 11), 9)
    assert "501.616" in decision.reasons[0].source


@pytest.mark.parametrize(
    ("case", "channel", "consent", "suppressed", "rule"),
    [
        ("no SMS consent", Channel.SMS, VOICE_ONLY, frozenset(), Rule.NO_CONSENT),
        ("voice consented", Channel.VOICE, VOICE_ONLY, frozenset(), None),
        (
            "denied",
            Channel.VOICE,
            {Channel.VOICE: ChannelConsent(ConsentStatus.DENIED)},
            frozenset(),
            Rule.NO_CONSENT,
        ),
        (
            "revoked voice",
            Channel.VOICE,
            {Channel.VOICE: ChannelConsent(ConsentStatus.GRANTED, at(ET, WED, 9))},
            frozenset(),
            Rule.REVOKED,
        ),
        ("suppressed", Channel.SMS, ALL_CONSENT, frozenset({Channel.SMS}), Rule.REVOKED),
        ("email needs consent too", Channel.EMAIL, VOICE_ONLY, frozenset(), Rule.NO_CONSENT),
    ],
)
def test_consent(
    case: str,
    channel: Channel,
    consent: dict[Channel, ChannelConsent],
    suppressed: frozenset[Channel],
    rule: Rule | None,
) -> None:
    decision = run(NY, at(ET, WED, 12), channel, consent=consent, suppressed=suppressed)
    assert decision.problem_type is rule, case
    assert decision.allowed is (rule is None)
    assert decision.next_allowed_at == (at(ET, WED, 12) if rule is None else None)


def test_every_reason_is_listed_most_decisive_first() -> None:
    consent = {Channel.VOICE: ChannelConsent(ConsentStatus.GRANTED, at(ET, WED, 8))}
    decision = run(
        FL,
        at(ET, WED, 21, 30),
        attempts=voice_attempts(*FL_DAY1),
        consent=consent,
        suppressed=frozenset({Channel.VOICE}),
    )
    assert [(v.rule, v.jurisdiction) for v in decision.reasons] == [
        (Rule.REVOKED, "US"),
        (Rule.REVOKED, "US"),
        (Rule.ATTEMPT_CAP, "FL"),
        (Rule.CALLING_HOURS, "US"),
        (Rule.CALLING_HOURS, "FL"),
    ]
    assert decision.next_allowed_at is None
    assert all(v.source for v in decision.reasons)

    unknown = run(FL, at(ET, WED, 20, 30), attempts=voice_attempts(*FL_DAY1), consent={})
    assert [v.rule for v in unknown.reasons] == [
        Rule.NO_CONSENT,
        Rule.ATTEMPT_CAP,
        Rule.CALLING_HOURS,
    ]


@pytest.mark.parametrize("channel", list(Channel))
def test_inbound_is_always_allowed(channel: Channel) -> None:
    revoked = ChannelConsent(ConsentStatus.DENIED, at(ET, SUN, 1))
    decision = run(
        AL,
        at(CT, SUN, 23),
        channel,
        voice_attempts(*FL_DAY1),
        direction=Direction.INBOUND,
        consent={channel: revoked},
        suppressed=frozenset(Channel),
    )
    assert decision.allowed
    assert decision.reasons == ()


STOP_AT = at(ET, WED, 23)
SMS_REVOKED = {Channel.SMS: ChannelConsent(ConsentStatus.GRANTED, STOP_AT)}
CONFIRMATION = PastAttempt(
    STOP_AT + timedelta(minutes=1), Channel.SMS, purpose=Purpose.OPT_OUT_CONFIRMATION
)


@pytest.mark.parametrize(
    ("case", "now", "attempts", "allowed"),
    [
        ("within 5 minutes, at night", STOP_AT + timedelta(minutes=5), [], True),
        ("after 5 minutes", STOP_AT + timedelta(minutes=6), [], False),
        ("only one", STOP_AT + timedelta(minutes=2), [CONFIRMATION], False),
    ],
)
def test_one_opt_out_confirmation_text(
    case: str, now: datetime, attempts: list[PastAttempt], allowed: bool
) -> None:
    decision = run(
        NY, now, Channel.SMS, attempts, consent=SMS_REVOKED, purpose=Purpose.OPT_OUT_CONFIRMATION
    )
    assert decision.allowed is allowed, case
    if not allowed:
        assert decision.problem_type is Rule.REVOKED


def test_decision_records_rule_version_and_zones() -> None:
    decision = run(CA_ZIP_212, at(PT, WED, 12))
    assert decision.rules_version == load_rulebook().version == "2026-12-04.1"
    assert decision.time_zones == ("America/Los_Angeles", "America/New_York")
    assert run(NOWHERE, at(ET, WED, 13)).time_zones == ("America/New_York", "America/Los_Angeles")


def test_naive_time_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run(NY, datetime(2026, 6, 10, 12))


def test_lead_from_zip_and_phone() -> None:
    lead = PolicyLead.from_contact("40202", "+15025550100")
    assert lead == PolicyLead("KY", "America/Kentucky/Louisville", "+15025550100")
    assert PolicyLead.from_contact("abc", None) == PolicyLead()


def test_shipped_rulebook() -> None:
    rules = load_rulebook()
    assert rules.federal.window is not None
    assert (rules.federal.window.start.hour, rules.federal.window.end.hour) == (8, 21)
    for code in ("FL", "OK", "MD"):
        assert rules.states[code].max_attempts_24h == 3
    assert rules.states["MD"].attempt_channels == {Channel.VOICE, Channel.SMS}
    assert all(rule.source for rule in rules.states.values())
    assert {"AL", "LA", "MS"} <= {c for c, r in rules.states.items() if r.no_sunday}


GOOD_STATE = '"window": ["08:00", "20:00"], "source": "s", "secondary": false'


@pytest.mark.parametrize(
    "state",
    [
        '{"window": ["20:00", "08:00"], "source": "s", "secondary": false}',
        '{"window": ["08:00", "20:00"], "secondary": false}',
        "{" + GOOD_STATE + ', "max_attempts_24h": 3}',
        "{" + GOOD_STATE + ', "holidays": "nope"}',
        "{" + GOOD_STATE + ', "typo": 1}',
    ],
)
def test_malformed_rules_are_rejected(state: str) -> None:
    text = (
        '{"version": "x", "federal": {"window": ["08:00", "21:00"], "source": "f",'
        f' "secondary": false}}, "states": {{"FL": {state}}}}}'
    )
    with pytest.raises(ValueError):
        parse_rulebook(text)
    parse_rulebook(text.replace(state, "{" + GOOD_STATE + "}"))
