from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Response, status

from app import resources
from app.audit import service as audit
from app.db import SessionDep
from app.deps import AdminCaller
from app.errors import Unprocessable
from app.idempotency import idempotent
from app.intake import flow
from app.routing import rulesets, simulate, teams
from app.routing.models import Member, Ruleset, Team
from app.routing.schemas import (
    MemberCreate,
    MemberList,
    MemberOut,
    MemberPatch,
    RulesetCreate,
    RulesetList,
    RulesetOut,
    RulesetPatch,
    SimulateIn,
    TeamCreate,
    TeamList,
    TeamOut,
    TeamPatch,
)
from app.tenancy import get_owned

router = APIRouter(tags=["routing"])


@router.post("/v1/teams", status_code=status.HTTP_201_CREATED, response_model=TeamOut)
@idempotent
async def create_team(body: TeamCreate, caller: AdminCaller, session: SessionDep) -> TeamOut:
    """Create an intake team (front desk, call-center queue, coordinator, nurse line…).

    Hours are evaluated in `time_zone`; a lead that arrives while the team is closed, or
    when nobody can take it, waits with `callback_at` at the next opening, or goes to
    `overflow_team_id`."""
    team = await teams.create_team(session, caller.org_id, body)
    await audit.record(session, caller, "team.create", "team", team.id)
    return teams.to_out(team, [])


@router.get("/v1/teams", response_model=TeamList)
async def list_teams(caller: AdminCaller, session: SessionDep) -> TeamList:
    """Every team of the organisation with its members, in rotation order."""
    rows = await teams.list_teams(session, caller.org_id)
    members = await teams.list_members(session, caller.org_id)
    return TeamList(data=[teams.to_out(t, members) for t in rows])


@router.get("/v1/teams/{team_id}", response_model=TeamOut)
async def get_team(team_id: uuid.UUID, caller: AdminCaller, session: SessionDep) -> TeamOut:
    """One team with its members."""
    team = await get_owned(session, Team, team_id, caller.org_id)
    return teams.to_out(team, await teams.list_members(session, caller.org_id, [team.id]))


@router.patch("/v1/teams/{team_id}", response_model=TeamOut)
async def update_team(
    team_id: uuid.UUID, body: TeamPatch, caller: AdminCaller, session: SessionDep
) -> TeamOut:
    """Change a team; only the fields sent change. Takes effect for the next lead."""
    team = await teams.update_team(session, caller.org_id, team_id, body)
    fields = resources.changed(body)
    await resources.record_change(session, caller, "team.update", "team", team.id, fields)
    return teams.to_out(team, await teams.list_members(session, caller.org_id, [team.id]))


@router.post(
    "/v1/teams/{team_id}/members", status_code=status.HTTP_201_CREATED, response_model=MemberOut
)
@idempotent
async def create_member(
    team_id: uuid.UUID, body: MemberCreate, caller: AdminCaller, session: SessionDep
) -> MemberOut:
    """Add a member to a team; new members join the end of the rotation.
    `external_id` (the agent's id in the call-center system) is unique per organisation."""
    member = await teams.create_member(session, caller.org_id, team_id, body)
    await audit.record(session, caller, "member.create", "member", member.id)
    return MemberOut.model_validate(member)


@router.get("/v1/teams/{team_id}/members", response_model=MemberList)
async def list_members(team_id: uuid.UUID, caller: AdminCaller, session: SessionDep) -> MemberList:
    """A team's members in rotation order."""
    team = await get_owned(session, Team, team_id, caller.org_id)
    return MemberList.of(await teams.list_members(session, caller.org_id, [team.id]))


@router.get("/v1/members/{member_id}", response_model=MemberOut)
async def get_member(member_id: uuid.UUID, caller: AdminCaller, session: SessionDep) -> MemberOut:
    """One member."""
    return MemberOut.model_validate(await get_owned(session, Member, member_id, caller.org_id))


@router.patch("/v1/members/{member_id}", response_model=MemberOut)
async def update_member(
    member_id: uuid.UUID, body: MemberPatch, caller: AdminCaller, session: SessionDep
) -> MemberOut:
    """Change a member: `status` `away` with `away_until` (back automatically), `inactive`
    to stop assignments, weight, daily cap, languages, or move them to another team."""
    member = await teams.update_member(session, caller.org_id, member_id, body)
    fields = resources.changed(body)
    await resources.record_change(session, caller, "member.update", "member", member.id, fields)
    return MemberOut.model_validate(member)


