"""One dossier's whole life through the real broker: the catalogue's procedure and agency reach intake's replicas
as events, then receipt → transfer → supplement pause/resume → result → return → rating go out on the dossiers topic,
in order, keyed by the dossier code. PostgreSQL database, Kafka-protocol broker."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from libs.common.contract import (
    AgencyPublished,
    DecisionRef,
    DocumentComponent,
    LimitUnit,
    OnlineLevel,
    ProcedurePublished,
    ProcedureSnapshot,
    Sector,
    TimeLimitData,
    Topic,
)
from libs.common.contract.registry import make_envelope, topic_name
from libs.common.messaging.kafka import ensure_topic_names
from libs.common.testing import AUTH, eventually, running_app, service_database, unique_name
from services.intake.app import create_app
from services.intake.config import IntakeSettings

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]

AGENCY = "000.00.00.H56"
PROCEDURE = ProcedureSnapshot(
    code="1.001193",
    version=1,
    name="Đăng ký khai sinh",
    sector=Sector(code="G09-TP03", name="Hộ tịch"),
    levels=["commune"],
    time_limit=TimeLimitData(amount=3, unit=LimitUnit.WORKING_DAYS),
    components=[DocumentComponent(code="GKS", name="Giấy chứng sinh", must_digitise=True)],
    online_level=OnlineLevel.FULL,
    decision=DecisionRef(number="1/QĐ-UBND", signed_on=date(2025, 12, 1), effective_on=date(2026, 1, 1)),
    in_force_from=date(2026, 1, 1),
)


async def publish_catalogue(broker: str, prefix: str) -> None:
    payloads = [
        ProcedurePublished(code=PROCEDURE.code, procedure=PROCEDURE),
        AgencyPublished(code=AGENCY, name="UBND xã Tân Lập", level="commune"),
    ]
    await ensure_topic_names(broker, {topic_name(prefix, p.topic) for p in payloads})
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    try:
        for payload in payloads:
            envelope = make_envelope(payload, source="/motcua/catalogue")
            await producer.send_and_wait(
                topic_name(prefix, payload.topic), envelope.to_bytes(), key=envelope.subject.encode()
            )
    finally:
        await producer.stop()


async def dossier_events(broker: str, prefix: str, code: str, wanted: int) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        topic_name(prefix, Topic.DOSSIERS),
        bootstrap_servers=broker,
        group_id=unique_name("reader"),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen: list[dict[str, Any]] = []
    try:

        async def collect() -> list[dict[str, Any]] | None:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    envelope = json.loads(record.value)
                    if envelope["subject"] == code:
                        assert record.key == code.encode()
                        seen.append(envelope)
            return seen if len(seen) >= wanted else None

        return await eventually(collect, timeout=30, what=f"{wanted} events of {code}")
    finally:
        await consumer.stop()


async def test_one_dossier_through_its_life_reaches_the_topic_in_order(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    await publish_catalogue(broker, topic_prefix)
    async with service_database("intake", "postgres", tmp_path) as url:
        settings = IntakeSettings(
            database_url=url,
            kafka_enabled=True,
            topic_prefix=topic_prefix,
            kafka_bootstrap_servers=broker,
            relay_poll_seconds=0.05,
            overdue_check_seconds=0,
        )
        async with running_app(create_app(settings)) as client:
            receipt_body = {
                "procedure_code": PROCEDURE.code,
                "receiving_agency_code": AGENCY,
                "channel": "online",
                "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn An"},
                "components": [{"code": "GKS", "form": "electronic", "digitised": True}],
                "at": "2026-04-29T10:00:00+07:00",
            }

            async def received() -> str | None:
                # the replica fills from the catalogue topic; until then the procedure is unknown (404)
                response = await client.post("/dossiers", json=receipt_body, headers=AUTH["desk"])
                return str(response.json()["code"]) if response.status_code == 201 else None

            code = await eventually(received, timeout=30, what="the procedure replica and a receipt")
            assert (await client.get(f"/dossiers/{code}", headers=AUTH["desk"])).json()["receiving_level"] == "commune"

            steps: list[tuple[str, str, dict[str, Any]]] = [
                ("transfer", "handler", {"to_agency_code": "000.17.22.H56", "at": "2026-04-29T11:00:00+07:00"}),
                ("supplement-requests", "handler",
                 {"items": ["Giấy chứng sinh"], "reason": "Bản chụp mờ", "at": "2026-04-29T15:00:00+07:00"}),
                ("supplements", "desk", {"at": "2026-05-04T09:30:00+07:00"}),
                ("result", "handler",
                 {"decision": "approved", "electronic_result": True, "at": "2026-05-06T15:00:00+07:00"}),
                ("return", "desk", {"channel": "electronic", "at": "2026-05-06T15:30:00+07:00"}),
                ("rating", "admin", {"rating": "very_satisfied", "at": "2026-05-07T09:00:00+07:00"}),
            ]  # fmt: skip
            for path, who, body in steps:
                response = await client.post(f"/dossiers/{code}/{path}", json=body, headers=AUTH[who])
                assert response.status_code == 200, (path, response.text)

            events = await dossier_events(broker, topic_prefix, code, wanted=7)

    assert [e["type"] for e in events] == [
        "vn.motcua.intake.dossier.received",
        "vn.motcua.intake.dossier.transferred",
        "vn.motcua.intake.dossier.supplement_requested",
        "vn.motcua.intake.dossier.supplement_received",
        "vn.motcua.intake.dossier.resolved",
        "vn.motcua.intake.dossier.returned",
        "vn.motcua.intake.dossier.rated",
    ]
    data = [e["data"] for e in events]
    # due Wed 6 May 10:00 (+07); paused Wed 29 Apr 15:00 – Mon 4 May 09:30 = Wed 15:00–17:00 + Mon 07:00–09:30
    # = 4.5 working hours (recomputed for the 07:00 opening) -> 10:00–11:30, 13:30–16:30: 16:30 (+07)
    assert data[0]["due_at"] == "2026-05-06T03:00:00Z"
    assert data[3]["paused_seconds"] == 4 * 3600 + 1800 and data[3]["due_at"] == "2026-05-06T09:30:00Z"
    assert data[4]["due_at"] == "2026-05-06T09:30:00Z" and data[4]["result_refs"] == [f"{code}-KQ1"]
    assert data[5]["channel"] == "electronic" and data[6]["rating"] == "very_satisfied"
    assert len({e["id"] for e in events}) == 7
