"""Who owns a ticket: a route's `assign:` pool (core.config_ownership) gives each new ticket an owner
(`claimed_by`), chosen by triage.assignment; tickets nobody has room for wait, and `fill` hands them
out oldest first as capacity frees up (a ticket resolved or handed on, an agent back, the sweep).

A route is known by its key, `<index>:<channel>` (`route_key`), stored on its tickets (`Ticket.route`).

Locking: a route's cursor row (AssignmentCursor) is its lock. Whoever assigns from the pool takes it
first (SELECT … FOR UPDATE on PostgreSQL; on SQLite BEGIN IMMEDIATE already serialises writers,
store.db), then counts, chooses and updates under it, so two model workers never assign one ticket
twice nor put an agent over `max_open`. To stay free of deadlocks, a transaction that takes cursors
takes them before any other lock, in key order: `fill` runs in a transaction of its own (the changes
that free capacity only record the FILL effect, and a job fills once they commit: workers.assign),
and `set_away` locks every cursor it needs up front. Those who hold ticket rows (a click, a batch,
a delivery) never wait for a cursor. Nothing here commits.
"""

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.config import AppConfig
from core.config_ownership import Assignment
from core.config_sections import Route
from store.db import upsert_insert
from store.schema import Agent, AssignmentCursor, AuditEvent, Ticket
from tickets import lifecycle
from triage import assignment as rules

FILL = lifecycle.ASSIGN_FILL  # the after-commit effect: this route has capacity or tickets to hand out
UNBOUNDED_FILL = 500  # tickets one fill hands out at most when the pool has no cap (the next fill goes on)


def route_key(index: int, route: Route) -> str:
    return f"{index}:{route.channel}"[:128]


def pools(config: AppConfig) -> dict[str, Assignment]:
    """Every route that assigns, by key."""
    return {route_key(i, route): route.assign for i, route in enumerate(config.routes) if route.assign is not None}


def agents_of(config: AppConfig) -> list[str]:
    """Every agent of every pool, in the order the configuration names them."""
    return list(dict.fromkeys(agent for assign in pools(config).values() for agent in assign.pool))


def _lock(session: Session, key: str, at: datetime) -> AssignmentCursor:
    """The route's cursor row, created if new, locked until the caller commits."""
    insert = upsert_insert(session.get_bind().dialect.name)
    session.execute(insert(AssignmentCursor).values(route=key, last_agent=None, updated_at=at).on_conflict_do_nothing())
    found = select(AssignmentCursor).where(AssignmentCursor.route == key).with_for_update()
    return session.scalars(found.execution_options(populate_existing=True)).one()


def open_counts(session: Session, agents: Iterable[str]) -> dict[str, int]:
    """Open tickets (not resolved, not closed as no complaint) each agent owns."""
    rows = session.execute(
        select(Ticket.claimed_by, func.count(Ticket.id))
        .where(Ticket.claimed_by.in_(list(agents)), Ticket.status.in_(lifecycle.OPEN_STATUSES))
        .group_by(Ticket.claimed_by)
    )
    return {agent: count for agent, count in rows}


def away_agents(session: Session, agents: Iterable[str]) -> set[str]:
    return set(session.scalars(select(Agent.user_id).where(Agent.user_id.in_(list(agents)), Agent.away.is_(True))))


def _waiting(session: Session, key: str, limit: int) -> list[Ticket]:
    """The route's open tickets without an owner, oldest first, locked."""
    statement = (
        select(Ticket)
        .where(Ticket.route == key, Ticket.claimed_by.is_(None), Ticket.status.in_(lifecycle.OPEN_STATUSES))
        .order_by(Ticket.created_at, Ticket.id)
        .limit(limit)
        .with_for_update()
    )
    return list(session.scalars(statement.execution_options(populate_existing=True)))


def _room(assign: Assignment, counts: dict[str, int], away: set[str]) -> int:
    if assign.max_open is None:
        return UNBOUNDED_FILL
    return sum(max(assign.max_open - counts.get(agent, 0), 0) for agent in assign.pool if agent not in away)


def _touch_agents(session: Session, agents: set[str], at: datetime) -> None:
    insert = upsert_insert(session.get_bind().dialect.name)
    for agent in sorted(agents):
        statement = insert(Agent).values(user_id=agent, away=False, last_assigned_at=at, updated_at=at)
        session.execute(statement.on_conflict_do_update(index_elements=["user_id"], set_={"last_assigned_at": at}))


