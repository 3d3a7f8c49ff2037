"""The dossier's lifecycle commands after receipt: each locks the dossier, checks the transition table, records a
step and appends its event (docs/intake.md, "States"; Decree 61/2018 Art. 17–20)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from libs.common.audit import AuditAction
from libs.common.calendar import WorkingCalendar
from libs.common.contract import (
    DossierApologised,
    DossierExplained,
    DossierRated,
    DossierRefused,
    DossierResolved,
    DossierReturned,
    DossierStopped,
    DossierTransferred,
    DossierWithdrawn,
    EventPayload,
    ReturnChannel,
    SupplementReceived,
    SupplementRequested,
    TransferMode,
)
from libs.common.contract.timeliness import Outcome
from libs.common.errors import Forbidden, field_error
from services.intake.context import IntakeContext
from services.intake.domain import deadlines, lifecycle, receipt
from services.intake.domain.lifecycle import Command, Status
from services.intake.dossiers import reads, repository
from services.intake.dossiers import schemas as s
from services.intake.dossiers.audit import audit
from services.intake.errors import (
    AlreadyRecorded,
    CommandRejected,
    DossierNotFound,
    NotLate,
    TransitionNotAllowed,
)
from services.intake.integrations import outbound
from services.intake.models import Dossier, DossierStep


@dataclass
class _Step:
    dossier: Dossier
    before: Status
    after: Status
    at: datetime


async def _begin(ctx: IntakeContext, code: str, command: Command, at: datetime | None) -> _Step:
    dossier = await repository.lock_dossier(ctx.session, ctx.principal, code)
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
    return _Step(dossier, before, after, ctx.step_time(at, dossier.last_step_at))


async def _record(
    ctx: IntakeContext,
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
            actor_name=ctx.actor_name,
            status_before=step.before.value,
            status_after=step.after.value,
            from_agency_code=from_agency,
            to_agency_code=to_agency,
            note=note,
            details=details or {},
        )
    )
    await ctx.session.flush()
    await audit(ctx, AuditAction.CHANGE, [dossier], {"command": command.value})
    [appended] = await ctx.outbox.append(ctx.session, with_officer(ctx, event))
    await outbound.after_step(
        ctx.session,
        ctx.outbound,
        dossier,
        command,
        str(appended.id),
        actor=ctx.actor,
        at=step.at,
        now=ctx.now,
        details={**(details or {}), "reason": note},
    )
    return dossier


def with_officer(ctx: IntakeContext, event: EventPayload) -> EventPayload:
    """The event with the acting officer (``ctx.officer``) on it, for every event type that records one."""
    if "officer" not in type(event).model_fields:
        return event
    return event.model_copy(update={"officer": ctx.officer})


async def dossier_calendar(ctx: IntakeContext, dossier: Dossier) -> WorkingCalendar:
    """The calendar the dossier's legal clock runs on: its receiving agency's, for every step and whoever holds the
    dossier now, as it decided the receipt and the appointment (docs/domain.md §Working hours)."""
    return await ctx.agency_calendar(dossier.receiving_agency_code)


def _details(dossier: Dossier, **changes: Any) -> None:
    # a new dict, so the JSON column is seen as changed
    dossier.details = {**dossier.details, **changes}


async def transfer(ctx: IntakeContext, code: str, body: s.TransferIn) -> Dossier:
    step = await _begin(ctx, code, Command.TRANSFER, body.at)
    dossier = step.dossier
    source = dossier.current_agency_code
    dossier.current_agency_code = body.to_agency_code
    inter_agency = source != body.to_agency_code
    # only the hand-over out of the one-stop desk has the same-day limit (Decree 61/2018 Art. 18)
    from_desk_since = dossier.received_at if step.before is Status.RECEIVED else None
    timing = deadlines.transfer_timing(
        await dossier_calendar(ctx, dossier),
        step.at,
        paper=body.mode is TransferMode.PAPER,
        from_desk_since=from_desk_since,
    )
    if inter_agency:
        # the next agency's handling step starts here: its three days to ask for a supplement count from it
        _details(dossier, handling_step_started_at=timing.effective_at.isoformat())
    event = DossierTransferred(
        dossier_code=code,
        from_agency_code=source,
        to_agency_code=body.to_agency_code,
        step=body.step,
        mode=body.mode,
        inter_agency=inter_agency,
        at=step.at,
        effective_at=timing.effective_at,
        late=timing.late,
    )
    return await _record(
        ctx,
        step,
        Command.TRANSFER,
        event,
        from_agency=source,
        to_agency=body.to_agency_code,
        note=body.note,
        details={
            "mode": body.mode.value,
            "step": body.step,
            "effective_at": timing.effective_at.isoformat(),
            "late": timing.late,
        },
    )


def handling_step_started_at(dossier: Dossier) -> datetime:
    """Where the three working days to ask for a supplement count from: the last transfer to another agency, else
    the (effective) receipt."""
    started = dossier.details.get("handling_step_started_at")
    return datetime.fromisoformat(started) if started else dossier.received_at


async def request_supplement(ctx: IntakeContext, code: str, body: s.SupplementRequestIn) -> Dossier:
    step = await _begin(ctx, code, Command.REQUEST_SUPPLEMENT, body.at)
    dossier = step.dossier
    dossier.supplement_requests += 1
    dossier.paused_at = step.at
    calendar = await dossier_calendar(ctx, dossier)
    in_time = step.at <= deadlines.supplement_window_ends_at(calendar, handling_step_started_at(dossier))
    request = {
        "sequence": dossier.supplement_requests,
        "items": body.items,
        "reason": body.reason,
        "in_time": in_time,
    }
    _details(dossier, supplements=[*dossier.details.get("supplements", []), {**request, "at": step.at.isoformat()}])
    event = SupplementRequested(
        dossier_code=code,
        sequence=dossier.supplement_requests,
        items=body.items,
        reason=body.reason,
        at=step.at,
        in_time=in_time,
        handling_agency_code=dossier.current_agency_code,
    )
    return await _record(ctx, step, Command.REQUEST_SUPPLEMENT, event, note=body.reason, details=request)


async def _close_pause(ctx: IntakeContext, dossier: Dossier, at: datetime) -> int:
    """End the pause under way: the due time moves by the paused working time. Returns the paused seconds."""
    if dossier.paused_at is None:
        return 0
    resumed = deadlines.resume(await dossier_calendar(ctx, dossier), dossier.due_at, dossier.paused_at, at)
    paused = int(resumed.paused.total_seconds())
    dossier.due_at = resumed.due_at
    dossier.paused_seconds += paused
    dossier.paused_at = None
    return paused


async def receive_supplement(ctx: IntakeContext, code: str, body: s.SupplementReceivedIn) -> Dossier:
    step = await _begin(ctx, code, Command.RECEIVE_SUPPLEMENT, body.at)
    dossier = step.dossier
    paused = await _close_pause(ctx, dossier, step.at)
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


async def _finish(ctx: IntakeContext, dossier: Dossier, at: datetime) -> dict[str, Any]:
    """Finish the dossier; a pause under way ends now (refused or stopped while waiting for a supplement), and the
    step records its end so the due time in force can be checked. Returns the step's details about the pause."""
    waiting = dossier.paused_at is not None
    paused = await _close_pause(ctx, dossier, at)
    dossier.finished_at = at
    dossier.closed_at = at
    return (
        {"pause_ended_at": at.isoformat(), "paused_seconds": paused, "due_at": dossier.due_at.isoformat()}
        if (waiting)
        else {}
    )


