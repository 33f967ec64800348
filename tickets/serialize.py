"""A ticket as the outside sees it: the CONTRACT's JSON shape, ids as strings, times in UTC with `Z`."""

from collections.abc import Iterable

from core.timeutil import iso
from store.schema import Mention, Reply, Ticket, TicketEvent
from triage.sla import CLOCKS
from triage.sla_rules import DEFAULT as DEFAULT_POLICY


def _clock(ticket: Ticket, clock: str, escalated: dict) -> dict:
    shown = {
        "due_at": iso(getattr(ticket, f"{clock}_due_at")),
        "met_at": iso(getattr(ticket, f"{clock}_met_at")),
        "breached": bool(getattr(ticket, f"{clock}_breached")),
    }
    state = escalated.get(clock)
    if state is not None:  # a breach climbing its ladder (tickets.escalations): who acknowledged, the page
        shown["escalation"] = {"acknowledged_at": iso(state.acknowledged_at), "acknowledged_by": state.acknowledged_by,
                               "page": state.page_sent or state.page_wanted}  # fmt: skip
    return shown


def mention_json(mention: Mention) -> dict:
    return {
        "id": str(mention.id),
        "external_id": mention.external_id,
        "source": mention.source,
        "direction": mention.direction,
        "author": {"id": mention.author_id, "handle": mention.author_handle, "name": mention.author_name},
        "text": mention.text,
        "url": mention.url,
        "created_at": iso(mention.created_at),
    }


def event_json(event: TicketEvent) -> dict:
    return {"at": iso(event.at), "type": event.type, "actor": event.actor, "data": event.data or {}}


# Outside, a reply is waiting (queued), posted (sent) or refused for good (failed): a worker holding it
# (sending) or asking the platform whether an earlier attempt took effect (unknown) is still waiting.
SHOWN_REPLY_STATUS = {"sending": "queued", "unknown": "queued"}


def reply_json(reply: Reply) -> dict:
    return {
        "id": str(reply.id),
        "text": reply.text,
        "status": SHOWN_REPLY_STATUS.get(reply.status, reply.status),
        "external_id": reply.external_id,
        "sent_at": iso(reply.sent_at),
        "actor": reply.actor,
        "created_at": iso(reply.created_at),
        "error": reply.last_error if reply.status == "failed" else None,
    }


def ticket_json(ticket: Ticket, replies: Iterable[Reply] = ()) -> dict:
    """The whole ticket, with its mentions, events and the `replies` given (load them eagerly when
    serializing many: store.responses.replies_by_ticket reads a page's replies in one query)."""
    escalated = {state.clock: state for state in ticket.clock_states}
    return {
        "id": str(ticket.id),
        "status": ticket.status,
        "urgency": ticket.urgency,
        "signals": list(ticket.signals or []),
        "source": ticket.source,
        "brand": ticket.brand,
        "channel": ticket.channel,
        "author": {"id": ticket.author_id, "handle": ticket.author_handle},
        "claimed_by": ticket.claimed_by,
        "repeat_contacts": ticket.repeat_contacts or 0,
        "sla_policy": ticket.sla_policy or DEFAULT_POLICY,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "slack": {"channel": ticket.slack_channel_id, "ts": ticket.slack_ts},
        "sla": {clock: _clock(ticket, clock, escalated) for clock in CLOCKS},
        "mentions": [mention_json(m) for m in ticket.mentions],
        "events": [event_json(e) for e in ticket.events],
        "replies": [reply_json(reply) for reply in replies],
    }
