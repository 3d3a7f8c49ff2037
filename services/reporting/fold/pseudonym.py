"""Applicants' identity codes never reach reporting's tables: only a keyed hash (HMAC-SHA256 with the deployment's
pseudonym key), which still lets reports count distinct applicants and link their dossiers."""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache
from typing import Any

from libs.common.contract.events import DocumentDigitised, DocumentReused, DossierReceived

DOSSIER_RECEIVED = DossierReceived.event_name
DOCUMENT_EVENTS = frozenset({DocumentDigitised.event_name, DocumentReused.event_name})


@lru_cache(maxsize=8)
def _keyed(key: str) -> hmac.HMAC:
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def pseudonym(key: str, identity_code: str) -> str:
    mac = _keyed(key).copy()  # the key schedule is computed once per key
    mac.update(identity_code.encode())
    return mac.hexdigest()


def scrub(name: str, data: dict[str, Any], key: str) -> dict[str, Any]:
    """The payload as reporting may keep it: the applicant's identity code replaced by its keyed hash, the name
    dropped (no report needs it), and digitised-document ids (``<identity code>.<type code>``) hashed too."""
    if name == DOSSIER_RECEIVED and isinstance(data.get("applicant"), dict):
        applicant = data["applicant"]
        kept = {
            "kind": applicant.get("kind"),
            "id_hash": pseudonym(key, str(applicant.get("id_code", ""))),
            "identified_by_vneid": bool(applicant.get("identified_by_vneid", False)),
        }
        return {**data, "applicant": kept}
    if name in DOCUMENT_EVENTS and data.get("document_id"):
        return {**data, "document_id": pseudonym(key, str(data["document_id"]))}
    return data
