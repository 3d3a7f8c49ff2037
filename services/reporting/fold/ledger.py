"""A dossier's ledger: every event recorded about it, as reporting keeps it (payload scrubbed of identity codes).

Events of one dossier come from four topics (intake, digitisation, payments) with no order between topics, and a
topic may redeliver. Reporting keeps each dossier's events and refolds its fact from all of them (``facts``), in an
order that depends only on the events: business time, then the lifecycle precedence below, then event id.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from libs.common.contract.events import (
    DocumentDigitised,
    DocumentReused,
    DossierApologised,
    DossierExplained,
    DossierOverdue,
    DossierRated,
    DossierReceived,
    DossierRefused,
    DossierResolved,
    DossierReturned,
    DossierStopped,
    DossierSyncedToPortal,
    DossierSyncToPortalFailed,
    DossierTransferred,
    DossierWithdrawn,
    EventPayload,
    FeeAssessed,
    PaymentFailed,
    PaymentRefunded,
    PaymentSucceeded,
    SupplementReceived,
    SupplementRequested,
)

# Events recorded at the same instant are applied in the order the lifecycle produces them.
PRECEDENCE: dict[type[EventPayload], int] = {
    DossierReceived: 0,
    DocumentDigitised: 1,
    DocumentReused: 1,
    DossierTransferred: 2,
    SupplementRequested: 3,
    SupplementReceived: 4,
    FeeAssessed: 5,
    PaymentFailed: 6,
    PaymentSucceeded: 7,
    PaymentRefunded: 8,
    DossierOverdue: 9,
    DossierApologised: 10,
    DossierExplained: 11,
    DossierResolved: 12,
    DossierRefused: 12,
    DossierStopped: 12,
    DossierWithdrawn: 13,
    DossierReturned: 14,
    DossierRated: 15,
    DossierSyncedToPortal: 16,
    DossierSyncToPortalFailed: 16,
}
# The contract classes whose events belong to a dossier's ledger (a digitised document needs a dossier code too).
DOSSIER_EVENTS: tuple[type[EventPayload], ...] = tuple(PRECEDENCE)
DOSSIER_EVENT_NAMES: frozenset[str] = frozenset(model.event_name for model in DOSSIER_EVENTS)
_RANK: dict[str, int] = {model.event_name: rank for model, rank in PRECEDENCE.items()}
# The names of each tuple of models ``is_a`` was asked about: the fold asks the same few questions of every event.
_NAMES: dict[tuple[type[EventPayload], ...], frozenset[str]] = {}


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One event of a dossier's ledger: its id, event name, recorded time and (scrubbed) JSON payload, in the shape
    of the contract version current when it was stored.

    ``at`` is when it happened in the dossier's life (the payload's time, falling back to when it was recorded);
    it is parsed once, as the fold sorts and compares by it.
    """

    event_id: str
    name: str
    recorded_at: datetime
    data: Mapping[str, Any]
    at: datetime = field(init=False, compare=False)
    order: tuple[datetime, int, str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        raw = self.data.get("received_at") if self.is_a(DossierReceived) else self.data.get("at")
        at = parse_instant(raw) if raw else self.recorded_at
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "order", (at, _RANK.get(self.name, 99), self.event_id))

    def is_a(self, *models: type[EventPayload]) -> bool:
        names = _NAMES.get(models)
        if names is None:
            names = _NAMES[models] = frozenset(model.event_name for model in models)
        return self.name in names


def parse_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"instant without a time zone: {value!r}")
    return parsed


def opt_instant(value: Any) -> datetime | None:
    return parse_instant(value) if value else None
