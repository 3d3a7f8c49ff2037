"""The national portal's :class:`~libs.common.delivery.Sender`: session-token login and renewal, and the reading of
its answers (success only on ``error_code == "00"``; every other answer is kept with the delivery)."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

import httpx

from libs.common.delivery import Outcome, classify_http

_CODE_LABEL = re.compile(r"[^0-9A-Za-z_-]")


class PortalSender:
    """Sends ``{"service": "DongBoHoSoMC" | "CapNhatTienDoHoSoMC", "record": {...}}`` payloads.

    ``session_error_codes``: codes (or HTTP 401) meaning the session is unknown or expired: log in again and retry
    once at once. ``retryable_codes``: codes meaning "try later" (the portal is busy). Any other code is the
    portal's refusal of this record: a dead letter to read, fix and replay.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        base_url: str,
        username: str,
        password: str,
        agency_code: str | None = None,
        session_error_codes: frozenset[str] = frozenset({"401"}),
        retryable_codes: frozenset[str] = frozenset({"99"}),
        renew_before_seconds: float = 60.0,
        timeout_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")
        self.username = username
        self.password = password
        self.agency_code = agency_code
        self.session_error_codes = session_error_codes
        self.retryable_codes = retryable_codes
        self.renew_before_seconds = renew_before_seconds
        self.timeout: Any = timeout_seconds if timeout_seconds is not None else httpx.USE_CLIENT_DEFAULT
        self.clock = clock
        self._session: str | None = None
        self._expires_at = 0.0
        self._login_lock = asyncio.Lock()

    async def __call__(self, payload: dict[str, Any], idempotency_key: str) -> Outcome:
        session = await self._current_session()
        if isinstance(session, Outcome):
            return session
        response = await self._post(payload, session, idempotency_key)
        if self._session_refused(response):
            self._session = None
            session = await self._current_session()
            if isinstance(session, Outcome):
                return session
            response = await self._post(payload, session, idempotency_key)
        return self.classify(response)

    async def _post(self, payload: dict[str, Any], session: str, idempotency_key: str) -> httpx.Response:
        body: dict[str, Any] = {"session": session, "data": [payload["record"]]}
        if self.agency_code:
            body["madonvi"] = self.agency_code
        return await self.client.post(
            f"{self.base_url}/{payload['service']}",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            timeout=self.timeout,
        )

    async def _current_session(self) -> str | Outcome:
        async with self._login_lock:
            if self._session is not None and self.clock() < self._expires_at - self.renew_before_seconds:
                return self._session
            response = await self.client.post(
                f"{self.base_url}/login",
                json={"username": self.username, "password": self.password},
                timeout=self.timeout,
            )
            answer = _json(response)
            if response.is_success and answer.get("error_code") == "00" and answer.get("session"):
                self._session = str(answer["session"])
                self._expires_at = self.clock() + float(answer.get("expires_in") or 0)
                return self._session
            # Wrong credentials or a portal that cannot log anyone in: not this record's fault, so retryable (the
            # breaker opens and the alert fires; no record goes to dead letters for it).
            return Outcome.retry("portal_login_failed", response.status_code, response.text)

    def _session_refused(self, response: httpx.Response) -> bool:
        return response.status_code == 401 or str(_json(response).get("error_code")) in self.session_error_codes

    def classify(self, response: httpx.Response) -> Outcome:
        if not response.is_success:
            return classify_http(response)
        answer = _json(response)
        code = answer.get("error_code")
        if code == "00":
            return Outcome.delivered(response.status_code, response.text)
        if code is None:
            return Outcome.retry("portal_unreadable_answer", response.status_code, response.text)
        label = f"portal_{_CODE_LABEL.sub('', str(code))[:20]}"
        if str(code) in self.retryable_codes or str(code) in self.session_error_codes:
            return Outcome.retry(label, response.status_code, response.text)
        return Outcome.permanent(label, response.status_code, response.text)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        loaded = response.json()
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}
