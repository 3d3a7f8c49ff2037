"""Which database failures are retried (consumer, relay) or answered 503, and which are the message's own fault.

The exceptions are asyncpg's real classes, wrapped the way SQLAlchemy's asyncpg dialect wraps them (its DBAPI
adapter's error, then ``DBAPIError.instance``), so the test sees what the consumer and the relay see.
"""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi

from libs.common.db import is_transient, is_unavailable, sqlstate

_dbapi = AsyncAdapt_asyncpg_dbapi(asyncpg)  # type: ignore[no-untyped-call]


def wrapped(error: Exception) -> sa_exc.DBAPIError:
    """``error`` as SQLAlchemy raises it from a statement on the asyncpg dialect."""
    mapping = _dbapi._asyncpg_error_translate
    adapter = next(mapping[k] for k in type(error).__mro__ if k in mapping)
    adapted = adapter(str(error), error)
    adapted.__cause__ = error
    wrapper = sa_exc.DBAPIError.instance("SELECT 1", {}, adapted, _dbapi.Error)
    assert isinstance(wrapper, sa_exc.DBAPIError)
    return wrapper


RETRYABLE = [
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.SerializationError("could not serialize access due to concurrent update"),
    asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
    asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.ConnectionFailureError("connection failure"),
    asyncpg.exceptions.InterfaceError("connection is closed"),
]
PERMANENT = [
    asyncpg.exceptions.UniqueViolationError("duplicate key value violates unique constraint"),
    asyncpg.exceptions.CheckViolationError("new row violates check constraint"),
    asyncpg.exceptions.DataError("invalid input syntax for type uuid"),
    asyncpg.exceptions.UndefinedTableError('relation "nope" does not exist'),
    asyncpg.exceptions.DataError("range lower bound must be less than or equal to range upper bound"),
]
UNAVAILABLE = [
    asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.exceptions.InterfaceError("connection is closed"),
]


def _id(error: Exception) -> str:
    return type(error).__name__


class TestIsTransient:
    @pytest.mark.parametrize("error", RETRYABLE, ids=_id)
    def test_retryable_conditions_are_transient_raw_and_wrapped(self, error: Exception) -> None:
        assert is_transient(error)
        assert is_transient(wrapped(error))

    @pytest.mark.parametrize("error", PERMANENT, ids=_id)
    def test_a_fault_of_the_statement_or_the_data_is_permanent(self, error: Exception) -> None:
        assert not is_transient(error)
        assert not is_transient(wrapped(error))
        assert not is_unavailable(wrapped(error))

    def test_the_sqlstate_is_read_through_the_wrapper(self) -> None:
        assert sqlstate(wrapped(asyncpg.exceptions.TooManyConnectionsError("too many"))) == "53300"
        assert sqlstate(wrapped(asyncpg.exceptions.QueryCanceledError("timeout"))) == "57014"
        assert sqlstate(ValueError("no database here")) is None

    def test_an_unreachable_server_is_transient(self) -> None:
        refused = ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)")
        assert is_transient(refused) and is_unavailable(refused)
        assert is_transient(sa_exc.TimeoutError("QueuePool limit of size 10 overflow 10 reached"))

    def test_a_locked_sqlite_file_is_transient(self) -> None:
        assert is_transient(sa_exc.OperationalError("INSERT", {}, Exception("database is locked")))

    def test_a_bug_is_not_transient(self) -> None:
        assert not is_transient(KeyError("decision"))
        assert not is_transient(ValueError("bad value"))


class TestIsUnavailable:
    @pytest.mark.parametrize("error", UNAVAILABLE, ids=_id)
    def test_connection_conditions_mean_unavailable(self, error: Exception) -> None:
        assert is_unavailable(wrapped(error))

    @pytest.mark.parametrize(
        "error",
        [asyncpg.exceptions.SerializationError("x"), asyncpg.exceptions.DeadlockDetectedError("x")],
        ids=_id,
    )
    def test_a_lost_race_is_retryable_but_the_database_is_up(self, error: Exception) -> None:
        assert is_transient(wrapped(error)) and not is_unavailable(wrapped(error))
