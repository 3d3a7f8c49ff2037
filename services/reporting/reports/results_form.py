"""The official results form (Biểu 06/VPCP/KSTT, Circular 01/2020/TT-VPCP; docs/domain.md, "Results form").

Rows by sector within level (or by agency); unit = dossiers; columns: received (total, new online, new in person and
postal, carried over), resolved (total, early, on time, late), in progress (total, within deadline, overdue).
Check: received = resolved + in progress + closed without resolution (withdrawn), which the form states.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.reporting.plans.rules import LEVEL_VI
from services.reporting.reports.indicators import GroupedData
from services.reporting.reports.scope import Scope, matches_all

COLUMNS: tuple[tuple[str, str], ...] = (
    ("received_total", "Tổng số hồ sơ tiếp nhận"),
    ("received_online", "Trực tuyến"),
    ("received_counter_postal", "Trực tiếp và qua dịch vụ bưu chính"),
    ("carried_over", "Từ kỳ trước chuyển qua"),
    ("resolved_total", "Tổng số hồ sơ đã giải quyết"),
    ("resolved_early", "Trước hạn"),
    ("resolved_on_time", "Đúng hạn"),
    ("resolved_late", "Quá hạn"),
    ("in_progress_total", "Tổng số hồ sơ đang giải quyết"),
    ("in_progress_within", "Trong hạn"),
    ("in_progress_overdue", "Quá hạn"),
)
EXTRA_COLUMNS: tuple[tuple[str, str], ...] = (("withdrawn", "Rút hồ sơ (đóng, không giải quyết)"),)
LEVEL_ORDER = {"province": 0, "district": 1, "commune": 2}


def columns_of(counts: dict[str, int]) -> dict[str, int]:
    new_online = counts.get("received_online", 0)
    new_counter_postal = counts.get("received_counter", 0) + counts.get("received_postal_channel", 0)
    carried = counts.get("carried_over", 0)
    return {
        "received_total": new_online + new_counter_postal + carried,
        "received_online": new_online,
        "received_counter_postal": new_counter_postal,
        "carried_over": carried,
        "resolved_total": counts.get("finished", 0),
        "resolved_early": counts.get("finished_early", 0),
        "resolved_on_time": counts.get("finished_on_time", 0),
        "resolved_late": counts.get("finished_late", 0),
        "in_progress_total": counts.get("in_progress_end", 0),
        "in_progress_within": counts.get("within_deadline_end", 0),
        "in_progress_overdue": counts.get("overdue_end", 0),
        "withdrawn": counts.get("withdrawn", 0),
    }


@dataclass(frozen=True)
class FormRow:
    level: str | None
    key: str | None  # sector code or agency code
    label: str
    values: dict[str, int]

    @property
    def balanced(self) -> bool:
        v = self.values
        return v["received_total"] == v["resolved_total"] + v["in_progress_total"] + v["withdrawn"]

    def as_dict(self) -> dict[str, Any]:
        return {"level": self.level, "key": self.key, "label": self.label, **self.values, "balanced": self.balanced}


def _add(into: dict[str, int], counts: dict[str, int]) -> None:
    for name, n in counts.items():
        into[name] = into.get(name, 0) + n


def form_rows(g: GroupedData, scopes: Sequence[Scope], by: str = "sector") -> list[FormRow]:
    """Rows per (level, sector) or (level, agency), ordered province → district → commune, then by label."""
    buckets: dict[tuple[str | None, str | None], dict[str, int]] = defaultdict(dict)
    labels: dict[tuple[str | None, str | None], str] = {}
    for (level, agency, sector_code, sector_name), counts in g.dossiers.items():
        info = g.agencies.get(agency or "")
        if not matches_all(
            scopes,
            level=level,
            agency=agency,
            area_kind=info.area_kind if info else None,
            sector_code=sector_code,
            sector_name=sector_name,
        ):
            continue
        if by == "agency":
            key = (level, agency)
            labels[key] = (info.name if info and info.name else None) or agency or "(không rõ)"
        else:
            key = (level, sector_code or sector_name)
            labels[key] = sector_name or sector_code or "(không rõ lĩnh vực)"
        _add(buckets[key], counts)
    rows = [FormRow(level, key, labels[(level, key)], columns_of(counts)) for (level, key), counts in buckets.items()]
    rows = [r for r in rows if any(r.values.values())]
    rows.sort(key=lambda r: (LEVEL_ORDER.get(r.level or "", 9), r.level or "", r.label))
    return rows


def total_row(rows: Sequence[FormRow], label: str = "Tổng cộng", level: str | None = None) -> FormRow:
    values: dict[str, int] = {}
    for r in rows:
        _add(values, r.values)
    if not values:
        values = columns_of({})
    return FormRow(level, None, label, values)


def level_label(level: str | None) -> str:
    return f"Cấp {LEVEL_VI.get(level or '', level or 'không rõ')}"
