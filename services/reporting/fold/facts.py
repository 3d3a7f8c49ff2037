"""The per-dossier fold: every event known about one dossier, in any order, gives one fact row.

Like a ledger, reporting keeps each dossier's events (``ledger``) and recomputes its digest from all of them: the
events are sorted by their business time, then a fixed precedence of types, then event id, and every field is
derived by a rule that does not depend on arrival order (the first finishing event, the latest rating, …). The same
set of events therefore always gives the same fact, and a duplicate (same event id) changes nothing.

Timeliness has one owner, the contract (``libs.common.contract.timeliness``; docs/domain.md, "Outcome" and
"Overdue"): the fold takes the outcome intake published on the finishing event, judges it with the contract's rule
only for events recorded before that field existed, and ``overdue_at`` adapts a fact to the contract's ``overdue``.

(A little over 400 lines: most of it is the fact's ~70 columns and the steps of the fold, which read best together.)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from libs.common.contract.events import (
    DocumentDigitised,
    DocumentReused,
    DossierApologised,
    DossierExplained,
    DossierOverdue,
    DossierRated,
    DossierReceived,
    DossierRefused,
    DossierResolved,
    DossierReturned,
    DossierStopped,
    DossierSyncedToPortal,
    DossierTransferred,
    DossierWithdrawn,
    EventPayload,
    FeeAssessed,
    PaymentFailed,
    PaymentRefunded,
    PaymentSucceeded,
    SupplementReceived,
    SupplementRequested,
)
from libs.common.contract.timeliness import judge_outcome, overdue
from libs.common.settings import LEGACY_KEY_ID
from services.reporting.fold.ledger import DOSSIER_EVENT_NAMES, LedgerEvent, opt_instant

Fields = dict[str, Any]


class FinishKind(StrEnum):
    RESOLVED = "resolved"  # a result issued: approved or denied
    REFUSED = "refused"  # form 03 after acceptance
    STOPPED = "stopped"


FINISH_KINDS: dict[str, FinishKind] = {
    DossierResolved.event_name: FinishKind.RESOLVED,
    DossierRefused.event_name: FinishKind.REFUSED,
    DossierStopped.event_name: FinishKind.STOPPED,
}


@dataclass(frozen=True)
class PaymentTxn:
    """One payment attempt of a dossier, settled from all its payment events."""

    payment_id: str
    dossier_code: str
    procedure_code: str | None
    amount_vnd: int
    channel: str | None
    status: str  # succeeded / failed / refunded (a refunded payment did succeed as a transaction)
    succeeded: bool
    at: datetime  # when it succeeded, else when it failed


@dataclass(frozen=True)
class DossierFact:
    """What reports need to know about one dossier, derived from all its events (see the module docstring)."""

    dossier_code: str
    received_at: datetime | None = None
    procedure_code: str | None = None
    procedure_version: int | None = None
    procedure_name: str | None = None
    sector_code: str | None = None
    sector_name: str | None = None
    online_level: str | None = None
    has_fees: bool = False
    certification: bool = False
    receiving_agency_code: str | None = None
    receiving_level: str | None = None
    handling_agency_code: str | None = None
    handling_level: str | None = None
    desk: str | None = None
    channel: str | None = None
    keyed_in_at_desk: bool = False
    remote_online: bool = False  # submitted online by the applicant, not keyed in at a desk on their behalf
    cross_boundary: bool = False
    applicant_kind: str | None = None
    applicant_hash: str | None = None
    identified: bool = False  # authenticated by the national e-identity (VNeID)
    initial_due_at: datetime | None = None  # the appointment on form 01
    due_at: datetime | None = None  # due time in force: pauses included, apology excluded
    pause_started_at: datetime | None = None  # first request to supplement during processing (form 02)
    pause_ended_at: datetime | None = None  # its supplement received
    due_after_pause: datetime | None = None
    second_request_at: datetime | None = None  # a second request makes the dossier late (national index rule)
    supplement_requests: int = 0
    paused_seconds: int = 0
    finished_at: datetime | None = None
    finish_kind: str | None = None
    decision: str | None = None
    outcome: str | None = None  # early / on_time / late; None while unfinished and for withdrawn dossiers
    withdrawn_at: datetime | None = None
    closed_at: datetime | None = None
    overdue_at: datetime | None = None
    e_result: bool = False  # finished with an electronic (digitised and signed) result
    result_count: int = 0
    returned_at: datetime | None = None
    return_channel: str | None = None
    postal_return_requested: bool = False
    postal: bool = False  # received or returned through the public postal service
    apologised_at: datetime | None = None
    apology_due_at: datetime | None = None
    apology_in_time: bool | None = None  # issued >= 1 working day before the due time in force (None: not recorded)
    first_request_in_time: bool | None = None  # first request to supplement within 3 working days (None: unknown)
    explained_at: datetime | None = None
    rated_at: datetime | None = None
    rating: str | None = None
    # when the national portal first accepted the dossier's record (DongBoHoSoMC): the 766 "synchronised" input
    synced_to_portal_at: datetime | None = None
    # The officers on the receipt and on the finishing event (docs/reporting.md, "Late agencies and officers"): the
    # principal's opaque subject and name; None for events recorded before the contract carried an officer
    received_by_id: str | None = None
    received_by_name: str | None = None
    finished_by_id: str | None = None
    finished_by_name: str | None = None
    components: int = 0
    electronic_components: int = 0
    must_digitise: int = 0
    digitised: int = 0
    all_digitised: bool = False  # every component that must be digitised was digitised
    reused: bool = False  # at least one document taken from the data warehouse / a connected database
    reused_components: int = 0
    fees_assessed_vnd: int = 0
    fee_payable: bool = False
    paid_online_vnd: int = 0
    paid_offline_vnd: int = 0
    paid_online: bool = False  # at least one successful online payment
    fees_paid_online: bool = False  # no fee, or the fee paid online only
    transfers: int = 0
    inter_agency_transfers: int = 0
    paper_transfers: int = 0
    all_transfers_electronic: bool = False  # at least one inter-agency transfer, all electronic
    fully_online: bool = False
    event_count: int = 0
    last_event_at: datetime | None = None
    payments: tuple[PaymentTxn, ...] = field(default=(), compare=True)


def fold_dossier(dossier_code: str, ledger: Iterable[LedgerEvent]) -> DossierFact:
    """The fact of one dossier from every event recorded about it, whatever their order and repetitions."""
    unique = {e.event_id: e for e in ledger}
    events = _Timeline(sorted((e for e in unique.values() if e.name in DOSSIER_EVENT_NAMES), key=_order))
    f: Fields = {"dossier_code": dossier_code, "event_count": len(events.all)}
    if events.all:
        f["last_event_at"] = max(e.at for e in events.all)
    receipt = events.first(DossierReceived)
    if receipt is not None:
        f.update(_receipt(receipt))
    f.update(_documents(events, receipt))
    pauses = _pauses(events)
    due_in_force = pauses.pop("due_in_force", None) or f.get("initial_due_at")
    f.update(pauses)
    f.update(_finish(events, due_at=due_in_force, supplement_requests=pauses["supplement_requests"]))
    f.update(_follow_ups(events))
    f.update(_transfers(events))
    f.update(_fees(dossier_code, events, receipt, has_fees=bool(f.get("has_fees"))))
    f.update(_channels(f))
    return DossierFact(**f)


def _order(e: LedgerEvent) -> tuple[datetime, int, str]:
    return e.order


class _Timeline:
    """A dossier's events in fold order, indexed by event name once: every rule asks "the first / last / every
    event of these types", and scanning the whole list for each question was most of the fold's time."""

    __slots__ = ("all", "by_name")

    def __init__(self, ordered: list[LedgerEvent]) -> None:
        self.all = ordered
        self.by_name: dict[str, list[LedgerEvent]] = {}
        for e in ordered:
            self.by_name.setdefault(e.name, []).append(e)

    def of(self, *models: type[EventPayload]) -> list[LedgerEvent]:
        """Every event of these types, in fold order."""
        found = [e for model in models for e in self.by_name.get(model.event_name, ())]
        if len(models) > 1:
            found.sort(key=_order)
        return found

    def first(self, *models: type[EventPayload]) -> LedgerEvent | None:
        heads = [found[0] for model in models if (found := self.by_name.get(model.event_name))]
        return min(heads, key=_order) if heads else None

    def last(self, *models: type[EventPayload]) -> LedgerEvent | None:
        tails = [found[-1] for model in models if (found := self.by_name.get(model.event_name))]
        return max(tails, key=_order) if tails else None


