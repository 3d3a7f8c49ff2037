"""Intake's own tables. No foreign keys to other services: procedures live here as a replica fed by events."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, String
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


class DossierSequence(Base):
    """The day's running number per receiving agency (the XXXX of the dossier code)."""

    __tablename__ = "dossier_sequence"
    agency_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    day_on: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer)


class Dossier(Base):
    __tablename__ = "dossier"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    procedure_code: Mapped[str] = mapped_column(String(20), index=True)
    procedure_version: Mapped[int] = mapped_column(Integer)
    receiving_agency_code: Mapped[str] = mapped_column(String(40), index=True)
    handling_agency_code: Mapped[str] = mapped_column(String(40), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), index=True)
    applicant_name: Mapped[str] = mapped_column(String(300))
    applicant_id_code: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(db.UtcDateTime(), index=True)
    due_at: Mapped[datetime] = mapped_column(db.UtcDateTime(), index=True)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
