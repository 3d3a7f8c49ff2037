"""Every query of the reporting service: the ledger and projections the fold writes, and the set-based aggregates
reports read.

Report queries compute the same per-dossier flags as ``domain.indicators.dossier_flags`` with ``CASE`` expressions
(so they run on SQLite and PostgreSQL alike) and sum them per group in one pass; a test checks that both agree.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Float,
    Integer,
    Select,
    Table,
    and_,
    case,
    delete,
    false,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy import cast as sa_cast
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import UtcDateTime, insert_ignoring_conflicts, upsert
from services.reporting import models as m
from services.reporting.domain.facts import DossierFact, LedgerEvent, PaymentTxn
from services.reporting.domain.indicators import (
    DOSSIER_FLAGS,
    PROCEDURE_FLAGS,
    AgencyInfo,
    GroupedData,
    GroupKey,
    ProcedureInfo,
    ProcedureKey,
    catalogue_in_force,
)
from services.reporting.domain.periods import Window
from services.reporting.domain.scope import Scope

IN_CHUNK = 1000
FACT_COLUMNS = [c.name for c in m.DossierFact.__table__.columns]
fact_t = cast(Table, m.DossierFact.__table__)
event_t = cast(Table, m.DossierEvent.__table__)
payment_t = cast(Table, m.PaymentTxn.__table__)
visit_t = cast(Table, m.WaitVisit.__table__)
procedure_t = cast(Table, m.ProcedureState.__table__)
agency_t = cast(Table, m.Agency.__table__)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _chunks(items: Sequence[Any], size: int = IN_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ------------------------------------------------------------------------------------------------ the fold's writes


async def lock_fold(session: AsyncSession) -> None:
    """Serialise fold batches across processes (the live consumer and a rebuild): each batch reads a dossier's
    ledger and rewrites its fact, so two concurrent batches could each miss the other's events. SQLite already
    serialises writers, and the fold writes first."""
    if _dialect(session) == "postgresql":
        await session.execute(select(func.pg_advisory_xact_lock(literal(7_263_005))))


async def _driver(session: AsyncSession) -> Any:
    """The asyncpg connection under the session's transaction (already begun by an earlier statement)."""
    connection = await session.connection()
    raw = await connection.get_raw_connection()
    return raw.driver_connection


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
    await (await _driver(session)).execute(sql, *arrays)


async def add_events(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    if _dialect(session) == "postgresql":
        await _pg_bulk_upsert(session, event_t, rows, ["event_id"], update=False)
        return
    await session.execute(insert_ignoring_conflicts(event_t, _dialect(session)), rows)


async def ledgers(
    session: AsyncSession, codes: Sequence[str], known: Sequence[LedgerEvent] = ()
) -> dict[str, list[LedgerEvent]]:
    """Every event recorded about each dossier. ``known`` events (this batch's, just inserted) are not read back."""
    out: dict[str, list[LedgerEvent]] = {code: [] for code in codes}
    for e in known:
        out.setdefault(str(e.data.get("dossier_code")), []).append(e)
    skip = [e.event_id for e in known]
    if _dialect(session) == "postgresql":
        records = await (await _driver(session)).fetch(
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


async def plan_loaded_at(session: AsyncSession, plan_id: str) -> datetime | None:
    return (await session.execute(select(m.Plan.loaded_at).where(m.Plan.plan_id == plan_id))).scalar_one_or_none()


async def replace_plan(session: AsyncSession, plan_row: dict[str, Any], targets: list[dict[str, Any]]) -> None:
    plan_id = plan_row["plan_id"]
    await session.execute(delete(m.PlanTarget).where(m.PlanTarget.plan_id == plan_id))
    await session.execute(delete(m.Plan).where(m.Plan.plan_id == plan_id))
    session.add(m.Plan(**plan_row))
    session.add_all(m.PlanTarget(**t) for t in targets)
    await session.flush()


async def plans(session: AsyncSession) -> list[m.Plan]:
    return list((await session.execute(select(m.Plan).order_by(m.Plan.plan_id))).scalars())


async def plan(session: AsyncSession, plan_id: str) -> m.Plan | None:
    return await session.get(m.Plan, plan_id)


async def clear_projections(session: AsyncSession, consumer: str) -> None:
    """Drop every projection and this consumer's inbox and dead letters (the rebuild then refolds them)."""
    from libs.common.messaging.tables import dead_letter, inbox

    for model in m.PROJECTIONS:
        await session.execute(delete(model))
    await session.execute(delete(inbox).where(inbox.c.consumer == consumer))
    await session.execute(delete(dead_letter).where(dead_letter.c.consumer == consumer))


# ------------------------------------------------------------------------------------------------ report reads


async def tune_for_reports(session: AsyncSession) -> None:
    """Report queries are a few wide aggregates per window: PostgreSQL's JIT spends longer compiling their CASE
    expressions (~0.5 s) than running them, and a sort spilling to disk is slower than hashing 1k–100k groups."""
    if _dialect(session) == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))
        await session.execute(text("SET LOCAL work_mem = '64MB'"))


