"""Principals, agency scopes as query conditions, and API keys configured by their digests."""

from __future__ import annotations

import json
from typing import Annotated

import pytest
from fastapi import APIRouter, Depends
from sqlalchemy import Column, MetaData, String, Table, create_engine, insert, select

from libs.common.app import create_service_app
from libs.common.auth import (
    AgencyScope,
    CurrentPrincipal,
    Principal,
    Role,
    _main,
    hash_api_key,
    parse_api_keys,
    require,
)
from libs.common.settings import ServiceSettings
from libs.common.testing import running_app

STRONG_KEY = "k3y-0f-the-n4tional-portal-ABCDEFGHIJKLMNOP"
DOSSIERS = Table(
    "dossier",
    MetaData(),
    Column("code", String, primary_key=True),
    Column("receiving_agency_code", String),
    Column("handling_agency_code", String),
)


class TestAgencyScope:
    @pytest.fixture
    def rows(self) -> list[tuple[str, str, str]]:
        return [("D1", "A", "A"), ("D2", "B", "B"), ("D3", "A", "C"), ("D4", "C", "B")]

    def _codes(self, rows: list[tuple[str, str, str]], scope: AgencyScope) -> set[str]:
        engine = create_engine("sqlite://")
        DOSSIERS.metadata.create_all(engine)
        with engine.begin() as conn:
            conn.execute(insert(DOSSIERS), [dict(zip(DOSSIERS.c.keys(), r, strict=True)) for r in rows])
            condition = scope.agency_condition(DOSSIERS.c.receiving_agency_code, DOSSIERS.c.handling_agency_code)
            return set(conn.scalars(select(DOSSIERS.c.code).where(condition)))

    def test_an_agency_sees_what_it_received_or_handles(self, rows: list[tuple[str, str, str]]) -> None:
        assert self._codes(rows, AgencyScope.of("A")) == {"D1", "D3"}
        assert self._codes(rows, AgencyScope.of("B")) == {"D2", "D4"}
        assert self._codes(rows, AgencyScope.of("A", "B")) == {"D1", "D2", "D3", "D4"}

    def test_the_province_sees_everything_and_an_empty_scope_nothing(self, rows: list[tuple[str, str, str]]) -> None:
        assert self._codes(rows, AgencyScope.province()) == {"D1", "D2", "D3", "D4"}
        assert self._codes(rows, AgencyScope()) == set()

    def test_covers_any_of_the_given_agencies(self) -> None:
        scope = AgencyScope.of("A")
        assert scope.covers("B", "A") and not scope.covers("B", None)
        assert AgencyScope.province().covers(None)

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("province-wide", AgencyScope.province()),
            (["A", "B"], AgencyScope.of("A", "B")),
            ("A", AgencyScope.of("A")),
            (["A", "province-wide"], AgencyScope.province()),
            (None, AgencyScope()),
        ],
    )
    def test_parse(self, raw: object, expected: AgencyScope) -> None:
        assert AgencyScope.parse(raw) == expected

    def test_parse_refuses_other_shapes(self) -> None:
        with pytest.raises(ValueError, match="agency scope"):
            AgencyScope.parse({"A": 1})


