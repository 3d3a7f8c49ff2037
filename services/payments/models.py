"""Payments' own tables. Money is an int number of VND (BIGINT: a land-use levy can exceed 2^31 VND)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from libs.common import db


class Base(db.Base):
    __abstract__ = True
    metadata = db.new_metadata()


class FeeAssessment(Base):
    """The fees a dossier must pay. A re-assessment supersedes the earlier one; the history stays."""

    __tablename__ = "fee_assessment"
    __table_args__ = (Index("ix_fee_assessment_dossier_code_assessed_at", "dossier_code", "assessed_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dossier_code: Mapped[str] = mapped_column(String(64))
    procedure_code: Mapped[str] = mapped_column(String(20))
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    total_vnd: Mapped[int] = mapped_column(BigInteger)
    assessed_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    assessed_by: Mapped[str] = mapped_column(String(120))
    superseded_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())


class Payment(Base):
    """A payment intent and what became of it (services/payments/domain/states.py)."""

    __tablename__ = "payment"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    procedure_code: Mapped[str] = mapped_column(String(20))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(60), index=True)
    status: Mapped[str] = mapped_column(String(24))
    refunded_vnd: Mapped[int] = mapped_column(BigInteger)
    provider_ref: Mapped[str | None] = mapped_column(String(120))  # the provider's own transaction id
    failure_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
    succeeded_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    failed_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    confirmed_by: Mapped[str | None] = mapped_column(String(120))  # the desk officer or the provider


class Refund(Base):
    __tablename__ = "refund"
    __table_args__ = (UniqueConstraint("payment_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    payment_id: Mapped[str] = mapped_column(String(36), index=True)
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    request_fingerprint: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(120))
