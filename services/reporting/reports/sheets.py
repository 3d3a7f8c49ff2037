"""Spreadsheet hygiene shared by every report and dashboard export: formula-injection escaping, sheet names, title
rows, column widths and print set-up. Plain functions over openpyxl worksheets and CSV rows."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from openpyxl.cell.cell import Cell
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

# A text cell starting with one of these is run as a formula (or DDE) by Excel, LibreOffice or Sheets when the file
# is opened or a CSV imported (OWASP "CSV injection"). Plan labels, agency and procedure names are input.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")


def dangerous(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def safe_text(text: str) -> str:
    """CSV: a leading apostrophe makes a spreadsheet read the cell as text (the apostrophe is not shown in Excel)."""
    return "'" + text if dangerous(text) else text


def safe_csv_row(values: Iterable[Any]) -> list[Any]:
    return [safe_text(v) if isinstance(v, str) else v for v in values]


def safe_value(cell: Cell, value: Any) -> None:
    """XLSX: openpyxl stores a string starting with "=" as a formula; force text type and Excel's quote prefix so
    "= 100%" or "=HYPERLINK(…)" is shown as written and never evaluated."""
    cell.value = value
    if isinstance(value, str) and dangerous(value):
        cell.data_type = "s"
        cell.quotePrefix = True


def sheet_title(label: str, used: set[str]) -> str:
    """A unique sheet name of at most 31 characters, cut at a word boundary, without the characters Excel refuses."""
    clean = " ".join(_SHEET_FORBIDDEN.sub("-", label).split()).strip("'") or "Trang"
    title = _cut(clean, SHEET_NAME_MAX)
    base, n = title, 2
    while title.casefold() in {u.casefold() for u in used}:
        suffix = f" ({n})"
        title = _cut(base, SHEET_NAME_MAX - len(suffix)) + suffix
        n += 1
    used.add(title)
    return title


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    cut = head.rfind(" ")
    return (head[:cut] if cut > 0 else text[:limit]).rstrip(" -(,;")


def title_rows(ws: Worksheet, lines: Sequence[tuple[str, Font | None]], width: int, first_row: int = 1) -> int:
    """Write ``lines`` as merged, wrapped rows across the table's ``width`` columns; returns the next free row."""
    row = first_row
    for text, font in lines:
        cell = ws.cell(row=row, column=1)
        safe_value(cell, text)
        if font is not None:
            cell.font = font
        cell.alignment = Alignment(wrap_text=True, vertical="center")
        if width > 1:
            ws.merge_cells(start_row=row, start_column=1, end_row=row, end_column=width)
        # merged cells do not grow with their text: give long lines room (about 150 characters a line at A4 width)
        ws.row_dimensions[row].height = 16 * max(1, -(-len(text) // 150)) + (4 if font is not None else 0)
        row += 1
    return row


def fit_columns(
    ws: Worksheet, first_row: int, widths_min: Sequence[int] = (), *, cap: int = 50, default_min: int = 8
) -> None:
    """Widths to fit the content from ``first_row`` on (the title rows are merged and wrap), within ``cap``."""
    best: dict[int, int] = {}
    for row in ws.iter_rows(min_row=first_row):
        for cell in row:
            if cell.value is None or not hasattr(cell, "column"):
                continue
            text = f"{cell.value:,.2f}" if isinstance(cell.value, float) else str(cell.value)
            longest = max((len(part) for part in text.split("\n")), default=0)
            best[cell.column] = max(best.get(cell.column, 0), longest)
    for col, length in best.items():
        floor = widths_min[col - 1] if col - 1 < len(widths_min) else default_min
        ws.column_dimensions[get_column_letter(col)].width = max(floor, min(cap, length + 2))


def print_setup(ws: Worksheet, header_first: int, header_last: int) -> None:
    """A4 landscape, one page wide (as many pages tall as needed), the header rows printed on every page."""
    ws.page_setup.orientation = ws.ORIENTATION_LANDSCAPE
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"{header_first}:{header_last}"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "Trang &P/&N"
