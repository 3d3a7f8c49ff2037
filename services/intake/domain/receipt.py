"""What the desk checks before it issues form 01 (Decree 61/2018 Art. 15; Circular 01/2018), as plain functions.

Every problem is collected, so one answer names every field at fault (docs/domain.md, "Channels and levels").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass

from libs.common.contract import Channel, OnlineLevel, ProcedureSnapshot


@dataclass(frozen=True)
class Agency:
    """What receipt needs to know of an agency from the catalogue's replica."""

    level: str
    procedure_codes: Sequence[str]


@dataclass(frozen=True)
class Problem:
    field: str
    message: str


@dataclass(frozen=True)
class Levels:
    receiving: str
    handling: str


@dataclass(frozen=True)
class Submission:
    """The request as far as the rules look at it."""

    channel: Channel
    cross_boundary: bool
    components: Collection[str]  # the catalogue codes of the components handed in
    receiving_level: str | None
    handling_level: str | None
    handling_agency_code: str


def _level(
    given: str | None, agency: Agency | None, procedure: ProcedureSnapshot, field: str
) -> tuple[str, list[Problem]]:
    """The administrative level: as given, else the agency replica's, else the procedure's only level."""
    if given is not None:
        if agency is not None and agency.level != given:
            return given, [Problem(field, f"the agency is at level {agency.level!r}, not {given!r}")]
        return given, []
    if agency is not None:
        return agency.level, []
    if len(procedure.levels) == 1:
        return procedure.levels[0], []
    return "", [Problem(field, "unknown agency: give its administrative level")]


def missing_components(procedure: ProcedureSnapshot, submitted: Iterable[str]) -> list[str]:
    handed_in = set(submitted)
    return [c.code for c in procedure.components if c.required and c.code not in handed_in]


def check(
    procedure: ProcedureSnapshot, submission: Submission, receiving: Agency | None, handling: Agency | None
) -> tuple[Levels, list[Problem]]:
    """The levels the dossier is received and handled at, and every reason it cannot be received (none: receive)."""
    receiving_level, problems = _level(submission.receiving_level, receiving, procedure, "receiving_level")
    handling_level, handling_problems = _level(submission.handling_level, handling, procedure, "handling_level")
    problems += handling_problems
    named = {p.field for p in problems}
    if procedure.levels:
        # Since 1 July 2025 any desk of the province may receive a dossier of another level or area (cross-boundary).
        if receiving_level not in procedure.levels and "receiving_level" not in named and not submission.cross_boundary:
            problems.append(Problem("receiving_level", f"the procedure is received at {', '.join(procedure.levels)}"))
        if handling_level not in procedure.levels and "handling_level" not in named:
            problems.append(Problem("handling_level", f"the procedure is handled at {', '.join(procedure.levels)}"))
    if procedure.agency_codes and submission.handling_agency_code not in procedure.agency_codes:
        problems.append(Problem("handling_agency_code", "this agency does not handle the procedure"))
    if handling is not None and handling.procedure_codes and procedure.code not in handling.procedure_codes:
        problems.append(Problem("handling_agency_code", "the agency's catalogue does not list this procedure"))
    if submission.channel is Channel.ONLINE and procedure.online_level is OnlineLevel.NONE:
        problems.append(Problem("channel", "the procedure is not offered online"))
    if submission.channel is Channel.POSTAL and not procedure.postal_allowed:
        problems.append(Problem("channel", "the procedure cannot be submitted by post"))
    if submission.cross_boundary and not procedure.cross_boundary_allowed:
        problems.append(Problem("cross_boundary", "the procedure is not received across boundaries"))
    missing = missing_components(procedure, submission.components)
    if missing:
        problems.append(Problem("components", f"required components missing: {', '.join(missing)}"))
    return Levels(receiving_level, handling_level), problems


def fees_due(procedure: ProcedureSnapshot) -> int:
    """The fees and charges the applicant owes, in đồng (items without a fixed amount count as 0)."""
    return sum(f.amount_vnd or 0 for f in procedure.fees)


def must_digitise(procedure: ProcedureSnapshot) -> frozenset[str]:
    """The components the procedure asks the desk to digitise at receipt."""
    return frozenset(c.code for c in procedure.components if c.must_digitise)


def result_refs(dossier_code: str, count: int) -> list[str]:
    """Decree 45/2020 Art. 14: the results of a dossier are numbered ``<dossier code>-KQ<n>``."""
    return [f"{dossier_code}-KQ{n}" for n in range(1, count + 1)]
