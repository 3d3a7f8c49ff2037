"""A tamper-evident audit log: every change and every read of personal data, chained by hash.

Requests append a row in their own transaction (one insert, no lock: the hot path stays cheap). A sealer then gives
committed rows, in id order, their place in the chain (``seq``) and a hash that covers the row and the previous
row's hash, so altering or deleting a sealed row breaks every hash after it and ``verify`` names the first broken
row. The chain is ordered by ``seq``, not by id, because ids can commit out of order: a row that commits late is
simply sealed later. Sealing takes a transaction-scoped advisory lock on PostgreSQL so two replicas never seal at
once; SQLite is single-process.

A row names who acted (subject, display name, agency), what on (kind and id of the aggregate), whether personal data
was involved, and when; it never holds the personal data itself (Decree 13/2023 on personal data protection).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    String,
    Table,
    Text,
    bindparam,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from libs.common.auth import PROVINCE_WIDE, Principal, Role
from libs.common.db import BigIntPK, UtcDateTime, new_metadata
from libs.common.logging import get_logger

log = get_logger(__name__)

__all__ = [
    "AuditAction",
    "ChainCheck",
    "acting_agency",
    "audit_log",
    "audit_metadata",
    "personal_data_reads",
    "principal_rows",
    "record",
    "record_change",
    "record_principal",
    "run_sealer",
    "seal",
    "verify",
]

audit_metadata = new_metadata()

audit_log = Table(
    "audit_log",
    audit_metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("seq", BigInteger, nullable=True, unique=True),  # place in the chain, set when sealed
    Column("at", UtcDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),  # principal subject, or "public" / "system"
    Column("actor_name", String(200), nullable=True),
    Column("actor_agency", String(40), nullable=True),
    Column("action", String(20), nullable=False),
    Column("subject_kind", String(40), nullable=False),
    Column("subject_id", String(120), nullable=False),
    Column("personal_data", Boolean, nullable=False),
    Column("detail", Text, nullable=True),  # JSON, never personal data
    Column("prev_hash", String(64), nullable=True),
    Column("hash", String(64), nullable=True),
)
Index("ix_audit_log_subject", audit_log.c.subject_kind, audit_log.c.subject_id, audit_log.c.at)
Index(
    "ix_audit_log_unsealed",
    audit_log.c.id,
    postgresql_where=audit_log.c.seq.is_(None),
    sqlite_where=audit_log.c.seq.is_(None),
)

GENESIS = "0" * 64
_SEAL_LOCK = 0x6D63617564  # "mcaud"


class AuditAction(StrEnum):
    READ = "read"  # personal data shown to someone
    CREATE = "create"
    CHANGE = "change"
    EXPORT = "export"


async def record(
    session: AsyncSession,
    *,
    at: datetime,
    actor: str,
    action: AuditAction,
    subject_kind: str,
    subject_id: str,
    personal_data: bool,
    actor_name: str | None = None,
    actor_agency: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit row in the caller's transaction (it commits or rolls back with the change it records)."""
    await session.execute(
        insert(audit_log).values(
            at=at,
            actor=actor,
            actor_name=actor_name,
            actor_agency=actor_agency,
            action=action.value,
            subject_kind=subject_kind,
            subject_id=subject_id,
            personal_data=personal_data,
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None,
        )
    )


def acting_agency(principal: Principal, *agency_codes: str | None) -> str | None:
    """The agency a principal acts for on a record: the first of the record's agencies within the principal's scope;
    ``"province-wide"`` for a province-wide officer outside them; none for a portal client acting for its applicant.
    It is what a citizen is shown ("which agencies read my data"), so it names an agency, never the officer."""
    scope = principal.scope
    for code in agency_codes:
        if code is not None and code in scope.agencies:
            return code
    if scope.province_wide and principal.roles - {Role.PORTAL}:
        return PROVINCE_WIDE
    if scope.agencies and principal.roles - {Role.PORTAL}:
        return sorted(scope.agencies)[0]
    return None


