"""Two of everything: two intake replicas and two reporting replicas on one PostgreSQL each and topics of three
partitions. Receipts are split across both intakes (one relay leads), the fold is split by partition across both
reportings, and every count is exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from libs.common.app import Runtime
from libs.common.testing import AUTH, LocalBroker, broker_settings, eventually, running_app, service_database
from services.catalogue.app import create_app as create_catalogue
from services.catalogue.config import CatalogueSettings
from services.intake.app import create_app as create_intake
from services.intake.config import IntakeSettings
from services.reporting.app import create_app as create_reporting
from services.reporting.config import ReportingSettings
from tests.integration.test_catalogue_to_intake import AGENCY, PROCEDURE, dossier

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

Q2 = {"year": 2026, "quarter": 2}  # official Q2 2026: 15 Mar – 14 Jun
RECEIPTS = 40


def assigned(app: Any) -> int:
    """How many partitions the app's consumer holds now."""
    rt: Runtime = app.state.runtime
    consumer = rt.consumers[0]._consumer if rt.consumers else None
    return len(consumer.assignment()) if consumer is not None else 0


async def test_two_intakes_and_two_reportings_count_exactly(
    own_broker: LocalBroker, topic_prefix: str, tmp_path: Path
) -> None:
    common = broker_settings(own_broker.bootstrap, topic_prefix)
    async with (
        service_database("catalogue", "postgres", tmp_path) as catalogue_url,
        service_database("intake", "postgres", tmp_path) as intake_url,
        service_database("reporting", "postgres", tmp_path) as reporting_url,
    ):
        intake_settings = IntakeSettings(database_url=intake_url, overdue_check_seconds=0, **common)
        reporting_settings = ReportingSettings(database_url=reporting_url, **common)
        intake_apps = [create_intake(intake_settings), create_intake(intake_settings)]
        reporting_apps = [create_reporting(reporting_settings), create_reporting(reporting_settings)]
        async with (
            running_app(create_catalogue(CatalogueSettings(database_url=catalogue_url, **common))) as catalogue,
            running_app(intake_apps[0]) as intake_a,
            running_app(intake_apps[1]) as intake_b,
            running_app(reporting_apps[0]) as reporting_a,
            running_app(reporting_apps[1]) as reporting_b,
        ):
            assert (await catalogue.post("/procedures", json=PROCEDURE, headers=AUTH["ops"])).status_code == 201
            agency = {"name": "UBND xã Tân Lập", "level": "commune", "procedure_codes": ["1.001193"]}
            assert (await catalogue.put(f"/agencies/{AGENCY}", json=agency, headers=AUTH["ops"])).status_code == 200

            async def receive(client: httpx.AsyncClient, day: int, minute: int) -> str | None:
                at = f"2026-04-{day:02d}T09:{minute:02d}:00+07:00"
                response = await client.post("/dossiers", json=dossier(at), headers=AUTH["desk"])
                return str(response.json()["code"]) if response.status_code == 201 else None

            # Both replicas must know the procedure before they can receive (each reads the catalogue's topic).
            await eventually(lambda: receive(intake_a, 1, 0), timeout=30, what="intake A's replica")
            await eventually(lambda: receive(intake_b, 1, 1), timeout=30, what="intake B's replica")
            codes = set()
            for n in range(RECEIPTS - 2):
                code = await receive(intake_a if n % 2 else intake_b, 2 + n // 20, n % 20 + 2)
                assert code is not None
                codes.add(code)
            assert len(codes) == RECEIPTS - 2  # gapless, distinct codes from two replicas on one sequence

            async def online(client: httpx.AsyncClient) -> tuple[int, int] | None:
                response = await client.get(
                    "/reports/indicators", params={**Q2, "indicator": "online_intake_rate"}, headers=AUTH["leader"]
                )
                figure = response.json()["indicators"][0]
                pair = (figure["numerator"], figure["denominator"])
                return pair if pair == (RECEIPTS, RECEIPTS) else None

            assert await eventually(lambda: online(reporting_a), timeout=60, what="every receipt folded")
            assert await online(reporting_b) == (RECEIPTS, RECEIPTS)  # one database: both answer the same

            # The fold really is split: each reporting replica's consumer holds some of the partitions.
            async def split() -> bool:
                return assigned(reporting_apps[0]) > 0 and assigned(reporting_apps[1]) > 0

            await eventually(split, timeout=30, what="partitions shared by both reporting replicas")
            leaders = [app.state.runtime.relay.is_leader for app in intake_apps]
            assert sorted(leaders) == [False, True]  # one relay publishes intake's outbox
