"""Request and response models of the counter queue."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from libs.common.validation import CleanInput
from services.intake.schemas import AT_DESCRIPTION, check_agency_code


class TicketCreate(CleanInput):
    model_config = ConfigDict(extra="forbid")
    agency_code: str
    desk: str = Field(min_length=1, max_length=60)
    level: str | None = Field(None, max_length=30)
    at: AwareDatetime | None = Field(None, description=AT_DESCRIPTION)

    @field_validator("agency_code")
    @classmethod
    def _agency(cls, value: str) -> str:
        check_agency_code(value)
        return value


class TicketCall(CleanInput):
    model_config = ConfigDict(extra="forbid")
    desk: str | None = Field(None, max_length=60, description="the desk that calls it, if not the one it was issued at")
    at: AwareDatetime | None = Field(None, description=AT_DESCRIPTION)


class TicketServe(CleanInput):
    model_config = ConfigDict(extra="forbid")
    at: AwareDatetime | None = Field(None, description=AT_DESCRIPTION)


class TicketRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    number: int
    agency_code: str
    level: str | None
    desk: str
    status: str
    issued_at: datetime
    called_at: datetime | None
    served_at: datetime | None
    wait_seconds: int | None = None
