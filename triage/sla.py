"""The SLA clock rules, as functions over a ticket's clock fields.

Three clocks per ticket: first response (from the customer's first post to the
brand's first public reply), next response (from the oldest unanswered
follow-up after a reply to the next reply) and resolution. Each deadline is
counted in business time when the tier's policy says so and the config has
business hours, else 24/7.

Pauses (waiting on the customer) and the time a ticket spent resolved before
it reopened are not charged: their business time is kept in
`paused_seconds`, which pushes the first-response and resolution deadlines
(both counted from `created_at`); a running next-response clock is pushed by
moving its effective start.

These functions only change the ticket in memory: no database, no clock
(every instant is passed in). `next_deadline_at` is the time of the soonest
alert not yet known to be handled, which the workers' sweep looks up.
"""

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from core.config_sla import SlaConfig, SlaPolicy
from triage.business_time import ALWAYS, Calendar
from triage.sla_rules import policy_named

CLOCKS = ("first_response", "next_response", "resolution")
# Reminders nag until someone answers; resolution has no answer to wait for.
REMINDED = ("first_response", "next_response")
_EARLIEST = datetime.min.replace(tzinfo=UTC)


class Alert(NamedTuple):
    at: datetime
    clock: str
    kind: str  # "warning", "breach" or "reminder"
    sequence: int  # 0 for warnings and breaches, n for the n-th reminder


def policy(ticket, sla: SlaConfig) -> SlaPolicy:
    """The targets of the ticket's SLA policy (chosen at open, triage.sla_rules) at its current urgency."""
    return policy_named(sla, getattr(ticket, "sla_policy", None), ticket.urgency)


def calendar(ticket, sla: SlaConfig) -> Calendar:
    if not policy(ticket, sla).business_hours:
        return ALWAYS
    return Calendar(zone=sla.zone, hours=sla.business_hours, holidays=sla.holidays)


def due_at(ticket, clock: str) -> datetime | None:
    return getattr(ticket, f"{clock}_due_at")


def _met_at(ticket, clock: str) -> datetime | None:
    return getattr(ticket, f"{clock}_met_at")


def _paused(ticket) -> timedelta:
    return timedelta(seconds=ticket.paused_seconds or 0.0)


def _origin(ticket, clock: str) -> tuple[datetime | None, timedelta]:
    """Where a clock starts, and the business time it has been stopped since."""
    if clock == "next_response":
        return ticket.next_response_started_at, timedelta(0)
    return ticket.created_at, _paused(ticket)


def awaiting_reply(ticket) -> bool:
    """The customer is owed a public reply: the first one, or one to a follow-up."""
    follow_up_unanswered = ticket.next_response_started_at is not None and ticket.next_response_met_at is None
    return ticket.first_response_met_at is None or follow_up_unanswered


def running(ticket, clock: str) -> bool:
    if ticket.paused_at is not None or ticket.resolution_met_at is not None:
        return False
    return due_at(ticket, clock) is not None and _met_at(ticket, clock) is None


def _recompute(ticket, sla: SlaConfig) -> None:
    """Every unmet deadline from its clock's start, with the ticket's current policy."""
    rules, days = policy(ticket, sla), calendar(ticket, sla)
    for clock in CLOCKS:
        start, stopped = _origin(ticket, clock)
        if start is not None and _met_at(ticket, clock) is None:
            setattr(ticket, f"{clock}_due_at", days.add(start, stopped + getattr(rules, clock)))


def _clock_alerts(ticket, clock: str, sla: SlaConfig, days: Calendar, now: datetime):
    """(the clock's latest alert at or before `now` or None, its next alert after `now` or None)."""
    due = due_at(ticket, clock)
    start, stopped = _origin(ticket, clock)
    warning = Alert(days.add(start, stopped + getattr(policy(ticket, sla), clock) * sla.warn_at), clock, "warning", 0)
    breach = Alert(due, clock, "breach", 0)
    if now < warning.at:
        return None, warning
    if now < due:
        return warning, breach
    if clock not in REMINDED:
        return breach, None
    sent = days.elapsed(due, now) // sla.remind_every
    upcoming = Alert(days.add(due, sla.remind_every * (sent + 1)), clock, "reminder", sent + 1)
    return (Alert(days.add(due, sla.remind_every * sent), clock, "reminder", sent) if sent else breach), upcoming


