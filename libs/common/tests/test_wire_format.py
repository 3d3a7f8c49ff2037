"""Standard wire format: CloudEvents structured mode with the Kafka binding's content-type header, an envelope that
requires ``id`` and ``specversion``, and an AsyncAPI 3.0 document that is current, well-formed and served.

No PyPI package ships the official AsyncAPI 3.0 JSON Schema (it is published on npm as @asyncapi/specs), so the
document is checked structurally here: the 3.0 fields it must have, every ``$ref`` resolving, every component schema
a valid JSON Schema, and real envelopes validating against the message payloads.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured
from cloudevents.core.formats.json import JSONFormat
from jsonschema import Draft202012Validator
from pydantic import ValidationError

from libs.common.app import create_service_app
from libs.common.contract import asyncapi
from libs.common.contract.asyncapi import ASYNCAPI_PATH, asyncapi_document, message_id
from libs.common.contract.envelope import STRUCTURED_CONTENT_TYPE, Envelope
from libs.common.contract.events import EVENT_TYPES, DossierRated, Rating, Topic
from libs.common.contract.registry import make_envelope, topic_name
from libs.common.db import create_engine, session_factory
from libs.common.messaging.kafka import producer_factory
from libs.common.messaging.outbox import Outbox, OutboxRelay, outbox_backlog
from libs.common.messaging.tables import messaging_metadata
from libs.common.settings import ServiceSettings
from libs.common.testing import eventually, running_app, unique_name

KEY = re.compile(r"^[\w.\-]+$")


def rated() -> Envelope:
    at = datetime(2026, 3, 2, 3, tzinfo=UTC)
    return make_envelope(DossierRated(dossier_code="D-1", rating=Rating.SATISFIED, at=at), source="/test")


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def payload_validator(doc: dict[str, Any], model_message_id: str) -> Draft202012Validator:
    # The whole document as the root resource, so that "#/components/schemas/..." resolves as in AsyncAPI.
    return Draft202012Validator({**doc, "$ref": f"#/components/messages/{model_message_id}/payload"})


class TestEnvelope:
    def test_id_and_specversion_are_required_on_the_wire(self) -> None:
        raw = rated().model_dump(mode="json")
        for field, bad in (("id", None), ("specversion", None), ("specversion", "0.3"), ("id", "")):
            broken = dict(raw)
            if bad is None:
                del broken[field]
            else:
                broken[field] = bad
            with pytest.raises(ValidationError):
                Envelope.model_validate(broken)
        schema = asyncapi_document()["components"]["schemas"]["Envelope"]
        assert {"id", "specversion"} <= set(schema["required"])
        assert schema["properties"]["specversion"]["const"] == "1.0"


class TestAsyncAPIDocument:
    def test_the_committed_document_is_current(self) -> None:
        assert ASYNCAPI_PATH.read_text(encoding="utf-8") == asyncapi.render(), "run `make contract`"

    def test_it_has_the_asyncapi_3_structure(self) -> None:
        doc = asyncapi_document()
        assert doc["asyncapi"] == "3.0.0"
        assert doc["info"]["title"] and doc["info"]["version"]
        for section in ("channels", "operations"):
            assert all(KEY.match(k) for k in doc[section]), section
        for section in ("schemas", "messages"):
            assert all(KEY.match(k) for k in doc["components"][section]), section
        for ref in refs(doc):
            resolve(doc, ref)  # raises KeyError when a reference points nowhere
        for channel in doc["channels"].values():
            assert channel["address"].startswith("{prefix}.") and "prefix" in channel["parameters"]
            assert channel["messages"]
        for operation in doc["operations"].values():
            assert operation["action"] in ("send", "receive")
            channel_ref = operation["channel"]["$ref"]
            for message in operation["messages"]:
                assert message["$ref"].startswith(channel_ref + "/messages/")  # 3.0: the channel's own messages

    def test_channels_are_topics_and_messages_are_event_types_keyed_by_subject(self) -> None:
        doc = asyncapi_document()
        assert {c["address"] for c in doc["channels"].values()} == {"{prefix}." + t.value for t in Topic}
        assert set(doc["components"]["messages"]) == {message_id(m) for m in EVENT_TYPES}
        for model in EVENT_TYPES:
            message = doc["components"]["messages"][message_id(model)]
            assert message["contentType"] == STRUCTURED_CONTENT_TYPE
            assert model.subject_field in message["bindings"]["kafka"]["key"]["description"]
            data = message["payload"]["allOf"][1]["properties"]["data"]
            assert resolve(doc, data["$ref"]) == doc["components"]["schemas"][model.__name__]

    def test_every_schema_is_valid_json_schema(self) -> None:
        doc = asyncapi_document()
        for schema in doc["components"]["schemas"].values():
            Draft202012Validator.check_schema(schema)
        for message in doc["components"]["messages"].values():
            Draft202012Validator.check_schema(message["payload"])
            Draft202012Validator.check_schema(message["headers"])

    def test_a_real_event_validates_and_a_wrong_one_does_not(self) -> None:
        doc = asyncapi_document()
        validator = payload_validator(doc, message_id(DossierRated))
        event = rated().model_dump(mode="json")
        assert list(validator.iter_errors(event)) == []
        assert list(validator.iter_errors({**event, "type": "vn.motcua.intake.dossier.received"}))
        assert list(validator.iter_errors({k: v for k, v in event.items() if k != "id"}))
        assert list(validator.iter_errors({**event, "data": {**event["data"], "rating": "furious"}}))

    @pytest.mark.asyncio
    async def test_every_service_app_serves_it(self, tmp_path: Path) -> None:
        settings = ServiceSettings(database_url=f"sqlite+aiosqlite:///{tmp_path / 'a.db'}", kafka_enabled=False)
        app = create_service_app(service="t", title="t", description="t", settings=settings, routers=[])
        async with running_app(app) as client:
            response = await client.get("/asyncapi.json")
        assert response.status_code == 200
        assert response.json() == asyncapi_document()


@pytest.mark.asyncio
@pytest.mark.integration
async def test_a_generic_cloudevents_consumer_reads_our_records(broker: str, tmp_path: Path) -> None:
    """The relay's record, read back from the broker by the CloudEvents SDK's Kafka binding (structured mode)."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'o.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
    prefix = unique_name("t")
    box = Outbox(source="/motcua/test", topic_prefix=prefix)
    at = datetime(2026, 3, 2, 3, tzinfo=UTC)
    async with session_factory(engine)() as session, session.begin():
        (sent,) = await box.append(session, DossierRated(dossier_code="D-7", rating=Rating.SATISFIED, at=at))
    relay = OutboxRelay(
        engine=engine,
        producer_factory=producer_factory(broker, "test"),
        bootstrap_servers=broker,
        service="wire-test",
        poll_seconds=0.05,
    )
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: _published(engine), what="the event published")
    finally:
        await relay.stop()
        await asyncio.gather(task, return_exceptions=True)
        await engine.dispose()

    topic = topic_name(prefix, Topic.DOSSIERS)
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[Any] = []

        async def arrived() -> bool:
            for batch in (await consumer.getmany(timeout_ms=200)).values():
                records.extend(batch)
            return bool(records)

        await eventually(arrived, what="the record on the topic")
    finally:
        await consumer.stop()
    (record,) = records
    headers = dict(record.headers)
    assert headers["content-type"] == STRUCTURED_CONTENT_TYPE.encode()
    assert not any(name.startswith("ce_") for name in headers)  # structured mode, no binary-mode attributes
    event = from_structured(KafkaMessage(headers=headers, key=record.key, value=record.value), JSONFormat())
    assert event.get_id() == sent.id
    assert event.get_type() == "vn.motcua.intake.dossier.rated"
    assert event.get_source() == "/motcua/test"
    assert event.get_subject() == "D-7" == record.key.decode()
    assert event.get_specversion() == "1.0"
    assert event.get_data() == sent.data


async def _published(engine: Any) -> bool:
    return await outbox_backlog(engine) == 0
