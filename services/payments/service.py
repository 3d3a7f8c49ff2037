"""Payments use cases. They flush and append outbox events; the request boundary commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common import dossier_agencies
from libs.common.audit import AuditAction, record_change
from libs.common.auth import AgencyScope, Principal
from libs.common.clock import Clock
from libs.common.contract import FeeAssessed, FeeItem, PaymentChannel, PaymentFailed, PaymentRefunded, PaymentSucceeded
from libs.common.errors import Forbidden, field_error
from libs.common.idempotency import fingerprint, key_problem
from libs.common.messaging.outbox import Outbox
from services.payments import repository
from services.payments import schemas as s
from services.payments.domain import fees, reconciliation, signatures, states, timing
from services.payments.domain.states import Command, PaymentStatus
from services.payments.errors import (
    AmountExceedsOutstanding,
    AmountMismatch,
    BadSignature,
    DossierNotFound,
    IdempotencyKeyReused,
    PaymentNotFound,
    PaymentRejected,
    ProviderMismatch,
    ProviderUnknown,
    RefundExceedsPayment,
    StatementRejected,
    TransitionNotAllowed,
)
from services.payments.models import FeeAssessment, Payment, Refund


@dataclass(frozen=True)
class Context:
    """What every use case needs: the request's session, the outbox, the providers' secrets, who acts and when."""

    session: AsyncSession
    outbox: Outbox
    provider_secrets: Mapping[str, str]
    actor: str
    now: datetime
    # the agencies whose dossiers' fees and payments the caller may see; a provider's signed callback is not scoped
    scope: AgencyScope = field(default_factory=AgencyScope.province)
    principal: Principal | None = None  # None: a provider's signed callback

    @classmethod
    def of(
        cls,
        session: AsyncSession,
        outbox: Outbox,
        provider_secrets: Mapping[str, str],
        actor: str | Principal,
        clock: Clock,
    ) -> Context:
        """Scoped to a principal's agencies, or unscoped for a provider (``actor`` is then ``provider:<name>``)."""
        if isinstance(actor, Principal):
            return cls(session, outbox, provider_secrets, actor.subject, clock.now(), actor.scope, actor)
        return cls(session, outbox, provider_secrets, actor, clock.now())

    async def audit(self, action: AuditAction, kind: str, subject_id: str, **detail: Any) -> None:
        """One audit row per change, in the request's transaction (docs/security.md, "Audit"). Payments holds no
        payer's personal data (a payment names a dossier code, amounts and the officer), so no row is flagged as such
        and no read is recorded."""
        await record_change(
            self.session,
            self.principal,
            at=self.now,
            action=action,
            subject_kind=kind,
            subject_id=subject_id,
            system_actor=self.actor,
            detail=detail,
        )

    async def check_dossier(self, dossier_code: str) -> None:
        """Fees and payments of a dossier outside the scope are 404, as if payments knew nothing of it."""
        if not await dossier_agencies.covers_dossier(self.session, self.scope, dossier_code):
            raise DossierNotFound(f"No dossier {dossier_code}")


def _transition_refused(payment: Payment, exc: states.TransitionRefused) -> TransitionNotAllowed:
    status = PaymentStatus(payment.status)
    return TransitionNotAllowed(
        f"Payment {payment.id}: {exc}",
        state=status.value,
        command=exc.command.value,
        allowed_commands=[c.value for c in states.allowed_commands(status)],
    )


# ---------------------------------------------------------------- assessment


@dataclass(frozen=True)
class Assessed:
    assessment: FeeAssessment
    created: bool  # False: the same fees as the assessment in force, nothing recorded


async def assess(ctx: Context, data: s.AssessmentCreate) -> Assessed:
    """Record the fees of a dossier; a different re-assessment supersedes the one in force. Publishes FeeAssessed."""
    await ctx.check_dossier(data.dossier_code)
    items = [item.model_dump(mode="json") for item in data.items]
    current = await repository.current_assessment(ctx.session, data.dossier_code, lock=True)
    if current is not None and current.procedure_code == data.procedure_code and current.items == items:
        return Assessed(current, False)
    await repository.supersede_assessments(ctx.session, data.dossier_code, ctx.now)
    assessment = FeeAssessment(
        id=str(uuid.uuid4()),
        dossier_code=data.dossier_code,
        procedure_code=data.procedure_code,
        items=items,
        total_vnd=fees.total(item.amount_vnd for item in data.items),
        assessed_at=ctx.now,
        assessed_by=ctx.actor,
        superseded_at=None,
    )
    ctx.session.add(assessment)
    await ctx.session.flush()
    await ctx.outbox.append(
        ctx.session,
        FeeAssessed(
            dossier_code=assessment.dossier_code,
            procedure_code=assessment.procedure_code,
            items=[FeeItem.model_validate(item) for item in items],
            total_vnd=assessment.total_vnd,
            at=ctx.now,
        ),
    )
    await ctx.audit(AuditAction.CREATE, "fee_assessment", assessment.id, dossier_code=assessment.dossier_code)
    return Assessed(assessment, True)


