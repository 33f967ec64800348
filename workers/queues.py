"""Queue names, the Redis connection, and enqueueing by dotted name.

The web process enqueues by name ("workers.classify.classify_batch") so it
never imports torch. Jobs take ids, never ORM objects.

Every function takes the Redis URL from its caller (`Settings.redis_url`, read
once by the entry point); None, REDIS_URL unset, means the local Redis
(DEFAULT_REDIS_URL). Nothing here reads the environment.
"""

import logging
from datetime import datetime

from redis import Redis
from redis.client import Pipeline
from redis.exceptions import RedisError
from rq import Queue, Retry

CLASSIFY = "classify"  # the model worker: SimpleWorker, the model loaded once
SLACK = "slack"
REPLIES = "replies"  # public replies to customers: on the io worker, ahead of Slack delivery
PAGING = "paging"  # pages to on-call (PagerDuty, the on-call webhook): on the io worker, before Slack
SLA = "sla"
MAINTENANCE = "maintenance"
IO_QUEUES = (REPLIES, PAGING, SLACK)  # the Slack dispatcher may run for its whole budget
SLA_QUEUES = (SLA, MAINTENANCE)  # in priority order: short jobs, breaches first

# The modules whose functions each queue's jobs call: a worker imports them before its first job,
# so that job does not pay for the imports (over a second for Slack delivery on 2 cores).
JOB_MODULES = {
    CLASSIFY: ("workers.classify",),
    SLACK: ("workers.deliver",),
    REPLIES: ("workers.replies",),
    PAGING: ("workers.paging",),
    SLA: ("workers.sla", "workers.assign"),
    MAINTENANCE: ("workers.maintenance", "workers.digest", "workers.retention"),
}

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
JOB_TIMEOUT = {CLASSIFY: 300, SLACK: 60, REPLIES: 60, PAGING: 60, SLA: 60, MAINTENANCE: 300}
FAILURE_TTL = 7 * 86400
RESULT_TTL = 300

log = logging.getLogger(__name__)
# One client per URL for the life of the process. A client owns a pool of sockets (thread-safe, and
# redis-py opens a fresh pool in a forked child): sharing it spares every enqueue, which follows
# nearly every commit, a TCP connect. Keyed by URL, not global: a process (the tests, the benchmarks)
# may talk to several Redis servers.
_connections: dict[str, Redis] = {}


def redis_url(configured: str | None) -> str:
    """The URL connected to for `configured` (`Settings.redis_url`): it, or the local default."""
    return configured or DEFAULT_REDIS_URL


def connection(url: str | None) -> Redis:
    url = redis_url(url)
    if url not in _connections:
        # Short timeouts: a web request must not hang on a dead Redis; the
        # mention is already committed and reconciliation will enqueue it.
        _connections[url] = Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)
    return _connections[url]


def queue(name: str, url: str | None) -> Queue:
    return Queue(name, connection=connection(url), default_timeout=JOB_TIMEOUT[name])


def enqueue(queue_name: str, func: str, *args, url: str | None, job_id: str | None = None,
            at: datetime | None = None, retry: Retry | None = None, meta: dict | None = None,
            pipeline: Pipeline | None = None):
    """Enqueue `func` (dotted name) on `queue_name` in the Redis at `url`; returns the job, or None when
    Redis is unreachable. With `pipeline`, the commands wait in it for the caller's `execute()`."""
    options = dict(job_id=job_id, retry=retry, meta=meta or {}, failure_ttl=FAILURE_TTL, result_ttl=RESULT_TTL,
                   pipeline=pipeline)  # fmt: skip
    try:
        target = queue(queue_name, url)
        if at is not None:
            return target.enqueue_at(at, func, *args, **options)
        return target.enqueue(func, *args, **options)
    except RedisError as error:
        log.warning("enqueue failed; reconciliation will retry", extra={"func": func, "error": type(error).__name__})
        return None
