"""Sending one outbox row to Slack, and recording what happened.

A row is claimed (attempts += 1, committed) before Slack is called and the
result is recorded in a second transaction, so no database lock is held
over the network. If a worker dies between the two, the next attempt
(attempts > 1) first looks for the earlier post by its message metadata and
adopts it, so a ticket never gets two parent messages.

Per channel, rows go by lane, then priority, then age (integrations.slack.rules).
A failed row waits out its own backoff (`next_attempt_at`, 1 s doubling to
5 minutes) without holding up the rows behind it, and is retried for as long
as its ticket is open; only messages that need not persist are given up after
MAX_ATTEMPTS. A message Slack refuses is not dropped: a parent goes to the
next channel of its ladder (routed, default, escalation) saying why, and a
message Slack finds malformed is sent again in a simpler form.

Pacing, locks, rescheduling and failure episodes belong to the job (workers/deliver.py).
"""

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core.timeutil import utcnow
from integrations.slack import blocks, incident_messages, rules
from integrations.slack.outbox import (
    CHANNEL,
    ESCALATION,
    INCIDENT,
    INCIDENT_UPDATE,
    NOTE,
    NOTE_UPDATE,
    NOTICE,
    PARENT,
    PRIORITY,
    REMINDERS,
    UPDATE,
)
from store.db import transaction
from store.schema import Incident, Mention, SlackMessage, Ticket, TicketEvent
from triage import sla as sla_rules

log = logging.getLogger(__name__)

MAX_ATTEMPTS = rules.MAX_ATTEMPTS
MAX_BACKOFF_SECONDS = rules.MAX_BACKOFF_SECONDS
LOOKBACK_SECONDS = 600  # how far before a row's creation an earlier post may be
HISTORY_PAGES = 10
REFUSALS_KEPT = 8  # a row's refusals remembered in its payload
TICKET_EVENT = "earshot_ticket"
NOTE_EVENT = "earshot_note"
# Slack's own transient failures, answered with ok:false and a 200.
TRANSIENT_ERRORS = rules.TRANSIENT
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
SUPERSEDED_ANSWERED = "superseded: answered before the reminder went out"


@dataclass
class Outcome:
    status: str  # sent | idle | skipped | rate_limited | retry | rerouted | failed
    wait_seconds: float = 0.0
    message_id: int | None = None
    channel: str | None = None  # the channel tried
    error: str | None = None
    failure: str | None = None  # transient | refused (the channel) | content | gone | workspace | unknown
    persistent: bool = False  # the message is kept until delivered (an open ticket's)
    ticket_id: int | None = None


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
    persistent: bool = False
    form: str = rules.FULL


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
                SlackMessage.kind.in_((PARENT, ESCALATION, CHANNEL, INCIDENT, NOTICE, REMINDERS, NOTE_UPDATE)),
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


def _fallback_channels() -> tuple[str, str]:
    """The default and escalation channels, where a refused message goes next."""
    from workers.context import app_context

    slack = app_context()[1].slack
    return slack.default_channel, slack.escalation_channel


def _still_overdue(ticket: Ticket, clock: str, now: datetime) -> bool:
    due = sla_rules.due_at(ticket, clock)
    return ticket.status != "resolved" and sla_rules.running(ticket, clock) and due is not None and due <= now


def _render_reminders(session: Session, row: SlackMessage, now: datetime) -> blocks.Message | None:
    """A reminder summary, from its tickets as they are now; None when every one was answered meanwhile."""
    from integrations.slack.client import thread_url
    from workers.context import app_context

    entries = list(dict.fromkeys((int(ticket_id), str(clock)) for ticket_id, clock in row.payload.get("tickets", [])))
    found = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_({t for t, _ in entries})))}
    overdue = [(found[t], clock) for t, clock in entries if t in found and _still_overdue(found[t], clock, now)]
    if not overdue:
        return None
    settings = app_context()[0]
    overdue.sort(key=lambda item: (PRIORITY.get(item[0].urgency, len(PRIORITY)), sla_rules.due_at(*item), item[0].id))
    items = [(ticket, clock, sla_rules.due_at(ticket, clock),
              thread_url(settings, ticket.slack_channel_id, ticket.slack_ts) if ticket.slack_ts else None)
             for ticket, clock in overdue]  # fmt: skip
    return blocks.reminder_summary(row.channel, items, now)


