"""Plan use cases: load a plan (store it and publish ``PlanLoaded``), read one, and keep the plan projection from
``PlanLoaded`` events (so a rebuild restores the plans). They flush; the boundary commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract.events import PlanLoaded, PlanTargetData
from libs.common.errors import field_error
from libs.common.messaging.outbox import Outbox
from services.reporting.errors import PlanInvalid, PlanNotFound
from services.reporting.plans import repository
from services.reporting.plans.rules import Plan, PlanError, parse_plan, plan_document


async def load_plan(session: AsyncSession, outbox: Outbox, raw: Any, *, at: datetime) -> Plan:
    """Validate and store a plan (replacing an earlier load of the same id) and publish ``PlanLoaded``."""
    try:
        plan = parse_plan(raw)
    except PlanError as exc:
        raise PlanInvalid("The plan breaks a rule", errors=[field_error(loc, msg) for loc, msg in exc.errors]) from exc
    await store_plan(session, plan, at)
    await outbox.append(
        session,
        PlanLoaded(
            plan_id=plan.plan_id,
            name=plan.name,
            legal_reference=plan.legal_reference,
            years=list(plan.years),
            targets=[
                PlanTargetData(
                    indicator=t.indicator,
                    comparator=t.comparator.value,
                    value=t.value,
                    year=t.year,
                    scope=t.contract_scope(),
                )
                for t in plan.targets
            ],
            at=at,
        ),
    )
    return plan


async def get_plan(session: AsyncSession, plan_id: str) -> Plan:
    row = await repository.plan(session, plan_id)
    if row is None:
        raise PlanNotFound(f"No plan {plan_id!r}; GET /plans lists the loaded plans")
    plan = parse_plan(row.document)
    return Plan(
        plan_id=plan.plan_id,
        name=plan.name,
        legal_reference=plan.legal_reference,
        years=plan.years,
        targets=plan.targets,
        province=row.province or plan.province,
        issued_on=plan.issued_on,
        source=plan.source,
    )


async def apply_plan_loaded(session: AsyncSession, payload: PlanLoaded) -> None:
    """The plan projection from a ``PlanLoaded`` event; an older load arriving late changes nothing. The event's
    targets carry ``baseline`` and ``note`` inside their scope, which ``parse_plan`` takes out again."""
    loaded_at = await repository.plan_loaded_at(session, payload.plan_id)
    if loaded_at is not None and loaded_at > payload.at:
        return
    plan = parse_plan(
        {
            "plan_id": payload.plan_id,
            "name": payload.name,
            "legal_reference": payload.legal_reference,
            "years": payload.years,
            "targets": [t.model_dump() for t in payload.targets],
        }
    )
    await store_plan(session, plan, payload.at)


async def store_plan(session: AsyncSession, plan: Plan, loaded_at: datetime) -> None:
    await repository.replace_plan(
        session,
        {
            "plan_id": plan.plan_id,
            "name": plan.name,
            "legal_reference": plan.legal_reference,
            "province": plan.province,
            "years": list(plan.years),
            "document": plan_document(plan),
            "loaded_at": loaded_at,
        },
        [
            {
                "plan_id": plan.plan_id,
                "position": i,
                "indicator": t.indicator,
                "comparator": t.comparator.value,
                "value": t.value,
                "year": t.year,
                "scope": t.scope,
                "baseline": t.baseline,
                "note": t.note,
            }
            for i, t in enumerate(plan.targets)
        ],
    )
