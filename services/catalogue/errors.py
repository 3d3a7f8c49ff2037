from __future__ import annotations

from libs.common.errors import Conflict, Gone, InvalidInput, NotFound


class ProcedureNotFound(NotFound):
    code = "procedure_not_found"


class ProcedureNotInForce(NotFound):
    """No version of the procedure had taken effect on the day asked."""

    code = "procedure_not_in_force"


class ProcedureGone(Gone):
    """Asked for a day after the procedure was withdrawn: it is still readable at earlier dates."""

    code = "procedure_withdrawn"


class ProcedureExists(Conflict):
    code = "procedure_exists"


class ProcedureAlreadyWithdrawn(Conflict):
    code = "procedure_already_withdrawn"


class ProcedureInvalid(InvalidInput):
    """The procedure breaks a catalogue rule (process over the legal limit, codes, inter-agency participants…)."""

    code = "procedure_invalid"


class AgencyNotFound(NotFound):
    code = "agency_not_found"


class AgencyInvalid(InvalidInput):
    code = "agency_invalid"


class ImportUnreadable(InvalidInput):
    """The file itself cannot be read (not JSON, not an Excel workbook): no row could be looked at."""

    code = "import_unreadable"
