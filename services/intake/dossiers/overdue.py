"""The overdue job: publish ``DossierOverdue`` once for every unfinished dossier that becomes overdue
(docs/domain.md, "Overdue"): past its due time in force, or at its second request to supplement."""

from __future__ import annotations

import asyncio
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.app import Runtime
from libs.common.contract import DossierOverdue, EventPayload
from libs.common.db import transaction
from libs.common.logging import get_logger
from libs.common.messaging.outbox import Outbox
from services.intake.context import clock
from services.intake.dossiers import repository

log = get_logger(__name__)


async def publish_overdue(session: AsyncSession, outbox: Outbox, now: datetime, limit: int = 500) -> int:
    """One batch: mark and publish up to ``limit`` dossiers overdue at ``now``. Returns how many."""
    rows = await repository.overdue_to_publish(session, now, limit)
    events: list[EventPayload] = []
    for dossier in rows:
        dossier.overdue_published_at = now
        events.append(DossierOverdue(dossier_code=dossier.code, due_at=dossier.due_at, at=now))
    if events:
        await session.flush()
        await outbox.append(session, *events)
    return len(events)


async def check_overdue(rt: Runtime, batch_size: int = 500) -> int:
    """One pass of the job, every batch judged at the same instant: returns how many dossiers it published."""
    now = clock(rt)
    total = 0
    while True:
        async with transaction(rt.sessions) as session:
            published = await publish_overdue(session, rt.outbox, now, batch_size)
        total += published
        if published < batch_size:
            break
    if total and rt.relay is not None:
        rt.relay.wake()
    return total


async def overdue_loop(rt: Runtime, interval: float, batch_size: int) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            published = await check_overdue(rt, batch_size)
            if published:
                log.info("overdue dossiers published", count=published)
        except Exception as exc:  # the next pass retries; one failure must not stop the job
            log.warning("overdue check failed", error=repr(exc))
