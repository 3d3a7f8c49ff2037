"""Closing a period: the snapshot does not move when a late event arrives, the restatement lists exactly the
figures that would change and the dossier behind them, and a leader's approval makes version 2."""

from __future__ import annotations

import httpx
import pytest

from libs.common.testing import AUTH, assert_problem
from services.reporting.reports.closing import Change, restatement
from services.reporting.tests.conftest import Feeder
from services.reporting.tests.factory import PROVINCE_AGENCY, Dossier, agency, envelope, procedure, vn

Q1 = {"year": 2024, "quarter": 1}  # official window 15/12/2023 – 14/03/2024
OPS, LEADER = AUTH["ops"], AUTH["leader"]


def _on_time(report: dict) -> tuple:  # type: ignore[type-arg]
    item = next(i for i in report["indicators"] if i["indicator"] == "on_time_rate")
    return item["numerator"], item["denominator"], item["value"]


class TestRestatementIsPure:
    def test_lists_every_changed_figure(self) -> None:
        before = {"province": {"on_time_rate": {"numerator": 2, "denominator": 2, "value": 100.0}}}
        after = {"province": {"on_time_rate": {"numerator": 2, "denominator": 3, "value": 66.67}}}
        assert restatement(before, after) == [
            Change("province", "on_time_rate", "denominator", 2, 3),
            Change("province", "on_time_rate", "value", 100.0, 66.67),
        ]
        assert restatement(before, before) == []


@pytest.mark.asyncio
class TestClosingAPeriod:
    async def test_a_late_event_restates_without_moving_the_snapshot(
        self, client: httpx.AsyncClient, feeder: Feeder
    ) -> None:
        first = Dossier("000.00.15.H56-240108-0001", received_at=vn(2024, 1, 8), due_at=vn(2024, 1, 11))
        second = Dossier("000.00.15.H56-240109-0001", received_at=vn(2024, 1, 9), due_at=vn(2024, 1, 12))
        first.resolve(vn(2024, 1, 10))
        second.resolve(vn(2024, 1, 12, 8))
        setup = [agency(PROVINCE_AGENCY, "province"), procedure("1.001193")]
        await feeder.feed([envelope(p) for p in [*setup, *first.events, *second.events]])

        closed = await client.post("/reports/periods/close", params=Q1, headers=OPS, json={"note": "quý I"})
        assert closed.status_code == 201, closed.text
        assert closed.json()["version"] == 1
        assert closed.json()["figures"]["province"]["on_time_rate"]["value"] == 100.0
        assert_problem(await client.post("/reports/periods/close", params=Q1, headers=OPS), 409, "period_closed")
        assert (await client.get("/reports/periods/restatement", params=Q1, headers=LEADER)).json()["changes"] == []

        # A paper dossier of January, finished late, keyed in only now.
        late = Dossier("000.00.15.H56-240110-0001", received_at=vn(2024, 1, 10), due_at=vn(2024, 1, 15))
        late.resolve(vn(2024, 1, 19))
        await feeder.feed([envelope(p) for p in late.events])

        shown = (await client.get("/reports/indicators", params=Q1, headers=LEADER)).json()
        assert _on_time(shown) == (2, 2, 100.0)
        assert shown["figures"] == {
            "source": "snapshot",
            "closed": True,
            "version": 1,
            "closed_at": shown["figures"]["closed_at"],
        }
        live = (await client.get("/reports/indicators", params={**Q1, "live": "true"}, headers=LEADER)).json()
        assert _on_time(live) == (2, 3, 66.67) and live["figures"]["source"] == "live"

        pending = (await client.get("/reports/periods/restatement", params=Q1, headers=LEADER)).json()
        on_time = {
            (c["unit"], c["field"]): (c["before"], c["after"])
            for c in pending["changes"]
            if c["indicator"] == "on_time_rate"
        }
        assert on_time == {
            ("province", "denominator"): (2, 3),
            ("province", "value"): (100.0, 66.67),
            (PROVINCE_AGENCY, "denominator"): (2, 3),
            (PROVINCE_AGENCY, "value"): (100.0, 66.67),
        }
        assert pending["dossiers"] == [late.code]
        assert pending["snapshot"]["version"] == 1

        assert_problem(
            await client.post("/reports/periods/restatement/approve", params=Q1, headers=OPS), 403, "forbidden"
        )
        approved = await client.post("/reports/periods/restatement/approve", params=Q1, headers=LEADER)
        assert approved.status_code == 201 and approved.json()["version"] == 2
        shown = (await client.get("/reports/indicators", params=Q1, headers=LEADER)).json()
        assert _on_time(shown) == (2, 3, 66.67) and shown["figures"]["version"] == 2
        listed = (await client.get("/reports/periods/closed", headers=LEADER)).json()
        assert [(p["period_key"], p["version"]) for p in listed] == [("official:quarter:2024:1", 2)]

    async def test_an_open_period_has_no_restatement(self, client: httpx.AsyncClient) -> None:
        assert_problem(
            await client.get("/reports/periods/restatement", params=Q1, headers=LEADER), 409, "period_not_closed"
        )
        report = (await client.get("/reports/indicators", params=Q1, headers=LEADER)).json()
        assert report["figures"]["source"] == "live" and report["figures"]["closed"] is False
