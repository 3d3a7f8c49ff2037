"""API tests of procedures: publication by decision, the process rule, amendments as versions, withdrawal (410
after, readable before), the events that carry the whole procedure, and search (diacritic-insensitive on SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import date
from typing import Any

import httpx
import pytest

from libs.common.contract import ProcedureSnapshot
from libs.common.testing import AUTH
from services.catalogue.tests.support import OPS, assert_problem, content, decision, events, procedure, publish

pytestmark = pytest.mark.asyncio


class TestPublish:
    async def test_publishes_version_1_with_its_event(self, client: httpx.AsyncClient, catalogue_url: str) -> None:
        body = await publish(client)
        assert body["version"] == 1 and body["in_force_from"] == "2026-01-01" and body["in_force_until"] is None
        assert body["decision"]["number"] == "1234/QĐ-UBND"
        [(kind, data)] = await events(catalogue_url)
        assert kind == "procedure.published" and data["code"] == "1.001193"
        snapshot = ProcedureSnapshot.model_validate(data["procedure"])  # the whole procedure, as the contract says
        assert snapshot.components[1].reusable_from_warehouse and snapshot.results[0].type_code == "KQ001193"
        assert snapshot.fees[0].amount_vnd == 8000 and snapshot.online_level == "full" and snapshot.public
        assert len(snapshot.process) == 3

    async def test_publishes_the_decision_766_transparency_facts(
        self, client: httpx.AsyncClient, catalogue_url: str
    ) -> None:
        # Signed Fri 24 Apr 2026, effective Wed 1 Jul 2026, public in the national database Wed 6 May. Hand-worked in
        # test_domain.TestTransparency: publication due by Wed 3 Jun (20 working days before 1 Jul), national
        # database due by Wed 6 May (5 working days after 24 Apr across the Hùng Kings and 30 Apr / 1 May days off).
        body = await publish(
            client,
            decision=decision("2026-07-01", signed_on="2026-04-24"),
            public_in_national_db_on="2026-05-06",
            results=[],
        )
        assert body["public_in_national_db_on"] == "2026-05-06"
        [(_, data)] = await events(catalogue_url)
        snapshot = ProcedureSnapshot.model_validate(data["procedure"])
        assert snapshot.publication_due_on == date(2026, 6, 3) and snapshot.national_db_due_on == date(2026, 5, 6)
        # No result document: six of the seven components.
        assert snapshot.components_complete is False and snapshot.missing_components == ["result"]
        on = {"on": "2026-07-01"}
        served = {i["indicator"]: i for i in (await client.get("/indicators", params=on)).json()["indicators"]}
        published_on_time = served["published_on_time_rate"]
        assert (published_on_time["numerator"], published_on_time["denominator"]) == (1, 1)
        assert served["national_db_on_time_rate"]["value"] == 100.0
        assert served["components_complete_rate"]["value"] == 0.0

    async def test_process_over_the_legal_limit_is_rejected_naming_the_step(
        self, client: httpx.AsyncClient, catalogue_url: str
    ) -> None:
        steps = procedure()["process"]
        steps[1] = {**steps[1], "allowance_hours": 16}  # 4 + 16 + 8 = 28 h > 3 working days (24 h)
        response = await client.post("/procedures", json=procedure(process=steps), headers=OPS)
        problem = assert_problem(response, 422, "procedure_invalid")
        [error] = problem["errors"]
        assert error["field"] == "process.2.allowance_hours"
        assert "step 3 (Chủ tịch UBND xã: Ký, trả kết quả)" in error["msg"] and "step 3" in problem["detail"]
        assert await events(catalogue_url) == []

    async def test_same_day_and_working_hour_limits(self, client: httpx.AsyncClient) -> None:
        same_day = procedure(
            code="2.000815",
            time_limit={"amount": 0, "unit": "same_day"},
            process=[{"order": 1, "actor": "Bộ phận một cửa", "action": "Chứng thực", "allowance_hours": 8}],
        )
        assert (await client.post("/procedures", json=same_day, headers=OPS)).status_code == 201
        hours = procedure(code="2.000884", time_limit={"amount": 4, "unit": "working_hours"}, process=[])
        assert (await client.post("/procedures", json=hours, headers=OPS)).status_code == 201

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"code": "1.01193"}, "code"),
            ({"sector": {"code": "HT01", "name": "Hộ tịch"}}, "sector.code"),
            ({"levels": ["ward"]}, "levels.0"),
            ({"levels": []}, "levels"),
            ({"agency_codes": ["17.22.H56"]}, "agency_codes.0"),
            ({"fees": [{"name": "Lệ phí", "amount_vnd": -1}]}, "fees.0.amount_vnd"),
            ({"components": [{"code": "KQ.1", "name": "Tờ khai"}]}, "components.0.code"),
            ({"online_level": "level4"}, "online_level"),
            ({"decision": {"number": "1/QĐ", "signed_on": "2026-02-01", "effective_on": "2026-01-01"}}, "decision"),
        ],
    )
    async def test_malformed_fields_are_named(
        self, client: httpx.AsyncClient, changes: dict[str, Any], field: str
    ) -> None:
        problem = assert_problem(
            await client.post("/procedures", json=procedure(**changes), headers=OPS), 422, "validation_error"
        )
        assert field in [e["field"] for e in problem["errors"]]

    @pytest.mark.parametrize(
        ("changes", "field"),
        [
            ({"inter_agency": True}, "participating_agencies"),
            ({"participating_agencies": ["Công an cấp xã"]}, "participating_agencies"),
            ({"time_limit": {"amount": 0, "unit": "working_days"}, "process": []}, "time_limit.amount"),
            ({"components": [{"code": "GCS", "name": "A"}, {"code": "GCS", "name": "B"}]}, "components.1.code"),
        ],
    )
    async def test_catalogue_rules_are_named(
        self, client: httpx.AsyncClient, changes: dict[str, Any], field: str
    ) -> None:
        problem = assert_problem(
            await client.post("/procedures", json=procedure(**changes), headers=OPS), 422, "procedure_invalid"
        )
        assert [e["field"] for e in problem["errors"]] == [field]

    async def test_inter_agency_with_participants(self, client: httpx.AsyncClient) -> None:
        body = await publish(client, inter_agency=True, participating_agencies=["Công an cấp xã", "BHXH tỉnh"])
        assert body["inter_agency"] and body["participating_agencies"] == ["Công an cấp xã", "BHXH tỉnh"]

    async def test_a_code_is_published_once(self, client: httpx.AsyncClient) -> None:
        await publish(client)
        assert_problem(await client.post("/procedures", json=procedure(), headers=OPS), 409, "procedure_exists")

    async def test_needs_the_ops_role(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.post("/procedures", json=procedure()), 401, "unauthorized")
        assert_problem(await client.post("/procedures", json=procedure(), headers=AUTH["desk"]), 403, "forbidden")


class TestAmend:
    async def test_new_version_in_force_from_its_decision(self, client: httpx.AsyncClient, catalogue_url: str) -> None:
        await publish(client)
        response = await client.post(
            "/procedures/1.001193/amendments",
            json=content(time_limit={"amount": 5, "unit": "working_days"}, decision=decision("2026-07-01")),
            headers=OPS,
        )
        assert response.status_code == 201, response.text
        assert response.json()["version"] == 2 and response.json()["in_force_from"] == "2026-07-01"

        before = (await client.get("/procedures/1.001193", params={"at": "2026-06-30"})).json()
        after = (await client.get("/procedures/1.001193", params={"at": "2026-07-01"})).json()
        assert (before["version"], before["time_limit"]["amount"], before["in_force_until"]) == (1, 3, "2026-06-30")
        assert (after["version"], after["time_limit"]["amount"], after["latest_version"]) == (2, 5, 2)

        versions = (await client.get("/procedures/1.001193/versions")).json()
        assert [(v["version"], v["in_force_from"], v["in_force_until"]) for v in versions] == [
            (1, "2026-01-01", "2026-06-30"),
            (2, "2026-07-01", None),
        ]
        kinds = [(kind, data["procedure"]["version"]) for kind, data in await events(catalogue_url)]
        assert kinds == [("procedure.published", 1), ("procedure.amended", 2)]
        assert (await client.get("/procedures/1.001193/versions/1")).json()["time_limit"]["amount"] == 3
        # found by schemathesis: a version past any column was a 500 on SQLite
        too_big = await client.get(f"/procedures/1.001193/versions/{10**20}")
        assert (too_big.status_code, too_big.headers["content-type"]) == (422, "application/problem+json")

    async def test_must_take_effect_after_the_latest_version(self, client: httpx.AsyncClient) -> None:
        await publish(client)
        response = await client.post(
            "/procedures/1.001193/amendments", json=content(decision=decision("2026-01-01")), headers=OPS
        )
        problem = assert_problem(response, 422, "procedure_invalid")
        assert problem["errors"][0]["field"] == "decision.effective_on"

    async def test_the_process_rule_applies_to_amendments(self, client: httpx.AsyncClient) -> None:
        await publish(client)
        response = await client.post(
            "/procedures/1.001193/amendments",
            json=content(time_limit={"amount": 2, "unit": "working_days"}, decision=decision("2026-07-01")),
            headers=OPS,
        )
        problem = assert_problem(response, 422, "procedure_invalid")
        assert problem["errors"][0]["field"] == "process.2.allowance_hours"

    async def test_unknown_procedure(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/procedures/1.000001/amendments", json=content(decision=decision("2026-07-01")), headers=OPS
        )
        assert_problem(response, 404, "procedure_not_found")


class TestWithdraw:
    async def withdraw(self, client: httpx.AsyncClient, effective_on: str = "2026-09-01") -> httpx.Response:
        signed_on = min(effective_on, "2026-08-20")
        return await client.post(
            "/procedures/1.001193/withdrawal",
            json={"decision": decision(effective_on, "555/QĐ-UBND", signed_on)},
            headers=OPS,
        )

    async def test_gone_from_its_effective_date_readable_before(
        self, client: httpx.AsyncClient, catalogue_url: str
    ) -> None:
        await publish(client)
        response = await self.withdraw(client)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "code": "1.001193",
            "version": 1,
            "withdrawn_on": "2026-09-01",
            "decision": {"number": "555/QĐ-UBND", "signed_on": "2026-08-20", "effective_on": "2026-09-01"},
        }
        gone = assert_problem(
            await client.get("/procedures/1.001193", params={"at": "2026-09-01"}), 410, "procedure_withdrawn"
        )
        assert gone["withdrawn_on"] == "2026-09-01" and "555/QĐ-UBND" in gone["detail"]
        earlier = await client.get("/procedures/1.001193", params={"at": "2026-08-31"})
        assert earlier.status_code == 200
        assert earlier.json()["in_force_until"] == "2026-08-31" and earlier.json()["withdrawn_on"] == "2026-09-01"
        assert earlier.json()["withdrawal"]["number"] == "555/QĐ-UBND"

        kind, data = (await events(catalogue_url))[-1]
        # intake's replica: not in force when local_day > in_force_until, i.e. from 1 September on
        assert kind == "procedure.withdrawn" and data["withdrawn_on"] == "2026-09-01"
        assert data["procedure"]["version"] == 1 and data["procedure"]["in_force_until"] == "2026-08-31"
        assert data["procedure"]["name"] == "Đăng ký khai sinh" and data["procedure"]["components"]

    async def test_no_decision_after_withdrawal(self, client: httpx.AsyncClient) -> None:
        await publish(client)
        await self.withdraw(client)
        assert_problem(await self.withdraw(client, "2026-10-01"), 409, "procedure_already_withdrawn")
        response = await client.post(
            "/procedures/1.001193/amendments", json=content(decision=decision("2026-10-01")), headers=OPS
        )
        assert_problem(response, 409, "procedure_already_withdrawn")

    async def test_withdrawal_takes_effect_after_the_latest_version(self, client: httpx.AsyncClient) -> None:
        await publish(client)
        problem = assert_problem(await self.withdraw(client, "2026-01-01"), 422, "procedure_invalid")
        assert problem["errors"][0]["field"] == "decision.effective_on"


class TestGet:
    async def test_unknown_and_not_yet_in_force(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/procedures/9.999999"), 404, "procedure_not_found")
        await publish(client)
        problem = assert_problem(
            await client.get("/procedures/1.001193", params={"at": "2025-12-31"}), 404, "procedure_not_in_force"
        )
        assert problem["in_force_from"] == "2026-01-01"

    async def test_default_is_today(self, client: httpx.AsyncClient) -> None:
        await publish(client)
        assert (await client.get("/procedures/1.001193")).json()["version"] == 1


async def seed_search(client: httpx.AsyncClient) -> None:
    await publish(client)
    await publish(
        client,
        code="1.000894",
        name="Thủ tục đăng ký kết hôn",
        online_level="partial",
        fees=[],
        certification=False,
        postal_allowed=False,
    )
    await publish(
        client,
        code="2.000815",
        name="Chứng thực bản sao từ bản chính giấy tờ, văn bản",
        sector={"code": "H56-CT01", "name": "Chứng thực"},
        levels=["district", "commune"],
        agency_codes=["000.01.21.H56"],
        time_limit={"amount": 0, "unit": "same_day"},
        process=[],
        certification=True,
        online_level="none",
        fees=[{"name": "Phí chứng thực", "amount_vnd": 2000, "kind": "fee"}],
    )
    await publish(
        client,
        code="1.012787",
        name="Đăng ký, cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
        sector={"code": "H56-DD01", "name": "Đất đai"},
        levels=["province"],
        time_limit={"amount": 18, "unit": "working_days"},
        online_level="partial",
        public=False,
        decision=decision("2026-03-01"),
    )


def codes_of(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["code"] for item in response.json()["items"]]


class TestSearch:
    @pytest.mark.parametrize(
        "q",
        ["dang ky khai sinh", "ĐĂNG KÝ KHAI SINH", "Đăng ký khai sinh", "khai sinh", "đang ky khai sinh", "1.0011"],
    )
    async def test_name_with_or_without_diacritics(self, client: httpx.AsyncClient, q: str) -> None:
        await seed_search(client)
        assert codes_of(await client.get("/procedures", params={"q": q, "at": "2026-06-01"})) == ["1.001193"]

    async def test_every_word_must_match(self, client: httpx.AsyncClient) -> None:
        await seed_search(client)
        found = codes_of(await client.get("/procedures", params={"q": "dang ky", "at": "2026-06-01"}))
        assert found == ["1.000894", "1.001193", "1.012787"]
        assert codes_of(await client.get("/procedures", params={"q": "ket hon khai sinh"})) == []
        # wildcards in the query are literal
        assert codes_of(await client.get("/procedures", params={"q": "%"})) == []

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"code": "2.000"}, ["2.000815"]),
            ({"sector": "H56-CT01"}, ["2.000815"]),
            ({"sector": "dat dai"}, ["1.012787"]),
            ({"level": "district"}, ["2.000815"]),
            ({"level": "commune"}, ["1.000894", "1.001193", "2.000815"]),
            ({"agency": "000.01.21.H56"}, ["2.000815"]),
            ({"online_level": "partial"}, ["1.000894", "1.012787"]),
            ({"has_fees": "true"}, ["1.001193", "1.012787", "2.000815"]),
            ({"has_fees": "false"}, ["1.000894"]),
            ({"fees_payable_online": "true"}, ["1.001193", "1.012787"]),
            ({"certification": "true"}, ["2.000815"]),
            ({"postal_allowed": "false", "online_level": "partial"}, ["1.000894"]),
            ({"public": "false"}, ["1.012787"]),
        ],
    )
    async def test_filters(self, client: httpx.AsyncClient, params: dict[str, str], expected: list[str]) -> None:
        await seed_search(client)
        assert codes_of(await client.get("/procedures", params={**params, "at": "2026-06-01"})) == expected

    async def test_in_force_on_a_day_and_withdrawn(self, client: httpx.AsyncClient) -> None:
        await seed_search(client)
        assert "1.012787" not in codes_of(await client.get("/procedures", params={"at": "2026-02-01"}))
        await client.post("/procedures/1.000894/withdrawal", json={"decision": decision("2026-05-01")}, headers=OPS)
        assert "1.000894" not in codes_of(await client.get("/procedures", params={"at": "2026-05-01"}))
        assert "1.000894" in codes_of(await client.get("/procedures", params={"at": "2026-04-30"}))
        withdrawn = await client.get("/procedures", params={"status": "withdrawn", "at": "2026-05-01"})
        assert codes_of(withdrawn) == ["1.000894"]
        assert len(codes_of(await client.get("/procedures", params={"status": "all", "at": "2026-01-01"}))) == 4

    async def test_pagination(self, client: httpx.AsyncClient) -> None:
        await seed_search(client)
        first = await client.get("/procedures", params={"page_size": 2, "at": "2026-06-01"})
        second = await client.get("/procedures", params={"page_size": 2, "page": 2, "at": "2026-06-01"})
        assert first.json()["total"] == 4 and second.json()["total"] == 4
        assert codes_of(first) + codes_of(second) == ["1.000894", "1.001193", "1.012787", "2.000815"]
        assert_problem(await client.get("/procedures", params={"page_size": 500}), 422, "validation_error")

    async def test_a_summary_per_procedure(self, client: httpx.AsyncClient) -> None:
        await seed_search(client)
        [item] = (await client.get("/procedures", params={"q": "chung thuc", "at": "2026-06-01"})).json()["items"]
        assert item["time_limit"] == {"amount": 0, "unit": "same_day"} and item["certification"] is True
        assert item["has_fees"] is True and item["fees_payable_online"] is False
