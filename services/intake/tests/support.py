"""Helpers shared by intake's API tests: request bodies, driving a dossier to a state, reading the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select

from libs.common.db import create_engine
from libs.common.messaging.tables import outbox
from libs.common.testing import AUTH

AGENCY = "000.00.00.H56"
OTHER_AGENCY = "000.17.22.H56"
# Monday 2 March 2026, 09:00 in Hà Nội: with a 3-working-day limit the dossier is due Thursday 5 March 09:00, long
# past by the time the tests run, so apology and explanation are allowed.
RECEIVED_AT = "2026-03-02T09:00:00+07:00"


def dossier(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "procedure_code": "1.001193",
        "receiving_agency_code": AGENCY,
        "channel": "online",
        "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn An"},
        "components": [{"code": "GKS", "form": "electronic", "digitised": True}],
        "at": RECEIVED_AT,
    }
    body.update(changes)
    return body


def later(days: int = 30) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


# command -> (path suffix, caller, valid body, event type)
COMMANDS: dict[str, tuple[str, str, dict[str, Any], str]] = {
    "transfer": ("transfer", "handler", {"to_agency_code": OTHER_AGENCY, "mode": "electronic"}, "transferred"),
    "request_supplement": (
        "supplement-requests",
        "handler",
        {"items": ["Giấy chứng sinh bản chính"], "reason": "Bản chụp không rõ"},
        "supplement_requested",
    ),
    "receive_supplement": ("supplements", "desk", {}, "supplement_received"),
    "refuse": ("refusal", "handler", {"reason": "Không đủ điều kiện"}, "refused"),
    "withdraw": ("withdrawal", "desk", {"reason": "Không còn nhu cầu"}, "withdrawn"),
    "stop": ("stop", "handler", {"reason": "Người nộp không bổ sung"}, "stopped"),
    "resolve": ("result", "handler", {"decision": "approved", "electronic_result": True}, "resolved"),
    "return": ("return", "desk", {"channel": "counter"}, "returned"),
    "apologise": ("apology", "leader", {"reason": "Phải xác minh thêm"}, "apologised"),
    "explain": ("explanation", "handler", {"cause": "Thiếu cán bộ"}, "explained"),
    # the dossiers of these tests are received at the desk; the admin key holds the portal role province-wide
    "rate": ("rating", "admin", {"rating": "satisfied"}, "rated"),
}

# how to reach each state from a fresh receipt
PATHS: dict[str, list[str]] = {
    "received": [],
    "in_progress": ["transfer"],
    "awaiting_supplement": ["transfer", "request_supplement"],
    "resolved": ["transfer", "resolve"],
    "returned": ["transfer", "resolve", "return"],
    "refused": ["refuse"],
    "withdrawn": ["withdraw"],
    "stopped": ["stop"],
}


def body_of(command: str, **changes: Any) -> dict[str, Any]:
    body = dict(COMMANDS[command][2])
    if command == "apologise":
        body["new_due_at"] = later()
    body.update(changes)
    return body


async def send(client: httpx.AsyncClient, code: str, command: str, **changes: Any) -> httpx.Response:
    path, who, _, _ = COMMANDS[command]
    return await client.post(f"/dossiers/{code}/{path}", json=body_of(command, **changes), headers=AUTH[who])


async def receive(client: httpx.AsyncClient, **changes: Any) -> str:
    response = await client.post("/dossiers", json=dossier(**changes), headers=AUTH["desk"])
    assert response.status_code == 201, response.text
    return str(response.json()["code"])


async def dossier_in(client: httpx.AsyncClient, state: str, **changes: Any) -> str:
    code = await receive(client, **changes)
    for command in PATHS[state]:
        response = await send(client, code, command)
        assert response.status_code == 200, (command, response.text)
    assert (await client.get(f"/dossiers/{code}", headers=AUTH["handler"])).json()["status"] == state
    return code


async def events_of(url: str, code: str) -> list[tuple[str, dict[str, Any]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(outbox.c.type, outbox.c.payload).where(outbox.c.key == code).order_by(outbox.c.id)
                )
            ).all()
    finally:
        await engine.dispose()
    return [(row.type.removeprefix("vn.motcua.intake."), json.loads(row.payload)["data"]) for row in rows]
