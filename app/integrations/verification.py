"""Verifying consent evidence with its provider: TrustedForm certificates, Jornaya LeadiD tokens.

At intake (a pipeline step) each certificate URL or token in the consent block becomes a
`consent_verifications` row and a `consent.verify` job, run by the worker within a minute
and retried with backoff for up to 72 hours (TrustedForm keeps an unclaimed certificate for
3 days). A URL that is not TrustedForm's, or a token not of LeadiD's form, is never sent:
it is refused at once. A certificate that does not match the lead, has expired or was
refused flags the lead `consent_unverified`, which the contact policy reads.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
import structlog
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import get_settings
from app.consent.service import RETENTION, refresh_contact_channels
from app.crypto import cipher, keyed_hash
from app.db import utcnow
from app.integrations import jornaya, trustedform
from app.integrations.models import ConsentVerification, IntegrationCredential
from app.integrations.trustedform import Outcome
from app.jobs import service as jobs
from app.jobs.models import Job
from app.leads.identity import Identity
from app.leads.models import Lead
from app.tenancy import scoped

log = structlog.get_logger("app.integrations")

VERIFY_JOB = "consent.verify"
WINDOW = dt.timedelta(hours=72)
# A minute, then backing off to every 12 hours; the 72-hour deadline ends the retries.
SCHEDULE = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200)
# Outcomes that leave the consent unproven.
UNVERIFIED = frozenset({"no_match", "expired", "refused"})


def secret_context(org_id: uuid.UUID, provider: str) -> str:
    return f"integration:{org_id}:{provider}"


def reference_context(verification_id: uuid.UUID) -> str:
    return f"consent-verification:{verification_id}"


def facts_context(verification_id: uuid.UUID) -> str:
    return f"consent-verification-facts:{verification_id}"


# --- credentials ---------------------------------------------------------------------------


async def set_credential(
    session: AsyncSession,
    org_id: uuid.UUID,
    provider: str,
    secret: str,
    actor_key_id: uuid.UUID | None,
) -> None:
    stmt = pg_insert(IntegrationCredential).values(
        id=uuid.uuid4(),
        organization_id=org_id,
        provider=provider,
        secret_enc=cipher().encrypt(secret, secret_context(org_id, provider)),
        actor_key_id=actor_key_id,
        updated_at=utcnow(),
    )
    await session.execute(
        stmt.on_conflict_do_update(
            index_elements=["organization_id", "provider"],
            set_={
                "secret_enc": stmt.excluded.secret_enc,
                "actor_key_id": stmt.excluded.actor_key_id,
                "updated_at": stmt.excluded.updated_at,
            },
        )
    )


async def credential(session: AsyncSession, org_id: uuid.UUID, provider: str) -> str | None:
    row = (
        await session.execute(
            scoped(IntegrationCredential, org_id).where(IntegrationCredential.provider == provider)
        )
    ).scalar_one_or_none()
    if row is None:
        return None
    return cipher().decrypt(row.secret_enc, secret_context(org_id, provider)).decode()


async def configured(session: AsyncSession, org_id: uuid.UUID) -> dict[str, dt.datetime]:
    rows = await session.execute(
        select(IntegrationCredential.provider, IntegrationCredential.updated_at).where(
            IntegrationCredential.organization_id == org_id
        )
    )
    return {provider: at for provider, at in rows}


# --- at intake -----------------------------------------------------------------------------


def _refusal(provider: str, reference: str) -> str | None:
    if provider == "trustedform" and trustedform.target(reference, None) is None:
        return f"not a certificate URL on {trustedform.HOST}: never called"
    if provider == "jornaya" and not jornaya.valid_token(reference):
        return "not a LeadiD token (36-character GUID): never sent"
    return None


async def schedule(
    session: AsyncSession,
    lead: Lead,
    *,
    certificate_url: str | None,
    leadid_token: str | None,
    now: dt.datetime,
) -> None:
    """Pipeline step: a check per certificate and token, once per lead."""
    for provider, reference in (("trustedform", certificate_url), ("jornaya", leadid_token)):
        if not reference:
            continue
        vid = uuid.uuid4()
        refused = _refusal(provider, reference)
        inserted = await session.scalar(
            pg_insert(ConsentVerification)
            .values(
                id=vid,
                organization_id=lead.organization_id,
                lead_id=lead.id,
                provider=provider,
                reference_hash=keyed_hash(f"consent-{provider}", reference.strip()),
                reference_enc=cipher().encrypt(reference, reference_context(vid)),
                status="refused" if refused else "pending",
                reason=refused,
                attempts=0,
                requested_at=now,
                checked_at=now if refused else None,
                deadline=now + WINDOW,
                retain_until=now + RETENTION,
            )
            .on_conflict_do_nothing()
            .returning(ConsentVerification.id)
        )
        if inserted is None:
            continue  # this lead's certificate is checked already
        if refused:
            log.warning("consent_verification_refused", provider=provider, lead_id=str(lead.id))
            lead.consent_unverified = True
            await refresh_contact_channels(session, lead)
            continue
        await jobs.enqueue(
            session, VERIFY_JOB, {"verification_id": str(vid)}, org_id=lead.organization_id,
            dedupe_key=str(vid),
        )  # fmt: skip


# --- the check -----------------------------------------------------------------------------


async def _call_trustedform(
    client: httpx.AsyncClient, lead: Lead, reference: str, api_key: str, now: dt.datetime
) -> Outcome:
    settings = get_settings()
    url = trustedform.target(reference, settings.trustedform_api_url)
    if url is None:
        return Outcome("refused", f"not a certificate URL on {trustedform.HOST}")
    who = Identity.of_lead(lead)
    headers, body = trustedform.request(
        api_key,
        reference=str(lead.id),
        email=who.email,
        phone=who.phone,
        insights=settings.trustedform_insights,
    )
    r = await client.post(url, headers=headers, content=json.dumps(body))
    return trustedform.interpret(r.status_code, _json(r), now)


async def _call_jornaya(client: httpx.AsyncClient, reference: str, account_code: str) -> Outcome:
    url = jornaya.url(account_code, reference, get_settings().jornaya_api_url)
    r = await client.get(url, headers={"Accept": "application/json"})
    return jornaya.interpret(r.status_code, _json(r))


def _json(r: httpx.Response) -> Any:
    try:
        return r.json()
    except ValueError:
        return None


async def check(session: AsyncSession, v: ConsentVerification, now: dt.datetime) -> Outcome:
    """Ask the provider once."""
    lead = await session.get(Lead, v.lead_id) if v.lead_id else None
    if lead is None or lead.erased_at is not None:
        return Outcome("error", "the lead was erased before the check")
    secret = await credential(session, v.organization_id, v.provider)
    if secret is None:
        return Outcome("error", f"no {v.provider} credential set", retry=True)
    reference = cipher().decrypt(v.reference_enc, reference_context(v.id)).decode()
    timeout = get_settings().outbound_timeout_seconds
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            if v.provider == "trustedform":
                return await _call_trustedform(client, lead, reference, secret, now)
            return await _call_jornaya(client, reference, secret)
    except httpx.HTTPError as exc:
        return Outcome("error", f"{v.provider} unreachable ({type(exc).__name__})", retry=True)


async def record(
    session: AsyncSession, v: ConsentVerification, outcome: Outcome, now: dt.datetime
) -> None:
    v.status, v.reason, v.checked_at = outcome.status, outcome.reason, now
    v.attempts += 1
    if outcome.facts:
        v.facts_enc = cipher().encrypt(json.dumps(outcome.facts), facts_context(v.id))
    if outcome.status in UNVERIFIED and v.lead_id is not None:
        lead = await session.get(Lead, v.lead_id, with_for_update=True)
        if lead is not None and lead.erased_at is None:
            lead.consent_unverified = True
            # The queue and the SLA sweep follow (app.consent.standing).
            await refresh_contact_channels(session, lead)
    log.info("consent_verified", provider=v.provider, status=v.status, verification=str(v.id))


@jobs.registry.register(VERIFY_JOB, schedule=SCHEDULE, max_attempts=200)
async def _verify_job(session: AsyncSession, job: Job) -> None:
    v = await session.get(
        ConsentVerification, uuid.UUID(job.payload["verification_id"]), with_for_update=True
    )
    if v is None or v.status != "pending":
        return
    now = utcnow()
    outcome = await check(session, v, now)
    if outcome.retry and now < v.deadline:
        raise jobs.RetryLater(outcome.reason or "retry")
    await record(session, v, outcome, now)


# --- reading -------------------------------------------------------------------------------


async def of_lead(session: AsyncSession, lead: Lead) -> list[dict[str, Any]]:
    rows = (
        await session.execute(
            scoped(ConsentVerification, lead.organization_id)
            .where(ConsentVerification.lead_id == lead.id)
            .order_by(ConsentVerification.requested_at, ConsentVerification.provider)
        )
    ).scalars()
    return [
        {
            "id": v.id,
            "provider": v.provider,
            "reference": cipher().decrypt(v.reference_enc, reference_context(v.id)).decode(),
            "status": v.status,
            "reason": v.reason,
            "facts": json.loads(cipher().decrypt(v.facts_enc, facts_context(v.id)))
            if v.facts_enc
            else {},
            "requested_at": v.requested_at,
            "checked_at": v.checked_at,
            "retain_until": v.retain_until,
        }
        for v in rows
    ]
