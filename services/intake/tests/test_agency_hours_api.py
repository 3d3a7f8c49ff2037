"""The receiving agency's calendar through the API (docs/domain.md §Working hours; docs/intake.md "Clock and
outcome"): the agency's hours arrive as ``AgencyPublished`` through the real consumer path (the runner, its inbox and
its dead letters; no broker), and receipt, pause, supplement window and apology run on them.

March 2026 has no public holiday: Mon 2, Tue 3, Wed 4, Thu 5, Fri 6, Sat 7, Sun 8, Mon 9, Tue 10, Wed 11 March. The
province's day is 07:00–11:30 and 13:30–17:00 (8 h); ``AGENCY`` (the seed's commune) has no hours of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.calendar import VN_TZ
from libs.common.contract import AgencyPublished
from libs.common.contract.envelope import Envelope
from libs.common.contract.registry import make_envelope
from libs.common.db import create_engine, session_factory
from libs.common.messaging.consumer import ConsumerRunner, Message
from libs.common.messaging.tables import dead_letter
from libs.common.testing import AUTH
from services.intake.consumers import handlers
from services.intake.models import AgencyReplica
from services.intake.tests.support import AGENCY, events_of, receive, send

pytestmark = pytest.mark.asyncio

OWN = "000.00.31.H56"  # open 07:30–11:30 and 13:00–16:30 (7.5 h)
SATURDAY = "000.00.32.H56"  # works Saturday 7 March 2026
DAY_OFF = "000.00.33.H56"  # closed Monday 9 March 2026


def vn(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant of March 2026, Hà Nội time."""
    return datetime(2026, 3, day, hour, minute, tzinfo=VN_TZ)


def agency(code: str, **hours: Any) -> AgencyPublished:
    return AgencyPublished(code=code, name="UBND xã Hòa Bình", level="commune", procedure_codes=["1.001193"], **hours)


