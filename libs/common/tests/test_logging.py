"""No personal data in logs: uvicorn's loggers masked like ours, no locals in tracebacks, no SQL parameters."""

from __future__ import annotations

import io
import logging
import logging.config
import sys
from collections.abc import Iterator

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert
from sqlalchemy.exc import IntegrityError
from uvicorn.config import LOGGING_CONFIG

from libs.common.db import create_engine
from libs.common.logging import configure_logging, get_logger

IDENTITY = "001234567890"
NAME = "Nguyễn Văn Bình"


@pytest.fixture(params=[True, False], ids=["json", "console"])
def stderr(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What a service writes to stderr once uvicorn and then the app's lifespan have configured logging."""
    stream = io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    # uvicorn configures its loggers before the app's lifespan runs: its own handlers, not propagating to the root.
    logging.config.dictConfig(LOGGING_CONFIG)
    configure_logging("test", json=bool(request.param))
    yield stream
    logging.getLogger().handlers[:] = []


def test_uvicorn_access_log_masks_identity_numbers_in_paths(stderr: io.StringIO) -> None:
    access = logging.getLogger("uvicorn.access")
    access.info('%s - "%s %s HTTP/%s" %d', "10.0.0.7:5123", "GET", f"/holders/{IDENTITY}/documents", "1.1", 200)
    err = stderr.getvalue()
    assert "/holders/001******890/documents" in err
    assert IDENTITY not in err


def test_uvicorn_error_log_traceback_has_no_locals_and_masks_numbers(stderr: io.StringIO) -> None:
    def handler(applicant_name: str) -> None:
        identity_number = IDENTITY
        raise RuntimeError(f"could not store dossier of {identity_number}")

    try:
        handler(NAME)
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("Exception in ASGI application")
        get_logger("test").exception("request failed")
    err = stderr.getvalue()
    assert "Exception in ASGI application" in err and "RuntimeError" in err and "Traceback" in err
    assert IDENTITY not in err and "001******890" in err
    assert NAME not in err  # the local `applicant_name` is not rendered


@pytest.mark.asyncio
async def test_database_errors_do_not_carry_their_parameters() -> None:
    engine = create_engine("sqlite+aiosqlite:///:memory:")
    table = Table("applicant", MetaData(), Column("id", Integer, primary_key=True), Column("name", String))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(table.metadata.create_all)
            await conn.execute(insert(table).values(id=1, name=NAME))
            with pytest.raises(IntegrityError) as caught:
                await conn.execute(insert(table).values(id=1, name=NAME))
    finally:
        await engine.dispose()
    assert NAME not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
