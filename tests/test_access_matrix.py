"""The route × role × scope matrix (docs/access.json, published in docs/security.md) against every app's routes.

Every route of every service must have an entry, and every entry a route (a new route without one fails). Each route
is called with no credentials, with each single role (province-wide), and with a principal holding every role but
scoped to an agency no record belongs to: 401 without credentials unless public, 403 for a role the table does not
list, never 401/403 for one it lists, never a 5xx. The calls carry no body and invented ids, so an allowed call ends
in a 4xx of validation or not-found; what a scope lets through on real records is tested per service in
``services/*/tests/test_scoping_api.py``.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute

from libs.common.auth import Role
from libs.common.testing import HeldPort, api_keys, bearer, running_app, service_database

SERVICES = ["catalogue", "intake", "digitisation", "payments", "reporting"]
TABLE: dict[str, Any] = json.loads((Path(__file__).parents[1] / "docs" / "access.json").read_text())
ROLE_KEYS = {role: f"matrix-{role.value}-key-000000000000000000000" for role in Role}
OUTSIDER_KEY = "matrix-outsider-key-00000000000000000000"
KEYS = {key: {"subject": f"matrix.{role.value}", "roles": [role.value], "agencies": "province-wide"} for role, key in
        ROLE_KEYS.items()}  # fmt: skip
KEYS[OUTSIDER_KEY] = {"subject": "matrix.outsider", "roles": [r.value for r in Role], "agencies": ["999.99.99.H99"]}
PARAMS = {
    "code": "000.00.00.H56-260302-9999",
    "dossier_code": "000.00.00.H56-260302-9999",
    "document_id": "001204012345.KQ001193",
    "id_code": "001204012345",
    "payment_id": "00000000-0000-0000-0000-000000000000",
    "ticket_id": "00000000-0000-0000-0000-000000000000",
    "number": "01",
    "version": "1",
    "provider": "paygov-sandbox",
    "plan_id": "no-such-plan",
    "card": "targets",
    "key": "000.00.00.H56-260302-9999",
}
# a GET of one record by id: the outsider gets the 404 of a missing record
RECORD = re.compile(r"\{(code|dossier_code|document_id|payment_id)\}$|\{code\}/(control-sheet|fact)$")


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    def walk(routes: list[Any]) -> Iterator[APIRoute]:
        for route in routes:
            if isinstance(route, APIRoute):
                yield route
            included = getattr(route, "original_router", None)
            if included is not None:
                yield from walk(included.routes)

    for route in walk(app.router.routes):
        for method in sorted((route.methods or set()) - {"HEAD"}):
            yield method, route.path


# Held, never listening, for the whole module: reporting's parity check finds intake down.
NOBODY = HeldPort()


def settings_of(service: str, url: str) -> Any:
    config = importlib.import_module(f"services.{service}.config")
    cls = getattr(config, f"{service.capitalize()}Settings")
    extra: dict[str, Any] = {}
    if service == "intake":
        extra["overdue_check_seconds"] = 0
    if service == "reporting":
        extra["intake_url"] = f"http://127.0.0.1:{NOBODY.port}"
    return cls(database_url=url, kafka_enabled=False, api_keys=api_keys(KEYS), **extra)


@pytest.mark.asyncio
@pytest.mark.parametrize("service", SERVICES)
async def test_every_route_has_an_entry_and_every_entry_a_route(service: str) -> None:
    app = importlib.import_module(f"services.{service}.app").create_app()
    routes = {f"{method} {path}" for method, path in app_routes(app)}
    table = set(TABLE[service])
    assert routes - table == set(), "routes without an entry in docs/access.json"
    assert table - routes == set(), "entries of docs/access.json without a route"


@pytest.mark.asyncio
@pytest.mark.parametrize("service", SERVICES)
async def test_each_route_answers_each_caller_as_the_table_says(service: str, tmp_path: Path) -> None:
    async with service_database(service, "sqlite", tmp_path) as url:
        app = importlib.import_module(f"services.{service}.app").create_app(settings_of(service, url))
        async with running_app(app) as client:
            failures: list[str] = []
            for method, path in app_routes(app):
                entry = TABLE[service][f"{method} {path}"]
                target = path.format(**{k: v for k, v in PARAMS.items() if "{" + k + "}" in path})
                failures.extend(await _check(client, method, target, entry, RECORD.search(path) is not None))
    assert failures == []


async def _check(client: httpx.AsyncClient, method: str, target: str, entry: dict[str, Any], record: bool) -> list[str]:
    failures: list[str] = []

    async def call(headers: dict[str, str]) -> int:
        return (await client.request(method, target, headers=headers)).status_code

    def expect(who: str, status: int, ok: bool) -> None:
        if not ok or status >= 500:
            failures.append(f"{method} {target} as {who}: {status}")

    if entry["roles"] == "signed":
        # no API key opens it: without the provider's signature it is 401 for everyone
        for headers in ({}, *(bearer(key) for key in ROLE_KEYS.values())):
            status = await call(headers)
            expect("unsigned", status, status == 401)
        return failures
    public = entry["roles"] == "public"
    anonymous = await call({})
    # a public form post without its CSRF token is refused 403 (docs/security.md, "CSRF")
    refused = (401,) if entry.get("csrf") else (401, 403)
    expect("nobody", anonymous, anonymous not in refused if public else anonymous == 401)
    if public:
        return failures
    for role, key in ROLE_KEYS.items():
        status = await call(bearer(key))
        if role.value in entry.get("own", []):
            # allowed, for its own records only: an invented record is refused (403) or not found (404), never 401
            expect(role.value, status, status != 401)
        else:
            expect(role.value, status, status not in (401, 403) if role.value in entry["roles"] else status == 403)
    if entry["scoped"]:
        status = await call(bearer(OUTSIDER_KEY))
        expect("outsider", status, status != 401 and (status == 404 if record and method == "GET" else True))
    return failures


def test_the_published_table_is_current() -> None:
    spec = importlib.util.spec_from_file_location("access_table", Path(__file__).parents[1] / "scripts/access_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    docs = (Path(__file__).parents[1] / "docs" / "security.md").read_text()
    assert module.render(TABLE) in docs, "docs/security.md: paste the output of python scripts/access_table.py"
