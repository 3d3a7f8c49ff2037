"""Every indicator reporting computes (docs/reporting.md, "Indicators"), as numerator / denominator over a window
and a scope.

Figures are computed in two steps that both the report path (SQL) and the unit tests (pure Python) share:
1. *grouping*: additive counts per (level, agency, sector) — per procedure where an indicator counts procedures —
   for one window. ``group_facts`` does it in Python from fact rows; ``reports.repository.grouped`` does it in SQL
   with the same per-dossier flags (``dossier_flags``) and must give the same ``GroupedData``.
2. *evaluation*: ``evaluate(code, grouped, scopes, window)`` sums the groups that match every scope and divides.
A zero denominator gives ``no data`` (value ``None``), never 0% or 100%.

(About 450 lines: the flags, the grouping and the evaluation share ``GroupedData`` and are read together; the
definitions are in ``definitions``.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction

from services.reporting.fold.facts import DossierFact, in_progress_at, overdue_at
from services.reporting.reports.definitions import INDICATORS, Basis, Unit
from services.reporting.reports.periods import PeriodKind, Window, window
from services.reporting.reports.scope import Scope, matches_all

# Per-dossier flags summed per group; the SQL twins in reports/sql.py compute exactly these.
DOSSIER_FLAGS: tuple[str, ...] = (
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
    "carried_over",
    "in_progress_end",
    "overdue_end",
    "within_deadline_end",
    "withdrawn",
    "late",
    "late_apologised",
    "late_apologised_in_time",
    "late_explained",
    "supplement_requested",
    "supplement_requested_late",
    "rated",
    "rated_satisfied",
)
PROCEDURE_FLAGS: tuple[str, ...] = ("resolved", "resolved_e_result", "fee_received")


def dossier_flags(f: DossierFact, w: Window) -> dict[str, bool]:
    """Which counts of window ``w`` one dossier adds to (all False before its receipt is known)."""
    if f.received_at is None:
        return dict.fromkeys(DOSSIER_FLAGS, False)
    rcv = w.contains(f.received_at)
    online = f.channel == "online"
    fin = w.contains(f.finished_at)
    resolved = fin and f.finish_kind == "resolved"
    certified = resolved and f.certification and f.decision == "approved"
    in_progress_end = in_progress_at(f, w.end)
    overdue_end = in_progress_end and overdue_at(f, w.end)
    late = (fin and f.outcome == "late") or overdue_end
    rated = w.contains(f.rated_at)
    return {
        "received": rcv,
        "received_online": rcv and online,
        "received_counter": rcv and f.channel == "counter",
        "received_postal_channel": rcv and f.channel == "postal",
        "received_postal": rcv and f.postal,
        "received_remote_online": rcv and f.remote_online,
        "received_online_identified": rcv and online and f.identified,
        "received_all_digitised": rcv and f.all_digitised,
        "received_reused": rcv and f.reused,
        "received_synced": rcv and f.synced_to_portal_at is not None,
        "received_fully_online": rcv and f.fully_online,
        "received_full_level": rcv and f.online_level == "full",
        "received_full_level_fully_online": rcv and f.online_level == "full" and f.fully_online,
        "received_fee": rcv and f.fee_payable,
        "received_fee_paid_online": rcv and f.fee_payable and f.paid_online,
        "transferred": rcv and f.inter_agency_transfers > 0,
        "transferred_electronic": rcv and f.all_transfers_electronic,
        "finished": fin,
        "finished_early": fin and f.outcome == "early",
        "finished_on_time": fin and f.outcome == "on_time",
        "finished_late": fin and f.outcome == "late",
        "finished_in_time": fin and f.outcome in ("early", "on_time"),
        "resolved": resolved,
        "resolved_e_result": resolved and f.e_result,
        "resolved_digitised_e_result": resolved and f.e_result and f.all_digitised,
        "certified": certified,
        "certified_electronic": certified and f.e_result,
        "carried_over": in_progress_at(f, w.start),
        "in_progress_end": in_progress_end,
        "overdue_end": overdue_end,
        "within_deadline_end": in_progress_end and not overdue_end,
        "withdrawn": w.contains(f.withdrawn_at),
        "late": late,
        "late_apologised": (late_apologised := late and f.apologised_at is not None and f.apologised_at < w.end),
        "late_apologised_in_time": late_apologised and f.apology_in_time is True,
        "late_explained": late and f.explained_at is not None and f.explained_at < w.end,
        # the first request to supplement during processing, in the window, whose timing intake recorded
        "supplement_requested": (requested := w.contains(f.pause_started_at) and f.first_request_in_time is not None),
        "supplement_requested_late": requested and f.first_request_in_time is False,
        "rated": rated,
        "rated_satisfied": rated and f.rating in ("satisfied", "very_satisfied"),
    }


# ---------------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class AgencyInfo:
    code: str
    name: str | None = None
    level: str | None = None
    area_kind: str | None = None
    desk_officers: int | None = None
    procedure_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ProcedureInfo:
    """One version of a catalogue procedure as replicated from the catalogue's events."""

    code: str
    version: int
    name: str | None = None
    sector_code: str | None = None
    sector_name: str | None = None
    levels: tuple[str, ...] = ()
    agency_codes: tuple[str, ...] = ()
    online_level: str = "none"
    public: bool = True
    has_fees: bool = False
    fees_payable_online: bool = False
    certification: bool = False
    in_force_from: date | None = None
    in_force_until: date | None = None
    withdrawn_on: date | None = None
    # Decision 766 transparency facts (docs/reporting.md, "Decision 766 index"); None = not known (no data)
    decision_signed_on: date | None = None
    publication_due_on: date | None = None
    national_db_due_on: date | None = None
    public_in_national_db_on: date | None = None
    components_complete: bool | None = None

    def started_by(self, on: date) -> bool:
        return self.in_force_from is None or self.in_force_from <= on

    def in_force_on(self, on: date) -> bool:
        """This version's own span covers ``on`` (last day inclusive) and the procedure was not withdrawn by then."""
        return (
            self.started_by(on)
            and (self.in_force_until is None or on <= self.in_force_until)
            and (self.withdrawn_on is None or on < self.withdrawn_on)
        )