def fill(session: Session, key: str, config: AppConfig, at: datetime) -> list[tuple[Ticket, str]]:
    """Give the route's waiting tickets owners, oldest first, as far as its pool has room; returns
    (ticket, agent) for each. Call it at the start of a transaction (see the module's docstring)."""
    assign = pools(config).get(key)
    if assign is None:
        return []  # the route no longer assigns (the configuration changed): its tickets wait for a claim
    cursor = _lock(session, key, at)
    counts, away = open_counts(session, assign.pool), away_agents(session, assign.pool)
    room = _room(assign, counts, away)
    if room == 0:
        return []
    given, last = rules.plan(_waiting(session, key, room), assign, counts, away, cursor.last_agent)
    for ticket, agent in given:
        ticket.claimed_by, ticket.assigned_at = agent, at
        lifecycle.record_event(session, ticket, "assigned", "earshot", at, agent=agent)
        lifecycle.changed(session, ticket)
    if given:
        cursor.last_agent, cursor.updated_at = last, at
        _touch_agents(session, {agent for _, agent in given}, at)
    if len(given) == UNBOUNDED_FILL:  # more may wait: the next fill goes on after this one commits
        lifecycle.capacity_freed(session, key)
    return given


def reassign(session: Session, ticket: Ticket, agent: str, actor: str, at: datetime) -> None:
    """Someone hands the (locked) ticket to `agent` (Slack's user picker): a person's choice, so
    neither the pool nor the cap limits it. The previous owner's room goes to their pool's waiting
    tickets once this commits."""
    previous = ticket.claimed_by
    if ticket.status == "resolved" or previous == agent:
        return
    ticket.claimed_by, ticket.assigned_at = agent, at
    lifecycle.record_event(session, ticket, "reassigned", actor, at, agent=agent, previous=previous)
    lifecycle.changed(session, ticket)
    if previous is not None and ticket.route:
        lifecycle.capacity_freed(session, ticket.route)


def _agent(session: Session, user: str, at: datetime) -> Agent:
    insert = upsert_insert(session.get_bind().dialect.name)
    session.execute(insert(Agent).values(user_id=user, away=False, updated_at=at).on_conflict_do_nothing())
    found = select(Agent).where(Agent.user_id == user).with_for_update().execution_options(populate_existing=True)
    return session.scalars(found).one()


def _return_waiting(session: Session, user: str, keys: list[str], at: datetime) -> list[Ticket]:
    """The agent's tickets nobody has answered yet, from pools, back to their pools (unassigned)."""
    statement = (
        select(Ticket)
        .where(Ticket.claimed_by == user, Ticket.route.in_(keys), Ticket.status.in_(("open", "claimed")),
               Ticket.first_response_met_at.is_(None))
        .order_by(Ticket.created_at, Ticket.id)
        .with_for_update()
    )  # fmt: skip
    returned = list(session.scalars(statement.execution_options(populate_existing=True)))
    for ticket in returned:
        ticket.claimed_by, ticket.assigned_at, ticket.status = None, None, "open"
        lifecycle.record_event(session, ticket, "unassigned", user, at, previous=user, reason="away")
        lifecycle.changed(session, ticket)
    return returned


def set_away(session: Session, user: str, away: bool, config: AppConfig, at: datetime) -> list[Ticket]:
    """`/earshot away` (True) or `back` (False) for `user`. Away: out of every pool, and their waiting
    tickets (open, not yet answered) go back to their pools; back: in again. Then the pools fill.
    Call it at the start of a transaction. Returns the tickets that went back."""
    every = pools(config)
    # Away may hand tickets back to any pool; back only gives room to the user's own.
    keys = sorted(every) if away else sorted(key for key, assign in every.items() if user in assign.pool)
    for key in keys:  # all cursors first, in key order: see the module's docstring
        _lock(session, key, at)
    row = _agent(session, user, at)
    changed_state = row.away != away
    if changed_state:
        row.away, row.away_since = away, at if away else None
    row.updated_at = at
    returned = _return_waiting(session, user, keys, at) if away else []
    if changed_state:
        session.add(AuditEvent(at=at, actor=user, action="agent_away" if away else "agent_back",
                               detail={"returned": len(returned)}))  # fmt: skip
    for key in keys:
        fill(session, key, config, at)
    return returned


def sweep(session_factory, config: AppConfig, at: datetime) -> int:
    """Fill every assigning route, each in a transaction of its own (`session_factory()` makes a
    session); returns how many tickets got an owner. The periodic repair for a fill that was missed."""
    given = 0
    for key in sorted(pools(config)):
        with session_factory() as session:
            given += len(fill(session, key, config, at))
            session.commit()
    return given
