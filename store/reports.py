"""Read-only queries for what managers ask about: open work, breaches, response times."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, not_, or_, select
from sqlalchemy.orm import Session, selectinload

from core.tiers import TIERS
from store.schema import SlaAlert, Ticket, TicketEvent

OPEN_STATUSES = ("open", "claimed", "responded")


@dataclass(frozen=True)
class Breach:
    ticket_id: int
    clock: str
    deadline_at: datetime
    at: datetime
    urgency: str
    channel: str
    slack_channel_id: str | None
    slack_ts: str | None


def open_by_urgency(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Ticket.urgency, func.count()).where(Ticket.status.in_(OPEN_STATUSES)).group_by(Ticket.urgency)
    )
    counts = dict.fromkeys(TIERS, 0)
    counts.update({urgency: count for urgency, count in rows})
    return counts


def breaches_since(session: Session, since: datetime, limit: int | None = None) -> list[Breach]:
    statement = (
        select(SlaAlert, Ticket)
        .join(Ticket, SlaAlert.ticket_id == Ticket.id)
        .where(SlaAlert.kind == "breach", SlaAlert.at >= since)
        .order_by(SlaAlert.at.desc(), SlaAlert.id.desc())
        .limit(limit)
    )
    return [
        Breach(alert.ticket_id, alert.clock, alert.deadline_at, alert.at, ticket.urgency, ticket.channel,
               ticket.slack_channel_id, ticket.slack_ts)  # fmt: skip
        for alert, ticket in session.execute(statement)
    ]


def percentile(values: list[float], share: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))  # ceil without floats drifting
    return ordered[int(rank) - 1]


def first_response_seconds(session: Session, since: datetime) -> list[float]:
    """How long customers waited for a first answer, for tickets first answered since `since`."""
    rows = session.execute(
        select(Ticket.created_at, Ticket.first_response_met_at).where(Ticket.first_response_met_at >= since)
    )
    return [(met - created).total_seconds() for created, met in rows]


def ticket_with_events(session: Session, ticket_id: int, last: int = 5) -> tuple[Ticket, list[TicketEvent]] | None:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        return None
    events = session.scalars(
        select(TicketEvent).where(TicketEvent.ticket_id == ticket_id).order_by(TicketEvent.id.desc()).limit(last)
    )
    return ticket, list(reversed(list(events)))


# The dashboard and the API: filtered lists and cohorts of tickets for percentiles (the API's keyset
# pages: store.pages).

ANY_BREACH = or_(Ticket.first_response_breached, Ticket.next_response_breached, Ticket.resolution_breached)
# In breach now: a clock that passed its deadline and still has not been met.
IN_BREACH = or_(
    and_(Ticket.first_response_breached, Ticket.first_response_met_at.is_(None)),
    and_(Ticket.next_response_breached, Ticket.next_response_met_at.is_(None)),
    and_(Ticket.resolution_breached, Ticket.resolution_met_at.is_(None)),
)
# Since when the customer has been waiting: the first post, or the unanswered follow-up.
WAITING_SINCE = case((Ticket.first_response_met_at.is_(None), Ticket.created_at), else_=Ticket.next_response_started_at)
AWAITING_REPLY = or_(
    Ticket.first_response_met_at.is_(None),
    and_(Ticket.next_response_started_at.is_not(None), Ticket.next_response_met_at.is_(None)),
)


@dataclass(frozen=True)
class TicketFilter:
    """What a manager narrowed the view to; empty tuples mean any."""

    status: tuple[str, ...] = ()
    urgency: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()  # the routed channel name or the Slack channel id
    source: tuple[str, ...] = ()
    brand: tuple[str, ...] = ()
    breached: bool | None = None
    since: datetime | None = None

    def apply(self, statement):
        conditions = [
            column.in_(values)
            for column, values in (
                (Ticket.status, self.status),
                (Ticket.urgency, self.urgency),
                (Ticket.source, self.source),
                (Ticket.brand, self.brand),
            )
            if values
        ]
        if self.channel:
            conditions.append(or_(Ticket.channel.in_(self.channel), Ticket.slack_channel_id.in_(self.channel)))
        if self.breached is not None:
            conditions.append(ANY_BREACH if self.breached else not_(ANY_BREACH))
        if self.since is not None:
            conditions.append(Ticket.created_at >= self.since)
        return statement.where(*conditions)


ANY = TicketFilter()


@dataclass(frozen=True)
class Cohort:
    """One ticket's numbers for response-time statistics."""

    urgency: str
    source: str
    created_at: datetime
    first_response_seconds: float | None
    breached: bool


def cohort(session: Session, since: datetime, filters: TicketFilter = ANY) -> list[Cohort]:
    """Tickets created since `since`: first-response times are wall-clock, from the customer's post."""
    statement = filters.apply(
        select(Ticket.urgency, Ticket.source, Ticket.created_at, Ticket.first_response_met_at, ANY_BREACH)
    ).where(Ticket.created_at >= since)
    return [
        Cohort(urgency, source, created, (met - created).total_seconds() if met else None, bool(breached))
        for urgency, source, created, met, breached in session.execute(statement)
    ]


