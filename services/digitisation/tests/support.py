"""Helpers shared by digitisation's API tests: request bodies and reading the outbox."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select

from libs.common.db import create_engine
from libs.common.messaging.tables import outbox
from libs.common.testing import assert_problem as assert_problem  # re-exported for this service's tests
from libs.common.testing import fields_of as fields_of
from services.digitisation.config import DigitisationSettings

PERSON = "001204012345"
# Events name the holder by the pseudonym under the test app's key ring (the development default).
PERSON_PSEUDONYM = DigitisationSettings(kafka_enabled=False).pseudonymizer().pseudonym(PERSON)
COMPANY = "0101234567"
DOSSIER = "000.00.00.H56-260302-0001"


def sha(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def document(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "holder_id_code": PERSON,
        "holder_kind": "person",
        "type_code": "KQ001193",
        "name": "Giấy khai sinh",
        "source": "scan",
        "dossier_code": DOSSIER,
        "component_code": "GKS",
        "signed": True,
        "file_sha256": sha("scan-1"),
    }
    body.update(changes)
    return body


async def events(url: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every outbox row as (event type without the prefix, Kafka key, payload data), in order."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(select(outbox.c.type, outbox.c.key, outbox.c.payload).order_by(outbox.c.id))
            ).all()
    finally:
        await engine.dispose()
    return [(row.type.removeprefix("vn.motcua."), row.key, json.loads(row.payload)["data"]) for row in rows]
