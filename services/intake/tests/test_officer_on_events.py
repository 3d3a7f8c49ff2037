"""The acting officer on intake's events: every step an officer takes names them (the principal's subject, display
name and title); the portal's steps and imported history name nobody rather than a guess."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, cast

import httpx
import pytest

from libs.common.auth import Principal, Role
from libs.common.contract import OfficerRef
from libs.common.testing import AUTH
from services.intake.context import IntakeContext
from services.intake.tests.support import dossier, dossier_in, events_of, receive, send

DESK = {"id": "demo.desk", "display_name": "Nguyễn Thị Mai", "title": "Công chức Bộ phận Một cửa"}
HANDLER = {"id": "demo.handler", "display_name": "Trần Văn Hùng", "title": "Chuyên viên"}
LEADER = {"id": "demo.leader", "display_name": "Lê Văn Nam", "title": None}


def _ctx(principal: Principal, **changes: Any) -> IntakeContext:
    return IntakeContext(
        session=cast(Any, None),
        runtime=cast(Any, None),
        principal=principal,
        correlation_id=None,
        calendars=cast(Any, None),
        now=datetime.now(UTC),
        **changes,
    )


def test_the_officer_comes_from_the_principal() -> None:
    officer = Principal(
        subject="kc-7f3a", roles=frozenset({Role.HANDLER}), display_name="Đỗ Thu Hà", title="Phó Trưởng phòng"
    )
    assert _ctx(officer).officer == OfficerRef(id="kc-7f3a", display_name="Đỗ Thu Hà", title="Phó Trưởng phòng")
    # no name on the account: its subject stands for it, as on the forms; no title: none
    nameless = Principal(subject="kc-9", roles=frozenset({Role.DESK_OFFICER}))
    assert _ctx(nameless).officer == OfficerRef(id="kc-9", display_name="kc-9", title=None)
    portal = Principal(subject="cong-dvc", roles=frozenset({Role.PORTAL}), display_name="Cổng DVC")
    assert _ctx(portal).officer is None
    # replaying history: the officer the history names, else nobody — never the importer
    assert _ctx(officer, importing=True).officer is None
    named = OfficerRef(id="hs-42", display_name="Lý Văn Tư")
    assert _ctx(officer, importing=True, imported_officer=named).officer == named
    assert (_ctx(officer, importing=True, imported_officer=named).actor_name, _ctx(officer).actor_name) == (
        "Lý Văn Tư",
        "Đỗ Thu Hà",
    )


@pytest.mark.asyncio
class TestEvents:
    async def test_every_step_names_its_officer(self, client: httpx.AsyncClient, intake_url: str) -> None:
        code = await dossier_in(client, "returned")  # receive (desk), transfer and resolve (handler), return (desk)
        assert (await send(client, code, "rate")).status_code == 200  # the admin key: staff as well as portal
        officers = {name: data.get("officer") for name, data in await events_of(intake_url, code)}
        assert officers == {
            "dossier.received": DESK,
            "dossier.transferred": HANDLER,
            "dossier.resolved": HANDLER,
            "dossier.returned": DESK,
            "dossier.rated": {"id": "demo.admin", "display_name": "Quản trị", "title": None},
        }
        late = await dossier_in(client, "awaiting_supplement")
        for command in ("receive_supplement", "apologise", "explain", "stop"):
            assert (await send(client, late, command)).status_code == 200, command
        named = {name: (data.get("officer") or {}).get("id") for name, data in await events_of(intake_url, late)}
        assert named == {
            "dossier.received": "demo.desk",
            "dossier.transferred": "demo.handler",
            "dossier.supplement_requested": "demo.handler",
            "dossier.supplement_received": "demo.desk",
            "dossier.apologised": "demo.leader",
            "dossier.explained": "demo.handler",
            "dossier.stopped": "demo.handler",
        }
        refused = await dossier_in(client, "refused")
        withdrawn = await dossier_in(client, "withdrawn")
        assert [d["officer"] for n, d in await events_of(intake_url, refused) if n == "dossier.refused"] == [HANDLER]
        assert [d["officer"] for n, d in await events_of(intake_url, withdrawn) if n == "dossier.withdrawn"] == [DESK]

    async def test_the_portal_is_no_officer(self, client: httpx.AsyncClient, intake_url: str) -> None:
        response = await client.post("/dossiers", json=dossier(), headers=AUTH["portal"])
        assert response.status_code == 201, response.text
        [(name, data)] = await events_of(intake_url, response.json()["code"])
        assert name == "dossier.received" and data["officer"] is None

    async def test_imported_history_names_no_officer(self, client: httpx.AsyncClient, intake_url: str) -> None:
        row = dossier(code="000.00.00.H56-260302-0077")
        row["steps"] = [{"command": "transfer", "to_agency_code": "000.17.22.H56", "at": "2026-03-02T10:00:00+07:00"}]
        response = await client.post(
            "/imports/dossiers",
            content=json.dumps(row, ensure_ascii=False).encode(),
            headers={**AUTH["ops"], "content-type": "application/x-ndjson"},
        )
        assert response.json()["accepted"] == 1, response.text
        events = await events_of(intake_url, "000.00.00.H56-260302-0077")
        assert [name for name, _ in events] == ["dossier.received", "dossier.transferred"]
        assert all(data["officer"] is None for _, data in events)
        # the same steps taken live name the officer: the import, not the command, leaves it out
        live = await receive(client)
        assert [d["officer"] for _, d in await events_of(intake_url, live)] == [DESK]

    async def test_imported_history_may_name_its_officers(self, client: httpx.AsyncClient, intake_url: str) -> None:
        clerk = {"id": "hs.desk.7", "display_name": "Lò Thị Xuân", "title": "Công chức Bộ phận Một cửa"}
        row = dossier(code="000.00.00.H56-260302-0078", officer=clerk)
        row["steps"] = [
            {"command": "transfer", "to_agency_code": "000.17.22.H56", "at": "2026-03-02T10:00:00+07:00",
             "officer": clerk},
            {"command": "resolve", "decision": "approved", "electronic_result": True,
             "at": "2026-03-04T15:00:00+07:00"},
        ]  # fmt: skip
        bad = dossier(code="000.00.00.H56-260302-0079", officer={"id": "001204012345", "display_name": "X"})
        body = "\n".join(json.dumps(r, ensure_ascii=False) for r in (row, bad))
        response = await client.post(
            "/imports/dossiers", content=body.encode(), headers={**AUTH["ops"], "content-type": "application/x-ndjson"}
        )
        report = response.json()
        assert (report["accepted"], report["rejected"]) == (1, 1), response.text
        assert report["rows"][1]["errors"][0]["field"] == "officer.id"  # an identity number is no account id
        officers = {n: d["officer"] for n, d in await events_of(intake_url, "000.00.00.H56-260302-0078")}
        assert officers == {"dossier.received": clerk, "dossier.transferred": clerk, "dossier.resolved": None}
        form = (await client.get("/dossiers/000.00.00.H56-260302-0078/forms/01.html", headers=AUTH["desk"])).text
        assert "Lò Thị Xuân" in form  # the receipt prints who received it, not the importer
