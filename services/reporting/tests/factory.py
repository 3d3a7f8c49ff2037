"""Builders of contract events for reporting's tests: a dossier's life as the other services publish it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import (
    AgencyPublished,
    Applicant,
    ApplicantKind,
    Channel,
    Decision,
    DecisionRef,
    DocumentReused,
    DossierApologised,
    DossierExplained,
    DossierRated,
    DossierReceived,
    DossierRefused,
    DossierResolved,
    DossierReturned,
    DossierTransferred,
    DossierWithdrawn,
    EventPayload,
    FeeAssessed,
    FeeItem,
    LimitUnit,
    OnlineLevel,
    PaymentChannel,
    PaymentSucceeded,
    ProcedurePublished,
    ProcedureSnapshot,
    QueueTicketServed,
    Rating,
    ReturnChannel,
    Sector,
    SubmittedComponent,
    SupplementReceived,
    SupplementRequested,
    TimeLimitData,
    TransferMode,
)
from libs.common.contract.registry import make_envelope
from libs.common.privacy import KeyRing, Pseudonymizer
from services.reporting.reports.periods import VN_TZ

PROVINCE_AGENCY = "000.00.15.H56"
DISTRICT_AGENCY = "000.00.21.H56"
COMMUNE_AGENCY = "000.21.31.H56"
LEVEL_OF = {PROVINCE_AGENCY: "province", DISTRICT_AGENCY: "district", COMMUNE_AGENCY: "commune"}
JUSTICE = Sector(code="G09-TP03", name="Hộ tịch")
LAND = Sector(code="G09-TN01", name="Đất đai")

PSEUDONYM_KEY = "test-pseudonym-key"
# The producers' pseudonyms under the legacy key (key id k1), as a deployment with only MOTCUA_PSEUDONYM_KEY gives.
PSEUDONYMIZER = Pseudonymizer(KeyRing({"k1": PSEUDONYM_KEY.encode()}, "k1"))


def vn(year: int, month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    """A local (Asia/Ho_Chi_Minh) time as an aware UTC instant."""
    return datetime(year, month, day, hour, minute, tzinfo=VN_TZ).astimezone(UTC)


def envelope(payload: EventPayload, recorded_at: datetime | None = None) -> Envelope:
    return make_envelope(payload, source="/motcua/test", at=recorded_at or datetime.now(UTC))


class Dossier:
    """One dossier's events, built step by step; ``events`` are contract payloads in lifecycle order."""

    def __init__(
        self,
        code: str,
        *,
        received_at: datetime,
        due_at: datetime,
        agency: str = PROVINCE_AGENCY,
        channel: Channel = Channel.COUNTER,
        sector: Sector = JUSTICE,
        procedure: str = "1.001193",
        keyed_in_at_desk: bool = False,
        identified: bool = False,
        components: list[SubmittedComponent] | None = None,
        has_fees: bool = False,
        fees_due_vnd: int = 0,
        certification: bool = False,
        postal_return_requested: bool = False,
        id_code: str = "001204012345",
    ) -> None:
        self.code = code
        self.events: list[EventPayload] = [
            DossierReceived(
                dossier_code=code,
                procedure_code=procedure,
                procedure_version=1,
                procedure_name="Thủ tục thử",
                sector=sector,
                online_level=OnlineLevel.FULL,
                has_fees=has_fees,
                certification=certification,
                receiving_agency_code=agency,
                receiving_level=LEVEL_OF.get(agency, "province"),
                handling_agency_code=agency,
                handling_level=LEVEL_OF.get(agency, "province"),
                channel=channel,
                keyed_in_at_desk=keyed_in_at_desk,
                applicant=Applicant(
                    kind=ApplicantKind.PERSON,
                    pseudonym=PSEUDONYMIZER.pseudonym(id_code),
                    identified_by_vneid=identified,
                ),
                components=components or [],
                time_limit=TimeLimitData(amount=3, unit=LimitUnit.WORKING_DAYS),
                received_at=received_at,
                due_at=due_at,
                fees_due_vnd=fees_due_vnd,
                postal_return_requested=postal_return_requested,
            )
        ]
        self.due_at = due_at

    def add(self, payload: EventPayload) -> Dossier:
        self.events.append(payload)
        return self

    def resolve(
        self,
        at: datetime,
        *,
        electronic: bool = True,
        due_at: datetime | None = None,
        decision: Decision = Decision.APPROVED,
    ) -> Dossier:
        return self.add(
            DossierResolved(
                dossier_code=self.code,
                decision=decision,
                electronic_result=electronic,
                result_refs=[f"{self.code}-KQ1"],
                due_at=due_at or self.due_at,
                at=at,
            )
        )

    def refuse(self, at: datetime) -> Dossier:
        return self.add(DossierRefused(dossier_code=self.code, reason="không đủ điều kiện", at=at))

    def withdraw(self, at: datetime) -> Dossier:
        return self.add(DossierWithdrawn(dossier_code=self.code, at=at))

    def supplement(
        self,
        sequence: int,
        requested_at: datetime,
        received_at: datetime | None = None,
        new_due_at: datetime | None = None,
        paused_seconds: int = 8 * 3600,
        in_time: bool | None = None,
    ) -> Dossier:
        self.add(
            SupplementRequested(
                dossier_code=self.code,
                sequence=sequence,
                items=["GKS"],
                reason="thiếu",
                at=requested_at,
                in_time=in_time,
            )
        )
        if received_at is not None:
            assert new_due_at is not None
            self.due_at = new_due_at
            self.add(
                SupplementReceived(
                    dossier_code=self.code,
                    sequence=sequence,
                    paused_seconds=paused_seconds,
                    due_at=new_due_at,
                    at=received_at,
                )
            )
        return self

    def return_(self, at: datetime, channel: ReturnChannel = ReturnChannel.ELECTRONIC) -> Dossier:
        return self.add(DossierReturned(dossier_code=self.code, channel=channel, at=at))

    def apologise(self, at: datetime, new_due_at: datetime, in_time: bool | None = None) -> Dossier:
        return self.add(
            DossierApologised(
                dossier_code=self.code, reason="quá tải", new_due_at=new_due_at, at=at, issued_in_time=in_time
            )
        )

    def explain(self, at: datetime) -> Dossier:
        return self.add(DossierExplained(dossier_code=self.code, cause="thiếu cán bộ", at=at))

    def rate(self, at: datetime, rating: Rating) -> Dossier:
        return self.add(DossierRated(dossier_code=self.code, rating=rating, at=at))

    def transfer(self, at: datetime, mode: TransferMode, inter_agency: bool = True) -> Dossier:
        return self.add(
            DossierTransferred(
                dossier_code=self.code,
                from_agency_code=PROVINCE_AGENCY,
                to_agency_code=DISTRICT_AGENCY,
                mode=mode,
                inter_agency=inter_agency,
                at=at,
            )
        )

    def assess(self, at: datetime, total: int, procedure: str = "1.001193") -> Dossier:
        return self.add(
            FeeAssessed(
                dossier_code=self.code,
                procedure_code=procedure,
                items=[FeeItem(name="Lệ phí", amount_vnd=total)],
                total_vnd=total,
                at=at,
            )
        )

    def pay(
        self, payment_id: str, at: datetime, amount: int, channel: PaymentChannel, procedure: str = "1.001193"
    ) -> Dossier:
        return self.add(
            PaymentSucceeded(
                payment_id=payment_id,
                dossier_code=self.code,
                procedure_code=procedure,
                amount_vnd=amount,
                channel=channel,
                at=at,
            )
        )

    def reuse(self, at: datetime, component: str = "GKS") -> Dossier:
        return self.add(
            DocumentReused(
                holder_pseudonym=PSEUDONYMIZER.pseudonym("001204012345"),
                type_code="GKS",
                dossier_code=self.code,
                component_code=component,
                at=at,
            )
        )

    def envelopes(self) -> list[Envelope]:
        return [envelope(p) for p in self.events]


