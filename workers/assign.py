"""Assignment jobs: hand a route's waiting tickets to its pool once capacity frees up.

The domain records the ASSIGN_FILL effect (a ticket opened on a route with a pool, one resolved or
handed on); workers.after_commit enqueues `fill_routes` for those routes, and the periodic `sweep`
fills every assigning route in case a job was lost. Each route is filled in a transaction of its
own, its cursor row locked first (tickets.assignment), so any number of these jobs may run at once.
"""

import logging

from core.timeutil import utcnow
from store.db import session_for, transaction
from tickets import assignment
from workers import queues
from workers.context import app_context

log = logging.getLogger(__name__)

FILL_JOB = "workers.assign.fill_routes"


def enqueue_fill(routes, redis_url: str | None) -> None:
    """One job for the routes of a commit (their order does not matter: each fills on its own)."""
    queues.enqueue(queues.SLA, FILL_JOB, sorted(routes), url=redis_url)


def fill_routes(routes: list[str]) -> int:
    """RQ job: fill each route; returns how many tickets got an owner."""
    settings, config = app_context()
    given = 0
    for key in sorted(set(routes)):
        with transaction(settings.database_url) as session:
            given += len(assignment.fill(session, key, config, utcnow()))
    if given:
        log.info("tickets assigned", extra={"routes": sorted(set(routes)), "assigned": given})
    return given


def sweep() -> int:
    """Periodic: fill every route that assigns (a fill job lost with Redis, a configuration changed)."""
    settings, config = app_context()
    return assignment.sweep(lambda: session_for(settings.database_url), config, utcnow())
