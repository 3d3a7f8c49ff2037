"""An agency's own hours set in the catalogue reach intake through the real broker and decide a receipt there
(docs/domain.md §Working hours; docs/intake.md "Agency calendars"). PostgreSQL databases, Kafka-protocol broker.

Mon 2 March 2026 16:45 is inside the province's afternoon (13:30–17:00) but after the agency's 16:30 closing.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import httpx
import pytest

from libs.common.calendar import VN_TZ
from libs.common.testing import AUTH, eventually
from tests.integration.test_catalogue_to_intake import AGENCY, catalogue_and_intake, dossier

pytestmark = [pytest.mark.asyncio, pytest.mark.integration]


async def test_the_agencys_hours_published_in_the_catalogue_decide_the_receipt_in_intake(
    broker: str, topic_prefix: str, tmp_path: Path
) -> None:
    async with catalogue_and_intake(broker, topic_prefix, tmp_path) as (catalogue, intake):
        ops = AUTH["ops"]
        agency = {
            "name": "UBND xã Tân Lập",
            "level": "commune",
            "procedure_codes": ["1.001193"],
            "opening_sessions": "07:30-11:30,13:00-16:30",
        }
        response = await catalogue.put(f"/agencies/{AGENCY}", json=agency, headers=ops)
        assert response.status_code == 200, response.text

        async def received_on_the_agencys_calendar() -> httpx.Response | None:
            response = await intake.post("/dossiers", json=dossier("2026-03-02T16:45:00+07:00"), headers=AUTH["desk"])
            if response.status_code != 201:
                return None  # the procedure is not replicated yet
            if datetime.fromisoformat(response.json()["received_at"]) != datetime(2026, 3, 3, 7, 30, tzinfo=VN_TZ):
                return None  # received on the province's calendar: the agency's hours are not replicated yet
            return response

        # After its closing: received at its next opening, Tue 3 Mar 07:30; three working days after Tue 3:
        # due Fri 6 Mar 07:30. The code carries the day of receipt.
        body = (await eventually(received_on_the_agencys_calendar, timeout=30, what="the agency's hours")).json()
        assert datetime.fromisoformat(body["due_at"]) == datetime(2026, 3, 6, 7, 30, tzinfo=VN_TZ)
        assert body["code"].startswith(f"{AGENCY}-260303-")
