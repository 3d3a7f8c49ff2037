"""Intake use cases. They flush and append outbox events; the request boundary commits."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.calendar import VN_TZ, LimitUnit, TimeLimit, WorkingCalendar
from libs.common.contract import (
    AgencyPublished,
    Applicant,
    Channel,
    DossierApologised,
    DossierExplained,
    DossierOverdue,
    DossierRated,
    DossierReceived,
    DossierRefused,
    DossierResolved,
    DossierReturned,
    DossierStopped,
    DossierTransferred,
    DossierWithdrawn,
    EventPayload,
    OnlineLevel,
    Outcome,
    ProcedureSnapshot,
    QueueTicketServed,
    Sector,
    SubmittedComponent,
    SupplementReceived,
    SupplementRequested,
    TimeLimitData,
    judge_outcome,
    overdue,
)
from libs.common.errors import DomainError, field_error
from libs.common.messaging.outbox import Outbox
from services.intake import repository
from services.intake import schemas as s
from services.intake.domain import deadlines, lifecycle
from services.intake.domain.codes import dossier_code, parse_dossier_code
from services.intake.domain.lifecycle import Command, Status
from services.intake.domain.queue import TICKET_TRANSITIONS, TicketCommand, TicketStatus, wait_seconds
from services.intake.errors import (
    AlreadyRecorded,
    CommandRejected,
    DossierExists,
    DossierNotFound,
    NotLate,
    ProcedureUnknown,
    ProcedureWithdrawn,
    ReceiptRejected,
    TicketNotFound,
    TicketTransitionNotAllowed,
    TransitionNotAllowed,
)
from services.intake.models import AgencyReplica, Dossier, DossierStep, ProcedureReplica, QueueTicket


@dataclass(frozen=True)
class Context:
    """What every use case needs: the request's session, the outbox, the calendar, who acts and when it is now."""

    session: AsyncSession
    outbox: Outbox
    calendar: WorkingCalendar
    actor: str
    now: datetime

    @classmethod
    def of(cls, session: AsyncSession, outbox: Outbox, calendar: WorkingCalendar, actor: str) -> Context:
        return cls(session, outbox, calendar, actor, datetime.now(UTC))


def _at(ctx: Context, at: datetime | None, previous: datetime | None = None) -> datetime:
    """The command's time: now by default, never in the future, never before the previous step (422 naming at)."""
    if at is None:
        at = ctx.now
    at = at.astimezone(UTC)
    if at > ctx.now:
        raise CommandRejected("A step cannot be recorded in the future", errors=[field_error(("at",), "in the future")])
    if previous is not None and at < previous:
        raise CommandRejected(
            f"The dossier's previous step was at {previous.isoformat()}; a later step cannot be dated before it",
            errors=[field_error(("at",), "before the dossier's previous step")],
        )
    return at


# ---------------------------------------------------------------- receipt


def _required_missing(procedure: ProcedureSnapshot, submitted: set[str]) -> list[str]:
    return [c.code for c in procedure.components if c.required and c.code not in submitted]


def _level(
    given: str | None, agency: AgencyReplica | None, procedure: ProcedureSnapshot, field: str, errors: list[Any]
) -> str:
    """The administrative level: as given, else the agency replica's, else the procedure's only level."""
    if given is not None:
        if agency is not None and agency.level != given:
            errors.append(field_error((field,), f"the agency is at level {agency.level!r}, not {given!r}"))
        return given
    if agency is not None:
        return agency.level
    if len(procedure.levels) == 1:
        return procedure.levels[0]
    errors.append(field_error((field,), "unknown agency: give its administrative level"))
    return ""


