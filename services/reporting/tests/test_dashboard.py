"""The dashboard: the page for a plan, period and scope, its drill-down, the viewer's scope, card exports, and the
forecast's arithmetic."""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.auth import hash_api_key
from libs.common.testing import AUTH, HeldPort, running_app
from libs.common.web.pdf import inspect_pdf
from services.reporting.app import create_app
from services.reporting.config import ReportingSettings
from services.reporting.dashboard.forecast import Verdict, forecast, wilson
from services.reporting.tests.conftest import PSEUDONYM_KEY
from services.reporting.tests.factory import COMMUNE_AGENCY, PROVINCE_AGENCY
from services.reporting.tests.test_api import province  # noqa: F401  (fixture)

# Held, never listening, for the whole module: reporting's parity check would find intake down.
NOBODY = HeldPort()
LEADER = AUTH["leader"]
COMMUNE_LEADER = {"Authorization": "Bearer commune-leader-key-0123456789abcdef"}
Q1: dict[str, Any] = {"plan": "bac-giang-2024-3-kh-ubnd", "year": 2024, "quarter": 1}


class TestForecast:
    def test_wilson_interval(self) -> None:
        low, high = wilson(8, 10)  # type: ignore[misc]
        assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
        assert wilson(0, 0) is None
        low, high = wilson(10, 10)  # type: ignore[misc]
        assert high == pytest.approx(1.0) and round(low, 4) == 0.7225

    def test_verdicts(self) -> None:
        sure = forecast(990, 1000, comparator="≥", target=90, months_elapsed=6)
        assert sure.verdict is Verdict.LIKELY_MET
        assert sure.expected_remaining == 1000 and sure.expected_year_total == 2000
        assert sure.low is not None and sure.low > 90
        hopeless = forecast(500, 1000, comparator="≥", target=90, months_elapsed=6)
        assert hopeless.verdict is Verdict.LIKELY_NOT_MET
        close = forecast(9, 10, comparator="≥", target=90, months_elapsed=3)
        assert close.verdict is Verdict.UNCERTAIN
        assert forecast(None, 0, comparator="≥", target=90, months_elapsed=3).verdict is Verdict.NO_DATA
        assert forecast(3, 4, comparator="≥", target=9, months_elapsed=3, is_proportion=False).verdict is (
            Verdict.NOT_FORECAST
        )
        # the year is over: nothing left to come, the interval is the year's own figure
        done = forecast(95, 100, comparator="≥", target=90, months_elapsed=12)
        assert (done.low, done.high, done.verdict) == (95.0, 95.0, Verdict.LIKELY_MET)


@pytest_asyncio.fixture
async def scoped_client(reporting_url: str) -> AsyncIterator[httpx.AsyncClient]:
    keys = {
        hash_api_key("commune-leader-key-0123456789abcdef"): {
            "subject": "xa.tam.tien",
            "name": "Hoàng Văn Tâm",
            "roles": ["leader"],
            "agencies": [COMMUNE_AGENCY],
        }
    }
    app = create_app(
        ReportingSettings(
            database_url=reporting_url,
            kafka_enabled=False,
            pseudonym_key=PSEUDONYM_KEY,
            province_name="Tỉnh Thử",
            intake_url=f"http://127.0.0.1:{NOBODY.port}",
            api_keys=json.dumps(keys),
        )
    )
    async with running_app(app) as c:
        yield c


def text_of(html: str) -> str:
    return " ".join(html.split())


