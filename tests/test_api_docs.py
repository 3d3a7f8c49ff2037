"""Every service serves its API docs offline: the shared factory's pages, on each service's own app."""

from __future__ import annotations

import importlib
import re

import httpx
import pytest

SERVICES = ["catalogue", "intake", "digitisation", "payments", "reporting"]
ABSOLUTE = re.compile(r"""(?:src|href|spec-url)="(?!/[^/])|://""")


@pytest.mark.asyncio
@pytest.mark.parametrize("service", SERVICES)
async def test_docs_and_redoc_load_only_from_the_service(service: str) -> None:
    app = importlib.import_module(f"services.{service}.app").create_app()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        for page in ("/docs", "/redoc"):
            response = await client.get(page)
            assert response.status_code == 200, page
            assert ABSOLUTE.search(response.text) is None, page
            assert app.title in response.text
        assert (await client.get("/docs-assets/redoc.standalone.js")).status_code == 200
