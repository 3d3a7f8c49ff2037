from __future__ import annotations

from functools import lru_cache

from libs.common.settings import ServiceSettings, service_config


class IntakeSettings(ServiceSettings):
    model_config = service_config("intake")

    service_name: str = "intake"
    database_url: str = "sqlite+aiosqlite:///var/intake.db"


@lru_cache
def get_settings() -> IntakeSettings:
    return IntakeSettings()
