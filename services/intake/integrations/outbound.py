"""Intake's outbound deliveries, enqueued in the transaction of the change that causes them (docs/integrations.md).

The receipt and each lifecycle command call :func:`after_receipt` / :func:`after_step` with the id of the event they
appended: the national portal gets the dossier's record (``DongBoHoSoMC``) when it changes and one progress step
(``CapNhatTienDoHoSoMC``) per step, and the citizen the notices they chose. Nothing is enqueued for an integration
that is off, so with the default settings these are no-ops.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract import DossierSyncedToPortal, DossierSyncToPortalFailed
from libs.common.db import insert_ignoring_conflicts
from libs.common.delivery import Deliveries, OutcomeKind, Settled
from libs.common.delivery.worker import OnSettled
from libs.common.logging import get_logger
from libs.common.messaging.outbox import Outbox
from services.intake.domain.lifecycle import Command, Status
from services.intake.integrations import owner_facts as facts_rules
from services.intake.integrations.notices import (
    NoticeChannel,
    NoticeConsent,
    NoticeKind,
    NoticeTemplates,
    QuietHours,
    notice_delivery,
    parse_quiet_hours,
)
from services.intake.integrations.owner_facts import OwnerFacts
from services.intake.integrations.portal import (
    DossierSnapshot,
    FeeLine,
    PortalCodes,
    ProgressStep,
    ResultDocument,
    SubmittedDocument,
    SupplementRequest,
    dossier_record,
    sync_dossier,
    sync_progress,
)
from services.intake.integrations.settings import IntegrationSettings
from services.intake.models import AgencyReplica, Dossier, DossierOwnerFacts
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
# A dossier refused, withdrawn or stopped will not be handled: no citizen is asked to pay for it.
NO_FEE_NOTICE = frozenset({Status.REFUSED.value, Status.WITHDRAWN.value, Status.STOPPED.value})


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
    payment_url: str = ""  # a template with {dossier_code}; empty: fee-due notices carry no link
    fee_due_max_age: timedelta = timedelta(hours=24)  # older assessments, read late, give no notice

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
            payment_url=settings.notice_payment_url,
            fee_due_max_age=timedelta(hours=settings.notice_fee_due_max_age_hours),
        )


def payment_link(template: str, dossier_code: str) -> str:
    """The payment page of a dossier: ``MOTCUA_INTAKE_NOTICE_PAYMENT_URL`` with its code put in (URL-quoted)."""
    return template.replace("{dossier_code}", quote(dossier_code, safe=""))


def snapshot(dossier: Dossier, facts: OwnerFacts | None = None) -> DossierSnapshot:
    """The dossier as the portal sees it: intake's own row, and what digitisation and payments said of it
    (``facts``): a component digitised at the desk or later, taken from the warehouse at receipt or later; the
    assessment in force (else the fees the procedure put due at receipt); whether it was paid online."""
    facts = facts or OwnerFacts()
    details = dossier.details
    sector = details.get("sector") or {}
    finished = dossier.finished_at if dossier.decision is not None else None
    submitted = [(str(c["code"]), c) for c in details.get("components", [])]
    # A component digitisation or re-use recorded for this dossier that the receipt did not list was still part of
    # it: it is sent too, after the listed ones.
    extra = sorted(set(facts.documents) - {code for code, _ in submitted})
    documents = tuple(
        SubmittedDocument(
            component_code=code,
            digitised=bool(c.get("digitised")) or facts.documents.get(code, facts_rules.DocumentFact()).digitised,
            from_national_database=(
                c.get("form") == "warehouse" or facts.documents.get(code, facts_rules.DocumentFact()).reused
            ),
        )
        for code, c in [*submitted, *((code, {}) for code in extra)]
    )
    if facts.fees is not None:
        # a line whose amount the assessment left open cannot be sent (the portal needs SoTien)
        fees = tuple(FeeLine(name=f.name, amount=f.amount_vnd) for f in facts.fees if f.amount_vnd is not None)
    else:
        fees = (FeeLine(name=FEES_NAME, amount=dossier.fees_due_vnd),) if dossier.fees_due_vnd > 0 else ()
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
        documents=documents,
        fees=fees,
        paid_online=facts.paid_online,
        supplements=tuple(
            SupplementRequest(
                requested_at=datetime.fromisoformat(s["at"]), what="; ".join(s.get("items", [])) or s.get("reason", "")
            )
            for s in details.get("supplements", [])
        ),
        results=tuple(ResultDocument(name=RESULT_NAME, number=ref) for ref in details.get("result_refs", [])),
        vneid_verified=dossier.identified_by_vneid,
    )


async def owner_facts(session: AsyncSession, dossier_code: str) -> OwnerFacts:
    row = await session.get(DossierOwnerFacts, dossier_code)
    return OwnerFacts() if row is None else _facts_of(row)


def _facts_of(row: DossierOwnerFacts) -> OwnerFacts:
    return facts_rules.from_columns(row.documents, row.fees, row.fees_total_vnd, row.payments)


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
        d = sync_dossier(snapshot(dossier, await owner_facts(session, dossier.code)), out.codes, cause_id=event_id)
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


async def record_owner_fact(
    session: AsyncSession,
    out: Outbound | None,
    dossier_code: str,
    change: Callable[[OwnerFacts], OwnerFacts],
    event_id: str,
    now: datetime,
) -> OwnerFacts:
    """Fold one of digitisation's or payments' events into the dossier's facts; when that changes what the portal's
    record of the dossier says, send the record again (``DongBoHoSoMC``, one per event). Facts about a dossier intake
    has not received yet are kept for its receipt's record. Returns the facts as they now are."""
    row = await _locked_facts(session, dossier_code, now)
    before = _facts_of(row)
    after = change(before)
    if after == before:
        return after
    for name, value in facts_rules.to_columns(after).items():
        setattr(row, name, value)
    row.updated_at = now
    await session.flush()
    if out is None or not out.portal:
        return after
    # Locked as the commands lock it: a command under way commits first, so this record, enqueued after its own,
    # carries the status that command set (the portal keeps the last record it receives).
    dossier = await session.get(Dossier, dossier_code, with_for_update=True, populate_existing=True)
    if dossier is None:
        return after
    record = snapshot(dossier, after)
    if dossier_record(record, out.codes) != dossier_record(snapshot(dossier, before), out.codes):
        d = sync_dossier(record, out.codes, cause_id=event_id)
        await out.deliveries.enqueue(session, d.target, d.idempotency_key, d.payload, ordering_key=d.ordering_key)
    return after


