"""Asking for classification without flooding the queue.

A classification job drains every pending mention, so one queued job is
enough. The web process sets a flag with SET NX after committing its mentions
and enqueues only when it set the flag; the job clears the flag *before* it
starts draining. A commit that saw the flag set therefore happened before the
drain began, and the drain will find it.
"""

import logging

from redis.exceptions import RedisError

from workers import queues

log = logging.getLogger(__name__)
FLAG = "earshot:classify:queued"
FLAG_TTL_SECONDS = 120  # a lost job (Redis flushed, worker gone) cannot wedge the flag
JOB = "workers.classify.classify_batch"


def request_classification(mention_ids: list[int], url: str | None) -> None:
    try:
        if not queues.connection(url).set(FLAG, 1, nx=True, ex=FLAG_TTL_SECONDS):
            return
    except RedisError as error:
        log.warning("Redis unreachable; reconciliation will queue the mentions", extra={"error": type(error).__name__})
        return
    if queues.enqueue(queues.CLASSIFY, JOB, mention_ids, url=url) is None:
        clear_flag(url)


def clear_flag(url: str | None) -> None:
    try:
        queues.connection(url).delete(FLAG)
    except RedisError:
        pass
