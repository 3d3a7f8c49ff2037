from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from libs.common.contract import ApplicantKind, Channel, ComponentForm
from services.intake.domain.codes import is_agency_code, is_enterprise_code, is_procedure_code, personal_id_problem


class ApplicantIn(BaseModel):
    kind: ApplicantKind
    id_code: str = Field(description="12-digit personal identification number, or enterprise/tax code")
    name: str = Field(min_length=1, max_length=300)
    identified_by_vneid: bool = False

    @model_validator(mode="after")
    def _id_code_format(self) -> ApplicantIn:
        if self.kind is ApplicantKind.PERSON:
            problem = personal_id_problem(self.id_code)
            if problem:
                raise ValueError(f"id_code: {problem}")
        elif not is_enterprise_code(self.id_code):
            raise ValueError("id_code: an enterprise code is 10 digits, or NNNNNNNNNN-NNN for a dependent unit")
        return self


class ComponentIn(BaseModel):
    code: str = Field(min_length=1, max_length=60, description="document-type code from the catalogue")
    form: ComponentForm
    digitised: bool = False


class DossierCreate(BaseModel):
    """A dossier as received at a desk or through the portal."""

    model_config = ConfigDict(json_schema_extra={"example": {
        "procedure_code": "1.001193",
        "receiving_agency_code": "000.00.00.H56",
        "channel": "online",
        "applicant": {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn A"},
        "components": [{"code": "TP1", "form": "electronic"}],
    }})

    procedure_code: str
    receiving_agency_code: str
    handling_agency_code: str | None = None
    desk: str | None = None
    channel: Channel
    keyed_in_at_desk: bool = False
    cross_boundary: bool = False
    applicant: ApplicantIn
    components: list[ComponentIn] = []
    postal_return_requested: bool = False
    at: AwareDatetime | None = Field(None, description="when it was received, if recorded later; never in the future")

    @field_validator("procedure_code")
    @classmethod
    def _procedure_code(cls, value: str) -> str:
        if not is_procedure_code(value):
            raise ValueError("a procedure code looks like 1.001193 (N.NNNNNN)")
        return value

    @field_validator("receiving_agency_code", "handling_agency_code")
    @classmethod
    def _agency_code(cls, value: str | None) -> str | None:
        if value is not None and not is_agency_code(value):
            raise ValueError("an agency code looks like 000.00.00.H56 (QCVN 102:2016)")
        return value


class DossierRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    procedure_code: str
    receiving_agency_code: str
    handling_agency_code: str
    channel: Channel
    status: str
    received_at: datetime
    due_at: datetime
