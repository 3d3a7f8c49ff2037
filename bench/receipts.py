"""Receipts over real HTTP: intake under uvicorn against the bare FastAPI + pydantic + one-insert endpoint
(bench/bare_app.py), both on the same durable PostgreSQL, load from wrk (bench/receipts.lua: varied bodies, a
random receiving agency per request, a fixed number of connections = concurrency)."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid

from bench.bare_app import POOL_SIZE as BARE_POOL_SIZE
from bench.common import ROOT, TOKEN, Bench, Row, cpu_seconds, service_env, uvicorn

AGENCY_COUNTS = (1, 50)
CONCURRENCY = (16, 64)


def agency_codes(n: int) -> list[str]:
    """The same codes as bench/receipts.lua builds."""
    return [f"000.00.{10 + i:02d}.H56" for i in range(n)]


async def seed_intake(url: str) -> None:
    """Intake's catalogue replica: the sample birth-registration procedure and 50 commune agencies offering it, stored
    the way intake's consumer stores them (the test suite's seeding path)."""
    from libs.common.contract import AgencyPublished, ProcedurePublished
    from libs.common.db import create_engine, session_factory
    from services.intake.catalogue_replica import service
    from services.intake.tests.conftest import birth_registration_procedure

    engine = create_engine(url)
    async with session_factory(engine)() as session, session.begin():
        snapshot = birth_registration_procedure()
        await service.store_procedure(session, ProcedurePublished(code=snapshot.code, procedure=snapshot))
        for i, code in enumerate(agency_codes(max(AGENCY_COUNTS))):
            await service.store_agency(
                session,
                AgencyPublished(code=code, name=f"UBND xã {i}", level="commune", procedure_codes=[snapshot.code]),
            )
    await engine.dispose()


async def wrk(base: str, agencies: int, concurrency: int, seconds: int) -> dict[str, float]:
    cpu_before = cpu_seconds(base)
    proc = await asyncio.create_subprocess_exec(
        "wrk", "-t", "2", "-c", str(concurrency), "-d", f"{seconds}s", "--timeout", "10s",
        "-s", str(ROOT / "bench" / "receipts.lua"), f"{base}/dossiers", "--", str(agencies), TOKEN,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed: {err.decode()}")
    [line] = [ln for ln in out.decode().splitlines() if ln.startswith("{")]
    result: dict[str, float] = json.loads(line)
    result["rps"] = result["requests"] / result["seconds"]
    # the server's own CPU per request: what the request costs, whatever else the loaded machine is doing
    result["cpu_ms"] = 1000 * (cpu_seconds(base) - cpu_before) / max(result["requests"], 1)
    return result


def describe(r: dict[str, float]) -> str:
    errors = int(r["non_2xx"] + r["socket_errors"])
    return (
        f"{r['rps']:.0f} req/s, p50 {r['p50_ms']:.0f} ms, p95 {r['p95_ms']:.0f} ms, {errors} errors, "
        f"{r['cpu_ms']:.1f} ms CPU/request"
    )


async def run(bench: Bench, seconds: int) -> None:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed: apt-get install -y wrk (make bench does it when run as root)")
    intake_url = await bench.database("intake", "intake")
    await seed_intake(intake_url)
    bare_url = await bench.database("bare")
    # Intake runs as in production: its outbox relay publishes to the broker while receipts come in.
    intake_env = service_env(
        "intake", intake_url, kafka=bench.kafka, prefix=f"bench{uuid.uuid4().hex[:6]}",
        MOTCUA_INTAKE_OVERDUE_CHECK_SECONDS="0",
        # the bare endpoint's pool (bare_app.py): with fewer connections than requests in flight, SQLAlchemy's pool
        # closes each overflow connection at check-in and opens another (TLS attempt, codecs, statements prepared
        # again) at the next check-out, a cost the comparison is not about
        MOTCUA_INTAKE_DATABASE_POOL_SIZE=str(BARE_POOL_SIZE),
    )  # fmt: skip
    bare_env = service_env("bare", bare_url, kafka=None, prefix="unused", BENCH_BARE_DATABASE_URL=bare_url)
    async with (
        uvicorn("services.intake.app:create_app", bench.port(), intake_env, "intake-receipts") as intake,
        uvicorn("bench.bare_app:create_app", bench.port(), bare_env, "bare-receipts") as bare,
    ):
        for base in (intake, bare):  # warm both: connection pools, statement caches
            await wrk(base, 1, 16, 2)
        for agencies in AGENCY_COUNTS:
            for concurrency in CONCURRENCY:
                measured = await wrk(intake, agencies, concurrency, seconds)
                baseline = await wrk(bare, agencies, concurrency, seconds)
                target = {
                    (50, 16): "≥ 0.50, p95 < 50 ms",
                    (1, 64): "p95 < 150 ms, 0 errors",
                }.get((agencies, concurrency), "")
                bench.add(
                    Row(
                        f"receipts over HTTP, {agencies} agenc{'y' if agencies == 1 else 'ies'}, c={concurrency}",
                        f"wrk {seconds} s",
                        describe(measured),
                        describe(baseline),
                        measured["rps"] / baseline["rps"],
                        target,
                    )
                )
