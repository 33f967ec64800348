"""A ticket's SLA checks: one is wanted at its next deadline after every clock change
(`schedule_checks`, an after-commit effect), and a check records and announces the alerts
due (`check_locked`).

Alerts are recorded once per (ticket, clock, kind, deadline, sequence) by an
INSERT .. ON CONFLICT DO NOTHING; only the caller whose insert landed
announces it, so two schedulers or two sweepers never post twice; escalation levels likewise
(tickets.escalations). Nothing here
commits, and nothing enqueues: the entry point's after-commit handler turns the
SLA_CHECK effects into jobs (workers.after_commit).
"""

import logging
from datetime import datetime

from sqlalchemy.orm import Session

from core.config_sections import SlackConfig
from core.config_sla import SlaConfig
from core.timeutil import iso
from store import effects
from store.db import upsert_insert
from store.schema import SlaAlert, Ticket, TicketEvent
from tickets import alerts, escalations, outbox
from triage import sla as rules

log = logging.getLogger(__name__)

SLA_CHECK = "sla_check"  # the after-commit effect: ticket id -> its next deadline (None: nothing to check)


def schedule_checks(session: Session, ticket: Ticket) -> None:
    """Have the ticket checked at its next deadline once the caller commits."""
    if ticket.id is None:
        session.flush()
    escalations.after_change(session, ticket)  # a met clock resolves its page; a pending level is a deadline
    # Read just before the commit: the deadline as the transaction leaves it.
    effects.record(session, SLA_CHECK, ticket.id, lambda: ticket.next_deadline_at)


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


def _announce(session: Session, ticket: Ticket, alert: rules.Alert, now: datetime) -> None:
    due = rules.due_at(ticket, alert.clock)
    key = alerts.alert_key(ticket, alert)
    text = alerts.alert_text(ticket, alert, now)
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
        outbox.queue_thread_note(session, ticket, text, key, note="alert", mentions=alerts.owner_mentions(ticket))
    # A breach's message in the escalation channel is the ladder's level 0 (tickets.escalations.climb).


def check_locked(session: Session, ticket: Ticket, sla: SlaConfig, slack: SlackConfig,
                 now: datetime, paging: bool = False) -> list[rules.Alert]:  # fmt: skip
    """Record and announce the (locked) ticket's alerts due at `now`, fire the escalation levels due
    (`sla.escalation`, tickets.escalations; `paging`: a level may page), then set its next deadline
    and schedule its next check; returns the alerts this call announced."""
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
    levels = escalations.climb(session, ticket, sla, slack, now, paging)
    upcoming = rules.next_alert(ticket, sla, now)
    ticket.next_deadline_at = upcoming.at if upcoming else None
    schedule_checks(session, ticket)
    if announced or levels:
        log.info("SLA alerts", extra={"ticket_id": ticket.id, "alerts": [f"{a.clock}:{a.kind}" for a in announced],
                                      "levels": [f"{clock}:{level}" for clock, level in levels]})  # fmt: skip
    return announced
