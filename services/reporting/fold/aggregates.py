"""Additive day aggregates of the facts: what each dossier adds to the report counts anchored on one of its own
times, per local day (Asia/Ho_Chi_Minh) and group (docs/reporting.md, "Day aggregates").

A report window is a run of whole local days, and every flag of the *anchored* parts of a window (received,
finished, supplement requested, withdrawn, rated in it) is true for a dossier exactly when its anchor time falls in
the window and a condition on the fact alone holds. Such a flag summed over a window is therefore the sum of
per-day counts, which the fold keeps up to date: when a batch changes a fact, the day rows of its old contributions
lose one and those of its new ones gain one. The counts *at an instant* (in progress or overdue at a window's end,
carried over at its start) depend on the instant and stay on the facts (``reports.repository.grouped``).

Three flags of the finished part compare with the window's end (an apology or explanation recorded before it); the
aggregates count them whenever the apology or explanation came, and the reports take off the few recorded at or
after the end (``reports.repository``: a residual query on a partial index).

Pure: no session. ``contributions`` uses ``indicators.dossier_flags`` over a window spanning all time, so the one
rule of each flag stays there; a test checks the sum over any window against ``dossier_flags`` of that window.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from operator import attrgetter

from services.reporting.fold.facts import DossierFact
from services.reporting.reports.indicators import dossier_flags
from services.reporting.reports.periods import VN_TZ, Window, WindowSystem

# anchor → the fact's time it is anchored on, and the flags it counts (all true only when that time is set)
ANCHOR_TIMES: dict[str, str] = {
    "received": "received_at",
    "finished": "finished_at",
    "supplement_requested": "pause_started_at",
    "withdrawn": "withdrawn_at",
    "rated": "rated_at",
    "desk_received": "received_at",
}
ANCHORS: dict[str, tuple[str, ...]] = {
    "received": (
        "received",
        "received_online",
        "received_counter",
        "received_postal_channel",
        "received_postal",
        "received_remote_online",
        "received_online_identified",
        "received_all_digitised",
        "received_reused",
        "received_synced",
        "received_fully_online",
        "received_full_level",
        "received_full_level_fully_online",
        "received_fee",
        "received_fee_paid_online",
        "transferred",
        "transferred_electronic",
    ),
    "finished": (
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
        # finished late with an apology / explanation recorded at any time (the window's end is applied on read)
        "late_apologised",
        "late_apologised_in_time",
        "late_explained",
    ),
    "supplement_requested": ("supplement_requested", "supplement_requested_late"),
    "withdrawn": ("withdrawn",),
    "rated": ("rated", "rated_satisfied"),
    # received, grouped by the *receiving* agency and level (staff productivity counts desks, docs/reporting.md
    # "Attribution"); every other anchor groups by the handling agency and level
    "desk_received": ("received",),
}
COUNTERS: tuple[str, ...] = tuple(dict.fromkeys(name for flags in ANCHORS.values() for name in flags))
# counted whenever the apology or explanation came: a window takes off those that came at or after its end
LATE_NOTED: tuple[str, ...] = ("late_apologised", "late_apologised_in_time", "late_explained")
# The per-procedure counts (indicators.PROCEDURE_FLAGS) are counters of the same rows: "fee_received" is
# "received_fee" (received in the window with a fee payable).
PROCEDURE_COUNTERS: dict[str, str] = {
    "resolved": "resolved",
    "resolved_e_result": "resolved_e_result",
    "fee_received": "received_fee",
}
# The fact's fields ``dossier_flags`` reads: all the fold needs to read back to take a fact's contributions off.
FLAG_INPUTS: tuple[str, ...] = (
    "dossier_code",
    "received_at",
    "procedure_code",
    "sector_code",
    "sector_name",
    "online_level",
    "certification",
    "handling_agency_code",
    "handling_level",
    "receiving_agency_code",
    "receiving_level",
    "channel",
    "remote_online",
    "identified",
    "initial_due_at",
    "due_at",
    "pause_started_at",
    "pause_ended_at",
    "due_after_pause",
    "second_request_at",
    "finished_at",
    "finish_kind",
    "decision",
    "outcome",
    "withdrawn_at",
    "e_result",
    "postal",
    "apologised_at",
    "apology_in_time",
    "first_request_in_time",
    "explained_at",
    "rated_at",
    "rating",
    "synced_to_portal_at",
    "all_digitised",
    "reused",
    "fee_payable",
    "paid_online",
    "inter_agency_transfers",
    "all_transfers_electronic",
    "fully_online",
)

_flag_inputs = attrgetter(*FLAG_INPUTS)

# (day, anchor, level, agency, sector code, sector name, procedure code); the agency and level are the handling ones
# except for "desk_received"
Key = tuple[date, str, str | None, str | None, str | None, str | None, str | None]
Counts = dict[str, int]

# Every instant is inside it: the anchored flags are then what the fact alone says, and apologies count whenever
# they came. Nothing in progress at its end is finished, so "late" there is "finished late".
ALL_TIME = Window(
    start=datetime(1, 1, 2, tzinfo=UTC),
    end=datetime(9999, 12, 30, tzinfo=UTC),
    first_on=date(1, 1, 2),
    last_on=date(9999, 12, 29),
    label="all time",
    system=WindowSystem.CUSTOM,
)


def local_day(at: datetime) -> date:
    """The local (Asia/Ho_Chi_Minh) date of an instant: the day whose window boundaries enclose it."""
    return at.astimezone(VN_TZ).date()


def contributions(f: DossierFact) -> dict[Key, Counts]:
    """The day rows one fact adds to, with what it adds (only its true flags; nothing before its receipt)."""
    if f.received_at is None:
        return {}
    flags = dossier_flags(f, ALL_TIME)
    out: dict[Key, Counts] = {}
    for anchor, names in ANCHORS.items():
        at: datetime | None = getattr(f, ANCHOR_TIMES[anchor])
        if at is None:
            continue
        counts = {name: 1 for name in names if flags[name]}
        if counts:
            desk = anchor == "desk_received"
            key: Key = (
                local_day(at),
                anchor,
                f.receiving_level if desk else f.handling_level,
                f.receiving_agency_code if desk else f.handling_agency_code,
                f.sector_code,
                f.sector_name,
                f.procedure_code,
            )
            out[key] = counts
    return out


def delta(old: Iterable[DossierFact], new: Iterable[DossierFact]) -> dict[Key, Counts]:
    """What the day rows change by when facts ``old`` become ``new``: new contributions minus old ones, only the
    rows and counters that change (a batch mostly moves a few counters of a few rows per dossier). A dossier whose
    flag inputs did not change (a return, a payment, a document) is skipped without computing its contributions."""
    before = {f.dossier_code: f for f in old}
    removed: list[DossierFact] = []
    added: list[DossierFact] = []
    for f in new:
        was = before.pop(f.dossier_code, None)
        if was is not None and _flag_inputs(was) == _flag_inputs(f):
            continue
        if was is not None:
            removed.append(was)
        added.append(f)
    removed.extend(before.values())
    change: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for sign, facts in ((-1, removed), (1, added)):
        for f in facts:
            for key, counts in contributions(f).items():
                row = change[key]
                for name, n in counts.items():
                    row[name] += sign * n
    out: dict[Key, Counts] = {}
    for key, row in change.items():
        moved = {name: n for name, n in row.items() if n}
        if moved:
            out[key] = moved
    return out


# Rows are kept per day and rolled up per half month ([1st, 14th], [15th, last day]): half months tile both the
# official windows (15th to 14th, Decree 09/2019) and the calendar ones, so a quarter reads 6 rows per group
# instead of 92; the days at the edges of a custom window are read from the day rows.
DAY, HALF_MONTH = "day", "half_month"


def half_month_start(day: date) -> date:
    return day.replace(day=1 if day.day < 15 else 15)


def _half_month_after(start: date) -> date:
    if start.day == 1:
        return start.replace(day=15)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def half_months(change: dict[Key, Counts]) -> dict[Key, Counts]:
    """Day rows summed into half-month rows (keyed by the half month's first day)."""
    out: dict[Key, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key, counts in change.items():
        row = out[(half_month_start(key[0]), *key[1:])]
        for name, n in counts.items():
            row[name] += n
    return {key: {n: c for n, c in row.items() if c} for key, row in out.items() if any(row.values())}


def window_spans(first_on: date, last_on: date) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """How to read the days ``first_on``–``last_on``: the first days of the whole half months inside them (first and
    last, inclusive; None if there is none), and the runs of days outside those half months."""
    start = first_on if first_on.day in (1, 15) else _half_month_after(half_month_start(first_on))
    starts: list[date] = []
    while _half_month_after(start) - timedelta(days=1) <= last_on:
        starts.append(start)
        start = _half_month_after(start)
    if not starts:
        return None, [(first_on, last_on)]
    days = []
    if first_on < starts[0]:
        days.append((first_on, starts[0] - timedelta(days=1)))
    end = _half_month_after(starts[-1])
    if end <= last_on:
        days.append((end, last_on))
    return (starts[0], starts[-1]), days
