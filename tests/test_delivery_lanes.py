"""Delivery lanes and reminder coalescing, in-process against the stand-in, on SQLite and
PostgreSQL; and the pace of one channel held by two dispatchers at once."""

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.timeutil import utcnow
from store.db import transaction
from store.schema import Mention, SlackMessage, Ticket
from tests.slack_support import jobs, open_ticket, parents, standin, standin_messages  # noqa: F401  (fixtures)
from tickets import lifecycle, outbox
from triage import lanes as rules
from workers import deliver
from workers import sla as sla_jobs

BREACHED = 60


@pytest.fixture
def config_data():
    policy = {"first_response": "1m", "next_response": "1m", "resolution": "1d", "business_hours": False}
    return {
        "slack": {"default_channel": "#support", "escalation_channel": "#support-escalations"},
        "sla": {"remind_every": "1m", "policies": {tier: policy for tier in ("critical", "high", "normal", "low")}},
    }


def _open_late(database_url, app_config, count: int, urgency: str = "high", channel: str = "#support") -> list[int]:
    """Tickets whose customers wrote ten minutes ago: their first response is long overdue."""
    now = utcnow()
    ids = []
    with transaction(database_url) as session:
        for n in range(count):
            mention = Mention(source="x", external_id=f"late-{n}-{time.time_ns()}", author_id=f"u{n}",
                              author_handle=f"@u{n}", text="charged twice", created_at=now - timedelta(minutes=10),
                              processed_at=now, needs_reply=True, urgency=urgency, signals=[])  # fmt: skip
            session.add(mention)
            session.flush()
            ids.append(lifecycle.open_ticket(session, mention, channel, app_config, now).id)
    return ids


def _pending(database_url, channel="#support", **where) -> int:
    with transaction(database_url) as session:
        query = select(func.count()).select_from(SlackMessage).filter_by(channel=channel, sent_at=None, failed_at=None)
        return session.scalar(query.filter_by(**where))


def test_a_new_tickets_parent_goes_before_a_critical_tickets_breach_and_reminders(settings, app_config, jobs,
                                                                                 standin, monkeypatch):  # fmt: skip
    old = open_ticket(settings.database_url, app_config, urgency="critical", channel="#busy")
    deliver.drain(["#busy"])
    with transaction(settings.database_url) as session:
        ticket = session.get(Ticket, old)
        outbox.queue_thread_note(session, ticket, "SLA breached: first response", "breach-1", note="alert")
        outbox.queue_reminder(session, ticket, "SLA reminder #1", "reminder-1", "first_response")
    new = open_ticket(settings.database_url, app_config, urgency="normal", channel="#busy")
    monkeypatch.setattr(deliver, "SEND_INTERVAL_SECONDS", 1.0)
    assert deliver.deliver_channel("#busy") > 0.5  # one sent, the rest paced
    sent = standin_messages(standin, "#busy")[-1]
    assert sent["metadata"] == {"event_type": "earshot_ticket", "event_payload": {"ticket_id": str(new)}}


def test_reminders_coalesce_so_a_breach_storm_keeps_a_bounded_backlog(settings, app_config, jobs, standin):
    tickets = _open_late(settings.database_url, app_config, BREACHED)
    deliver.drain(["#support"], timeout=120)  # their parents are in Slack
    now = utcnow()
    assert sla_jobs.sweep_due(settings.database_url, app_config.sla, now) == BREACHED  # the breaches
    for minute in range(1, 11):  # ten rounds of reminders, nothing delivered meanwhile
        sla_jobs.sweep_due(settings.database_url, app_config.sla, now + timedelta(minutes=minute, seconds=1))
        reminders = _pending(settings.database_url, lane=rules.REMINDER)
        assert reminders <= rules.REMINDER_SUMMARY_AT + 1, f"round {minute}: {reminders} reminders wait"
    assert _pending(settings.database_url) <= BREACHED + rules.REMINDER_SUMMARY_AT + 1  # the breaches, and those
    with transaction(settings.database_url) as session:
        waiting = session.execute(
            select(SlackMessage.ticket_id, func.count()).filter_by(kind="note", lane=rules.REMINDER, sent_at=None)
            .group_by(SlackMessage.ticket_id)).all()  # fmt: skip
        assert all(count == 1 for _, count in waiting), "one outstanding reminder per ticket at most"
        answered = tickets[:10]
        for ticket_id in answered:  # answered before the reminders went out
            lifecycle.mark_responded(session, session.get(Ticket, ticket_id), "U1", utcnow(), app_config)
    deliver.drain(["#support"], timeout=120)
    summaries = [m for m in standin_messages(standin, "#support") if m["text"].startswith("SLA reminder:")]
    assert summaries, "many reminders at once are summed up in one message"
    listed = "\n".join(block["text"]["text"] for m in summaries for block in m["blocks"])
    assert "still waiting past their deadlines" in listed
    assert not any(f"|#{ticket_id}>" in listed for ticket_id in answered), "answered tickets are left out"
    assert any(f"|#{ticket_id}>" in listed for ticket_id in tickets[10:])
    in_threads = [m for m in standin_messages(standin, "#support") if "SLA reminder #" in m["text"]]
    assert len(in_threads) <= rules.REMINDER_SUMMARY_AT * 2


def test_two_dispatchers_keep_one_channels_pace(settings, app_config, jobs, standin, monkeypatch):
    interval = 0.4
    monkeypatch.setattr(deliver, "SEND_INTERVAL_SECONDS", interval)
    monkeypatch.setattr(deliver, "DISPATCH_BUDGET_SECONDS", 15.0)
    ids = [open_ticket(settings.database_url, app_config, channel="#paced") for _ in range(6)]
    errors = []

    def run(job):
        try:
            job()
        except Exception as error:  # surfaced below
            errors.append(error)

    workers = [threading.Thread(target=run, args=(job,)) for job in
               (deliver.dispatch, deliver.dispatch, lambda: deliver.drain(["#paced"], timeout=15))]  # fmt: skip
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert not errors
    posted = parents(standin, "#paced")
    assert sorted(int(m["metadata"]["event_payload"]["ticket_id"]) for m in posted) == ids, "each exactly once"
    times = sorted(m["received_at"] for m in posted)
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert min(gaps) >= interval * 0.95, f"paced at most one per {interval} s across dispatchers: {gaps}"
