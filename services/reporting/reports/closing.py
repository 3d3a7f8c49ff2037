"""Closing a period: its figures frozen as a snapshot; what later events would change, listed as a restatement.

A period is closed by ops once its reports have gone out (docs/reporting.md, "Closed periods"). From then on
reports of that period show the snapshot — the version and the time it was taken — whatever arrives later. Events
that arrive after the close (a paper step recorded late, an outage's backlog) still fold into the facts as always,
so the live figures drift from the snapshot; the restatement lists exactly which figures would change, by how much,
and because of which dossiers (those with an event that reached reporting after the snapshot was taken). A leader
who approves it makes the live figures the next version of the snapshot. Nothing is ever rewritten in place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.messaging.tables import inbox
from services.reporting.errors import PeriodAlreadyClosed, PeriodNotClosed
from services.reporting.fold.handlers import CONSUMER
from services.reporting.models import DossierEvent, DossierFact, PeriodSnapshot
from services.reporting.reports.indicators import evaluate_all
from services.reporting.reports.periods import Window
from services.reporting.reports.scope import Scope
from services.reporting.reports.service import GroupCache

PROVINCE = "province"
Figures = dict[str, dict[str, dict[str, Any]]]  # unit ("province" or an agency code) → indicator → figure


def period_key(w: Window) -> str:
    """``official:quarter:2026:3``; a custom window is keyed by its dates."""
    if w.kind is None or w.year is None:
        return f"{w.system.value}:{w.first_on.isoformat()}:{w.last_on.isoformat()}"
    return f"{w.system.value}:{w.kind.value}:{w.year}:{w.number or 1}"


@dataclass(frozen=True)
class Change:
    unit: str
    indicator: str
    field: str  # numerator / denominator / value
    before: float | int | None
    after: float | int | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(float(self.after) - float(self.before), 4)


def restatement(before: Figures, after: Figures) -> list[Change]:
    """Every figure that differs between two sets, unit by unit and indicator by indicator (pure)."""
    changes = []
    for unit in sorted(set(before) | set(after)):
        old_unit, new_unit = before.get(unit, {}), after.get(unit, {})
        for indicator in sorted(set(old_unit) | set(new_unit)):
            old, new = old_unit.get(indicator, {}), new_unit.get(indicator, {})
            for name in ("numerator", "denominator", "value"):
                if old.get(name) != new.get(name):
                    changes.append(Change(unit, indicator, name, old.get(name), new.get(name)))
    return changes


async def live_figures(session: AsyncSession, w: Window) -> Figures:
    """Every indicator for the province and for each agency, from the facts as they are now."""
    cache = GroupCache(session, None, by_agency=True, procedures=True)
    await cache.load([w])
    g = cache(w)
    figures: Figures = {PROVINCE: _figures(evaluate_all(g))}
    for code in sorted(g.agencies):
        figures[code] = _figures(evaluate_all(g, [Scope(agencies=frozenset({code}))]))
    return figures


def _figures(results: Any) -> dict[str, dict[str, Any]]:
    return {
        r.code: {k: v for k, v in r.as_dict().items() if k in ("numerator", "denominator", "value", "no_data")}
        for r in results
    }


async def current_snapshot(session: AsyncSession, w: Window) -> PeriodSnapshot | None:
    stmt = (
        select(PeriodSnapshot)
        .where(PeriodSnapshot.period_key == period_key(w))
        .order_by(PeriodSnapshot.version.desc())
        .limit(1)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def close_period(session: AsyncSession, w: Window, *, at: datetime, by: str, note: str | None) -> PeriodSnapshot:
    """Freeze the period's figures as version 1; 409 if it is already closed."""
    existing = await current_snapshot(session, w)
    if existing is not None:
        raise PeriodAlreadyClosed(
            f"{w.label} was closed at {existing.closed_at.isoformat()} (version {existing.version}); "
            "review its restatement instead"
        )
    return await _snapshot(session, w, version=1, at=at, by=by, note=note)