def _check_receipt(
    data: s.DossierCreate,
    procedure: ProcedureSnapshot,
    receiving: AgencyReplica | None,
    handling: AgencyReplica | None,
    handling_code: str,
) -> tuple[str, str]:
    errors: list[dict[str, Any]] = []
    receiving_level = _level(data.receiving_level, receiving, procedure, "receiving_level", errors)
    handling_level = _level(data.handling_level, handling, procedure, "handling_level", errors)
    named = {e["field"] for e in errors}
    if procedure.levels:
        # Since 1 July 2025 any desk of the province may receive a dossier of another level or area (cross-boundary).
        if receiving_level not in procedure.levels and "receiving_level" not in named and not data.cross_boundary:
            errors.append(
                field_error(("receiving_level",), f"the procedure is received at {', '.join(procedure.levels)}")
            )
        if handling_level not in procedure.levels and "handling_level" not in named:
            errors.append(
                field_error(("handling_level",), f"the procedure is handled at {', '.join(procedure.levels)}")
            )
    if procedure.agency_codes and handling_code not in procedure.agency_codes:
        errors.append(field_error(("handling_agency_code",), "this agency does not handle the procedure"))
    if handling is not None and handling.procedure_codes and procedure.code not in handling.procedure_codes:
        errors.append(field_error(("handling_agency_code",), "the agency's catalogue does not list this procedure"))
    if data.channel is Channel.ONLINE and procedure.online_level is OnlineLevel.NONE:
        errors.append(field_error(("channel",), "the procedure is not offered online"))
    if data.channel is Channel.POSTAL and not procedure.postal_allowed:
        errors.append(field_error(("channel",), "the procedure cannot be submitted by post"))
    if data.cross_boundary and not procedure.cross_boundary_allowed:
        errors.append(field_error(("cross_boundary",), "the procedure is not received across boundaries"))
    missing = _required_missing(procedure, {c.code for c in data.components})
    if missing:
        errors.append(field_error(("components",), f"required components missing: {', '.join(missing)}"))
    if errors:
        fields = ", ".join(dict.fromkeys(e["field"] for e in errors))
        raise ReceiptRejected(f"The dossier cannot be received: {fields}", errors=errors)
    return receiving_level, handling_level


async def receive_dossier(ctx: Context, data: s.DossierCreate, *, code: str | None = None) -> Dossier:
    """Receipt and appointment (form 01): the version in force, the checks, the code, the due time, the event.

    A handful of statements: procedure, agencies, sequence, insert, outbox. ``code`` keeps an imported dossier's
    original code.
    """
    session = ctx.session
    submitted_at = _at(ctx, data.at)
    procedure = await _procedure_for(ctx, data.procedure_code, submitted_at)
    limit = TimeLimit(procedure.time_limit.amount, LimitUnit(procedure.time_limit.unit.value))
    appointment = deadlines.appointment(ctx.calendar, submitted_at, limit)
    local_day = appointment.received_at.astimezone(VN_TZ).date()
    handling_code = data.handling_agency_code or data.receiving_agency_code
    replicas = await repository.agencies(session, {data.receiving_agency_code, handling_code})
    receiving_level, handling_level = _check_receipt(
        data, procedure, replicas.get(data.receiving_agency_code), replicas.get(handling_code), handling_code
    )
    if code is None:
        sequence = await repository.next_sequence(session, data.receiving_agency_code, local_day)
        code = dossier_code(data.receiving_agency_code, local_day, sequence)
    else:
        await _keep_imported_code(ctx, code, data.receiving_agency_code)
    must_digitise = {c.code for c in procedure.components if c.must_digitise}
    components = [
        SubmittedComponent(code=c.code, form=c.form, must_digitise=c.code in must_digitise, digitised=c.digitised)
        for c in data.components
    ]
    fees = sum(f.amount_vnd or 0 for f in procedure.fees)
    applicant = data.applicant
    dossier = Dossier(
        code=code,
        procedure_code=procedure.code,
        procedure_version=procedure.version,
        procedure_name=procedure.name,
        receiving_agency_code=data.receiving_agency_code,
        receiving_level=receiving_level,
        handling_agency_code=handling_code,
        handling_level=handling_level,
        current_agency_code=data.receiving_agency_code,
        desk=data.desk,
        channel=data.channel.value,
        keyed_in_at_desk=data.keyed_in_at_desk,
        cross_boundary=data.cross_boundary,
        status=Status.RECEIVED.value,
        applicant_kind=applicant.kind.value,
        applicant_name=applicant.name,
        applicant_id_code=applicant.id_code,
        identified_by_vneid=applicant.identified_by_vneid,
        time_limit_amount=limit.amount,
        time_limit_unit=limit.unit.value,
        fees_due_vnd=fees,
        submitted_at=submitted_at,
        received_at=appointment.received_at,
        initial_due_at=appointment.due_at,
        due_at=appointment.due_at,
        paused_seconds=0,
        supplement_requests=0,
        last_step_at=submitted_at,
        details={
            "components": [
                {**c.model_dump(mode="json"), "copies": given.copies}
                for c, given in zip(components, data.components, strict=True)
            ],
            "applicant_contact": {"address": applicant.address, "phone": applicant.phone, "email": applicant.email},
            "content": data.content,
            "postal_return_requested": data.postal_return_requested,
            "sector": procedure.sector.model_dump(mode="json"),
            "received_by": ctx.actor,
        },
    )
    session.add(dossier)
    await session.flush()
    await ctx.outbox.append(
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
            receiving_level=receiving_level,
            handling_agency_code=handling_code,
            handling_level=handling_level,
            desk=data.desk,
            channel=data.channel,
            keyed_in_at_desk=data.keyed_in_at_desk,
            cross_boundary=data.cross_boundary,
            applicant=Applicant(
                kind=applicant.kind,
                id_code=applicant.id_code,
                name=applicant.name,
                identified_by_vneid=applicant.identified_by_vneid,
            ),
            components=components,
            time_limit=TimeLimitData(amount=limit.amount, unit=procedure.time_limit.unit),
            received_at=appointment.received_at,
            due_at=appointment.due_at,
            fees_due_vnd=fees,
            postal_return_requested=data.postal_return_requested,
        ),
    )
    return dossier


