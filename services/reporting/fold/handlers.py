"""The fold: reporting's consumer handler, run once per consumed batch in the runner's transaction after the inbox
dedupe (docs/reporting.md, "Fold").

Every envelope is parsed against the contract first (older versions upcast), and dispatched on its contract class.
An event the contract does not accept — a payload that does not validate (a decision that is neither approved nor
denied), or a version newer than the contract knows — is never applied: ``InvalidEvent`` makes the runner set it
aside in its dead-letter table with the reason, and the rest of the batch applies.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import (
    AgencyPublished,
    EventPayload,
    PlanLoaded,
    ProcedureAmended,
    ProcedurePublished,
    ProcedureWithdrawn,
    QueueTicketServed,
)
from libs.common.contract.registry import EventRegistry, UnknownEventType
from libs.common.logging import get_logger
from libs.common.messaging.consumer import BatchHandler, parsed_payload
from services.reporting.fold import aggregate_store, repository
from services.reporting.fold.facts import DossierFact, fold_dossier
from services.reporting.fold.ledger import DOSSIER_EVENTS, LedgerEvent
from services.reporting.models import agency_t, procedure_t
from services.reporting.plans.service import apply_plan_loaded

log = get_logger(__name__)

CONSUMER = "reporting"
_unknown_types: set[str] = set()


class InvalidEvent(ValueError):
    """An event the contract does not accept. Not transient: the consumer runner dead-letters it with this message,
    which names the fields and the rule broken, never the values (they may be personal data)."""


def parse(envelope: Envelope, registry: EventRegistry) -> EventPayload | None:
    """The envelope's payload as the newest contract model of its type; None for a type the contract does not
    know (logged once per type: a newer producer may publish types this reader does not use yet).

    ``registry`` holds the deployment's keys: v1 records still on the topics (applicants and document holders in
    clear) are upcast to the pseudonyms the producers give today, so nothing clear reaches reporting's tables."""
    try:
        model = registry.model(envelope.name)
    except UnknownEventType:
        if envelope.type not in _unknown_types:
            _unknown_types.add(envelope.type)
            log.warning("event type unknown to the contract; ignored", type=envelope.type, consumer=CONSUMER)
        return None
    if envelope.version > model.version:
        raise InvalidEvent(f"{envelope.type} v{envelope.version} is newer than the contract's v{model.version}")
    try:
        return registry.parse(envelope)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(payload)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise InvalidEvent(f"{envelope.type} v{envelope.version} does not validate: {problems}") from None
    except UnknownEventType as exc:  # an old version with no upcaster to the current one
        raise InvalidEvent(str(exc)) from None


def make_fold(registry: EventRegistry) -> BatchHandler:
    """The batch handler of reporting's consumer: ``async def fold(session, envelopes)``."""

    async def fold(session: AsyncSession, envelopes: list[Envelope]) -> None:
        await fold_batch(session, envelopes, registry)

    return fold


async def fold_batch(
    session: AsyncSession, envelopes: Sequence[Envelope], registry: EventRegistry, *, fold: bool = True
) -> None:
    """Apply one consumed batch (already deduplicated by the inbox).

    Dossier events go to the ledger; every dossier they touch is refolded from its whole ledger, so the fact does
    not depend on the order events arrived in. Catalogue, agency, queue and plan events update their replicas,
    newest state winning. ``fold=False`` (the rebuild's first phase) stops at the ledger: the rebuild folds every
    dossier once at the end instead of once per batch.
    """
    batch = _Batch()
    for envelope in envelopes:
        # The runner parsed the payload already while checking the batch against the contract.
        payload = parsed_payload(session, envelope)
        if payload is None:
            payload = parse(envelope, registry)
        if payload is not None:
            batch.add(envelope, payload)
    await batch.write(session, fold=fold)


async def write_facts(session: AsyncSession, facts: Sequence[DossierFact]) -> None:
    """Every fact the fold writes goes through here (the live fold per batch, the rebuild per chunk of dossiers):
    the one place where whatever is derived from facts in the same transaction belongs: the day aggregates move by
    the new facts' contributions minus the stored ones (the caller holds the dossiers' fold locks)."""
    stored = await aggregate_store.current_facts(session, [f.dossier_code for f in facts])
    await repository.upsert_facts(session, facts)
    await aggregate_store.replace_facts(session, stored, facts)


