"""SLA end to end: real Redis, the real model/io/SLA worker processes, the Slack
stand-in, and a policy measured in seconds. The warning and the breach reach
Slack on time; a brand reply before the deadline prevents the breach."""

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.timeutil import utcnow
from store.db import session_for
from store.schema import Mention, SlackMessage, Ticket
from tests.conftest import SLACK_SIGNING_SECRET, mention, post_generic
from tests.slack_support import standin, standin_messages  # noqa: F401  (fixtures)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRST_RESPONSE_SECONDS = 6
SHORT = {"first_response": f"{FIRST_RESPONSE_SECONDS}s", "next_response": "6s", "resolution": "10m",
         "business_hours": False}  # fmt: skip
ANNOUNCE_WITHIN = 5.0


@pytest.fixture
def config_data():
    return {
        "slack": {"default_channel": "#support", "escalation_channel": "#support-escalations",
                  "escalation_mentions": ["<!subteam^S0ONCALL>"]},  # fmt: skip
        "sla": {"warn_at": 0.5, "remind_every": "10m", "policies": {tier: SHORT for tier in
                                                                    ("critical", "high", "normal", "low")}},
    }  # fmt: skip


@pytest.fixture
def workers(settings, standin, worker_env, tmp_path):  # noqa: F811
    env = {**os.environ, "SLACK_STANDIN_PORT": standin.rsplit(":", 1)[1], "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET}
    env.pop("SLACK_BOT_TOKEN", None)
    logs = open(tmp_path / "workers.log", "w")
    processes = [
        subprocess.Popen([sys.executable, "-m", "workers", role], cwd=ROOT, env=env, stdout=logs, stderr=logs)
        for role in ("model", "io", "sla")
    ]
    yield
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=30)
    logs.close()


def _wait_for(predicate, timeout: float, step: float = 0.2):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(step)
    return None


def _processed(database_url: str, external_id: str) -> bool:
    with session_for(database_url) as session:
        found = session.scalars(select(Mention).where(Mention.external_id == external_id)).first()
        return found is not None and found.processed_at is not None


def _answered_ticket_settled(database_url: str, external_id: str) -> bool:
    """The answered ticket's first-response deadline has passed, every check due by now was made,
    and no escalation waits to be delivered: whatever it was going to say in Slack is there."""
    with session_for(database_url) as session:
        ticket = session.scalar(select(Ticket).join(Mention, Mention.ticket_id == Ticket.id)
                                .where(Mention.external_id == external_id))  # fmt: skip
        unsent = (SlackMessage.kind == "escalation", SlackMessage.sent_at.is_(None), SlackMessage.failed_at.is_(None))
        waiting = session.scalar(select(func.count(SlackMessage.id)).where(*unsent))
        if ticket is None or ticket.first_response_met_at is None or waiting:
            return False
        now = utcnow()
        return ticket.first_response_due_at < now and (ticket.next_deadline_at is None or ticket.next_deadline_at > now)


def _thread(standin_url: str, channel: str, marker: str) -> list[dict]:  # noqa: F811
    return [m for m in standin_messages(standin_url, channel) if marker.lower() in (m.get("text") or "").lower()]


@pytest.mark.slow
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_warning_and_breach_reach_slack_on_time_and_a_reply_prevents_breach(client, settings, standin, workers):  # noqa: F811
    # The model worker loads the model before its first job; wait for it so
    # that the clocks below measure Earshot, not the worker's start.
    post_generic(client, mention("warm-up", "@acme thank you, lovely service today!", author={"id": "w"}))
    assert _wait_for(lambda: _processed(settings.database_url, "warm-up"), 120), "the model worker starts"

    complaint = "@acme I was charged twice for my booking and nobody answers. Refund me now"
    posted = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    answered = "@acme my suitcase never arrived and your app crashes when I file the claim"
    assert post_generic(client, mention("late-1", complaint, created_at=posted, author={"id": "a1"})).status_code == 202
    assert post_generic(client, mention("kept-1", answered, created_at=posted, author={"id": "a2"})).status_code == 202
    started = time.time()

    parents = _wait_for(lambda: len([m for m in standin_messages(standin, "#support")
                                     if "thread_ts" not in m or m["thread_ts"] == m["ts"]]) >= 2, 60)  # fmt: skip
    assert parents, "both tickets reach Slack"
    reply = mention("reply-1", "@a2 so sorry, we've found your bag", direction="outbound", in_reply_to="kept-1",
                    author={"id": "acme"}, created_at=datetime.now(UTC).isoformat().replace("+00:00", "Z"))  # fmt: skip
    assert post_generic(client, reply).status_code == 202

    breach = _wait_for(lambda: _thread(standin, "#support-escalations", "breach"), FIRST_RESPONSE_SECONDS + 30)
    assert breach, "the breach is announced in the escalation channel"
    assert len(breach) == 1 and "S0ONCALL" in breach[0]["text"]
    assert breach[0]["received_at"] - started <= FIRST_RESPONSE_SECONDS + ANNOUNCE_WITHIN
    warnings = [m for m in standin_messages(standin, "#support") if "warning" in (m.get("text") or "").lower()]
    assert warnings and all(m.get("thread_ts") for m in warnings)
    assert _wait_for(lambda: _answered_ticket_settled(settings.database_url, "kept-1"), 30), "the answer is recorded"
    escalations = standin_messages(standin, "#support-escalations")
    assert len(escalations) == 1, "only the unanswered ticket breaches, once"