@dataclass(frozen=True)
class VisitRow:
    ticket_id: str
    agency_code: str
    level: str | None
    served_at: object  # datetime; kept loose so that SQL rows fit
    wait_seconds: int


GroupKey = tuple[str | None, str | None, str | None, str | None]  # level, agency, sector code, sector name
ProcedureKey = tuple[str | None, str | None, str | None, str | None, str | None]  # + procedure code
PaymentKey = tuple[str | None, str | None, str | None, str | None, str | None, str | None]  # + channel
AgencyKey = tuple[str | None, str | None]  # level, agency


@dataclass
class GroupedData:
    """Additive counts of one window, grouped finely enough to answer any scope by summing groups."""

    window: Window
    dossiers: dict[GroupKey, dict[str, int]] = field(default_factory=dict)
    procedures: dict[ProcedureKey, dict[str, int]] = field(default_factory=dict)
    payments: dict[PaymentKey, int] = field(default_factory=dict)  # successful payments in the window
    visits: dict[AgencyKey, tuple[int, int]] = field(default_factory=dict)  # (visits, wait seconds)
    desk_received: dict[AgencyKey, int] = field(default_factory=dict)  # by receiving agency
    agencies: dict[str, AgencyInfo] = field(default_factory=dict)
    catalogue: list[ProcedureInfo] = field(default_factory=list)  # versions in force at the window's last day

    def comparable(self) -> tuple[object, ...]:
        """Everything but the window, with empty counts dropped (SQL omits groups that count nothing)."""
        return (
            {k: {n: c for n, c in v.items() if c} for k, v in self.dossiers.items() if any(v.values())},
            {k: {n: c for n, c in v.items() if c} for k, v in self.procedures.items() if any(v.values())},
            {k: v for k, v in self.payments.items() if v},
            {k: v for k, v in self.visits.items() if v[0]},
            {k: v for k, v in self.desk_received.items() if v},
        )


def catalogue_in_force(versions: Iterable[ProcedureInfo], on: date) -> list[ProcedureInfo]:
    """Per procedure code, the version in force on ``on``, by the catalogue's rule (the catalogue owns what is in
    force; docs/domain.md, "Version in force"): the newest version that had started by then (latest
    ``in_force_from``, then highest version), and only if its own span still covers ``on`` and the procedure was
    not withdrawn by then. An older version never stands in for a newer one that has ended."""
    newest: dict[str, ProcedureInfo] = {}
    for p in versions:
        if p.started_by(on):
            current = newest.get(p.code)
            if current is None or _start_order(p) > _start_order(current):
                newest[p.code] = p
    return [newest[c] for c in sorted(newest) if newest[c].in_force_on(on)]


def _start_order(p: ProcedureInfo) -> tuple[date, int]:
    return (p.in_force_from or date.min, p.version)


