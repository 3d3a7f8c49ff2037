"""Helpers shared by digitisation's API tests: request bodies and reading the outbox."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
from sqlalchemy import select

from libs.common.db import create_engine
from libs.common.messaging.tables import outbox

PERSON = "001204012345"
COMPANY = "0101234567"
DOSSIER = "000.00.00.H56-260302-0001"


def sha(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def document(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "holder_id_code": PERSON,
        "holder_kind": "person",
        "type_code": "KQ001193",
        "name": "Giấy khai sinh",
        "source": "scan",
        "dossier_code": DOSSIER,
        "component_code": "GKS",
        "signed": True,
        "file_sha256": sha("scan-1"),
    }
    body.update(changes)
    return body


async def events(url: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every outbox row as (event type without the prefix, Kafka key, payload data), in order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(outbox.c.type, outbox.c.key, outbox.c.payload).order_by(outbox.c.id))
            ).all()
    finally:
        await engine.dispose()
    return [(row.type.removeprefix("vn.motcua."), row.key, json.loads(row.payload)["data"]) for row in rows]


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["code"] == code
    assert problem["type"].endswith("/" + code) and problem["instance"] and problem["detail"]
    return problem


def fields_of(problem: dict[str, Any]) -> set[str]:
    return {e["field"] for e in problem.get("errors") or []}
