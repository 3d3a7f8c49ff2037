"""Receipt and appointment (form 01): the version in force, the checks, the code, the due time, the event."""

from __future__ import annotations

import functools
import uuid
from datetime import date
from typing import Any

from sqlalchemy import String, Table, Text, insert

from libs.common.audit import AuditAction, audit_log
from libs.common.calendar import VN_TZ, LimitUnit, TimeLimit
from libs.common.contract import Applicant, DossierReceived, Sector, SubmittedComponent, TimeLimitData
from libs.common.contract.envelope import Envelope
from libs.common.errors import Forbidden, field_error
from libs.common.messaging.tables import outbox
from libs.common.prepared import Prepared, is_postgresql, prefixed
from services.intake import sequences
from services.intake.catalogue_replica import service as replica
from services.intake.context import IntakeContext
from services.intake.domain import deadlines, receipt
from services.intake.domain.codes import SEQUENCE_DIGITS, dossier_code, dossier_code_prefix, parse_dossier_code
from services.intake.domain.lifecycle import Status
from services.intake.dossiers import repository
from services.intake.dossiers import schemas as s
from services.intake.dossiers.audit import audit, audit_rows
from services.intake.errors import DossierExists, ReceiptRejected
from services.intake.integrations import outbound
from services.intake.integrations.consent import consent_row
from services.intake.models import Dossier
from services.intake.sequences import SEQUENCES


def _agency(row: replica.AgencyView | None) -> receipt.Agency | None:
    return None if row is None else receipt.Agency(level=row.level, procedure_codes=row.procedure_codes)


def _name(row: replica.AgencyView | None) -> str | None:
    return None if row is None else row.name


# Built once: a statement built per request costs its construction and its cache key on every receipt.
_DOSSIERS: Table = Dossier.__table__  # type: ignore[assignment]
_INSERT_DOSSIER = insert(_DOSSIERS)


