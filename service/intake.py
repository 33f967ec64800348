"""Accepting mentions: commit first, then make sure a classification job is queued.

A request's rows go to one of two writers, both of which answer only once
the rows are committed and set the classification flag after answering:
- under gunicorn, the shared intake writer process of its master
  (service/intake_server.py), which merges the groups of every web worker;
- anywhere else (the test client, `flask run`), a group-commit writer thread
  in this process (store/group_commit.py): concurrent requests share its commits.
"""

import os
import threading
import time

from flask import current_app, g

from core.timeutil import utcnow
from integrations.platforms.mention import IncomingMention
from service.intake_wire import SOCKET_ENV, WriterClient, WriterUnavailable
from service.intake_writer import IntakeWriter
from store.db import get_engine
from store.group_commit import WAIT_SECONDS, GroupCommit
from store.ingest import Delivery, Saved, delivery_rows

_writers: dict[tuple[str, str | None], GroupCommit[list[dict], Saved]] = {}
_clients: dict[tuple[str, float], WriterClient] = {}
HEALTH_SECONDS = 2.0
_lock = threading.Lock()


def _writer(database_url: str, redis_url: str | None) -> GroupCommit[list[dict], Saved]:
    key = (database_url, redis_url)
    with _lock:
        if key not in _writers:
            intake = IntakeWriter(database_url, redis_url)
            _writers[key] = GroupCommit(intake.store, then=intake.queue)
        return _writers[key]


def _client(path: str, timeout: float = WAIT_SECONDS) -> WriterClient:
    with _lock:
        if (path, timeout) not in _clients:
            _clients[path, timeout] = WriterClient(path, timeout)
        return _clients[path, timeout]


def settle(timeout: float = 5.0) -> bool:
    """Wait for every writer thread in this process to finish what it was given, its
    classification requests included (a request is answered before those are sent)."""
    with _lock:
        writers = list(_writers.values())
    deadline = time.monotonic() + timeout
    return all(writer.settle(max(0.0, deadline - time.monotonic())) for writer in writers)


def shared_writer_status() -> str | None:
    """The shared writer's health: "ok" when it answers an empty request within HEALTH_SECONDS,
    "unavailable" when it does not; None without one (no gunicorn)."""
    if not (path := _shared_writer()):
        return None
    try:
        _client(path, HEALTH_SECONDS).submit([])
    except WriterUnavailable:
        return "unavailable"
    return "ok"


def close_connections() -> None:
    """This process's connections to the shared writer (a web worker that is stopping)."""
    with _lock:
        clients = list(_clients.values())
    for client in clients:
        client.close()


def _current_writer() -> GroupCommit[list[dict], Saved]:
    settings = current_app.config["SETTINGS"]
    return _writer(settings.database_url, settings.redis_url)


def _shared_writer() -> str | None:
    return os.environ.get(SOCKET_ENV) or None


def expect_mentions() -> None:
    """At the start of a webhook request: the commit being gathered may wait a moment for it."""
    if not _shared_writer():
        g.arrival = _current_writer().announce()


def no_more_mentions(_error=None) -> None:
    """At the end of a webhook request, whether it submitted or was refused."""
    if (arrival := g.pop("arrival", None)) is not None:
        arrival.withdraw()


def accept(mentions: list[IncomingMention]) -> Saved:
    settings = current_app.config["SETTINGS"]
    rows = delivery_rows(Delivery(mentions, utcnow()), get_engine(settings.database_url).dialect.name)
    if path := _shared_writer():
        return _client(path).submit(rows)
    if (arrival := g.pop("arrival", None)) is not None:
        return arrival.submit(rows)
    return _current_writer().submit(rows)
