"""Dossier routes: receipt, look-ups and the lifecycle commands. Thin: parse, call the use case, shape the answer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel

from libs.common.app import DBSession
from libs.common.audit import AuditAction
from libs.common.auth import Role
from libs.common.contract import Channel
from libs.common.errors import Forbidden
from libs.common.idempotency import IdempotencyKey, once
from libs.common.limits import RATE_LIMITED_RESPONSES, public_rate_limit
from libs.common.validation import PageNumber, PageSize
from services.intake.catalogue_replica import service as replica
from services.intake.context import STAFF, Ctx, IntakeContext, allow
from services.intake.domain.deadlines import due_bound
from services.intake.domain.lifecycle import Command, Status
from services.intake.dossiers import citizen, commands, receipt, repository
from services.intake.dossiers import schemas as s
from services.intake.dossiers.audit import audit
from services.intake.dossiers.reads import PublicDossier, ValidDossier, personal_data_access, public_view, staff_view

router = APIRouter()

DESK, HANDLER, LEADER, PORTAL = Role.DESK_OFFICER, Role.HANDLER, Role.LEADER, Role.PORTAL

# ---------------------------------------------------------------- receipt and look-ups


@router.post(
    "/dossiers",
    status_code=status.HTTP_201_CREATED,
    operation_id="receive_dossier",
    tags=["dossiers"],
    dependencies=[allow(DESK, PORTAL)],
    response_model=s.DossierRead,
    responses={
        404: {"content": {"application/problem+json": {}}, "description": "no procedure with this code in force"}
    },
)
async def receive_dossier(body: s.DossierCreate, ctx: Ctx, idempotency_key: IdempotencyKey = None) -> Response:
    """Receive a dossier (form 01, receipt and appointment): checks the procedure version in force at receipt, the
    levels and agencies, the channel and the required components; assigns the code
    ``<receiving agency>-YYMMDD-XXXX`` and the appointment in working days; publishes ``DossierReceived``.

    The portal receives online dossiers only. 410 when the procedure is withdrawn; 422 naming the field otherwise.
    With an ``Idempotency-Key``, a retry of the same request returns the dossier received the first time.
    """
    if DESK not in ctx.principal.roles and body.channel is not Channel.ONLINE:
        raise Forbidden("The portal receives online dossiers only")

    async def receive() -> s.DossierRead:
        return staff_view(await receipt.receive_dossier(ctx, body), ctx.now)

    read = await _once(ctx, idempotency_key, "receive_dossier", body, receive)
    # The answer is already a DossierRead built by staff_view: returned as a model, FastAPI would dump it, validate
    # the dump against the same model and dump it again, on the busiest route. The schema stays in the OpenAPI.
    return Response(read.model_dump_json(), status_code=status.HTTP_201_CREATED, media_type="application/json")


@router.get("/dossiers", operation_id="list_dossiers", tags=["dossiers"], dependencies=[allow(*STAFF)])
async def list_dossiers(
    ctx: Ctx,
    agency: Annotated[str | None, Query(description="receiving, handling or current agency code")] = None,
    status_: Annotated[Status | None, Query(alias="status")] = None,
    overdue: Annotated[
        bool | None,
        Query(description="unfinished and overdue: past the due time in force, or asked twice to supplement"),
    ] = None,
    due_within: Annotated[
        int | None, Query(ge=0, le=60, description="unfinished and due by the close of the N-th working day from today")
    ] = None,
    page: PageNumber = 1,
    page_size: PageSize = 50,
) -> s.DossierPage:
    """Dossiers by agency, status, overdue and near due, earliest due first. ``due_within`` counts working days
    in the calendar of ``agency`` when it is given (its own hours and days), else in the province's."""
    due_before = None
    if due_within is not None:
        # "the N-th working day" of the agency asked about, else of the province (a list across agencies)
        calendar = await ctx.agency_calendar(agency) if agency else ctx.province_calendar
        due_before = due_bound(calendar, ctx.now, due_within)
    rows, total = await repository.list_dossiers(
        ctx.session,
        ctx.principal,
        now=ctx.now,
        agency=agency,
        status=status_.value if status_ else None,
        overdue=overdue,
        due_before=due_before,
        page=page,
        page_size=page_size,
    )
    await audit(ctx, AuditAction.READ, rows, {"list": True})
    return s.DossierPage(items=[staff_view(d, ctx.now) for d in rows], total=total, page=page, page_size=page_size)


@router.get("/dossiers/{code}", operation_id="get_dossier", tags=["dossiers"], dependencies=[allow(*STAFF)])
async def get_dossier(dossier: ValidDossier, ctx: Ctx) -> s.DossierRead:
    """A dossier as staff see it, with its outcome, overdue flag and the commands its state allows."""
    return staff_view(dossier, ctx.now)


