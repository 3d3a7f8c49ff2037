"""Answers a stand-in gives on demand instead of its normal one: an HTTP status, a code in the body, or no answer."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

from fastapi.responses import JSONResponse

FaultKind = Literal["http", "code", "hang"]


@dataclass(frozen=True)
class Fault:
    kind: FaultKind
    status: int = 200  # "http": the HTTP status; "code": the (200) status carrying the code
    body: Any = None


class Faults:
    """A queue of faults for the next calls, then a standing one (``down``) until cleared."""

    def __init__(self, hang_seconds: float = 5.0) -> None:
        self.queue: deque[Fault] = deque()
        self.down: Fault | None = None
        self.hang_seconds = hang_seconds

    def next(self, fault: Fault, times: int = 1) -> None:
        self.queue.extend([fault] * times)

    def take(self) -> Fault | None:
        if self.queue:
            return self.queue.popleft()
        return self.down

    async def answer(self, fault: Fault) -> JSONResponse:
        if fault.kind == "hang":
            # Longer than any client's timeout in the tests: the caller gives up first.
            await asyncio.sleep(self.hang_seconds)
            return JSONResponse({"error": "hung"}, status_code=504)
        return JSONResponse(fault.body if fault.body is not None else {}, status_code=fault.status)
