from __future__ import annotations

from functools import lru_cache

from libs.common.settings import ServiceSettings, service_config


class DigitisationSettings(ServiceSettings):
    model_config = service_config("digitisation")

    service_name: str = "digitisation"
    database_url: str = "sqlite+aiosqlite:///var/digitisation.db"


@lru_cache
def get_settings() -> DigitisationSettings:
    return DigitisationSettings()
