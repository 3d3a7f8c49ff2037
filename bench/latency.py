"""Event to report: a receipt over HTTP to intake, its outbox relay, the broker, reporting's fold, until the dossier's
fact row is committed in reporting's database. Receipts are sent open-loop at a fixed rate (20/s by default), each
timed from just before its POST; a watcher polls reporting's ``dossier_fact`` every 10 ms for the pending codes (a
read of the database, not of the API: polling the API per dossier at that rate would load reporting itself).
The baseline is the receipt's own HTTP response time in the same run: what the pipeline adds on top of it is the
difference."""

from __future__ import annotations

import asyncio
import time
import uuid

import httpx

from bench.common import TOKEN, Bench, Row, pct, pg_connect, service_env, uvicorn
from bench.receipts import agency_codes, seed_intake


async def run(bench: Bench, rate: float, seconds: int) -> None:
    prefix = f"benchlat{uuid.uuid4().hex[:6]}"
    intake_url = await bench.database("intake_latency", "intake")
    await seed_intake(intake_url)
    reporting_url = await bench.database("reporting_latency", "reporting")
    intake_env = service_env(
        "intake", intake_url, kafka=bench.kafka, prefix=prefix, MOTCUA_INTAKE_OVERDUE_CHECK_SECONDS="0"
    )
    reporting_env = service_env("reporting", reporting_url, kafka=bench.kafka, prefix=prefix)
    agencies = agency_codes(50)
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    response_times: list[float] = []
    errors = 0
    async with (
        uvicorn("services.intake.app:create_app", bench.port(), intake_env, "intake-latency") as intake,
        uvicorn("services.reporting.app:create_app", bench.port(), reporting_env, "reporting-latency"),
        httpx.AsyncClient(base_url=intake, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=30) as client,
    ):
        conn = await pg_connect(reporting_url)

        async def receive(i: int) -> None:
            nonlocal errors
            body = {
                "procedure_code": "1.001193",
                "receiving_agency_code": agencies[i % len(agencies)],
                "receiving_level": "commune",
                "channel": "online",
                "applicant": {"kind": "person", "id_code": f"0012040{i % 100_000:05d}", "name": "Nguyễn Văn A"},
                "components": [{"code": "GKS", "form": "electronic", "digitised": True}],
            }
            t = time.perf_counter()
            response = await client.post("/dossiers", json=body)
            response_times.append(time.perf_counter() - t)
            if response.status_code != 201:
                errors += 1
                return
            sent[response.json()["code"]] = t

        async def watch(stop: asyncio.Event) -> None:
            while not stop.is_set() or any(c not in seen for c in sent):
                pending = [c for c in sent if c not in seen]
                if pending:
                    rows = await conn.fetch(
                        "SELECT dossier_code FROM dossier_fact WHERE dossier_code = ANY($1)", pending
                    )
                    now = time.perf_counter()
                    for r in rows:
                        seen[r["dossier_code"]] = now
                await asyncio.sleep(0.01)

        # Warm-up, not counted: the first receipts pay for connections and topic metadata, and reporting's consumer
        # has to join its group before anything reaches it. Start once the warm-up receipts are in reporting.
        stop = asyncio.Event()
        watcher = asyncio.create_task(watch(stop))
        await asyncio.gather(*(receive(-1 - i) for i in range(5)))
        deadline = time.perf_counter() + 120
        while any(c not in seen for c in sent):
            if time.perf_counter() > deadline:
                raise RuntimeError("the warm-up receipts did not reach reporting within 120 s")
            await asyncio.sleep(0.05)
        sent.clear()
        seen.clear()
        response_times.clear()
        start = time.perf_counter()
        tasks = []
        for i in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(receive(i)))
        await asyncio.gather(*tasks)
        stop.set()
        await asyncio.wait_for(watcher, timeout=120)
        await conn.close()
    latencies = [(seen[c] - sent[c]) * 1000 for c in sent]
    responses = [t * 1000 for t in response_times]
    bench.add(
        Row(
            f"event to report at {rate:g} receipts/s",
            f"{len(latencies)} receipts, {seconds} s",
            f"p50 {pct(latencies, 50):.0f} ms, p95 {pct(latencies, 95):.0f} ms, {errors} errors",
            f"receipt response p50 {pct(responses, 50):.0f} ms, p95 {pct(responses, 95):.0f} ms",
            pct(responses, 95) / pct(latencies, 95),
            "p95 < 1 s",
        )
    )
