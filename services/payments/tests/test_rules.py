"""Signatures, idempotency fingerprints, fees and reconciliation: pure rules."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from libs.common.idempotency import fingerprint, key_problem
from services.payments.domain import fees
from services.payments.domain.reconciliation import (
    DuplicateLine,
    Line,
    Mismatch,
    Recorded,
    StatementStatus,
    reconcile,
)
from services.payments.domain.signatures import sign, verify
from services.payments.domain.states import PaymentStatus

S, T = PaymentStatus, StatementStatus
BODY = b'{"payment_id":"p1","status":"succeeded","amount_vnd":8000}'


class TestSignatures:
    def test_the_signature_is_the_hex_hmac_sha256_of_the_raw_body(self) -> None:
        assert sign("k", BODY) == hmac.new(b"k", BODY, hashlib.sha256).hexdigest()

    @pytest.mark.parametrize("form", ["{}", "sha256={}", " {} ", "{}\n"])
    def test_a_good_signature_verifies_in_either_form(self, form: str) -> None:
        assert verify("k", BODY, form.format(sign("k", BODY)))

    def test_upper_case_hex_verifies(self) -> None:
        assert verify("k", BODY, sign("k", BODY).upper())

    @pytest.mark.parametrize(
        "signature",
        [None, "", "00" * 32, sign("other", BODY), sign("k", BODY + b" "), sign("k", BODY)[:-1], "not hex"],
    )
    def test_anything_else_does_not(self, signature: str | None) -> None:
        assert not verify("k", BODY, signature)

    def test_a_changed_body_does_not_verify(self) -> None:
        assert not verify("k", BODY.replace(b"8000", b"80000"), sign("k", BODY))

    def test_an_empty_secret_never_verifies(self) -> None:
        assert not verify("", BODY, sign("", BODY))


class TestIdempotency:
    def test_key_order_does_not_change_the_fingerprint(self) -> None:
        assert fingerprint({"a": 1, "b": "x"}) == fingerprint({"b": "x", "a": 1})

    def test_values_do(self) -> None:
        assert fingerprint({"a": 1}) != fingerprint({"a": 2})
        assert fingerprint({"a": 1}) != fingerprint({"a": 1, "b": None})

    @pytest.mark.parametrize(("key", "ok"), [("k-1", True), ("  ", False), ("x" * 201, False), ("khóa", False)])
    def test_keys(self, key: str, ok: bool) -> None:
        assert (key_problem(key) is None) is ok


class TestFees:
    def test_net_paid_counts_money_kept(self) -> None:
        paid = [
            fees.Paid(S.SUCCEEDED, 8_000),
            fees.Paid(S.PARTIALLY_REFUNDED, 10_000, 4_000),
            fees.Paid(S.REFUNDED, 5_000, 5_000),
            fees.Paid(S.CREATED, 1_000_000),
            fees.Paid(S.FAILED, 1_000_000),
        ]
        assert fees.net_paid(paid) == 14_000
        assert fees.outstanding(20_000, paid) == 6_000
        assert fees.outstanding(10_000, paid) == -4_000  # overpaid

    def test_total(self) -> None:
        assert fees.total([8_000, 0, 1_250_000]) == 1_258_000


class TestReconcile:
    def test_everything_in_its_list_sorted_by_payment_id(self) -> None:
        recorded = [
            Recorded("p1", 8_000, S.SUCCEEDED),
            Recorded("p2", 10_000, S.PARTIALLY_REFUNDED),
            Recorded("p3", 5_000, S.CREATED),  # the provider has it as paid: our callback never came
            Recorded("p4", 7_000, S.SUCCEEDED),  # not on the statement
            Recorded("p5", 9_000, S.SUCCEEDED),  # amount differs
            Recorded("p6", 1_000, S.FAILED),
            Recorded("p7", 2_000, S.SUCCEEDED, in_period=False),  # outside the period and not listed: fine
            Recorded("p8", 3_000, S.CREATED),  # never paid, not listed: fine
        ]
        statement = [
            Line("p9", 4_000, T.SUCCEEDED),
            Line("p5", 9_500, T.SUCCEEDED),
            Line("p3", 5_000, T.SUCCEEDED),
            Line("p2", 10_000, T.REFUNDED),
            Line("p1", 8_000, T.SUCCEEDED),
            Line("p6", 1_000, T.FAILED),
        ]
        result = reconcile(recorded, statement)
        assert result.matched == ["p1", "p2", "p6"]
        assert result.missing_in_motcua == [Line("p9", 4_000, T.SUCCEEDED)]
        assert result.missing_in_statement == [Recorded("p4", 7_000, S.SUCCEEDED)]
        assert result.amount_mismatch == [Mismatch("p5", 9_000, 9_500, S.SUCCEEDED, T.SUCCEEDED)]
        assert result.status_mismatch == [Mismatch("p3", 5_000, 5_000, S.CREATED, T.SUCCEEDED)]
        assert not result.clean

    @pytest.mark.parametrize(
        ("ours", "theirs", "agrees"),
        [
            (S.SUCCEEDED, T.SUCCEEDED, True),
            (S.PARTIALLY_REFUNDED, T.SUCCEEDED, True),
            (S.PARTIALLY_REFUNDED, T.REFUNDED, True),
            (S.REFUNDED, T.REFUNDED, True),
            (S.FAILED, T.FAILED, True),
            (S.REFUNDED, T.SUCCEEDED, False),
            (S.SUCCEEDED, T.REFUNDED, False),
            (S.SUCCEEDED, T.FAILED, False),
            (S.FAILED, T.SUCCEEDED, False),
            (S.CREATED, T.FAILED, False),
        ],
    )
    def test_status_agreement(self, ours: PaymentStatus, theirs: StatementStatus, agrees: bool) -> None:
        result = reconcile([Recorded("p", 1, ours)], [Line("p", 1, theirs)])
        assert (result.matched == ["p"]) is agrees
        assert (len(result.status_mismatch) == 1) is not agrees

    def test_an_empty_statement_for_an_empty_period_is_clean(self) -> None:
        assert reconcile([], []).clean

    def test_refunded_payments_in_the_period_must_be_on_the_statement(self) -> None:
        result = reconcile([Recorded("p", 1, S.REFUNDED)], [])
        assert [r.payment_id for r in result.missing_in_statement] == ["p"]

    def test_a_payment_listed_twice_is_refused(self) -> None:
        with pytest.raises(DuplicateLine) as duplicate:
            reconcile([], [Line("a", 1, T.SUCCEEDED), Line("b", 1, T.SUCCEEDED), Line("a", 1, T.FAILED)])
        assert (duplicate.value.index, duplicate.value.payment_id) == (2, "a")
