"""Retries of the outboxes that call outside services (platform replies, pages): the backoff between
attempts, and enqueueing each row's send job at its attempt time."""

import logging
from datetime import datetime

from core.timeutil import utcnow
from workers import queues

log = logging.getLogger(__name__)


def backoff(attempts: int, at_least: float, first: float, cap: float) -> float:
    """Seconds before the next attempt after `attempts` of them: `first`, doubling each attempt, at least
    what the service asked for (`at_least`), at most `cap`."""
    return min(cap, max(at_least, first * 2 ** max(attempts - 1, 0)))


def enqueue_attempts(queue: str, job: str, due: dict[int, datetime | None], redis_url: str | None,
                     name: str) -> None:  # fmt: skip
    """A `job` per row id at its attempt time (at once when passed), in one Redis round trip. One job id
    per row and attempt time (`<name>-<id>-<epoch>`): enqueueing the same attempt twice replaces the job.
    Never raises: it runs after a commit, and the periodic repair enqueues what it could not."""
    now = utcnow()
    try:
        with queues.connection(redis_url).pipeline() as pipeline:
            pipeline.multi()
            for row_id, at in due.items():
                at = at if at is not None and at > now else None
                job_id = f"{name}-{row_id}-{int((at or now).timestamp())}"
                queues.enqueue(queue, job, row_id, job_id=job_id, at=at, url=redis_url, pipeline=pipeline)
            pipeline.execute()
    except Exception:
        log.warning("could not enqueue %s jobs", name, extra={"ids": list(due)}, exc_info=True)
