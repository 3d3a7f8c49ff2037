"""POST /dossiers/{code}/reuse and GET /dossiers/{code}/reuse, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from libs.common.testing import AUTH
from services.digitisation.tests.support import (
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
        assert data == {
            "holder_pseudonym": PERSON_PSEUDONYM,
            "type_code": "KQ001193",
            "dossier_code": LATER_DOSSIER,
            "component_code": "GKS",
            "at": data["at"],
        }

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


class TestTimeOfRecording:
    """docs/digitisation.md §Time: a step recorded later keeps its time; nothing in the future; a new version not
    older than the previous one; no re-use before the document was digitised."""

    async def test_a_scan_and_a_reuse_recorded_later_keep_their_time(
        self, client: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        # Scanned Mon 2 Mar 2026 09:00 (+07) = 02:00 UTC; a second version Fri 10 Apr 08:00 (+07) = 01:00 UTC;
        # re-used Fri 10 Apr 10:00 (+07) = 03:00 UTC: the re-use takes version 2, the newest digitised by then.
        first = await stored(client, at="2026-03-02T09:00:00+07:00")
        assert datetime.fromisoformat(str(first["created_at"])) == datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
        await stored(
            client, file_sha256=sha("v2"), dossier_code=None, component_code=None, at="2026-04-10T08:00:00+07:00"
        )
        response = await client.post(
            f"/dossiers/{LATER_DOSSIER}/reuse",
            json={"component_code": "GKS", "document_id": BIRTH, "at": "2026-04-10T10:00:00+07:00"},
            headers=AUTH["handler"],
        )
        assert response.status_code == 201, response.text
        assert response.json()["document_version"] == 2
        assert datetime.fromisoformat(response.json()["reused_at"]) == datetime(2026, 4, 10, 3, 0, tzinfo=UTC)
        stream = await events(digitisation_url)
        assert [data["at"][:19] for _, _, data in stream] == [
            "2026-03-02T02:00:00",
            "2026-04-10T01:00:00",
            "2026-04-10T03:00:00",
        ]

    async def test_a_reuse_between_two_versions_takes_the_version_of_that_time(self, client: httpx.AsyncClient) -> None:
        # Version 1 on 2 Mar, version 2 on 10 Apr: a re-use recorded for 1 Apr took version 1.
        await stored(client, at="2026-03-02T09:00:00+07:00")
        await stored(
            client, file_sha256=sha("v2"), dossier_code=None, component_code=None, at="2026-04-10T08:00:00+07:00"
        )
        response = await client.post(
            f"/dossiers/{LATER_DOSSIER}/reuse",
            json={"component_code": "GKS", "document_id": BIRTH, "at": "2026-04-01T10:00:00+07:00"},
            headers=AUTH["handler"],
        )
        assert response.status_code == 201 and response.json()["document_version"] == 1

    @pytest.mark.parametrize(
        ("changes", "reason"),
        [
            ({"at": "2099-01-01T00:00:00+07:00"}, "in the future"),
            ({"at": "2026-03-01T09:00:00+07:00"}, "before the document's previous version"),
            ({"at": "2026-03-02T09:00:00"}, "timezone"),
        ],
    )
    async def test_a_scan_at_an_impossible_time_is_422_naming_at(
        self, client: httpx.AsyncClient, digitisation_url: str, changes: dict[str, str], reason: str
    ) -> None:
        await stored(client, at="2026-03-02T09:00:00+07:00")
        before = await events(digitisation_url)
        response = await client.post(
            "/documents",
            json=document(file_sha256=sha("v2"), dossier_code=None, component_code=None, **changes),
            headers=AUTH["desk"],
        )
        assert response.status_code == 422, response.text
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert [e["field"].removeprefix("body.") for e in problem["errors"]] == ["at"]
        assert reason in problem["errors"][0]["msg"] or reason == "timezone"
        assert await events(digitisation_url) == before

    @pytest.mark.parametrize(
        ("at", "reason"),
        [("2099-01-01T00:00:00+07:00", "in the future"), ("2026-03-01T09:00:00+07:00", "before the document was")],
    )
    async def test_a_reuse_at_an_impossible_time_is_422_naming_at(
        self, client: httpx.AsyncClient, at: str, reason: str
    ) -> None:
        await stored(client, at="2026-03-02T09:00:00+07:00")
        response = await client.post(
            f"/dossiers/{LATER_DOSSIER}/reuse",
            json={"component_code": "GKS", "document_id": BIRTH, "at": at},
            headers=AUTH["handler"],
        )
        problem = assert_problem(response, 422, "document_rejected")
        assert fields_of(problem) == {"at"} and reason in problem["errors"][0]["msg"]
