"""``/outbox/…``: what a service published, per aggregate and per day, and a republish (libs.common.messaging.digest).

Mounted by ``create_service_app`` on every service, so every producer serves it; ops role only.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from libs.common.app import DBSession
from libs.common.auth import Principal, Role, require
from libs.common.errors import InvalidInput, field_error
from libs.common.messaging.digest import digest_of, events_of, published_ids_of_days, republish, summarise
from libs.common.validation import BoundedDate, CleanInput

MAX_REPUBLISH_KEYS = 1000
MAX_DAYS = 400


class AggregateDigest(BaseModel):
    key: str
    count: int
    digest: str


class DayDigest(BaseModel):
    day: date
    until: date
    count: int = Field(description="Events of the day the relay has published")
    digest: str = Field(description="SHA-256 over the day's sorted event ids, one per line")
    aggregates: list[AggregateDigest]


class OutboxEvent(BaseModel):
    id: str
    name: str
    time: datetime
    published: bool


class AggregateEvents(BaseModel):
    key: str
    events: list[OutboxEvent]


class RepublishRequest(CleanInput):
    keys: list[Annotated[str, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=MAX_REPUBLISH_KEYS, description="Aggregate keys (e.g. dossier codes)"
    )
    names: list[Annotated[str, Field(min_length=1, max_length=120)]] = Field(
        default_factory=list, max_length=100, description="Only events of these names (all when empty)"
    )


class RepublishResult(BaseModel):
    republished: int = Field(description="Outbox rows handed back to the relay")


Ops = Annotated[Principal, Depends(require(Role.OPS))]
Names = Annotated[list[str], Query(alias="name", max_length=100, description="Only events of these names")]


def outbox_router() -> APIRouter:
    """``/outbox/…``: what this service published, for consumers that check they hold all of it (ops role)."""
    router = APIRouter(prefix="/outbox", tags=["operations"])

    @router.get("/digest", operation_id="outbox_digest")
    async def digest(
        session: DBSession,
        _: Ops,
        day: BoundedDate,
        until: Annotated[BoundedDate | None, Query(description="Last local day of a range (default: day)")] = None,
        names: Names = [],  # noqa: B006
    ) -> DayDigest:
        """Count and SHA-256 digest of the event ids published for each aggregate on a local day (or the days
        ``day``..``until``), for a consumer to compare with what it holds."""
        last = until or day
        if not 0 <= (last - day).days < MAX_DAYS:
            raise InvalidInput(
                f"until must be on or after day, at most {MAX_DAYS} days",
                errors=[field_error(("query", "until"), "range")],
            )
        pairs = await published_ids_of_days(session, day, last, names)
        per_key = summarise(pairs)
        return DayDigest(
            day=day,
            until=last,
            count=len(pairs),
            digest=digest_of(i for _, i in pairs),
            aggregates=[AggregateDigest(key=k, **v) for k, v in sorted(per_key.items())],
        )

    @router.get("/aggregates/{key}", operation_id="outbox_aggregate")
    async def aggregate(session: DBSession, _: Ops, key: str, names: Names = []) -> AggregateEvents:  # noqa: B006
        """Every event this service wrote about one aggregate, in the order it wrote them."""
        return AggregateEvents(key=key, events=[OutboxEvent(**e) for e in await events_of(session, key, names)])

    @router.post("/republish", operation_id="outbox_republish")
    async def republish_route(session: DBSession, _: Ops, body: RepublishRequest) -> RepublishResult:
        """Publish these aggregates' events again (consumers skip those they hold through their inbox)."""
        return RepublishResult(republished=await republish(session, body.keys, body.names))

    return router
