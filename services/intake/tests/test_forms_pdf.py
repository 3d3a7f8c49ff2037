"""Forms as PDF: form 01 on one A5 page (six components included; each copy or both on request), the QR code to the
citizen's page, agency names as they were at receipt, the officer's name, the tracking book on A4 landscape."""

from __future__ import annotations

import asyncio
import base64
import re
import shutil
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy import update

from libs.common.auth import Principal, Role
from libs.common.contract import AgencyPublished, DocumentComponent, ProcedurePublished
from libs.common.db import create_engine, session_factory
from libs.common.testing import AUTH, assert_problem, serving
from libs.common.web.browser import Browser
from libs.common.web.pdf import inspect_pdf
from services.intake.app import create_app
from services.intake.catalogue_replica import service as replica
from services.intake.context import IntakeContext
from services.intake.models import Dossier
from services.intake.tests.conftest import birth_registration_procedure, settings
from services.intake.tests.support import AGENCY, dossier_in, receive

pytestmark = [
    pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed (make test installs it)"),
]

A5 = (419.5, 595.3)
A4_LANDSCAPE = (841.9, 595.3)
SIX = [
    DocumentComponent(code=f"C{n}", name=name)
    for n, name in enumerate(
        [
            "Tờ khai đăng ký khai sinh theo mẫu",
            "Giấy chứng sinh do cơ sở y tế cấp",
            "Văn bản ủy quyền có chứng thực",
            "Giấy tờ chứng minh nơi cư trú của cha, mẹ",
            "Giấy chứng nhận kết hôn của cha, mẹ",
            "Biên bản xác nhận việc trẻ bị bỏ rơi",
        ],
        start=1,
    )
]


async def _store(url: str, *items: ProcedurePublished | AgencyPublished) -> None:
    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        for item in items:
            if isinstance(item, ProcedurePublished):
                await replica.store_procedure(session, item)
            else:
                await replica.store_agency(session, item)
    await engine.dispose()


async def _pdf(client: httpx.AsyncClient, path: str, who: str = "desk") -> bytes:
    response = await client.get(path, headers=AUTH[who])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    return response.content


def _near(size: tuple[float, float], expected: tuple[float, float]) -> bool:
    return abs(size[0] - expected[0]) < 1 and abs(size[1] - expected[1]) < 1


@pytest.mark.asyncio
class TestForm01Pdf:
    async def _six(self, client: httpx.AsyncClient, intake_url: str, components: list[DocumentComponent]) -> str:
        procedure = birth_registration_procedure(
            code="1.000894", name="Đăng ký khai sinh có yếu tố đặc biệt", components=components
        )
        await _store(intake_url, ProcedurePublished(code=procedure.code, procedure=procedure))
        submitted = [{"code": c.code, "form": "paper", "copies": 1} for c in components]
        return await receive(client, procedure_code="1.000894", components=submitted, channel="counter")

    async def test_six_components_fit_one_a5_page(self, client: httpx.AsyncClient, intake_url: str) -> None:
        code = await self._six(client, intake_url, SIX)
        facts = inspect_pdf(await _pdf(client, f"/dossiers/{code}/forms/01.pdf"))
        assert _near(facts.page_size_pt, A5), facts.page_size_pt
        assert facts.pages == 1, "the applicant's copy, on one A5 page"
        assert "Bản PDF để in" not in facts.text  # the screen's link to this PDF is not printed
        page = facts.text
        assert "Liên 1: Giao người nộp hồ sơ" in page and "Liên 2" not in page
        assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in page
        assert code in page and "UBND xã Tân Lập" in page
        assert "09 giờ 00 phút, ngày 05/03/2026" in page  # the appointment, in the Circular's wording
        # the table header sits on the same page as its rows, all six of them
        assert "Tên giấy tờ" in page and "Biên bản xác nhận việc trẻ bị bỏ rơi" in page
        assert "NGƯỜI TIẾP NHẬN HỒ SƠ" in page and "Nguyễn Thị Mai" in page  # dev-desk's display name

    async def test_the_file_copy_and_both_copies(self, client: httpx.AsyncClient, intake_url: str) -> None:
        code = await self._six(client, intake_url, SIX)
        file_copy = inspect_pdf(await _pdf(client, f"/dossiers/{code}/forms/01.pdf?copy=2"))
        assert file_copy.pages == 1 and _near(file_copy.page_size_pt, A5)
        assert "Liên 2: Lưu tại Bộ phận" in file_copy.text and "Liên 1" not in file_copy.text
        both = inspect_pdf(await _pdf(client, f"/dossiers/{code}/forms/01.pdf?copy=both"))
        assert both.pages == 2, "one A5 page for each of the two copies"
        pages = both.text.split("\f")[: both.pages]
        for page, label in zip(pages, ("Liên 1: Giao người nộp hồ sơ", "Liên 2: Lưu tại Bộ phận"), strict=True):
            assert label in page and code in page and "Biên bản xác nhận việc trẻ bị bỏ rơi" in page
        bad = await client.get(f"/dossiers/{code}/forms/01.pdf?copy=3", headers=AUTH["desk"])
        assert_problem(bad, 422, "validation_error")
        assert [e["field"] for e in bad.json()["errors"]] == ["copy"]

    async def test_a_longer_list_repeats_the_table_header(self, client: httpx.AsyncClient, intake_url: str) -> None:
        many = [DocumentComponent(code=f"C{n}", name=f"Giấy tờ kèm theo số {n:02d}") for n in range(1, 31)]
        code = await self._six(client, intake_url, many)
        facts = inspect_pdf(await _pdf(client, f"/dossiers/{code}/forms/01.pdf"))
        assert facts.pages >= 2
        pages = facts.text.split("\f")[: facts.pages]
        table_pages = [p for p in pages if "Giấy tờ kèm theo số" in p]
        assert len(table_pages) >= 2, "the list spills over"
        assert all("Tên giấy tờ" in p for p in table_pages), "each page of the list has the table header"
        assert "Giấy tờ kèm theo số 30" in facts.text

    async def test_carries_a_qr_code_to_the_citizens_page(self, client: httpx.AsyncClient) -> None:
        code = await receive(client)
        html = (await client.get(f"/dossiers/{code}/forms/01.html", headers=AUTH["desk"])).text
        assert html.count("<svg") == 2 and "<?xml" not in html
        assert f"http://127.0.0.1:8002/public/dossiers/{code}" in html
        assert 'Bản PDF để in: <a href="01.pdf?copy=1">Liên 1</a>' in html and '<a href="01.pdf?copy=both">' in html
        assert "Liên 1: Giao người nộp hồ sơ" in html and "Liên 2: Lưu tại Bộ phận Tiếp nhận và Trả kết quả" in html

    async def test_an_unknown_form_or_dossier_is_404_as_pdf_too(self, client: httpx.AsyncClient) -> None:
        code = await receive(client)
        assert_problem(await client.get(f"/dossiers/{code}/forms/04.pdf", headers=AUTH["desk"]), 404,
                       "form_not_available")  # fmt: skip
        assert_problem(await client.get("/dossiers/nope/forms/01.pdf", headers=AUTH["desk"]), 404, "dossier_not_found")
        assert_problem(await client.get(f"/dossiers/{code}/forms/01.pdf"), 401, "unauthorized")


