"""Alembic configuration for a service's migrations (run them with ``python scripts/migrate.py intake``).

Each service has its own Alembic environment in ``services/<name>/migrations`` and its own database; migrations are
an explicit step (Makefile, a one-off container), never part of a service's start-up.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("catalogue", "intake", "digitisation", "payments", "reporting")


def alembic_config(service: str, database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s")
    config.attributes["service"] = service
    return config


def upgrade(service: str, database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(service, database_url), revision)
