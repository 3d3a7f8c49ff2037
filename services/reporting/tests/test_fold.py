"""The fold gives the same facts whatever the order events arrive in and however often they are redelivered."""

from __future__ import annotations

import asyncio
import hashlib
import random
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import (
    Channel,
    ComponentForm,
    DossierSyncedToPortal,
    DossierSyncToPortalFailed,
    PaymentChannel,
    Rating,
    ReturnChannel,
    SubmittedComponent,
    TransferMode,
)
from libs.common.db import session_factory
from services.reporting import models as m
from services.reporting.fold.facts import DossierFact, fold_dossier, in_progress_at, overdue_at
from services.reporting.fold.ledger import LedgerEvent
from services.reporting.models import FACT_COLUMNS
from services.reporting.tests.conftest import Feeder
from services.reporting.tests.factory import PROVINCE_AGENCY, PSEUDONYMIZER, Dossier, vn


def full_life() -> Dossier:
    """Received online on Tue 2 Jan 2024 09:00, due Fri 5 Jan 17:00; a supplement pauses it one working day (due
    moves to Mon 8 Jan 17:00); resolved on Tue 9 Jan → late, though an apology promised 10 Jan."""
    d = Dossier(
        "000.00.15.H56-240102-0001",
        received_at=vn(2024, 1, 2, 9),
        due_at=vn(2024, 1, 5, 17),
        channel=Channel.ONLINE,
        identified=True,
        has_fees=True,
        fees_due_vnd=50_000,
        components=[
            SubmittedComponent(code="GKS", form=ComponentForm.ELECTRONIC, must_digitise=True, digitised=True),
            SubmittedComponent(code="CCCD", form=ComponentForm.WAREHOUSE),
        ],
    )
    d.assess(vn(2024, 1, 2, 9, 5), 50_000)
    d.pay("pay-1", vn(2024, 1, 2, 9, 10), 50_000, PaymentChannel.ONLINE)
    d.supplement(1, vn(2024, 1, 3, 10), vn(2024, 1, 4, 10), new_due_at=vn(2024, 1, 8, 17))
    d.transfer(vn(2024, 1, 4, 11), TransferMode.ELECTRONIC)
    d.apologise(vn(2024, 1, 8, 9), new_due_at=vn(2024, 1, 10, 17))
    d.explain(vn(2024, 1, 8, 10))
    d.resolve(vn(2024, 1, 9, 15), electronic=True)
    d.return_(vn(2024, 1, 9, 16), ReturnChannel.ELECTRONIC)
    d.rate(vn(2024, 1, 9, 17), Rating.SATISFIED)
    d.rate(vn(2024, 1, 10, 8), Rating.VERY_SATISFIED)
    return d


def ledger(envelopes: list[Envelope]) -> list[LedgerEvent]:
    return [LedgerEvent(e.id, e.name, e.time, dict(e.data)) for e in envelopes]


def orders(items: list[Any]) -> list[list[Any]]:
    """Three orders: as they happened, reversed, and shuffled; the last two with duplicates."""
    shuffled = list(items)
    random.Random(7).shuffle(shuffled)
    return [list(items), list(reversed(items)) + items[:3], shuffled + shuffled[::2]]