def _in(w: Window, column: Any) -> ColumnElement[bool]:
    return and_(column >= w.start, column < w.end)


def _in_progress_at(t: Any, at: datetime) -> ColumnElement[bool]:
    return and_(
        t.c.received_at < at,
        or_(t.c.finished_at.is_(None), t.c.finished_at >= at),
        or_(t.c.withdrawn_at.is_(None), t.c.withdrawn_at >= at),
    )


def _overdue_at(t: Any, at: datetime) -> ColumnElement[Any]:
    """SQL twin of ``domain.facts.overdue_at`` (NULL-safe: a missing time never makes a dossier overdue)."""
    paused = and_(t.c.pause_started_at.is_not(None), t.c.pause_started_at < at)
    resumed = and_(t.c.pause_ended_at.is_not(None), t.c.pause_ended_at < at)
    not_resumed = or_(t.c.pause_ended_at.is_(None), t.c.pause_ended_at >= at)
    judged = case(
        (and_(t.c.second_request_at.is_not(None), t.c.second_request_at < at), True),
        (and_(paused, not_resumed), t.c.pause_started_at > t.c.initial_due_at),
        (resumed, func.coalesce(t.c.due_after_pause, t.c.due_at) < at),
        else_=t.c.initial_due_at < at,
    )
    return func.coalesce(judged, false())


def flag_conditions(w: Window, t: Any = fact_t) -> dict[str, ColumnElement[Any]]:
    """Each of ``domain.indicators.DOSSIER_FLAGS`` as a SQL condition on a fact row, for window ``w``."""
    rcv = _in(w, t.c.received_at)
    online = t.c.channel == "online"
    fin = _in(w, t.c.finished_at)
    resolved = and_(fin, t.c.finish_kind == "resolved")
    certified = and_(resolved, t.c.certification.is_(True), t.c.decision == "approved")
    in_progress_end = _in_progress_at(t, w.end)
    overdue_end = and_(in_progress_end, _overdue_at(t, w.end))
    late = or_(and_(fin, t.c.outcome == "late"), overdue_end)
    rated = _in(w, t.c.rated_at)
    return {
        "received": rcv,
        "received_online": and_(rcv, online),
        "received_counter": and_(rcv, t.c.channel == "counter"),
        "received_postal_channel": and_(rcv, t.c.channel == "postal"),
        "received_postal": and_(rcv, t.c.postal.is_(True)),
        "received_remote_online": and_(rcv, t.c.remote_online.is_(True)),
        "received_online_identified": and_(rcv, online, t.c.identified.is_(True)),
        "received_all_digitised": and_(rcv, t.c.all_digitised.is_(True)),
        "received_reused": and_(rcv, t.c.reused.is_(True)),
        "received_fully_online": and_(rcv, t.c.fully_online.is_(True)),
        "received_full_level": and_(rcv, t.c.online_level == "full"),
        "received_full_level_fully_online": and_(rcv, t.c.online_level == "full", t.c.fully_online.is_(True)),
        "received_fee": and_(rcv, t.c.fee_payable.is_(True)),
        "received_fee_paid_online": and_(rcv, t.c.fee_payable.is_(True), t.c.paid_online.is_(True)),
        "transferred": and_(rcv, t.c.inter_agency_transfers > 0),
        "transferred_electronic": and_(rcv, t.c.all_transfers_electronic.is_(True)),
        "finished": fin,
        "finished_early": and_(fin, t.c.outcome == "early"),
        "finished_on_time": and_(fin, t.c.outcome == "on_time"),
        "finished_late": and_(fin, t.c.outcome == "late"),
        "finished_in_time": and_(fin, t.c.outcome.in_(["early", "on_time"])),
        "resolved": resolved,
        "resolved_e_result": and_(resolved, t.c.e_result.is_(True)),
        "resolved_digitised_e_result": and_(resolved, t.c.e_result.is_(True), t.c.all_digitised.is_(True)),
        "certified": certified,
        "certified_electronic": and_(certified, t.c.e_result.is_(True)),
        "carried_over": _in_progress_at(t, w.start),
        "in_progress_end": in_progress_end,
        "overdue_end": overdue_end,
        "within_deadline_end": and_(in_progress_end, ~_overdue_at(t, w.end)),
        "withdrawn": _in(w, t.c.withdrawn_at),
        "late": late,
        "late_apologised": and_(late, t.c.apologised_at < w.end),
        "late_explained": and_(late, t.c.explained_at < w.end),
        "rated": rated,
        "rated_satisfied": and_(rated, t.c.rating.in_(["satisfied", "very_satisfied"])),
    }


