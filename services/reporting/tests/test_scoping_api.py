"""Scopes on reports (docs/security.md, "Scoping"): a reader with an agency scope sees only its agencies' figures and
dossier facts; province-wide readers see all; comparisons across every agency need the whole province."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.testing import AUTH, api_keys, assert_problem, bearer, fields_of, running_app
from services.reporting.app import create_app
from services.reporting.config import ReportingSettings
from services.reporting.tests.conftest import PSEUDONYM_KEY
from services.reporting.tests.factory import DISTRICT_AGENCY, PROVINCE_AGENCY
from services.reporting.tests.test_api import province as province

pytestmark = pytest.mark.asyncio

KEYS = {
    "leader-p-key-00000000000000000000000": {"subject": "p.leader", "roles": ["leader"], "agencies": [PROVINCE_AGENCY]},
    "leader-d-key-00000000000000000000000": {"subject": "d.leader", "roles": ["leader"], "agencies": [DISTRICT_AGENCY]},
    "leader-2-key-00000000000000000000000": {
        "subject": "two.leader",
        "roles": ["leader"],
        "agencies": [PROVINCE_AGENCY, DISTRICT_AGENCY],
    },
    "ops-none-key-00000000000000000000000": {"subject": "none.ops", "roles": ["ops"]},
}
LEADER_P, LEADER_D, LEADER_2, OPS_NONE = (bearer(k) for k in KEYS)
QUARTER = {"year": 2024, "quarter": 1}
DRILL = "/reports/indicators/on_time_rate/dossiers"


@pytest_asyncio.fixture
async def scoped(reporting_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = ReportingSettings(
        database_url=reporting_url, kafka_enabled=False, pseudonym_key=PSEUDONYM_KEY, api_keys=api_keys(KEYS)
    )
    async with running_app(create_app(settings)) as c:
        yield c


class TestReportScope:
    async def test_an_agency_reader_sees_its_own_figures_only(
        self, province: AsyncEngine, scoped: httpx.AsyncClient
    ) -> None:
        params = QUARTER | {"part": "denominator"}
        everything = (await scoped.get(DRILL, params=params, headers=AUTH["leader"])).json()["items"]
        own = (await scoped.get(DRILL, params=params, headers=LEADER_P)).json()["items"]
        district = (await scoped.get(DRILL, params=params, headers=LEADER_D)).json()["items"]
        assert own and all(code.startswith(PROVINCE_AGENCY) for code in own)
        assert set(own) <= set(everything)
        assert not any(code.startswith(PROVINCE_AGENCY) for code in district)

    async def test_another_agency_is_refused_and_several_must_choose(
        self, province: AsyncEngine, scoped: httpx.AsyncClient
    ) -> None:
        other = await scoped.get("/reports/indicators", params=QUARTER | {"agency": PROVINCE_AGENCY}, headers=LEADER_D)
        assert_problem(other, 403, "forbidden")
        several = await scoped.get("/reports/indicators", params=QUARTER, headers=LEADER_2)
        assert fields_of(assert_problem(several, 422, "invalid_input")) == {"agency"}
        chosen = await scoped.get("/reports/indicators", params=QUARTER | {"agency": DISTRICT_AGENCY}, headers=LEADER_2)
        assert chosen.status_code == 200
        assert_problem(await scoped.get("/reports/indicators", params=QUARTER, headers=OPS_NONE), 403, "forbidden")

    async def test_facts_of_another_agency_are_404_and_parity_needs_the_province(
        self, province: AsyncEngine, scoped: httpx.AsyncClient
    ) -> None:
        code = "000.00.15.H56-240201-0001"
        assert (await scoped.get(f"/dossiers/{code}/fact", headers=LEADER_P)).status_code == 200
        assert_problem(await scoped.get(f"/dossiers/{code}/fact", headers=LEADER_D), 404, "dossier_not_found")
        parity = await scoped.get("/reports/parity", params=QUARTER, headers=LEADER_P)
        assert_problem(parity, 403, "forbidden")
