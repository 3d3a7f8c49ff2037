"""CloudEvents 1.0 envelope (structured JSON mode) shared by every producer and consumer.

The envelope's ``id`` is the dedupe key of every consumer's inbox; ``subject`` is the aggregate id and the Kafka key,
so one dossier's events stay in one partition and in order.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA_URN = "urn:motcua:event:{name}:v{version}"
TYPE_PREFIX = "vn.motcua."

# The Kafka protocol binding of CloudEvents 1.0, structured content mode: the whole event is the record value and
# the record's content-type header names the event format (binding spec, section 3.2), so a generic CloudEvents
# consumer knows what it reads; no ``ce_`` headers (those mark binary mode).
STRUCTURED_CONTENT_TYPE = "application/cloudevents+json"
KAFKA_HEADERS: list[tuple[str, bytes]] = [("content-type", STRUCTURED_CONTENT_TYPE.encode())]


class Envelope(BaseModel):
    """One event as it travels on Kafka (CloudEvents 1.0 attributes, JSON structured mode)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Both required on the wire: an event without an id would get a fresh one on every read and defeat the inbox.
    specversion: Literal["1.0"]
    id: str = Field(min_length=1)
    source: str
    type: str
    subject: str
    time: datetime
    datacontenttype: str = "application/json"
    dataschema: str
    correlationid: str | None = None
    data: dict[str, Any]

    @field_validator("time")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("event time must be timezone-aware")
        return value.astimezone(UTC)

    @property
    def name(self) -> str:
        """The short event name, e.g. ``intake.dossier.received``."""
        return self.type.removeprefix(TYPE_PREFIX)

    @property
    def version(self) -> int:
        return int(self.dataschema.rsplit(":v", 1)[1])

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)
