"""The catalogue publishes, intake receives: a procedure and an agency published through the catalogue's API reach
intake's replica through the real broker (outbox → relay → topic → consumer → inbox), with no call from intake to
the catalogue; the withdrawal follows the same path, and intake then answers 410 for a dossier received after it.
PostgreSQL databases, Kafka-protocol broker."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from libs.common.testing import AUTH, broker_settings, eventually, running_app, service_database
from services.catalogue.app import create_app as create_catalogue
from services.catalogue.config import CatalogueSettings
from services.intake.app import create_app as create_intake
from services.intake.config import IntakeSettings

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

AGENCY = "000.01.21.H56"
PROCEDURE: dict[str, Any] = {
    "code": "1.001193",
    "name": "Đăng ký khai sinh",
    "sector": {"code": "H56-HT01", "name": "Hộ tịch"},
    "levels": ["commune"],
    "time_limit": {"amount": 3, "unit": "working_days"},
    "fees": [{"name": "Lệ phí", "amount_vnd": 8000, "kind": "charge", "payable_online": True}],
    "components": [{"code": "GCS", "name": "Giấy chứng sinh", "must_digitise": True}],
    "online_level": "full",
    "process": [
        {"order": 1, "actor": "Bộ phận một cửa", "action": "Tiếp nhận", "allowance_hours": 4},
        {"order": 2, "actor": "Công chức tư pháp - hộ tịch", "action": "Thẩm định, trình ký", "allowance_hours": 20},
    ],
    "decision": {"number": "125/QĐ-UBND", "signed_on": "2025-12-20", "effective_on": "2026-01-01"},
}


def dossier(at: str) -> dict[str, Any]:
    return {
        "procedure_code": "1.001193",
        "receiving_agency_code": AGENCY,
        "channel": "online",
        "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn An"},
        "components": [{"code": "GCS", "form": "electronic", "digitised": True}],
        "at": at,
    }


@asynccontextmanager
async def catalogue_and_intake(
    broker: str, topic_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """The catalogue and intake on their own PostgreSQL databases, meeting only through the broker, with
    ``PROCEDURE`` already published in the catalogue."""
    common = broker_settings(broker, topic_prefix)
    async with (
        service_database("catalogue", "postgres", tmp_path) as catalogue_url,
        service_database("intake", "postgres", tmp_path) as intake_url,
    ):
        catalogue_app = create_catalogue(CatalogueSettings(database_url=catalogue_url, **common))
        intake_app = create_intake(IntakeSettings(database_url=intake_url, overdue_check_seconds=0, **common))
        async with running_app(catalogue_app) as catalogue, running_app(intake_app) as intake:
            assert (await catalogue.post("/procedures", json=PROCEDURE, headers=AUTH["ops"])).status_code == 201
            yield catalogue, intake


async def test_published_procedure_reaches_intake_and_its_withdrawal_follows(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    async with catalogue_and_intake(broker, topic_prefix, tmp_path) as (catalogue, intake):
        ops = AUTH["ops"]
        agency = {"name": "UBND xã Tân Lập", "level": "commune", "procedure_codes": ["1.001193"]}
        assert (await catalogue.put(f"/agencies/{AGENCY}", json=agency, headers=ops)).status_code == 200

        async def receipt(at: str, status: int) -> httpx.Response | None:
            response = await intake.post("/dossiers", json=dossier(at), headers=AUTH["desk"])
            return response if response.status_code == status else None

        # until the replica has the procedure, intake answers 404
        received = await eventually(
            lambda: receipt("2026-04-29T10:00:00+07:00", 201), timeout=30, what="the replica and a receipt"
        )
        body = received.json()
        assert body["procedure_version"] == 1 and body["receiving_level"] == "commune"
        assert body["fees_due_vnd"] == 8000 and body["time_limit"] == {"amount": 3, "unit": "working_days"}

        withdrawal = {"decision": {"number": "555/QĐ-UBND", "signed_on": "2026-05-20", "effective_on": "2026-06-01"}}
        response = await catalogue.post("/procedures/1.001193/withdrawal", json=withdrawal, headers=ops)
        assert response.status_code == 200, response.text

        gone = await eventually(
            lambda: receipt("2026-06-01T09:00:00+07:00", 410), timeout=30, what="intake to see the withdrawal"
        )
        assert gone.json()["code"] == "procedure_withdrawn"
        # the last day in force is still in force
        still = await receipt("2026-05-29T09:00:00+07:00", 201)
        assert still is not None and still.json()["procedure_version"] == 1