def _alerts(ticket, sla: SlaConfig, now: datetime):
    days = calendar(ticket, sla)
    return [_clock_alerts(ticket, clock, sla, days, now) for clock in CLOCKS if running(ticket, clock)]


def due_alerts(ticket, sla: SlaConfig, now: datetime) -> list[Alert]:
    """The alerts whose time has come: per running clock, its latest (a passed warning is superseded by the breach).

    A clock past its deadline yields its breach and, once reminders are due,
    also the latest reminder; recording is idempotent, so the caller can send
    whichever of them was not recorded yet.
    """
    found = []
    for current, _ in _alerts(ticket, sla, now):
        if current is not None and current.kind == "reminder":
            found.append(Alert(due_at(ticket, current.clock), current.clock, "breach", 0))
        if current is not None:
            found.append(current)
    return sorted(found)


def next_alert(ticket, sla: SlaConfig, now: datetime) -> Alert | None:
    """The soonest alert strictly after `now` (warning, breach, or reminder), or None when no clock runs."""
    upcoming = [after for _, after in _alerts(ticket, sla, now) if after is not None]
    return min(upcoming, default=None)


def _refresh(ticket, sla: SlaConfig, at: datetime | None) -> None:
    """After a clock change: the soonest alert that may still be unsent.

    An alert already due at `at` may or may not have been sent, so it is kept:
    checking it again costs one idempotent insert, missing it costs a breach.
    """
    times = [alert.at for pair in _alerts(ticket, sla, at or _EARLIEST) for alert in pair if alert is not None]
    ticket.next_deadline_at = min(times, default=None)


def start(ticket, sla: SlaConfig) -> None:
    """A new ticket: its clocks run from when the customer posted."""
    _recompute(ticket, sla)
    _refresh(ticket, sla, ticket.created_at)


def _reopen(ticket, at: datetime, sla: SlaConfig) -> None:
    """Continue the clocks without charging the time the ticket was closed (or paused before that)."""
    stopped_since = min(filter(None, (ticket.paused_at, ticket.resolution_met_at)))
    ticket.paused_seconds = (_paused(ticket) + calendar(ticket, sla).elapsed(stopped_since, at)).total_seconds()
    ticket.paused_at = None
    ticket.resolution_met_at = None
    ticket.status = "open"


def customer_wrote(ticket, at: datetime, sla: SlaConfig) -> None:
    """A follow-up from the customer: reopens, resumes, or starts the next-response clock."""
    if ticket.resolution_met_at is not None:
        _reopen(ticket, at, sla)
    elif ticket.paused_at is not None:
        resumed(ticket, at, sla)
    if not awaiting_reply(ticket):
        ticket.next_response_started_at = at
        ticket.next_response_met_at = None
    _recompute(ticket, sla)
    _refresh(ticket, sla, at)


def brand_replied(ticket, at: datetime, sla: SlaConfig) -> None:
    """A public reply meets the first response, else the running next response; a late one is a breach."""
    for clock in ("first_response", "next_response"):
        if due_at(ticket, clock) is not None and _met_at(ticket, clock) is None:
            setattr(ticket, f"{clock}_met_at", at)
            if at > due_at(ticket, clock):
                setattr(ticket, f"{clock}_breached", True)
            break
    _refresh(ticket, sla, at)


def urgency_changed(ticket, sla: SlaConfig) -> None:
    _recompute(ticket, sla)
    _refresh(ticket, sla, None)


def resolved(ticket, at: datetime) -> None:
    ticket.resolution_met_at = at
    if ticket.resolution_due_at is not None and at > ticket.resolution_due_at:
        ticket.resolution_breached = True
    ticket.next_deadline_at = None


def paused(ticket, at: datetime) -> None:
    """Waiting on the customer: no clock runs until resumed (or the customer writes)."""
    if ticket.paused_at is None and ticket.resolution_met_at is None:
        ticket.paused_at = at
        ticket.next_deadline_at = None


def resumed(ticket, at: datetime, sla: SlaConfig) -> None:
    if ticket.paused_at is None:
        return
    days = calendar(ticket, sla)
    stopped = days.elapsed(ticket.paused_at, at)
    ticket.paused_seconds = (_paused(ticket) + stopped).total_seconds()
    if ticket.next_response_started_at is not None and ticket.next_response_met_at is None:
        ticket.next_response_started_at = days.add(ticket.next_response_started_at, stopped)
    ticket.paused_at = None
    _recompute(ticket, sla)
    _refresh(ticket, sla, at)
