"""The report reads: the grouped counts of a window (the SQL twin of ``indicators.group_facts``), the replicas
reports join, drill-downs and the parity counts. Read-only; the fold writes (``fold.repository``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.auth import AgencyScope
from services.reporting import models as m
from services.reporting.fold.aggregates import (
    COUNTERS,
    DAY,
    HALF_MONTH,
    LATE_NOTED,
    PROCEDURE_COUNTERS,
    window_spans,
)
from services.reporting.models import (
    LATE_NOTED_AFTER_FINISH,
    agency_t,
    aggregate_t,
    fact_t,
    payment_t,
    procedure_t,
    visit_t,
)
from services.reporting.reports import late_list
from services.reporting.reports.indicators import (
    DOSSIER_FLAGS,
    PROCEDURE_FLAGS,
    AgencyInfo,
    GroupedData,
    GroupKey,
    ProcedureInfo,
    ProcedureKey,
    catalogue_in_force,
)
from services.reporting.reports.periods import Window
from services.reporting.reports.scope import Scope
from services.reporting.reports.sql import (
    OPEN_FLAGS,
    Part,
    count_if,
    flag_conditions,
    in_progress_at,
    in_window,
    open_part,
    overdue_at,
    parts,
    relevant,
    scope_where,
)


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def tune_for_reports(session: AsyncSession) -> None:
    """Report queries are a few wide aggregates per window: PostgreSQL's JIT spends longer compiling their CASE
    expressions (~0.5 s) than running them, and a sort spilling to disk is slower than hashing 1k–100k groups."""
    if _dialect(session) == "postgresql":
        await session.execute(text("SET LOCAL jit = off"))
        await session.execute(text("SET LOCAL work_mem = '64MB'"))


async def grouped(
    session: AsyncSession,
    w: Window,
    *,
    where: Scope | None = None,
    by_agency: bool = True,
    procedures: bool = True,
    agencies: dict[str, AgencyInfo] | None = None,
    catalogue: list[ProcedureInfo] | None = None,
    aggregates: bool = True,
    instants: dict[tuple[datetime, bool], dict[GroupKey, dict[str, int]]] | None = None,
) -> GroupedData:
    """Additive counts of window ``w`` per (level, agency, sector) — the SQL twin of ``indicators.group_facts``.

    The counts anchored on a time inside the window (received, finished, supplement requested, withdrawn, rated
    in it) are sums of the fold's day aggregates over the window's days; the counts at an instant (in progress and
    overdue at the end, carried over at the start) are read from the facts through the open-span index.
    ``aggregates=False`` reads everything from the facts (the aggregates' own check, and a way round them).
    ``instants`` keeps the counts at each instant between calls with the same ``where`` (one report's windows).

    ``by_agency=False`` groups by level and sector only (the agency key is then None), which is all a report needs
    when no section or target names an agency or an area kind; ``procedures=False`` skips the per-procedure counts
    when no procedure-based indicator is asked for.
    """
    t = fact_t
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
    scoped = scope_where(where, t.c.handling_level, t.c.handling_agency_code, t.c.sector_code, t.c.procedure_code)
    g = GroupedData(window=w)
    dossiers: dict[GroupKey, dict[str, int]] = {}
    conds: dict[str, Any] = {}
    pconds: dict[str, Any] = {}
    window_parts: list[Part] = []
    if aggregates:
        await _anchored_from_aggregates(session, w, where, by_agency, procedures, dossiers, g.procedures)
        # The instant parts: the dossiers in progress at the end, and at the start (carried over). Consecutive
        # windows share instants (a quarter's start is the previous quarter's end; the year to date ends with the
        # quarter), so a report over several windows reads each instant once.
        for at, counted in ((w.end, _AT_END), (w.start, _AT_START)):
            cache_key = (at, by_agency)
            found = instants.get(cache_key) if instants is not None else None
            if found is None:
                found = await _open_at(session, at, keys, group_by, scoped)
                if instants is not None:
                    instants[cache_key] = found
            for key, open_counts in found.items():
                counts = dossiers.setdefault(key, dict.fromkeys(DOSSIER_FLAGS, 0))
                for source, name in counted:
                    counts[name] += open_counts[source]
    else:
        conds = flag_conditions(w)
        pconds = {
            "resolved": conds["resolved"],
            "resolved_e_result": conds["resolved_e_result"],
            "fee_received": and_(conds["received"], t.c.fee_payable.is_(True)),
        }
        window_parts = parts(w, _dialect(session))
    # Each part reads only the rows its flags can count, through an index; the parts' flags are disjoint except
    # "late" and its two sub-flags, whose finished part and overdue part are disjoint sets of dossiers and add up.
    for part in window_parts:
        columns = [
            count_if(part.conditions[name] if name in part.conditions else conds[name]).label(name)
            for name in part.flags
        ]
        query: Select[Any] = select(*keys, *columns).where(*part.where, *scoped).group_by(*group_by)
        for row in await session.execute(query):
            mapping = row._mapping
            counts = dossiers.setdefault((row[0], row[1], row[2], row[3]), dict.fromkeys(DOSSIER_FLAGS, 0))
            for name in part.flags:
                counts[name] += int(mapping[name])
        if procedures and part.procedure_flags:
            # per procedure only the few counts that procedure-based indicators need (more groups, fewer columns)
            pcolumns = [count_if(pconds[name]).label(name) for name in part.procedure_flags]
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
                in_window(w, p.c.at),
                *scope_where(where, p.c.level, p.c.agency_code, p.c.sector_code, p.c.procedure_code),
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
        .where(in_window(w, v.c.served_at), *scope_where(where, visit_level, v.c.agency_code, None, None))
        .group_by(visit_level, v.c.agency_code)
    )
    for level, agency, n, seconds in await session.execute(vquery):
        g.visits[(level, agency)] = (int(n), int(seconds))

    if aggregates:
        a = aggregate_t
        dquery: Select[Any] = (
            select(a.c.level, a.c.agency_code, func.sum(a.c.received))
            .where(
                days_of(w),
                a.c.anchor == "desk_received",
                *scope_where(where, a.c.level, a.c.agency_code, a.c.sector_code, a.c.procedure_code),
            )
            .group_by(a.c.level, a.c.agency_code)
        )
    else:
        dquery = (
            select(t.c.receiving_level, t.c.receiving_agency_code, func.count())
            .where(
                in_window(w, t.c.received_at),
                *scope_where(
                    where, t.c.receiving_level, t.c.receiving_agency_code, t.c.sector_code, t.c.procedure_code
                ),
            )
            .group_by(t.c.receiving_level, t.c.receiving_agency_code)
        )
    for level, agency, n in await session.execute(dquery):
        if n:
            g.desk_received[(_none(level), _none(agency))] = int(n)

    g.agencies = agencies if agencies is not None else await agency_infos(session)
    versions = catalogue if catalogue is not None else await procedure_versions(session)
    g.catalogue = catalogue_in_force(versions, w.last_on)
    return g


# built once: 35 sum() expressions per window were a visible share of a report's Python time (py-spy)
_SUMS = [func.sum(aggregate_t.c[name]) for name in COUNTERS]
_PROCEDURE_SUMS = [func.sum(aggregate_t.c[name]) for name in PROCEDURE_COUNTERS.values()]
_AT_END = tuple((name, name) for name in OPEN_FLAGS)
_AT_START = (("in_progress_end", "carried_over"),)


async def _open_at(
    session: AsyncSession, at: datetime, keys: list[Any], group_by: list[Any], scoped: list[Any]
) -> dict[GroupKey, dict[str, int]]:
    part = open_part(at, _dialect(session))
    columns = [count_if(part.conditions[name]).label(name) for name in part.flags]
    query: Select[Any] = select(*keys, *columns).where(*part.where, *scoped).group_by(*group_by)
    return {
        (row[0], row[1], row[2], row[3]): {name: int(row._mapping[name]) for name in part.flags}
        for row in await session.execute(query)
    }


def days_of(w: Window) -> ColumnElement[bool]:
    """The day aggregate rows that tile window ``w``: its whole half months, and day rows for the days outside."""
    a = aggregate_t
    halves, days = window_spans(w.first_on, w.last_on)
    branches = [and_(a.c.span == DAY, a.c.day.between(first, last)) for first, last in days]
    if halves is not None:
        branches.insert(0, and_(a.c.span == HALF_MONTH, a.c.day.between(*halves)))
    return or_(*branches)


def _none(part: str | None) -> str | None:
    """A day aggregate's key part as the facts have it ('' stands for none: fold.aggregate_store)."""
    return part or None


async def _anchored_from_aggregates(
    session: AsyncSession,
    w: Window,
    where: Scope | None,
    by_agency: bool,
    procedures: bool,
    dossiers: dict[GroupKey, dict[str, int]],
    per_procedure: dict[ProcedureKey, dict[str, int]],
) -> None:
    """The anchored parts of window ``w`` from the day aggregates: one sum over the window's days per group (every
    counter is non-zero only in rows of its own anchor, so the anchors add up without being told apart), the
    per-procedure counts, and the late dossiers finished in ``w`` whose apology or explanation came at or after
    its end, taken off (the aggregates count them whenever it came)."""
    a = aggregate_t
    agency = a.c.agency_code if by_agency else literal("", type_=a.c.agency_code.type)
    keys: list[Any] = [a.c.level, agency, a.c.sector_code, a.c.sector_name]
    group_by: list[Any] = [a.c.level, *([a.c.agency_code] if by_agency else []), a.c.sector_code, a.c.sector_name]
    filters = [
        days_of(w),
        a.c.anchor != "desk_received",
        *scope_where(where, a.c.level, a.c.agency_code, a.c.sector_code, a.c.procedure_code),
    ]
    query: Select[Any] = select(*keys, *_SUMS).where(*filters).group_by(*group_by)
    for row in await session.execute(query):
        counts = dossiers.setdefault(
            (_none(row[0]), _none(row[1]), _none(row[2]), _none(row[3])), dict.fromkeys(DOSSIER_FLAGS, 0)
        )
        for i, name in enumerate(COUNTERS):
            counts[name] += int(row[4 + i])
        counts["late"] += int(row[4 + COUNTERS.index("finished_late")])
    if procedures:
        pquery: Select[Any] = (
            select(*keys, a.c.procedure_code, *_PROCEDURE_SUMS).where(*filters).group_by(*group_by, a.c.procedure_code)
        )
        for row in await session.execute(pquery):
            pkey: ProcedureKey = (_none(row[0]), _none(row[1]), _none(row[2]), _none(row[3]), _none(row[4]))
            pcounts = per_procedure.setdefault(pkey, dict.fromkeys(PROCEDURE_FLAGS, 0))
            for i, name in enumerate(PROCEDURE_COUNTERS):
                pcounts[name] += int(row[5 + i])
    t = fact_t
    fin_late = and_(in_window(w, t.c.finished_at), t.c.received_at.is_not(None), text(LATE_NOTED_AFTER_FINISH))
    apologised_after = t.c.apologised_at >= w.end
    rquery: Select[Any] = (
        select(
            t.c.handling_level,
            t.c.handling_agency_code if by_agency else literal(None, type_=t.c.handling_agency_code.type),
            t.c.sector_code,
            t.c.sector_name,
            count_if(apologised_after),
            count_if(and_(apologised_after, t.c.apology_in_time.is_(True))),
            count_if(t.c.explained_at >= w.end),
        )
        .where(
            fin_late,
            or_(apologised_after, t.c.explained_at >= w.end),
            *scope_where(where, t.c.handling_level, t.c.handling_agency_code, t.c.sector_code, t.c.procedure_code),
        )
        .group_by(
            t.c.handling_level,
            *([t.c.handling_agency_code] if by_agency else []),
            t.c.sector_code,
            t.c.sector_name,
        )
    )
    for level, agency_code, sector_code, sector_name, apologised, in_time, explained in await session.execute(rquery):
        counts = dossiers.setdefault((level, agency_code, sector_code, sector_name), dict.fromkeys(DOSSIER_FLAGS, 0))
        counts["late_apologised"] -= int(apologised)
        counts["late_apologised_in_time"] -= int(in_time)
        counts["late_explained"] -= int(explained)


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
            decision_signed_on=r.decision_signed_on,
            publication_due_on=r.publication_due_on,
            national_db_due_on=r.national_db_due_on,
            public_in_national_db_on=r.public_in_national_db_on,
            components_complete=r.components_complete,
        )
        for r in rows
    ]


