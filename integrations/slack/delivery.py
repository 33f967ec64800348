"""Sending a channel's next outbox row to Slack, and recording what happened: the per-channel turn.

A row is claimed (attempts += 1, committed) before Slack is called and the
result is recorded in a second transaction, so no database lock is held
over the network. If a worker dies between the two, the next attempt
(attempts > 1) first looks for the earlier post by its message metadata and
adopts it, so a ticket never gets two parent messages (integrations.slack.sending).

Per channel, rows go by lane, then priority, then age (integrations.slack.rules).
A failed row waits out its own backoff (`next_attempt_at`, 1 s doubling to
5 minutes) without holding up the rows behind it, and is retried for as long
as its ticket is open; only messages that need not persist are given up after
rules.MAX_ATTEMPTS. A message Slack refuses is not dropped: a parent goes to the
next channel of its ladder (routed, default, escalation) saying why, and a
message Slack finds malformed is sent again in a simpler form (integrations.slack.failures).
How each kind of row is rendered and sent is in one registry (integrations.slack.kinds).

What delivery needs (settings, Slack configuration, client) is passed in by the
job; pacing, locks, rescheduling and failure episodes belong to it (workers/deliver.py).
"""

import logging
from datetime import datetime, timedelta
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.config_sections import SlackConfig
from core.settings import Settings
from core.timeutil import utcnow
from integrations.slack import failures, kinds, rules, sending
from integrations.slack.attempt import Courier, Outcome, Send
from store.db import transaction
from store.schema import Incident, SlackMessage, Ticket

log = logging.getLogger(__name__)

SUPERSEDED_ANSWERED = "superseded: answered before the reminder went out"


def _waiting(channel: str):
    """A channel's undelivered rows that may go once their backoff is over; thread messages wait for their parent."""
    return (
        select(SlackMessage)
        .outerjoin(Ticket, SlackMessage.ticket_id == Ticket.id)
        .outerjoin(Incident, SlackMessage.incident_id == Incident.id)
        .where(
            SlackMessage.channel == channel,
            SlackMessage.sent_at.is_(None),
            SlackMessage.failed_at.is_(None),
            or_(
                SlackMessage.kind.in_(kinds.STANDALONE),
                Ticket.slack_ts.is_not(None),
                Incident.slack_ts.is_not(None),  # an incident's update waits for its post
            ),
        )
    )


def _ready(channel: str, now: datetime | None = None):
    """The next row of a channel: by lane, then priority, then age; a row in backoff lets the others pass."""
    now = now or utcnow()
    return (
        _waiting(channel)
        .where(or_(SlackMessage.next_attempt_at.is_(None), SlackMessage.next_attempt_at <= now))
        .order_by(SlackMessage.lane, SlackMessage.priority, SlackMessage.id)
        .limit(1)
    )


def has_ready(session: Session, channel: str) -> bool:
    return session.scalar(_ready(channel)) is not None


def next_retry_in(session: Session, channel: str) -> float | None:
    """Seconds until the channel's soonest row in backoff may be tried again; None when none waits."""
    now = utcnow()
    waiting = _waiting(channel).where(SlackMessage.next_attempt_at > now)
    soonest = session.scalar(waiting.with_only_columns(func.min(SlackMessage.next_attempt_at)))
    if soonest is None:
        return None
    if soonest.tzinfo is None:  # an aggregate may come back without the column's type
        soonest = soonest.replace(tzinfo=now.tzinfo)
    return max(0.0, (soonest - now).total_seconds())


def retry_now(database_url: str, channel: str | None = None) -> int:
    """Slack takes messages again: the rows in backoff (of `channel`, or all) are tried at once."""
    where = [SlackMessage.sent_at.is_(None), SlackMessage.failed_at.is_(None),
             SlackMessage.next_attempt_at.is_not(None)]  # fmt: skip
    if channel is not None:
        where.append(SlackMessage.channel == channel)
    with transaction(database_url) as session:
        return session.execute(
            update(SlackMessage).where(*where).values(next_attempt_at=None).execution_options(synchronize_session=False)
        ).rowcount


