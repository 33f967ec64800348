"""What Earshot says when an SLA clock nears or passes its deadline: pure functions producing
the texts of warnings, breaches, reminders and escalations, and the key each is recorded under."""

import re
from datetime import datetime

from core.timeutil import format_duration, iso
from store.schema import Ticket
from triage import sla as rules

_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
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


def level_text(ticket: Ticket, clock: str, due: datetime, level: int, levels: int, page: bool, now: datetime) -> str:
    """An escalation level after the breach (level 0 is the breach itself): how late, and who is paged."""
    late = format_duration((now - due).total_seconds())
    paging = " Paging on-call." if page else ""
    return (f"SLA escalation, level {level + 1} of {levels}: {CLOCK_NAMES[clock]} of {ticket.urgency} ticket "
            f"#{ticket.id} is {late} past its deadline {iso(due)} and nobody has acknowledged it.{paging}")  # fmt: skip


def page_summary(ticket: Ticket, clock: str, due: datetime) -> str:
    """What the on-call tool shows: no customer text, only where and how late."""
    return f"Earshot: {ticket.urgency} ticket #{ticket.id} breached {CLOCK_NAMES[clock]} (due {iso(due)})"[:255]


def owner_mentions(ticket: Ticket) -> list[str]:
    """The ticket's owner as Slack markup (`<@U…>`), to lead its SLA warnings and breaches; none when
    nobody owns it or the owner is no Slack user (an API token's name)."""
    owner = ticket.claimed_by
    return [f"<@{owner}>"] if owner and _SLACK_USER.match(owner) else []
