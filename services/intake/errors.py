from __future__ import annotations

from libs.common.errors import Gone, InvalidInput, NotFound


class ProcedureUnknown(NotFound):
    code = "procedure_unknown"


class ProcedureWithdrawn(Gone):
    code = "procedure_withdrawn"


class DossierNotFound(NotFound):
    code = "dossier_not_found"


class ReceiptRejected(InvalidInput):
    code = "receipt_rejected"
