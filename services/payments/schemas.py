"""Request and response models of the payments API. Money is an int number of VND: strings and fractions are
refused rather than coerced."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from libs.common.contract import DossierCode, PaymentChannel, ProcedureCode
from libs.common.validation import CleanInput
from services.payments.domain.reconciliation import StatementStatus
from services.payments.domain.states import Command, PaymentStatus

PROVIDER = r"^[a-z0-9][a-z0-9._-]{0,59}$"

# bounded so that any sum of them fits the 64-bit columns (an unbounded integer was a 500 on SQLite: schemathesis)
MAX_VND = 10**15
Vnd = Annotated[int, Field(ge=0, le=MAX_VND, strict=True, description="VND, an integer")]
PositiveVnd = Annotated[int, Field(gt=0, le=MAX_VND, strict=True, description="VND, a positive integer")]


class FeeItemIn(CleanInput):
    name: str = Field(min_length=1, max_length=300)
    amount_vnd: Vnd
    kind: Literal["fee", "charge"] = Field("fee", description="fee (phí) or charge (lệ phí)")
    payable_online: bool = False


class AssessmentCreate(CleanInput):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "dossier_code": "000.00.00.H56-260302-0001",
                "procedure_code": "1.001193",
                "items": [{"name": "Lệ phí đăng ký", "amount_vnd": 8000, "kind": "charge", "payable_online": True}],
            }
        }
    )

    dossier_code: DossierCode
    procedure_code: ProcedureCode
    items: list[FeeItemIn] = Field(min_length=1, max_length=50)


class AssessmentRead(BaseModel):
    id: str
    dossier_code: str
    procedure_code: str
    items: list[FeeItemIn]
    total_vnd: int
    assessed_at: datetime
    superseded_at: datetime | None


class PaymentCreate(CleanInput):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "dossier_code": "000.00.00.H56-260302-0001",
                "procedure_code": "1.001193",
                "amount_vnd": 8000,
                "channel": "online",
                "provider": "paygov-sandbox",
            }
        }
    )

    dossier_code: DossierCode
    procedure_code: ProcedureCode
    amount_vnd: PositiveVnd
    channel: PaymentChannel
    provider: str | None = Field(
        None,
        pattern=PROVIDER,
        description="online: a configured gateway (e.g. paygov, a provincial gateway); counter/postal: optional "
        "(cash, bank-transfer, vnpost …)",
    )
    at: AwareDatetime | None = Field(
        None,
        description="counter/postal: when the desk took the request, if it is keyed in later (so that its "
        "confirmation can keep the time the money came); never in the future. Not for online payments, which "
        "start when the citizen pays. Defaults to now.",
    )


class PaymentRead(BaseModel):
    id: str
    dossier_code: str
    procedure_code: str
    amount_vnd: int
    channel: PaymentChannel
    provider: str | None
    status: PaymentStatus
    refunded_vnd: int
    refundable_vnd: int
    provider_ref: str | None
    failure_reason: str | None
    created_at: datetime
    succeeded_at: datetime | None
    failed_at: datetime | None
    allowed_commands: list[Command]


class ConfirmCreate(CleanInput):
    receipt_ref: str | None = Field(None, max_length=120, description="the receipt (biên lai) number, if any")
    at: AwareDatetime | None = Field(
        None,
        description="when the money was received, if recorded later; never in the future, never before the payment "
        "was created. Defaults to now.",
    )


class RefundCreate(CleanInput):
    amount_vnd: PositiveVnd
    reason: str = Field(min_length=1, max_length=2000)
    at: AwareDatetime | None = Field(
        None,
        description="when the money was paid back, if recorded later; never in the future, never before the "
        "payment succeeded. Defaults to now.",
    )


class RefundRead(BaseModel):
    id: str
    payment_id: str
    amount_vnd: int
    reason: str
    created_at: datetime
    payment: PaymentRead


class ProviderNotification(CleanInput):
    """What a provider posts to ``/callbacks/{provider}`` (signed: see the endpoint)."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {"payment_id": "6f1c…", "status": "succeeded", "amount_vnd": 8000, "provider_ref": "PG-123"}
        }
    )

    payment_id: str = Field(min_length=1, max_length=36)
    status: Literal["succeeded", "failed"]
    amount_vnd: Vnd
    reason: str | None = Field(None, max_length=2000, description="why it failed")
    provider_ref: str | None = Field(None, max_length=120, description="the provider's transaction id")
    at: AwareDatetime | None = Field(
        None,
        description="when it happened at the provider; default: on receipt. A time ahead of ours is taken as ours; "
        "one before the payment was created is refused (422 naming at).",
    )


class CallbackResult(BaseModel):
    payment_id: str
    status: PaymentStatus
    applied: bool = Field(description="false: a repeat of what was already recorded, nothing changed")


class StatementLineIn(CleanInput):
    payment_id: str = Field(min_length=1, max_length=36)
    amount_vnd: Vnd
    status: StatementStatus


class StatementIn(CleanInput):
    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "provider": "paygov-sandbox",
                "period_start": "2026-03-01T00:00:00+07:00",
                "period_end": "2026-03-02T00:00:00+07:00",
                "lines": [{"payment_id": "6f1c…", "amount_vnd": 8000, "status": "succeeded"}],
            }
        }
    )

    provider: str = Field(pattern=PROVIDER)
    period_start: AwareDatetime | None = Field(
        None, description="the statement covers payments that succeeded from here (inclusive)"
    )
    period_end: AwareDatetime | None = Field(None, description="… to here (exclusive)")
    lines: list[StatementLineIn] = Field(max_length=100_000)


class MismatchRead(BaseModel):
    payment_id: str
    recorded_amount_vnd: int
    statement_amount_vnd: int
    recorded_status: PaymentStatus
    statement_status: StatementStatus


class RecordedRead(BaseModel):
    payment_id: str
    amount_vnd: int
    status: PaymentStatus


class ReconciliationRead(BaseModel):
    provider: str
    clean: bool = Field(description="every line matched and nothing is missing")
    matched: list[str]
    missing_in_motcua: list[StatementLineIn]
    missing_in_statement: list[RecordedRead]
    amount_mismatch: list[MismatchRead]
    status_mismatch: list[MismatchRead]


class DossierFees(BaseModel):
    dossier_code: str
    assessment: AssessmentRead | None
    assessed_vnd: int
    paid_vnd: int = Field(description="succeeded payments less refunds")
    refunded_vnd: int
    outstanding_vnd: int = Field(description="assessed less paid; negative when overpaid")
    payments: list[PaymentRead]
