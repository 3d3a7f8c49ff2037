"""The national public-service portal, as a real local server for tests.

What motcua expects of the portal (docs/integrations.md): ``POST /login`` with a user name and password answers a
session token and its lifetime; ``POST /DongBoHoSoMC`` and ``POST /CapNhatTienDoHoSoMC`` take
``{"session": token, "madonvi": ..., "data": [record]}`` and answer ``{"error_code": "00", ...}`` on success.
Every record is validated against ``docs/contract/national-portal.schema.json``. The stand-in's own codes:
``"00"`` success, ``"02"`` a record that breaks the schema (the message names the field), HTTP 401 with
``"error_code": "401"`` for a wrong password or an unknown or expired session. Anything else on demand
(:meth:`NationalPortal.fail_next`, :attr:`NationalPortal.down`): another code, a 5xx, no answer at all.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from libs.common.standins.faults import Fault, Faults

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "docs" / "contract" / "national-portal.schema.json"
SERVICES = ("DongBoHoSoMC", "CapNhatTienDoHoSoMC")


@cache
def portal_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def schema_errors(definition: str, instance: Any) -> list[str]:
    """Every way ``instance`` breaks the schema's ``definition`` (``DongBoHoSoMC`` …), as ``path: message``."""
    schema = portal_schema()
    validator = jsonschema.Draft202012Validator({**schema, "$ref": f"#/$defs/{definition}"})
    return sorted(
        f"{'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator.iter_errors(instance)
    )


@dataclass(frozen=True)
class PortalCall:
    path: str
    body: Any
    status: int
    answer: Any


class NationalPortal:
    def __init__(
        self,
        *,
        username: str = "motcua",
        password: str = "portal-secret",
        session_seconds: float = 1800,
        clock: Callable[[], float] = time.monotonic,
        hang_seconds: float = 5.0,
    ) -> None:
        self.username = username
        self.password = password
        self.session_seconds = session_seconds
        self.clock = clock
        self.faults = Faults(hang_seconds)
        self.sessions: dict[str, float] = {}
        self.calls: list[PortalCall] = []
        self.accepted: list[tuple[str, dict[str, Any]]] = []
        self._tokens = itertools.count(1)

    # --- control, from the test -------------------------------------------------------------------------------

    def fail_next(
        self, *, code: str | None = None, http: int | None = None, hang: bool = False, times: int = 1
    ) -> None:
        """The next ``times`` calls to a service endpoint answer this instead (one of the three)."""
        self.faults.next(self._fault(code=code, http=http, hang=hang), times)

    def go_down(self, *, code: str | None = None, http: int | None = 503, hang: bool = False) -> None:
        self.faults.down = self._fault(code=code, http=None if hang or code else http, hang=hang)

    def come_back(self) -> None:
        self.faults.down = None

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def logins(self) -> int:
        return sum(1 for c in self.calls if c.path == "login")

    def received(self, service: str) -> list[dict[str, Any]]:
        return [record for name, record in self.accepted if name == service]

    @staticmethod
    def _fault(*, code: str | None, http: int | None, hang: bool) -> Fault:
        if hang:
            return Fault("hang")
        if code is not None:
            return Fault("code", 200, {"error_code": code, "message": f"Lỗi {code} (giả lập)"})
        status = http or 500
        return Fault("http", status, {"error_code": str(status), "message": "Lỗi hệ thống (giả lập)"})

    # --- the server --------------------------------------------------------------------------------------------

    def app(self) -> FastAPI:
        app = FastAPI(title="National public-service portal (stand-in)")

        @app.post("/login")
        async def login(request: Request) -> JSONResponse:
            body = await _json(request)
            if not isinstance(body, dict) or (body.get("username"), body.get("password")) != (
                self.username,
                self.password,
            ):
                return self._answer("login", body, 401, {"error_code": "401", "message": "Sai thông tin đăng nhập"})
            token = f"session-{next(self._tokens)}"
            self.sessions[token] = self.clock() + self.session_seconds
            return self._answer(
                "login", body, 200, {"error_code": "00", "session": token, "expires_in": self.session_seconds}
            )

        for service in SERVICES:
            app.add_api_route(f"/{service}", self._endpoint(service), methods=["POST"])
        return app

    def _endpoint(self, service: str) -> Callable[[Request], Any]:
        async def endpoint(request: Request) -> JSONResponse:
            body = await _json(request)
            fault = self.faults.take()
            if fault is not None:
                response = await self.faults.answer(fault)
                self.calls.append(PortalCall(service, body, response.status_code, json.loads(bytes(response.body))))
                return response
            envelope = schema_errors("Request", body)
            if envelope:
                return self._answer(service, body, 200, {"error_code": "02", "message": "; ".join(envelope)})
            expires = self.sessions.get(body["session"])
            if expires is None or expires <= self.clock():
                return self._answer(service, body, 401, {"error_code": "401", "message": "Phiên làm việc hết hạn"})
            errors = [e for record in body["data"] for e in schema_errors(service, record)]
            if errors:
                return self._answer(service, body, 200, {"error_code": "02", "message": "; ".join(errors)})
            self.accepted.extend((service, record) for record in body["data"])
            return self._answer(service, body, 200, {"error_code": "00", "message": "Thành công"})

        endpoint.__name__ = service
        return endpoint

    def _answer(self, path: str, body: Any, status: int, answer: dict[str, Any]) -> JSONResponse:
        self.calls.append(PortalCall(path, body, status, answer))
        return JSONResponse(answer, status_code=status)


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:
        return None
