"""Accepting mentions: commit first, then enqueue their classification."""

import logging

from flask import current_app

from core.timeutil import utcnow
from integrations.platforms.mention import IncomingMention
from store.db import transaction
from store.ingest import Saved, save_mentions
from workers import queues

log = logging.getLogger(__name__)
CLASSIFY_JOB = "workers.classify.classify_batch"


def accept(mentions: list[IncomingMention]) -> Saved:
    """Store new mentions durably and queue them; Redis being down loses nothing."""
    settings = current_app.config["SETTINGS"]
    with transaction(settings.database_url) as session:
        saved = save_mentions(session, mentions, utcnow())
    if saved.ids:
        queues.enqueue(queues.CLASSIFY, CLASSIFY_JOB, saved.ids, url=settings.redis_url)
    log.info(
        "mentions accepted",
        extra={"mention_ids": saved.ids, "duplicates": saved.duplicates, "source": mentions[0].source},
    )
    return saved
