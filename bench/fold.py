"""The fold's catch-up and the rebuild, each against a bare aiokafka consumer that reads the same topics, decodes
every envelope and inserts each batch into one table in one transaction (a floor for "consume and make durable").

Events are produced to the local broker under a prefix of their own before anything consumes them, so both sides
catch up on a backlog, as after an outage or a deploy. Reporting runs under uvicorn as in production (its consumer
in the service process); the rebuild runs as the ops command ``python -m services.reporting.rebuild --yes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

from bench.common import PYTHON, ROOT, Bench, Row, pg_connect, service_env, uvicorn

BATCH = 1000


def dossier_envelopes(first: int, count: int) -> Iterator[tuple[str, bytes, bytes]]:
    """(topic suffix, key, value) of ``count`` dossiers' lives (received, transferred, resolved, returned, rated:
    five events each), interleaved by time across dossiers as a live topic carries them."""
    from libs.common.contract import Rating, TransferMode
    from libs.common.contract.registry import registry
    from services.reporting.tests.factory import Dossier, vn

    start = vn(2026, 3, 2)
    envelopes = []
    for i in range(first, first + count):
        received = start + timedelta(seconds=30 * i)
        d = Dossier(f"000.00.00.H56-260302-{i:07d}", received_at=received, due_at=received + timedelta(days=3))
        d.transfer(received + timedelta(hours=1), mode=TransferMode.ELECTRONIC).resolve(received + timedelta(days=1))
        d.return_(received + timedelta(days=2)).rate(received + timedelta(days=2), Rating.SATISFIED)
        envelopes.extend(d.envelopes())
    envelopes.sort(key=lambda e: e.time)
    for e in envelopes:
        yield registry.model(e.name).topic.value, e.subject.encode(), e.to_bytes()


async def produce(kafka: str, prefix: str, first_dossier: int, dossiers: int) -> int:
    from aiokafka import AIOKafkaProducer

    from libs.common.messaging.kafka import ensure_topic_names

    items = list(dossier_envelopes(first_dossier, dossiers))
    await ensure_topic_names(kafka, sorted({f"{prefix}.{t}" for t, _, _ in items}))
    # Records go in multi-record batches, as a producer sends them to Kafka. (The rebuild used to be measured on
    # topics of one record per batch, because the local Tansu broker under-reports end offsets after multi-record
    # batches and the rebuild then stopped at them; ``read_to_end`` no longer trusts end offsets. On Tansu, one
    # record per batch also makes fetches slow as a topic grows: a 250k-event rebuild waited 116 s on them; read
    # batched, the same 250k events take 1.4 s.)
    producer = AIOKafkaProducer(bootstrap_servers=kafka, linger_ms=5, max_batch_size=1 << 20, acks="all")
    await producer.start()
    try:
        for i in range(0, len(items), 5000):
            futures = [await producer.send(f"{prefix}.{t}", v, key=k) for t, k, v in items[i : i + 5000]]
            await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return len(items)


async def bare_consume(bench: Bench, prefix: str, expected: int) -> float:
    """Events/s of reading ``expected`` events of every ``prefix`` topic, decoding them and inserting each batch."""
    from aiokafka import AIOKafkaConsumer
    from sqlalchemy import JSON, Column, DateTime, MetaData, String, Table, insert

    from libs.common.contract.envelope import Envelope
    from libs.common.db import create_engine

    url = await bench.database("bare_consumer")
    table = Table(
        "bare_event",
        MetaData(),
        Column("event_id", String(36), primary_key=True),
        Column("subject", String(64), nullable=False),
        Column("type", String(120), nullable=False),
        Column("time", DateTime(timezone=True), nullable=False),
        Column("data", JSON, nullable=False),
    )
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(table.metadata.create_all)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bench.kafka, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest",
        max_poll_records=BATCH,
    )  # fmt: skip
    await consumer.start()
    try:
        topics = sorted(t for t in await consumer.topics() if t.startswith(prefix + "."))
        consumer.subscribe(topics)
        seen, first, started = 0, 0, 0.0
        while seen < expected:
            batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH)
            rows = []
            for records in batches.values():
                for r in records:
                    e = Envelope.from_bytes(r.value)
                    rows.append({"event_id": str(e.id), "subject": e.subject, "type": e.type, "time": e.time,
                                 "data": e.data})  # fmt: skip
            if not rows:
                continue
            async with engine.begin() as conn:  # one transaction per fetched batch, as the fold has
                await conn.execute(insert(table), rows)
            seen += len(rows)
            if not started:
                first, started = seen, time.perf_counter()
        return (seen - first) / (time.perf_counter() - started)
    finally:
        await consumer.stop()
        await engine.dispose()


async def processed(conn: object) -> int:
    return int(await conn.fetchval("SELECT (SELECT count(*) FROM inbox) + (SELECT count(*) FROM dead_letter)"))  # type: ignore[attr-defined]


async def fold_catch_up(bench: Bench, events: int) -> None:
    prefix = f"benchfold{uuid.uuid4().hex[:6]}"
    dossiers = events // 5
    produced = await produce(bench.kafka, prefix, 0, dossiers)
    rate, _ = await catch_up(bench, prefix, produced, replicas=1)
    base = await bare_consume(bench, prefix, produced)
    bench.add(
        Row(
            "fold catch-up (reporting under uvicorn)",
            f"{produced:,} events",
            f"{rate:,.0f} events/s",
            f"{base:,.0f} events/s (bare consume + insert)",
            rate / base,
            "≥ 0.50",
        )
    )


async def fold_replicas(bench: Bench, events: int) -> None:
    """Two reporting replicas (two uvicorn processes, one consumer group) against one, each catching up on the same
    backlog (the same dossiers, produced under a prefix of its own: a fresh group and fresh databases for each)."""
    rates = {}
    for replicas in (1, 2):
        prefix = f"benchreplicas{replicas}{uuid.uuid4().hex[:6]}"
        produced = await produce(bench.kafka, prefix, 0, events // 5)
        _, rates[replicas] = await catch_up(bench, prefix, produced, replicas=replicas)
    bench.add(
        Row(
            "fold catch-up, two reporting replicas",
            f"{produced:,} events, 3 partitions per topic",
            f"{rates[2]:,.0f} events/s",
            f"{rates[1]:,.0f} events/s (one replica)",
            rates[2] / rates[1],
            "≥ 1.6",
        )
    )


async def catch_up(bench: Bench, prefix: str, produced: int, *, replicas: int) -> tuple[float, float]:
    """Events/s of ``replicas`` reporting processes catching up on ``produced`` events under ``prefix``: from the
    first applied batch to the last; and from the moment the consumer group is stable with every replica in it (the
    part of the backlog applied while a later replica was still joining is left out) to the last."""
    url = await bench.database(f"reporting_fold{replicas}", "reporting")
    env = service_env("reporting", url, kafka=bench.kafka, prefix=prefix)
    group = f"{prefix}.reporting"  # libs.common.app names the group after the topic prefix
    conn = await pg_connect(url)
    try:
        async with contextlib.AsyncExitStack() as stack:
            for n in range(replicas):
                name = f"reporting-fold-{n + 1}of{replicas}"
                await stack.enter_async_context(uvicorn("services.reporting.app:create_app", bench.port(), env, name))
            first, started = 0, 0.0
            settled: tuple[int, float] | None = None
            deadline = time.monotonic() + 3600
            while (n := await processed(conn)) < produced:
                now = time.perf_counter()
                if n and not started:
                    first, started = n, now
                if settled is None and await group_stable(bench.kafka, group, replicas):
                    settled = (n, now)
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the fold applied {n} of {produced} events in an hour")
                await asyncio.sleep(0.2)
            ended = time.perf_counter()
            rate = (produced - first) / (ended - started)
            since, at = settled or (first, started)
            stable = (produced - since) / (ended - at) if ended > at else rate
            dead = int(await conn.fetchval("SELECT count(*) FROM dead_letter"))
    finally:
        await conn.close()
    if dead:
        raise RuntimeError(f"the fold dead-lettered {dead} of the bench's events; see var/bench/reporting-fold*.log")
    return rate, stable


async def group_stable(kafka: str, group: str, members: int) -> bool:
    """Whether the consumer group is stable with ``members`` members (every replica joined and assigned)."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka, request_timeout_ms=5000)
    await admin.start()
    try:
        for response in await admin.describe_consumer_groups([group]):
            # each group: (error_code, group_id, state, protocol_type, protocol, members, …)
            for described in response.groups:
                if described[1] == group and described[2] == "Stable" and len(described[5]) == members:
                    return True
        return False
    finally:
        await admin.close()


