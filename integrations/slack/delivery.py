"""Sending one outbox row to Slack, and recording what happened.

A row is claimed (attempts += 1, committed) before Slack is called and the
result is recorded in a second transaction, so no database lock is held
over the network. If a worker dies between the two, the next attempt
(attempts > 1) first looks for the earlier post by its message metadata and
adopts it, so a ticket never gets two parent messages.

Pacing, locks and rescheduling belong to the job (workers/deliver.py).
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import or_, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.timeutil import utcnow
from integrations.slack import blocks, incident_messages
from integrations.slack.outbox import CHANNEL, ESCALATION, INCIDENT, INCIDENT_UPDATE, NOTE, PARENT, UPDATE
from store.db import transaction
from store.schema import Incident, Mention, SlackMessage, Ticket

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
MAX_BACKOFF_SECONDS = 300
LOOKBACK_SECONDS = 600  # how far before a row's creation an earlier post may be
HISTORY_PAGES = 10
TICKET_EVENT = "earshot_ticket"
NOTE_EVENT = "earshot_note"
# Slack's own transient failures, answered with ok:false and a 200.
TRANSIENT_ERRORS = {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


@dataclass
class Outcome:
    status: str  # sent | idle | rate_limited | retry | failed
    wait_seconds: float = 0.0
    message_id: int | None = None


@dataclass
class Send:
    """Everything needed to call Slack for one row, read in the claiming transaction."""

    row_id: int
    kind: str
    channel: str
    dedupe_key: str
    attempts: int
    created_at: float
    message: blocks.Message
    ticket_id: int | None = None
    incident_id: int | None = None
    parent_channel_id: str | None = None
    parent_ts: str | None = None
    superseded: list[int] = field(default_factory=list)


def _ready(channel: str):
    """The next row of a channel: by priority, then age; thread messages wait for their parent."""
    return (
        select(SlackMessage)
        .outerjoin(Ticket, SlackMessage.ticket_id == Ticket.id)
        .outerjoin(Incident, SlackMessage.incident_id == Incident.id)
        .where(
            SlackMessage.channel == channel,
            SlackMessage.sent_at.is_(None),
            SlackMessage.failed_at.is_(None),
            or_(
                SlackMessage.kind.in_((PARENT, ESCALATION, CHANNEL, INCIDENT)),
                Ticket.slack_ts.is_not(None),
                Incident.slack_ts.is_not(None),  # an incident's update waits for its post
            ),
        )
        .order_by(SlackMessage.priority, SlackMessage.id)
        .limit(1)
    )


def has_ready(session: Session, channel: str) -> bool:
    return session.scalar(_ready(channel)) is not None


def _first_mention(session: Session, ticket: Ticket) -> Mention | None:
    return session.scalar(
        select(Mention).where(Mention.ticket_id == ticket.id, Mention.direction == "inbound").order_by(Mention.id)
    )


def _unsent_updates(session: Session, owner, kind: str) -> list[int]:
    """Updates not yet tried for the same ticket or incident: the message being rendered shows them."""
    return list(
        session.scalars(
            select(SlackMessage.id).where(
                owner, SlackMessage.kind == kind, SlackMessage.sent_at.is_(None), SlackMessage.attempts == 0
            )
        )
    )


def _render_incident(session: Session, row: SlackMessage, send: Send) -> Send:
    incident = session.get(Incident, row.incident_id, with_for_update=True, populate_existing=True)
    send.incident_id, send.message = incident.id, incident_messages.render(session, incident)
    send.parent_channel_id, send.parent_ts = incident.slack_channel_id, incident.slack_ts
    if row.kind == INCIDENT:  # updates queued before the post is rendered are shown by the post
        send.superseded = _unsent_updates(session, SlackMessage.incident_id == incident.id, INCIDENT_UPDATE)
    return send


def _render(session: Session, row: SlackMessage, ticket: Ticket | None) -> Send:
    send = Send(
        row_id=row.id,
        kind=row.kind,
        channel=row.channel,
        dedupe_key=row.dedupe_key,
        attempts=row.attempts,
        created_at=row.created_at.timestamp(),
        message=blocks.Message("", []),
        ticket_id=row.ticket_id,
    )
    if row.incident_id is not None:
        return _render_incident(session, row, send)
    if ticket is not None:
        send.parent_channel_id, send.parent_ts = ticket.slack_channel_id, ticket.slack_ts
    if row.kind in (PARENT, UPDATE):
        send.message = blocks.ticket_message(ticket, _first_mention(session, ticket))
    elif row.kind == NOTE:
        send.message = blocks.note_message(row.payload.get("text", ""))
    else:
        send.message = blocks.note_message(row.payload.get("text", ""), " ".join(row.payload.get("mentions", [])))
    if row.kind == PARENT:
        # Updates queued before the parent is rendered are shown by the parent itself.
        send.superseded = _unsent_updates(session, SlackMessage.ticket_id == row.ticket_id, UPDATE)
    return send


def claim_next(database_url: str, channel: str) -> Send | Outcome | None:
    """The channel's next row, claimed and rendered; None when there is none. A row that cannot
    be rendered (data no message can show) is given up at once, as Outcome "failed", so that it
    never holds up the rows behind it."""
    with transaction(database_url) as session:
        row = session.scalar(_ready(channel))
        if row is None:
            return None
        row.attempts += 1
        session.flush()  # takes the write lock before the ticket is read (see outbox.queue_ticket_update)
        ticket = None
        if row.ticket_id is not None:
            ticket = session.get(Ticket, row.ticket_id, with_for_update=True, populate_existing=True)
        try:
            return _render(session, row, ticket)
        except DBAPIError:
            raise
        except Exception as error:
            log.exception("a Slack message could not be rendered; giving up on it", extra={"slack_message_id": row.id})
            row.failed_at, row.last_error = utcnow(), f"could not be rendered: {type(error).__name__}"
            return Outcome("failed", 0.0, row.id)


def _channel_id(database_url: str, client: WebClient, channel: str) -> str | None:
    """The id of a channel given by name, for the methods that take only ids."""
    if _CHANNEL_ID.match(channel):
        return channel
    with transaction(database_url) as session:
        known = session.scalar(
            select(SlackMessage.slack_channel_id)
            .where(SlackMessage.channel == channel, SlackMessage.slack_channel_id.is_not(None))
            .limit(1)
        )
    if known:
        return known
    name = channel.lstrip("#")
    cursor = None
    for _ in range(HISTORY_PAGES):
        page = client.conversations_list(types="public_channel,private_channel", limit=200, cursor=cursor)
        for found in page.get("channels", []):
            if found.get("name") == name:
                return found["id"]
        cursor = (page.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return None
    return None


def _is_ours(message: dict, send: Send) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if send.kind == PARENT:
        return metadata.get("event_type") == TICKET_EVENT and payload.get("ticket_id") == str(send.ticket_id)
    return metadata.get("event_type") == NOTE_EVENT and payload.get("key") == send.dedupe_key


def find_earlier_post(database_url: str, client: WebClient, send: Send) -> tuple[str, str] | None:
    """An earlier attempt's message, found by its metadata: (channel id, ts), or None."""
    if send.kind == NOTE:
        channel_id = send.parent_channel_id
        pages = client.conversations_replies(
            channel=channel_id, ts=send.parent_ts, include_all_metadata=True, limit=200
        ).get("messages", [])
    else:
        channel_id = _channel_id(database_url, client, send.channel)
        if channel_id is None:
            return None
        pages, cursor = [], None
        for _ in range(HISTORY_PAGES):
            page = client.conversations_history(
                channel=channel_id,
                oldest=f"{send.created_at - LOOKBACK_SECONDS:.6f}",
                include_all_metadata=True,
                limit=200,
                cursor=cursor,
            )
            pages.extend(page.get("messages", []))
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                break
    for message in pages:
        if _is_ours(message, send):
            return channel_id, message["ts"]
    return None


