"""The baseline stack for the receipt and report benchmarks: FastAPI + pydantic + SQLAlchemy async on the same
PostgreSQL, with none of motcua's work. Run under uvicorn like the services:

    BENCH_BARE_DATABASE_URL=postgresql+asyncpg://… uvicorn bench.bare_app:create_app --factory --port 56010

- ``POST /dossiers`` validates the same body as intake's receipt (same fields, same formats) and inserts one row
  through SQLAlchemy async in one transaction: the floor under any receipt that is validated and made durable.
- ``GET /count`` (when ``BENCH_BARE_FACTS_URL`` is set) counts one window's dossiers per agency with one GROUP BY
  over reporting's ``dossier_fact``: the floor under a report that reads the facts once.
"""

from __future__ import annotations

import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI, Query
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import JSON, BigInteger, Column, DateTime, MetaData, String, Table, func, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

AGENCY = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
PROCEDURE = re.compile(r"^\d\.\d{6}$")
POOL_SIZE = 20  # and as much overflow; bench/receipts.py gives intake the same

metadata = MetaData()
receipt = Table(
    "bare_receipt",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("procedure_code", String(20), nullable=False),
    Column("receiving_agency_code", String(40), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("received_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("body", JSON, nullable=False),
)


class Applicant(BaseModel):
    kind: Literal["person", "organisation"]
    id_code: str = Field(pattern=r"^\d{10,12}(-\d{3})?$")
    name: str = Field(min_length=1, max_length=300)
    identified_by_vneid: bool = False
    address: str | None = Field(None, max_length=500)
    phone: str | None = Field(None, max_length=30)
    email: str | None = Field(None, max_length=200)


class Component(BaseModel):
    code: str = Field(min_length=1, max_length=60)
    form: Literal["paper", "electronic", "warehouse"]
    digitised: bool = False
    copies: int = Field(1, ge=1, le=100)


class Receipt(BaseModel):
    procedure_code: str
    receiving_agency_code: str
    receiving_level: str | None = Field(None, max_length=30)
    handling_agency_code: str | None = None
    handling_level: str | None = Field(None, max_length=30)
    desk: str | None = Field(None, max_length=60)
    channel: Literal["counter", "online", "postal"]
    keyed_in_at_desk: bool = False
    cross_boundary: bool = False
    applicant: Applicant
    components: list[Component] = []
    postal_return_requested: bool = False
    content: str | None = Field(None, max_length=2000)
    at: datetime | None = None

    @field_validator("procedure_code")
    @classmethod
    def _procedure(cls, value: str) -> str:
        if not PROCEDURE.match(value):
            raise ValueError("a procedure code looks like 1.001193")
        return value

    @field_validator("receiving_agency_code", "handling_agency_code")
    @classmethod
    def _agency(cls, value: str | None) -> str | None:
        if value is not None and not AGENCY.match(value):
            raise ValueError("an agency code looks like 000.00.00.H56")
        return value


def create_app() -> FastAPI:
    engines: dict[str, AsyncEngine] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        engines["receipts"] = create_async_engine(
            os.environ["BENCH_BARE_DATABASE_URL"], pool_size=POOL_SIZE, max_overflow=POOL_SIZE
        )
        async with engines["receipts"].begin() as conn:
            await conn.run_sync(metadata.create_all)
        if os.environ.get("BENCH_BARE_FACTS_URL"):
            engines["facts"] = create_async_engine(os.environ["BENCH_BARE_FACTS_URL"], pool_size=5)
        yield
        for engine in engines.values():
            await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/dossiers", status_code=201)
    async def create(body: Receipt) -> dict[str, Any]:
        async with engines["receipts"].begin() as conn:
            row = await conn.execute(
                insert(receipt)
                .values(
                    procedure_code=body.procedure_code,
                    receiving_agency_code=body.receiving_agency_code,
                    channel=body.channel,
                    body=body.model_dump(mode="json"),
                )
                .returning(receipt.c.id)
            )
            return {"id": row.scalar_one()}

    @app.get("/count")
    async def count(start: datetime = Query(), end: datetime = Query()) -> dict[str, int]:
        async with engines["facts"].connect() as conn:
            rows = await conn.execute(
                text(
                    "SELECT receiving_agency_code, count(*) FROM dossier_fact"
                    " WHERE received_at >= :start AND received_at < :end GROUP BY 1"
                ),
                {"start": start, "end": end},
            )
            return {str(agency): int(n) for agency, n in rows}

    return app