async def _procedure_for(ctx: Context, code: str, at: datetime) -> ProcedureSnapshot:
    """The version in force on the (local) day of receipt; 410 once withdrawn, 404 if never published."""
    local_day = at.astimezone(VN_TZ).date()
    replica = await repository.procedure_in_force(ctx.session, code, local_day)
    if replica is None:
        if await repository.any_procedure_version(ctx.session, code):
            raise ProcedureWithdrawn(f"Procedure {code} is not in force on {local_day:%d/%m/%Y}")
        raise ProcedureUnknown(f"Procedure {code} is not in the catalogue")
    procedure = ProcedureSnapshot.model_validate(replica.snapshot)
    if procedure.in_force_until is not None and local_day > procedure.in_force_until:
        raise ProcedureWithdrawn(f"Procedure {code} was withdrawn on {procedure.in_force_until:%d/%m/%Y}")
    return procedure


async def _keep_imported_code(ctx: Context, code: str, agency: str) -> None:
    parts = parse_dossier_code(code)
    if parts is None or parts.agency_code != agency:
        raise ReceiptRejected(
            "An imported code is <receiving agency code>-YYMMDD-XXXX",
            errors=[field_error(("code",), "not a dossier code of the receiving agency")],
        )
    if await repository.get_dossier(ctx.session, code) is not None:
        raise DossierExists(f"Dossier {code} already exists")
    await repository.reserve_sequence(ctx.session, agency, parts.received_on, parts.sequence)


# ---------------------------------------------------------------- lifecycle commands


@dataclass
class _Step:
    dossier: Dossier
    before: Status
    after: Status
    at: datetime


