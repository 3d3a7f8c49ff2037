"""Payments' audit chain (docs/security.md, "Audit"): every change (assessment, intent, settlement by the desk or a
provider, refund) is one row in the request's transaction; a repeated request adds none; a row altered in the
database is named by the verify command."""

from __future__ import annotations

import httpx
import pytest

from libs.common.testing import AUTH, assert_audit_chain_names_an_altered_row, audit_rows
from services.payments.tests.support import assessment, callback, create, key

pytestmark = pytest.mark.asyncio


class TestAudit:
    async def test_every_change_is_recorded_and_the_chain_names_an_altered_row(
        self, client: httpx.AsyncClient, payments_url: str
    ) -> None:
        assert (await client.post("/assessments", json=assessment(), headers=AUTH["desk"])).status_code == 201
        online = await create(client, amount_vnd=3000)
        assert (await callback(client, online)).status_code == 200
        assert (await callback(client, online)).status_code == 200  # a duplicate notification changes nothing
        counter = await create(client, who="desk", channel="counter", provider=None, amount_vnd=5000)
        assert (
            await client.post(f"/payments/{counter['id']}/confirm", json={}, headers=AUTH["desk"])
        ).status_code == 200
        refund = {"amount_vnd": 1000, "reason": "Thu thừa"}
        refunded = await client.post(f"/payments/{online['id']}/refunds", json=refund, headers=AUTH["handler"] | key())
        assert refunded.status_code == 201, refunded.text

        rows = await audit_rows(payments_url)
        assert [(r.actor, r.action, r.subject_kind, r.personal_data) for r in rows] == [
            ("demo.desk", "create", "fee_assessment", False),
            ("demo.portal", "create", "payment", False),
            ("provider:paygov-sandbox", "change", "payment", False),
            ("demo.desk", "create", "payment", False),
            ("demo.desk", "change", "payment", False),
            ("demo.handler", "create", "refund", False),
        ]
        assert [r.subject_id for r in rows][1:5] == [online["id"], online["id"], counter["id"], counter["id"]]
        await assert_audit_chain_names_an_altered_row("payments", payments_url, rows=6)
