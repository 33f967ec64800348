"""Accepting mentions: commit first, then make sure a classification job is queued.

Concurrent requests share their commits (store/group_commit.py): a request
returns once the group holding its mentions is committed, never before; the
classification flag is set right after, by the same writer thread.
"""

import logging
import os
import threading
import time

from flask import current_app, g
from sqlalchemy.exc import DBAPIError

from core.timeutil import utcnow
from integrations.platforms.mention import IncomingMention
from store.db import get_engine
from store.group_commit import GroupCommit
from store.ingest import Delivery, Saved, save_deliveries_dbapi
from workers import classify_queue

log = logging.getLogger(__name__)
_writers: dict[tuple[str, str | None], GroupCommit[Delivery, Saved]] = {}
_writers_lock = threading.Lock()


class IntakeWriter:
    """The group-commit writer's side of intake, one per process and database.

    `store` runs a group's one INSERT on a driver connection the writer thread
    keeps open, in autocommit (the statement is atomic on its own): no pool
    checkout, no liveness ping, no BEGIN or COMMIT, and none of SQLAlchemy's
    per-execution work. A failed group drops the connection; when it failed
    because the connection had died (database restarted, idle timeout), the
    group is tried once more on a fresh one, as the pool's ping would have
    done. Driver errors leave as SQLAlchemy's, as from any other query.
    `queue` runs after the group's requests have been answered: durability
    needs only the commit, and a flag that is never set (Redis down, process
    killed in between) is made good by reconciliation.
    """

    def __init__(self, database_url: str, redis_url: str | None):
        self.database_url = database_url
        self.redis_url = redis_url
        self._pooled = None  # the pool's wrapper; kept checked out, so the pool never reuses it
        self._driver = None  # sqlite3 or psycopg connection
        self._dialect = None  # SQLAlchemy's, for the driver's error classes and disconnect test
        self._pid = os.getpid()

    def store(self, deliveries: list[Delivery]) -> list[Saved]:
        try:
            return self._store(deliveries)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("database connection lost; writing the group on a new one")
            return self._store(deliveries)

    def _connect(self) -> None:
        engine = get_engine(self.database_url)
        self._dialect = engine.dialect
        self._pooled = engine.raw_connection()
        self._driver = self._pooled.driver_connection
        if self._dialect.name == "postgresql":
            self._driver.autocommit = True
        # SQLite's connections are in autocommit already (store.db: the driver begins nothing).

    def _store(self, deliveries: list[Delivery]) -> list[Saved]:
        if self._pid != os.getpid():  # a forked child never shares its parent's socket
            self._pooled = self._driver = None
            self._pid = os.getpid()
        if self._driver is None:
            self._connect()
        dbapi_error = self._dialect.loaded_dbapi.Error
        try:
            return save_deliveries_dbapi(self._driver, self._dialect.name, deliveries)
        except dbapi_error as error:
            dead = self._dialect.is_disconnect(error, self._driver, None)
            self._drop()
            raise DBAPIError.instance(
                None, None, error, dbapi_error, connection_invalidated=dead, dialect=self._dialect
            ) from error
        except BaseException:
            self._drop()
            raise

    def close(self) -> None:
        if self._pooled is not None:
            self._drop()

    def _drop(self) -> None:
        pooled, self._pooled, self._driver = self._pooled, None, None
        try:
            pooled.invalidate()
        except Exception:  # already closed by the failure itself
            log.debug("closing a failed writer connection failed too")

    def queue(self, deliveries: list[Delivery], saved: list[Saved]) -> None:
        ids = [id_ for result in saved for id_ in result.ids]
        if ids:
            classify_queue.request_classification(ids, self.redis_url)
        log.info(
            "mentions accepted",
            extra={
                "mention_ids": ids,
                "duplicates": sum(result.duplicates for result in saved),
                "sources": sorted({m.source for delivery in deliveries for m in delivery.mentions}),
            },
        )


def _writer(database_url: str, redis_url: str | None) -> GroupCommit[Delivery, Saved]:
    key = (database_url, redis_url)
    with _writers_lock:
        if key not in _writers:
            intake = IntakeWriter(database_url, redis_url)
            _writers[key] = GroupCommit(intake.store, then=intake.queue)
        return _writers[key]


def settle(timeout: float = 5.0) -> bool:
    """Wait for every writer in this process to finish what it was given, its
    classification requests included (a request is answered before those are sent)."""
    with _writers_lock:
        writers = list(_writers.values())
    deadline = time.monotonic() + timeout
    return all(writer.settle(max(0.0, deadline - time.monotonic())) for writer in writers)


def _current_writer() -> GroupCommit[Delivery, Saved]:
    settings = current_app.config["SETTINGS"]
    return _writer(settings.database_url, settings.redis_url)


def expect_mentions() -> None:
    """At the start of a webhook request: the commit being gathered may wait a moment for it."""
    g.arrival = _current_writer().announce()


def no_more_mentions(_error=None) -> None:
    """At the end of a webhook request, whether it submitted or was refused."""
    if (arrival := g.pop("arrival", None)) is not None:
        arrival.withdraw()


def accept(mentions: list[IncomingMention]) -> Saved:
    delivery = Delivery(mentions, utcnow())
    if (arrival := g.pop("arrival", None)) is not None:
        return arrival.submit(delivery)
    return _current_writer().submit(delivery)
