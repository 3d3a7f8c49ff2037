"""The queries of plans: the ``plan`` and ``plan_target`` projections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.reporting import models as m


async def plan_loaded_at(session: AsyncSession, plan_id: str) -> datetime | None:
    return (await session.execute(select(m.Plan.loaded_at).where(m.Plan.plan_id == plan_id))).scalar_one_or_none()


async def replace_plan(session: AsyncSession, plan_row: dict[str, Any], targets: list[dict[str, Any]]) -> None:
    plan_id = plan_row["plan_id"]
    await session.execute(delete(m.PlanTarget).where(m.PlanTarget.plan_id == plan_id))
    await session.execute(delete(m.Plan).where(m.Plan.plan_id == plan_id))
    session.add(m.Plan(**plan_row))
    session.add_all(m.PlanTarget(**t) for t in targets)
    await session.flush()


async def plans(session: AsyncSession) -> list[m.Plan]:
    return list((await session.execute(select(m.Plan).order_by(m.Plan.plan_id))).scalars())


async def plan(session: AsyncSession, plan_id: str) -> m.Plan | None:
    return await session.get(m.Plan, plan_id)
