"""Every report endpoint over N generated dossiers (default 100,000; the issue's figure is 1,000,000), p50/p95 of
sequential requests to reporting under uvicorn, beside a bare endpoint (bench/bare_app.py) that counts the same
quarter's dossiers per agency with one GROUP BY over the same table.

Generating N dossiers through the fold would take longer than the benchmark (N × 5 events), so the facts are made
the other way round: a handful of template dossiers with different fates (on time, late, withdrawn, refused, still
open, with fees, at the counter) go through reporting's consumer handler — the real fold writes their facts — and
those fact rows are then copied N times with COPY, each copy with its own code, agency, level and received time
spread over four years (so one official quarter holds about N/16 receipts), every other time column shifted with
it. Only ``dossier_fact`` is filled: the per-dossier ledger stays empty (reports do not read it); the day aggregates
the fold keeps beside the facts are then counted from them with the rebuild's recount.
"""

from __future__ import annotations

import json
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.common import ROOT, TOKEN, Bench, Row, pct, pg_connect, service_env, uvicorn

YEAR, QUARTER = 2024, 3
FIRST, LAST = datetime(2021, 1, 1, tzinfo=UTC), datetime(2024, 12, 31, tzinfo=UTC)
PLAN = ROOT / "services" / "reporting" / "plans" / "bac-giang-2024-3-kh-ubnd.json"
LEVELS = ["province"] * 5 + ["district"] * 15 + ["commune"] * 30
AGENCIES = [f"000.{i // 10:02d}.{10 + i % 10:02d}.H56" for i in range(len(LEVELS))]


def templates() -> dict[str, list[Any]]:
    """Template dossiers by fate, as contract envelopes (built with the reporting test suite's factory)."""
    from libs.common.contract import Channel, Rating, TransferMode
    from services.reporting.tests.factory import Dossier, vn

    received = vn(2024, 3, 4)
    due = received + timedelta(days=5)
    fates = ["on_time", "counter_fees", "late", "withdrawn", "refused", "open"]
    d = {
        fate: Dossier(
            f"000.00.00.H56-240304-{n:04d}",
            received_at=received,
            due_at=due,
            channel=Channel.COUNTER if fate == "counter_fees" else Channel.ONLINE,
            has_fees=fate == "counter_fees",
            fees_due_vnd=50_000 if fate == "counter_fees" else 0,
        )
        for n, fate in enumerate(fates)
    }
    d["on_time"].transfer(received + timedelta(hours=2), mode=TransferMode.ELECTRONIC).resolve(
        received + timedelta(days=2)
    )
    d["on_time"].return_(received + timedelta(days=3)).rate(received + timedelta(days=3), Rating.SATISFIED)
    d["counter_fees"].assess(received, 50_000).resolve(received + timedelta(days=4))
    d["counter_fees"].return_(received + timedelta(days=4))
    d["late"].resolve(received + timedelta(days=9)).return_(received + timedelta(days=10))
    d["withdrawn"].withdraw(received + timedelta(days=1))
    d["refused"].refuse(received + timedelta(days=2))
    return {fate: dossier.envelopes() for fate, dossier in d.items()}


# Share of each fate in the generated population (out of 20); open ones only in the last month of the data.
MIX = ["on_time"] * 11 + ["counter_fees"] * 4 + ["late"] * 3 + ["withdrawn", "refused"]


async def fold_templates(url: str) -> dict[str, dict[str, Any]]:
    from bench.common import PSEUDONYM_KEY
    from libs.common.db import create_engine
    from libs.common.messaging.consumer import ConsumerRunner, Message
    from services.reporting.config import ReportingSettings
    from services.reporting.consumers import consumer_spec, keyed_registry

    by_fate = templates()
    engine = create_engine(url)
    settings = ReportingSettings(pseudonym_key=PSEUDONYM_KEY)
    spec = consumer_spec(settings)
    runner = ConsumerRunner(
        name=spec.name,
        engine=engine,
        handler=spec.handler,
        topics=[],
        bootstrap_servers="x:1",
        registry=keyed_registry(settings),
    )
    codes = {}
    offset = 0
    for fate, envelopes in by_fate.items():
        messages = []
        for e in envelopes:
            messages.append(Message("bench", 0, offset, e.subject.encode(), e.to_bytes()))
            offset += 1
        await runner.process(messages)
        codes[fate] = envelopes[0].subject
    await engine.dispose()
    conn = await pg_connect(url)
    try:
        rows = {r["dossier_code"]: dict(r) for r in await conn.fetch("SELECT * FROM dossier_fact")}
        await conn.execute("DELETE FROM dossier_fact")
    finally:
        await conn.close()
    return {fate: rows[code] for fate, code in codes.items()}


