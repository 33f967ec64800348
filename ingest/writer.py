"""Writing accepted mentions: one INSERT per group on a kept driver connection,
then the classification flag.

Used by the in-process group commit (ingest/intake.py) and by the shared
intake writer process (ingest/loop.py) alike. A group is a list of batches,
each one webhook request's rows (ingest.rows.delivery_rows).
"""

import logging
import os
from collections.abc import Callable

from sqlalchemy.exc import DBAPIError

from ingest.rows import Saved, insert_rows
from store.db import get_engine

log = logging.getLogger(__name__)


class IntakeWriter:
    """`store` runs a group's one INSERT on a driver connection it keeps open,
    in autocommit (the statement is atomic on its own): no pool checkout, no
    liveness ping, no BEGIN or COMMIT, and none of SQLAlchemy's per-execution
    work. A failed group drops the connection; when it failed because the
    connection had died (database restarted, idle timeout), the group is tried
    once more on a fresh one, as the pool's ping would have done. Driver errors
    leave as SQLAlchemy's, as from any other query.
    `queue` runs after the group's requests have been answered: it hands the
    new mentions' ids to `request_classification` (the entry point's: it sets
    the classification flag, workers.classify_queue). Durability needs only the
    commit, and a flag that is never set (Redis down, process killed in
    between) is made good by reconciliation.
    """

    def __init__(self, database_url: str, request_classification: Callable[[list[int]], None]):
        self.database_url = database_url
        self.request_classification = request_classification
        self.dialect = get_engine(database_url).dialect.name
        self._pooled = None  # the pool's wrapper; kept checked out, so the pool never reuses it
        self._driver = None  # sqlite3 or psycopg connection
        self._dialect = None  # SQLAlchemy's, for the driver's error classes and disconnect test
        self._pid = os.getpid()

    def store(self, batches: list[list[dict]]) -> list[Saved]:
        try:
            return self._store(batches)
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
            log.warning("database connection lost; writing the group on a new one")
            return self._store(batches)

    def _connect(self) -> None:
        engine = get_engine(self.database_url)
        self._dialect = engine.dialect
        self._pooled = engine.raw_connection()
        self._driver = self._pooled.driver_connection
        if self._dialect.name == "postgresql":
            self._driver.autocommit = True
        # SQLite's connections are in autocommit already (store.db: the driver begins nothing).

    def _store(self, batches: list[list[dict]]) -> list[Saved]:
        if self._pid != os.getpid():  # a forked child never shares its parent's socket
            self._pooled = self._driver = None
            self._pid = os.getpid()
        if self._driver is None:
            self._connect()
        dbapi_error = self._dialect.loaded_dbapi.Error
        try:
            return insert_rows(self._driver, self._dialect.name, batches)
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

    def queue(self, batches: list[list[dict]], saved: list[Saved]) -> None:
        if not any(batches):
            return  # nothing was sent (a health check's empty request)
        ids = [id_ for result in saved for id_ in result.ids]
        if ids:
            self.request_classification(ids)
        log.info(
            "mentions accepted",
            extra={
                "mention_ids": ids,
                "duplicates": sum(result.duplicates for result in saved),
                "sources": sorted({row["source"] for batch in batches for row in batch}),
            },
        )
