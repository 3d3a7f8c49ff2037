"""A dossier received by one agency and handled by another: once intake's `DossierReceived` is on the broker,
digitisation's and payments' own consumers put it in their `dossier_agency` replica, and the handling agency reads
the dossier's documents and fees there (docs/security.md, "Scoping, service by service"). An agency the dossier never
passed through still gets 404. PostgreSQL databases, Kafka-protocol broker."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from libs.common.contract import topic_name
from libs.common.contract.registry import make_envelope
from libs.common.messaging.kafka import ensure_topic_names
from libs.common.testing import (
    api_keys,
    bearer,
    broker_settings,
    dossier_received,
    eventually,
    running_app,
    service_database,
)
from services.digitisation.app import create_app as create_digitisation
from services.digitisation.config import DigitisationSettings
from services.payments.app import create_app as create_payments
from services.payments.config import PaymentsSettings

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

RECEIVING, HANDLING, OUTSIDE = "000.21.31.H56", "000.00.21.H56", "000.00.12.H56"
DOSSIER = f"{RECEIVING}-260302-0001"
PERSON = "001204012345"
KEYS = {
    "desk-r-key-0000000000000000000000000": {"subject": "r.desk", "roles": ["desk_officer"], "agencies": [RECEIVING]},
    "handler-h-key-000000000000000000000": {"subject": "h.handler", "roles": ["handler"], "agencies": [HANDLING]},
    "handler-x-key-000000000000000000000": {"subject": "x.handler", "roles": ["handler"], "agencies": [OUTSIDE]},
}
DESK_R, HANDLER_H, HANDLER_X = (bearer(k) for k in KEYS)
DOCUMENT: dict[str, Any] = {
    "holder_id_code": PERSON,
    "holder_kind": "person",
    "type_code": "KQ001193",
    "name": "Giấy khai sinh",
    "source": "scan",
    "dossier_code": DOSSIER,
    "component_code": "GKS",
    "signed": True,
    "file_sha256": "a" * 64,
}
ASSESSMENT = {
    "dossier_code": DOSSIER,
    "procedure_code": "1.001193",
    "items": [{"name": "Lệ phí", "amount_vnd": 8000, "kind": "charge"}],
}


async def publish_receipt(broker: str, prefix: str) -> None:
    payload = dossier_received(DOSSIER, receiving=RECEIVING, handling=HANDLING)
    topic = topic_name(prefix, payload.topic)
    await ensure_topic_names(broker, {topic})
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    try:
        envelope = make_envelope(payload, source="/motcua/intake")
        await producer.send_and_wait(topic, envelope.to_bytes(), key=DOSSIER.encode())
    finally:
        await producer.stop()


async def test_the_handling_agency_sees_documents_and_fees_once_the_receipt_is_consumed(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    common = broker_settings(broker, topic_prefix, api_keys=api_keys(KEYS))
    async with (
        service_database("digitisation", "postgres", tmp_path) as digitisation_url,
        service_database("payments", "postgres", tmp_path) as payments_url,
    ):
        digitisation_app = create_digitisation(DigitisationSettings(database_url=digitisation_url, **common))
        payments_app = create_payments(PaymentsSettings(database_url=payments_url, **common))
        async with running_app(digitisation_app) as digitisation, running_app(payments_app) as payments:
            assert (await digitisation.post("/documents", json=DOCUMENT, headers=DESK_R)).status_code == 201
            assert (await payments.post("/assessments", json=ASSESSMENT, headers=DESK_R)).status_code == 201
            document = f"/documents/{PERSON}.KQ001193"
            fees = f"/dossiers/{DOSSIER}/fees"
            assert (await digitisation.get(document, headers=HANDLER_H)).status_code == 404
            assert (await payments.get(fees, headers=HANDLER_H)).status_code == 404

            await publish_receipt(broker, topic_prefix)

            async def seen(client: httpx.AsyncClient, path: str) -> bool:
                return (await client.get(path, headers=HANDLER_H)).status_code == 200

            await eventually(lambda: seen(digitisation, document), timeout=60, what="digitisation's replica")
            await eventually(lambda: seen(payments, fees), timeout=60, what="payments' replica")
            assert (await digitisation.get(document, headers=HANDLER_X)).status_code == 404
            assert (await payments.get(fees, headers=HANDLER_X)).status_code == 404