def group_facts(
    facts: Iterable[DossierFact],
    w: Window,
    *,
    visits: Iterable[VisitRow] = (),
    agencies: Mapping[str, AgencyInfo] | None = None,
    catalogue: Iterable[ProcedureInfo] = (),
) -> GroupedData:
    """The pure twin of ``repository.grouped``: group hand-built facts for one window."""
    g = GroupedData(window=w, agencies=dict(agencies or {}), catalogue=catalogue_in_force(catalogue, w.last_on))
    dossiers: dict[GroupKey, dict[str, int]] = defaultdict(lambda: dict.fromkeys(DOSSIER_FLAGS, 0))
    procedures: dict[ProcedureKey, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PROCEDURE_FLAGS, 0))
    payments: dict[PaymentKey, int] = defaultdict(int)
    desk: dict[AgencyKey, int] = defaultdict(int)
    for f in facts:
        if f.received_at is None:
            continue
        key: GroupKey = (f.handling_level, f.handling_agency_code, f.sector_code, f.sector_name)
        flags = dossier_flags(f, w)
        counts = dossiers[key]
        for name, on in flags.items():
            counts[name] += int(on)
        pcounts = procedures[(*key, f.procedure_code)]
        pcounts["resolved"] += int(flags["resolved"])
        pcounts["resolved_e_result"] += int(flags["resolved_e_result"])
        pcounts["fee_received"] += int(flags["received"] and f.fee_payable)
        if flags["received"]:
            desk[(f.receiving_level, f.receiving_agency_code)] += 1
        for p in f.payments:
            if p.succeeded and w.contains(p.at):
                payments[(*key, p.procedure_code or f.procedure_code, p.channel)] += 1
    visit_totals: dict[AgencyKey, list[int]] = defaultdict(lambda: [0, 0])
    for v in visits:
        if w.contains(v.served_at):  # type: ignore[arg-type]
            level = v.level or (g.agencies[v.agency_code].level if v.agency_code in g.agencies else None)
            total = visit_totals[(level, v.agency_code)]
            total[0] += 1
            total[1] += v.wait_seconds
    g.dossiers = dict(dossiers)
    g.procedures = dict(procedures)
    g.payments = dict(payments)
    g.visits = {k: (v[0], v[1]) for k, v in visit_totals.items()}
    g.desk_received = dict(desk)
    return g


# ---------------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class IndicatorResult:
    code: str
    numerator: Fraction
    denominator: int
    exact: Fraction | None  # the value before rounding; None = no data
    unit: Unit
    scale: Fraction = Fraction(1)  # staff productivity: the factor that turns the period into a year

    @property
    def no_data(self) -> bool:
        return self.exact is None

    @property
    def value(self) -> float | None:
        return None if self.exact is None else round(float(self.exact), 2)

    def as_dict(self) -> dict[str, object]:
        numerator: float | int = (
            int(self.numerator) if self.numerator.denominator == 1 else round(float(self.numerator), 2)
        )
        body: dict[str, object] = {
            "indicator": self.code,
            "numerator": numerator,
            "denominator": self.denominator,
            "value": self.value,
            "unit": self.unit.value,
            "no_data": self.no_data,
        }
        if self.scale != 1:
            body["scale"] = round(float(self.scale), 6)
        return body


def _ratio(
    code: str, numerator: int | Fraction, denominator: int, unit: Unit = Unit.PERCENT, scale: Fraction = Fraction(1)
) -> IndicatorResult:
    num = Fraction(numerator)
    if denominator == 0:
        return IndicatorResult(code, num, 0, None, unit, scale)
    factor = 100 if unit is Unit.PERCENT else 1
    return IndicatorResult(code, num, denominator, num * factor * scale / denominator, unit, scale)


def _area_kind(g: GroupedData, agency: str | None) -> str | None:
    info = g.agencies.get(agency or "")
    return info.area_kind if info else None


def dossier_sum(g: GroupedData, scopes: Sequence[Scope]) -> dict[str, int]:
    total = dict.fromkeys(DOSSIER_FLAGS, 0)
    for (level, agency, sector_code, sector_name), counts in g.dossiers.items():
        if matches_all(
            scopes,
            level=level,
            agency=agency,
            area_kind=_area_kind(g, agency),
            sector_code=sector_code,
            sector_name=sector_name,
        ):
            for name, n in counts.items():
                total[name] += n
    return total


def _procedure_sums(g: GroupedData, scopes: Sequence[Scope]) -> dict[str | None, dict[str, int]]:
    sums: dict[str | None, dict[str, int]] = defaultdict(lambda: dict.fromkeys(PROCEDURE_FLAGS, 0))
    for (level, agency, sector_code, sector_name, procedure), counts in g.procedures.items():
        if matches_all(
            scopes,
            level=level,
            agency=agency,
            area_kind=_area_kind(g, agency),
            sector_code=sector_code,
            sector_name=sector_name,
            procedure=procedure,
        ):
            for name, n in counts.items():
                sums[procedure][name] += n
    return sums


def _payment_sums(g: GroupedData, scopes: Sequence[Scope]) -> dict[tuple[str | None, str | None], int]:
    sums: dict[tuple[str | None, str | None], int] = defaultdict(int)
    for (level, agency, sector_code, sector_name, procedure, channel), n in g.payments.items():
        if matches_all(
            scopes,
            level=level,
            agency=agency,
            area_kind=_area_kind(g, agency),
            sector_code=sector_code,
            sector_name=sector_name,
            procedure=procedure,
        ):
            sums[(procedure, channel)] += n
    return sums


