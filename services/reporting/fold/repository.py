"""The fold's writes: the ledger, the facts and payment attempts, and the catalogue, agency and queue replicas.

On PostgreSQL the ledger insert and the fact upsert are one ``INSERT … SELECT FROM unnest(…)`` each (a handful of
parameters whatever the batch size); on SQLite, plain multi-row statements.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Date, Float, Integer, Table, case, delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import UtcDateTime, insert_ignoring_conflicts, upsert
from libs.common.messaging.tables import dead_letter, inbox
from libs.common.prepared import driver_connection
from services.reporting import models as m
from services.reporting.fold.facts import DossierFact, PaymentTxn
from services.reporting.fold.ledger import LedgerEvent
from services.reporting.models import FACT_COLUMNS, event_t, fact_t, payment_t, visit_t

IN_CHUNK = 1000


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


REPLICAS_LOCK = 7_263_005


def dossier_lock_key(code: str) -> int:
    """A stable signed 64-bit advisory-lock key for a dossier (the same in every process, unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(code.encode(), digest_size=8).digest(), "big", signed=True)


async def lock_fold(session: AsyncSession, dossier_codes: Iterable[str], replicas: bool) -> None:
    """Serialise fold batches only where they meet: a batch reads each touched dossier's ledger and rewrites its
    fact, so two batches on the same dossier could each miss the other's events; batches on different dossiers
    (two replicas on different partitions) fold in parallel. The catalogue, agency, queue and plan replicas share
    one key. Keys are taken in ascending order, in one statement, so two batches can never wait on each other in a
    cycle. SQLite already serialises writers, and the fold writes first."""
    if _dialect(session) != "postgresql":
        return
    keys = sorted({dossier_lock_key(code) for code in dossier_codes} | ({REPLICAS_LOCK} if replicas else set()))
    if keys:
        await session.execute(
            text("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(CAST(:keys AS bigint[])) AS k"), {"keys": keys}
        )


def _pg_type(column: Any) -> str:
    """The PostgreSQL element type of an ``unnest`` array for a column (JSON travels as text, cast on insert)."""
    t = column.type
    if isinstance(t, UtcDateTime):
        return "timestamptz"
    if isinstance(t, Boolean):
        return "bool"
    if isinstance(t, BigInteger):
        return "int8"
    if isinstance(t, Integer):
        return "int4"
    if isinstance(t, Float):
        return "float8"
    if isinstance(t, Date):
        return "date"
    return "text"


async def _pg_bulk_upsert(
    session: AsyncSession, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str], update: bool
) -> None:
    """One ``INSERT … SELECT FROM unnest(arrays) ON CONFLICT`` for a whole batch: the fold's hot path on PostgreSQL.

    SQLAlchemy would render and bind every value of a multi-row insert (seconds per thousand wide rows); one array
    per column is a handful of parameters whatever the batch size.
    """
    columns = list(table.columns)
    names = [c.name for c in columns]
    arrays = []
    for c in columns:
        values = [row.get(c.name) for row in rows]
        if isinstance(c.type, JSON):
            values = [None if v is None else json.dumps(v, ensure_ascii=False, default=str) for v in values]
        arrays.append(values)
    unnest = ", ".join(f"${i + 1}::{_pg_type(c)}[]" for i, c in enumerate(columns))
    selected = ", ".join(f"u.{c.name}::json" if isinstance(c.type, JSON) else f"u.{c.name}" for c in columns)
    action = "NOTHING"
    if update:
        action = "UPDATE SET " + ", ".join(f"{n} = EXCLUDED.{n}" for n in names if n not in key)
    listed = ", ".join(names)
    sql = (
        f"INSERT INTO {table.name} ({listed}) SELECT {selected} FROM unnest({unnest}) AS u({listed}) "
        f"ON CONFLICT ({', '.join(key)}) DO {action}"
    )
    await (await driver_connection(session)).execute(sql, *arrays)


