"""Who owns a new ticket: the pure choice of an agent from a route's pool (core.config_ownership
`Assignment`). No database and no clock: the caller passes the agents' open-ticket counts, who is
away and the round-robin cursor (the agent assigned last from this pool), under the lock it holds.

- `round_robin`: the first agent after the cursor, in pool order and wrapping around, who is not
  away and is under the cap. An unknown or absent cursor starts at the head of the pool.
- `least_loaded`: among agents who are not away and under the cap, the one with the fewest open
  tickets; a tie goes to the first of them in round-robin order after the cursor, so equally loaded
  agents take turns (the least recently assigned first) rather than the head of the pool winning.

Both answer None when every agent is away or at the cap: the ticket waits, and `plan` hands the
waiting tickets out oldest first as capacity frees up.
"""

from collections.abc import Iterable, Mapping

from core.config_ownership import Assignment


def rotation(pool: tuple[str, ...] | list[str], last_assigned: str | None) -> list[str]:
    """The pool in round-robin order: the agents after the cursor first, the cursor last."""
    agents = list(pool)
    if last_assigned not in agents:
        return agents
    start = agents.index(last_assigned) + 1
    return agents[start:] + agents[:start]


def can_take(agent: str, open_counts: Mapping[str, int], away: Iterable[str], max_open: int | None) -> bool:
    return agent not in away and (max_open is None or open_counts.get(agent, 0) < max_open)


def choose(pool, mode: str, open_counts: Mapping[str, int], away: Iterable[str] = frozenset(),
           last_assigned: str | None = None, max_open: int | None = None) -> str | None:  # fmt: skip
    """The agent the next ticket goes to, or None when nobody can take it now."""
    away = frozenset(away)
    candidates = [agent for agent in rotation(pool, last_assigned) if can_take(agent, open_counts, away, max_open)]
    if not candidates:
        return None
    if mode == "round_robin":
        return candidates[0]
    if mode == "least_loaded":
        return min(candidates, key=lambda agent: open_counts.get(agent, 0))  # min keeps the first of a tie
    raise ValueError(f"unknown assignment mode {mode!r}")


def choose_for(assign: Assignment, open_counts: Mapping[str, int], away: Iterable[str] = frozenset(),
               last_assigned: str | None = None) -> str | None:  # fmt: skip
    """`choose` with a route's `assign:` settings."""
    return choose(assign.pool, assign.mode, open_counts, away, last_assigned, assign.max_open)


def plan(waiting: Iterable, assign: Assignment, open_counts: Mapping[str, int], away: Iterable[str] = frozenset(),
         last_assigned: str | None = None) -> tuple[list[tuple[object, str]], str | None]:  # fmt: skip
    """Owners for `waiting` tickets (oldest first), as far as capacity goes: ([(ticket, agent)], the
    new cursor). Stops at the first ticket nobody can take, so no younger ticket jumps the queue."""
    counts, away, given = dict(open_counts), frozenset(away), []
    for ticket in waiting:
        agent = choose_for(assign, counts, away, last_assigned)
        if agent is None:
            break
        given.append((ticket, agent))
        counts[agent] = counts.get(agent, 0) + 1
        last_assigned = agent
    return given, last_assigned