@router.post("/v1/routing/rulesets", status_code=status.HTTP_201_CREATED, response_model=RulesetOut)
@idempotent
async def create_ruleset(
    body: RulesetCreate, caller: AdminCaller, session: SessionDep
) -> RulesetOut:
    """Create a draft rule set (it gets the next version number). Rules are tried in order,
    the first match wins, and the last rule has no conditions. Invalid rules answer 422 with
    `errors[{field: JSON pointer, message}]`."""
    ruleset = await rulesets.create(session, caller.org_id, body)
    await audit.record(
        session, caller, "ruleset.create", "ruleset", ruleset.id, {"version": ruleset.version}
    )
    return RulesetOut.model_validate(ruleset)


@router.get("/v1/routing/rulesets", response_model=RulesetList)
async def list_rulesets(caller: AdminCaller, session: SessionDep) -> RulesetList:
    """All rule sets, newest version first; at most one is `published`."""
    return RulesetList.of(await rulesets.list_rulesets(session, caller.org_id))


@router.get("/v1/routing/rulesets/{ruleset_id}", response_model=RulesetOut)
async def get_ruleset(
    ruleset_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> RulesetOut:
    """One rule set."""
    return RulesetOut.model_validate(await get_owned(session, Ruleset, ruleset_id, caller.org_id))


@router.patch("/v1/routing/rulesets/{ruleset_id}", response_model=RulesetOut)
async def update_ruleset(
    ruleset_id: uuid.UUID, body: RulesetPatch, caller: AdminCaller, session: SessionDep
) -> RulesetOut:
    """Edit a draft. Published and archived rule sets never change (409)."""
    ruleset = await rulesets.update_draft(session, caller.org_id, ruleset_id, body)
    await audit.record(session, caller, "ruleset.update", "ruleset", ruleset.id)
    return RulesetOut.model_validate(ruleset)


@router.delete("/v1/routing/rulesets/{ruleset_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_ruleset(
    ruleset_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> Response:
    """Delete a draft (409 for a published or archived version: leads refer to it)."""
    await rulesets.delete_draft(session, caller.org_id, ruleset_id)
    return await resources.deleted(session, caller, "ruleset.delete", "ruleset", ruleset_id)


@router.post("/v1/routing/rulesets/{ruleset_id}/publish", response_model=RulesetOut)
@idempotent
async def publish_ruleset(
    ruleset_id: uuid.UUID, caller: AdminCaller, session: SessionDep
) -> RulesetOut:
    """Make this rule set live, atomically archiving the previous one. The next lead is
    routed by it; leads already routed keep their decision. Publishing an archived version
    rolls back to it."""
    ruleset = await rulesets.publish(session, caller.org_id, ruleset_id)
    await audit.record(
        session, caller, "ruleset.publish", "ruleset", ruleset.id, {"version": ruleset.version}
    )
    return RulesetOut.model_validate(ruleset)


@router.post("/v1/routing/simulate")
async def simulate_routing(
    body: SimulateIn, caller: AdminCaller, session: SessionDep
) -> dict[str, Any]:
    """Route without changing anything.

    - `{lead, ruleset_id?}`: the lead goes through the real intake flow (normalise,
      de-duplicate, score, route) and everything is rolled back, the member choice
      included (no rotation turn spent, no claim left); the answer is the decision and
      trace posting the lead now would get (with `ruleset_id`, as if that rule set were
      live).
    - `{ruleset_id, from, to}`: replays the leads received in [from, to) with that rule set
      against the current teams and returns the distribution by team and member, actual vs
      simulated. Open-lead capacity and sticky owners are not replayed.
    """
    if body.lead is not None:
        if body.from_ is not None or body.to is not None:
            raise Unprocessable("Send either `lead` or a `from`/`to` range, not both.")
        lead_in = simulate.canonical_lead(body.lead)
        ruleset = await simulate.compiled(session, caller.org_id, body.ruleset_id)
        return await flow.simulate(session, caller.org_id, lead_in, ruleset)
    if body.ruleset_id is None or body.from_ is None or body.to is None:
        raise Unprocessable("Send `lead`, or `ruleset_id` with `from` and `to`.")
    if body.from_.tzinfo is None or body.to.tzinfo is None or body.to <= body.from_:
        raise Unprocessable("`from` and `to` need time zone offsets and from < to.")
    return await simulate.replay(session, caller.org_id, body.ruleset_id, body.from_, body.to)
