"""No personal data in clear on the bus, in a log line, an outbox row or a dead letter (issue 9, point 5).

The five services run as real processes (uvicorn with its access log on, JSON logs at INFO) on PostgreSQL and the
real broker. One dossier goes through its whole life — receipt with a distinctive identity number, name, address,
phone and e-mail; digitisation, the holder's view, re-use; fee and payment; supplement; result, return, rating —
and one malformed event (an old producer's receipt with the number and name in clear) is dead-lettered. Then every
log line of every process, every outbox and dead-letter row of every service, reporting's, payments' and the
catalogue's tables, and every record of every topic read to its end are searched for those values: with and
without diacritics, in any case, JSON-escaped or not, the number also with separators. Intake and digitisation own
the clear values and keep them in their own tables; nothing else may.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import sys
import unicodedata
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from sqlalchemy import MetaData, inspect, select, text

from libs.common.contract import Topic, topic_name
from libs.common.db import create_engine
from libs.common.messaging.kafka import ensure_topic_names
from libs.common.messaging.tables import dead_letter, outbox
from libs.common.testing import AUTH, eventually, service_database
from tests.integration.test_catalogue_to_intake import PROCEDURE

REPO = Path(__file__).resolve().parents[2]
SERVICES = ("catalogue", "intake", "digitisation", "payments", "reporting")
AGENCY = "000.01.21.H56"
IDENTITY = "001190413527"
NAME = "Đoàn Thị Xuân Quỳnh"
ADDRESS = "Số 17 ngõ Văn Chương, phường Văn Miếu"
PHONE = "0912 468 357"
EMAIL = "xuanquynh.doan@example.vn"
DOCUMENT_TYPE = "KQ001193"
# Services the clear values belong to: their own tables may hold them, never their outbox or dead letters.
OWNERS = {"intake", "digitisation"}


def folded(value: str) -> str:
    """Lower case without diacritics (đ becomes d), JSON escapes decoded: "Đoàn" and "doan" compare equal."""
    value = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)), value)
    value = unicodedata.normalize("NFD", value.replace("đ", "d").replace("Đ", "D"))
    return " ".join("".join(c for c in value if not unicodedata.combining(c)).lower().split())


def digits_joined(value: str) -> str:
    """Separators between digits removed, so "001 190 413 527" and "001-190-413-527" are found as the number."""
    return re.sub(r"(?<=\d)[\s.\-_/]+(?=\d)", "", value)


def leaks(where: str, content: str) -> list[str]:
    found = []
    numbers = digits_joined(content)
    for label, number in (("identity number", IDENTITY), ("phone", digits_joined(PHONE))):
        if number in numbers:
            found.append(f"{label} in {where}")
    words = folded(content)
    for label, value in (("name", NAME), ("address", ADDRESS), ("e-mail", EMAIL)):
        if folded(value) in words:
            found.append(f"{label} in {where}")
    return found


def test_the_search_finds_every_form_it_claims_to() -> None:
    """The search itself must be able to fail: each form a leak could take is found."""
    for content in (
        f"id={IDENTITY}",
        "id 001 190 413 527",
        "001-190-413-527",
        "Đoàn Thị Xuân Quỳnh",
        "DOAN THI XUAN QUYNH",
        json.dumps({"name": NAME}),  # ensure_ascii: \u0110o\u00e0n ...
        unicodedata.normalize("NFD", NAME),
        "call 0912468357",
        f"<{EMAIL.upper()}>",
    ):
        assert leaks("sample", content), content
    assert leaks("sample", "001******527 Đoàn Văn Hải k1:ab12 0912******") == []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def service_process(service: str, env: dict[str, str], log: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The service as a deployment runs it: its own uvicorn process, access log on; stdout and stderr to ``log``."""
    port = free_port()
    with log.open("wb") as sink:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "uvicorn", f"services.{service}.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--access-log",
            cwd=REPO, env=env, stdout=sink, stderr=sink,
        )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:

            async def live() -> bool:
                if process.returncode is not None:
                    raise AssertionError(f"{service} exited with {process.returncode}; its output is in {log}")
                try:
                    return (await client.get("/healthz")).status_code == 200
                except httpx.TransportError:
                    return False

            await eventually(live, timeout=90, interval=0.2, what=f"{service} to start")
            yield client
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()


