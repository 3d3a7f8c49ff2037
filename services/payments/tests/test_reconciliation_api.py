"""POST /reconciliation against payments made through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from libs.common.testing import AUTH
from services.payments.tests.support import (
    OTHER_PROVIDER,
    PROVIDER,
    assert_problem,
    callback,
    create,
    events,
    fields_of,
    paid,
)

pytestmark = pytest.mark.asyncio


def line(payment: dict[str, object], amount: int | None = None, status: str = "succeeded") -> dict[str, object]:
    return {
        "payment_id": payment["id"],
        "amount_vnd": payment["amount_vnd"] if amount is None else amount,
        "status": status,
    }


class TestReconcile:
    async def test_every_kind_of_difference(self, client: httpx.AsyncClient, payments_url: str) -> None:
        matched = await paid(client, amount_vnd=8000)
        lost_callback = await create(client, amount_vnd=5000)
        not_on_statement = await paid(client, amount_vnd=7000)
        wrong_amount = await paid(client, amount_vnd=9000)
        failed = await create(client, amount_vnd=1000)
        await callback(client, failed, "failed")
        counter = await create(client, "desk", channel="counter", amount_vnd=3000)
        await client.post(f"/payments/{counter['id']}/confirm", headers=AUTH["desk"])
        before = await events(payments_url)
        statement = {
            "provider": PROVIDER,
            "lines": [
                line(matched),
                line(lost_callback),
                line(wrong_amount, 9500),
                line(failed, status="failed"),
                {"payment_id": "unknown-1", "amount_vnd": 100, "status": "succeeded"},
                line(counter),  # a counter payment is not the provider's
            ],
        }
        response = await client.post("/reconciliation", json=statement, headers=AUTH["ops"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["clean"] is False and body["provider"] == PROVIDER
        assert sorted(body["matched"]) == sorted([matched["id"], failed["id"]])
        assert body["matched"] == sorted(body["matched"])
        assert sorted(li["payment_id"] for li in body["missing_in_motcua"]) == sorted(["unknown-1", counter["id"]])
        assert body["missing_in_statement"] == [
            {"payment_id": not_on_statement["id"], "amount_vnd": 7000, "status": "succeeded"}
        ]
        assert body["amount_mismatch"] == [
            {
                "payment_id": wrong_amount["id"],
                "recorded_amount_vnd": 9000,
                "statement_amount_vnd": 9500,
                "recorded_status": "succeeded",
                "statement_status": "succeeded",
            }
        ]
        assert [(m["payment_id"], m["recorded_status"]) for m in body["status_mismatch"]] == [
            (lost_callback["id"], "created")
        ]
        assert await events(payments_url) == before  # read-only

    async def test_a_matching_statement_is_clean(self, client: httpx.AsyncClient) -> None:
        payments = [await paid(client, amount_vnd=a) for a in (1000, 2000)]
        other = await create(client, provider=OTHER_PROVIDER)
        await callback(client, other, provider=OTHER_PROVIDER)
        response = await client.post(
            "/reconciliation", json={"provider": PROVIDER, "lines": [line(p) for p in payments]}, headers=AUTH["ops"]
        )
        assert response.json()["clean"] is True and len(response.json()["matched"]) == 2

    async def test_the_period_limits_what_must_be_on_the_statement(self, client: httpx.AsyncClient) -> None:
        await paid(client)
        now = datetime.now(UTC)
        tomorrow = {
            "period_start": (now + timedelta(days=1)).isoformat(),
            "period_end": (now + timedelta(days=2)).isoformat(),
        }
        later = await client.post(
            "/reconciliation", json={"provider": PROVIDER, "lines": []} | tomorrow, headers=AUTH["ops"]
        )
        assert later.json()["clean"] is True
        today = {
            "period_start": (now - timedelta(hours=1)).isoformat(),
            "period_end": (now + timedelta(hours=1)).isoformat(),
        }
        current = await client.post(
            "/reconciliation", json={"provider": PROVIDER, "lines": []} | today, headers=AUTH["ops"]
        )
        assert len(current.json()["missing_in_statement"]) == 1

    async def test_a_payment_listed_twice_is_422_naming_the_line(self, client: httpx.AsyncClient) -> None:
        payment = await paid(client)
        response = await client.post(
            "/reconciliation",
            json={"provider": PROVIDER, "lines": [line(payment), line(payment, status="refunded")]},
            headers=AUTH["ops"],
        )
        assert fields_of(assert_problem(response, 422, "statement_rejected")) == {"lines.1.payment_id"}

    async def test_a_malformed_line_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/reconciliation",
            json={"provider": PROVIDER, "lines": [{"payment_id": "p", "amount_vnd": "1", "status": "lost"}]},
            headers=AUTH["ops"],
        )
        assert fields_of(assert_problem(response, 422, "validation_error")) == {
            "lines.0.amount_vnd",
            "lines.0.status",
        }

    @pytest.mark.parametrize("who", ["desk", "handler", "portal", "leader"])
    async def test_reconciliation_is_for_ops(self, client: httpx.AsyncClient, who: str) -> None:
        response = await client.post("/reconciliation", json={"provider": PROVIDER, "lines": []}, headers=AUTH[who])
        assert_problem(response, 403, "forbidden")
