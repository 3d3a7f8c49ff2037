"""Payments' HTTP API: thin handlers that parse, call the service and shape the response."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response, status

from libs.common.app import DBSession, RuntimeDep
from libs.common.auth import Principal, Role, require
from libs.common.contract import PaymentChannel
from libs.common.errors import Forbidden
from services.payments import schemas as s
from services.payments import service
from services.payments.domain import states
from services.payments.domain.states import PaymentStatus
from services.payments.models import FeeAssessment, Payment

router = APIRouter()

DeskOrHandler = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.HANDLER))]
DeskOrPortal = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.PORTAL))]
Desk = Annotated[Principal, Depends(require(Role.DESK_OFFICER))]
HandlerOrOps = Annotated[Principal, Depends(require(Role.HANDLER, Role.OPS))]
Ops = Annotated[Principal, Depends(require(Role.OPS))]
Readers = Annotated[Principal, Depends(require(Role.DESK_OFFICER, Role.HANDLER, Role.PORTAL, Role.OPS))]

_PROBLEM: dict[str, Any] = {"application/problem+json": {}}
DOSSIER_UNKNOWN: dict[int | str, dict[str, Any]] = {
    404: {"content": _PROBLEM, "description": "no dossier of the caller's agencies with this code"}
}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"content": _PROBLEM, "description": "the payment's state or amounts refuse it, or a reused key"}
}

IDEMPOTENCY_KEY = (
    "A key the client makes up for this request (a UUID). Sent again with the same body, it returns the same result; "
    "with another body, 409 idempotency_key_reused."
)


def _ctx(request: Request, session: DBSession, rt: RuntimeDep, actor: str | Principal) -> service.Context:
    """The use cases' context: scoped to the principal's agencies, or unscoped for a provider's signed callback."""
    secrets: dict[str, str] = request.app.state.provider_secrets
    return service.Context.of(session, rt.outbox, secrets, actor, rt.clock)


def read_payment(payment: Payment) -> s.PaymentRead:
    current = PaymentStatus(payment.status)
    return s.PaymentRead(
        id=payment.id,
        dossier_code=payment.dossier_code,
        procedure_code=payment.procedure_code,
        amount_vnd=payment.amount_vnd,
        channel=PaymentChannel(payment.channel),
        provider=payment.provider,
        status=current,
        refunded_vnd=payment.refunded_vnd,
        refundable_vnd=states.refundable(current, payment.amount_vnd, payment.refunded_vnd),
        provider_ref=payment.provider_ref,
        failure_reason=payment.failure_reason,
        created_at=payment.created_at,
        succeeded_at=payment.succeeded_at,
        failed_at=payment.failed_at,
        allowed_commands=states.allowed_commands(current),
    )


def read_assessment(assessment: FeeAssessment) -> s.AssessmentRead:
    return s.AssessmentRead(
        id=assessment.id,
        dossier_code=assessment.dossier_code,
        procedure_code=assessment.procedure_code,
        items=[s.FeeItemIn.model_validate(item) for item in assessment.items],
        total_vnd=assessment.total_vnd,
        assessed_at=assessment.assessed_at,
        superseded_at=assessment.superseded_at,
    )


# ---------------------------------------------------------------- fees


@router.post(
    "/assessments",
    status_code=status.HTTP_201_CREATED,
    operation_id="assess_fees",
    tags=["fees"],
    responses={
        200: {"model": s.AssessmentRead, "description": "the same fees are already in force"},
        **DOSSIER_UNKNOWN,
    },
)
async def assess_fees(
    body: s.AssessmentCreate,
    request: Request,
    session: DBSession,
    rt: RuntimeDep,
    response: Response,
    principal: DeskOrHandler,
) -> s.AssessmentRead:
    """Assess the fees (phí) and charges (lệ phí) a dossier must pay (Decree 61/2018 Art. 22); publishes
    ``FeeAssessed`` with the items and their total in VND.

    A dossier has one assessment in force: a different one supersedes it (201, a new ``FeeAssessed``); the same
    procedure and items again answer 200 with the assessment in force and publish nothing. Payment intents of the
    dossier may not exceed what is left to pay.
    """
    assessed = await service.assess(_ctx(request, session, rt, principal), body)
    if not assessed.created:
        response.status_code = status.HTTP_200_OK
    return read_assessment(assessed.assessment)


