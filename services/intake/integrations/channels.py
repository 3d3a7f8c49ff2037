"""Senders of the three notice channels: an HTTP SMS gateway (brandname), Zalo ZNS template messages, SMTP.

Each turns a payload built by :func:`.notices.notice_delivery` into a call and classifies the answer for the
delivery worker. A refusal of this message (bad number, unknown template) is permanent; the far end being down,
slow, or refusing our credentials is retryable (the breaker opens, the alert fires, nothing is dead-lettered).
"""

from __future__ import annotations

import re
import uuid
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

import aiosmtplib
import httpx

from libs.common.delivery import Outcome, classify_http

_LABEL = re.compile(r"[^0-9A-Za-z_-]")


def _label(prefix: str, code: object) -> str:
    return f"{prefix}_{_LABEL.sub('', str(code))[:20]}"


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        loaded = response.json()
    except ValueError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def international_phone(phone: str) -> str:
    """``0912345678`` → ``84912345678`` (Zalo wants the country code, without ``+``)."""
    digits = re.sub(r"\D", "", phone)
    return "84" + digits[1:] if digits.startswith("0") else digits


class SmsGatewaySender:
    """``POST <url>`` with a bearer key and ``{"brandname", "phone", "message", "request_id"}``; ``code == "00"`` is
    success. ``retryable_codes``: the gateway's "try later" codes."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        url: str,
        api_key: str,
        brandname: str,
        retryable_codes: frozenset[str] = frozenset({"99"}),
    ) -> None:
        self.client = client
        self.url = url
        self.api_key = api_key
        self.brandname = brandname
        self.retryable_codes = retryable_codes

    async def __call__(self, payload: dict[str, Any], idempotency_key: str) -> Outcome:
        response = await self.client.post(
            self.url,
            json={
                "brandname": self.brandname,
                "phone": payload["phone"],
                "message": payload["text"],
                # The gateway's own de-duplication key, where it has one: a retry after a lost answer stays one SMS.
                "request_id": idempotency_key,
            },
            headers={"Authorization": f"Bearer {self.api_key}"},
        )
        if response.status_code == 401:
            return Outcome.retry("sms_unauthorised", 401, response.text)
        if not response.is_success:
            return classify_http(response)
        code = _json(response).get("code")
        if code == "00":
            return Outcome.delivered(response.status_code, response.text)
        if code is None or str(code) in self.retryable_codes:
            return Outcome.retry(_label("sms", code), response.status_code, response.text)
        return Outcome.permanent(_label("sms", code), response.status_code, response.text)


class ZnsSender:
    """Zalo Official Account template message: ``POST <url>`` with an ``access_token`` header and ``{"phone",
    "template_id", "template_data", "tracking_id"}``; ``error == 0`` is success."""

    # Access token rejected or expired, and Zalo's rate limiting: not this message's fault.
    RETRYABLE = frozenset({-124, -32})

    def __init__(self, client: httpx.AsyncClient, *, url: str, access_token: str) -> None:
        self.client = client
        self.url = url
        self.access_token = access_token

    async def __call__(self, payload: dict[str, Any], idempotency_key: str) -> Outcome:
        response = await self.client.post(
            self.url,
            json={
                "phone": international_phone(payload["phone"]),
                "template_id": payload["template_id"],
                "template_data": payload["template_data"],
                "tracking_id": idempotency_key,
            },
            headers={"access_token": self.access_token},
        )
        if not response.is_success:
            return classify_http(response)
        error = _json(response).get("error")
        if error == 0:
            return Outcome.delivered(response.status_code, response.text)
        if not isinstance(error, int) or error in self.RETRYABLE:
            return Outcome.retry(_label("zns", error), response.status_code, response.text)
        return Outcome.permanent(_label("zns", error), response.status_code, response.text)


class SmtpSender:
    """E-mail through an SMTP relay (aiosmtplib). SMTP 4xx replies are retryable, 5xx permanent."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        use_tls: bool = False,
        start_tls: bool | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username or None
        self.password = password or None
        self.use_tls = use_tls
        self.start_tls = start_tls
        self.timeout_seconds = timeout_seconds

    def message(self, payload: dict[str, Any], idempotency_key: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = payload["to"]
        message["Subject"] = payload["subject"]
        message["Date"] = formatdate(localtime=False)
        # The same Message-ID on a retry lets mail systems recognise a message they already have.
        domain = self.sender.rpartition("@")[2] or "motcua.local"
        message["Message-ID"] = f"<{uuid.uuid5(uuid.NAMESPACE_URL, idempotency_key)}@{domain}>"
        message.set_content(payload["text"])
        return message

    async def __call__(self, payload: dict[str, Any], idempotency_key: str) -> Outcome:
        try:
            await aiosmtplib.send(
                self.message(payload, idempotency_key),
                hostname=self.host,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.use_tls,
                start_tls=self.start_tls,
                timeout=self.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = sorted({r.code for r in exc.recipients})
            kind = Outcome.retry if all(400 <= c < 500 for c in codes) else Outcome.permanent
            return kind(_label("smtp", codes[0] if codes else "refused"), None, str(codes))
        except aiosmtplib.SMTPResponseException as exc:
            kind = Outcome.retry if 400 <= exc.code < 500 else Outcome.permanent
            return kind(_label("smtp", exc.code), None, exc.message[:500])
        except (aiosmtplib.SMTPException, OSError) as exc:
            return Outcome.retry("smtp_unreachable", None, type(exc).__name__)
        return Outcome.delivered()
