"""The Slack outbox: what Earshot means to say in Slack, written in the caller's transaction.

These functions only add `slack_messages` rows, one per dedupe key (a row whose
key is already stored is dropped when the session flushes, `drop_stored`: one
query for all the new rows); they never call Slack. Each channel they touch is
recorded as an after-commit effect (store.effects, SLACK_CHANNEL): once the
caller commits, the entry point's handler makes sure a delivery dispatcher is
queued. If Redis is down nothing is lost: the periodic repair finds the rows.

Parent messages and updates are rendered at delivery time from the ticket (or
incident) as it is then, so several changes before a delivery become one `chat.update`.

Each row has a lane (triage.lanes): per channel, a ticket's parent goes before
what people said in threads, which goes before SLA warnings and breaches, which
go before reminders. Reminders coalesce (`queue_reminder`): at most one waits per
ticket, and when several wait in a channel the next ones are summed up in one
message, so a breach storm cannot bury a new ticket.
"""

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.tiers import TIERS
from core.timeutil import utcnow
from store import effects
from store.schema import Incident, Reply, SlackMessage, Ticket
from triage import lanes
from triage.lanes import (
    CHANNEL,
    ESCALATION,
    INCIDENT,
    INCIDENT_UPDATE,
    NOTE,
    NOTE_UPDATE,
    NOTICE,
    PARENT,
    REMINDERS,
    REPLY_FAILED,
    UPDATE,
)

SLACK_CHANNEL = "slack_channel"  # the after-commit effect: this channel has messages to deliver
ABSORBED = "absorbed into a reminder summary"
URGENT = 0  # an incident's priority: before any ticket's messages in the channel


def priority(ticket: Ticket) -> int:
    return lanes.priority(ticket.urgency)


def _touch(session: Session, channel: str) -> None:
    effects.record(session, SLACK_CHANNEL, channel)


def _queue(session: Session, message: SlackMessage) -> None:
    """Add `message` unless one with its key waits in this session; one already stored is
    dropped at the flush (drop_stored), so queueing many costs one query, not one each."""
    if message.lane is None:
        message.lane = lanes.lane(message.kind)
    pending = (m for m in session.new if isinstance(m, SlackMessage))
    if all(m.dedupe_key != message.dedupe_key for m in pending):
        session.add(message)
    _touch(session, message.channel)


def drop_stored(session: Session) -> None:
    """Before every flush (installed with store.effects): a new message whose key is already stored
    is not queued again."""
    new = {m.dedupe_key: m for m in session.new if isinstance(m, SlackMessage)}
    if new:
        for key in session.scalars(select(SlackMessage.dedupe_key).where(SlackMessage.dedupe_key.in_(list(new)))):
            session.expunge(new[key])


def _add(session: Session, ticket: Ticket, kind: str, channel: str, key: str, payload: dict | None = None,
         note: str = "conversation") -> None:  # fmt: skip
    if ticket.id is None:
        session.flush()
    _queue(
        session,
        SlackMessage(
            dedupe_key=key[:191],
            ticket_id=ticket.id,
            kind=kind,
            channel=channel,
            lane=lanes.lane(kind, note),
            priority=priority(ticket),
            payload=payload or {},
        ),
    )


def queue_ticket_message(session: Session, ticket: Ticket) -> None:
    """The ticket's parent message in its routed channel, once per ticket."""
    _add(session, ticket, PARENT, ticket.channel, f"parent:{ticket.id}")


def queue_ticket_update(session: Session, ticket: Ticket) -> None:
    """Show the ticket's new state on its parent message.

    An update nobody has started to deliver (attempts == 0) will render the
    ticket as it is at delivery, so it already covers this change. The
    delivery locks the ticket row before rendering; our flush of the change
    happens first, so it either waits for this commit or is seen as started.
    """
    session.flush()
    waiting = session.scalar(
        select(SlackMessage.id).where(
            SlackMessage.ticket_id == ticket.id,
            SlackMessage.kind == UPDATE,
            SlackMessage.sent_at.is_(None),
            SlackMessage.failed_at.is_(None),
            SlackMessage.attempts == 0,
        )
    )
    if waiting is None:
        _add(session, ticket, UPDATE, ticket.channel, f"update:{ticket.id}:{uuid.uuid4().hex}")
    else:
        _touch(session, ticket.channel)


