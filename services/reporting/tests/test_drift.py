"""Drift per dossier (services/reporting/drift.py) against a stand-in of intake's ``/outbox`` routes that answers
from a list of events it says it published: missing here, unknown there, not yet settled, dead-lettered."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.app import Runtime
from libs.common.calendar import VN_TZ
from libs.common.clock import FrozenClock
from libs.common.db import session_factory
from libs.common.messaging.digest import summarise
from libs.common.messaging.outbox import Outbox
from libs.common.messaging.tables import dead_letter
from services.reporting.config import ReportingSettings
from services.reporting.drift import INTAKE_EVENTS, check_and_repair, compare, intake_client
from services.reporting.models import DossierEvent
from services.reporting.tests.conftest import Feeder
from services.reporting.tests.test_api import province_events

pytestmark = pytest.mark.asyncio


class StandIn:
    """Intake's outbox routes over a list of (key, id, time) it published."""

    def __init__(self, published: list[tuple[str, str, datetime]]) -> None:
        self.published = published
        self.republished: list[dict[str, Any]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer dev-ops"
        assert sorted(request.url.params.get_list("name")) == sorted(INTAKE_EVENTS) or request.method == "POST"
        if request.url.path == "/outbox/digest":
            first = datetime.fromisoformat(request.url.params["day"]).date()
            last = datetime.fromisoformat(request.url.params["until"]).date()
            pairs = [(k, i) for k, i, t in self.published if first <= t.astimezone(VN_TZ).date() <= last]
            aggregates = [{"key": k, **v} for k, v in summarise(pairs).items()]
            return httpx.Response(200, json={"count": len(pairs), "aggregates": aggregates})
        if request.url.path.startswith("/outbox/aggregates/"):
            key = request.url.path.rsplit("/", 1)[1]
            events = [
                {"id": i, "name": "intake.dossier.received", "time": t.isoformat(), "published": True}
                for k, i, t in self.published
                if k == key
            ]
            return httpx.Response(200, json={"key": key, "events": events})
        if request.url.path == "/outbox/republish":
            body = json.loads(request.content)
            self.republished.append(body)
            return httpx.Response(200, json={"republished": len(body["keys"])})
        return httpx.Response(404)


async def _held(engine: AsyncEngine) -> list[tuple[str, str, datetime]]:
    async with session_factory(engine)() as session:
        rows = await session.execute(
            select(DossierEvent.dossier_code, DossierEvent.event_id, DossierEvent.recorded_at).where(
                DossierEvent.name.in_(INTAKE_EVENTS)
            )
        )
        return [(c, i, t if t.tzinfo else t.replace(tzinfo=UTC)) for c, i, t in rows.all()]


def _gauge(kind: str) -> float | None:
    return REGISTRY.get_sample_value("motcua_drift_events", {"producer": "intake", "kind": kind})


async def test_missing_unknown_settled_and_dead_lettered(feeder: Feeder, engine: AsyncEngine) -> None:
    await feeder.feed(province_events())  # the envelopes' times are now: the days checked end today
    held = await _held(engine)
    now = max(t for _, _, t in held) + timedelta(minutes=10)
    old = now - timedelta(days=1)
    codes = sorted({c for c, _, _ in held})
    assert len(codes) >= 3
    dropped = next(h for h in held if h[0] == codes[0])  # reporting holds it, intake never wrote it
    missing = (codes[1], "11111111-1111-4111-8111-111111111111", old)
    dead = (codes[1], "22222222-2222-4222-8222-222222222222", old)
    fresh = (codes[2], "33333333-3333-4333-8333-333333333333", now - timedelta(seconds=5))
    stand_in = StandIn([h for h in held if h != dropped] + [missing, dead, fresh])
    async with session_factory(engine)() as session, session.begin():
        await session.execute(
            insert(dead_letter).values(
                consumer="reporting",
                topic="t",
                partition=0,
                offset=1,
                key=codes[1],
                value=json.dumps({"id": dead[1]}),
                error="invalid payload",
                failed_at=old,
            )
        )

    settings = ReportingSettings(database_url="unused", intake_url="http://intake", drift_grace_seconds=60)
    first, last = old.astimezone(VN_TZ).date(), now.astimezone(VN_TZ).date()
    async with intake_client(settings, httpx.MockTransport(stand_in)) as client:
        async with session_factory(engine)() as session:
            result = await compare(session, client, first, last, settled_before=now - timedelta(seconds=60))
    assert [d.as_dict() for d in result.dossiers] == [
        {"dossier_code": codes[0], "missing_in_reporting": [], "unknown_to_intake": [dropped[1]]},
        {"dossier_code": codes[1], "missing_in_reporting": [missing[1]], "unknown_to_intake": []},
    ]
    assert (result.intake_events, result.reporting_events) == (len(held) + 2, len(held))
    assert result.as_dict()["in_sync"] is False

    # The same through one pass of the job: the dossier with a missing event is asked for again, gauges set.
    rt = Runtime(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        outbox=Outbox(source="/motcua/reporting", topic_prefix="t"),
        pseudonymizer=settings.pseudonymizer(),
        clock=FrozenClock(now),
    )
    before = REGISTRY.get_sample_value("motcua_drift_republished_total", {"producer": "intake"}) or 0.0
    passed = await check_and_repair(rt, settings, first, last, transport=httpx.MockTransport(stand_in))
    assert stand_in.republished == [{"keys": [codes[1]], "names": list(INTAKE_EVENTS)}]
    assert passed.republished == 1
    assert REGISTRY.get_sample_value("motcua_drift_republished_total", {"producer": "intake"}) == before + 1
    assert (_gauge("missing"), _gauge("unknown"), _gauge("dossiers")) == (1, 1, 2)

    # Once intake's list and the ledger agree, nothing is asked for and the gauges fall to 0.
    agreeing = StandIn(held)
    agreed = await check_and_repair(rt, settings, first, last, transport=httpx.MockTransport(agreeing))
    assert agreed.as_dict()["in_sync"] is True and agreeing.republished == []
    assert (_gauge("missing"), _gauge("unknown"), _gauge("dossiers")) == (0, 0, 0)
