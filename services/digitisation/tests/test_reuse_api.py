"""POST /dossiers/{code}/reuse and GET /dossiers/{code}/reuse, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from libs.common.testing import AUTH
from services.digitisation.tests.support import DOSSIER, PERSON, assert_problem, document, events, fields_of, sha

pytestmark = pytest.mark.asyncio

BIRTH = f"{PERSON}.KQ001193"
LATER_DOSSIER = "000.00.00.H56-260410-0007"


async def stored(client: httpx.AsyncClient, **changes: object) -> dict[str, object]:
    response = await client.post("/documents", json=document(**changes), headers=AUTH["desk"])
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


class TestRecordReuse:
    async def test_a_component_taken_from_the_warehouse_publishes_document_reused(
        self, client: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        await stored(client)
        await stored(client, file_sha256=sha("v2"), dossier_code=None, component_code=None)
        response = await client.post(
            f"/dossiers/{LATER_DOSSIER}/reuse",
            json={"component_code": "GKS", "document_id": BIRTH},
            headers=AUTH["handler"],
        )
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["document_version"] == 2 and body["dossier_code"] == LATER_DOSSIER
        name, key, data = (await events(digitisation_url))[-1]
        assert name == "digitisation.document.reused" and key == LATER_DOSSIER
        assert data == {"document_id": BIRTH, "dossier_code": LATER_DOSSIER, "component_code": "GKS", "at": data["at"]}

    async def test_the_same_component_and_document_again_is_harmless(
        self, client: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        await stored(client)
        body = {"component_code": "GKS", "document_id": BIRTH}
        first = await client.post(f"/dossiers/{LATER_DOSSIER}/reuse", json=body, headers=AUTH["desk"])
        again = await client.post(f"/dossiers/{LATER_DOSSIER}/reuse", json=body, headers=AUTH["desk"])
        assert first.status_code == 201 and again.status_code == 200, again.text
        assert again.json() == first.json()
        assert [n for n, _, _ in await events(digitisation_url)].count("digitisation.document.reused") == 1

    async def test_another_document_for_a_recorded_component_is_409(
        self, client: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        await stored(client)
        await stored(client, type_code="CCCD", file_sha256=sha("cccd"), dossier_code=None, component_code=None)
        path = f"/dossiers/{LATER_DOSSIER}/reuse"
        assert (
            await client.post(path, json={"component_code": "GKS", "document_id": BIRTH}, headers=AUTH["desk"])
        ).is_success
        response = await client.post(
            path, json={"component_code": "GKS", "document_id": f"{PERSON}.CCCD"}, headers=AUTH["desk"]
        )
        assert assert_problem(response, 409, "reuse_conflict")["document_id"] == BIRTH
        assert len(await events(digitisation_url)) == 3

    async def test_an_unknown_document_is_404(self, client: httpx.AsyncClient, digitisation_url: str) -> None:
        response = await client.post(
            f"/dossiers/{DOSSIER}/reuse", json={"component_code": "GKS", "document_id": BIRTH}, headers=AUTH["desk"]
        )
        assert_problem(response, 404, "document_not_found")
        assert await events(digitisation_url) == []

    @pytest.mark.parametrize(
        ("changes", "validity"),
        [
            ({"valid_until": (date.today() - timedelta(days=2)).isoformat()}, "expired"),
            ({"signed": False}, "unsigned"),
        ],
    )
    async def test_a_document_not_offered_is_409(
        self, client: httpx.AsyncClient, changes: dict[str, object], validity: str
    ) -> None:
        await stored(client, **changes)
        response = await client.post(
            f"/dossiers/{LATER_DOSSIER}/reuse",
            json={"component_code": "GKS", "document_id": BIRTH},
            headers=AUTH["desk"],
        )
        assert assert_problem(response, 409, "document_not_offered")["validity"] == validity

    async def test_malformed_codes_are_422_naming_the_field(self, client: httpx.AsyncClient) -> None:
        bad_dossier = await client.post(
            "/dossiers/not-a-dossier/reuse", json={"component_code": "GKS", "document_id": BIRTH}, headers=AUTH["desk"]
        )
        assert fields_of(assert_problem(bad_dossier, 422, "document_rejected")) == {"dossier_code"}
        bad_document = await client.post(
            f"/dossiers/{DOSSIER}/reuse",
            json={"component_code": "GKS", "document_id": "KQ001193"},
            headers=AUTH["desk"],
        )
        assert fields_of(assert_problem(bad_document, 422, "document_rejected")) == {"document_id"}
        missing = await client.post(f"/dossiers/{DOSSIER}/reuse", json={"document_id": BIRTH}, headers=AUTH["desk"])
        assert fields_of(assert_problem(missing, 422, "validation_error")) == {"component_code"}

    async def test_the_portal_cannot_record_reuse(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            f"/dossiers/{DOSSIER}/reuse", json={"component_code": "GKS", "document_id": BIRTH}, headers=AUTH["portal"]
        )
        assert_problem(response, 403, "forbidden")


class TestListReuse:
    async def test_the_components_of_a_dossier_taken_from_the_warehouse(self, client: httpx.AsyncClient) -> None:
        await stored(client)
        await stored(client, type_code="CCCD", file_sha256=sha("cccd"), dossier_code=None, component_code=None)
        for component, doc in (("TP2", f"{PERSON}.CCCD"), ("GKS", BIRTH)):
            response = await client.post(
                f"/dossiers/{LATER_DOSSIER}/reuse",
                json={"component_code": component, "document_id": doc},
                headers=AUTH["desk"],
            )
            assert response.status_code == 201
        listed = await client.get(f"/dossiers/{LATER_DOSSIER}/reuse", headers=AUTH["handler"])
        assert [(r["component_code"], r["document_id"]) for r in listed.json()] == [
            ("GKS", BIRTH),
            ("TP2", f"{PERSON}.CCCD"),
        ]
        empty = await client.get(f"/dossiers/{DOSSIER}/reuse", headers=AUTH["handler"])
        assert empty.status_code == 200 and empty.json() == []