async def levels_in_use(session: AsyncSession) -> list[str]:
    found = set((await session.execute(select(agency_t.c.level).distinct())).scalars())
    # One index probe per level (a loose index scan on ix_dossier_fact_handling_level) rather than reading every
    # fact for its level: there are three levels and a million facts.
    column = fact_t.c.handling_level
    level = (await session.execute(select(func.min(column)))).scalar_one_or_none()
    while level is not None:
        found.add(level)
        level = (await session.execute(select(func.min(column)).where(column > level))).scalar_one_or_none()
    return sorted(
        (lv for lv in found if lv), key=lambda lv: ({"province": 0, "district": 1, "commune": 2}.get(lv, 9), lv)
    )


async def drill_down(
    session: AsyncSession, w: Window, flag: str, where: Scope | None, limit: int, after: str | None
) -> tuple[int, list[str]]:
    """Dossier codes behind one flag (a numerator or denominator) in a window and scope: the total, and up to
    ``limit`` codes after ``after`` in code order. Keyset on the primary key, never an offset: PostgreSQL walks the
    key's index from ``after`` (or keeps a top-``limit`` heap), so a late page costs what the first does."""
    t = fact_t
    conds = flag_conditions(w)
    filters = [
        relevant(w),
        conds[flag],
        *scope_where(where, t.c.handling_level, t.c.handling_agency_code, t.c.sector_code, t.c.procedure_code),
    ]
    if where is not None and where.has_sector_filter():
        # name fragments and exclusions are matched in Python on the (few) sector names of the window
        names = await session.execute(select(t.c.sector_code, t.c.sector_name).where(*filters).distinct())
        keep = [code for code, name in names if where.matches_sector(code, name)]
        filters.append(t.c.sector_code.in_(keep))
    if flag in COUNTERS and flag not in LATE_NOTED and (where is None or not where.has_sector_filter()):
        total = await _anchored_total(session, w, flag, where)
    else:
        total = (await session.execute(select(func.count()).select_from(t).where(*filters))).scalar_one()
    page = [*filters, t.c.dossier_code > after] if after is not None else filters
    codes = (
        await session.execute(select(t.c.dossier_code).where(*page).order_by(t.c.dossier_code).limit(limit))
    ).scalars()
    return int(total), list(codes)