async def _locked_facts(session: AsyncSession, dossier_code: str, now: datetime) -> DossierOwnerFacts:
    # The documents' and the payments' topics may be read by two replicas at once: the row is created if missing,
    # then locked, so that two events about one dossier fold one after the other.
    empty = {**facts_rules.to_columns(OwnerFacts()), "dossier_code": dossier_code, "updated_at": now}
    dialect = session.get_bind().dialect.name
    await session.execute(insert_ignoring_conflicts(cast(Table, DossierOwnerFacts.__table__), dialect).values(**empty))
    row = await session.get(DossierOwnerFacts, dossier_code, with_for_update=True, populate_existing=True)
    assert row is not None  # inserted just above, or already there
    return row


async def fee_due(
    session: AsyncSession,
    out: Outbound | None,
    dossier_code: str,
    facts: OwnerFacts,
    event_id: str,
    *,
    assessed_at: datetime,
    now: datetime,
) -> None:
    """The fee-due notice after payments assessed a dossier's fees (``event_id``: the assessment's event): the amount
    still to pay and the payment link, on the channels the citizen chose, with the other notices' rules (consent,
    opt-out, quiet hours, one per event per channel). Nothing when nothing is left to pay or the dossier will not be
    handled, or when the assessment is older than ``fee_due_max_age`` (read late, it may already be paid)."""
    if out is None or not out.channels:
        return
    if now - assessed_at > out.fee_due_max_age:
        log.info("fee-due notice skipped: assessment read too late", dossier_code=dossier_code)
        return
    dossier = await session.get(Dossier, dossier_code)
    amount = facts.outstanding_vnd()
    if dossier is None or dossier.status in NO_FEE_NOTICE or amount <= 0:
        return
    values: dict[str, Any] = {"amount": amount}
    if out.payment_url:
        values["payment_url"] = payment_link(out.payment_url, dossier_code)
    await _notify(session, out, dossier, NoticeKind.FEE_DUE, values, event_id, now)


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
