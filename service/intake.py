"""Accepting mentions: commit first, then make sure a classification job is queued.

Concurrent requests share their commits (store/group_commit.py): a request
returns once the group holding its mentions is committed, never before; the
classification flag is set right after, by the same writer thread.
"""

import logging
import os
import threading

from flask import current_app, g
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError

from core.timeutil import utcnow
from integrations.platforms.mention import IncomingMention
from store.db import get_engine
from store.group_commit import GroupCommit
from store.ingest import Delivery, Saved, save_deliveries
from workers import classify_queue

log = logging.getLogger(__name__)
_writers: dict[tuple[str, str | None], GroupCommit[Delivery, Saved]] = {}
_writers_lock = threading.Lock()


class IntakeWriter:
    """The group-commit writer's side of intake, one per process and database.

    `store` commits a group on a connection the writer thread keeps open: no
    pool checkout, and on PostgreSQL no liveness ping, per group. A failed
    group drops the connection; when it failed because the connection had
    died (database restarted, idle timeout), the group is tried once more on
    a fresh one, as the pool's ping would have done.
    `queue` runs after the group's requests have been answered: durability
    needs only the commit, and a flag that is never set (Redis down, process
    killed in between) is made good by reconciliation.
    """

    def __init__(self, database_url: str, redis_url: str | None):
        self.database_url = database_url
        self.redis_url = redis_url
        self._connection: Connection | None = None
        self._autocommit = False
        self._pid = os.getpid()

    def store(self, deliveries: list[Delivery]) -> list[Saved]:
        try:
            return self._store(deliveries)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("database connection lost; writing the group on a new one")
            return self._store(deliveries)

    def _store(self, deliveries: list[Delivery]) -> list[Saved]:
        if self._pid != os.getpid():  # a forked child never shares its parent's socket
            self._connection, self._pid = None, os.getpid()
        if self._connection is None:
            self._connection = get_engine(self.database_url).connect()
            # On PostgreSQL a group is one INSERT statement, atomic on its own: in autocommit
            # it is one round trip instead of three (BEGIN, INSERT, COMMIT).
            self._autocommit = self._connection.dialect.name == "postgresql"
            if self._autocommit:
                self._connection = self._connection.execution_options(isolation_level="AUTOCOMMIT")
        try:
            if self._autocommit:
                return save_deliveries(self._connection, deliveries)
            with self._connection.begin():
                return save_deliveries(self._connection, deliveries)
        except BaseException:
            self._connection.invalidate()
            self._connection.close()
            self._connection = None
            raise

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
