"""How dates, times, money and names are written on the forms and in the public look-up (Vietnamese usage)."""

from __future__ import annotations

from datetime import datetime

from libs.common.calendar import VN_TZ


def local(at: datetime) -> datetime:
    return at.astimezone(VN_TZ)


def vn_date(at: datetime | None) -> str:
    """``dd/mm/yyyy`` in Asia/Ho_Chi_Minh."""
    return "" if at is None else f"{local(at):%d/%m/%Y}"


def vn_time(at: datetime | None) -> str:
    """``hh giờ mm phút, ngày dd/mm/yyyy`` as Circular 01/2018 writes times on its forms."""
    if at is None:
        return ""
    moment = local(at)
    return f"{moment:%H} giờ {moment:%M} phút, ngày {moment:%d/%m/%Y}"


def vn_number(value: int) -> str:
    """Thousands separated by dots: 1.250.000."""
    sign = "-" if value < 0 else ""
    return sign + f"{abs(value):,}".replace(",", ".")


def mask_name(name: str) -> str:
    """A person's name for the public look-up: the family name in full, every other word as its initial.

    "Nguyễn Văn An" -> "Nguyễn V. A."; enough for an applicant to recognise the dossier, too little to identify a
    stranger's (the code itself is the secret that opens the look-up).
    """
    words = name.split()
    if len(words) <= 1:
        return f"{words[0][0]}." if words else ""
    return " ".join([words[0], *(f"{word[0]}." for word in words[1:])])
