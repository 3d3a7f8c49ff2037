"""The replica of the catalogue's procedures and agencies: kept from its events, read at receipt.

A receipt never calls the catalogue: it reads the version in force from here (docs/intake.md, "Receipt").
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.calendar import VN_TZ, AgencyHours, WorkingHours
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
from services.intake.models import AgencyReplica, CatalogueReplicaVersion, ProcedureReplica

_VERSION: Table = CatalogueReplicaVersion.__table__  # type: ignore[assignment]
_READ_TOKEN = select(_VERSION.c.token).where(_VERSION.c.id == 1)


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
    await _changed(session)


async def store_agency(session: AsyncSession, event: AgencyPublished, published_at: datetime | None = None) -> None:
    """Keep the agency as of its newest publication: an older one delivered late (``published_at``, the event's
    time, before the row's) changes nothing, so redelivery and reordering leave the newest hours in place.

    Hours the calendar cannot use are a ValueError: the consumer dead-letters the event rather than let every
    later command of the agency fail (the catalogue validates them, so only a foreign producer gets here).
    """
    check_hours(event)
    row = await session.get(AgencyReplica, event.code)
    if row is None:
        row = AgencyReplica(code=event.code)
        session.add(row)
    elif published_at is not None and row.published_at is not None and published_at < row.published_at:
        return
    row.name = event.name
    row.level = event.level
    row.parent_code = event.parent_code
    row.procedure_codes = list(event.procedure_codes)
    row.desks = list(event.desks)
    row.opening_sessions = event.opening_sessions or None
    row.extra_holidays = sorted({day.isoformat() for day in event.extra_holidays})
    row.extra_working_days = sorted({day.isoformat() for day in event.extra_working_days})
    if published_at is not None:
        row.published_at = published_at
    await session.flush()
    await _changed(session)


async def _changed(session: AsyncSession) -> None:
    # A fresh random token, not a counter: a change rolled back and another made after it must not bring back a
    # token some process cached the rolled-back rows under.
    await session.execute(update(_VERSION).where(_VERSION.c.id == 1).values(token=str(uuid.uuid4())))


def check_hours(event: AgencyPublished) -> None:
    """ValueError when ``CalendarBook.for_agency`` could not build the agency's calendar from these hours."""
    if event.opening_sessions:
        WorkingHours.parse(event.opening_sessions)
    clash = set(event.extra_holidays) & set(event.extra_working_days)
    if clash:
        days = ", ".join(sorted(day.isoformat() for day in clash))
        raise ValueError(f"agency {event.code}: extra_holidays and extra_working_days both list {days}")


def agency_hours(row: AgencyReplica | None) -> AgencyHours | None:
    """What the agency changes in the province calendar (None: an agency not replicated yet keeps the province's)."""
    if row is None:
        return None
    return AgencyHours.of(
        row.opening_sessions,
        (date.fromisoformat(day) for day in row.extra_holidays or ()),
        (date.fromisoformat(day) for day in row.extra_working_days or ()),
    )


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


@dataclass(frozen=True)
class AgencyView:
    """What a receipt reads of an agency's replica (the same attribute names as the row)."""

    code: str
    name: str
    level: str
    procedure_codes: tuple[str, ...]
    hours: AgencyHours | None = None  # its own working hours and days (None: the province's)


@dataclass
class ReplicaCache:
    """What receipts read of the replica, kept per process while the replica's version token stays the same.

    Every receipt reads the token (one small statement) instead of the procedure version in force (a query, a
    large JSON document and its validation) and the agencies. Every change to the replica changes the token in its
    own transaction, whichever replica process consumed it, so a process sees a change at its next receipt after
    the change commits. A receipt in the same transaction as a change reads the token that change wrote.
    """

    token: str | None = None
    procedures: dict[tuple[str, date], ProcedureSnapshot] = field(default_factory=dict)
    agencies: dict[str, AgencyView | None] = field(default_factory=dict)

    MAX_PROCEDURES = 10_000  # one entry per procedure and day of receipt: bounded so a long uptime cannot grow it

    def _keep(self, token: str) -> None:
        if token != self.token or len(self.procedures) > self.MAX_PROCEDURES:
            self.token = token
            self.procedures = {}
            self.agencies = {}


async def receipt_catalogue(
    session: AsyncSession, cache: ReplicaCache | None, code: str, at: datetime, agency_codes: Iterable[str]
) -> tuple[ProcedureSnapshot, dict[str, AgencyView]]:
    """The procedure version in force at ``at`` (errors as ``procedure_for``) and those of ``agency_codes`` the
    replica knows, from ``cache`` while the replica has not changed since they were read."""
    codes = set(agency_codes)
    token = None if cache is None else (await session.execute(_READ_TOKEN)).scalar_one_or_none()
    if cache is None or token is None:
        rows = await repository.agencies(session, codes)
        return await procedure_for(session, code, at), {c: _view(r) for c, r in rows.items()}
    # Read the token before the rows: rows read after it are as new as it or newer, never older.
    cache._keep(token)
    key = (code, at.astimezone(VN_TZ).date())
    procedure = cache.procedures.get(key)
    if procedure is None:
        procedure = await procedure_for(session, code, at)  # a refusal is not cached: it is raised again each time
        cache.procedures[key] = procedure
    missing = codes - cache.agencies.keys()
    if missing:
        rows = await repository.agencies(session, missing)
        for c in missing:
            cache.agencies[c] = _view(rows[c]) if c in rows else None
    return procedure, {c: view for c in codes if (view := cache.agencies[c]) is not None}


def _view(row: AgencyReplica) -> AgencyView:
    return AgencyView(
        code=row.code,
        name=row.name,
        level=row.level,
        procedure_codes=tuple(row.procedure_codes),
        hours=agency_hours(row),
    )
