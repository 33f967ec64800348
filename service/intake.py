"""Accepting mentions: commit first, then make sure a classification job is queued."""

import logging

from flask import current_app

from core.timeutil import utcnow
from integrations.platforms.mention import IncomingMention
from store.db import get_engine
from store.ingest import Saved, save_mentions
from workers import classify_queue

log = logging.getLogger(__name__)


def accept(mentions: list[IncomingMention]) -> Saved:
    """Store new mentions durably and queue them; Redis being down loses nothing."""
    settings = current_app.config["SETTINGS"]
    with get_engine(settings.database_url).begin() as connection:
        saved = save_mentions(connection, mentions, utcnow())
    if saved.ids:
        classify_queue.request_classification(saved.ids, settings.redis_url)
    log.info(
        "mentions accepted",
        extra={"mention_ids": saved.ids, "duplicates": saved.duplicates, "source": mentions[0].source},
    )
    return saved