# The ledger's columns as the fold passes them: the payload already serialised (``data_json``, pydantic's JSON).
_LEDGER_UNNEST = (
    "SELECT u.event_id, u.dossier_code, u.name, u.recorded_at, u.data::json "
    "FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[]) "
    "AS u(event_id, dossier_code, name, recorded_at, data)"
)
_LEDGER_INSERT = (
    f"INSERT INTO dossier_event (event_id, dossier_code, name, recorded_at, data) {_LEDGER_UNNEST} "
    "ON CONFLICT (event_id) DO NOTHING"
)


def _ledger_arrays(rows: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [[row[c] for row in rows] for c in ("event_id", "dossier_code", "name", "recorded_at", "data_json")]


async def add_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Append rows to the ledger (``event_id``, ``dossier_code``, ``name``, ``recorded_at`` and the payload as JSON
    text, ``data_json``); an event already there is left as it is."""
    if not rows:
        return
    if _dialect(session) == "postgresql":
        await (await driver_connection(session)).execute(_LEDGER_INSERT, *_ledger_arrays(rows))
        return
    columns = ("event_id", "dossier_code", "name", "recorded_at")
    plain = [{**{c: row[c] for c in columns}, "data": json.loads(row["data_json"])} for row in rows]
    await session.execute(insert_ignoring_conflicts(event_t, _dialect(session)), plain)


async def add_events_and_read(
    session: AsyncSession, rows: list[dict[str, Any]], codes: Sequence[str], known: Sequence[LedgerEvent]
) -> dict[str, list[LedgerEvent]]:
    """Append ``rows`` (the events ``known``) to the ledger and return the whole ledger of every dossier in
    ``codes``, the batch's own events not read back.

    On PostgreSQL one statement: the insert is a data-modifying ``WITH`` whose rows the main ``SELECT`` does not see
    (both run on the statement's one snapshot), so the select reads exactly what the ledger held before the batch.
    The caller holds the dossiers' locks, so no other batch adds to these ledgers meanwhile."""
    if _dialect(session) != "postgresql":
        # Write first: SQLite then holds its write lock for the whole batch, so no other writer interleaves.
        await add_events(session, rows)
        return await ledgers(session, codes, known)
    out: dict[str, list[LedgerEvent]] = {code: [] for code in codes}
    for e in known:
        out.setdefault(str(e.data.get("dossier_code")), []).append(e)
    records = await (await driver_connection(session)).fetch(
        f"WITH added AS ({_LEDGER_INSERT}) SELECT dossier_code, event_id, name, recorded_at, data::text "
        "FROM dossier_event WHERE dossier_code = ANY($6::text[])",
        *_ledger_arrays(rows),
        list(codes),
    )
    for code, event_id, name, recorded_at, data in records:
        out[code].append(LedgerEvent(event_id, name, recorded_at, json.loads(data)))
    return out


async def ledgers(
    session: AsyncSession, codes: Sequence[str], known: Sequence[LedgerEvent] = ()
) -> dict[str, list[LedgerEvent]]:
    """Every event recorded about each dossier. ``known`` events (this batch's, just inserted) are not read back."""
    out: dict[str, list[LedgerEvent]] = {code: [] for code in codes}
    for e in known:
        out.setdefault(str(e.data.get("dossier_code")), []).append(e)
    skip = [e.event_id for e in known]
    if _dialect(session) == "postgresql":
        records = await (await driver_connection(session)).fetch(
            "SELECT dossier_code, event_id, name, recorded_at, data::text FROM dossier_event "
            "WHERE dossier_code = ANY($1::text[]) AND NOT (event_id = ANY($2::text[]))",
            list(codes),
            skip,
        )
        for code, event_id, name, recorded_at, data in records:
            out[code].append(LedgerEvent(event_id, name, recorded_at, json.loads(data)))
        return out
    skipped = set(skip)
    for chunk in _chunks(list(codes)):
        result = await session.execute(
            select(
                event_t.c.dossier_code, event_t.c.event_id, event_t.c.name, event_t.c.recorded_at, event_t.c.data
            ).where(event_t.c.dossier_code.in_(chunk))
        )
        for code, event_id, name, recorded_at, data in result:
            if event_id not in skipped:
                out[code].append(LedgerEvent(event_id, name, recorded_at, data))
    return out


async def next_dossiers(session: AsyncSession, after: str | None, limit: int) -> list[str]:
    """The next ``limit`` dossier codes of the ledger after ``after``, in code order (keyset paging on the ledger's
    dossier-code index: each page costs the same however far the rebuild has come)."""
    query = select(event_t.c.dossier_code).distinct().order_by(event_t.c.dossier_code).limit(limit)
    if after is not None:
        query = query.where(event_t.c.dossier_code > after)
    return list((await session.execute(query)).scalars())


def _fact_row(f: DossierFact) -> dict[str, Any]:
    return {name: getattr(f, name) for name in FACT_COLUMNS}


async def upsert_facts(session: AsyncSession, facts: Sequence[DossierFact]) -> None:
    if not facts:
        return
    payments: dict[str, dict[str, Any]] = {}
    for f in facts:
        for p in f.payments:
            payments[p.payment_id] = _payment_row(p, f)
    if _dialect(session) == "postgresql":
        await _pg_bulk_upsert(session, fact_t, [_fact_row(f) for f in facts], ["dossier_code"], update=True)
        if payments:
            await _pg_bulk_upsert(session, payment_t, list(payments.values()), ["payment_id"], update=True)
        return
    stmt = upsert(fact_t, _dialect(session))
    stmt = stmt.on_conflict_do_update(
        index_elements=[fact_t.c.dossier_code],
        set_={name: stmt.excluded[name] for name in FACT_COLUMNS if name != "dossier_code"},
    )
    await session.execute(stmt, [_fact_row(f) for f in facts])
    if payments:
        pstmt = upsert(payment_t, _dialect(session))
        pstmt = pstmt.on_conflict_do_update(
            index_elements=[payment_t.c.payment_id],
            set_={c.name: pstmt.excluded[c.name] for c in payment_t.columns if c.name != "payment_id"},
        )
        await session.execute(pstmt, list(payments.values()))


def _payment_row(p: PaymentTxn, f: DossierFact) -> dict[str, Any]:
    return {
        "payment_id": p.payment_id,
        "dossier_code": p.dossier_code,
        "procedure_code": p.procedure_code or f.procedure_code,
        "amount_vnd": p.amount_vnd,
        "channel": p.channel,
        "status": p.status,
        "succeeded": p.succeeded,
        "at": p.at,
        "level": f.handling_level,
        "agency_code": f.handling_agency_code,
        "sector_code": f.sector_code,
        "sector_name": f.sector_name,
    }


async def upsert_latest(
    session: AsyncSession,
    table: Any,
    rows: list[dict[str, Any]],
    key: Sequence[str],
    version_column: str,
    keep: Sequence[str] = (),
) -> None:
    """Insert rows, or update an existing row only from a row at least as recent (``version_column``), so that a
    replica converges to the newest state whatever the order events arrive in. ``keep`` columns are never cleared:
    a later snapshot without them keeps what an earlier event set (e.g. a withdrawal date)."""
    if not rows:
        return
    stmt = upsert(table, _dialect(session))
    newer = stmt.excluded[version_column] >= table.c[version_column]
    set_: dict[str, Any] = {}
    for c in table.columns:
        if c.name in key:
            continue
        if c.name in keep:
            set_[c.name] = func.coalesce(stmt.excluded[c.name], table.c[c.name])
        elif c.name == version_column:
            set_[c.name] = case((newer, stmt.excluded[c.name]), else_=table.c[c.name])
        else:
            set_[c.name] = case((newer, stmt.excluded[c.name]), else_=table.c[c.name])
    await session.execute(stmt.on_conflict_do_update(index_elements=list(key), set_=set_), rows)


async def upsert_visits(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if rows:
        await session.execute(insert_ignoring_conflicts(visit_t, _dialect(session)), rows)


async def clear_projections(session: AsyncSession, consumer: str) -> None:
    """Drop every projection and this consumer's inbox and dead letters (the rebuild then refolds them)."""
    for model in m.PROJECTIONS:
        await session.execute(delete(model))
    await session.execute(delete(inbox).where(inbox.c.consumer == consumer))
    await session.execute(delete(dead_letter).where(dead_letter.c.consumer == consumer))
