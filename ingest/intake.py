"""Accepting mentions: commit first, then make sure a classification job is queued.

A request's rows go to one of two writers, both of which answer only once
the rows are committed and set the classification flag after answering:
- under gunicorn, the shared intake writer process of its master
  (ingest/loop.py), which merges the groups of every web worker;
- anywhere else (the test client, `flask run`), a group-commit writer thread
  in this process (ingest/group_commit.py): concurrent requests share its commits.
"""

import threading
import time
from collections.abc import Callable

from core.timeutil import utcnow
from ingest.group_commit import WAIT_SECONDS, Arrival, GroupCommit
from ingest.rows import Delivery, Saved, delivery_rows
from ingest.wire import WriterClient, WriterUnavailable
from ingest.writer import IntakeWriter
from integrations.platforms.mention import IncomingMention
from store.db import get_engine

HEALTH_SECONDS = 2.0


class Intake:
    """A process's writer threads and connections to the shared writer, made on first use.

    One per process (the entry point holds it: service/intake.py), not one per
    app, because what it keeps belongs to the process: a writer thread per
    database (one thread writing, not several contending for SQLite's write lock;
    a forked web worker starts its own, GroupCommit), each thread's connection
    to the shared writer (WriterClient), and gunicorn's worker_exit settles them
    with no app at hand. Writers are keyed by (database_url, redis_url): tests
    run apps on many databases in one process.

    `request_classification(ids, redis_url)` sets the classification flag after
    a group is answered (the entry point's: workers.classify_queue).
    """

    def __init__(self, request_classification: Callable[[list[int], str | None], None]):
        self._request_classification = request_classification
        self._writers: dict[tuple[str, str | None], GroupCommit[list[dict], Saved]] = {}
        self._clients: dict[tuple[str, float], WriterClient] = {}
        self._lock = threading.Lock()

    def writer(self, database_url: str, redis_url: str | None) -> GroupCommit[list[dict], Saved]:
        """This process's group-commit writer for the database."""
        key = (database_url, redis_url)
        with self._lock:
            if key not in self._writers:
                intake = IntakeWriter(database_url, lambda ids: self._request_classification(ids, redis_url))
                self._writers[key] = GroupCommit(intake.store, then=intake.queue)
            return self._writers[key]

    def _client(self, path: str, timeout: float = WAIT_SECONDS) -> WriterClient:
        with self._lock:
            if (path, timeout) not in self._clients:
                self._clients[path, timeout] = WriterClient(path, timeout)
            return self._clients[path, timeout]

    def accept(
        self,
        mentions: list[IncomingMention],
        database_url: str,
        redis_url: str | None,
        shared_writer: str | None = None,
        arrival: Arrival | None = None,
    ) -> Saved:
        """The mentions' result once committed: through the shared writer's socket when there is
        one, else through this process's writer (as `arrival`, when the caller announced itself)."""
        rows = delivery_rows(Delivery(mentions, utcnow()), get_engine(database_url).dialect.name)
        if shared_writer:
            return self._client(shared_writer).submit(rows)
        if arrival is not None:
            return arrival.submit(rows)
        return self.writer(database_url, redis_url).submit(rows)

    def settle(self, timeout: float = 5.0) -> bool:
        """Wait for every writer thread in this process to finish what it was given, its
        classification requests included (a request is answered before those are sent)."""
        with self._lock:
            writers = list(self._writers.values())
        deadline = time.monotonic() + timeout
        return all(writer.settle(max(0.0, deadline - time.monotonic())) for writer in writers)

    def shared_writer_status(self, path: str) -> str:
        """"ok" when the shared writer at `path` answers an empty request within HEALTH_SECONDS,
        "unavailable" when it does not."""
        try:
            self._client(path, HEALTH_SECONDS).submit([])
        except WriterUnavailable:
            return "unavailable"
        return "ok"

    def close_connections(self) -> None:
        """This process's connections to the shared writer (a web worker that is stopping)."""
        with self._lock:
            clients = list(self._clients.values())
        for client in clients:
            client.close()