def applicant_pseudonym(applicant: Mapping[str, Any]) -> str | None:
    pseudonym = applicant.get("pseudonym")
    if pseudonym:
        return str(pseudonym)
    # Ledger rows folded before events carried pseudonyms hold reporting's own HMAC as ``id_hash``, made with the
    # key that is key id k1 of the key ring: prefixed, it is the pseudonym a v2 event carries for the same person.
    legacy = applicant.get("id_hash")
    return f"{LEGACY_KEY_ID}:{legacy}" if legacy else None


def _receipt(receipt: LedgerEvent) -> Fields:
    """What the receipt says: procedure, agencies, channel, applicant (a pseudonym, never the number), components."""
    d = receipt.data
    sector = d.get("sector") or {}
    applicant = d.get("applicant") or {}
    components = d.get("components") or []
    channel = d.get("channel")
    return {
        "received_at": receipt.at,
        "procedure_code": d.get("procedure_code"),
        "procedure_version": d.get("procedure_version"),
        "procedure_name": d.get("procedure_name"),
        "sector_code": sector.get("code"),
        "sector_name": sector.get("name"),
        "online_level": d.get("online_level"),
        "has_fees": bool(d.get("has_fees")),
        "certification": bool(d.get("certification")),
        "receiving_agency_code": d.get("receiving_agency_code"),
        "receiving_level": d.get("receiving_level"),
        "handling_agency_code": d.get("handling_agency_code"),
        "handling_level": d.get("handling_level"),
        "desk": d.get("desk"),
        "channel": channel,
        "keyed_in_at_desk": bool(d.get("keyed_in_at_desk")),
        "remote_online": channel == "online" and not d.get("keyed_in_at_desk"),
        "cross_boundary": bool(d.get("cross_boundary")),
        "applicant_kind": applicant.get("kind"),
        "applicant_hash": applicant_pseudonym(applicant),
        "identified": bool(applicant.get("identified_by_vneid")),
        "initial_due_at": opt_instant(d.get("due_at")),
        "postal_return_requested": bool(d.get("postal_return_requested")),
        **_officer(d, "received_by"),
        "components": len(components),
        "electronic_components": sum(1 for c in components if c.get("form") in ("electronic", "warehouse")),
    }