def _relevant(w: Window, t: Any = fact_t) -> ColumnElement[bool]:
    """Rows that can count in window ``w``: received before its end and not closed before its start (or rated in
    it). Open dossiers and those closed since the start are few next to the archive, and each branch has an index."""
    return and_(
        t.c.received_at < w.end,
        or_(t.c.closed_at.is_(None), t.c.closed_at >= w.start, t.c.rated_at >= w.start),
    )


def _scope_where(scope: Scope | None, level: Any, agency: Any, sector_code: Any, procedure: Any) -> list[Any]:
    """The request's own filters pushed into SQL (plan-target scopes are applied to the groups afterwards)."""
    if scope is None:
        return []
    where: list[Any] = []
    if scope.levels is not None:
        where.append(level.in_(sorted(scope.levels)))
    if scope.agencies is not None:
        where.append(agency.in_(sorted(scope.agencies)))
    if scope.sector_codes is not None and scope.sector_names is None and sector_code is not None:
        where.append(sector_code.in_(sorted(scope.sector_codes)))
    if scope.procedures is not None and procedure is not None:
        where.append(procedure.in_(sorted(scope.procedures)))
    return where


def _sum(cond: ColumnElement[Any]) -> Any:
    """How many rows meet ``cond`` (``count(*) FILTER (WHERE …)``: PostgreSQL and SQLite ≥ 3.30)."""
    return func.count().filter(cond)


@dataclass(frozen=True)
class _Part:
    where: list[Any]
    flags: tuple[str, ...]
    procedure_flags: tuple[str, ...] = ()
    conditions: dict[str, Any] = field(default_factory=dict)  # a flag's condition restricted to this part


def _open_at(t: Any, at: datetime, dialect: str) -> list[Any]:
    """Rows in progress at ``at`` (received before it, not closed before it). On PostgreSQL the same test as a
    range containment, which the GiST index on (received_at, closed_at] answers without reading closed dossiers."""
    where = [t.c.received_at.is_not(None), _in_progress_at(t, at)]
    if dialect == "postgresql":
        span = func.tstzrange(t.c.received_at, t.c.closed_at, literal("(]"))
        where.append(span.op("@>")(cast_instant(at)))
    return where


def cast_instant(at: datetime) -> Any:
    return sa_cast(literal(at, type_=UtcDateTime()), DateTime(timezone=True))