def queue_thread_note(session: Session, ticket: Ticket, text: str, key: str, note: str = "conversation",
                      mentions: Sequence[str] = ()) -> None:  # fmt: skip
    """A message in the ticket's thread; `text` is escaped at delivery, so it may quote customers.
    `note` is its lane: "conversation" (what people said), "alert" (an SLA warning or breach);
    `mentions` lead it, Earshot's own markup (the owner's `<@U…>`)."""
    payload = {"text": text, "mentions": list(mentions)} if mentions else {"text": text}
    _add(session, ticket, NOTE, ticket.channel, f"note:{key}", payload, note)


def queue_reply_failure(session: Session, ticket: Ticket, reply: Reply, reason: str) -> None:
    """In the ticket's thread: the public reply was not posted, and why; rendered with a **Retry** button
    (integrations.slack.kinds) whose value is `reply_id`. Once per failed attempt: a retried reply that
    fails again says so again."""
    text = f"Reply by {reply.actor} was not posted: {reason}\n{reply.text}"
    _add(session, ticket, REPLY_FAILED, ticket.channel, f"reply-failed:{reply.id}:{reply.attempts}",
         {"text": text, "reply_id": reply.id})  # fmt: skip


def _waiting_reminders(session: Session, channel: str) -> list[SlackMessage]:
    """The channel's reminder rows that no delivery has started on, locked (PostgreSQL). A row a
    delivery is claiming right now is skipped, not waited for: it is on its way, and waiting would
    invert the lock order of the claim (message, then ticket) against ours (ticket, then message)."""
    return list(
        session.scalars(
            select(SlackMessage)
            .where(
                SlackMessage.channel == channel,
                SlackMessage.lane == lanes.REMINDER,
                SlackMessage.sent_at.is_(None),
                SlackMessage.failed_at.is_(None),
                SlackMessage.attempts == 0,
            )
            .order_by(SlackMessage.id)
            .with_for_update(skip_locked=True)
        )
    )


