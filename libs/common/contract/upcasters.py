"""Upcasters of the contract's old versions to the current ones (docs/events.md#versions).

v1 of ``DossierReceived``, ``DocumentDigitised`` and ``DocumentReused`` carried identity numbers (and the applicant's
name) in clear; the records stay on the topics, which are kept forever. Their upcasters need the deployment's key
ring: they replace the number with the pseudonym the producer gives a v2 event today (same key, same value) and drop
the rest, so a consumer reading old and new records counts one person once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from libs.common.privacy import Pseudonymizer

if TYPE_CHECKING:
    from libs.common.contract.registry import EventRegistry


def dossier_received_v1_v2(data: dict[str, Any], pseudonymizer: Pseudonymizer) -> dict[str, Any]:
    applicant = dict(data.get("applicant") or {})
    id_code = applicant.pop("id_code", None)
    applicant.pop("name", None)
    if id_code is not None:
        applicant["pseudonym"] = pseudonymizer.pseudonym(str(id_code))
    return {**data, "applicant": applicant}


def _holder_and_type(data: dict[str, Any], pseudonymizer: Pseudonymizer) -> dict[str, Any]:
    # v1's document id is <identity code>.<document type code>; the type code itself holds no dot.
    out = dict(data)
    document_id = out.pop("document_id", None)
    if isinstance(document_id, str) and "." in document_id:
        holder, _, type_code = document_id.rpartition(".")
        out["holder_pseudonym"] = pseudonymizer.pseudonym(holder)
        out.setdefault("type_code", type_code)
    return out


def document_digitised_v1_v2(data: dict[str, Any], pseudonymizer: Pseudonymizer) -> dict[str, Any]:
    return _holder_and_type(data, pseudonymizer)


def document_reused_v1_v2(data: dict[str, Any], pseudonymizer: Pseudonymizer) -> dict[str, Any]:
    return _holder_and_type(data, pseudonymizer)


def register_upcasters(registry: EventRegistry) -> None:
    registry.register_keyed_upcaster("intake.dossier.received", 1, dossier_received_v1_v2)
    registry.register_keyed_upcaster("digitisation.document.digitised", 1, document_digitised_v1_v2)
    registry.register_keyed_upcaster("digitisation.document.reused", 1, document_reused_v1_v2)