async def receive_dossier(ctx: IntakeContext, data: s.DossierCreate, *, code: str | None = None) -> Dossier:
    """Receive one dossier; ``code`` keeps an imported dossier's original code.

    Everything that does not need the code is checked and built first; the day's sequence row is then locked (by its
    upsert) only for the last writes before the boundary commits, so concurrent receipts at one agency wait on each
    other for a few inserts, not for each other's Python.
    """
    session = ctx.session
    if ctx.principal.roles & repository.STAFF_ROLES and not ctx.principal.scope.covers(data.receiving_agency_code):
        raise Forbidden(f"Agency {data.receiving_agency_code} is outside your scope: you cannot receive for it")
    submitted_at = ctx.step_time(data.at)
    handling_code = data.handling_agency_code or data.receiving_agency_code
    procedure, replicas = await replica.receipt_catalogue(
        session, ctx.replica_cache, data.procedure_code, submitted_at, (data.receiving_agency_code, handling_code)
    )
    limit = TimeLimit(procedure.time_limit.amount, LimitUnit(procedure.time_limit.unit.value))
    # the receiving agency's calendar decides when the dossier counts as received and when it is due
    receiving = replicas.get(data.receiving_agency_code)
    calendar = ctx.calendar_of(data.receiving_agency_code, receiving.hours if receiving else None)
    appointment = deadlines.appointment(calendar, submitted_at, limit)
    local_day = appointment.received_at.astimezone(VN_TZ).date()
    submission = receipt.Submission(
        channel=data.channel,
        cross_boundary=data.cross_boundary,
        components=[c.code for c in data.components],
        receiving_level=data.receiving_level,
        handling_level=data.handling_level,
        handling_agency_code=handling_code,
    )
    levels, problems = receipt.check(
        procedure, submission, _agency(replicas.get(data.receiving_agency_code)), _agency(replicas.get(handling_code))
    )
    if problems:
        fields = ", ".join(dict.fromkeys(p.field for p in problems))
        raise ReceiptRejected(
            f"The dossier cannot be received: {fields}",
            errors=[field_error((p.field,), p.message) for p in problems],
        )
    to_digitise = receipt.must_digitise(procedure)
    components = [
        SubmittedComponent(code=c.code, form=c.form, must_digitise=c.code in to_digitise, digitised=c.digitised)
        for c in data.components
    ]
    fees = receipt.fees_due(procedure)
    applicant = data.applicant
    row: dict[str, Any] = {
        "procedure_code": procedure.code,
        "procedure_version": procedure.version,
        "procedure_name": procedure.name,
        "receiving_agency_code": data.receiving_agency_code,
        "receiving_agency_name": _name(replicas.get(data.receiving_agency_code)),
        "receiving_level": levels.receiving,
        "handling_agency_code": handling_code,
        "handling_agency_name": _name(replicas.get(handling_code)),
        "handling_level": levels.handling,
        "current_agency_code": data.receiving_agency_code,
        "desk": data.desk,
        "channel": data.channel.value,
        "keyed_in_at_desk": data.keyed_in_at_desk,
        "cross_boundary": data.cross_boundary,
        "status": Status.RECEIVED.value,
        "applicant_kind": applicant.kind.value,
        "applicant_name": applicant.name,
        "applicant_id_code": applicant.id_code,
        "identified_by_vneid": applicant.identified_by_vneid,
        "time_limit_amount": limit.amount,
        "time_limit_unit": limit.unit.value,
        "fees_due_vnd": fees,
        "submitted_at": submitted_at,
        "received_at": appointment.received_at,
        "initial_due_at": appointment.due_at,
        "due_at": appointment.due_at,
        "paused_seconds": 0,
        "supplement_requests": 0,
        "last_step_at": submitted_at,
        "submitted_by": ctx.principal.client_id or ctx.principal.subject,
        "details": {
            "components": [
                {**c.model_dump(mode="json"), "copies": given.copies}
                for c, given in zip(components, data.components, strict=True)
            ],
            "applicant_contact": {"address": applicant.address, "phone": applicant.phone, "email": applicant.email},
            "content": data.content,
            "postal_return_requested": data.postal_return_requested,
            "sector": procedure.sector.model_dump(mode="json"),
            "received_by": ctx.actor,
            "received_by_name": ctx.actor_name,
        },
    }
    # the code is not known before the lock: the event is built now and given its code after
    event = DossierReceived(
        dossier_code="",
        procedure_code=procedure.code,
        procedure_version=procedure.version,
        procedure_name=procedure.name,
        sector=Sector(code=procedure.sector.code, name=procedure.sector.name),
        online_level=procedure.online_level,
        has_fees=bool(procedure.fees),
        certification=procedure.certification,
        receiving_agency_code=data.receiving_agency_code,
        receiving_level=levels.receiving,
        handling_agency_code=handling_code,
        handling_level=levels.handling,
        desk=data.desk,
        channel=data.channel,
        keyed_in_at_desk=data.keyed_in_at_desk,
        cross_boundary=data.cross_boundary,
        # The bus carries a pseudonym only; the number, name and contact stay in intake's dossiers table.
        applicant=Applicant(
            kind=applicant.kind,
            pseudonym=ctx.runtime.pseudonymizer.pseudonym(applicant.id_code),
            identified_by_vneid=applicant.identified_by_vneid,
        ),
        components=components,
        time_limit=TimeLimitData(amount=limit.amount, unit=procedure.time_limit.unit),
        received_at=appointment.received_at,
        due_at=appointment.due_at,
        fees_due_vnd=fees,
        postal_return_requested=data.postal_return_requested,
        officer=ctx.officer,
    )
    imported = code is not None
    received: Envelope
    if code is None and is_postgresql(session):
        dossier, received = await _receive_in_one_statement(ctx, row, event, local_day)
        code = dossier.code
    else:
        if code is None:
            # From here to the commit the day's sequence row is locked: only the writes that carry the code follow.
            sequence = await sequences.next_sequence(session, data.receiving_agency_code, local_day)
            code = dossier_code(data.receiving_agency_code, local_day, sequence)
        else:
            await _keep_imported_code(ctx, code, data.receiving_agency_code)
        row["code"] = code
        # not added to the session: the row is written here, the object only carries it to the response and notices
        dossier = Dossier(**row)
        await session.execute(_INSERT_DOSSIER, [row])
        await audit(ctx, AuditAction.CREATE, [dossier], _AUDIT_DETAIL)
        [received] = await ctx.outbox.append(session, event.model_copy(update={"dossier_code": code}))
    if data.notices is not None and not imported:
        # An imported dossier's history must not text the citizen again: consent is given at a live receipt only.
        session.add(consent_row(code, data.notices, ctx.now))
        await session.flush()
    await outbound.after_receipt(session, ctx.outbound, dossier, str(received.id), ctx.now)
    return dossier


