"""HTML to PDF with WeasyPrint, from the same templates the browser shows, with no network access.

WeasyPrint fetches every stylesheet, image and font a page names; the fetcher here answers ``/static/common/…`` from
this package's files and refuses everything else, so a PDF can never depend on, or leak a request to, the outside.
Rendering is CPU-bound and synchronous: it runs in a worker thread so the event loop keeps serving.
"""

from __future__ import annotations

import asyncio
import mimetypes
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from libs.common.web.pages import STATIC_DIR, STATIC_PREFIX

BASE_URL = "http://motcua.local/"  # a base for relative links: never fetched, the fetcher maps it to local files


class PdfError(RuntimeError):
    """A page asked for something that is not one of the service's own assets."""


def local_fetcher(extra_dirs: dict[str, Path] | None = None) -> Any:
    """A WeasyPrint URL fetcher that serves the service's own asset folders and refuses any other URL."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    roots = {STATIC_PREFIX: STATIC_DIR, **(extra_dirs or {})}

    class LocalFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)
            path = urlparse(url).path if url.startswith(BASE_URL) else url
            for prefix, root in roots.items():
                if path.startswith(prefix + "/"):
                    file = (root / path[len(prefix) + 1 :]).resolve()
                    if root.resolve() in file.parents and file.is_file():
                        mime = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
                        return URLFetcherResponse(url, file.read_bytes(), {"Content-Type": mime})
            raise PdfError(f"a PDF may only use the service's own assets, not {url!r}")

    return LocalFetcher(allowed_protocols={"http", "data"})


def render_pdf(html: str, *, static_dirs: dict[str, Path] | None = None) -> bytes:
    """The PDF of ``html`` (synchronous). ``static_dirs`` maps further URL prefixes to folders, e.g. a service's own
    ``/static/reporting`` assets."""
    from weasyprint import HTML  # imported here: Pango is loaded on first use, not when a service starts

    document = HTML(string=html, base_url=BASE_URL, url_fetcher=local_fetcher(static_dirs))
    pdf: bytes = document.write_pdf()
    return pdf


async def html_to_pdf(html: str, *, static_dirs: dict[str, Path] | None = None) -> bytes:
    """The PDF of ``html``, rendered off the event loop."""
    return await asyncio.to_thread(render_pdf, html, static_dirs=static_dirs)


@dataclass(frozen=True)
class PdfFacts:
    """What poppler's ``pdfinfo`` and ``pdftotext`` read from a PDF (for tests, and for ops checking an export)."""

    pages: int
    page_size_pt: tuple[float, float]
    text: str


def inspect_pdf(pdf: bytes) -> PdfFacts:
    """Page count, first page size in points and the text (layout kept) of a PDF, read with poppler-utils."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf)
        file.flush()
        info = subprocess.run(["pdfinfo", file.name], capture_output=True, text=True, check=True).stdout
        text = subprocess.run(
            ["pdftotext", "-layout", file.name, "-"], capture_output=True, text=True, check=True
        ).stdout
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    width, _, height = fields["Page size"].split()[:3]
    return PdfFacts(int(fields["Pages"]), (float(width), float(height)), text)