def _rewrite(session: Session, row: SlackMessage, **values) -> bool:
    """Change a waiting row unless a delivery has claimed it meanwhile (then it goes as it was)."""
    changed = session.execute(
        update(SlackMessage)
        .where(SlackMessage.id == row.id, SlackMessage.attempts == 0, SlackMessage.sent_at.is_(None))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    session.expire(row)
    return changed.rowcount == 1


def queue_reminder(session: Session, ticket: Ticket, text: str, key: str, clock: str,
                   threshold: int = lanes.REMINDER_SUMMARY_AT) -> str:  # fmt: skip
    """An SLA reminder, coalesced (lanes.reminder_action); returns what became of it.

    The ticket's own waiting reminder takes the new text; else the channel's waiting summary
    takes the ticket; else a note is queued in the thread while fewer than `threshold` wait;
    else a summary starts, absorbing them. Delivery renders a summary from its tickets as they
    are then, leaving out those answered meanwhile."""
    session.flush()
    waiting = _waiting_reminders(session, ticket.channel)
    notes = [row for row in waiting if row.kind == NOTE]
    own = next((row for row in notes if row.ticket_id == ticket.id), None)
    summary = next((row for row in waiting if row.kind == REMINDERS), None)
    action = lanes.reminder_action(own is not None, summary is not None, len(notes), threshold)
    payload = {"text": text, "reminder": {"clock": clock}}
    listed = summary.payload.get("tickets", []) if summary is not None else []
    if action == lanes.REPLACE and _rewrite(session, own, payload=payload):
        pass
    elif action == lanes.JOIN_SUMMARY and [ticket.id, clock] in listed:
        pass  # its next reminder while the summary waits: the summary already names it
    elif action == lanes.JOIN_SUMMARY and _rewrite(
        session, summary, payload={"tickets": [*listed, [ticket.id, clock]]}
    ):
        pass
    elif action == lanes.START_SUMMARY:
        entries = []
        for row in notes:
            entry = [row.ticket_id, (row.payload.get("reminder") or {}).get("clock", clock)]
            if _rewrite(session, row, sent_at=utcnow(), last_error=ABSORBED):
                entries.append(entry)
        message = SlackMessage(dedupe_key=f"reminders:{ticket.channel}:{key}"[:191], kind=REMINDERS,
                               channel=ticket.channel, lane=lanes.REMINDER, priority=priority(ticket),
                               payload={"tickets": [*entries, [ticket.id, clock]]})  # fmt: skip
        _queue(session, message)
    else:
        action = lanes.QUEUE_NOTE
        _add(session, ticket, NOTE, ticket.channel, f"note:{key}", payload, "reminder")
    _touch(session, ticket.channel)
    return action


def redact_message(session: Session, row: SlackMessage, payload: dict, key: str) -> bool:
    """Give `row` the redacted `payload`; when Slack may already show (or be about to show) the
    old one, queue a NOTE_UPDATE that rewrites the posted message in place. True when one was queued."""
    if _rewrite(session, row, payload=payload):
        return False  # not started: it goes out redacted
    session.execute(
        update(SlackMessage).where(SlackMessage.id == row.id).values(payload=payload)
        .execution_options(synchronize_session=False)
    )  # fmt: skip
    session.expire(row)
    _queue(session, SlackMessage(dedupe_key=f"note-update:{row.id}:{key}"[:191], ticket_id=None, kind=NOTE_UPDATE,
                                 channel=row.channel, lane=lanes.CONVERSATION, priority=0,
                                 payload={"target": row.id}))  # fmt: skip
    return True


def queue_notice(session: Session, channel: str, text: str, key: str, mentions: list[str] | tuple = ()) -> None:
    """Earshot's own word about delivery (a channel Slack refuses, an outage, its end), in the new
    lane of `channel`; `text` is escaped at delivery, `mentions` are Earshot's markup."""
    payload = {"text": text, "mentions": list(mentions)}
    _queue(session, SlackMessage(dedupe_key=f"notice:{key}"[:191], ticket_id=None, kind=NOTICE, channel=channel,
                                 lane=lanes.NEW, priority=0, payload=payload))  # fmt: skip


def queue_escalation(session: Session, ticket: Ticket, text: str, key: str, channel: str,
                     mentions: Sequence[str], clock: str | None = None) -> None:  # fmt: skip
    """A message in the escalation `channel` with the on-call `mentions`, linking the ticket's thread;
    `clock`, the breached clock it escalates (its **Acknowledge** shows while that is unacknowledged)."""
    payload = {"text": text, "mentions": list(mentions)}
    if clock is not None:
        payload["clock"] = clock
    _add(session, ticket, ESCALATION, channel, f"escalation:{key}", payload)


def queue_channel_message(session: Session, channel: str, text: str, key: str) -> None:
    """A message to `channel` about no single ticket; sent after every ticket's messages there.
    `text` is escaped at delivery."""
    message = SlackMessage(dedupe_key=f"channel:{key}"[:191], ticket_id=None, kind=CHANNEL, channel=channel,
                           lane=lanes.BACKGROUND, priority=len(TIERS), payload={"text": text})  # fmt: skip
    _queue(session, message)


def _add_incident_message(session: Session, key: str, kind: str, channel: str, incident: Incident) -> None:
    _queue(session, SlackMessage(dedupe_key=key[:191], kind=kind, channel=channel, priority=URGENT,
                                 incident_id=incident.id))  # fmt: skip


def queue_incident(session: Session, incident: Incident, channel: str) -> None:
    """The incident's one message in `channel`, posted once; later changes queue one waiting update at most.
    Rendered at delivery from the incident as it is then (integrations.slack.incident_messages)."""
    session.flush()
    if session.scalar(select(SlackMessage.id).where(SlackMessage.incident_id == incident.id)) is None:
        _add_incident_message(session, f"incident:{incident.id}", INCIDENT, channel, incident)
        return
    waiting = session.scalar(
        select(SlackMessage.channel).where(
            SlackMessage.incident_id == incident.id,
            SlackMessage.sent_at.is_(None),
            SlackMessage.failed_at.is_(None),
            SlackMessage.attempts == 0,
        )
    )
    if waiting is not None:  # a post or update not yet started will show the incident as it is then
        return
    posted_in = session.scalar(
        select(SlackMessage.channel).where(SlackMessage.incident_id == incident.id, SlackMessage.kind == INCIDENT)
    )
    key = f"incident-update:{incident.id}:{uuid.uuid4().hex}"
    _add_incident_message(session, key, INCIDENT_UPDATE, posted_in, incident)
