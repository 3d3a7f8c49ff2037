"""Request and response models of the dossier routes: receipt, lifecycle commands, staff and public views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from libs.common.contract import (
    ApplicantKind,
    Channel,
    ComponentForm,
    Decision,
    Rating,
    ReturnChannel,
    TransferMode,
)
from libs.common.validation import CleanInput
from services.intake.domain.codes import is_enterprise_code, is_procedure_code, personal_id_problem
from services.intake.integrations.consent import NoticesIn
from services.intake.schemas import AT_DESCRIPTION, check_agency_code


class ApplicantIn(CleanInput):
    kind: ApplicantKind
    id_code: str = Field(description="12-digit personal identification number, or enterprise/tax code")
    name: str = Field(min_length=1, max_length=300)
    identified_by_vneid: bool = Field(False, description="identity verified by the national e-ID (VNeID)")
    address: str | None = Field(None, max_length=500)
    phone: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=200)

    @model_validator(mode="after")
    def _id_code_format(self) -> ApplicantIn:
        if self.kind is ApplicantKind.PERSON:
            problem = personal_id_problem(self.id_code)
            if problem:
                raise ValueError(f"id_code: {problem}")
        elif not is_enterprise_code(self.id_code):
            raise ValueError("id_code: an enterprise code is 10 digits, or NNNNNNNNNN-NNN for a dependent unit")
        return self


class ComponentIn(CleanInput):
    code: str = Field(min_length=1, max_length=60, description="document-type code from the catalogue")
    form: ComponentForm
    digitised: bool = Field(False, description="a digitised copy was made at reception")
    copies: int = Field(1, ge=1, le=100)


class DossierCreate(CleanInput):
    """A dossier as received at a desk or through the portal."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "procedure_code": "1.001193",
                "receiving_agency_code": "000.00.00.H56",
                "channel": "online",
                "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn A"},
                "components": [{"code": "TP1", "form": "electronic"}],
            }
        }
    )

    procedure_code: str
    receiving_agency_code: str
    receiving_level: str | None = Field(
        None, max_length=30, description="administrative level of the receiving agency; default: the agency replica"
    )
    handling_agency_code: str | None = Field(None, description="the deciding agency; default: the receiving agency")
    handling_level: str | None = Field(None, max_length=30, description="level of the deciding agency")
    desk: str | None = Field(None, max_length=60)
    channel: Channel
    keyed_in_at_desk: bool = Field(
        False, description="an online dossier keyed in at the desk on the applicant's behalf"
    )
    cross_boundary: bool = Field(False, description="received outside the applicant's administrative boundary")
    applicant: ApplicantIn
    components: list[ComponentIn] = []
    postal_return_requested: bool = False
    content: str | None = Field(None, max_length=2000, description="content of the request, as on form 01")
    at: AwareDatetime | None = Field(None, description="when it was received, if recorded later; never in the future")
    notices: NoticesIn | None = Field(None, description="the citizen's consent to notices (SMS, Zalo, e-mail)")

    @field_validator("procedure_code")
    @classmethod
    def _procedure_code(cls, value: str) -> str:
        if not is_procedure_code(value):
            raise ValueError("a procedure code looks like 1.001193 (N.NNNNNN)")
        return value

    @field_validator("receiving_agency_code", "handling_agency_code")
    @classmethod
    def _agency_codes(cls, value: str | None) -> str | None:
        return check_agency_code(value)


class CommandIn(CleanInput):
    model_config = ConfigDict(extra="forbid")
    at: AwareDatetime | None = Field(None, description=AT_DESCRIPTION)


class TransferIn(CommandIn):
    to_agency_code: str
    step: str | None = Field(None, max_length=200, description="the processing step it moves to")
    mode: TransferMode = TransferMode.ELECTRONIC
    note: str | None = Field(None, max_length=2000)

    @field_validator("to_agency_code")
    @classmethod
    def _to_agency(cls, value: str) -> str:
        check_agency_code(value)
        return value