async def _anchored_total(session: AsyncSession, w: Window, flag: str, where: Scope | None) -> int:
    """How many dossiers an anchored flag counts in ``w`` and the scope: a sum of day aggregate rows, where counting
    the facts would read every one of them a second time besides the page."""
    a = aggregate_t
    query = select(func.coalesce(func.sum(a.c[flag]), 0)).where(
        days_of(w),
        a.c.anchor != "desk_received",
        *scope_where(where, a.c.level, a.c.agency_code, a.c.sector_code, a.c.procedure_code),
    )
    return int((await session.execute(query)).scalar_one())


async def facts(session: AsyncSession, codes: Sequence[str] | None = None) -> list[m.DossierFact]:
    query = select(m.DossierFact).order_by(m.DossierFact.dossier_code)
    if codes is not None:
        query = query.where(m.DossierFact.dossier_code.in_(list(codes)))
    return list((await session.execute(query)).scalars())


async def fact(session: AsyncSession, scope: AgencyScope, code: str) -> m.DossierFact | None:
    """The dossier's fact if it was received or handled by an agency of ``scope``."""
    fact = m.DossierFact
    stmt = select(fact).where(
        fact.dossier_code == code, scope.agency_condition(fact.receiving_agency_code, fact.handling_agency_code)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


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
        select(t.c.receiving_agency_code, count_if(received), count_if(finished))
        .where(t.c.received_at.is_not(None), or_(received, finished))
        .group_by(t.c.receiving_agency_code)
    )
    return {code: {"received": int(r), "finished": int(f)} for code, r, f in rows if code}


