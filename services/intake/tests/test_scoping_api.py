"""Scopes on intake's dossiers (docs/security.md, "Scoping"): an officer sees and changes only dossiers received,
handled or held by an agency of their scope; the portal acts only on the dossiers it submitted; every read and change
of a dossier is audited, and the applicant sees which agencies read their data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import update

from libs.common.audit import audit_log, seal, verify
from libs.common.db import create_engine, session_factory
from libs.common.testing import AUTH, api_keys, assert_problem, bearer, fields_of, running_app
from services.intake.app import create_app
from services.intake.config import IntakeSettings
from services.intake.tests.support import AGENCY, OTHER_AGENCY, dossier, send

pytestmark = pytest.mark.asyncio

OUTSIDE = "000.00.12.H56"  # a third agency: neither receives, handles nor holds the test dossiers

KEYS = {
    "desk-a-key-000000000000000000000000": {"subject": "a.desk", "roles": ["desk_officer"], "agencies": [AGENCY]},
    "handler-a-key-000000000000000000000": {"subject": "a.handler", "roles": ["handler"], "agencies": [AGENCY]},
    "handler-o-key-000000000000000000000": {"subject": "o.handler", "roles": ["handler"], "agencies": [OTHER_AGENCY]},
    "desk-x-key-000000000000000000000000": {"subject": "x.desk", "roles": ["desk_officer"], "agencies": [OUTSIDE]},
    "handler-x-key-000000000000000000000": {"subject": "x.handler", "roles": ["handler"], "agencies": [OUTSIDE]},
    "leader-x-key-00000000000000000000000": {"subject": "x.leader", "roles": ["leader"], "agencies": OUTSIDE},
    "portal-1-key-000000000000000000000000": {"subject": "portal.one", "roles": ["portal"]},
    "portal-2-key-000000000000000000000000": {"subject": "portal.two", "roles": ["portal"]},
}
DESK_A, HANDLER_A, HANDLER_O, DESK_X, HANDLER_X, LEADER_X, PORTAL_1, PORTAL_2 = (bearer(k) for k in KEYS)


@pytest_asyncio.fixture
async def scoped(intake_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = IntakeSettings(
        database_url=intake_url, kafka_enabled=False, overdue_check_seconds=0, api_keys=api_keys(KEYS)
    )
    async with running_app(create_app(settings)) as c:
        yield c


async def _received(client: httpx.AsyncClient, headers: dict[str, str] = DESK_A) -> str:
    response = await client.post("/dossiers", json=dossier(), headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["code"])


class TestOfficerScope:
    async def test_a_dossier_of_another_agency_is_404_like_a_missing_one(self, scoped: httpx.AsyncClient) -> None:
        code = await _received(scoped)
        assert (await scoped.get(f"/dossiers/{code}", headers=HANDLER_A)).status_code == 200
        outside = assert_problem(await scoped.get(f"/dossiers/{code}", headers=HANDLER_X), 404, "dossier_not_found")
        missing = assert_problem(
            await scoped.get("/dossiers/000.00.00.H56-260302-9999", headers=HANDLER_X), 404, "dossier_not_found"
        )
        assert outside["title"] == missing["title"]
        for path in ("control-sheet", "forms/01.html"):
            assert_problem(await scoped.get(f"/dossiers/{code}/{path}", headers=HANDLER_X), 404, "dossier_not_found")

    async def test_authentication_comes_before_the_look_up(self, scoped: httpx.AsyncClient) -> None:
        code = await _received(scoped)
        for path in (f"/dossiers/{code}", "/dossiers/000.00.00.H56-260302-9999"):
            assert_problem(await scoped.get(path), 401, "unauthorized")
        assert_problem(await scoped.post(f"/dossiers/{code}/refusal", json={"reason": "x"}), 401, "unauthorized")

    async def test_lists_hold_only_the_scope(self, scoped: httpx.AsyncClient) -> None:
        code = await _received(scoped)
        own = (await scoped.get("/dossiers", headers=HANDLER_A)).json()
        assert [d["code"] for d in own["items"]] == [code]
        for headers in (HANDLER_X, LEADER_X):
            other = (await scoped.get("/dossiers", headers=headers)).json()
            assert (other["items"], other["total"]) == ([], 0)
        # naming another agency in the filter does not widen the scope
        assert (await scoped.get(f"/dossiers?agency={AGENCY}", headers=HANDLER_X)).json()["total"] == 0

    async def test_cross_agency_commands_are_404_and_change_nothing(self, scoped: httpx.AsyncClient) -> None:
        code = await _received(scoped)
        for command in ("transfer", "refuse", "stop", "request_supplement"):
            assert_problem(await send_as(scoped, code, command, HANDLER_X), 404, "dossier_not_found")
        assert_problem(await send_as(scoped, code, "withdraw", DESK_X), 404, "dossier_not_found")
        assert (await scoped.get(f"/dossiers/{code}", headers=HANDLER_A)).json()["status"] == "received"

    async def test_the_agency_a_dossier_is_transferred_to_counts_as_own(self, scoped: httpx.AsyncClient) -> None:
        code = await _received(scoped)
        assert_problem(await scoped.get(f"/dossiers/{code}", headers=HANDLER_O), 404, "dossier_not_found")
        assert (await send_as(scoped, code, "transfer", HANDLER_A)).status_code == 200
        assert (await scoped.get(f"/dossiers/{code}", headers=HANDLER_O)).status_code == 200
        # and the receiving agency keeps it
        assert (await scoped.get(f"/dossiers/{code}", headers=HANDLER_A)).status_code == 200

    async def test_a_desk_cannot_receive_for_another_agency(self, scoped: httpx.AsyncClient) -> None:
        assert_problem(await scoped.post("/dossiers", json=dossier(), headers=DESK_X), 403, "forbidden")


async def send_as(client: httpx.AsyncClient, code: str, command: str, headers: dict[str, str]) -> httpx.Response:
    from services.intake.tests.support import COMMANDS, body_of

    return await client.post(f"/dossiers/{code}/{COMMANDS[command][0]}", json=body_of(command), headers=headers)


class TestQueueFormsStats:
    async def test_tickets_of_another_agency_are_404_and_cannot_be_issued(self, scoped: httpx.AsyncClient) -> None:
        body = {"agency_code": AGENCY, "desk": "Q1"}
        assert_problem(await scoped.post("/queue/tickets", json=body, headers=DESK_X), 403, "forbidden")
        ticket = await scoped.post("/queue/tickets", json=body, headers=DESK_A)
        assert ticket.status_code == 201, ticket.text
        tid = ticket.json()["id"]
        outside = await scoped.post(f"/queue/tickets/{tid}/call", json={}, headers=DESK_X)
        assert_problem(outside, 404, "ticket_not_found")
        assert (await scoped.post(f"/queue/tickets/{tid}/call", json={}, headers=DESK_A)).status_code == 200

    async def test_tracking_book_and_counts_hold_only_the_scope(self, scoped: httpx.AsyncClient) -> None:
        code = await _received(scoped)
        query = f"/tracking-book.csv?agency={AGENCY}&year=2026"
        assert code in (await scoped.get(query, headers=HANDLER_A)).text
        outside = await scoped.get(query, headers=HANDLER_X)
        assert outside.status_code == 200
        assert code not in outside.text
        bad = await scoped.get("/tracking-book.csv?agency=%19x&year=2026", headers=HANDLER_A)
        # found by schemathesis: was a 500; now refused before routing (libs.common.validation.CleanParameters)
        assert fields_of(assert_problem(bad, 422, "validation_error")) == {"agency"}
        stats = "/stats/dossiers?from=2026-03-01&to=2026-03-31"
        assert [a["agency_code"] for a in (await scoped.get(stats, headers=HANDLER_A)).json()["agencies"]] == [AGENCY]
        assert (await scoped.get(stats, headers=HANDLER_X)).json()["agencies"] == []
        reads = (await scoped.get(f"/public/dossiers/{code}/personal-data-reads?id_last4=2345")).json()["reads"]
        assert [(r["agency_code"], r["action"]) for r in reads] == [(AGENCY, "create"), (AGENCY, "export")]


class TestPortalOwnDossiers:
    async def test_a_portal_acts_only_on_what_it_submitted(self, scoped: httpx.AsyncClient) -> None:
        mine = await _received(scoped, PORTAL_1)
        counter = await _received(scoped, DESK_A)
        assert_problem(await send_as(scoped, mine, "withdraw", PORTAL_2), 404, "dossier_not_found")
        assert_problem(await send_as(scoped, counter, "withdraw", PORTAL_1), 404, "dossier_not_found")
        assert (await send_as(scoped, mine, "withdraw", PORTAL_1)).status_code == 200

    async def test_supplement_rating_and_electronic_return_only(self, scoped: httpx.AsyncClient) -> None:
        code = await _received(scoped, PORTAL_1)
        for command in ("transfer", "request_supplement"):
            assert (await send_as(scoped, code, command, HANDLER_A)).status_code == 200
        assert_problem(await send_as(scoped, code, "receive_supplement", PORTAL_2), 404, "dossier_not_found")
        assert (await send_as(scoped, code, "receive_supplement", PORTAL_1)).status_code == 200
        assert (await send_as(scoped, code, "resolve", HANDLER_A)).status_code == 200
        counter = await scoped.post(f"/dossiers/{code}/return", json={"channel": "counter"}, headers=PORTAL_1)
        assert_problem(counter, 403, "forbidden")
        electronic = await scoped.post(f"/dossiers/{code}/return", json={"channel": "electronic"}, headers=PORTAL_2)
        assert_problem(electronic, 404, "dossier_not_found")
        electronic = await scoped.post(f"/dossiers/{code}/return", json={"channel": "electronic"}, headers=PORTAL_1)
        assert electronic.status_code == 200, electronic.text
        assert_problem(await send_as(scoped, code, "rate", PORTAL_2), 404, "dossier_not_found")
        assert (await send_as(scoped, code, "rate", PORTAL_1)).status_code == 200


class TestAudit:
    async def test_the_applicant_sees_which_agencies_read_their_data(self, scoped: httpx.AsyncClient) -> None:
        code = await _received(scoped)
        await scoped.get(f"/dossiers/{code}", headers=HANDLER_A)
        await scoped.get("/dossiers", headers=HANDLER_A)
        await scoped.get(f"/dossiers/{code}", headers=HANDLER_X)  # outside scope: nothing read, nothing recorded
        response = await scoped.get(f"/public/dossiers/{code}/personal-data-reads?id_last4=2345")
        assert response.status_code == 200, response.text
        reads = [(r["agency_code"], r["action"]) for r in response.json()["reads"]]
        assert reads == [(AGENCY, "create"), (AGENCY, "read"), (AGENCY, "read")]
        assert "a.handler" not in response.text  # agencies, never officers
        wrong = await scoped.get(f"/public/dossiers/{code}/personal-data-reads?id_last4=0000")
        assert_problem(wrong, 404, "dossier_not_found")
        assert_problem(
            await scoped.get(f"/public/dossiers/{code}/personal-data-reads?id_last4=12a4"), 422, "validation_error"
        )

    async def test_a_browser_gets_the_reads_as_a_page_from_the_citizens_page(self, scoped: httpx.AsyncClient) -> None:
        code = await _received(scoped)
        await scoped.get(f"/dossiers/{code}", headers=HANDLER_A)
        browser = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
        lookup = await scoped.get(f"/public/dossiers/{code}", headers=browser)
        # the look-up page asks for the last four digits and sends them here
        assert f'action="/public/dossiers/{code}/personal-data-reads"' in lookup.text
        assert 'name="id_last4"' in lookup.text
        page = await scoped.get(f"/public/dossiers/{code}/personal-data-reads?id_last4=2345", headers=browser)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        # two rows (created at receipt, read by the handler), newest first, each in Vietnamese, no officer named
        assert page.text.count("<tr><td>") == 2
        assert page.text.index("Xem") < page.text.index("Ghi mới")
        assert "a.handler" not in page.text
        wrong = await scoped.get(f"/public/dossiers/{code}/personal-data-reads?id_last4=0000", headers=browser)
        assert_problem(wrong, 404, "dossier_not_found")

    async def test_a_lifecycle_seals_and_verifies_and_an_altered_row_is_named(
        self, client: httpx.AsyncClient, intake_url: str
    ) -> None:
        code = await _received(client, AUTH["desk"])
        for command in ("transfer", "resolve", "return", "rate"):
            assert (await send(client, code, command)).status_code == 200
        assert (await client.get(f"/dossiers/{code}/control-sheet", headers=AUTH["handler"])).status_code == 200
        engine = create_engine(intake_url)
        sessions = session_factory(engine)
        try:
            async with sessions() as session, session.begin():
                assert await seal(session) == 6  # receipt, four commands, one read
            async with sessions() as session:
                check = await verify(session)
                assert (check.ok, check.checked, check.unsealed) == (True, 6, 0)
            assert _audit_script(intake_url).returncode == 0
            async with sessions() as session, session.begin():
                await session.execute(update(audit_log).where(audit_log.c.seq == 3).values(actor_agency="forged"))
                altered = (await session.execute(audit_log.select().where(audit_log.c.seq == 3))).one()
            async with sessions() as session:
                check = await verify(session)
                assert (check.ok, check.first_broken_id) == (False, altered.id)
        finally:
            await engine.dispose()
        result = _audit_script(intake_url)
        assert result.returncode == 1
        assert f"row id {altered.id}" in result.stderr


def _audit_script(url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MOTCUA_INTAKE_DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "scripts/audit.py", "verify", "intake"], env=env, capture_output=True, text=True, check=False
    )