def _persistent(session: Session, row: SlackMessage, ticket: Ticket | None) -> bool:
    incident = session.get(Incident, row.incident_id) if row.incident_id is not None else None
    ticket_open = ticket is not None and ticket.status != "resolved"
    return rules.keeps_trying(row.kind, ticket_open, incident is not None and incident.status == "open")


def _delivery_state(session: Session, row: SlackMessage) -> tuple[str, list[dict], str]:
    """(form, refusals, the channel it is posted in): how the row goes. An update shows what its
    parent's post said about its delivery, in the parent's form unless Slack refused that too."""
    own = row.payload.get("delivery") or {}
    form, refused, channel = own.get("form", rules.FULL), list(own.get("refused", [])), row.channel
    if row.kind == UPDATE:
        parent = session.scalar(select(SlackMessage).where(SlackMessage.ticket_id == row.ticket_id,
                                                           SlackMessage.kind == PARENT))  # fmt: skip
        posted = (parent.payload.get("delivery") or {}) if parent is not None else {}
        if posted:
            forms = (posted.get("form", rules.FULL), form)
            form = max(forms, key=rules.FORMS.index)
            refused, channel = [*posted.get("refused", []), *refused], parent.channel
    return form, refused, channel


def _render(session: Session, row: SlackMessage, ticket: Ticket | None) -> Send | None:
    """The row as Slack will get it; None when it has nothing left to say (a reminder answered meanwhile)."""
    send = Send(
        row_id=row.id,
        kind=row.kind,
        channel=row.channel,
        dedupe_key=row.dedupe_key,
        attempts=row.attempts,
        created_at=row.created_at.timestamp(),
        message=blocks.Message("", []),
        ticket_id=row.ticket_id,
        persistent=_persistent(session, row, ticket),
    )
    if row.incident_id is not None:
        send = _render_incident(session, row, send)
    else:
        if ticket is not None:
            send.parent_channel_id, send.parent_ts = ticket.slack_channel_id, ticket.slack_ts
        reminder = row.payload.get("reminder")
        if row.kind == NOTE_UPDATE:
            target = session.get(SlackMessage, row.payload.get("target"))
            if target is None or target.slack_ts is None:
                return None  # never posted: a later try of it sends the redacted payload
            send.parent_channel_id, send.parent_ts = target.slack_channel_id, target.slack_ts
            send.message = blocks.note_message(target.payload.get("text", ""),
                                               " ".join(target.payload.get("mentions", [])))  # fmt: skip
        elif row.kind in (PARENT, UPDATE):
            send.message = blocks.ticket_message(ticket, _first_mention(session, ticket))
        elif row.kind == NOTE and reminder and ticket and not _still_overdue(ticket, reminder["clock"], utcnow()):
            return None
        elif row.kind == NOTE:
            send.message = blocks.note_message(row.payload.get("text", ""))
        elif row.kind == REMINDERS:
            summary = _render_reminders(session, row, utcnow())
            if summary is None:
                return None
            send.message = summary
        else:
            send.message = blocks.note_message(row.payload.get("text", ""), " ".join(row.payload.get("mentions", [])))
        if row.kind == PARENT:
            # Updates queued before the parent is rendered are shown by the parent itself.
            send.superseded = _unsent_updates(session, SlackMessage.ticket_id == row.ticket_id, UPDATE)
    send.form, refused, posted_in = _delivery_state(session, row)
    send.message = blocks.in_form(send.message, send.form, rules.refusal_note(refused, posted_in))
    return send


