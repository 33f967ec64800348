"""A ticket as the outside sees it: the CONTRACT's JSON shape, ids as strings, times in UTC with `Z`."""

from core.timeutil import iso
from store.schema import Mention, Ticket, TicketEvent
from triage.sla import CLOCKS


def _clock(ticket: Ticket, clock: str) -> dict:
    return {
        "due_at": iso(getattr(ticket, f"{clock}_due_at")),
        "met_at": iso(getattr(ticket, f"{clock}_met_at")),
        "breached": bool(getattr(ticket, f"{clock}_breached")),
    }


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


def ticket_json(ticket: Ticket) -> dict:
    """The whole ticket, with its mentions and events (load them eagerly when serializing many)."""
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
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
        "slack": {"channel": ticket.slack_channel_id, "ts": ticket.slack_ts},
        "sla": {clock: _clock(ticket, clock) for clock in CLOCKS},
        "mentions": [mention_json(m) for m in ticket.mentions],
        "events": [event_json(e) for e in ticket.events],
    }
