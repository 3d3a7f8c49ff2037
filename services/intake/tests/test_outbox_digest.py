"""``/outbox/…`` on intake: the count and digest of the dossier events it published per day and per dossier, every
event of one dossier, and the republish that hands a dossier's events back to the relay."""

from __future__ import annotations

import hashlib

import httpx
import pytest
from sqlalchemy import select, update

from libs.common.calendar import VN_TZ
from libs.common.db import create_engine
from libs.common.messaging.tables import outbox
from libs.common.testing import AUTH, assert_problem
from services.intake.tests.support import receive, send

pytestmark = pytest.mark.asyncio
OPS = AUTH["ops"]


async def _publish_all(url: str) -> dict[str, list[str]]:
    """Mark every row published, as the relay would; returns the event ids per dossier."""
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(update(outbox).values(published_at=outbox.c.created_at))
            rows = (await conn.execute(select(outbox.c.key, outbox.c.event_id, outbox.c.created_at))).all()
    finally:
        await engine.dispose()
    per_key: dict[str, list[str]] = {}
    days = set()
    for key, event_id, created_at in rows:
        per_key.setdefault(key, []).append(event_id)
        days.add(created_at.astimezone(VN_TZ).date() if created_at.tzinfo else created_at.date())
    assert len(days) == 1, "the test ran across midnight: run it again"
    per_key["__day__"] = [days.pop().isoformat()]
    return per_key


def _sha(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


async def test_digest_per_dossier_and_republish(client: httpx.AsyncClient, intake_url: str) -> None:
    first = await receive(client)
    second = await receive(client)
    assert (await send(client, first, "transfer")).status_code == 200
    published = await _publish_all(intake_url)
    day = published.pop("__day__")[0]
    assert len(published[first]) == 2 and len(published[second]) == 1

    response = await client.get("/outbox/digest", params={"day": day}, headers=OPS)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["count"] == 3
    assert body["digest"] == _sha([i for ids in published.values() for i in ids])
    assert {a["key"]: (a["count"], a["digest"]) for a in body["aggregates"]} == {
        k: (len(ids), _sha(ids)) for k, ids in published.items()
    }
    only_received = await client.get(
        "/outbox/digest", params={"day": day, "name": "intake.dossier.received"}, headers=OPS
    )
    assert only_received.json()["count"] == 2
    other_day = await client.get("/outbox/digest", params={"day": "2020-01-01"}, headers=OPS)
    assert other_day.json()["count"] == 0 and other_day.json()["aggregates"] == []

    events = (await client.get(f"/outbox/aggregates/{first}", headers=OPS)).json()["events"]
    assert [e["id"] for e in events] == published[first]
    assert [e["name"] for e in events] == ["intake.dossier.received", "intake.dossier.transferred"]
    assert all(e["published"] for e in events)

    again = await client.post("/outbox/republish", json={"keys": [first, "no-such-dossier"]}, headers=OPS)
    assert again.status_code == 200, again.text
    assert again.json() == {"republished": 2}
    events = (await client.get(f"/outbox/aggregates/{first}", headers=OPS)).json()["events"]
    assert not any(e["published"] for e in events)
    # waiting for the relay again, they are a backlog, not part of what was published
    after = (await client.get("/outbox/digest", params={"day": day}, headers=OPS)).json()
    assert [a["key"] for a in after["aggregates"]] == [second]


async def test_outbox_routes_are_for_ops_and_check_their_input(client: httpx.AsyncClient) -> None:
    assert_problem(
        await client.get("/outbox/digest", params={"day": "2026-03-02"}, headers=AUTH["desk"]), 403, "forbidden"
    )
    assert_problem(
        await client.post("/outbox/republish", json={"keys": ["x"]}, headers=AUTH["leader"]), 403, "forbidden"
    )
    bad_day = assert_problem(
        await client.get("/outbox/digest", params={"day": "2026-13-40"}, headers=OPS), 422, "validation_error"
    )
    assert "day" in str(bad_day)
    assert_problem(await client.post("/outbox/republish", json={"keys": []}, headers=OPS), 422, "validation_error")