def procedure(
    code: str = "1.001193",
    *,
    version: int = 1,
    public: bool = True,
    online_level: OnlineLevel = OnlineLevel.FULL,
    levels: tuple[str, ...] = ("province",),
    in_force_from: date = date(2020, 1, 1),
    in_force_until: date | None = None,
    sector: Sector = JUSTICE,
) -> ProcedurePublished:
    return ProcedurePublished(
        code=code,
        procedure=ProcedureSnapshot(
            code=code,
            version=version,
            name=f"Thủ tục {code}",
            sector=sector,
            levels=list(levels),
            time_limit=TimeLimitData(amount=3, unit=LimitUnit.WORKING_DAYS),
            online_level=online_level,
            public=public,
            decision=DecisionRef(number="1/QĐ-UBND", signed_on=in_force_from, effective_on=in_force_from),
            in_force_from=in_force_from,
            in_force_until=in_force_until,
        ),
    )


def agency(
    code: str, level: str, *, officers: int | None = None, area_kind: str | None = None, name: str | None = None
) -> AgencyPublished:
    return AgencyPublished(
        code=code, name=name or f"Cơ quan {code}", level=level, area_kind=area_kind, desk_officers=officers
    )


def visit(
    ticket: str, agency_code: str, served_at: datetime, wait_minutes: int, level: str | None = None
) -> QueueTicketServed:
    return QueueTicketServed(
        ticket_id=ticket,
        agency_code=agency_code,
        level=level,
        desk="Q1",
        issued_at=served_at - timedelta(minutes=wait_minutes),
        served_at=served_at,
        wait_seconds=wait_minutes * 60,
    )


def payload_dict(payload: EventPayload) -> dict[str, Any]:
    return payload.model_dump(mode="json")
