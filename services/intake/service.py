"""Intake use cases. They flush and append outbox events; the request boundary commits."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.calendar import VN_TZ, LimitUnit, TimeLimit, WorkingCalendar
from libs.common.contract import (
    Applicant,
    DossierReceived,
    ProcedurePublished,
    ProcedureSnapshot,
    Sector,
    SubmittedComponent,
    TimeLimitData,
)
from libs.common.errors import field_error
from libs.common.messaging.outbox import Outbox
from services.intake import repository
from services.intake.domain.codes import dossier_code
from services.intake.errors import ProcedureUnknown, ProcedureWithdrawn, ReceiptRejected
from services.intake.models import Dossier, ProcedureReplica
from services.intake.schemas import DossierCreate


async def receive_dossier(
    session: AsyncSession, outbox: Outbox, calendar: WorkingCalendar, data: DossierCreate, now: datetime | None = None
) -> Dossier:
    now = now or datetime.now(UTC)
    at = data.at or now
    if at > now:
        raise ReceiptRejected("A receipt cannot be recorded in the future", errors=[field_error(("at",), "in the future")])
    received_at = calendar.effective_receipt(at)
    local_day = received_at.astimezone(VN_TZ).date()
    replica = await repository.procedure_in_force(session, data.procedure_code, local_day)
    if replica is None:
        if await repository.any_procedure_version(session, data.procedure_code):
            raise ProcedureWithdrawn(f"Procedure {data.procedure_code} is not in force on {local_day:%d/%m/%Y}")
        raise ProcedureUnknown(f"Procedure {data.procedure_code} is not in the catalogue")
    procedure = ProcedureSnapshot.model_validate(replica.snapshot)
    if procedure.in_force_until is not None and local_day > procedure.in_force_until:
        raise ProcedureWithdrawn(f"Procedure {data.procedure_code} was withdrawn on {procedure.in_force_until:%d/%m/%Y}")
    limit = TimeLimit(procedure.time_limit.amount, LimitUnit(procedure.time_limit.unit.value))
    due_at = calendar.due_at(received_at, limit)
    sequence = await repository.next_sequence(session, data.receiving_agency_code, local_day)
    code = dossier_code(data.receiving_agency_code, local_day, sequence)
    handling = data.handling_agency_code or data.receiving_agency_code
    must_digitise = {c.code for c in procedure.components if c.must_digitise}
    components = [
        SubmittedComponent(code=c.code, form=c.form, must_digitise=c.code in must_digitise, digitised=c.digitised)
        for c in data.components
    ]
    level = procedure.levels[0] if procedure.levels else "province"
    dossier = Dossier(
        code=code,
        procedure_code=procedure.code,
        procedure_version=procedure.version,
        receiving_agency_code=data.receiving_agency_code,
        handling_agency_code=handling,
        channel=data.channel.value,
        status="received",
        applicant_name=data.applicant.name,
        applicant_id_code=data.applicant.id_code,
        received_at=received_at,
        due_at=due_at,
        details={"components": [c.model_dump(mode="json") for c in components]},
    )
    session.add(dossier)
    await session.flush()
    fees = sum(f.amount_vnd or 0 for f in procedure.fees)
    await outbox.append(
        session,
        DossierReceived(
            dossier_code=code,
            procedure_code=procedure.code,
            procedure_version=procedure.version,
            procedure_name=procedure.name,
            sector=Sector(code=procedure.sector.code, name=procedure.sector.name),
            online_level=procedure.online_level,
            has_fees=bool(procedure.fees),
            certification=procedure.certification,
            receiving_agency_code=data.receiving_agency_code,
            receiving_level=level,
            handling_agency_code=handling,
            handling_level=level,
            desk=data.desk,
            channel=data.channel,
            keyed_in_at_desk=data.keyed_in_at_desk,
            cross_boundary=data.cross_boundary,
            applicant=Applicant(**data.applicant.model_dump()),
            components=components,
            time_limit=TimeLimitData(amount=limit.amount, unit=procedure.time_limit.unit),
            received_at=received_at,
            due_at=due_at,
            fees_due_vnd=fees,
            postal_return_requested=data.postal_return_requested,
        ),
    )
    return dossier


async def store_procedure(session: AsyncSession, event: ProcedurePublished | Any) -> None:
    """Keep the replica of a published, amended or withdrawn procedure version."""
    snapshot: ProcedureSnapshot = event.procedure
    row = await session.get(ProcedureReplica, (snapshot.code, snapshot.version))
    if row is None:
        row = ProcedureReplica(code=snapshot.code, version=snapshot.version)
        session.add(row)
    row.in_force_from = snapshot.in_force_from
    row.in_force_until = snapshot.in_force_until
    row.snapshot = snapshot.model_dump(mode="json")
    await session.flush()
