from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import jsonschema
import pytest

from libs.common.contract import (
    EVENT_TYPES,
    DossierRated,
    Envelope,
    EventPayload,
    EventRegistry,
    Rating,
    Topic,
    UnknownEventType,
    make_envelope,
    registry,
)
from libs.common.contract.schema import CONTRACT_PATH, contract_document, render


def test_the_published_contract_is_current() -> None:
    # If this fails: run `make contract` and commit docs/contract/events.schema.json with the model change.
    assert CONTRACT_PATH.read_text(encoding="utf-8") == render()


def test_every_event_type_is_in_the_contract_once() -> None:
    names = [m.event_name for m in EVENT_TYPES]
    assert len(names) == len(set(names))
    assert set(contract_document()["events"]) == set(names)


def test_an_envelope_validates_against_the_published_schema() -> None:
    doc = contract_document()
    envelope = make_envelope(
        DossierRated(
            dossier_code="000.00.00.H56-260302-0001",
            rating=Rating.VERY_SATISFIED,
            at=datetime(2026, 3, 2, 3, tzinfo=UTC),
        ),
        source="/motcua/intake",
    )
    as_json = envelope.model_dump(mode="json")
    jsonschema.validate(as_json, {"$defs": doc["$defs"], "$ref": "#/$defs/Envelope"})
    jsonschema.validate(as_json["data"], {"$defs": doc["$defs"], "$ref": "#/$defs/DossierRated"})
    assert envelope.subject == "000.00.00.H56-260302-0001"
    assert envelope.type == "vn.motcua.intake.dossier.rated"
    assert envelope.version == 1


def test_a_v2_reader_accepts_a_v1_message_through_an_upcaster() -> None:
    class DossierRatedV2(EventPayload):
        """A hypothetical v2 that splits the rating into a score, to prove the upcasting path."""

        event_name = "intake.dossier.rated"
        version = 2
        topic = Topic.DOSSIERS
        subject_field = "dossier_code"
        dossier_code: str
        score: int
        at: datetime

    scores = {"very_satisfied": 2, "satisfied": 1, "unsatisfied": 0}

    def upcast_v1_v2(data: dict[str, Any]) -> dict[str, Any]:
        return {"dossier_code": data["dossier_code"], "score": scores[data["rating"]], "at": data["at"]}

    reader = EventRegistry()
    reader.register(DossierRatedV2)
    reader.register_upcaster("intake.dossier.rated", 1, upcast_v1_v2)
    v1 = make_envelope(
        DossierRated(dossier_code="D-1", rating=Rating.SATISFIED, at=datetime(2026, 1, 5, tzinfo=UTC)), source="/t"
    )
    parsed = reader.parse(Envelope.from_bytes(v1.to_bytes()))
    assert isinstance(parsed, DossierRatedV2)
    assert parsed.score == 1
    # Without the upcaster, a v2 reader refuses the v1 message instead of misreading it.
    strict = EventRegistry()
    strict.register(DossierRatedV2)
    with pytest.raises(UnknownEventType):
        strict.parse(v1)


def test_naive_event_times_are_refused() -> None:
    with pytest.raises(ValueError):
        Envelope(
            specversion="1.0",
            id="e-1",
            source="/t",
            type="vn.motcua.x",
            subject="s",
            time=datetime(2026, 1, 1),
            dataschema="urn:x:v1",
            data={},
        )


def test_the_default_registry_parses_every_type_it_lists() -> None:
    assert registry.names() == sorted(m.event_name for m in EVENT_TYPES)


def test_the_package_exports_every_public_name_of_its_modules() -> None:
    import libs.common.contract as package
    from libs.common.contract import codes, events

    for module in (codes, events):
        public = {name for name, value in vars(module).items() if getattr(value, "__module__", None) == module.__name__}
        assert {n for n in public if not n.startswith("_")} <= set(package.__all__), module.__name__
    assert "EVENT_TYPES" in package.__all__