def test_the_officer_is_named_by_the_principals_display_name() -> None:
    """Sign-in that knows the officer's name gives it as ``display_name``; a principal without one, its subject."""
    named = Principal(subject="u-7f3a", roles=frozenset({Role.DESK_OFFICER}), display_name="Nguyễn Thị Hoa")
    ctx = IntakeContext(
        session=cast(Any, None),
        runtime=cast(Any, None),
        principal=named,
        correlation_id=None,
        calendars=cast(Any, None),
        now=datetime.now(UTC),
    )
    assert (ctx.actor, ctx.actor_name) == ("u-7f3a", "Nguyễn Thị Hoa")
    assert replace(ctx, principal=replace(named, display_name="")).actor_name == "u-7f3a"


@pytest.mark.asyncio
class TestAgencyNamesAsAtReceipt:
    async def test_a_later_renaming_does_not_rename_old_receipts(
        self, client: httpx.AsyncClient, intake_url: str
    ) -> None:
        code = await receive(client)
        renamed = AgencyPublished(code=AGENCY, name="UBND phường Tân Lập", level="commune", procedure_codes=[])
        await _store(intake_url, renamed)
        text = inspect_pdf(await _pdf(client, f"/dossiers/{code}/forms/01.pdf")).text
        assert "UBND xã Tân Lập" in text and "phường" not in text
        later = await receive(client)
        assert "UBND phường Tân Lập" in inspect_pdf(await _pdf(client, f"/dossiers/{later}/forms/01.pdf")).text

    async def test_rows_without_a_snapshot_fall_back_to_the_replica(
        self, client: httpx.AsyncClient, intake_url: str
    ) -> None:
        code = await receive(client)
        engine = create_engine(intake_url)
        async with session_factory(engine)() as session, session.begin():
            await session.execute(
                update(Dossier)
                .where(Dossier.code == code)
                .values(receiving_agency_name=None, handling_agency_name=None)
            )
        await engine.dispose()
        html = (await client.get(f"/dossiers/{code}/forms/01.html", headers=AUTH["desk"])).text
        assert "UBND XÃ TÂN LẬP" in html


