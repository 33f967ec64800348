"""How customers were answered: the replies listed with tickets, and first responses by how they were met.

A first response is *verified* when what met it was a post the platform took: a reply sent through
Earshot (ticket event `reply_sent`) or the brand's own public post seen by a webhook (`public_reply`).
It is *marked* when an agent only said so: a **Responded** click (`responded`), or an incident's answer
recorded by hand (`public_answer`, which Earshot does not post). The event that met the clock is the
ticket's first of these: `triage.sla.brand_replied` meets the first response once, later ones are
next responses. A ticket answered with none of them recorded (imported data) counts in neither.
"""

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.reports import ANY, TicketFilter
from store.schema import Reply, Ticket, TicketEvent

VERIFIED = ("reply_sent", "public_reply")
MARKED = ("responded", "public_answer")


def replies_by_ticket(session: Session, ticket_ids: Iterable[int]) -> dict[int, list[Reply]]:
    """The replies of these tickets, oldest first: one query for a whole page of tickets."""
    ids = sorted(set(ticket_ids))
    found: dict[int, list[Reply]] = defaultdict(list)
    if ids:
        for reply in session.scalars(select(Reply).where(Reply.ticket_id.in_(ids)).order_by(Reply.id)):
            found[reply.ticket_id].append(reply)
    return found


def first_responses(session: Session, filters: TicketFilter = ANY, answered_since: datetime | None = None) -> dict:
    """{"verified": n, "marked": n} over the tickets `filters` selects (its `since` is on creation, as
    in store.reports.cohort) whose first response was met (at or after `answered_since`, when given)."""
    answered = filters.apply(select(Ticket.id)).where(Ticket.first_response_met_at.is_not(None))
    if answered_since is not None:
        answered = answered.where(Ticket.first_response_met_at >= answered_since)
    first = (
        select(func.min(TicketEvent.id).label("event_id"))
        .where(TicketEvent.ticket_id.in_(answered), TicketEvent.type.in_(VERIFIED + MARKED))
        .group_by(TicketEvent.ticket_id)
        .subquery()
    )
    counted = select(TicketEvent.type, func.count()).join(first, TicketEvent.id == first.c.event_id)
    by_type = dict(session.execute(counted.group_by(TicketEvent.type)).all())
    return {
        "verified": sum(by_type.get(kind, 0) for kind in VERIFIED),
        "marked": sum(by_type.get(kind, 0) for kind in MARKED),
    }