def _parts(w: Window, session: AsyncSession) -> list[_Part]:
    t = fact_t
    dialect = _dialect(session)
    conds = flag_conditions(w)
    fin = _in(w, t.c.finished_at)
    finished_late = and_(fin, t.c.outcome == "late")
    overdue_end = conds["overdue_end"]
    return [
        _Part(
            [_in(w, t.c.received_at)],
            (
                "received",
                "received_online",
                "received_counter",
                "received_postal_channel",
                "received_postal",
                "received_remote_online",
                "received_online_identified",
                "received_all_digitised",
                "received_reused",
                "received_fully_online",
                "received_full_level",
                "received_full_level_fully_online",
                "received_fee",
                "received_fee_paid_online",
                "transferred",
                "transferred_electronic",
            ),
            ("fee_received",),
        ),
        _Part(
            [fin],
            (
                "finished",
                "finished_early",
                "finished_on_time",
                "finished_late",
                "finished_in_time",
                "resolved",
                "resolved_e_result",
                "resolved_digitised_e_result",
                "certified",
                "certified_electronic",
                "late",
                "late_apologised",
                "late_explained",
            ),
            ("resolved", "resolved_e_result"),
            {
                "late": finished_late,
                "late_apologised": and_(finished_late, t.c.apologised_at < w.end),
                "late_explained": and_(finished_late, t.c.explained_at < w.end),
            },
        ),
        _Part(
            _open_at(t, w.end, dialect),
            ("in_progress_end", "overdue_end", "within_deadline_end", "late", "late_apologised", "late_explained"),
            (),
            {
                "late": overdue_end,
                "late_apologised": and_(overdue_end, t.c.apologised_at < w.end),
                "late_explained": and_(overdue_end, t.c.explained_at < w.end),
            },
        ),
        _Part(_open_at(t, w.start, dialect), ("carried_over",)),
        _Part([_in(w, t.c.withdrawn_at)], ("withdrawn",)),
        _Part([_in(w, t.c.rated_at)], ("rated", "rated_satisfied")),
    ]


async def grouped(
    session: AsyncSession,
    w: Window,
    *,
    where: Scope | None = None,
    by_agency: bool = True,
    procedures: bool = True,
    agencies: dict[str, AgencyInfo] | None = None,
    catalogue: list[ProcedureInfo] | None = None,
) -> GroupedData:
    """Additive counts of window ``w`` per (level, agency, sector) — the SQL twin of ``indicators.group_facts``.

    ``by_agency=False`` groups by level and sector only (the agency key is then None), which is all a report needs
    when no section or target names an agency or an area kind; ``procedures=False`` skips the per-procedure counts
    when no procedure-based indicator is asked for.
    """
    t = fact_t
    conds = flag_conditions(w)
    if where is not None and (where.agencies is not None or where.area_kinds is not None):
        by_agency = True
    agency_col = t.c.handling_agency_code if by_agency else literal(None, type_=t.c.handling_agency_code.type)
    keys: list[Any] = [t.c.handling_level, agency_col, t.c.sector_code, t.c.sector_name]
    group_by: list[Any] = [
        t.c.handling_level,
        *([t.c.handling_agency_code] if by_agency else []),
        t.c.sector_code,
        t.c.sector_name,
    ]
    scoped = _scope_where(where, t.c.handling_level, t.c.handling_agency_code, t.c.sector_code, t.c.procedure_code)
    pconds = {
        "resolved": conds["resolved"],
        "resolved_e_result": conds["resolved_e_result"],
        "fee_received": and_(conds["received"], t.c.fee_payable.is_(True)),
    }
    g = GroupedData(window=w)
    dossiers: dict[GroupKey, dict[str, int]] = {}
    # Each part reads only the rows its flags can count, through an index; the parts' flags are disjoint except
    # "late" and its two sub-flags, whose finished part and overdue part are disjoint sets of dossiers and add up.
    for part in _parts(w, session):
        columns = [_sum(part.conditions.get(name, conds[name])).label(name) for name in part.flags]
        query: Select[Any] = select(*keys, *columns).where(*part.where, *scoped).group_by(*group_by)
        for row in await session.execute(query):
            mapping = row._mapping
            counts = dossiers.setdefault((row[0], row[1], row[2], row[3]), dict.fromkeys(DOSSIER_FLAGS, 0))
            for name in part.flags:
                counts[name] += int(mapping[name])
        if procedures and part.procedure_flags:
            # per procedure only the few counts that procedure-based indicators need (more groups, fewer columns)
            pcolumns = [_sum(pconds[name]).label(name) for name in part.procedure_flags]
            pquery: Select[Any] = (
                select(*keys, t.c.procedure_code, *pcolumns)
                .where(*part.where, *scoped)
                .group_by(*group_by, t.c.procedure_code)
            )
            for row in await session.execute(pquery):
                mapping = row._mapping
                pkey: ProcedureKey = (row[0], row[1], row[2], row[3], row[4])
                pcounts = g.procedures.setdefault(pkey, dict.fromkeys(PROCEDURE_FLAGS, 0))
                for name in part.procedure_flags:
                    pcounts[name] += int(mapping[name])
    g.dossiers = {k: v for k, v in dossiers.items() if any(v.values())}
    g.procedures = {k: v for k, v in g.procedures.items() if any(v.values())}

    if procedures:
        p = payment_t
        pay_agency = p.c.agency_code if by_agency else literal(None, type_=p.c.agency_code.type)
        paykeys = [p.c.level, pay_agency, p.c.sector_code, p.c.sector_name, p.c.procedure_code, p.c.channel]
        payquery: Select[Any] = (
            select(*paykeys, func.count())
            .where(
                p.c.succeeded.is_(True),
                _in(w, p.c.at),
                *_scope_where(where, p.c.level, p.c.agency_code, p.c.sector_code, p.c.procedure_code),
            )
            .group_by(
                p.c.level,
                *([p.c.agency_code] if by_agency else []),
                p.c.sector_code,
                p.c.sector_name,
                p.c.procedure_code,
                p.c.channel,
            )
        )
        for row in await session.execute(payquery):
            g.payments[(row[0], row[1], row[2], row[3], row[4], row[5])] = int(row[6])

    v = visit_t
    visit_level = func.coalesce(v.c.level, agency_t.c.level)
    vquery: Select[Any] = (
        select(visit_level, v.c.agency_code, func.count(), func.coalesce(func.sum(v.c.wait_seconds), 0))
        .select_from(v.outerjoin(agency_t, agency_t.c.code == v.c.agency_code))
        .where(_in(w, v.c.served_at), *_scope_where(where, visit_level, v.c.agency_code, None, None))
        .group_by(visit_level, v.c.agency_code)
    )
    for level, agency, n, seconds in await session.execute(vquery):
        g.visits[(level, agency)] = (int(n), int(seconds))

    dquery: Select[Any] = (
        select(t.c.receiving_level, t.c.receiving_agency_code, func.count())
        .where(
            _in(w, t.c.received_at),
            *_scope_where(where, t.c.receiving_level, t.c.receiving_agency_code, t.c.sector_code, t.c.procedure_code),
        )
        .group_by(t.c.receiving_level, t.c.receiving_agency_code)
    )
    for level, agency, n in await session.execute(dquery):
        g.desk_received[(level, agency)] = int(n)

    g.agencies = agencies if agencies is not None else await agency_infos(session)
    versions = catalogue if catalogue is not None else await procedure_versions(session)
    g.catalogue = catalogue_in_force(versions, w.last_on)
    return g


