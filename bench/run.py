"""Benchmarks, each printed as a ratio against a baseline measured in the same run on the same database.

- fold: reporting's consumer path (decode, inbox dedupe, ledger, refold, set-based upserts; one transaction per
  batch) against a baseline of inserting the same number of rows into a bare two-column table, batch for batch.
- intake: receipts through the ASGI app (validation, code sequence, due date, dossier row, outbox row, commit)
  against a baseline of the same number of GET /healthz through the same client.

Targets from the brief (fold ≥ 20k events/s, intake ≥ 500 dossiers/s with p95 < 50 ms) are printed beside the
measures; nothing here asserts them. Run with ``make bench`` (starts a throwaway PostgreSQL on port 55499).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Column, Integer, MetaData, String, Table, insert  # noqa: E402

from libs.common.contract import Rating, TransferMode  # noqa: E402
from libs.common.db import create_engine  # noqa: E402
from libs.common.messaging.consumer import ConsumerRunner, Message  # noqa: E402
from libs.common.testing import AUTH, running_app, service_database  # noqa: E402


def report(name: str, measured: float, baseline: float, unit: str, target: str) -> None:
    print(
        f"{name:<28} {measured:>10.0f} {unit}   baseline {baseline:>10.0f} {unit}   ratio {measured / baseline:.3f}"
        f"   (target {target})"
    )


async def bench_fold(events_count: int, batch: int, backend: str, tmp: Path) -> None:
    from services.reporting.fold.handlers import make_fold
    from services.reporting.tests.factory import Dossier, vn

    dossiers = []
    start = vn(2026, 3, 2)
    for i in range(events_count // 5):
        received = start + timedelta(minutes=i)
        d = Dossier(f"000.00.00.H56-260302-{i:06d}", received_at=received, due_at=received + timedelta(days=3))
        d.transfer(received + timedelta(hours=1), mode=TransferMode.ELECTRONIC).resolve(received + timedelta(days=1))
        d.return_(received + timedelta(days=2)).rate(received + timedelta(days=2), Rating.SATISFIED)
        dossiers.append(d)
    # Interleave by time across dossiers, as a live topic would deliver them.
    envelopes = sorted((e for d in dossiers for e in d.envelopes()), key=lambda e: e.time)
    messages = [Message("bench", 0, i, e.subject.encode(), e.to_bytes()) for i, e in enumerate(envelopes)]

    async with service_database("reporting", backend, tmp) as url:
        engine = create_engine(url)
        runner = ConsumerRunner(
            name="bench",
            engine=engine,
            handler=make_fold("bench-key"),
            topics=["bench"],
            bootstrap_servers="unused:1",
            batch_size=batch,
        )
        t0 = time.perf_counter()
        for i in range(0, len(messages), batch):
            await runner.process(messages[i : i + batch])
        fold_rate = len(messages) / (time.perf_counter() - t0)

        scratch = Table("bench_baseline", MetaData(), Column("id", Integer, primary_key=True), Column("v", String(64)))
        async with engine.begin() as conn:
            await conn.run_sync(scratch.metadata.create_all)
        t0 = time.perf_counter()
        for i in range(0, len(messages), batch):
            async with engine.begin() as conn:
                await conn.execute(
                    insert(scratch), [{"id": j, "v": "x"} for j in range(i, min(i + batch, len(messages)))]
                )
        base_rate = len(messages) / (time.perf_counter() - t0)
        await engine.dispose()
    report(f"fold ({backend})", fold_rate, base_rate, "events/s", "≥ 20000 events/s")


async def bench_intake(count: int, concurrency: int, backend: str, tmp: Path) -> None:
    from libs.common.contract import ProcedurePublished
    from libs.common.db import session_factory
    from services.intake.app import create_app
    from services.intake.catalogue_replica import service as replica
    from services.intake.config import IntakeSettings
    from services.intake.tests.conftest import birth_registration_procedure

    async with service_database("intake", backend, tmp) as url:
        engine = create_engine(url)
        async with session_factory(engine)() as session, session.begin():
            snapshot = birth_registration_procedure()
            await replica.store_procedure(session, ProcedurePublished(code=snapshot.code, procedure=snapshot))
        await engine.dispose()
        app = create_app(IntakeSettings(database_url=url, kafka_enabled=False, overdue_check_seconds=0))
        body = {
            "procedure_code": "1.001193",
            "receiving_agency_code": "000.00.00.H56",
            "receiving_level": "commune",
            "channel": "online",
            "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn A"},
            "components": [{"code": "GKS", "form": "electronic", "digitised": True}],
        }
        async with running_app(app) as client:

            async def run(call: object) -> tuple[float, list[float]]:
                latencies: list[float] = []
                queue = iter(range(count))

                async def worker() -> None:
                    for _ in queue:
                        t = time.perf_counter()
                        response = await call()  # type: ignore[operator]
                        latencies.append(time.perf_counter() - t)
                        assert response.status_code in (200, 201), response.text

                t0 = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                return count / (time.perf_counter() - t0), latencies

            rate, latencies = await run(lambda: client.post("/dossiers", json=body, headers=AUTH["desk"]))
            base_rate, base_lat = await run(lambda: client.get("/healthz"))
    p95 = statistics.quantiles(latencies, n=20)[-1] * 1000
    base_p95 = statistics.quantiles(base_lat, n=20)[-1] * 1000
    report(f"intake receipts ({backend})", rate, base_rate, "req/s", "≥ 500 dossiers/s")
    print(
        f"{'intake p95 latency':<28} {p95:>10.1f} ms        baseline {base_p95:>10.1f} ms        "
        f"ratio {p95 / base_p95:.2f}   (target < 50 ms)"
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--dossiers", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    backend = "postgres" if os.environ.get("MOTCUA_TEST_POSTGRES_URL") else "sqlite"
    print(f"motcua benchmarks on {backend}, {os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    with tempfile.TemporaryDirectory() as tmp:
        await bench_fold(args.events, args.batch, backend, Path(tmp))
        await bench_intake(args.dossiers, args.concurrency, backend, Path(tmp))


if __name__ == "__main__":
    os.environ.setdefault("MOTCUA_ENV", "test")
    os.environ.setdefault("MOTCUA_LOG_LEVEL", "WARNING")
    os.environ.setdefault("MOTCUA_LOG_JSON", "false")
    asyncio.run(main())