class TestFoldDossier:
    def test_the_rule_flags_come_from_the_events(self) -> None:
        # events from before the fields existed: unknown, not guessed
        d = full_life()
        f = fold_dossier(d.code, ledger(d.envelopes()))
        assert (f.apology_in_time, f.first_request_in_time) == (None, None)
        # intake's verdicts (docs/intake.md, "Clock and outcome") are carried as published
        e = Dossier("000.00.15.H56-240102-0009", received_at=vn(2024, 1, 2, 9), due_at=vn(2024, 1, 5, 17))
        e.supplement(1, vn(2024, 1, 8, 10), in_time=False)
        e.apologise(vn(2024, 1, 8, 11), new_due_at=vn(2024, 1, 12, 17), in_time=True)
        g = fold_dossier(e.code, ledger(e.envelopes()))
        assert (g.apology_in_time, g.first_request_in_time) == (True, False)

    def test_facts_of_a_full_life(self) -> None:
        d = full_life()
        f = fold_dossier(d.code, ledger(d.envelopes()))
        assert f.received_at == vn(2024, 1, 2, 9)
        assert f.initial_due_at == vn(2024, 1, 5, 17)
        # due in force: moved by the pause, apology excluded
        assert f.due_at == vn(2024, 1, 8, 17)
        assert f.apology_due_at == vn(2024, 1, 10, 17)
        # finished on 9 Jan, after the due date 8 Jan → late, whatever the apology promised
        assert (f.finish_kind, f.outcome, f.finished_at) == ("resolved", "late", vn(2024, 1, 9, 15))
        assert f.supplement_requests == 1 and f.paused_seconds == 8 * 3600
        assert f.pause_started_at == vn(2024, 1, 3, 10) and f.pause_ended_at == vn(2024, 1, 4, 10)
        assert f.remote_online and f.identified and f.e_result
        assert f.all_digitised and f.reused and f.reused_components == 1
        assert f.fee_payable and f.paid_online and f.fees_paid_online and f.paid_online_vnd == 50_000
        assert f.inter_agency_transfers == 1 and f.all_transfers_electronic
        # online, every component electronic (the warehouse copy is electronic), paid online, e-returned
        assert f.fully_online
        assert f.rating == "very_satisfied"  # the latest rating counts
        assert f.applicant_hash == PSEUDONYMIZER.pseudonym("001204012345")
        assert len(f.payments) == 1 and f.payments[0].succeeded

    def test_synchronised_when_the_portal_first_accepts_the_record(self) -> None:
        d = Dossier("000.00.00.H56-240102-0009", received_at=vn(2024, 1, 2, 8), due_at=vn(2024, 1, 5, 17))
        d.add(
            DossierSyncedToPortal(dossier_code=d.code, service="CapNhatTienDoHoSoMC", attempts=1, at=vn(2024, 1, 2, 9))
        )
        assert fold_dossier(d.code, ledger(d.envelopes())).synced_to_portal_at is None  # a step is not the record
        d.add(
            DossierSyncToPortalFailed(
                dossier_code=d.code, service="DongBoHoSoMC", reason="portal_02", attempts=1, at=vn(2024, 1, 2, 10)
            )
        )
        assert fold_dossier(d.code, ledger(d.envelopes())).synced_to_portal_at is None  # refused: not synchronised
        for hour in (12, 11):  # replayed, then a later change: the first acceptance counts, whatever the order
            d.add(
                DossierSyncedToPortal(dossier_code=d.code, service="DongBoHoSoMC", attempts=2, at=vn(2024, 1, 2, hour))
            )
        assert fold_dossier(d.code, ledger(d.envelopes())).synced_to_portal_at == vn(2024, 1, 2, 11)

    def test_same_fact_in_any_order_with_duplicates(self) -> None:
        events = ledger(full_life().envelopes())
        facts = {fold_dossier(events[0].data["dossier_code"], order) for order in orders(events)}
        assert len(facts) == 1

    def test_payment_before_receipt(self) -> None:
        d = full_life()
        envs = d.envelopes()
        payment_only = [e for e in envs if e.name == "payments.payment.succeeded"]
        early = fold_dossier(d.code, ledger(payment_only))
        assert early.received_at is None and early.paid_online
        assert fold_dossier(d.code, ledger(payment_only + envs)) == fold_dossier(d.code, ledger(envs))

    def test_second_supplement_request_makes_it_late(self) -> None:
        # resolved a day before the due date, but with two requests to supplement: late (national index rule)
        d = Dossier("X-1", received_at=vn(2024, 1, 2), due_at=vn(2024, 1, 12, 17))
        d.supplement(1, vn(2024, 1, 3), vn(2024, 1, 4), new_due_at=vn(2024, 1, 15, 17))
        d.supplement(2, vn(2024, 1, 5), vn(2024, 1, 8), new_due_at=vn(2024, 1, 18, 17))
        d.resolve(vn(2024, 1, 10))
        assert fold_dossier(d.code, ledger(d.envelopes())).outcome == "late"

    def test_early_and_on_time(self) -> None:
        early = Dossier("E", received_at=vn(2024, 1, 2), due_at=vn(2024, 1, 5, 17)).resolve(vn(2024, 1, 4, 16))
        on_time = Dossier("T", received_at=vn(2024, 1, 2), due_at=vn(2024, 1, 5, 17)).resolve(vn(2024, 1, 5, 16))
        late_same_day = Dossier("L", received_at=vn(2024, 1, 2), due_at=vn(2024, 1, 5, 11)).resolve(vn(2024, 1, 5, 14))
        assert fold_dossier("E", ledger(early.envelopes())).outcome == "early"
        assert fold_dossier("T", ledger(on_time.envelopes())).outcome == "on_time"
        assert fold_dossier("L", ledger(late_same_day.envelopes())).outcome == "late"

    def test_withdrawn_is_closed_but_not_finished(self) -> None:
        d = Dossier("W", received_at=vn(2024, 1, 2), due_at=vn(2024, 1, 5, 17)).withdraw(vn(2024, 1, 3))
        f = fold_dossier("W", ledger(d.envelopes()))
        assert (f.finished_at, f.outcome, f.withdrawn_at, f.closed_at) == (None, None, vn(2024, 1, 3), vn(2024, 1, 3))
        assert not in_progress_at(f, vn(2024, 1, 4))

    def test_refused_after_acceptance_is_finished(self) -> None:
        d = Dossier("R", received_at=vn(2024, 1, 2), due_at=vn(2024, 1, 5, 17)).refuse(vn(2024, 1, 3))
        f = fold_dossier("R", ledger(d.envelopes()))
        assert (f.finish_kind, f.outcome) == ("refused", "early")

    def test_overdue_at_judges_the_due_time_then(self) -> None:
        d = Dossier("P", received_at=vn(2024, 1, 2), due_at=vn(2024, 1, 5, 17))
        d.supplement(1, vn(2024, 1, 4), vn(2024, 1, 10), new_due_at=vn(2024, 1, 11, 17))
        f = fold_dossier("P", ledger(d.envelopes()))
        # paused on 4 Jan, before its due time: on 8 Jan the clock stands still, so not overdue
        assert not overdue_at(f, vn(2024, 1, 8))
        # resumed on 10 Jan with due 11 Jan 17:00: overdue from then on
        assert not overdue_at(f, vn(2024, 1, 11, 16))
        assert overdue_at(f, vn(2024, 1, 12))
        # before any pause, the appointment on form 01 applies
        assert overdue_at(f, vn(2024, 1, 3)) is False
        late_pause = Dossier("Q", received_at=vn(2024, 1, 2), due_at=vn(2024, 1, 5, 17))
        late_pause.supplement(1, vn(2024, 1, 8))  # asked after the due time: overdue while it waits
        assert overdue_at(fold_dossier("Q", ledger(late_pause.envelopes())), vn(2024, 1, 9))