async def level_of_agency(session: AsyncSession, agency: str) -> str | None:
    t = fact_t
    query = select(t.c.handling_level).where(t.c.handling_agency_code == agency).limit(1)
    return (await session.execute(query)).scalar_one_or_none()


async def payment_dossiers(session: AsyncSession, w: Window, scope: Scope, *, online_only: bool) -> list[str]:
    p = payment_t
    filters = [
        p.c.succeeded.is_(True),
        in_window(w, p.c.at),
        *scope_where(scope, p.c.level, p.c.agency_code, p.c.sector_code, p.c.procedure_code),
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
        .where(in_window(w, v.c.served_at), *scope_where(scope, level, v.c.agency_code, None, None))
        .order_by(v.c.ticket_id)
    )
    return list(rows.scalars())


async def desk_dossiers(session: AsyncSession, w: Window, scope: Scope) -> list[str]:
    t = fact_t
    rows = await session.execute(
        select(t.c.dossier_code)
        .where(
            in_window(w, t.c.received_at),
            *scope_where(scope, t.c.receiving_level, t.c.receiving_agency_code, None, None),
        )
        .order_by(t.c.dossier_code)
    )
    return list(rows.scalars())


async def late_list_rows(session: AsyncSession, w: Window, where: Scope | None) -> list[late_list.MonthRow]:
    """The dossiers of the month's list of late agencies and officers: finished in ``w``, or in progress and overdue
    at its end (the same conditions as Biểu 06's columns), within the handling-agency scope."""
    t = fact_t
    overdue_end = and_(in_progress_at(t, w.end), overdue_at(t, w.end))
    finished = in_window(w, t.c.finished_at)
    rows = await session.execute(
        select(
            t.c.dossier_code,
            t.c.handling_agency_code,
            t.c.finished_at,
            t.c.outcome,
            overdue_end.label("overdue_end"),
            t.c.finished_by_id,
            t.c.finished_by_name,
        )
        .where(
            relevant(w, t),
            or_(finished, overdue_end),
            *scope_where(where, t.c.handling_level, t.c.handling_agency_code, t.c.sector_code, t.c.procedure_code),
        )
        .order_by(t.c.dossier_code)
    )
    return [
        late_list.MonthRow(
            dossier_code=r.dossier_code,
            agency_code=r.handling_agency_code,
            # a dossier finished after the month's end but overdue at it counts as overdue, not as finished
            finished_at=r.finished_at if r.finished_at is not None and r.finished_at < w.end else None,
            outcome=r.outcome,
            overdue_at_end=bool(r.overdue_end),
            officer_id=r.finished_by_id,
            officer_name=r.finished_by_name,
        )
        for r in rows.all()
    ]
