"""Reporting's tables: projections folded from the events, never another service's database.

``dossier_event`` is the per-dossier ledger (every event about a dossier, identity codes hashed); ``dossier_fact``
and ``payment_txn`` are recomputed from it; the catalogue, agency, visit and plan tables are replicas of their
events. Everything except the plans can be dropped and refolded from the topics (``python -m
services.reporting.rebuild``); plans are refolded from their own topic too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import JSON, BigInteger, Boolean, Column, Date, Float, Index, Integer, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from libs.common import db
from services.reporting.fold.aggregates import COUNTERS


class Base(db.Base):
    __abstract__ = True
    metadata = db.new_metadata()


class DossierEvent(Base):
    """The ledger: every event about one dossier, whatever its topic, as received (identity codes hashed)."""

    __tablename__ = "dossier_event"
    event_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(80))
    recorded_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


LATE_NOTED_AFTER_FINISH = "outcome = 'late' AND (apologised_at > finished_at OR explained_at > finished_at)"


class DossierFact(Base):
    """One row per dossier: the digest of its ledger (services.reporting.fold.facts.fold_dossier)."""

    __tablename__ = "dossier_fact"
    __table_args__ = (
        Index("ix_dossier_fact_handling_agency_received", "handling_agency_code", "received_at"),
        Index("ix_dossier_fact_receiving_agency_received", "receiving_agency_code", "received_at"),
        # late dossiers whose apology or explanation came after they finished (reports.repository.grouped)
        Index(
            "ix_dossier_fact_late_noted_after_finish",
            "finished_at",
            postgresql_where=text(LATE_NOTED_AFTER_FINISH),
            sqlite_where=text(LATE_NOTED_AFTER_FINISH),
        ),
    )

    dossier_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime(), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(20), index=True)
    procedure_version: Mapped[int | None] = mapped_column(Integer)
    procedure_name: Mapped[str | None] = mapped_column(String(500))
    sector_code: Mapped[str | None] = mapped_column(String(40), index=True)
    sector_name: Mapped[str | None] = mapped_column(String(300))
    online_level: Mapped[str | None] = mapped_column(String(10))
    has_fees: Mapped[bool] = mapped_column(Boolean)
    certification: Mapped[bool] = mapped_column(Boolean)
    receiving_agency_code: Mapped[str | None] = mapped_column(String(40))
    receiving_level: Mapped[str | None] = mapped_column(String(30))
    handling_agency_code: Mapped[str | None] = mapped_column(String(40))
    handling_level: Mapped[str | None] = mapped_column(String(30), index=True)
    desk: Mapped[str | None] = mapped_column(String(60))
    channel: Mapped[str | None] = mapped_column(String(10))
    keyed_in_at_desk: Mapped[bool] = mapped_column(Boolean)
    remote_online: Mapped[bool] = mapped_column(Boolean)
    cross_boundary: Mapped[bool] = mapped_column(Boolean)
    applicant_kind: Mapped[str | None] = mapped_column(String(16))
    # The applicant's pseudonym as events carry it (<key id>:<HMAC hex> of the identity code), never the code.
    applicant_hash: Mapped[str | None] = mapped_column(String(100))
    identified: Mapped[bool] = mapped_column(Boolean)
    initial_due_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    due_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    pause_started_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    pause_ended_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    due_after_pause: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    second_request_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    supplement_requests: Mapped[int] = mapped_column(Integer)
    paused_seconds: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime(), index=True)
    finish_kind: Mapped[str | None] = mapped_column(String(10))
    decision: Mapped[str | None] = mapped_column(String(10))
    outcome: Mapped[str | None] = mapped_column(String(10))
    withdrawn_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime(), index=True)  # finished or withdrawn
    overdue_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    e_result: Mapped[bool] = mapped_column(Boolean)
    result_count: Mapped[int] = mapped_column(Integer)
    returned_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    return_channel: Mapped[str | None] = mapped_column(String(12))
    postal_return_requested: Mapped[bool] = mapped_column(Boolean)
    postal: Mapped[bool] = mapped_column(Boolean)
    apologised_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    apology_in_time: Mapped[bool | None] = mapped_column(Boolean)
    first_request_in_time: Mapped[bool | None] = mapped_column(Boolean)
    apology_due_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    explained_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    rated_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime(), index=True)
    rating: Mapped[str | None] = mapped_column(String(16))
    synced_to_portal_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    # the officer's opaque account id and name (public servants acting in office), never an identity number
    received_by_id: Mapped[str | None] = mapped_column(String(200))
    received_by_name: Mapped[str | None] = mapped_column(String(200))
    finished_by_id: Mapped[str | None] = mapped_column(String(200))
    finished_by_name: Mapped[str | None] = mapped_column(String(200))
    components: Mapped[int] = mapped_column(Integer)
    electronic_components: Mapped[int] = mapped_column(Integer)
    must_digitise: Mapped[int] = mapped_column(Integer)
    digitised: Mapped[int] = mapped_column(Integer)
    all_digitised: Mapped[bool] = mapped_column(Boolean)
    reused: Mapped[bool] = mapped_column(Boolean)
    reused_components: Mapped[int] = mapped_column(Integer)
    fees_assessed_vnd: Mapped[int] = mapped_column(BigInteger)
    fee_payable: Mapped[bool] = mapped_column(Boolean)
    paid_online_vnd: Mapped[int] = mapped_column(BigInteger)
    paid_offline_vnd: Mapped[int] = mapped_column(BigInteger)
    paid_online: Mapped[bool] = mapped_column(Boolean)
    fees_paid_online: Mapped[bool] = mapped_column(Boolean)
    transfers: Mapped[int] = mapped_column(Integer)
    inter_agency_transfers: Mapped[int] = mapped_column(Integer)
    paper_transfers: Mapped[int] = mapped_column(Integer)
    all_transfers_electronic: Mapped[bool] = mapped_column(Boolean)
    fully_online: Mapped[bool] = mapped_column(Boolean)
    event_count: Mapped[int] = mapped_column(Integer)
    last_event_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())


class PaymentTxn(Base):
    """One payment attempt, settled from its events; the dossier's scope is copied so reports need no join."""

    __tablename__ = "payment_txn"
    payment_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    procedure_code: Mapped[str | None] = mapped_column(String(20))
    amount_vnd: Mapped[int] = mapped_column(BigInteger)
    channel: Mapped[str | None] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(db.UtcDateTime(), index=True)
    level: Mapped[str | None] = mapped_column(String(30))
    agency_code: Mapped[str | None] = mapped_column(String(40))
    sector_code: Mapped[str | None] = mapped_column(String(40))
    sector_name: Mapped[str | None] = mapped_column(String(300))


