"""The drill-down's keyset cursor: an opaque token naming the last item of a page, so that the next page starts
right after it on an indexed key (a dossier code is the facts' primary key) instead of skipping ``offset`` rows —
the last page costs what the first does, and a dossier arriving between two pages neither repeats nor hides one.

The token is base64url JSON ``{"v": 1, "q": "<indicator>:<part>", "after": "<last item>"}``: bound to the
indicator and part it was issued for, so a cursor pasted into another drill-down is refused rather than read as a
position in a list it never belonged to. Clients must treat it as opaque; its shape may change with ``v``.
"""

from __future__ import annotations

import base64
import binascii
import json

VERSION = 1
MAX_LENGTH = 512  # a dossier code is at most 64 characters; anything much longer is not one of ours


class BadCursor(ValueError):
    """The token is not a cursor this drill-down issued."""


def encode(query: str, after: str) -> str:
    raw = json.dumps({"v": VERSION, "q": query, "after": after}, separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode(query: str, token: str) -> str:
    """The last item of the previous page, or ``BadCursor`` saying why not."""
    if not token or len(token) > MAX_LENGTH:
        raise BadCursor("not a cursor issued by this drill-down")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw.decode())
    except (binascii.Error, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise BadCursor("not a cursor issued by this drill-down") from exc
    if not isinstance(data, dict) or data.get("v") != VERSION:
        raise BadCursor("not a cursor issued by this drill-down")
    after = data.get("after")
    # a NUL cannot be in a code and PostgreSQL refuses it in a text parameter (a 500 instead of this 422)
    if not isinstance(after, str) or "\x00" in after:
        raise BadCursor("not a cursor issued by this drill-down")
    if data.get("q") != query:
        raise BadCursor(f"issued for another drill-down ({data.get('q')!s:.80}), not {query}")
    return after


def page(items: list[str], limit: int, query: str) -> tuple[list[str], str | None]:
    """``items`` fetched with one extra (``limit + 1``): the page and the cursor of the next one (None: last)."""
    if len(items) > limit:
        return items[:limit], encode(query, items[limit - 1])
    return items, None
