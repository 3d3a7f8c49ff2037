"""Fuzz every service's OpenAPI with schemathesis, with and without credentials, and list the server errors.

``python scripts/fuzz_openapi.py [service …]`` (``MOTCUA_FUZZ_EXAMPLES``, default 5 per operation and caller): each
service runs under uvicorn on a fresh SQLite database, Kafka off; every operation is called with generated requests
anonymously and with the demo admin key. A 5xx, or a 4xx that is not problem+json, is printed; exit 1 if any.
Not part of ``make test`` yet (docs/security.md, "Not built yet").
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

ROOT = Path(__file__).parents[1]
SERVICES = ["catalogue", "intake", "digitisation", "payments", "reporting"]
CALLERS: dict[str, dict[str, str]] = {"anonymous": {}, "admin": {"Authorization": "Bearer dev-admin"}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _serve(service: str, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    url = f"sqlite+aiosqlite:///{workdir / f'{service}.db'}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        f"MOTCUA_{service.upper()}_DATABASE_URL": url,
        "MOTCUA_KAFKA_ENABLED": "false",
        "MOTCUA_INTAKE_OVERDUE_CHECK_SECONDS": "0",
    }
    migrate = f"from libs.common.migrate import upgrade; upgrade({service!r}, {url!r})"
    subprocess.run([sys.executable, "-c", migrate], env=env, check=True, cwd=ROOT)
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", f"services.{service}.app:create_app", "--factory", "--port", str(port)]
    proc = subprocess.Popen([*command, "--log-level", "error"], env=env, cwd=ROOT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{base}/healthz", timeout=1)
            return proc, base
        except requests.ConnectionError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"{service} did not start")


def _checker(operation: Any, caller: str, headers: dict[str, str], found: list[tuple[Any, ...]]) -> Any:
    def check(case: Any) -> None:
        response = case.call(headers=headers, timeout=10)
        kind = str(response.headers.get("content-type", ""))
        if response.status_code >= 500 or (response.status_code >= 400 and "problem+json" not in kind):
            found.append((caller, operation.method.upper(), operation.path, response.status_code, kind))

    return check


def fuzz(service: str, examples: int, workdir: Path) -> list[tuple[Any, ...]]:
    proc, base = _serve(service, workdir)
    found: list[tuple[Any, ...]] = []
    try:
        schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
        for result in schema.get_all_operations():
            operation = result.ok()  # type: ignore[union-attr]
            for caller, headers in CALLERS.items():
                run = settings(
                    max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None
                )
                check: Any = run(given(case=operation.as_strategy())(_checker(operation, caller, headers, found)))
                check()
    finally:
        proc.terminate()
        proc.wait()
    return found


def main(argv: list[str]) -> int:
    examples = int(os.environ.get("MOTCUA_FUZZ_EXAMPLES", "5"))
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for service in argv or SERVICES:
            found = fuzz(service, examples, Path(tmp))
            print(f"{service}: {len(found)} server errors or non-problem answers")
            for item in found:
                print("   ", *item)
            failures += len(found)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
