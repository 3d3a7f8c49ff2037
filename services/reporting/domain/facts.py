"""The per-dossier fold: every event known about one dossier, in any order, gives one fact row.

Events of one dossier come from four topics (intake, digitisation, payments …) with no order between topics, and a
topic may redeliver. Like a ledger, reporting keeps each dossier's events and recomputes its digest from all of them:
the events are sorted by their business time, then a fixed precedence of types, then event id, and every field is
derived by a rule that does not depend on arrival order (the first finishing event, the latest rating, …). The same
set of events therefore always gives the same fact, and a duplicate (same event id) changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.reporting.domain.periods import VN_TZ

RECEIVED = "intake.dossier.received"
TRANSFERRED = "intake.dossier.transferred"
SUPPLEMENT_REQUESTED = "intake.dossier.supplement_requested"
SUPPLEMENT_RECEIVED = "intake.dossier.supplement_received"
REFUSED = "intake.dossier.refused"
WITHDRAWN = "intake.dossier.withdrawn"
STOPPED = "intake.dossier.stopped"
RESOLVED = "intake.dossier.resolved"
RETURNED = "intake.dossier.returned"
APOLOGISED = "intake.dossier.apologised"
EXPLAINED = "intake.dossier.explained"
RATED = "intake.dossier.rated"
OVERDUE = "intake.dossier.overdue"
DIGITISED = "digitisation.document.digitised"
REUSED = "digitisation.document.reused"
FEE_ASSESSED = "payments.fee.assessed"
PAYMENT_SUCCEEDED = "payments.payment.succeeded"
PAYMENT_FAILED = "payments.payment.failed"
PAYMENT_REFUNDED = "payments.payment.refunded"

# Events recorded at the same instant are applied in the order the lifecycle produces them.
PRECEDENCE: dict[str, int] = {
    RECEIVED: 0,
    DIGITISED: 1,
    REUSED: 1,
    TRANSFERRED: 2,
    SUPPLEMENT_REQUESTED: 3,
    SUPPLEMENT_RECEIVED: 4,
    FEE_ASSESSED: 5,
    PAYMENT_FAILED: 6,
    PAYMENT_SUCCEEDED: 7,
    PAYMENT_REFUNDED: 8,
    OVERDUE: 9,
    APOLOGISED: 10,
    EXPLAINED: 11,
    RESOLVED: 12,
    REFUSED: 12,
    STOPPED: 12,
    WITHDRAWN: 13,
    RETURNED: 14,
    RATED: 15,
}
DOSSIER_EVENT_NAMES = frozenset(PRECEDENCE)
FINISHING = frozenset({RESOLVED, REFUSED, STOPPED})


class Outcome(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class FinishKind(StrEnum):
    RESOLVED = "resolved"  # a result issued: approved or denied
    REFUSED = "refused"  # form 03 after acceptance
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class LedgerEvent:
    """One event of a dossier's ledger: its id, short name, recorded time and (scrubbed) JSON payload.

    ``at`` is when it happened in the dossier's life (the payload's time, falling back to when it was recorded);
    it is parsed once, as the fold sorts and compares by it.
    """

    event_id: str
    name: str
    recorded_at: datetime
    data: Mapping[str, Any]
    at: datetime = field(init=False, compare=False)
    order: tuple[datetime, int, str] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        raw = self.data.get("received_at") if self.name == RECEIVED else self.data.get("at")
        at = parse_instant(raw) if raw else self.recorded_at
        object.__setattr__(self, "at", at)
        object.__setattr__(self, "order", (at, PRECEDENCE.get(self.name, 99), self.event_id))

    def sort_key(self) -> tuple[datetime, int, str]:
        return self.order


def _order(e: LedgerEvent) -> tuple[datetime, int, str]:
    return e.order


def parse_instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError(f"instant without a time zone: {value!r}")
    return parsed


def _opt_instant(value: Any) -> datetime | None:
    return parse_instant(value) if value else None


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
    explained_at: datetime | None = None
    rated_at: datetime | None = None
    rating: str | None = None
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


def outcome(finished_at: datetime, due_at: datetime, supplement_requests: int = 0) -> Outcome:
    """Domain A1: early if finished on an earlier calendar date (Asia/Ho_Chi_Minh) than the due date, on time if on
    the due date and no later than the due time, late otherwise; more than one request to supplement during
    processing makes it late whatever the result time (national index rule)."""
    if supplement_requests > 1:
        return Outcome.LATE
    finished_on = finished_at.astimezone(VN_TZ).date()
    due_on = due_at.astimezone(VN_TZ).date()
    if finished_on < due_on:
        return Outcome.EARLY
    if finished_on == due_on and finished_at <= due_at:
        return Outcome.ON_TIME
    return Outcome.LATE


def _first(events: list[LedgerEvent], names: frozenset[str] | str) -> LedgerEvent | None:
    wanted = frozenset({names}) if isinstance(names, str) else names
    return next((e for e in events if e.name in wanted), None)


def _last(events: list[LedgerEvent], names: frozenset[str] | str) -> LedgerEvent | None:
    wanted = frozenset({names}) if isinstance(names, str) else names
    return next((e for e in reversed(events) if e.name in wanted), None)


def _payments(dossier_code: str, events: list[LedgerEvent]) -> tuple[PaymentTxn, ...]:
    by_id: dict[str, dict[str, LedgerEvent]] = {}
    for e in events:
        if e.name in (PAYMENT_SUCCEEDED, PAYMENT_FAILED, PAYMENT_REFUNDED):
            # the first event of each kind per payment counts (events are sorted)
            by_id.setdefault(str(e.data.get("payment_id")), {}).setdefault(e.name, e)
    txns = []
    for payment_id in sorted(by_id):
        kinds = by_id[payment_id]
        success = kinds.get(PAYMENT_SUCCEEDED)
        attempt = success or kinds.get(PAYMENT_FAILED) or kinds[PAYMENT_REFUNDED]
        status = "refunded" if PAYMENT_REFUNDED in kinds else "succeeded" if success else "failed"
        txns.append(
            PaymentTxn(
                payment_id=payment_id,
                dossier_code=dossier_code,
                procedure_code=attempt.data.get("procedure_code"),
                amount_vnd=int(attempt.data.get("amount_vnd") or 0),
                channel=attempt.data.get("channel"),
                status=status,
                succeeded=success is not None,
                at=attempt.at,
            )
        )
    return tuple(txns)


def fold_dossier(dossier_code: str, ledger: Iterable[LedgerEvent]) -> DossierFact:
    """The fact of one dossier from every event recorded about it, whatever their order and repetitions."""
    unique = {e.event_id: e for e in ledger}
    events = sorted((e for e in unique.values() if e.name in DOSSIER_EVENT_NAMES), key=_order)
    f: dict[str, Any] = {"dossier_code": dossier_code, "event_count": len(events)}
    if events:
        f["last_event_at"] = max(e.at for e in events)

    receipt = _first(events, RECEIVED)
    must_digitise_codes: set[str] = set()
    digitised_codes: set[str] = set()
    reused_codes: set[str] = set()
    if receipt is not None:
        d = receipt.data
        sector = d.get("sector") or {}
        applicant = d.get("applicant") or {}
        components = d.get("components") or []
        channel = d.get("channel")
        f.update(
            received_at=receipt.at,
            procedure_code=d.get("procedure_code"),
            procedure_version=d.get("procedure_version"),
            procedure_name=d.get("procedure_name"),
            sector_code=sector.get("code"),
            sector_name=sector.get("name"),
            online_level=d.get("online_level"),
            has_fees=bool(d.get("has_fees")),
            certification=bool(d.get("certification")),
            receiving_agency_code=d.get("receiving_agency_code"),
            receiving_level=d.get("receiving_level"),
            handling_agency_code=d.get("handling_agency_code"),
            handling_level=d.get("handling_level"),
            desk=d.get("desk"),
            channel=channel,
            keyed_in_at_desk=bool(d.get("keyed_in_at_desk")),
            remote_online=channel == "online" and not d.get("keyed_in_at_desk"),
            cross_boundary=bool(d.get("cross_boundary")),
            applicant_kind=applicant.get("kind"),
            applicant_hash=applicant.get("id_hash"),
            identified=bool(applicant.get("identified_by_vneid")),
            initial_due_at=_opt_instant(d.get("due_at")),
            postal_return_requested=bool(d.get("postal_return_requested")),
            components=len(components),
            electronic_components=sum(1 for c in components if c.get("form") in ("electronic", "warehouse")),
        )
        for c in components:
            if c.get("must_digitise"):
                must_digitise_codes.add(str(c.get("code")))
                if c.get("digitised"):
                    digitised_codes.add(str(c.get("code")))
            if c.get("form") == "warehouse":
                reused_codes.add(str(c.get("code")))
        fees_due = int(d.get("fees_due_vnd") or 0)
    else:
        fees_due = 0

    # Digitisation recorded by the digitisation service for a component of this dossier, and re-use of stored data.
    for e in events:
        if e.name == DIGITISED and e.data.get("component_code"):
            digitised_codes.add(str(e.data["component_code"]))
        elif e.name == REUSED:
            reused_codes.add(str(e.data.get("component_code")))
    f["must_digitise"] = len(must_digitise_codes)
    f["digitised"] = len(must_digitise_codes & digitised_codes)
    # Vacuously true when nothing had to be digitised (online submissions need no scanning: Decree 45/2020 Art. 25).
    f["all_digitised"] = receipt is not None and must_digitise_codes <= digitised_codes
    f["reused_components"] = len(reused_codes)
    f["reused"] = bool(reused_codes)

    # Pauses for supplements: sequence numbers make redelivered or reordered events count once.
    requests = {int(e.data.get("sequence", 1)): e for e in reversed(events) if e.name == SUPPLEMENT_REQUESTED}
    supplied = {int(e.data.get("sequence", 1)): e for e in reversed(events) if e.name == SUPPLEMENT_RECEIVED}
    f["supplement_requests"] = len(requests)
    f["paused_seconds"] = sum(int(e.data.get("paused_seconds") or 0) for e in supplied.values())
    if 1 in requests:
        f["pause_started_at"] = requests[1].at
    if 1 in supplied:
        f["pause_ended_at"] = supplied[1].at
        f["due_after_pause"] = _opt_instant(supplied[1].data.get("due_at"))
    later_requests = [e.at for seq, e in requests.items() if seq >= 2]
    if later_requests:
        f["second_request_at"] = min(later_requests)
    due_at = f.get("initial_due_at")
    if supplied:
        due_at = _opt_instant(supplied[max(supplied)].data.get("due_at")) or due_at

    finish = _first(events, FINISHING)
    withdrawal = _first(events, WITHDRAWN)
    if finish is not None and (withdrawal is None or finish.sort_key() < withdrawal.sort_key()):
        f["finished_at"] = finish.at
        f["finish_kind"] = {RESOLVED: FinishKind.RESOLVED, REFUSED: FinishKind.REFUSED, STOPPED: FinishKind.STOPPED}[
            finish.name
        ].value
        if finish.name == RESOLVED:
            f["decision"] = finish.data.get("decision")
            f["e_result"] = bool(finish.data.get("electronic_result"))
            f["result_count"] = len(finish.data.get("result_refs") or []) or 1
        # The finishing event states the due time in force (refusals and stops since the field was added).
        due_at = _opt_instant(finish.data.get("due_at")) or due_at
        f["closed_at"] = finish.at
    elif withdrawal is not None:
        # Closed but not finished: left out of timeliness (domain A1).
        f["withdrawn_at"] = withdrawal.at
        f["closed_at"] = withdrawal.at
    f["due_at"] = due_at
    if f.get("finished_at") is not None and due_at is not None:
        f["outcome"] = outcome(f["finished_at"], due_at, f["supplement_requests"]).value

    overdue = _first(events, OVERDUE)
    if overdue is not None:
        f["overdue_at"] = overdue.at
    returned = _first(events, RETURNED)
    if returned is not None:
        f["returned_at"] = returned.at
        f["return_channel"] = returned.data.get("channel")
    apology = _first(events, APOLOGISED)  # at most one per dossier (Decree 61 Art. 19(9))
    if apology is not None:
        f["apologised_at"] = apology.at
        f["apology_due_at"] = _opt_instant(apology.data.get("new_due_at"))
    explanation = _first(events, EXPLAINED)
    if explanation is not None:
        f["explained_at"] = explanation.at
    rating = _last(events, RATED)  # a citizen may change their rating: the latest counts
    if rating is not None:
        f["rated_at"] = rating.at
        f["rating"] = rating.data.get("rating")

    inter = [e for e in events if e.name == TRANSFERRED and e.data.get("inter_agency")]
    f["transfers"] = sum(1 for e in events if e.name == TRANSFERRED)
    f["inter_agency_transfers"] = len(inter)
    f["paper_transfers"] = sum(1 for e in inter if e.data.get("mode") != "electronic")
    f["all_transfers_electronic"] = bool(inter) and f["paper_transfers"] == 0

    assessment = _last(events, FEE_ASSESSED)  # a re-assessment replaces the earlier one
    assessed = int(assessment.data.get("total_vnd") or 0) if assessment is not None else 0
    payments = _payments(dossier_code, events)
    succeeded = [p for p in payments if p.succeeded]
    paid_online = sum(p.amount_vnd for p in succeeded if p.channel == "online")
    paid_offline = sum(p.amount_vnd for p in succeeded if p.channel != "online")
    online_txns = sum(1 for p in succeeded if p.channel == "online")
    offline_txns = len(succeeded) - online_txns
    fee_payable = bool(f.get("has_fees")) or fees_due > 0 or assessed > 0
    f.update(
        payments=payments,
        fees_assessed_vnd=assessed,
        fee_payable=fee_payable,
        paid_online_vnd=paid_online,
        paid_offline_vnd=paid_offline,
        paid_online=online_txns > 0,
        fees_paid_online=(not fee_payable) or (online_txns > 0 and offline_txns == 0),
    )

    f["postal"] = (
        f.get("channel") == "postal"
        or f.get("return_channel") == "postal"
        or (f.get("returned_at") is None and bool(f.get("postal_return_requested")))
    )
    # Fully online (plan 3/KH-UBND app. III.4.2): received online, every component electronic, fees (if any) paid
    # online, and the result returned electronically.
    f["fully_online"] = (
        f.get("channel") == "online"
        and f.get("electronic_components", 0) == f.get("components", 0)
        and bool(f["fees_paid_online"])
        and f.get("return_channel") == "electronic"
    )
    return DossierFact(**f)


def overdue_at(fact: DossierFact, at: datetime) -> bool:
    """Whether a dossier still in progress at ``at`` is past its due time then (the report's "in progress overdue").

    The due time in force at ``at`` is what counts: during a pause the clock stands still, so a paused dossier is
    overdue only if the pause began after its due time; after a pause, the moved due time applies; a second request
    to supplement made before ``at`` makes it late (national index rule).
    """
    if fact.second_request_at is not None and fact.second_request_at < at:
        return True
    paused = fact.pause_started_at is not None and fact.pause_started_at < at
    resumed = fact.pause_ended_at is not None and fact.pause_ended_at < at
    if paused and not resumed:
        assert fact.pause_started_at is not None
        return fact.initial_due_at is not None and fact.pause_started_at > fact.initial_due_at
    if resumed:
        due = fact.due_after_pause or fact.due_at
        return due is not None and due < at
    return fact.initial_due_at is not None and fact.initial_due_at < at


def in_progress_at(fact: DossierFact, at: datetime) -> bool:
    """Received before ``at`` and neither finished nor withdrawn before it."""
    return (
        fact.received_at is not None
        and fact.received_at < at
        and not (fact.finished_at is not None and fact.finished_at < at)
        and not (fact.withdrawn_at is not None and fact.withdrawn_at < at)
    )
