"""When a digitisation or a re-use may be dated (docs/digitisation.md §Time)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.digitisation.domain.timing import before_receipt_problem, digitisation_problem, reuse_problem

NOW = datetime(2026, 4, 10, 3, 0, tzinfo=UTC)
V1 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # version 1 scanned Mon 2 Mar 2026 09:00 in Hà Nội


def test_a_first_version_needs_only_to_be_in_the_past() -> None:
    assert digitisation_problem(V1, NOW, None) is None
    assert digitisation_problem(NOW + timedelta(seconds=1), NOW, None) == "in the future"


def test_a_new_version_is_not_older_than_the_previous_one() -> None:
    # Same instant as version 1 is allowed (two pages scanned together); a second earlier is not.
    assert digitisation_problem(V1, NOW, V1) is None
    why = digitisation_problem(V1 - timedelta(seconds=1), NOW, V1)
    assert why is not None and why.startswith("before the document's previous version")


def test_a_reuse_is_not_before_the_document_was_digitised() -> None:
    assert reuse_problem(V1, NOW, V1) is None
    assert reuse_problem(NOW + timedelta(seconds=1), NOW, V1) == "in the future"
    why = reuse_problem(V1 - timedelta(days=1), NOW, V1)
    assert why is not None and why.startswith("before the document was digitised")


def test_nothing_is_attached_to_a_dossier_before_its_receipt() -> None:
    # Received Mon 2 Mar 2026 09:00 in Hà Nội (02:00 UTC): a scan at that instant is fine, a second earlier is not;
    # before the replica has seen the receipt there is nothing to judge by.
    assert before_receipt_problem(V1, V1) is None
    why = before_receipt_problem(V1 - timedelta(seconds=1), V1)
    assert why is not None and why.startswith("before the dossier was received")
    assert before_receipt_problem(V1 - timedelta(days=1), None) is None
