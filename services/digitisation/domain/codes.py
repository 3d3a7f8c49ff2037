"""What digitisation adds to the shared identifier formats (docs/domain.md §Identifiers): which kind of holder an
identity code names, messages that say which part of a code is wrong, and the parts of a document id.

A digitised document is named ``<identity code>.<document type code>``: the holder's 12-digit personal
identification number for a person, the enterprise (tax) code for an organisation, then the type.
"""

from __future__ import annotations

from enum import StrEnum

from libs.common.contract import (
    DOCUMENT_TYPE_CODE,
    DOSSIER_CODE,
    ENTERPRISE_CODE,
    PERSONAL_ID_NUMBER,
    personal_id_problem,
)

__all__ = [
    "HolderKind",
    "document_id",
    "enterprise_code_problem",
    "holder_kind_of",
    "identity_code_problem",
    "is_dossier_code",
    "personal_id_problem",
    "split_document_id",
    "type_code_problem",
]


class HolderKind(StrEnum):
    PERSON = "person"
    ORGANISATION = "organisation"


def enterprise_code_problem(value: str) -> str | None:
    if ENTERPRISE_CODE.fullmatch(value) is None:
        return "an enterprise code is 10 digits, or NNNNNNNNNN-NNN for a dependent unit"
    return None


def holder_kind_of(id_code: str) -> HolderKind | None:
    """The kind of holder an identity code names, or None when it is neither format."""
    if PERSONAL_ID_NUMBER.fullmatch(id_code) is not None:
        return HolderKind.PERSON
    if ENTERPRISE_CODE.fullmatch(id_code) is not None:
        return HolderKind.ORGANISATION
    return None


def identity_code_problem(id_code: str, kind: HolderKind | None = None) -> str | None:
    """Why ``id_code`` is not an identity code (of ``kind`` when given), or None if it is one."""
    if kind is HolderKind.PERSON:
        return personal_id_problem(id_code)
    if kind is HolderKind.ORGANISATION:
        return enterprise_code_problem(id_code)
    if holder_kind_of(id_code) is not None:
        return None
    if id_code.isdigit() and len(id_code) == 12:
        return personal_id_problem(id_code)
    return "expected a 12-digit personal identification number or a 10-digit enterprise code (NNNNNNNNNN[-NNN])"


def type_code_problem(value: str) -> str | None:
    if DOCUMENT_TYPE_CODE.fullmatch(value) is None:
        return "a document type code is 1–40 letters, digits, '-' or '_' (a result code or a component code)"
    return None


def is_dossier_code(value: str) -> bool:
    return DOSSIER_CODE.fullmatch(value) is not None


def document_id(holder_id_code: str, type_code: str) -> str:
    return f"{holder_id_code}.{type_code}"


def split_document_id(value: str) -> tuple[str, str] | None:
    """``(identity code, type code)`` of a well-formed document id, else None."""
    holder, dot, type_code = value.rpartition(".")
    if not dot or identity_code_problem(holder) is not None or type_code_problem(type_code) is not None:
        return None
    return holder, type_code
