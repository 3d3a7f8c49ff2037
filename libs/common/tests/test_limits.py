"""Body caps enforced before the body is read, and the token-bucket rate limit of public routes."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import BaseModel

from libs.common.app import create_service_app
from libs.common.auth import Principal, Role, require
from libs.common.limits import (
    BODY_LIMITED_RESPONSES,
    RATE_LIMITED_RESPONSES,
    MiB,
    TokenBuckets,
    public_rate_limit,
)
from libs.common.settings import ServiceSettings
from libs.common.testing import assert_problem, eventually, free_port, running_app

Ops = Annotated[Principal, Depends(require(Role.OPS))]


class Note(BaseModel):
    text: str


def make_app(**settings: Any) -> FastAPI:
    router = APIRouter()

    @router.post("/notes")
    async def create_note(_: Ops, body: Note) -> dict[str, int]:
        return {"length": len(body.text)}

    @router.post("/imports", max_body_size=3 * MiB, responses=BODY_LIMITED_RESPONSES)
    async def import_file(_: Ops, request: Request) -> dict[str, int]:
        total = 0
        async for chunk in request.stream():
            total += len(chunk)
        return {"bytes": total}

    @router.get("/public/lookup", dependencies=[Depends(public_rate_limit)], responses=RATE_LIMITED_RESPONSES)
    async def lookup() -> dict[str, str]:
        return {"status": "ok"}

    options: dict[str, Any] = {
        "environment": "test",
        "database_url": "sqlite+aiosqlite:///:memory:",
        "kafka_enabled": False,
    } | settings
    return create_service_app(
        service="t", title="t", description="t", settings=ServiceSettings(**options), routers=[router]
    )


OPS = {"Authorization": "Bearer dev-ops"}


@pytest.mark.asyncio
class TestBodyLimit:
    # /notes reads its body first (FastAPI parses it before the dependencies); /imports refuses the anonymous caller
    # without reading: there the framework answers 413 by itself, in plain text, rewritten to problem+json.
    @pytest.mark.parametrize("path", ["/notes", "/imports"])
    async def test_a_declared_length_over_the_cap_is_refused_unread(self, path: str) -> None:
        pulled = 0

        async def receive() -> dict[str, Any]:
            nonlocal pulled
            pulled += 1
            return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

        app = make_app()
        sent: list[MutableMapping[str, Any]] = []

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        async with app.router.lifespan_context(app):
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
                "headers": [(b"content-length", str(200 * MiB).encode()), (b"content-type", b"application/json")],
                "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
            }  # fmt: skip
            await app(scope, receive, send)
        assert pulled == 0
        assert sent[0]["status"] == 413
        assert dict(sent[0]["headers"])[b"content-type"] == b"application/problem+json"
        body = json.loads(b"".join(m.get("body", b"") for m in sent[1:]))
        assert body["code"] == "payload_too_large" and body["correlation_id"]

    async def test_a_chunked_body_is_cut_at_the_first_chunk_past_the_cap(self) -> None:
        pulled = 0

        async def receive() -> dict[str, Any]:
            nonlocal pulled
            pulled += 1
            return {"type": "http.request", "body": b"x" * 65536, "more_body": pulled < 3200}

        app = make_app()
        sent: list[MutableMapping[str, Any]] = []

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        async with app.router.lifespan_context(app):
            scope = {
                "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                "scheme": "http", "path": "/notes", "raw_path": b"/notes", "query_string": b"", "root_path": "",
                "headers": [(b"transfer-encoding", b"chunked"), (b"content-type", b"application/json")],
                "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
            }  # fmt: skip
            await app(scope, receive, send)
        # 1 MiB is 16 chunks of 64 KiB: the 17th is the first past the cap, and nothing after it is read.
        assert pulled == 17
        assert sent[0]["status"] == 413 and json.loads(sent[1]["body"])["code"] == "payload_too_large"

    async def test_a_route_declares_a_larger_cap(self) -> None:
        async with running_app(make_app()) as client:
            ok = await client.post("/imports", content=b"x" * (2 * MiB), headers=OPS)
            too_big = await client.post("/imports", content=b"x" * (3 * MiB + 1), headers=OPS)
            note = await client.post("/notes", json={"text": "x" * (MiB + 10)}, headers=OPS)
            small = await client.post("/notes", json={"text": "xin chào"}, headers=OPS)
            spec = (await client.get("/openapi.json")).json()
        assert ok.json() == {"bytes": 2 * MiB}
        assert_problem(too_big, 413, "payload_too_large")
        assert_problem(note, 413, "payload_too_large")
        assert small.json() == {"length": 8}
        assert "413" in spec["paths"]["/imports"]["post"]["responses"]

    async def test_the_default_cap_is_a_setting(self) -> None:
        async with running_app(make_app(body_limit_bytes=2048)) as client:
            r = await client.post("/notes", json={"text": "x" * 4000}, headers=OPS)
        assert_problem(r, 413, "payload_too_large")


def _rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.mark.asyncio
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc to read the memory in use")
@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_200_mb_without_credentials_to_uvicorn_leaves_its_memory_flat(chunked: bool) -> None:
    """A real uvicorn process and a real socket: the server's memory must not grow by what a client sends."""
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "uvicorn", "libs.common.tests.test_limits:make_app", "--factory",
        "--host", "127.0.0.1", "--port", str(port),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:

        async def accepting() -> bool:
            try:
                _, w = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                return False
            w.close()
            return True

        await eventually(accepting, timeout=30, what="uvicorn to accept connections")
        baseline = peak = _rss_bytes(server.pid)
        size, chunk = 200 * MiB, b"x" * (256 * 1024)
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        framing = b"Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}".encode()
        writer.write(b"POST /notes HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" + framing + b"\r\n\r\n")
        sent = 0
        try:
            while sent < size:
                writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk)
                await writer.drain()
                sent += len(chunk)
                peak = max(peak, _rss_bytes(server.pid))
        except (ConnectionError, OSError):
            pass  # the server answered and closed the connection: the rest of the body is never read
        writer.close()
        peak = max(peak, _rss_bytes(server.pid))
    finally:
        server.terminate()
        output = (await server.communicate())[0].decode()
    if not chunked:
        assert sent < size, "the server took the whole body"
    # A chunked body may be drained by uvicorn after the answer (discarded, as the memory shows); the app's receive
    # channel stops at the first chunk past the cap (test_a_chunked_body_is_cut_at_the_first_chunk_past_the_cap).
    # uvicorn's access log line for the request: the client may not see the answer (the server resets the
    # connection it stops reading), the server's log does.
    assert '"POST /notes HTTP/1.1" 413' in output, output
    assert peak - baseline < 20 * MiB, f"memory grew by {(peak - baseline) / MiB:.1f} MiB"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class TestTokenBuckets:
    def test_a_burst_then_the_refill_rate(self) -> None:
        clock = FakeClock()
        buckets = TokenBuckets(per_second=0.5, burst=3, clock=clock)
        assert [buckets.take("a") for _ in range(3)] == [0, 0, 0]
        assert buckets.take("a") == pytest.approx(2.0)
        assert buckets.take("b") == 0  # another address has its own bucket
        clock.now += 2
        assert buckets.take("a") == 0
        assert buckets.take("a") > 0

    def test_the_table_is_bounded(self) -> None:
        buckets = TokenBuckets(per_second=1, burst=1, max_keys=100, clock=FakeClock())
        for i in range(1000):
            buckets.take(f"10.0.{i // 256}.{i % 256}")
        assert len(buckets._buckets) == 100


@pytest.mark.asyncio
async def test_the_public_rate_limit_answers_429_with_retry_after() -> None:
    async with running_app(make_app(public_rate_per_minute=6, public_rate_burst=2)) as client:
        answers = [await client.get("/public/lookup") for _ in range(3)]
        spec = (await client.get("/openapi.json")).json()
    assert [r.status_code for r in answers] == [200, 200, 429]
    problem = assert_problem(answers[2], 429, "too_many_requests")
    assert answers[2].headers["retry-after"] == "10" and "10 s" in problem["detail"]
    assert "429" in spec["paths"]["/public/lookup"]["get"]["responses"]
