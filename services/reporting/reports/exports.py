"""Reports as files: CSV (UTF-8 with BOM, so Excel shows Vietnamese) and XLSX (openpyxl), from the same dicts the
JSON API returns, so the formats can never disagree.

Spreadsheets are written for people who open, print and forward them: values as values (never formulas), text that a
spreadsheet would run as a formula escaped (a plan label is user input), merged and wrapped title rows, columns wide
enough for their content, A4 landscape fitted to the page width with the header rows repeated, sheet names cut at a
word boundary and unique, the reporting unit and each sheet's scope written at the top.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.reporting.reports.sheets import (
    fit_columns,
    print_setup,
    safe_csv_row,
    safe_value,
    sheet_title,
    title_rows,
)

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
NO_DATA = "Không có dữ liệu"
PERCENT_FORMAT = "0.00%"
NUMBER_FORMAT = "#,##0.00"
CHANGE_FORMAT = "+0.00;-0.00;0.00"
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=13)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
STATUS_FILL = {"met": "C6EFCE", "not_met": "FFC7CE", "no_data": "EDEDED"}
THIN = Side(style="thin", color="999999")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
WRAP = Alignment(wrap_text=True, vertical="center")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)

SCOPE_NOTE = "hồ sơ tính cho đơn vị và cấp giải quyết"
COMPLIANCE_HEADINGS = (
    "STT",
    "Chỉ tiêu",
    "Phạm vi",
    "Mục tiêu",
    "Tử số",
    "Mẫu số",
    "Kết quả",
    "Đánh giá",
    "Kỳ trước",
    "Thay đổi so với kỳ trước",
    "Lũy kế: tử số",
    "Lũy kế: mẫu số",
    "Lũy kế: kết quả",
    "Lũy kế: đánh giá",
)


def _ratio_cell(value: float | None, unit: str) -> tuple[Any, str | None]:
    """A value as it goes in a cell: percentages as fractions with a percent format, no data as text."""
    if value is None:
        return NO_DATA, None
    if unit == "%":
        return value / 100, PERCENT_FORMAT
    return value, NUMBER_FORMAT


def _change_cell(change: float | None, unit: str) -> tuple[Any, str | None]:
    if change is None:
        return "—", None
    return change, CHANGE_FORMAT  # points of percentage (or minutes, dossiers) since the previous period


def _write(
    ws: Worksheet,
    row: int,
    col: int,
    value: Any,
    number_format: str | None = None,
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    border: bool = True,
) -> None:
    cell = ws.cell(row=row, column=col)
    safe_value(cell, value)
    if number_format:
        cell.number_format = number_format
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if border:
        cell.border = BOX
    cell.alignment = WRAP


def compliance_xlsx(report: dict[str, Any]) -> bytes:
    """One sheet per section (the province, each level, each agency asked for)."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    plan = report["plan"]
    for section in report["sections"]:
        ws = wb.create_sheet(sheet_title(section["label"], used))
        lines = [
            (f"BÁO CÁO KẾT QUẢ THỰC HIỆN CHỈ TIÊU KẾ HOẠCH — {section['label'].upper()}", TITLE),
            (f"Đơn vị báo cáo: {report.get('province') or ''}", BOLD),
            (f"{plan['name']} ({plan['legal_reference']})", BOLD),
            (f"Kỳ báo cáo: {report['period']['description']}", None),
            (f"Kỳ trước: {report['previous_period']['description']}", None),
            (f"Lũy kế: {report['year_to_date']['description']}", None),
            (f"Phạm vi của trang này: {section['label']} — {SCOPE_NOTE}", None),
        ]
        title_rows(ws, lines, len(COMPLIANCE_HEADINGS))
        header_row = len(lines) + 2
        for col, heading in enumerate(COMPLIANCE_HEADINGS, start=1):
            _write(ws, header_row, col, heading, font=BOLD, fill=HEADER_FILL)
            ws.cell(row=header_row, column=col).alignment = CENTER
        for i, r in enumerate(section["rows"], start=1):
            row = header_row + i
            unit = r["unit"]
            actual, ytd = r["actual"], r["year_to_date"]
            _write(ws, row, 1, i)
            _write(ws, row, 2, r["indicator_name"])
            _write(ws, row, 3, r["target"]["scope_label"])
            _write(ws, row, 4, r["target"]["text"] + (f" (năm {r['target']['year']})" if r["target"]["year"] else ""))
            _write(ws, row, 5, actual["numerator"], None if isinstance(actual["numerator"], int) else NUMBER_FORMAT)
            _write(ws, row, 6, actual["denominator"])
            _write(ws, row, 7, *_ratio_cell(actual["value"], unit))
            _write(ws, row, 8, actual["status_vi"], fill=PatternFill("solid", fgColor=STATUS_FILL[actual["status"]]))
            _write(ws, row, 9, *_ratio_cell(r["previous_period"]["value"], unit))
            _write(ws, row, 10, *_change_cell(r["change_since_previous"], unit))
            _write(ws, row, 11, ytd["numerator"], None if isinstance(ytd["numerator"], int) else NUMBER_FORMAT)
            _write(ws, row, 12, ytd["denominator"])
            _write(ws, row, 13, *_ratio_cell(ytd["value"], unit))
            _write(ws, row, 14, ytd["status_vi"], fill=PatternFill("solid", fgColor=STATUS_FILL[ytd["status"]]))
        fit_columns(ws, header_row + 1, (6, 30, 14, 12, 8, 8, 10, 12, 10, 12, 10, 10, 10, 12), cap=48)
        print_setup(ws, header_row, header_row)
        ws.freeze_panes = ws.cell(row=header_row + 1, column=3)
    if not wb.sheetnames:
        wb.create_sheet("Trống")
    return _save(wb)


