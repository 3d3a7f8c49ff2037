from __future__ import annotations

from functools import lru_cache

from libs.common.settings import ServiceSettings, service_config


class CatalogueSettings(ServiceSettings):
    model_config = service_config("catalogue")

    service_name: str = "catalogue"
    database_url: str = "sqlite+aiosqlite:///var/catalogue.db"
    # Largest catalogue file accepted by the import (bytes); a province's whole catalogue is a few MB.
    import_max_bytes: int = 20 * 1024 * 1024


@lru_cache
def get_settings() -> CatalogueSettings:
    return CatalogueSettings()
