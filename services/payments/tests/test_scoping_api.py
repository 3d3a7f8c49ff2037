"""Scopes on payments (docs/security.md, "Scoping"): fees and payments of a dossier received by another agency are
404, like a dossier payments knows nothing of; the receiving agency is the first part of the dossier code."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import pytest_asyncio

from libs.common.contract.events import DossierTransferred, TransferMode
from libs.common.testing import (
    api_keys,
    assert_problem,
    bearer,
    dossier_received,
    feed_dossier_agencies,
    fields_of,
    running_app,
)
from services.payments.app import create_app
from services.payments.config import PaymentsSettings
from services.payments.tests.support import DOSSIER, SECRETS, assessment, intent, key

pytestmark = pytest.mark.asyncio

AGENCY, OUTSIDE, HANDLING, TAKER = "000.00.00.H56", "000.00.12.H56", "000.00.21.H56", "000.00.31.H56"
KEYS = {
    "desk-a-key-000000000000000000000000": {"subject": "a.desk", "roles": ["desk_officer"], "agencies": [AGENCY]},
    "desk-x-key-000000000000000000000000": {"subject": "x.desk", "roles": ["desk_officer"], "agencies": [OUTSIDE]},
    "ops-x-key-0000000000000000000000000": {"subject": "x.ops", "roles": ["ops"], "agencies": [OUTSIDE]},
    "handler-h-key-000000000000000000000": {"subject": "h.handler", "roles": ["handler"], "agencies": [HANDLING]},
    "handler-t-key-000000000000000000000": {"subject": "t.handler", "roles": ["handler"], "agencies": [TAKER]},
}
DESK_A, DESK_X, OPS_X, HANDLER_H, HANDLER_T = (bearer(k) for k in KEYS)


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


class TestHandlingAgency:
    """The handling agency of a dossier received by another one sees and changes its fees and payments, once the
    dossier's receipt has reached payments' replica; an agency the dossier never passed through still does not."""

    async def test_the_handling_and_the_current_agency_count_as_own(
        self, scoped: httpx.AsyncClient, payments_url: str
    ) -> None:
        assert (await scoped.post("/assessments", json=assessment(), headers=DESK_A)).status_code == 201
        created = await scoped.post("/payments", json=intent(channel="counter"), headers=DESK_A | key())
        payment_id = created.json()["id"]
        assert_problem(await scoped.get(f"/payments/{payment_id}", headers=HANDLER_H), 404, "payment_not_found")

        await feed_dossier_agencies(payments_url, dossier_received(DOSSIER, receiving=AGENCY, handling=HANDLING))
        assert (await scoped.get(f"/payments/{payment_id}", headers=HANDLER_H)).status_code == 200
        assert (await scoped.get(f"/dossiers/{DOSSIER}/fees", headers=HANDLER_H)).status_code == 200
        reassessed = await scoped.post("/assessments", json=assessment(9000), headers=HANDLER_H)
        assert reassessed.status_code == 201, reassessed.text
        for outsider in (HANDLER_T, DESK_X):
            assert_problem(await scoped.get(f"/payments/{payment_id}", headers=outsider), 404, "payment_not_found")
            fees = await scoped.get(f"/dossiers/{DOSSIER}/fees", headers=outsider)
            assert_problem(fees, 404, "dossier_not_found")

        transfer = DossierTransferred(
            dossier_code=DOSSIER,
            from_agency_code=HANDLING,
            to_agency_code=TAKER,
            mode=TransferMode.ELECTRONIC,
            inter_agency=True,
            at=datetime(2026, 3, 3, 2, 0, tzinfo=UTC),
        )
        await feed_dossier_agencies(payments_url, transfer)
        assert (await scoped.get(f"/payments/{payment_id}", headers=HANDLER_T)).status_code == 200
        assert (await scoped.get(f"/payments/{payment_id}", headers=HANDLER_H)).status_code == 200


class TestBoundedAmounts:
    async def test_an_amount_past_any_column_is_422_not_500(self, scoped: httpx.AsyncClient) -> None:
        body = assessment(10**20)
        problem = assert_problem(await scoped.post("/assessments", json=body, headers=DESK_A), 422, "validation_error")
        assert fields_of(problem) == {"items.0.amount_vnd"}
