"""Idempotency keys of payment intents (the GOV.UK Pay pattern).

A client that retries a request sends the same ``Idempotency-Key``: with the same body it gets the intent created the
first time; with a different body it is refused, because a key names one request, and reusing it for another is a
client bug that must not silently create or hide a payment.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

MAX_KEY_LENGTH = 200


def fingerprint(body: Mapping[str, Any]) -> str:
    """A digest of the request's meaning: key order and whitespace do not matter, values do."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def key_problem(key: str) -> str | None:
    if not key.strip():
        return "must not be empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"at most {MAX_KEY_LENGTH} characters"
    if not key.isprintable() or not key.isascii():
        return "printable ASCII only"
    return None
