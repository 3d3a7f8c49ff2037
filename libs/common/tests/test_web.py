"""The shared page toolkit: a page served with its own assets opens in Chromium with no outside request, and the
same HTML becomes a PDF with Vietnamese text intact and only local assets."""

from __future__ import annotations

import asyncio
import shutil

import httpx
import pytest
from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from libs.common.testing import serving
from libs.common.web import PdfError, html_to_pdf, mount_static, template_environment
from libs.common.web.browser import Browser
from libs.common.web.pdf import inspect_pdf, local_fetcher

pytestmark = pytest.mark.asyncio

PAGE = """{% extends "layout.html" %}
{% block title %}Bảng điều khiển{% endblock %}
{% block main %}<h1>Tỉnh Mẫu: hồ sơ đúng hạn</h1>
<table class="data"><thead><tr><th>Cơ quan</th><th class="num">Tỷ lệ</th></tr></thead>
<tbody>{% for name, rate in rows %}<tr><td>{{ name }}</td><td class="num">{{ rate }}</td></tr>{% endfor %}</tbody>
</table>{% endblock %}"""


def page_html() -> str:
    env = template_environment()
    rows = [("Ủy ban nhân dân xã Tân Lập", "97,5%"), ("Sở Tư pháp tỉnh Mẫu", "88,0%")] * 40
    return env.from_string(PAGE).render(unit_name="Tỉnh Mẫu", rows=rows)


def page_app() -> FastAPI:
    app = FastAPI()
    mount_static(app)

    @app.get("/page", response_class=HTMLResponse)
    async def page() -> str:
        return page_html()

    return app


async def test_the_page_and_its_assets_are_served_locally() -> None:
    async with serving(page_app()) as base, httpx.AsyncClient(base_url=base) as client:
        page = await client.get("/page")
        css = await client.get("/static/common/motcua.css")
    assert page.status_code == 200 and "Tỉnh Mẫu" in page.text
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")


async def test_the_page_opens_in_chromium_with_nothing_from_outside(browser: Browser) -> None:
    async with serving(page_app()) as base:
        await asyncio.to_thread(browser.open, f"{base}/page")
        heading = await asyncio.to_thread(lambda: browser.driver.find_element("tag name", "h1").text)
        shot = await asyncio.to_thread(browser.screenshot, "page")
    assert heading == "Tỉnh Mẫu: hồ sơ đúng hạn"
    assert browser.console_errors() == []
    assert browser.outside_requests() == []
    assert any(url.endswith("/static/common/motcua.css") for url in browser.requests)
    assert shot.stat().st_size > 1000


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
async def test_the_same_html_prints_as_a_pdf() -> None:
    facts = await asyncio.to_thread(inspect_pdf, await html_to_pdf(page_html()))
    assert facts.page_size_pt == pytest.approx((841.89, 595.28), abs=0.5)  # A4 landscape
    assert facts.pages >= 2 and f"Trang 2/{facts.pages}" in facts.text
    assert "Ủy ban nhân dân xã Tân Lập" in facts.text
    assert "Cơ quan" in facts.text.split("Trang 1")[1]  # the table header is repeated on the next page


async def test_a_pdf_cannot_fetch_from_outside() -> None:
    html = '<html><head><link rel="stylesheet" href="https://cdn.example.com/x.css"></head><body>x</body></html>'
    with pytest.raises(PdfError):
        local_fetcher().fetch("https://cdn.example.com/x.css")
    # WeasyPrint reports a refused stylesheet and still renders the rest: the document carries no outside asset.
    assert (await html_to_pdf(html)).startswith(b"%PDF")


async def test_the_browser_check_sees_a_request_to_the_outside(browser: Browser) -> None:
    """The "nothing from outside" assertion above can fail: a page that names a CDN is caught."""
    app = FastAPI()

    @app.get("/leaky", response_class=HTMLResponse)
    async def leaky() -> str:
        return '<html><head><link rel="stylesheet" href="https://cdn.invalid/x.css"></head><body>x</body></html>'

    async with serving(app) as base:
        await asyncio.to_thread(browser.open, f"{base}/leaky")
    assert browser.outside_requests() == ["https://cdn.invalid/x.css"]
