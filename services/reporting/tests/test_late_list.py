"""The monthly list of late agencies and officers: the rule on hand-made rows, the fold's officers, the JSON endpoint
(scoping, bad input) and the dashboard's card with its exports. Expectations are worked by hand in the comments."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from openpyxl import load_workbook

from libs.common.contract.events import DossierResolved, OfficerRef
from libs.common.testing import AUTH, assert_problem
from services.reporting.fold.facts import fold_dossier
from services.reporting.fold.ledger import LedgerEvent
from services.reporting.reports.late_list import UNKNOWN_OFFICER, MonthRow, late_list
from services.reporting.tests.conftest import Feeder
from services.reporting.tests.factory import DISTRICT_AGENCY, PROVINCE_AGENCY, Dossier, agency, envelope, vn

LEADER = AUTH["leader"]
MARCH: dict[str, Any] = {"year": 2024, "month": 3, "window": "calendar"}
HOA = OfficerRef(id="kc-hoa", display_name="Đỗ Thu Hoa", title="Chuyên viên")
LAN = OfficerRef(id="kc-lan", display_name="Phạm Thị Lan")
MINH = OfficerRef(id="kc-minh", display_name="Vũ Đức Minh")
T = datetime(2024, 3, 10, tzinfo=UTC)


class TestRule:
    def test_counts_shares_and_order(self) -> None:
        rows = [
            MonthRow("a1", "A", T, "on_time", officer_id="o1", officer_name="Hoa"),
            MonthRow("a2", "A", T, "late", officer_id="o1", officer_name="Hoa"),
            MonthRow("a3", "A", T, "early", officer_id="o2", officer_name="Lan"),
            MonthRow("a4", "A", T, "late"),  # no officer on the finishing event: unknown
            MonthRow("b1", "B", None, None, overdue_at_end=True),  # agency only
            MonthRow("b2", "B", T, "late", officer_id="o3", officer_name="Minh"),
            MonthRow("c1", "C", T, "on_time", officer_id="o4", officer_name="Nam"),  # nothing late: not listed
        ]
        listed = late_list(rows, {"A": "Sở A", "B": "UBND B"})
        # A: 2 on time, 2 late of 4 → 50 %; B: 0 on time, 1 late + 1 overdue of 2 → 100 %
        assert [
            (a["agency_code"], a["on_time"], a["late"], a["overdue"], a["late_share"]) for a in listed["agencies"]
        ] == [
            ("B", 0, 1, 1, 100.0),
            ("A", 2, 2, 0, 50.0),
        ]
        # Minh 1/1 = 100 %, Hoa 1/2 = 50 %; Lan had nothing late; the unknown row comes last whatever its share
        assert [(o["officer_name"], o["agency_name"], o["late"], o["late_share"]) for o in listed["officers"]] == [
            ("Minh", "UBND B", 1, 100.0),
            ("Hoa", "Sở A", 1, 50.0),
            (UNKNOWN_OFFICER, "Sở A", 1, 100.0),
        ]
        assert listed["officers"][-1]["officer_id"] is None and not listed["officers"][-1]["known"]

    def test_the_latest_name_of_an_officer_is_shown(self) -> None:
        rows = [
            MonthRow("a1", "A", datetime(2024, 3, 2, tzinfo=UTC), "late", officer_id="o1", officer_name="Hoa"),
            MonthRow("a2", "A", datetime(2024, 3, 9, tzinfo=UTC), "late", officer_id="o1", officer_name="Đỗ Thu Hoa"),
        ]
        [officer] = late_list(rows, {})["officers"]
        assert (officer["officer_name"], officer["late"], officer["agency_name"]) == ("Đỗ Thu Hoa", 2, "A")

    def test_nothing_late_lists_nobody(self) -> None:
        assert late_list([MonthRow("a1", "A", T, "on_time", officer_id="o1")], {}) == {"agencies": [], "officers": []}


class TestFold:
    def test_the_fact_keeps_who_received_and_who_finished(self) -> None:
        d = Dossier("000.00.15.H56-240301-0001", received_at=vn(2024, 3, 1), due_at=vn(2024, 3, 6, 17))
        d.events[0] = d.events[0].model_copy(update={"officer": LAN})
        d.add(
            DossierResolved(
                dossier_code=d.code,
                decision="approved",
                electronic_result=True,
                due_at=d.due_at,
                at=vn(2024, 3, 5),
                officer=HOA,
            )
        )
        ledger = [LedgerEvent(e.id, e.name, e.time, dict(e.data)) for e in d.envelopes()]
        fact = fold_dossier(d.code, ledger)
        assert (fact.received_by_id, fact.received_by_name) == ("kc-lan", "Phạm Thị Lan")
        assert (fact.finished_by_id, fact.finished_by_name) == ("kc-hoa", "Đỗ Thu Hoa")

    def test_events_from_before_the_field_name_nobody(self) -> None:
        d = Dossier("000.00.15.H56-240301-0002", received_at=vn(2024, 3, 1), due_at=vn(2024, 3, 6, 17))
        d.resolve(vn(2024, 3, 8))
        ledger = [LedgerEvent(e.id, e.name, e.time, dict(e.data)) for e in d.envelopes()]
        fact = fold_dossier(d.code, ledger)
        assert (fact.received_by_id, fact.finished_by_id, fact.finished_by_name, fact.outcome) == (
            None,
            None,
            None,
            "late",
        )


def _resolved(d: Dossier, at: datetime, officer: OfficerRef | None) -> Dossier:
    return d.add(
        DossierResolved(
            dossier_code=d.code, decision="approved", electronic_result=True, due_at=d.due_at, at=at, officer=officer
        )
    )


def march() -> list[Any]:
    """Calendar March 2024. Sở Tư pháp: p1 on time (Hoa), p2 late (Hoa), p3 late (Lan), p4 late (no officer);
    UBND huyện Yên Thế: d1 open and overdue at the month's end, d2 on time (Minh), d3 open but not yet due; x was
    finished late in February (another month)."""
    envs = [
        envelope(agency(PROVINCE_AGENCY, "province", name="Sở Tư pháp")),
        envelope(agency(DISTRICT_AGENCY, "district", name="UBND huyện Yên Thế")),
    ]

    def dossier(n: str, where: str, received: datetime, due: datetime) -> Dossier:
        return Dossier(f"{where}-2403{n}", agency=where, received_at=received, due_at=due)

    dossiers = [
        _resolved(dossier("01-0001", PROVINCE_AGENCY, vn(2024, 3, 1), vn(2024, 3, 6, 17)), vn(2024, 3, 5), HOA),
        _resolved(dossier("04-0001", PROVINCE_AGENCY, vn(2024, 3, 4), vn(2024, 3, 7, 17)), vn(2024, 3, 11), HOA),
        _resolved(dossier("04-0002", PROVINCE_AGENCY, vn(2024, 3, 4), vn(2024, 3, 7, 17)), vn(2024, 3, 8), LAN),
        _resolved(dossier("05-0001", PROVINCE_AGENCY, vn(2024, 3, 5), vn(2024, 3, 8, 17)), vn(2024, 3, 12), None),
        dossier("01-0002", DISTRICT_AGENCY, vn(2024, 3, 1), vn(2024, 3, 6, 17)),
        _resolved(dossier("01-0003", DISTRICT_AGENCY, vn(2024, 3, 1), vn(2024, 3, 6, 17)), vn(2024, 3, 4), MINH),
        dossier("25-0001", DISTRICT_AGENCY, vn(2024, 3, 25), vn(2024, 4, 10, 17)),
        _resolved(dossier("15-0009", PROVINCE_AGENCY, vn(2024, 2, 15), vn(2024, 2, 16, 17)), vn(2024, 2, 20), HOA),
    ]
    for d in dossiers:
        envs.extend(d.envelopes())
    return envs


@pytest.mark.asyncio
class TestLateListApi:
    async def test_the_month(self, feeder: Feeder, client: httpx.AsyncClient) -> None:
        await feeder.feed(march())
        response = await client.get("/reports/late-list", params=MARCH, headers=LEADER)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["period"]["from"] == "2024-03-01" and body["complete"] is True
        # Sở Tư pháp: 1 on time, 3 late of 4 = 75 %; Yên Thế: 1 on time, 1 overdue of 2 = 50 %
        assert [
            (a["agency_name"], a["on_time"], a["late"], a["overdue"], a["late_share"]) for a in body["agencies"]
        ] == [
            ("Sở Tư pháp", 1, 3, 0, 75.0),
            ("UBND huyện Yên Thế", 1, 0, 1, 50.0),
        ]
        # Lan 1/1, Hoa 1/2 (her February dossier is another month), the unknown one last; Minh was never late
        assert [
            (o["officer_id"], o["officer_name"], o["on_time"], o["late"], o["late_share"]) for o in body["officers"]
        ] == [
            ("kc-lan", "Phạm Thị Lan", 0, 1, 100.0),
            ("kc-hoa", "Đỗ Thu Hoa", 1, 1, 50.0),
            (None, "Không rõ", 0, 1, 100.0),
        ]

    async def test_one_agency(self, feeder: Feeder, client: httpx.AsyncClient) -> None:
        await feeder.feed(march())
        body = (
            await client.get("/reports/late-list", params={**MARCH, "agency": DISTRICT_AGENCY}, headers=LEADER)
        ).json()
        assert [a["agency_code"] for a in body["agencies"]] == [DISTRICT_AGENCY] and body["officers"] == []
        assert body["scope"] == {"agency": DISTRICT_AGENCY, "level": None}

    async def test_bad_input_is_a_problem(self, client: httpx.AsyncClient) -> None:
        for params, field in (
            ({**MARCH, "month": 13}, "month"),
            ({"year": 2024}, "month"),
            ({**MARCH, "window": "custom"}, "window"),
            ({**MARCH, "window": "lunar"}, "window"),
        ):
            response = await client.get("/reports/late-list", params=params, headers=LEADER)
            body = assert_problem(response, 422, "validation_error" if field == "month" or params["window"] == "lunar"
                                  else "period_invalid")  # fmt: skip
            assert [e["field"] for e in body["errors"]] == [field], body
        assert_problem(await client.get("/reports/late-list", params=MARCH), 401, "unauthorized")
        assert_problem(await client.get("/reports/late-list", params=MARCH, headers=AUTH["desk"]), 403, "forbidden")


@pytest.mark.asyncio
class TestDashboardCard:
    async def test_card_and_exports(self, feeder: Feeder, client: httpx.AsyncClient) -> None:
        await feeder.feed(march())
        page = (await client.get("/dashboard", params=MARCH, headers=LEADER)).text
        assert "Danh sách cơ quan, cán bộ chậm muộn — Tháng 03/2024" in page
        assert "Phạm Thị Lan" in page and "<em>Không rõ</em>" in page and "75,00 %" in page
        xlsx = await client.get("/dashboard/cards/late", params={**MARCH, "format": "xlsx"}, headers=LEADER)
        wb = load_workbook(io.BytesIO(xlsx.content))
        values = [c.value for ws in wb for r in ws.iter_rows() for c in r]
        assert "Phạm Thị Lan" in values and "Đỗ Thu Hoa" in values and "Không rõ" in values and 0.75 in values
        assert "Vũ Đức Minh" not in values
        csv_text = (await client.get("/dashboard/cards/late", params={**MARCH, "format": "csv"}, headers=LEADER)).text
        assert "Phạm Thị Lan" in csv_text and "Sở Tư pháp" in csv_text