def _metadata(send: Send) -> dict:
    if send.kind == PARENT:
        return {"event_type": TICKET_EVENT, "event_payload": {"ticket_id": str(send.ticket_id)}}
    return {"event_type": NOTE_EVENT, "event_payload": {"ticket_id": str(send.ticket_id), "key": send.dedupe_key}}


def _escalation_text(client: WebClient, send: Send) -> blocks.Message:
    if not send.parent_ts:
        return send.message
    permalink = client.chat_getPermalink(channel=send.parent_channel_id, message_ts=send.parent_ts)["permalink"]
    thread = blocks.link(permalink, f"ticket #{send.ticket_id} thread")
    extra = blocks.Message(send.message.text, [*send.message.blocks])
    extra.blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": thread or ""}]})
    return extra


def call_slack(database_url: str, client: WebClient, send: Send) -> tuple[str, str]:
    """Post or update; returns (channel id, ts)."""
    message = send.message
    common = dict(text=message.text, blocks=message.blocks, unfurl_links=False, unfurl_media=False)
    if send.kind in (UPDATE, INCIDENT_UPDATE):
        client.chat_update(channel=send.parent_channel_id, ts=send.parent_ts, text=message.text,
                           blocks=message.blocks)  # fmt: skip
        return send.parent_channel_id, send.parent_ts
    if send.attempts > 1:
        earlier = find_earlier_post(database_url, client, send)
        if earlier is not None:
            log.info("adopted an earlier Slack post", extra={"slack_message_id": send.row_id})
            if send.kind == PARENT:  # show the ticket as it is now, not as it was then
                client.chat_update(channel=earlier[0], ts=earlier[1], text=message.text, blocks=message.blocks)
            return earlier
    if send.kind == ESCALATION:
        message = _escalation_text(client, send)
        common.update(text=message.text, blocks=message.blocks)
    thread = {"thread_ts": send.parent_ts} if send.kind == NOTE else {}
    channel = send.parent_channel_id if send.kind == NOTE else send.channel
    response = client.chat_postMessage(channel=channel, metadata=_metadata(send), **thread, **common)
    return response["channel"], response["ts"]


