"""When Slack delivery fails: per channel, an episode runs from its first failure to its next
success, kept in Redis (one small JSON value per failing channel); and `delivery_status`, what
/healthz and the dashboard say about delivery.

Workers record episodes as they deliver (workers.deliver); a notice goes to the escalation
channel once per episode (rules.should_notice). If Redis is flushed mid-episode, the next
failure starts a new one (and so one more notice); the outbox itself is in the database.
"""

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from redis.exceptions import RedisError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from integrations.slack import rules
from store.schema import SlackMessage

PREFIX = "earshot:slack:episode:"
INDEX = "earshot:slack:episodes"  # the channels with an episode, for listing
TTL_SECONDS = 86400  # an episode not seen failing for a day is forgotten (a later failure starts another)
FAILING_AFTER = timedelta(seconds=rules.NOTICE_AFTER_SECONDS)  # a message failing this long makes delivery "failing"
REFUSAL_SHOWN_SECONDS = 3600  # a channel Slack refused makes delivery "failing" for an hour after its last refusal


@dataclass
class Episode:
    channel: str
    since: float
    error: str
    refused: bool = False  # Slack refuses the channel (or the app), not a passing failure
    noticed: bool = False
    last_at: float = 0.0
    failures: int = 0

    @property
    def key(self) -> str:
        """Names the episode (the notice's dedupe key)."""
        return f"{self.channel}:{int(self.since)}"


def _key(channel: str) -> str:
    return PREFIX + hashlib.sha1(channel.encode()).hexdigest()[:16]


def _load(raw) -> Episode | None:
    if not raw:
        return None
    try:
        return Episode(**json.loads(raw))
    except (ValueError, TypeError):
        return None


def load(redis: Redis, channel: str) -> Episode | None:
    return _load(redis.get(_key(channel)))


def _save(redis: Redis, episode: Episode) -> None:
    with redis.pipeline() as pipeline:
        pipeline.set(_key(episode.channel), json.dumps(asdict(episode)), ex=TTL_SECONDS)
        pipeline.sadd(INDEX, episode.channel)
        pipeline.execute()


def record_failure(redis: Redis, channel: str, error: str, refused: bool, now: float | None = None) -> Episode:
    """A failure in `channel`: starts its episode, or adds to the one running."""
    now = time.time() if now is None else now
    episode = load(redis, channel) or Episode(channel=channel, since=now, error=error)
    episode.error, episode.last_at, episode.failures = error, now, episode.failures + 1
    episode.refused = episode.refused or refused
    _save(redis, episode)
    return episode


def mark_noticed(redis: Redis, episode: Episode) -> None:
    current = load(redis, episode.channel)
    if current is not None and current.since == episode.since:
        current.noticed = True
        _save(redis, current)


def end(redis: Redis, channel: str) -> Episode | None:
    """A success in `channel`: its episode (if any) is over; returns it."""
    raw = redis.getdel(_key(channel))
    if raw is not None:
        redis.srem(INDEX, channel)
    return _load(raw)


def running(redis: Redis) -> list[Episode]:
    """Every channel's episode, oldest first."""
    found = []
    for member in redis.smembers(INDEX):
        channel = member.decode() if isinstance(member, bytes) else member
        episode = load(redis, channel)
        if episode is None:
            redis.srem(INDEX, channel)  # expired
        else:
            found.append(episode)
    return sorted(found, key=lambda e: e.since)


def _when(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def failing_text(episode: Episode, default_channel: str, escalation_channel: str) -> str:
    if episode.refused:
        return (f"Slack delivery to {episode.channel} fails: Slack refuses it ({episode.error}), since "
                f"{_when(episode.since)}. Tickets routed there are posted in {default_channel} (or else "
                f"{escalation_channel}) instead, each saying why. Fix the channel or invite the Earshot app to it, "
                f"or change the route.")  # fmt: skip
    return (f"Slack delivery to {episode.channel} has been failing since {_when(episode.since)} ({episode.error}). "
            f"Earshot keeps every message of an open ticket and retries it at least every "
            f"{rules.MAX_BACKOFF_SECONDS // 60} minutes; nothing is lost.")  # fmt: skip


def recovered_text(episode: Episode, now: float) -> str:
    return (f"Slack delivery to {episode.channel} works again (failing from {_when(episode.since)} to "
            f"{_when(now)}); waiting messages are on their way.")  # fmt: skip


def given_up_text(channel: str, ticket_id: int | None, error: str | None) -> str:
    what = f"Ticket #{ticket_id}'s message" if ticket_id else "A message"
    return f"{what} for {channel} could not be posted in any form ({error}) and was given up; see it in Earshot."


@dataclass
class DeliveryStatus:
    state: str  # "ok" or "failing"
    failing_messages: int  # undelivered messages whose tries have failed for over FAILING_AFTER
    oldest_failing_seconds: float | None
    channels: list[str]  # channels with a failure episode running (from Redis; empty when it is down)

    def as_health(self) -> dict:
        return {
            "slack": self.state,
            "slack_failing_messages": self.failing_messages,
            "slack_oldest_failing_seconds": self.oldest_failing_seconds,
            "slack_failing_channels": self.channels,
        }


def delivery_status(session: Session, redis: Redis | None, now: datetime) -> DeliveryStatus:
    """Failing when a message has been failing for over a minute, or Slack refuses a channel
    (its messages then go elsewhere, so none may be waiting)."""
    count, oldest = session.execute(
        select(func.count(), func.min(SlackMessage.failing_since)).where(
            SlackMessage.failing_since <= now - FAILING_AFTER,
            SlackMessage.sent_at.is_(None),
            SlackMessage.failed_at.is_(None),
        )
    ).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    episodes = []
    if redis is not None:
        try:
            episodes = running(redis)
        except RedisError:
            episodes = []
    refused = [e.channel for e in episodes if e.refused and now.timestamp() - e.last_at <= REFUSAL_SHOWN_SECONDS]
    failing = bool(count) or bool(refused)
    channels = [e.channel for e in episodes
                if e.channel in refused or now.timestamp() - e.since >= FAILING_AFTER.total_seconds()]  # fmt: skip
    return DeliveryStatus(
        state="failing" if failing else "ok",
        failing_messages=count or 0,
        oldest_failing_seconds=round((now - oldest).total_seconds(), 1) if oldest is not None else None,
        channels=channels,
    )
