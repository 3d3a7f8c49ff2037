"""Scopes on digitisation (docs/security.md, "Scoping"): documents attached to a dossier are its receiving agency's;
the holder view is for the holder's own request or an officer; every read and record is audited by pseudonym."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select

from libs.common.audit import audit_log
from libs.common.db import create_engine
from libs.common.testing import (
    api_keys,
    assert_audit_chain_names_an_altered_row,
    assert_problem,
    bearer,
    dossier_received,
    feed_dossier_agencies,
    running_app,
)
from services.digitisation.app import create_app
from services.digitisation.config import DigitisationSettings
from services.digitisation.tests.support import DOSSIER, PERSON, document

pytestmark = pytest.mark.asyncio

AGENCY, OUTSIDE, HANDLING = "000.00.00.H56", "000.00.12.H56", "000.00.21.H56"
KEYS = {
    "desk-a-key-000000000000000000000000": {"subject": "a.desk", "roles": ["desk_officer"], "agencies": [AGENCY]},
    "desk-x-key-000000000000000000000000": {"subject": "x.desk", "roles": ["desk_officer"], "agencies": [OUTSIDE]},
    "holder-key-0000000000000000000000000": {"subject": PERSON, "roles": ["portal"]},
    "stranger-key-00000000000000000000000": {"subject": "001299999999", "roles": ["portal"]},
    "noscope-key-000000000000000000000000": {"subject": "n.desk", "roles": ["desk_officer"]},
    "handler-h-key-000000000000000000000": {"subject": "h.handler", "roles": ["handler"], "agencies": [HANDLING]},
}
DESK_A, DESK_X, HOLDER, STRANGER, NO_SCOPE, HANDLER_H = (bearer(k) for k in KEYS)
DOC = f"{PERSON}.KQ001193"


@pytest_asyncio.fixture
async def scoped(digitisation_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = DigitisationSettings(database_url=digitisation_url, kafka_enabled=False, api_keys=api_keys(KEYS))
    async with running_app(create_app(settings)) as c:
        yield c


class TestDocuments:
    async def test_a_document_of_another_agencys_dossier_is_404(self, scoped: httpx.AsyncClient) -> None:
        assert (await scoped.post("/documents", json=document(), headers=DESK_A)).status_code == 201
        assert (await scoped.get(f"/documents/{DOC}", headers=DESK_A)).status_code == 200
        assert_problem(await scoped.get(f"/documents/{DOC}", headers=DESK_X), 404, "document_not_found")
        assert (await scoped.get(f"/dossiers/{DOSSIER}/reuse", headers=DESK_X)).json() == []

    async def test_recording_for_another_agencys_dossier_is_404(self, scoped: httpx.AsyncClient) -> None:
        assert_problem(await scoped.post("/documents", json=document(), headers=DESK_X), 404, "dossier_not_found")
        body = {"component_code": "GKS", "document_id": DOC}
        reuse = await scoped.post(f"/dossiers/{DOSSIER}/reuse", json=body, headers=DESK_X)
        assert_problem(reuse, 404, "dossier_not_found")


class TestHandlingAgency:
    async def test_the_handling_agency_of_a_dossier_received_elsewhere_sees_its_documents(
        self, scoped: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        assert (await scoped.post("/documents", json=document(), headers=DESK_A)).status_code == 201
        assert_problem(await scoped.get(f"/documents/{DOC}", headers=HANDLER_H), 404, "document_not_found")

        await feed_dossier_agencies(digitisation_url, dossier_received(DOSSIER, receiving=AGENCY, handling=HANDLING))
        assert (await scoped.get(f"/documents/{DOC}", headers=HANDLER_H)).status_code == 200
        body = {"component_code": "GKS", "document_id": DOC}
        reuse = await scoped.post(f"/dossiers/{DOSSIER}/reuse", json=body, headers=HANDLER_H)
        assert reuse.status_code == 201, reuse.text
        listed = await scoped.get(f"/dossiers/{DOSSIER}/reuse", headers=HANDLER_H)
        assert [r["component_code"] for r in listed.json()] == ["GKS"]
        assert_problem(await scoped.get(f"/documents/{DOC}", headers=DESK_X), 404, "document_not_found")
        assert (await scoped.get(f"/dossiers/{DOSSIER}/reuse", headers=DESK_X)).json() == []
        reuse = await scoped.post(f"/dossiers/{DOSSIER}/reuse", json={**body, "component_code": "X"}, headers=DESK_X)
        assert_problem(reuse, 404, "dossier_not_found")


class TestReceiptTime:
    async def test_nothing_is_attached_to_a_dossier_before_its_receipt(
        self, scoped: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        # The replica learns the receipt: 2026-03-02 02:00 UTC (09:00 in Hà Nội). Until then nothing is refused.
        assert (
            await scoped.post("/documents", json=document(at="2026-03-02T01:00:00Z"), headers=DESK_A)
        ).status_code == 201
        await feed_dossier_agencies(digitisation_url, dossier_received(DOSSIER, receiving=AGENCY, handling=HANDLING))
        # A second scan dated 08:59 in Hà Nội, one minute before the receipt: refused, naming `at`.
        early = document(at="2026-03-02T01:59:00Z", file_sha256="b" * 64)
        assert_problem(await scoped.post("/documents", json=early, headers=DESK_A), 422, "document_rejected")
        on_time = document(at="2026-03-02T02:00:00Z", file_sha256="b" * 64)
        assert (await scoped.post("/documents", json=on_time, headers=DESK_A)).status_code == 201
        body = {"component_code": "GKS2", "document_id": DOC, "at": "2026-03-02T01:30:00Z"}
        reuse = await scoped.post(f"/dossiers/{DOSSIER}/reuse", json=body, headers=DESK_A)
        assert [e["field"] for e in assert_problem(reuse, 422, "document_rejected")["errors"]] == ["at"]


class TestHolderView:
    async def test_the_holder_or_an_officer_only(self, scoped: httpx.AsyncClient) -> None:
        assert (await scoped.post("/documents", json=document(), headers=DESK_A)).status_code == 201
        for headers in (HOLDER, DESK_A, DESK_X):
            response = await scoped.get(f"/holders/{PERSON}/documents", headers=headers)
            assert [d["id"] for d in response.json()["documents"]] == [DOC], headers
        for headers in (STRANGER, NO_SCOPE):
            assert_problem(await scoped.get(f"/holders/{PERSON}/documents", headers=headers), 403, "forbidden")
        assert (await scoped.get(f"/documents/{DOC}", headers=HOLDER)).status_code == 200
        assert_problem(await scoped.get(f"/documents/{DOC}", headers=STRANGER), 404, "document_not_found")

    async def test_reads_are_audited_without_the_identity_number(
        self, scoped: httpx.AsyncClient, digitisation_url: str
    ) -> None:
        assert (await scoped.post("/documents", json=document(), headers=DESK_A)).status_code == 201
        await scoped.get(f"/holders/{PERSON}/documents", headers=DESK_X)
        await scoped.get(f"/documents/{DOC}", headers=HOLDER)
        engine = create_engine(digitisation_url)
        try:
            async with engine.connect() as conn:
                rows = (await conn.execute(select(audit_log).order_by(audit_log.c.id))).all()
        finally:
            await engine.dispose()
        assert [(r.action, r.subject_kind, r.actor_agency) for r in rows] == [
            ("create", "document", AGENCY),
            ("read", "holder", OUTSIDE),
            ("read", "document", None),
        ]
        assert all(PERSON not in f"{r.subject_id}{r.detail}{r.actor}" for r in rows)
        await assert_audit_chain_names_an_altered_row("digitisation", digitisation_url, rows=3)