def environment(urls: dict[str, str], broker: str, prefix: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOTCUA_", "KAFKA_"))}
    env.update(
        MOTCUA_ENV="test",
        MOTCUA_LOG_LEVEL="INFO",
        MOTCUA_LOG_JSON="true",
        MOTCUA_AUDIT_SEAL_SECONDS="0",
        MOTCUA_TOPIC_PREFIX=prefix,
        KAFKA_BOOTSTRAP_SERVERS=broker,
        # A rotated key ring: k2 is current, k1 (the former single key) still listed.
        MOTCUA_PRIVACY_KEYS=json.dumps({"k1": "former-key-" + "x" * 32, "k2": "current-key-" + "y" * 32}),
        MOTCUA_PRIVACY_KEY_ID="k2",
        MOTCUA_INTAKE_OVERDUE_CHECK_SECONDS="0",
        MOTCUA_REPORTING_DRIFT_CHECK_SECONDS="0",
    )
    for service, url in urls.items():
        env[f"MOTCUA_{service.upper()}_DATABASE_URL"] = url
        env[f"MOTCUA_{service.upper()}_RELAY_POLL_SECONDS"] = "0.05"
    return env


async def publish_malformed(broker: str, prefix: str, dossier_code: str) -> str:
    """An old producer's receipt (v1, number and name in clear) that breaks the contract: it must be dead-lettered
    without them. The record itself is this test's, so the broker search leaves it out."""
    event_id = str(uuid.uuid4())
    envelope = {
        "specversion": "1.0",
        "id": event_id,
        "source": "/motcua/intake",
        "type": "vn.motcua.intake.dossier.received",
        "subject": dossier_code,
        "time": "2026-04-29T03:00:00Z",
        "dataschema": "urn:motcua:event:intake.dossier.received:v1",
        "data": {"dossier_code": dossier_code, "applicant": {"kind": "person", "id_code": IDENTITY, "name": NAME}},
    }
    topic = topic_name(prefix, Topic.DOSSIERS)
    await ensure_topic_names(broker, {topic})
    producer = AIOKafkaProducer(bootstrap_servers=broker)
    await producer.start()
    try:
        await producer.send_and_wait(topic, json.dumps(envelope).encode(), key=dossier_code.encode())
    finally:
        await producer.stop()
    return event_id


async def every_record(broker: str, prefix: str) -> list[tuple[str, bytes | None, bytes]]:
    """Every record of every topic of the contract, each partition read from its beginning to its end."""
    topics = [topic_name(prefix, t) for t in Topic]
    await ensure_topic_names(broker, set(topics))
    consumer = AIOKafkaConsumer(bootstrap_servers=broker, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or {0})]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        records: list[tuple[str, bytes | None, bytes]] = []

        async def read_to_end() -> bool:
            batches = await consumer.getmany(timeout_ms=200)
            for batch in batches.values():
                records.extend((r.topic, r.key, r.value) for r in batch)
            positions = [await consumer.position(tp) for tp in partitions]
            return all(at >= ends[tp] for at, tp in zip(positions, partitions, strict=True))

        await eventually(read_to_end, timeout=60, what="every topic read to its end")
        return records
    finally:
        await consumer.stop()


async def stored_rows(service: str, url: str) -> list[tuple[str, str]]:
    """(where, row) for the rows searched in this service's database: outbox and dead letters everywhere, every
    table of the services that do not own the clear values."""
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            if service in OWNERS:
                tables = [outbox, dead_letter]
            else:
                meta = MetaData()
                await conn.run_sync(lambda sync: meta.reflect(sync))
                tables = list(meta.sorted_tables)
            rows: list[tuple[str, str]] = []
            present = set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
            for table in tables:
                if table.name in present:
                    result = await conn.execute(select(table))
                    rows.extend((f"{service}.{table.name}", repr(tuple(r))) for r in result)
            return rows
    finally:
        await engine.dispose()


