"""The replica of the catalogue's procedures and agencies: kept from its events, read at receipt.

A receipt never calls the catalogue: it reads the version in force from here (docs/intake.md, "Receipt").
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.calendar import VN_TZ
from libs.common.contract import (
    AgencyPublished,
    ProcedureAmended,
    ProcedurePublished,
    ProcedureSnapshot,
    ProcedureWithdrawn,
)
from services.intake.catalogue_replica import repository
from services.intake.errors import ProcedureUnknown
from services.intake.errors import ProcedureWithdrawn as ProcedureNotInForce
from services.intake.models import AgencyReplica, ProcedureReplica


async def store_procedure(
    session: AsyncSession, event: ProcedurePublished | ProcedureAmended | ProcedureWithdrawn
) -> None:
    """Keep the replica of a published, amended or withdrawn procedure version."""
    snapshot = event.procedure
    row = await session.get(ProcedureReplica, (snapshot.code, snapshot.version))
    if row is None:
        row = ProcedureReplica(code=snapshot.code, version=snapshot.version)
        session.add(row)
    row.in_force_from = snapshot.in_force_from
    row.in_force_until = snapshot.in_force_until
    withdrawn_on: date | None = event.withdrawn_on if isinstance(event, ProcedureWithdrawn) else None
    if withdrawn_on is not None and snapshot.in_force_until is None:
        # not in force from the day of withdrawal on: the last day in force is the day before
        row.in_force_until = withdrawn_on - timedelta(days=1)
    row.snapshot = {
        **snapshot.model_dump(mode="json"),
        "in_force_until": row.in_force_until.isoformat() if row.in_force_until else None,
    }
    await session.flush()


async def store_agency(session: AsyncSession, event: AgencyPublished) -> None:
    row = await session.get(AgencyReplica, event.code)
    if row is None:
        row = AgencyReplica(code=event.code)
        session.add(row)
    row.name = event.name
    row.level = event.level
    row.parent_code = event.parent_code
    row.procedure_codes = list(event.procedure_codes)
    row.desks = list(event.desks)
    await session.flush()


async def procedure_for(session: AsyncSession, code: str, at: datetime) -> ProcedureSnapshot:
    """The version in force on the (local) day of receipt; 410 once withdrawn, 404 if never published."""
    local_day = at.astimezone(VN_TZ).date()
    replica = await repository.procedure_in_force(session, code, local_day)
    if replica is None:
        if await repository.any_procedure_version(session, code):
            raise ProcedureNotInForce(f"Procedure {code} is not in force on {local_day:%d/%m/%Y}")
        raise ProcedureUnknown(f"Procedure {code} is not in the catalogue")
    procedure = ProcedureSnapshot.model_validate(replica.snapshot)
    if procedure.in_force_until is not None and local_day > procedure.in_force_until:
        raise ProcedureNotInForce(f"Procedure {code} was withdrawn on {procedure.in_force_until:%d/%m/%Y}")
    return procedure


async def procedure_version(session: AsyncSession, code: str, version: int) -> ProcedureSnapshot | None:
    """The version a dossier was received under, as the catalogue published it."""
    replica = await repository.procedure_version(session, code, version)
    return ProcedureSnapshot.model_validate(replica.snapshot) if replica else None


async def agencies(session: AsyncSession, codes: set[str]) -> dict[str, AgencyReplica]:
    return await repository.agencies(session, codes)
