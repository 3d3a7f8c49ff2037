"""Intake's outbound deliveries, enqueued in the transaction of the change that causes them (docs/integrations.md).

The receipt and each lifecycle command call :func:`after_receipt` / :func:`after_step` with the id of the event they
appended: the national portal gets the dossier's record (``DongBoHoSoMC``) when it changes and one progress step
(``CapNhatTienDoHoSoMC``) per step, and the citizen the notices they chose. Nothing is enqueued for an integration
that is off, so with the default settings these are no-ops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract import DossierSyncedToPortal, DossierSyncToPortalFailed
from libs.common.delivery import Deliveries, OutcomeKind, Settled
from libs.common.delivery.worker import OnSettled
from libs.common.logging import get_logger
from libs.common.messaging.outbox import Outbox
from services.intake.domain.lifecycle import Command
from services.intake.integrations.notices import (
    NoticeChannel,
    NoticeConsent,
    NoticeKind,
    NoticeTemplates,
    QuietHours,
    notice_delivery,
    parse_quiet_hours,
)
from services.intake.integrations.portal import (
    DossierSnapshot,
    FeeLine,
    PortalCodes,
    ProgressStep,
    ResultDocument,
    SubmittedDocument,
    SupplementRequest,
    sync_dossier,
    sync_progress,
)
from services.intake.integrations.settings import IntegrationSettings
from services.intake.models import AgencyReplica, Dossier
from services.intake.models import NoticeConsent as ConsentRow

log = get_logger(__name__)

# Commands that change what the portal's record of the dossier says (status, dates, supplements, results).
RECORD_CHANGES = frozenset(
    {
        Command.REQUEST_SUPPLEMENT,
        Command.RECEIVE_SUPPLEMENT,
        Command.REFUSE,
        Command.WITHDRAW,
        Command.STOP,
        Command.RESOLVE,
        Command.RETURN,
        Command.APOLOGISE,
    }
)
# Each processing step and what the portal's progress line says was done. Rating and the internal explanation of a
# delay are not processing steps.
STEP_ACTIONS: Mapping[Command, str] = {
    Command.TRANSFER: "Chuyển xử lý hồ sơ",
    Command.REQUEST_SUPPLEMENT: "Yêu cầu bổ sung hồ sơ",
    Command.RECEIVE_SUPPLEMENT: "Tiếp nhận hồ sơ bổ sung",
    Command.REFUSE: "Từ chối tiếp nhận, giải quyết hồ sơ",
    Command.WITHDRAW: "Công dân rút hồ sơ",
    Command.STOP: "Dừng xử lý hồ sơ",
    Command.RESOLVE: "Có kết quả giải quyết",
    Command.RETURN: "Trả kết quả cho công dân",
    Command.APOLOGISE: "Xin lỗi và hẹn lại ngày trả kết quả",
}
RESULT_NAME = "Kết quả giải quyết thủ tục hành chính"
FEES_NAME = "Phí, lệ phí"


@dataclass(frozen=True)
class Outbound:
    """What the use cases need to enqueue deliveries; built once in the lifespan (None when everything is off)."""

    portal: bool
    channels: frozenset[NoticeChannel]  # the notice channels switched on
    codes: PortalCodes
    templates: NoticeTemplates
    quiet_hours: QuietHours
    lookup_url: str
    zalo_template_ids: Mapping[str, str]
    deliveries: Deliveries

    @classmethod
    def from_settings(cls, settings: IntegrationSettings, deliveries: Deliveries | None = None) -> Outbound | None:
        channels = frozenset(
            channel
            for channel, enabled in (
                (NoticeChannel.SMS, settings.sms_enabled),
                (NoticeChannel.ZALO, settings.zalo_enabled),
                (NoticeChannel.EMAIL, settings.email_enabled),
            )
            if enabled
        )
        if not settings.portal_enabled and not channels:
            return None
        templates = NoticeTemplates(settings.notice_templates_dir)
        templates.check()  # a broken override stops the service here, not at a citizen's receipt
        return cls(
            portal=settings.portal_enabled,
            channels=channels,
            codes=PortalCodes.load(settings.portal_codes_path),
            templates=templates,
            quiet_hours=parse_quiet_hours(settings.notice_quiet_hours),
            lookup_url=settings.notice_lookup_url,
            zalo_template_ids=dict(settings.zalo_template_ids),
            deliveries=deliveries or Deliveries(),
        )


def snapshot(dossier: Dossier) -> DossierSnapshot:
    """The dossier as the portal sees it, from intake's own row. Intake does not consume digitisation's and payments'
    events yet: ``DuocSoHoa`` is what the desk recorded at receipt, the fees are the amount due, not paid online."""
    details = dossier.details
    sector = details.get("sector") or {}
    finished = dossier.finished_at if dossier.decision is not None else None
    return DossierSnapshot(
        code=dossier.code,
        procedure_code=dossier.procedure_code,
        procedure_name=dossier.procedure_name,
        sector_code=str(sector.get("code", "")),
        sector_name=sector.get("name"),
        applicant_name=dossier.applicant_name,
        applicant_kind=dossier.applicant_kind,
        applicant_id_number=dossier.applicant_id_code,
        received_at=dossier.received_at,
        due_at=dossier.apology_due_at or dossier.due_at,
        status=dossier.status,
        channel=dossier.channel,
        returned_at=dossier.returned_at,
        resolved_at=finished,
        documents=tuple(
            SubmittedDocument(component_code=c["code"], digitised=bool(c.get("digitised")))
            for c in details.get("components", [])
        ),
        fees=(FeeLine(name=FEES_NAME, amount=dossier.fees_due_vnd),) if dossier.fees_due_vnd > 0 else (),
        supplements=tuple(
            SupplementRequest(
                requested_at=datetime.fromisoformat(s["at"]), what="; ".join(s.get("items", [])) or s.get("reason", "")
            )
            for s in details.get("supplements", [])
        ),
        results=tuple(ResultDocument(name=RESULT_NAME, number=ref) for ref in details.get("result_refs", [])),
        vneid_verified=dossier.identified_by_vneid,
    )


def _progress(dossier: Dossier, command: Command, actor: str, at: datetime) -> ProgressStep:
    return ProgressStep(
        dossier_code=dossier.code,
        handler_name=actor,
        handled_at=at,
        department=dossier.current_agency_code,
        action=STEP_ACTIONS[command],
        status=dossier.status,
        started_at=dossier.received_at,
        due_at=dossier.apology_due_at or dossier.due_at,
    )


async def _sync(
    session: AsyncSession, out: Outbound, dossier: Dossier, event_id: str, step: ProgressStep | None, record: bool
) -> None:
    # The record first, then the step: one ordering key per dossier, so the portal receives them in this order.
    if record:
        d = sync_dossier(snapshot(dossier), out.codes, cause_id=event_id)
        await out.deliveries.enqueue(session, d.target, d.idempotency_key, d.payload, ordering_key=d.ordering_key)
    if step is not None:
        p = sync_progress(step, out.codes, cause_id=event_id)
        await out.deliveries.enqueue(session, p.target, p.idempotency_key, p.payload, ordering_key=p.ordering_key)


def consent_of(row: ConsentRow | None) -> NoticeConsent:
    if row is None:
        return NoticeConsent()
    return NoticeConsent(
        phone=row.phone,
        email=row.email,
        sms=row.sms,
        zalo=row.zalo,
        by_email=row.by_email,
        withdrawn=row.opted_out_at is not None,
    )


async def _notify(
    session: AsyncSession,
    out: Outbound,
    dossier: Dossier,
    kind: NoticeKind,
    values: Mapping[str, Any],
    event_id: str,
    now: datetime,
) -> None:
    chosen = [
        (c, a) for c, a in consent_of(await session.get(ConsentRow, dossier.code)).channels() if c in out.channels
    ]
    if not chosen:
        return
    agency = await session.get(AgencyReplica, dossier.receiving_agency_code)
    context = {
        "dossier_code": dossier.code,
        "procedure_name": dossier.procedure_name,
        "agency_name": agency.name if agency is not None else dossier.receiving_agency_code,
        "applicant_name": dossier.applicant_name,
        **values,
    }
    for channel, address in chosen:
        template_id = out.zalo_template_ids.get(kind.value)
        if channel is NoticeChannel.ZALO and not template_id:
            # The province has no ZNS template for this kind: Zalo cannot carry it (the others still do).
            log.warning("no Zalo template for notice kind", kind=kind.value)
            continue
        rendered = out.templates.render(kind, channel, context)
        nd = notice_delivery(
            rendered,
            address=address,
            dossier_code=dossier.code,
            cause_id=event_id,
            now=now,
            quiet_hours=out.quiet_hours,
            zns_template_id=template_id,
        )
        await out.deliveries.enqueue(session, nd.target, nd.idempotency_key, nd.payload, not_before=nd.not_before)


async def after_receipt(
    session: AsyncSession, out: Outbound | None, dossier: Dossier, event_id: str, now: datetime
) -> None:
    if out is None:
        return
    if out.portal:
        await _sync(session, out, dossier, event_id, None, record=True)
    values: dict[str, Any] = {"received_at": dossier.received_at, "due_at": dossier.due_at}
    if out.lookup_url:
        values["lookup_url"] = out.lookup_url
    await _notify(session, out, dossier, NoticeKind.RECEIPT, values, event_id, now)


async def after_step(
    session: AsyncSession,
    out: Outbound | None,
    dossier: Dossier,
    command: Command,
    event_id: str,
    *,
    actor: str,
    at: datetime,
    now: datetime,
    details: Mapping[str, Any],
) -> None:
    """``details``: the step's own values (the missing items of a supplement request, an apology's reason)."""
    if out is None:
        return
    if out.portal:
        step = _progress(dossier, command, actor, at) if command in STEP_ACTIONS else None
        await _sync(session, out, dossier, event_id, step, record=command in RECORD_CHANGES)
    notice = _notice_for(dossier, command, details)
    if notice is not None:
        await _notify(session, out, dossier, notice[0], notice[1], event_id, now)


def _notice_for(
    dossier: Dossier, command: Command, details: Mapping[str, Any]
) -> tuple[NoticeKind, dict[str, Any]] | None:
    if command is Command.REQUEST_SUPPLEMENT:
        return NoticeKind.SUPPLEMENT_REQUEST, {"missing": list(details.get("items", []))}
    if command is Command.RESOLVE:
        return NoticeKind.RESULT_READY, {"collect_at": details.get("collect_at", "Bộ phận Một cửa")}
    if command is Command.APOLOGISE and dossier.apology_due_at is not None:
        return NoticeKind.APOLOGY, {"reason": details.get("reason", ""), "new_due_at": dossier.apology_due_at}
    return None


def portal_settled(outbox: Outbox) -> OnSettled:
    """The portal target's ``on_settled``: the synchronised (or failed) fact goes to the outbox in the transaction
    that records the delivery's end. Only the code, the service and the reason travel: no personal data."""

    async def on_settled(session: AsyncSession, settled: Settled) -> None:
        code = settled.ordering_key or str(settled.payload.get("record", {}).get("MaHoSo", ""))
        service = str(settled.payload.get("service", ""))
        if settled.outcome.kind is OutcomeKind.DELIVERED:
            await outbox.append(
                session,
                DossierSyncedToPortal(dossier_code=code, service=service, attempts=settled.attempts, at=settled.at),
            )
        else:
            await outbox.append(
                session,
                DossierSyncToPortalFailed(
                    dossier_code=code,
                    service=service,
                    reason=settled.outcome.reason,
                    attempts=settled.attempts,
                    at=settled.at,
                ),
            )

    return on_settled
