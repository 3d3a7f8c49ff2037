"""Payload models of every event type motcua publishes: the one contract all five services import.

Rules (docs/events.md): within a version only add optional fields; anything else is a new version with an upcaster
from the previous one. Consumers read only the fields they need. Times are timezone-aware and normalised to UTC.
Money is an integer number of VND.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from libs.common.contract.timeliness import Outcome


class Topic(StrEnum):
    """Topic suffixes; the full name is ``<prefix>.<suffix>`` with a deployment-wide prefix (default ``motcua``)."""

    PROCEDURES = "catalogue.procedures"
    AGENCIES = "catalogue.agencies"
    DOSSIERS = "intake.dossiers"
    QUEUE = "intake.queue"
    DOCUMENTS = "digitisation.documents"
    PAYMENTS = "payments.payments"
    PLANS = "reporting.plans"


class EventPayload(BaseModel):
    """Base of every payload: names its event type, version, topic and which field is the aggregate id."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_name: ClassVar[str]
    version: ClassVar[int] = 1
    topic: ClassVar[Topic]
    subject_field: ClassVar[str]

    def subject(self) -> str:
        return str(getattr(self, self.subject_field))


# ---------------------------------------------------------------- shared vocabulary

# Personal data in the published schema (docs/security.md#personal-data): ``x-personal-data`` says in which form a
# field carries it. "pseudonym": a keyed pseudonym (<key id>:<HMAC-SHA-256 hex>), never the clear value;
# "free-text": text a person typed, which may name someone: consumers never log it.
PSEUDONYM: dict[str, Any] = {"x-personal-data": "pseudonym"}
FREE_TEXT: dict[str, Any] = {"x-personal-data": "free-text"}
# "public-servant": an officer's name on a step they took in office; published on purpose (see ``OfficerRef``).
PUBLIC_SERVANT: dict[str, Any] = {"x-personal-data": "public-servant"}
PSEUDONYM_PATTERN = r"^[^:]+:[0-9a-f]{64}$"


class Channel(StrEnum):
    """How a dossier was received (national portal codes 1 in person, 2 online, 3 postal)."""

    COUNTER = "counter"
    ONLINE = "online"
    POSTAL = "postal"


class ReturnChannel(StrEnum):
    COUNTER = "counter"
    POSTAL = "postal"
    ELECTRONIC = "electronic"


