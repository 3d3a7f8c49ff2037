"""Request and response models of the digitisation API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from libs.common.validation import CleanInput
from services.digitisation.domain.codes import HolderKind
from services.digitisation.domain.warehouse import Source, Validity

SHA256_HEX = r"^[0-9a-f]{64}$"


class DocumentCreate(CleanInput):
    """One digitisation: a scan signed by the officer at reception, an electronic result, or an e-certified copy."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "holder_id_code": "001204012345",
                "holder_kind": "person",
                "type_code": "KQ001193",
                "name": "Giấy khai sinh",
                "source": "scan",
                "dossier_code": "000.00.00.H56-260302-0001",
                "component_code": "GKS",
                "signed": True,
                "file_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            }
        }
    )

    holder_id_code: str = Field(
        description="the holder's 12-digit personal identification number, or the enterprise code (10 digits or "
        "NNNNNNNNNN-NNN)"
    )
    holder_kind: HolderKind
    type_code: str = Field(
        description="document type: the procedure's result code for a result, else the catalogue's component code"
    )
    name: str = Field(min_length=1, max_length=300)
    source: Source
    dossier_code: str | None = Field(None, description="the dossier the document was submitted with or issued for")
    component_code: str | None = Field(
        None, max_length=60, description="the dossier component it digitises; needs dossier_code"
    )
    signed: bool = Field(
        False, description="digitally signed (by the officer for a scan; required for e-results and e-certified copies)"
    )
    valid_until: date | None = Field(None, description="last day of validity (inclusive); none: no expiry")
    file_sha256: str = Field(pattern=SHA256_HEX, description="SHA-256 of the stored file, lowercase hex")


class DocumentRead(BaseModel):
    id: str = Field(description="<identity code>.<document type code>")
    version: int
    holder_id_code: str
    holder_kind: HolderKind
    type_code: str
    name: str
    source: Source
    dossier_code: str | None
    component_code: str | None
    signed: bool
    valid_until: date | None
    file_sha256: str
    created_at: datetime
    validity: Validity = Field(description="valid (offered for re-use), unsigned, expired or superseded")


class DocumentHistory(BaseModel):
    id: str
    offered_version: int | None = Field(description="the version re-use offers now, if any")
    versions: list[DocumentRead] = Field(description="newest first")


class HolderDocuments(BaseModel):
    holder_id_code: str
    holder_kind: HolderKind
    on: date = Field(description="the local date validity was judged on (Asia/Ho_Chi_Minh)")
    documents: list[DocumentRead] = Field(description="per document type, the version re-use offers")


class ReuseCreate(CleanInput):
    model_config = ConfigDict(
        json_schema_extra={"example": {"component_code": "GKS", "document_id": "001204012345.KQ001193"}}
    )

    component_code: str = Field(min_length=1, max_length=60, description="the dossier component it stands for")
    document_id: str = Field(description="<identity code>.<document type code>, as the holder's view lists it")


class ReuseRead(BaseModel):
    dossier_code: str
    component_code: str
    document_id: str
    document_version: int
    reused_at: datetime
