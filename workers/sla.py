"""SLA jobs: check a ticket when its next alert is due, and sweep for checks that were missed.

Every ticket with a running clock has `next_deadline_at`. A check job is
enqueued at that instant after each commit that changed its clocks (the domain
records the wish, tickets.sla_checks.schedule_checks; workers.after_commit
calls `enqueue_checks`), and the periodic `sweep` picks up whatever a lost Redis
or a dead worker missed with one indexed range query. What a check records and
announces is the domain's (tickets.sla_checks); breaches climb the escalation ladder as the
worker's configuration says (tickets.escalations), paging when the environment configures it.
"""

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.config_sla import SlaConfig
from core.timeutil import utcnow
from store.db import transaction
from store.schema import Ticket
from tickets.sla_checks import check_locked
from workers import queues
from workers.context import app_context, paging_config

log = logging.getLogger(__name__)

CHECK_JOB = "workers.sla.check_ticket"
SWEEP_BATCH = 500


def enqueue_checks(deadlines: dict[int, datetime], redis_url: str | None) -> None:
    """A check job per ticket at its deadline (at once when it has passed), in one Redis round trip."""
    now = utcnow()
    try:
        with queues.connection(redis_url).pipeline() as pipeline:
            pipeline.multi()  # RQ's immediate enqueue joins a transaction already begun, else begins one
            for ticket_id, deadline in deadlines.items():
                # One job id per ticket and deadline: rescheduling the same deadline replaces the job.
                job_id = f"sla-check-{ticket_id}-{int(deadline.timestamp())}"
                at = deadline if deadline > now else None
                queues.enqueue(queues.SLA, CHECK_JOB, ticket_id, job_id=job_id, at=at, url=redis_url,
                               pipeline=pipeline)  # fmt: skip
            pipeline.execute()
    except Exception:  # never fail a committed transaction; the sweep repairs
        log.warning("could not schedule the SLA checks", extra={"ticket_ids": list(deadlines)}, exc_info=True)


def _locked(statement, skip_locked: bool):
    # The ticket rows are locked (PostgreSQL) so that a concurrent clock change
    # cannot be overwritten by a next deadline computed from stale clocks.
    return statement.with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True)


def check(session: Session, ticket_id: int, sla: SlaConfig, now: datetime, skip_locked: bool = False):
    """Record and announce one ticket's due alerts; returns the alerts this call announced."""
    ticket = session.scalars(_locked(select(Ticket).where(Ticket.id == ticket_id), skip_locked)).one_or_none()
    return [] if ticket is None else check_locked(session, ticket, sla, app_context()[1].slack, now,
                                                  paging_config().enabled)  # fmt: skip


def _due(now: datetime, limit: int):
    return select(Ticket).where(Ticket.next_deadline_at <= now).order_by(Ticket.next_deadline_at).limit(limit)


def sweep_due(database_url: str, sla: SlaConfig, now: datetime, limit: int = SWEEP_BATCH) -> int:
    """Check the tickets whose next deadline has passed, soonest first; returns how many alerts were announced.

    One transaction for the batch keeps a sweep cheap; tickets another sweeper
    or check holds are skipped (it is handling them). If the batch fails, each
    ticket is retried in its own transaction so one broken ticket cannot stall
    every later one.
    """
    try:
        with transaction(database_url) as session:
            tickets = session.scalars(_locked(_due(now, limit), skip_locked=True)).all()
            slack, paging = app_context()[1].slack, paging_config().enabled
            return sum(len(check_locked(session, ticket, sla, slack, now, paging)) for ticket in tickets)
    except Exception:
        log.exception("SLA sweep batch failed; checking its tickets one by one")
    with transaction(database_url) as session:
        ticket_ids = session.scalars(_due(now, limit).with_only_columns(Ticket.id)).all()
    announced = 0
    for ticket_id in ticket_ids:
        try:
            with transaction(database_url) as session:
                announced += len(check(session, ticket_id, sla, now, skip_locked=True))
        except Exception:  # one broken ticket must not stop the sweep for every later one
            log.exception("SLA check failed", extra={"ticket_id": ticket_id})
    return announced


def check_ticket(ticket_id: int) -> int:
    """RQ job, scheduled at the ticket's next deadline."""
    settings, config = app_context()
    with transaction(settings.database_url) as session:
        return len(check(session, ticket_id, config.sla, utcnow()))


def sweep() -> int:
    """RQ periodic job: repairs checks lost with Redis or a worker."""
    settings, config = app_context()
    return sweep_due(settings.database_url, config.sla, utcnow())
