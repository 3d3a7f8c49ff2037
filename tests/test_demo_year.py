"""The demo year: deterministic rows that intake's own rules accept (in-process, SQLite)."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from libs.common.db import create_engine, session_factory
from libs.common.messaging.outbox import Outbox
from libs.common.testing import running_app, service_database
from scripts import demo_year
from services.catalogue.config import CatalogueSettings
from services.catalogue.demo import load_demo
from services.intake.app import create_app as create_intake
from services.intake.config import IntakeSettings
from services.reporting.plans.rules import parse_plan

TODAY = date(2026, 11, 27)
SAMPLE_PLAN = Path(__file__).resolve().parents[1] / "services/reporting/plans/sample/tinh-mau-2026-2030-sample.json"


def test_rows_are_deterministic() -> None:
    first = list(demo_year.dossier_rows(TODAY, 300))
    assert len(first) == 300
    assert first == list(demo_year.dossier_rows(TODAY, 300))
    assert first != list(demo_year.dossier_rows(TODAY, 300, seed=1))
    assert all(r["at"] < "2026-11-28" and r["at"] >= "2025-11-28" for r in first)
    commands = Counter(step["command"] for r in first for step in r.get("steps", []))
    assert {"transfer", "resolve", "return", "rate"} <= set(commands)
    assert Counter(r["channel"] for r in first)["online"] > 50
    # invented officers (opaque ids) receive at the desk and take the steps; the portal's online receipts name none
    assert all(("officer" in r) == (r["channel"] != "online") for r in first)
    resolvers = {s["officer"]["id"] for r in first for s in r.get("steps", []) if s["command"] == "resolve"}
    assert len(resolvers) > 10 and all(i.startswith("demo.") for i in resolvers)


@pytest.mark.asyncio
async def test_300_rows_import_with_none_rejected(tmp_path: Path) -> None:
    async with (
        service_database("catalogue", "sqlite", tmp_path) as catalogue_url,
        service_database("intake", "sqlite", tmp_path) as intake_url,
    ):
        catalogue = CatalogueSettings(database_url=catalogue_url, kafka_enabled=False)
        engine = create_engine(catalogue_url)  # the sample catalogue into catalogue's outbox, as `make demo` does
        async with session_factory(engine)() as session, session.begin():
            await load_demo(session, Outbox(source="/motcua/catalogue", topic_prefix=catalogue.topic_prefix))
        await engine.dispose()
        applied = await demo_year.replicate_catalogue(intake_url, catalogue_url)
        assert applied > 0
        intake = IntakeSettings(database_url=intake_url, kafka_enabled=False, overdue_check_seconds=0)
        async with running_app(create_intake(intake)) as client:
            rows = list(demo_year.dossier_rows(TODAY, 300))
            accepted, rejected = await demo_year._send(client, rows)
            assert (accepted, rejected) == (300, 0), demo_year.REFUSALS
            listed = await client.get("/dossiers", params={"page_size": 1}, headers=demo_year.OPS)
            assert listed.json()["total"] == 300


def test_the_sample_provinces_plan_is_a_valid_plan_for_the_current_year() -> None:
    raw = json.loads(SAMPLE_PLAN.read_text(encoding="utf-8"))
    plan = parse_plan(raw)
    assert plan.province == "Tỉnh Mẫu" and "MẪU" in plan.name
    assert 2026 in plan.years and len(plan.targets_for(2026)) == len(plan.targets) >= 15