@pytest.mark.asyncio
class TestDashboardPage:
    async def test_root_redirects(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/")
        assert response.status_code == 307 and response.headers["location"] == "/signin?next=/dashboard"
        signed_in = await client.get("/", headers=LEADER)
        assert signed_in.status_code == 307 and signed_in.headers["location"] == "/dashboard"

    async def test_sign_in_required(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/dashboard")
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        desk = await client.get("/dashboard", headers=AUTH["desk"])
        assert desk.status_code == 403

    async def test_page(self, province: AsyncEngine, client: httpx.AsyncClient) -> None:  # noqa: F811
        response = await client.get("/dashboard", params=Q1, headers=LEADER)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        page = text_of(response.text)
        assert "Quý I/2024 (15/12/2023 – 14/03/2024)" in page and "khung thời gian chính thức" in page
        assert 'Phạm vi: <strong id="scope">Toàn tỉnh</strong>' in page
        # targets: on-time 2/4 = 50 % against > 90 % → not met, coloured; no-data targets said plainly
        assert 'class="badge unmet">Không đạt' in page and 'class="badge no-data">Không có dữ liệu' in page
        assert "50,00 %" in page
        # monthly trends as inline SVG, the 766 index, the forecast and its method, the late agencies
        assert '<svg class="chart"' in page and "T1" in page
        assert "Quyết định 766/QĐ-TTg" in page and "không có dữ liệu" in page
        assert "Wilson" in page and "Dự báo cả năm 2024" in page
        # the late list of the quarter's last month (15/02–14/03/2024): G overdue at its end; no officer finished late
        assert "Danh sách cơ quan, cán bộ chậm muộn — Tháng 03/2024" in page
        assert "UBND xã Tam Tiến" in page and "Không có cán bộ nào giải quyết hồ sơ quá hạn" in page
        # still open long after their due time (the clock is today): F and G are overdue, neither apologised
        assert "000.21.31.H56-240220-0001" in page and "000.00.21.H56-240301-0001" in page
        # every card offers its exports
        for card in ("targets", "trends", "forecast", "index766", "deadlines", "late"):
            assert f"/dashboard/cards/{card}?" in page

    async def test_calendar_windows_labelled(self, province: AsyncEngine, client: httpx.AsyncClient) -> None:  # noqa: F811
        response = await client.get("/dashboard", params={**Q1, "window": "calendar"}, headers=LEADER)
        page = text_of(response.text)
        assert "Quý I/2024 (01/01/2024 – 31/03/2024)" in page and "theo lịch" in page

    async def test_drill_down_to_dossiers(self, province: AsyncEngine, client: httpx.AsyncClient) -> None:  # noqa: F811
        levels = text_of((await client.get("/dashboard", params=Q1, headers=LEADER)).text)
        assert "level=commune" in levels and "Cấp xã" in levels
        level = text_of((await client.get("/dashboard", params={**Q1, "level": "province"}, headers=LEADER)).text)
        assert f"agency={PROVINCE_AGENCY}" in level and "Sở Tư pháp" in level
        agency = text_of(
            (await client.get("/dashboard", params={**Q1, "agency": PROVINCE_AGENCY}, headers=LEADER)).text
        )
        assert "procedure=1.001193" in agency
        procedure = await client.get(
            "/dashboard", params={**Q1, "agency": PROVINCE_AGENCY, "procedure": "1.001193"}, headers=LEADER
        )
        assert "thủ tục 1.001193" in procedure.text
        dossiers = await client.get(
            "/dashboard/dossiers", params={**Q1, "indicator": "on_time_rate", "part": "denominator"}, headers=LEADER
        )
        assert dossiers.status_code == 200
        page = text_of(dossiers.text)
        for code in ("000.00.15.H56-231201-0001", "000.00.15.H56-240108-0001", "000.00.15.H56-240201-0001"):
            assert f'href="/dossiers/{code}/fact"' in page
        assert "Quá hạn" in page and "Sở Tư pháp" in page
        # a page at a time by keyset cursor: two, then the next link to the other two, which has no next link
        first = await client.get(
            "/dashboard/dossiers",
            params={**Q1, "indicator": "on_time_rate", "part": "denominator", "limit": 2},
            headers=LEADER,
        )
        shown = re.findall(r'href="/dossiers/([^/"]+)/fact"', first.text)
        following = re.search(r'id="next-page" href="([^"]+)"', first.text)
        assert len(shown) == 2 and following is not None
        second = await client.get(html.unescape(following.group(1)), headers=LEADER)
        rest = re.findall(r'href="/dossiers/([^/"]+)/fact"', second.text)
        assert len(rest) == 2 and not set(rest) & set(shown) and 'id="next-page"' not in second.text
        bad = await client.get(
            "/dashboard/dossiers", params={**Q1, "indicator": "on_time_rate", "after": "nope"}, headers=LEADER
        )
        assert bad.status_code == 422 and bad.json()["code"] == "cursor_invalid"
        unknown = await client.get("/dashboard/dossiers", params={**Q1, "indicator": "nope"}, headers=LEADER)
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")

    async def test_agency_principal_sees_its_agency_only(
        self,
        province: AsyncEngine,  # noqa: F811
        scoped_client: httpx.AsyncClient,
    ) -> None:
        response = await scoped_client.get("/dashboard", params=Q1, headers=COMMUNE_LEADER)
        page = text_of(response.text)
        assert f"UBND xã Tam Tiến ({COMMUNE_AGENCY})" in page
        assert "Sở Tư pháp" not in page and "000.00.15.H56-" not in page and "000.00.21.H56-" not in page
        other = await scoped_client.get("/dashboard", params={**Q1, "agency": PROVINCE_AGENCY}, headers=COMMUNE_LEADER)
        assert other.status_code == 403
        xlsx = await scoped_client.get(
            "/dashboard/cards/deadlines", params={**Q1, "format": "xlsx"}, headers=COMMUNE_LEADER
        )
        values = [c.value for ws in load_workbook(io.BytesIO(xlsx.content)) for r in ws.iter_rows() for c in r]
        assert "000.21.31.H56-240220-0001" in values
        assert not [v for v in values if isinstance(v, str) and v.startswith("000.00.")]


@pytest.mark.asyncio
class TestCardExports:
    @pytest.mark.parametrize("card", ["targets", "trends", "forecast", "index766", "deadlines", "late"])
    async def test_every_card_exports(
        self,
        province: AsyncEngine,  # noqa: F811
        client: httpx.AsyncClient,
        card: str,
        tmp_path: Path,
    ) -> None:
        xlsx = await client.get(f"/dashboard/cards/{card}", params={**Q1, "format": "xlsx"}, headers=LEADER)
        assert xlsx.status_code == 200
        wb = load_workbook(io.BytesIO(xlsx.content))
        ws = wb[wb.sheetnames[0]]
        assert ws["A2"].value == "Đơn vị báo cáo: Tỉnh Thử"
        assert ws["A3"].value.startswith("Kỳ: Quý I/2024")
        assert ws["A4"].value.startswith("Phạm vi: ")
        assert not [c for r in ws.iter_rows() for c in r if c.data_type == "f"]
        csv_body = await client.get(f"/dashboard/cards/{card}", params={**Q1, "format": "csv"}, headers=LEADER)
        rows = list(csv.reader(io.StringIO(csv_body.content.decode("utf-8-sig"))))
        assert rows[0] == ["Đơn vị báo cáo", "Tỉnh Thử"]
        pdf = await client.get(f"/dashboard/cards/{card}", params={**Q1, "format": "pdf"}, headers=LEADER)
        assert pdf.headers["content-type"] == "application/pdf"
        facts = inspect_pdf(pdf.content)
        assert "Tỉnh Thử" in facts.text and "Quý I/2024" in facts.text and "Trang 1/" in facts.text

    async def test_targets_values(self, province: AsyncEngine, client: httpx.AsyncClient) -> None:  # noqa: F811
        xlsx = await client.get("/dashboard/cards/targets", params={**Q1, "format": "xlsx"}, headers=LEADER)
        ws = load_workbook(io.BytesIO(xlsx.content))["Chỉ tiêu kế hoạch"]
        rows = {ws.cell(row=r, column=2).value: r for r in range(1, ws.max_row + 1)}
        r = rows["Tỷ lệ hồ sơ giải quyết trước và đúng hạn"]
        assert [ws.cell(row=r, column=c).value for c in range(4, 9)] == ["> 90%", 2, 4, 0.5, "Không đạt"]
        assert ws.cell(row=r, column=7).number_format == "0.00%"
