"""Type registry: build envelopes from payloads, parse envelopes back, upcast old versions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from libs.common.clock import SYSTEM_CLOCK
from libs.common.contract.envelope import SCHEMA_URN, TYPE_PREFIX, Envelope
from libs.common.contract.events import EVENT_TYPES, EventPayload, Topic

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


class UnknownEventType(ValueError):
    pass


class UnsupportedVersion(ValueError):
    """A version newer than this process knows: applying it as an older one could misread any of its fields."""


class EventRegistry:
    """Maps (event name, version) to its payload model and chains upcasters from old versions to the newest."""

    def __init__(self, models: tuple[type[EventPayload], ...] = EVENT_TYPES) -> None:
        self._models: dict[tuple[str, int], type[EventPayload]] = {}
        self._latest: dict[str, int] = {}
        self._upcasters: dict[tuple[str, int], Upcaster] = {}
        for model in models:
            self.register(model)

    def register(self, model: type[EventPayload]) -> None:
        self._models[(model.event_name, model.version)] = model
        self._latest[model.event_name] = max(self._latest.get(model.event_name, 0), model.version)

    def register_upcaster(self, name: str, from_version: int, upcaster: Upcaster) -> None:
        """``upcaster`` turns a ``from_version`` payload into a ``from_version + 1`` payload."""
        self._upcasters[(name, from_version)] = upcaster

    def knows(self, name: str) -> bool:
        return name in self._latest

    def names(self) -> list[str]:
        return sorted(self._latest)

    def model(self, name: str, version: int | None = None) -> type[EventPayload]:
        key = (name, version if version is not None else self._latest.get(name, 0))
        try:
            return self._models[key]
        except KeyError:
            raise UnknownEventType(f"unknown event type {name} v{key[1]}") from None

    def parse(self, envelope: Envelope) -> EventPayload:
        """The payload as the newest model of its type, upcasting older versions step by step."""
        name, version = envelope.name, envelope.version
        latest = self._latest.get(name)
        if latest is None:
            raise UnknownEventType(f"unknown event type {envelope.type}")
        if version > latest:
            raise UnsupportedVersion(f"{name} v{version} is newer than v{latest}, the newest this consumer knows")
        data = dict(envelope.data)
        while version < latest:
            upcaster = self._upcasters.get((name, version))
            if upcaster is None:
                raise UnknownEventType(f"no upcaster for {name} v{version}")
            data = upcaster(data)
            version += 1
        return self.model(name, latest).model_validate(data)


registry = EventRegistry()


def topic_name(prefix: str, topic: Topic) -> str:
    return f"{prefix}.{topic.value}"


def make_envelope(
    payload: EventPayload,
    *,
    source: str,
    correlation_id: str | None = None,
    at: datetime | None = None,
) -> Envelope:
    """Wrap a payload in its CloudEvents envelope; ``time`` is when it was recorded (defaults to now)."""
    return Envelope(
        specversion="1.0",
        id=str(uuid.uuid4()),
        source=source,
        type=TYPE_PREFIX + payload.event_name,
        subject=payload.subject(),
        time=at or SYSTEM_CLOCK.now(),
        dataschema=SCHEMA_URN.format(name=payload.event_name, version=payload.version),
        correlationid=correlation_id,
        data=payload.model_dump(mode="json"),
    )