async def _begin(ctx: Context, code: str, command: Command, at: datetime | None) -> _Step:
    dossier = await repository.lock_dossier(ctx.session, code)
    if dossier is None:
        raise DossierNotFound(f"No dossier {code}")
    before = Status(dossier.status)
    try:
        after = lifecycle.next_status(before, command)
    except lifecycle.TransitionRefused as refused:
        raise TransitionNotAllowed(
            f"Cannot {command.value.replace('_', ' ')} dossier {code}: it is {before.value.replace('_', ' ')}",
            state=before.value,
            command=command.value,
            allowed_commands=[c.value for c in lifecycle.allowed_commands(before)],
        ) from refused
    return _Step(dossier, before, after, _at(ctx, at, dossier.last_step_at))


async def _record(
    ctx: Context,
    step: _Step,
    command: Command,
    event: EventPayload,
    *,
    from_agency: str | None = None,
    to_agency: str | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> Dossier:
    dossier = step.dossier
    dossier.status = step.after.value
    dossier.last_step_at = step.at
    ctx.session.add(
        DossierStep(
            dossier_code=dossier.code,
            command=command.value,
            at=step.at,
            actor=ctx.actor,
            status_before=step.before.value,
            status_after=step.after.value,
            from_agency_code=from_agency,
            to_agency_code=to_agency,
            note=note,
            details=details or {},
        )
    )
    await ctx.session.flush()
    await ctx.outbox.append(ctx.session, event)
    return dossier


def _details(dossier: Dossier, **changes: Any) -> None:
    # a new dict, so the JSON column is seen as changed
    dossier.details = {**dossier.details, **changes}


async def transfer(ctx: Context, code: str, body: s.TransferIn) -> Dossier:
    step = await _begin(ctx, code, Command.TRANSFER, body.at)
    dossier = step.dossier
    source = dossier.current_agency_code
    dossier.current_agency_code = body.to_agency_code
    event = DossierTransferred(
        dossier_code=code,
        from_agency_code=source,
        to_agency_code=body.to_agency_code,
        step=body.step,
        mode=body.mode,
        inter_agency=source != body.to_agency_code,
        at=step.at,
    )
    return await _record(
        ctx,
        step,
        Command.TRANSFER,
        event,
        from_agency=source,
        to_agency=body.to_agency_code,
        note=body.note,
        details={"mode": body.mode.value, "step": body.step},
    )


async def request_supplement(ctx: Context, code: str, body: s.SupplementRequestIn) -> Dossier:
    step = await _begin(ctx, code, Command.REQUEST_SUPPLEMENT, body.at)
    dossier = step.dossier
    dossier.supplement_requests += 1
    dossier.paused_at = step.at
    request = {"sequence": dossier.supplement_requests, "items": body.items, "reason": body.reason}
    _details(dossier, supplements=[*dossier.details.get("supplements", []), {**request, "at": step.at.isoformat()}])
    event = SupplementRequested(
        dossier_code=code, sequence=dossier.supplement_requests, items=body.items, reason=body.reason, at=step.at
    )
    return await _record(ctx, step, Command.REQUEST_SUPPLEMENT, event, note=body.reason, details=request)


def _close_pause(ctx: Context, dossier: Dossier, at: datetime) -> int:
    """End the pause under way: the due time moves by the paused working time. Returns the paused seconds."""
    if dossier.paused_at is None:
        return 0
    resumed = deadlines.resume(ctx.calendar, dossier.due_at, dossier.paused_at, at)
    paused = int(resumed.paused.total_seconds())
    dossier.due_at = resumed.due_at
    dossier.paused_seconds += paused
    dossier.paused_at = None
    return paused


async def receive_supplement(ctx: Context, code: str, body: s.SupplementReceivedIn) -> Dossier:
    step = await _begin(ctx, code, Command.RECEIVE_SUPPLEMENT, body.at)
    dossier = step.dossier
    paused = _close_pause(ctx, dossier, step.at)
    event = SupplementReceived(
        dossier_code=code,
        sequence=dossier.supplement_requests,
        paused_seconds=paused,
        due_at=dossier.due_at,
        at=step.at,
    )
    return await _record(
        ctx,
        step,
        Command.RECEIVE_SUPPLEMENT,
        event,
        details={"items": body.items, "paused_seconds": paused, "due_at": dossier.due_at.isoformat()},
    )


def _finish(ctx: Context, dossier: Dossier, at: datetime) -> None:
    _close_pause(ctx, dossier, at)
    dossier.finished_at = at
    dossier.closed_at = at


async def refuse(ctx: Context, code: str, body: s.ReasonIn) -> Dossier:
    step = await _begin(ctx, code, Command.REFUSE, body.at)
    _finish(ctx, step.dossier, step.at)
    _details(step.dossier, refusal_reason=body.reason)
    event = DossierRefused(
        dossier_code=code,
        reason=body.reason,
        due_at=step.dossier.due_at,
        outcome=finished_outcome(step.dossier),
        at=step.at,
    )
    return await _record(ctx, step, Command.REFUSE, event, note=body.reason)


async def stop(ctx: Context, code: str, body: s.ReasonIn) -> Dossier:
    step = await _begin(ctx, code, Command.STOP, body.at)
    _finish(ctx, step.dossier, step.at)
    _details(step.dossier, stop_reason=body.reason)
    event = DossierStopped(
        dossier_code=code,
        reason=body.reason,
        due_at=step.dossier.due_at,
        outcome=finished_outcome(step.dossier),
        at=step.at,
    )
    return await _record(ctx, step, Command.STOP, event, note=body.reason)


async def withdraw(ctx: Context, code: str, body: s.WithdrawalIn) -> Dossier:
    step = await _begin(ctx, code, Command.WITHDRAW, body.at)
    step.dossier.closed_at = step.at
    step.dossier.paused_at = None
    _details(step.dossier, withdrawal_reason=body.reason)
    event = DossierWithdrawn(dossier_code=code, reason=body.reason, at=step.at)
    return await _record(ctx, step, Command.WITHDRAW, event, note=body.reason)


async def resolve(ctx: Context, code: str, body: s.ResultIn) -> Dossier:
    step = await _begin(ctx, code, Command.RESOLVE, body.at)
    dossier = step.dossier
    _finish(ctx, dossier, step.at)
    dossier.decision = body.decision.value
    dossier.electronic_result = body.electronic_result
    # Decree 45/2020 Art. 14: the result is numbered <dossier code>-KQ<n>
    refs = [f"{code}-KQ{n}" for n in range(1, body.result_count + 1)]
    _details(dossier, result_refs=refs)
    event = DossierResolved(
        dossier_code=code,
        decision=body.decision,
        electronic_result=body.electronic_result,
        result_refs=refs,
        due_at=dossier.due_at,
        outcome=finished_outcome(dossier),
        at=step.at,
    )
    return await _record(
        ctx,
        step,
        Command.RESOLVE,
        event,
        details={"decision": body.decision.value, "electronic_result": body.electronic_result, "result_refs": refs},
    )


async def return_result(ctx: Context, code: str, body: s.ReturnIn) -> Dossier:
    step = await _begin(ctx, code, Command.RETURN, body.at)
    step.dossier.returned_at = step.at
    step.dossier.return_channel = body.channel.value
    event = DossierReturned(dossier_code=code, channel=body.channel, at=step.at)
    return await _record(ctx, step, Command.RETURN, event, details={"channel": body.channel.value})


def late_or_soon(ctx: Context, dossier: Dossier, at: datetime) -> bool:
    """Late (finished late, or overdue) or due within one working day: when forms 04 and the explanation apply."""
    if dossier.finished_at is not None:
        return finished_outcome(dossier) is Outcome.LATE
    if dossier_overdue(dossier, at):
        return True
    if dossier.paused_at is not None:
        return False  # the clock stands still: the time left does not shrink
    return deadlines.apology_window_open(ctx.calendar, dossier.due_at, at)


async def apologise(ctx: Context, code: str, body: s.ApologyIn) -> Dossier:
    step = await _begin(ctx, code, Command.APOLOGISE, body.at)
    dossier = step.dossier
    if dossier.apologised_at is not None:
        raise AlreadyRecorded(
            f"Dossier {code} already has its apology (at most one, Decree 61 Art. 19)", record="apology"
        )
    if not late_or_soon(ctx, dossier, step.at):
        raise NotLate(
            f"Dossier {code} is due {dossier.due_at.isoformat()}: an apology is issued within one working day of the "
            "due time or once late",
            due_at=dossier.due_at.isoformat(),
        )
    new_due = body.new_due_at.astimezone(UTC)
    if new_due <= max(dossier.due_at, step.at):
        raise CommandRejected(
            "The new appointment must be later than the due time and than the apology",
            errors=[field_error(("new_due_at",), "not later than the due time in force")],
        )
    dossier.apology_due_at = new_due
    dossier.apologised_at = step.at
    _details(dossier, apology_reason=body.reason)
    event = DossierApologised(dossier_code=code, reason=body.reason, new_due_at=new_due, at=step.at)
    return await _record(
        ctx, step, Command.APOLOGISE, event, note=body.reason, details={"new_due_at": new_due.isoformat()}
    )


async def explain(ctx: Context, code: str, body: s.ExplanationIn) -> Dossier:
    step = await _begin(ctx, code, Command.EXPLAIN, body.at)
    dossier = step.dossier
    if dossier.explained_at is not None:
        raise AlreadyRecorded(f"Dossier {code} already has its explanation", record="explanation")
    if not late_or_soon(ctx, dossier, step.at):
        raise NotLate(f"Dossier {code} is not late: nothing to explain", due_at=dossier.due_at.isoformat())
    dossier.explained_at = step.at
    _details(dossier, explanation=body.cause)
    event = DossierExplained(dossier_code=code, cause=body.cause, at=step.at)
    return await _record(ctx, step, Command.EXPLAIN, event, note=body.cause)


async def rate(ctx: Context, code: str, body: s.RatingIn) -> Dossier:
    step = await _begin(ctx, code, Command.RATE, body.at)
    dossier = step.dossier
    if dossier.rated_at is not None:
        raise AlreadyRecorded(f"Dossier {code} is already rated (once per dossier)", record="rating")
    dossier.rated_at = step.at
    dossier.rating = body.rating.value
    event = DossierRated(dossier_code=code, rating=body.rating, comment=body.comment, at=step.at)
    return await _record(ctx, step, Command.RATE, event, note=body.comment, details={"rating": body.rating.value})


COMMANDS: dict[Command, tuple[type[BaseModel], Any]] = {
    Command.TRANSFER: (s.TransferIn, transfer),
    Command.REQUEST_SUPPLEMENT: (s.SupplementRequestIn, request_supplement),
    Command.RECEIVE_SUPPLEMENT: (s.SupplementReceivedIn, receive_supplement),
    Command.REFUSE: (s.ReasonIn, refuse),
    Command.WITHDRAW: (s.WithdrawalIn, withdraw),
    Command.STOP: (s.ReasonIn, stop),
    Command.RESOLVE: (s.ResultIn, resolve),
    Command.RETURN: (s.ReturnIn, return_result),
    Command.APOLOGISE: (s.ApologyIn, apologise),
    Command.EXPLAIN: (s.ExplanationIn, explain),
    Command.RATE: (s.RatingIn, rate),
}


# ---------------------------------------------------------------- reads


def finished_outcome(dossier: Dossier) -> Outcome:
    """The outcome of a dossier that has just finished or finished earlier (docs/domain.md, "Outcome")."""
    assert dossier.finished_at is not None
    return judge_outcome(dossier.finished_at, dossier.due_at, dossier.supplement_requests)


def dossier_outcome(dossier: Dossier) -> Outcome | None:
    if dossier.finished_at is None or dossier.status not in {st.value for st in lifecycle.FINISHED}:
        return None
    return finished_outcome(dossier)


def dossier_overdue(dossier: Dossier, at: datetime) -> bool:
    """Whether the dossier, as intake holds it now, is overdue at ``at`` (docs/domain.md, "Overdue")."""
    if Status(dossier.status) not in lifecycle.UNFINISHED:
        return False
    return overdue(
        at, due_at=dossier.due_at, paused_since=dossier.paused_at, second_request=dossier.supplement_requests > 1
    )


def due_bound(calendar: WorkingCalendar, now: datetime, working_days: int) -> datetime:
    """Closing time of the N-th working day from today (0: today), for "due within N working days"."""
    today = now.astimezone(VN_TZ).date()
    if working_days == 0:
        day = today if calendar.is_working_day(today) else calendar.next_working_day(today)
    else:
        day = calendar.add_working_days(today, working_days)
    return datetime.combine(day, calendar.hours.closing(), tzinfo=VN_TZ).astimezone(UTC)


def local_window(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in Asia/Ho_Chi_Minh, as UTC instants."""
    return (
        datetime.combine(start, time(0), tzinfo=VN_TZ).astimezone(UTC),
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=VN_TZ).astimezone(UTC),
    )


# ---------------------------------------------------------------- overdue job


async def publish_overdue(session: AsyncSession, outbox: Outbox, now: datetime, limit: int = 500) -> int:
    """Publish DossierOverdue once for every unfinished dossier that passed its due time. Returns how many."""
    rows = await repository.overdue_to_publish(session, now, limit)
    events: list[EventPayload] = []
    for dossier in rows:
        dossier.overdue_published_at = now
        events.append(DossierOverdue(dossier_code=dossier.code, due_at=dossier.due_at, at=now))
    if events:
        await session.flush()
        await outbox.append(session, *events)
    return len(events)


# ---------------------------------------------------------------- imports


class ImportStep(BaseModel):
    command: Command


class ImportRow(s.DossierCreate):
    """A historical dossier: the receipt fields (``at`` required), optionally its original code, and its steps
    in order, each ``{"command": "<transfer|request_supplement|…>", "at": …, <that command's fields>}``."""

    at: AwareDatetime
    code: str | None = None
    steps: list[dict[str, Any]] = Field(default_factory=list)


def _validation_errors(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[dict[str, Any]]:
    return [field_error((*prefix, *err["loc"]), err["msg"], err["type"]) for err in exc.errors()]


async def import_row(ctx: Context, raw: Any) -> str:
    """Receive one historical dossier and replay its steps; raises on the first problem."""
    if isinstance(raw, dict) and "__unparsable__" in raw:
        raise CommandRejected("Not JSON", errors=[field_error(("line",), str(raw["__unparsable__"]))])
    try:
        row = ImportRow.model_validate(raw)
    except ValidationError as exc:
        raise CommandRejected("Invalid row", errors=_validation_errors(exc)) from exc
    if row.at.tzinfo is None:
        raise CommandRejected("Invalid row", errors=[field_error(("at",), "must carry a time zone")])
    data = s.DossierCreate.model_validate(row.model_dump(exclude={"code", "steps"}))
    dossier = await receive_dossier(ctx, data, code=row.code)
    for index, raw_step in enumerate(row.steps):
        try:
            command = ImportStep.model_validate(raw_step).command
            model, handler = COMMANDS[command]
            body = model.model_validate({k: v for k, v in raw_step.items() if k != "command"})
        except ValidationError as exc:
            raise CommandRejected(f"Invalid step {index}", errors=_validation_errors(exc, ("steps", index))) from exc
        try:
            await handler(ctx, dossier.code, body)
        except DomainError as exc:
            exc.detail = f"step {index} ({command.value}): {exc.detail}"
            raise
    return dossier.code


async def import_dossiers(ctx: Context, rows: list[Any]) -> s.ImportReport:
    """Each row in its own SAVEPOINT: a bad row is reported and rolled back, the good ones stay."""
    results: list[s.ImportRowResult] = []
    for number, raw in enumerate(rows, start=1):
        try:
            async with ctx.session.begin_nested():
                code = await import_row(ctx, raw)
        except DomainError as exc:
            errors = exc.errors or [{"loc": [], "field": "", "msg": exc.detail, "type": exc.code}]
            results.append(
                s.ImportRowResult(
                    row=number,
                    status="rejected",
                    errors=[
                        {**e, "msg": e.get("msg", exc.detail), "detail": exc.detail, "code": exc.code} for e in errors
                    ],
                )
            )
            continue
        results.append(s.ImportRowResult(row=number, status="accepted", dossier_code=code))
    accepted = sum(1 for r in results if r.status == "accepted")
    return s.ImportReport(accepted=accepted, rejected=len(results) - accepted, rows=results)


# ---------------------------------------------------------------- queue


async def issue_ticket(ctx: Context, body: s.TicketCreate) -> QueueTicket:
    at = _at(ctx, body.at)
    level = body.level
    if level is None:
        agency = (await repository.agencies(ctx.session, {body.agency_code})).get(body.agency_code)
        level = agency.level if agency is not None else None
    number = await repository.next_sequence(ctx.session, f"queue:{body.agency_code}", at.astimezone(VN_TZ).date())
    ticket = QueueTicket(
        id=str(uuid.uuid4()),
        number=number,
        agency_code=body.agency_code,
        level=level,
        desk=body.desk,
        status=TicketStatus.WAITING.value,
        issued_at=at,
    )
    ctx.session.add(ticket)
    await ctx.session.flush()
    return ticket


async def _ticket_step(
    ctx: Context, ticket_id: str, command: TicketCommand, at: datetime | None
) -> tuple[QueueTicket, TicketStatus, datetime]:
    ticket = await repository.lock_ticket(ctx.session, ticket_id)
    if ticket is None:
        raise TicketNotFound(f"No queue ticket {ticket_id}")
    status = TicketStatus(ticket.status)
    after = TICKET_TRANSITIONS.get((status, command))
    if after is None:
        raise TicketTransitionNotAllowed(
            f"Cannot {command.value} a ticket that is {status.value}", state=status.value, command=command.value
        )
    previous = ticket.called_at or ticket.issued_at
    return ticket, after, _at(ctx, at, previous)


async def call_ticket(ctx: Context, ticket_id: str, body: s.TicketCall) -> QueueTicket:
    ticket, after, at = await _ticket_step(ctx, ticket_id, TicketCommand.CALL, body.at)
    ticket.status = after.value
    ticket.called_at = at
    if body.desk is not None:
        ticket.desk = body.desk
    await ctx.session.flush()
    return ticket


async def serve_ticket(ctx: Context, ticket_id: str, body: s.TicketServe) -> QueueTicket:
    ticket, after, at = await _ticket_step(ctx, ticket_id, TicketCommand.SERVE, body.at)
    ticket.status = after.value
    ticket.served_at = at
    ticket.served_by = ctx.actor
    await ctx.session.flush()
    await ctx.outbox.append(
        ctx.session,
        QueueTicketServed(
            ticket_id=ticket.id,
            agency_code=ticket.agency_code,
            level=ticket.level,
            desk=ticket.desk,
            issued_at=ticket.issued_at,
            served_at=at,
            wait_seconds=wait_seconds(ticket.issued_at, at),
        ),
    )
    return ticket


# ---------------------------------------------------------------- catalogue replica


async def store_procedure(session: AsyncSession, event: Any) -> None:
    """Keep the replica of a published, amended or withdrawn procedure version."""
    snapshot: ProcedureSnapshot = event.procedure
    row = await session.get(ProcedureReplica, (snapshot.code, snapshot.version))
    if row is None:
        row = ProcedureReplica(code=snapshot.code, version=snapshot.version)
        session.add(row)
    row.in_force_from = snapshot.in_force_from
    row.in_force_until = snapshot.in_force_until
    withdrawn_on: date | None = getattr(event, "withdrawn_on", None)
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