async def generate(url: str, dossiers: int) -> None:
    facts = await fold_templates(url)
    columns = list(facts["on_time"])
    rng = random.Random(14)
    span = (LAST - FIRST).total_seconds()
    open_after = LAST - timedelta(days=30)
    conn = await pg_connect(url)
    try:
        for start in range(0, dossiers, 50_000):
            records = []
            for i in range(start, min(start + 50_000, dossiers)):
                received = FIRST + timedelta(seconds=span * i / dossiers)
                fate = "open" if received > open_after and i % 5 == 0 else MIX[rng.randrange(len(MIX))]
                row = dict(facts[fate])
                delta = received - row["received_at"]
                for k, v in row.items():
                    if isinstance(v, datetime):
                        row[k] = v + delta
                a = rng.randrange(len(AGENCIES))
                row["dossier_code"] = f"{AGENCIES[a]}-{received:%y%m%d}-{i:07d}"
                row["receiving_agency_code"] = row["handling_agency_code"] = AGENCIES[a]
                row["receiving_level"] = row["handling_level"] = LEVELS[a]
                row["applicant_hash"] = f"{rng.getrandbits(128):032x}"
                records.append(tuple(row[c] for c in columns))
            await conn.copy_records_to_table("dossier_fact", records=records, columns=columns)
        await conn.execute("ANALYZE dossier_fact")
    finally:
        await conn.close()
    await recount_aggregates(url)


async def recount_aggregates(url: str) -> None:
    """The fold keeps the day aggregates as it writes facts; facts COPYed past it get theirs from the recount."""
    from libs.common.db import create_engine, session_factory
    from services.reporting.fold import aggregate_store

    t = time.perf_counter()
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session, session.begin():
            await aggregate_store.recount(session)
    finally:
        await engine.dispose()
    conn = await pg_connect(url)
    try:
        await conn.execute("ANALYZE fact_day_aggregate")
        rows = await conn.fetchval("SELECT count(*) FROM fact_day_aggregate")
    finally:
        await conn.close()
    print(f"  recounted {rows:,} day aggregate rows in {time.perf_counter() - t:.1f} s", flush=True)


async def timed(client: httpx.AsyncClient, path: str, params: dict[str, Any], repeats: int) -> list[float]:
    response = await client.get(path, params=params)  # warm-up, and a check that the endpoint answers
    if response.status_code != 200:
        raise RuntimeError(f"GET {path} {params}: {response.status_code} {response.text[:500]}")
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        response = await client.get(path, params=params)
        out.append((time.perf_counter() - t) * 1000)
        response.raise_for_status()
    return out


async def run(bench: Bench, dossiers: int, repeats: int) -> None:
    url = await bench.database("reporting_reports", "reporting")
    t0 = time.perf_counter()
    await generate(url, dossiers)
    print(f"  generated {dossiers:,} dossier facts in {time.perf_counter() - t0:.0f} s", flush=True)
    env = service_env("reporting", url, kafka=None, prefix=f"benchrep{uuid.uuid4().hex[:6]}")
    bare_env = service_env("bare", url, kafka=None, prefix="unused", BENCH_BARE_DATABASE_URL=url,
                           BENCH_BARE_FACTS_URL=url)  # fmt: skip
    auth = {"Authorization": f"Bearer {TOKEN}"}
    async with (
        uvicorn("services.reporting.app:create_app", bench.port(), env, "reporting-reports") as reporting,
        uvicorn("bench.bare_app:create_app", bench.port(), bare_env, "bare-reports") as bare,
        httpx.AsyncClient(base_url=reporting, headers=auth, timeout=120) as client,
        httpx.AsyncClient(base_url=bare, timeout=120) as bare_client,
    ):
        plan = json.loads(PLAN.read_text(encoding="utf-8"))
        (await client.post("/plans", json=plan)).raise_for_status()
        indicators = (await client.get("/indicators")).json()
        code = next(d["code"] for d in indicators if d["basis"] == "dossier")
        q = {"year": YEAR, "quarter": QUARTER}
        first_page = (await client.get(f"/reports/indicators/{code}/dossiers",
                                       params={**q, "part": "denominator", "limit": 1000})).json()  # fmt: skip
        total = int(first_page["total"])
        # The drill-down pages by keyset cursor: walk to the last page once to get its `after`.
        last_after, page = None, first_page
        while page["next"] is not None:
            last_after = page["next"]
            params = {**q, "part": "denominator", "limit": 1000, "after": last_after}
            page = (await client.get(f"/reports/indicators/{code}/dossiers", params=params)).json()
        # The official Q3 window (Decree 09/2019: 15 June – 14 September), local time.
        start = datetime(2024, 6, 15, tzinfo=UTC) - timedelta(hours=7)
        window = {"start": start.isoformat(), "end": (start + timedelta(days=92)).isoformat()}
        base = await timed(bare_client, "/count", window, repeats)
        endpoints = [
            ("indicators", "/reports/indicators", q),
            ("compliance", "/reports/compliance", {**q, "plan": plan["plan_id"]}),
            ("results form (Biểu 06)", "/reports/results-form", q),
            ("Decision 766 index", "/reports/index-766", q),
            (f"drill-down {code}, first page", f"/reports/indicators/{code}/dossiers",
             {**q, "part": "denominator", "limit": 1000}),
            (f"drill-down {code}, last page", f"/reports/indicators/{code}/dossiers",
             {**q, "part": "denominator", "limit": 1000, **({"after": last_after} if last_after else {})}),
        ]  # fmt: skip
        for name, path, params in endpoints:
            samples = await timed(client, path, params, repeats)
            bench.add(
                Row(
                    f"report: {name}",
                    f"{dossiers:,} dossiers, {total:,} in Q3, {repeats} requests",
                    f"p50 {pct(samples, 50):.0f} ms, p95 {pct(samples, 95):.0f} ms",
                    f"one GROUP BY: p50 {pct(base, 50):.0f} ms, p95 {pct(base, 95):.0f} ms",
                    pct(base, 95) / pct(samples, 95),
                    "p95 < 150 ms",
                )
            )
