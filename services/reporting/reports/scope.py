"""Scopes: which dossiers, agencies and procedures a figure covers (province, level, agency, sector, procedure).

A report's request scope (``level=district``) and a plan target's scope (``sector group: land, construction,
investment``) combine by intersection: a figure covers what matches both. Sector groups are data in the plan: a list
of sector codes and/or name fragments (matched case-insensitively), with exclusions for "every other sector".
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


def _norm(text: str | None) -> str:
    return unicodedata.normalize("NFC", text or "").casefold().strip()


def _set(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(str(v) for v in value)


def _names(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    return tuple(_norm(str(v)) for v in value)


@dataclass(frozen=True)
class Scope:
    """Filters that all must hold; ``None`` means "any"."""

    levels: frozenset[str] | None = None
    agencies: frozenset[str] | None = None
    area_kinds: frozenset[str] | None = None
    sector_codes: frozenset[str] | None = None
    sector_names: tuple[str, ...] | None = None  # normalised fragments; a sector matches if its name contains one
    exclude_sector_codes: frozenset[str] | None = None
    exclude_sector_names: tuple[str, ...] | None = None
    procedures: frozenset[str] | None = None
    label: str | None = None

    @classmethod
    def from_mapping(cls, raw: Mapping[str, Any]) -> Scope:
        """A plan target's scope as stored in plan files and ``PlanLoaded`` events."""
        return cls(
            levels=_set(raw.get("level")),
            agencies=_set(raw.get("agency")),
            area_kinds=_set(raw.get("area_kind")),
            sector_codes=_set(raw.get("sector_codes")),
            sector_names=_names(raw.get("sector_names")),
            exclude_sector_codes=_set(raw.get("exclude_sector_codes")),
            exclude_sector_names=_names(raw.get("exclude_sector_names")),
            procedures=_set(raw.get("procedure")),
            label=raw.get("label"),
        )

    def has_sector_filter(self) -> bool:
        return any(
            v is not None
            for v in (self.sector_codes, self.sector_names, self.exclude_sector_codes, self.exclude_sector_names)
        )

    def matches_sector(self, code: str | None, name: str | None) -> bool:
        normalised = _norm(name)
        included = True
        if self.sector_codes is not None or self.sector_names is not None:
            included = (self.sector_codes is not None and code in self.sector_codes) or (
                self.sector_names is not None and any(fragment in normalised for fragment in self.sector_names)
            )
        excluded = (self.exclude_sector_codes is not None and code in self.exclude_sector_codes) or (
            self.exclude_sector_names is not None and any(f in normalised for f in self.exclude_sector_names)
        )
        return included and not excluded

    def matches_agency(self, level: str | None, agency: str | None, area_kind: str | None) -> bool:
        return (
            (self.levels is None or level in self.levels)
            and (self.agencies is None or agency in self.agencies)
            and (self.area_kinds is None or area_kind in self.area_kinds)
        )

    def matches(
        self,
        *,
        level: str | None,
        agency: str | None,
        area_kind: str | None = None,
        sector_code: str | None = None,
        sector_name: str | None = None,
        procedure: str | None = None,
        check_sector: bool = True,
    ) -> bool:
        return (
            self.matches_agency(level, agency, area_kind)
            and (not check_sector or self.matches_sector(sector_code, sector_name))
            and (self.procedures is None or procedure is None or procedure in self.procedures)
        )


EVERYTHING = Scope()


def matches_all(scopes: Iterable[Scope], **attrs: Any) -> bool:
    return all(s.matches(**attrs) for s in scopes)