async def agency_infos(session: AsyncSession) -> dict[str, AgencyInfo]:
    rows = await session.execute(select(agency_t))
    return {
        r.code: AgencyInfo(r.code, r.name, r.level, r.area_kind, r.desk_officers, tuple(r.procedure_codes or ()))
        for r in rows
    }


async def procedure_versions(session: AsyncSession) -> list[ProcedureInfo]:
    rows = await session.execute(select(procedure_t))
    return [
        ProcedureInfo(
            code=r.code,
            version=r.version,
            name=r.name,
            sector_code=r.sector_code,
            sector_name=r.sector_name,
            levels=tuple(r.levels or ()),
            agency_codes=tuple(r.agency_codes or ()),
            online_level=r.online_level,
            public=r.public,
            has_fees=r.has_fees,
            fees_payable_online=r.fees_payable_online,
            certification=r.certification,
            in_force_from=r.in_force_from,
            in_force_until=r.in_force_until,
            withdrawn_on=r.withdrawn_on,
        )
        for r in rows
    ]


async def levels_in_use(session: AsyncSession) -> list[str]:
    found = set((await session.execute(select(agency_t.c.level).distinct())).scalars())
    found |= set((await session.execute(select(fact_t.c.handling_level).distinct())).scalars())
    return sorted(
        (lv for lv in found if lv), key=lambda lv: ({"province": 0, "district": 1, "commune": 2}.get(lv, 9), lv)
    )