_INSERT = insert(audit_log)  # built once: every audited request appends through it
# The same rows on PostgreSQL as one array per column (``record_principal``).
_LIST_COLUMNS = (
    "at", "actor", "actor_name", "actor_agency", "action", "subject_kind", "subject_id", "personal_data", "detail"
)  # fmt: skip
_PG_LIST_INSERT = (
    f"INSERT INTO audit_log ({', '.join(_LIST_COLUMNS)}) SELECT {', '.join(_LIST_COLUMNS)} FROM unnest("
    "$1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bool[], "
    f"$9::text[]) WITH ORDINALITY AS u({', '.join(_LIST_COLUMNS)}, n) ORDER BY n"
)


async def record_principal(
    session: AsyncSession,
    principal: Principal,
    *,
    at: datetime,
    action: AuditAction,
    subject_kind: str,
    subject_ids: Sequence[str],
    personal_data: bool,
    agencies: Sequence[Sequence[str | None]] | None = None,
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
) -> None:
    """Append one row per subject for what ``principal`` did, in the caller's transaction (one multi-row insert, so a
    page of 200 dossiers read is one statement). ``agencies[i]`` are subject i's agencies, for ``acting_agency``;
    ``actor`` replaces the subject when that is itself personal data (a citizen signed in with their identity number).
    """
    if not subject_ids:
        return
    rows = principal_rows(
        principal,
        at=at,
        action=action,
        subject_kind=subject_kind,
        subject_ids=subject_ids,
        personal_data=personal_data,
        agencies=agencies,
        detail=detail,
        actor=actor,
    )
    if len(rows) > 1 and session.get_bind().dialect.name == "postgresql":
        # A long list (a drill-down page of 1,000 dossiers) as one array per column: SQLAlchemy would render and
        # bind a 1,000-row VALUES statement (~20 ms of Python per page). Through SQLAlchemy's connection, so the
        # statement runs in (or opens) the session's transaction.
        if at.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        connection = await session.connection()
        await connection.exec_driver_sql(_PG_LIST_INSERT, tuple([row[c] for row in rows] for c in _LIST_COLUMNS))
        return
    await session.execute(_INSERT, rows)


def principal_rows(
    principal: Principal,
    *,
    at: datetime,
    action: AuditAction,
    subject_kind: str,
    subject_ids: Sequence[str],
    personal_data: bool,
    agencies: Sequence[Sequence[str | None]] | None = None,
    detail: dict[str, Any] | None = None,
    actor: str | None = None,
) -> list[dict[str, Any]]:
    """The rows ``record_principal`` appends, for a caller that writes them itself in one statement with its other
    writes (libs/common/prepared.py)."""
    text_detail = json.dumps(detail, ensure_ascii=False, sort_keys=True) if detail else None
    return [
        {
            "at": at,
            "actor": actor or principal.subject,
            "actor_name": principal.display_name or None,
            "actor_agency": acting_agency(principal, *(agencies[i] if agencies else ())),
            "action": action.value,
            "subject_kind": subject_kind,
            "subject_id": subject_id,
            "personal_data": personal_data,
            "detail": text_detail,
        }
        for i, subject_id in enumerate(subject_ids)
    ]


async def record_change(
    session: AsyncSession,
    principal: Principal | None,
    *,
    at: datetime,
    action: AuditAction,
    subject_kind: str,
    subject_id: str,
    system_actor: str = "system",
    detail: dict[str, Any] | None = None,
) -> None:
    """One row for a change of a record that holds no citizen's personal data (catalogue, payments): by
    ``principal``, or, without one, by the service or a provider acting on its own (``system_actor``)."""
    if principal is None:
        await record(
            session,
            at=at,
            actor=system_actor,
            action=action,
            subject_kind=subject_kind,
            subject_id=subject_id,
            personal_data=False,
            detail=detail or None,
        )
        return
    await record_principal(
        session,
        principal,
        at=at,
        action=action,
        subject_kind=subject_kind,
        subject_ids=[subject_id],
        personal_data=False,
        detail=detail or None,
    )


