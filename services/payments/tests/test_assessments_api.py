"""POST /assessments and GET /dossiers/{code}/fees, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from libs.common.testing import AUTH
from services.payments.tests.support import DOSSIER, assert_problem, assessment, events, fields_of

pytestmark = pytest.mark.asyncio


class TestAssessFees:
    async def test_an_assessment_publishes_fee_assessed(self, client: httpx.AsyncClient, payments_url: str) -> None:
        response = await client.post("/assessments", json=assessment(8000, 1_250_000), headers=AUTH["desk"])
        assert response.status_code == 201, response.text
        assert response.json()["total_vnd"] == 1_258_000 and response.json()["superseded_at"] is None
        [(name, key, data)] = await events(payments_url)
        assert name == "payments.fee.assessed" and key == DOSSIER
        assert data["total_vnd"] == 1_258_000 and data["procedure_code"] == "1.001193"
        assert [(i["name"], i["amount_vnd"], i["kind"]) for i in data["items"]] == [
            ("Lệ phí 0", 8000, "charge"),
            ("Lệ phí 1", 1_250_000, "charge"),
        ]

    async def test_a_control_character_in_a_fee_name_is_422(self, client: httpx.AsyncClient) -> None:
        body = assessment(8000)
        body["items"][0]["name"] = "Lệ phí\u0000"
        response = await client.post("/assessments", json=body, headers=AUTH["desk"])
        assert fields_of(assert_problem(response, 422, "validation_error")) == {"items.0.name"}

    async def test_the_same_fees_again_change_nothing(self, client: httpx.AsyncClient, payments_url: str) -> None:
        first = await client.post("/assessments", json=assessment(8000), headers=AUTH["desk"])
        again = await client.post("/assessments", json=assessment(8000), headers=AUTH["handler"])
        assert first.status_code == 201 and again.status_code == 200
        assert again.json()["id"] == first.json()["id"]
        assert len(await events(payments_url)) == 1

    async def test_a_reassessment_supersedes_the_one_in_force(
        self, client: httpx.AsyncClient, payments_url: str
    ) -> None:
        first = await client.post("/assessments", json=assessment(8000), headers=AUTH["desk"])
        second = await client.post("/assessments", json=assessment(8000, 2000), headers=AUTH["handler"])
        assert second.status_code == 201 and second.json()["id"] != first.json()["id"]
        assert [d["total_vnd"] for _, _, d in await events(payments_url)] == [8000, 10_000]
        fees = (await client.get(f"/dossiers/{DOSSIER}/fees", headers=AUTH["portal"])).json()
        assert fees["assessment"]["id"] == second.json()["id"] and fees["assessed_vnd"] == 10_000
        assert fees["outstanding_vnd"] == 10_000 and fees["payments"] == []

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"dossier_code": "H56-260302-0001"}, "dossier_code"),
            ({"procedure_code": "1001193"}, "procedure_code"),
            ({"items": []}, "items"),
            ({"items": [{"name": "Lệ phí", "amount_vnd": "8000"}]}, "items.0.amount_vnd"),
            ({"items": [{"name": "Lệ phí", "amount_vnd": 8000.5}]}, "items.0.amount_vnd"),
            ({"items": [{"name": "Lệ phí", "amount_vnd": -1}]}, "items.0.amount_vnd"),
            ({"items": [{"name": "Lệ phí", "amount_vnd": 1, "kind": "tax"}]}, "items.0.kind"),
        ],
    )
    async def test_a_malformed_assessment_is_422_naming_the_field(
        self, client: httpx.AsyncClient, payments_url: str, changes: dict[str, Any], field: str
    ) -> None:
        response = await client.post("/assessments", json=assessment(**changes), headers=AUTH["desk"])
        assert field in fields_of(assert_problem(response, 422, "validation_error"))
        assert await events(payments_url) == []

    @pytest.mark.parametrize("who", ["portal", "ops", "leader"])
    async def test_only_desk_officers_and_handlers_assess(self, client: httpx.AsyncClient, who: str) -> None:
        assert_problem(await client.post("/assessments", json=assessment(), headers=AUTH[who]), 403, "forbidden")


class TestDossierFees:
    async def test_a_dossier_without_fees(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"/dossiers/{DOSSIER}/fees", headers=AUTH["desk"])
        assert response.status_code == 200
        assert response.json() | {"dossier_code": DOSSIER} == {
            "dossier_code": DOSSIER,
            "assessment": None,
            "assessed_vnd": 0,
            "paid_vnd": 0,
            "refunded_vnd": 0,
            "outstanding_vnd": 0,
            "payments": [],
        }

    async def test_reading_needs_a_role(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"/dossiers/{DOSSIER}/fees"), 401, "unauthorized")
        assert_problem(await client.get(f"/dossiers/{DOSSIER}/fees", headers=AUTH["leader"]), 403, "forbidden")