class WaitVisit(Base):
    """One counter visit: from queue ticket to being served (QueueTicketServed)."""

    __tablename__ = "wait_visit"
    ticket_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    agency_code: Mapped[str] = mapped_column(String(40), index=True)
    level: Mapped[str | None] = mapped_column(String(30))
    desk: Mapped[str] = mapped_column(String(60))
    issued_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    served_at: Mapped[datetime] = mapped_column(db.UtcDateTime(), index=True)
    wait_seconds: Mapped[int] = mapped_column(Integer)


class ProcedureState(Base):
    """Catalogue replica: one row per procedure version, as published, amended or withdrawn."""

    __tablename__ = "procedure_state"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    sector_code: Mapped[str | None] = mapped_column(String(40))
    sector_name: Mapped[str | None] = mapped_column(String(300))
    levels: Mapped[list[str]] = mapped_column(JSON)
    agency_codes: Mapped[list[str]] = mapped_column(JSON)
    online_level: Mapped[str] = mapped_column(String(10))
    public: Mapped[bool] = mapped_column(Boolean)
    has_fees: Mapped[bool] = mapped_column(Boolean)
    fees_payable_online: Mapped[bool] = mapped_column(Boolean)
    certification: Mapped[bool] = mapped_column(Boolean)
    components: Mapped[int] = mapped_column(Integer)
    decision_number: Mapped[str | None] = mapped_column(String(100))
    decision_signed_on: Mapped[date | None] = mapped_column(Date)
    in_force_from: Mapped[date] = mapped_column(Date)
    in_force_until: Mapped[date | None] = mapped_column(Date)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)
    # Decision 766 transparency facts as the catalogue published them (docs/reporting.md, "Decision 766 index");
    # null for versions folded from events that predate them: no data, never guessed.
    publication_due_on: Mapped[date | None] = mapped_column(Date)
    national_db_due_on: Mapped[date | None] = mapped_column(Date)
    public_in_national_db_on: Mapped[date | None] = mapped_column(Date)
    components_complete: Mapped[bool | None] = mapped_column(Boolean)
    as_of: Mapped[datetime] = mapped_column(db.UtcDateTime())