def claim_next(database_url: str, channel: str) -> Send | Outcome | None:
    """The channel's next row, claimed and rendered; None when there is none. A row that cannot
    be rendered (data no message can show) is given up at once, as Outcome "failed", so that it
    never holds up the rows behind it. A reminder with nothing left to say is "skipped"."""
    with transaction(database_url) as session:
        row = session.scalar(_ready(channel))
        if row is None:
            return None
        row.attempts += 1
        session.flush()  # takes the write lock before the ticket is read (see outbox.queue_ticket_update)
        session.refresh(row)  # a waiting reminder may have been rewritten or absorbed meanwhile (outbox.queue_reminder)
        if row.sent_at is not None or row.failed_at is not None:
            return Outcome("skipped", 0.0, row.id, channel=channel)
        ticket = None
        if row.ticket_id is not None:
            ticket = session.get(Ticket, row.ticket_id, with_for_update=True, populate_existing=True)
        try:
            send = _render(session, row, ticket)
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
    common = dict(text=message.text, blocks=message.blocks or None, unfurl_links=False, unfurl_media=False)
    if send.kind in (UPDATE, INCIDENT_UPDATE, NOTE_UPDATE):
        client.chat_update(channel=send.parent_channel_id, ts=send.parent_ts, text=message.text,
                           blocks=message.blocks or None)  # fmt: skip
        return send.parent_channel_id, send.parent_ts
    if send.attempts > 1:
        earlier = find_earlier_post(database_url, client, send)
        if earlier is not None:
            log.info("adopted an earlier Slack post", extra={"slack_message_id": send.row_id})
            if send.kind == PARENT:  # show the ticket as it is now, not as it was then
                client.chat_update(channel=earlier[0], ts=earlier[1], text=message.text, blocks=message.blocks or None)
            return earlier
    if send.kind == ESCALATION and message.blocks:
        message = _escalation_text(client, send)
        common.update(text=message.text, blocks=message.blocks)
    thread = {"thread_ts": send.parent_ts} if send.kind == NOTE else {}
    channel = send.parent_channel_id if send.kind == NOTE else send.channel
    response = client.chat_postMessage(channel=channel, metadata=_metadata(send), **thread, **common)
    return response["channel"], response["ts"]


