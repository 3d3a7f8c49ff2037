"""A local SMTP server (aiosmtpd) that keeps every message it receives, for the e-mail channel's tests."""

from __future__ import annotations

import contextlib
import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from libs.common.testing import HeldPort


@dataclass
class Received:
    envelope_from: str
    envelope_to: list[str]
    message: EmailMessage


@dataclass
class SmtpStandIn:
    host: str
    port: int
    messages: list[Received] = field(default_factory=list)
    refuse: int | None = None  # an SMTP reply code to give at DATA instead of accepting (e.g. 451 or 550)

    # aiosmtpd calls its handler's hooks by these names.
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse is not None:
            return f"{self.refuse} refused by the stand-in"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpStandIn]:
    """An SMTP server on 127.0.0.1 (its own thread, as aiosmtpd's Controller runs it) until the block ends."""
    held = HeldPort()  # ours until the end: aiosmtpd binds it with SO_REUSEADDR, nobody else can take it
    stand_in = SmtpStandIn("127.0.0.1", held.port)
    controller = Controller(stand_in, hostname=stand_in.host, port=stand_in.port)
    controller.start()
    try:
        yield stand_in
    finally:
        controller.stop()
        held.close()
