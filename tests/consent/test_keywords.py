import pytest

from app.consent.keywords import parse_revocation
from app.consent.rulebook import Channel

SMS_ONLY = frozenset({Channel.SMS})
EVERY_CHANNEL = frozenset(Channel)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", "STOP"),
        ("stop", "STOP"),
        ("  Stop  ", "STOP"),
        ("Stop.", "STOP"),
        ("STOP!!", "STOP"),
        ("\u201cStop\u201d", "STOP"),
        ("\uff33\uff34\uff2f\uff30", "STOP"),  # full-width letters
        ("STOPALL", "STOPALL"),
        ("stop all", "STOPALL"),
        ("Unsubscribe", "UNSUBSCRIBE"),
        ("cancel", "CANCEL"),
        ("END", "END"),
        ("quit\n", "QUIT"),
        ("Revoke", "REVOKE"),
        ("OPT OUT", "OPT OUT"),
        ("opt-out", "OPT OUT"),
        ("OptOut", "OPT OUT"),
        ("opt   out.", "OPT OUT"),
    ],
)
def test_keyword_only_replies_are_revocations(text: str, keyword: str) -> None:
    match = parse_revocation(text)
    assert match is not None
    assert match.keyword == keyword
    assert match.via == "sms-keyword"


@pytest.mark.parametrize(
    ("text", "channels"),
    [("STOP", SMS_ONLY), ("cancel", SMS_ONLY), ("STOPALL", EVERY_CHANNEL)],
)
def test_stopall_revokes_every_channel_others_only_sms(
    text: str, channels: frozenset[Channel]
) -> None:
    match = parse_revocation(text)
    assert match is not None
    assert match.channels == channels


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "stop by tomorrow",
        "don't stop calling",
        "please call me",
        "stopp",
        "the end",
        "yes",
        "STOP STOP",
        "cancel my appointment",
        "stop " * 30,
    ],
)
def test_other_messages_are_not_keyword_replies(text: str) -> None:
    assert parse_revocation(text) is None
