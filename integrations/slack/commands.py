"""`/earshot sla | breaches | ticket <id> | wait <id> | incident <id> | resolve-incident <id> <answer> |
link a b | forget a | away | back | help`: short ephemeral answers for managers, and the ticket,
incident, author and availability commands for agents."""

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.settings import Settings
from core.timeutil import format_duration
from integrations.slack.blocks import escape, link, slack_date, user
from integrations.slack.client import thread_url
from store import reports, responses
from store.schema import Incident, Ticket
from tickets import assignment, authors, erasure, incidents, replies

WINDOW = timedelta(hours=24)
LATEST_BREACHES = 10
HELP = (
    "*/earshot* commands:\n"
    "• `sla`: open tickets per urgency, breaches and first-response times over 24 h\n"
    "• `breaches`: the latest 10 breaches, with links to their threads\n"
    "• `ticket <id>`: a ticket's state, clocks and latest events\n"
    "• `wait <id>`: the ticket waits on the customer: its clocks pause until they write again\n"
    "• `incident <id>`: an incident's size, sources and state\n"
    "• `resolve-incident <id> <answer>`: answer every ticket of an incident in public, and resolve them\n"
    "• `link <source>:<author id> <source>:<author id>`: two handles of one customer (e.g. `x:u42 facebook:9001`)\n"
    "• `forget <source>:<author id>`: erase a customer's personal data (and their linked handles') on request\n"
    "• `away` / `back`: out of / into the assignment pools; away hands your unanswered tickets back"
)
_CLOCKS = (("first_response", "First response"), ("next_response", "Next response"), ("resolution", "Resolution"))


def ephemeral(text: str) -> dict:
    return {"response_type": "ephemeral", "text": text}