@dataclass(frozen=True)
class FeesSummary:
    dossier_code: str
    assessment: FeeAssessment | None
    payments: Sequence[Payment]
    paid_vnd: int
    refunded_vnd: int
    outstanding_vnd: int


def _paid(payments: Sequence[Payment]) -> list[fees.Paid]:
    return [fees.Paid(PaymentStatus(p.status), p.amount_vnd, p.refunded_vnd) for p in payments]


async def dossier_fees(ctx: Context, dossier_code: str) -> FeesSummary:
    await ctx.check_dossier(dossier_code)
    assessment = await repository.current_assessment(ctx.session, dossier_code)
    payments = await repository.dossier_payments(ctx.session, dossier_code)
    assessed = assessment.total_vnd if assessment is not None else 0
    paid = _paid(payments)
    return FeesSummary(
        dossier_code=dossier_code,
        assessment=assessment,
        payments=payments,
        paid_vnd=fees.net_paid(paid),
        refunded_vnd=sum(p.refunded_vnd for p in payments),
        outstanding_vnd=fees.outstanding(assessed, paid),
    )


# ---------------------------------------------------------------- intents


@dataclass(frozen=True)
class Created:
    payment: Payment
    created: bool  # False: the request was sent before with this key, the first intent is returned


def _check_key(key: str) -> None:
    problem = key_problem(key)
    if problem:
        raise PaymentRejected(
            f"Idempotency-Key {problem}", errors=[field_error(("header", "Idempotency-Key"), problem)]
        )


def _same_request(payment: Payment, request_fingerprint: str, key: str) -> Payment:
    if payment.request_fingerprint != request_fingerprint:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was used for another request (payment {payment.id}); use a new key for a new "
            "payment",
            payment_id=payment.id,
        )
    return payment


async def create_payment(ctx: Context, key: str, data: s.PaymentCreate) -> Created:
    """A payment intent for ``data`` under the client's idempotency key (same key + same body: the same intent)."""
    _check_key(key)
    await ctx.check_dossier(data.dossier_code)
    request_fingerprint = fingerprint(data.model_dump(mode="json"))
    existing = await repository.payment_by_key(ctx.session, key)
    if existing is not None:
        return Created(_same_request(existing, request_fingerprint, key), False)
    if data.channel is PaymentChannel.ONLINE and data.provider not in ctx.provider_secrets:
        known = ", ".join(sorted(ctx.provider_secrets)) or "none configured"
        raise PaymentRejected(
            f"Online payments go through a configured provider ({known})",
            errors=[field_error(("provider",), f"not a configured provider ({known})")],
        )
    created_at = ctx.now
    if data.at is not None:
        created_at = data.at.astimezone(UTC)
        why = timing.creation_problem(created_at, ctx.now, online=data.channel is PaymentChannel.ONLINE)
        if why is not None:
            raise PaymentRejected(
                f"A payment cannot be created at {created_at.isoformat()}: {why}", errors=[field_error(("at",), why)]
            )
    assessment = await repository.current_assessment(ctx.session, data.dossier_code)
    if assessment is not None:
        if assessment.procedure_code != data.procedure_code:
            raise PaymentRejected(
                f"The dossier's fees were assessed for procedure {assessment.procedure_code}",
                errors=[field_error(("procedure_code",), f"the assessment is for {assessment.procedure_code}")],
            )
        left = fees.outstanding(
            assessment.total_vnd, _paid(await repository.dossier_payments(ctx.session, data.dossier_code))
        )
        if data.amount_vnd > left:
            raise AmountExceedsOutstanding(f"The dossier has {max(left, 0)} VND left to pay", outstanding_vnd=left)
    payment = Payment(
        id=str(uuid.uuid4()),
        idempotency_key=key,
        request_fingerprint=request_fingerprint,
        dossier_code=data.dossier_code,
        procedure_code=data.procedure_code,
        amount_vnd=data.amount_vnd,
        channel=data.channel.value,
        provider=data.provider,
        status=PaymentStatus.CREATED.value,
        refunded_vnd=0,
        created_at=created_at,
        created_by=ctx.actor,
    )
    try:
        # Two requests racing with one key: the unique index lets one in; the other answers as a repeat of it.
        async with ctx.session.begin_nested():
            ctx.session.add(payment)
            await ctx.session.flush()
    except IntegrityError:
        existing = await repository.payment_by_key(ctx.session, key)
        if existing is None:
            raise
        return Created(_same_request(existing, request_fingerprint, key), False)
    await ctx.audit(AuditAction.CREATE, "payment", payment.id, dossier_code=payment.dossier_code)
    return Created(payment, True)