def as_v1(envelope: Envelope) -> Envelope:
    """The same event as v1 producers published it: the applicant's identity number and name, or the document id
    ``<identity code>.<type code>``, in clear."""
    data = dict(envelope.data)
    if envelope.name == "intake.dossier.received":
        data["applicant"] = {"kind": "person", "id_code": "001204012345", "name": "Nguyễn Văn A"}
    else:
        data["document_id"] = f"001204012345.{data.pop('type_code')}"
        data.pop("holder_pseudonym")
    schema = envelope.dataschema.replace(":v2", ":v1")
    return envelope.model_copy(update={"data": data, "dataschema": schema})


class TestOldRecordsOnTheTopics:
    @pytest.mark.asyncio
    async def test_v1_records_are_kept_only_as_the_producers_pseudonym(
        self, engine: AsyncEngine, feeder: Feeder
    ) -> None:
        d = full_life()  # with a component re-used from the warehouse
        old = [as_v1(e) if e.name in {"intake.dossier.received", "digitisation.document.reused"} else e
               for e in d.envelopes()]  # fmt: skip
        assert [e.version for e in old if e.name == "intake.dossier.received"] == [1]
        await feeder.feed(old)
        async with session_factory(engine)() as session:
            fact = (await session.execute(select(m.DossierFact))).scalar_one()
            events = (await session.execute(select(m.DossierEvent))).scalars().all()
        # the same value a v2 receipt carries: one applicant counted once across old and new records
        assert fact.applicant_hash == PSEUDONYMIZER.pseudonym("001204012345") and fact.reused_components == 1
        stored = repr([e.data for e in events])
        assert "001204012345" not in stored and "Nguyễn" not in stored and "Nguyen" not in stored

    def test_a_ledger_row_folded_before_pseudonyms_keeps_its_applicant(self) -> None:
        received = next(e for e in full_life().envelopes() if e.name == "intake.dossier.received")
        legacy = dict(received.data)
        hex_part = PSEUDONYMIZER.pseudonym("001204012345").partition(":")[2]
        legacy["applicant"] = {"kind": "person", "id_hash": hex_part, "identified_by_vneid": True}
        fact = fold_dossier(received.subject, [LedgerEvent(received.id, received.name, received.time, legacy)])
        assert fact.applicant_hash == PSEUDONYMIZER.pseudonym("001204012345")


def _comparable(row: m.DossierFact) -> dict[str, Any]:
    return {c: getattr(row, c) for c in FACT_COLUMNS}


def _expected(f: DossierFact) -> dict[str, Any]:
    return {c: getattr(f, c) for c in FACT_COLUMNS}


