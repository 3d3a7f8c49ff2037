"""Clean failures: a service whose database is down answers 503 problem+json with Retry-After and the correlation
id; any other unexpected error is a 500 problem+json, never text/plain, never the failed statement's values."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from pathlib import Path

import httpx
import pytest
from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from libs.common.app import DBSession, create_service_app
from libs.common.db import create_engine
from libs.common.errors import RETRY_AFTER_SECONDS
from libs.common.settings import ServiceSettings
from libs.common.testing import HeldPort, assert_problem, running_app

pytestmark = pytest.mark.asyncio

IDENTITY_NUMBER = "001203004567"

router = APIRouter()


@router.get("/answer")
async def answer(session: DBSession) -> dict[str, int]:
    return {"answer": int((await session.execute(text("SELECT 42"))).scalar_one())}


@router.get("/broken")
async def broken() -> None:
    raise RuntimeError(f"a bug holding {IDENTITY_NUMBER}")


def app_on(database_url: str) -> AbstractAsyncContextManager[httpx.AsyncClient]:
    settings = ServiceSettings(database_url=database_url, kafka_enabled=False)
    app = create_service_app(service="t", title="t", description="t", settings=settings, routers=[router])
    return running_app(app)


class TestDatabaseDown:
    async def test_an_unreachable_postgres_is_a_503_problem_with_retry_after(self) -> None:
        with HeldPort() as nobody:  # bound, never listening: connections are refused
            nobody_listens = f"postgresql+asyncpg://postgres@127.0.0.1:{nobody.port}/motcua"
            async with app_on(nobody_listens) as client:
                response = await client.get("/answer", headers={"X-Correlation-ID": "cid-503"})
        problem = assert_problem(response, 503, "database_unavailable")
        assert response.headers["retry-after"] == str(RETRY_AFTER_SECONDS)
        assert problem["correlation_id"] == "cid-503" == response.headers["x-correlation-id"]

    async def test_the_same_app_answers_once_the_database_is_there(self, tmp_path: Path) -> None:
        async with app_on(f"sqlite+aiosqlite:///{tmp_path / 'up.db'}") as client:
            response = await client.get("/answer")
        assert response.status_code == 200 and response.json() == {"answer": 42}


class TestUnexpectedError:
    async def test_a_bug_is_a_500_problem_that_quotes_nothing(self, tmp_path: Path) -> None:
        async with app_on(f"sqlite+aiosqlite:///{tmp_path / 'up.db'}") as client:
            response = await client.get("/broken", headers={"X-Correlation-ID": "cid-500"})
        problem = assert_problem(response, 500, "internal_error")
        assert problem["correlation_id"] == "cid-500"
        assert IDENTITY_NUMBER not in response.text


class TestOpenAPI:
    async def test_every_route_declares_500_and_503_as_problems(self, tmp_path: Path) -> None:
        async with app_on(f"sqlite+aiosqlite:///{tmp_path / 'up.db'}") as client:
            spec = (await client.get("/openapi.json")).json()
        operations = [op for path in spec["paths"].values() for op in path.values()]
        assert len(operations) >= 4  # ours, health and metrics
        for op in operations:
            assert {"500", "503"} <= set(op["responses"]), op["operationId"]
            assert "application/problem+json" in op["responses"]["503"]["content"]
            assert "Retry-After" in op["responses"]["503"]["headers"]


async def test_a_failed_statement_does_not_quote_its_values(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with engine.connect() as conn:
            with pytest.raises(DBAPIError) as failure:
                await conn.execute(text("SELECT no_such_column WHERE :n = :n"), {"n": IDENTITY_NUMBER})
    finally:
        await engine.dispose()
    assert IDENTITY_NUMBER not in str(failure.value)
