"""A breach storm with real workers: 60 tickets in Slack and breached, a reminder per ticket
every 3 s, and new complaints arriving meanwhile in the same channel. Real io and SLA worker
processes, Redis, the Slack stand-in at Slack's pace (one message a second per channel), on
SQLite and PostgreSQL. New tickets reach Slack within seconds; the backlog does not grow."""

import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from core.timeutil import utcnow
from store.db import session_for, transaction
from store.schema import Mention, SlaAlert, SlackMessage
from tests.conftest import SLACK_SIGNING_SECRET
from tests.slack_support import standin, standin_messages  # noqa: F401  (fixtures)
from tickets import lifecycle
from triage import lanes as rules
from workers import context, deliver

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STORM = 60
NEW_TICKETS = 6
CHANNEL = "#support"
POLICY = {"first_response": "30s", "next_response": "30s", "resolution": "2h", "business_hours": False}


@pytest.fixture
def config_data():
    return {
        "slack": {"default_channel": CHANNEL, "escalation_channel": "#support-escalations"},
        "sla": {"warn_at": 0.5, "remind_every": "3s",
                "policies": {tier: POLICY for tier in ("critical", "high", "normal", "low")}},
    }  # fmt: skip


def _open(database_url, app_config, count, urgency, age) -> list[int]:
    now = utcnow()
    ids = []
    with transaction(database_url) as session:
        for n in range(count):
            mention = Mention(source="x", external_id=f"{urgency}-{n}-{time.time_ns()}", author_id=f"{urgency}{n}",
                              text="charged twice and nobody answers", created_at=now - age, processed_at=now,
                              needs_reply=True, urgency=urgency, signals=[])  # fmt: skip
            session.add(mention)
            session.flush()
            ids.append(lifecycle.open_ticket(session, mention, CHANNEL, app_config, now).id)
    return ids


def _backlog(database_url) -> tuple[int, int]:
    """Undelivered rows in the channel, and those in its reminder lane."""
    pending = (
        select(func.count())
        .select_from(SlackMessage)
        .where(SlackMessage.channel == CHANNEL, SlackMessage.sent_at.is_(None), SlackMessage.failed_at.is_(None))
    )
    with session_for(database_url) as session:
        return session.scalar(pending), session.scalar(pending.where(SlackMessage.lane == rules.REMINDER))


def _reminders_recorded(database_url) -> int:
    with session_for(database_url) as session:
        return session.scalar(select(func.count()).select_from(SlaAlert).where(SlaAlert.kind == "reminder"))


@pytest.fixture
def storm_workers(settings, standin, worker_env, tmp_path, monkeypatch):  # noqa: F811
    """Start the io and SLA workers (after the storm's parents are in Slack); yields a stopper."""
    env = {**os.environ, "SLACK_STANDIN_PORT": standin.rsplit(":", 1)[1], "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET}
    env.pop("SLACK_BOT_TOKEN", None)
    monkeypatch.setenv("SLACK_STANDIN_PORT", env["SLACK_STANDIN_PORT"])
    context.reset()
    logs = open(tmp_path / "workers.log", "w")
    processes = []

    def start():
        for role in ("io", "sla"):
            processes.append(subprocess.Popen([sys.executable, "-m", "workers", role], cwd=ROOT, env=env,
                                              stdout=logs, stderr=logs))  # fmt: skip

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # a warm stop waits out the dispatcher's budget
            process.kill()
            process.wait(timeout=10)
    logs.close()


@pytest.mark.slow
def test_new_tickets_reach_slack_within_seconds_during_a_breach_storm(settings, app_config, standin, storm_workers,
                                                                      monkeypatch):  # fmt: skip
    url = settings.database_url
    _open(url, app_config, STORM, "high", timedelta(minutes=10))
    monkeypatch.setattr(deliver, "SEND_INTERVAL_SECONDS", 0.0)
    deliver.drain([CHANNEL], timeout=120)  # the storm's tickets are in Slack already, all overdue
    storm_workers()  # the SLA worker announces 60 breaches at once, then a reminder per ticket every 3 s
    started = time.time()
    samples = []
    while _reminders_recorded(url) < 2 * STORM and time.time() - started < 60:
        samples.append(_backlog(url))
        time.sleep(0.5)
    assert _reminders_recorded(url) >= 2 * STORM, "the storm is on: reminders come due every 3 s"

    committed = {}
    for _ in range(NEW_TICKETS):
        [ticket_id] = _open(url, app_config, 1, "normal", timedelta(0))
        committed[ticket_id] = time.time()
        for _ in range(6):
            samples.append(_backlog(url))
            time.sleep(0.5)
    arrived = {}
    deadline = time.time() + 60
    while len(arrived) < len(committed) and time.time() < deadline:
        for message in standin_messages(standin, CHANNEL):
            ticket = (message.get("metadata") or {}).get("event_payload", {}).get("ticket_id")
            parent = message.get("metadata", {}).get("event_type") == "earshot_ticket"
            if parent and ticket and int(ticket) in committed:
                arrived[int(ticket)] = message["received_at"]
        time.sleep(0.5)
    latencies = sorted(arrived[t] - at for t, at in committed.items() if t in arrived)
    assert len(latencies) == NEW_TICKETS, f"only {len(latencies)} of {NEW_TICKETS} new tickets reached Slack"
    assert statistics.median(latencies) <= 15 and latencies[-1] <= 60, latencies
    totals = [total for total, _ in samples]
    assert max(reminders for _, reminders in samples) <= rules.REMINDER_SUMMARY_AT + 2, "reminders coalesce"
    assert totals[-1] <= max(totals[: len(totals) // 3]), f"the backlog does not grow: {totals}"
