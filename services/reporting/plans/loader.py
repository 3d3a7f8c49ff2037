"""The seed plans (the plan files beside this module) and the loader of plan files.

``python -m services.reporting.plans load-seeds`` loads every ``*.json`` of this package (``make run`` does it);
``python -m services.reporting.plans load FILE…`` loads other plan files. Loading is idempotent: a plan whose
document is unchanged is left alone, so no new ``PlanLoaded`` event is published.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.messaging.outbox import Outbox
from services.reporting.plans import repository, service
from services.reporting.plans.rules import parse_plan, plan_document

SEED_DIR = Path(__file__).resolve().parent


def seed_files() -> list[Path]:
    return sorted(SEED_DIR.glob("*.json"))


def read_plan_file(path: Path) -> dict[str, Any]:
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return raw


async def load_if_changed(session: AsyncSession, outbox: Outbox, raw: dict[str, Any], *, at: datetime) -> bool:
    """Load a plan unless the same document is already loaded; True if it was (re)loaded."""
    plan = parse_plan(raw)
    existing = await repository.plan(session, plan.plan_id)
    if existing is not None and existing.document == plan_document(plan):
        return False
    await service.load_plan(session, outbox, raw, at=at)
    return True
