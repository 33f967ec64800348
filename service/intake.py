"""Accepting mentions: commit first, then make sure a classification job is queued.

Concurrent requests share their commits (store/group_commit.py): a request
returns once the group holding its mentions is committed and the
classification flag is set, never before.
"""

import logging
import threading

from flask import current_app, g

from core.timeutil import utcnow
from integrations.platforms.mention import IncomingMention
from store.db import get_engine
from store.group_commit import GroupCommit
from store.ingest import Delivery, Saved, save_deliveries
from workers import classify_queue

log = logging.getLogger(__name__)
_writers: dict[tuple[str, str | None], GroupCommit[Delivery, Saved]] = {}
_writers_lock = threading.Lock()


def store_and_queue(database_url: str, redis_url: str | None, deliveries: list[Delivery]) -> list[Saved]:
    """Store new mentions durably, then queue them; Redis being down loses nothing."""
    with get_engine(database_url).begin() as connection:
        saved = save_deliveries(connection, deliveries)
    ids = [id_ for result in saved for id_ in result.ids]
    if ids:
        classify_queue.request_classification(ids, redis_url)
    log.info(
        "mentions accepted",
        extra={
            "mention_ids": ids,
            "duplicates": sum(result.duplicates for result in saved),
            "sources": sorted({m.source for delivery in deliveries for m in delivery.mentions}),
        },
    )
    return saved


def _writer(database_url: str, redis_url: str | None) -> GroupCommit[Delivery, Saved]:
    key = (database_url, redis_url)
    with _writers_lock:
        if key not in _writers:
            _writers[key] = GroupCommit(lambda deliveries: store_and_queue(database_url, redis_url, deliveries))
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
