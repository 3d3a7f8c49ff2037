"""Digitisation's own tables: metadata and a content hash of each digitised document, and re-use records.

The files themselves are not stored here: a deployment keeps them in its document store (object storage, the
province's e-archive) under their SHA-256, which is what this service records and what proves integrity.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from libs.common import db


class Base(db.Base):
    __abstract__ = True
    metadata = db.new_metadata()


class Document(Base):
    """One version of a digitised document ``<identity code>.<document type code>`` (docs/domain.md §Identifiers)."""

    __tablename__ = "document"
    __table_args__ = (Index("ix_document_holder_id_code_type_code", "holder_id_code", "type_code"),)

    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder_id_code: Mapped[str] = mapped_column(String(20))
    holder_kind: Mapped[str] = mapped_column(String(16))
    type_code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(String(20))
    dossier_code: Mapped[str | None] = mapped_column(String(64), index=True)
    component_code: Mapped[str | None] = mapped_column(String(60))
    signed: Mapped[bool] = mapped_column(Boolean)
    # the last day the document is valid (inclusive, Asia/Ho_Chi_Minh); none: valid until superseded
    valid_until: Mapped[date | None] = mapped_column(Date)
    file_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(120))


class Reuse(Base):
    """A component of a dossier taken from the warehouse instead of being submitted again (``DuocLayTuKhoDMQG``)."""

    __tablename__ = "reuse"

    dossier_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    component_code: Mapped[str] = mapped_column(String(60), primary_key=True)
    document_id: Mapped[str] = mapped_column(String(80), index=True)
    document_version: Mapped[int] = mapped_column(Integer)
    reused_at: Mapped[datetime] = mapped_column(db.UtcDateTime())
    recorded_by: Mapped[str] = mapped_column(String(120))
