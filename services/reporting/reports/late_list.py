"""The monthly list of late agencies and officers (docs/reporting.md, "Late agencies and officers"): for one month,
each agency and each officer with at least one late dossier, their on-time and late counts and the late share,
worst first. Plain functions over the month's rows; ``repository.late_list_rows`` reads them.

Who a late dossier is attributed to:
- agencies: the handling agency, for dossiers finished in the month (resolved, refused after acceptance or stopped)
  and for dossiers still in progress and overdue at the month's end (the same two counts as Biểu 06);
- officers: the officer who recorded the finishing step, for dossiers finished in the month only. A dossier still
  in progress has no finishing officer, and naming whoever touched it last would be a guess: it counts for its
  agency alone. A finishing event that names no officer (recorded before the contract carried one) counts under
  "không rõ" (unknown) in its agency, never under a name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

UNKNOWN_OFFICER = "Không rõ"
ATTRIBUTION_VI = (
    "Cơ quan: cơ quan chủ trì giải quyết, tính hồ sơ giải quyết xong trong tháng (trước hạn, đúng hạn, quá hạn) và hồ "
    "sơ đang giải quyết quá hạn vào cuối tháng. Cán bộ: người ghi bước giải quyết xong hồ sơ (có kết quả, từ chối, "
    "dừng), chỉ tính hồ sơ giải quyết xong trong tháng; hồ sơ đang quá hạn chưa có người giải quyết nên chỉ tính cho "
    'cơ quan. Sự kiện ghi trước khi hệ thống lưu cán bộ thực hiện được xếp vào "Không rõ", không suy đoán.'
)
ON_TIME = frozenset({"early", "on_time"})
LATE = "late"


@dataclass(frozen=True)
class MonthRow:
    """One dossier that counts in the month: finished in it (``finished_at`` set), or in progress and overdue at
    its end (``overdue_at_end``)."""

    dossier_code: str
    agency_code: str | None
    finished_at: datetime | None = None
    outcome: str | None = None
    overdue_at_end: bool = False
    officer_id: str | None = None
    officer_name: str | None = None


@dataclass
class Tally:
    """Counts of one agency or officer in the month."""

    on_time: int = 0
    late: int = 0  # finished late in the month
    overdue: int = 0  # in progress and overdue at the month's end (agencies only)
    name: str | None = None  # the officer's name on their latest finishing event
    named_at: datetime | None = field(default=None, repr=False)

    @property
    def late_total(self) -> int:
        return self.late + self.overdue

    @property
    def counted(self) -> int:
        return self.on_time + self.late_total

    @property
    def late_share(self) -> float:
        """Late among everything counted, in percent (two decimals)."""
        return round(100 * self.late_total / self.counted, 2) if self.counted else 0.0

    def add(self, row: MonthRow) -> None:
        if row.finished_at is None:
            self.overdue += int(row.overdue_at_end)
        elif row.outcome == LATE:
            self.late += 1
        elif row.outcome in ON_TIME:
            self.on_time += 1
        if row.officer_name and row.finished_at and (self.named_at is None or row.finished_at >= self.named_at):
            self.name, self.named_at = row.officer_name, row.finished_at


def late_list(rows: Iterable[MonthRow], agency_names: Mapping[str, str | None]) -> dict[str, Any]:
    """``{"agencies": [...], "officers": [...]}``: only those with a late dossier, worst first (the higher late
    share, then more late dossiers, then by name); the unknown officer rows come after the named ones."""
    agencies: dict[str | None, Tally] = {}
    officers: dict[tuple[str | None, str | None], Tally] = {}
    for row in rows:
        agencies.setdefault(row.agency_code, Tally()).add(row)
        if row.finished_at is not None and row.outcome is not None:
            officers.setdefault((row.officer_id, row.agency_code), Tally()).add(row)

    def agency_label(code: str | None) -> str:
        return (agency_names.get(code) if code else None) or code or UNKNOWN_OFFICER

    agency_items = [
        {"agency_code": code, "agency_name": agency_label(code), **_counts(t)}
        for code, t in agencies.items()
        if t.late_total
    ]
    agency_items.sort(key=lambda a: (-a["late_share"], -a["late_total"], a["agency_name"]))
    officer_items = [
        {
            "officer_id": officer,
            "officer_name": (t.name or officer) if officer else UNKNOWN_OFFICER,
            "known": officer is not None,
            "agency_code": code,
            "agency_name": agency_label(code),
            **_counts(t),
        }
        for (officer, code), t in officers.items()
        if t.late_total
    ]
    officer_items.sort(
        key=lambda o: (not o["known"], -o["late_share"], -o["late_total"], o["officer_name"], o["agency_name"])
    )
    return {"agencies": agency_items, "officers": officer_items}


def _counts(t: Tally) -> dict[str, Any]:
    return {
        "on_time": t.on_time,
        "late": t.late,
        "overdue": t.overdue,
        "late_total": t.late_total,
        "counted": t.counted,
        "late_share": t.late_share,
    }