def _officer(data: Any, prefix: str) -> Fields:
    """The officer an event names, as ``<prefix>_id`` / ``<prefix>_name``; nothing when it names none."""
    officer = data.get("officer")
    if not isinstance(officer, dict) or not officer.get("id"):
        return {}
    return {f"{prefix}_id": str(officer["id"]), f"{prefix}_name": officer.get("display_name") or None}


def _documents(events: _Timeline, receipt: LedgerEvent | None) -> Fields:
    """Digitisation at reception (the receipt's components, or the digitisation service's events for a component of
    this dossier) and re-use of stored documents."""
    must: set[str] = set()
    digitised: set[str] = set()
    reused: set[str] = set()
    for c in (receipt.data.get("components") or []) if receipt is not None else []:
        if c.get("must_digitise"):
            must.add(str(c.get("code")))
            if c.get("digitised"):
                digitised.add(str(c.get("code")))
        if c.get("form") == "warehouse":
            reused.add(str(c.get("code")))
    for e in events.of(DocumentDigitised):
        if e.data.get("component_code"):
            digitised.add(str(e.data["component_code"]))
    for e in events.of(DocumentReused):
        reused.add(str(e.data.get("component_code")))
    return {
        "must_digitise": len(must),
        "digitised": len(must & digitised),
        # Vacuously true when nothing had to be digitised (online submissions need no scanning: Decree 45/2020
        # Art. 25).
        "all_digitised": receipt is not None and must <= digitised,
        "reused_components": len(reused),
        "reused": bool(reused),
    }