@dataclass
class _Batch:
    """What one batch changes, gathered per table so that each is written in one statement."""

    ledger: dict[str, dict[str, Any]] = field(default_factory=dict)  # event id → ledger row
    procedures: dict[tuple[str, int], dict[str, Any]] = field(default_factory=dict)
    agencies: dict[str, dict[str, Any]] = field(default_factory=dict)
    visits: dict[str, dict[str, Any]] = field(default_factory=dict)
    plans: list[PlanLoaded] = field(default_factory=list)

    def add(self, envelope: Envelope, payload: EventPayload) -> None:
        match payload:
            case ProcedurePublished() | ProcedureAmended() | ProcedureWithdrawn():
                self._procedure(_procedure_row(payload, envelope))
            case AgencyPublished():
                row = _agency_row(payload, envelope)
                current = self.agencies.get(row["code"])
                if current is None or current["as_of"] <= row["as_of"]:
                    self.agencies[row["code"]] = row
            case QueueTicketServed():
                self.visits[payload.ticket_id] = _visit_row(payload)
            case PlanLoaded():
                self.plans.append(payload)
            case _ if isinstance(payload, DOSSIER_EVENTS):
                self._dossier_event(envelope, payload)

    def _dossier_event(self, envelope: Envelope, payload: EventPayload) -> None:
        code = getattr(payload, "dossier_code", None)
        if not code:  # a document digitised outside any dossier has no place in dossier facts
            return
        # Serialised once, by pydantic: the ledger stores this text, and the fold reads it back as a dict.
        self.ledger[envelope.id] = {
            "event_id": envelope.id,
            "dossier_code": str(code),
            "name": envelope.name,
            "recorded_at": envelope.time,
            "data_json": payload.model_dump_json(),
        }

    def _procedure(self, row: dict[str, Any]) -> None:
        key = (row["code"], row["version"])
        current = self.procedures.get(key)
        if current is None or current["as_of"] <= row["as_of"]:
            if current is not None:
                row["withdrawn_on"] = row["withdrawn_on"] or current["withdrawn_on"]
            self.procedures[key] = row

    async def write(self, session: AsyncSession, *, fold: bool = True) -> None:
        rows = list(self.ledger.values())
        codes = sorted({row["dossier_code"] for row in rows})
        replicas = bool(self.procedures or self.agencies or self.visits or self.plans)
        # Without a fold nothing is read back, so no dossier needs locking (the rebuild's second phase locks them).
        await repository.lock_fold(session, codes if fold else (), replicas)
        if not fold:
            await repository.add_events(session, rows)
        elif codes:
            known = [LedgerEvent(r["event_id"], r["name"], r["recorded_at"], json.loads(r["data_json"])) for r in rows]
            ledgers = await repository.add_events_and_read(session, rows, codes, known)
            await write_facts(session, [fold_dossier(code, ledgers[code]) for code in codes])
        await repository.upsert_latest(
            session,
            procedure_t,
            list(self.procedures.values()),
            ("code", "version"),
            "as_of",
            keep=("withdrawn_on",),
        )
        await repository.upsert_latest(session, agency_t, list(self.agencies.values()), ("code",), "as_of")
        await repository.upsert_visits(session, list(self.visits.values()))
        for plan in sorted(self.plans, key=lambda p: p.at):
            await apply_plan_loaded(session, plan)


def _procedure_row(
    payload: ProcedurePublished | ProcedureAmended | ProcedureWithdrawn, envelope: Envelope
) -> dict[str, Any]:
    p = payload.procedure
    return {
        "code": p.code,
        "version": p.version,
        "name": p.name,
        "sector_code": p.sector.code,
        "sector_name": p.sector.name,
        "levels": list(p.levels),
        "agency_codes": list(p.agency_codes),
        "online_level": p.online_level.value,
        "public": p.public,
        "has_fees": bool(p.fees),
        "fees_payable_online": any(f.payable_online for f in p.fees),
        "certification": p.certification,
        "components": len(p.components),
        "decision_number": p.decision.number,
        "decision_signed_on": p.decision.signed_on,
        "in_force_from": p.in_force_from,
        "in_force_until": p.in_force_until,
        "withdrawn_on": payload.withdrawn_on if isinstance(payload, ProcedureWithdrawn) else None,
        # absent from snapshots published before the catalogue computed them: they stay null (no data)
        "publication_due_on": p.publication_due_on,
        "national_db_due_on": p.national_db_due_on,
        "public_in_national_db_on": p.public_in_national_db_on,
        "components_complete": p.components_complete,
        "as_of": envelope.time,
    }


def _agency_row(a: AgencyPublished, envelope: Envelope) -> dict[str, Any]:
    return {
        "code": a.code,
        "name": a.name,
        "level": a.level,
        "parent_code": a.parent_code,
        "area_kind": a.area_kind,
        "desk_officers": a.desk_officers,
        "procedure_codes": list(a.procedure_codes),
        "as_of": envelope.time,
    }


def _visit_row(t: QueueTicketServed) -> dict[str, Any]:
    return {
        "ticket_id": t.ticket_id,
        "agency_code": t.agency_code,
        "level": t.level,
        "desk": t.desk,
        "issued_at": t.issued_at,
        "served_at": t.served_at,
        "wait_seconds": t.wait_seconds,
    }
