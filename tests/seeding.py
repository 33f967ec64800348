"""Tickets written straight through the ORM, for the reporting tests (API, dashboard, metrics, digest)."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from store.schema import Mention, SlaAlert, Ticket, TicketEvent

_counter = iter(range(1, 1_000_000))


def seed_ticket(
    session: Session, created_at: datetime, *, urgency: str = "normal", source: str = "x", status: str = "open",
    channel: str = "#support", brand: str = "acme", answered_after: timedelta | None = None,
    slack_ts: str | None = None, claimed_by: str | None = None, text: str = "@acme my booking vanished",
    author: str = "@jane",
) -> Ticket:  # fmt: skip
    number = next(_counter)
    ticket = Ticket(
        status=status, urgency=urgency, source=source, brand=brand, channel=channel, author_id=f"u{number}",
        author_handle=author, created_at=created_at, updated_at=created_at, claimed_by=claimed_by,
        first_response_due_at=created_at + timedelta(hours=1), resolution_due_at=created_at + timedelta(days=1),
        slack_channel_id="C0SUPPORT" if slack_ts else None, slack_ts=slack_ts,
    )  # fmt: skip
    if answered_after is not None:
        ticket.first_response_met_at = created_at + answered_after
    session.add(ticket)
    session.flush()
    session.add(Mention(source=source, external_id=f"seed-{number}", author_id=ticket.author_id,
                        author_handle=author, text=text, created_at=created_at, received_at=created_at,
                        ticket_id=ticket.id, brand=brand))  # fmt: skip
    session.add(TicketEvent(ticket_id=ticket.id, type="opened", actor="earshot", at=created_at))
    if claimed_by:
        session.add(TicketEvent(ticket_id=ticket.id, type="claimed", actor=claimed_by, at=created_at))
    if answered_after is not None and claimed_by:
        answered_at = created_at + answered_after
        session.add(TicketEvent(ticket_id=ticket.id, type="responded", actor=claimed_by, at=answered_at))
    session.flush()
    return ticket


def seed_breach(session: Session, ticket: Ticket, at: datetime, clock: str = "first_response") -> SlaAlert:
    setattr(ticket, f"{clock}_breached", True)
    alert = SlaAlert(ticket_id=ticket.id, clock=clock, kind="breach", deadline_at=at, at=at)
    session.add(alert)
    session.flush()
    return alert
