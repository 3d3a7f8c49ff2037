from __future__ import annotations

from libs.common.errors import Conflict, Gone, InvalidInput, NotFound


class ProcedureUnknown(NotFound):
    code = "procedure_unknown"


class ProcedureWithdrawn(Gone):
    code = "procedure_withdrawn"


class DossierNotFound(NotFound):
    code = "dossier_not_found"


class DossierExists(Conflict):
    code = "dossier_exists"


class ReceiptRejected(InvalidInput):
    code = "receipt_rejected"


class CommandRejected(InvalidInput):
    """A command whose own content breaks a rule (its ``at``, an apology's new date)."""

    code = "command_rejected"


class TransitionNotAllowed(Conflict):
    """The dossier's state does not allow the command (services/intake/domain/lifecycle.py)."""

    code = "transition_not_allowed"


class AlreadyRecorded(Conflict):
    """A once-per-dossier record (apology, explanation, rating) that already exists."""

    code = "already_recorded"


class NotLate(Conflict):
    """An apology or explanation for a dossier that is neither late nor within one working day of its due time."""

    code = "not_late"


class FormNotAvailable(NotFound):
    code = "form_not_available"


class TicketNotFound(NotFound):
    code = "ticket_not_found"


class TicketTransitionNotAllowed(Conflict):
    code = "ticket_transition_not_allowed"
