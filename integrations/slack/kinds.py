"""The kinds of outbox rows, in one registry: per kind, how a row is rendered at delivery (from its
ticket or incident as it is then) and how Slack is called for it.

Adding a kind is one entry in KINDS here; its lane is a rule (triage.lanes), its retries and
fallback channels are delivery rules (integrations.slack.rules), and what its post changes on
its ticket or incident is a hook (integrations.slack.placement).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.timeutil import utcnow
from integrations.slack import blocks, incident_messages, placement, rules
from integrations.slack.attempt import Courier, Send
from integrations.slack.client import thread_url
from store.schema import Incident, Mention, Reply, SlackMessage, Ticket
from tickets import escalations
from triage import sla as sla_rules
from triage.lanes import (
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
    REPLY_FAILED,
    UPDATE,
)

# How Slack is called: a new message in the row's channel, a reply in its ticket's thread, or an
# edit of a message already posted (chat.update).
POST, REPLY, EDIT = "post", "reply", "edit"

# (session, row, its ticket or None, the Send to fill, the courier) -> the Send, or None: nothing left to say.
Renderer = Callable[[Session, SlackMessage, Ticket | None, Send, Courier], Send | None]


@dataclass(frozen=True)
class Kind:
    render: Renderer
    call: str = POST
    standalone: bool = False  # may go before its ticket (or incident) is posted; else it waits for that post
    ticket_post: bool = False  # the ticket's own post: found again by the ticket id; an adopted one is refreshed
    supersedes: str | None = None  # the kind of its owner's unsent rows that this post shows (marked sent with it)
    follows_parent: bool = False  # shown in its parent post's form, saying where that post went
    links_thread: bool = False  # links to its ticket's thread
    on_sent: placement.Hook | None = None  # what the post changes on its ticket or incident


def _first_mention(session: Session, ticket: Ticket) -> Mention | None:
    return session.scalar(
        select(Mention).where(Mention.ticket_id == ticket.id, Mention.direction == "inbound").order_by(Mention.id)
    )


def still_overdue(ticket: Ticket, clock: str, now: datetime) -> bool:
    due = sla_rules.due_at(ticket, clock)
    return ticket.status != "resolved" and sla_rules.running(ticket, clock) and due is not None and due <= now


def _ticket(session: Session, row: SlackMessage, ticket: Ticket | None, send: Send, courier: Courier) -> Send:
    send.message = blocks.ticket_message(ticket, _first_mention(session, ticket))
    return send


def _note(session: Session, row: SlackMessage, ticket: Ticket | None, send: Send, courier: Courier) -> Send | None:
    reminder = row.payload.get("reminder")
    if reminder and ticket and not still_overdue(ticket, reminder["clock"], utcnow()):
        return None
    send.message = blocks.note_message(row.payload.get("text", ""), " ".join(row.payload.get("mentions", [])))
    return send


def _with_mentions(session: Session, row: SlackMessage, ticket: Ticket | None, send: Send, courier: Courier) -> Send:
    send.message = blocks.note_message(row.payload.get("text", ""), " ".join(row.payload.get("mentions", [])))
    return send


def _escalation(session: Session, row: SlackMessage, ticket: Ticket | None, send: Send, courier: Courier) -> Send:
    """A breach or escalation level, with **Acknowledge** while its clock escalates unacknowledged."""
    send = _with_mentions(session, row, ticket, send, courier)
    clock = row.payload.get("clock")
    if ticket is not None and clock and escalations.unacknowledged(ticket, clock):
        send.message = blocks.with_acknowledge(send.message, ticket.id)
    return send


def _reply_failed(session: Session, row: SlackMessage, ticket: Ticket | None, send: Send,
                  courier: Courier) -> Send:  # fmt: skip
    """A reply the platform refused, with **Retry** while it is still failed (an agent may have retried it
    before this note went out)."""
    reply_id = row.payload.get("reply_id")
    reply = session.get(Reply, reply_id) if isinstance(reply_id, int) else None
    retry = reply is not None and reply.status == "failed"
    send.message = blocks.reply_failure_message(row.payload.get("text", ""), reply_id, retry)
    return send


def _note_update(session: Session, row: SlackMessage, ticket: Ticket | None, send: Send,
                 courier: Courier) -> Send | None:  # fmt: skip
    target = session.get(SlackMessage, row.payload.get("target"))
    if target is None or target.slack_ts is None:
        return None  # never posted: a later try of it sends the redacted payload
    send.parent_channel_id, send.parent_ts = target.slack_channel_id, target.slack_ts
    send.message = blocks.note_message(target.payload.get("text", ""), " ".join(target.payload.get("mentions", [])))
    return send


def _reminders(session: Session, row: SlackMessage, ticket: Ticket | None, send: Send,
               courier: Courier) -> Send | None:  # fmt: skip
    """A reminder summary, from its tickets as they are now; None when every one was answered meanwhile."""
    now = utcnow()
    entries = list(dict.fromkeys((int(ticket_id), str(clock)) for ticket_id, clock in row.payload.get("tickets", [])))
    found = {t.id: t for t in session.scalars(select(Ticket).where(Ticket.id.in_({t for t, _ in entries})))}
    overdue = [(found[t], clock) for t, clock in entries if t in found and still_overdue(found[t], clock, now)]
    if not overdue:
        return None
    overdue.sort(key=lambda item: (PRIORITY.get(item[0].urgency, len(PRIORITY)), sla_rules.due_at(*item), item[0].id))
    items = [(ticket, clock, sla_rules.due_at(ticket, clock),
              thread_url(courier.settings, ticket.slack_channel_id, ticket.slack_ts) if ticket.slack_ts else None)
             for ticket, clock in overdue]  # fmt: skip
    send.message = blocks.reminder_summary(row.channel, items, now)
    return send


def _incident(session: Session, row: SlackMessage, ticket: Ticket | None, send: Send, courier: Courier) -> Send:
    incident = session.get(Incident, row.incident_id, with_for_update=True, populate_existing=True)
    send.incident_id, send.message = incident.id, incident_messages.render(session, incident)
    send.parent_channel_id, send.parent_ts = incident.slack_channel_id, incident.slack_ts
    return send


KINDS: dict[str, Kind] = {
    PARENT: Kind(_ticket, standalone=True, ticket_post=True, supersedes=UPDATE, on_sent=placement.ticket_posted),
    UPDATE: Kind(_ticket, call=EDIT, follows_parent=True),
    NOTE: Kind(_note, call=REPLY),
    REPLY_FAILED: Kind(_reply_failed, call=REPLY),
    ESCALATION: Kind(_escalation, standalone=True, links_thread=True),
    CHANNEL: Kind(_with_mentions, standalone=True),
    NOTICE: Kind(_with_mentions, standalone=True),
    REMINDERS: Kind(_reminders, standalone=True),
    NOTE_UPDATE: Kind(_note_update, call=EDIT, standalone=True),
    INCIDENT: Kind(_incident, standalone=True, supersedes=INCIDENT_UPDATE, on_sent=placement.incident_posted),
    INCIDENT_UPDATE: Kind(_incident, call=EDIT),  # waits for its incident's post
}
STANDALONE = tuple(name for name, kind in KINDS.items() if kind.standalone)


def _unsent(session: Session, row: SlackMessage, kind: str) -> list[int]:
    """Rows of `kind` not yet tried for the same incident or ticket: the message being rendered shows them."""
    owner = SlackMessage.incident_id == row.incident_id if row.incident_id is not None else (
        SlackMessage.ticket_id == row.ticket_id)  # fmt: skip
    return list(session.scalars(select(SlackMessage.id).where(
        owner, SlackMessage.kind == kind, SlackMessage.sent_at.is_(None), SlackMessage.attempts == 0)))  # fmt: skip


def _persistent(session: Session, row: SlackMessage, ticket: Ticket | None) -> bool:
    incident = session.get(Incident, row.incident_id) if row.incident_id is not None else None
    ticket_open = ticket is not None and ticket.status != "resolved"
    return rules.keeps_trying(row.kind, ticket_open, incident is not None and incident.status == "open")


def _delivery_state(session: Session, row: SlackMessage) -> tuple[str, list[dict], str]:
    """(form, refusals, the channel it is posted in): how the row goes. A row that follows its parent
    shows what the parent's post said about its delivery, in the parent's form unless Slack refused
    that too."""
    own = row.payload.get("delivery") or {}
    form, refused, channel = own.get("form", rules.FULL), list(own.get("refused", [])), row.channel
    if KINDS[row.kind].follows_parent:
        parent = session.scalar(select(SlackMessage).where(SlackMessage.ticket_id == row.ticket_id,
                                                           SlackMessage.kind == PARENT))  # fmt: skip
        posted = (parent.payload.get("delivery") or {}) if parent is not None else {}
        if posted:
            forms = (posted.get("form", rules.FULL), form)
            form = max(forms, key=rules.FORMS.index)
            refused, channel = [*posted.get("refused", []), *refused], parent.channel
    return form, refused, channel


def render(session: Session, row: SlackMessage, ticket: Ticket | None, courier: Courier) -> Send | None:
    """The row as it goes now, in its delivery form; None when it has nothing left to say."""
    kind = KINDS[row.kind]
    send = Send(row_id=row.id, kind=row.kind, channel=row.channel, dedupe_key=row.dedupe_key, attempts=row.attempts,
                created_at=row.created_at.timestamp(), message=blocks.Message("", []), ticket_id=row.ticket_id,
                persistent=_persistent(session, row, ticket))  # fmt: skip
    if ticket is not None:
        send.parent_channel_id, send.parent_ts = ticket.slack_channel_id, ticket.slack_ts
    send = kind.render(session, row, ticket, send, courier)
    if send is None:
        return None
    if kind.supersedes:  # rows queued before this post is rendered are shown by it
        send.superseded = _unsent(session, row, kind.supersedes)
    send.form, refused, posted_in = _delivery_state(session, row)
    send.message = blocks.in_form(send.message, send.form, rules.refusal_note(refused, posted_in))
    return send
