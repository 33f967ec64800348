"""What Earshot says when an SLA clock nears or passes its deadline: pure functions producing
the texts of warnings, breaches, reminders and escalations, and the key each is recorded under."""

from datetime import datetime

from core.timeutil import format_duration, iso
from store.schema import Ticket
from triage import sla as rules

CLOCK_NAMES = {"first_response": "first response", "next_response": "next response", "resolution": "resolution"}


def alert_key(ticket: Ticket, alert: rules.Alert) -> str:
    """One key per (ticket, clock, kind, deadline, sequence): an alert is announced once."""
    due = rules.due_at(ticket, alert.clock)
    return f"sla:{ticket.id}:{alert.clock}:{alert.kind}:{int(due.timestamp())}:{alert.sequence}"


def alert_text(ticket: Ticket, alert: rules.Alert, now: datetime) -> str:
    due = rules.due_at(ticket, alert.clock)
    what = CLOCK_NAMES[alert.clock]
    tier = f"{ticket.urgency} ticket #{ticket.id}"
    if alert.kind == "warning":
        return f"SLA warning: {what} due at {iso(due)}, in {format_duration((due - now).total_seconds())} ({tier})."
    if alert.kind == "breach":
        return f"SLA breached: {what} was due at {iso(due)} ({tier})."
    late = format_duration((now - due).total_seconds())
    return f"SLA reminder #{alert.sequence}: {what} still missing, {late} past its deadline {iso(due)} ({tier})."


def escalation_text(ticket: Ticket, alert_text_: str) -> str:
    """The breach as the escalation channel reads it: where the ticket is, and where it came from."""
    return f"{alert_text_} Channel {ticket.channel}, source {ticket.source}."