def row_hash(row: Any, seq: int, prev_hash: str) -> str:
    """SHA-256 over the previous hash and every recorded field of the row, in a fixed canonical form."""
    body = json.dumps(
        [
            prev_hash,
            seq,
            row.id,
            row.at.isoformat(),
            row.actor,
            row.actor_name,
            row.actor_agency,
            row.action,
            row.subject_kind,
            row.subject_id,
            bool(row.personal_data),
            row.detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


async def seal(session: AsyncSession, *, limit: int = 1000) -> int:
    """Chain up to ``limit`` committed, unsealed rows in id order; returns how many. The caller commits."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _SEAL_LOCK})
    last = (
        await session.execute(
            select(audit_log.c.seq, audit_log.c.hash)
            .where(audit_log.c.seq.is_not(None))
            .order_by(audit_log.c.seq.desc())
            .limit(1)
        )
    ).first()
    seq, prev = (last.seq, last.hash) if last else (0, GENESIS)
    rows = (
        await session.execute(select(audit_log).where(audit_log.c.seq.is_(None)).order_by(audit_log.c.id).limit(limit))
    ).all()
    sealed = []
    for row in rows:
        seq += 1
        digest = row_hash(row, seq, prev)
        sealed.append({"row_id": row.id, "row_seq": seq, "row_prev": prev, "row_hash": digest})
        prev = digest
    if sealed:
        # one statement for the batch (asyncpg sends its executions in one round trip): under a steady stream of
        # audited requests the sealer runs every second, and a statement built and sent per row cost more than the
        # requests' own audit inserts
        await session.execute(_SEAL, sealed)
    return len(rows)


_SEAL = (
    update(audit_log)
    .where(audit_log.c.id == bindparam("row_id"))
    .values(seq=bindparam("row_seq"), prev_hash=bindparam("row_prev"), hash=bindparam("row_hash"))
)


@dataclass(frozen=True)
class ChainCheck:
    ok: bool
    checked: int
    unsealed: int
    first_broken_id: int | None = None
    reason: str | None = None


async def verify(session: AsyncSession, *, batch: int = 5000) -> ChainCheck:
    """Walk the chain in ``seq`` order and recompute every hash; name the first row that does not match."""
    prev, expected_seq, checked, after = GENESIS, 1, 0, 0
    while True:
        rows: Sequence[Any] = (
            await session.execute(
                select(audit_log)
                .where(audit_log.c.seq.is_not(None), audit_log.c.seq > after)
                .order_by(audit_log.c.seq)
                .limit(batch)
            )
        ).all()
        if not rows:
            break
        for row in rows:
            if row.seq != expected_seq:
                return ChainCheck(False, checked, 0, row.id, f"chain position {expected_seq} is missing")
            if row.prev_hash != prev:
                return ChainCheck(False, checked, 0, row.id, "does not follow the previous row's hash")
            if row_hash(row, row.seq, prev) != row.hash:
                return ChainCheck(False, checked, 0, row.id, "its content does not match its hash")
            prev, expected_seq, checked, after = row.hash, expected_seq + 1, checked + 1, row.seq
    unsealed = int(
        (
            await session.execute(select(func.count()).select_from(audit_log).where(audit_log.c.seq.is_(None)))
        ).scalar_one()
    )
    return ChainCheck(True, checked, unsealed)


@dataclass(frozen=True)
class PersonalDataRead:
    at: datetime
    agency_code: str | None
    action: str


async def personal_data_reads(session: AsyncSession, subject_kind: str, subject_id: str) -> list[PersonalDataRead]:
    """Who (by agency, never by officer) saw or changed this aggregate's personal data, and when: the citizen's view."""
    rows = (
        await session.execute(
            select(audit_log.c.at, audit_log.c.actor_agency, audit_log.c.action)
            .where(
                audit_log.c.subject_kind == subject_kind,
                audit_log.c.subject_id == subject_id,
                audit_log.c.personal_data.is_(True),
            )
            .order_by(audit_log.c.at, audit_log.c.id)
        )
    ).all()
    return [PersonalDataRead(r.at, r.actor_agency, r.action) for r in rows]


async def run_sealer(sessions: async_sessionmaker[AsyncSession], *, interval_seconds: float = 1.0) -> None:
    """Seal committed rows every ``interval_seconds`` until cancelled (a task of the service's lifespan)."""
    while True:
        try:
            async with sessions() as session, session.begin():
                sealed = await seal(session)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a database outage: try again later, the rows wait unsealed
            log.warning("audit_seal_failed", error=type(exc).__name__)
            sealed = 0
        if sealed == 0:
            await asyncio.sleep(interval_seconds)
