"""Swagger UI and ReDoc are served from installed files: every URL the pages load is same-origin and answers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI

from libs.common.app import create_service_app
from libs.common.settings import ServiceSettings

# Where the two pages name what the browser loads: tags' src/href, ReDoc's spec-url, Swagger UI's url option.
LOADED = re.compile(r"""(?:\b(?:src|href|spec-url)="([^"]*)")|(?:\burl: '([^']*)')""")


def build_app() -> FastAPI:
    settings = ServiceSettings(kafka_enabled=False)
    return create_service_app(service="docs-test", title="Docs test", description="-", settings=settings, routers=[])


@pytest_asyncio.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=build_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


def loaded_urls(html: str) -> list[str]:
    return [a or b for a, b in LOADED.findall(html)]


def assert_same_origin(html: str) -> list[str]:
    urls = loaded_urls(html)
    assert urls, "the page loads nothing?"
    for url in urls:
        assert url.startswith("/") and not url.startswith("//"), url
    assert "://" not in html, "an absolute URL in the page"
    return urls


@pytest.mark.asyncio
@pytest.mark.parametrize(("page", "expected"), [("/docs", 4), ("/redoc", 3)])
async def test_the_page_loads_only_same_origin_urls_and_each_answers(
    client: httpx.AsyncClient, page: str, expected: int
) -> None:
    response = await client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    urls = assert_same_origin(response.text)
    assert len(urls) == expected, urls  # css, favicon, script(s) and the OpenAPI document
    assert "/openapi.json" in urls
    for url in urls:
        asset = await client.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url


@pytest.mark.asyncio
async def test_swagger_ui_does_not_call_the_online_validator(client: httpx.AsyncClient) -> None:
    assert '"validatorUrl": null' in (await client.get("/docs")).text


@pytest.mark.asyncio
async def test_an_unknown_asset_is_a_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs-assets/nothing.js")).status_code == 404


@pytest.mark.asyncio
async def test_the_pages_follow_the_proxy_prefix() -> None:
    transport = httpx.ASGITransport(app=build_app(), root_path="/catalogue")
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for page in ("/docs", "/redoc"):
            urls = assert_same_origin((await client.get(f"/catalogue{page}")).text)
            assert all(url.startswith("/catalogue/") for url in urls), urls


@pytest.mark.asyncio
async def test_the_docs_are_not_operations_of_the_api(client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert not {"/docs", "/redoc"} & set(paths)