async def get_payment(ctx: Context, payment_id: str, *, lock: bool = False) -> Payment:
    if lock:
        payment = await repository.lock_payment(ctx.session, ctx.scope, payment_id)
    else:
        payment = await repository.get_payment(ctx.session, ctx.scope, payment_id)
    if payment is None:
        raise PaymentNotFound(f"No payment {payment_id}")
    return payment


# ---------------------------------------------------------------- outcomes


async def _succeed(ctx: Context, payment: Payment, at: datetime, by: str, provider_ref: str | None) -> bool:
    """Mark a payment succeeded and publish PaymentSucceeded; False when it already was (nothing happens)."""
    status = PaymentStatus(payment.status)
    if states.is_repeat(status, Command.SUCCEED):
        return False
    try:
        payment.status = states.next_status(status, Command.SUCCEED).value
    except states.TransitionRefused as exc:
        raise _transition_refused(payment, exc) from None
    payment.succeeded_at = at
    payment.confirmed_by = by
    payment.provider_ref = provider_ref or payment.provider_ref
    await ctx.session.flush()
    await ctx.outbox.append(
        ctx.session,
        PaymentSucceeded(
            payment_id=payment.id,
            dossier_code=payment.dossier_code,
            procedure_code=payment.procedure_code,
            amount_vnd=payment.amount_vnd,
            channel=PaymentChannel(payment.channel),
            provider=payment.provider,
            at=at,
        ),
    )
    await ctx.audit(AuditAction.CHANGE, "payment", payment.id, status=payment.status)
    return True


async def _fail(ctx: Context, payment: Payment, at: datetime, reason: str, provider_ref: str | None) -> bool:
    status = PaymentStatus(payment.status)
    if states.is_repeat(status, Command.FAIL):
        return False
    try:
        payment.status = states.next_status(status, Command.FAIL).value
    except states.TransitionRefused as exc:
        raise _transition_refused(payment, exc) from None
    payment.failed_at = at
    payment.failure_reason = reason
    payment.provider_ref = provider_ref or payment.provider_ref
    await ctx.session.flush()
    await ctx.outbox.append(
        ctx.session,
        PaymentFailed(
            payment_id=payment.id,
            dossier_code=payment.dossier_code,
            procedure_code=payment.procedure_code,
            amount_vnd=payment.amount_vnd,
            channel=PaymentChannel(payment.channel),
            reason=reason,
            at=at,
        ),
    )
    await ctx.audit(AuditAction.CHANGE, "payment", payment.id, status=payment.status)
    return True


async def confirm(ctx: Context, payment_id: str, data: s.ConfirmCreate) -> Payment:
    """The desk took the money (cash, transfer, the postal operator's receipt): the intent succeeds."""
    payment = await get_payment(ctx, payment_id, lock=True)
    if payment.channel == PaymentChannel.ONLINE.value:
        raise TransitionNotAllowed(
            f"Payment {payment.id} is online: only its provider's signed callback settles it",
            state=payment.status,
            command=Command.SUCCEED.value,
            allowed_commands=[],
        )
    at = data.at.astimezone(UTC) if data.at is not None else ctx.now
    _check_at(payment, at, ctx.now)
    await _succeed(ctx, payment, at, ctx.actor, data.receipt_ref)
    return payment


def _check_at(payment: Payment, at: datetime, now: datetime) -> None:
    why = timing.problem(at, now, payment.created_at)
    if why is not None:
        raise PaymentRejected(
            f"Payment {payment.id} cannot be settled at {at.isoformat()}: {why}", errors=[field_error(("at",), why)]
        )


def _notification(body: bytes) -> s.ProviderNotification:
    try:
        return s.ProviderNotification.model_validate_json(body)
    except ValidationError as exc:
        errors = [field_error(tuple(e["loc"]), e["msg"], e["type"]) for e in exc.errors()]
        raise PaymentRejected(
            f"Invalid notification: {', '.join(e['field'] or 'body' for e in errors)}", errors=errors
        ) from None


