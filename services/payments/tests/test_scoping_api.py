"""Scopes on payments (docs/security.md, "Scoping"): fees and payments of a dossier received by another agency are
404, like a dossier payments knows nothing of; the receiving agency is the first part of the dossier code."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio

from libs.common.testing import api_keys, assert_problem, bearer, fields_of, running_app
from services.payments.app import create_app
from services.payments.config import PaymentsSettings
from services.payments.tests.support import DOSSIER, SECRETS, assessment, intent, key

pytestmark = pytest.mark.asyncio

AGENCY, OUTSIDE = "000.00.00.H56", "000.00.12.H56"
KEYS = {
    "desk-a-key-000000000000000000000000": {"subject": "a.desk", "roles": ["desk_officer"], "agencies": [AGENCY]},
    "desk-x-key-000000000000000000000000": {"subject": "x.desk", "roles": ["desk_officer"], "agencies": [OUTSIDE]},
    "ops-x-key-0000000000000000000000000": {"subject": "x.ops", "roles": ["ops"], "agencies": [OUTSIDE]},
}
DESK_A, DESK_X, OPS_X = (bearer(k) for k in KEYS)


@pytest_asyncio.fixture
async def scoped(payments_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = PaymentsSettings(
        database_url=payments_url, kafka_enabled=False, provider_secrets=SECRETS, api_keys=api_keys(KEYS)
    )
    async with running_app(create_app(settings)) as c:
        yield c


class TestPaymentScope:
    async def test_another_agencys_dossier_is_404_for_reads_and_writes(self, scoped: httpx.AsyncClient) -> None:
        assert (await scoped.post("/assessments", json=assessment(), headers=DESK_A)).status_code == 201
        created = await scoped.post("/payments", json=intent(channel="counter"), headers=DESK_A | key())
        assert created.status_code == 201, created.text
        payment_id = created.json()["id"]
        assert (await scoped.get(f"/payments/{payment_id}", headers=DESK_A)).status_code == 200
        assert_problem(await scoped.get(f"/payments/{payment_id}", headers=DESK_X), 404, "payment_not_found")
        assert_problem(await scoped.get(f"/dossiers/{DOSSIER}/fees", headers=DESK_X), 404, "dossier_not_found")
        assert_problem(await scoped.post("/assessments", json=assessment(), headers=DESK_X), 404, "dossier_not_found")
        confirm = await scoped.post(f"/payments/{payment_id}/confirm", json={}, headers=DESK_X)
        assert_problem(confirm, 404, "payment_not_found")
        again = await scoped.post("/payments", json=intent(channel="counter"), headers=DESK_X | key())
        assert_problem(again, 404, "dossier_not_found")

    async def test_reconciliation_needs_the_whole_province(self, scoped: httpx.AsyncClient) -> None:
        body = {
            "provider": "paygov-sandbox",
            "period_start": "2026-03-01T00:00:00Z",
            "period_end": "2026-03-02T00:00:00Z",
            "lines": [],
        }
        assert_problem(await scoped.post("/reconciliation", json=body, headers=OPS_X), 403, "forbidden")


class TestBoundedAmounts:
    async def test_an_amount_past_any_column_is_422_not_500(self, scoped: httpx.AsyncClient) -> None:
        body = assessment(10**20)
        problem = assert_problem(await scoped.post("/assessments", json=body, headers=DESK_A), 422, "validation_error")
        assert fields_of(problem) == {"items.0.amount_vnd"}
