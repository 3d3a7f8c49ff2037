"""motcua benchmarks: every figure beside a baseline measured in the same run on the same durable PostgreSQL, as a
ratio, in one table at the end. ``make bench`` starts a throwaway PostgreSQL (durable settings) and the local broker
and runs this; ``make bench BENCH_ARGS="--dossiers 1000000 --fold-events 200000"`` for the issue's sizes.

- receipts: intake under uvicorn vs a bare FastAPI + pydantic + one-insert endpoint, load from wrk (bench/receipts.py)
- fold: reporting's catch-up on a backlog vs a bare aiokafka consume-decode-insert loop (bench/fold.py)
- replicas: the same catch-up with two reporting processes in one consumer group vs one (bench/fold.py)
- latency: receipt over HTTP → fact in reporting, at a fixed receipt rate (bench/latency.py)
- reports: every report endpoint over N generated dossiers vs one GROUP BY (bench/reports.py)
- rebuild: the rebuild command over growing topics, extrapolated to 10M events (bench/fold.py)

The ratio column always reads "fraction of the baseline's speed": throughput ÷ baseline throughput, or baseline
time ÷ time; 1.00 is as fast as the bare stack.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import fold, latency, receipts, reports
from bench.common import LOGS, Bench, pg_connect, print_table

ALL = ("receipts", "fold", "replicas", "latency", "reports", "rebuild")


def machine() -> str:
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if "model name" in ln),
        platform.processor() or "unknown CPU",
    )
    meminfo = Path("/proc/meminfo").read_text().splitlines()
    mem_kb = next(int(ln.split()[1]) for ln in meminfo if ln.startswith("MemTotal"))
    return f"{os.cpu_count()} CPUs ({cpu}), {mem_kb / 1024 / 1024:.0f} GiB memory, Linux {platform.release()}"


async def postgres_settings(url: str) -> str:
    conn = await pg_connect(url)
    try:
        version = await conn.fetchval("SHOW server_version")
        names = ("fsync", "synchronous_commit", "full_page_writes")
        values = [f"{n}={await conn.fetchval(f'SHOW {n}')}" for n in names]
    finally:
        await conn.close()
    if "fsync=off" in values or "synchronous_commit=off" in values:
        raise SystemExit(f"PostgreSQL is not durable ({', '.join(values)}): start it with MOTCUA_PG_DURABLE=1")
    return f"PostgreSQL {version} ({', '.join(values)})"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pg-url", default=os.environ.get("BENCH_PG_URL"), help="postgresql+asyncpg://…/postgres")
    parser.add_argument("--kafka", default=os.environ.get("BENCH_KAFKA"), help="host:port of the broker")
    parser.add_argument("--ports", default="56010-56039", help="free ports the services may listen on")
    parser.add_argument("--only", default=",".join(ALL), help=f"comma-separated subset of {', '.join(ALL)}")
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per receipt measurement")
    parser.add_argument("--fold-events", type=int, default=100_000, help="backlog the fold catches up on")
    parser.add_argument("--latency-rate", type=float, default=20.0, help="receipts per second")
    parser.add_argument("--latency-seconds", type=int, default=15)
    parser.add_argument("--dossiers", type=int, default=100_000, help="generated dossiers for the report endpoints")
    parser.add_argument("--repeats", type=int, default=20, help="requests per report endpoint")
    parser.add_argument("--rebuild-sizes", default="25000,50000,100000", help="events, comma-separated")
    parser.add_argument("--out", default=str(LOGS / "latest.md"), help="where the table is written as well")
    args = parser.parse_args()
    if not args.pg_url or not args.kafka:
        parser.error("--pg-url and --kafka (or BENCH_PG_URL, BENCH_KAFKA) are required; `make bench` sets them")
    low, high = (int(p) for p in args.ports.split("-"))
    bench = Bench(pg_url=args.pg_url, kafka=args.kafka, ports=list(range(low, high + 1)))
    only = [b.strip() for b in args.only.split(",") if b.strip()]
    started = time.perf_counter()
    load_at_start = os.getloadavg()[0]
    pg = await postgres_settings(args.pg_url)
    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: ASYNC221
    wrk_version = " ".join(wrk.stdout.split()[:2])
    print(f"motcua benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n{machine()}\n{pg}\n{wrk_version}", flush=True)
    for name in only:
        print(f"{name}…", flush=True)
        if name == "receipts":
            await receipts.run(bench, args.seconds)
        elif name == "fold":
            await fold.fold_catch_up(bench, args.fold_events)
        elif name == "replicas":
            await fold.fold_replicas(bench, args.fold_events)
        elif name == "latency":
            await latency.run(bench, args.latency_rate, args.latency_seconds)
        elif name == "reports":
            await reports.run(bench, args.dossiers, args.repeats)
        elif name == "rebuild":
            await fold.rebuild(bench, [int(s) for s in args.rebuild_sizes.split(",")])
        else:
            parser.error(f"unknown benchmark {name!r}")
    header = (
        f"motcua benchmarks, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {(time.perf_counter() - started) / 60:.1f} min\n"
        f"machine: {machine()}\n{pg}; load: {wrk_version or 'wrk'}\n"
        f"arguments: {' '.join(sys.argv[1:]) or '(defaults)'}\n"
        f"load average at start {load_at_start:.1f}, at end {os.getloadavg()[0]:.1f} (other work on the machine skews "
        "absolute figures; the ratios compare runs made side by side)"
    )
    text = print_table(bench.rows, header)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text + "\n", encoding="utf-8")  # noqa: ASYNC240


if __name__ == "__main__":
    asyncio.run(main())
