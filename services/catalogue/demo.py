"""Load the sample catalogue (``python -m services.catalogue.demo``; ``make run`` does it once).

SAMPLE DATA, not a province's legal catalogue: 48 real procedures from the national portal (procedures-sample.json)
with every gap filled by a sample value listed in the procedure's ``sample_values``, invented provincial decisions,
and the invented agencies of the sample province "Tỉnh Mẫu" (H56). Some procedures have a history: an online
service added by the 2022 decision, a district-level procedure moved to the commune on 1 July 2025.

Everything goes through the same use cases as the API, in one transaction, into the outbox: the running service's
relay then publishes the events, and intake and reporting fill their replicas from them.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.db import create_engine, session_factory, transaction
from libs.common.messaging.outbox import Outbox
from services.catalogue import repository, service
from services.catalogue import schemas as s
from services.catalogue.config import get_settings
from services.catalogue.imports import ANNOTATIONS

DATA = Path(__file__).parent / "demo_data"


def demo_procedures() -> list[dict[str, Any]]:
    procedures: list[dict[str, Any]] = json.loads((DATA / "procedures.json").read_text("utf-8"))["procedures"]
    return procedures


def demo_agencies() -> list[dict[str, Any]]:
    agencies: list[dict[str, Any]] = json.loads((DATA / "agencies.json").read_text("utf-8"))["agencies"]
    return agencies


def _content(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in ANNOTATIONS}


async def load_demo(session: AsyncSession, outbox: Outbox) -> bool:
    """Publish the sample procedures (with their amendments) and agencies; False if they are already there."""
    procedures = demo_procedures()
    if await repository.get_procedure(session, procedures[0]["code"]) is not None:
        return False
    ctx = service.Context.of(session, outbox, outbox.clock)
    for item in procedures:
        content = _content(item)
        await service.publish(ctx, s.ProcedureCreate.model_validate(content))
        for amendment in item.get("amendments", []):
            content = {**content, **amendment["changes"], "decision": amendment["decision"]}
            body = {k: v for k, v in content.items() if k != "code"}
            await service.amend(ctx, item["code"], s.ProcedureAmendment.model_validate(body))
    for agency in demo_agencies():  # parents come before their children in the file
        body = {k: v for k, v in agency.items() if k != "code"}
        await service.put_agency(ctx, agency["code"], s.AgencyIn.model_validate(body))
    return True


async def main() -> None:
    settings = get_settings()
    engine = create_engine(settings.database_url)
    try:
        async with transaction(session_factory(engine)) as session:
            loaded = await load_demo(session, Outbox(source="/motcua/catalogue", topic_prefix=settings.topic_prefix))
    finally:
        await engine.dispose()
    if loaded:
        print(f"catalogue: loaded {len(demo_procedures())} sample procedures and {len(demo_agencies())} agencies")
    else:
        print("catalogue: sample data already loaded")


if __name__ == "__main__":
    asyncio.run(main())
