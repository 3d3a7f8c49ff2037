"""Fault: poison messages of every kind on the real broker, between valid events of the same dossier (one key, one
partition, so order is known): undecodable bytes, an event type the contract does not know, a payload that breaks
the contract, a version newer than the contract, and a decision outside the contract ("HACKED"). Each is
dead-lettered with its reason (the unknown type counted and skipped, never marked processed), nothing of them is
folded, and the counts are exact."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from libs.common.contract import TransferMode
from libs.common.contract.envelope import Envelope
from libs.common.contract.registry import registry, topic_name
from libs.common.db import create_engine
from libs.common.messaging.tables import dead_letter, inbox
from libs.common.testing import AUTH, eventually, running_app
from services.reporting import models as m
from services.reporting.app import create_app
from services.reporting.config import ReportingSettings
from services.reporting.consumers import CONSUMER
from services.reporting.tests.conftest import PSEUDONYM_KEY
from services.reporting.tests.factory import Dossier, vn

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]
CODE = "000.00.15.H56-240102-0009"
UNKNOWN_TYPE = "vn.motcua.intake.dossier.teleported"


def copy(e: Envelope, *, data: dict[str, Any] | None = None, version: int | None = None, type_: str = "") -> Envelope:
    """The event with a new id (so no inbox or batch dedupe hides it) and the given changes."""
    schema = e.dataschema if version is None else e.dataschema.rsplit(":v", 1)[0] + f":v{version}"
    update: dict[str, Any] = {"id": str(uuid.uuid4()), "data": {**e.data, **(data or {})}, "dataschema": schema}
    if type_:
        update["type"] = type_
    return e.model_copy(update=update)


async def test_poison_messages_are_dead_lettered_with_reasons_and_counts_stay_exact(
    broker: str, topic_prefix: str, reporting_url: str, tmp_path: Path
) -> None:
    d = Dossier(CODE, received_at=vn(2024, 1, 2, 9), due_at=vn(2024, 1, 5, 17))
    d.transfer(vn(2024, 1, 2, 10), TransferMode.ELECTRONIC)
    d.resolve(vn(2024, 1, 4, 10))
    received, transferred, resolved = d.envelopes()
    topic = topic_name(topic_prefix, registry.model(received.name).topic)
    poison: list[tuple[bytes, str]] = [
        (b"\xff\x00 not an event", "undecodable envelope"),
        (copy(received, type_=UNKNOWN_TYPE).to_bytes(), ""),  # counted, skipped, not dead-lettered
        (
            copy(received, data={"received_at": "yesterday"}).to_bytes(),
            "breaks the contract of intake.dossier.received v2: received_at",
        ),
        (copy(received, version=9).to_bytes(), "unsupported version: intake.dossier.received v9 is newer"),
        (
            copy(resolved, data={"decision": "HACKED"}).to_bytes(),
            "breaks the contract of intake.dossier.resolved v1: decision:",
        ),
    ]
    # received, the poison, then the valid transfer and resolution: the last one folded means all were read
    values = [received.to_bytes(), *(v for v, _ in poison), transferred.to_bytes(), resolved.to_bytes()]
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(topic, value, key=CODE.encode())
    finally:
        await producer.stop()

    unknown_before = REGISTRY.get_sample_value(
        "motcua_events_unknown_total", {"consumer": CONSUMER, "type": UNKNOWN_TYPE}
    )
    settings = ReportingSettings(
        database_url=reporting_url,
        kafka_enabled=True,
        kafka_bootstrap_servers=broker,
        topic_prefix=topic_prefix,
        pseudonym_key=PSEUDONYM_KEY,
        consumer_batch_size=3,  # the poison spread over several batches
    )
    engine = create_engine(reporting_url)
    try:
        async with running_app(create_app(settings)) as client:

            async def resolved_folded() -> bool:
                response = await client.get(f"/dossiers/{CODE}/fact", headers=AUTH["leader"])
                return response.status_code == 200 and response.json()["fact"]["outcome"] is not None

            await eventually(resolved_folded, timeout=90, what="the valid resolution after the poison")
            fact = (await client.get(f"/dossiers/{CODE}/fact", headers=AUTH["leader"])).json()["fact"]
        assert fact["decision"] == "approved"

        async with engine.connect() as conn:
            errors = list((await conn.execute(select(dead_letter.c.error).order_by(dead_letter.c.offset))).scalars())
            stored = " ".join((await conn.execute(select(dead_letter.c.value))).scalars())
            applied = (
                await conn.execute(select(func.count()).select_from(inbox).where(inbox.c.consumer == CONSUMER))
            ).scalar_one()
            ledger = list((await conn.execute(select(m.DossierEvent.name).order_by(m.DossierEvent.name))).scalars())
            dossiers = (await conn.execute(select(func.count()).select_from(m.DossierFact))).scalar_one()
    finally:
        await engine.dispose()

    expected = [reason for _, reason in poison if reason]
    assert len(errors) == len(expected) == 4
    for error, reason in zip(errors, expected, strict=True):
        assert reason in error, (error, reason)
    assert "HACKED" not in " ".join(errors)  # reasons name fields and rules, not values
    assert "001204012345" not in stored and "Nguyễn" not in stored  # no identity in clear in a dead letter
    assert applied == 3  # received, transferred, resolved: no poison marked processed, the unknown type neither
    assert ledger == ["intake.dossier.received", "intake.dossier.resolved", "intake.dossier.transferred"]
    assert dossiers == 1
    unknown_after = REGISTRY.get_sample_value(
        "motcua_events_unknown_total", {"consumer": CONSUMER, "type": UNKNOWN_TYPE}
    )
    assert (unknown_after or 0) - (unknown_before or 0) == 1