async def drill_down(
    session: AsyncSession, w: Window, flag: str, where: Scope | None, limit: int, offset: int
) -> tuple[int, list[str]]:
    """Dossier codes behind one flag (a numerator or denominator) in a window and scope."""
    t = fact_t
    conds = flag_conditions(w)
    filters = [
        _relevant(w),
        conds[flag],
        *_scope_where(where, t.c.handling_level, t.c.handling_agency_code, t.c.sector_code, t.c.procedure_code),
    ]
    if where is not None and where.has_sector_filter():
        # name fragments and exclusions are matched in Python on the (few) sector names of the window
        names = await session.execute(select(t.c.sector_code, t.c.sector_name).where(*filters).distinct())
        keep = [code for code, name in names if where.matches_sector(code, name)]
        filters.append(t.c.sector_code.in_(keep))
    total = (await session.execute(select(func.count()).select_from(t).where(*filters))).scalar_one()
    codes = (
        await session.execute(
            select(t.c.dossier_code).where(*filters).order_by(t.c.dossier_code).limit(limit).offset(offset)
        )
    ).scalars()
    return int(total), list(codes)


async def facts(session: AsyncSession, codes: Sequence[str] | None = None) -> list[m.DossierFact]:
    query = select(m.DossierFact).order_by(m.DossierFact.dossier_code)
    if codes is not None:
        query = query.where(m.DossierFact.dossier_code.in_(list(codes)))
    return list((await session.execute(query)).scalars())


async def fact(session: AsyncSession, code: str) -> m.DossierFact | None:
    return await session.get(m.DossierFact, code)


async def ledger_rows(session: AsyncSession, code: str) -> list[m.DossierEvent]:
    query = select(m.DossierEvent).where(m.DossierEvent.dossier_code == code)
    return sorted((await session.execute(query)).scalars(), key=lambda e: (e.recorded_at, e.event_id))


async def counts_per_receiving_agency(
    session: AsyncSession, start: datetime, end: datetime
) -> dict[str, dict[str, int]]:
    """Dossiers received, and finished (result, refusal after acceptance, stop), in [start, end) per receiving
    agency: what intake's ``GET /stats/dossiers`` counts, for the parity check."""
    t = fact_t
    received = and_(t.c.received_at >= start, t.c.received_at < end)
    finished = and_(t.c.finished_at >= start, t.c.finished_at < end)
    rows = await session.execute(
        select(t.c.receiving_agency_code, _sum(received), _sum(finished))
        .where(t.c.received_at.is_not(None), or_(received, finished))
        .group_by(t.c.receiving_agency_code)
    )
    return {code: {"received": int(r), "finished": int(f)} for code, r, f in rows if code}


async def level_of_agency(session: AsyncSession, agency: str) -> str | None:
    t = fact_t
    query = select(t.c.handling_level).where(t.c.handling_agency_code == agency).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


def _keep_sector(scope: Scope, pairs: Iterable[tuple[str | None, str | None]]) -> list[str | None]:
    return [code for code, name in pairs if scope.matches_sector(code, name)]


async def payment_dossiers(session: AsyncSession, w: Window, scope: Scope, *, online_only: bool) -> list[str]:
    p = payment_t
    filters = [
        p.c.succeeded.is_(True),
        _in(w, p.c.at),
        *_scope_where(scope, p.c.level, p.c.agency_code, p.c.sector_code, p.c.procedure_code),
    ]
    if online_only:
        filters.append(p.c.channel == "online")
    rows = await session.execute(select(p.c.dossier_code, p.c.sector_code, p.c.sector_name).where(*filters))
    return sorted({code for code, sc, sn in rows if scope.matches_sector(sc, sn)})


async def visit_tickets(session: AsyncSession, w: Window, scope: Scope) -> list[str]:
    v = visit_t
    level = func.coalesce(v.c.level, agency_t.c.level)
    rows = await session.execute(
        select(v.c.ticket_id)
        .select_from(v.outerjoin(agency_t, agency_t.c.code == v.c.agency_code))
        .where(_in(w, v.c.served_at), *_scope_where(scope, level, v.c.agency_code, None, None))
        .order_by(v.c.ticket_id)
    )
    return list(rows.scalars())


async def desk_dossiers(session: AsyncSession, w: Window, scope: Scope) -> list[str]:
    t = fact_t
    rows = await session.execute(
        select(t.c.dossier_code)
        .where(
            _in(w, t.c.received_at), *_scope_where(scope, t.c.receiving_level, t.c.receiving_agency_code, None, None)
        )
        .order_by(t.c.dossier_code)
    )
    return list(rows.scalars())


def now() -> datetime:
    return datetime.now(UTC)