async def rebuild(bench: Bench, sizes: list[int]) -> None:
    """``python -m services.reporting.rebuild`` over growing topics; a straight line through the points gives 10M."""
    prefix = f"benchrebuild{uuid.uuid4().hex[:6]}"
    url = await bench.database("reporting_rebuild", "reporting")
    env = service_env("reporting", url, kafka=bench.kafka, prefix=prefix)
    produced, points = 0, []
    for size in sorted(sizes):
        produced += await produce(bench.kafka, prefix, produced // 5, (size - produced) // 5)
        t0 = time.perf_counter()
        done = await asyncio.to_thread(
            subprocess.run, [PYTHON, "-m", "services.reporting.rebuild", "--yes"],
            cwd=ROOT, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        seconds = time.perf_counter() - t0
        if done.returncode != 0:
            raise RuntimeError(f"rebuild failed: {done.stderr[-2000:]}")
        # The command's own timing (from clearing the projections to the last batch), without the interpreter's
        # start; the wall clock when its output changes shape.
        match = re.search(r"refolded (\d+) messages .* in ([\d.]+)s", done.stdout)
        if match and int(match.group(1)) != produced:
            raise RuntimeError(f"rebuild refolded {match.group(1)} messages, {produced} were produced")
        if match:
            seconds = float(match.group(2))
        phases = re.search(r"\(load ([\d.]+)s, then (\d+) dossiers", done.stdout)
        split = f" (load {phases.group(1)} s, fold {seconds - float(phases.group(1)):.1f} s)" if phases else ""
        base = await bare_consume(bench, prefix, produced)
        points.append((produced, seconds))
        bench.add(
            Row(
                "rebuild (python -m services.reporting.rebuild)",
                f"{produced:,} events",
                f"{seconds:.1f} s = {produced / seconds:,.0f} events/s{split}",
                f"{base:,.0f} events/s (bare consume + insert)",
                (produced / seconds) / base,
                "linear",
            )
        )
    if len(points) >= 2:
        n = len(points)
        mx = sum(x for x, _ in points) / n
        my = sum(y for _, y in points) / n
        slope = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
        intercept = my - slope * mx
        ten_m = intercept + slope * 10_000_000
        first_rate, last_rate = points[0][0] / points[0][1], points[-1][0] / points[-1][1]
        bench.add(
            Row(
                "rebuild extrapolated to 10M (least squares)",
                f"from {', '.join(f'{x:,}' for x, _ in points)}",
                f"{ten_m / 60:.1f} min; events/s {first_rate:,.0f} → {last_rate:,.0f} as size grows",
                "",
                None,
                "< 10 min, linear",
            )
        )