def sla(session: Session, now: datetime) -> dict:
    counts = reports.open_by_urgency(session)
    breaches = reports.breaches_since(session, now - WINDOW)
    waits = reports.first_response_seconds(session, now - WINDOW)
    lines = [
        "*Open tickets:* " + " · ".join(f"{tier} {count}" for tier, count in counts.items()),
        f"*Breaches, last 24 h:* {len(breaches)}",
        f"*First response, last 24 h:* p50 {format_duration(reports.percentile(waits, 0.5))} · "
        f"p90 {format_duration(reports.percentile(waits, 0.9))} ({len(waits)} tickets)",
        "*First responses, last 24 h:* {verified} verified (sent through Earshot or seen on the platform) · "
        "{marked} marked Responded".format(**responses.first_responses(session, answered_since=now - WINDOW)),
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
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:  # "²" is a digit; ids fit in 64 bits
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


def wait(session: Session, raw_id: str, actor: str | None, config, now: datetime) -> dict:
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        return ephemeral("Usage: `/earshot wait <ticket id>`, e.g. `/earshot wait 12`.")
    found = session.get(Ticket, int(raw_id), with_for_update=True)  # as a button's click locks it
    if found is None:
        return ephemeral(f"No ticket #{raw_id}.")
    if found.status == "resolved":
        return ephemeral(f"Ticket #{found.id} is resolved.")
    if found.paused_at is not None:
        return ephemeral(f"Ticket #{found.id} is already waiting on the customer.")
    try:
        replies.wait_for_customer(session, found, actor or "slack", now, config.sla)
    except replies.ReplyRefused as refused:
        return ephemeral(f"Ticket #{found.id} cannot wait: {escape(str(refused))}.")
    return ephemeral(f"Ticket #{found.id} is waiting on the customer: its clocks are paused until they write again.")


def _incident(session: Session, raw_id: str, usage: str) -> Incident | dict:
    if not (raw_id.isascii() and raw_id.isdigit()) or len(raw_id) > 18:
        return ephemeral(f"Usage: `{usage}`.")
    return session.get(Incident, int(raw_id)) or ephemeral(f"No incident #{raw_id}.")


def incident(session: Session, raw_id: str) -> dict:
    found = _incident(session, raw_id, "/earshot incident <id>")
    if isinstance(found, dict):
        return found
    state = f"resolved by {user(found.resolved_by)}" if found.status == "resolved" else "open"
    return ephemeral(
        f"*Incident #{found.id}* · {escape(found.kind)} · {escape(found.brand or 'no brand')} · {state}\n"
        f"{found.mention_count} complaints from {found.author_count} customers on "
        f"{escape(', '.join(found.sources or []))} · first seen {slack_date(found.first_seen_at)} · "
        f"last {slack_date(found.last_seen_at)}"
    )


def resolve_incident(session: Session, text: str, actor: str | None, config, now: datetime) -> dict:
    usage = "/earshot resolve-incident <id> <answer sent to every customer>"
    parts = text.split(None, 2)
    if len(parts) < 3 or not parts[2].strip():
        return ephemeral(f"Usage: `{usage}`.")
    found = _incident(session, parts[1].lstrip("#"), usage)
    if isinstance(found, dict):
        return found
    if found.status == "resolved":
        return ephemeral(f"Incident #{found.id} is already resolved.")
    answered = incidents.resolve(session, found, parts[2].strip(), actor or "slack", now, config)
    return ephemeral(f"Incident #{found.id} resolved; the answer was recorded on {answered} ticket(s).")


def link_authors(session: Session, words: list[str], actor: str | None) -> dict:
    handles = [authors.parse_handle(word) for word in words[1:3]]
    if len(words) != 3 or None in handles:
        return ephemeral("Usage: `/earshot link <source>:<author id> <source>:<author id>`, "
                         "e.g. `x:u42 facebook:9001`.")
    a, b = handles
    if not authors.link(session, a, b, actor):
        return ephemeral(f"{escape(':'.join(a))} and {escape(':'.join(b))} are already one customer.")
    return ephemeral(f"Linked {escape(':'.join(a))} and {escape(':'.join(b))}: one customer from now on.")


def forget(session: Session, words: list[str], actor: str | None, now: datetime) -> dict:
    handle = authors.parse_handle(words[1]) if len(words) == 2 else None
    if handle is None:
        return ephemeral("Usage: `/earshot forget <source>:<author id>`, e.g. `/earshot forget x:u42`.")
    erased = erasure.erase_customer(session, handle, actor or "slack", now)
    # The handle typed is not echoed back: the answer itself would be one more copy of it.
    return ephemeral(f"Erased on request: {erased.mentions} mention(s) on {erased.tickets} ticket(s). "
                     "Their tickets and figures stay.")  # fmt: skip


def availability(session: Session, actor: str | None, away: bool, config, now: datetime) -> dict:
    """`/earshot away` or `back` for the user who typed it."""
    if actor is None:
        return ephemeral("Only a Slack user can be away or back.")
    returned = assignment.set_away(session, actor, away, config, now)
    if not away:
        return ephemeral("Welcome back: new tickets from your pools come to you again.")
    handed = f" {len(returned)} unanswered ticket(s) went back to the pool." if returned else ""
    return ephemeral(f"You are away: no new tickets come to you until `/earshot back`.{handed}")


def answer(session: Session, settings: Settings, text: str, now: datetime, actor: str | None = None,
           config=None) -> dict:  # fmt: skip
    words = text.split()
    command = words[0].lower() if words else "help"
    if command == "sla":
        return sla(session, now)
    if command == "breaches":
        return breaches(session, settings, now)
    if command == "ticket":
        return ticket(session, words[1].lstrip("#") if len(words) > 1 else "")
    if command == "wait":
        return wait(session, words[1].lstrip("#") if len(words) > 1 else "", actor, config, now)
    if command == "incident":
        return incident(session, words[1].lstrip("#") if len(words) > 1 else "")
    if command == "resolve-incident":
        return resolve_incident(session, text, actor, config, now)
    if command == "link":
        return link_authors(session, words, actor)
    if command == "forget":
        return forget(session, words, actor, now)
    if command in ("away", "back"):
        return availability(session, actor, command == "away", config, now)
    prefix = "" if command == "help" else f"Unknown command `{escape(command[:40])}`.\n"
    return ephemeral(prefix + HELP)