async def _snapshot(
    session: AsyncSession, w: Window, *, version: int, at: datetime, by: str, note: str | None
) -> PeriodSnapshot:
    snapshot = PeriodSnapshot(
        period_key=period_key(w),
        version=version,
        window_from=w.first_on,
        window_to=w.last_on,
        figures=await live_figures(session, w),
        closed_at=at,
        closed_by=by,
        note=note,
    )
    session.add(snapshot)
    await session.flush()
    return snapshot


async def late_dossiers(session: AsyncSession, w: Window, since: datetime) -> list[str]:
    """Dossiers of the window (received in it, finished in it, or still open at its end) with an event that
    reached reporting after ``since``."""
    arrived_late = (
        select(DossierEvent.dossier_code)
        .join(inbox, and_(inbox.c.event_id == DossierEvent.event_id, inbox.c.consumer == CONSUMER))
        .where(inbox.c.processed_at > since)
    )
    f = DossierFact
    in_window = or_(
        and_(f.received_at >= w.start, f.received_at < w.end),
        and_(f.finished_at >= w.start, f.finished_at < w.end),
        and_(f.received_at < w.end, or_(f.closed_at.is_(None), f.closed_at >= w.end)),
    )
    stmt = select(f.dossier_code).where(f.dossier_code.in_(arrived_late), in_window).order_by(f.dossier_code)
    return list((await session.execute(stmt)).scalars())


@dataclass(frozen=True)
class Restatement:
    snapshot: PeriodSnapshot
    changes: list[Change]
    dossiers: list[str]
    live: Figures


async def pending_restatement(session: AsyncSession, w: Window) -> Restatement:
    snapshot = await current_snapshot(session, w)
    if snapshot is None:
        raise PeriodNotClosed(f"{w.label} is not closed: its reports are live")
    live = await live_figures(session, w)
    changes = restatement(snapshot.figures, live)
    dossiers = await late_dossiers(session, w, snapshot.closed_at) if changes else []
    return Restatement(snapshot, changes, dossiers, live)


async def approve_restatement(
    session: AsyncSession, w: Window, *, at: datetime, by: str, note: str | None
) -> PeriodSnapshot:
    """Make the live figures the next version; 409 when nothing changed since the current one."""
    pending = await pending_restatement(session, w)
    if not pending.changes:
        raise PeriodAlreadyClosed(f"{w.label}: nothing to restate since version {pending.snapshot.version}")
    return await _snapshot(session, w, version=pending.snapshot.version + 1, at=at, by=by, note=note)


def snapshot_figures(snapshot: PeriodSnapshot, unit: str) -> Mapping[str, Mapping[str, Any]] | None:
    figures: Mapping[str, Mapping[str, Any]] | None = snapshot.figures.get(unit)
    return figures


async def closed_periods(session: AsyncSession) -> list[PeriodSnapshot]:
    latest = (
        select(PeriodSnapshot.period_key, func.max(PeriodSnapshot.version).label("version"))
        .group_by(PeriodSnapshot.period_key)
        .subquery()
    )
    stmt = (
        select(PeriodSnapshot)
        .join(
            latest, and_(latest.c.period_key == PeriodSnapshot.period_key, latest.c.version == PeriodSnapshot.version)
        )
        .order_by(PeriodSnapshot.window_from.desc())
    )
    return list((await session.execute(stmt)).scalars())


async def figures_status(session: AsyncSession, w: Window, *, shown: str = "live") -> dict[str, Any]:
    """What a report of ``w`` shows: live figures, or a closed period's snapshot (its version and when taken)."""
    snapshot = await current_snapshot(session, w)
    if snapshot is None:
        return {"source": "live", "closed": False, "version": None, "closed_at": None}
    return {
        "source": shown,
        "closed": True,
        "version": snapshot.version,
        "closed_at": snapshot.closed_at.isoformat(),
        **({"note": "the period is closed: these are live figures; see its restatement"} if shown == "live" else {}),
    }