def _pauses(events: _Timeline) -> Fields:
    """Requests to supplement during processing (docs/domain.md, "Pause"): sequence numbers make redelivered or
    reordered events count once. ``due_in_force`` is the due time after the last supplement received."""
    requests = {int(e.data.get("sequence", 1)): e for e in reversed(events.of(SupplementRequested))}
    supplied = {int(e.data.get("sequence", 1)): e for e in reversed(events.of(SupplementReceived))}
    f: Fields = {
        "supplement_requests": len(requests),
        "paused_seconds": sum(int(e.data.get("paused_seconds") or 0) for e in supplied.values()),
    }
    if 1 in requests:
        f["pause_started_at"] = requests[1].at
        in_time = requests[1].data.get("in_time")
        f["first_request_in_time"] = in_time if isinstance(in_time, bool) else None
    if 1 in supplied:
        f["pause_ended_at"] = supplied[1].at
        f["due_after_pause"] = opt_instant(supplied[1].data.get("due_at"))
    later_requests = [e.at for seq, e in requests.items() if seq >= 2]
    if later_requests:
        f["second_request_at"] = min(later_requests)
    if supplied:
        f["due_in_force"] = opt_instant(supplied[max(supplied)].data.get("due_at"))
    return f


def _finish(events: _Timeline, *, due_at: datetime | None, supplement_requests: int) -> Fields:
    """The first finishing event (result, refusal after acceptance, stop) unless a withdrawal came first: withdrawn
    dossiers are closed but not finished and left out of timeliness (docs/domain.md, "Outcome")."""
    finish = events.first(DossierResolved, DossierRefused, DossierStopped)
    withdrawal = events.first(DossierWithdrawn)
    f: Fields = {}
    if finish is not None and (withdrawal is None or finish.order < withdrawal.order):
        f["finished_at"] = finish.at
        f["finish_kind"] = FINISH_KINDS[finish.name].value
        if finish.is_a(DossierResolved):
            f["decision"] = finish.data.get("decision")
            f["e_result"] = bool(finish.data.get("electronic_result"))
            f["result_count"] = len(finish.data.get("result_refs") or []) or 1
        # The finishing event states the due time in force (refusals and stops since the field was added).
        due_at = opt_instant(finish.data.get("due_at")) or due_at
        f["closed_at"] = finish.at
        f.update(_officer(finish.data, "finished_by"))
        published = finish.data.get("outcome")
        if published:  # intake's verdict, the one owner of the rule
            f["outcome"] = published
        elif due_at is not None:  # an event from before the field existed: the same rule, judged here
            f["outcome"] = judge_outcome(finish.at, due_at, supplement_requests).value
    elif withdrawal is not None:
        f["withdrawn_at"] = withdrawal.at
        f["closed_at"] = withdrawal.at
    f["due_at"] = due_at
    return f


def _follow_ups(events: _Timeline) -> Fields:
    f: Fields = {}
    if (overdue_event := events.first(DossierOverdue)) is not None:
        f["overdue_at"] = overdue_event.at
    if (returned := events.first(DossierReturned)) is not None:
        f["returned_at"] = returned.at
        f["return_channel"] = returned.data.get("channel")
    # At most one apology per dossier (Decree 61/2018 Art. 19(9)); its new date never changes the outcome.
    if (apology := events.first(DossierApologised)) is not None:
        f["apologised_at"] = apology.at
        f["apology_due_at"] = opt_instant(apology.data.get("new_due_at"))
        in_time = apology.data.get("issued_in_time")
        f["apology_in_time"] = in_time if isinstance(in_time, bool) else None
    if (explanation := events.first(DossierExplained)) is not None:
        f["explained_at"] = explanation.at
    if (rating := events.last(DossierRated)) is not None:  # a citizen may change their rating: the latest counts
        f["rated_at"] = rating.at
        f["rating"] = rating.data.get("rating")
    synced = [e for e in events.of(DossierSyncedToPortal) if e.data.get("service") == "DongBoHoSoMC"]
    if synced:
        f["synced_to_portal_at"] = synced[0].at
    return f


def _transfers(events: _Timeline) -> Fields:
    transfers = events.of(DossierTransferred)
    inter = [e for e in transfers if e.data.get("inter_agency")]
    paper = sum(1 for e in inter if e.data.get("mode") != "electronic")
    return {
        "transfers": len(transfers),
        "inter_agency_transfers": len(inter),
        "paper_transfers": paper,
        "all_transfers_electronic": bool(inter) and paper == 0,
    }


