"""The dashboard in Debian's headless Chromium: sign in with a development API key at /signin, open the dashboard on
a generated year of events, drill down to a dossier list; no console error, nothing requested outside 127.0.0.1,
screenshots saved under var/test-artifacts/ (``docs/dashboard.png`` is one of them, copied by hand)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from selenium.webdriver.support.wait import WebDriverWait
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.contract.events import Channel, OnlineLevel, Rating, ReturnChannel
from libs.common.db import session_factory
from libs.common.messaging.outbox import Outbox
from libs.common.testing import HeldPort, serving
from libs.common.web.browser import Browser
from services.reporting.app import create_app
from services.reporting.config import ReportingSettings
from services.reporting.plans.loader import load_if_changed, read_plan_file, seed_files
from services.reporting.tests.conftest import PSEUDONYM_KEY, Feeder
from services.reporting.tests.factory import (
    COMMUNE_AGENCY,
    DISTRICT_AGENCY,
    JUSTICE,
    LAND,
    PROVINCE_AGENCY,
    Dossier,
    agency,
    envelope,
    procedure,
    vn,
)
from services.reporting.tests.test_api import LOADED_AT

# Held, never listening, for the whole module: reporting's parity check would find intake down.
NOBODY = HeldPort()
pytestmark = pytest.mark.asyncio
YEAR = 2024
PLAN = "bac-giang-2024-3-kh-ubnd"


def year_of_events(year: int = YEAR) -> list[Any]:
    """A deterministic year in three agencies: every pattern (early, on time, late with and without apology, open,
    online, rated) recurring with the month, so the trends move and every card has rows."""
    payloads: list[Any] = [
        agency(PROVINCE_AGENCY, "province", officers=3, name="Sở Tư pháp"),
        agency(DISTRICT_AGENCY, "district", officers=2, area_kind="rural", name="UBND huyện Yên Thế"),
        agency(COMMUNE_AGENCY, "commune", officers=1, area_kind="remote", name="UBND xã Tam Tiến"),
        procedure("1.001193", levels=("province", "district", "commune")),
        procedure("1.000002", online_level=OnlineLevel.NONE, sector=LAND, levels=("district",)),
    ]
    envs = [envelope(p) for p in payloads]
    agencies = (PROVINCE_AGENCY, DISTRICT_AGENCY, COMMUNE_AGENCY)
    for month in range(1, 13):
        for n in range(9):
            where = agencies[n % 3]
            received = vn(year, month, 2 + 2 * n)
            due = received + timedelta(days=4, hours=8)
            code = f"{where}-{received:%y%m%d}-{n:04d}"
            online = (n + month) % 3 != 0
            land = where == DISTRICT_AGENCY and n % 2 == 1
            d = Dossier(
                code,
                received_at=received,
                due_at=due,
                agency=where,
                channel=Channel.ONLINE if online else Channel.COUNTER,
                identified=online,
                procedure="1.000002" if land else "1.001193",
                sector=LAND if land else JUSTICE,
            )
            pattern = (n + month) % 6
            if pattern in (0, 1, 2):  # early or on time, rated
                d.resolve(received + timedelta(days=pattern + 1)).return_(received + timedelta(days=pattern + 1))
                d.rate(received + timedelta(days=5), Rating.SATISFIED if pattern else Rating.VERY_SATISFIED)
            elif pattern == 3:  # late, apologised in advance
                d.apologise(due - timedelta(days=1), due + timedelta(days=3))
                d.resolve(due + timedelta(days=2)).return_(due + timedelta(days=2), ReturnChannel.POSTAL)
            elif pattern == 4:  # late without apology
                d.resolve(due + timedelta(days=1))
            # pattern 5: still open (overdue unless received lately)
            envs.extend(d.envelopes())
    return envs


async def _seed(engine: AsyncEngine) -> None:
    await Feeder(engine).feed(year_of_events())
    async with session_factory(engine)() as session, session.begin():
        ob = Outbox(source="/motcua/reporting", topic_prefix="motcua")
        for path in seed_files():
            await load_if_changed(session, ob, read_plan_file(path), at=LOADED_AT)


@pytest.mark.parametrize("backend", ["sqlite"])
async def test_sign_in_dashboard_and_drill_down(
    browser: Browser, engine: AsyncEngine, reporting_url: str, backend: str
) -> None:
    await _seed(engine)
    app = create_app(
        ReportingSettings(
            database_url=reporting_url,
            kafka_enabled=False,
            pseudonym_key=PSEUDONYM_KEY,
            province_name="Tỉnh Bắc Giang (dữ liệu mẫu)",
            intake_url=f"http://127.0.0.1:{NOBODY.port}",
        )
    )
    query = urlencode({"plan": PLAN, "year": YEAR})

    def find(css: str) -> Any:
        return browser.driver.find_element("css selector", css)

    def follow(css: str) -> None:
        """Click a link and wait (bounded) until its page has replaced this one."""
        before = browser.driver.current_url
        find(css).click()
        WebDriverWait(browser.driver, 20).until(lambda d: d.current_url != before)

    def sign_in(base: str) -> str:
        browser.open(f"{base}/")  # no session: the sign-in page first
        assert "/signin" in browser.driver.current_url
        find("#api_key").send_keys("dev-leader")
        find("form button[type=submit]").click()
        # The click returns before the post and its redirect are done: wait (bounded) for the page to move on.
        WebDriverWait(browser.driver, 20).until(lambda d: "/signin" not in d.current_url)
        browser.collect()
        return str(browser.driver.current_url)

    async with serving(app) as base:
        landed = await asyncio.to_thread(sign_in, base)
        assert landed.startswith(f"{base}/dashboard")
        await asyncio.to_thread(browser.open, f"{base}/dashboard?{query}")
        title = await asyncio.to_thread(lambda: find("h1").text)
        assert title == "Bảng điều khiển"
        scope = await asyncio.to_thread(lambda: find("#scope").text)
        assert scope == "Toàn tỉnh"
        badges = await asyncio.to_thread(
            lambda: [e.text for e in browser.driver.find_elements("css selector", ".badge")]
        )
        assert "Không đạt" in badges and "Đạt" in badges
        charts = await asyncio.to_thread(lambda: browser.driver.find_elements("css selector", "svg.chart"))
        assert charts
        await asyncio.to_thread(browser.driver.set_window_size, 1280, 2600)
        full = await asyncio.to_thread(browser.screenshot, "dashboard")
        await asyncio.to_thread(browser.driver.set_window_size, 1280, 1000)
        # drill down: province → the provincial level → Sở Tư pháp → the dossiers behind the on-time denominator
        await asyncio.to_thread(follow, "a.drill")
        assert await asyncio.to_thread(lambda: find("#scope").text) == "Cấp tỉnh"
        await asyncio.to_thread(follow, "a.drill")
        assert await asyncio.to_thread(lambda: find("#scope").text) == f"Sở Tư pháp ({PROVINCE_AGENCY})"
        await asyncio.to_thread(browser.screenshot, "agency")
        await asyncio.to_thread(follow, "a.drill-denominator")
        rows = await asyncio.to_thread(
            lambda: [r.text for r in browser.driver.find_elements("css selector", "#dossiers tbody tr")]
        )
        await asyncio.to_thread(browser.screenshot, "dossiers")
    assert rows and all(r.startswith(PROVINCE_AGENCY) for r in rows)
    assert browser.console_errors() == []
    assert browser.outside_requests() == []
    assert any(url.endswith("/static/common/motcua.css") for url in browser.requests)
    assert full.stat().st_size > 10_000
