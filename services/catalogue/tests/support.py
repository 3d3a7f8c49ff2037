"""Request bodies and checks shared by the catalogue's API tests."""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlalchemy import select

from libs.common.db import create_engine
from libs.common.messaging.tables import outbox
from libs.common.testing import AUTH
from libs.common.testing import assert_problem as assert_problem  # re-exported for this service's tests

OPS = AUTH["ops"]
DECISION = {"number": "1234/QĐ-UBND", "signed_on": "2025-12-01", "effective_on": "2026-01-01"}


def procedure(**changes: Any) -> dict[str, Any]:
    """Birth registration at the commune: 3 working days, a process of 24 working hours exactly."""
    body: dict[str, Any] = {
        "code": "1.001193",
        "name": "Đăng ký khai sinh",
        "sector": {"code": "H56-HT01", "name": "Hộ tịch"},
        "levels": ["commune"],
        "agency_kinds": ["Ủy ban nhân dân cấp xã"],
        "time_limit": {"amount": 3, "unit": "working_days"},
        "fees": [{"name": "Lệ phí đăng ký khai sinh", "amount_vnd": 8000, "kind": "charge", "payable_online": True}],
        "components": [
            {"code": "TK001193", "name": "Tờ khai đăng ký khai sinh", "must_digitise": True},
            {"code": "GCS", "name": "Giấy chứng sinh", "must_digitise": True, "reusable_from_warehouse": True},
        ],
        "results": [{"type_code": "KQ001193", "name": "Giấy khai sinh", "electronic": True}],
        "online_level": "full",
        "postal_allowed": True,
        "cross_boundary_allowed": True,
        "process": [
            {"order": 1, "actor": "Bộ phận một cửa", "action": "Tiếp nhận, chuyển hồ sơ", "allowance_hours": 4},
            {"order": 2, "actor": "Công chức tư pháp - hộ tịch", "action": "Thẩm định", "allowance_hours": 12},
            {"order": 3, "actor": "Chủ tịch UBND xã", "action": "Ký, trả kết quả", "allowance_hours": 8},
        ],
        "decision": DECISION,
    }
    body.update(changes)
    return body


def decision(effective_on: str, number: str = "77/QĐ-UBND", signed_on: str | None = None) -> dict[str, Any]:
    return {"number": number, "signed_on": signed_on or effective_on, "effective_on": effective_on}


async def publish(client: httpx.AsyncClient, **changes: Any) -> dict[str, Any]:
    response = await client.post("/procedures", json=procedure(**changes), headers=OPS)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def content(**changes: Any) -> dict[str, Any]:
    """An amendment body: the whole content without the code."""
    body = procedure(**changes)
    body.pop("code")
    return body


async def events(url: str, key: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            stmt = select(outbox.c.type, outbox.c.payload).order_by(outbox.c.id)
            if key is not None:
                stmt = stmt.where(outbox.c.key == key)
            rows = (await conn.execute(stmt)).all()
    finally:
        await engine.dispose()
    return [(row.type.removeprefix("vn.motcua.catalogue."), json.loads(row.payload)["data"]) for row in rows]
