"""schemathesis over every service's OpenAPI, anonymously and with the demo admin key: no request it generates gets a
server error, every answer's status is declared in the OpenAPI, and every 4xx is problem+json (docs/security.md,
"Bounded input").

Each service runs under uvicorn in this process on its own database, Kafka off: on PostgreSQL when the suite has one
(``make test``: a NUL byte or an integer past a column fails only there), else on SQLite. Reporting's parity and drift
checks call an intake served next to it, so that their 502 (intake unreachable) is not what is measured. The examples
are derandomised (the same requests every run) and bounded (``MOTCUA_FUZZ_EXAMPLES``, default 3 per operation and
caller: the five services take about 15 s of the suite on 2 cores). A deeper run, e.g. before a release:
``MOTCUA_FUZZ_EXAMPLES=50 .venv/bin/pytest tests/test_openapi_fuzz.py``.
"""

from __future__ import annotations

import asyncio
import importlib
import os
import re
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from libs.common.migrate import SERVICES
from libs.common.testing import AUTH, postgres_server_url, service_database, serving

pytestmark = pytest.mark.asyncio

EXAMPLES = int(os.environ.get("MOTCUA_FUZZ_EXAMPLES", "3"))
CALLERS: dict[str, dict[str, str]] = {"anonymous": {}, "admin": AUTH["admin"]}


@dataclass(frozen=True)
class Finding:
    caller: str
    method: str
    path: str
    status: int
    problem: str
    request: str

    def __str__(self) -> str:
        return f"{self.caller} {self.method} {self.path} -> {self.status}: {self.problem}\n    {self.request}"


def declared(operation: Any, status: int) -> bool:
    """Whether the OpenAPI declares ``status`` for this operation (exactly, as ``4XX`` or by ``default``)."""
    keys = {str(k).upper() for k in operation.definition.raw.get("responses", {})}
    return str(status) in keys or f"{str(status)[0]}XX" in keys or "DEFAULT" in keys


def problems_of(operation: Any, response: Any) -> list[str]:
    found = []
    kind = ",".join(response.headers.get("content-type", []))
    if response.status_code >= 500:
        found.append("server error")
    if not declared(operation, response.status_code):
        found.append("status not declared in the OpenAPI")
    if 400 <= response.status_code < 600 and not re.match(r"application/problem\+json", kind):
        found.append(f"error answered as {kind or 'no content type'}, not problem+json")
    return found


def _checker(operation: Any, caller: str, headers: dict[str, str], findings: list[Finding]) -> Any:
    def check(case: Any) -> None:
        response = case.call(headers=headers, timeout=30)
        for problem in problems_of(operation, response):
            request = case.as_curl_command(headers=headers)
            method, path = operation.method.upper(), operation.path
            findings.append(Finding(caller, method, path, response.status_code, problem, request))

    return check


def fuzz(schema_url: str) -> list[Finding]:
    """Call every operation with generated requests as each caller (blocking: run in a thread, the servers live in
    the test's event loop)."""
    schema = schemathesis.openapi.from_url(schema_url)
    findings: list[Finding] = []
    run = settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    for result in schema.get_all_operations():
        operation = result.ok()
        for caller, headers in CALLERS.items():
            run(given(case=operation.as_strategy())(_checker(operation, caller, headers, findings)))()
    return findings


def settings_for(service: str, url: str, **extra: Any) -> Any:
    cls = getattr(importlib.import_module(f"services.{service}.config"), f"{service.capitalize()}Settings")
    return cls(database_url=url, kafka_enabled=False, **extra)


def app_for(service: str, config: Any) -> Any:
    return importlib.import_module(f"services.{service}.app").create_app(config)


@pytest.mark.parametrize("service", SERVICES)
async def test_generated_requests_get_no_server_error_and_only_declared_statuses(service: str, tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        backend = "postgres" if postgres_server_url() else "sqlite"
        url = await stack.enter_async_context(service_database(service, backend, tmp_path))
        extra: dict[str, Any] = {}
        if service == "reporting":
            intake_url = await stack.enter_async_context(service_database("intake", backend, tmp_path))
            intake = app_for("intake", settings_for("intake", intake_url, overdue_check_seconds=0))
            extra["intake_url"] = await stack.enter_async_context(serving(intake))
        base = await stack.enter_async_context(serving(app_for(service, settings_for(service, url, **extra))))
        findings = await asyncio.to_thread(fuzz, f"{base}/openapi.json")
    assert not findings, f"{len(findings)} findings:\n" + "\n".join(str(f) for f in findings[:400])