class OnlineLevel(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


class LimitUnit(StrEnum):
    WORKING_DAYS = "working_days"
    WORKING_HOURS = "working_hours"
    SAME_DAY = "same_day"


class ApplicantKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


class ComponentForm(StrEnum):
    """How a required document reached the dossier."""

    PAPER = "paper"
    ELECTRONIC = "electronic"
    WAREHOUSE = "warehouse"  # taken from the data warehouse / a connected database (DuocLayTuKhoDMQG)


class TransferMode(StrEnum):
    ELECTRONIC = "electronic"
    PAPER = "paper"


class Decision(StrEnum):
    APPROVED = "approved"
    DENIED = "denied"


class Rating(StrEnum):
    VERY_SATISFIED = "very_satisfied"
    SATISFIED = "satisfied"
    UNSATISFIED = "unsatisfied"


class PaymentChannel(StrEnum):
    ONLINE = "online"  # national payment platform (PayGov) or a provincial gateway
    COUNTER = "counter"  # cash or transfer at the desk
    POSTAL = "postal"  # paid to the postal operator


class OfficerRef(BaseModel):
    """The officer who took a step, as the principal names them. Officers are public servants acting in office: their
    name on a step of a public procedure is not private (docs/security.md, "Personal data"). ``id`` is the
    principal's subject, an opaque account id (identity provider or API key), never an identity number.

    Optional on every event of an officer's step in intake, added in v1: None on events recorded before the field
    existed, on steps taken by an integration (the portal) and on imported history that names nobody — never a guess."""

    model_config = ConfigDict(frozen=True)
    id: str
    display_name: str = Field(json_schema_extra=PUBLIC_SERVANT)
    title: str | None = None


class TimeLimitData(BaseModel):
    model_config = ConfigDict(frozen=True)
    amount: int = Field(ge=0)
    unit: LimitUnit


# ---------------------------------------------------------------- catalogue


class Sector(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str | None = None
    name: str


class FeeItem(BaseModel):
    model_config = ConfigDict(frozen=True)
    name: str
    amount_vnd: int | None = Field(default=None, ge=0)  # None: set by the provincial council, not known here
    kind: str = "fee"  # fee (phí) or charge (lệ phí)
    payable_online: bool = False


class DocumentComponent(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str  # document-type code
    name: str
    copies: int = 1
    required: bool = True
    must_digitise: bool = False
    reusable_from_warehouse: bool = False


class ResultDocument(BaseModel):
    model_config = ConfigDict(frozen=True)
    type_code: str
    name: str
    electronic: bool = True


class ProcessStep(BaseModel):
    model_config = ConfigDict(frozen=True)
    order: int
    actor: str
    action: str
    allowance_hours: float = Field(ge=0)


class DecisionRef(BaseModel):
    """The legal act that published, amended or withdrew a procedure."""

    model_config = ConfigDict(frozen=True)
    number: str
    signed_on: date
    effective_on: date


class ProcedureSnapshot(BaseModel):
    """The whole procedure as published, so that consumers keep their own replica."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    code: str
    version: int
    name: str
    sector: Sector
    levels: list[str]
    agency_kinds: list[str] = []
    agency_codes: list[str] = []  # agencies that handle it; empty = any agency at one of `levels`
    time_limit: TimeLimitData
    fees: list[FeeItem] = []
    components: list[DocumentComponent] = []
    results: list[ResultDocument] = []
    online_level: OnlineLevel = OnlineLevel.NONE
    postal_allowed: bool = False
    cross_boundary_allowed: bool = False
    inter_agency: bool = False
    participating_agencies: list[str] = []
    certification: bool = False
    public: bool = True
    process: list[ProcessStep] = []
    decision: DecisionRef
    in_force_from: date
    in_force_until: date | None = None
    # Decision 766 transparency facts (docs/domain.md §Publication of procedures); optional, added in v1.
    # The day the procedure was made public in the national procedure database; None = not (yet) known there.
    public_in_national_db_on: date | None = None
    # The latest signing day of a decision published on time, and the last day for being public in the national
    # database on time, both counted by the catalogue in working days; None in snapshots published before them.
    publication_due_on: date | None = None
    national_db_due_on: date | None = None
    # All seven components of a procedure present (name, steps, manner of submission, dossier, time limit, fees,
    # result); missing_components names those absent.
    components_complete: bool | None = None
    missing_components: list[str] = []


class ProcedurePublished(EventPayload):
    event_name = "catalogue.procedure.published"
    topic = Topic.PROCEDURES
    subject_field = "code"
    code: str
    procedure: ProcedureSnapshot


class ProcedureAmended(EventPayload):
    event_name = "catalogue.procedure.amended"
    topic = Topic.PROCEDURES
    subject_field = "code"
    code: str
    procedure: ProcedureSnapshot


class ProcedureWithdrawn(EventPayload):
    event_name = "catalogue.procedure.withdrawn"
    topic = Topic.PROCEDURES
    subject_field = "code"
    code: str
    procedure: ProcedureSnapshot
    withdrawn_on: date


class AgencyPublished(EventPayload):
    event_name = "catalogue.agency.published"
    topic = Topic.AGENCIES
    subject_field = "code"
    code: str
    name: str
    level: str
    parent_code: str | None = None
    area_kind: str | None = None  # e.g. urban / rural / remote (staff_productivity targets differ)
    desks: list[str] = []
    desk_officers: int | None = None
    procedure_codes: list[str] = []
    # The agency's own working hours and days (docs/domain.md §Working hours); optional, added in v1. None / empty =
    # the province's. Sessions as "07:00-11:30,13:30-17:00"; the days in Asia/Ho_Chi_Minh.
    opening_sessions: str | None = None
    extra_holidays: list[date] = []
    extra_working_days: list[date] = []


# ---------------------------------------------------------------- intake: dossiers


class Applicant(BaseModel):
    """Who applied, as the bus may carry it (v2): no identity number, name or contact, only a keyed pseudonym.

    Intake keeps the clear values in its own tables; a consumer that needs them asks intake."""

    model_config = ConfigDict(frozen=True)
    kind: ApplicantKind
    # <key id>:<HMAC-SHA-256 hex> of the 12-digit identity number or enterprise/tax code (libs/common/privacy.py):
    # the same person has the same pseudonym under one key, so reports count distinct applicants.
    pseudonym: str = Field(pattern=PSEUDONYM_PATTERN, json_schema_extra=PSEUDONYM)
    identified_by_vneid: bool = False


class SubmittedComponent(BaseModel):
    model_config = ConfigDict(frozen=True)
    code: str
    form: ComponentForm
    must_digitise: bool = False
    digitised: bool = False  # a digitised copy was made at reception


class DossierReceived(EventPayload):
    """v2: the applicant is a pseudonym (v1 carried the identity number and name; upcast with the key ring)."""

    event_name = "intake.dossier.received"
    version = 2
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    procedure_code: str
    procedure_version: int
    procedure_name: str
    sector: Sector
    online_level: OnlineLevel
    has_fees: bool
    certification: bool = False
    receiving_agency_code: str
    receiving_level: str
    handling_agency_code: str
    handling_level: str
    desk: str | None = None
    channel: Channel
    keyed_in_at_desk: bool = False
    cross_boundary: bool = False
    applicant: Applicant
    components: list[SubmittedComponent] = []
    time_limit: TimeLimitData
    received_at: AwareDatetime
    due_at: AwareDatetime
    fees_due_vnd: int = 0
    postal_return_requested: bool = False
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierTransferred(EventPayload):
    event_name = "intake.dossier.transferred"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    from_agency_code: str
    to_agency_code: str
    step: str | None = None
    mode: TransferMode
    inter_agency: bool
    at: AwareDatetime
    # A paper transfer recorded after 15:00 takes effect at the next working day's opening (Decree 61/2018 Art. 18)
    effective_at: AwareDatetime | None = None
    # Out of the one-stop desk later than the same working day (the next one if received after 15:00); None for a
    # transfer between handling agencies and for events recorded before the field existed
    late: bool | None = None
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class SupplementRequested(EventPayload):
    """Form 02 during processing: pauses the clock until the supplement arrives."""

    event_name = "intake.dossier.supplement_requested"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    sequence: int = Field(ge=1)  # the second request makes the dossier late (national index rule)
    items: list[str]
    reason: str
    at: AwareDatetime
    # Within three working days of the start of the handling step (receipt, or the last transfer to another agency
    # in linked processing), Decree 61/2018 Art. 19; None for events recorded before the field existed
    in_time: bool | None = None
    handling_agency_code: str | None = None  # the agency that asked (the dossier's current agency)
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class SupplementReceived(EventPayload):
    event_name = "intake.dossier.supplement_received"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    sequence: int = Field(ge=1)
    paused_seconds: int = Field(ge=0)  # working time the clock stood still
    due_at: AwareDatetime  # due time in force after the pause
    at: AwareDatetime
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierRefused(EventPayload):
    """Form 03: refused after acceptance; finished for timeliness."""

    event_name = "intake.dossier.refused"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    reason: str
    # due time in force when it finished (pauses included, apology excluded); optional, added in v1
    due_at: AwareDatetime | None = None
    # intake's verdict (libs.common.contract.timeliness); optional, added in v1: absent on older events
    outcome: Outcome | None = None
    at: AwareDatetime
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierWithdrawn(EventPayload):
    """Withdrawn by the applicant: closed but not finished, left out of timeliness."""

    event_name = "intake.dossier.withdrawn"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    reason: str | None = None
    at: AwareDatetime
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierStopped(EventPayload):
    event_name = "intake.dossier.stopped"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    reason: str
    # due time in force when it finished (pauses included, apology excluded); optional, added in v1
    due_at: AwareDatetime | None = None
    # intake's verdict (libs.common.contract.timeliness); optional, added in v1: absent on older events
    outcome: Outcome | None = None
    at: AwareDatetime
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierResolved(EventPayload):
    event_name = "intake.dossier.resolved"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    decision: Decision
    electronic_result: bool
    result_refs: list[str] = []  # <dossier code>-KQ<n>
    due_at: AwareDatetime  # due time in force (pauses included, apology excluded)
    # intake's verdict (libs.common.contract.timeliness); optional, added in v1: absent on older events
    outcome: Outcome | None = None
    at: AwareDatetime
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierReturned(EventPayload):
    event_name = "intake.dossier.returned"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    channel: ReturnChannel
    at: AwareDatetime
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierApologised(EventPayload):
    """Form 04: apology with a new appointment; never changes the outcome."""

    event_name = "intake.dossier.apologised"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    reason: str
    new_due_at: AwareDatetime
    at: AwareDatetime
    # Issued at least one working day before the due time in force (docs/domain.md, "Apology"); None for events
    # recorded before the field existed
    issued_in_time: bool | None = None
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierExplained(EventPayload):
    """Explanation of the cause of lateness to the head of the agency."""

    event_name = "intake.dossier.explained"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    cause: str
    at: AwareDatetime
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierRated(EventPayload):
    event_name = "intake.dossier.rated"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    rating: Rating
    comment: str | None = Field(None, json_schema_extra=FREE_TEXT)  # the citizen's words: intake keeps them
    at: AwareDatetime
    officer: OfficerRef | None = None  # who took the step; optional, added in v1 (see OfficerRef)


class DossierOverdue(EventPayload):
    """Published once when an unresolved dossier passes its due time."""

    event_name = "intake.dossier.overdue"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    due_at: AwareDatetime
    at: AwareDatetime


class DossierSyncedToPortal(EventPayload):
    """The national portal accepted a record (``DongBoHoSoMC``) or a step (``CapNhatTienDoHoSoMC``) of a dossier.

    Published by intake in the transaction that records the delivery's success; no personal data."""

    event_name = "intake.dossier.synced_to_portal"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    service: str  # "DongBoHoSoMC" | "CapNhatTienDoHoSoMC"
    attempts: int
    at: AwareDatetime


class DossierSyncToPortalFailed(EventPayload):
    """A record or step of a dossier is a dead letter: the portal refused it or retries ran out (``reason`` is the
    failure's code, e.g. ``portal_02``). A replay that succeeds later publishes ``DossierSyncedToPortal``."""

    event_name = "intake.dossier.sync_to_portal_failed"
    topic = Topic.DOSSIERS
    subject_field = "dossier_code"
    dossier_code: str
    service: str
    reason: str
    attempts: int
    at: AwareDatetime


class QueueTicketServed(EventPayload):
    event_name = "intake.queue.ticket_served"
    topic = Topic.QUEUE
    subject_field = "ticket_id"
    ticket_id: str
    agency_code: str
    level: str | None = None
    desk: str
    issued_at: AwareDatetime
    served_at: AwareDatetime
    wait_seconds: int = Field(ge=0)


# ---------------------------------------------------------------- digitisation


class DocumentDigitised(EventPayload):
    """v2: the document is named by its holder's pseudonym and its type (v1's ``document_id`` began with the
    holder's identity number)."""

    event_name = "digitisation.document.digitised"
    version = 2
    topic = Topic.DOCUMENTS
    subject_field = "dossier_code"
    holder_pseudonym: str = Field(pattern=PSEUDONYM_PATTERN, json_schema_extra=PSEUDONYM)
    document_version: int = 1
    type_code: str
    dossier_code: str | None = None
    component_code: str | None = None
    signed: bool = False
    at: AwareDatetime

    def subject(self) -> str:
        # Outside a dossier the key is the document (holder and type), so one document's versions stay in order.
        return self.dossier_code or f"{self.holder_pseudonym}.{self.type_code}"


class DocumentReused(EventPayload):
    """v2: the document re-used is named by its holder's pseudonym and its type (see ``DocumentDigitised``)."""

    event_name = "digitisation.document.reused"
    version = 2
    topic = Topic.DOCUMENTS
    subject_field = "dossier_code"
    holder_pseudonym: str = Field(pattern=PSEUDONYM_PATTERN, json_schema_extra=PSEUDONYM)
    type_code: str
    dossier_code: str
    component_code: str
    at: AwareDatetime


# ---------------------------------------------------------------- payments


class FeeAssessed(EventPayload):
    event_name = "payments.fee.assessed"
    topic = Topic.PAYMENTS
    subject_field = "dossier_code"
    dossier_code: str
    procedure_code: str
    items: list[FeeItem]
    total_vnd: int = Field(ge=0)
    at: AwareDatetime


class PaymentSucceeded(EventPayload):
    event_name = "payments.payment.succeeded"
    topic = Topic.PAYMENTS
    subject_field = "dossier_code"
    payment_id: str
    dossier_code: str
    procedure_code: str
    amount_vnd: int = Field(ge=0)
    channel: PaymentChannel
    provider: str | None = None  # paygov / provincial gateway id / cash
    at: AwareDatetime


class PaymentFailed(EventPayload):
    event_name = "payments.payment.failed"
    topic = Topic.PAYMENTS
    subject_field = "dossier_code"
    payment_id: str
    dossier_code: str
    procedure_code: str
    amount_vnd: int = Field(ge=0)
    channel: PaymentChannel
    reason: str
    at: AwareDatetime


class PaymentRefunded(EventPayload):
    event_name = "payments.payment.refunded"
    topic = Topic.PAYMENTS
    subject_field = "dossier_code"
    payment_id: str
    dossier_code: str
    amount_vnd: int = Field(ge=0)
    reason: str
    at: AwareDatetime


# ---------------------------------------------------------------- reporting


class PlanTargetData(BaseModel):
    model_config = ConfigDict(frozen=True)
    indicator: str
    comparator: str
    value: float
    year: int | None = None
    scope: dict[str, Any] = {}


class PlanLoaded(EventPayload):
    event_name = "reporting.plan.loaded"
    topic = Topic.PLANS
    subject_field = "plan_id"
    plan_id: str
    name: str
    legal_reference: str
    years: list[int]
    targets: list[PlanTargetData]
    at: AwareDatetime


EVENT_TYPES: tuple[type[EventPayload], ...] = (
    ProcedurePublished,
    ProcedureAmended,
    ProcedureWithdrawn,
    AgencyPublished,
    DossierReceived,
    DossierTransferred,
    SupplementRequested,
    SupplementReceived,
    DossierRefused,
    DossierWithdrawn,
    DossierStopped,
    DossierResolved,
    DossierReturned,
    DossierApologised,
    DossierExplained,
    DossierRated,
    DossierOverdue,
    DossierSyncedToPortal,
    DossierSyncToPortalFailed,
    QueueTicketServed,
    DocumentDigitised,
    DocumentReused,
    FeeAssessed,
    PaymentSucceeded,
    PaymentFailed,
    PaymentRefunded,
    PlanLoaded,
)