def catalogue_in_scope(g: GroupedData, scopes: Sequence[Scope]) -> list[ProcedureInfo]:
    chosen = []
    for p in g.catalogue:
        ok = True
        for s in scopes:
            if s.levels is not None and p.levels and not (set(p.levels) & s.levels):
                ok = False
            if s.agencies is not None:
                handled_by = set(p.agency_codes) | {a.code for a in g.agencies.values() if p.code in a.procedure_codes}
                if not (handled_by & s.agencies):
                    ok = False
            if s.procedures is not None and p.code not in s.procedures:
                ok = False
            if not s.matches_sector(p.sector_code, p.sector_name):
                ok = False
        if ok:
            chosen.append(p)
    return chosen


def _year_days(w: Window) -> int:
    if w.year is None or w.system.value == "custom":
        return 365
    return window(w.system, PeriodKind.YEAR, w.year).days


def evaluate(code: str, g: GroupedData, scopes: Sequence[Scope] = ()) -> IndicatorResult:
    """Indicator ``code`` over the window of ``g`` for what matches every scope."""
    d = INDICATORS[code]
    if d.numerator_flag is not None and d.denominator_flag is not None:
        sums = dossier_sum(g, scopes)
        return _ratio(code, sums[d.numerator_flag], sums[d.denominator_flag])
    if d.basis is Basis.UNRECORDED:
        return _ratio(code, 0, 0)
    if d.basis in (Basis.PROCEDURE, Basis.CATALOGUE):
        numerator, denominator = procedure_members(code, g, scopes)
        return _ratio(code, len(numerator), len(denominator))
    if code == "online_payment_txn_rate":
        payments = _payment_sums(g, scopes)
        online = sum(n for (_, channel), n in payments.items() if channel == "online")
        return _ratio(code, online, sum(payments.values()))
    if code == "avg_wait_minutes":
        visits = wait = 0
        for (level, agency), (n, seconds) in g.visits.items():
            if matches_all(scopes, level=level, agency=agency, area_kind=_area_kind(g, agency), check_sector=False):
                visits += n
                wait += seconds
        return _ratio(code, Fraction(wait, 60), visits, Unit.MINUTES)
    if code == "staff_productivity":
        received = sum(
            n
            for (level, agency), n in g.desk_received.items()
            if matches_all(scopes, level=level, agency=agency, area_kind=_area_kind(g, agency), check_sector=False)
        )
        officers = sum(
            a.desk_officers or 0
            for a in g.agencies.values()
            if matches_all(scopes, level=a.level, agency=a.code, area_kind=a.area_kind, check_sector=False)
        )
        return _ratio(code, received, officers, Unit.PER_OFFICER_YEAR, Fraction(_year_days(g.window), g.window.days))
    raise KeyError(code)


def evaluate_all(g: GroupedData, scopes: Sequence[Scope] = ()) -> list[IndicatorResult]:
    return [evaluate(code, g, scopes) for code in INDICATORS]


def procedure_members(code: str, g: GroupedData, scopes: Sequence[Scope] = ()) -> tuple[list[str], list[str]]:
    """The procedure codes behind the numerator and the denominator of a procedure- or catalogue-based indicator."""
    if code == "procedure_e_result_rate":
        per_procedure = _procedure_sums(g, scopes)
        with_result = {p for p, c in per_procedure.items() if p and c["resolved"] > 0}
        all_electronic = {
            p for p in with_result if per_procedure[p]["resolved_e_result"] == per_procedure[p]["resolved"]
        }
        return sorted(all_electronic), sorted(with_result)
    if code == "online_payment_procedure_rate":
        per_procedure = _procedure_sums(g, scopes)
        fee_procedures = {p for p, c in per_procedure.items() if p and c["fee_received"] > 0}
        paid_online = {p for (p, channel), n in _payment_sums(g, scopes).items() if channel == "online" and n > 0}
        return sorted(fee_procedures & paid_online), sorted(fee_procedures)
    if code == "online_service_coverage":
        published = [p for p in catalogue_in_scope(g, scopes) if p.public]
        return [p.code for p in published if p.online_level in ("full", "partial")], [p.code for p in published]
    if code == "online_payment_enabled_rate":
        with_fees = [p for p in catalogue_in_scope(g, scopes) if p.has_fees]
        return [p.code for p in with_fees if p.fees_payable_online], [p.code for p in with_fees]
    if code == "published_rate":
        in_force = catalogue_in_scope(g, scopes)
        return [p.code for p in in_force if p.public], [p.code for p in in_force]
    raise KeyError(code)