@pytest.mark.asyncio
class TestOtherForms:
    async def test_forms_02_to_05_as_pdf(self, client: httpx.AsyncClient) -> None:
        code = await dossier_in(client, "awaiting_supplement")
        form_02 = inspect_pdf(await _pdf(client, f"/dossiers/{code}/forms/02.pdf", "handler"))
        assert _near(form_02.page_size_pt, A5) and form_02.pages == 1
        assert "PHIẾU YÊU CẦU BỔ SUNG" in form_02.text and "Trần Văn Hùng" in form_02.text
        form_05 = inspect_pdf(await _pdf(client, f"/dossiers/{code}/forms/05.pdf", "handler"))
        assert _near(form_05.page_size_pt, A4_LANDSCAPE)
        assert "Phòng Tư pháp" in form_05.text and "000.17.22.H56" not in form_05.text  # names, not codes
        assert re.search(r"\d\d giờ \d\d phút, ngày 02/03/2026", form_05.text)
        refused = await dossier_in(client, "refused")
        form_03 = inspect_pdf(await _pdf(client, f"/dossiers/{refused}/forms/03.pdf", "handler"))
        assert "PHIẾU TỪ CHỐI" in form_03.text and "Trần Văn Hùng" in form_03.text


@pytest.mark.asyncio
class TestTrackingBookPdf:
    async def test_a4_landscape_numbered_through_the_year(self, client: httpx.AsyncClient) -> None:
        codes = [await receive(client, at=f"2026-{month:02d}-02T09:00:00+07:00") for month in range(1, 4)]
        params: dict[str, str | int] = {"agency": AGENCY, "year": 2026}
        response = await client.get("/tracking-book.pdf", params=params, headers=AUTH["desk"])
        assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
        facts = inspect_pdf(response.content)
        assert _near(facts.page_size_pt, A4_LANDSCAPE)
        assert "SỔ THEO DÕI HỒ SƠ" in facts.text and "UBND xã Tân Lập" in facts.text
        assert "Trang 1 / 1" in facts.text
        for number, code in enumerate(codes, start=1):
            assert re.search(rf"\b{number}\s+{re.escape(code)}", facts.text), code
        assert "02/01/2026" in facts.text and "02/03/2026" in facts.text

    async def test_a_long_book_repeats_its_header_on_every_page(self, client: httpx.AsyncClient) -> None:
        for n in range(40):
            await receive(client, at=f"2026-02-{n % 28 + 1:02d}T09:00:00+07:00")
        response = await client.get("/tracking-book.pdf", params={"agency": AGENCY, "year": 2026}, headers=AUTH["desk"])
        facts = inspect_pdf(response.content)
        pages = facts.text.split("\f")[: facts.pages]
        assert facts.pages >= 2
        assert all("STT Mã hồ sơ" in page and "Cơ quan chủ trì" in page for page in pages)
        assert re.search(r"^\s*40 000", pages[-1], re.MULTILINE)  # numbered on through the pages
        assert f"Trang {facts.pages} / {facts.pages}" in pages[-1]


@pytest.mark.asyncio
async def test_form_01_in_the_browser(browser: Browser, intake_url: str) -> None:
    """A desk officer signs in in the browser, opens form 01 and prints it; both copies carry the QR code, and the
    officer's name is the one sign-in gives."""
    async with serving(create_app(settings(intake_url))) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            code = await receive(client)
        driver = browser.driver
        await asyncio.to_thread(browser.open, f"{base}/signin?next=/dossiers/{code}/forms/01.html")

        def sign_in() -> None:
            driver.find_element("id", "api_key").send_keys("dev-desk")
            driver.find_element("css selector", "button[type=submit]").click()
            # the click returns before the post and its redirect are done: wait (bounded) for the page to move on
            WebDriverWait(driver, 20).until(lambda d: "/signin" not in d.current_url)

        await asyncio.to_thread(sign_in)
        await asyncio.to_thread(browser.collect)
        text = await asyncio.to_thread(lambda: driver.find_element("tag name", "body").text)
        url = await asyncio.to_thread(lambda: driver.current_url)
        qr_codes = await asyncio.to_thread(lambda: len(driver.find_elements("css selector", ".qr svg")))
        await asyncio.to_thread(browser.screenshot, "form-01")
        # the page's "Bản PDF để in" link, fetched with the same session cookie
        pdf_link = await asyncio.to_thread(
            driver.execute_async_script,
            "const done = arguments[0]; fetch(document.querySelector('nav a').href)"
            ".then(r => done([r.status, r.headers.get('content-type')]));",
        )
        printed = await asyncio.to_thread(driver.execute_cdp_cmd, "Page.printToPDF", {"preferCSSPageSize": True})
    assert url.endswith(f"/dossiers/{code}/forms/01.html")
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text and code in text and "Liên 2" in text
    assert "Nguyễn Thị Mai" in text  # the officer who received it
    assert qr_codes == 2
    assert pdf_link == [200, "application/pdf"]
    assert browser.console_errors() == []
    assert browser.outside_requests() == []
    facts = inspect_pdf(base64.b64decode(printed["data"]))  # the browser's own print: the same A5 pages
    assert _near(facts.page_size_pt, A5) and facts.pages == 2
