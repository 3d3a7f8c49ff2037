from __future__ import annotations

from functools import lru_cache

from libs.common.settings import ServiceSettings, service_config
from services.intake.integrations.settings import IntegrationSettings


class IntakeSettings(ServiceSettings, IntegrationSettings):
    model_config = service_config("intake")

    service_name: str = "intake"
    database_url: str = "sqlite+aiosqlite:///var/intake.db"
    # How often the overdue job looks for dossiers that passed their due time (0 disables it).
    overdue_check_seconds: float = 60.0
    overdue_batch_size: int = 500
    # Where citizens open intake's public look-up: the QR code on form 01 points there.
    public_base_url: str = "http://127.0.0.1:8002"


@lru_cache
def get_settings() -> IntakeSettings:
    return IntakeSettings()
