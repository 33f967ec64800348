"""RQ jobs that deliver the Slack outbox at Slack's pace.

`dispatch` is the delivery loop: it serves every channel with undelivered
messages, one message per channel whenever that channel may send (about one a
second, longer after a 429's Retry-After or a backoff), and sleeps only until
the next channel is ready -- so a throttled channel never holds up the others,
and pacing is not rounded to RQ's whole-second scheduler. It runs while there
is work (up to a budget, then it queues its successor). A commit that adds
outbox rows asks for a dispatcher with a Redis flag (workers.after_commit), so
at most one is queued.

`deliver_channel` sends what one channel may send now and schedules itself
for later; `deliver_pending` is the periodic repair. Per channel, Redis holds
a lock (two workers never drain one channel), a "not before" time (pacing,
Retry-After) and a "dirty" flag (work arrived while another worker held the
lock): so the pace holds across processes and hosts. A failed message waits
out its own backoff in the database and lets the rest of its channel pass.

Failures are followed per channel (integrations.slack.episodes): the first
failure starts an episode, the next success ends it (after a long one, what
waits in backoff is retried at once); people are told once per episode, in the
escalation channel (at once when Slack refuses a channel, after a minute
otherwise), and again when it works again.
"""

import contextlib
import logging
import math
import time
from datetime import UTC, datetime

from redis.exceptions import RedisError

from integrations.slack import episodes, rules
from integrations.slack.client import web_client
from integrations.slack.delivery import has_ready, next_retry_in, pending_channels, retry_now, send_next
from store.db import session_for, transaction
from tickets import outbox
from workers import queues
from workers.channel_gate import ChannelGate
from workers.context import app_context

SEND_INTERVAL_SECONDS = 1.0  # Slack allows about one message per second per channel
SHORT_WAIT_SECONDS = 0.25  # waited in the job: cheaper than a round trip through the scheduler
JOB = "workers.deliver.deliver_channel"
DISPATCH_JOB = "workers.deliver.dispatch"
DISPATCH_FLAG = "earshot:slack:dispatch-queued"
DISPATCH_BUDGET_SECONDS = 45.0  # under the slack queue's job timeout; a successor takes over
IDLE_POLL_SECONDS = 0.25  # how soon new work is noticed while the loop waits on paced channels
RETRY_HORIZON_SECONDS = 30.0  # a backoff ending this soon is waited for; later ones are left to deliver_pending
log = logging.getLogger(__name__)


def _schedule(gate: ChannelGate, channel: str, wait: float, redis_url: str | None) -> None:
    # RQ keeps whole seconds for scheduled jobs: round up, or the job runs early and finds nothing to do.
    at = math.ceil(time.time() + wait)
    if gate.should_schedule(at):
        queues.enqueue(queues.SLACK, JOB, channel, True, at=datetime.fromtimestamp(at, UTC), url=redis_url)


def _step(gate: ChannelGate, channel: str, settings) -> float | None:
    """Send one message if the channel may; returns the wait before the next send, None when idle."""
    wait = gate.wait_seconds()
    if wait > SHORT_WAIT_SECONDS:
        return wait
    time.sleep(wait)
    outcome = send_next(settings, app_context()[1].slack, web_client(settings), channel)
    if outcome.status == "idle":
        return _retry_wait(settings, channel)
    # A failed call counts against the channel's pace; the message itself waits out its own backoff.
    pauses = {"sent": SEND_INTERVAL_SECONDS, "rate_limited": outcome.wait_seconds, "retry": SEND_INTERVAL_SECONDS}
    gate.pause(pauses.get(outcome.status, 0.0))
    observe(gate.redis, outcome, settings)
    with session_for(settings.database_url) as session:
        more = has_ready(session, channel)
    return gate.wait_seconds() if more else _retry_wait(settings, channel)


def _retry_wait(settings, channel: str) -> float | None:
    """Seconds until a message of the channel comes out of its backoff, if that is soon."""
    with session_for(settings.database_url) as session:
        wait = next_retry_in(session, channel)
    return wait if wait is not None and wait <= RETRY_HORIZON_SECONDS else None


