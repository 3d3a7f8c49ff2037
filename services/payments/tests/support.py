"""Helpers shared by payments' API tests: bodies, signed callbacks, reading the outbox."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
from sqlalchemy import select

from libs.common.db import create_engine
from libs.common.messaging.tables import outbox
from libs.common.testing import AUTH
from libs.common.testing import assert_problem as assert_problem  # re-exported for this service's tests
from libs.common.testing import fields_of as fields_of
from services.payments.domain.signatures import sign

DOSSIER = "000.00.00.H56-260302-0001"
OTHER_DOSSIER = "000.00.12.H56-260302-0002"
PROVIDER = "paygov-sandbox"
OTHER_PROVIDER = "provincial-gw"
SECRETS = json.dumps({PROVIDER: "sandbox-secret-for-tests", OTHER_PROVIDER: "other-secret-for-tests"})
SECRET = json.loads(SECRETS)[PROVIDER]


def intent(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dossier_code": DOSSIER,
        "procedure_code": "1.001193",
        "amount_vnd": 8000,
        "channel": "online",
        "provider": PROVIDER,
    }
    body.update(changes)
    return body


def assessment(*amounts: int, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "dossier_code": DOSSIER,
        "procedure_code": "1.001193",
        "items": [{"name": f"Lệ phí {i}", "amount_vnd": a, "kind": "charge"} for i, a in enumerate(amounts or (8000,))],
    }
    body.update(changes)
    return body


def key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


async def create(client: httpx.AsyncClient, who: str = "portal", **changes: Any) -> dict[str, Any]:
    response = await client.post("/payments", json=intent(**changes), headers=AUTH[who] | key())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def signed(payload: dict[str, Any], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(payload).encode()
    return raw, {"X-Signature": sign(secret, raw), "Content-Type": "application/json"}


async def callback(
    client: httpx.AsyncClient,
    payment: dict[str, Any],
    status: str = "succeeded",
    provider: str = PROVIDER,
    **extra: Any,
) -> httpx.Response:
    payload = {"payment_id": payment["id"], "status": status, "amount_vnd": payment["amount_vnd"]} | extra
    raw, headers = signed(payload, json.loads(SECRETS)[provider])
    return await client.post(f"/callbacks/{provider}", content=raw, headers=headers)


async def paid(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    payment = await create(client, **changes)
    response = await callback(client, payment)
    assert response.status_code == 200, response.text
    return payment


async def events(url: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every outbox row as (event type without the prefix, Kafka key, payload data), in order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            stmt = select(outbox.c.type, outbox.c.key, outbox.c.payload).order_by(outbox.c.id)
            rows = (await conn.execute(stmt)).all()
    finally:
        await engine.dispose()
    return [(row.type.removeprefix("vn.motcua."), row.key, json.loads(row.payload)["data"]) for row in rows]


async def event_names(url: str) -> list[str]:
    return [name for name, _, _ in await events(url)]
