"""Idempotency-Key on receipt and on lifecycle commands: a retry gets the first answer and nothing happens twice;
the same key with another body is 409 (SQLite and PostgreSQL)."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from libs.common.db import create_engine
from libs.common.messaging.tables import outbox
from libs.common.testing import AUTH, assert_problem

pytestmark = pytest.mark.asyncio

DESK = AUTH["desk"]
HANDLER = AUTH["handler"]
BODY = {
    "procedure_code": "1.001193",
    "receiving_agency_code": "000.17.22.H56",
    "channel": "counter",
    "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn A"},
    "components": [{"code": "GKS", "form": "paper"}],
}


async def _events(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(select(func.count()).select_from(outbox))).scalar_one())
    finally:
        await engine.dispose()


class TestIdempotentReceipt:
    async def test_a_retry_returns_the_first_dossier(self, client: httpx.AsyncClient, intake_url: str) -> None:
        before = await _events(intake_url)
        first = await client.post("/dossiers", json=BODY, headers={**DESK, "Idempotency-Key": "desk-1-0001"})
        again = await client.post("/dossiers", json=BODY, headers={**DESK, "Idempotency-Key": "desk-1-0001"})
        assert first.status_code == again.status_code == 201
        assert again.json()["code"] == first.json()["code"]
        assert await _events(intake_url) == before + 1  # one DossierReceived, not two
        other = await client.post("/dossiers", json=BODY, headers={**DESK, "Idempotency-Key": "desk-1-0002"})
        assert other.json()["code"] != first.json()["code"]

    async def test_the_same_key_with_another_body_is_409(self, client: httpx.AsyncClient) -> None:
        await client.post("/dossiers", json=BODY, headers={**DESK, "Idempotency-Key": "k-1"})
        changed = {**BODY, "channel": "postal"}
        problem = assert_problem(
            await client.post("/dossiers", json=changed, headers={**DESK, "Idempotency-Key": "k-1"}),
            409,
            "idempotency_key_reused",
        )
        assert "Idempotency-Key" in problem["detail"]

    async def test_keys_belong_to_their_caller(self, client: httpx.AsyncClient) -> None:
        online = {**BODY, "channel": "online", "components": [{"code": "GKS", "form": "electronic"}]}
        mine = await client.post("/dossiers", json=online, headers={**DESK, "Idempotency-Key": "shared"})
        theirs = await client.post("/dossiers", json=online, headers={**AUTH["portal"], "Idempotency-Key": "shared"})
        assert mine.status_code == theirs.status_code == 201 and mine.json()["code"] != theirs.json()["code"]

    async def test_a_bad_key_is_422_naming_the_header(self, client: httpx.AsyncClient) -> None:
        problem = assert_problem(
            await client.post("/dossiers", json=BODY, headers={**DESK, "Idempotency-Key": "x" * 201}),
            422,
            "invalid_input",
        )
        assert problem["errors"][0]["field"] == "header.Idempotency-Key"


class TestIdempotentCommands:
    async def test_a_retried_result_is_recorded_once(self, client: httpx.AsyncClient, intake_url: str) -> None:
        code = (await client.post("/dossiers", json=BODY, headers=DESK)).json()["code"]
        result = {"decision": "approved", "electronic_result": True}
        before = await _events(intake_url)
        headers = {**HANDLER, "Idempotency-Key": f"{code}-result"}
        first = await client.post(f"/dossiers/{code}/result", json=result, headers=headers)
        again = await client.post(f"/dossiers/{code}/result", json=result, headers=headers)
        assert first.status_code == again.status_code == 200 and again.json() == first.json()
        assert await _events(intake_url) == before + 1
        # Without the key the retry is a second command, refused from the new state.
        assert_problem(
            await client.post(f"/dossiers/{code}/result", json=result, headers=HANDLER), 409, "transition_not_allowed"
        )
