"""Personal data off the bus (Decree 13/2023): keyed pseudonyms and field encryption, both with key ids.

- A **pseudonym** replaces an identity number wherever only "the same person" matters (reports count distinct
  applicants, link a holder's documents): ``k1:<HMAC-SHA-256 hex>``. The key id lets keys rotate: new events carry
  the new key's pseudonyms, and a consumer can tell which key made a value. Pseudonyms of one person under two keys
  differ — a consumer that must link across a rotation asks the owner of the clear value.
- A **sealed value** carries a clear value that one consumer truly needs, encrypted with AES-256-GCM:
  ``k1:<base64url(nonce ‖ ciphertext ‖ tag)>``, the key id bound in as associated data so a value cannot be replayed
  under another key's name.

Keys come from configuration as a JSON object ``{"k1": "<secret>", "k2": "<secret>"}`` with the current key id
beside it; old keys stay listed for as long as values sealed with them must open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["KeyRing", "PrivacyKeyError", "Pseudonymizer", "SealedValues"]


class PrivacyKeyError(ValueError):
    """A key id that the ring does not hold, or a value that does not open."""


@dataclass(frozen=True)
class KeyRing:
    """Secrets by key id and the id of the one in use."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise PrivacyKeyError(f"the current key id {self.current!r} is not among the keys")
        for kid in self.keys:
            if not kid or ":" in kid:
                raise PrivacyKeyError(f"a key id may not be empty or contain ':' ({kid!r})")

    @classmethod
    def from_config(cls, keys_json: str, current: str) -> KeyRing:
        raw: dict[str, str] = json.loads(keys_json)
        return cls({kid: secret.encode() for kid, secret in raw.items()}, current)

    def secret(self, kid: str) -> bytes:
        try:
            return self.keys[kid]
        except KeyError:
            raise PrivacyKeyError(f"unknown key id {kid!r}") from None


@dataclass(frozen=True)
class Pseudonymizer:
    ring: KeyRing
    _macs: dict[str, hmac.HMAC] = field(default_factory=dict, compare=False, repr=False)

    def pseudonym(self, value: str, kid: str | None = None) -> str:
        """``<kid>:<hex>``, the same for the same value and key; ``kid`` defaults to the current key."""
        kid = kid or self.ring.current
        mac = self._macs.get(kid)
        if mac is None:
            mac = self._macs[kid] = hmac.new(self.ring.secret(kid), digestmod=hashlib.sha256)
        keyed = mac.copy()  # the key schedule is computed once per key
        keyed.update(value.encode())
        return f"{kid}:{keyed.hexdigest()}"


@dataclass(frozen=True)
class SealedValues:
    ring: KeyRing

    def _aead(self, kid: str) -> AESGCM:
        # Any configured secret becomes a 256-bit AES key; the secrets themselves are random strings of 32+ chars.
        return AESGCM(hashlib.sha256(b"motcua-seal\x00" + self.ring.secret(kid)).digest())

    def seal(self, value: str) -> str:
        kid = self.ring.current
        nonce = os.urandom(12)
        sealed = self._aead(kid).encrypt(nonce, value.encode(), kid.encode())
        return f"{kid}:{base64.urlsafe_b64encode(nonce + sealed).decode().rstrip('=')}"

    def open(self, token: str) -> str:
        kid, _, body = token.partition(":")
        if not body:
            raise PrivacyKeyError("not a sealed value")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            return self._aead(kid).decrypt(raw[:12], raw[12:], kid.encode()).decode()
        except Exception as exc:  # InvalidTag: altered, truncated, or sealed under another key
            raise PrivacyKeyError("the sealed value does not open with its key") from exc
