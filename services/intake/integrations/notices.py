"""Notices to citizens: Vietnamese templates a province can override, quiet hours, and the delivery payloads.

Templates are files (``templates/notices/<channel>/<kind>…``); a directory set in
``MOTCUA_INTAKE_NOTICE_TEMPLATES_DIR`` with the same layout overrides any of them, file by file, without a release.
What each kind is given to render: :data:`CONTEXT_FIELDS` (and docs/integrations.md).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_TEMPLATES = Path(__file__).with_name("templates") / "notices"


class NoticeKind(StrEnum):
    RECEIPT = "receipt"  # code, appointment, look-up link
    SUPPLEMENT_REQUEST = "supplement_request"  # what is missing
    RESULT_READY = "result_ready"  # where to collect
    APOLOGY = "apology"  # new date, reason
    FEE_DUE = "fee_due"  # amount, payment link


class NoticeChannel(StrEnum):
    SMS = "sms"
    ZALO = "zalo"
    EMAIL = "email"


# Delivery targets, one per channel (each its own breaker, rate limit and backlog).
TARGETS = {NoticeChannel.SMS: "notice_sms", NoticeChannel.ZALO: "notice_zalo", NoticeChannel.EMAIL: "notice_email"}

COMMON_FIELDS = ("dossier_code", "procedure_name", "agency_name")  # plus applicant_name, optional everywhere
CONTEXT_FIELDS: Mapping[NoticeKind, tuple[str, ...]] = {
    NoticeKind.RECEIPT: (*COMMON_FIELDS, "received_at", "due_at"),  # lookup_url optional
    NoticeKind.SUPPLEMENT_REQUEST: (*COMMON_FIELDS, "missing"),  # missing: a list of what to add
    NoticeKind.RESULT_READY: (*COMMON_FIELDS, "collect_at"),
    NoticeKind.APOLOGY: (*COMMON_FIELDS, "reason", "new_due_at"),
    NoticeKind.FEE_DUE: (*COMMON_FIELDS, "amount"),  # amount in VND; payment_url optional
}
OPTIONAL_FIELDS = ("applicant_name", "lookup_url", "payment_url")


class NoticeTemplateError(Exception):
    """A template that does not render (missing, broken, or naming a value the notice does not have)."""


@dataclass(frozen=True)
class RenderedNotice:
    kind: NoticeKind
    channel: NoticeChannel
    text: str = ""  # SMS and e-mail body
    subject: str | None = None  # e-mail
    template_data: Mapping[str, str] | None = None  # Zalo ZNS template parameters


def _defined(value: object) -> None:
    # A filter receives a missing value as an Undefined object; turning it into text raises StrictUndefined's error,
    # which names the missing variable.
    if isinstance(value, jinja2.Undefined):
        str(value)


def vn_datetime(value: datetime | date) -> str:
    """``08:30 ngày 05/03/2026`` in Vietnam's time, as a citizen reads it (a date alone: ``05/03/2026``)."""
    _defined(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("a notice needs aware datetimes")
        local = value.astimezone(VIETNAM)
        return f"{local:%H:%M} ngày {local:%d/%m/%Y}"
    return f"{value:%d/%m/%Y}"


def vnd(amount: int) -> str:
    """``1.250.000 đồng`` (dots group thousands in Vietnamese)."""
    _defined(amount)
    return f"{amount:,}".replace(",", ".") + " đồng"


class NoticeTemplates:
    def __init__(self, override_dir: Path | None = None) -> None:
        searchpath = [str(p) for p in (override_dir, DEFAULT_TEMPLATES) if p is not None]
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(searchpath, encoding="utf-8"),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain text for SMS, ZNS parameters and text/plain e-mail
            keep_trailing_newline=False,
            trim_blocks=True,
        )
        self.env.filters["vn_datetime"] = vn_datetime
        self.env.filters["vnd"] = vnd

    def render(self, kind: NoticeKind, channel: NoticeChannel, context: Mapping[str, Any]) -> RenderedNotice:
        values = {name: None for name in OPTIONAL_FIELDS} | dict(context)
        try:
            if channel is NoticeChannel.SMS:
                return RenderedNotice(kind, channel, text=self._text(f"sms/{kind}.txt.j2", values))
            if channel is NoticeChannel.EMAIL:
                subject = self._text(f"email/{kind}.subject.j2", values)
                return RenderedNotice(kind, channel, text=self._text(f"email/{kind}.txt.j2", values), subject=subject)
            source, _, _ = self.env.loader.get_source(self.env, f"zalo/{kind}.json")  # type: ignore[union-attr]
            parameters: dict[str, str] = json.loads(source)
            rendered = {name: self.env.from_string(value).render(values).strip() for name, value in parameters.items()}
            return RenderedNotice(kind, channel, template_data=rendered)
        except (jinja2.TemplateError, ValueError, TypeError) as exc:
            raise NoticeTemplateError(f"{channel}/{kind}: {exc}") from exc

    def _text(self, name: str, values: Mapping[str, Any]) -> str:
        return self.env.get_template(name).render(values).strip()

    def check(self) -> None:
        """Render every kind on every channel with sample values: call at start-up, so that a broken override
        stops the service instead of failing a citizen's receipt."""
        for kind in NoticeKind:
            for channel in NoticeChannel:
                self.render(kind, channel, SAMPLE_CONTEXT)


