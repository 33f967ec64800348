"""Repair jobs: whatever Redis lost, the database still knows."""

import logging
from datetime import timedelta

from sqlalchemy import func, or_, select

from core.timeutil import utcnow
from store.db import session_for
from store.schema import Mention
from workers.classify import STALE_CLAIM
from workers.classify_queue import request_classification
from workers.context import app_context

log = logging.getLogger(__name__)
GRACE = timedelta(seconds=20)


def reconcile_mentions() -> int:
    """Queue classification for mentions stored but never processed: the enqueue
    failed (Redis down at that moment), Redis was flushed, or a worker died."""
    settings, _ = app_context()
    now = utcnow()
    with session_for(settings.database_url) as session:
        stranded = session.scalar(
            select(func.count())
            .select_from(Mention)
            .where(Mention.processed_at.is_(None), Mention.received_at < now - GRACE)
            .where(or_(Mention.claimed_at.is_(None), Mention.claimed_at < now - STALE_CLAIM))
        )
    if stranded:
        log.warning("re-queueing stranded mentions", extra={"count": stranded})
        request_classification([], settings.redis_url)
    return stranded
