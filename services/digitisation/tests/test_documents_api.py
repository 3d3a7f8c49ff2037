"""POST /documents, GET /documents/{id}, GET /holders/{id_code}/documents, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import pytest

from libs.common.testing import AUTH
from services.digitisation.tests.support import (
    COMPANY,
    DOSSIER,
    PERSON,
    PERSON_PSEUDONYM,
    assert_problem,
    document,
    events,
    fields_of,
    sha,
)

pytestmark = pytest.mark.asyncio


class TestRecordDigitisation:
    async def test_a_scan_becomes_version_1_and_publishes_document_digitised(
        self, client: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        response = await client.post("/documents", json=document(), headers=AUTH["desk"])
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["id"] == f"{PERSON}.KQ001193" and body["version"] == 1
        assert body["validity"] == "valid" and body["signed"] is True
        [(name, key, data)] = await events(digitisation_url)
        assert name == "digitisation.document.digitised"
        assert key == DOSSIER  # one dossier's events share its partition
        assert data["holder_pseudonym"] == PERSON_PSEUDONYM and data["document_version"] == 1
        assert "document_id" not in data and PERSON not in repr(data)  # the id begins with the identity number
        assert data["dossier_code"] == DOSSIER and data["component_code"] == "GKS"
        assert data["type_code"] == "KQ001193" and data["signed"] is True

    async def test_another_document_of_the_same_type_gets_the_next_version(
        self, client: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        first = await client.post("/documents", json=document(), headers=AUTH["desk"])
        second = await client.post(
            "/documents",
            json=document(file_sha256=sha("scan-2"), dossier_code=None, component_code=None, source="e-result"),
            headers=AUTH["handler"],
        )
        assert first.status_code == 201 and second.status_code == 201, second.text
        assert second.json()["id"] == first.json()["id"] and second.json()["version"] == 2
        recorded = await events(digitisation_url)
        assert [d["document_version"] for _, _, d in recorded] == [1, 2]
        # a document digitised outside any dossier is keyed by its holder's pseudonym and its type
        assert recorded[1][1] == f"{PERSON_PSEUDONYM}.KQ001193" and recorded[1][2]["dossier_code"] is None

    async def test_the_same_file_for_the_same_component_is_a_retry(
        self, client: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        first = await client.post("/documents", json=document(), headers=AUTH["desk"])
        again = await client.post("/documents", json=document(), headers=AUTH["desk"])
        assert first.status_code == 201 and again.status_code == 200, again.text
        assert again.json()["version"] == 1
        assert len(await events(digitisation_url)) == 1

    async def test_an_organisation_holds_documents_under_its_enterprise_code(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/documents",
            json=document(holder_id_code=f"{COMPANY}-001", holder_kind="organisation", type_code="GPKD"),
            headers=AUTH["desk"],
        )
        assert response.status_code == 201, response.text
        assert response.json()["id"] == f"{COMPANY}-001.GPKD"

    async def test_an_unsigned_scan_is_recorded_but_not_offered(
        self, client: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        response = await client.post("/documents", json=document(signed=False), headers=AUTH["desk"])
        assert response.status_code == 201 and response.json()["validity"] == "unsigned"
        [(_, _, data)] = await events(digitisation_url)
        assert data["signed"] is False

    @pytest.mark.parametrize(
        ("changes", "fields"),
        [
            ({"holder_id_code": "000204012345"}, {"holder_id_code"}),
            ({"holder_id_code": "12345"}, {"holder_id_code"}),
            ({"holder_id_code": COMPANY}, {"holder_id_code"}),  # an enterprise code given as a person
            ({"type_code": "KQ.001193"}, {"type_code"}),
            ({"source": "e-result", "signed": False}, {"signed"}),
            ({"dossier_code": "260302-0001"}, {"dossier_code"}),
            ({"dossier_code": None}, {"dossier_code"}),  # a component without its dossier
            ({"holder_id_code": "1", "type_code": "a.b"}, {"holder_id_code", "type_code"}),
        ],
    )
    async def test_a_rule_broken_is_422_naming_the_field(
        self, client: httpx.AsyncClient, digitisation_url: str, changes: dict[str, object], fields: set[str]
    ) -> None:
        response = await client.post("/documents", json=document(**changes), headers=AUTH["desk"])
        problem = assert_problem(response, 422, "document_rejected")
        assert fields_of(problem) == fields
        assert await events(digitisation_url) == []

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"file_sha256": "XYZ"}, "file_sha256"),
            ({"source": "fax"}, "source"),
            ({"name": "Giấy khai sinh\u0000"}, "name"),  # a NUL byte: 422, never a database error
            ({"holder_kind": "robot"}, "holder_kind"),
        ],
    )
    async def test_a_malformed_payload_is_422_naming_the_field(
        self, client: httpx.AsyncClient, changes: dict[str, object], field: str
    ) -> None:
        response = await client.post("/documents", json=document(**changes), headers=AUTH["desk"])
        assert field in fields_of(assert_problem(response, 422, "validation_error"))

    @pytest.mark.parametrize("who", ["portal", "leader", "ops"])
    async def test_only_desk_officers_and_handlers_record(self, client: httpx.AsyncClient, who: str) -> None:
        assert_problem(await client.post("/documents", json=document(), headers=AUTH[who]), 403, "forbidden")

    async def test_without_a_key_it_is_401(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.post("/documents", json=document()), 401, "unauthorized")


class TestGetDocument:
    async def test_every_version_newest_first_with_the_offered_one(self, client: httpx.AsyncClient) -> None:
        for n in (1, 2, 3):
            body = document(file_sha256=sha(f"v{n}"), signed=n != 3)
            assert (await client.post("/documents", json=body, headers=AUTH["desk"])).status_code == 201
        response = await client.get(f"/documents/{PERSON}.KQ001193", headers=AUTH["handler"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert [v["version"] for v in body["versions"]] == [3, 2, 1]
        assert [v["validity"] for v in body["versions"]] == ["unsigned", "superseded", "superseded"]
        assert body["offered_version"] is None

    async def test_an_unknown_document_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"/documents/{PERSON}.NOPE", headers=AUTH["handler"])
        assert_problem(response, 404, "document_not_found")


class TestHolderDocuments:
    async def test_the_newest_valid_version_per_type(self, client: httpx.AsyncClient) -> None:
        yesterday = (date.today() - timedelta(days=2)).isoformat()
        next_year = (date.today() + timedelta(days=365)).isoformat()
        bodies = [
            document(file_sha256=sha("birth-1")),
            document(file_sha256=sha("birth-2"), dossier_code=None, component_code=None),
            document(type_code="GPLX", name="Giấy phép lái xe", file_sha256=sha("gplx"), valid_until=yesterday),
            document(type_code="CCCD", name="Căn cước", file_sha256=sha("cccd"), valid_until=next_year),
            document(type_code="HK", name="Sổ hộ khẩu", file_sha256=sha("hk"), signed=False),
            document(holder_id_code="079185123456", file_sha256=sha("someone else")),
        ]
        for body in bodies:
            assert (await client.post("/documents", json=body, headers=AUTH["desk"])).status_code == 201
        response = await client.get(f"/holders/{PERSON}/documents", headers=AUTH["handler"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["holder_kind"] == "person" and body["on"]
        assert [(d["type_code"], d["version"]) for d in body["documents"]] == [("CCCD", 1), ("KQ001193", 2)]
        assert all(d["validity"] == "valid" for d in body["documents"])

    async def test_a_holder_with_nothing_stored_gets_an_empty_list(self, client: httpx.AsyncClient) -> None:
        response = await client.get(f"/holders/{COMPANY}/documents", headers=AUTH["desk"])
        assert response.status_code == 200 and response.json()["documents"] == []
        assert response.json()["holder_kind"] == "organisation"

    async def test_a_malformed_identity_code_is_422_naming_it(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/holders/099204012345/documents", headers=AUTH["desk"])
        assert fields_of(assert_problem(response, 422, "invalid_input")) == {"id_code"}

    async def test_reading_needs_a_role(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"/holders/{PERSON}/documents", headers=AUTH["ops"]), 403, "forbidden")
        assert_problem(await client.get(f"/holders/{PERSON}/documents"), 401, "unauthorized")