def _fees(dossier_code: str, events: _Timeline, receipt: LedgerEvent | None, *, has_fees: bool) -> Fields:
    fees_due = int(receipt.data.get("fees_due_vnd") or 0) if receipt is not None else 0
    assessment = events.last(FeeAssessed)  # a re-assessment replaces the earlier one
    assessed = int(assessment.data.get("total_vnd") or 0) if assessment is not None else 0
    payments = _payments(dossier_code, events)
    succeeded = [p for p in payments if p.succeeded]
    online_txns = sum(1 for p in succeeded if p.channel == "online")
    fee_payable = has_fees or fees_due > 0 or assessed > 0
    return {
        "payments": payments,
        "fees_assessed_vnd": assessed,
        "fee_payable": fee_payable,
        "paid_online_vnd": sum(p.amount_vnd for p in succeeded if p.channel == "online"),
        "paid_offline_vnd": sum(p.amount_vnd for p in succeeded if p.channel != "online"),
        "paid_online": online_txns > 0,
        "fees_paid_online": (not fee_payable) or (online_txns > 0 and online_txns == len(succeeded)),
    }


def _payments(dossier_code: str, events: _Timeline) -> tuple[PaymentTxn, ...]:
    by_id: dict[str, dict[str, LedgerEvent]] = {}
    for e in events.of(PaymentSucceeded, PaymentFailed, PaymentRefunded):
        # the first event of each kind per payment counts (events are sorted)
        by_id.setdefault(str(e.data.get("payment_id")), {}).setdefault(e.name, e)
    txns = []
    for payment_id in sorted(by_id):
        kinds = by_id[payment_id]
        success = kinds.get(PaymentSucceeded.event_name)
        attempt = success or kinds.get(PaymentFailed.event_name) or kinds[PaymentRefunded.event_name]
        refunded = PaymentRefunded.event_name in kinds
        txns.append(
            PaymentTxn(
                payment_id=payment_id,
                dossier_code=dossier_code,
                procedure_code=attempt.data.get("procedure_code"),
                amount_vnd=int(attempt.data.get("amount_vnd") or 0),
                channel=attempt.data.get("channel"),
                status="refunded" if refunded else "succeeded" if success else "failed",
                succeeded=success is not None,
                at=attempt.at,
            )
        )
    return tuple(txns)


def _channels(f: Fields) -> Fields:
    return {
        "postal": (
            f.get("channel") == "postal"
            or f.get("return_channel") == "postal"
            or (f.get("returned_at") is None and bool(f.get("postal_return_requested")))
        ),
        # Fully online (plan 3/KH-UBND app. III.4.2): received online, every component electronic, fees (if any)
        # paid online, and the result returned electronically.
        "fully_online": (
            f.get("channel") == "online"
            and f.get("electronic_components", 0) == f.get("components", 0)
            and bool(f["fees_paid_online"])
            and f.get("return_channel") == "electronic"
        ),
    }


def overdue_at(fact: DossierFact, at: datetime) -> bool:
    """Whether a dossier still in progress at ``at`` is past its due time then: the fact's state at ``at`` (the
    due time in force then, whether it was waiting for a supplement, whether a second request had been made) judged
    by the contract's one rule (docs/domain.md, "Overdue"). Its SQL twin is ``reports.sql.overdue_at``."""
    paused = fact.pause_started_at is not None and fact.pause_started_at < at
    resumed = fact.pause_ended_at is not None and fact.pause_ended_at < at
    due = (fact.due_after_pause or fact.due_at) if resumed else fact.initial_due_at
    return overdue(
        at,
        due_at=due,
        paused_since=fact.pause_started_at if paused and not resumed else None,
        second_request=fact.second_request_at is not None and fact.second_request_at < at,
    )


def in_progress_at(fact: DossierFact, at: datetime) -> bool:
    """Received before ``at`` and neither finished nor withdrawn before it."""
    return (
        fact.received_at is not None
        and fact.received_at < at
        and not (fact.finished_at is not None and fact.finished_at < at)
        and not (fact.withdrawn_at is not None and fact.withdrawn_at < at)
    )