async def refuse(ctx: IntakeContext, code: str, body: s.ReasonIn) -> Dossier:
    step = await _begin(ctx, code, Command.REFUSE, body.at)
    pause = await _finish(ctx, step.dossier, step.at)
    _details(step.dossier, refusal_reason=body.reason)
    event = DossierRefused(
        dossier_code=code,
        reason=body.reason,
        due_at=step.dossier.due_at,
        outcome=reads.finished_outcome(step.dossier),
        at=step.at,
    )
    return await _record(ctx, step, Command.REFUSE, event, note=body.reason, details=pause)


async def stop(ctx: IntakeContext, code: str, body: s.ReasonIn) -> Dossier:
    step = await _begin(ctx, code, Command.STOP, body.at)
    pause = await _finish(ctx, step.dossier, step.at)
    _details(step.dossier, stop_reason=body.reason)
    event = DossierStopped(
        dossier_code=code,
        reason=body.reason,
        due_at=step.dossier.due_at,
        outcome=reads.finished_outcome(step.dossier),
        at=step.at,
    )
    return await _record(ctx, step, Command.STOP, event, note=body.reason, details=pause)


async def withdraw(ctx: IntakeContext, code: str, body: s.WithdrawalIn) -> Dossier:
    step = await _begin(ctx, code, Command.WITHDRAW, body.at)
    step.dossier.closed_at = step.at
    step.dossier.paused_at = None
    _details(step.dossier, withdrawal_reason=body.reason)
    event = DossierWithdrawn(dossier_code=code, reason=body.reason, at=step.at)
    return await _record(ctx, step, Command.WITHDRAW, event, note=body.reason)


