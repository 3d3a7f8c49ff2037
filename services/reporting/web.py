"""Reporting's HTML: the Jinja2 environment over ``templates/`` (with the shared layout), Vietnamese number and date
formatting, and PDFs rendered from the same HTML the browser shows."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment

from libs.common.web import html_to_pdf, template_environment
from services.reporting.reports.periods import VN_TZ

TEMPLATES = Path(__file__).parent / "templates"
HTML_MEDIA_TYPE = "text/html; charset=utf-8"
PDF_MEDIA_TYPE = "application/pdf"
NO_DATA = "không có dữ liệu"


def number(value: float | int | None, digits: int = 0) -> str:
    """Vietnamese style: "." between thousands, "," before decimals."""
    if value is None:
        return NO_DATA
    text = f"{value:,.{digits}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def percent(value: float | None, unit: str = "%") -> str:
    if value is None:
        return NO_DATA
    return number(value, 2) + (" %" if unit == "%" else f" {unit}" if unit else "")


def local_time(value: str | datetime | None) -> str:
    if value is None:
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.astimezone(VN_TZ).strftime("%H:%M %d/%m/%Y")


STATUS_CLASS = {"met": "met", "not_met": "unmet", "no_data": "no-data"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    return template_environment(
        TEMPLATES,
        filters={"number": number, "percent": percent, "local_time": local_time},
        globals_=[("status_class", STATUS_CLASS), ("NO_DATA", NO_DATA)],
    )


def render(name: str, **context: Any) -> str:
    return environment().get_template(name).render(**context)


async def render_pdf(name: str, **context: Any) -> bytes:
    """The PDF of a page, from the same template with ``printing`` set (no navigation, forms or export links)."""
    return await html_to_pdf(render(name, printing=True, **context))
