from __future__ import annotations

from libs.common.errors import Conflict, InvalidInput, NotFound


class DocumentNotFound(NotFound):
    code = "document_not_found"


class DocumentRejected(InvalidInput):
    """A digitisation whose content breaks a rule (identity code, type code, signature, dates)."""

    code = "document_rejected"


class DocumentNotOffered(Conflict):
    """Re-use of a document the warehouse does not offer: superseded, unsigned or expired."""

    code = "document_not_offered"


class ReuseConflict(Conflict):
    """The dossier component was already recorded as taken from another document."""

    code = "reuse_conflict"


class ConcurrentDigitisation(Conflict):
    """Two versions of one document were recorded at the same instant; the client retries."""

    code = "concurrent_digitisation"


class DossierNotFound(NotFound):
    """A dossier outside the caller's agency scope: the same answer as for a dossier that does not exist."""

    code = "dossier_not_found"