class Feed:
    """Delivers envelopes as the broker would, through intake's consumer runner (inbox dedupe, dead letters)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.runner = ConsumerRunner(
            name="intake", engine=engine, handler=handlers, topics=[], bootstrap_servers="unused:1"
        )
        self.offset = 0

    async def deliver(self, *envelopes: Envelope) -> None:
        messages = []
        for envelope in envelopes:
            self.offset += 1
            key = envelope.subject.encode()
            messages.append(Message("catalogue.agencies", 0, self.offset, key, envelope.to_bytes()))
        await self.runner.process(messages)

    async def publish(self, event: AgencyPublished, at: datetime) -> Envelope:
        envelope = make_envelope(event, source="/motcua/catalogue", at=at)
        await self.deliver(envelope)
        return envelope


@pytest_asyncio.fixture
async def engine(intake_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(intake_url)
    yield engine
    await engine.dispose()


@pytest_asyncio.fixture
async def feed(engine: AsyncEngine) -> Feed:
    return Feed(engine)


PUBLISHED = datetime(2026, 2, 1, tzinfo=UTC)


async def times(client: httpx.AsyncClient, code: str) -> tuple[datetime, datetime]:
    body = (await client.get(f"/dossiers/{code}", headers=AUTH["handler"])).json()
    return datetime.fromisoformat(body["received_at"]), datetime.fromisoformat(body["due_at"])


class TestReceiptOnTheAgencysCalendar:
    async def test_its_own_sessions_decide_receipt_and_due_time(self, client: httpx.AsyncClient, feed: Feed) -> None:
        await feed.publish(agency(OWN, opening_sessions="07:30-11:30,13:00-16:30"), PUBLISHED)
        # Mon 2 Mar 16:45 is after its 16:30 closing: received Tue 3 Mar 07:30, and the code carries that day; three
        # working days after Tue 3: due Fri 6 Mar 07:30.
        code = await receive(client, receiving_agency_code=OWN, at=vn(2, 16, 45).isoformat())
        assert code == f"{OWN}-260303-0001"
        assert await times(client, code) == (vn(3, 7, 30), vn(6, 7, 30))
        # The province's agency is open until 17:00: received Mon 2 Mar 16:45, due Thu 5 Mar 16:45 (unchanged).
        province = await receive(client, at=vn(2, 16, 45).isoformat())
        assert province == f"{AGENCY}-260302-0001"
        assert await times(client, province) == (vn(2, 16, 45), vn(5, 16, 45))

    async def test_an_extra_saturday_is_a_working_day(self, client: httpx.AsyncClient, feed: Feed) -> None:
        await feed.publish(agency(SATURDAY, extra_working_days=[date(2026, 3, 7)]), PUBLISHED)
        # Received Thu 5 Mar 10:00: Fri 6, Sat 7, Mon 9 -> due Mon 9 Mar 10:00 (the province: Tue 10 Mar 10:00).
        code = await receive(client, receiving_agency_code=SATURDAY, at=vn(5, 10).isoformat())
        assert await times(client, code) == (vn(5, 10), vn(9, 10))
        # Received on that Saturday at 09:00: it counts from then; Mon 9, Tue 10, Wed 11 -> due Wed 11 Mar 09:00.
        saturday = await receive(client, receiving_agency_code=SATURDAY, at=vn(7, 9).isoformat())
        assert saturday == f"{SATURDAY}-260307-0001"
        assert await times(client, saturday) == (vn(7, 9), vn(11, 9))


class TestCommandsOnTheAgencysCalendar:
    async def test_a_day_off_inside_the_clock(self, client: httpx.AsyncClient, feed: Feed, intake_url: str) -> None:
        await feed.publish(agency(DAY_OFF, extra_holidays=[date(2026, 3, 9)]), PUBLISHED)
        # Received Thu 5 Mar 10:00: Fri 6, Tue 10, Wed 11 -> due Wed 11 Mar 10:00 (Mon 9 is off).
        code = await receive(client, receiving_agency_code=DAY_OFF, at=vn(5, 10).isoformat())
        assert await times(client, code) == (vn(5, 10), vn(11, 10))
        assert (await send(client, code, "transfer", at=vn(5, 11).isoformat())).status_code == 200
        # Asked on Tue 10 Mar 14:00: the three working days from receipt end Wed 11 Mar 10:00, so in time (in the
        # province they would have ended Tue 10 Mar 10:00).
        assert (await send(client, code, "request_supplement", at=vn(10, 14).isoformat())).status_code == 200
        # Supplied Wed 11 Mar 08:00: paused Tue 14:00–17:00 (3 h) + Wed 07:00–08:00 (1 h) = 4 h; Wed 10:00 + 4 h =
        # 10:00–11:30 (1.5 h) + 13:30–16:00 (2.5 h) -> due Wed 11 Mar 16:00.
        assert (await send(client, code, "receive_supplement", at=vn(11, 8).isoformat())).status_code == 200
        events = dict(await events_of(intake_url, code))
        assert events["dossier.supplement_requested"]["in_time"] is True
        supplied = events["dossier.supplement_received"]
        assert supplied["paused_seconds"] == 4 * 3600
        assert datetime.fromisoformat(supplied["due_at"]) == vn(11, 16)

    async def test_the_apology_window_counts_the_agencys_working_days(
        self, client: httpx.AsyncClient, feed: Feed, intake_url: str
    ) -> None:
        await feed.publish(agency(DAY_OFF, extra_holidays=[date(2026, 3, 9)]), PUBLISHED)
        # Received Wed 4 Mar 10:00: Thu 5, Fri 6, Tue 10 -> due Tue 10 Mar 10:00 (Mon 9 is off).
        late = await receive(client, receiving_agency_code=DAY_OFF, at=vn(4, 10).isoformat())
        early = await receive(client, receiving_agency_code=DAY_OFF, at=vn(4, 10).isoformat())
        assert await times(client, late) == (vn(4, 10), vn(10, 10))
        # Apology Fri 6 Mar 14:00: Fri 14:00–17:00 (3 h) + Mon off + Tue 07:00–10:00 (3 h) = 6 h left, less than one
        # working day: not in time (counting Mon 9 as the province does would leave 14 h).
        assert (await send(client, late, "apologise", at=vn(6, 14).isoformat())).status_code == 200
        # Apology Fri 6 Mar 08:00: 08:00–11:30 (3.5 h) + 13:30–17:00 (3.5 h) + 3 h = 10 h left: in time.
        assert (await send(client, early, "apologise", at=vn(6, 8).isoformat())).status_code == 200
        assert dict(await events_of(intake_url, late))["dossier.apologised"]["issued_in_time"] is False
        assert dict(await events_of(intake_url, early))["dossier.apologised"]["issued_in_time"] is True

    async def test_a_paper_transfer_after_three_takes_effect_at_its_opening(
        self, client: httpx.AsyncClient, feed: Feed, intake_url: str
    ) -> None:
        await feed.publish(agency(OWN, opening_sessions="07:30-11:30,13:00-16:30"), PUBLISHED)
        # Received Mon 2 Mar 09:00; paper transfer recorded 15:30: effective Tue 3 Mar 07:30 (its opening), in time
        # (before its 16:30 closing).
        code = await receive(client, receiving_agency_code=OWN, at=vn(2, 9).isoformat())
        response = await send(client, code, "transfer", mode="paper", at=vn(2, 15, 30).isoformat())
        assert response.status_code == 200, response.text
        transferred = dict(await events_of(intake_url, code))["dossier.transferred"]
        assert datetime.fromisoformat(transferred["effective_at"]) == vn(3, 7, 30)
        assert transferred["late"] is False


class TestTheReplicaKeepsTheNewestHours:
    async def test_newest_publication_wins_whatever_the_delivery_order(
        self, client: httpx.AsyncClient, feed: Feed, engine: AsyncEngine
    ) -> None:
        own = agency(OWN, opening_sessions="07:30-11:30,13:00-16:30")
        first = await feed.publish(own, PUBLISHED)
        # A newer publication drops the agency's own hours: the province's apply (16:45 is inside 13:30–17:00).
        await feed.publish(agency(OWN), PUBLISHED + timedelta(days=1))
        code = await receive(client, receiving_agency_code=OWN, at=vn(2, 16, 45).isoformat())
        assert await times(client, code) == (vn(2, 16, 45), vn(5, 16, 45))
        # The first publication redelivered (the inbox skips it) and an older one arriving late change nothing.
        await feed.deliver(first)
        await feed.publish(own, PUBLISHED - timedelta(days=1))
        again = await receive(client, receiving_agency_code=OWN, at=vn(2, 16, 50).isoformat())
        assert await times(client, again) == (vn(2, 16, 50), vn(5, 16, 50))
        # A newer one with hours again: Mon 16:55 is after its closing, received Tue 3 Mar 07:30.
        await feed.publish(own, PUBLISHED + timedelta(days=2))
        later = await receive(client, receiving_agency_code=OWN, at=vn(2, 16, 55).isoformat())
        assert await times(client, later) == (vn(3, 7, 30), vn(6, 7, 30))
        async with session_factory(engine)() as session:
            row = await session.get(AgencyReplica, OWN)
        assert row is not None
        assert row.opening_sessions == "07:30-11:30,13:00-16:30"
        assert row.published_at == PUBLISHED + timedelta(days=2)

    async def test_hours_the_calendar_cannot_use_are_dead_lettered(
        self, client: httpx.AsyncClient, feed: Feed, engine: AsyncEngine
    ) -> None:
        await feed.publish(agency(OWN, opening_sessions="07:30-11:30,13:00-16:30"), PUBLISHED)
        await feed.publish(agency(OWN, opening_sessions="7h30-11h30"), PUBLISHED + timedelta(days=1))
        async with engine.connect() as conn:
            reasons = (await conn.execute(select(dead_letter.c.error))).scalars().all()
            count = (await conn.execute(select(func.count()).select_from(dead_letter))).scalar_one()
        assert count == 1 and "ValueError" in reasons[0]
        # the agency keeps its last good hours
        code = await receive(client, receiving_agency_code=OWN, at=vn(2, 16, 45).isoformat())
        assert await times(client, code) == (vn(3, 7, 30), vn(6, 7, 30))