async def resolve(ctx: IntakeContext, code: str, body: s.ResultIn) -> Dossier:
    step = await _begin(ctx, code, Command.RESOLVE, body.at)
    dossier = step.dossier
    await _finish(ctx, dossier, step.at)
    dossier.decision = body.decision.value
    dossier.electronic_result = body.electronic_result
    refs = receipt.result_refs(code, body.result_count)
    _details(dossier, result_refs=refs)
    event = DossierResolved(
        dossier_code=code,
        decision=body.decision,
        electronic_result=body.electronic_result,
        result_refs=refs,
        due_at=dossier.due_at,
        outcome=reads.finished_outcome(dossier),
        at=step.at,
    )
    return await _record(
        ctx,
        step,
        Command.RESOLVE,
        event,
        details={"decision": body.decision.value, "electronic_result": body.electronic_result, "result_refs": refs},
    )


async def return_result(ctx: IntakeContext, code: str, body: s.ReturnIn) -> Dossier:
    if not ctx.principal.roles & repository.STAFF_ROLES and body.channel is not ReturnChannel.ELECTRONIC:
        # the portal hands nothing over at a counter or by post: only the desk does
        raise Forbidden("The portal returns results electronically only")
    step = await _begin(ctx, code, Command.RETURN, body.at)
    step.dossier.returned_at = step.at
    step.dossier.return_channel = body.channel.value
    event = DossierReturned(dossier_code=code, channel=body.channel, at=step.at)
    return await _record(ctx, step, Command.RETURN, event, details={"channel": body.channel.value})


async def late_or_soon(ctx: IntakeContext, dossier: Dossier, at: datetime) -> bool:
    """Late (finished late, or overdue) or due within one working day: when the explanation to the head applies."""
    if dossier.finished_at is not None:
        return reads.finished_outcome(dossier) is Outcome.LATE
    if reads.dossier_overdue(dossier, at):
        return True
    if dossier.paused_at is not None:
        return False  # the clock stands still: the time left does not shrink
    return deadlines.due_within_a_working_day(await dossier_calendar(ctx, dossier), dossier.due_at, at)


async def apologise(ctx: IntakeContext, code: str, body: s.ApologyIn) -> Dossier:
    """Form 04 at any time while the dossier is unfinished (the transition table); whether it came at least one
    working day before the due time in force is recorded, not enforced (docs/domain.md, "Apology")."""
    step = await _begin(ctx, code, Command.APOLOGISE, body.at)
    dossier = step.dossier
    if dossier.apologised_at is not None:
        raise AlreadyRecorded(
            f"Dossier {code} already has its apology (at most one, Decree 61 Art. 19)", record="apology"
        )
    new_due = body.new_due_at.astimezone(UTC)
    if new_due <= max(dossier.due_at, step.at):
        raise CommandRejected(
            "The new appointment must be later than the due time and than the apology",
            errors=[field_error(("new_due_at",), "not later than the due time in force")],
        )
    calendar = await dossier_calendar(ctx, dossier)
    in_time = deadlines.apology_in_time(calendar, dossier.due_at, step.at, dossier.paused_at)
    dossier.apology_due_at = new_due
    dossier.apologised_at = step.at
    _details(dossier, apology_reason=body.reason, apology_issued_in_time=in_time)
    event = DossierApologised(
        dossier_code=code, reason=body.reason, new_due_at=new_due, at=step.at, issued_in_time=in_time
    )
    return await _record(
        ctx,
        step,
        Command.APOLOGISE,
        event,
        note=body.reason,
        details={"new_due_at": new_due.isoformat(), "issued_in_time": in_time},
    )


async def explain(ctx: IntakeContext, code: str, body: s.ExplanationIn) -> Dossier:
    step = await _begin(ctx, code, Command.EXPLAIN, body.at)
    dossier = step.dossier
    if dossier.explained_at is not None:
        raise AlreadyRecorded(f"Dossier {code} already has its explanation", record="explanation")
    if not await late_or_soon(ctx, dossier, step.at):
        raise NotLate(f"Dossier {code} is not late: nothing to explain", due_at=dossier.due_at.isoformat())
    dossier.explained_at = step.at
    _details(dossier, explanation=body.cause)
    event = DossierExplained(dossier_code=code, cause=body.cause, at=step.at)
    return await _record(ctx, step, Command.EXPLAIN, event, note=body.cause)


async def rate(ctx: IntakeContext, code: str, body: s.RatingIn) -> Dossier:
    step = await _begin(ctx, code, Command.RATE, body.at)
    dossier = step.dossier
    if dossier.rated_at is not None:
        raise AlreadyRecorded(f"Dossier {code} is already rated (once per dossier)", record="rating")
    dossier.rated_at = step.at
    dossier.rating = body.rating.value
    event = DossierRated(dossier_code=code, rating=body.rating, comment=body.comment, at=step.at)
    return await _record(ctx, step, Command.RATE, event, note=body.comment, details={"rating": body.rating.value})


CommandHandler = Callable[[IntakeContext, str, Any], Awaitable[Dossier]]

# what the import replays: each command's body model and use case
COMMANDS: dict[Command, tuple[type[BaseModel], CommandHandler]] = {
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
