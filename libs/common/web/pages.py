"""Static assets and the Jinja2 environment of the services' pages (forms, dashboard, the citizen's page)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape

STATIC_DIR = Path(__file__).parent / "static"
TEMPLATE_DIR = Path(__file__).parent / "templates"
STATIC_PREFIX = "/static/common"


def mount_static(app: FastAPI) -> None:
    """Serve this package's assets under ``/static/common`` (the same files the PDF renderer reads from disk)."""
    app.mount(STATIC_PREFIX, StaticFiles(directory=STATIC_DIR), name="static-common")


def template_environment(
    *template_dirs: Path, filters: dict[str, Callable[..., Any]] | None = None, globals_: Iterable[tuple[str, Any]] = ()
) -> Environment:
    """An autoescaping Jinja2 environment over the service's template folders, then the shared ``base`` layouts."""
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader([*map(str, template_dirs)]), FileSystemLoader(str(TEMPLATE_DIR))]),
        autoescape=select_autoescape(["html", "svg", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = STATIC_PREFIX
    env.globals.update(globals_)
    env.filters.update(filters or {})
    return env
