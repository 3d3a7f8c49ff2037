"""Through the real broker and the national-portal stand-in: a dossier's whole life reaches the portal (one record per
change, one progress step per step, in order, each validated against the schema by the stand-in), intake publishes
the synchronised facts, and reporting's Decision 766 index counts the dossier as synchronised; a dossier whose record
the portal refuses is not counted. PostgreSQL databases, Kafka-protocol broker, intake's own delivery worker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from libs.common.standins.portal import NationalPortal
from libs.common.standins.server import serving
from libs.common.testing import AUTH, broker_settings, eventually, running_app, service_database
from services.catalogue.app import create_app as create_catalogue
from services.catalogue.config import CatalogueSettings
from services.intake.app import create_app as create_intake
from services.intake.config import IntakeSettings
from services.reporting.app import create_app as create_reporting
from services.reporting.config import ReportingSettings
from tests.integration.test_catalogue_to_intake import AGENCY, PROCEDURE, dossier

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

Q2 = {"year": 2026, "quarter": 2}
LIFE: list[tuple[str, str, dict[str, Any]]] = [
    ("transfer", "handler", {"to_agency_code": AGENCY, "mode": "electronic"}),
    ("supplement-requests", "handler", {"items": ["Giấy chứng sinh bản chính"], "reason": "Bản chụp không rõ"}),
    ("supplements", "desk", {}),
    ("result", "handler", {"decision": "approved", "electronic_result": True}),
    ("return", "desk", {"channel": "counter"}),
]


async def synced(reporting: httpx.AsyncClient) -> dict[str, Any]:
    response = await reporting.get("/reports/index-766", params=Q2, headers=AUTH["leader"])
    assert response.status_code == 200, response.text
    province = response.json()["sections"][0]  # the whole province (no agency sections asked for)
    criteria = {c["criterion"]: c for g in province["groups"] for c in g["criteria"]}
    return dict(criteria["synced_dossiers"])


async def test_a_dossier_life_reaches_the_portal_and_the_766_index(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    portal = NationalPortal(hang_seconds=1.0)
    common = broker_settings(broker, topic_prefix)
    async with (
        serving(portal.app()) as portal_url,
        service_database("catalogue", "postgres", tmp_path) as catalogue_url,
        service_database("intake", "postgres", tmp_path) as intake_url,
        service_database("reporting", "postgres", tmp_path) as reporting_url,
    ):
        intake_settings = IntakeSettings(
            database_url=intake_url,
            overdue_check_seconds=0,
            portal_enabled=True,
            portal_base_url=portal_url,
            portal_username=portal.username,
            portal_password=portal.password,
            portal_agency_code=AGENCY,
            delivery_poll_seconds=0.1,
            **common,
        )
        apps = (
            create_catalogue(CatalogueSettings(database_url=catalogue_url, **common)),
            create_intake(intake_settings),
            create_reporting(ReportingSettings(database_url=reporting_url, **common)),
        )
        async with running_app(apps[0]) as catalogue, running_app(apps[1]) as intake, running_app(apps[2]) as reporting:
            assert (await catalogue.post("/procedures", json=PROCEDURE, headers=AUTH["ops"])).status_code == 201
            agency = {"name": "UBND xã Tân Lập", "level": "commune", "procedure_codes": ["1.001193"]}
            assert (await catalogue.put(f"/agencies/{AGENCY}", json=agency, headers=AUTH["ops"])).status_code == 200

            async def receive() -> str | None:
                response = await intake.post(
                    "/dossiers", json=dossier("2026-04-01T09:00:00+07:00"), headers=AUTH["desk"]
                )
                return str(response.json()["code"]) if response.status_code == 201 else None

            code = await eventually(receive, timeout=90, what="the catalogue's replica in intake")
            for path, who, body in LIFE:
                response = await intake.post(f"/dossiers/{code}/{path}", json=body, headers=AUTH[who])
                assert response.status_code == 200, (path, response.text)

            async def all_sent() -> bool:
                return len(portal.received("DongBoHoSoMC")) == 5 and len(portal.received("CapNhatTienDoHoSoMC")) == 5

            await eventually(all_sent, timeout=90, what="the dossier's life at the portal")
            calls = [(c.path, c.body["data"][0]) for c in portal.calls if c.path != "login"]
            assert [c[1].get("TrangThaiHoSo") or c[1]["TrangThai"] for c in calls] == [
                "2", "4", "5", "5", "4", "4", "9", "9", "10", "10"
            ]  # fmt: skip
            assert calls[0][0] == "DongBoHoSoMC" and calls[1][0] == "CapNhatTienDoHoSoMC"
            assert {c[1]["MaHoSo"] for c in calls} == {code}

            async def counted(expected: tuple[int, int]) -> dict[str, Any] | None:
                criterion = await synced(reporting)
                return criterion if (criterion["numerator"], criterion["denominator"]) == expected else None

            criterion = await eventually(lambda: counted((1, 1)), timeout=90, what="the synchronised dossier")
            assert criterion["available"] and criterion["score"] == 6.0

            # the portal refuses the next record: that dossier is received but not synchronised
            portal.fail_next(code="05")
            refused = await receive()
            assert refused is not None
            criterion = await eventually(lambda: counted((1, 2)), timeout=90, what="the refused dossier")
            assert criterion["score"] == 3.0
            view = await intake.get(f"/dossiers/{refused}/deliveries", headers=AUTH["handler"])
            [record] = view.json()["portal"]
            assert record["status"] == "dead" and record["attempts"][0]["reason"] == "portal_05"