def record_sent(database_url: str, send: Send, channel_id: str, ts: str) -> None:
    now = utcnow()
    with transaction(database_url) as session:
        row = session.get(SlackMessage, send.row_id)
        row.sent_at, row.slack_channel_id, row.slack_ts, row.last_error = now, channel_id, ts, None
        if send.kind == INCIDENT:
            incident = session.get(Incident, send.incident_id)
            incident.slack_channel_id, incident.slack_ts = channel_id, ts
        if send.kind in (PARENT, INCIDENT):
            for superseded in session.scalars(select(SlackMessage).where(SlackMessage.id.in_(send.superseded))):
                superseded.sent_at, superseded.last_error = now, "superseded by the parent message"
        if send.kind == PARENT:
            ticket = session.get(Ticket, send.ticket_id)
            ticket.slack_channel_id, ticket.slack_ts = channel_id, ts


def _record_failure(database_url: str, send: Send, error: str, *, reached_slack: bool, give_up: bool) -> None:
    with transaction(database_url) as session:
        row = session.get(SlackMessage, send.row_id)
        row.last_error = error[:500]
        if not reached_slack:
            row.attempts -= 1  # attempts counts only tries that may have posted
        if give_up:
            row.failed_at = utcnow()


def backoff_seconds(attempts: int) -> float:
    return float(min(2 ** max(attempts - 1, 0), MAX_BACKOFF_SECONDS))


def send_next(database_url: str, client: WebClient, channel: str) -> Outcome:
    """Deliver the channel's next ready row, if any."""
    send = claim_next(database_url, channel)
    if send is None:
        return Outcome("idle")
    if isinstance(send, Outcome):
        return send
    context = {"slack_message_id": send.row_id, "channel": channel, "kind": send.kind}
    try:
        channel_id, ts = call_slack(database_url, client, send)
    except SlackApiError as error:
        status, code = error.response.status_code, error.response.get("error")
        if status == 429:
            headers = error.response.headers
            retry_after = float(headers.get("Retry-After") or headers.get("retry-after") or 1)
            _record_failure(database_url, send, "ratelimited", reached_slack=False, give_up=False)
            return Outcome("rate_limited", retry_after, send.row_id)
        if status >= 500 or code in TRANSIENT_ERRORS:
            return _transient(database_url, send, f"HTTP {status} {code}", context)
        log.error("Slack refused a message; giving up on it", extra={**context, "error": code})
        _record_failure(database_url, send, f"{code}", reached_slack=False, give_up=True)
        return Outcome("failed", 0.0, send.row_id)
    except (SlackClientError, URLError, OSError) as error:
        return _transient(database_url, send, type(error).__name__, context)
    record_sent(database_url, send, channel_id, ts)
    return Outcome("sent", 0.0, send.row_id)


def _transient(database_url: str, send: Send, error: str, context: dict) -> Outcome:
    give_up = send.attempts >= MAX_ATTEMPTS
    log.warning("Slack delivery failed; will retry" if not give_up else "Slack delivery failed; giving up",
                extra={**context, "error": error, "attempts": send.attempts})  # fmt: skip
    _record_failure(database_url, send, error, reached_slack=True, give_up=give_up)
    return Outcome("failed" if give_up else "retry", backoff_seconds(send.attempts), send.row_id)


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
