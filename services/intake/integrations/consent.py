"""The citizen's consent to notices: recorded at receipt, withdrawn by an opt-out (docs/integrations.md)."""

from __future__ import annotations

import re
from datetime import datetime

from pydantic import ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.validation import CleanInput
from services.intake.integrations.notices import NoticeChannel
from services.intake.models import NoticeConsent

# A Vietnamese mobile number: 0 or +84 / 84, then 9 digits.
PHONE = re.compile(r"^(?:\+?84|0)\d{9}$")


class NoticesIn(CleanInput):
    """The citizen's choice of notices about this dossier. Absent: no notice at all (a phone number given on the
    applicant is not consent)."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"example": {"channels": ["sms"], "phone": "0912345678"}}
    )

    channels: list[NoticeChannel] = Field(min_length=1, description="where to send notices: sms, zalo, email")
    phone: str | None = Field(None, description="mobile number for SMS and Zalo (0912345678 or +84912345678)")
    email: str | None = Field(None, max_length=254, description="address for e-mail notices")

    @model_validator(mode="after")
    def _addresses(self) -> NoticesIn:
        phone_needed = {NoticeChannel.SMS, NoticeChannel.ZALO} & set(self.channels)
        if phone_needed and not self.phone:
            raise ValueError("phone: needed for SMS and Zalo notices")
        if self.phone is not None and not PHONE.match(self.phone.replace(" ", "")):
            raise ValueError("phone: a Vietnamese mobile number, 0912345678 or +84912345678")
        if NoticeChannel.EMAIL in self.channels and not self.email:
            raise ValueError("email: needed for e-mail notices")
        if self.email is not None and "@" not in self.email.strip("@"):
            raise ValueError("email: not an e-mail address")
        return self


def consent_row(dossier_code: str, notices: NoticesIn, now: datetime) -> NoticeConsent:
    return NoticeConsent(
        dossier_code=dossier_code,
        phone=notices.phone.replace(" ", "") if notices.phone else None,
        email=notices.email,
        sms=NoticeChannel.SMS in notices.channels,
        zalo=NoticeChannel.ZALO in notices.channels,
        by_email=NoticeChannel.EMAIL in notices.channels,
        recorded_at=now,
    )


async def opt_out(session: AsyncSession, dossier_code: str, now: datetime) -> NoticeConsent | None:
    """Withdraw the consent: no notice is enqueued after this (those already queued still go). None when the
    citizen never chose notices."""
    row = await session.get(NoticeConsent, dossier_code, with_for_update=True)
    if row is not None and row.opted_out_at is None:
        row.opted_out_at = now
    return row
