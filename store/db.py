"""Engines and sessions. One engine per database URL per process."""

import json
import logging
import os
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
# What a JSON column reads as when its stored text cannot be decoded (nested past the
# interpreter's recursion limit, say: stored before the webhooks capped nesting).
UNREADABLE_JSON = {"_unreadable": "stored JSON that could not be decoded"}


def load_json(text):
    """JSON columns' decoder: one row that cannot be decoded reads as UNREADABLE_JSON, so the
    API, the dashboard and Slack delivery carry on with it and with every other row."""
    try:
        return json.loads(text)
    except (RecursionError, ValueError):
        log.warning("a stored JSON value could not be decoded; read as unreadable")
        return dict(UNREADABLE_JSON)


def _sqlite_pragmas(dbapi_connection, _record):
    # Transactions are begun by _sqlite_begin, not by the driver (which also
    # makes SAVEPOINT work as SQLAlchemy expects).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the web process write while a worker reads; the busy timeout
    # makes concurrent writers wait instead of failing with "database is locked".
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection):
    # A writer takes the write lock up front: a deferred transaction that reads
    # and then writes fails at once with "database is locked" when another
    # process wrote in between (WAL snapshot); BEGIN IMMEDIATE waits instead.
    # A reader (read_session) needs no lock at all: WAL gives it a snapshot,
    # so API and dashboard queries never hold up webhooks or workers.
    if connection.get_execution_options().get("read_only"):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


_engines: dict[str, Engine] = {}
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def upsert_insert(dialect_name: str):
    """The dialect's INSERT construct, which offers ON CONFLICT DO NOTHING on both databases."""
    return _INSERTS[dialect_name]


def get_engine(url: str) -> Engine:
    if url not in _engines:
        _engines[url] = _create_engine(url)
    return _engines[url]


def _create_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15}, json_deserializer=load_json)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, json_deserializer=load_json)


@lru_cache(maxsize=8)
def _factory(url: str) -> sessionmaker:
    return sessionmaker(get_engine(url), expire_on_commit=False)


def session_for(url: str) -> Session:
    return _factory(url)()


@lru_cache(maxsize=8)
def _read_factory(url: str) -> sessionmaker:
    return sessionmaker(get_engine(url).execution_options(read_only=True), expire_on_commit=False)


def read_session(url: str) -> Session:
    """A session that only reads (on SQLite it takes no write lock)."""
    return _read_factory(url)()


@contextmanager
def transaction(url: str):
    """A session that commits on success and rolls back on error."""
    session = session_for(url)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def dispose_all() -> None:
    """Drop pooled connections, e.g. after a fork or before a test drops its database."""
    for engine in _engines.values():
        engine.dispose()
    _engines.clear()
    _factory.cache_clear()
    _read_factory.cache_clear()
