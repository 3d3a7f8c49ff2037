"""An SMS gateway (brandname SMS over HTTP) and the Zalo ZNS template-message endpoint, as a real local server.

SMS, the shape most Vietnamese brandname gateways share: ``POST /sms/send`` with ``Authorization: Bearer <key>`` and
``{"brandname", "phone", "message", "request_id"}``; answers ``{"code": "00", "message_id"}``; the stand-in's
refusals: ``"01"`` unknown brandname, ``"02"`` phone not a Vietnamese mobile number, ``"03"`` empty or over-long
message, HTTP 401 for a wrong key.

ZNS, after Zalo's template-message API: ``POST /zns/message/template`` with an ``access_token`` header and
``{"phone": "84…", "template_id", "template_data": {…}, "tracking_id"}``; answers ``{"error": 0, "message":
"Success", "data": {"msg_id"}}``; refusals (stand-in codes): ``-124`` bad access token, ``-1124`` unknown template,
``-1118`` phone not valid, ``-1123`` template data missing a parameter.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from libs.common.standins.faults import Fault, Faults

MOBILE = re.compile(r"^(84|0)(3|5|7|8|9)[0-9]{8}$")
SMS_MAX_CHARS = 612  # four concatenated unicode segments is already generous for a notice


@dataclass(frozen=True)
class GatewayCall:
    path: str
    headers: dict[str, str]
    body: Any
    status: int
    answer: Any


class MessageGateway:
    def __init__(
        self,
        *,
        api_key: str = "sms-key",
        brandnames: frozenset[str] = frozenset({"MOTCUA"}),
        zalo_access_token: str = "zalo-token",
        zns_templates: dict[str, set[str]] | None = None,
        hang_seconds: float = 5.0,
    ) -> None:
        self.api_key = api_key
        self.brandnames = brandnames
        self.zalo_access_token = zalo_access_token
        # template id -> the parameters it requires
        self.zns_templates = zns_templates if zns_templates is not None else {}
        self.faults = Faults(hang_seconds)
        self.calls: list[GatewayCall] = []
        self.sms: list[dict[str, Any]] = []
        self.zns: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    def fail_next(self, *, http: int | None = None, hang: bool = False, body: Any = None, times: int = 1) -> None:
        fault = Fault("hang") if hang else Fault("http", http or 500, body or {"code": "99", "message": "down"})
        self.faults.next(fault, times)

    def app(self) -> FastAPI:
        app = FastAPI(title="SMS and Zalo ZNS gateway (stand-in)")

        @app.post("/sms/send")
        async def send_sms(request: Request) -> JSONResponse:
            body = await request.json()
            fault = self.faults.take()
            if fault is not None:
                return await self._fault(request, body, fault)
            if request.headers.get("authorization") != f"Bearer {self.api_key}":
                return self._answer(request, body, 401, {"code": "401", "message": "unauthorised"})
            code = self._sms_refusal(body)
            if code:
                return self._answer(request, body, 200, {"code": code, "message": "refused"})
            self.sms.append(body)
            return self._answer(request, body, 200, {"code": "00", "message_id": f"sms-{next(self._ids)}"})

        @app.post("/zns/message/template")
        async def send_zns(request: Request) -> JSONResponse:
            body = await request.json()
            fault = self.faults.take()
            if fault is not None:
                return await self._fault(request, body, fault)
            if request.headers.get("access_token") != self.zalo_access_token:
                return self._answer(request, body, 200, {"error": -124, "message": "Access token is invalid"})
            error = self._zns_refusal(body)
            if error:
                return self._answer(request, body, 200, {"error": error, "message": "refused"})
            self.zns.append(body)
            return self._answer(
                request, body, 200, {"error": 0, "message": "Success", "data": {"msg_id": f"zns-{next(self._ids)}"}}
            )

        return app

    def _sms_refusal(self, body: Any) -> str | None:
        if not isinstance(body, dict) or body.get("brandname") not in self.brandnames:
            return "01"
        if not MOBILE.match(str(body.get("phone", ""))):
            return "02"
        message = body.get("message")
        if not isinstance(message, str) or not message or len(message) > SMS_MAX_CHARS:
            return "03"
        return None

    def _zns_refusal(self, body: Any) -> int | None:
        if not isinstance(body, dict) or body.get("template_id") not in self.zns_templates:
            return -1124
        if not re.fullmatch(r"84[0-9]{9}", str(body.get("phone", ""))):
            return -1118
        data = body.get("template_data")
        if not isinstance(data, dict) or not self.zns_templates[body["template_id"]] <= set(data):
            return -1123
        return None

    async def _fault(self, request: Request, body: Any, fault: Fault) -> JSONResponse:
        response = await self.faults.answer(fault)
        self.calls.append(GatewayCall(request.url.path, dict(request.headers), body, response.status_code, None))
        return response

    def _answer(self, request: Request, body: Any, status: int, answer: Any) -> JSONResponse:
        self.calls.append(GatewayCall(request.url.path, dict(request.headers), body, status, answer))
        return JSONResponse(answer, status_code=status)
