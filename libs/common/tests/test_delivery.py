"""Outbound deliveries against a real local HTTP server, on SQLite and PostgreSQL, with a clock moved by hand."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from fastapi import FastAPI, Request, Response
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from libs.common.db import create_engine, session_factory, transaction
from libs.common.delivery import (
    SESSION_FLAG,
    CircuitState,
    Deliveries,
    DeliveryStatus,
    DeliveryWorker,
    Outcome,
    RetryPolicy,
    Settled,
    Target,
    classify_http,
    create_delivery_tables,
    delivery,
)
from libs.common.delivery.tables import delivery_metadata
from libs.common.standins.clock import ManualClock
from libs.common.standins.server import serving
from libs.common.testing import (
    HeldPort,
    create_postgres_database,
    drop_postgres_database,
    eventually,
    postgres_server_url,
    unique_name,
)

pytestmark = pytest.mark.asyncio


@dataclass
class Far:
    """The far end: answers from a script (status codes, or "hang"), then ``default``; records what it accepted."""

    script: list[int | str] = field(default_factory=list)
    default: int | str = 200
    received: list[str] = field(default_factory=list)  # idempotency keys of every request, answered or not
    accepted: list[str] = field(default_factory=list)  # idempotency keys answered 2xx
    bodies: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/notify")
        async def notify(request: Request) -> Response:
            key = request.headers["idempotency-key"]
            self.received.append(key)
            answer = self.script.pop(0) if self.script else self.default
            if answer == "hang":
                await asyncio.sleep(5)
                return Response(status_code=504)
            assert isinstance(answer, int)
            if 200 <= answer < 300:
                self.accepted.append(key)
                self.bodies.append(await request.json())
            return Response(content=f'{{"answer": {answer}}}', status_code=answer, media_type="application/json")

        return app


class HttpSender:
    def __init__(self, client: httpx.AsyncClient, url: str) -> None:
        self.client = client
        self.url = url

    async def __call__(self, payload: dict[str, Any], idempotency_key: str) -> Outcome:
        response = await self.client.post(self.url, json=payload, headers={"Idempotency-Key": idempotency_key})
        return classify_http(response)


STARTED: list[DeliveryWorker] = []


@pytest_asyncio.fixture
async def engine(backend: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    name = None
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'd.db'}"
    else:
        server = postgres_server_url()
        if server is None:
            pytest.skip("PostgreSQL not available")
        name = unique_name("test_delivery")
        url = await create_postgres_database(server, name)
    eng = create_engine(url)
    async with eng.begin() as conn:
        await conn.run_sync(lambda sync: create_delivery_tables(Operations(MigrationContext.configure(sync))))
    yield eng
    while STARTED:  # before the engine goes: a worker holds its target's lock on a connection of its own
        await STARTED.pop().stop()
    await eng.dispose()
    if name:
        await drop_postgres_database(postgres_server_url() or "", name)


@pytest_asyncio.fixture
async def far() -> AsyncIterator[tuple[Far, str]]:
    end = Far()
    async with serving(end.app()) as base:
        yield end, f"{base}/notify"


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=httpx.Timeout(2.0)) as c:
        yield c


async def enqueue(engine: AsyncEngine, clock: ManualClock, *items: tuple[str, str | None]) -> None:
    deliveries = Deliveries(clock)
    async with transaction(session_factory(engine)) as session:
        for key, ordering in items:
            await deliveries.enqueue(
                session, "far", key, {"key": key, "text": "Hồ sơ đã tiếp nhận"}, ordering_key=ordering
            )


async def rows(engine: AsyncEngine) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(select(delivery).order_by(delivery.c.id))).all())


def worker(engine: AsyncEngine, clock: ManualClock, sender: HttpSender, **target: Any) -> DeliveryWorker:
    options: dict[str, Any] = {"retry": RetryPolicy(base_seconds=2, max_seconds=16, max_attempts=50)} | target
    made = DeliveryWorker(
        engine=engine, targets=[Target(name="far", sender=sender, **options)], clock=clock, rng=random.Random(7)
    )
    STARTED.append(made)
    return made


async def test_migration_helper_builds_what_the_tables_describe(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": False}), delivery_metadata
            )
        )
    assert diff == []


async def test_enqueue_is_once_per_target_and_key_and_part_of_the_callers_transaction(engine: AsyncEngine) -> None:
    clock = ManualClock()
    deliveries = Deliveries(clock)
    factory = session_factory(engine)
    async with transaction(factory) as session:
        assert await deliveries.enqueue(session, "far", "dossier-1:received", {"a": 1})
        assert not await deliveries.enqueue(session, "far", "dossier-1:received", {"a": 2})
        assert await deliveries.enqueue(session, "sms", "dossier-1:received", {"a": 3})
        assert session.info[SESSION_FLAG], "the boundary wakes the worker after the commit"
    with pytest.raises(RuntimeError):
        async with transaction(factory) as session:
            await deliveries.enqueue(session, "far", "dossier-2:received", {"a": 4})
            raise RuntimeError("the change that caused it failed")
    found = await rows(engine)
    assert [(r.target, r.idempotency_key, r.payload) for r in found] == [
        ("far", "dossier-1:received", '{"a":1}'),
        ("sms", "dossier-1:received", '{"a":3}'),
    ]
    assert all(r.status == "pending" and r.next_attempt_at == clock.now for r in found)
    async with engine.connect() as conn:
        assert [r.target for r in await deliveries.find(conn, key_prefix="dossier-1:")] == ["far", "sms"]
        assert await deliveries.find(conn, key_prefix="dossier-%") == [], "a prefix is not a pattern"


async def test_success(engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient) -> None:
    end, url = far
    clock = ManualClock()
    await enqueue(engine, clock, ("k1", None), ("k2", None))
    w = worker(engine, clock, HttpSender(client, url))
    assert await w.deliver_once("far") == 2
    assert end.accepted == ["k1", "k2"]
    assert end.bodies[0] == {"key": "k1", "text": "Hồ sơ đã tiếp nhận"}
    assert [(r.status, r.attempts, r.last_status_code, r.delivered_at) for r in await rows(engine)] == [
        ("delivered", 1, 200, clock.now),
        ("delivered", 1, 200, clock.now),
    ]
    assert await w.deliver_once("far") == 0


async def test_retry_then_success(engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient) -> None:
    end, url = far
    end.script = [503]
    clock = ManualClock()
    await enqueue(engine, clock, ("k1", None))
    w = worker(engine, clock, HttpSender(client, url))
    assert await w.deliver_once("far") == 1
    [row] = await rows(engine)
    assert (row.status, row.attempts, row.last_reason, row.last_status_code) == ("pending", 1, "http_503", 503)
    # Equal jitter on a 2 s base: the retry comes 1 to 2 s later, never at once.
    wait = (row.next_attempt_at - clock.now).total_seconds()
    assert 1 <= wait <= 2
    assert await w.deliver_once("far") == 0
    clock.advance(wait)
    assert await w.deliver_once("far") == 1
    [row] = await rows(engine)
    assert (row.status, row.attempts) == ("delivered", 2)
    async with engine.connect() as conn:
        attempts = await Deliveries().attempts(conn, row.id)
    assert [(a.outcome, a.reason, a.status_code) for a in attempts] == [
        ("retryable", "http_503", 503),
        ("delivered", "ok", 200),
    ]
    assert end.received == ["k1", "k1"] and end.accepted == ["k1"]


async def test_permanent_refusal_is_a_dead_letter_with_the_answer_and_replays(
    engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient
) -> None:
    end, url = far
    end.script = [422]
    clock = ManualClock()
    await enqueue(engine, clock, ("k1", None))
    w = worker(engine, clock, HttpSender(client, url))
    assert await w.deliver_once("far") == 1
    [row] = await rows(engine)
    assert (row.status, row.last_reason, row.last_response, row.dead_at) == (
        "dead",
        "http_422",
        '{"answer": 422}',
        clock.now,
    )
    clock.advance(3600)
    assert await w.deliver_once("far") == 0, "a dead letter is never retried on its own"
    assert w.breaker("far").state is CircuitState.CLOSED, "a refusal is an answer, not an outage"

    deliveries = Deliveries(clock)
    async with transaction(session_factory(engine)) as session:
        assert [d.id for d in await deliveries.find(session, target="far", status=DeliveryStatus.DEAD)] == [row.id]
        assert await deliveries.replay(session, [row.id, 999]) == [row.id]
    assert await w.deliver_once("far") == 1
    [row] = await rows(engine)
    assert (row.status, row.attempts, row.dead_at) == ("delivered", 1, None)
    assert end.accepted == ["k1"]


async def test_retries_exhausted_is_a_dead_letter(
    engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient
) -> None:
    end, url = far
    end.default = 500
    clock = ManualClock()
    await enqueue(engine, clock, ("k1", None))
    w = worker(engine, clock, HttpSender(client, url), retry=RetryPolicy(base_seconds=1, max_attempts=3))
    for _ in range(3):
        assert await w.deliver_once("far") == 1
        clock.advance(60)
    [row] = await rows(engine)
    assert (row.status, row.attempts, row.last_reason) == ("dead", 3, "http_500")


async def test_circuit_opens_after_n_failures_and_half_opens(
    engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient
) -> None:
    end, url = far
    end.default = 503
    clock = ManualClock()
    await enqueue(engine, clock, *[(f"k{i}", None) for i in range(6)])
    w = worker(engine, clock, HttpSender(client, url), failure_threshold=3, open_seconds=30)
    assert await w.deliver_once("far") == 3
    assert w.breaker("far").state is CircuitState.OPEN
    clock.advance(29)
    assert await w.deliver_once("far") == 0, "open: nothing is attempted"
    clock.advance(1)
    assert w.breaker("far").state is CircuitState.HALF_OPEN
    assert await w.deliver_once("far") == 1, "half-open: one trial"
    assert w.breaker("far").state is CircuitState.OPEN, "the trial failed: open again"
    end.default = 200
    clock.advance(30)
    assert await w.deliver_once("far") == 6, "the trial succeeded: closed, and the rest follow in the same round"
    assert w.breaker("far").state is CircuitState.CLOSED
    assert sorted(end.accepted) == [f"k{i}" for i in range(6)]


async def test_target_down_for_60_seconds_loses_nothing_and_sends_nothing_twice(
    engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient
) -> None:
    end, url = far
    clock = ManualClock()
    # Two dossiers' records and steps (ordered per dossier) and independent notices.
    items = [(f"d{d}:{s}", f"d{d}") for s in range(3) for d in range(3)] + [(f"n{i}", None) for i in range(6)]
    await enqueue(engine, clock, *items)
    w = worker(
        engine,
        clock,
        HttpSender(client, url),
        failure_threshold=3,
        open_seconds=10,
        attempt_timeout_seconds=0.2,
        rate_per_second=5,
        burst=5,
    )
    start = clock.now
    end.default = 503
    while (clock.now - start).total_seconds() < 60:
        if (clock.now - start).total_seconds() >= 30:
            end.default = "hang"  # the second half of the outage: the target accepts connections and never answers
        await w.deliver_once("far")
        clock.advance(1)
    end.default = 200
    for _ in range(60):
        await w.deliver_once("far")
        clock.advance(1)
    assert {r.status for r in await rows(engine)} == {"delivered"}
    assert Counter(end.accepted) == Counter(key for key, _ in items), "each delivered exactly once"
    for d in range(3):
        assert [k for k in end.accepted if k.startswith(f"d{d}:")] == [f"d{d}:{s}" for s in range(3)]
    assert len(end.received) < 30, "the breaker kept the outage from hammering the target (23 seen, ~50 without)"


async def test_rate_limit(engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient) -> None:
    end, url = far
    clock = ManualClock()
    await enqueue(engine, clock, *[(f"k{i}", None) for i in range(5)])
    w = worker(engine, clock, HttpSender(client, url), rate_per_second=2, burst=2)
    assert await w.deliver_once("far") == 2
    assert await w.deliver_once("far") == 0
    clock.advance(0.5)
    assert await w.deliver_once("far") == 1
    clock.advance(1)
    assert await w.deliver_once("far") == 2
    assert end.accepted == [f"k{i}" for i in range(5)]


async def test_a_retrying_delivery_holds_back_later_ones_with_its_ordering_key(
    engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient
) -> None:
    end, url = far
    end.script = [503]
    clock = ManualClock()
    await enqueue(engine, clock, ("d1:record", "d1"), ("d1:step", "d1"), ("other", None))
    w = worker(engine, clock, HttpSender(client, url))
    assert await w.deliver_once("far") == 2
    assert end.accepted == ["other"]
    clock.advance(2)
    assert await w.deliver_once("far") == 1
    assert await w.deliver_once("far") == 1
    assert end.accepted == ["other", "d1:record", "d1:step"]


async def test_quiet_hours_not_before(engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient) -> None:
    end, url = far
    clock = ManualClock()
    async with transaction(session_factory(engine)) as session:
        await Deliveries(clock).enqueue(session, "far", "k1", {}, not_before=clock.now + timedelta(hours=9))
    w = worker(engine, clock, HttpSender(client, url))
    assert await w.deliver_once("far") == 0
    clock.advance(9 * 3600)
    assert await w.deliver_once("far") == 1
    assert end.accepted == ["k1"]


@pytest.mark.integration
async def test_one_leader_per_target_across_replicas(
    far: tuple[Far, str], client: httpx.AsyncClient, tmp_path: Path
) -> None:
    server = postgres_server_url()
    if server is None:
        pytest.skip("PostgreSQL not available")
    end, url = far
    name = unique_name("test_delivery_leader")
    db = await create_postgres_database(server, name)
    first, second = create_engine(db), create_engine(db)
    try:
        async with first.begin() as conn:
            await conn.run_sync(lambda sync: create_delivery_tables(Operations(MigrationContext.configure(sync))))
        clock = ManualClock()
        await enqueue(first, clock, ("k1", None))
        a = worker(first, clock, HttpSender(client, url))
        b = worker(second, clock, HttpSender(client, url))
        assert await a.deliver_once("far") == 1
        await enqueue(first, clock, ("k2", None))
        assert await b.deliver_once("far") == 0, "the other replica leads this target"
        await a.stop()
        assert await b.deliver_once("far") == 1, "the lock passes on when the leader stops"
        assert end.accepted == ["k1", "k2"]
    finally:
        while STARTED:
            await STARTED.pop().stop()
        await first.dispose()
        await second.dispose()
        await drop_postgres_database(server, name)


async def test_run_loop_delivers_what_is_enqueued(
    engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient
) -> None:
    end, url = far
    w = DeliveryWorker(engine=engine, targets=[Target(name="far", sender=HttpSender(client, url))], poll_seconds=5)
    task = asyncio.create_task(w.run())
    try:
        async with transaction(session_factory(engine)) as session:
            await Deliveries().enqueue(session, "far", "k1", {"x": 1})
        w.wake()
        await eventually(lambda: _delivered(engine), timeout=5, what="the delivery")
        assert end.accepted == ["k1"]
    finally:
        await w.stop()
        await asyncio.wait_for(task, 5)


async def _delivered(engine: AsyncEngine) -> bool:
    return [r.status for r in await rows(engine)] == ["delivered"]


async def test_a_dead_letter_holds_back_its_ordering_key_until_replayed_or_discarded(
    engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient
) -> None:
    end, url = far
    end.script = [422, 422]
    clock = ManualClock()
    await enqueue(engine, clock, ("d1:record", "d1"), ("d1:step", "d1"), ("d2:record", "d2"), ("d2:step", "d2"))
    w = worker(engine, clock, HttpSender(client, url))
    assert await w.deliver_once("far") == 2  # both records refused
    assert await w.deliver_once("far") == 0, "the steps wait behind their dead records"
    deliveries = Deliveries(clock)
    dead = {r.idempotency_key: r.id for r in await rows(engine) if r.status == "dead"}
    async with transaction(session_factory(engine)) as session:
        assert await deliveries.replay(session, [dead["d1:record"]]) == [dead["d1:record"]]
        assert await deliveries.discard(session, [dead["d2:record"]]) == [dead["d2:record"]]
    assert await w.deliver_once("far") == 2  # d1's record again, and d2's step (its record given up)
    assert await w.deliver_once("far") == 1
    assert end.accepted == ["d1:record", "d2:step", "d1:step"]
    assert {r.idempotency_key: r.status for r in await rows(engine)}["d2:record"] == "discarded"


async def test_on_settled_runs_in_the_transaction_that_records_the_end(
    engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient
) -> None:
    end, url = far
    end.script = [200, 400]
    clock = ManualClock()
    await enqueue(engine, clock, ("k1", "d1"), ("k2", None))
    seen: list[tuple[str, str, str | None, str]] = []

    async def on_settled(session: AsyncSession, settled: Settled) -> None:
        status = (await session.execute(select(delivery.c.status).where(delivery.c.id == settled.delivery_id))).scalar()
        seen.append((settled.idempotency_key, settled.outcome.reason, settled.ordering_key, str(status)))

    w = worker(engine, clock, HttpSender(client, url), on_settled=on_settled)
    assert await w.deliver_once("far") == 2
    assert seen == [("k1", "ok", "d1", "delivered"), ("k2", "http_400", None, "dead")]


async def test_a_failing_on_settled_leaves_the_delivery_pending(
    engine: AsyncEngine, far: tuple[Far, str], client: httpx.AsyncClient
) -> None:
    _, url = far
    clock = ManualClock()
    await enqueue(engine, clock, ("k1", None))

    async def on_settled(session: AsyncSession, settled: Settled) -> None:
        raise RuntimeError("the outbox insert failed")

    w = worker(engine, clock, HttpSender(client, url), on_settled=on_settled)
    with pytest.raises(RuntimeError):
        await w.deliver_once("far")
    [row] = await rows(engine)
    assert (row.status, row.attempts) == ("pending", 0), "no fact recorded without its event"


async def test_a_target_that_refuses_connections_is_retried(engine: AsyncEngine, client: httpx.AsyncClient) -> None:
    clock = ManualClock()
    await enqueue(engine, clock, ("k1", None))
    with HeldPort() as nobody:
        w = worker(engine, clock, HttpSender(client, f"http://127.0.0.1:{nobody.port}/notify"))
        assert await w.deliver_once("far") == 1
    [row] = await rows(engine)
    assert (row.status, row.last_reason, row.last_response) == ("pending", "unreachable", "ConnectError")
