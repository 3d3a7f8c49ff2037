"""The citizen's page: the public look-up as HTML for a browser, JSON for everyone else; in a phone's browser."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from libs.common.testing import serving
from libs.common.web.browser import Browser
from services.intake.app import create_app
from services.intake.dossiers.citizen import prefers_html
from services.intake.tests.conftest import settings
from services.intake.tests.support import dossier_in, receive, send

BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


@pytest.mark.parametrize(
    ("accept", "html"),
    [
        (BROWSER_ACCEPT, True),
        ("text/html", True),
        (None, False),
        ("*/*", False),
        ("application/json", False),
        ("application/json, text/html;q=0.5", False),
        ("text/html;q=0.9, application/json", False),
        ("text/html;q=bad", False),
    ],
)
def test_only_a_request_preferring_html_gets_the_page(accept: str | None, html: bool) -> None:
    assert prefers_html(accept) is html


@pytest.mark.asyncio
class TestCitizensPage:
    async def test_json_is_unchanged_for_the_portal(self, client: httpx.AsyncClient) -> None:
        code = await receive(client)
        response = await client.get(f"/public/dossiers/{code}", headers={"Accept": "application/json"})
        assert response.headers["content-type"] == "application/json"
        assert response.json()["appointment_text"] == "09 giờ 00 phút, ngày 05/03/2026"
        assert response.headers["vary"] == "Accept"

    async def test_a_browser_gets_the_page_in_vietnamese(self, client: httpx.AsyncClient) -> None:
        code = await receive(client, applicant={"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn An",
                                                "address": "12 Lê Lợi", "phone": "0912345678"})  # fmt: skip
        response = await client.get(f"/public/dossiers/{code}", headers={"Accept": BROWSER_ACCEPT})
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        page = response.text
        assert '<html lang="vi">' in page and 'name="viewport"' in page
        assert "Đã tiếp nhận" in page and "Đăng ký khai sinh" in page and "Nguyễn V. A." in page
        assert "09 giờ 00 phút, ngày 05/03/2026" in page
        assert "Cần mang theo" in page and "Giấy tiếp nhận hồ sơ và hẹn trả kết quả (mẫu 01)" in page
        assert "Nơi nhận kết quả" in page and "UBND xã Tân Lập" in page
        for secret in ("Nguyễn Văn An", "001204012345", "12 Lê Lợi", "0912345678"):
            assert secret not in page

    async def test_shows_the_apologys_new_date(self, client: httpx.AsyncClient) -> None:
        code = await receive(client)
        await send(client, code, "apologise", new_due_at="2030-01-07T10:00:00+07:00")
        page = (await client.get(f"/public/dossiers/{code}", headers={"Accept": "text/html"})).text
        assert "Ngày hẹn mới" in page and "10 giờ 00 phút, ngày 07/01/2030" in page
        assert '<dd class="old">09 giờ 00 phút, ngày 05/03/2026</dd>' in page

    async def test_a_supplement_says_what_to_bring(self, client: httpx.AsyncClient) -> None:
        code = await dossier_in(client, "awaiting_supplement")
        page = (await client.get(f"/public/dossiers/{code}", headers={"Accept": "text/html"})).text
        assert "Chờ bổ sung hồ sơ" in page and "Giấy chứng sinh bản chính" in page

    async def test_a_returned_dossier_has_nothing_left_to_collect(self, client: httpx.AsyncClient) -> None:
        code = await dossier_in(client, "returned")
        page = (await client.get(f"/public/dossiers/{code}", headers={"Accept": "text/html"})).text
        assert "Đã trả kết quả" in page and "Nơi nhận kết quả" not in page and "Cần mang theo" not in page


@pytest.mark.asyncio
async def test_in_a_phones_browser(browser: Browser, intake_url: str) -> None:
    async with serving(create_app(settings(intake_url))) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            code = await receive(client)
            await send(client, code, "apologise", new_due_at="2030-01-07T10:00:00+07:00")
        driver = browser.driver
        # the browser blocks while the page loads: off the event loop that serves the page
        await asyncio.to_thread(driver.set_window_size, 390, 844)
        await asyncio.to_thread(browser.open, f"{base}/public/dossiers/{code}")
        body = await asyncio.to_thread(lambda: driver.find_element("tag name", "body").text)
        width = await asyncio.to_thread(driver.execute_script, "return document.documentElement.scrollWidth")
        viewport = await asyncio.to_thread(driver.execute_script, "return window.innerWidth")
        await asyncio.to_thread(browser.screenshot, "citizen-page-phone")
    assert "Tra cứu hồ sơ" in body and "Ngày hẹn mới" in body and "Cần mang theo" in body
    assert width <= viewport  # fits the phone's width: nothing scrolls sideways
    assert browser.console_errors() == []
    assert browser.outside_requests() == []
    assert any(url.endswith("/static/common/motcua.css") for url in browser.requests)
