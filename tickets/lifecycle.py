"""What happens to a ticket: opened, joined by a follow-up, answered, worked in Slack.

Every change appends a TicketEvent, moves the SLA clocks (triage.sla), asks
for the SLA checks to be rescheduled (tickets.sla_checks), and queues the Slack
messages that show it (tickets.outbox). Nothing here commits or enqueues: the
caller commits, and the entry point's after-commit handler schedules the checks
and the delivery (store.effects).
"""

from datetime import datetime

from sqlalchemy.orm import Session

from core.config import AppConfig
from core.tiers import TIERS
from store import effects
from store.schema import Label, Mention, Ticket, TicketEvent
from tickets import outbox
from tickets.sla_checks import schedule_checks
from triage import sla, sla_rules

OPEN_STATUSES = ("open", "claimed", "responded")
# The after-commit effect (route key): the route's pool has room or tickets to hand out (tickets.assignment).
ASSIGN_FILL = "assign_fill"


def record_event(session: Session, ticket: Ticket, type_: str, actor: str | None, at: datetime, **data) -> None:
    """Append to the ticket's history (also for tickets.replies)."""
    session.add(TicketEvent(ticket_id=ticket.id, type=type_, actor=actor, at=at, data=data))
    ticket.updated_at = at


def capacity_freed(session: Session, route: str | None) -> None:
    """Once the caller commits, the route's waiting tickets are handed out (workers.assign)."""
    if route:
        effects.record(session, ASSIGN_FILL, route)


def changed(session: Session, ticket: Ticket) -> None:
    """After a change: its SLA checks rescheduled, its parent message updated."""
    schedule_checks(session, ticket)
    outbox.queue_ticket_update(session, ticket)


def open_ticket(session: Session, mention: Mention, channel: str, config: AppConfig, at: datetime) -> Ticket:
    ticket = new_ticket(mention, channel, config, at)
    session.add(ticket)
    session.flush()
    ticket_opened(session, ticket, mention, at)
    return ticket


def new_ticket(mention: Mention, channel: str, config: AppConfig, at: datetime) -> Ticket:
    """The ticket `mention` opens, its clocks started; the caller adds it, then calls
    `ticket_opened` once it has its id (open_ticket does both)."""
    ticket = Ticket(
        status="open",
        urgency=mention.urgency,
        signals=list(mention.signals or []),
        source=mention.source,
        brand=mention.brand,
        author_id=mention.author_id,
        author_handle=mention.author_handle,
        conversation_id=mention.conversation_id,
        channel=channel,
        created_at=mention.created_at,
        updated_at=at,
    )
    ticket.sla_policy, _ = sla_rules.choose_policy(config.sla, policy_facts(mention))
    sla.start(ticket, config.sla)
    return ticket


def policy_facts(mention: Mention) -> sla_rules.PolicyFacts:
    """What `sla.rules` match a new ticket on: its first mention."""
    return sla_rules.PolicyFacts(urgency=mention.urgency, source=mention.source, text=mention.text or "",
                                 brand=mention.brand, followers=mention.author_followers,
                                 author=f"{mention.source}:{mention.author_id}")  # fmt: skip


def ticket_opened(session: Session, ticket: Ticket, mention: Mention, at: datetime) -> None:
    """The rest of opening, once the ticket is inserted: the mention joins it, and its history,
    SLA checks and Slack message begin."""
    mention.ticket_id = ticket.id
    record_event(
        session, ticket, "opened", "earshot", at, mention_id=mention.id, urgency=ticket.urgency, channel=ticket.channel
    )
    schedule_checks(session, ticket)
    outbox.queue_ticket_message(session, ticket)
    capacity_freed(session, ticket.route)  # a route with a pool: the ticket gets its owner after the commit


def _raise_urgency(session: Session, ticket: Ticket, tier: str, config: AppConfig, at: datetime, reason: str) -> bool:
    if TIERS.index(tier) >= TIERS.index(ticket.urgency):
        return False
    record_event(
        session, ticket, "urgency_changed", "earshot", at, previous=ticket.urgency, urgency=tier, reason=reason
    )
    ticket.urgency = tier
    sla.urgency_changed(ticket, config.sla)
    return True


def waiting_for_brand(ticket: Ticket) -> bool:
    """The customer is owed an answer right now (not while the agent waits on the customer)."""
    return ticket.status != "resolved" and ticket.paused_at is None and sla.awaiting_reply(ticket)


def attach_follow_up(
    session: Session, ticket: Ticket, mention: Mention, config: AppConfig, at: datetime, escalated_tier: str | None
) -> None:
    """A customer's further mention in the same conversation joins the ticket and its thread.

    `escalated_tier` is the tier the urgency policy gives a repeat contact,
    None when the customer was not waiting (or the mention needs no reply).
    """
    mention.ticket_id = ticket.id
    repeat = escalated_tier is not None
    if ticket.status == "resolved" and mention.needs_reply:
        ticket.status = "open"
        record_event(session, ticket, "reopened", "earshot", at, mention_id=mention.id)
    _resume(session, ticket, mention, config, at)
    if repeat:
        ticket.repeat_contacts += 1
    record_event(session, ticket, "follow_up", "earshot", at, mention_id=mention.id, repeat_contact=repeat)
    if mention.needs_reply:
        sla.customer_wrote(ticket, mention.created_at, config.sla)
    if mention.urgency:
        _raise_urgency(session, ticket, mention.urgency, config, at, "follow-up classified higher")
    if repeat:
        _raise_urgency(session, ticket, escalated_tier, config, at, "repeat contact while waiting")
        ticket.signals = list(dict.fromkeys([*ticket.signals, *[s for s in mention.signals if s.startswith("repeat")]]))
    outbox.queue_thread_note(session, ticket, follow_up_note(mention, repeat, ticket), f"follow-up:{mention.id}")
    changed(session, ticket)


