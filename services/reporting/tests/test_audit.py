"""Reporting's audit chain (docs/security.md, "Audit"): every list of dossiers shown or exported and every dossier's
fact read is recorded as a read of personal data, one row per dossier, and every change (closing a period) as a
change; a row altered in the database is named by the verify command."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.testing import AUTH, assert_audit_chain_names_an_altered_row, audit_rows
from services.reporting.tests.test_api import province as province

pytestmark = pytest.mark.asyncio

QUARTER = {"year": 2024, "quarter": 1}
DRILL = "/reports/indicators/on_time_rate/dossiers"
FACT = "/dossiers/000.00.15.H56-240108-0001/fact"


class TestAudit:
    async def test_dossier_lists_facts_and_changes_are_recorded_and_an_altered_row_is_named(
        self, province: AsyncEngine, client: httpx.AsyncClient, reporting_url: str
    ) -> None:
        drill = await client.get(DRILL, params=QUARTER | {"part": "denominator"}, headers=AUTH["leader"])
        assert drill.status_code == 200, drill.text
        listed = drill.json()["items"]
        assert listed
        assert (await client.get(FACT, headers=AUTH["ops"])).status_code == 200
        assert (await client.get("/dossiers/000.00.15.H56-990101-9999/fact", headers=AUTH["ops"])).status_code == 404
        assert (await client.get("/reports/indicators", params=QUARTER, headers=AUTH["leader"])).status_code == 200
        closed = await client.post("/reports/periods/close", params=QUARTER, headers=AUTH["ops"])
        assert closed.status_code == 201, closed.text

        rows = await audit_rows(reporting_url)
        exported = [r for r in rows if r.action == "export"]
        assert sorted(r.subject_id for r in exported) == sorted(listed)
        assert {(r.actor, r.subject_kind, r.personal_data) for r in exported} == {("demo.leader", "dossier", True)}
        rest = [(r.actor, r.action, r.subject_kind, r.subject_id, r.personal_data) for r in rows if r not in exported]
        assert rest == [
            ("demo.ops", "read", "dossier", "000.00.15.H56-240108-0001", True),
            ("demo.ops", "create", "period_snapshot", "official:quarter:2024:1@v1", False),
        ]
        await assert_audit_chain_names_an_altered_row("reporting", reporting_url, rows=len(rows))
