import pytest
from services.catalogue.tests.support import publish, OPS, events
pytestmark = pytest.mark.asyncio

async def test_smoke(client, catalogue_url):
    body = await publish(client)
    print(body)
    r = await client.get("/procedures", params={"q": "dang ky khai sinh"})
    print(r.json())
    r = await client.get("/procedures/1.001193", params={"at": "2026-02-01"})
    print(r.status_code, r.json()["version"])
    print(await events(catalogue_url))