def _resume(session: Session, ticket: Ticket, mention: Mention, config: AppConfig, at: datetime) -> None:
    """The customer wrote while the agent waited on them (tickets.replies.wait_for_customer): the clocks
    run again from their post. A resolved ticket is left alone: reopening it counts the pause too."""
    if ticket.paused_at is None or ticket.resolution_met_at is not None:
        return
    # A post written before the pause but delivered after it resumes at the pause: nothing is charged.
    sla.resumed(ticket, max(mention.created_at, ticket.paused_at), config.sla)
    record_event(session, ticket, "resumed", "earshot", at, mention_id=mention.id)


def follow_up_note(mention: Mention, repeat: bool, ticket: Ticket) -> str:
    who = mention.author_handle or mention.author_id
    if repeat:
        waiting = f"Repeat contact #{ticket.repeat_contacts} from {who} while waiting; urgency now {ticket.urgency}"
        return f"{waiting}:\n{mention.text}"
    return f"Follow-up from {who}:\n{mention.text}"


def record_public_reply(session: Session, ticket: Ticket, reply: Mention, config: AppConfig, at: datetime) -> None:
    """The brand answered in public on the platform."""
    reply.ticket_id = ticket.id
    sla.brand_replied(ticket, reply.created_at, config.sla)
    if ticket.status in ("open", "claimed"):
        ticket.status = "responded"
    actor = (reply.author_handle or reply.author_id)[:64]  # a handle may be 255 long; TicketEvent.actor is 64
    record_event(session, ticket, "public_reply", actor, at, mention_id=reply.id)
    outbox.queue_thread_note(session, ticket, f"Public reply sent:\n{reply.text}", f"reply:{reply.id}")
    changed(session, ticket)


def answer_publicly(session: Session, ticket: Ticket, text: str, actor: str, at: datetime, config: AppConfig) -> None:
    """One public answer an agent gave for many tickets at once (an incident's): it stops the
    response clock as mark_responded does, and the ticket keeps the text."""
    if ticket.status == "resolved":
        return
    sla.brand_replied(ticket, at, config.sla)
    ticket.status = "responded"
    ticket.claimed_by = ticket.claimed_by or actor
    record_event(session, ticket, "public_answer", actor, at, answer=text)
    outbox.queue_thread_note(session, ticket, f"Answered in public:\n{text}", f"answer:{ticket.id}:{at.timestamp()}")
    changed(session, ticket)


def claim(session: Session, ticket: Ticket, actor: str, at: datetime) -> None:
    if ticket.status == "resolved":
        return
    if ticket.claimed_by not in (None, actor):
        capacity_freed(session, ticket.route)  # its owner's room goes to their pool
    ticket.claimed_by = actor
    if ticket.status == "open":
        ticket.status = "claimed"
    record_event(session, ticket, "claimed", actor, at)
    changed(session, ticket)


def mark_responded(session: Session, ticket: Ticket, actor: str, at: datetime, config: AppConfig) -> None:
    """An agent says the customer was answered in public: it stops the response clock."""
    if ticket.status == "resolved":
        return
    sla.brand_replied(ticket, at, config.sla)
    ticket.status = "responded"
    ticket.claimed_by = ticket.claimed_by or actor
    record_event(session, ticket, "responded", actor, at)
    changed(session, ticket)


def resolve(session: Session, ticket: Ticket, actor: str, at: datetime) -> None:
    if ticket.status == "resolved":
        return
    ticket.status = "resolved"
    sla.resolved(ticket, at)
    record_event(session, ticket, "resolved", actor, at)
    changed(session, ticket)
    capacity_freed(session, ticket.route if ticket.claimed_by else None)


def _label(session: Session, ticket: Ticket, kind: str, value: str, actor: str, at: datetime) -> None:
    first = session.query(Mention).filter_by(ticket_id=ticket.id, direction="inbound").order_by(Mention.id).first()
    session.add(
        Label(
            ticket_id=ticket.id,
            mention_id=first.id if first else None,
            text=first.text if first else "",
            kind=kind,
            value=value,
            actor=actor,
            created_at=at,
        )
    )


def not_complaint(session: Session, ticket: Ticket, actor: str, at: datetime) -> None:
    """Closes the ticket and keeps the correction as a training label."""
    _label(session, ticket, "complaint", "0", actor, at)
    record_event(session, ticket, "not_complaint", actor, at)
    if ticket.status != "resolved":
        ticket.status = "resolved"
        sla.resolved(ticket, at)
        capacity_freed(session, ticket.route if ticket.claimed_by else None)
    changed(session, ticket)


def set_urgency(session: Session, ticket: Ticket, tier: str, actor: str, at: datetime, config: AppConfig) -> None:
    if tier not in TIERS:
        raise ValueError(f"unknown urgency {tier!r}")
    _label(session, ticket, "urgency", tier, actor, at)
    if tier == ticket.urgency:
        return
    record_event(session, ticket, "urgency_changed", actor, at, previous=ticket.urgency, urgency=tier)
    ticket.urgency = tier
    ticket.urgency_set_by = actor
    sla.urgency_changed(ticket, config.sla)
    changed(session, ticket)
