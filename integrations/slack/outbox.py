"""The Slack outbox: what Earshot means to say in Slack, written in the caller's transaction.

These functions only add `slack_messages` rows, one per dedupe key (a row whose
key is already stored is dropped when the session flushes: one query for all
the new rows); they never call Slack. Once the caller commits, an
`after_commit` listener makes sure a delivery dispatcher is queued
(workers.deliver.request_dispatch). If Redis is down nothing is lost: the
periodic `workers.deliver.deliver_pending` finds the rows.

Parent messages and updates are rendered at delivery time from the ticket as
it is then, so several changes before a delivery become one `chat.update`.
"""

import logging
import uuid

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.config import TIERS
from store.schema import SlackMessage, Ticket

log = logging.getLogger(__name__)

PRIORITY = {tier: rank for rank, tier in enumerate(TIERS)}  # lower is sooner
PARENT, UPDATE, NOTE, ESCALATION = "parent", "update", "note", "escalation"
INCIDENT, INCIDENT_UPDATE = "incident", "incident_update"  # rendered from the Incident row at delivery
CHANNEL = "channel"  # a message tied to no ticket (the managers' digest)
_TOUCHED = "earshot.slack.channels"


def priority(ticket: Ticket) -> int:
    return PRIORITY.get(ticket.urgency, PRIORITY["normal"])


def _touch(session: Session, channel: str) -> None:
    session.info.setdefault(_TOUCHED, set()).add(channel)


def _queue(session: Session, message: SlackMessage) -> None:
    """Add `message` unless one with its key waits in this session; one already stored is
    dropped at the flush (_drop_stored), so queueing many costs one query, not one each."""
    pending = (m for m in session.new if isinstance(m, SlackMessage))
    if all(m.dedupe_key != message.dedupe_key for m in pending):
        session.add(message)
    _touch(session, message.channel)


def _drop_stored(session: Session, _flush_context, _instances) -> None:
    """Before a flush: a new message whose key is already stored is not queued again."""
    new = {m.dedupe_key: m for m in session.new if isinstance(m, SlackMessage)}
    if new:
        for key in session.scalars(select(SlackMessage.dedupe_key).where(SlackMessage.dedupe_key.in_(list(new)))):
            session.expunge(new[key])


def _add(session: Session, ticket: Ticket, kind: str, channel: str, key: str, payload: dict | None = None) -> None:
    if ticket.id is None:
        session.flush()
    _queue(
        session,
        SlackMessage(
            dedupe_key=key[:191],
            ticket_id=ticket.id,
            kind=kind,
            channel=channel,
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


def queue_thread_note(session: Session, ticket: Ticket, text: str, key: str) -> None:
    """A message in the ticket's thread; `text` is escaped at delivery, so it may quote customers."""
    _add(session, ticket, NOTE, ticket.channel, f"note:{key}", {"text": text})


def queue_escalation(session: Session, ticket: Ticket, text: str, key: str) -> None:
    """A message in the escalation channel with the on-call mentions, linking the ticket's thread."""
    from workers.context import app_context

    slack = app_context()[1].slack
    payload = {"text": text, "mentions": list(slack.escalation_mentions)}
    _add(session, ticket, ESCALATION, slack.escalation_channel, f"escalation:{key}", payload)


def queue_channel_message(session: Session, channel: str, text: str, key: str) -> None:
    """A message to `channel` about no single ticket; sent after every ticket's messages there.
    `text` is escaped at delivery."""
    message = SlackMessage(dedupe_key=f"channel:{key}"[:191], ticket_id=None, kind=CHANNEL, channel=channel,
                           priority=len(TIERS), payload={"text": text})  # fmt: skip
    _queue(session, message)


def add_message(session: Session, key: str, kind: str, channel: str, priority: int, **columns) -> None:
    """A row tied to no ticket (an incident's message), once per `key`."""
    _queue(session, SlackMessage(dedupe_key=key[:191], kind=kind, channel=channel, priority=priority, **columns))


def _deliver_after_commit(session: Session) -> None:
    if not session.info.pop(_TOUCHED, None):
        return
    from workers.deliver import request_dispatch

    try:
        request_dispatch()
    except Exception:  # never fail a committed transaction; deliver_pending repairs
        log.warning("could not request Slack delivery", exc_info=True)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_TOUCHED, None)


event.listen(Session, "before_flush", _drop_stored)
event.listen(Session, "after_commit", _deliver_after_commit)
event.listen(Session, "after_rollback", _forget_after_rollback)
