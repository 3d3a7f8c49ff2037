"""The catalogue's tables: procedures with every published version, and the province's agencies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from libs.common import db


class Base(db.Base):
    __abstract__ = True
    metadata = db.new_metadata()


class Procedure(Base):
    """One row per procedure code: its newest version and, once withdrawn, the withdrawal decision."""

    __tablename__ = "procedure"
    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    latest_version: Mapped[int] = mapped_column(Integer)
    withdrawn_on: Mapped[date | None] = mapped_column(Date)  # effective date of the withdrawal decision
    withdrawal: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the withdrawal decision (number, dates)
    created_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(db.UtcDateTime())


class ProcedureVersion(Base):
    """A published version: the whole snapshot as its event carried it, plus the columns search filters on."""

    __tablename__ = "procedure_version"
    __table_args__ = (
        UniqueConstraint("code", "version", name="uq_procedure_version_code_version"),
        Index("ix_procedure_version_code_in_force_from", "code", "in_force_from"),
    )

    id: Mapped[int] = mapped_column(db.BigIntPK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(500))
    # lowercase, without diacritics, đ→d (domain/text.py): LIKE on it is diacritic-insensitive on every backend
    name_search: Mapped[str] = mapped_column(String(500))
    sector_code: Mapped[str | None] = mapped_column(String(20), index=True)
    sector_name: Mapped[str] = mapped_column(String(300))
    sector_search: Mapped[str] = mapped_column(String(300))
    # "|commune|province|": a LIKE '%|commune|%' filter that needs no JSON operators (SQLite and PostgreSQL alike)
    levels_key: Mapped[str] = mapped_column(String(100))
    agencies_key: Mapped[str] = mapped_column(Text)
    online_level: Mapped[str] = mapped_column(String(10), index=True)
    time_limit_amount: Mapped[int] = mapped_column(Integer)
    time_limit_unit: Mapped[str] = mapped_column(String(20))
    has_fees: Mapped[bool] = mapped_column(Boolean)
    fees_payable_online: Mapped[bool] = mapped_column(Boolean)
    postal_allowed: Mapped[bool] = mapped_column(Boolean)
    cross_boundary_allowed: Mapped[bool] = mapped_column(Boolean)
    inter_agency: Mapped[bool] = mapped_column(Boolean)
    certification: Mapped[bool] = mapped_column(Boolean)
    public: Mapped[bool] = mapped_column(Boolean)
    decision_number: Mapped[str] = mapped_column(String(100))
    decision_signed_on: Mapped[date] = mapped_column(Date)
    in_force_from: Mapped[date] = mapped_column(Date)
    in_force_until: Mapped[date | None] = mapped_column(Date)  # last day in force (inclusive)
    public_in_national_db_on: Mapped[date | None] = mapped_column(Date)  # docs/domain.md §Publication of procedures
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)  # ProcedureSnapshot as JSON
    recorded_at: Mapped[datetime] = mapped_column(db.UtcDateTime())


class Agency(Base):
    __tablename__ = "agency"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    name_search: Mapped[str] = mapped_column(String(300))
    level: Mapped[str] = mapped_column(String(20), index=True)
    parent_code: Mapped[str | None] = mapped_column(String(40), index=True)
    area_kind: Mapped[str | None] = mapped_column(String(20))
    desks: Mapped[list[str]] = mapped_column(JSON)
    desk_officers: Mapped[int | None] = mapped_column(Integer)
    procedure_codes: Mapped[list[str]] = mapped_column(JSON)
    # The agency's own working hours and days (docs/domain.md §Working hours); None / [] = the province's.
    opening_sessions: Mapped[str | None] = mapped_column(String(100))
    extra_holidays: Mapped[list[str]] = mapped_column(JSON, server_default="[]")  # ISO dates
    extra_working_days: Mapped[list[str]] = mapped_column(JSON, server_default="[]")
    updated_at: Mapped[datetime] = mapped_column(db.UtcDateTime())


class AgencyProcedure(Base):
    """Which procedures an agency handles, as rows, so that search by agency is a plain join."""

    __tablename__ = "agency_procedure"
    agency_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(20), primary_key=True, index=True)
