"""Diacritic-insensitive search text: the same normaliser runs on write (the ``*_search`` columns) and on the query,
so that a plain ``LIKE`` finds "Đăng ký khai sinh" from "dang ky khai sinh" on SQLite and PostgreSQL alike, with
no database extension (``unaccent``) and no collation that differs between the two."""

from __future__ import annotations

import re
import unicodedata

# đ/Đ are letters of their own, not d plus a combining mark: NFD leaves them alone.
_LETTERS = str.maketrans({"đ": "d", "Đ": "d"})
_SPACES = re.compile(r"\s+")


def fold(text: str) -> str:
    """Lowercase, strip combining marks, đ→d, collapse whitespace: ``"Đăng  Ký"`` → ``"dang ky"``."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _SPACES.sub(" ", stripped.lower()).strip()


def like_patterns(query: str) -> list[str]:
    """One ``LIKE`` pattern (escape character ``\\``) per folded word of ``query``: a row matches when it holds
    every word, in any order ("khai sinh dang ky" still finds "Đăng ký khai sinh")."""
    return [
        "%" + w.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%" for w in fold(query).split(" ") if w
    ]
