"""The catalogue's audit chain (docs/security.md, "Audit"): every change is one row in the request's transaction,
a refused change leaves none, and a row altered in the database is named by the verify command."""

from __future__ import annotations

import httpx
import pytest

from libs.common.testing import assert_audit_chain_names_an_altered_row, audit_rows
from services.catalogue.tests.support import OPS, content, decision, procedure, publish

pytestmark = pytest.mark.asyncio

PROVINCE = "000.00.00.H56"


class TestAudit:
    async def test_every_change_is_recorded_and_the_chain_names_an_altered_row(
        self, client: httpx.AsyncClient, catalogue_url: str
    ) -> None:
        await publish(client)
        amended = await client.post(
            "/procedures/1.001193/amendments", json=content(decision=decision("2026-07-01")), headers=OPS
        )
        assert amended.status_code == 201, amended.text
        again = await client.post("/procedures", json=procedure(), headers=OPS)
        assert again.status_code == 409  # refused: rolled back with its request, nothing recorded
        for name in ("Ủy ban nhân dân tỉnh Mẫu", "UBND tỉnh Mẫu"):
            body = {"name": name, "level": "province"}
            assert (await client.put(f"/agencies/{PROVINCE}", json=body, headers=OPS)).status_code == 200
        withdrawn = await client.post(
            "/procedures/1.001193/withdrawal",
            json={"decision": decision("2026-09-01", "555/QĐ-UBND", "2026-08-20")},
            headers=OPS,
        )
        assert withdrawn.status_code == 200, withdrawn.text

        rows = await audit_rows(catalogue_url)
        assert [(r.actor, r.action, r.subject_kind, r.subject_id, r.personal_data) for r in rows] == [
            ("demo.ops", "create", "procedure", "1.001193@1", False),
            ("demo.ops", "change", "procedure", "1.001193@2", False),
            ("demo.ops", "create", "agency", PROVINCE, False),
            ("demo.ops", "change", "agency", PROVINCE, False),
            ("demo.ops", "change", "procedure", "1.001193@2", False),
        ]
        assert {r.actor_name for r in rows} == {"Phạm Thị Lan"}
        await assert_audit_chain_names_an_altered_row("catalogue", catalogue_url, rows=5)
