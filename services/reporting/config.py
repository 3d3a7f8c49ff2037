from __future__ import annotations

from functools import lru_cache

from libs.common.settings import ServiceSettings, service_config


class ReportingSettings(ServiceSettings):
    model_config = service_config("reporting")

    service_name: str = "reporting"
    database_url: str = "sqlite+aiosqlite:///var/reporting.db"
    # Parity check: intake's own counts over HTTP (GET /stats/dossiers), with a key that may read them.
    intake_url: str = "http://127.0.0.1:8002"
    intake_api_key: str = "dev-ops"
    intake_timeout_seconds: float = 10.0
    # Drift check (services/reporting/drift.py): every drift_check_seconds (0 = off; off in the test suite), compare
    # the last drift_check_days local days with intake's outbox per dossier and ask it to republish what is missing.
    # Events younger than drift_grace_seconds may still be on their way and are not counted missing.
    drift_check_seconds: float = 300.0
    drift_check_days: int = 2
    drift_grace_seconds: float = 120.0
    # Province shown on report headings.
    province_name: str = "Tỉnh Mẫu"  # the sample province of the demo data; set MOTCUA_REPORTING_PROVINCE_NAME


@lru_cache
def get_settings() -> ReportingSettings:
    return ReportingSettings()
