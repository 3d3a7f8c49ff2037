"""Payment intents, counter confirmation, provider callbacks and refunds, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from libs.common.testing import AUTH
from services.payments.domain.signatures import sign
from services.payments.tests.support import (
    DOSSIER,
    OTHER_PROVIDER,
    PROVIDER,
    SECRET,
    assert_problem,
    assessment,
    callback,
    create,
    event_names,
    events,
    fields_of,
    intent,
    key,
    paid,
    signed,
)

pytestmark = pytest.mark.asyncio


class TestCreatePayment:
    async def test_an_intent_is_created_and_publishes_nothing(
        self, client: httpx.AsyncClient, payments_url: str
    ) -> None:
        response = await client.post("/payments", json=intent(), headers=AUTH["portal"] | key())
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["status"] == "created" and body["amount_vnd"] == 8000 and body["refundable_vnd"] == 0
        assert body["allowed_commands"] == ["succeed", "fail"]
        assert await events(payments_url) == []
        fetched = await client.get(f"/payments/{body['id']}", headers=AUTH["handler"])
        assert fetched.status_code == 200 and fetched.json() == body

    async def test_the_same_key_and_body_return_the_same_intent(self, client: httpx.AsyncClient) -> None:
        headers = AUTH["portal"] | key()
        first = await client.post("/payments", json=intent(), headers=headers)
        # the same request, its fields in another order
        reordered = dict(reversed(list(intent().items())))
        again = await client.post(
            "/payments", content=json.dumps(reordered), headers=headers | {"Content-Type": "application/json"}
        )
        assert first.status_code == 201 and again.status_code == 200, again.text
        assert again.json()["id"] == first.json()["id"]
        listed = (await client.get(f"/dossiers/{DOSSIER}/fees", headers=AUTH["desk"])).json()["payments"]
        assert len(listed) == 1

    async def test_the_same_key_with_another_body_is_409(self, client: httpx.AsyncClient) -> None:
        headers = AUTH["portal"] | key()
        first = await client.post("/payments", json=intent(), headers=headers)
        response = await client.post("/payments", json=intent(amount_vnd=9000), headers=headers)
        assert assert_problem(response, 409, "idempotency_key_reused")["payment_id"] == first.json()["id"]

    async def test_the_key_is_required(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/payments", json=intent(), headers=AUTH["portal"])
        assert "Idempotency-Key" in fields_of(assert_problem(response, 422, "validation_error"))

    async def test_a_blank_key_is_refused(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/payments", json=intent(), headers=AUTH["portal"] | {"Idempotency-Key": " "})
        assert fields_of(assert_problem(response, 422, "payment_rejected")) == {"header.Idempotency-Key"}

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"amount_vnd": "8000"}, "amount_vnd"),
            ({"amount_vnd": 8000.5}, "amount_vnd"),
            ({"amount_vnd": 0}, "amount_vnd"),
            ({"channel": "bitcoin"}, "channel"),
            ({"dossier_code": "x"}, "dossier_code"),
            ({"provider": "Pay Gov"}, "provider"),
        ],
    )
    async def test_a_malformed_intent_is_422_naming_the_field(
        self, client: httpx.AsyncClient, changes: dict[str, Any], field: str
    ) -> None:
        response = await client.post("/payments", json=intent(**changes), headers=AUTH["desk"] | key())
        assert field in fields_of(assert_problem(response, 422, "validation_error"))

    async def test_an_online_intent_needs_a_configured_provider(self, client: httpx.AsyncClient) -> None:
        for provider in ("unknown-gw", None):
            response = await client.post("/payments", json=intent(provider=provider), headers=AUTH["portal"] | key())
            assert fields_of(assert_problem(response, 422, "payment_rejected")) == {"provider"}

    async def test_the_portal_creates_online_intents_only(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/payments", json=intent(channel="counter"), headers=AUTH["portal"] | key())
        assert_problem(response, 403, "forbidden")
        assert_problem(await client.post("/payments", json=intent(), headers=AUTH["handler"] | key()), 403, "forbidden")

    async def test_an_intent_may_not_exceed_what_is_left_to_pay(self, client: httpx.AsyncClient) -> None:
        await client.post("/assessments", json=assessment(10_000), headers=AUTH["desk"])
        await paid(client, amount_vnd=6_000)
        response = await client.post("/payments", json=intent(amount_vnd=4_001), headers=AUTH["portal"] | key())
        assert assert_problem(response, 409, "amount_exceeds_outstanding")["outstanding_vnd"] == 4_000
        assert (
            await client.post("/payments", json=intent(amount_vnd=4_000), headers=AUTH["portal"] | key())
        ).is_success

    async def test_an_intent_names_the_assessed_procedure(self, client: httpx.AsyncClient) -> None:
        await client.post("/assessments", json=assessment(10_000), headers=AUTH["desk"])
        response = await client.post(
            "/payments", json=intent(procedure_code="2.000815"), headers=AUTH["portal"] | key()
        )
        assert fields_of(assert_problem(response, 422, "payment_rejected")) == {"procedure_code"}

    async def test_an_unknown_payment_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/payments/nope", headers=AUTH["desk"]), 404, "payment_not_found")


class TestConfirmAtTheCounter:
    async def test_the_desk_confirms_a_counter_payment(self, client: httpx.AsyncClient, payments_url: str) -> None:
        payment = await create(client, "desk", channel="counter", provider="cash")
        response = await client.post(
            f"/payments/{payment['id']}/confirm", json={"receipt_ref": "BL-0001"}, headers=AUTH["desk"]
        )
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "succeeded" and response.json()["provider_ref"] == "BL-0001"
        assert response.json()["refundable_vnd"] == 8000
        [(name, key_, data)] = await events(payments_url)
        assert name == "payments.payment.succeeded" and key_ == DOSSIER
        assert data["payment_id"] == payment["id"] and data["channel"] == "counter" and data["provider"] == "cash"
        assert data["amount_vnd"] == 8000 and data["procedure_code"] == "1.001193"

    async def test_confirming_again_is_harmless(self, client: httpx.AsyncClient, payments_url: str) -> None:
        payment = await create(client, "desk", channel="postal", provider=None)
        for _ in range(2):
            response = await client.post(f"/payments/{payment['id']}/confirm", headers=AUTH["desk"])
            assert response.status_code == 200 and response.json()["status"] == "succeeded"
        assert await event_names(payments_url) == ["payments.payment.succeeded"]

    async def test_an_online_payment_is_settled_by_its_provider_only(self, client: httpx.AsyncClient) -> None:
        payment = await create(client)
        response = await client.post(f"/payments/{payment['id']}/confirm", headers=AUTH["desk"])
        assert_problem(response, 409, "transition_not_allowed")

    async def test_only_the_desk_confirms(self, client: httpx.AsyncClient) -> None:
        payment = await create(client, "desk", channel="counter")
        for who in ("portal", "handler", "ops"):
            response = await client.post(f"/payments/{payment['id']}/confirm", headers=AUTH[who])
            assert_problem(response, 403, "forbidden")
        assert_problem(await client.post("/payments/nope/confirm", headers=AUTH["desk"]), 404, "payment_not_found")

    async def test_a_receipt_recorded_later_keeps_its_time(self, client: httpx.AsyncClient, payments_url: str) -> None:
        payment = await create(client, "desk", channel="counter", provider="cash")
        # The money came in the instant the intent was created and is keyed in later: that instant is kept.
        at = payment["created_at"]
        response = await client.post(f"/payments/{payment['id']}/confirm", json={"at": at}, headers=AUTH["desk"])
        assert response.status_code == 200, response.text
        assert datetime.fromisoformat(response.json()["succeeded_at"]) == datetime.fromisoformat(at)
        [(_, _, data)] = await events(payments_url)
        assert datetime.fromisoformat(data["at"]) == datetime.fromisoformat(at)

    async def test_a_paper_payment_keyed_in_the_next_morning_keeps_both_times(
        self, client: httpx.AsyncClient, payments_url: str
    ) -> None:
        # Cash taken at the counter yesterday at 16:00, both the request and the receipt keyed in this morning: the
        # intent keeps 16:00 and the confirmation 16:05, so the payment lands in yesterday's period.
        taken = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
        payment = await create(client, "desk", channel="counter", provider="cash", at=taken.isoformat())
        assert datetime.fromisoformat(payment["created_at"]) == taken
        paid = (taken + timedelta(minutes=5)).isoformat()
        response = await client.post(f"/payments/{payment['id']}/confirm", json={"at": paid}, headers=AUTH["desk"])
        assert response.status_code == 200, response.text
        [(_, _, data)] = await events(payments_url)
        assert datetime.fromisoformat(data["at"]) == datetime.fromisoformat(paid)

    @pytest.mark.parametrize(
        ("changes", "reason"),
        [
            ({"channel": "counter", "provider": "cash", "shift": timedelta(days=1)}, "in the future"),
            ({"shift": timedelta(days=-1)}, "online payment starts when the citizen pays"),
        ],
    )
    async def test_a_creation_time_in_the_future_or_online_is_422_naming_at(
        self, client: httpx.AsyncClient, changes: dict[str, Any], reason: str
    ) -> None:
        fields = {k: v for k, v in changes.items() if k != "shift"}  # the parameters are shared by both backends
        at = (datetime.now(UTC) + changes["shift"]).isoformat()
        response = await client.post("/payments", json=intent(at=at, **fields), headers=AUTH["desk"] | key())
        problem = assert_problem(response, 422, "payment_rejected")
        assert fields_of(problem) == {"at"} and reason in problem["errors"][0]["msg"]

    @pytest.mark.parametrize(
        ("shift", "reason"),
        [(timedelta(days=-400), "before the payment was created"), (timedelta(days=1), "in the future")],
    )
    async def test_a_confirmation_before_creation_or_in_the_future_is_422_naming_at(
        self, client: httpx.AsyncClient, payments_url: str, shift: timedelta, reason: str
    ) -> None:
        payment = await create(client, "desk", channel="counter", provider="cash")
        at = (datetime.fromisoformat(payment["created_at"]) + shift).isoformat()
        response = await client.post(f"/payments/{payment['id']}/confirm", json={"at": at}, headers=AUTH["desk"])
        problem = assert_problem(response, 422, "payment_rejected")
        assert fields_of(problem) == {"at"} and reason in problem["errors"][0]["msg"]
        assert await events(payments_url) == []
        assert (await client.get(f"/payments/{payment['id']}", headers=AUTH["handler"])).json()["status"] == "created"

    async def test_a_naive_time_is_422_naming_at(self, client: httpx.AsyncClient) -> None:
        payment = await create(client, "desk", channel="counter", provider="cash")
        response = await client.post(
            f"/payments/{payment['id']}/confirm", json={"at": "2026-03-02T09:00:00"}, headers=AUTH["desk"]
        )
        assert fields_of(assert_problem(response, 422, "validation_error")) == {"body.at"} or fields_of(
            response.json()
        ) == {"at"}


class TestProviderCallback:
    async def test_a_provider_time_before_the_payment_was_created_is_422_naming_at(
        self, client: httpx.AsyncClient, payments_url: str
    ) -> None:
        # The payment is created now; a provider saying it succeeded on 1 Jan 2025 would move it into an old period.
        payment = await create(client)
        response = await callback(client, payment, at="2025-01-01T00:00:00+07:00")
        problem = assert_problem(response, 422, "payment_rejected")
        assert fields_of(problem) == {"at"} and "before the payment was created" in problem["detail"]
        assert await events(payments_url) == []
        # The provider's own time, not before creation, is kept.
        at = payment["created_at"]
        assert (await callback(client, payment, at=at)).status_code == 200
        [(_, _, data)] = await events(payments_url)
        assert datetime.fromisoformat(data["at"]) == datetime.fromisoformat(at)

    async def test_a_signed_success_publishes_payment_succeeded(
        self, client: httpx.AsyncClient, payments_url: str
    ) -> None:
        payment = await create(client)
        # The provider's time, given with its own offset: the instant the payment was created, seen from Hà Nội.
        provider_at = datetime.fromisoformat(payment["created_at"]).astimezone(timezone(timedelta(hours=7)))
        response = await callback(client, payment, provider_ref="PG-42", at=provider_at.isoformat())
        assert response.status_code == 200, response.text
        assert response.json() == {"payment_id": payment["id"], "status": "succeeded", "applied": True}
        [(name, _, data)] = await events(payments_url)
        assert name == "payments.payment.succeeded"
        assert data["channel"] == "online" and data["provider"] == PROVIDER
        assert datetime.fromisoformat(data["at"]) == provider_at and data["at"].endswith("Z")  # kept, in UTC
        stored = (await client.get(f"/payments/{payment['id']}", headers=AUTH["portal"])).json()
        assert stored["status"] == "succeeded" and stored["provider_ref"] == "PG-42"

    async def test_duplicate_callbacks_are_harmless(self, client: httpx.AsyncClient, payments_url: str) -> None:
        payment = await create(client)
        results = [(await callback(client, payment)).json()["applied"] for _ in range(3)]
        assert results == [True, False, False]
        assert await event_names(payments_url) == ["payments.payment.succeeded"]

    async def test_a_failure_publishes_payment_failed(self, client: httpx.AsyncClient, payments_url: str) -> None:
        payment = await create(client)
        response = await callback(client, payment, "failed", reason="Thẻ bị từ chối")
        assert response.json()["status"] == "failed"
        again = await callback(client, payment, "failed", reason="Thẻ bị từ chối")
        assert again.json()["applied"] is False
        [(name, _, data)] = await events(payments_url)
        assert name == "payments.payment.failed" and data["reason"] == "Thẻ bị từ chối"
        assert data["payment_id"] == payment["id"] and data["amount_vnd"] == 8000

    async def test_a_success_after_a_failure_is_409(self, client: httpx.AsyncClient, payments_url: str) -> None:
        payment = await create(client)
        await callback(client, payment, "failed")
        problem = assert_problem(await callback(client, payment), 409, "transition_not_allowed")
        assert problem["state"] == "failed" and problem["command"] == "succeed"
        assert await event_names(payments_url) == ["payments.payment.failed"]

    @pytest.mark.parametrize(
        "signature",
        [None, "", "deadbeef", "sha256=" + "0" * 64, sign("wrong-secret", b"{}")],
    )
    async def test_a_bad_signature_is_401_and_changes_nothing(
        self, client: httpx.AsyncClient, payments_url: str, signature: str | None
    ) -> None:
        payment = await create(client)
        raw = json.dumps({"payment_id": payment["id"], "status": "succeeded", "amount_vnd": 8000}).encode()
        headers = {"Content-Type": "application/json"}
        if signature is not None:
            headers["X-Signature"] = signature
        response = await client.post(f"/callbacks/{PROVIDER}", content=raw, headers=headers)
        assert_problem(response, 401, "bad_signature")
        assert (await client.get(f"/payments/{payment['id']}", headers=AUTH["desk"])).json()["status"] == "created"
        assert await events(payments_url) == []

    async def test_a_body_changed_after_signing_does_not_verify(self, client: httpx.AsyncClient) -> None:
        payment = await create(client)
        raw, headers = signed({"payment_id": payment["id"], "status": "succeeded", "amount_vnd": 8000})
        tampered = raw.replace(b"succeeded", b"failed")
        assert_problem(
            await client.post(f"/callbacks/{PROVIDER}", content=tampered, headers=headers), 401, "bad_signature"
        )

    async def test_the_prefixed_form_verifies(self, client: httpx.AsyncClient) -> None:
        payment = await create(client)
        raw = json.dumps({"payment_id": payment["id"], "status": "succeeded", "amount_vnd": 8000}).encode()
        headers = {"X-Signature": "sha256=" + sign(SECRET, raw)}
        assert (await client.post(f"/callbacks/{PROVIDER}", content=raw, headers=headers)).status_code == 200

    async def test_an_unknown_provider_is_404(self, client: httpx.AsyncClient) -> None:
        raw, headers = signed({"payment_id": "x", "status": "succeeded", "amount_vnd": 1})
        assert_problem(await client.post("/callbacks/nobody", content=raw, headers=headers), 404, "provider_unknown")

    async def test_another_providers_payment_is_409(self, client: httpx.AsyncClient) -> None:
        payment = await create(client)
        assert_problem(await callback(client, payment, provider=OTHER_PROVIDER), 409, "provider_mismatch")

    async def test_another_amount_is_409(self, client: httpx.AsyncClient, payments_url: str) -> None:
        payment = await create(client)
        problem = assert_problem(await callback(client, payment, amount_vnd=800), 409, "amount_mismatch")
        assert problem["amount_vnd"] == 8000
        assert await events(payments_url) == []

    async def test_a_signed_but_malformed_notification_is_422(self, client: httpx.AsyncClient) -> None:
        raw, headers = signed({"payment_id": "x", "status": "maybe", "amount_vnd": "lots"})
        response = await client.post(f"/callbacks/{PROVIDER}", content=raw, headers=headers)
        assert fields_of(assert_problem(response, 422, "payment_rejected")) == {"status", "amount_vnd"}

    async def test_an_unknown_payment_is_404(self, client: httpx.AsyncClient) -> None:
        raw, headers = signed({"payment_id": "nope", "status": "succeeded", "amount_vnd": 1})
        assert_problem(
            await client.post(f"/callbacks/{PROVIDER}", content=raw, headers=headers), 404, "payment_not_found"
        )


class TestRefunds:
    async def test_partial_refunds_then_the_rest(self, client: httpx.AsyncClient, payments_url: str) -> None:
        payment = await paid(client, amount_vnd=8000)
        path = f"/payments/{payment['id']}/refunds"
        first = await client.post(path, json={"amount_vnd": 3000, "reason": "Thu thừa"}, headers=AUTH["handler"])
        assert first.status_code == 201, first.text
        assert first.json()["payment"]["status"] == "partially_refunded"
        assert first.json()["payment"]["refundable_vnd"] == 5000
        rest = await client.post(path, json={"amount_vnd": 5000, "reason": "Hủy hồ sơ"}, headers=AUTH["ops"])
        assert rest.json()["payment"]["status"] == "refunded" and rest.json()["payment"]["refunded_vnd"] == 8000
        refunds = [(d["amount_vnd"], d["reason"]) for n, _, d in await events(payments_url) if n.endswith("refunded")]
        assert refunds == [(3000, "Thu thừa"), (5000, "Hủy hồ sơ")]
        more = await client.post(path, json={"amount_vnd": 1, "reason": "x"}, headers=AUTH["ops"])
        assert assert_problem(more, 409, "transition_not_allowed")["state"] == "refunded"

    async def test_a_refund_recorded_later_keeps_its_time(self, client: httpx.AsyncClient, payments_url: str) -> None:
        payment = await paid(client, amount_vnd=8000)
        path = f"/payments/{payment['id']}/refunds"
        succeeded_at = datetime.fromisoformat(
            (await client.get(f"/payments/{payment['id']}", headers=AUTH["handler"])).json()["succeeded_at"]
        )
        for at, reason in (
            (succeeded_at - timedelta(seconds=1), "before the payment succeeded"),
            (datetime.now(UTC) + timedelta(days=1), "in the future"),
        ):
            body = {"amount_vnd": 1000, "reason": "x", "at": at.isoformat()}
            response = await client.post(path, json=body, headers=AUTH["handler"])
            problem = assert_problem(response, 422, "payment_rejected")
            assert fields_of(problem) == {"at"} and reason in problem["errors"][0]["msg"]
        body = {"amount_vnd": 1000, "reason": "x", "at": succeeded_at.isoformat()}
        response = await client.post(path, json=body, headers=AUTH["handler"])
        assert response.status_code == 201 and response.json()["payment"]["refunded_vnd"] == 1000
        [refunded] = [d for n, _, d in await events(payments_url) if n.endswith("refunded")]
        assert datetime.fromisoformat(refunded["at"]) == succeeded_at

    async def test_more_than_is_left_is_409(self, client: httpx.AsyncClient) -> None:
        payment = await paid(client)
        response = await client.post(
            f"/payments/{payment['id']}/refunds", json={"amount_vnd": 8001, "reason": "x"}, headers=AUTH["handler"]
        )
        assert assert_problem(response, 409, "refund_exceeds_payment")["refundable_vnd"] == 8000

    @pytest.mark.parametrize("outcome", ["created", "failed"])
    async def test_a_payment_that_took_no_money_cannot_be_refunded(
        self, client: httpx.AsyncClient, outcome: str
    ) -> None:
        payment = await create(client)
        if outcome == "failed":
            await callback(client, payment, "failed")
        response = await client.post(
            f"/payments/{payment['id']}/refunds", json={"amount_vnd": 1, "reason": "x"}, headers=AUTH["handler"]
        )
        assert assert_problem(response, 409, "transition_not_allowed")["state"] == outcome

    async def test_a_retried_refund_with_its_key_is_harmless(
        self, client: httpx.AsyncClient, payments_url: str
    ) -> None:
        payment = await paid(client)
        headers = AUTH["handler"] | key()
        body = {"amount_vnd": 1000, "reason": "Thu thừa"}
        first = await client.post(f"/payments/{payment['id']}/refunds", json=body, headers=headers)
        again = await client.post(f"/payments/{payment['id']}/refunds", json=body, headers=headers)
        assert first.status_code == 201 and again.status_code == 200 and again.json()["id"] == first.json()["id"]
        assert (await event_names(payments_url)).count("payments.payment.refunded") == 1
        other = await client.post(
            f"/payments/{payment['id']}/refunds", json={"amount_vnd": 2000, "reason": "x"}, headers=headers
        )
        assert_problem(other, 409, "idempotency_key_reused")

    async def test_refunds_are_for_handlers_and_ops(self, client: httpx.AsyncClient) -> None:
        payment = await paid(client)
        for who in ("desk", "portal"):
            response = await client.post(
                f"/payments/{payment['id']}/refunds", json={"amount_vnd": 1, "reason": "x"}, headers=AUTH[who]
            )
            assert_problem(response, 403, "forbidden")

    async def test_the_dossier_summary_nets_refunds(self, client: httpx.AsyncClient) -> None:
        await client.post("/assessments", json=assessment(10_000), headers=AUTH["desk"])
        await create(client, amount_vnd=10_000)  # an abandoned intent does not count
        payment = await paid(client, amount_vnd=10_000)
        await client.post(
            f"/payments/{payment['id']}/refunds", json={"amount_vnd": 2_500, "reason": "x"}, headers=AUTH["ops"]
        )
        fees = (await client.get(f"/dossiers/{DOSSIER}/fees", headers=AUTH["portal"])).json()
        assert (fees["assessed_vnd"], fees["paid_vnd"], fees["refunded_vnd"], fees["outstanding_vnd"]) == (
            10_000,
            7_500,
            2_500,
            2_500,
        )
        assert [p["status"] for p in fees["payments"]] == ["created", "partially_refunded"]


class TestConcurrentRetries:
    async def test_two_requests_racing_with_one_key_make_one_intent(self, client: httpx.AsyncClient) -> None:
        headers = AUTH["portal"] | key()
        responses = await asyncio.gather(*(client.post("/payments", json=intent(), headers=headers) for _ in range(4)))
        assert sorted(r.status_code for r in responses) == [200, 200, 200, 201], [r.text for r in responses]
        assert len({r.json()["id"] for r in responses}) == 1