async def provider_callback(ctx: Context, provider: str, body: bytes, signature: str | None) -> tuple[Payment, bool]:
    """Apply a provider's signed notification. Returns the payment and whether anything changed (a duplicate
    notification changes nothing)."""
    secret = ctx.provider_secrets.get(provider)
    if secret is None:
        raise ProviderUnknown(f"No provider {provider!r} is configured")
    if not signatures.verify(secret, body, signature):
        raise BadSignature("X-Signature is not the HMAC-SHA256 of the body under this provider's secret")
    note = _notification(body)
    payment = await get_payment(ctx, note.payment_id, lock=True)
    if payment.channel != PaymentChannel.ONLINE.value or payment.provider != provider:
        raise ProviderMismatch(f"Payment {payment.id} is not an online payment through {provider}")
    # The provider's time places the payment in its reporting period; a clock ahead of ours is not believed.
    at = min(note.at.astimezone(UTC), ctx.now) if note.at is not None else ctx.now
    _check_at(payment, at, ctx.now)
    if note.status == "succeeded":
        if note.amount_vnd != payment.amount_vnd:
            raise AmountMismatch(
                f"Payment {payment.id} is for {payment.amount_vnd} VND, the provider reports {note.amount_vnd} VND",
                amount_vnd=payment.amount_vnd,
            )
        applied = await _succeed(ctx, payment, at, f"provider:{provider}", note.provider_ref)
    else:
        applied = await _fail(ctx, payment, at, note.reason or "declined by the provider", note.provider_ref)
    return payment, applied


# ---------------------------------------------------------------- refunds


@dataclass(frozen=True)
class Refunded:
    refund: Refund
    payment: Payment
    created: bool


async def refund(ctx: Context, payment_id: str, data: s.RefundCreate, key: str | None) -> Refunded:
    """Return part or all of a succeeded payment; publishes PaymentRefunded with the amount of this refund."""
    if key is not None:
        _check_key(key)
    request_fingerprint = fingerprint(data.model_dump(mode="json"))
    payment = await get_payment(ctx, payment_id, lock=True)
    if key is not None:
        existing = await repository.refund_by_key(ctx.session, payment.id, key)
        if existing is not None:
            if existing.request_fingerprint != request_fingerprint:
                raise IdempotencyKeyReused(
                    f"Idempotency-Key {key!r} was used for another refund", refund_id=existing.id
                )
            return Refunded(existing, payment, False)
    status = PaymentStatus(payment.status)
    try:
        plan = states.plan_refund(status, payment.amount_vnd, payment.refunded_vnd, data.amount_vnd)
    except states.TransitionRefused as exc:
        raise _transition_refused(payment, exc) from None
    except states.RefundTooLarge as exc:
        raise RefundExceedsPayment(f"Payment {payment.id}: {exc}", refundable_vnd=exc.refundable_vnd) from None
    at = data.at.astimezone(UTC) if data.at is not None else ctx.now
    why = timing.refund_problem(at, ctx.now, payment.succeeded_at)
    if why is not None:
        raise PaymentRejected(
            f"Payment {payment.id} cannot be refunded at {at.isoformat()}: {why}", errors=[field_error(("at",), why)]
        )
    payment.status = plan.status.value
    payment.refunded_vnd = plan.refunded_vnd
    row = Refund(
        id=str(uuid.uuid4()),
        payment_id=payment.id,
        amount_vnd=data.amount_vnd,
        reason=data.reason,
        idempotency_key=key,
        request_fingerprint=request_fingerprint,
        created_at=at,
        created_by=ctx.actor,
    )
    ctx.session.add(row)
    await ctx.session.flush()
    await ctx.outbox.append(
        ctx.session,
        PaymentRefunded(
            payment_id=payment.id,
            dossier_code=payment.dossier_code,
            amount_vnd=data.amount_vnd,
            reason=data.reason,
            at=at,
        ),
    )
    await ctx.audit(AuditAction.CREATE, "refund", row.id, payment_id=payment.id, amount_vnd=data.amount_vnd)
    return Refunded(row, payment, True)


# ---------------------------------------------------------------- reconciliation


async def reconcile(ctx: Context, data: s.StatementIn) -> reconciliation.Reconciliation:
    if not ctx.scope.province_wide:
        # a provider's statement covers every agency's payments: only the province reconciles it
        raise Forbidden("Reconciling a provider's statement needs a province-wide scope")
    lines = [reconciliation.Line(li.payment_id, li.amount_vnd, li.status) for li in data.lines]
    payments, in_period = await repository.provider_payments(
        ctx.session, data.provider, {li.payment_id for li in lines}, data.period_start, data.period_end
    )
    recorded = [
        reconciliation.Recorded(p.id, p.amount_vnd, PaymentStatus(p.status), p.id in in_period)
        for p in payments
        if p.provider == data.provider and p.channel == PaymentChannel.ONLINE.value
    ]
    try:
        return reconciliation.reconcile(recorded, lines)
    except reconciliation.DuplicateLine as exc:
        raise StatementRejected(
            f"The statement lists payment {exc.payment_id} more than once",
            errors=[field_error(("lines", exc.index, "payment_id"), "listed more than once")],
        ) from None
