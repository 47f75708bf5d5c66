from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from app.audit import service as audit
from app.db import SessionDep
from app.deps import AdminCaller
from app.integrations import verification

router = APIRouter(prefix="/v1/integrations", tags=["integrations"])

Secret = Annotated[str, StringConstraints(strip_whitespace=True, min_length=8, max_length=200)]


class TrustedFormIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    api_key: Secret = Field(description="The API key from TrustedForm's settings page.")


class JornayaIn(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    account_code: Secret | None = Field(
        default=None, description="Your Jornaya account code (the `lac` of its API)."
    )
    api_key: Secret | None = Field(default=None, description="Accepted as `account_code`.")

    @model_validator(mode="after")
    def _one(self) -> JornayaIn:
        if not (self.account_code or self.api_key):
            raise ValueError("give `account_code`")
        return self


class SetOut(BaseModel):
    set: bool = True


class IntegrationsOut(BaseModel):
    trustedform: dt.datetime | None = Field(description="When its API key was last set.")
    jornaya: dt.datetime | None


@router.put("/trustedform", response_model=SetOut)
async def set_trustedform(body: TrustedFormIn, caller: AdminCaller, session: SessionDep) -> SetOut:
    """Store the organisation's TrustedForm API key (write-only: never answered back).

    Leads whose consent block carries a TrustedForm certificate URL then have it retained
    and matched against their email and phone, within minutes of intake."""
    await verification.set_credential(
        session, caller.org_id, "trustedform", body.api_key, caller.key_id
    )
    await audit.record(session, caller, "integration.set", "integration", "trustedform")
    return SetOut()


@router.put("/jornaya", response_model=SetOut)
async def set_jornaya(body: JornayaIn, caller: AdminCaller, session: SessionDep) -> SetOut:
    """Store the organisation's Jornaya account code (write-only), used to authenticate the
    LeadiD tokens (`leadid_token`) that leads carry."""
    code = body.account_code or body.api_key
    assert code is not None
    await verification.set_credential(session, caller.org_id, "jornaya", code, caller.key_id)
    await audit.record(session, caller, "integration.set", "integration", "jornaya")
    return SetOut()


@router.get("", response_model=IntegrationsOut)
async def list_integrations(caller: AdminCaller, session: SessionDep) -> IntegrationsOut:
    """Which integrations have a credential, and since when (never the credential)."""
    found = await verification.configured(session, caller.org_id)
    return IntegrationsOut(trustedform=found.get("trustedform"), jornaya=found.get("jornaya"))
