"""Look-ups: staff and public views, lists with filters, control sheet, forms 01–05, tracking book, stats."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import httpx
import pytest

from libs.common.testing import AUTH, assert_problem
from services.intake.tests.support import OTHER_AGENCY, dossier_in, receive, send

pytestmark = pytest.mark.asyncio


class TestPublicLookUp:
    async def test_shows_status_and_appointment_without_personal_data(self, client: httpx.AsyncClient) -> None:
        code = await receive(client)
        response = await client.get(f"/public/dossiers/{code}")
        assert response.status_code == 200
        body = response.json()
        assert body["applicant"] == "Nguyễn V. A."
        assert body["appointment_text"] == "09 giờ 00 phút, ngày 05/03/2026"
        assert "001204012345" not in response.text and "Nguyễn Văn An" not in response.text
        assert set(body) == {
            "code", "status", "procedure_name", "applicant", "received_at", "appointment_at", "appointment_text",
            "finished_at", "returned_at",
        }  # fmt: skip

    async def test_an_unknown_code_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/public/dossiers/nope"), 404, "dossier_not_found")

    async def test_staff_look_up_needs_a_staff_role(self, client: httpx.AsyncClient) -> None:
        code = await receive(client)
        assert_problem(await client.get(f"/dossiers/{code}"), 401, "unauthorized")
        assert_problem(await client.get(f"/dossiers/{code}", headers=AUTH["portal"]), 403, "forbidden")
        staff = (await client.get(f"/dossiers/{code}", headers=AUTH["leader"])).json()
        assert staff["applicant"]["id_code"] == "001204012345"


class TestLists:
    async def test_filters_and_pages(self, client: httpx.AsyncClient) -> None:
        overdue = await receive(client)  # due Thu 5 Mar 2026: overdue now
        fresh = await receive(client, at=None)  # due in 3 working days
        resolved = await dossier_in(client, "resolved")
        moved = await dossier_in(client, "in_progress")  # now held by OTHER_AGENCY

        async def codes(**params: str | int) -> list[str]:
            response = await client.get("/dossiers", params=params, headers=AUTH["handler"])
            assert response.status_code == 200, response.text
            return [d["code"] for d in response.json()["items"]]

        assert set(await codes(overdue="true")) == {overdue, moved}
        assert fresh in await codes(overdue="false")
        assert await codes(status="resolved") == [resolved]
        assert set(await codes(agency=OTHER_AGENCY)) == {moved, resolved}
        # due within 5 working days: the fresh one (3 days) and the overdue ones (already due)
        assert set(await codes(due_within=5)) == {overdue, moved, fresh}
        assert fresh not in await codes(due_within=1)
        page = (await client.get("/dossiers", params={"page_size": 2, "page": 2}, headers=AUTH["ops"])).json()
        assert page["total"] == 4 and len(page["items"]) == 2 and page["page"] == 2
        listed = (await client.get("/dossiers", params={"overdue": "true"}, headers=AUTH["ops"])).json()
        assert all(item["overdue"] for item in listed["items"])

    async def test_a_bad_filter_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/dossiers", params={"status": "lost"}, headers=AUTH["handler"])
        assert_problem(response, 422, "validation_error")

    async def test_a_page_past_any_offset_is_422_not_500(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/dossiers", params={"page": 10**18}, headers=AUTH["handler"])
        assert_problem(response, 422, "validation_error")


class TestControlSheetAndForms:
    async def test_control_sheet_lists_every_step_with_its_result(self, client: httpx.AsyncClient) -> None:
        code = await receive(client)
        await send(client, code, "transfer", at="2026-03-02T10:00:00+07:00")
        await send(client, code, "transfer", at="2026-03-04T10:00:00+07:00", mode="paper")
        await send(client, code, "resolve", at="2026-03-06T10:00:00+07:00")
        sheet = (await client.get(f"/dossiers/{code}/control-sheet", headers=AUTH["handler"])).json()
        assert [(r["command"], r["result"]) for r in sheet["rows"]] == [
            ("transfer", "early"),
            ("transfer", "early"),
            ("resolve", "late"),
        ]
        assert sheet["handling_agencies"] == ["000.00.00.H56", OTHER_AGENCY]

    async def test_form_01_is_printable_html_in_vietnamese(self, client: httpx.AsyncClient) -> None:
        code = await receive(client)
        response = await client.get(f"/dossiers/{code}/forms/01.html", headers=AUTH["desk"])
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        html = response.text
        assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in html and "Độc lập - Tự do - Hạnh phúc" in html
        assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in html
        assert "09 giờ 00 phút, ngày 05/03/2026" in html  # appointment
        assert "8.000 đồng" in html
        assert "Giấy chứng sinh" in html and "UBND XÃ TÂN LẬP" in html
        assert "Số thứ tự: 1" in html

    async def test_forms_02_to_05(self, client: httpx.AsyncClient) -> None:
        code = await dossier_in(client, "awaiting_supplement")
        await send(client, code, "apologise")
        html = {}
        for number in ("02", "04", "05"):
            response = await client.get(f"/dossiers/{code}/forms/{number}.html", headers=AUTH["handler"])
            assert response.status_code == 200, (number, response.text)
            html[number] = response.text
        assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in html["02"] and "Bản chụp không rõ" in html["02"]
        assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in html["04"] and "Phải xác minh thêm" in html["04"]
        assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in html["05"] and "Chuyển hồ sơ" in html["05"]
        refused = await dossier_in(client, "refused")
        form_03 = await client.get(f"/dossiers/{refused}/forms/03.html", headers=AUTH["handler"])
        assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in form_03.text and "Không đủ điều kiện" in form_03.text

    async def test_a_form_the_dossier_does_not_have_is_404(self, client: httpx.AsyncClient) -> None:
        code = await receive(client)
        for number in ("02", "03", "04", "07"):
            response = await client.get(f"/dossiers/{code}/forms/{number}.html", headers=AUTH["handler"])
            assert_problem(response, 404, "form_not_available")

    async def test_applicant_text_is_escaped(self, client: httpx.AsyncClient) -> None:
        applicant = {"kind": "person", "id_code": "001204012345", "name": "<script>x</script>"}
        code = await receive(client, applicant=applicant)
        html = (await client.get(f"/dossiers/{code}/forms/01.html", headers=AUTH["desk"])).text
        assert "<script>" not in html and "&lt;script&gt;" in html


class TestTrackingBookAndStats:
    async def test_tracking_book_is_csv_with_bom_numbered_through_the_year(self, client: httpx.AsyncClient) -> None:
        first = await receive(client, at="2026-01-05T09:00:00+07:00")
        second = await dossier_in(client, "returned")
        response = await client.get(
            "/tracking-book.csv", params={"agency": "000.00.00.H56", "year": 2026}, headers=AUTH["desk"]
        )
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert response.content.startswith(b"\xef\xbb\xbf")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert rows[0][:3] == ["STT", "Mã hồ sơ", "Tên thủ tục hành chính"]
        assert [(r[0], r[1]) for r in rows[1:]] == [("1", first), ("2", second)]
        assert rows[1][6:8] == ["05/01/2026", "08/01/2026"]
        assert rows[2][9] == "Trực tiếp"
        other_year = await client.get(
            "/tracking-book.csv", params={"agency": "000.00.00.H56", "year": 2025}, headers=AUTH["desk"]
        )
        assert len(list(csv.reader(io.StringIO(other_year.content.decode("utf-8-sig"))))) == 1

    async def test_stats_count_received_and_finished_per_receiving_agency(self, client: httpx.AsyncClient) -> None:
        await receive(client, at="2026-03-02T09:00:00+07:00")
        done = await receive(client, at="2026-03-03T09:00:00+07:00")
        await send(client, done, "resolve", at="2026-03-04T09:00:00+07:00")
        withdrawn = await receive(client, at="2026-03-03T10:00:00+07:00")
        await send(client, withdrawn, "withdraw", at="2026-03-04T09:00:00+07:00")
        body = (
            await client.get(
                "/stats/dossiers", params={"from": "2026-03-01", "to": "2026-03-31"}, headers=AUTH["leader"]
            )
        ).json()
        assert body == {
            "window": {"from": "2026-03-01", "to": "2026-03-31", "timezone": "Asia/Ho_Chi_Minh"},
            "agencies": [{"agency_code": "000.00.00.H56", "received": 3, "finished": 1}],
        }
        empty = await client.get(
            "/stats/dossiers", params={"from": "2026-04-01", "to": "2026-04-30"}, headers=AUTH["ops"]
        )
        assert empty.json()["agencies"] == []
        backwards = await client.get(
            "/stats/dossiers", params={"from": "2026-04-30", "to": "2026-04-01"}, headers=AUTH["ops"]
        )
        assert_problem(backwards, 422, "invalid_input")

    async def test_stats_windows_are_local_days(self, client: httpx.AsyncClient) -> None:
        # 2 March 00:30 in Hà Nội is 1 March 17:30 UTC: it belongs to 2 March.
        await receive(client, at="2026-03-02T00:30:00+07:00")
        body = (
            await client.get(
                "/stats/dossiers", params={"from": "2026-03-02", "to": "2026-03-02"}, headers=AUTH["leader"]
            )
        ).json()
        assert body["agencies"][0]["received"] == 1
        assert datetime(2026, 3, 1, 17, 30, tzinfo=UTC)  # the UTC instant, for the reader