class TestKeyTable:
    def test_entries_are_digests_mapping_to_principals(self) -> None:
        raw = json.dumps(
            {
                hash_api_key(STRONG_KEY): {
                    "subject": "portal.national",
                    "roles": ["portal"],
                    "agencies": "province-wide",
                },
                hash_api_key("an-officer-key-abcdefghijklmnopqrstuvwxyz"): {
                    "subject": "desk.tran.thi.b",
                    "name": "Trần Thị Bình",
                    "roles": ["desk_officer"],
                    "agency_code": "000.00.01.H01",
                },
            }
        )
        table = parse_api_keys(raw, production=True)
        portal = table[hash_api_key(STRONG_KEY)]
        assert portal.client_id == "portal.national" and portal.scope.province_wide
        officer = table[hash_api_key("an-officer-key-abcdefghijklmnopqrstuvwxyz")]
        assert officer.display_name == "Trần Thị Bình"
        assert officer.scope == AgencyScope.of("000.00.01.H01") and officer.client_id is None

    def test_a_clear_key_is_refused_everywhere(self) -> None:
        with pytest.raises(ValueError, match="digests"):
            parse_api_keys(json.dumps({STRONG_KEY: {"subject": "x", "roles": []}}), production=False)

    @pytest.mark.parametrize("key", ["dev-ops", "change-me", ""])
    def test_production_refuses_demo_and_placeholder_keys(self, key: str) -> None:
        raw = json.dumps({hash_api_key(key): {"subject": "x", "roles": ["ops"]}})
        assert parse_api_keys(raw, production=False)
        with pytest.raises(ValueError, match="demo or placeholder"):
            parse_api_keys(raw, production=True)

    def test_production_settings_check_the_table_at_start(self) -> None:
        with pytest.raises(ValueError, match="digests"):
            ServiceSettings(environment="production", pseudonym_key="p" * 40, api_keys='{"tok": {"subject": "s"}}')

    def test_unknown_roles_are_refused(self) -> None:
        with pytest.raises(ValueError, match="superuser"):
            raw = {hash_api_key(STRONG_KEY): {"subject": "s", "roles": ["superuser"]}}
            parse_api_keys(json.dumps(raw), production=False)

    def test_the_new_key_command_prints_a_key_and_its_entry(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert _main(["new-key", "desk.a", "desk_officer"]) == 0
        out = capsys.readouterr().out.splitlines()
        key = out[0].rsplit(" ", 1)[1]
        entry = json.loads(out[1].split(": ", 1)[1])
        assert len(key) >= 32 and list(entry) == [hash_api_key(key)]
        assert entry[hash_api_key(key)]["roles"] == ["desk_officer"]


LOOKED_UP: list[str] = []


async def lookup(code: str) -> str:
    LOOKED_UP.append(code)
    return code


OpsOnly = Annotated[Principal, Depends(require(Role.OPS))]
Thing = Annotated[str, Depends(lookup)]


def _app(settings: ServiceSettings) -> tuple[object, list[str]]:
    LOOKED_UP.clear()
    router = APIRouter()

    @router.get("/whoami")
    async def whoami(principal: CurrentPrincipal) -> dict[str, object]:
        return principal.to_spec()

    @router.get("/things/{code}")
    async def thing(_p: OpsOnly, code: Thing) -> dict[str, str]:
        return {"code": code}

    app = create_service_app(service="t", title="t", description="t", settings=settings, routers=[router])
    return app, LOOKED_UP


@pytest.mark.asyncio
class TestCurrentPrincipal:
    def settings(self, env: str = "test") -> ServiceSettings:
        keys = {hash_api_key(STRONG_KEY): {"subject": "ops.a", "roles": ["ops"], "agencies": ["A"]}}
        return ServiceSettings(
            environment=env,
            database_url="sqlite+aiosqlite:///:memory:",
            kafka_enabled=False,
            pseudonym_key="p" * 40,
            session_secret="s" * 40,
            api_keys=json.dumps(keys),
        )

    async def test_a_configured_key_authenticates(self) -> None:
        app, _ = _app(self.settings())
        async with running_app(app) as client:  # type: ignore[arg-type]
            r = await client.get("/whoami", headers={"Authorization": f"Bearer {STRONG_KEY}"})
        assert r.status_code == 200
        assert r.json() == {"subject": "ops.a", "roles": ["ops"], "agencies": ["A"], "name": ""}

    async def test_demo_keys_work_outside_production_only(self) -> None:
        for env, status in [("test", 200), ("production", 401)]:
            app, _ = _app(self.settings(env))
            async with running_app(app) as client:  # type: ignore[arg-type]
                r = await client.get("/whoami", headers={"Authorization": "Bearer dev-desk"})
            assert r.status_code == status, env
        assert r.headers["content-type"] == "application/problem+json"

    async def test_missing_credentials_are_refused_before_anything_is_looked_up(self) -> None:
        app, looked_up = _app(self.settings())
        async with running_app(app) as client:  # type: ignore[arg-type]
            anonymous = await client.get("/things/X1")
            wrong_role = await client.get("/things/X2", headers={"Authorization": "Bearer dev-desk"})
            allowed = await client.get("/things/X3", headers={"Authorization": f"Bearer {STRONG_KEY}"})
        assert (anonymous.status_code, wrong_role.status_code, allowed.status_code) == (401, 403, 200)
        assert anonymous.json()["code"] == "unauthorized"
        assert looked_up == ["X3"]

    async def test_unknown_key_is_401(self) -> None:
        app, _ = _app(self.settings())
        async with running_app(app) as client:  # type: ignore[arg-type]
            r = await client.get("/whoami", headers={"Authorization": "Bearer " + "x" * 40})
        assert r.status_code == 401 and r.json()["detail"] == "Unknown API key"
