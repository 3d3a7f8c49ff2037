"""The SQL twins of the pure report rules: each per-dossier flag of ``reports.indicators.dossier_flags`` as a
condition on a fact row (``CASE``/``FILTER`` expressions that run on SQLite and PostgreSQL alike), and the parts of
a window that each read only the rows their flags can count. A test checks both paths agree on the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, DateTime, and_, case, false, func, literal, or_
from sqlalchemy import cast as sa_cast

from libs.common.db import UtcDateTime
from services.reporting.fold.aggregates import ANCHORS
from services.reporting.models import fact_t
from services.reporting.reports.periods import Window
from services.reporting.reports.scope import Scope


def in_window(w: Window, column: Any) -> ColumnElement[bool]:
    return and_(column >= w.start, column < w.end)


def in_progress_at(t: Any, at: datetime) -> ColumnElement[bool]:
    return and_(
        t.c.received_at < at,
        or_(t.c.finished_at.is_(None), t.c.finished_at >= at),
        or_(t.c.withdrawn_at.is_(None), t.c.withdrawn_at >= at),
    )


def overdue_at(t: Any, at: datetime) -> ColumnElement[Any]:
    """SQL twin of ``fold.facts.overdue_at``, the contract's one rule (docs/domain.md, "Overdue") on a fact row:
    a second request before ``at``; else, waiting for a supplement at ``at``, whether the wait began after the
    first due time; else whether the due time in force at ``at`` has passed. NULL-safe: a missing time never makes
    a dossier overdue. Tested against the shared case table like its Python twin."""
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
    """Each of ``indicators.DOSSIER_FLAGS`` as a SQL condition on a fact row, for window ``w``."""
    rcv = in_window(w, t.c.received_at)
    online = t.c.channel == "online"
    fin = in_window(w, t.c.finished_at)
    resolved = and_(fin, t.c.finish_kind == "resolved")
    certified = and_(resolved, t.c.certification.is_(True), t.c.decision == "approved")
    in_progress_end = in_progress_at(t, w.end)
    overdue_end = and_(in_progress_end, overdue_at(t, w.end))
    late = or_(and_(fin, t.c.outcome == "late"), overdue_end)
    rated = in_window(w, t.c.rated_at)
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
        "received_synced": and_(rcv, t.c.synced_to_portal_at.is_not(None)),
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
        "carried_over": in_progress_at(t, w.start),
        "in_progress_end": in_progress_end,
        "overdue_end": overdue_end,
        "within_deadline_end": and_(in_progress_end, ~overdue_at(t, w.end)),
        "withdrawn": in_window(w, t.c.withdrawn_at),
        "late": late,
        "late_apologised": and_(late, t.c.apologised_at < w.end),
        "late_apologised_in_time": and_(late, t.c.apologised_at < w.end, t.c.apology_in_time.is_(True)),
        "late_explained": and_(late, t.c.explained_at < w.end),
        "supplement_requested": (
            requested := and_(in_window(w, t.c.pause_started_at), t.c.first_request_in_time.is_not(None))
        ),
        "supplement_requested_late": and_(requested, t.c.first_request_in_time.is_(False)),
        "rated": rated,
        "rated_satisfied": and_(rated, t.c.rating.in_(["satisfied", "very_satisfied"])),
    }


def relevant(w: Window, t: Any = fact_t) -> ColumnElement[bool]:
    """Rows that can count in window ``w``: received before its end and not closed before its start (or rated in
    it). Open dossiers and those closed since the start are few next to the archive, and each branch has an index."""
    return and_(
        t.c.received_at < w.end,
        or_(t.c.closed_at.is_(None), t.c.closed_at >= w.start, t.c.rated_at >= w.start),
    )


def scope_where(scope: Scope | None, level: Any, agency: Any, sector_code: Any, procedure: Any) -> list[Any]:
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


def count_if(cond: ColumnElement[Any]) -> Any:
    """How many rows meet ``cond`` (``count(*) FILTER (WHERE …)``: PostgreSQL and SQLite ≥ 3.30)."""
    return func.count().filter(cond)


@dataclass(frozen=True)
class Part:
    where: list[Any]
    flags: tuple[str, ...]
    procedure_flags: tuple[str, ...] = ()
    conditions: dict[str, Any] = field(default_factory=dict)  # a flag's condition restricted to this part
    # the day aggregates' anchor that counts this part (fold.aggregates); None for a part at an instant
    anchor: str | None = None


def open_at(t: Any, at: datetime, dialect: str) -> list[Any]:
    """Rows in progress at ``at`` (received before it, not closed before it). On PostgreSQL the same test as a
    range containment, which the GiST index on (received_at, closed_at] answers without reading closed dossiers."""
    if dialect != "postgresql":
        return [t.c.received_at.is_not(None), in_progress_at(t, at)]
    span = func.tstzrange(t.c.received_at, t.c.closed_at, literal("(]"))
    instant = cast_instant(at)
    # The same test as in_progress_at, written so that no b-tree index matches it: offered "finished_at IS NULL OR
    # finished_at >= T", the planner ANDed the GiST index's ~2k rows with a bitmap of every fact finished after T
    # or never (~120k of 1M), ten times the work of the GiST index alone.
    return [
        span.op("@>")(instant),
        func.coalesce(t.c.received_at, instant) < instant,
        func.coalesce(t.c.finished_at, instant) >= instant,
        func.coalesce(t.c.withdrawn_at, instant) >= instant,
    ]


def cast_instant(at: datetime) -> Any:
    return sa_cast(literal(at, type_=UtcDateTime()), DateTime(timezone=True))


def parts(w: Window, dialect: str) -> list[Part]:
    """The parts of window ``w``. A dossier counts only once its receipt is known (``indicators.dossier_flags``):
    a finishing or rating event folded before the receipt counts nowhere yet."""
    t = fact_t
    fin = in_window(w, t.c.finished_at)
    finished_late = and_(fin, t.c.outcome == "late")
    known = t.c.received_at.is_not(None)
    return [
        Part(
            [in_window(w, t.c.received_at)],
            ANCHORS["received"],
            ("fee_received",),
            anchor="received",
        ),
        Part(
            [fin, known],
            # "late" as well: finished late in the window (the instant part adds those overdue at its end)
            (*ANCHORS["finished"], "late"),
            ("resolved", "resolved_e_result"),
            {
                "late": finished_late,
                "late_apologised": and_(finished_late, t.c.apologised_at < w.end),
                "late_apologised_in_time": and_(
                    finished_late, t.c.apologised_at < w.end, t.c.apology_in_time.is_(True)
                ),
                "late_explained": and_(finished_late, t.c.explained_at < w.end),
            },
            anchor="finished",
        ),
        Part(
            [in_window(w, t.c.pause_started_at), known],
            ANCHORS["supplement_requested"],
            anchor="supplement_requested",
        ),
        Part([in_window(w, t.c.withdrawn_at), known], ANCHORS["withdrawn"], anchor="withdrawn"),
        Part([in_window(w, t.c.rated_at), known], ANCHORS["rated"], anchor="rated"),
        *instant_parts(w, dialect),
    ]


# The flags of dossiers open at an instant (``instant_part``), read from the facts whatever the aggregates hold.
OPEN_FLAGS: tuple[str, ...] = (
    "in_progress_end",
    "overdue_end",
    "within_deadline_end",
    "late",
    "late_apologised",
    "late_apologised_in_time",
    "late_explained",
)


def instant_parts(w: Window, dialect: str) -> list[Part]:
    """The parts at an instant (in progress at the window's end, carried over at its start), each with the condition
    of every flag it counts: what the day aggregates cannot hold, built alone when the rest comes from them."""
    t = fact_t
    return [
        open_part(w.end, dialect),
        Part(open_at(t, w.start, dialect), ("carried_over",), (), {"carried_over": in_progress_at(t, w.start)}),
    ]


def open_part(at: datetime, dialect: str) -> Part:
    """The dossiers in progress at ``at``, with the flags a window ending at ``at`` counts on them (within the
    deadline or overdue then, and for overdue ones an apology or explanation recorded before then). Read as a
    window's start, its "in_progress_end" is that window's "carried_over"."""
    t = fact_t
    in_progress = in_progress_at(t, at)
    overdue = overdue_at(t, at)
    overdue_then = and_(in_progress, overdue)
    return Part(
        open_at(t, at, dialect),
        OPEN_FLAGS,
        (),
        {
            "in_progress_end": in_progress,
            "overdue_end": overdue_then,
            "within_deadline_end": and_(in_progress, ~overdue),
            "late": overdue_then,
            "late_apologised": and_(overdue_then, t.c.apologised_at < at),
            "late_apologised_in_time": and_(overdue_then, t.c.apologised_at < at, t.c.apology_in_time.is_(True)),
            "late_explained": and_(overdue_then, t.c.explained_at < at),
        },
    )
