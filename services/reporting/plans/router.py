"""HTTP API of plans: list, read and load (``POST /plans`` publishes ``PlanLoaded``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, status

from libs.common.app import DBSession, RuntimeDep
from libs.common.audit import AuditAction
from libs.common.auth import Principal, Role, require
from services.reporting import audit
from services.reporting import models as m
from services.reporting.clock import Now
from services.reporting.plans import repository, service
from services.reporting.schemas import PlanIn, PlanRead, PlanSummary

router = APIRouter()

Editor = Annotated[Principal, Depends(require(Role.LEADER, Role.OPS))]


def _read(row: m.Plan) -> PlanRead:
    return PlanRead(
        plan_id=row.plan_id,
        name=row.name,
        legal_reference=row.legal_reference,
        province=row.province,
        years=row.years,
        loaded_at=row.loaded_at,
        document=row.document,
    )


@router.get("/plans", tags=["plans"], operation_id="list_plans")
async def list_plans(session: DBSession) -> list[PlanSummary]:
    """The plans loaded, newest load of each."""
    return [
        PlanSummary(
            plan_id=p.plan_id,
            name=p.name,
            legal_reference=p.legal_reference,
            province=p.province,
            years=p.years,
            targets=len(p.document.get("targets", [])),
            loaded_at=p.loaded_at,
        )
        for p in await repository.plans(session)
    ]


@router.get("/plans/{plan_id}", tags=["plans"], operation_id="get_plan")
async def get_plan(plan_id: str, session: DBSession) -> PlanRead:
    """One plan as loaded: its targets with comparators, values, years and scopes."""
    await service.get_plan(session, plan_id)  # the 404 when it is not loaded
    row = await repository.plan(session, plan_id)
    assert row is not None
    return _read(row)


@router.post("/plans", tags=["plans"], status_code=status.HTTP_201_CREATED, operation_id="load_plan")
async def load_plan(body: PlanIn, session: DBSession, rt: RuntimeDep, principal: Editor, at: Now) -> PlanRead:
    """Load a plan (or a new version of one: the same `plan_id` replaces it) and publish `PlanLoaded`."""
    existed = await repository.plan(session, body.plan_id) is not None
    await service.load_plan(session, rt.outbox, body.model_dump(), at=at)
    action = AuditAction.CHANGE if existed else AuditAction.CREATE
    await audit.changed(session, principal, at, action, "plan", body.plan_id)
    row = await repository.plan(session, body.plan_id)
    assert row is not None
    return _read(row)
