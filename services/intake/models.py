"""Intake's own tables. No foreign keys to other services: procedures and agencies live here as replicas fed by
the catalogue's events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from libs.common import db


class Base(db.Base):
    __abstract__ = True
    metadata = db.new_metadata()


class ProcedureReplica(Base):
    """The catalogue's procedures as published in its events, one row per (code, version)."""

    __tablename__ = "procedure_replica"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    in_force_from: Mapped[date] = mapped_column(Date)
    in_force_until: Mapped[date | None] = mapped_column(Date)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)


class AgencyReplica(Base):
    """The catalogue's agencies (AgencyPublished): their administrative level, the procedures they handle and their
    own working hours and days (docs/domain.md §Working hours), as of the newest publication applied."""

    __tablename__ = "agency_replica"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(30))
    parent_code: Mapped[str | None] = mapped_column(String(40))
    procedure_codes: Mapped[list[str]] = mapped_column(JSON)
    desks: Mapped[list[str]] = mapped_column(JSON)
    opening_sessions: Mapped[str | None] = mapped_column(String(100))  # None: the province's sessions
    extra_holidays: Mapped[list[str]] = mapped_column(JSON, server_default="[]")  # ISO dates
    extra_working_days: Mapped[list[str]] = mapped_column(JSON, server_default="[]")
    published_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())  # the event's time


class CatalogueReplicaVersion(Base):
    """One row whose token changes in the transaction of every change to the replicas above: a process that cached
    what it read of them keeps its copy only while the token it read with is still the one stored (docs/intake.md,
    "Receipt")."""

    __tablename__ = "catalogue_replica_version"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token: Mapped[str] = mapped_column(String(36))


class DossierSequence(Base):
    """The day's running number per receiving agency (the XXXX of the dossier code); queue tickets number their
    day under the key ``queue:<agency code>``."""

    __tablename__ = "dossier_sequence"
    agency_code: Mapped[str] = mapped_column(String(60), primary_key=True)
    day_on: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Dossier(Base):
    __tablename__ = "dossier"
    __table_args__ = (
        Index("ix_dossier_status_due_at", "status", "due_at"),
        Index("ix_dossier_receiving_agency_code_received_at", "receiving_agency_code", "received_at"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(20), index=True)
    procedure_version: Mapped[int] = mapped_column(Integer)
    procedure_name: Mapped[str] = mapped_column(String(500))
    receiving_agency_code: Mapped[str] = mapped_column(String(40))
    # the agencies' names as they were at receipt, for the forms (a later renaming must not rename old receipts);
    # empty on rows received before the snapshot existed
    receiving_agency_name: Mapped[str | None] = mapped_column(String(300))
    receiving_level: Mapped[str] = mapped_column(String(30))
    handling_agency_code: Mapped[str] = mapped_column(String(40), index=True)
    handling_agency_name: Mapped[str | None] = mapped_column(String(300))
    handling_level: Mapped[str] = mapped_column(String(30))
    current_agency_code: Mapped[str] = mapped_column(String(40), index=True)  # who holds it now (after transfers)
    desk: Mapped[str | None] = mapped_column(String(60))
    channel: Mapped[str] = mapped_column(String(16))
    keyed_in_at_desk: Mapped[bool] = mapped_column(Boolean)
    cross_boundary: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(32))
    applicant_kind: Mapped[str] = mapped_column(String(16))
    applicant_name: Mapped[str] = mapped_column(String(300))
    applicant_id_code: Mapped[str] = mapped_column(String(20))
    identified_by_vneid: Mapped[bool] = mapped_column(Boolean)
    time_limit_amount: Mapped[int] = mapped_column(Integer)
    time_limit_unit: Mapped[str] = mapped_column(String(20))
    fees_due_vnd: Mapped[int] = mapped_column(Integer)
    submitted_at: Mapped[datetime] = mapped_column(db.UtcDateTime())  # as recorded; received_at is when it counts
    received_at: Mapped[datetime] = mapped_column(db.UtcDateTime(), index=True)
    initial_due_at: Mapped[datetime] = mapped_column(db.UtcDateTime())  # the appointment on form 01
    due_at: Mapped[datetime] = mapped_column(db.UtcDateTime(), index=True)  # in force: pauses included
    paused_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())  # start of the pause under way
    paused_seconds: Mapped[int] = mapped_column(Integer)
    supplement_requests: Mapped[int] = mapped_column(Integer)
    apology_due_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())  # new appointment of form 04
    apologised_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    explained_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())  # finished or withdrawn
    decision: Mapped[str | None] = mapped_column(String(16))
    electronic_result: Mapped[bool | None] = mapped_column(Boolean)
    returned_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    return_channel: Mapped[str | None] = mapped_column(String(16))
    rated_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    rating: Mapped[str | None] = mapped_column(String(20))
    last_step_at: Mapped[datetime] = mapped_column(db.UtcDateTime())  # a later step may not be dated before it
    overdue_published_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    # the client that submitted it (a portal's client id, or the officer's subject): a portal may act only on its own
    submitted_by: Mapped[str | None] = mapped_column(String(120), index=True)
    # components, applicant contact, result references, reasons: read with the dossier, never queried
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class DossierStep(Base):
    """One recorded step of a dossier after its receipt: the rows of the process control sheet (form 05)."""

    __tablename__ = "dossier_step"
    id: Mapped[int] = mapped_column(db.BigIntPK, primary_key=True, autoincrement=True)
    dossier_code: Mapped[str] = mapped_column(String(64), index=True)
    command: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    actor: Mapped[str] = mapped_column(String(120))
    actor_name: Mapped[str | None] = mapped_column(String(200))  # the officer's name as printed on the forms
    status_before: Mapped[str] = mapped_column(String(32))
    status_after: Mapped[str] = mapped_column(String(32))
    from_agency_code: Mapped[str | None] = mapped_column(String(40))
    to_agency_code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)


class QueueTicket(Base):
    __tablename__ = "queue_ticket"
    __table_args__ = (Index("ix_queue_ticket_agency_code_issued_at", "agency_code", "issued_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    agency_code: Mapped[str] = mapped_column(String(40))
    level: Mapped[str | None] = mapped_column(String(30))
    desk: Mapped[str] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    called_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    served_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())
    served_by: Mapped[str | None] = mapped_column(String(120))


class NoticeConsent(Base):
    """The citizen's choice of notices for one dossier, recorded at receipt: channels and addresses, and the time of
    an opt-out. Personal data: it stays in intake and never goes on a topic."""

    __tablename__ = "notice_consent"

    dossier_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
    sms: Mapped[bool] = mapped_column(Boolean)
    zalo: Mapped[bool] = mapped_column(Boolean)
    by_email: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    opted_out_at: Mapped[datetime | None] = mapped_column(db.UtcDateTime())


class DossierOwnerFacts(Base):
    """What the owners of a dossier's documents and fees said about it in their events (digitisation, payments),
    kept per dossier for the national portal's record (docs/integrations.md). A row may exist before the dossier
    does: a document can be scanned at the desk before the receipt commits. Only codes and amounts: no document id
    (digitisation's holder reference) and no personal data."""

    __tablename__ = "dossier_owner_facts"

    dossier_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    # component code -> {"digitised": bool, "reused": bool}
    documents: Mapped[dict[str, Any]] = mapped_column(JSON)
    # the assessment in force: [{"name", "amount_vnd", "kind"}]; None until payments assessed the fees
    fees: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    fees_total_vnd: Mapped[int | None] = mapped_column(Integer)
    # payment id -> {"channel", "amount_vnd", "refunded_vnd"} (succeeded payments only)
    payments: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
