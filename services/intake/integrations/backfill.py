"""Send the history to the national portal: each dossier's record as it now is, then its recorded steps in order.

    python -m services.intake.integrations.backfill [--run-id ID] [--since YYYY-MM-DD] [--batch N]

For dossiers received before the synchronisation was switched on. Each delivery's cause is the run id, so running
the same run again (after a crash, say) enqueues nothing twice; a new run id sends everything again. The worker of
a running intake sends what this enqueues. Needs ``MOTCUA_INTAKE_PORTAL_ENABLED=true``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import create_engine, session_factory
from services.intake.config import IntakeSettings, get_settings
from services.intake.domain.lifecycle import Command
from services.intake.integrations.outbound import STEP_ACTIONS, Outbound, owner_facts, snapshot
from services.intake.integrations.portal import ProgressStep, sync_dossier, sync_progress
from services.intake.models import Dossier, DossierStep


@dataclass(frozen=True)
class BackfillResult:
    dossiers: int
    enqueued: int


def _step(dossier: Dossier, row: DossierStep) -> ProgressStep | None:
    command = Command(row.command)
    if command not in STEP_ACTIONS:
        return None
    return ProgressStep(
        dossier_code=dossier.code,
        handler_name=row.actor,
        handled_at=row.at,
        department=row.to_agency_code or dossier.current_agency_code,
        action=STEP_ACTIONS[command],
        status=row.status_after,
        started_at=dossier.received_at,
        due_at=dossier.apology_due_at or dossier.due_at,
    )


async def backfill_dossiers(session: AsyncSession, out: Outbound, dossiers: Sequence[Dossier], run_id: str) -> int:
    """Enqueue the record and the steps of ``dossiers``; returns how many deliveries were new."""
    enqueued = 0
    for dossier in dossiers:
        cause = f"backfill-{run_id}"
        d = sync_dossier(snapshot(dossier, await owner_facts(session, dossier.code)), out.codes, cause_id=cause)
        enqueued += await out.deliveries.enqueue(
            session, d.target, d.idempotency_key, d.payload, ordering_key=d.ordering_key
        )
        steps = (
            await session.scalars(
                select(DossierStep).where(DossierStep.dossier_code == dossier.code).order_by(DossierStep.id)
            )
        ).all()
        for row in steps:
            step = _step(dossier, row)
            if step is None:
                continue
            p = sync_progress(step, out.codes, cause_id=f"{cause}-step-{row.id}")
            enqueued += await out.deliveries.enqueue(
                session, p.target, p.idempotency_key, p.payload, ordering_key=p.ordering_key
            )
    return enqueued


async def run(settings: IntakeSettings, *, run_id: str, since: date | None = None, batch: int = 200) -> BackfillResult:
    out = Outbound.from_settings(settings)
    if out is None or not out.portal:
        raise SystemExit("the national portal is not enabled (MOTCUA_INTAKE_PORTAL_ENABLED)")
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    done = enqueued = 0
    after = ""
    try:
        while True:
            # One transaction per batch, in code order: a crash loses nothing (re-run the same run id).
            async with sessions() as session, session.begin():
                query = select(Dossier).where(Dossier.code > after).order_by(Dossier.code).limit(batch)
                if since is not None:
                    query = query.where(Dossier.received_at >= datetime.combine(since, time(0), tzinfo=UTC))
                dossiers = (await session.scalars(query)).all()
                if not dossiers:
                    break
                enqueued += await backfill_dossiers(session, out, dossiers, run_id)
            done += len(dossiers)
            after = dossiers[-1].code
    finally:
        await engine.dispose()
    return BackfillResult(dossiers=done, enqueued=enqueued)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run-id", default="initial", help="the same id never sends a delivery twice")
    parser.add_argument("--since", type=date.fromisoformat, help="only dossiers received on or after this day")
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args(argv)
    result = asyncio.run(run(get_settings(), run_id=args.run_id, since=args.since, batch=args.batch))
    print(f"{result.dossiers} dossiers, {result.enqueued} deliveries enqueued")


if __name__ == "__main__":
    main()
