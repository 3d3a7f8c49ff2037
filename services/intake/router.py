"""Intake's HTTP API: thin handlers that parse, call the service and shape the response."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.responses import HTMLResponse, Response

from libs.common.app import DBSession, RuntimeDep
from libs.common.auth import Principal, Role, require
from libs.common.calendar import VN_TZ, WorkingCalendar
from libs.common.contract import ApplicantKind, Channel, ProcedureSnapshot
from libs.common.errors import Forbidden, InvalidInput, field_error
from services.intake import forms, repository, service
from services.intake import schemas as s
from services.intake.domain import lifecycle
from services.intake.domain.formatting import mask_name, vn_time
from services.intake.domain.lifecycle import Command, Status
from services.intake.errors import DossierNotFound
from services.intake.models import Dossier, QueueTicket

router = APIRouter()

DeskOrPortal = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.PORTAL))]
Staff = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.HANDLER, Role.LEADER, Role.OPS))]
Desk = Annotated[Principal, Depends(require(Role.DESK_OFFICER))]
DeskOrHandler = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.HANDLER))]
Handler = Annotated[Principal, Depends(require(Role.HANDLER))]
HandlerOrLeader = Annotated[Principal, Depends(require(Role.HANDLER, Role.LEADER))]
Portal = Annotated[Principal, Depends(require(Role.PORTAL))]
SupplementReceivers = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.HANDLER, Role.PORTAL))]
Ops = Annotated[Principal, Depends(require(Role.OPS))]


def _calendar(request: Request) -> WorkingCalendar:
    calendar: WorkingCalendar = request.app.state.calendar
    return calendar


def _ctx(session: DBSession, rt: RuntimeDep, request: Request, principal: Principal) -> service.Context:
    return service.Context.of(session, rt.outbox, _calendar(request), principal.subject)


def read(dossier: Dossier, now: datetime) -> s.DossierRead:
    outcome = service.dossier_outcome(dossier)
    appointment = dossier.apology_due_at or dossier.due_at
    return s.DossierRead(
        code=dossier.code,
        status=dossier.status,
        procedure_code=dossier.procedure_code,
        procedure_version=dossier.procedure_version,
        procedure_name=dossier.procedure_name,
        receiving_agency_code=dossier.receiving_agency_code,
        receiving_level=dossier.receiving_level,
        handling_agency_code=dossier.handling_agency_code,
        handling_level=dossier.handling_level,
        current_agency_code=dossier.current_agency_code,
        desk=dossier.desk,
        channel=Channel(dossier.channel),
        keyed_in_at_desk=dossier.keyed_in_at_desk,
        cross_boundary=dossier.cross_boundary,
        applicant=s.ApplicantRead(
            kind=ApplicantKind(dossier.applicant_kind),
            id_code=dossier.applicant_id_code,
            name=dossier.applicant_name,
            identified_by_vneid=dossier.identified_by_vneid,
        ),
        time_limit=s.TimeLimitRead(amount=dossier.time_limit_amount, unit=dossier.time_limit_unit),
        received_at=dossier.received_at,
        initial_due_at=dossier.initial_due_at,
        due_at=dossier.due_at,
        appointment_at=appointment,
        appointment_text=vn_time(appointment),
        fees_due_vnd=dossier.fees_due_vnd,
        supplement_requests=dossier.supplement_requests,
        paused_at=dossier.paused_at,
        paused_seconds=dossier.paused_seconds,
        apology_due_at=dossier.apology_due_at,
        explained_at=dossier.explained_at,
        finished_at=dossier.finished_at,
        decision=dossier.decision,
        electronic_result=dossier.electronic_result,
        result_refs=list(dossier.details.get("result_refs", [])),
        returned_at=dossier.returned_at,
        return_channel=dossier.return_channel,
        rating=dossier.rating,
        outcome=outcome.value if outcome else None,
        overdue=service.dossier_overdue(dossier, now),
        allowed_commands=[c.value for c in lifecycle.allowed_commands(Status(dossier.status))],
        components=list(dossier.details.get("components", [])),
    )


async def _dossier(session: DBSession, code: str) -> Dossier:
    dossier = await repository.get_dossier(session, code)
    if dossier is None:
        raise DossierNotFound(f"No dossier {code}")
    return dossier


ValidDossier = Annotated[Dossier, Depends(_dossier)]


# ---------------------------------------------------------------- receipt and look-ups


@router.post("/dossiers", status_code=status.HTTP_201_CREATED, operation_id="receive_dossier", tags=["dossiers"])
async def receive_dossier(
    body: s.DossierCreate, session: DBSession, rt: RuntimeDep, request: Request, principal: DeskOrPortal
) -> s.DossierRead:
    """Receive a dossier (form 01, receipt and appointment): checks the procedure version in force at receipt, the
    levels and agencies, the channel and the required components; assigns the code
    ``<receiving agency>-YYMMDD-XXXX`` and the appointment in working days; publishes ``DossierReceived``.

    The portal receives online dossiers only. 410 when the procedure is withdrawn; 422 naming the field otherwise.
    """
    if Role.DESK_OFFICER not in principal.roles and body.channel is not Channel.ONLINE:
        raise Forbidden("The portal receives online dossiers only")
    ctx = _ctx(session, rt, request, principal)
    dossier = await service.receive_dossier(ctx, body)
    return read(dossier, ctx.now)


@router.get("/dossiers", operation_id="list_dossiers", tags=["dossiers"])
async def list_dossiers(
    session: DBSession,
    request: Request,
    _: Staff,
    agency: Annotated[str | None, Query(description="receiving, handling or current agency code")] = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    overdue: Annotated[bool | None, Query(description="unfinished and past the due time in force")] = None,
    due_within: Annotated[
        int | None, Query(ge=0, le=60, description="unfinished and due by the close of the N-th working day from today")
    ] = None,
    page: Annotated[int, Query(ge=1)] = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> s.DossierPage:
    """Dossiers by agency, status, overdue and near due, earliest due first."""
    now = datetime.now(UTC)
    due_before = None if due_within is None else service.due_bound(_calendar(request), now, due_within)
    rows, total = await repository.list_dossiers(
        session,
        now=now,
        agency=agency,
        status=status_.value if status_ else None,
        overdue=overdue,
        due_before=due_before,
        page=page,
        page_size=page_size,
    )
    return s.DossierPage(items=[read(d, now) for d in rows], total=total, page=page, page_size=page_size)


@router.get("/dossiers/{code}", operation_id="get_dossier", tags=["dossiers"])
async def get_dossier(dossier: ValidDossier, _: Staff) -> s.DossierRead:
    """A dossier as staff see it, with its outcome, overdue flag and the commands its state allows."""
    return read(dossier, datetime.now(UTC))


@router.get("/public/dossiers/{code}", operation_id="look_up_dossier", tags=["public"])
async def look_up_dossier(dossier: ValidDossier) -> s.PublicDossierRead:
    """Public look-up by dossier code (no authentication): status and appointment (the apology's new date if any).
    The applicant's name is masked; no identity number, address or contact."""
    appointment = dossier.apology_due_at or dossier.due_at
    masked = mask_name(dossier.applicant_name) if dossier.applicant_kind == "person" else dossier.applicant_name
    return s.PublicDossierRead(
        code=dossier.code,
        status=dossier.status,
        procedure_name=dossier.procedure_name,
        applicant=masked,
        received_at=dossier.received_at,
        appointment_at=appointment,
        appointment_text=vn_time(appointment),
        finished_at=dossier.finished_at,
        returned_at=dossier.returned_at,
    )


# ---------------------------------------------------------------- lifecycle commands

CommandResponse = s.DossierRead
_TAG: list[str | Enum] = ["lifecycle"]


async def _run(
    command: Command, code: str, body: Any, session: DBSession, rt: RuntimeDep, request: Request, who: Principal
) -> s.DossierRead:
    ctx = _ctx(session, rt, request, who)
    _, handler = service.COMMANDS[command]
    dossier = await handler(ctx, code, body)
    return read(dossier, ctx.now)


@router.post("/dossiers/{code}/transfer", operation_id="transfer_dossier", tags=_TAG)
async def transfer_dossier(
    code: str, body: s.TransferIn, session: DBSession, rt: RuntimeDep, request: Request, who: DeskOrHandler
) -> s.DossierRead:
    """Hand the dossier over to a step or agency, electronically or on paper (a row of form 05).
    Publishes ``DossierTransferred``. 409 unless received or in progress."""
    return await _run(Command.TRANSFER, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/supplement-requests", operation_id="request_supplement", tags=_TAG)
async def request_supplement(
    code: str, body: s.SupplementRequestIn, session: DBSession, rt: RuntimeDep, request: Request, who: DeskOrHandler
) -> s.DossierRead:
    """Ask the applicant to supplement the dossier (form 02): the clock pauses until the supplement arrives.
    A second request is allowed but makes the dossier late (national index). Publishes ``SupplementRequested``."""
    return await _run(Command.REQUEST_SUPPLEMENT, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/supplements", operation_id="receive_supplement", tags=_TAG)
async def receive_supplement(
    code: str,
    body: s.SupplementReceivedIn,
    session: DBSession,
    rt: RuntimeDep,
    request: Request,
    who: SupplementReceivers,
) -> s.DossierRead:
    """The supplement arrived: the clock resumes and the due time moves by the paused working time.
    Publishes ``SupplementReceived`` with the new due time. 409 unless awaiting a supplement."""
    return await _run(Command.RECEIVE_SUPPLEMENT, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/refusal", operation_id="refuse_dossier", tags=_TAG)
async def refuse_dossier(
    code: str, body: s.ReasonIn, session: DBSession, rt: RuntimeDep, request: Request, who: Handler
) -> s.DossierRead:
    """Refuse the accepted dossier with a reason (form 03): finished. Publishes ``DossierRefused``."""
    return await _run(Command.REFUSE, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/withdrawal", operation_id="withdraw_dossier", tags=_TAG)
async def withdraw_dossier(
    code: str, body: s.WithdrawalIn, session: DBSession, rt: RuntimeDep, request: Request, who: DeskOrPortal
) -> s.DossierRead:
    """The applicant withdraws the dossier: closed, not finished, left out of timeliness.
    Publishes ``DossierWithdrawn``."""
    return await _run(Command.WITHDRAW, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/stop", operation_id="stop_dossier", tags=_TAG)
async def stop_dossier(
    code: str, body: s.ReasonIn, session: DBSession, rt: RuntimeDep, request: Request, who: Handler
) -> s.DossierRead:
    """Stop processing with a reason: finished. Publishes ``DossierStopped``."""
    return await _run(Command.STOP, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/result", operation_id="resolve_dossier", tags=_TAG)
async def resolve_dossier(
    code: str, body: s.ResultIn, session: DBSession, rt: RuntimeDep, request: Request, who: Handler
) -> s.DossierRead:
    """Record the result (approved or denied; electronic or not), numbered ``<code>-KQ<n>``: finished.
    Publishes ``DossierResolved`` with the due time in force."""
    return await _run(Command.RESOLVE, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/return", operation_id="return_result", tags=_TAG)
async def return_result(
    code: str, body: s.ReturnIn, session: DBSession, rt: RuntimeDep, request: Request, who: DeskOrPortal
) -> s.DossierRead:
    """Return the result at the counter, by post or electronically. Publishes ``DossierReturned``.
    409 unless resolved."""
    return await _run(Command.RETURN, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/apology", operation_id="apologise_for_dossier", tags=_TAG)
async def apologise_for_dossier(
    code: str, body: s.ApologyIn, session: DBSession, rt: RuntimeDep, request: Request, who: HandlerOrLeader
) -> s.DossierRead:
    """Apology with a new appointment (form 04): once per dossier, only when it is late or due within one working
    day (409 ``not_late`` otherwise). The public look-up shows the new date; the outcome is unchanged.
    Publishes ``DossierApologised``."""
    return await _run(Command.APOLOGISE, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/explanation", operation_id="explain_dossier", tags=_TAG)
async def explain_dossier(
    code: str, body: s.ExplanationIn, session: DBSession, rt: RuntimeDep, request: Request, who: HandlerOrLeader
) -> s.DossierRead:
    """Explain the cause of lateness to the head of the agency: once, for a late (or nearly late) dossier.
    Publishes ``DossierExplained``."""
    return await _run(Command.EXPLAIN, code, body, session, rt, request, who)


@router.post("/dossiers/{code}/rating", operation_id="rate_dossier", tags=_TAG)
async def rate_dossier(
    code: str, body: s.RatingIn, session: DBSession, rt: RuntimeDep, request: Request, who: Portal
) -> s.DossierRead:
    """The applicant's satisfaction rating, once per finished dossier. Publishes ``DossierRated``."""
    return await _run(Command.RATE, code, body, session, rt, request, who)


# ---------------------------------------------------------------- documents


@router.get("/dossiers/{code}/control-sheet", operation_id="control_sheet", tags=["forms"])
async def control_sheet(dossier: ValidDossier, session: DBSession, _: Staff) -> s.ControlSheet:
    """Process control sheet (form 05) as data: one row per recorded step with its time and result."""
    steps = await repository.steps(session, dossier.code)
    return s.ControlSheet(
        dossier_code=dossier.code,
        applicant_name=dossier.applicant_name,
        procedure_name=dossier.procedure_name,
        received_at=dossier.received_at,
        due_at=dossier.due_at,
        handling_agencies=forms.handling_agencies(dossier, steps),
        rows=[s.ControlSheetRow.model_validate(row) for row in forms.control_sheet_rows(dossier, steps)],
    )


@router.get(
    "/dossiers/{code}/forms/{number}.html",
    operation_id="render_form",
    tags=["forms"],
    response_class=HTMLResponse,
)
async def render_form(number: str, dossier: ValidDossier, session: DBSession, _: Staff) -> HTMLResponse:
    """Forms of Circular 01/2018 as printable HTML: 01 receipt and appointment, 02 request to supplement,
    03 refusal, 04 apology and new appointment, 05 process control sheet. 404 for a form the dossier does not have."""
    if number not in forms.FORMS:
        forms.render(number, dossier, [], None, None)  # raises FormNotAvailable
    steps = await repository.steps(session, dossier.code) if number in ("02", "05") else []
    agency = (await repository.agencies(session, {dossier.receiving_agency_code})).get(dossier.receiving_agency_code)
    procedure: ProcedureSnapshot | None = None
    entry: int | None = None
    if number == "01":
        replica = await repository.procedure_version(session, dossier.procedure_code, dossier.procedure_version)
        procedure = ProcedureSnapshot.model_validate(replica.snapshot) if replica else None
        year = dossier.received_at.astimezone(VN_TZ).year
        year_start = service.local_window(date(year, 1, 1), date(year, 12, 31))[0]
        entry = await repository.book_entry(session, dossier, year_start)
    return HTMLResponse(forms.render(number, dossier, steps, agency, procedure, entry))


@router.get("/tracking-book.csv", operation_id="tracking_book", tags=["forms"], response_class=Response)
async def tracking_book(
    session: DBSession,
    _: Staff,
    agency: Annotated[str, Query(description="receiving agency code")],
    year: Annotated[int, Query(ge=2000, le=2100)],
) -> Response:
    """Tracking book (form 06) of one receiving agency for one year, as CSV (UTF-8 with BOM); entry numbers run
    through the year in receipt order."""
    start, end = service.local_window(date(year, 1, 1), date(year, 12, 31))
    dossiers = await repository.tracking_book(session, agency, start, end)
    return Response(
        forms.tracking_book_csv(dossiers),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="so-theo-doi-{agency}-{year}.csv"'},
    )


@router.get("/stats/dossiers", operation_id="dossier_stats", tags=["stats"])
async def dossier_stats(
    session: DBSession,
    _: Staff,
    from_: Annotated[date, Query(alias="from", description="first local day (Asia/Ho_Chi_Minh), inclusive")],
    to: Annotated[date, Query(description="last local day, inclusive")],
) -> s.DossierStats:
    """Dossiers received and finished (result, refusal after acceptance, stop) per receiving agency in a window of
    local days: reporting's parity check. Shape documented in docs/intake.md."""
    if to < from_:
        raise InvalidInput("The window ends before it starts", errors=[field_error(("to",), "before 'from'")])
    start, end = service.local_window(from_, to)
    agencies = await repository.counts_by_receiving_agency(session, start, end)
    return s.DossierStats(
        window=s.StatsWindow(from_=from_, to=to),
        agencies=[s.AgencyCount(**row) for row in agencies],
    )


# ---------------------------------------------------------------- imports


async def _import_rows(request: Request) -> list[Any]:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise InvalidInput("Send the file in the 'file' field", errors=[field_error(("file",), "missing")])
        raw = (await upload.read()).decode("utf-8-sig")
    else:
        raw = (await request.body()).decode("utf-8-sig")
    text = raw.strip()
    if text.startswith("["):
        try:
            rows = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidInput("Not a JSON array", errors=[field_error(("file",), str(exc))]) from exc
        if not isinstance(rows, list):
            raise InvalidInput("Not a JSON array", errors=[field_error(("file",), "expected an array")])
        return rows
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:
            rows.append({"__unparsable__": f"line {number}: {exc}"})
    return rows


@router.post("/imports/dossiers", operation_id="import_dossiers", tags=["imports"])
async def import_dossiers(session: DBSession, rt: RuntimeDep, request: Request, who: Ops) -> s.ImportReport:
    """Import historical dossiers with their steps, from a JSON array or JSON lines (the raw body, or a multipart
    upload in ``file``). Each row: the receipt fields with ``at`` required, optionally its original ``code``, and
    ``steps``: ``[{"command": "transfer", "at": ..., ...}, ...]``. Each row is applied in its own savepoint: a bad row
    is reported with its reasons and the good rows are kept. Every step publishes its event, as live ones do."""
    rows = await _import_rows(request)
    return await service.import_dossiers(_ctx(session, rt, request, who), rows)


# ---------------------------------------------------------------- queue


def _ticket(ticket: QueueTicket) -> s.TicketRead:
    read_ = s.TicketRead.model_validate(ticket)
    if ticket.served_at is not None:
        read_.wait_seconds = int((ticket.served_at - ticket.issued_at).total_seconds())
    return read_


@router.post("/queue/tickets", status_code=status.HTTP_201_CREATED, operation_id="issue_ticket", tags=["queue"])
async def issue_ticket(
    body: s.TicketCreate, session: DBSession, rt: RuntimeDep, request: Request, who: Desk
) -> s.TicketRead:
    """Issue a queue ticket at a desk; numbers run through the day per agency."""
    return _ticket(await service.issue_ticket(_ctx(session, rt, request, who), body))


@router.post("/queue/tickets/{ticket_id}/call", operation_id="call_ticket", tags=["queue"])
async def call_ticket(
    ticket_id: str, body: s.TicketCall, session: DBSession, rt: RuntimeDep, request: Request, who: Desk
) -> s.TicketRead:
    """Call the ticket to a desk (again, if the visitor did not come forward)."""
    return _ticket(await service.call_ticket(_ctx(session, rt, request, who), ticket_id, body))


@router.post("/queue/tickets/{ticket_id}/serve", operation_id="serve_ticket", tags=["queue"])
async def serve_ticket(
    ticket_id: str, body: s.TicketServe, session: DBSession, rt: RuntimeDep, request: Request, who: Desk
) -> s.TicketRead:
    """The visitor is served: publishes ``QueueTicketServed`` with the wait from ticket to service."""
    return _ticket(await service.serve_ticket(_ctx(session, rt, request, who), ticket_id, body))