@router.get("/dossiers/{dossier_code}/fees", operation_id="get_dossier_fees", tags=["fees"])
async def get_dossier_fees(
    dossier_code: str, request: Request, session: DBSession, rt: RuntimeDep, principal: Readers
) -> s.DossierFees:
    """A dossier's fees: the assessment in force, every payment intent with its state, what was paid (net of
    refunds) and what is left to pay (negative when overpaid)."""
    summary = await service.dossier_fees(_ctx(request, session, rt, principal), dossier_code)
    assessment = summary.assessment
    return s.DossierFees(
        dossier_code=dossier_code,
        assessment=read_assessment(assessment) if assessment is not None else None,
        assessed_vnd=assessment.total_vnd if assessment is not None else 0,
        paid_vnd=summary.paid_vnd,
        refunded_vnd=summary.refunded_vnd,
        outstanding_vnd=summary.outstanding_vnd,
        payments=[read_payment(p) for p in summary.payments],
    )


# ---------------------------------------------------------------- payments


@router.post(
    "/payments",
    status_code=status.HTTP_201_CREATED,
    operation_id="create_payment",
    tags=["payments"],
    responses={
        200: {"model": s.PaymentRead, "description": "a repeat of an earlier request with this key"},
        **DOSSIER_UNKNOWN,
        **CONFLICT,
    },
)
async def create_payment(
    body: s.PaymentCreate,
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", description=IDEMPOTENCY_KEY)],
    request: Request,
    session: DBSession,
    rt: RuntimeDep,
    response: Response,
    principal: DeskOrPortal,
) -> s.PaymentRead:
    """Create a payment intent (state ``created``): nothing is paid yet. An online intent names a configured
    provider, which settles it with a signed callback to ``/callbacks/{provider}``; a counter or postal intent is
    settled by the desk with ``/payments/{id}/confirm``. The portal creates online intents only.

    Requires ``Idempotency-Key``: the same key with the same body returns the first intent (200); with another body
    it is 409 ``idempotency_key_reused``. 409 ``amount_exceeds_outstanding`` when the dossier's assessment leaves
    less to pay; 422 naming the field otherwise.
    """
    if Role.DESK_OFFICER not in principal.roles and body.channel is not PaymentChannel.ONLINE:
        raise Forbidden("The portal creates online payments only")
    created = await service.create_payment(_ctx(request, session, rt, principal), idempotency_key, body)
    if not created.created:
        response.status_code = status.HTTP_200_OK
    return read_payment(created.payment)


@router.get("/payments/{payment_id}", operation_id="get_payment", tags=["payments"])
async def get_payment(
    payment_id: str, request: Request, session: DBSession, rt: RuntimeDep, principal: Readers
) -> s.PaymentRead:
    """One payment: its state, what was refunded and can still be, and the commands its state allows."""
    return read_payment(await service.get_payment(_ctx(request, session, rt, principal), payment_id))


@router.post("/payments/{payment_id}/confirm", operation_id="confirm_payment", tags=["payments"], responses=CONFLICT)
async def confirm_payment(
    payment_id: str,
    request: Request,
    session: DBSession,
    rt: RuntimeDep,
    principal: Desk,
    body: s.ConfirmCreate | None = None,
) -> s.PaymentRead:
    """The desk received the money of a counter or postal intent: it succeeds and ``PaymentSucceeded`` is
    published. Confirming again is harmless (200, nothing published). An online intent is settled only by its
    provider (409 ``transition_not_allowed``), as is a failed one."""
    ctx = _ctx(request, session, rt, principal)
    return read_payment(await service.confirm(ctx, payment_id, body or s.ConfirmCreate()))


