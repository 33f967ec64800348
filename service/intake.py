"""The web side of the mention intake (ingest/intake.py) for Flask requests: this
process's Intake, and the hooks a webhook request calls.

Under gunicorn, SOCKET_ENV names the shared intake writer's socket (set by
gunicorn.conf.py for its web workers); without it, the process's own writer
thread commits.
"""

import os

from flask import current_app, g

from ingest.intake import Intake
from ingest.rows import Saved
from integrations.platforms.mention import IncomingMention
from service.intake_server import SOCKET_ENV
from workers import classify_queue

# The process's own (see Intake): its writer threads and its connections to the shared writer.
_intake = Intake(lambda ids, redis_url: classify_queue.request_classification(ids, redis_url))


def settle(timeout: float = 5.0) -> bool:
    """Wait for every writer thread in this process to finish what it was given, its
    classification requests included (a request is answered before those are sent)."""
    return _intake.settle(timeout)


def shared_writer_status() -> str | None:
    """The shared writer's health: "ok" when it answers an empty request within
    ingest.intake.HEALTH_SECONDS, "unavailable" when it does not; None without one (no gunicorn)."""
    if not (path := _shared_writer()):
        return None
    return _intake.shared_writer_status(path)


def close_connections() -> None:
    """This process's connections to the shared writer (a web worker that is stopping)."""
    _intake.close_connections()


def _shared_writer() -> str | None:
    return os.environ.get(SOCKET_ENV) or None


def expect_mentions() -> None:
    """At the start of a webhook request: the commit being gathered may wait a moment for it."""
    if not _shared_writer():
        settings = current_app.config["SETTINGS"]
        g.arrival = _intake.writer(settings.database_url, settings.redis_url).announce()


def no_more_mentions(_error=None) -> None:
    """At the end of a webhook request, whether it submitted or was refused."""
    if (arrival := g.pop("arrival", None)) is not None:
        arrival.withdraw()


def accept(mentions: list[IncomingMention]) -> Saved:
    settings = current_app.config["SETTINGS"]
    path = _shared_writer()
    arrival = None if path else g.pop("arrival", None)
    return _intake.accept(mentions, settings.database_url, settings.redis_url, shared_writer=path, arrival=arrival)