SAMPLE_CONTEXT: Mapping[str, Any] = {
    "dossier_code": "000.00.01.H01-260302-0001",
    "procedure_name": "Đăng ký khai sinh",
    "agency_name": "Bộ phận Một cửa UBND xã Tân Phú",
    "applicant_name": "Nguyễn Thị Ánh",
    "received_at": datetime(2026, 3, 2, 9, 15, tzinfo=VIETNAM),
    "due_at": datetime(2026, 3, 5, 10, 0, tzinfo=VIETNAM),
    "lookup_url": "https://dichvucong.example.gov.vn/tra-cuu",
    "missing": ["Bản sao giấy chứng nhận kết hôn"],
    "collect_at": "Bộ phận Một cửa UBND xã Tân Phú",
    "reason": "cần xác minh thêm thông tin",
    "new_due_at": datetime(2026, 3, 9, 10, 0, tzinfo=VIETNAM),
    "amount": 50000,
    "payment_url": "https://thanhtoan.example.gov.vn/p/1",
}


@dataclass(frozen=True)
class QuietHours:
    """No SMS between ``start`` and ``end`` (Vietnam time); what falls in them waits for ``end``."""

    start: time = time(21, 0)
    end: time = time(7, 0)

    def not_before(self, now: datetime) -> datetime | None:
        """When a notice due ``now`` may go out, or None if it may go now."""
        local = now.astimezone(VIETNAM)
        clock = local.time()
        crosses_midnight = self.start > self.end
        quiet = (clock >= self.start or clock < self.end) if crosses_midnight else (self.start <= clock < self.end)
        if not quiet:
            return None
        day = local.date() + timedelta(days=1) if crosses_midnight and clock >= self.start else local.date()
        return datetime.combine(day, self.end, tzinfo=VIETNAM)


def parse_quiet_hours(value: str) -> QuietHours:
    """``"21:00-07:00"``; an empty value turns quiet hours off (start == end never matches)."""
    if not value.strip():
        return QuietHours(time(0, 0), time(0, 0))
    start, _, end = value.partition("-")
    return QuietHours(time.fromisoformat(start.strip()), time.fromisoformat(end.strip()))


@dataclass(frozen=True)
class NoticeDelivery:
    """What intake enqueues for one notice on one channel (``Deliveries.enqueue(..., not_before=...)``)."""

    target: str
    idempotency_key: str
    payload: dict[str, Any]
    not_before: datetime | None = None


def notice_delivery(
    rendered: RenderedNotice,
    *,
    address: str,
    dossier_code: str,
    cause_id: str,
    now: datetime,
    quiet_hours: QuietHours,
    zns_template_id: str | None = None,
) -> NoticeDelivery:
    """The delivery of a rendered notice to ``address`` (phone or e-mail). ``cause_id``: the id of the event the
    notice is about, so one event gives at most one notice per channel; the key starts with the dossier code so that
    staff can list a dossier's notices (``Deliveries.find(key_prefix=f"{dossier_code}:")``). Quiet hours hold back
    SMS and Zalo (both ring a phone); e-mail goes at once."""
    key = f"{dossier_code}:{rendered.kind}:{cause_id}"
    payload: dict[str, Any]
    target = TARGETS[rendered.channel]
    if rendered.channel is NoticeChannel.EMAIL:
        payload = {"to": address, "subject": rendered.subject, "text": rendered.text}
        return NoticeDelivery(target, key, payload)
    if rendered.channel is NoticeChannel.SMS:
        payload = {"phone": address, "text": rendered.text}
    else:
        if not zns_template_id:
            raise NoticeTemplateError(f"no Zalo ZNS template id configured for {rendered.kind}")
        data = dict(rendered.template_data or {})
        payload = {"phone": address, "template_id": zns_template_id, "template_data": data}
    return NoticeDelivery(target, key, payload, quiet_hours.not_before(now))


@dataclass(frozen=True)
class NoticeConsent:
    """The citizen's choice, recorded at receipt: which channels, at which addresses; withdrawn = opted out."""

    phone: str | None = None
    email: str | None = None
    sms: bool = False
    zalo: bool = False
    by_email: bool = False
    withdrawn: bool = False

    def channels(self) -> list[tuple[NoticeChannel, str]]:
        """The channels a notice goes out on, with the address for each; none after an opt-out."""
        if self.withdrawn:
            return []
        chosen: list[tuple[NoticeChannel, str]] = []
        if self.sms and self.phone:
            chosen.append((NoticeChannel.SMS, self.phone))
        if self.zalo and self.phone:
            chosen.append((NoticeChannel.ZALO, self.phone))
        if self.by_email and self.email:
            chosen.append((NoticeChannel.EMAIL, self.email))
        return chosen