@router.get(
    "/public/dossiers/{code}",
    operation_id="look_up_dossier",
    tags=["public"],
    response_model=s.PublicDossierRead,
    responses={
        200: {"content": {"text/html": {}}, "description": "JSON, or the citizen's page for a browser"},
        404: {"content": {"application/problem+json": {}}, "description": "no dossier with this code"},
    },
)
async def look_up_dossier(
    dossier: PublicDossier, session: DBSession, response: Response, accept: Annotated[str | None, Header()] = None
) -> s.PublicDossierRead | HTMLResponse:
    """Public look-up by dossier code (no authentication): status and appointment (the apology's new date if any).
    The applicant's name is masked; no identity number, address or contact.

    JSON for the portal and chat bots; a request that prefers ``text/html`` (a browser, e.g. from the QR code on
    form 01) gets the citizen's page in Vietnamese: status, appointment, what to bring and where to collect."""
    response.headers["Vary"] = "Accept"
    if not citizen.prefers_html(accept):
        return public_view(dossier)
    name = dossier.receiving_agency_name
    if not name:
        row = (await replica.agencies(session, {dossier.receiving_agency_code})).get(dossier.receiving_agency_code)
        name = row.name if row else dossier.receiving_agency_code
    return HTMLResponse(citizen.citizen_page(dossier, name), headers={"Vary": "Accept"})


@router.get(
    "/public/dossiers/{code}/personal-data-reads",
    operation_id="personal_data_reads",
    tags=["public"],
    dependencies=[Depends(public_rate_limit)],
    response_model=s.PersonalDataReadsRead,
    responses={
        **RATE_LIMITED_RESPONSES,
        200: {"content": {"text/html": {}}, "description": "JSON, or the citizen's page for a browser"},
    },
)
async def personal_data_reads(
    code: str,
    session: DBSession,
    id_last4: Annotated[str, Query(pattern=r"^[0-9]{4}$", description="last four digits of the identity number")],
    accept: Annotated[str | None, Header()] = None,
) -> s.PersonalDataReadsRead | HTMLResponse:
    """For the applicant (no authentication): which agencies read or changed the personal data in their dossier,
    and when. Needs the dossier code and the last four digits of the applicant's identity number; 404 if either
    does not match. Rate-limited per client address. A browser (from the form on the citizen's page) gets the
    answer as a Vietnamese page with the agencies' names."""
    reads = await personal_data_access(session, code, id_last4)
    if not citizen.prefers_html(accept):
        return reads
    codes = {r.agency_code for r in reads.reads if r.agency_code and r.agency_code != citizen.PROVINCE_WIDE}
    names = {c: row.name for c, row in (await replica.agencies(session, codes)).items()}
    return HTMLResponse(citizen.data_reads_page(reads, names), headers={"Vary": "Accept"})


# ---------------------------------------------------------------- lifecycle commands

_TAG: list[str | Enum] = ["lifecycle"]


async def _once(
    ctx: IntakeContext, key: str | None, request: str, body: BaseModel, answer: Callable[[], Awaitable[s.DossierRead]]
) -> s.DossierRead:
    return await once(
        ctx.session,
        owner=ctx.principal.subject,
        key=key,
        request=request,
        # the body is fingerprinted only under a key: without one, dumping it again is work for nothing
        body=body.model_dump(mode="json") if key is not None else {},
        now=ctx.now,
        model=s.DossierRead,
        answer=answer,
    )


async def _run(command: Command, code: str, body: Any, ctx: IntakeContext, key: str | None) -> s.DossierRead:
    _, handler = commands.COMMANDS[command]

    async def run() -> s.DossierRead:
        return staff_view(await handler(ctx, code, body), ctx.now)

    return await _once(ctx, key, f"{command.value} {code}", body, run)


