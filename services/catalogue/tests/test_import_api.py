"""API tests of the catalogue import: JSON in our layout and in the national portal's, Excel; one bad row never
loses the good ones, and the report names each rejected row with its reasons."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openpyxl import Workbook

from services.catalogue.demo import demo_procedures
from services.catalogue.tests.support import OPS, assert_problem, events, procedure

pytestmark = pytest.mark.asyncio

SAMPLE = Path(__file__).parent / "data" / "procedures-sample.json"
PROVINCE_DECISION = {
    "decision_number": "125/QĐ-UBND",
    "decision_signed_on": "2025-12-20",
    "decision_effective_on": "2026-01-01",
}


async def upload(
    client: httpx.AsyncClient, content: bytes, filename: str = "catalogue.json", **params: str
) -> httpx.Response:
    return await client.post("/imports/procedures", files={"file": (filename, content)}, params=params, headers=OPS)


def fifty_rows_three_bad() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = demo_procedures()[:47]
    over_limit = procedure(code="1.999001")
    over_limit["process"][0] = {**over_limit["process"][0], "allowance_hours": 40}
    rows.insert(4, {**procedure(), "code": "1.01193"})  # row 5
    rows.insert(19, over_limit)  # row 20
    rows.append({**procedure(code="1.999002"), "sector": {"code": None, "name": ""}, "levels": ["ministry"]})  # 50
    return rows


class TestJsonImport:
    async def test_three_bad_rows_among_fifty(self, client: httpx.AsyncClient, catalogue_url: str) -> None:
        response = await upload(client, json.dumps(fifty_rows_three_bad(), ensure_ascii=False).encode())
        assert response.status_code == 200, response.text
        report = response.json()
        assert report["accepted"] == 47 and len(report["published"]) == 47
        rejected = {r["row"]: r for r in report["rejected"]}
        assert sorted(rejected) == [5, 20, 50]
        assert rejected[5]["code"] == "1.01193" and rejected[5]["errors"][0].startswith("code: ")
        assert rejected[20]["code"] == "1.999001"
        assert rejected[20]["errors"] == [
            "process.0.allowance_hours: step 1 (Bộ phận một cửa: Tiếp nhận, chuyển hồ sơ) brings the process to"
            " 40 working hours, over the legal time limit of 3 working days (24 working hours)"
        ]
        assert {e.split(":")[0] for e in rejected[50]["errors"]} == {"sector.name", "levels.0"}
        # the good rows are in, each with its event
        assert len(await events(catalogue_url)) == 47
        found = await client.get("/procedures", params={"q": "dang ky khai tu", "at": "2026-06-01"})
        assert found.json()["total"] >= 1

    async def test_portal_layout_with_the_province_decision(self, client: httpx.AsyncClient) -> None:
        response = await upload(client, SAMPLE.read_bytes(), **PROVINCE_DECISION)
        report = response.json()
        reasons = {r["code"]: r["errors"] for r in report["rejected"]}
        # no time limit on the portal, or no level a province handles (ministry / other only)
        assert sorted(reasons) == ["2.000635", "2.000815", "2.000884", "2.000975", "2.001035", "2.001263", "3.000346"]
        assert reasons["2.000635"] == ["time_limit: missing (the portal gives no number)"]
        assert reasons["3.000346"] == ["levels: none handled in the province (ministry)"]
        assert report["accepted"] == 43

        birth = (await client.get("/procedures/1.001193", params={"at": "2026-01-01"})).json()
        assert birth["time_limit"] == {"amount": 1, "unit": "working_days"} and birth["fees"] == []
        assert birth["decision"]["number"] == "125/QĐ-UBND" and birth["postal_allowed"] is True
        assert birth["components"][0]["code"] == "TP1001193-01" and birth["components"][0]["required"] is False
        assert birth["online_level"] == "partial"  # submitted online on the portal, "full" not stated
        full = (await client.get("/procedures/1.013080", params={"at": "2026-01-01"})).json()
        assert full["online_level"] == "full"

    async def test_portal_layout_needs_a_decision(self, client: httpx.AsyncClient) -> None:
        report = (await upload(client, SAMPLE.read_bytes())).json()
        assert report["accepted"] == 0 and len(report["rejected"]) == 50
        assert any("decision: missing" in e for e in report["rejected"][0]["errors"])

    async def test_reimport_amends_what_changed_and_leaves_the_rest(
        self, client: httpx.AsyncClient, catalogue_url: str
    ) -> None:
        rows = [procedure(), procedure(code="1.000894", name="Đăng ký kết hôn")]
        await upload(client, json.dumps(rows).encode())
        rows[1] = {
            **rows[1],
            "time_limit": {"amount": 5, "unit": "working_days"},
            "decision": {"number": "9/QĐ-UBND", "signed_on": "2026-06-01", "effective_on": "2026-07-01"},
        }
        report = (await upload(client, json.dumps(rows).encode())).json()
        assert (report["accepted"], report["unchanged"], report["amended"]) == (2, ["1.001193"], ["1.000894"])
        assert (await client.get("/procedures/1.000894", params={"at": "2026-07-01"})).json()["version"] == 2
        assert [kind for kind, _ in await events(catalogue_url)] == [
            "procedure.published",
            "procedure.published",
            "procedure.amended",
        ]

    async def test_a_code_twice_in_one_file(self, client: httpx.AsyncClient) -> None:
        report = (await upload(client, json.dumps([procedure(), procedure()]).encode())).json()
        assert report["accepted"] == 1
        assert report["rejected"] == [
            {"row": 2, "code": "1.001193", "errors": ["code: 1.001193 already appears at row 1 of this file"]}
        ]

    async def test_raw_json_body_and_rows_that_are_not_objects(self, client: httpx.AsyncClient) -> None:
        body = json.dumps({"procedures": [procedure(), "nonsense"]}).encode()
        response = await client.post(
            "/imports/procedures", content=body, headers={**OPS, "content-type": "application/json"}
        )
        report = response.json()
        assert report["accepted"] == 1 and report["rejected"][0]["errors"] == ["row: not a JSON object"]

    async def test_unreadable_file(self, client: httpx.AsyncClient) -> None:
        assert_problem(await upload(client, b"\x00\x01 not json"), 422, "import_unreadable")
        assert_problem(await upload(client, b"PK\x03\x04broken", "c.xlsx"), 422, "import_unreadable")
        assert_problem(await upload(client, b'{"a": 1}'), 422, "import_unreadable")

    async def test_needs_the_ops_role(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/imports/procedures", files={"file": ("c.json", b"[]")})
        assert_problem(response, 401, "unauthorized")


HEADER = [
    "Code", "Name", "Sector code", "Sector name", "Levels", "Agency kinds", "Time limit", "Time limit unit", "Fees",
    "Components", "Results", "Online level", "Postal allowed", "Cross boundary allowed", "Inter agency",
    "Participating agencies", "Certification", "Process", "Decision number", "Decision signed on",
    "Decision effective on",
]  # fmt: skip


def workbook(*rows: list[Any]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


BIRTH_ROW = [
    "1.001193", "Đăng ký khai sinh", "H56-HT01", "Hộ tịch", "commune", "UBND cấp xã", 3, "ngày làm việc",
    "Lệ phí đăng ký khai sinh | 8.000 | lệ phí | x",
    "TK001193 | Tờ khai đăng ký khai sinh | 1 | x |\nGCS | Giấy chứng sinh | 1 | x | x",
    "KQ001193 | Giấy khai sinh | x", "toàn trình", "có", "x", "", "", "",
    "Bộ phận một cửa | Tiếp nhận | 4\nCông chức tư pháp | Thẩm định | 12\nChủ tịch UBND xã | Ký | 8",
    "1234/QĐ-UBND", "01/12/2025", "01/01/2026",
]  # fmt: skip


class TestExcelImport:
    async def test_rows_by_sheet_row_number(self, client: httpx.AsyncClient) -> None:
        over_limit = [*BIRTH_ROW]
        over_limit[0], over_limit[17] = "1.000894", "Bộ phận một cửa | Tiếp nhận | 30"
        same_day = [*BIRTH_ROW]
        same_day[0:4] = ["2.000815", "Chứng thực bản sao từ bản chính", "H56-CT01", "Chứng thực"]
        same_day[6:8] = [None, "trong ngày"]
        same_day[11], same_day[16], same_day[17] = "không", "x", "Bộ phận một cửa | Chứng thực | 6"
        bad_cells = [*BIRTH_ROW]
        bad_cells[0], bad_cells[12], bad_cells[7] = "1.004222", "maybe", "tuần"
        content = workbook(BIRTH_ROW, over_limit, [], same_day, bad_cells)
        report = (await upload(client, content, "danh-muc.xlsx")).json()
        assert report["accepted"] == 2 and report["published"] == ["1.001193", "2.000815"]
        rejected = {r["row"]: r for r in report["rejected"]}
        assert sorted(rejected) == [3, 6]  # the header is row 1; the blank row 4 is skipped
        assert rejected[3]["code"] == "1.000894" and "step 1" in rejected[3]["errors"][0]
        assert {e.split(":")[0] for e in rejected[6]["errors"]} == {"postal_allowed", "time_limit_unit"}

        birth = (await client.get("/procedures/1.001193", params={"at": "2026-01-01"})).json()
        assert birth["fees"] == [
            {"name": "Lệ phí đăng ký khai sinh", "amount_vnd": 8000, "kind": "charge", "payable_online": True}
        ]
        assert [(c["code"], c["must_digitise"], c["reusable_from_warehouse"]) for c in birth["components"]] == [
            ("TK001193", True, False),
            ("GCS", True, True),
        ]
        assert birth["results"] == [{"type_code": "KQ001193", "name": "Giấy khai sinh", "electronic": True}]
        assert birth["online_level"] == "full" and birth["postal_allowed"] and birth["cross_boundary_allowed"]
        assert [s["allowance_hours"] for s in birth["process"]] == [4, 12, 8]
        copy = (await client.get("/procedures/2.000815", params={"at": "2026-01-01"})).json()
        assert copy["time_limit"] == {"amount": 0, "unit": "same_day"} and copy["certification"] is True

    async def test_missing_columns(self, client: httpx.AsyncClient) -> None:
        book = Workbook()
        sheet = book.active
        assert sheet is not None
        sheet.append(["Code", "Name"])
        buffer = io.BytesIO()
        book.save(buffer)
        problem = assert_problem(await upload(client, buffer.getvalue(), "c.xlsx"), 422, "import_unreadable")
        assert "levels" in problem["detail"] and "time_limit" in problem["detail"]
