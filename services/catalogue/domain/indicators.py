"""Catalogue indicators (docs/catalogue.md §Indicators): computed from the versions the catalogue publishes, so
reporting gets the same numbers by folding the procedure events (each carries online_level, public and the in-force
dates)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.catalogue.domain import transparency

ONLINE = frozenset({"full", "partial"})


@dataclass(frozen=True)
class CatalogueEntry:
    code: str
    version: int
    online_level: str
    public: bool
    in_force_from: date
    in_force_until: date | None = None
    # Decision 766 transparency facts (domain/transparency.py); None in versions recorded before them
    signed_on: date | None = None
    publication_due_on: date | None = None
    public_in_national_db_on: date | None = None
    national_db_due_on: date | None = None
    components_complete: bool | None = None

    def in_force_on(self, on: date) -> bool:
        return self.in_force_from <= on and (self.in_force_until is None or on <= self.in_force_until)


@dataclass(frozen=True)
class Rate:
    indicator: str
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        """A percentage rounded to 2 decimals; None (no data) when nothing is counted, never 0 or 100."""
        return None if self.denominator == 0 else round(100 * self.numerator / self.denominator, 2)


def in_force(entries: Iterable[CatalogueEntry], on: date) -> list[CatalogueEntry]:
    """The version of each procedure in force on ``on``: the newest version that started by then."""
    newest: dict[str, CatalogueEntry] = {}
    for entry in entries:
        if entry.in_force_from <= on:
            current = newest.get(entry.code)
            if current is None or (entry.in_force_from, entry.version) > (current.in_force_from, current.version):
                newest[entry.code] = entry
    return sorted((e for e in newest.values() if e.in_force_on(on)), key=lambda e: e.code)


def published_rate(entries: Iterable[CatalogueEntry], on: date) -> Rate:
    """Procedures in force that are published and public / procedures in force."""
    current = in_force(entries, on)
    return Rate("published_rate", sum(1 for e in current if e.public), len(current))


def online_service_coverage(entries: Iterable[CatalogueEntry], on: date) -> Rate:
    """Published procedures offered as a full or partial online service / published procedures."""
    published = [e for e in in_force(entries, on) if e.public]
    return Rate("online_service_coverage", sum(1 for e in published if e.online_level in ONLINE), len(published))


def published_on_time_rate(entries: Iterable[CatalogueEntry], on: date) -> Rate:
    """Versions in force whose decision was signed by its publication due day / versions in force with one."""
    judged = [e for e in in_force(entries, on) if e.publication_due_on is not None and e.signed_on is not None]
    on_time = sum(1 for e in judged if transparency.on_time(e.signed_on, e.publication_due_on, on))
    return Rate("published_on_time_rate", on_time, len(judged))


def national_db_on_time_rate(entries: Iterable[CatalogueEntry], on: date) -> Rate:
    """Versions in force made public in the national database by their due day / versions in force already
    judged on ``on`` (public there, or past the due day without being public)."""
    verdicts = [
        transparency.on_time(e.public_in_national_db_on, e.national_db_due_on, on) for e in in_force(entries, on)
    ]
    judged = [verdict for verdict in verdicts if verdict is not None]
    return Rate("national_db_on_time_rate", sum(judged), len(judged))


def components_complete_rate(entries: Iterable[CatalogueEntry], on: date) -> Rate:
    """Versions in force stating all seven components / versions in force checked for them."""
    checked = [e for e in in_force(entries, on) if e.components_complete is not None]
    return Rate("components_complete_rate", sum(1 for e in checked if e.components_complete), len(checked))
