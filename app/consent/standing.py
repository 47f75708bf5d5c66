"""What the consent on record allows, per channel and purpose: one pure derivation read by
the contact policy, the pull queue, the SLA sweep and the consent summaries.

A channel on the lead's do-not-contact list (or the suppression list) stays blocked for a
purpose until an explicit grant for exactly that channel and purpose is recorded after the
revocation (`POST /v1/consent/grants`); a later revocation blocks it again. Nothing else
lifts a suppression.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from app.consent.levels import DISCLOSURE, PIECES
from app.consent.models import CHANNELS, ConsentEvent
from app.consent.policy import Channel, ChannelConsent, ConsentStatus, Purpose, consent_allows

# The purposes a lead can be contacted for on its own consent (the opt-out confirmation
# text answers a revocation, it is not a reason to contact anyone).
CONTACT_PURPOSES = (Purpose.SCHEDULING, Purpose.MARKETING)
GRANT_ORIGIN = "grant"

Current = Mapping[str, Mapping[str, ConsentEvent]]
Lifted = frozenset[tuple[str, str]]


def lifted_pairs(events: Iterable[ConsentEvent]) -> Lifted:
    """(channel, purpose) pairs whose suppression an explicit grant has lifted: the grant
    stands until a later revocation of that channel and purpose, whatever comes between
    (a form's consent on a new submission neither lifts nor re-blocks)."""
    lifted: set[tuple[str, str]] = set()
    for event in sorted(events, key=lambda e: (e.captured_at, e.decision == "revoked")):
        pair = (event.channel, event.purpose)
        if event.decision == "revoked":
            lifted.discard(pair)
        elif event.origin == GRANT_ORIGIN and event.decision == "granted":
            lifted.add(pair)
    return frozenset(lifted)


def suppressed_for(blocked: Iterable[str], purpose: Purpose, lifted: Lifted) -> frozenset[Channel]:
    """The blocked channels that stay blocked for `purpose`."""
    return frozenset(
        Channel(name)
        for name in blocked
        if name in CHANNELS and (name, purpose.value) not in lifted
    )


def channel_consent(event: ConsentEvent | None) -> ChannelConsent:
    if event is None:
        return ChannelConsent()
    statuses = {
        "granted": ConsentStatus.GRANTED,
        "incomplete": ConsentStatus.INCOMPLETE,
        "denied": ConsentStatus.DENIED,
    }
    missing: tuple[str, ...] = ()
    if event.decision == "incomplete":
        # Before evidence levels, only a missing disclosure made an event incomplete.
        missing = tuple(event.missing) if event.missing is not None else (DISCLOSURE,)
    return ChannelConsent(
        status=statuses.get(event.decision, ConsentStatus.UNKNOWN),
        revoked_at=event.captured_at if event.decision == "revoked" else None,
        missing=missing,
    )


def channel_consents(current: Current, purpose: Purpose) -> dict[Channel, ChannelConsent]:
    """The policy's view of each channel for one purpose."""
    out: dict[Channel, ChannelConsent] = {}
    for channel in Channel:
        per = current.get(channel.value, {})
        if purpose is Purpose.OPT_OUT_CONFIRMATION:
            # The confirmation text answers the latest revocation, whatever its purpose.
            times = [e.captured_at for e in per.values() if e.decision == "revoked"]
            out[channel] = ChannelConsent(revoked_at=max(times) if times else None)
            continue
        # An emergency callback needs no consent of its own; the person's revocation of
        # calls about their care still stands against it.
        held = Purpose.SCHEDULING if purpose is Purpose.EMERGENCY_CALLBACK else purpose
        event = per.get(held.value)
        if event is not None:
            out[channel] = channel_consent(event)
            continue
        # No consent for this purpose: say what the evidence given for another one lacks,
        # so a refusal names it (a ticked box with no purposes stated covers scheduling).
        lacking = sorted({m for e in per.values() for m in channel_consent(e).missing})
        if lacking:
            out[channel] = ChannelConsent(missing=tuple(m for m in PIECES if m in lacking))
    return out


def usable_channels(
    current: Current,
    blocked: Sequence[str],
    lifted: Lifted,
    unverified: Iterable[str] = (),
    *,
    emergency: bool = False,
) -> list[str]:
    """Channels the consent on record allows for at least one purpose, in CHANNELS order.

    Consent only: calling hours and attempt caps are a matter of when, not whether, and are
    left to the contact policy at the moment of contact. `unverified`: the purposes for which
    the lead's consent certificate failed verification. An emergency can also be called back
    as one, which needs no consent: only a revocation or suppression takes it off a channel.
    """
    purposes = (*CONTACT_PURPOSES, Purpose.EMERGENCY_CALLBACK) if emergency else CONTACT_PURPOSES
    usable: list[str] = []
    failed = set(unverified)
    for name in CHANNELS:
        channel = Channel(name)
        for purpose in purposes:
            consent = channel_consents(current, purpose).get(channel, ChannelConsent())
            if purpose.value in failed:
                consent = dataclasses.replace(consent, unverified=True)
            if consent_allows(channel, consent, suppressed_for(blocked, purpose, lifted), purpose):
                usable.append(name)
                break
    return usable
