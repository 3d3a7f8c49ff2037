"""Liveness and readiness: ``/healthz`` says the process runs, ``/readyz`` that its database and broker answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ReadinessCheck = Callable[[], Awaitable[None]]


def database_check(engine: AsyncEngine) -> ReadinessCheck:
    async def check() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    return check


def broker_check(bootstrap_servers: str) -> ReadinessCheck:
    async def check() -> None:
        # A plain TCP connect to every bootstrap server: cheap, and independent of the producer's state.
        for server in bootstrap_servers.split(","):
            host, _, port = server.strip().rpartition(":")
            _, writer = await asyncio.open_connection(host or "127.0.0.1", int(port))
            writer.close()
            await writer.wait_closed()

    return check


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", operation_id="liveness")
    async def healthz() -> dict[str, str]:
        """Liveness: the process is up."""
        return {"status": "ok"}

    @router.get("/readyz", operation_id="readiness")
    async def readyz(request: Request) -> JSONResponse:
        """Readiness: every dependency (database, broker) answered within 2 seconds."""
        checks: dict[str, ReadinessCheck] = request.app.state.readiness_checks
        results: dict[str, Any] = {}
        ok = True
        for name, check in checks.items():
            try:
                await asyncio.wait_for(check(), timeout=2.0)
                results[name] = "ok"
            except Exception as exc:
                ok = False
                results[name] = f"unavailable: {type(exc).__name__}"
        return JSONResponse(
            {"status": "ok" if ok else "unavailable", "checks": results}, status_code=200 if ok else 503
        )

    return router
