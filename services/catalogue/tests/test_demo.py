"""The sample catalogue: it loads through the same rules as the API, once, and its published events carry enough to
recompute the catalogue indicators (a replay of the events gives the endpoint's figures). Reporting's own figures from
those events are tested against hand counts in services/reporting/tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

import httpx
import pytest

from libs.common.contract import ProcedureSnapshot
from libs.common.db import create_engine, session_factory, transaction
from libs.common.messaging.outbox import Outbox
from services.catalogue.demo import demo_agencies, demo_procedures, load_demo
from services.catalogue.domain import indicators
from services.catalogue.tests.support import events

pytestmark = pytest.mark.asyncio


async def load(url: str) -> bool:
    engine = create_engine(url)
    try:
        async with transaction(session_factory(engine)) as session:
            return await load_demo(session, Outbox(source="/motcua/catalogue", topic_prefix="motcua"))
    finally:
        await engine.dispose()


def fold_events(stream: list[tuple[str, dict[str, object]]]) -> list[indicators.CatalogueEntry]:
    """What a consumer keeps: one entry per (code, version), the latest event about it winning."""
    versions: dict[tuple[str, int], indicators.CatalogueEntry] = {}
    for kind, data in stream:
        if kind.startswith("procedure."):
            p = ProcedureSnapshot.model_validate(data["procedure"])
            versions[(p.code, p.version)] = indicators.CatalogueEntry(
                p.code,
                p.version,
                p.online_level.value,
                p.public,
                p.in_force_from,
                p.in_force_until,
                signed_on=p.decision.signed_on,
                publication_due_on=p.publication_due_on,
                public_in_national_db_on=p.public_in_national_db_on,
                national_db_due_on=p.national_db_due_on,
                components_complete=p.components_complete,
            )
    return list(versions.values())


class TestDemo:
    async def test_loads_once(self, catalogue_url: str, client: httpx.AsyncClient) -> None:
        assert await load(catalogue_url) is True
        assert await load(catalogue_url) is False
        stream = await events(catalogue_url)
        amendments = sum(len(p["amendments"]) for p in demo_procedures())
        assert [k for k, _ in stream].count("procedure.published") == len(demo_procedures()) >= 40
        assert [k for k, _ in stream].count("procedure.amended") == amendments
        assert [k for k, _ in stream].count("agency.published") == len(demo_agencies())
        levels = {a["level"] for a in demo_agencies()}
        assert levels == {"province", "district", "commune"}
        response = await client.get("/procedures", params={"status": "all", "page_size": 100})
        assert response.json()["total"] == len(demo_procedures())
        # a district procedure of the seed years, at the commune since the two-tier reform of 1 July 2025
        household = "1.001612"
        before = await client.get(f"/procedures/{household}", params={"at": "2024-06-01"})
        after = await client.get(f"/procedures/{household}", params={"at": "2025-07-01"})
        assert before.json()["levels"] == ["district"] and after.json()["levels"] == ["commune"]

    async def test_every_procedure_marks_its_sample_values(self) -> None:
        for p in demo_procedures():
            assert p["sample_values"] and p["source_url"].startswith("https://dichvucong.gov.vn/")

    async def test_a_replay_of_the_events_gives_the_endpoints_figures(
        self, catalogue_url: str, client: httpx.AsyncClient
    ) -> None:
        await load(catalogue_url)
        entries = fold_events(await events(catalogue_url))
        for day in (date(2021, 12, 14), date(2022, 12, 14), datetime.now(UTC).date()):
            served = {
                i["indicator"]: (i["numerator"], i["denominator"])
                for i in (await client.get("/indicators", params={"on": day.isoformat()})).json()["indicators"]
            }
            rates = [
                indicators.online_service_coverage(entries, day),
                indicators.published_rate(entries, day),
                indicators.published_on_time_rate(entries, day),
                indicators.national_db_on_time_rate(entries, day),
                indicators.components_complete_rate(entries, day),
            ]
            assert served == {rate.indicator: (rate.numerator, rate.denominator) for rate in rates}
        # the 2022 list of online services raises coverage by more than the 20 points plan 000 asks for
        before = indicators.online_service_coverage(entries, date(2021, 12, 14)).value
        after = indicators.online_service_coverage(entries, date(2022, 12, 14)).value
        assert before is not None and after is not None and after - before >= 20

    async def test_no_data_before_the_catalogue(self, client: httpx.AsyncClient) -> None:
        body = (await client.get("/indicators", params={"on": "2000-01-01"})).json()
        assert [(i["value"], i["no_data"]) for i in body["indicators"]] == [(None, True)] * 5
