"""Where a posted message leaves its ticket or incident: the post it lives in now, and, for a
ticket whose parent Slack refused in the routed channel, the channel it moved to and why."""

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from integrations.slack.attempt import Send
from store.schema import Incident, SlackMessage, Ticket, TicketEvent
from triage.lanes import ESCALATION

# (session, the sent row, its Send, channel id, ts, now): run in the transaction that records the post.
Hook = Callable[[Session, SlackMessage, Send, str, str, datetime], None]


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


def ticket_posted(session: Session, row: SlackMessage, send: Send, channel_id: str, ts: str, now: datetime) -> None:
    """The ticket's parent is posted: the ticket points at it, and moves if it went to another channel."""
    ticket = session.get(Ticket, send.ticket_id)
    ticket.slack_channel_id, ticket.slack_ts = channel_id, ts
    refused = [r for r in (row.payload.get("delivery") or {}).get("refused", []) if r["channel"] != row.channel]
    if refused and ticket.channel != row.channel:
        _move_ticket(session, ticket, row.channel, refused, now)


def incident_posted(session: Session, row: SlackMessage, send: Send, channel_id: str, ts: str, now: datetime) -> None:
    incident = session.get(Incident, send.incident_id)
    incident.slack_channel_id, incident.slack_ts = channel_id, ts
