"""The skeleton's thread, end to end: a dossier received by intake becomes a fact in reporting through the real
broker and PostgreSQL; a broker outage loses nothing; redelivering every event changes no count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import update

from libs.common.db import create_engine
from libs.common.messaging.outbox import outbox_backlog
from libs.common.messaging.tables import outbox
from libs.common.testing import AUTH, LocalBroker, broker_settings, eventually, running_app, service_database
from services.catalogue.app import create_app as create_catalogue
from services.catalogue.config import CatalogueSettings
from services.intake.app import create_app as create_intake
from services.intake.config import IntakeSettings
from services.reporting.app import create_app as create_reporting
from services.reporting.config import ReportingSettings
from services.reporting.consumers import CONSUMER as REPORTING_CONSUMER
from tests.integration.test_catalogue_to_intake import AGENCY, PROCEDURE, dossier

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

# A quarter of the official system that holds every receipt below (Q2 2026 = 15 Mar – 14 Jun).
Q2 = {"year": 2026, "quarter": 2}


def duplicates_skipped() -> float:
    return REGISTRY.get_sample_value("motcua_events_duplicate_total", {"consumer": REPORTING_CONSUMER}) or 0.0


async def online_intake(reporting: httpx.AsyncClient) -> dict[str, Any]:
    response = await reporting.get(
        "/reports/indicators", params={**Q2, "indicator": "online_intake_rate"}, headers=AUTH["leader"]
    )
    assert response.status_code == 200, response.text
    results = response.json()["indicators"]
    assert len(results) == 1
    return dict(results[0])


async def test_dossiers_reach_reporting_through_an_outage_and_a_full_redelivery(
    own_broker: LocalBroker, topic_prefix: str, tmp_path: Path
) -> None:
    common = broker_settings(own_broker.bootstrap, topic_prefix)
    async with (
        service_database("catalogue", "postgres", tmp_path) as catalogue_url,
        service_database("intake", "postgres", tmp_path) as intake_url,
        service_database("reporting", "postgres", tmp_path) as reporting_url,
    ):
        apps = (
            create_catalogue(CatalogueSettings(database_url=catalogue_url, **common)),
            create_intake(IntakeSettings(database_url=intake_url, overdue_check_seconds=0, **common)),
            create_reporting(ReportingSettings(database_url=reporting_url, **common)),
        )
        async with running_app(apps[0]) as catalogue, running_app(apps[1]) as intake, running_app(apps[2]) as reporting:
            assert (await catalogue.post("/procedures", json=PROCEDURE, headers=AUTH["ops"])).status_code == 201
            agency = {"name": "UBND xã Tân Lập", "level": "commune", "procedure_codes": ["1.001193"]}
            assert (await catalogue.put(f"/agencies/{AGENCY}", json=agency, headers=AUTH["ops"])).status_code == 200

            async def receive(at: str) -> str | None:
                response = await intake.post("/dossiers", json=dossier(at), headers=AUTH["desk"])
                return str(response.json()["code"]) if response.status_code == 201 else None

            async def fact(code: str) -> dict[str, Any] | None:
                response = await reporting.get(f"/dossiers/{code}/fact", headers=AUTH["leader"])
                return dict(response.json()["fact"]) if response.status_code == 200 else None

            first = await eventually(lambda: receive("2026-04-01T09:00:00+07:00"), timeout=30, what="replica")
            codes = [first] + [await receive(f"2026-04-0{d}T10:00:00+07:00") for d in (2, 3)]
            for code in codes:
                assert code is not None
                seen = await eventually(lambda c=code: fact(c), timeout=30, what=f"fact of {code}")
                assert seen["channel"] == "online" and seen["handling_agency_code"] == AGENCY
                # the acting officer crosses the broker: the desk officer's account id and name, nothing else
                assert (seen["received_by_id"], seen["received_by_name"]) == ("demo.desk", "Nguyễn Thị Mai")

            # Broker down: intake keeps receiving; the events wait in its outbox.
            await own_broker.stop()
            during = [await receive(f"2026-04-0{d}T10:00:00+07:00") for d in (6, 7)]
            assert all(during)
            intake_engine = create_engine(intake_url)
            try:
                await eventually(lambda: _positive(outbox_backlog(intake_engine)), what="a backlog during the outage")
                await own_broker.start()
                for code in during:
                    await eventually(lambda c=code: fact(c), timeout=60, what=f"fact of {code} after the outage")
                before = await online_intake(reporting)
                assert (before["numerator"], before["denominator"]) == (5, 5)

                # Redeliver every event intake ever published: the inbox makes it a no-op for reporting.
                skipped = duplicates_skipped()
                async with intake_engine.begin() as conn:
                    republished = (await conn.execute(update(outbox).values(published_at=None))).rowcount
                assert republished >= 5
                await eventually(lambda: _zero(outbox_backlog(intake_engine)), timeout=30, what="republished")
                await eventually(
                    lambda: _true(duplicates_skipped() >= skipped + republished), timeout=30, what="duplicates"
                )
            finally:
                await intake_engine.dispose()
            after = await online_intake(reporting)
            assert (after["numerator"], after["denominator"]) == (5, 5)
            assert after == before


async def _positive(value: Any) -> bool:
    return bool(await value > 0)


async def _zero(value: Any) -> bool:
    return bool(await value == 0)


async def _true(value: bool) -> bool:
    return value
