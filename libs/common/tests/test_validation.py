"""Clean input: control characters and out-of-range dates are 422 naming the field."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from fastapi import APIRouter, FastAPI
from pydantic import BaseModel, ValidationError

from libs.common.app import create_service_app
from libs.common.settings import ServiceSettings
from libs.common.testing import assert_problem, fields_of, running_app
from libs.common.validation import BoundedDate, CleanInput, PageNumber, SingleLineText


class Address(BaseModel):
    street: str


class Applicant(CleanInput):
    full_name: SingleLineText
    note: str = ""
    born_on: date | None = None
    received_at: datetime | None = None
    aliases: list[str] = []
    address: Address | None = None


class TestCleanInput:
    def test_ordinary_vietnamese_text_and_multi_line_notes_pass(self) -> None:
        a = Applicant(full_name="Nguyễn Thị Hồng Nhung", note="dòng 1\r\ndòng 2\tcột", born_on=date(1990, 5, 1))
        assert a.full_name == "Nguyễn Thị Hồng Nhung"

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"full_name": "Nguyễn\x00Văn A"}, "full_name"),
            ({"full_name": "Nguyễn\nVăn A"}, "full_name"),  # a name is one line
            ({"note": "ghi chú\x07"}, "note"),
            ({"note": "\x85"}, "note"),  # C1 control
            ({"note": "\ud800"}, "note"),  # a lone surrogate from a JSON escape
            ({"aliases": ["ok", "bad\x1b[31m"]}, "aliases"),
            ({"address": {"street": "Lê Lợi\x00"}}, "address"),
            ({"born_on": date(1899, 12, 31)}, "born_on"),
            ({"received_at": datetime(2101, 1, 1, tzinfo=UTC)}, "received_at"),
        ],
    )
    def test_refused_with_the_field_named(self, changes: dict[str, object], field: str) -> None:
        with pytest.raises(ValidationError) as caught:
            Applicant.model_validate({"full_name": "A"} | changes)
        assert [e["loc"][0] for e in caught.value.errors()] == [field]

    def test_the_range_ends_are_inside(self) -> None:
        Applicant(full_name="A", born_on=date(1900, 1, 1), received_at=datetime(2100, 12, 31, tzinfo=UTC))


def make_app() -> FastAPI:
    router = APIRouter()

    @router.post("/applicants")
    async def create(body: Applicant) -> dict[str, str]:
        return {"full_name": body.full_name}

    @router.get("/search")
    async def search(on: BoundedDate, page: PageNumber = 1) -> dict[str, object]:
        return {"on": on.isoformat(), "page": page}

    @router.get("/things/{code}")
    async def thing(code: str, q: str = "") -> dict[str, str]:
        return {"code": code, "q": q}

    settings = ServiceSettings(environment="test", database_url="sqlite+aiosqlite:///:memory:", kafka_enabled=False)
    return create_service_app(service="t", title="t", description="t", settings=settings, routers=[router])


@pytest.mark.asyncio
async def test_over_http_a_nul_byte_is_422_not_500() -> None:
    async with running_app(make_app()) as client:
        nul = await client.post("/applicants", json={"full_name": "Trần\u0000Thị B"})
        date_ = await client.get("/search", params={"on": "0202-01-01"})
        page = await client.get("/search", params={"on": "2024-01-01", "page": 10**18})
        ok = await client.get("/search", params={"on": "2024-01-01", "page": 3})
    assert fields_of(assert_problem(nul, 422, "validation_error")) == {"full_name"}
    assert fields_of(assert_problem(date_, 422, "validation_error")) == {"on"}
    assert fields_of(assert_problem(page, 422, "validation_error")) == {"page"}
    assert ok.json() == {"on": "2024-01-01", "page": 3}


@pytest.mark.asyncio
async def test_a_control_character_in_the_path_or_a_query_value_is_422_before_the_route() -> None:
    async with running_app(make_app()) as client:
        in_path = await client.get("/things/A%00B")
        in_query = await client.get("/things/AB", params={"q": "x\u0000y"})
        line_feed = await client.get("/things/AB", params={"q": "x\ny"})
        ok = await client.get("/things/Tân Lập", params={"q": "Hộ tịch"})
    assert fields_of(assert_problem(in_path, 422, "validation_error")) == {"path"}
    assert fields_of(assert_problem(in_query, 422, "validation_error")) == {"q"}
    assert fields_of(assert_problem(line_feed, 422, "validation_error")) == {"q"}
    assert ok.json() == {"code": "Tân Lập", "q": "Hộ tịch"}