@router.post(
    "/dossiers/{code}/transfer", operation_id="transfer_dossier", tags=_TAG, dependencies=[allow(DESK, HANDLER)]
)
async def transfer_dossier(
    code: str, body: s.TransferIn, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> s.DossierRead:
    """Hand the dossier over to a step or agency, electronically or on paper (a row of form 05).
    Publishes ``DossierTransferred``. 409 unless received or in progress."""
    return await _run(Command.TRANSFER, code, body, ctx, idempotency_key)


@router.post(
    "/dossiers/{code}/supplement-requests",
    operation_id="request_supplement",
    tags=_TAG,
    dependencies=[allow(DESK, HANDLER)],
)
async def request_supplement(
    code: str, body: s.SupplementRequestIn, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> s.DossierRead:
    """Ask the applicant to supplement the dossier (form 02): the clock pauses until the supplement arrives.
    A second request is allowed but makes the dossier late and overdue from then on (national index).
    Publishes ``SupplementRequested``."""
    return await _run(Command.REQUEST_SUPPLEMENT, code, body, ctx, idempotency_key)


@router.post(
    "/dossiers/{code}/supplements",
    operation_id="receive_supplement",
    tags=_TAG,
    dependencies=[allow(DESK, HANDLER, PORTAL)],
)
async def receive_supplement(
    code: str, body: s.SupplementReceivedIn, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> s.DossierRead:
    """The supplement arrived: the clock resumes and the due time moves by the paused working time.
    Publishes ``SupplementReceived`` with the new due time. 409 unless awaiting a supplement."""
    return await _run(Command.RECEIVE_SUPPLEMENT, code, body, ctx, idempotency_key)


@router.post("/dossiers/{code}/refusal", operation_id="refuse_dossier", tags=_TAG, dependencies=[allow(HANDLER)])
async def refuse_dossier(
    code: str, body: s.ReasonIn, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> s.DossierRead:
    """Refuse the accepted dossier with a reason (form 03): finished. Publishes ``DossierRefused`` with the due
    time in force and the outcome."""
    return await _run(Command.REFUSE, code, body, ctx, idempotency_key)


@router.post(
    "/dossiers/{code}/withdrawal", operation_id="withdraw_dossier", tags=_TAG, dependencies=[allow(DESK, PORTAL)]
)
async def withdraw_dossier(
    code: str, body: s.WithdrawalIn, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> s.DossierRead:
    """The applicant withdraws the dossier: closed, not finished, left out of timeliness.
    Publishes ``DossierWithdrawn``."""
    return await _run(Command.WITHDRAW, code, body, ctx, idempotency_key)


@router.post("/dossiers/{code}/stop", operation_id="stop_dossier", tags=_TAG, dependencies=[allow(HANDLER)])
async def stop_dossier(code: str, body: s.ReasonIn, ctx: Ctx, idempotency_key: IdempotencyKey = None) -> s.DossierRead:
    """Stop processing with a reason: finished. Publishes ``DossierStopped`` with the due time in force and the
    outcome."""
    return await _run(Command.STOP, code, body, ctx, idempotency_key)


@router.post("/dossiers/{code}/result", operation_id="resolve_dossier", tags=_TAG, dependencies=[allow(HANDLER)])
async def resolve_dossier(
    code: str, body: s.ResultIn, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> s.DossierRead:
    """Record the result (approved or denied; electronic or not), numbered ``<code>-KQ<n>``: finished.
    Publishes ``DossierResolved`` with the due time in force and the outcome."""
    return await _run(Command.RESOLVE, code, body, ctx, idempotency_key)


@router.post("/dossiers/{code}/return", operation_id="return_result", tags=_TAG, dependencies=[allow(DESK, PORTAL)])
async def return_result(code: str, body: s.ReturnIn, ctx: Ctx, idempotency_key: IdempotencyKey = None) -> s.DossierRead:
    """Return the result at the counter, by post or electronically. Publishes ``DossierReturned``.
    409 unless resolved."""
    return await _run(Command.RETURN, code, body, ctx, idempotency_key)


@router.post(
    "/dossiers/{code}/apology", operation_id="apologise_for_dossier", tags=_TAG, dependencies=[allow(HANDLER, LEADER)]
)
async def apologise_for_dossier(
    code: str, body: s.ApologyIn, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> s.DossierRead:
    """Apology with a new appointment (form 04): once per dossier, only when it is late or due within one working
    day (409 ``not_late`` otherwise). The public look-up shows the new date; the outcome is unchanged.
    Publishes ``DossierApologised``."""
    return await _run(Command.APOLOGISE, code, body, ctx, idempotency_key)


@router.post(
    "/dossiers/{code}/explanation", operation_id="explain_dossier", tags=_TAG, dependencies=[allow(HANDLER, LEADER)]
)
async def explain_dossier(
    code: str, body: s.ExplanationIn, ctx: Ctx, idempotency_key: IdempotencyKey = None
) -> s.DossierRead:
    """Explain the cause of lateness to the head of the agency: once, for a late (or nearly late) dossier.
    Publishes ``DossierExplained``."""
    return await _run(Command.EXPLAIN, code, body, ctx, idempotency_key)


@router.post("/dossiers/{code}/rating", operation_id="rate_dossier", tags=_TAG, dependencies=[allow(PORTAL)])
async def rate_dossier(code: str, body: s.RatingIn, ctx: Ctx, idempotency_key: IdempotencyKey = None) -> s.DossierRead:
    """The applicant's satisfaction rating, once per finished dossier. Publishes ``DossierRated``."""
    return await _run(Command.RATE, code, body, ctx, idempotency_key)