def _move_ticket(session: Session, ticket: Ticket, channel: str, refused: list[dict], now: datetime) -> None:
    """The parent went to `channel` because Slack refused the routed one: the ticket lives there now,
    with its waiting thread messages (paced as that channel's), and its history says why."""
    session.add(TicketEvent(ticket_id=ticket.id, at=now, type="slack_rerouted", actor="earshot",
                            data={"from": ticket.channel, "to": channel, "refused": refused}))  # fmt: skip
    session.execute(
        update(SlackMessage)
        .where(SlackMessage.ticket_id == ticket.id, SlackMessage.channel == ticket.channel,
               SlackMessage.kind != ESCALATION, SlackMessage.sent_at.is_(None), SlackMessage.failed_at.is_(None))
        .values(channel=channel)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    ticket.channel = channel


def record_sent(database_url: str, send: Send, channel_id: str, ts: str) -> None:
    now = utcnow()
    with transaction(database_url) as session:
        row = session.get(SlackMessage, send.row_id)
        row.sent_at, row.slack_channel_id, row.slack_ts, row.last_error = now, channel_id, ts, None
        row.next_attempt_at = row.failing_since = None
        if send.kind == INCIDENT:
            incident = session.get(Incident, send.incident_id)
            incident.slack_channel_id, incident.slack_ts = channel_id, ts
        if send.kind in (PARENT, INCIDENT):
            for superseded in session.scalars(select(SlackMessage).where(SlackMessage.id.in_(send.superseded))):
                superseded.sent_at, superseded.last_error = now, "superseded by the parent message"
        if send.kind == PARENT:
            ticket = session.get(Ticket, send.ticket_id)
            ticket.slack_channel_id, ticket.slack_ts = channel_id, ts
            refused = [r for r in (row.payload.get("delivery") or {}).get("refused", []) if r["channel"] != row.channel]
            if refused and ticket.channel != row.channel:
                _move_ticket(session, ticket, row.channel, refused, now)


def _record_failure(database_url: str, send: Send, error: str, *, reached_slack: bool, give_up: bool,
                    retry_in: float | None = None, failing: bool = True) -> None:  # fmt: skip
    now = utcnow()
    with transaction(database_url) as session:
        row = session.get(SlackMessage, send.row_id)
        row.last_error = error[:500]
        if failing:
            row.failing_since = row.failing_since or now
        if not reached_slack:
            row.attempts -= 1  # attempts counts only tries that may have posted
        if give_up:
            row.failed_at = now
        elif retry_in is not None:
            row.next_attempt_at = now + timedelta(seconds=retry_in)


backoff_seconds = rules.backoff_seconds


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
            _record_failure(database_url, send, "ratelimited", reached_slack=False, give_up=False, failing=False)
            return Outcome("rate_limited", retry_after, send.row_id, channel=channel)
        failure = rules.error_class(code, status)
        if failure == "transient":
            return _transient(database_url, send, f"HTTP {status} {code}", context)
        if failure == "workspace":  # a bad token or a missing scope: nothing to reroute, retried until fixed
            return _transient(database_url, send, f"{code}", context, failure)
        return _refused(database_url, send, f"{code}", failure, context)
    except (SlackClientError, URLError, OSError) as error:
        return _transient(database_url, send, type(error).__name__, context)
    record_sent(database_url, send, channel_id, ts)
    return Outcome("sent", 0.0, send.row_id, channel=channel, ticket_id=send.ticket_id)


def _transient(database_url: str, send: Send, error: str, context: dict, failure: str = "transient") -> Outcome:
    give_up = rules.give_up(send.attempts, send.persistent)
    wait = rules.backoff_seconds(send.attempts)
    log.warning("Slack delivery failed; will retry" if not give_up else "Slack delivery failed; giving up",
                extra={**context, "error": error, "attempts": send.attempts, "retry_in": wait})  # fmt: skip
    _record_failure(database_url, send, error, reached_slack=True, give_up=give_up, retry_in=wait)
    return Outcome("failed" if give_up else "retry", wait, send.row_id, channel=send.channel, error=error,
                   failure=failure, persistent=send.persistent, ticket_id=send.ticket_id)  # fmt: skip


def _refused(database_url: str, send: Send, code: str, failure: str, context: dict) -> Outcome:
    """Slack will not take this message here: try the next form or channel (rules.after_refusal);
    with nothing left, give it up, or start over after a backoff while its ticket is open."""
    now = utcnow()
    with transaction(database_url) as session:
        row = session.get(SlackMessage, send.row_id, populate_existing=True)
        state = dict(row.payload.get("delivery") or {})
        ladder = state.get("ladder") or list(rules.ladder(row.kind, row.channel, *_fallback_channels()))
        route = rules.Route(state.get("step", 0), state.get("form", rules.FULL))
        state["refused"] = [*state.get("refused", []), {"channel": row.channel, "error": code}][-REFUSALS_KEPT:]
        row.attempts -= 1  # a refused call posted nothing
        row.last_error, row.failing_since = code[:500], row.failing_since or now
        following = rules.after_refusal(route, failure, len(ladder))
        status = "retry"
        if following is None and rules.when_exhausted(failure, send.persistent) == "give_up":
            row.failed_at, status = now, "failed"
        elif following is None:  # someone may fix the channel (or invite the bot): try it all again later
            state["rounds"] = state.get("rounds", 0) + 1
            following = rules.Route()
            row.next_attempt_at = now + timedelta(seconds=rules.backoff_seconds(state["rounds"]))
        if following is not None:
            status = "rerouted" if ladder[following.step] != row.channel else status
            state.update(ladder=ladder, step=following.step, form=following.form)
            row.channel = ladder[following.step]
        row.payload = {**row.payload, "delivery": state}
        moved_to = row.channel
    level = logging.ERROR if status == "failed" else logging.WARNING
    log.log(level, "Slack refused a message", extra={**context, "error": code, "outcome": status, "to": moved_to})
    return Outcome(status, 0.0, send.row_id, channel=send.channel, error=code,
                   failure="refused" if failure in ("channel", "unknown") else failure,
                   persistent=send.persistent, ticket_id=send.ticket_id)  # fmt: skip


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
