"""Each agent's load, for managers (`GET /api/v1/agents`, the dashboard's load panel): open tickets
owned, tickets assigned to them in a window (the "assigned" and "reassigned" events naming them),
and how their tickets of the window fared on the first-response clock."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from store.schema import Agent, Ticket, TicketEvent

OPEN_STATUSES = ("open", "claimed", "responded")


@dataclass(frozen=True)
class AgentLoad:
    agent: str
    away: bool
    away_since: datetime | None
    open_tickets: int
    assigned: int  # in the window
    first_response_met: int  # of their tickets opened in the window whose first response is decided
    first_response_breached: int

    @property
    def met_rate(self) -> float | None:
        decided = self.first_response_met + self.first_response_breached
        return round(self.first_response_met / decided, 4) if decided else None


def _assigned(session: Session, since: datetime) -> dict[str, int]:
    counts: dict[str, int] = {}
    events = select(TicketEvent.data).where(TicketEvent.type.in_(("assigned", "reassigned")), TicketEvent.at >= since)
    for data in session.scalars(events):
        agent = data.get("agent") if isinstance(data, dict) else None
        if isinstance(agent, str):
            counts[agent] = counts.get(agent, 0) + 1
    return counts


def agent_load(session: Session, pool_agents: list[str], since: datetime) -> list[AgentLoad]:
    """Every agent of the configured pools, and anyone else with a row in `agents` (away, or
    assigned before the pools changed), in that order."""
    rows = {row.user_id: row for row in session.scalars(select(Agent))}
    agents = list(dict.fromkeys([*pool_agents, *sorted(rows)]))
    if not agents:
        return []
    open_counts = dict(session.execute(
        select(Ticket.claimed_by, func.count(Ticket.id))
        .where(Ticket.claimed_by.in_(agents), Ticket.status.in_(OPEN_STATUSES)).group_by(Ticket.claimed_by)
    ).all())  # fmt: skip
    met = Ticket.first_response_met_at.is_not(None) & Ticket.first_response_breached.is_(False)
    clocks = {
        owner: (met_count or 0, breached or 0)
        for owner, met_count, breached in session.execute(
            select(Ticket.claimed_by, func.sum(case((met, 1), else_=0)),
                   func.sum(case((Ticket.first_response_breached.is_(True), 1), else_=0)))
            .where(Ticket.claimed_by.in_(agents), Ticket.created_at >= since).group_by(Ticket.claimed_by)
        )
    }  # fmt: skip
    assigned = _assigned(session, since)
    return [
        AgentLoad(agent=agent, away=bool(rows[agent].away) if agent in rows else False,
                  away_since=rows[agent].away_since if agent in rows else None,
                  open_tickets=open_counts.get(agent, 0), assigned=assigned.get(agent, 0),
                  first_response_met=clocks.get(agent, (0, 0))[0], first_response_breached=clocks.get(agent, (0, 0))[1])
        for agent in agents
    ]  # fmt: skip