async def unpublished(url: str) -> int:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            waiting = await conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
            return int(waiting.scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.asyncio
@pytest.mark.integration
async def test_a_dossiers_whole_life_leaves_no_personal_data_in_clear(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        urls = {s: await stack.enter_async_context(service_database(s, "postgres", tmp_path)) for s in SERVICES}
        env = environment(urls, broker, topic_prefix)
        logs = {s: tmp_path / f"{s}.log" for s in SERVICES}
        clients: dict[str, httpx.AsyncClient] = {}
        for service in SERVICES:
            if service == "reporting":
                env["MOTCUA_REPORTING_INTAKE_URL"] = str(clients["intake"].base_url)
            clients[service] = await stack.enter_async_context(service_process(service, env, logs[service]))
        catalogue, intake, digitisation, payments, reporting = (clients[s] for s in SERVICES)

        # The catalogue publishes the procedure and the agency; intake's replica fills from the topic.
        procedure = {**PROCEDURE, "components": [*PROCEDURE["components"], {"code": "CCCD", "name": "Căn cước"}]}
        assert (await catalogue.post("/procedures", json=procedure, headers=AUTH["ops"])).status_code == 201
        agency = {"name": "UBND xã Tân Lập", "level": "commune", "procedure_codes": [PROCEDURE["code"]]}
        assert (await catalogue.put(f"/agencies/{AGENCY}", json=agency, headers=AUTH["ops"])).status_code == 200
        receipt = {
            "procedure_code": PROCEDURE["code"],
            "receiving_agency_code": AGENCY,
            "channel": "online",
            "applicant": {
                "kind": "person", "id_code": IDENTITY, "name": NAME, "identified_by_vneid": True,
                "address": ADDRESS, "phone": PHONE, "email": EMAIL,
            },
            "components": [
                {"code": "GCS", "form": "electronic", "digitised": True}, {"code": "CCCD", "form": "warehouse"},
            ],
            "at": "2026-04-29T10:00:00+07:00",
        }  # fmt: skip

        async def received() -> str | None:
            response = await intake.post("/dossiers", json=receipt, headers=AUTH["desk"])
            return str(response.json()["code"]) if response.status_code == 201 else None

        code = await eventually(received, timeout=120, what="the procedure replica and a receipt")
        # A name with a NUL byte once failed inside the database driver, whose traceback printed the statement's
        # parameters; intake's schemas now refuse control characters (issue 9, point 7), and the refusal's log
        # line may not carry the number or the name either.
        bad = {**receipt, "applicant": {**receipt["applicant"], "name": NAME + "\x00"}}
        response = await intake.post("/dossiers", json=bad, headers=AUTH["desk"])
        assert response.status_code == 422, response.text
        # A look-up by a misspelt identity number in the path: the access log must not print it either.
        await intake.get(f"/dossiers/{IDENTITY}", headers=AUTH["desk"])

        # Digitisation: the birth certificate is scanned into the dossier, listed in the holder's view, re-used.
        document = {
            "holder_id_code": IDENTITY, "holder_kind": "person", "type_code": DOCUMENT_TYPE,
            "name": "Giấy khai sinh", "source": "scan", "dossier_code": code, "component_code": "GCS",
            "signed": True, "file_sha256": "ab" * 32,
        }  # fmt: skip
        response = await digitisation.post("/documents", json=document, headers=AUTH["desk"])
        assert response.status_code == 201, response.text
        response = await digitisation.get(f"/holders/{IDENTITY}/documents", headers=AUTH["desk"])
        assert response.status_code == 200, response.text
        reuse = {"component_code": "CCCD", "document_id": f"{IDENTITY}.{DOCUMENT_TYPE}"}
        response = await digitisation.post(f"/dossiers/{code}/reuse", json=reuse, headers=AUTH["desk"])
        assert response.status_code == 201, response.text

        # Fee and payment at the counter.
        fees = {"dossier_code": code, "procedure_code": PROCEDURE["code"],
                "items": [{"name": "Lệ phí", "amount_vnd": 8000, "kind": "charge"}]}  # fmt: skip
        assert (await payments.post("/assessments", json=fees, headers=AUTH["desk"])).status_code == 201
        intent = {"dossier_code": code, "procedure_code": PROCEDURE["code"], "amount_vnd": 8000,
                  "channel": "counter", "provider": "cash"}  # fmt: skip
        response = await payments.post("/payments", json=intent, headers=AUTH["desk"] | {"Idempotency-Key": "pay-1"})
        assert response.status_code == 201, response.text
        confirm = await payments.post(
            f"/payments/{response.json()['id']}/confirm", json={"receipt_ref": "BL-0001"}, headers=AUTH["desk"]
        )
        assert confirm.status_code == 200, confirm.text

        # Supplement, result, return, rating.
        steps: list[tuple[str, str, dict[str, Any]]] = [
            ("supplement-requests", "handler",
             {"items": ["Giấy chứng sinh"], "reason": "Bản chụp mờ", "at": "2026-04-29T15:00:00+07:00"}),
            ("supplements", "desk", {"at": "2026-05-04T09:30:00+07:00"}),
            ("result", "handler",
             {"decision": "approved", "electronic_result": True, "at": "2026-05-06T15:00:00+07:00"}),
            ("return", "desk", {"channel": "electronic", "at": "2026-05-06T15:30:00+07:00"}),
            ("rating", "admin",
             {"rating": "very_satisfied", "comment": "Nhanh, chu đáo", "at": "2026-05-07T09:00:00+07:00"}),
        ]  # fmt: skip
        for path, who, body in steps:
            response = await intake.post(f"/dossiers/{code}/{path}", json=body, headers=AUTH[who])
            assert response.status_code == 200, (path, response.text)

        malformed = await publish_malformed(broker, topic_prefix, code)

        # Reporting has folded the whole life (every producer's events) and set the malformed event aside.
        async def folded_fact() -> dict[str, Any] | None:
            response = await reporting.get(f"/dossiers/{code}/fact", headers=AUTH["leader"])
            fact = response.json().get("fact") if response.status_code == 200 else None
            return dict(fact) if fact and fact.get("rating") and fact.get("returned_at") else None

        await eventually(folded_fact, timeout=120, what="reporting's fact of the whole life")

        async def dead_lettered() -> bool:
            rows = await stored_rows("reporting", urls["reporting"])
            return any(where == "reporting.dead_letter" and malformed in row for where, row in rows)

        await eventually(dead_lettered, timeout=60, what="the malformed event in reporting's dead letters")
        for service in SERVICES:

            async def drained(url: str = urls[service]) -> bool:
                return await unpublished(url) == 0

            await eventually(drained, timeout=60, what=f"{service}'s outbox")

        records = await every_record(broker, topic_prefix)
        rows = [row for service in SERVICES for row in await stored_rows(service, urls[service])]
        await stack.aclose()  # the processes stop, their logs are complete

    found: list[str] = []
    for service, log in logs.items():
        lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
        assert lines, f"no log line from {service}"
        for n, line in enumerate(lines, 1):
            found += leaks(f"{service} log line {n}: {line[:200]}", line)
    searched = [r for r in records if malformed.encode() not in r[2]]
    assert len(searched) == len(records) - 1  # the test's own malformed record aside
    # every producer's events of the life are among them
    assert {json.loads(value)["type"].removeprefix("vn.motcua.") for _, _, value in searched} >= {
        "catalogue.procedure.published", "catalogue.agency.published", "intake.dossier.received",
        "digitisation.document.digitised", "digitisation.document.reused", "payments.fee.assessed",
        "payments.payment.succeeded", "intake.dossier.supplement_requested", "intake.dossier.supplement_received",
        "intake.dossier.resolved", "intake.dossier.returned", "intake.dossier.rated",
    }  # fmt: skip
    for topic, key, value in searched:
        found += leaks(f"record on {topic}: {value[:200]!r}", f"{key!r} {value.decode(errors='replace')}")
    assert any("dead_letter" in where for where, _ in rows)
    for where, row in rows:
        found += leaks(f"{where}: {row[:200]}", row)
    access = "\n".join(p.read_text(errors="replace") for p in logs.values())
    assert "/holders/001******527/documents" in access  # the access log was on, and masked
    assert found == [], "\n".join(found)
