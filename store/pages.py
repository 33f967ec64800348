"""What the API (service.api) lists: keyset pages of tickets and of breach alerts, newest first and
filtered as in store.reports (a page never repeats or skips a row when rows are added meanwhile),
and one ticket with its history."""

from datetime import datetime

from sqlalchemy import and_, or_, select, true
from sqlalchemy.orm import Session, selectinload

from store.reports import ANY, TicketFilter
from store.schema import SlaAlert, Ticket


def _before(at_column, id_column, after: tuple[datetime, int] | None):
    """Keyset condition for a newest-first page: rows strictly after the last one seen."""
    if after is None:
        return true()
    at, row_id = after
    return or_(at_column < at, and_(at_column == at, id_column < row_id))


def ticket_page(
    session: Session, filters: TicketFilter, after: tuple[datetime, int] | None, limit: int
) -> list[Ticket]:
    """Newest first by (created_at, id): a page never repeats or skips a row when tickets are added."""
    statement = (
        filters.apply(select(Ticket))
        .where(_before(Ticket.created_at, Ticket.id, after))
        .options(selectinload(Ticket.mentions), selectinload(Ticket.events), selectinload(Ticket.clock_states))
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return list(session.scalars(statement))


def ticket_detail(session: Session, ticket_id: int) -> Ticket | None:
    loads = selectinload(Ticket.mentions), selectinload(Ticket.events), selectinload(Ticket.clock_states)
    statement = select(Ticket).where(Ticket.id == ticket_id).options(*loads)
    return session.scalar(statement)


def breach_page(
    session: Session, since: datetime, after: tuple[datetime, int] | None, limit: int | None,
    filters: TicketFilter = ANY,
) -> list[tuple[SlaAlert, Ticket]]:  # fmt: skip
    """Breach alerts with their tickets, newest first by (at, id)."""
    statement = (
        filters.apply(select(SlaAlert, Ticket).join(Ticket, SlaAlert.ticket_id == Ticket.id))
        .where(SlaAlert.kind == "breach", SlaAlert.at >= since, _before(SlaAlert.at, SlaAlert.id, after))
        .order_by(SlaAlert.at.desc(), SlaAlert.id.desc())
        .limit(limit)
    )
    return [(alert, ticket) for alert, ticket in session.execute(statement)]
