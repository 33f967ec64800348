"""SLA jobs: check a ticket when its next alert is due, and sweep for checks that were missed.

Every ticket with a running clock has `next_deadline_at`. A check job is
scheduled at that instant after each clock change (`schedule_checks`), and
the periodic `sweep` picks up whatever a lost Redis or a dead worker missed
with one indexed range query.

Alerts are recorded once per (ticket, clock, kind, deadline, sequence) by an
INSERT .. ON CONFLICT DO NOTHING; only the worker whose insert landed
announces it, so two schedulers or two sweepers never post twice.
"""

import logging
from datetime import datetime

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from core.config import SlaConfig
from core.timeutil import iso, utcnow
from integrations.slack import outbox
from store.db import transaction, upsert_insert
from store.schema import SlaAlert, Ticket, TicketEvent
from triage import sla as rules
from workers import queues
from workers.context import app_context

log = logging.getLogger(__name__)

CHECK_JOB = "workers.sla.check_ticket"
SWEEP_BATCH = 500
_PENDING = "earshot.sla.tickets"
_DUE = "earshot.sla.due"
_CLOCK_NAMES = {"first_response": "first response", "next_response": "next response", "resolution": "resolution"}


def schedule_checks(session: Session, ticket: Ticket) -> None:
    """Enqueue a check at the ticket's next deadline once the caller commits."""
    if ticket.id is None:
        session.flush()
    session.info.setdefault(_PENDING, {})[ticket.id] = ticket


def _snapshot_deadlines(session: Session) -> None:
    # after_commit may not load expired attributes, so read the deadlines now.
    pending = session.info.pop(_PENDING, None)
    if pending:
        session.info[_DUE] = {ticket_id: ticket.next_deadline_at for ticket_id, ticket in pending.items()}


def _enqueue_after_commit(session: Session) -> None:
    due = {ticket_id: deadline for ticket_id, deadline in session.info.pop(_DUE, {}).items() if deadline is not None}
    if due:
        enqueue_checks(due)


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(_DUE, None)


event.listen(Session, "before_commit", _snapshot_deadlines)
event.listen(Session, "after_commit", _enqueue_after_commit)
event.listen(Session, "after_rollback", _forget_after_rollback)


def enqueue_checks(deadlines: dict[int, datetime]) -> None:
    """A check job per ticket at its deadline (at once when it has passed), in one Redis round trip."""
    now = utcnow()
    try:
        with queues.connection().pipeline() as pipeline:
            pipeline.multi()  # RQ's immediate enqueue joins a transaction already begun, else begins one
            for ticket_id, deadline in deadlines.items():
                # One job id per ticket and deadline: rescheduling the same deadline replaces the job.
                job_id = f"sla-check-{ticket_id}-{int(deadline.timestamp())}"
                at = deadline if deadline > now else None
                queues.enqueue(queues.SLA, CHECK_JOB, ticket_id, job_id=job_id, at=at, pipeline=pipeline)
            pipeline.execute()
    except Exception:  # never fail a committed transaction; the sweep repairs
        log.warning("could not schedule the SLA checks", extra={"ticket_ids": list(deadlines)}, exc_info=True)


def _record(session: Session, ticket: Ticket, alert: rules.Alert, now: datetime) -> bool:
    """True when this call recorded the alert, False when someone already had."""
    insert = upsert_insert(session.get_bind().dialect.name)
    statement = (
        insert(SlaAlert)
        .values(
            ticket_id=ticket.id,
            clock=alert.clock,
            kind=alert.kind,
            deadline_at=rules.due_at(ticket, alert.clock),
            sequence=alert.sequence,
            at=now,
        )
        .on_conflict_do_nothing()
        .returning(SlaAlert.id)
    )
    return session.execute(statement).scalar_one_or_none() is not None


def _minutes(seconds: float) -> str:
    minutes = max(0, round(seconds / 60))
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"


def alert_text(ticket: Ticket, alert: rules.Alert, now: datetime) -> str:
    due = rules.due_at(ticket, alert.clock)
    what = _CLOCK_NAMES[alert.clock]
    tier = f"{ticket.urgency} ticket #{ticket.id}"
    if alert.kind == "warning":
        return f"SLA warning: {what} due at {iso(due)}, in {_minutes((due - now).total_seconds())} ({tier})."
    if alert.kind == "breach":
        return f"SLA breached: {what} was due at {iso(due)} ({tier})."
    late = _minutes((now - due).total_seconds())
    return f"SLA reminder #{alert.sequence}: {what} still missing, {late} past its deadline {iso(due)} ({tier})."


def _announce(session: Session, ticket: Ticket, alert: rules.Alert, now: datetime) -> None:
    due = rules.due_at(ticket, alert.clock)
    key = f"sla:{ticket.id}:{alert.clock}:{alert.kind}:{int(due.timestamp())}:{alert.sequence}"
    text = alert_text(ticket, alert, now)
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=now,
            type=f"sla_{alert.kind}",
            actor="earshot",
            data={"clock": alert.clock, "deadline_at": iso(due), "sequence": alert.sequence},
        )
    )
    if alert.kind == "reminder":  # coalesced: one waits per ticket, a summary when many wait in the channel
        outbox.queue_reminder(session, ticket, text, key, alert.clock)
    else:  # warnings and breaches go after new tickets and what people said, before reminders
        outbox.queue_thread_note(session, ticket, text, key, note="alert")
    if alert.kind == "breach":
        outbox.queue_escalation(session, ticket, f"{text} Channel {ticket.channel}, source {ticket.source}.", key)


def _check_locked(session: Session, ticket: Ticket, sla: SlaConfig, now: datetime) -> list[rules.Alert]:
    """Record and announce the locked ticket's alerts due at `now`, then set its next deadline."""
    announced = []
    for alert in rules.due_alerts(ticket, sla, now):
        if alert.kind == "breach":
            setattr(ticket, f"{alert.clock}_breached", True)
        # After an outage a breach and a reminder are due together; the breach says it all.
        just_breached = any(a.clock == alert.clock and a.kind == "breach" for a in announced)
        if alert.kind == "reminder" and just_breached:
            continue
        if _record(session, ticket, alert, now):
            _announce(session, ticket, alert, now)
            announced.append(alert)
    upcoming = rules.next_alert(ticket, sla, now)
    ticket.next_deadline_at = upcoming.at if upcoming else None
    schedule_checks(session, ticket)
    if announced:
        log.info("SLA alerts", extra={"ticket_id": ticket.id, "alerts": [f"{a.clock}:{a.kind}" for a in announced]})
    return announced


def _locked(statement, skip_locked: bool):
    # The ticket rows are locked (PostgreSQL) so that a concurrent clock change
    # cannot be overwritten by a next deadline computed from stale clocks.
    return statement.with_for_update(skip_locked=skip_locked).execution_options(populate_existing=True)


def check(session: Session, ticket_id: int, sla: SlaConfig, now: datetime, skip_locked: bool = False):
    """Record and announce one ticket's due alerts; returns the alerts this call announced."""
    ticket = session.scalars(_locked(select(Ticket).where(Ticket.id == ticket_id), skip_locked)).one_or_none()
    return [] if ticket is None else _check_locked(session, ticket, sla, now)


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
            return sum(len(_check_locked(session, ticket, sla, now)) for ticket in tickets)
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
