"""Keyed pseudonyms and sealed values, with key rotation."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from libs.common.contract import (
    Applicant,
    ApplicantKind,
    DocumentDigitised,
    DocumentReused,
    DossierReceived,
    Envelope,
    registry,
)
from libs.common.contract.registry import MissingKey
from libs.common.privacy import KeyRing, PrivacyKeyError, Pseudonymizer, SealedValues
from libs.common.settings import ServiceSettings

ID = "001204012345"
RING = KeyRing.from_config(
    '{"k1": "first-secret-of-at-least-32-chars!!", "k2": "second-secret-of-32-chars-or-more"}', "k1"
)


class TestPseudonyms:
    def test_stable_and_keyed(self) -> None:
        p = Pseudonymizer(RING)
        value = p.pseudonym(ID)
        assert value == p.pseudonym(ID) and value.startswith("k1:") and ID not in value and len(value) == 3 + 64
        assert p.pseudonym("001204012346") != value

    def test_rotation_changes_the_value_and_names_the_key(self) -> None:
        old = Pseudonymizer(RING).pseudonym(ID)
        rotated = Pseudonymizer(KeyRing(RING.keys, "k2"))
        assert rotated.pseudonym(ID).startswith("k2:") and rotated.pseudonym(ID) != old
        assert rotated.pseudonym(ID, "k1") == old  # an old key still recognises its own values

    def test_an_unknown_key_id_is_refused(self) -> None:
        with pytest.raises(PrivacyKeyError):
            KeyRing(RING.keys, "k9")
        with pytest.raises(PrivacyKeyError):
            Pseudonymizer(RING).pseudonym(ID, "k9")


class TestSealedValues:
    def test_round_trip_without_the_clear_value_in_the_token(self) -> None:
        box = SealedValues(RING)
        token = box.seal("Nguyễn Văn A")
        assert token.startswith("k1:") and "Nguy" not in token
        assert box.open(token) == "Nguyễn Văn A"
        assert box.seal("Nguyễn Văn A") != token  # a fresh nonce each time

    def test_values_sealed_before_a_rotation_still_open(self) -> None:
        token = SealedValues(RING).seal(ID)
        assert SealedValues(KeyRing(RING.keys, "k2")).open(token) == ID

    def test_an_altered_value_or_a_swapped_key_id_does_not_open(self) -> None:
        box = SealedValues(RING)
        token = box.seal(ID)
        kid, body = token.split(":")
        tampered = f"{kid}:{body[:-2]}{'A' if body[-2] != 'A' else 'B'}{body[-1]}"
        with pytest.raises(PrivacyKeyError):
            box.open(tampered)
        with pytest.raises(PrivacyKeyError):
            box.open(f"k2:{body}")


class TestOldVersionsUpcastWithTheKeys:
    """v1 records (still on the topics, kept forever) carried identity numbers in clear: a keyed registry reads them
    with the same pseudonym a v2 producer gives, and a registry without keys refuses rather than guess."""

    def _v1(self, name: str, data: dict[str, Any]) -> Envelope:
        return Envelope(
            specversion="1.0",
            id=f"{name}-1",
            source="/motcua/test",
            type=f"vn.motcua.{name}",
            subject="000.00.00.H56-260302-0001",
            time=datetime(2026, 3, 2, 2, tzinfo=UTC),
            dataschema=f"urn:motcua:event:{name}:v1",
            data=data,
        )

    def test_a_received_dossier_gets_the_producers_pseudonym_and_loses_the_name(self) -> None:
        producer = Pseudonymizer(RING)
        v2 = DossierReceived(
            **{**RECEIVED, "applicant": Applicant(kind=ApplicantKind.PERSON, pseudonym=producer.pseudonym(ID))}
        )
        v1 = self._v1(
            "intake.dossier.received",
            {**v2.model_dump(mode="json"), "applicant": {"kind": "person", "id_code": ID, "name": "Nguyễn Văn An"}},
        )
        parsed = registry.with_pseudonymizer(producer).parse(v1)
        assert parsed == v2
        assert ID not in repr(parsed) and "Nguy" not in repr(parsed)
        with pytest.raises(MissingKey):
            registry.parse(v1)

    @pytest.mark.parametrize("name", ["digitisation.document.digitised", "digitisation.document.reused"])
    def test_a_document_id_becomes_holder_pseudonym_and_type(self, name: str) -> None:
        data = {
            "document_id": f"{ID}.KQ001193",
            "dossier_code": "000.00.00.H56-260302-0001",
            "component_code": "GKS",
            "at": "2026-03-02T02:00:00Z",
        }
        if name.endswith("digitised"):
            data["type_code"] = "KQ001193"
        parsed = registry.with_pseudonymizer(Pseudonymizer(RING)).parse(self._v1(name, data))
        assert isinstance(parsed, DocumentDigitised | DocumentReused)
        assert (parsed.holder_pseudonym, parsed.type_code) == (Pseudonymizer(RING).pseudonym(ID), "KQ001193")
        assert ID not in parsed.model_dump_json()


class TestKeyRingSettings:
    def test_the_legacy_pseudonym_key_is_key_k1(self) -> None:
        settings = ServiceSettings(pseudonym_key="legacy-key")
        legacy_hex = hmac.new(b"legacy-key", ID.encode(), hashlib.sha256).hexdigest()
        assert settings.pseudonymizer().pseudonym(ID) == f"k1:{legacy_hex}"

    def test_a_ring_from_configuration_uses_its_current_key(self) -> None:
        keys = '{"k1": "first-secret-of-at-least-32-chars!!", "k2": "second-secret-of-32-chars-or-more"}'
        settings = ServiceSettings(privacy_keys=keys, privacy_key_id="k2")
        assert settings.pseudonymizer().pseudonym(ID).startswith("k2:")
        with pytest.raises(ValidationError, match="MOTCUA_PRIVACY_KEYS"):
            ServiceSettings(privacy_keys=keys, privacy_key_id="k9")
        with pytest.raises(ValidationError, match="MOTCUA_PRIVACY_KEYS"):
            ServiceSettings(privacy_keys="not json")

    def test_production_refuses_placeholder_or_short_keys(self) -> None:
        real: dict[str, Any] = {
            "environment": "production",
            "api_keys": '{"' + "a" * 64 + '": {"subject": "s"}}',
            "session_secret": "s" * 40,
        }
        with pytest.raises(ValidationError, match="real secret"):
            ServiceSettings(**real)  # no keys at all: the development default
        with pytest.raises(ValidationError, match="at least 32"):
            ServiceSettings(**real, privacy_keys='{"k1": "short"}')
        ok = ServiceSettings(**real, privacy_keys='{"k1": "' + "k" * 40 + '"}')
        assert ok.key_ring().current == "k1"


RECEIVED: dict[str, Any] = {
    "dossier_code": "000.00.00.H56-260302-0001",
    "procedure_code": "1.001193",
    "procedure_version": 1,
    "procedure_name": "Đăng ký khai sinh",
    "sector": {"code": "G09-TP03", "name": "Hộ tịch"},
    "online_level": "full",
    "has_fees": False,
    "receiving_agency_code": "000.00.00.H56",
    "receiving_level": "commune",
    "handling_agency_code": "000.00.00.H56",
    "handling_level": "commune",
    "channel": "online",
    "time_limit": {"amount": 3, "unit": "working_days"},
    "received_at": "2026-03-02T02:00:00Z",
    "due_at": "2026-03-05T10:00:00Z",
}