def _notice(settings, about: str, text: str, key: str, mentions: bool = True) -> None:
    slack = app_context()[1].slack
    where = rules.notice_channel(about, slack.default_channel, slack.escalation_channel)
    with transaction(settings.database_url) as session:
        outbox.queue_notice(session, where, text, key, slack.escalation_mentions if mentions else ())


def _maybe_notice(redis, settings, episode: episodes.Episode, now: float) -> None:
    if not rules.should_notice(now - episode.since, episode.refused, episode.noticed):
        return
    slack = app_context()[1].slack
    text = episodes.failing_text(episode, slack.default_channel, slack.escalation_channel)
    _notice(settings, episode.channel, text, f"failing:{episode.key}")
    episodes.mark_noticed(redis, episode)


def observe(redis, outcome, settings) -> None:
    """Follow failure episodes from one outcome; bookkeeping never fails a delivery."""
    if not outcome.channel:
        return
    now = time.time()
    try:
        if outcome.status == "sent":
            ended = episodes.end(redis, outcome.channel)
            if ended is not None and now - ended.since >= rules.NOTICE_AFTER_SECONDS:
                # Back after an outage: what waits in backoff goes now, in every channel (Slack fails as a
                # whole more often than one channel). A short episode (one message Slack keeps failing
                # on, between successes) does not cut that message's backoff short.
                retry_now(settings.database_url, None if not ended.refused else outcome.channel)
            if ended is not None:
                if ended.noticed:
                    _notice(settings, outcome.channel, episodes.recovered_text(ended, now),
                            f"recovered:{ended.key}", mentions=False)  # fmt: skip
        elif outcome.failure in ("transient", "workspace", "refused"):
            refused = outcome.failure != "transient"
            _maybe_notice(redis, settings, episodes.record_failure(redis, outcome.channel, outcome.error or "", refused,
                                                                   now), now)  # fmt: skip
        if outcome.status == "failed" and outcome.persistent:
            text = episodes.given_up_text(outcome.channel, outcome.ticket_id, outcome.error)
            _notice(settings, outcome.channel, text, f"given-up:{outcome.message_id}")
    except Exception:
        log.warning("could not follow a Slack delivery failure", exc_info=True)


def deliver_channel(channel: str, follow_up: bool = False) -> float | None:
    """The job: returns seconds until the channel's next send (already scheduled), None when idle.

    `follow_up` marks the job a channel schedules for itself; other jobs for a
    channel that already has one coming leave the sending to it.
    """
    settings, _ = app_context()
    gate = ChannelGate(queues.connection(settings.redis_url), channel)
    if follow_up:
        gate.follow_up_started()
    gate.mark_dirty()
    wait = None
    while gate.acquire():
        try:
            gate.take_dirty()
            wait = _step(gate, channel, settings)
            if wait is not None:
                _schedule(gate, channel, wait, settings.redis_url)
        finally:
            gate.release()
        # Work committed while we held the lock was left to us; look again.
        if wait is not None or not gate.take_dirty():
            break
    return wait


def request_dispatch(redis_url: str | None) -> None:
    """Make sure a dispatcher is queued or running on `redis_url`; cheap to call after every commit
    (workers.after_commit does, for the commits that queued Slack messages)."""
    try:
        if not queues.connection(redis_url).set(DISPATCH_FLAG, 1, nx=True, ex=int(DISPATCH_BUDGET_SECONDS * 2)):
            return
    except RedisError:
        return  # deliver_pending repairs once Redis is back
    if queues.enqueue(queues.SLACK, DISPATCH_JOB, url=redis_url) is None:
        queues.connection(redis_url).delete(DISPATCH_FLAG)


