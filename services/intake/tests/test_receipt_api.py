from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from libs.common.db import create_engine
from libs.common.messaging.tables import outbox
from libs.common.testing import AUTH

pytestmark = pytest.mark.asyncio


def dossier(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "procedure_code": "1.001193",
        "receiving_agency_code": "000.00.00.H56",
        "channel": "online",
        "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn A"},
        "components": [{"code": "GKS", "form": "electronic", "digitised": True}],
        # Monday 2 March 2026, 09:00 in Hà Nội
        "at": "2026-03-02T09:00:00+07:00",
    }
    body.update(changes)
    return body


class TestReceiveDossier:
    async def test_receipt_assigns_the_code_and_the_appointment(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["code"] == "000.00.00.H56-260302-0001"
        # 3 working days after Monday 2 March (receipt day not counted): Thursday 5 March, same clock time.
        assert datetime.fromisoformat(body["due_at"]) == datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
        second = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
        assert second.json()["code"] == "000.00.00.H56-260302-0002"

    async def test_receipt_writes_the_received_event_to_the_outbox(
        self, client: httpx.AsyncClient, intake_url: str
    ) -> None:
        response = await client.post("/dossiers", json=dossier(), headers=AUTH["portal"])
        assert response.status_code == 201
        engine = create_engine(intake_url)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.type, outbox.c.key, outbox.c.payload))).all()
        await engine.dispose()
        assert [(r.type, r.key) for r in rows] == [("vn.motcua.intake.dossier.received", response.json()["code"])]
        data = json.loads(rows[0].payload)["data"]
        assert data["channel"] == "online" and data["has_fees"] is True
        assert data["components"] == [{"code": "GKS", "form": "electronic", "must_digitise": True, "digitised": True}]

    async def test_a_malformed_identity_number_is_a_422_naming_the_field(self, client: httpx.AsyncClient) -> None:
        bad = dossier(applicant={"kind": "person", "id_code": "12345", "name": "A"})
        response = await client.post("/dossiers", json=bad, headers=AUTH["desk"])
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["field"] == "applicant"
        assert "id_code" in problem["errors"][0]["msg"]

    async def test_a_malformed_procedure_code_names_the_field(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/dossiers", json=dossier(procedure_code="1001193"), headers=AUTH["desk"])
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["procedure_code"]

    async def test_an_unknown_procedure_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/dossiers", json=dossier(procedure_code="2.000999"), headers=AUTH["desk"])
        assert response.status_code == 404
        assert response.json()["code"] == "procedure_unknown"

    async def test_receiving_requires_a_desk_or_portal_role(self, client: httpx.AsyncClient) -> None:
        anonymous = await client.post("/dossiers", json=dossier())
        assert anonymous.status_code == 401
        assert anonymous.json()["code"] == "unauthorized"
        leader = await client.post("/dossiers", json=dossier(), headers=AUTH["leader"])
        assert leader.status_code == 403

    async def test_a_receipt_in_the_future_is_refused(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/dossiers", json=dossier(at="2099-01-01T09:00:00+07:00"), headers=AUTH["desk"])
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "at"


class TestOperations:
    async def test_health_readiness_and_metrics(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
        await client.get("/dossiers/nope", headers=AUTH["desk"])
        metrics = (await client.get("/metrics")).text
        assert 'route="/dossiers/{code}"' in metrics

    async def test_unknown_routes_answer_problem_json(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/no-such-thing")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-correlation-id"]
