"""The data warehouse's rules: versions of a holder's documents and which one re-use may offer.

A holder may hold several documents of one type (a renewed licence, a re-issued certificate): they keep one id
``<identity code>.<type code>`` and get versions 1, 2, … (docs/domain.md §Identifiers). The newest version is the
holder's current document; earlier versions are superseded and never offered, even when they have not expired, because
taking an outdated document from the warehouse would break the once-only rule's premise that the state's copy is the
right one (Decree 47/2020 Art. 9(3)). The current version is offered for re-use only while it is valid: signed (the
officer's or the agency's digital signature is what makes a scan a digitisation result, Circular 01/2023/TT-VPCP Art. 7)
and not past its ``valid_until`` date (inclusive, in Asia/Ho_Chi_Minh).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from services.digitisation.domain.codes import HolderKind, identity_code_problem, is_dossier_code, type_code_problem


class Source(StrEnum):
    SCAN = "scan"  # a paper document scanned at reception and signed by the officer (Circular 01/2023 Art. 7)
    E_RESULT = "e-result"  # an electronic result of a procedure (Decree 45/2020 Art. 14)
    E_CERTIFIED_COPY = (
        "e-certified-copy"  # an electronic copy certified from the paper original (Decree 45/2020 Art. 3)
    )


# An electronic result carries the agency's digital signature and an e-certified copy the certifier's; neither
# exists unsigned (Decree 45/2020 Art. 3, 14). A scan may be recorded before the officer signs it.
MUST_BE_SIGNED: frozenset[Source] = frozenset({Source.E_RESULT, Source.E_CERTIFIED_COPY})


class Validity(StrEnum):
    VALID = "valid"
    UNSIGNED = "unsigned"
    EXPIRED = "expired"
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Version:
    """What the rules need to know about one stored version."""

    document_id: str
    version: int
    type_code: str
    signed: bool
    valid_until: date | None
    file_sha256: str
    dossier_code: str | None = None
    component_code: str | None = None


def next_version(existing: Iterable[int]) -> int:
    return max(existing, default=0) + 1


def validity(doc: Version, newest_version: int, today: date) -> Validity:
    """Why ``doc`` may or may not be offered for re-use on ``today`` (local date)."""
    if doc.version < newest_version:
        return Validity.SUPERSEDED
    if not doc.signed:
        return Validity.UNSIGNED
    if doc.valid_until is not None and doc.valid_until < today:
        return Validity.EXPIRED
    return Validity.VALID


def offered(versions: Sequence[Version], today: date) -> Version | None:
    """The version of one document re-use offers: the newest one, when it is valid; else nothing."""
    if not versions:
        return None
    newest = max(versions, key=lambda v: v.version)
    return newest if validity(newest, newest.version, today) is Validity.VALID else None


def holdings(versions: Iterable[Version], today: date) -> list[Version]:
    """What the warehouse offers for one holder: per document, the version ``offered`` gives, ordered by type."""
    by_document: dict[str, list[Version]] = {}
    for version in versions:
        by_document.setdefault(version.document_id, []).append(version)
    current = (offered(group, today) for group in by_document.values())
    return sorted((v for v in current if v is not None), key=lambda v: v.type_code)


def is_repeat(existing: Version, file_sha256: str, dossier_code: str | None, component_code: str | None) -> bool:
    """A digitisation sent again (a retried request): same content for the same dossier component.

    Scans of one paper are never bit-identical, so an equal hash for the same component means the same recording,
    not a new document; it is answered with the stored version instead of adding another.
    """
    return (
        existing.file_sha256 == file_sha256
        and existing.dossier_code == dossier_code
        and existing.component_code == component_code
    )


def digitisation_problems(
    *,
    holder_id_code: str,
    holder_kind: HolderKind,
    type_code: str,
    source: Source,
    signed: bool,
    dossier_code: str | None,
    component_code: str | None,
) -> list[tuple[str, str]]:
    """Every rule a digitisation breaks, as ``(field, message)`` pairs; empty when it may be recorded."""
    problems: list[tuple[str, str]] = []
    problem = identity_code_problem(holder_id_code, holder_kind)
    if problem:
        problems.append(("holder_id_code", problem))
    problem = type_code_problem(type_code)
    if problem:
        problems.append(("type_code", problem))
    if source in MUST_BE_SIGNED and not signed:
        problems.append(("signed", f"a document from source {source.value!r} is always digitally signed"))
    if dossier_code is not None and not is_dossier_code(dossier_code):
        problems.append(("dossier_code", "a dossier code looks like 000.00.00.H56-260302-0001"))
    if component_code is not None and dossier_code is None:
        problems.append(("dossier_code", "a component code needs the dossier it belongs to"))
    return problems
