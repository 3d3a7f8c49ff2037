"""What a dossier sent outside and what was answered (staff), and the citizen's opt-out from notices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from libs.common.auth import Role
from libs.common.delivery import Deliveries
from libs.common.delivery.store import payload_of
from services.intake.context import STAFF, Ctx, allow
from services.intake.dossiers.reads import ValidDossier
from services.intake.integrations.consent import opt_out
from services.intake.integrations.notices import TARGETS
from services.intake.integrations.portal import PORTAL_TARGET

router = APIRouter(tags=["deliveries"])
NOTICE_CHANNELS = {target: channel.value for channel, target in TARGETS.items()}


class AttemptRead(BaseModel):
    at: datetime
    outcome: str = Field(description="delivered, retry or permanent")
    reason: str = Field(description="ok, timeout, http_503, portal_02, sms_02 …")
    status_code: int | None
    response: str | None = Field(description="the far end's answer, as received (cut at 4000 characters)")


class DeliveryRead(BaseModel):
    id: int
    target: str
    kind: str = Field(description="DongBoHoSoMC, CapNhatTienDoHoSoMC, or the notice kind")
    channel: str | None = Field(description="sms, zalo or email for a notice")
    status: str = Field(description="pending, delivered, dead (waits for an operator) or discarded")
    created_at: datetime
    not_before: datetime = Field(description="not sent before (quiet hours)")
    delivered_at: datetime | None
    attempts: list[AttemptRead]
    payload: dict[str, Any] = Field(description="what was (or will be) sent")


class DeliveriesRead(BaseModel):
    dossier_code: str
    portal: list[DeliveryRead]
    notices: list[DeliveryRead]


class NoticeConsentRead(BaseModel):
    dossier_code: str
    channels: list[str]
    opted_out_at: datetime | None


async def _read(ctx: Ctx, deliveries: Deliveries, row: Any) -> DeliveryRead:
    payload = payload_of(row)
    notice = row.target in NOTICE_CHANNELS
    return DeliveryRead(
        id=row.id,
        target=row.target,
        kind=row.idempotency_key.split(":")[1] if notice else str(payload.get("service", "")),
        channel=NOTICE_CHANNELS.get(row.target),
        status=row.status,
        created_at=row.created_at,
        not_before=row.not_before,
        delivered_at=row.delivered_at,
        attempts=[
            AttemptRead(
                at=a.attempted_at, outcome=a.outcome, reason=a.reason, status_code=a.status_code, response=a.response
            )
            for a in await deliveries.attempts(ctx.session, row.id)
        ],
        payload=payload,
    )


@router.get("/dossiers/{code}/deliveries", operation_id="list_dossier_deliveries", dependencies=[allow(*STAFF)])
async def list_dossier_deliveries(dossier: ValidDossier, ctx: Ctx) -> DeliveriesRead:
    """What was sent about this dossier to the national portal (records and progress steps, in order) and to the
    citizen (notices), each with its status and every attempt with the far end's answer. 404 for an unknown code."""
    deliveries = Deliveries()
    portal = await deliveries.find(ctx.session, target=PORTAL_TARGET, ordering_key=dossier.code, limit=1000)
    notices = [
        row
        for row in await deliveries.find(ctx.session, key_prefix=f"{dossier.code}:", limit=1000)
        if row.target in NOTICE_CHANNELS
    ]
    return DeliveriesRead(
        dossier_code=dossier.code,
        portal=[await _read(ctx, deliveries, r) for r in portal],
        notices=[await _read(ctx, deliveries, r) for r in notices],
    )


@router.post(
    "/dossiers/{code}/notices/opt-out",
    operation_id="opt_out_of_notices",
    dependencies=[allow(Role.DESK_OFFICER, Role.PORTAL)],
)
async def opt_out_of_notices(dossier: ValidDossier, ctx: Ctx) -> NoticeConsentRead:
    """The citizen no longer wants notices about this dossier: none is enqueued from now on, on any channel.
    Repeating it changes nothing. 404 for an unknown code."""
    row = await opt_out(ctx.session, dossier.code, ctx.now)
    if row is None:
        return NoticeConsentRead(dossier_code=dossier.code, channels=[], opted_out_at=None)
    channels = [name for name, chosen in (("sms", row.sms), ("zalo", row.zalo), ("email", row.by_email)) if chosen]
    return NoticeConsentRead(dossier_code=dossier.code, channels=channels, opted_out_at=row.opted_out_at)
