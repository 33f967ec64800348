"""SQLite, the embedded default: readers never wait for the write lock, so a
long write (or a worker's transaction) does not hold up the API or dashboard."""

import sqlite3
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from service import create_app
from store.db import read_session, session_for
from store.schema import Mention
from tests.conftest import API_TOKEN, make_settings


@pytest.fixture
def write_lock_held(sqlite_url):
    """Another process's writer in the middle of its transaction."""
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield
    other.execute("ROLLBACK")
    other.close()


def test_a_read_session_does_not_wait_for_the_writer(sqlite_url, write_lock_held):
    started = time.perf_counter()
    with read_session(sqlite_url) as session:
        assert session.scalar(select(func.count()).select_from(Mention)) == 0
    assert time.perf_counter() - started < 1.0


def test_a_writing_session_does_wait_for_the_writer(sqlite_url, write_lock_held):
    from sqlalchemy import event

    from store.db import get_engine

    # Shorten the busy timeout so the wait ends in a second instead of 15.
    event.listen(get_engine(sqlite_url), "connect", lambda connection, _: connection.execute("PRAGMA busy_timeout=300"))
    with session_for(sqlite_url) as session, pytest.raises(OperationalError, match="locked"):
        session.scalar(select(func.count()).select_from(Mention))


def test_api_lists_answer_while_a_writer_holds_the_lock(sqlite_url, redis_url, app_config, write_lock_held):
    client = create_app(make_settings(sqlite_url, redis_url), app_config).test_client()
    started = time.perf_counter()
    response = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {API_TOKEN}"})

    assert response.status_code == 200
    assert time.perf_counter() - started < 2.0
