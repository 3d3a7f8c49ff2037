"""Fault: the broker restarts with its data lost (Tansu on memory storage: stop and start is an empty cluster) after
intake published its events and before reporting read them. Reporting's periodic drift check finds, per dossier,
the events intake published that it does not hold and asks intake to republish them: reporting converges to exact
parity by itself, with no manual step."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from libs.common.calendar import VN_TZ
from libs.common.db import create_engine
from libs.common.messaging.outbox import outbox_backlog
from libs.common.messaging.tables import outbox
from libs.common.testing import AUTH, LocalBroker, broker_settings, eventually, running_app, service_database, serving
from services.catalogue.app import create_app as create_catalogue
from services.catalogue.config import CatalogueSettings
from services.intake.app import create_app as create_intake
from services.intake.config import IntakeSettings
from services.reporting.app import create_app as create_reporting
from services.reporting.config import ReportingSettings
from services.reporting.drift import INTAKE_EVENTS
from services.reporting.models import DossierEvent
from tests.integration.test_catalogue_to_intake import AGENCY, PROCEDURE, dossier

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]
DOSSIERS = 6


async def _intake_events(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox.c.key, outbox.c.event_id).where(
                        outbox.c.type.in_(["vn.motcua." + n for n in INTAKE_EVENTS])
                    )
                )
            ).all()
    finally:
        await engine.dispose()
    out: dict[str, set[str]] = {}
    for key, event_id in rows:
        out.setdefault(key, set()).add(event_id)
    return out


async def _ledger(url: str) -> dict[str, set[str]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(DossierEvent.dossier_code, DossierEvent.event_id).where(DossierEvent.name.in_(INTAKE_EVENTS))
                )
            ).all()
    finally:
        await engine.dispose()
    out: dict[str, set[str]] = {}
    for code, event_id in rows:
        out.setdefault(code, set()).add(event_id)
    return out


async def test_reporting_converges_after_the_broker_lost_its_data(
    own_broker: LocalBroker, topic_prefix: str, tmp_path: Path
) -> None:
    common = broker_settings(own_broker.bootstrap, topic_prefix)
    async with (
        service_database("catalogue", "postgres", tmp_path) as catalogue_url,
        service_database("intake", "postgres", tmp_path) as intake_url,
        service_database("reporting", "postgres", tmp_path) as reporting_url,
    ):
        intake_app = create_intake(IntakeSettings(database_url=intake_url, overdue_check_seconds=0, **common))
        async with running_app(create_catalogue(CatalogueSettings(database_url=catalogue_url, **common))) as catalogue:
            assert (await catalogue.post("/procedures", json=PROCEDURE, headers=AUTH["ops"])).status_code == 201
            agency = {"name": "UBND xã Tân Lập", "level": "commune", "procedure_codes": ["1.001193"]}
            assert (await catalogue.put(f"/agencies/{AGENCY}", json=agency, headers=AUTH["ops"])).status_code == 200

            async with serving(intake_app) as intake_base:
                async with httpx.AsyncClient(base_url=intake_base) as intake:

                    async def receive(at: str) -> str | None:
                        response = await intake.post("/dossiers", json=dossier(at), headers=AUTH["desk"])
                        return str(response.json()["code"]) if response.status_code == 201 else None

                    first = await eventually(lambda: receive("2026-04-01T09:00:00+07:00"), timeout=30, what="replica")
                    codes = [first] + [await receive(f"2026-04-0{d}T10:00:00+07:00") for d in range(2, DOSSIERS + 1)]
                    assert all(codes)
                    refusal = {"reason": "Không đủ điều kiện"}
                    for code in codes[:2]:  # some dossiers with more than one event
                        response = await intake.post(f"/dossiers/{code}/refusal", json=refusal, headers=AUTH["handler"])
                        assert response.status_code == 200, response.text

                    # Everything published and acknowledged by the broker; then the broker loses it all.
                    intake_engine = create_engine(intake_url)
                    try:
                        await eventually(lambda: _zero(outbox_backlog(intake_engine)), timeout=30, what="published")
                    finally:
                        await intake_engine.dispose()
                    await own_broker.stop()
                    await own_broker.start()

                    published = await _intake_events(intake_url)
                    assert sorted(published) == sorted(codes) and sum(map(len, published.values())) == DOSSIERS + 2

                    reporting_settings = ReportingSettings(
                        database_url=reporting_url,
                        intake_url=intake_base,
                        intake_api_key="dev-ops",
                        drift_check_seconds=0.3,
                        drift_grace_seconds=0,
                        **common,
                    )
                    async with running_app(create_reporting(reporting_settings)) as reporting:

                        async def converged() -> bool:
                            return await _ledger(reporting_url) == published

                        await eventually(converged, timeout=60, what="reporting to hold every event intake published")

                        today = datetime.now(UTC).astimezone(VN_TZ).date()
                        first_day, last_day = min(today, date(2026, 4, 1)), max(today, date(2026, 4, 30))
                        window = {"from": first_day.isoformat(), "to": last_day.isoformat()}
                        drift = await reporting.post(
                            "/reports/drift", params={**window, "repair": False}, headers=AUTH["ops"]
                        )
                        assert drift.status_code == 200, drift.text
                        body = drift.json()
                        assert body["in_sync"] is True and body["dossiers"] == []
                        assert body["intake_events"] == body["reporting_events"] == DOSSIERS + 2
                        parity = await reporting.get("/reports/parity", params=window, headers=AUTH["ops"])
                        assert parity.status_code == 200, parity.text
                        assert parity.json()["in_sync"] is True
                        counts = parity.json()["windows"][0]["agencies"]
                        assert [(a["agency_code"], a["reporting"]["received"]) for a in counts] == [(AGENCY, DOSSIERS)]

                        # Exact: each event once in the ledger, whatever was redelivered.
                        engine = create_engine(reporting_url)
                        try:
                            async with engine.connect() as conn:
                                total = (
                                    await conn.execute(select(func.count()).select_from(DossierEvent))
                                ).scalar_one()
                        finally:
                            await engine.dispose()
                        assert total == DOSSIERS + 2


async def _zero(value: Any) -> bool:
    return bool(await value == 0)