_AUDIT_DETAIL = {"command": "receive"}


async def _receive_in_one_statement(
    ctx: IntakeContext, row: dict[str, Any], event: DossierReceived, local_day: date
) -> tuple[Dossier, Envelope]:
    """PostgreSQL: one statement takes the day's next number, makes the code and writes the dossier, its audit row and
    its event, so the day's sequence row stays locked for one round trip and the commit, and no Python runs under it.
    Everything is built first with a stand-in for the code, which the statement replaces."""
    stand_in = f"code-{uuid.uuid4().hex}"
    row["code"] = stand_in
    dossier = Dossier(**row)  # not added to the session: it carries the row to the response and the notices
    [received], [event_row] = ctx.outbox.rows(ctx.session, event.model_copy(update={"dossier_code": stand_in}))
    [audit_row] = audit_rows(ctx, AuditAction.CREATE, [dossier], _AUDIT_DETAIL)
    agency = row["receiving_agency_code"]
    values = {
        "sequence.agency_code": agency,
        "sequence.day_on": local_day,
        "code.prefix": dossier_code_prefix(agency, local_day),
        "code.stand_in": stand_in,
        **prefixed("dossier", row),
        **prefixed("audit", audit_row),
        **prefixed("event", event_row),
    }
    statement = _receipt_statement(tuple(row), tuple(audit_row), tuple(event_row))
    dossier.code = str(await statement.fetchval(ctx.session, values))
    return dossier, received


@functools.cache
def _receipt_statement(dossier: tuple[str, ...], audit: tuple[str, ...], event: tuple[str, ...]) -> Prepared:
    # built once (a receipt always writes the same columns): the SQL and its parameters' order and conversions
    p = Prepared()
    code = "(SELECT code FROM code)"
    next_number = p.insert(
        SEQUENCES,
        ["agency_code", "day_on", "last"],
        prefix="sequence",
        sql={"last": "1"},
    )
    prefix = p.param("code.prefix", String())
    number = "next.last::text"
    payload = f"replace({p.param('event.payload', Text())}, {p.param('code.stand_in', String())}, {code})"
    p.sql = (
        f"WITH next AS ({next_number} ON CONFLICT (agency_code, day_on) DO UPDATE"
        " SET last = dossier_sequence.last + 1 RETURNING last),"
        # domain.codes.dossier_code in SQL: the number zero-padded to SEQUENCE_DIGITS digits, wider past them
        f" code AS (SELECT {prefix} || CASE WHEN length({number}) < {SEQUENCE_DIGITS}"
        f" THEN lpad({number}, {SEQUENCE_DIGITS}, '0') ELSE {number} END AS code FROM next),"
        f" dossier AS ({p.insert(_DOSSIERS, dossier, prefix='dossier', sql={'code': code})}),"
        f" audit AS ({p.insert(audit_log, audit, prefix='audit', sql={'subject_id': code})}),"
        f" event AS ({p.insert(outbox, event, prefix='event', sql={'key': code, 'payload': payload})})"
        " SELECT code FROM code"
    )
    return p


async def _keep_imported_code(ctx: IntakeContext, code: str, agency: str) -> None:
    parts = parse_dossier_code(code)
    if parts is None or parts.agency_code != agency:
        raise ReceiptRejected(
            "An imported code is <receiving agency code>-YYMMDD-XXXX",
            errors=[field_error(("code",), "not a dossier code of the receiving agency")],
        )
    if await repository.dossier_exists(ctx.session, code):
        raise DossierExists(f"Dossier {code} already exists")
    await sequences.reserve_sequence(ctx.session, agency, parts.received_on, parts.sequence)
