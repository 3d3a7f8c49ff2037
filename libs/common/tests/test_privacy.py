"""Keyed pseudonyms and sealed values, with key rotation."""

from __future__ import annotations

import pytest

from libs.common.privacy import KeyRing, PrivacyKeyError, Pseudonymizer, SealedValues

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