def stats(rows: list[Cohort]) -> dict:
    """Count, first-response p50/p90 (nearest rank) and the share of tickets with a breached clock."""
    waits = [row.first_response_seconds for row in rows if row.first_response_seconds is not None]
    breached = sum(row.breached for row in rows)
    return {
        "count": len(rows),
        "responded": len(waits),
        "first_response_p50_seconds": percentile(waits, 0.5),
        "first_response_p90_seconds": percentile(waits, 0.9),
        "breaches": breached,
        "breach_rate": round(breached / len(rows), 4) if rows else None,
    }


def summarize(rows: list[Cohort], key: str) -> dict[str, dict]:
    """`stats` per value of `key` (urgency: every tier, even without tickets; source: those seen)."""
    groups: dict[str, list[Cohort]] = {tier: [] for tier in TIERS} if key == "urgency" else {}
    for row in rows:
        groups.setdefault(getattr(row, key), []).append(row)
    return {name: stats(members) for name, members in groups.items()}


def series(rows: list[Cohort], key: str, start: datetime, step: timedelta, buckets: int) -> dict[str, list[dict]]:
    """First-response p50/p90 per time bucket (by ticket creation) for each value of `key`."""
    waits: dict[str, list[list[float]]] = defaultdict(lambda: [[] for _ in range(buckets)])
    for row in rows:
        index = int((row.created_at - start) / step)
        if 0 <= index < buckets and row.first_response_seconds is not None:
            waits[getattr(row, key)][index].append(row.first_response_seconds)
    return {
        name: [
            {"start": start + i * step, "p50": percentile(values, 0.5), "p90": percentile(values, 0.9),
             "n": len(values)}  # fmt: skip
            for i, values in enumerate(lists)
        ]
        for name, lists in sorted(waits.items())
    }


def open_ages(session: Session, filters: TicketFilter = ANY) -> list[tuple[str, datetime]]:
    """(urgency, created_at) of every open ticket."""
    statement = filters.apply(select(Ticket.urgency, Ticket.created_at)).where(Ticket.status.in_(OPEN_STATUSES))
    return [(urgency, created) for urgency, created in session.execute(statement)]


def in_breach_now(session: Session, filters: TicketFilter = ANY) -> int:
    statement = filters.apply(select(func.count(Ticket.id))).where(Ticket.status.in_(OPEN_STATUSES), IN_BREACH)
    return session.scalar(statement) or 0


def breach_times(session: Session, since: datetime, filters: TicketFilter = ANY) -> list[datetime]:
    statement = filters.apply(
        select(SlaAlert.at).join(Ticket, SlaAlert.ticket_id == Ticket.id)
    ).where(SlaAlert.kind == "breach", SlaAlert.at >= since)
    return list(session.scalars(statement))


def oldest_unanswered(session: Session, limit: int, filters: TicketFilter = ANY) -> list[Ticket]:
    """Open tickets whose customer is owed a reply, longest waiting first."""
    statement = (
        filters.apply(select(Ticket))
        .where(Ticket.status.in_(OPEN_STATUSES), AWAITING_REPLY)
        .options(selectinload(Ticket.mentions))
        .order_by(WAITING_SINCE, Ticket.id)
        .limit(limit)
    )
    return list(session.scalars(statement))


@dataclass(frozen=True)
class AgentCounts:
    agent: str
    claimed: int
    responded: int
    breached: int


def agent_counts(session: Session, since: datetime, filters: TicketFilter = ANY) -> list[AgentCounts]:
    """Per Slack user: tickets claimed and answered since `since` (from the event history), and breaches
    since then on tickets they hold."""
    acted = filters.apply(
        select(TicketEvent.actor, TicketEvent.type, func.count(func.distinct(TicketEvent.ticket_id)))
        .join(Ticket, TicketEvent.ticket_id == Ticket.id)
    ).where(
        TicketEvent.at >= since, TicketEvent.type.in_(("claimed", "responded")), TicketEvent.actor.is_not(None),
        TicketEvent.actor != "earshot",
    ).group_by(TicketEvent.actor, TicketEvent.type)  # fmt: skip
    counts: dict[str, dict[str, int]] = defaultdict(lambda: {"claimed": 0, "responded": 0, "breached": 0})
    for actor, kind, count in session.execute(acted):
        counts[actor][kind] = count
    breached = filters.apply(
        select(Ticket.claimed_by, func.count(SlaAlert.id)).join(SlaAlert, SlaAlert.ticket_id == Ticket.id)
    ).where(SlaAlert.kind == "breach", SlaAlert.at >= since, Ticket.claimed_by.is_not(None)).group_by(Ticket.claimed_by)
    for actor, count in session.execute(breached):
        counts[actor]["breached"] = count
    return sorted(
        (AgentCounts(agent, **values) for agent, values in counts.items()),
        key=lambda row: (-row.claimed - row.responded, row.agent),
    )


def filter_choices(session: Session) -> dict[str, list[str]]:
    """The channels, sources and brands seen on tickets, for the dashboard's filter menus."""
    return {
        name: sorted(value for value in session.scalars(select(column).distinct()) if value)
        for name, column in (("channel", Ticket.channel), ("source", Ticket.source), ("brand", Ticket.brand))
    }
