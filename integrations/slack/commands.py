"""`/earshot sla | breaches | ticket <id> | help`: short ephemeral answers for managers."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.settings import Settings
from integrations.slack.blocks import escape, link, slack_date, user
from integrations.slack.client import thread_url
from store import reports

WINDOW = timedelta(hours=24)
LATEST_BREACHES = 10
HELP = (
    "*/earshot* commands:\n"
    "• `sla`: open tickets per urgency, breaches and first-response times over 24 h\n"
    "• `breaches`: the latest 10 breaches, with links to their threads\n"
    "• `ticket <id>`: a ticket's state, clocks and latest events"
)
_CLOCKS = (("first_response", "First response"), ("next_response", "Next response"), ("resolution", "Resolution"))


def ephemeral(text: str) -> dict:
    return {"response_type": "ephemeral", "text": text}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes} min"


def sla(session: Session, now: datetime) -> dict:
    counts = reports.open_by_urgency(session)
    breaches = reports.breaches_since(session, now - WINDOW)
    waits = reports.first_response_seconds(session, now - WINDOW)
    lines = [
        "*Open tickets:* " + " · ".join(f"{tier} {count}" for tier, count in counts.items()),
        f"*Breaches, last 24 h:* {len(breaches)}",
        f"*First response, last 24 h:* p50 {_duration(reports.percentile(waits, 0.5))} · "
        f"p90 {_duration(reports.percentile(waits, 0.9))} ({len(waits)} tickets)",
    ]
    return ephemeral("\n".join(lines))


def breaches(session: Session, settings: Settings, now: datetime) -> dict:
    found = reports.breaches_since(session, now - 30 * WINDOW, LATEST_BREACHES)
    if not found:
        return ephemeral("No SLA breaches in the last 30 days.")
    lines = ["*Latest SLA breaches:*"]
    for breach in found:
        thread = None
        if breach.slack_channel_id and breach.slack_ts:
            thread = link(thread_url(settings, breach.slack_channel_id, breach.slack_ts), "thread")
        lines.append(
            f"• #{breach.ticket_id} {escape(breach.urgency)} · {breach.clock.replace('_', ' ')} was due "
            f"{slack_date(breach.deadline_at)} · {escape(breach.channel)}" + (f" · {thread}" if thread else "")
        )
    return ephemeral("\n".join(lines))


def ticket(session: Session, raw_id: str) -> dict:
    if not raw_id.isdigit():
        return ephemeral("Usage: `/earshot ticket <id>`, e.g. `/earshot ticket 12`.")
    found = reports.ticket_with_events(session, int(raw_id))
    if found is None:
        return ephemeral(f"No ticket #{raw_id}.")
    item, events = found
    lines = [
        f"*Ticket #{item.id}* · {escape(item.status)} · {escape(item.urgency)} · {escape(item.source)} · "
        f"{escape(item.channel)}" + (f" · claimed by {user(item.claimed_by)}" if item.claimed_by else ""),
        "Signals: " + (escape(", ".join(map(str, item.signals))) if item.signals else "none"),
    ]
    for clock, name in _CLOCKS:
        due, met = getattr(item, f"{clock}_due_at"), getattr(item, f"{clock}_met_at")
        if due is None:
            continue
        state = f"met {slack_date(met)}" if met else ("*breached*" if getattr(item, f"{clock}_breached") else "pending")
        lines.append(f"{name}: due {slack_date(due)} · {state}")
    lines.extend(f"• {slack_date(event.at)} {escape(event.type)} by {user(event.actor)}" for event in events)
    return ephemeral("\n".join(lines))


def answer(session: Session, settings: Settings, text: str, now: datetime) -> dict:
    words = text.split()
    command = words[0].lower() if words else "help"
    if command == "sla":
        return sla(session, now)
    if command == "breaches":
        return breaches(session, settings, now)
    if command == "ticket":
        return ticket(session, words[1].lstrip("#") if len(words) > 1 else "")
    prefix = "" if command == "help" else f"Unknown command `{escape(command[:40])}`.\n"
    return ephemeral(prefix + HELP)