class SupplementRequestIn(CommandIn):
    items: list[str] = Field(min_length=1, description="what the applicant must complete, all at once (form 02)")
    reason: str = Field(min_length=1, max_length=2000)


class SupplementReceivedIn(CommandIn):
    items: list[str] = []


class ReasonIn(CommandIn):
    reason: str = Field(min_length=1, max_length=2000)


class WithdrawalIn(CommandIn):
    reason: str | None = Field(None, max_length=2000)


class ResultIn(CommandIn):
    decision: Decision
    electronic_result: bool
    result_count: int = Field(1, ge=1, le=50, description="how many result documents (each gets <code>-KQ<n>)")


class ReturnIn(CommandIn):
    channel: ReturnChannel


class ApologyIn(CommandIn):
    reason: str = Field(min_length=1, max_length=2000)
    new_due_at: AwareDatetime = Field(description="the new appointment told to the applicant (form 04)")


class ExplanationIn(CommandIn):
    cause: str = Field(min_length=1, max_length=4000)


class RatingIn(CommandIn):
    rating: Rating
    comment: str | None = Field(None, max_length=2000)


class ApplicantRead(BaseModel):
    kind: ApplicantKind
    id_code: str
    name: str
    identified_by_vneid: bool


class TimeLimitRead(BaseModel):
    amount: int
    unit: str


class DossierRead(BaseModel):
    """A dossier as staff see it. Times are UTC; ``appointment_text`` is the local appointment as form 01 writes it."""

    code: str
    status: str
    procedure_code: str
    procedure_version: int
    procedure_name: str
    receiving_agency_code: str
    receiving_level: str
    handling_agency_code: str
    handling_level: str
    current_agency_code: str
    desk: str | None
    channel: Channel
    keyed_in_at_desk: bool
    cross_boundary: bool
    applicant: ApplicantRead
    time_limit: TimeLimitRead
    received_at: datetime
    initial_due_at: datetime = Field(description="the appointment given at receipt (form 01)")
    due_at: datetime = Field(description="due time in force: pauses for supplements included, apology excluded")
    appointment_at: datetime = Field(description="what the applicant is told: the apology's new date if any")
    appointment_text: str
    fees_due_vnd: int
    supplement_requests: int
    paused_at: datetime | None
    paused_seconds: int
    apology_due_at: datetime | None
    apology_issued_in_time: bool | None = Field(
        default=None,
        description="whether the apology (form 04) came at least one working day before the due time in force; "
        "null without an apology",
    )
    explained_at: datetime | None
    finished_at: datetime | None
    decision: str | None
    electronic_result: bool | None
    result_refs: list[str]
    returned_at: datetime | None
    return_channel: str | None
    rating: str | None
    outcome: str | None = Field(description="early / on_time / late once finished; null while open or if withdrawn")
    overdue: bool
    allowed_commands: list[str]
    components: list[dict[str, Any]]


class DossierPage(BaseModel):
    items: list[DossierRead]
    total: int
    page: int
    page_size: int


class PublicDossierRead(BaseModel):
    """What anyone holding the dossier code may see: no personal data beyond a masked name."""

    code: str
    status: str
    procedure_name: str
    applicant: str = Field(description="masked: family name in full, other words as initials ('Nguyễn V. A.')")
    received_at: datetime
    appointment_at: datetime
    appointment_text: str
    finished_at: datetime | None
    returned_at: datetime | None


class PersonalDataReadRead(BaseModel):
    """One time an agency read or changed the applicant's personal data in this dossier."""

    at: datetime
    agency_code: str | None = Field(
        description="the agency that acted; 'province-wide' for a provincial officer; null for the public portal "
        "acting for the applicant"
    )
    action: str = Field(description="read, create, change or export")


class PersonalDataReadsRead(BaseModel):
    """Who has seen this dossier's personal data, and when (Decree 13/2023 on personal data protection)."""

    code: str
    reads: list[PersonalDataReadRead]
