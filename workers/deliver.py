"""RQ jobs that deliver the Slack outbox at Slack's pace, one channel at a time.

`deliver_channel` sends at most what the channel may send now, then
schedules itself for the moment the channel may send again; it sleeps at
most a quarter second, so one rate-limited channel does not hold a worker the
others need. Per
channel, Redis holds a lock (two workers never drain one channel), a
"not before" time (pacing, Retry-After, backoff) and a "dirty" flag (work
arrived while another worker held the lock).
"""

import hashlib
import math
import time
from datetime import UTC, datetime

from integrations.slack.client import web_client
from integrations.slack.delivery import has_ready, pending_channels, send_next
from store.db import session_for
from workers import queues
from workers.context import app_context

SEND_INTERVAL_SECONDS = 1.0  # Slack allows about one message per second per channel
SHORT_WAIT_SECONDS = 0.25  # waited in the job: cheaper than a round trip through the scheduler
LOCK_MS = 60_000
JOB = "workers.deliver.deliver_channel"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class ChannelGate:
    def __init__(self, redis, channel: str):
        digest = hashlib.sha1(channel.encode()).hexdigest()[:16]
        self.redis = redis
        self.keys = {name: f"earshot:slack:{name}:{digest}" for name in ("lock", "not_before", "dirty", "scheduled")}
        self.token = f"{time.time_ns()}"

    def acquire(self) -> bool:
        return bool(self.redis.set(self.keys["lock"], self.token, nx=True, px=LOCK_MS))

    def release(self) -> None:
        self.redis.eval(_RELEASE, 1, self.keys["lock"], self.token)

    def mark_dirty(self) -> None:
        self.redis.set(self.keys["dirty"], 1, px=LOCK_MS)

    def take_dirty(self) -> bool:
        return self.redis.getdel(self.keys["dirty"]) is not None

    def wait_seconds(self) -> float:
        value = self.redis.get(self.keys["not_before"])
        return max(0.0, float(value) - time.time()) if value else 0.0

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self.redis.set(self.keys["not_before"], f"{time.time() + seconds:.3f}", px=int(seconds * 1000) + 1000)

    def should_schedule(self, at: float) -> bool:
        """False when a follow-up job is already due no later than `at`."""
        current = self.redis.get(self.keys["scheduled"])
        if current and float(current) <= at:
            return False
        self.redis.set(self.keys["scheduled"], f"{at:.3f}", px=int(max(at - time.time(), 0) * 1000) + 10_000)
        return True

    def follow_up_started(self) -> None:
        self.redis.delete(self.keys["scheduled"])


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
    outcome = send_next(settings.database_url, web_client(settings), channel)
    if outcome.status == "idle":
        return None
    pauses = {"sent": SEND_INTERVAL_SECONDS, "rate_limited": outcome.wait_seconds, "retry": outcome.wait_seconds}
    gate.pause(pauses.get(outcome.status, 0.0))
    with session_for(settings.database_url) as session:
        more = has_ready(session, channel)
    return gate.wait_seconds() if more else None


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


def deliver_pending() -> int:
    """Periodic repair: enqueue delivery for every channel with undelivered rows."""
    settings, _ = app_context()
    channels = pending_channels(settings.database_url)
    for channel in channels:
        queues.enqueue(queues.SLACK, JOB, channel, url=settings.redis_url)
    return len(channels)


def drain(channels, timeout: float = 60.0) -> None:
    """Run delivery in this process until nothing is ready (tests, the benchmark); sleeps between sends."""
    deadline = time.monotonic() + timeout
    waiting = set(channels)
    while waiting and time.monotonic() < deadline:
        waits = {channel: deliver_channel(channel) for channel in sorted(waiting)}
        waiting = {channel for channel, wait in waits.items() if wait is not None}
        if waiting:
            time.sleep(max(0.005, min(waits[channel] for channel in waiting)))
    if waiting:
        raise TimeoutError(f"Slack delivery still pending after {timeout} s for {sorted(waiting)}")
