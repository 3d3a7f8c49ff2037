from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from libs.common.db import create_engine
from libs.common.messaging.tables import outbox
from libs.common.testing import AUTH, assert_problem, fields_of
from services.intake.tests.support import body_of, receive

pytestmark = pytest.mark.asyncio


def dossier(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "procedure_code": "1.001193",
        "receiving_agency_code": "000.00.00.H56",
        "channel": "online",
        "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn A"},
        "components": [{"code": "GKS", "form": "electronic", "digitised": True}],
        # Monday 2 March 2026, 09:00 in Hà Nội
        "at": "2026-03-02T09:00:00+07:00",
    }
    body.update(changes)
    return body


class TestReceiveDossier:
    async def test_receipt_assigns_the_code_and_the_appointment(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
        assert response.status_code == 201, response.text
        body = response.json()
        assert body["code"] == "000.00.00.H56-260302-0001"
        # 3 working days after Monday 2 March (receipt day not counted): Thursday 5 March, same clock time.
        assert datetime.fromisoformat(body["due_at"]) == datetime(2026, 3, 5, 2, 0, tzinfo=UTC)
        second = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
        assert second.json()["code"] == "000.00.00.H56-260302-0002"

    async def test_receipt_writes_the_received_event_to_the_outbox(
        self, client: httpx.AsyncClient, intake_url: str
    ) -> None:
        response = await client.post("/dossiers", json=dossier(), headers=AUTH["portal"])
        assert response.status_code == 201
        engine = create_engine(intake_url)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(outbox.c.type, outbox.c.key, outbox.c.payload))).all()
        await engine.dispose()
        assert [(r.type, r.key) for r in rows] == [("vn.motcua.intake.dossier.received", response.json()["code"])]
        data = json.loads(rows[0].payload)["data"]
        assert data["channel"] == "online" and data["has_fees"] is True
        assert data["components"] == [{"code": "GKS", "form": "electronic", "must_digitise": True, "digitised": True}]

    async def test_a_malformed_identity_number_is_a_422_naming_the_field(self, client: httpx.AsyncClient) -> None:
        bad = dossier(applicant={"kind": "person", "id_code": "12345", "name": "A"})
        response = await client.post("/dossiers", json=bad, headers=AUTH["desk"])
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["code"] == "validation_error"
        assert problem["errors"][0]["field"] == "applicant"
        assert "id_code" in problem["errors"][0]["msg"]

    async def test_control_characters_and_far_dates_are_422_naming_the_field(self, client: httpx.AsyncClient) -> None:
        # a NUL in a name was a 500 on PostgreSQL whose traceback printed the statement's parameters
        bad = dossier(applicant={"kind": "person", "id_code": "001204012345", "name": "Nguyễn\u0000Văn An"})
        problem = assert_problem(
            await client.post("/dossiers", json=bad, headers=AUTH["desk"]), 422, "validation_error"
        )
        assert fields_of(problem) == {"applicant.name"}
        far = dossier(at="0202-03-02T09:00:00+07:00")
        problem = assert_problem(
            await client.post("/dossiers", json=far, headers=AUTH["desk"]), 422, "validation_error"
        )
        assert fields_of(problem) == {"at"}
        code = await receive(client)
        note = body_of("refuse", reason="Thiếu giấy tờ\u0007")
        refused = await client.post(f"/dossiers/{code}/refusal", json=note, headers=AUTH["handler"])
        assert fields_of(assert_problem(refused, 422, "validation_error")) == {"reason"}

    async def test_a_malformed_procedure_code_names_the_field(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/dossiers", json=dossier(procedure_code="1001193"), headers=AUTH["desk"])
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["procedure_code"]

    @pytest.mark.parametrize("code", ["G09.00.00.H56", "000.00.00.HAB", "000.0A.00.H56", "000.00.00.Z56"])
    async def test_an_agency_code_the_catalogue_would_reject_names_the_field(
        self, client: httpx.AsyncClient, code: str
    ) -> None:
        # the catalogue's strict QCVN 102:2016 form: digits everywhere but the level letter A–Y
        response = await client.post("/dossiers", json=dossier(receiving_agency_code=code), headers=AUTH["desk"])
        assert response.status_code == 422
        assert [e["field"] for e in response.json()["errors"]] == ["receiving_agency_code"]

    async def test_an_unknown_procedure_is_404(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/dossiers", json=dossier(procedure_code="2.000999"), headers=AUTH["desk"])
        assert response.status_code == 404
        assert response.json()["code"] == "procedure_unknown"

    async def test_receiving_requires_a_desk_or_portal_role(self, client: httpx.AsyncClient) -> None:
        anonymous = await client.post("/dossiers", json=dossier())
        assert anonymous.status_code == 401
        assert anonymous.json()["code"] == "unauthorized"
        leader = await client.post("/dossiers", json=dossier(), headers=AUTH["leader"])
        assert leader.status_code == 403

    async def test_a_receipt_in_the_future_is_refused(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/dossiers", json=dossier(at="2099-01-01T09:00:00+07:00"), headers=AUTH["desk"])
        assert response.status_code == 422
        assert response.json()["errors"][0]["field"] == "at"


class TestOperations:
    async def test_health_readiness_and_metrics(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok"}
        await client.get("/dossiers/nope", headers=AUTH["desk"])
        metrics = (await client.get("/metrics")).text
        assert 'route="/dossiers/{code}"' in metrics

    async def test_unknown_routes_answer_problem_json(self, client: httpx.AsyncClient) -> None:
        response = await client.get("/no-such-thing")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["x-correlation-id"]


class TestReceiptRules:
    async def test_the_receipt_is_form_01_data(self, client: httpx.AsyncClient) -> None:
        body = (await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])).json()
        assert body["status"] == "received"
        assert body["fees_due_vnd"] == 8000
        assert body["appointment_text"] == "09 giờ 00 phút, ngày 05/03/2026"
        assert body["time_limit"] == {"amount": 3, "unit": "working_days"}
        # levels taken from the agency replica (commune), the handling agency defaults to the receiving one
        assert (body["receiving_level"], body["handling_level"]) == ("commune", "commune")
        assert body["handling_agency_code"] == "000.00.00.H56"
        assert body["allowed_commands"][:2] == ["transfer", "request_supplement"]

    async def test_levels_and_the_deciding_agency_are_recorded_in_the_event(
        self, client: httpx.AsyncClient, intake_url: str
    ) -> None:
        body = dossier(handling_agency_code="000.17.22.H56", receiving_level="commune", keyed_in_at_desk=True)
        code = (await client.post("/dossiers", json=body, headers=AUTH["desk"])).json()["code"]
        engine = create_engine(intake_url)
        async with engine.connect() as conn:
            payload = (await conn.execute(select(outbox.c.payload).where(outbox.c.key == code))).scalar_one()
        await engine.dispose()
        data = json.loads(payload)["data"]
        assert data["receiving_agency_code"] == "000.00.00.H56" and data["receiving_level"] == "commune"
        assert data["handling_agency_code"] == "000.17.22.H56" and data["handling_level"] == "commune"
        assert data["keyed_in_at_desk"] is True
        assert data["due_at"] == "2026-03-05T02:00:00Z"

    async def test_a_withdrawn_procedure_is_410(self, client: httpx.AsyncClient) -> None:
        # in force until 30 June 2026
        body = dossier(
            procedure_code="2.000815",
            receiving_agency_code="000.00.12.H56",
            channel="counter",
            components=[{"code": "DN", "form": "paper"}],
            at="2026-07-01T09:00:00+07:00",
        )
        response = await client.post("/dossiers", json=body, headers=AUTH["desk"])
        assert response.status_code == 410
        assert response.json()["code"] == "procedure_withdrawn"
        body["at"] = "2026-06-30T09:00:00+07:00"
        accepted = await client.post("/dossiers", json=body, headers=AUTH["desk"])
        assert accepted.status_code == 201, accepted.text
        assert accepted.json()["fees_due_vnd"] == 1_250_000

    @pytest.mark.parametrize(
        ("changes", "fields"),
        [
            # the procedure is not offered online / by post
            ({"channel": "online"}, ["channel"]),
            ({"channel": "postal"}, ["channel"]),
            # handled at province level only, by agencies listing it
            (
                {"receiving_agency_code": "000.00.00.H56", "handling_agency_code": "000.00.00.H56"},
                ["receiving_level", "handling_level"],
            ),
            ({"handling_agency_code": "000.17.22.H56"}, ["handling_level", "handling_agency_code"]),
            # the required component is missing
            ({"components": []}, ["components"]),
            # a level given that contradicts the agency replica
            ({"receiving_level": "commune"}, ["receiving_level"]),
            ({"cross_boundary": True}, ["cross_boundary"]),
        ],
    )
    async def test_a_dossier_the_procedure_does_not_allow_is_422_naming_the_field(
        self, client: httpx.AsyncClient, changes: dict[str, Any], fields: list[str]
    ) -> None:
        body = dossier(
            procedure_code="2.000815",
            receiving_agency_code="000.00.12.H56",
            channel="counter",
            components=[{"code": "DN", "form": "paper"}],
            at="2026-06-01T09:00:00+07:00",
        )
        body.update(changes)
        response = await client.post("/dossiers", json=body, headers=AUTH["desk"])
        assert response.status_code == 422, response.text
        problem = response.json()
        assert problem["code"] == "receipt_rejected"
        assert [e["field"] for e in problem["errors"]] == fields

    async def test_missing_components_are_named(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/dossiers", json=dossier(components=[{"code": "UQ", "form": "paper"}]), headers=AUTH["desk"]
        )
        assert response.status_code == 422
        assert response.json()["errors"] == [
            {
                "loc": ["components"],
                "field": "components",
                "msg": "required components missing: GKS",
                "type": "value_error",
            }
        ]

    async def test_an_unknown_agency_needs_its_level(self, client: httpx.AsyncClient) -> None:
        body = dossier(receiving_agency_code="000.00.99.H56")
        # the procedure lists one level (commune), so that level is taken
        assert (await client.post("/dossiers", json=body, headers=AUTH["desk"])).status_code == 201

    async def test_the_portal_receives_online_dossiers_only(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/dossiers", json=dossier(channel="counter"), headers=AUTH["portal"])
        assert response.status_code == 403
        assert response.json()["code"] == "forbidden"

    async def test_after_closing_time_the_receipt_counts_from_the_next_opening(self, client: httpx.AsyncClient) -> None:
        # Fri 13 Feb 2026 17:30, just before Tết: counts from Mon 23 Feb 07:00; 3 working days -> Thu 26 Feb 07:00.
        body = (
            await client.post("/dossiers", json=dossier(at="2026-02-13T17:30:00+07:00"), headers=AUTH["desk"])
        ).json()
        assert body["code"] == "000.00.00.H56-260223-0001"
        assert datetime.fromisoformat(body["received_at"]) == datetime(2026, 2, 23, 0, 0, tzinfo=UTC)
        assert datetime.fromisoformat(body["due_at"]) == datetime(2026, 2, 26, 0, 0, tzinfo=UTC)


class TestReceiptCost:
    async def test_a_receipt_is_a_handful_of_statements(self, client: httpx.AsyncClient) -> None:
        from sqlalchemy import event

        engine = client._transport.app.state.runtime.engine  # type: ignore[attr-defined]
        statements: list[str] = []  # through SQLAlchemy
        sent: list[str] = []  # on PostgreSQL, the writes sent straight to asyncpg (libs/common/prepared.py)

        def keyword(statement: str) -> str | None:
            if statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "PRAGMA", "SAVEPOINT", "RELEASE")):
                return None
            return statement.split()[0].upper()

        def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
            if word := keyword(statement):
                statements.append(word)

        def log_query(query: Any) -> None:
            if word := keyword(query.query):
                sent.append(word)

        def watch(_dbapi: Any, record: Any, _proxy: Any) -> None:
            # asyncpg logs the statements it runs by text (not those SQLAlchemy runs as prepared statements)
            record.driver_connection.add_query_logger(log_query)

        def unwatch(_dbapi: Any, record: Any) -> None:
            record.driver_connection.remove_query_logger(log_query)

        postgres = engine.dialect.name == "postgresql"
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        if postgres:
            event.listen(engine.sync_engine.pool, "checkout", watch)
            event.listen(engine.sync_engine.pool, "checkin", unwatch)
        try:
            response = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
            first, statements[:] = list(statements), []
            first_sent, sent[:] = list(sent), []
            again = await client.post("/dossiers", json=dossier(), headers=AUTH["desk"])
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
            if postgres:
                event.remove(engine.sync_engine.pool, "checkout", watch)
                event.remove(engine.sync_engine.pool, "checkin", unwatch)
        assert response.status_code == 201 and again.status_code == 201
        # replica version token, procedure in force, agencies; then the sequence upsert and the writes
        assert first == ["SELECT", "SELECT", "SELECT"] + ([] if postgres else ["INSERT", "INSERT", "INSERT", "INSERT"])
        # the replica unchanged since: procedure and agencies come from the process's cache
        assert statements == ["SELECT"] + ([] if postgres else ["INSERT", "INSERT", "INSERT", "INSERT"])
        # on PostgreSQL: the day's number, the dossier, its audit row and its event in one statement
        assert first_sent == sent == (["WITH"] if postgres else [])

    @pytest.mark.parametrize(
        ("day", "previous", "number"),
        [("2026-03-02", 41, "0042"), ("2026-03-03", 9998, "9999"), ("2026-03-04", 9999, "10000")],
    )
    async def test_the_code_is_the_same_whichever_way_it_is_written(
        self, client: httpx.AsyncClient, day: str, previous: int, number: str
    ) -> None:
        # PostgreSQL makes the code in SQL (one statement), SQLite in Python (domain.codes.dossier_code): same codes
        from datetime import date

        from libs.common.db import upsert
        from services.intake.sequences import SEQUENCES

        engine = client._transport.app.state.runtime.engine  # type: ignore[attr-defined]
        agency = "000.00.00.H56"
        async with engine.begin() as conn:
            stmt = upsert(SEQUENCES, engine.dialect.name).values(
                agency_code=agency, day_on=date.fromisoformat(day), last=previous
            )
            await conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[SEQUENCES.c.agency_code, SEQUENCES.c.day_on], set_={"last": previous}
                )
            )
        response = await client.post("/dossiers", json=dossier(at=f"{day}T09:00:00+07:00"), headers=AUTH["desk"])
        assert response.status_code == 201, response.text
        code = response.json()["code"]
        assert code == f"{agency}-{day[2:4]}{day[5:7]}{day[8:10]}-{number}"
        async with engine.connect() as conn:
            event = (await conn.execute(select(outbox.c.key, outbox.c.payload).where(outbox.c.key == code))).one()
        assert json.loads(event.payload)["data"]["dossier_code"] == json.loads(event.payload)["subject"] == code