def compliance_csv(report: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["Đơn vị báo cáo", report.get("province") or ""])
    writer.writerow(["Kế hoạch", report["plan"]["name"], report["plan"]["legal_reference"]])
    writer.writerow(["Kỳ báo cáo", report["period"]["description"]])
    writer.writerow(["Lũy kế", report["year_to_date"]["description"]])
    writer.writerow([])
    writer.writerow(["Phạm vi báo cáo", "Mã chỉ tiêu", *COMPLIANCE_HEADINGS, "Đơn vị"])
    for section in report["sections"]:
        for i, r in enumerate(section["rows"], start=1):
            actual, ytd = r["actual"], r["year_to_date"]
            writer.writerow(
                [
                    section["label"],
                    r["indicator"],
                    i,
                    r["indicator_name"],
                    r["target"]["scope_label"],
                    r["target"]["text"],
                    actual["numerator"],
                    actual["denominator"],
                    _csv_value(actual["value"]),
                    actual["status_vi"],
                    _csv_value(r["previous_period"]["value"]),
                    _csv_value(r["change_since_previous"]),
                    ytd["numerator"],
                    ytd["denominator"],
                    _csv_value(ytd["value"]),
                    ytd["status_vi"],
                    r["unit"],
                ]
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_value(value: float | None) -> str:
    return NO_DATA if value is None else f"{value:.2f}"


class SafeWriter:
    """``csv.writer`` that escapes text cells a spreadsheet would run as formulas."""

    def __init__(self, out: io.StringIO) -> None:
        self._writer = csv.writer(out)

    def writerow(self, values: Sequence[Any]) -> None:
        self._writer.writerow(safe_csv_row(values))


# ------------------------------------------------------------------------------------------------ results form

FORM_GROUPS = (("Số hồ sơ nhận giải quyết", 3, 6), ("Kết quả giải quyết", 7, 10), ("Đang giải quyết", 11, 13))


def results_form_xlsx(form: dict[str, Any]) -> bytes:
    """Biểu 06/VPCP/KSTT: one sheet by sector, one by agency; rows by level, 13 numbered columns."""
    wb = Workbook()
    wb.remove(wb.active)
    columns = [c for c in form["columns"] if c["number"] is not None]
    for by, title, key_heading in (("by_sector", "Theo lĩnh vực", "Lĩnh vực"), ("by_agency", "Theo đơn vị", "Đơn vị")):
        ws = wb.create_sheet(title)
        title_rows(
            ws,
            [
                (f"{form['form']} — Đơn vị báo cáo: {form['province']}", BOLD),
                (form["title"], TITLE),
                (f"Kỳ báo cáo: {form['period']['description']}", None),
                (
                    f"Phạm vi: {form.get('scope_label') or 'toàn tỉnh'}, {title.lower()}; đơn vị tính: {form['unit']}",
                    None,
                ),
            ],
            13,
        )
        top = 6
        ws.merge_cells(start_row=top, start_column=1, end_row=top + 1, end_column=1)
        ws.merge_cells(start_row=top, start_column=2, end_row=top + 1, end_column=2)
        _write(ws, top, 1, "STT", font=BOLD, fill=HEADER_FILL)
        _write(ws, top, 2, key_heading, font=BOLD, fill=HEADER_FILL)
        for heading, first, last in FORM_GROUPS:
            ws.merge_cells(start_row=top, start_column=first, end_row=top, end_column=last)
            _write(ws, top, first, heading, font=BOLD, fill=HEADER_FILL)
        for c in columns:
            _write(ws, top + 1, c["number"], c["heading"], font=BOLD, fill=HEADER_FILL)
        for col in range(1, 14):
            _write(ws, top + 2, col, f"({col})", font=BOLD)
            for r in (top, top + 1, top + 2):
                ws.cell(row=r, column=col).alignment = CENTER
        row = top + 3
        for block in form[by]["levels"]:
            _write(ws, row, 1, "")
            _write(ws, row, 2, block["label"], font=BOLD)
            row += 1
            for i, r in enumerate(block["rows"], start=1):
                _form_row(ws, row, i, r, columns)
                row += 1
            _form_row(ws, row, None, block["total"], columns, bold=True)
            row += 1
        _form_row(ws, row, None, form[by]["total"], columns, bold=True)
        fit_columns(ws, top + 3, (6, 24, *([10] * 11)), cap=44)
        for col in range(3, 14):  # the numbered headings wrap: keep the numeric columns even
            ws.column_dimensions[get_column_letter(col)].width = 12
        print_setup(ws, top, top + 2)
        ws.freeze_panes = ws.cell(row=top + 3, column=3)
    return _save(wb)


def _form_row(
    ws: Worksheet, row: int, number: int | None, r: dict[str, Any], columns: list[dict[str, Any]], bold: bool = False
) -> None:
    font = BOLD if bold else None
    _write(ws, row, 1, number if number is not None else "", font=font)
    _write(ws, row, 2, r["label"], font=font)
    for c in columns:
        _write(ws, row, c["number"], r[c["key"]], "#,##0", font=font)


def results_form_csv(form: dict[str, Any]) -> bytes:
    out = io.StringIO()
    writer = SafeWriter(out)
    columns = [c for c in form["columns"] if c["number"] is not None]
    writer.writerow([form["title"], form["period"]["description"], form["province"]])
    writer.writerow(["Cấp", "Lĩnh vực", *[f"({c['number']}) {c['heading']}" for c in columns], "Rút hồ sơ"])
    for block in form["by_sector"]["levels"]:
        for r in [*block["rows"], block["total"]]:
            writer.writerow([block["label"], r["label"], *[r[c["key"]] for c in columns], r["withdrawn"]])
    total = form["by_sector"]["total"]
    writer.writerow(["", total["label"], *[total[c["key"]] for c in columns], total["withdrawn"]])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


# ------------------------------------------------------------------------------------------- plain tables (cards)


@dataclass
class Table:
    """One table as the dashboard shows it: a title, the scope it covers, headings and rows of plain values.
    ``formats`` gives a column's number format (percentages are fractions with PERCENT_FORMAT)."""

    title: str
    scope: str
    headings: list[str]
    rows: list[list[Any]]
    formats: dict[int, str] = field(default_factory=dict)
    note: str = ""


def tables_xlsx(unit: str, period: str, tables: Sequence[Table]) -> bytes:
    """One sheet per table, each naming the reporting unit, the period and its own scope."""
    wb = Workbook()
    wb.remove(wb.active)
    used: set[str] = set()
    for t in tables:
        ws = wb.create_sheet(sheet_title(t.title, used))
        width = max(len(t.headings), 1)
        lines: list[tuple[str, Font | None]] = [
            (t.title.upper(), TITLE),
            (f"Đơn vị báo cáo: {unit}", BOLD),
            (f"Kỳ: {period}", None),
            (f"Phạm vi: {t.scope}", None),
        ]
        if t.note:
            lines.append((t.note, None))
        header_row = title_rows(ws, lines, width) + 1
        for col, heading in enumerate(t.headings, start=1):
            _write(ws, header_row, col, heading, font=BOLD, fill=HEADER_FILL)
            ws.cell(row=header_row, column=col).alignment = CENTER
        for i, values in enumerate(t.rows, start=1):
            for col, value in enumerate(values, start=1):
                fmt = t.formats.get(col - 1) if isinstance(value, int | float) else None
                _write(ws, header_row + i, col, value, fmt)
        if not t.rows:
            _write(ws, header_row + 1, 1, NO_DATA, border=False)
        fit_columns(ws, header_row, cap=60)
        print_setup(ws, header_row, header_row)
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
    if not wb.sheetnames:
        wb.create_sheet("Trống")
    return _save(wb)


def tables_csv(unit: str, period: str, tables: Sequence[Table]) -> bytes:
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(["Đơn vị báo cáo", unit])
    writer.writerow(["Kỳ", period])
    for t in tables:
        writer.writerow([])
        writer.writerow([t.title])
        writer.writerow(["Phạm vi", t.scope])
        if t.note:
            writer.writerow([t.note])
        writer.writerow(t.headings)
        for values in t.rows:
            writer.writerow(
                [_csv_number(v, t.formats.get(i)) if isinstance(v, float) else v for i, v in enumerate(values)]
            )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _csv_number(value: float, number_format: str | None) -> str:
    return f"{value * 100:.2f}" if number_format == PERCENT_FORMAT else f"{value:.2f}"


def index766_tables(index: dict[str, Any]) -> list[Table]:
    """The Decision 766 index: the six groups and the total per section, then each section's criteria."""
    sections = index["sections"]
    if not sections:
        return []
    groups = sections[0]["groups"]
    summary = Table(
        title="Chỉ số 766 theo nhóm",
        scope=", ".join(s["label"] for s in sections),
        headings=[
            "Phạm vi",
            *(f"{g['name']} ({g['points']} điểm)" for g in groups),
            "Tổng",
            "Điểm đã đánh giá",
            "Quy về 100",
        ],
        rows=[
            [
                s["label"],
                *(g["score"] if g["assessed_points"] else NO_DATA for g in s["groups"]),
                s["total"],
                s["assessed_points"],
                s["total_over_assessed"] if s["total_over_assessed"] is not None else NO_DATA,
            ]
            for s in sections
        ],
        formats={i: NUMBER_FORMAT for i in range(1, len(groups) + 4)},
        note="Tiêu chí không có dữ liệu: sự kiện của hệ thống không cung cấp; tổng điểm tính trên điểm đã đánh giá.",
    )
    tables = [summary]
    for s in sections:
        rows = []
        for g in s["groups"]:
            for c in g["criteria"]:
                rate = c.get("rate")
                rows.append(
                    [g["name"], c["name"], c["points"],
                     rate / 100 if rate is not None else NO_DATA,
                     c["score"] if c.get("score") is not None else NO_DATA]
                )  # fmt: skip
        tables.append(
            Table(
                title=f"766 — {s['label']}",
                scope=s["label"],
                headings=["Nhóm", "Tiêu chí", "Điểm tối đa", "Tỷ lệ", "Điểm"],
                rows=rows,
                formats={3: PERCENT_FORMAT, 4: NUMBER_FORMAT},
            )
        )
    return tables


def _save(wb: Workbook) -> bytes:
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
