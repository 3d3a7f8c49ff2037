"""Administrative levels of the catalogue's agencies and procedures (docs/domain.md §Channels and levels)."""

from __future__ import annotations

from enum import StrEnum


class Level(StrEnum):
    """Levels are data: three in the seed years, province and commune only since 1 July 2025."""

    PROVINCE = "province"
    DISTRICT = "district"
    COMMUNE = "commune"
