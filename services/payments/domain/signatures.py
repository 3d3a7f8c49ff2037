"""Provider callbacks are signed: HMAC-SHA256 of the raw request body with the provider's shared secret.

The signature is computed over the bytes as received, before any JSON parsing, so a re-serialised body can never
verify; comparison is constant-time (``hmac.compare_digest``).
"""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The lowercase hex HMAC-SHA256 of ``body``: what a provider sends in ``X-Signature``."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` (hex, optionally prefixed ``sha256=``) is the HMAC of ``body`` under ``secret``."""
    if not signature or not secret:
        return False
    given = signature.strip().removeprefix(PREFIX).lower()
    return hmac.compare_digest(sign(secret, body).encode(), given.encode())
