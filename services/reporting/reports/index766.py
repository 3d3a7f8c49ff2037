"""The Decision 766/QĐ-TTg service-quality index: six groups, 100 points, on calendar periods (docs/domain.md,
"Decision 766 index").

Scoring as the national portal does it: with a threshold T, full points if rate ≥ T, else rate × points / T; without
one, rate × points; no denominator → no data (no points); rounded to 2 decimals. Where motcua's events cannot
supply an input (feedback handling, the personal data store, complaints), the indicator says so instead of inventing
a value, and the total is reported over the points that could be assessed. The three transparency criteria on
procedures compare the dates the catalogue publishes with each version (it owns the working-day counts).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from fractions import Fraction
from typing import Any

from services.reporting.reports.indicators import (
    GroupedData,
    ProcedureInfo,
    catalogue_in_scope,
    dossier_sum,
    evaluate,
)
from services.reporting.reports.scope import Scope

NOT_AVAILABLE = "not available from events"


@dataclass(frozen=True)
class Criterion:
    group: str
    code: str
    name: str
    points: int
    threshold: Fraction | None = None  # as a fraction of 1
    missing: str | None = None  # why the events cannot supply it
    formula: str | None = None  # numerator / denominator in words, as docs/reporting.md states it
    source: str | None = None  # the events (and fields) it is computed from


GROUPS = (
    ("transparency", "Công khai, minh bạch", 18),
    ("progress", "Tiến độ giải quyết", 20),
    ("online_service", "Dịch vụ công trực tuyến", 12),
    ("online_payment", "Thanh toán trực tuyến", 10),
    ("digitisation", "Số hóa hồ sơ", 22),
    ("satisfaction", "Mức độ hài lòng", 18),
)

CRITERIA = (
    Criterion(
        "transparency",
        "published_on_time",
        "TTHC được công bố đúng hạn",
        6,
        formula=(
            "procedures in force on the period's last day whose publishing decision was signed on or before "
            "publication_due_on (20 working days before it takes effect) / such procedures with both dates known"
        ),
        source="catalogue: ProcedurePublished/Amended/Withdrawn (decision.signed_on, publication_due_on)",
    ),
    Criterion(
        "transparency",
        "public_on_time",
        "TTHC được công khai trên CSDL quốc gia đúng hạn",
        4,
        formula=(
            "procedures in force on the period's last day made public in the national procedure database on or "
            "before national_db_due_on (5 working days after signing) / such procedures already judged (public "
            "there, or still not public after the due day)"
        ),
        source="catalogue: ProcedurePublished/Amended/Withdrawn (public_in_national_db_on, national_db_due_on)",
    ),
    Criterion(
        "transparency",
        "complete_procedures",
        "TTHC có đủ 7 thành phần thông tin",
        2,
        formula=(
            "procedures in force on the period's last day stating all seven components (name, steps, manner of "
            "submission, dossier, time limit, fees, result) / such procedures checked for them"
        ),
        source="catalogue: ProcedurePublished/Amended/Withdrawn (components_complete)",
    ),
    # received in the period and accepted by the national portal (intake's DossierSyncedToPortal, DongBoHoSoMC)
    Criterion("transparency", "synced_dossiers", "Hồ sơ đồng bộ lên Cổng DVC quốc gia", 6),
    Criterion("progress", "in_time", "Hồ sơ giải quyết, đang giải quyết trong hạn", 20),
    Criterion(
        "online_service",
        "fully_online",
        "Hồ sơ trực tuyến toàn trình / hồ sơ của TTHC cung cấp DVC toàn trình",
        12,
        threshold=Fraction(1, 2),
    ),
    Criterion(
        "online_payment",
        "payable_online_procedures",
        "TTHC có phí được tích hợp thanh toán trực tuyến",
        2,
        threshold=Fraction(4, 5),
    ),
    Criterion(
        "online_payment",
        "paid_online_procedures",
        "TTHC có phí phát sinh thanh toán trực tuyến",
        2,
        threshold=Fraction(4, 5),
    ),
    Criterion("online_payment", "paid_online_dossiers", "Hồ sơ thanh toán trực tuyến / hồ sơ của TTHC có phí", 6),
    Criterion("digitisation", "e_result", "Hồ sơ có kết quả điện tử", 6),
    Criterion(
        "digitisation", "digitised_e_result", "Hồ sơ được số hóa và có kết quả điện tử", 4, threshold=Fraction(4, 5)
    ),
    Criterion("digitisation", "e_certified_copy", "Cung cấp dịch vụ chứng thực bản sao điện tử", 2),
    Criterion("digitisation", "reuse", "Hồ sơ tái sử dụng dữ liệu số hóa", 2, threshold=Fraction(4, 5)),
    Criterion(
        "digitisation",
        "data_store",
        "Hồ sơ liên kết kho dữ liệu cá nhân",
        4,
        missing="linking results to the citizen's data store on the national portal publishes no event",
    ),
    Criterion("digitisation", "population_identity", "Hồ sơ sử dụng định danh từ CSDL dân cư", 2),
    Criterion(
        "digitisation",
        "population_procedures",
        "TTHC kết nối CSDL dân cư",
        2,
        missing="which procedures are connected to the population database is not in the catalogue's events",
    ),
    Criterion(
        "satisfaction",
        "feedback_on_time",
        "Phản ánh, kiến nghị được xử lý đúng hạn",
        6,
        missing="feedback and its handling are not events of motcua",
    ),
    Criterion(
        "satisfaction",
        "ratings",
        "Đánh giá (tổng − không hài lòng − lặp lại − quá hạn) / tổng",
        6,
        missing="repeated and overdue feedback are not events of motcua (the satisfied share is given below)",
    ),
    Criterion(
        "satisfaction",
        "late_and_complaints",
        "100% − (tỷ lệ trễ hạn + tỷ lệ khiếu nại)",
        6,
        threshold=Fraction(9, 10),
        missing="complaints are not events of motcua (the late rate is given below)",
    ),
)


def score(rate: Fraction | None, points: int, threshold: Fraction | None) -> Fraction | None:
    if rate is None:
        return None
    if threshold is not None:
        return Fraction(points) if rate >= threshold else rate * points / threshold
    return rate * points


def _rate(numerator: int, denominator: int) -> tuple[int, int, Fraction | None]:
    return numerator, denominator, (Fraction(numerator, denominator) if denominator else None)


def on_time(done_on: date | None, due_on: date | None, as_of: date) -> bool | None:
    """The catalogue's verdict on a dated duty (docs/catalogue.md, Decision 766 transparency facts): on time if done
    by the due day; late if done after it, or still not done once it has passed; None (not judged) while not done
    before the due day, or when the due day is unknown (a snapshot published before the catalogue computed it)."""
    if due_on is None:
        return None
    if done_on is not None:
        return done_on <= due_on
    return False if as_of > due_on else None


def transparency(procedures: Sequence[ProcedureInfo], as_of: date) -> dict[str, tuple[int, int, Fraction | None]]:
    """The three transparency criteria over the procedure versions in force on ``as_of`` (the period's last day)
    in scope; a version whose facts are unknown is left out of the denominator, never counted either way."""
    published = [
        verdict
        for p in procedures
        if p.decision_signed_on is not None
        and (verdict := on_time(p.decision_signed_on, p.publication_due_on, as_of)) is not None
    ]
    public = [
        verdict
        for p in procedures
        if (verdict := on_time(p.public_in_national_db_on, p.national_db_due_on, as_of)) is not None
    ]
    checked = [p.components_complete for p in procedures if p.components_complete is not None]
    return {
        "published_on_time": _rate(sum(published), len(published)),
        "public_on_time": _rate(sum(public), len(public)),
        "complete_procedures": _rate(sum(checked), len(checked)),
    }


def inputs(
    g: GroupedData, scopes: Sequence[Scope], as_of: date | None = None
) -> dict[str, tuple[int, int, Fraction | None]]:
    """Numerator, denominator and rate of every criterion the events can supply; duties still open are judged as
    of ``as_of`` (default the period's last day; a report of the running period passes today)."""
    d = dossier_sum(g, scopes)
    in_force = catalogue_in_scope(g, scopes)
    fee_procedures = [p for p in in_force if p.has_fees]
    paid_online_procedures = evaluate("online_payment_procedure_rate", g, scopes)
    return {
        **transparency(in_force, min(as_of or g.window.last_on, g.window.last_on)),
        # processed in the period = finished in it + still in progress at its end; in time = early / on time, or in
        # progress within its deadline (pauses subtracted, a second supplement request makes it late)
        "in_time": _rate(d["finished_in_time"] + d["within_deadline_end"], d["finished"] + d["in_progress_end"]),
        "fully_online": _rate(d["received_full_level_fully_online"], d["received_full_level"]),
        "payable_online_procedures": _rate(
            sum(1 for p in fee_procedures if p.fees_payable_online), len(fee_procedures)
        ),
        "paid_online_procedures": _rate(int(paid_online_procedures.numerator), paid_online_procedures.denominator),
        "paid_online_dossiers": _rate(d["received_fee_paid_online"], d["received_fee"]),
        "e_result": _rate(d["resolved_e_result"], d["resolved"]),
        "digitised_e_result": _rate(d["resolved_digitised_e_result"], d["resolved"]),
        # offered = at least one electronic certified copy issued in the period (no certified copy at all: no data)
        "e_certified_copy": (
            (1 if d["certified_electronic"] else 0, 1, Fraction(1 if d["certified_electronic"] else 0))
            if d["certified"]
            else (0, 0, None)
        ),
        "reuse": _rate(d["received_reused"], d["received"]),
        "synced_dossiers": _rate(d["received_synced"], d["received"]),
        "population_identity": _rate(d["received_online_identified"], d["received_online"]),
        "_satisfied_share": _rate(d["rated_satisfied"], d["rated"]),
        "_late_rate": _rate(d["finished_late"], d["finished"]),
    }


def _round(value: Fraction | None) -> float | None:
    return None if value is None else round(float(value), 2)


def index(g: GroupedData, scopes: Sequence[Scope] = (), as_of: date | None = None) -> dict[str, Any]:
    """The index for the window of ``g`` and what matches ``scopes``: each criterion's rate, threshold, points."""
    figures = inputs(g, scopes, as_of)
    groups: dict[str, dict[str, Any]] = {
        code: {
            "group": code,
            "name": name,
            "points": points,
            "score": Fraction(0),
            "assessed_points": 0,
            "criteria": [],
        }
        for code, name, points in GROUPS
    }
    for c in CRITERIA:
        entry: dict[str, Any] = {
            "criterion": c.code,
            "name": c.name,
            "points": c.points,
            "threshold": None if c.threshold is None else _round(c.threshold * 100),
        }
        if c.formula is not None:
            entry.update(formula=c.formula, source=c.source)
        if c.missing is not None:
            entry.update(available=False, reason=f"{NOT_AVAILABLE}: {c.missing}", score=None)
            if c.code == "ratings":
                n, dd, r = figures["_satisfied_share"]
                entry["partial"] = {"satisfied": n, "ratings": dd, "rate": _round(None if r is None else r * 100)}
            if c.code == "late_and_complaints":
                n, dd, r = figures["_late_rate"]
                entry["partial"] = {"late": n, "finished": dd, "late_rate": _round(None if r is None else r * 100)}
        else:
            numerator, denominator, rate = figures[c.code]
            points = score(rate, c.points, c.threshold)
            entry.update(
                available=True,
                numerator=numerator,
                denominator=denominator,
                rate=_round(None if rate is None else rate * 100),
                no_data=rate is None,
                score=_round(points),
            )
            if points is not None:
                groups[c.group]["score"] += points
                groups[c.group]["assessed_points"] += c.points
        groups[c.group]["criteria"].append(entry)
    total = sum((grp["score"] for grp in groups.values()), Fraction(0))
    assessed = sum(grp["assessed_points"] for grp in groups.values())
    for grp in groups.values():
        grp["score"] = _round(grp["score"])
    return {
        "total": _round(total),
        "assessed_points": assessed,
        "max_points": 100,
        "total_over_assessed": _round(total * 100 / assessed) if assessed else None,
        "groups": list(groups.values()),
    }