class TestFoldThroughTheInbox:
    @pytest.mark.asyncio
    @pytest.mark.parametrize("order", [0, 1, 2])
    async def test_same_facts_in_three_orders_with_duplicates(
        self, engine: AsyncEngine, feeder: Feeder, order: int
    ) -> None:
        dossiers = [full_life()]
        withdrawn = Dossier("000.00.15.H56-240103-0002", received_at=vn(2024, 1, 3), due_at=vn(2024, 1, 8, 17))
        withdrawn.pay("pay-2", vn(2024, 1, 3, 10), 20_000, PaymentChannel.COUNTER).withdraw(vn(2024, 1, 4))
        dossiers.append(withdrawn)
        envelopes = [e for d in dossiers for e in d.envelopes()]
        # small batches so that one dossier's events are spread over several transactions, and redelivered
        await feeder.feed(orders(envelopes)[order], batch_size=3)
        await feeder.feed(envelopes[:5], batch_size=2)  # a redelivered batch has no effect (inbox)

        async with session_factory(engine)() as session:
            rows = {r.dossier_code: r for r in (await session.execute(select(m.DossierFact))).scalars()}
            payments = list((await session.execute(select(m.PaymentTxn))).scalars())
            stored = list((await session.execute(select(m.DossierEvent.data))).scalars())
        for d in dossiers:
            expected = fold_dossier(d.code, ledger(d.envelopes()))
            assert _comparable(rows[d.code]) == _expected(expected)
        assert {(p.payment_id, p.channel, p.status, p.agency_code) for p in payments} == {
            ("pay-1", "online", "succeeded", PROVINCE_AGENCY),
            ("pay-2", "counter", "succeeded", PROVINCE_AGENCY),
        }
        assert len(stored) == len(envelopes)
        assert not any("001204012345" in repr(data) for data in stored)

    @pytest.mark.asyncio
    async def test_late_receipt_updates_the_payment_scope(self, engine: AsyncEngine, feeder: Feeder) -> None:
        d = full_life()
        envs = d.envelopes()
        payment = [e for e in envs if e.name == "payments.payment.succeeded"]
        await feeder.feed(payment)
        async with session_factory(engine)() as session:
            txn = (await session.execute(select(m.PaymentTxn))).scalar_one()
            assert txn.agency_code is None
        await feeder.feed([e for e in envs if e not in payment])
        async with session_factory(engine)() as session:
            txn = (await session.execute(select(m.PaymentTxn))).scalar_one()
            assert txn.agency_code == PROVINCE_AGENCY
            assert txn.at == vn(2024, 1, 2, 9, 10)


def test_dossier_lock_keys_are_stable_signed_64_bit_and_distinct() -> None:
    """Replicas in different processes must agree on a dossier's lock key (Python's ``hash`` is salted per process),
    and keys must fit PostgreSQL's bigint advisory locks."""
    from services.reporting.fold.repository import REPLICAS_LOCK, dossier_lock_key

    codes = [f"G01.{n:06d}" for n in range(2000)]
    keys = [dossier_lock_key(code) for code in codes]
    assert keys == [dossier_lock_key(code) for code in codes]
    assert dossier_lock_key("G01.000001") == int.from_bytes(
        hashlib.blake2b(b"G01.000001", digest_size=8).digest(), "big", signed=True
    )
    assert all(-(2**63) <= k < 2**63 for k in keys)
    assert len(set(keys)) == len(keys) and REPLICAS_LOCK not in keys


@pytest.mark.asyncio
async def test_batches_on_different_dossiers_do_not_wait_for_each_other(engine: AsyncEngine, backend: str) -> None:
    """While one batch holds dossier A, another batch can lock dossier B, but not A, nor the shared replica key."""
    from sqlalchemy import func, literal

    from services.reporting.fold.repository import REPLICAS_LOCK, dossier_lock_key, lock_fold

    if backend != "postgres":
        pytest.skip("SQLite serialises writers; advisory locks are PostgreSQL's")
    factory = session_factory(engine)
    async with factory() as first, factory() as second:
        await lock_fold(first, ["000.00.15.H56-240103-0001"], replicas=True)
        # A deadline, not a wait: with one global lock this call would block until ``first`` ends.
        await asyncio.wait_for(lock_fold(second, ["000.00.15.H56-240103-0002"], replicas=False), timeout=10)
        for key in (dossier_lock_key("000.00.15.H56-240103-0001"), REPLICAS_LOCK):
            taken = await second.scalar(select(func.pg_try_advisory_xact_lock(literal(key))))
            assert taken is False
        await first.rollback()
        assert await second.scalar(select(func.pg_try_advisory_xact_lock(literal(REPLICAS_LOCK)))) is True
        await second.rollback()
