"""The daily digest to the managers' channel: yesterday's breaches, first-response times, who waits longest.

A periodic job; it queues one Slack outbox row per UTC day (the dedupe key is
the date), so running it twice in a day posts once.
"""

import logging
from collections import Counter
from datetime import datetime, timedelta

from core.timeutil import compact_duration, utcnow
from store import reports
from store.db import transaction
from tickets import outbox
from workers.context import app_context

log = logging.getLogger(__name__)

DAY = timedelta(hours=24)


def digest_text(now: datetime, breaches: list[reports.Breach], rows: list[reports.Cohort], waiting: list) -> str:
    """The message, from numbers already queried (pure, so it is tested without Slack or a database)."""
    overall = reports.stats(rows)
    clocks = Counter(breach.clock.replace("_", " ") for breach in breaches)
    lines = [f"*Earshot daily digest* · {now:%Y-%m-%d %H:%M} UTC, last 24 h", ""]
    detail = f" ({', '.join(f'{clock} {n}' for clock, n in sorted(clocks.items()))})" if breaches else ""
    lines.append(f"*SLA breaches:* {len(breaches)}{detail}")
    lines.append(
        f"*First response:* p50 {compact_duration(overall['first_response_p50_seconds'])} · "
        f"p90 {compact_duration(overall['first_response_p90_seconds'])} · "
        f"{overall['responded']} answered of {overall['count']} new tickets"
    )
    for tier, numbers in reports.summarize(rows, "urgency").items():
        if numbers["count"]:
            lines.append(
                f"    {tier}: p50 {compact_duration(numbers['first_response_p50_seconds'])} · "
                f"p90 {compact_duration(numbers['first_response_p90_seconds'])} · {numbers['breaches']} breached"
            )
    lines.append("")
    if not waiting:
        lines.append("*Nobody is waiting for an answer.*")
    else:
        lines.append("*Waiting longest:*")
        for ticket in waiting:
            since = ticket.created_at if ticket.first_response_met_at is None else ticket.next_response_started_at
            who = ticket.author_handle or ticket.author_id
            lines.append(
                f"• #{ticket.id} {ticket.urgency} · {ticket.source} · {who} · waiting "
                f"{compact_duration((now - since).total_seconds())} · {ticket.channel}"
            )
    return "\n".join(lines)


def send_digest() -> bool:
    """The job: queue today's digest; False when no managers' channel is configured or `digest.enabled`
    is false."""
    settings, config = app_context()
    channel = config.slack.managers_channel
    if not channel:
        log.info("no slack.managers_channel configured; digest skipped")
        return False
    if not config.digest.enabled:
        log.info("digest.enabled is false; digest skipped")
        return False
    now = utcnow()
    with transaction(settings.database_url) as session:
        text = digest_text(
            now,
            reports.breaches_since(session, now - DAY),
            reports.cohort(session, now - DAY),
            reports.oldest_unanswered(session, config.digest.longest_waiting),
        )
        outbox.queue_channel_message(session, channel, text, f"digest:{now:%Y-%m-%d}")
    return True