def _serve(redis, channel: str, settings) -> float | None:
    """One turn for one channel: send if it may; the wait before its next send, None when it is idle."""
    gate = ChannelGate(redis, channel)
    wait = gate.wait_seconds()
    if wait > 0:
        return wait
    if not gate.acquire():
        return None  # another worker holds this channel
    try:
        gate.take_dirty()
        return _step(gate, channel, settings)
    finally:
        gate.release()


def _ready_channels(database_url: str) -> list[str]:
    with session_for(database_url) as session:
        return [channel for channel in pending_channels(database_url) if has_ready(session, channel)]


def dispatch() -> int:
    """The job: deliver every channel's messages at Slack's pace; returns how many turns sent or tried."""
    settings, _ = app_context()
    redis = queues.connection(settings.redis_url)
    try:
        return _dispatch_loop(settings, redis)
    except Exception:
        # A crashed dispatcher (the database restarting, say) must not hold the
        # flag until it expires: the next deliver_pending queues a successor.
        with contextlib.suppress(RedisError):
            redis.delete(DISPATCH_FLAG)
        raise


def _others_waiting(redis_url: str | None) -> bool:
    """A reply to a customer or a page to on-call is queued for this worker: it goes before Slack, which
    a successor dispatcher takes up after it."""
    try:
        return any(queues.queue(name, redis_url).count for name in queues.IO_QUEUES if name != queues.SLACK)
    except RedisError:
        return False


def _dispatch_loop(settings, redis) -> int:
    deadline = time.monotonic() + DISPATCH_BUDGET_SECONDS
    turns = 0
    while time.monotonic() < deadline:
        redis.expire(DISPATCH_FLAG, int(DISPATCH_BUDGET_SECONDS * 2))  # we are the dispatcher: no duplicates
        waits = []
        for channel in pending_channels(settings.database_url):
            wait = _serve(redis, channel, settings)
            if wait is not None:
                waits.append(wait)
            turns += 1
        if not waits:
            # Clear the flag, then look once more: a commit that saw the flag set
            # committed before this check, so its rows are found here. Rows that
            # cannot go yet (a note whose parent failed for good) do not count.
            redis.delete(DISPATCH_FLAG)
            if not _ready_channels(settings.database_url):
                return turns
            redis.set(DISPATCH_FLAG, 1, ex=int(DISPATCH_BUDGET_SECONDS * 2))
        if _others_waiting(settings.redis_url):  # at least one pass each run: Slack is never starved
            break
        time.sleep(min([*waits, IDLE_POLL_SECONDS]))
    redis.delete(DISPATCH_FLAG)
    request_dispatch(settings.redis_url)
    return turns


def deliver_pending() -> int:
    """Periodic repair: a dispatcher for undelivered rows (after a lost job or a Redis restart, or
    once a message's backoff is over); and the notice of a failure episode that has lasted."""
    settings, _ = app_context()
    channels = pending_channels(settings.database_url)
    if channels:
        request_dispatch(settings.redis_url)
    try:
        redis, now = queues.connection(settings.redis_url), time.time()
        for episode in episodes.running(redis):
            _maybe_notice(redis, settings, episode, now)
    except RedisError:
        pass
    return len(channels)


def drain(channels, timeout: float = 60.0) -> None:
    """Run delivery in this process until nothing is ready (tests, the benchmark); sleeps between sends."""
    deadline = time.monotonic() + timeout
    waiting = set(channels)
    database_url = app_context()[0].database_url
    while waiting and time.monotonic() < deadline:
        waits = {channel: deliver_channel(channel) for channel in sorted(waiting)}
        # None is idle, or another worker holds the channel: ready rows left mean the latter, so look again
        ready = set(_ready_channels(database_url)) if None in waits.values() else set()
        waits = {channel: 0.05 if wait is None and channel in ready else wait for channel, wait in waits.items()}
        waiting = {channel for channel, wait in waits.items() if wait is not None}
        if waiting:
            time.sleep(max(0.005, min(waits[channel] for channel in waiting)))
    if waiting:
        raise TimeoutError(f"Slack delivery still pending after {timeout} s for {sorted(waiting)}")