@router.post(
    "/payments/{payment_id}/refunds",
    status_code=status.HTTP_201_CREATED,
    operation_id="refund_payment",
    tags=["payments"],
    responses=CONFLICT,
)
async def refund_payment(
    payment_id: str,
    body: s.RefundCreate,
    request: Request,
    session: DBSession,
    rt: RuntimeDep,
    response: Response,
    principal: HandlerOrOps,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", description=IDEMPOTENCY_KEY)] = None,
) -> s.RefundRead:
    """Record a refund of a succeeded payment, in full or in part (several refunds up to its amount); publishes
    ``PaymentRefunded`` with this refund's amount. The payment becomes ``partially_refunded``, then ``refunded``
    once all of it is returned.

    409 ``refund_exceeds_payment`` (with ``refundable_vnd``) when more is asked than is left, 409
    ``transition_not_allowed`` for a payment that took no money. An optional ``Idempotency-Key`` makes retries safe.
    """
    ctx = _ctx(request, session, rt, principal)
    done = await service.refund(ctx, payment_id, body, idempotency_key)
    if not done.created:
        response.status_code = status.HTTP_200_OK
    return s.RefundRead(
        id=done.refund.id,
        payment_id=done.refund.payment_id,
        amount_vnd=done.refund.amount_vnd,
        reason=done.refund.reason,
        created_at=done.refund.created_at,
        payment=read_payment(done.payment),
    )


# ---------------------------------------------------------------- providers


@router.post(
    "/callbacks/{provider}",
    operation_id="receive_provider_callback",
    tags=["providers"],
    responses={401: {"content": _PROBLEM, "description": "bad_signature"}, **CONFLICT},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": s.ProviderNotification.model_json_schema()}},
        }
    },
)
async def receive_provider_callback(
    provider: Annotated[str, Path(description="the provider's name as configured")],
    request: Request,
    session: DBSession,
    rt: RuntimeDep,
    x_signature: Annotated[
        str | None, Header(alias="X-Signature", description="hex HMAC-SHA256 of the raw body (optionally sha256=…)")
    ] = None,
) -> s.CallbackResult:
    """A payment provider tells motcua how an online payment ended (``succeeded`` or ``failed``).

    No API key: the request is authenticated by ``X-Signature``, the lowercase hex HMAC-SHA256 of the raw request
    body under the secret shared with that provider (``MOTCUA_PAYMENTS_PROVIDER_SECRETS``); 401 ``bad_signature``
    otherwise, 404 ``provider_unknown`` for a provider not configured. Duplicates are harmless: a notification of
    the outcome already recorded answers 200 with ``applied: false`` and publishes nothing, so providers may retry
    until they get a 2xx. 409 when the payment is another provider's, the amount differs, or the notification
    contradicts the recorded outcome (reconciliation then shows it).
    """
    body = await request.body()
    ctx = _ctx(request, session, rt, f"provider:{provider}")
    payment, applied = await service.provider_callback(ctx, provider, body, x_signature)
    return s.CallbackResult(payment_id=payment.id, status=PaymentStatus(payment.status), applied=applied)


@router.post("/reconciliation", operation_id="reconcile_statement", tags=["providers"])
async def reconcile_statement(
    body: s.StatementIn, request: Request, session: DBSession, rt: RuntimeDep, principal: Ops
) -> s.ReconciliationRead:
    """Compare a provider's statement with the online payments motcua recorded through that provider.

    Returns, each sorted by payment id: ``matched``; ``missing_in_motcua`` (lines motcua does not know as that
    provider's online payments); ``missing_in_statement`` (payments that took money within
    ``period_start``–``period_end``, or ever when no period is given, but are not on the statement);
    ``amount_mismatch``; ``status_mismatch`` (same amount, the statuses disagree: usually a success whose callback
    never arrived). Read-only: nothing is changed or published. 422 naming the line when a payment is listed twice.
    """
    result = await service.reconcile(_ctx(request, session, rt, principal), body)
    return s.ReconciliationRead(
        provider=body.provider,
        clean=result.clean,
        matched=result.matched,
        missing_in_motcua=[
            s.StatementLineIn(payment_id=li.payment_id, amount_vnd=li.amount_vnd, status=li.status)
            for li in result.missing_in_motcua
        ],
        missing_in_statement=[
            s.RecordedRead(payment_id=r.payment_id, amount_vnd=r.amount_vnd, status=r.status)
            for r in result.missing_in_statement
        ],
        amount_mismatch=[s.MismatchRead.model_validate(m, from_attributes=True) for m in result.amount_mismatch],
        status_mismatch=[s.MismatchRead.model_validate(m, from_attributes=True) for m in result.status_mismatch],
    )