def pending_channels(database_url: str, older_than: timedelta = timedelta(0)) -> list[str]:
    """Channels with undelivered rows, for the periodic repair job."""
    with transaction(database_url) as session:
        return list(
            session.scalars(
                select(SlackMessage.channel)
                .where(SlackMessage.sent_at.is_(None), SlackMessage.failed_at.is_(None),
                       SlackMessage.created_at <= utcnow() - older_than)  # fmt: skip
                .distinct()
            )
        )


def claim_next(courier: Courier, channel: str) -> Send | Outcome | None:
    """The channel's next row, claimed and rendered; None when there is none. A row that cannot
    be rendered (data no message can show) is given up at once, as Outcome "failed", so that it
    never holds up the rows behind it. A reminder with nothing left to say is "skipped"."""
    with transaction(courier.database_url) as session:
        row = session.scalar(_ready(channel))
        if row is None:
            return None
        row.attempts += 1
        session.flush()  # takes the write lock before the ticket is read (see tickets.outbox.queue_ticket_update)
        # A waiting reminder may have been rewritten or absorbed meanwhile (tickets.outbox.queue_reminder).
        session.refresh(row)
        if row.sent_at is not None or row.failed_at is not None:
            return Outcome("skipped", 0.0, row.id, channel=channel)
        ticket = None
        if row.ticket_id is not None:
            ticket = session.get(Ticket, row.ticket_id, with_for_update=True, populate_existing=True)
        try:
            send = kinds.render(session, row, ticket, courier)
        except DBAPIError:
            raise
        except Exception as error:
            log.exception("a Slack message could not be rendered; giving up on it", extra={"slack_message_id": row.id})
            row.failed_at, row.last_error = utcnow(), f"could not be rendered: {type(error).__name__}"
            persistent = rules.keeps_trying(row.kind, ticket is not None and ticket.status != "resolved")
            return Outcome("failed", 0.0, row.id, channel=channel, error=row.last_error, failure="content",
                           persistent=persistent, ticket_id=row.ticket_id)  # fmt: skip
        if send is None:
            row.sent_at, row.last_error = utcnow(), SUPERSEDED_ANSWERED
            return Outcome("skipped", 0.0, row.id, channel=channel)
        return send


def record_sent(database_url: str, send: Send, channel_id: str, ts: str) -> None:
    now, kind = utcnow(), kinds.KINDS[send.kind]
    with transaction(database_url) as session:
        row = session.get(SlackMessage, send.row_id)
        row.sent_at, row.slack_channel_id, row.slack_ts, row.last_error = now, channel_id, ts, None
        row.next_attempt_at = row.failing_since = None
        if kind.supersedes:
            for superseded in session.scalars(select(SlackMessage).where(SlackMessage.id.in_(send.superseded))):
                superseded.sent_at, superseded.last_error = now, "superseded by the parent message"
        if kind.on_sent is not None:
            kind.on_sent(session, row, send, channel_id, ts, now)


def send_next(settings: Settings, slack: SlackConfig, client: WebClient, channel: str) -> Outcome:
    """Deliver the channel's next ready row, if any."""
    courier = Courier(settings, slack, client)
    send = claim_next(courier, channel)
    if send is None:
        return Outcome("idle")
    if isinstance(send, Outcome):
        return send
    context = {"slack_message_id": send.row_id, "channel": channel, "kind": send.kind}
    try:
        channel_id, ts = sending.call_slack(courier, send)
    except SlackApiError as error:
        return failures.api_error(courier, send, error, context)
    except (SlackClientError, URLError, OSError) as error:
        return failures.transient(courier, send, type(error).__name__, context)
    record_sent(settings.database_url, send, channel_id, ts)
    return Outcome("sent", 0.0, send.row_id, channel=channel, ticket_id=send.ticket_id)
