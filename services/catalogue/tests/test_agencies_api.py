"""API tests of agencies: codes, levels, parents, the procedures each handles, and their event."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from libs.common.testing import AUTH, fields_of
from services.catalogue.tests.support import OPS, assert_problem, events, publish

pytestmark = pytest.mark.asyncio

PROVINCE = "000.00.00.H56"
COMMUNE = "000.01.21.H56"


def agency(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Ủy ban nhân dân xã Tân Lập",
        "level": "commune",
        "parent_code": PROVINCE,
        "area_kind": "rural",
        "desks": ["Bộ phận một cửa xã"],
        "desk_officers": 3,
        "procedure_codes": ["1.001193"],
    }
    body.update(changes)
    return body


async def seed(client: httpx.AsyncClient) -> None:
    await publish(client)
    province = {"name": "Ủy ban nhân dân tỉnh Mẫu", "level": "province"}
    assert (await client.put(f"/agencies/{PROVINCE}", json=province, headers=OPS)).status_code == 200


class TestPutAgency:
    async def test_a_nul_byte_in_the_name_is_422_naming_it(self, client: httpx.AsyncClient) -> None:
        await seed(client)
        response = await client.put(f"/agencies/{COMMUNE}", json=agency(name="Xã\u0000Tân Lập"), headers=OPS)
        assert fields_of(assert_problem(response, 422, "validation_error")) == {"name"}

    async def test_creates_and_publishes(self, client: httpx.AsyncClient, catalogue_url: str) -> None:
        await seed(client)
        response = await client.put(f"/agencies/{COMMUNE}", json=agency(), headers=OPS)
        assert response.status_code == 200, response.text
        assert response.json() == {"code": COMMUNE, **agency()}
        kind, data = (await events(catalogue_url))[-1]
        assert kind == "agency.published"
        assert data == {"code": COMMUNE, **agency()}

    async def test_replaces(self, client: httpx.AsyncClient) -> None:
        await seed(client)
        await client.put(f"/agencies/{COMMUNE}", json=agency(), headers=OPS)
        await client.put(f"/agencies/{COMMUNE}", json=agency(procedure_codes=[], desks=[]), headers=OPS)
        stored = (await client.get(f"/agencies/{COMMUNE}")).json()
        assert stored["procedure_codes"] == [] and stored["desks"] == []
        found = await client.get("/procedures", params={"agency": COMMUNE, "at": "2026-06-01"})
        assert found.json()["total"] == 0

    @pytest.mark.parametrize(
        ("code", "body", "status", "problem", "field"),
        [
            ("000.01.21.Z56", agency(), 422, "invalid_input", "code"),
            (COMMUNE, agency(level="ward"), 422, "validation_error", "level"),
            (COMMUNE, agency(parent_code="000.09.21.H56"), 422, "agency_invalid", "parent_code"),
            (COMMUNE, agency(parent_code=COMMUNE), 422, "agency_invalid", "parent_code"),
            (COMMUNE, agency(procedure_codes=["1.001193", "9.999999"]), 422, "agency_invalid", "procedure_codes.1"),
        ],
    )
    async def test_rejected(
        self, client: httpx.AsyncClient, code: str, body: dict[str, Any], status: int, problem: str, field: str
    ) -> None:
        await seed(client)
        answer = assert_problem(await client.put(f"/agencies/{code}", json=body, headers=OPS), status, problem)
        assert [e["field"] for e in answer["errors"]] == [field]

    async def test_needs_the_ops_role(self, client: httpx.AsyncClient) -> None:
        response = await client.put(f"/agencies/{COMMUNE}", json=agency(), headers=AUTH["leader"])
        assert_problem(response, 403, "forbidden")


class TestReadAgencies:
    async def test_search_and_procedures_handled(self, client: httpx.AsyncClient) -> None:
        await seed(client)
        await client.put(f"/agencies/{COMMUNE}", json=agency(), headers=OPS)
        await client.put("/agencies/000.02.21.H56", json=agency(name="Ủy ban nhân dân xã Hòa Bình"), headers=OPS)

        def codes(response: httpx.Response) -> list[str]:
            return [a["code"] for a in response.json()["items"]]

        assert codes(await client.get("/agencies", params={"q": "hoa binh"})) == ["000.02.21.H56"]
        assert codes(await client.get("/agencies", params={"level": "province"})) == [PROVINCE]
        assert codes(await client.get("/agencies", params={"parent_code": PROVINCE})) == [COMMUNE, "000.02.21.H56"]
        assert codes(await client.get("/agencies", params={"procedure": "1.001193"})) == [COMMUNE, "000.02.21.H56"]
        handled = await client.get("/procedures", params={"agency": COMMUNE, "at": "2026-06-01"})
        assert [p["code"] for p in handled.json()["items"]] == ["1.001193"]
        assert_problem(await client.get("/agencies/000.09.09.H56"), 404, "agency_not_found")
