"""What every benchmark shares: the PostgreSQL server and broker the Makefile started, fresh databases, services
under uvicorn as subprocesses, percentiles, and the one table the run prints."""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
LOGS = ROOT / "var" / "bench"
PYTHON = sys.executable
# The bench's own API key, given to the services like a production deployment's (MOTCUA_ENV=production).
TOKEN = "bench-" + uuid.uuid4().hex
PSEUDONYM_KEY = "bench-" + uuid.uuid4().hex
SESSION_SECRET = "bench-" + uuid.uuid4().hex


@dataclass
class Row:
    benchmark: str
    size: str
    measured: str
    baseline: str
    ratio: float | None
    target: str


@dataclass
class Bench:
    """The run's context: where PostgreSQL and the broker are, which ports the bench may use, the rows so far."""

    pg_url: str  # server URL of a maintenance database, postgresql+asyncpg://…/postgres
    kafka: str
    ports: list[int]
    rows: list[Row] = field(default_factory=list)

    def port(self) -> int:
        return self.ports.pop(0)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        ratio = fmt_ratio(row.ratio)
        print(f"  {row.benchmark} [{row.size}]: {row.measured} | baseline {row.baseline} | ratio {ratio}", flush=True)

    async def database(self, name: str, service: str | None = None) -> str:
        """A fresh database; migrated to head with ``service``'s Alembic environment when given."""
        from libs.common.testing import create_postgres_database, migrate

        url = await create_postgres_database(self.pg_url, f"bench_{name}_{uuid.uuid4().hex[:6]}")
        if service is not None:
            await migrate(service, url)
        return url


def fmt_ratio(ratio: float | None) -> str:
    return "" if ratio is None else f"{ratio:.2f}"


def pct(values: Sequence[float], q: int) -> float:
    """The q-th percentile (inclusive method: with few samples p95 is near the largest, never beyond it)."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def service_env(service: str, database_url: str, *, kafka: str | None, prefix: str, **extra: str) -> dict[str, str]:
    """The environment a production container of ``service`` gets (docker-compose.yml, deploy/k8s), for the bench."""
    from libs.common.auth import PROVINCE_WIDE, Role, hash_api_key

    env = dict(os.environ)
    env.update(
        {
            "MOTCUA_ENV": "production",
            "MOTCUA_LOG_LEVEL": "INFO",
            "MOTCUA_LOG_JSON": "true",
            # keys are configured as digests; the bench's principal acts for the whole province like the demo keys
            "MOTCUA_API_KEYS": json.dumps(
                {hash_api_key(TOKEN): {"subject": "bench", "roles": [r.value for r in Role], "agencies": PROVINCE_WIDE}}
            ),
            "MOTCUA_PSEUDONYM_KEY": PSEUDONYM_KEY,
            "MOTCUA_SESSION_SECRET": SESSION_SECRET,
            f"MOTCUA_{service.upper()}_DATABASE_URL": database_url,
            "MOTCUA_KAFKA_ENABLED": "true" if kafka else "false",
            "KAFKA_BOOTSTRAP_SERVERS": kafka or "127.0.0.1:1",
            "MOTCUA_TOPIC_PREFIX": prefix,
        }
    )
    env.update(extra)
    return env


SERVER_PIDS: dict[str, int] = {}  # base URL → process id of the servers started by ``uvicorn`` below


def cpu_seconds(base: str) -> float:
    """User + system CPU time the server at ``base`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{SERVER_PIDS[base]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@asynccontextmanager
async def uvicorn(factory: str, port: int, env: dict[str, str], name: str) -> AsyncIterator[str]:
    """``factory`` under uvicorn in its own process, as the Dockerfile runs it; yields its base URL once it answers."""
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"{name}.log").open("ab")
    cmd = [PYTHON, "-m", "uvicorn", factory, "--factory", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--no-access-log", "--timeout-graceful-shutdown", "5", "--log-level", "warning"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: ASYNC220
    base = f"http://127.0.0.1:{port}"
    SERVER_PIDS[base] = proc.pid
    try:
        async with httpx.AsyncClient(base_url=base, timeout=2) as client:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited with {proc.returncode}; see {LOGS / (name + '.log')}")
                try:
                    if (await client.get("/healthz" if "services." in factory else "/docs")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer within 60 s; see {LOGS / (name + '.log')}")
                await asyncio.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        try:
            await asyncio.to_thread(proc.wait, 15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


async def pg_connect(url: str) -> Any:
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return await asyncpg.connect(host=u.host, port=u.port, user=u.username, password=u.password, database=u.database)


def print_table(rows: list[Row], header: str) -> str:
    cols = ["benchmark", "size", "motcua", "baseline (same run)", "ratio", "target"]
    data = [[r.benchmark, r.size, r.measured, r.baseline, fmt_ratio(r.ratio), r.target] for r in rows]
    lines = [header, "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cells) + " |" for cells in data]
    text = "\n".join(lines)
    print("\n" + text)
    return text