class Agency(Base):
    """Agency replica (AgencyPublished): level, area kind and desk officers (staff productivity)."""

    __tablename__ = "agency"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(30))
    parent_code: Mapped[str | None] = mapped_column(String(40))
    area_kind: Mapped[str | None] = mapped_column(String(30))
    desk_officers: Mapped[int | None] = mapped_column(Integer)
    procedure_codes: Mapped[list[str]] = mapped_column(JSON)
    as_of: Mapped[datetime] = mapped_column(db.UtcDateTime())


class Plan(Base):
    """A province's plan (PlanLoaded): the newest load of a plan id wins."""

    __tablename__ = "plan"
    plan_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    name: Mapped[str] = mapped_column(String(500))
    legal_reference: Mapped[str] = mapped_column(String(200))
    province: Mapped[str | None] = mapped_column(String(100))
    years: Mapped[list[int]] = mapped_column(JSON)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(db.UtcDateTime())


class PlanTarget(Base):
    __tablename__ = "plan_target"
    plan_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    indicator: Mapped[str] = mapped_column(String(60))
    comparator: Mapped[str] = mapped_column(String(2))
    value: Mapped[float] = mapped_column(Float)
    year: Mapped[int | None] = mapped_column(Integer)
    scope: Mapped[dict[str, Any]] = mapped_column(JSON)
    baseline: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(Text)


class FactDayAggregate(Base):
    """The facts' additive counts per local day, anchor and group (``fold.aggregates``), kept by the fold in the
    transaction that changes the facts and rebuildable from them (``fold.aggregate_store.recount``). A key part that
    the fact leaves empty is stored as '' (a primary key has no nulls) and read back as None."""

    __table__ = Table(
        "fact_day_aggregate",
        Base.metadata,
        Column("span", String(10), primary_key=True),  # "day", or "half_month" (day = its first day)
        Column("day", Date, primary_key=True),
        Column("anchor", String(24), primary_key=True),
        Column("level", String(30), primary_key=True),  # handling level; receiving level for "desk_received"
        Column("agency_code", String(40), primary_key=True),  # handling agency; receiving agency for "desk_received"
        Column("sector_code", String(40), primary_key=True),
        Column("sector_name", String(300), primary_key=True),
        Column("procedure_code", String(20), primary_key=True),
        *(Column(name, Integer, nullable=False, server_default=text("0")) for name in COUNTERS),
    )
    __tablename__ = "fact_day_aggregate"


PROJECTIONS = (
    DossierEvent,
    DossierFact,
    PaymentTxn,
    WaitVisit,
    ProcedureState,
    Agency,
    Plan,
    PlanTarget,
    FactDayAggregate,
)

# Core table handles for the set-based statements of the fold and the reports.
FACT_COLUMNS = [c.name for c in DossierFact.__table__.columns]
fact_t = cast(Table, DossierFact.__table__)
event_t = cast(Table, DossierEvent.__table__)
payment_t = cast(Table, PaymentTxn.__table__)
visit_t = cast(Table, WaitVisit.__table__)
procedure_t = cast(Table, ProcedureState.__table__)
agency_t = cast(Table, Agency.__table__)
aggregate_t: Table = FactDayAggregate.__table__


class PeriodSnapshot(Base):
    """The figures of a closed period, frozen when it was closed (version 1) or when a leader approved a restatement
    (version 2, 3, …). The newest version is what reports of that period show."""

    __tablename__ = "period_snapshot"
    __table_args__ = (Index("ix_period_snapshot_period_version", "period_key", "version", unique=True),)

    id: Mapped[int] = mapped_column(db.BigIntPK, primary_key=True, autoincrement=True)
    period_key: Mapped[str] = mapped_column(String(80))  # e.g. official:quarter:2026:3
    version: Mapped[int] = mapped_column(Integer)
    window_from: Mapped[date] = mapped_column(Date)
    window_to: Mapped[date] = mapped_column(Date)
    figures: Mapped[dict[str, Any]] = mapped_column(JSON)
    closed_at: Mapped[datetime] = mapped_column(db.UtcDateTime())  # when these figures were taken
    closed_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
