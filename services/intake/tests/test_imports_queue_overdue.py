"""Bulk import of historical dossiers, the counter queue, and the overdue job."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from libs.common.db import create_engine, session_factory
from libs.common.testing import AUTH, assert_problem
from services.intake.dossiers.overdue import check_overdue, publish_overdue
from services.intake.tests.support import dossier, dossier_in, events_of, receive, send

pytestmark = pytest.mark.asyncio


def history(**changes: Any) -> dict[str, Any]:
    row = dossier(at="2026-03-02T09:00:00+07:00")
    row["steps"] = [
        {"command": "transfer", "to_agency_code": "000.17.22.H56", "at": "2026-03-02T10:00:00+07:00"},
        {"command": "resolve", "decision": "approved", "electronic_result": True, "at": "2026-03-04T15:00:00+07:00"},
        {"command": "return", "channel": "electronic", "at": "2026-03-05T08:00:00+07:00"},
    ]
    row.update(changes)
    return row


class TestImports:
    async def test_good_rows_are_kept_and_bad_rows_reported(self, client: httpx.AsyncClient, intake_url: str) -> None:
        rows = [
            history(code="000.00.00.H56-260302-0042"),
            history(procedure_code="9.999999"),  # unknown procedure
            history(steps=[{"command": "return", "channel": "counter", "at": "2026-03-03T09:00:00+07:00"}]),
            history(steps=[{"command": "fly"}]),
            {"not": "a dossier"},
            history(),
        ]
        body = "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\nnot json\n"
        response = await client.post(
            "/imports/dossiers", content=body.encode(), headers={**AUTH["ops"], "content-type": "application/x-ndjson"}
        )
        assert response.status_code == 200, response.text
        report = response.json()
        assert (report["accepted"], report["rejected"]) == (2, 5)
        statuses = [(r["row"], r["status"]) for r in report["rows"]]
        assert statuses == [
            (1, "accepted"), (2, "rejected"), (3, "rejected"), (4, "rejected"), (5, "rejected"), (6, "accepted"),
            (7, "rejected"),
        ]  # fmt: skip
        assert report["rows"][0]["dossier_code"] == "000.00.00.H56-260302-0042"
        assert report["rows"][1]["errors"][0]["code"] == "procedure_unknown"
        assert report["rows"][2]["errors"][0]["code"] == "transition_not_allowed"
        assert "step 0 (return)" in report["rows"][2]["errors"][0]["detail"]
        assert report["rows"][3]["errors"][0]["field"] == "steps.0.command"
        # the sequence continues after an imported number
        assert report["rows"][5]["dossier_code"] == "000.00.00.H56-260302-0043"
        imported = (await client.get("/dossiers/000.00.00.H56-260302-0042", headers=AUTH["handler"])).json()
        assert imported["status"] == "returned" and imported["outcome"] == "early"
        # the rejected rows left nothing behind: neither dossiers nor events
        assert (await client.get("/dossiers", headers=AUTH["handler"])).json()["total"] == 2
        names = [name for name, _ in await events_of(intake_url, "000.00.00.H56-260302-0042")]
        assert names == ["dossier.received", "dossier.transferred", "dossier.resolved", "dossier.returned"]

    async def test_a_json_array_upload_and_a_duplicate_code(self, client: httpx.AsyncClient) -> None:
        rows = [history(code="000.00.00.H56-260302-0007"), history(code="000.00.00.H56-260302-0007")]
        files = {"file": ("history.json", json.dumps(rows).encode(), "application/json")}
        report = (await client.post("/imports/dossiers", files=files, headers=AUTH["ops"])).json()
        assert (report["accepted"], report["rejected"]) == (1, 1)
        assert report["rows"][1]["errors"][0]["code"] == "dossier_exists"

    @pytest.mark.parametrize(
        "code", ["000.17.22.H56-260302-0001", "000.00.00.H56-260231-0001", "000.00.00.H56-2603-0001", "260302-0001"]
    )
    async def test_an_imported_code_must_be_one_of_the_receiving_agency(
        self, client: httpx.AsyncClient, code: str
    ) -> None:
        # another agency's code, an impossible day (31 February), a short day, no agency
        report = (await client.post("/imports/dossiers", json=[history(code=code)], headers=AUTH["ops"])).json()
        assert report["rejected"] == 1
        [error] = report["rows"][0]["errors"]
        assert (error["code"], error["field"]) == ("receipt_rejected", "code")

    async def test_imports_need_the_ops_role(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.post("/imports/dossiers", content=b"[]", headers=AUTH["desk"]), 403, "forbidden")


class TestQueue:
    async def test_issue_call_serve(self, client: httpx.AsyncClient, intake_url: str) -> None:
        issued = await client.post(
            "/queue/tickets",
            json={"agency_code": "000.00.00.H56", "desk": "Q1", "at": "2026-03-02T08:00:00+07:00"},
            headers=AUTH["desk"],
        )
        assert issued.status_code == 201, issued.text
        ticket = issued.json()
        assert (ticket["number"], ticket["status"], ticket["level"]) == (1, "waiting", "commune")
        second = await client.post(
            "/queue/tickets",
            json={"agency_code": "000.00.00.H56", "desk": "Q1", "at": "2026-03-02T08:05:00+07:00"},
            headers=AUTH["desk"],
        )
        assert second.json()["number"] == 2
        tid = ticket["id"]
        # serving before calling is refused
        early = await client.post(f"/queue/tickets/{tid}/serve", json={}, headers=AUTH["desk"])
        assert_problem(early, 409, "ticket_transition_not_allowed")
        called = await client.post(
            f"/queue/tickets/{tid}/call", json={"at": "2026-03-02T08:20:00+07:00"}, headers=AUTH["desk"]
        )
        assert called.json()["status"] == "called"
        served = await client.post(
            f"/queue/tickets/{tid}/serve", json={"at": "2026-03-02T08:25:00+07:00"}, headers=AUTH["desk"]
        )
        assert served.json()["wait_seconds"] == 25 * 60
        again = await client.post(f"/queue/tickets/{tid}/serve", json={}, headers=AUTH["desk"])
        assert_problem(again, 409, "ticket_transition_not_allowed")
        [(name, data)] = await events_of(intake_url, tid)
        assert name == "queue.ticket_served"
        assert data["wait_seconds"] == 1500 and data["desk"] == "Q1" and data["level"] == "commune"

    async def test_unknown_ticket_and_roles(self, client: httpx.AsyncClient) -> None:
        assert_problem(
            await client.post("/queue/tickets/nope/call", json={}, headers=AUTH["desk"]), 404, "ticket_not_found"
        )
        body = {"agency_code": "000.00.00.H56", "desk": "Q1"}
        assert_problem(await client.post("/queue/tickets", json=body, headers=AUTH["handler"]), 403, "forbidden")


class TestOverdue:
    async def test_published_once_when_an_unfinished_dossier_passes_its_due_time(
        self, client: httpx.AsyncClient, intake_url: str
    ) -> None:
        late = await receive(client)  # due Thu 5 Mar 2026
        fresh = await receive(client, at=None)
        finished = await dossier_in(client, "resolved")
        paused_in_time = await receive(client, at="2026-03-02T09:00:00+07:00")
        await send(client, paused_in_time, "request_supplement", at="2026-03-03T09:00:00+07:00")
        app = client._transport.app  # type: ignore[attr-defined]
        rt = app.state.runtime
        assert await check_overdue(rt) == 1
        assert await check_overdue(rt) == 0  # once only
        [(_name, data)] = [e for e in await events_of(intake_url, late) if e[0] == "dossier.overdue"]
        assert data["due_at"] == "2026-03-05T02:00:00Z"
        for code in (fresh, finished, paused_in_time):
            assert all(name != "dossier.overdue" for name, _ in await events_of(intake_url, code))

    async def test_the_service_function_with_a_chosen_now(self, intake_url: str, client: httpx.AsyncClient) -> None:
        code = await receive(client, at=None)
        engine = create_engine(intake_url)
        try:
            async with session_factory(engine)() as session, session.begin():
                outbox = client._transport.app.state.runtime.outbox  # type: ignore[attr-defined]
                assert await publish_overdue(session, outbox, datetime.now(UTC)) == 0
                assert await publish_overdue(session, outbox, datetime.now(UTC) + timedelta(days=30)) == 1
        finally:
            await engine.dispose()
        assert [n for n, _ in await events_of(intake_url, code)][-1] == "dossier.overdue"
