"""Type registry: build envelopes from payloads, parse envelopes back, upcast old versions."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from libs.common.clock import SYSTEM_CLOCK
from libs.common.contract.envelope import SCHEMA_URN, TYPE_PREFIX, Envelope
from libs.common.contract.events import EVENT_TYPES, EventPayload, Topic
from libs.common.contract.upcasters import register_upcasters
from libs.common.privacy import Pseudonymizer

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
# An upcaster that needs the deployment's keys: v1 payloads that carried personal data in clear become v2 payloads
# with the pseudonym the producer of v2 gives (libs/common/contract/upcasters.py).
KeyedUpcaster = Callable[[dict[str, Any], Pseudonymizer], dict[str, Any]]


class UnknownEventType(ValueError):
    pass


class UnsupportedVersion(ValueError):
    """A version newer than this process knows: applying it as an older one could misread any of its fields."""


class MissingKey(UnknownEventType):
    """An old version whose upcaster needs the key ring, read through a registry given none."""


@dataclass(frozen=True)
class _Keyed:
    upcaster: KeyedUpcaster


class EventRegistry:
    """Maps (event name, version) to its payload model and chains upcasters from old versions to the newest.

    A consumer that may read old versions carrying personal data parses through ``with_pseudonymizer(p)``: keyed
    upcasters then turn the clear values into the pseudonyms the producer gives today.
    """

    def __init__(
        self, models: tuple[type[EventPayload], ...] = EVENT_TYPES, *, pseudonymizer: Pseudonymizer | None = None
    ) -> None:
        self._models: dict[tuple[str, int], type[EventPayload]] = {}
        self._latest: dict[str, int] = {}
        self._upcasters: dict[tuple[str, int], Upcaster | _Keyed] = {}
        self.pseudonymizer = pseudonymizer
        for model in models:
            self.register(model)

    def with_pseudonymizer(self, pseudonymizer: Pseudonymizer) -> EventRegistry:
        """The same models and upcasters, with the keys that keyed upcasters need."""
        keyed = EventRegistry((), pseudonymizer=pseudonymizer)
        keyed._models, keyed._latest, keyed._upcasters = self._models, self._latest, self._upcasters
        return keyed

    def register(self, model: type[EventPayload]) -> None:
        self._models[(model.event_name, model.version)] = model
        self._latest[model.event_name] = max(self._latest.get(model.event_name, 0), model.version)

    def register_upcaster(self, name: str, from_version: int, upcaster: Upcaster) -> None:
        """``upcaster`` turns a ``from_version`` payload into a ``from_version + 1`` payload."""
        self._upcasters[(name, from_version)] = upcaster

    def register_keyed_upcaster(self, name: str, from_version: int, upcaster: KeyedUpcaster) -> None:
        """Like ``register_upcaster`` for an upcaster called with the registry's pseudonymizer too."""
        self._upcasters[(name, from_version)] = _Keyed(upcaster)

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
            if isinstance(upcaster, _Keyed):
                if self.pseudonymizer is None:
                    raise MissingKey(f"{name} v{version} needs the privacy keys to be read (with_pseudonymizer)")
                data = upcaster.upcaster(data, self.pseudonymizer)
            else:
                data = upcaster(data)
            version += 1
        return self.model(name, latest).model_validate(data)


registry = EventRegistry()
register_upcasters(registry)


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
